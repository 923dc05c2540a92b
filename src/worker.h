/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The background worker that executes runnable flow runs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_WORKER_H
#define FC_WORKER_H

/* Define the flowcontrol.* settings (called from _PG_init). */
extern void fc_worker_define_settings(void);

/* Register the workers; does nothing unless preloading. */
extern void fc_worker_register(void);

/*
 * Ask for the workers to be woken when the current transaction commits,
 * because it made a run runnable at or before wake_at (0 = now).
 */
extern void fc_worker_wake_at_commit(TimestampTz wake_at);

#endif							/* FC_WORKER_H */
