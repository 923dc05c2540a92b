/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background worker that executes runnable flow runs.
 *
 * (Placeholder until the worker lands: settings only.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "worker.h"

bool		fc_enabled = true;
char	   *fc_database = NULL;

void
fc_worker_define_settings(void)
{
	DefineCustomBoolVariable("flowcontrol.enabled",
							 "Whether the background workers execute runnable flow runs.",
							 NULL,
							 &fc_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
	/*
	 * Postmaster-level settings can only be defined while preloading;
	 * without preloading there is no worker for them to configure.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("flowcontrol.database",
							   "Database in which the background workers execute flow runs.",
							   NULL,
							   &fc_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("flowcontrol");
}

void
fc_worker_register(void)
{
}

void
fc_worker_wake_at_commit(TimestampTz wake_at)
{
}
