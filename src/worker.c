/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background worker that executes runnable flow runs.
 *
 * With shared_preload_libraries = 'flowcontrol' the postmaster starts one
 * "flowcontrol launcher" once recovery has finished (so a standby runs
 * nothing until it is promoted).  The launcher connects to no database; it
 * checks in the shared catalogs that flowcontrol.database and
 * flowcontrol.role exist, waiting (with one LOG line) while they do not,
 * and then starts flowcontrol.max_workers dynamic "flowcontrol worker"
 * processes connected to that database.  It restarts a worker that exits,
 * after a delay that grows while workers keep failing at start, so a
 * misconfiguration never becomes a crash loop.
 *
 * A worker's loop is worker_spi's: do one unit of work, sleep on the latch,
 * reload the configuration on SIGHUP, exit on SIGTERM (die) and on
 * postmaster death.  The unit of work is fc_engine_continue_runs_from(),
 * the function behind flowcontrol.continue_flowruns(), limited to
 * flowcontrol.batch_size runs and starting none after FC_UNIT_TIME_MS,
 * followed by a query for the earliest future continue_after; the worker
 * then sleeps until that time, at most flowcontrol.poll_interval ms, or
 * until its latch is set.  A unit that takes a run with more due behind it
 * wakes an idle peer at once (fc_worker_share_work), so a slow run delays
 * only the runs its own unit executed before it.  An ERROR that
 * escapes a unit of work is caught at the top of the loop (sigsetjmp, as
 * in the autovacuum launcher): logged, counted, and followed by a pause
 * (1 s, doubling while errors repeat, at most a minute or poll_interval)
 * before the next unit, never by an exit.  This is also how a run is
 * retried after a transient error inside it (a deadlock, a serialization
 * failure, out of memory), which the engine re-throws rather than ending
 * the run errored: the unit rolls back and its runs are executed again,
 * the one whose execution failed after the others and alone (put_behind).
 *
 * Wake-ups: the engine calls fc_worker_wake_at_commit() when it creates,
 * resets or resumes a run (due now) or suspends one with a continue_after.
 * The backend remembers the earliest time; an XACT_EVENT_COMMIT callback
 * (after the commit is visible) compares it with the workers' planned
 * wake-ups in shared memory and sets the latch of one worker when none
 * plans to look at or before that time.  Aborted transactions wake nobody.
 *
 * Transaction boundaries: each unit of work is one transaction
 * (StartTransactionCommand ... CommitTransactionCommand); each run inside
 * it executes in its own subtransaction (the engine's), so one run's
 * failure never undoes another's, and a crash rolls back only the
 * uncommitted unit: a run is never lost and no committed step runs twice.
 * The launcher uses short transactions for its catalog look-ups only.
 *
 * Locks: FcWorkerShared.lock, the LWLock of the named tranche
 * "flowcontrol workers", protects every field of the shared state.  It is
 * held to copy or update fields (loops over at most FC_MAX_WORKERS slots,
 * copying a few kilobytes), never across a call that can raise an error,
 * sleep or wait for another lock; SetLatch() and kill(SIGTERM) are called
 * after releasing it, and timestamps are read before taking it.  The one
 * system call under it is slot_claim()'s kill(pid, 0) probe, which must be
 * atomic with taking the slot.  Shared mode where nothing is written.
 *
 * Invariants: a slot's pid is set by the process that owns it and cleared
 * by that process's on_shmem_exit callback (a crash resets all of shared
 * memory); next_wakeup is DT_NOEND while the owner is working or may need
 * a wake-up at any time, DT_NOBEGIN while it must not be woken (disabled),
 * and otherwise a time at or before which it will look for work again,
 * with a snapshot taken after that time was published.  A committer that
 * finds next_wakeup <= its wake time therefore needs to wake nobody.
 *
 * DROP DATABASE: PostgreSQL 15 does not terminate background workers
 * connected to a database being dropped (it waits 5 s and fails), so a
 * ProcessUtility hook, run by the dropping backend, sends SIGTERM to the
 * workers of that database and keeps the launcher from starting new ones
 * until the dropping transaction ends.
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
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

#include "catalog.h"
#include "compat.h"
#include "engine.h"
#include "flowcontrol.h"
#include "worker.h"

/* a worker that exits sooner than this after its start counts as failing */
#define FC_WORKER_MIN_LIFE_MS	10000
/* restart delay after the first failure; doubles up to the maximum */
#define FC_RESTART_DELAY_MS		1000
#define FC_RESTART_DELAY_MAX_MS 60000
/* pause after an ERROR escaped a unit of work; doubles while errors repeat */
#define FC_ERROR_PAUSE_MS		1000
#define FC_ERROR_PAUSE_MAX_MS	60000
#define FC_LAST_ERROR_LEN		256
/* upper bound of flowcontrol.max_workers; sizes the arrays below */
#define FC_MAX_WORKERS			64
#define FC_LWLOCK_TRANCHE		"flowcontrol workers"

/* settings */
bool		fc_enabled = true;
char	   *fc_database = NULL;
char	   *fc_role = NULL;
int			fc_max_workers = 1;
int			fc_poll_interval = 10000;
int			fc_batch_size = 1000;

typedef enum FcWorkerState
{
	FC_WS_STARTING,
	FC_WS_IDLE,
	FC_WS_RUNNING,
	FC_WS_DISABLED,
	FC_WS_NO_EXTENSION,
	FC_WS_NO_DATABASE,
	FC_WS_NO_ROLE,
	FC_WS_DROP_DATABASE,
	FC_WS_ERROR_PAUSE,
	FC_WS_NO_BGW_SLOT
} FcWorkerState;

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
	"waiting for a background worker slot"
};

StaticAssertDecl(lengthof(fc_state_names) == FC_WS_NO_BGW_SLOT + 1,
				 "fc_state_names must have an entry for every FcWorkerState");

/* One process's state, as shown by flowcontrol.workers. */
typedef struct FcWorkerSlot
{
	pid_t		pid;			/* 0: no process */
	Latch	   *latch;
	FcWorkerState state;
	int64		runs_executed;
	int64		errors;
	TimestampTz started_at;
	TimestampTz last_wakeup;
	TimestampTz next_wakeup;	/* see the invariants above */
	char		last_error[FC_LAST_ERROR_LEN];
} FcWorkerSlot;

typedef struct FcWorkerShared
{
	LWLock	   *lock;			/* protects everything here; see above */
	Oid			database;		/* the workers' database, once one connected */
	Oid			dropping_database;	/* DROP DATABASE of it in progress */
	int			nworkers;
	FcWorkerSlot launcher;
	FcWorkerSlot workers[FLEXIBLE_ARRAY_MEMBER];
} FcWorkerShared;

static FcWorkerShared *fc_shared = NULL;
static FcWorkerSlot *my_slot = NULL;
static bool am_worker = false;

/* the worker's sweep over a backlog: see worker_unit() */
#define FC_SWEEP_UNITS 10
/* a unit of work: up to batch_size runs, starting none after this time */
#define FC_UNIT_TIME_MS 100
static int64 sweep_cursor = 0;
static int	sweep_units = 0;

/*
 * Runs whose execution an error aborted (a query cancel, a transient
 * error): put behind the others, then executed in a unit of their own, so
 * that neither a run that keeps failing nor the operator's cancel of a
 * slow one holds up the runs behind it.  Oldest first; worker-local.
 */
#define FC_BEHIND_MAX 8
static int64 behind_runs[FC_BEHIND_MAX];
static int	nbehind = 0;
static bool behind_turn = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;

/* backend-local: pending wake-up of this transaction */
static bool xact_callback_registered = false;
static bool wake_pending = false;
static TimestampTz wake_pending_at = 0;
static bool drop_guard_pending = false;
static bool wake_all_pending = false;

PG_FUNCTION_INFO_V1(flowcontrol__worker_status);

/* ---------------------------------------------------------------------
 * Settings
 * ---------------------------------------------------------------------
 */
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
								   gettext_noop("Database in which the background workers execute flow runs."),
								   NULL,
								   &fc_database,
								   "postgres",
								   PGC_POSTMASTER,
								   0,
								   NULL, NULL, NULL);
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
		fc_shared->nworkers = fc_max_workers;
		Assert(fc_shared->nworkers <= FC_MAX_WORKERS);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Update the calling process's slot. */
static void
slot_set(FcWorkerState state, TimestampTz next_wakeup)
{
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	Assert(my_slot->pid == MyProcPid);
	my_slot->state = state;
	my_slot->next_wakeup = next_wakeup;
	LWLockRelease(fc_shared->lock);
}

/* on_shmem_exit: give the slot back. */
static void
slot_release(int code, Datum arg)
{
	if (fc_shared == NULL || my_slot == NULL)
		return;
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	if (my_slot->pid == MyProcPid)
	{
		my_slot->pid = 0;
		my_slot->latch = NULL;
	}
	LWLockRelease(fc_shared->lock);
	my_slot = NULL;
}

/* Take a slot for this process; false if another live process has it. */
static bool
slot_claim(FcWorkerSlot *slot)
{
	bool		ok = false;
	TimestampTz now = GetCurrentTimestamp();

	Assert(my_slot == NULL);
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	/* a slot whose process is gone (launcher restart) is free */
	if (slot->pid == 0 || (slot->pid != MyProcPid && kill(slot->pid, 0) != 0))
	{
		slot->pid = MyProcPid;
		slot->latch = MyLatch;
		slot->state = FC_WS_STARTING;
		slot->started_at = now;
		slot->next_wakeup = DT_NOEND;
		slot->last_wakeup = 0;
		slot->runs_executed = 0;
		slot->errors = 0;
		slot->last_error[0] = '\0';
		ok = true;
	}
	LWLockRelease(fc_shared->lock);
	if (ok)
	{
		my_slot = slot;
		on_shmem_exit(slot_release, (Datum) 0);
	}
	return ok;
}

/* ---------------------------------------------------------------------
 * Wake-ups at commit
 * ---------------------------------------------------------------------
 */

/*
 * Set the latch of one worker unless some worker already plans to look
 * for work at or before wake_at.  Prefer a worker that is not in the
 * middle of a unit of work.
 */
static void
wake_workers(TimestampTz wake_at)
{
	Latch	   *latch = NULL;
	int			best = -1;
	bool		covered = false;
	int			i;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	if (fc_shared->database == MyDatabaseId)
	{
		for (i = 0; i < fc_shared->nworkers; i++)
		{
			FcWorkerSlot *w = &fc_shared->workers[i];

			if (w->pid == 0)
				continue;
			if (w->next_wakeup <= wake_at)
			{
				covered = true;
				break;
			}
			if (best < 0 ||
				(fc_shared->workers[best].state == FC_WS_RUNNING &&
				 w->state != FC_WS_RUNNING))
				best = i;
		}
		if (!covered && best >= 0)
		{
			latch = fc_shared->workers[best].latch;
			fc_shared->workers[best].next_wakeup = wake_at;
		}
	}
	LWLockRelease(fc_shared->lock);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * A worker that found a full batch wakes one sleeping peer to share the
 * rest; that peer, finding a full batch too, wakes the next.
 */
static void
wake_peer(void)
{
	Latch	   *latch = NULL;
	int			i;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcWorkerSlot *w = &fc_shared->workers[i];

		if (w != my_slot && w->pid != 0 && w->state == FC_WS_IDLE &&
			w->next_wakeup > 0)
		{
			latch = w->latch;
			w->next_wakeup = 0;
			break;
		}
	}
	LWLockRelease(fc_shared->lock);
	if (latch != NULL)
		SetLatch(latch);
}

void
fc_worker_share_work(void)
{
	if (am_worker && fc_shared != NULL)
		wake_peer();
}

/* Set the latch of every worker (and the launcher). */
static void
wake_all(void)
{
	Latch	   *latches[FC_MAX_WORKERS + 1];
	int			n = 0;
	int			i;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	if (fc_shared->launcher.pid != 0)
		latches[n++] = fc_shared->launcher.latch;
	for (i = 0; i < fc_shared->nworkers && n < lengthof(latches); i++)
		if (fc_shared->workers[i].pid != 0)
			latches[n++] = fc_shared->workers[i].latch;
	LWLockRelease(fc_shared->lock);
	for (i = 0; i < n; i++)
		SetLatch(latches[i]);
}

static void
end_drop_guard(void)
{
	drop_guard_pending = false;
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	fc_shared->dropping_database = InvalidOid;
	LWLockRelease(fc_shared->lock);
	wake_all();
}

static void
worker_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (wake_pending)
			{
				wake_pending = false;
				wake_workers(wake_pending_at);
			}
			if (drop_guard_pending)
				end_drop_guard();
			if (wake_all_pending)
			{
				wake_all_pending = false;
				wake_all();
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction's runs are found by polling */
			wake_pending = false;
			wake_all_pending = false;
			if (drop_guard_pending)
				end_drop_guard();
			break;
		default:
			break;
	}
}

static void
ensure_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(worker_xact_callback, NULL);
		xact_callback_registered = true;
	}
}

void
fc_worker_wake_at_commit(TimestampTz wake_at)
{
	/* not preloaded, or a worker: it looks for work after each unit */
	if (fc_shared == NULL || am_worker)
		return;
	ensure_xact_callback();
	if (!wake_pending || wake_at < wake_pending_at)
		wake_pending_at = wake_at;
	wake_pending = true;
}

/* ---------------------------------------------------------------------
 * DROP DATABASE, CREATE DATABASE, CREATE EXTENSION
 * ---------------------------------------------------------------------
 */

/*
 * Would dropdb() get as far as counting the database's backends?  Its
 * earlier checks, in its order: not in a transaction block, the database
 * exists, the current user owns it, it is not a template, it is not the
 * current database.  When one of them fails, dropdb() reports it and the
 * workers must not have been touched.
 */
static bool
drop_would_reach_workers(Oid dboid, bool isTopLevel)
{
	HeapTuple	tuple;
	bool		istemplate;

	if (!isTopLevel || IsTransactionBlock() || IsSubTransaction())
		return false;
	if (!OidIsValid(dboid) || !object_ownercheck(DatabaseRelationId, dboid, GetUserId()))
		return false;
	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	if (!HeapTupleIsValid(tuple))
		return false;
	istemplate = ((Form_pg_database) GETSTRUCT(tuple))->datistemplate;
	ReleaseSysCache(tuple);
	return !istemplate && dboid != MyDatabaseId;
}

/*
 * Before DROP DATABASE of the workers' database: keep the launcher from
 * starting workers until this transaction ends, and terminate the workers
 * so that the drop does not find them connected.  Only a DROP DATABASE
 * that passes dropdb()'s own checks (permission first) does so: a role
 * that may not drop the database cannot stop the workers.
 */
static void
stop_workers_for_drop(const char *dbname, bool isTopLevel)
{
	Oid			dboid = get_database_oid(dbname, true);
	pid_t		pids[FC_MAX_WORKERS];
	int			n = 0;
	int			i;
	bool		ours = false;

	if (!drop_would_reach_workers(dboid, isTopLevel))
		return;
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	if (fc_shared->database == dboid)
	{
		ours = true;
		fc_shared->dropping_database = dboid;
		for (i = 0; i < fc_shared->nworkers && n < lengthof(pids); i++)
			if (fc_shared->workers[i].pid != 0)
				pids[n++] = fc_shared->workers[i].pid;
	}
	LWLockRelease(fc_shared->lock);
	if (!ours)
		return;
	ensure_xact_callback();
	drop_guard_pending = true;
	for (i = 0; i < n; i++)
		(void) kill(pids[i], SIGTERM);
	ereport(DEBUG1,
			(errmsg_plural("terminating %d flowcontrol worker for DROP DATABASE \"%s\"",
						   "terminating %d flowcontrol workers for DROP DATABASE \"%s\"",
						   n, n, dbname)));
}

static void
worker_process_utility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		wake = false;

	if (IsA(parsetree, DropdbStmt))
		stop_workers_for_drop(((DropdbStmt *) parsetree)->dbname,
							  context == PROCESS_UTILITY_TOPLEVEL);
	else if (IsA(parsetree, CreatedbStmt) || IsA(parsetree, CreateRoleStmt))
		wake = true;
	else if (IsA(parsetree, CreateExtensionStmt) &&
			 strcmp(((CreateExtensionStmt *) parsetree)->extname, "flowcontrol") == 0)
		wake = true;

	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
								  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	/*
	 * The launcher waiting for its database or role, or workers waiting for
	 * the extension, look again once this transaction has committed.
	 */
	if (wake)
	{
		ensure_xact_callback();
		wake_all_pending = true;
	}
}

/* ---------------------------------------------------------------------
 * Registration
 * ---------------------------------------------------------------------
 */
static void
fill_bgw(BackgroundWorker *bgw, const char *function, const char *type)
{
	memset(bgw, 0, sizeof(BackgroundWorker));
	bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw->bgw_start_time = BgWorkerStart_RecoveryFinished;
	strlcpy(bgw->bgw_library_name, "flowcontrol", BGW_MAXLEN);
	strlcpy(bgw->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(bgw->bgw_type, type, BGW_MAXLEN);
}

void
fc_worker_register(void)
{
	BackgroundWorker bgw;

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = worker_process_utility;

	if (fc_max_workers == 0)
		return;
	fill_bgw(&bgw, "fc_worker_launcher_main", "flowcontrol launcher");
	strlcpy(bgw.bgw_name, "flowcontrol launcher", BGW_MAXLEN);
	bgw.bgw_restart_time = 10;
	RegisterBackgroundWorker(&bgw);
}

/* ---------------------------------------------------------------------
 * The launcher
 * ---------------------------------------------------------------------
 */
typedef struct FcLauncherSlot
{
	BackgroundWorkerHandle *handle;
	TimestampTz started;		/* when we last started it */
	int			failures;		/* consecutive short-lived starts */
	TimestampTz not_before;		/* restart delay */
} FcLauncherSlot;

static void
launcher_set_state(FcWorkerState state, bool log_change, const char *detail)
{
	FcWorkerState old;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	Assert(my_slot->pid == MyProcPid);
	old = my_slot->state;
	my_slot->state = state;
	LWLockRelease(fc_shared->lock);
	if (old != state && log_change)
		ereport(LOG,
				(errmsg("flowcontrol launcher: %s", detail)));
}

/*
 * The OID of the database or role with that name, or InvalidOid.  Connected
 * to no database, the launcher cannot use the catalog indexes (nor the
 * syscache); like the autovacuum launcher it scans the shared catalog.
 * Caller is in a transaction.
 */
static Oid
shared_catalog_lookup(Oid catalog, const char *name)
{
	Relation	rel = table_open(catalog, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
	HeapTuple	tup;
	Oid			result = InvalidOid;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		const char *tupname;
		Oid			oid;

		if (catalog == DatabaseRelationId)
		{
			Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

			tupname = NameStr(db->datname);
			oid = db->oid;
		}
		else
		{
			Form_pg_authid role = (Form_pg_authid) GETSTRUCT(tup);

			tupname = NameStr(role->rolname);
			oid = role->oid;
		}
		if (strcmp(tupname, name) == 0)
		{
			result = oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * Start the worker of slot i; false when no background worker slot is
 * free (max_worker_processes).
 */
static bool
launcher_start_worker(FcLauncherSlot *ls, int i)
{
	BackgroundWorker bgw;

	fill_bgw(&bgw, "fc_worker_main", "flowcontrol worker");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "flowcontrol worker %d", i + 1);
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	bgw.bgw_main_arg = Int32GetDatum(i);
	bgw.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&bgw, &ls->handle))
	{
		ls->handle = NULL;
		return false;
	}
	ls->started = GetCurrentTimestamp();
	return true;
}

/*
 * One pass: forget stopped workers, check the database and role, start the
 * missing workers.  Returns how long to sleep (ms).
 */
static long
launcher_pass(FcLauncherSlot *slots)
{
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = fc_poll_interval;
	bool		need = false;
	Oid			dropping;
	Oid			dboid;
	bool		role_ok;
	int			i;

	LWLockAcquire(fc_shared->lock, LW_SHARED);
	dropping = fc_shared->dropping_database;
	LWLockRelease(fc_shared->lock);

	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcLauncherSlot *ls = &slots[i];
		pid_t		pid;

		if (ls->handle != NULL &&
			GetBackgroundWorkerPid(ls->handle, &pid) == BGWH_STOPPED)
		{
			pfree(ls->handle);
			ls->handle = NULL;
			/* terminated for DROP DATABASE, or lived long enough: no failure */
			if (OidIsValid(dropping) ||
				TimestampDifferenceExceeds(ls->started, now, FC_WORKER_MIN_LIFE_MS))
				ls->failures = 0;
			else
			{
				ls->failures++;
				LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
				my_slot->errors++;
				LWLockRelease(fc_shared->lock);
			}
			ls->not_before = ls->failures == 0 ? 0 :
				TimestampTzPlusMilliseconds(now,
											Min(FC_RESTART_DELAY_MS << Min(ls->failures - 1, 6),
												FC_RESTART_DELAY_MAX_MS));
		}
		if (ls->handle == NULL)
		{
			bool		taken;

			LWLockAcquire(fc_shared->lock, LW_SHARED);
			taken = fc_shared->workers[i].pid != 0;
			LWLockRelease(fc_shared->lock);
			/* a worker left over from before a launcher restart */
			if (!taken)
				need = true;
		}
	}

	if (OidIsValid(dropping))
	{
		launcher_set_state(FC_WS_DROP_DATABASE, false, NULL);
		return sleep_ms;
	}
	if (!need)
	{
		launcher_set_state(FC_WS_IDLE, false, NULL);
		return sleep_ms;
	}

	StartTransactionCommand();
	dboid = shared_catalog_lookup(DatabaseRelationId, fc_database);
	role_ok = fc_role[0] == '\0' ||
		OidIsValid(shared_catalog_lookup(AuthIdRelationId, fc_role));
	CommitTransactionCommand();
	if (!OidIsValid(dboid))
	{
		launcher_set_state(FC_WS_NO_DATABASE, true,
						   psprintf("database \"%s\" does not exist; waiting for it to be created",
									fc_database));
		return sleep_ms;
	}
	if (!role_ok)
	{
		launcher_set_state(FC_WS_NO_ROLE, true,
						   psprintf("role \"%s\" does not exist; waiting for it to be created",
									fc_role));
		return sleep_ms;
	}

	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcLauncherSlot *ls = &slots[i];
		bool		taken;

		if (ls->handle != NULL)
			continue;
		LWLockAcquire(fc_shared->lock, LW_SHARED);
		taken = fc_shared->workers[i].pid != 0;
		LWLockRelease(fc_shared->lock);
		if (taken)
			continue;
		if (ls->not_before > now)
		{
			long		wait_ms = (long) ((ls->not_before - now + 999) / 1000);

			sleep_ms = Min(sleep_ms, wait_ms);
			continue;
		}
		if (!launcher_start_worker(ls, i))
		{
			launcher_set_state(FC_WS_NO_BGW_SLOT, true,
							   "could not start a worker: no background worker slot free; consider increasing max_worker_processes");
			return sleep_ms;
		}
	}
	launcher_set_state(FC_WS_IDLE, false, NULL);
	return sleep_ms;
}

void
fc_worker_launcher_main(Datum main_arg)
{
	FcLauncherSlot *slots;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (fc_shared == NULL || !slot_claim(&fc_shared->launcher))
		proc_exit(0);

	/* shared catalogs only: pg_database and pg_authid */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	slots = MemoryContextAllocZero(TopMemoryContext,
								   sizeof(FcLauncherSlot) * fc_shared->nworkers);
	loop_cxt = AllocSetContextCreate(TopMemoryContext,
									 "flowcontrol launcher loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		sleep_ms;
		TimestampTz now;
		TimestampTz next;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		MemoryContextSwitchTo(loop_cxt);
		sleep_ms = launcher_pass(slots);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loop_cxt);
		next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), sleep_ms);
		LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
		Assert(my_slot->pid == MyProcPid);
		my_slot->last_wakeup = now;
		my_slot->next_wakeup = next;
		LWLockRelease(fc_shared->lock);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------
 * The worker
 * ---------------------------------------------------------------------
 */

/* Earliest continue_after of a waiting run that is not yet due. */
static TimestampTz
next_due_time(void)
{
	static FcQuery next_q = {
		"SELECT pg_catalog.min(continue_after) FROM flowcontrol.flow_run"
		" WHERE status = 'waiting' AND continue_after OPERATOR(pg_catalog.>) pg_catalog.now()",
		0, {InvalidOid}
	};
	bool		isnull;
	Datum		d;

	fc_catalog_exec(&next_q, NULL, NULL, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? DT_NOEND : DatumGetTimestampTz(d);
}

/* Milliseconds from now until t, rounded up, within [0, poll_interval]. */
static long
ms_until(TimestampTz t, TimestampTz now)
{
	if (t <= now)
		return 0;
	if (t == DT_NOEND || t - now >= (TimestampTz) fc_poll_interval * 1000)
		return fc_poll_interval;
	return (long) ((t - now + 999) / 1000);
}

/*
 * Delete one batch of runs done longer ago than flowcontrol.retention, when
 * it is set and the last batch was full or is FC_CLEANUP_PAUSE_MS ago (the
 * scan for old runs reads the table, so an idle worker does not repeat it
 * at every wake-up).  Runs in the unit's transaction, as the worker's role
 * over the runs it may execute.  True when the batch was full.
 */
#define FC_CLEANUP_PAUSE_MS 60000

static bool
retention_batch(void)
{
	static TimestampTz last_partial = 0;
	TimestampTz cutoff;
	int64		n;

	if (!fc_retention_cutoff(&cutoff) ||
		!TimestampDifferenceExceeds(last_partial, GetCurrentTimestamp(), FC_CLEANUP_PAUSE_MS))
		return false;
	pgstat_report_activity(STATE_RUNNING, "flowcontrol worker: retention");
	n = fc_engine_cleanup_runs(cutoff, FC_CLEANUP_BATCH, true);
	if (n < FC_CLEANUP_BATCH)
	{
		last_partial = GetCurrentTimestamp();
		return false;
	}
	return true;
}

/*
 * Whether the extension is installed, read from pg_extension itself with
 * the transaction's catalog snapshot.  Not get_extension_oid(): from
 * PostgreSQL 18 on it goes through a syscache, and the negative entry left
 * by an earlier look can outlive our wake-up, because CREATE EXTENSION's
 * commit callback sets our latch before its cache invalidations are sent.
 */
static bool
extension_installed(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("flowcontrol"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * A run whose execution keeps ending in a transient error (re-thrown by the
 * engine, so that the unit is retried) would be executed again and again,
 * each time rolling back its unit.  So the worker puts a run whose
 * execution an error aborted behind the others (put_behind; later units
 * leave it out until they find nothing else, then it is executed in a unit
 * of its own), and counts the transient failures of the same run in a row:
 * after FC_TRANSIENT_ATTEMPTS it ends the run errored (give_up_failing_run),
 * with the last error in its log.  A unit that commits while the run is no
 * longer put behind (its own unit, say) resets the count.
 */
#define FC_TRANSIENT_ATTEMPTS 3

static int64 failing_run = 0;
static int	failing_attempts = 0;
static char failing_error[FC_LAST_ERROR_LEN];

static bool
is_behind_run(int64 run)
{
	int			i;

	for (i = 0; i < nbehind; i++)
		if (behind_runs[i] == run)
			return true;
	return false;
}

static void
put_behind(int64 run)
{
	if (is_behind_run(run))
		return;
	if (nbehind == FC_BEHIND_MAX)
	{
		/* forget the oldest: it is executed in id order again */
		memmove(behind_runs, behind_runs + 1, sizeof(int64) * (FC_BEHIND_MAX - 1));
		nbehind--;
	}
	behind_runs[nbehind++] = run;
}

/* After an error escaped a unit (we are in worker_recover). */
static void
note_aborted_run(ErrorData *edata)
{
	int64		run = fc_engine_current_run;

	fc_engine_current_run = 0;
	if (run == 0)
		return;
	put_behind(run);
	if (!fc_engine_error_is_transient(edata->sqlerrcode))
		return;
	if (run != failing_run)
	{
		failing_run = run;
		failing_attempts = 0;
	}
	failing_attempts++;
	snprintf(failing_error, sizeof(failing_error), "%s: %s",
			 unpack_sql_state(edata->sqlerrcode), edata->message ? edata->message : "");
}

/* In a unit's transaction, connected to SPI. */
static void
give_up_failing_run(void)
{
	int64		run = failing_run;
	int			attempts = failing_attempts;

	if (attempts < FC_TRANSIENT_ATTEMPTS)
		return;
	/* reset first: should this fail too, it is not tried for ever */
	failing_run = 0;
	failing_attempts = 0;
	(void) fc_engine_finish(run, FC_OUTCOME_ERRORED,
							psprintf("Given up after %d attempts, each ended by a transient error; the last: %s",
									 attempts, failing_error),
							true);
}

/*
 * The runs of a unit: up to batch_size, starting none after FC_UNIT_TIME_MS
 * (so that a slow run does not keep many results uncommitted), leaving out
 * the runs put behind; or, once such a unit found nothing more to do, one
 * run put behind, alone.  Sets *more when runs were left to look at.
 */
static int
unit_runs(bool *more)
{
	FcContinueLimits limits = {0};
	int64		own_cursor = 0;
	int			n;

	limits.max_runs = fc_batch_size;
	limits.deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), FC_UNIT_TIME_MS);
	if (behind_turn && nbehind > 0)
	{
		limits.only = behind_runs[0];
		nbehind--;
		memmove(behind_runs, behind_runs + 1, sizeof(int64) * nbehind);
		behind_turn = false;
		n = fc_engine_continue_runs_from(&limits, &own_cursor);
		*more = false;
		return n;
	}
	limits.behind = behind_runs;
	limits.nbehind = nbehind;
	n = fc_engine_continue_runs_from(&limits, &sweep_cursor);
	*more = limits.more;
	behind_turn = !*more && nbehind > 0;

	/*
	 * After a full batch the next unit goes on from where this one stopped;
	 * otherwise, and every FC_SWEEP_UNITS units so that runs with lower ids
	 * that became due meanwhile do not wait for the end of a long backlog,
	 * it starts again from the lowest id.
	 */
	if (!*more || ++sweep_units >= FC_SWEEP_UNITS)
	{
		sweep_cursor = 0;
		sweep_units = 0;
	}
	return n;
}

/*
 * One unit of work in its own transaction.  Returns the time at which to
 * look again (DT_NOEND: only when woken or after poll_interval); sets
 * *executed, and *more when it stopped with runs left (there may be more).
 * Errors propagate to the caller's sigsetjmp.
 */
static TimestampTz
worker_unit(MemoryContext loop_cxt, int *executed, bool *more, bool *no_extension)
{
	TimestampTz next = DT_NOEND;
	int			n = 0;

	*more = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "flowcontrol worker: continue_flowruns");

	*no_extension = !extension_installed();
	if (!*no_extension)
	{
		give_up_failing_run();
		n = unit_runs(more);

		/*
		 * After progress look again at once: there may be more than a batch,
		 * and runs that became due while we worked (suspended without a time,
		 * child runs created here) are past the engine's id cursor. Without
		 * progress sleep until the next continue_after; due runs that other
		 * sessions hold locked must not make us spin.  Runs put behind are
		 * executed soon, after the others.
		 */
		next = (n > 0 || nbehind > 0) ? 0 : next_due_time();

		/* idle: apply flowcontrol.retention, a batch at a time */
		if (n == 0 && nbehind == 0 && retention_batch())
			next = 0;
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (failing_run != 0 && !is_behind_run(failing_run))
	{
		failing_run = 0;
		failing_attempts = 0;
	}
	MemoryContextSwitchTo(loop_cxt);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	*executed = n;
	return next;
}

/*
 * Recover from an ERROR that escaped a unit of work (we are back from
 * siglongjmp): log it, record it in the slot, abort the transaction, and
 * return to the loop's memory context.
 */
static void
worker_recover(MemoryContext loop_cxt)
{
	ErrorData  *edata;
	char		last_error[FC_LAST_ERROR_LEN];

	/* since not using PG_TRY, reset the error stack by hand */
	error_context_stack = NULL;
	HOLD_INTERRUPTS();
	disable_all_timeouts(false);
	QueryCancelPending = false;

	EmitErrorReport();
	MemoryContextSwitchTo(loop_cxt);
	edata = CopyErrorData();

	AbortCurrentTransaction();
	LWLockReleaseAll();
	pgstat_report_wait_end();
	pgstat_report_activity(STATE_IDLE, NULL);

	note_aborted_run(edata);

	/* measure and cut the message before taking the lock */
	strlcpy(last_error, edata->message ? edata->message : "", FC_LAST_ERROR_LEN);
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	Assert(my_slot->pid == MyProcPid);
	my_slot->errors++;
	memcpy(my_slot->last_error, last_error, FC_LAST_ERROR_LEN);
	LWLockRelease(fc_shared->lock);

	MemoryContextSwitchTo(TopMemoryContext);
	FlushErrorState();
	MemoryContextReset(loop_cxt);
	/* the aborted unit's runs are runnable again: sweep from the start */
	sweep_cursor = 0;
	sweep_units = 0;
	RESUME_INTERRUPTS();
}

/* Exit quietly when our database is being dropped. */
static void
exit_if_database_dropped(void)
{
	Oid			dropping;

	LWLockAcquire(fc_shared->lock, LW_SHARED);
	dropping = fc_shared->dropping_database;
	LWLockRelease(fc_shared->lock);
	if (dropping == MyDatabaseId)
	{
		ereport(LOG,
				(errmsg("flowcontrol worker exiting because database \"%s\" is being dropped",
						fc_database)));
		proc_exit(0);
	}
}

void
fc_worker_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	sigjmp_buf	local_sigjmp_buf;
	MemoryContext loop_cxt;

	/* static: must survive siglongjmp */
	static TimestampTz pause_until = 0;
	static int	errors_in_a_row = 0;
	static bool logged_no_extension = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	am_worker = true;
	/* the test clock is a session's own: the worker runs on real time */
	fc_ignore_time_offset();

	if (fc_shared == NULL || index < 0 || index >= fc_shared->nworkers ||
		!slot_claim(&fc_shared->workers[index]))
		proc_exit(0);

	BackgroundWorkerInitializeConnection(fc_database,
										 fc_role[0] != '\0' ? fc_role : NULL, 0);
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	fc_shared->database = MyDatabaseId;
	LWLockRelease(fc_shared->lock);

	loop_cxt = AllocSetContextCreate(TopMemoryContext,
									 "flowcontrol worker loop",
									 ALLOCSET_DEFAULT_SIZES);

	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		worker_recover(loop_cxt);
		errors_in_a_row++;
		pause_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												  Min(Min(FC_ERROR_PAUSE_MS << Min(errors_in_a_row - 1, 6),
														  FC_ERROR_PAUSE_MAX_MS),
													  fc_poll_interval));
	}
	PG_exception_stack = &local_sigjmp_buf;

	for (;;)
	{
		TimestampTz now;
		TimestampTz next;
		FcWorkerState state = FC_WS_IDLE;
		int			executed = 0;
		bool		more = false;
		bool		no_extension = false;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		exit_if_database_dropped();
		MemoryContextSwitchTo(loop_cxt);

		now = GetCurrentTimestamp();
		LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
		my_slot->last_wakeup = now;
		LWLockRelease(fc_shared->lock);

		if (now < pause_until)
		{
			/* after an error: let nothing but the pause end wake us */
			state = FC_WS_ERROR_PAUSE;
			next = pause_until;
			slot_set(state, pause_until);
		}
		else if (!fc_enabled)
		{
			/* committers must not wake a disabled worker */
			state = FC_WS_DISABLED;
			next = DT_NOEND;
			slot_set(state, DT_NOBEGIN);
		}
		else
		{
			/* working: any committer may need to wake us again */
			slot_set(FC_WS_RUNNING, DT_NOEND);
			next = worker_unit(loop_cxt, &executed, &more, &no_extension);
			errors_in_a_row = 0;
			if (no_extension)
			{
				state = FC_WS_NO_EXTENSION;
				if (!logged_no_extension)
					ereport(LOG,
							(errmsg("flowcontrol worker: extension \"flowcontrol\" is not installed in database \"%s\"; waiting",
									fc_database)));
				logged_no_extension = true;
			}
			else
				logged_no_extension = false;
			now = GetCurrentTimestamp();
			LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
			Assert(my_slot->pid == MyProcPid);
			my_slot->runs_executed += executed;
			my_slot->state = state;
			/* waiting for the extension: a commit's wake-up is welcome */
			my_slot->next_wakeup = no_extension ? DT_NOEND :
				Min(next, TimestampTzPlusMilliseconds(now, fc_poll_interval));
			LWLockRelease(fc_shared->lock);
			if (more)
				wake_peer();
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms_until(next, GetCurrentTimestamp()),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		MemoryContextReset(loop_cxt);
	}
}

/* ---------------------------------------------------------------------
 * flowcontrol._worker_status(): the rows of the view flowcontrol.workers
 * ---------------------------------------------------------------------
 */
static void
status_row(ReturnSetInfo *rsinfo, int index, const FcWorkerSlot *s)
{
	Datum		values[9];
	bool		nulls[9] = {0};

	values[0] = Int32GetDatum(index);
	values[1] = Int32GetDatum((int32) s->pid);
	Assert(s->state >= 0 && s->state < lengthof(fc_state_names));
	values[2] = CStringGetTextDatum(fc_state_names[s->state]);
	values[3] = Int64GetDatum(s->runs_executed);
	values[4] = Int64GetDatum(s->errors);
	if (s->last_error[0] != '\0')
		values[5] = CStringGetTextDatum(s->last_error);
	else
		nulls[5] = true;
	values[6] = TimestampTzGetDatum(s->started_at);
	if (s->last_wakeup != 0)
		values[7] = TimestampTzGetDatum(s->last_wakeup);
	else
		nulls[7] = true;
	if (!TIMESTAMP_NOT_FINITE(s->next_wakeup) && s->state != FC_WS_RUNNING)
		values[8] = TimestampTzGetDatum(s->next_wakeup);
	else
		nulls[8] = true;
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
