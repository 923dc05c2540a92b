/*-------------------------------------------------------------------------
 *
 * worker_shmem.c
 *	  The background worker's settings, shared memory and slots, and the
 *	  status view flowcontrol.workers.
 *
 * The shared state (FcWorkerShared, worker_int.h) is one struct in the
 * main shared memory segment, requested and initialised by the hooks
 * installed at preload time (fc_worker_register), with one LWLock of the tranche
 * "flowcontrol workers".  The locking rules and invariants are those of
 * worker.c's header comment.  The database slots are the pool's memory of
 * where work is due; this file finds and registers them, and never decides
 * where a worker goes (that is launcher.c).
 *
 * This file must not read or write flowcontrol's tables, and must not
 * call into the engine, the worker process or the wake-ups: they call it.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "worker_int.h"
#include "worker_shmem.h"

/* settings */
bool		fc_enabled = true;
char	   *fc_database = NULL;
char	   *fc_role = NULL;
int			fc_max_workers = 1;
int			fc_poll_interval = 10000;
int			fc_batch_size = 1000;

static const char *const fc_state_names[] = {
	"starting",
	"idle",
	"running",
	"disabled",
	"waiting for extension",
	"waiting for database",
	"waiting for role",
	"paused for DROP DATABASE",
	"pausing after error",
	"waiting for a background worker slot",
	"leaving"
};

StaticAssertDecl(lengthof(fc_state_names) == FC_WS_LEAVING + 1,
				 "fc_state_names must have an entry for every FcWorkerState");

FcWorkerShared *fc_shared = NULL;
FcWorkerSlot *fc_my_slot = NULL;
bool		fc_am_worker = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PG_FUNCTION_INFO_V1(flowcontrol__worker_status);

/* ---------------------------------------------------------------------
 * Settings
 * ---------------------------------------------------------------------
 */

/*
 * flowcontrol.database: '*', one name (taken as it is written, as before
 * the pool existed), or names separated by commas (SplitGUCList: spaces
 * around them ignored, double quotes for names with commas).
 */
FcDatabaseMode
fc_worker_database_mode(const char *value)
{
	if (strcmp(value, "*") == 0)
		return FC_DB_ALL;
	return strchr(value, ',') != NULL ? FC_DB_LIST : FC_DB_ONE;
}

/* The names of a list (a palloc'd copy of the setting, in the caller's context). */
static List *
database_names(void)
{
	List	   *names = NIL;

	if (!SplitGUCList(pstrdup(fc_database), ',', &names))
		elog(ERROR, "invalid flowcontrol.database");	/* checked when set */
	return names;
}

/* Whether a database of that name is served: flowcontrol.database names it. */
bool
fc_worker_database_listed(const char *datname)
{
	ListCell   *lc;

	switch (fc_worker_database_mode(fc_database))
	{
		case FC_DB_ALL:
			return true;
		case FC_DB_ONE:
			return strcmp(datname, fc_database) == 0;
		case FC_DB_LIST:
			foreach(lc, database_names())
			{
				if (strcmp((char *) lfirst(lc), datname) == 0)
					return true;
			}
			return false;
	}
	return false;
}

static bool
check_database(char **newval, void **extra, GucSource source)
{
	char	   *copy;
	List	   *names = NIL;
	ListCell   *lc;
	bool		ok;

	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("\"flowcontrol.database\" must name a database, several separated by commas, or be '*'.");
		return false;
	}
	if (fc_worker_database_mode(*newval) != FC_DB_LIST)
		return true;
	copy = pstrdup(*newval);
	ok = SplitGUCList(copy, ',', &names) && names != NIL;
	foreach(lc, names)
	{
		const char *name = lfirst(lc);

		if (name[0] == '\0' || strcmp(name, "*") == 0)
			ok = false;
	}
	list_free(names);
	pfree(copy);
	if (!ok)
		GUC_check_errdetail("\"flowcontrol.database\" must be '*' alone, or database names separated by commas, none empty.");
	return ok;
}

void
fc_worker_define_settings(void)
{
	DefineCustomIntVariable("flowcontrol.batch_size",
							gettext_noop("Maximum number of runs a background worker executes in one transaction."),
							NULL,
							&fc_batch_size,
							1000, 1, 100000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("flowcontrol.enabled",
							 gettext_noop("Whether the background workers execute runnable flow runs."),
							 NULL,
							 &fc_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("flowcontrol.poll_interval",
							gettext_noop("Longest time a background worker sleeps without looking for work."),
							NULL,
							&fc_poll_interval,
							10000, 1, 3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * Postmaster-level settings can only be defined while preloading; without
	 * preloading there is no worker for them to configure.
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomStringVariable("flowcontrol.database",
								   gettext_noop("Databases in which the background workers execute flow runs: '*' (every database with the extension), a name, or names separated by commas."),
								   NULL,
								   &fc_database,
								   "*",
								   PGC_POSTMASTER,
								   0,
								   check_database, NULL, NULL);
		DefineCustomIntVariable("flowcontrol.max_workers",
								gettext_noop("Number of background workers executing flow runs."),
								NULL,
								&fc_max_workers,
								1, 0, FC_MAX_WORKERS,
								PGC_POSTMASTER,
								0,
								NULL, NULL, NULL);
		DefineCustomStringVariable("flowcontrol.role",
								   gettext_noop("Role as which the background workers connect; empty means the bootstrap superuser."),
								   NULL,
								   &fc_role,
								   "",
								   PGC_POSTMASTER,
								   0,
								   NULL, NULL, NULL);
	}
	MarkGUCPrefixReserved("flowcontrol");
}

/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */
static Size
worker_shmem_size(void)
{
	return add_size(offsetof(FcWorkerShared, workers),
					mul_size(fc_max_workers, sizeof(FcWorkerSlot)));
}

static void
worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(worker_shmem_size());
	RequestNamedLWLockTranche(FC_LWLOCK_TRANCHE, 1);
}

static void
worker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	fc_shared = ShmemInitStruct("flowcontrol workers", worker_shmem_size(), &found);
	if (!found)
	{
		memset(fc_shared, 0, worker_shmem_size());
		fc_shared->lock = &(GetNamedLWLockTranche(FC_LWLOCK_TRANCHE))->lock;
		fc_shared->mode = fc_worker_database_mode(fc_database);
		fc_shared->nworkers = fc_max_workers;
		Assert(fc_shared->nworkers <= FC_MAX_WORKERS);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * The slot of a database the pool serves, or NULL.  Caller holds the lock.
 * Backends remember the index of their own database's slot.
 */
FcDatabaseSlot *
fc_worker_db_slot(Oid dboid)
{
	static int	hint = -1;
	int			i;

	if (hint >= 0 && fc_shared->databases[hint].dboid == dboid)
		return &fc_shared->databases[hint];
	for (i = 0; i < FC_MAX_DATABASES; i++)
	{
		if (fc_shared->databases[i].dboid == dboid)
		{
			hint = i;
			return &fc_shared->databases[i];
		}
	}
	return NULL;
}

/*
 * Make the pool serve a database, with work due at due_at (or earlier);
 * bump: a registration by CREATE EXTENSION (see FcDatabaseSlot).  False
 * when every slot is taken.  Takes the lock.
 */
bool
fc_worker_db_register(Oid dboid, TimestampTz due_at, bool bump)
{
	FcDatabaseSlot *d;
	int			i;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	d = fc_worker_db_slot(dboid);
	for (i = 0; d == NULL && i < FC_MAX_DATABASES; i++)
	{
		if (!OidIsValid(fc_shared->databases[i].dboid))
		{
			d = &fc_shared->databases[i];
			d->dboid = dboid;
			d->due_at = DT_NOEND;
			d->backlog = false;
		}
	}
	if (d != NULL)
	{
		d->due_at = Min(d->due_at, due_at);
		if (bump)
			d->generation++;
	}
	LWLockRelease(fc_shared->lock);
	return d != NULL;
}

/* ---------------------------------------------------------------------
 * Registration
 * ---------------------------------------------------------------------
 */
void
fc_worker_fill_bgw(BackgroundWorker *bgw, const char *function, const char *type)
{
	memset(bgw, 0, sizeof(BackgroundWorker));
	bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw->bgw_start_time = BgWorkerStart_RecoveryFinished;
	strlcpy(bgw->bgw_library_name, "flowcontrol", BGW_MAXLEN);
	strlcpy(bgw->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(bgw->bgw_type, type, BGW_MAXLEN);
}

void
fc_worker_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;
}

/* ---------------------------------------------------------------------
 * flowcontrol._worker_status(): the rows of the view flowcontrol.workers
 * ---------------------------------------------------------------------
 */
static void
status_row(ReturnSetInfo *rsinfo, int index, const FcWorkerSlot *s)
{
	Datum		values[10];
	bool		nulls[10] = {0};

	values[0] = Int32GetDatum(index);
	values[1] = Int32GetDatum((int32) s->pid);
	values[2] = ObjectIdGetDatum(s->database);
	nulls[2] = index == 0 || !OidIsValid(s->database);
	Assert(s->state >= 0 && s->state < lengthof(fc_state_names));
	values[3] = CStringGetTextDatum(fc_state_names[s->state]);
	values[4] = Int64GetDatum(s->runs_executed);
	values[5] = Int64GetDatum(s->errors);
	if (s->last_error[0] != '\0')
		values[6] = CStringGetTextDatum(s->last_error);
	else
		nulls[6] = true;
	values[7] = TimestampTzGetDatum(s->started_at);
	if (s->last_wakeup != 0)
		values[8] = TimestampTzGetDatum(s->last_wakeup);
	else
		nulls[8] = true;
	if (!TIMESTAMP_NOT_FINITE(s->next_wakeup) && s->state != FC_WS_RUNNING)
		values[9] = TimestampTzGetDatum(s->next_wakeup);
	else
		nulls[9] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
flowcontrol__worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FcWorkerSlot *copy;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (fc_shared == NULL)
		PG_RETURN_VOID();

	/* copy under the lock, build tuples after releasing it */
	n = fc_shared->nworkers + 1;
	copy = palloc(sizeof(FcWorkerSlot) * n);
	LWLockAcquire(fc_shared->lock, LW_SHARED);
	copy[0] = fc_shared->launcher;
	for (i = 1; i < n; i++)
		copy[i] = fc_shared->workers[i - 1];
	LWLockRelease(fc_shared->lock);

	for (i = 0; i < n; i++)
		if (copy[i].pid != 0)
			status_row(rsinfo, i, &copy[i]);
	PG_RETURN_VOID();
}
