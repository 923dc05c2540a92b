/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background worker that executes runnable flow runs.
 *
 * With shared_preload_libraries = 'flowcontrol' the postmaster starts one
 * "flowcontrol launcher" once recovery has finished (so a standby runs
 * nothing until it is promoted).  The launcher (launcher.c) connects to no
 * database and starts dynamic "flowcontrol worker" processes: with one
 * database named in flowcontrol.database, max_workers of them that stay
 * connected to it; with '*' or a list, a pool of at most max_workers, each
 * sent to a database with due work (worker_int.h has the shared state).
 * This file holds the registration and the worker process: its slot, its
 * loop and its unit of work.  The settings, the shared memory and the
 * status view are in worker_shmem.c; the commit-time wake-ups and the utility
 * hook in wakeup.c; the launcher in launcher.c.  The locking rules and
 * invariants below hold for all four.
 *
 * A pool worker serves one database for its whole life.  It leaves (exits
 * cleanly, FcWorkerSlot.clean_exit) when the launcher asks it to
 * (FcWorkerSlot.leave: checked between units, and by the engine between
 * the runs of a unit), after poll_interval without work, or when the extension is not
 * installed in its database (the pool then forgets the database).  Leaving
 * or dying, it writes into its database's slot when work is due there next
 * (slot_release), so the launcher can send a worker back.
 *
 * A worker's loop is worker_spi's: do one unit of work, sleep on the latch,
 * reload the configuration on SIGHUP, exit on SIGTERM (die) and on
 * postmaster death.  The unit of work is fc_engine_continue_runs_from(),
 * the function behind flowcontrol.continue_flowruns(), limited to
 * flowcontrol.batch_size runs and starting none after FC_UNIT_TIME_MS,
 * followed by a query for the earliest future continue_after; the worker
 * then sleeps until that time, at most flowcontrol.poll_interval ms, or
 * until its latch is set.  A unit that takes a run with more due behind it
 * wakes an idle peer at once (fc_wakeup_share_work), so a slow run delays
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
 * Wake-ups: committing backends wake the workers when runs become
 * runnable (wakeup.c); a worker publishes in its slot when it will look
 * for work next (next_wakeup), so that committers wake it only when it
 * would look too late.

 * Transaction boundaries: each unit of work is one transaction
 * (StartTransactionCommand ... CommitTransactionCommand); each run inside
 * it executes in its own subtransaction (the engine's), so one run's
 * failure never undoes another's, and a crash rolls back only the
 * uncommitted unit: a run is never lost and no committed step runs twice.
 * The launcher uses short transactions for its catalog look-ups only.
 *
 * Locks: FcWorkerShared.lock, the LWLock of the named tranche
 * "flowcontrol workers", protects every field of the shared state.  It is
 * held to copy or update fields (loops over at most FC_MAX_WORKERS worker
 * and FC_MAX_DATABASES database slots, copying a few kilobytes), never across a call that can raise an error,
 * sleep or wait for another lock; SetLatch() and kill(SIGTERM) are called
 * after releasing it, and timestamps are read before taking it.  The one
 * system call under it is fc_worker_slot_claim()'s kill(pid, 0) probe, which must be
 * atomic with taking the slot.  Shared mode where nothing is written.
 *
 * Invariants: a slot's pid is set by the process that owns it and cleared
 * by that process's on_shmem_exit callback (a crash resets all of shared
 * memory); next_wakeup is DT_NOEND while the owner is working or may need
 * a wake-up at any time, DT_NOBEGIN while it must not be woken (disabled),
 * and otherwise a time at or before which it will look for work again,
 * with a snapshot taken after that time was published.  A committer that
 * finds next_wakeup <= its wake time therefore needs to wake nobody.  A
 * worker slot's database is written by the launcher before the start and
 * kept after the exit.  A database slot's due_at is meaningful only while
 * no worker that was not asked to leave serves the database: a worker
 * arriving sets it to DT_NOEND before its first snapshot; a worker marked
 * as leaving is skipped by committers, who then write due_at themselves.
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
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "catalog.h"
#include "clock.h"
#include "compat.h"
#include "engine.h"
#include "wakeup.h"
#include "worker.h"
#include "worker_int.h"
#include "worker_shmem.h"

/* the next_wakeup this worker published last: a lower one is a wake-up */
static TimestampTz published_wakeup = DT_NOEND;

/* the worker's sweep over a backlog: see worker_unit() */
static int64 sweep_cursor = 0;
static int	sweep_units = 0;

/* the worker's database, for messages (read in its first unit) */
static char db_name[NAMEDATALEN];

/*
 * Runs whose execution an error aborted (a query cancel, a transient
 * error): put behind the others, then executed in a unit of their own, so
 * that neither a run that keeps failing nor the operator's cancel of a
 * slow one holds up the runs behind it.  Oldest first; worker-local.
 */
static int64 behind_runs[FC_BEHIND_MAX];
static int	nbehind = 0;
static bool behind_turn = false;

/* ---------------------------------------------------------------------
 * Registration
 * ---------------------------------------------------------------------
 */
void
fc_worker_register(void)
{
	BackgroundWorker bgw;

	if (!process_shared_preload_libraries_in_progress)
		return;

	fc_worker_shmem_install_hooks();
	fc_wakeup_install_utility_hook();

	if (fc_max_workers == 0)
		return;
	fc_worker_fill_bgw(&bgw, "fc_worker_launcher_main", "flowcontrol launcher");
	strlcpy(bgw.bgw_name, "flowcontrol launcher", BGW_MAXLEN);
	bgw.bgw_restart_time = 10;
	RegisterBackgroundWorker(&bgw);
}

/* ---------------------------------------------------------------------
 * The worker's slot
 * ---------------------------------------------------------------------
 */
/* Update the calling process's slot. */
static void
slot_set(FcWorkerState state, TimestampTz next_wakeup)
{
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	Assert(fc_my_slot->pid == MyProcPid);
	fc_my_slot->state = state;
	fc_my_slot->next_wakeup = next_wakeup;
	published_wakeup = next_wakeup;
	LWLockRelease(fc_shared->lock);
}

/*
 * When a pool worker exits, the work it leaves in its database: the time
 * its next unit was due (0, the default: at once, as after an error or
 * SIGTERM in the middle of a unit, whose runs are runnable again).
 */
static TimestampTz exit_due = 0;


/*
 * A worker exits with work due in its database at due: a peer that stays
 * there gets it (its latch is returned, to be set after releasing the lock)
 * if it would look later; with no peer, the database's slot records it for
 * the launcher.  Caller holds the lock exclusively.
 */
static Latch *
hand_over_locked(TimestampTz due)
{
	FcDatabaseSlot *d = fc_worker_db_slot(MyDatabaseId);
	int			i;

	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcWorkerSlot *w = &fc_shared->workers[i];

		if (w == fc_my_slot || w->pid == 0 || w->database != MyDatabaseId || w->leave)
			continue;
		if (w->next_wakeup <= due)
			return NULL;
		w->next_wakeup = due;
		return w->latch;
	}
	if (d != NULL)
		d->due_at = Min(d->due_at, due);
	return NULL;
}

/*
 * on_shmem_exit: give the slot back; a worker hands what is due in its
 * database on to the launcher, which starts a worker there when it comes.
 */
static void
slot_release(int code, Datum arg)
{
	TimestampTz now;
	TimestampTz due;
	Latch	   *peer = NULL;

	if (fc_shared == NULL || fc_my_slot == NULL)
		return;
	now = GetCurrentTimestamp();
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	if (fc_my_slot->pid == MyProcPid)
	{
		if (fc_am_worker && OidIsValid(MyDatabaseId))
		{
			/* a committer's wake-up that came too late counts too */
			due = exit_due;
			/* woken early for a commit, and leaving before looking */
			if (TransactionIdIsValid(fc_my_slot->early_xid))
				due = 0;
			if (fc_my_slot->next_wakeup < published_wakeup)
				due = Min(due, fc_my_slot->next_wakeup);
			due = Max(due, now);
			peer = hand_over_locked(due);
		}
		fc_my_slot->pid = 0;
		fc_my_slot->latch = NULL;
	}
	LWLockRelease(fc_shared->lock);
	fc_my_slot = NULL;
	if (peer != NULL)
		SetLatch(peer);
}

/* Take a slot for this process; false if another live process has it. */
bool
fc_worker_slot_claim(FcWorkerSlot *slot)
{
	bool		ok = false;
	TimestampTz now = GetCurrentTimestamp();

	Assert(fc_my_slot == NULL);
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	/* a slot whose process is gone (launcher restart) is free */
	if (slot->pid == 0 || (slot->pid != MyProcPid && kill(slot->pid, 0) != 0))
	{
		slot->pid = MyProcPid;
		slot->latch = MyLatch;
		slot->state = FC_WS_STARTING;
		slot->leave = false;
		slot->clean_exit = false;
		slot->started_at = now;
		slot->next_wakeup = DT_NOEND;
		slot->early_xid = InvalidTransactionId;
		slot->last_wakeup = 0;
		slot->runs_executed = 0;
		slot->errors = 0;
		slot->last_error[0] = '\0';
		ok = true;
	}
	LWLockRelease(fc_shared->lock);
	if (ok)
	{
		fc_my_slot = slot;
		on_shmem_exit(slot_release, (Datum) 0);
	}
	return ok;
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

/* The launcher wants this worker's place for another database (pool). */
static bool
asked_to_leave(void)
{
	bool		leave;

	LWLockAcquire(fc_shared->lock, LW_SHARED);
	leave = fc_my_slot->leave;
	LWLockRelease(fc_shared->lock);
	return leave;
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
	/* the pool: the launcher may want this worker elsewhere (between runs) */
	if (fc_shared->mode != FC_DB_ONE)
		limits.stop = &fc_my_slot->leave;
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
 * At the start of a unit: woken early, wait until that transaction has
 * ended (committed and visible, or aborted) before the unit's snapshot.
 */
static void
wait_for_early_waker(void)
{
	TransactionId xid;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	xid = fc_my_slot->early_xid;
	fc_my_slot->early_xid = InvalidTransactionId;
	LWLockRelease(fc_shared->lock);
	if (TransactionIdIsValid(xid))
	{
		/*
		 * The rest of a commit is no lock conflict: a lock_timeout the
		 * worker connected with (ALTER DATABASE ... SET) must not turn a slow
		 * WAL flush into an error of the unit.  Set back right after.
		 */
		int			nestlevel = NewGUCNestLevel();

		(void) set_config_option("lock_timeout", "0", PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		XactLockTableWait(xid, NULL, NULL, XLTW_None);
		AtEOXact_GUC(true, nestlevel);

		/*
		 * What that transaction changed in the catalogs (a flow deployed, the
		 * extension dropped) is visible now: take its invalidations before
		 * anything consults the caches.
		 */
		AcceptInvalidationMessages();
	}
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
	wait_for_early_waker();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "flowcontrol worker: continue_flowruns");

	if (db_name[0] == '\0')
	{
		char	   *name = get_database_name(MyDatabaseId);

		strlcpy(db_name, name != NULL ? name : "?", sizeof(db_name));
	}
	*no_extension = !fc_worker_extension_installed();
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
	Assert(fc_my_slot->pid == MyProcPid);
	fc_my_slot->errors++;
	memcpy(fc_my_slot->last_error, last_error, FC_LAST_ERROR_LEN);
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
						db_name)));
		proc_exit(0);
	}
}

/*
 * A pool worker leaves its database: the launcher wants its place for
 * another one, the database has been idle for poll_interval, or the
 * extension is not installed there.  due tells the launcher when work
 * comes due in the database it leaves (slot_release).  A clean exit is no
 * failure for the launcher's restart delay.
 */
static void
leave_pool(TimestampTz due)
{
	exit_due = due;
	/* from now on committers tell the launcher instead of this worker */
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	Assert(fc_my_slot->pid == MyProcPid);
	fc_my_slot->leave = true;
	fc_my_slot->clean_exit = true;
	fc_my_slot->state = FC_WS_LEAVING;
	LWLockRelease(fc_shared->lock);
	ereport(DEBUG1,
			(errmsg("flowcontrol worker leaving database \"%s\"", db_name)));
	proc_exit(0);
}

/* The generation of this database's slot (see FcDatabaseSlot); 0 if none. */
static uint32
database_generation(void)
{
	FcDatabaseSlot *d;
	uint32		generation = 0;

	LWLockAcquire(fc_shared->lock, LW_SHARED);
	d = fc_worker_db_slot(MyDatabaseId);
	if (d != NULL)
		generation = d->generation;
	LWLockRelease(fc_shared->lock);
	return generation;
}

/*
 * The extension is not installed in this pool worker's database: the pool
 * forgets the database, unless CREATE EXTENSION registered it again after
 * the unit's snapshot was taken (its generation moved), and the worker
 * leaves.
 */
static void
forget_database(uint32 generation)
{
	FcDatabaseSlot *d;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	d = fc_worker_db_slot(MyDatabaseId);
	if (d != NULL && d->generation == generation)
		d->dboid = InvalidOid;
	LWLockRelease(fc_shared->lock);
	if (fc_shared->mode == FC_DB_LIST)
		ereport(LOG,
				(errmsg("flowcontrol worker: extension \"flowcontrol\" is not installed in database \"%s\"; a worker comes back when it is created",
						db_name)));
	leave_pool(DT_NOEND);
}

/*
 * After a pool worker's unit: leave if asked to; at once if it has found
 * nothing to do since it arrived (a visit, or work someone else did) and
 * nothing is due within poll_interval; or after poll_interval without work
 * (an idle database keeps no process).
 * exit_due is what the database has due if the worker leaves now or is
 * terminated while idle.
 */
static void
pool_after_unit(TimestampTz next, int executed, bool more, TimestampTz now)
{
	static TimestampTz last_work = 0;

	if (executed > 0)
		last_work = now;

	/*
	 * Come back within FC_POOL_REVISIT_POLLS poll_intervals even with
	 * nothing due: a run made runnable behind the engine's back (COMMIT
	 * PREPARED, an UPDATE of flow_run) wakes nobody, and must not wait for
	 * a restart.
	 */
	next = Min(next, TimestampTzPlusMilliseconds(now,
												 (int64) fc_poll_interval * FC_POOL_REVISIT_POLLS));
	exit_due = more ? 0 : next;
	if (asked_to_leave())
		leave_pool(exit_due);
	if (executed == 0 && !more &&
		(last_work == 0 ?
		 TimestampDifferenceExceeds(now, next, fc_poll_interval) :
		 TimestampDifferenceExceeds(last_work, now, fc_poll_interval)))
		leave_pool(next);
}

/* A pool worker has arrived in its database: the launcher's note is done. */
static void
pool_arrive(void)
{
	FcDatabaseSlot *d;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	d = fc_worker_db_slot(MyDatabaseId);
	if (d != NULL)
		d->due_at = DT_NOEND;
	LWLockRelease(fc_shared->lock);
	/* a database whose slot was taken back in the meantime is noted again */
	if (d == NULL)
		(void) fc_worker_db_register(MyDatabaseId, DT_NOEND, false);
}

void
fc_worker_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	sigjmp_buf	local_sigjmp_buf;
	MemoryContext loop_cxt;
	Oid			dboid;
	Oid			role;
	bool		pool;

	/* static: must survive siglongjmp */
	static TimestampTz pause_until = 0;
	static int	errors_in_a_row = 0;
	static bool logged_no_extension = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	fc_am_worker = true;
	/* the test clock is a session's own: the worker runs on real time */
	fc_ignore_time_offset();

	if (fc_shared == NULL || index < 0 || index >= fc_shared->nworkers ||
		!fc_worker_slot_claim(&fc_shared->workers[index]))
		proc_exit(0);

	/* the launcher chose the database and looked the role up */
	LWLockAcquire(fc_shared->lock, LW_SHARED);
	dboid = fc_my_slot->database;
	role = fc_shared->role;
	LWLockRelease(fc_shared->lock);
	pool = fc_shared->mode != FC_DB_ONE;
	BackgroundWorkerInitializeConnectionByOid(dboid, role, 0);
	if (pool)
		pool_arrive();

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
		uint32		generation;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		exit_if_database_dropped();
		if (pool && asked_to_leave())
			leave_pool(exit_due);
		MemoryContextSwitchTo(loop_cxt);

		now = GetCurrentTimestamp();
		LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
		fc_my_slot->last_wakeup = now;
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
			generation = pool ? database_generation() : 0;
			exit_due = 0;
			next = worker_unit(loop_cxt, &executed, &more, &no_extension);
			errors_in_a_row = 0;
			if (no_extension && pool)
				forget_database(generation);
			if (no_extension)
			{
				state = FC_WS_NO_EXTENSION;
				if (!logged_no_extension)
					ereport(LOG,
							(errmsg("flowcontrol worker: extension \"flowcontrol\" is not installed in database \"%s\"; waiting",
									db_name)));
				logged_no_extension = true;
			}
			else
				logged_no_extension = false;
			now = GetCurrentTimestamp();
			LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
			Assert(fc_my_slot->pid == MyProcPid);
			fc_my_slot->runs_executed += executed;
			fc_my_slot->state = state;
			/* waiting for the extension: a commit's wake-up is welcome */
			fc_my_slot->next_wakeup = no_extension ? DT_NOEND :
				Min(next, TimestampTzPlusMilliseconds(now, fc_poll_interval));
			published_wakeup = fc_my_slot->next_wakeup;
			if (pool && !more)
			{
				FcDatabaseSlot *d = fc_worker_db_slot(MyDatabaseId);

				if (d != NULL)
					d->backlog = false;
			}
			LWLockRelease(fc_shared->lock);
			if (more)
				fc_wakeup_share_work();
			if (pool)
				pool_after_unit(next, executed, more, now);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms_until(next, GetCurrentTimestamp()),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		MemoryContextReset(loop_cxt);
	}
}
