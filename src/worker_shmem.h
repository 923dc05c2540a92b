/*-------------------------------------------------------------------------
 *
 * worker_shmem.h
 *	  The background worker's settings, shared memory and slots
 *	  (worker_shmem.c), for the worker's files and _PG_init.
 *
 * Locking rules are those of worker.c's header comment.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_WORKER_SHMEM_H
#define FC_WORKER_SHMEM_H

#include "postmaster/bgworker.h"

#include "worker_int.h"

/* settings (flowcontrol.<name>); see doc/worker.md */
extern PGDLLIMPORT bool fc_enabled;
extern PGDLLIMPORT char *fc_database;
extern PGDLLIMPORT char *fc_role;
extern PGDLLIMPORT int fc_max_workers;
extern PGDLLIMPORT int fc_poll_interval;
extern PGDLLIMPORT int fc_batch_size;

/* Define the flowcontrol.* settings (called from _PG_init). */
extern void fc_worker_define_settings(void);

/* Install the shared-memory hooks (fc_worker_register, at preload time). */
extern void fc_worker_shmem_install_hooks(void);

/* the shared state, NULL without preloading */
extern FcWorkerShared *fc_shared;
/* the calling process's slot, once claimed (fc_worker_slot_claim) */
extern FcWorkerSlot *fc_my_slot;
/* whether this process is a flowcontrol worker (not the launcher) */
extern bool fc_am_worker;

extern FcDatabaseSlot *fc_worker_db_slot(Oid dboid);
extern bool fc_worker_db_register(Oid dboid, TimestampTz due_at, bool bump);
extern void fc_worker_fill_bgw(BackgroundWorker *bgw, const char *function,
							   const char *type);
extern FcDatabaseMode fc_worker_database_mode(const char *value);
extern bool fc_worker_database_listed(const char *datname);

#endif							/* FC_WORKER_SHMEM_H */
