/*-------------------------------------------------------------------------
 *
 * wakeup.c
 *	  What a backend's commit does to the background workers: wake-ups,
 *	  registering a database for the pool, the DROP DATABASE guard; and
 *	  the ProcessUtility hook that asks for them.
 *
 * Wake-ups: the engine calls fc_wakeup_at_commit() when it creates,
 * resets or resumes a run (due now) or suspends one with a continue_after.
 * The backend remembers the earliest time; an XACT_EVENT_COMMIT callback
 * (after the commit is visible) compares it with the workers' planned
 * wake-ups in shared memory and sets the latch of one worker of its
 * database when none plans to look at or before that time.  A run due now
 * wakes an idle worker of the database earlier, at XACT_EVENT_PRE_COMMIT,
 * with the transaction's xid in its slot (early_xid): the worker starts its
 * unit while the committer flushes its commit record, waits on the xid's
 * lock (XactLockTableWait: released once the commit is visible, or the
 * abort done) and only then takes its snapshot.  So the worker's wake-up
 * overlaps the commit instead of following it.  A worker takes one early
 * wake-up at a time, and while it is still there at commit no other is
 * woken (the two would race for the run); an early wake-up that comes to
 * nothing (the commit failed) costs the worker one empty unit.  Not
 * when the commit may wait for a synchronous standby: it would then hold
 * the worker for the standby's answer.  In the pool,
 * when its database has no worker (or only workers asked to leave), it
 * records the time in the database's slot (due_at) and sets the launcher's
 * latch if the launcher plans to look later.  CREATE EXTENSION (any: it may
 * install flowcontrol by CASCADE) makes the backend check at PRE_COMMIT
 * whether flowcontrol is now installed in a database the pool serves, and
 * register the database at commit.  Aborted transactions wake nobody.
 *
 * DROP DATABASE: PostgreSQL 15 does not terminate background workers
 * connected to a database being dropped (it waits 5 s and fails), so a
 * ProcessUtility hook, run by the dropping backend, sends SIGTERM to the
 * workers of that database and keeps the launcher from starting new ones
 * there until the dropping transaction ends; if it commits, the pool
 * forgets the database.
 *
 * This file owns the backend-local "at commit" state and the transaction
 * callback that acts on it.  It is called by the engine and by
 * fire() (through wakeup.h) and by the worker; it must not call them back,
 * must not read or write flowcontrol's tables, and takes the pool's LWLock
 * only as worker.c's locking rules say.
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
#include "replication/syncrep.h"
#include "replication/walsender.h"
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
#include "wakeup.h"
#include "worker_int.h"
#include "worker_shmem.h"

static ProcessUtility_hook_type prev_process_utility_hook = NULL;

/* backend-local: pending wake-up of this transaction */
static bool xact_callback_registered = false;
static bool wake_pending = false;
static TimestampTz wake_pending_at = 0;
/* the worker slot woken at PRE_COMMIT (-1: none), and its pid then */
static int	early_worker = -1;
static pid_t early_pid = 0;
static bool drop_guard_pending = false;
static bool wake_all_pending = false;
static bool check_extension_pending = false;
static bool register_pending = false;

/* ---------------------------------------------------------------------
 * Wake-ups at commit
 * ---------------------------------------------------------------------
 */

/*
 * No worker serves this database (pool): note the work in its slot for the
 * launcher, and return the launcher's latch if it plans to look later than
 * due.  Caller holds the lock exclusively.
 */
static Latch *
note_due_locked(TimestampTz due)
{
	FcDatabaseSlot *d = fc_worker_db_slot(MyDatabaseId);
	FcWorkerSlot *l = &fc_shared->launcher;

	if (d == NULL)
		return NULL;
	d->due_at = Min(d->due_at, due);
	if (l->pid == 0 || l->next_wakeup <= due)
		return NULL;
	l->next_wakeup = due;
	return l->latch;
}

/*
 * Set the latch of one worker of this database unless one of them already
 * plans to look for work at or before wake_at.  Prefer a worker that is not
 * in the middle of a unit of work.  A worker that was asked to leave does
 * not count.  With none (the pool), tell the launcher.
 */
static void
wake_workers(TimestampTz wake_at)
{
	Latch	   *latch = NULL;
	int			best = -1;
	bool		covered = false;
	bool		pool = fc_shared->mode != FC_DB_ONE;
	TimestampTz due = 0;
	int			i;

	/* the launcher needs a time for "due now": when the work began to wait */
	if (pool)
		due = wake_at != 0 ? wake_at : GetCurrentTimestamp();

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcWorkerSlot *w = &fc_shared->workers[i];

		if (w->pid == 0 || w->database != MyDatabaseId || w->leave)
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
	else if (!covered && pool)
		latch = note_due_locked(due);
	LWLockRelease(fc_shared->lock);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * A worker that found a full batch wakes one sleeping peer of its database
 * to share the rest; that peer, finding a full batch too, wakes the next.
 * In the pool, when none sleeps, the database is marked as having a
 * backlog and the launcher may start another worker there.
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

		if (w != fc_my_slot && w->pid != 0 && w->database == MyDatabaseId &&
			w->state == FC_WS_IDLE && !w->leave && w->next_wakeup > 0)
		{
			latch = w->latch;
			w->next_wakeup = 0;
			break;
		}
	}
	if (latch == NULL && fc_shared->mode != FC_DB_ONE)
	{
		FcDatabaseSlot *d = fc_worker_db_slot(MyDatabaseId);

		if (d != NULL && !d->backlog && fc_shared->launcher.pid != 0)
		{
			d->backlog = true;
			latch = fc_shared->launcher.latch;
		}
	}
	LWLockRelease(fc_shared->lock);
	if (latch != NULL)
		SetLatch(latch);
}

void
fc_wakeup_share_work(void)
{
	if (fc_am_worker && fc_shared != NULL)
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

/*
 * The end of a DROP DATABASE's transaction: workers may be started again;
 * if the drop committed, the pool forgets the database.
 */
static void
end_drop_guard(bool committed)
{
	FcDatabaseSlot *d;

	drop_guard_pending = false;
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	if (committed && (d = fc_worker_db_slot(fc_shared->dropping_database)) != NULL)
		d->dboid = InvalidOid;
	fc_shared->dropping_database = InvalidOid;
	LWLockRelease(fc_shared->lock);
	wake_all();
}

/*
 * Before a transaction that ran CREATE EXTENSION (of flowcontrol, or of an
 * extension that required it: CASCADE) commits: is flowcontrol now
 * installed in this database, and does the pool serve it?  Then the
 * database is registered at commit.  Catalog access is still allowed here.
 */
static char register_name[NAMEDATALEN];

static bool
database_to_register(void)
{
	HeapTuple	tuple;
	bool		istemplate;
	char	   *name;

	if (fc_shared->mode == FC_DB_ONE || !fc_worker_extension_installed())
		return false;
	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
	if (!HeapTupleIsValid(tuple))
		return false;
	istemplate = ((Form_pg_database) GETSTRUCT(tuple))->datistemplate;
	ReleaseSysCache(tuple);
	name = get_database_name(MyDatabaseId);
	if (name == NULL || (istemplate && fc_shared->mode == FC_DB_ALL) ||
		!fc_worker_database_listed(name))
		return false;
	strlcpy(register_name, name, sizeof(register_name));
	return true;
}

/* At commit: the pool serves this database from now on. */
static void
register_database(void)
{
	if (!fc_worker_db_register(MyDatabaseId, GetCurrentTimestamp(), true))
		ereport(WARNING,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("flowcontrol workers serve at most %d databases; database \"%s\" is not served",
						FC_MAX_DATABASES, register_name),
				 errhint("Call flowcontrol.continue_flowruns() in it, or drop the extension in databases that do not use it and restart the server.")));
	wake_all();
}

/*
 * Whether this transaction's commit may wait for a synchronous standby:
 * synchronous_commit asks for it and synchronous_standby_names names one
 * (SyncRepWaitForLSN() also checks that the checkpointer has seen the
 * names; a backend that has seen them may wait).
 */
static bool
sync_rep_wait_possible(void)
{
	return SyncRepRequested() &&
		SyncRepStandbyNames != NULL && SyncRepStandbyNames[0] != '\0';
}

/*
 * A worker of this database that is idle, not leaving, and not yet taken
 * by another committer's early wake-up.  Read without the lock by
 * wake_early()'s first look, hence volatile.
 */
static bool
early_candidate(volatile FcWorkerSlot *w)
{
	return w->pid != 0 && w->database == MyDatabaseId && !w->leave &&
		w->state == FC_WS_IDLE && !TransactionIdIsValid(w->early_xid);
}

/*
 * At PRE_COMMIT of a transaction that made a run due now: wake an idle
 * worker of this database at once, giving it the xid to wait for (see the
 * file header).  Not when the commit may wait for a synchronous standby,
 * nor for a transaction without an xid (it wrote nothing).
 */
static void
wake_early(void)
{
	TransactionId xid = GetTopTransactionIdIfAny();
	Latch	   *latch = NULL;
	int			i;

	early_worker = -1;
	if (!TransactionIdIsValid(xid) || sync_rep_wait_possible())
		return;

	/*
	 * A look without the lock first: with no idle worker of this database
	 * (all busy, disabled, or none here) a commit must not pay for the
	 * exclusive lock twice.  A stale read only costs the early wake-up;
	 * the wake-up at commit follows anyway.
	 */
	for (i = 0; i < fc_shared->nworkers; i++)
		if (early_candidate(&fc_shared->workers[i]))
			break;
	if (i == fc_shared->nworkers)
		return;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcWorkerSlot *w = &fc_shared->workers[i];

		if (!early_candidate(w))
			continue;
		w->early_xid = xid;
		latch = w->latch;
		early_worker = i;
		early_pid = w->pid;
		break;
	}
	LWLockRelease(fc_shared->lock);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * At commit: is the worker woken early for this transaction still there?
 * Then it will look once the commit is visible (its unit waits for our
 * xid before it takes its snapshot), and waking another worker would only
 * make the two race for the run, the later-woken one often first.  If it
 * leaves the pool before its unit, it hands its database's due work on
 * (worker.c, slot_release).
 */
static bool
early_worker_covers(void)
{
	bool		covers = false;

	if (early_worker < 0)
		return false;
	LWLockAcquire(fc_shared->lock, LW_SHARED);
	covers = fc_shared->workers[early_worker].pid == early_pid;
	LWLockRelease(fc_shared->lock);
	early_worker = -1;
	return covers;
}

static void
worker_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (wake_pending && wake_pending_at == 0)
				wake_early();
			if (check_extension_pending)
			{
				check_extension_pending = false;
				register_pending = database_to_register();
			}
			break;
		case XACT_EVENT_COMMIT:
			if (wake_pending)
			{
				wake_pending = false;
				if (!early_worker_covers())
					wake_workers(wake_pending_at);
			}
			if (drop_guard_pending)
				end_drop_guard(true);
			if (register_pending)
			{
				register_pending = false;
				register_database();
			}
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
			early_worker = -1;
			wake_all_pending = false;
			check_extension_pending = false;
			register_pending = false;
			if (drop_guard_pending)
				end_drop_guard(false);
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
fc_wakeup_at_commit(TimestampTz wake_at)
{
	/* not preloaded, or a worker: it looks for work after each unit */
	if (fc_shared == NULL || fc_am_worker)
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
	ours = fc_worker_db_slot(dboid) != NULL;
	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcWorkerSlot *w = &fc_shared->workers[i];

		if (w->database != dboid)
			continue;
		ours = true;
		if (w->pid != 0)
			pids[n++] = w->pid;
	}
	if (ours)
		fc_shared->dropping_database = dboid;
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
	else if (IsA(parsetree, CreateExtensionStmt))
	{
		/* CASCADE may install flowcontrol for another extension */
		if (fc_shared != NULL && fc_shared->mode != FC_DB_ONE)
		{
			ensure_xact_callback();
			check_extension_pending = true;
		}
		wake = strcmp(((CreateExtensionStmt *) parsetree)->extname, "flowcontrol") == 0;
	}

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

void
fc_wakeup_install_utility_hook(void)
{
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = worker_process_utility;
}

/*
 * Whether the extension is installed, read from pg_extension itself with
 * the transaction's catalog snapshot.  Not get_extension_oid(): from
 * PostgreSQL 18 on it goes through a syscache, and the negative entry left
 * by an earlier look can outlive our wake-up, because CREATE EXTENSION's
 * commit callback sets our latch before its cache invalidations are sent.
 * For the same reason the answer is not cached by catalog generation (a
 * shortcut tried once): a worker woken at DROP EXTENSION's commit could
 * start before the drop's invalidations, trust the stale generation and
 * fail its unit on the dropped tables.
 */
bool
fc_worker_extension_installed(void)
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
