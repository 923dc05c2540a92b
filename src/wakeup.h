/*-------------------------------------------------------------------------
 *
 * wakeup.h
 *	  Waking the background workers when runs become runnable (wakeup.c).
 *
 * The engine and fire() call these; they never raise an error and are
 * no-ops without shared memory (library not preloaded).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_WAKEUP_H
#define FC_WAKEUP_H

#include "datatype/timestamp.h"

/*
 * Ask for the workers to be woken when the current transaction commits,
 * because it made a run runnable at or before wake_at (0 = now).  Never
 * raises an error; a no-op without shared memory (library not preloaded)
 * and inside the workers themselves.
 */
extern void fc_wakeup_at_commit(TimestampTz wake_at);

/*
 * Called by a worker's unit of work that found more runnable runs than the
 * one it is about to execute: wakes one idle peer at once, so that the
 * others need not wait for a slow run.  A no-op outside the workers.
 */
extern void fc_wakeup_share_work(void);

/* For the worker's own files: */

/* Install the ProcessUtility hook (fc_worker_register, at preload time). */
extern void fc_wakeup_install_utility_hook(void);

/*
 * Whether the extension is installed in this database, read from
 * pg_extension with the transaction's catalog snapshot.
 */
extern bool fc_worker_extension_installed(void);

#endif							/* FC_WAKEUP_H */
