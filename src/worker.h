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

/* settings (flowcontrol.<name>); see doc/worker.md */
extern PGDLLIMPORT bool fc_enabled;
extern PGDLLIMPORT char *fc_database;
extern PGDLLIMPORT char *fc_role;
extern PGDLLIMPORT int fc_max_workers;
extern PGDLLIMPORT int fc_poll_interval;
extern PGDLLIMPORT int fc_batch_size;

/* Define the flowcontrol.* settings (called from _PG_init). */
extern void fc_worker_define_settings(void);

/*
 * Register the launcher and the shared-memory and utility hooks; does
 * nothing unless shared libraries are being preloaded.
 */
extern void fc_worker_register(void);

/* Entry points of the processes, named in their BackgroundWorker entries. */
extern PGDLLEXPORT void fc_worker_launcher_main(Datum main_arg);
extern PGDLLEXPORT void fc_worker_main(Datum main_arg);

#endif							/* FC_WORKER_H */
