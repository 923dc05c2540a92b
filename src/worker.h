/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The background worker that executes runnable flow runs.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_WORKER_H
#define FC_WORKER_H

#include "datatype/timestamp.h"

/*
 * Register the launcher and the shared-memory and utility hooks; does
 * nothing unless shared libraries are being preloaded.
 */
extern void fc_worker_register(void);

/* Take a slot for this process; false if another live process has it. */
struct FcWorkerSlot;
extern bool fc_worker_slot_claim(struct FcWorkerSlot *slot);

/* Entry points of the processes, named in their BackgroundWorker entries. */
extern PGDLLEXPORT void fc_worker_launcher_main(Datum main_arg);
extern PGDLLEXPORT void fc_worker_main(Datum main_arg);

#endif							/* FC_WORKER_H */
