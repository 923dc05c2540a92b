/*-------------------------------------------------------------------------
 *
 * engine_continue.c
 *	  continue_flowruns() and the worker's unit of work: sweeping for
 *	  runnable runs and executing each; deleting finished runs (retention).
 *
 * A sweep reads the ids of runnable runs without locking them and locks
 * each (SKIP LOCKED) just before executing it, so it holds locks only on
 * the runs it executed (until its transaction ends) and the one it is
 * executing: a slow run keeps no other run from other sweeps.  Each run
 * executes in its own subtransaction (fc_engine_guarded), so one run's
 * failure never undoes another's progress; an engine-level failure is
 * recorded on the run.  Runs in the caller's transaction; never commits.
 *
 * This file owns the sweep's order and batching, and
 * fc_engine_current_run.  It executes runs only through engine.c
 * (fc_engine_execute_run), and must not know about the worker beyond
 * asking, through wakeup.h, for an idle peer to share the work.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "clock.h"
#include "engine.h"
#include "engine_int.h"
#include "wakeup.h"

int64		fc_engine_current_run = 0;

/* ---------------------------------------------------------------------
 * continue_flowruns(): the worker's unit of work
 * ---------------------------------------------------------------------
 */
typedef struct FcContinueArgs
{
	FcRun	   *run;
	bool		defer_write;
	bool		needs_write;
	FcRun	   *result;
} FcContinueArgs;

static void
continue_one_guarded(void *arg)
{
	FcContinueArgs *ca = (FcContinueArgs *) arg;

	ca->result = fc_engine_execute_run(ca->run, FC_DEFAULT_MAX_HOT_LOOP, ca->defer_write,
								&ca->needs_write);
}

/* most candidate ids read at a time */
#define FC_CLAIM_BATCH 100
#define FC_CANDIDATE_VISIBLE \
		" AND ($3 OR EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id = r.flow_id" \
		" AND pg_catalog.pg_has_role($4, f.owner::pg_catalog.oid, 'MEMBER')))" \
		" ORDER BY r.id LIMIT $2)"

int
fc_engine_continue_runs(int max_runs)
{
	FcContinueLimits limits = {0};
	int64		cursor = 0;

	limits.max_runs = max_runs;
	return fc_engine_continue_runs_from(&limits, &cursor);
}

/*
 * Lock a candidate run for execution, if nobody else holds it and it is
 * still runnable: its row may have changed since the candidates were read,
 * and the newest version is what counts, as in READ COMMITTED.  NULL when
 * it is not ours to execute.  A row found no longer runnable stays locked
 * to the end of the transaction, as with SELECT ... FOR UPDATE.
 */
static FcRun *
lock_candidate(int64 run_id, ItemPointer tid, TimestampTz now)
{
	FcRun	   *run = fc_catalog_try_lock_run(run_id, tid);

	if (run == NULL)
		return NULL;
	if (run->status == FC_STATUS_PENDING && !run->has_continue_after)
		return run;
	if (run->status == FC_STATUS_WAITING && run->has_continue_after &&
		run->continue_after <= now)
		return run;
	return NULL;
}

static bool
is_behind(const FcContinueLimits *limits, int64 run_id)
{
	int			i;

	for (i = 0; i < limits->nbehind; i++)
		if (limits->behind[i] == run_id)
			return true;
	return false;
}

int
fc_engine_continue_runs_from(FcContinueLimits *limits, int64 *cursor)
{
	/*
	 * Read the ids of runnable runs in id order, without locking them; the
	 * id cursor makes each run execute at most once per call even when it is
	 * runnable again afterwards.  Pending and due waiting runs are read by
	 * two scans of their partial indexes (one OR over both would be planned
	 * as a scan of the primary key that reads every done run).  Each
	 * candidate is then locked just before it is executed (lock_candidate),
	 * so that the runs behind a slow one stay free for other workers and
	 * sessions: at any time this call holds locks only on the runs it has
	 * executed and the one it is executing.
	 */
	static FcQuery candidates_q = {
		"WITH p AS (SELECT r.id, r.ctid FROM flowcontrol.flow_run r"
		" WHERE r.id > $1 AND r.status = 'pending' AND r.continue_after IS NULL"
		FC_CANDIDATE_VISIBLE
		", w AS (SELECT r.id, r.ctid FROM flowcontrol.flow_run r"
		" WHERE r.id > $1 AND r.status = 'waiting'"
		" AND r.continue_after OPERATOR(pg_catalog.<=) $5"
		FC_CANDIDATE_VISIBLE
		" SELECT c.id, c.ctid FROM (SELECT * FROM p UNION ALL SELECT * FROM w) c ORDER BY c.id LIMIT $2",
		5, {INT8OID, INT4OID, BOOLOID, OIDOID, TIMESTAMPTZOID}
	};
	static FcQuery only_q = {
		"SELECT r.id, r.ctid FROM flowcontrol.flow_run r WHERE r.id = $1", 1, {INT8OID}
	};
	int64		last_id = *cursor;
	int			executed = 0;
	int			max_runs = limits->max_runs;
	bool		is_super = superuser();
	bool		shared = false;
	Oid			user = GetUserId();

	/*
	 * The claim takes the runs of the flows the current user may see: those
	 * of owners it is a member of, or all for a superuser.  So the session's
	 * clock applies to all of them or none.
	 */
	TimestampTz claim_now = fc_now(user);
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"flowcontrol continue batch",
													ALLOCSET_DEFAULT_SIZES);

	limits->more = false;
	for (;;)
	{
		Datum		args[5];
		int			limit = FC_CLAIM_BATCH;
		int			n;
		int			i;
		int64	   *ids;
		ItemPointerData *tids;
		MemoryContext old;
		bool		defer;

		if (max_runs > 0)
			limit = Min(limit, max_runs - executed);
		if (limit <= 0)
		{
			limits->more = true;
			break;
		}

		MemoryContextReset(batch_cxt);
		old = MemoryContextSwitchTo(batch_cxt);
		if (limits->only != 0)
		{
			/* one given run (one the worker put behind), visible to us */
			args[0] = Int64GetDatum(limits->only);
			fc_catalog_exec(&only_q, args, NULL, 1);
			limit = 1;
		}
		else
		{
			args[0] = Int64GetDatum(last_id);
			args[1] = Int32GetDatum(limit);
			args[2] = BoolGetDatum(is_super);
			args[3] = ObjectIdGetDatum(user);
			args[4] = TimestampTzGetDatum(claim_now);
			fc_catalog_exec(&candidates_q, args, NULL, 0);
		}
		n = (int) SPI_processed;
		ids = palloc(sizeof(int64) * Max(n, 1));
		tids = palloc(sizeof(ItemPointerData) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			ids[i] = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
			tids[i] = *(ItemPointer) DatumGetPointer(SPI_getbinval(tuple, desc, 2, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);

		/*
		 * Each run's row is locked by this (top) transaction.  Updating it
		 * from the run's subtransaction would make every run a MultiXact
		 * (locker and updater differ), so the row is written here, after the
		 * subtransaction -- unless flow_run has triggers of its own, whose
		 * failure must stay confined to the run.
		 */
		defer = fc_catalog_run_writes_plain();
		for (i = 0; i < n; i++)
		{
			FcContinueArgs ca = {NULL, defer, false, NULL};
			ErrorData  *edata = NULL;
			FcRun	   *run;

			CHECK_FOR_INTERRUPTS();

			/* the time bound, checked between runs */
			if (limits->deadline != 0 && executed > 0 &&
				GetCurrentTimestamp() >= limits->deadline)
			{
				limits->more = true;
				break;
			}
			/* a stop request (the worker pool wants the worker elsewhere) */
			if (limits->stop != NULL && *limits->stop)
			{
				limits->more = true;
				break;
			}
			last_id = ids[i];
			*cursor = last_id;
			if (is_behind(limits, ids[i]) ||
				(run = lock_candidate(ids[i], &tids[i], claim_now)) == NULL)
				continue;

			/* more runs are due than this one: let an idle worker share them */
			if (!shared && i + 1 < n)
			{
				fc_wakeup_share_work();
				shared = true;
			}
			ca.run = run;
			fc_engine_current_run = last_id;
			if (fc_engine_guarded(continue_one_guarded, &ca, InvalidOid, false, &edata))
			{
				if (ca.needs_write)
				{
					fc_catalog_write_run(ca.result);
					if (ca.result->status == FC_STATUS_DONE)
						fc_engine_release_version(ca.result->flow_id, ca.result->flow_version);
				}
			}
			else
			{
				/* an engine-level failure: record it on the run */
				run->status = FC_STATUS_DONE;
				run->outcome = FC_OUTCOME_ERRORED;
				run->has_done_at = true;
				run->done_at = claim_now;
				run->log = fc_log_append(run->log, fc_log_line(fc_engine_describe_error(edata), claim_now));
				AssertRunDone(run);
				fc_catalog_write_run(run);
				fc_engine_release_version(run->flow_id, run->flow_version);
			}
			fc_engine_current_run = 0;
			executed++;
		}
		MemoryContextSwitchTo(old);
		if (limits->more || n < limit || limits->only != 0)
			break;
	}
	MemoryContextDelete(batch_cxt);
	return executed;
}

/* ---------------------------------------------------------------------
 * Retention: deleting finished runs
 * ---------------------------------------------------------------------
 */
int64
fc_engine_cleanup_runs(TimestampTz before, int64 max_runs, bool visible_only)
{
	/*
	 * One batch: done runs finished before $1, at most $2, of visible flows
	 * unless $3; rows locked by others (being reset, say) are skipped and
	 * left for a later call.  No index on done_at: a done run's row must stay
	 * cheap to write, and the scan stops once it has a batch.
	 */
	static FcQuery q = {
		"WITH d AS (DELETE FROM flowcontrol.flow_run WHERE id IN ("
		" SELECT r.id FROM flowcontrol.flow_run r"
		" WHERE r.status = 'done' AND r.done_at OPERATOR(pg_catalog.<) $1"
		" AND ($3 OR EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id = r.flow_id"
		" AND pg_catalog.pg_has_role($4, f.owner::pg_catalog.oid, 'MEMBER')))"
		" LIMIT $2 FOR UPDATE OF r SKIP LOCKED) RETURNING 1)"
		" SELECT pg_catalog.count(*) FROM d",
		4, {TIMESTAMPTZOID, INT8OID, BOOLOID, OIDOID}
	};
	int64		deleted = 0;
	bool		all = !visible_only || superuser();
	Oid			user = GetUserId();

	for (;;)
	{
		Datum		args[4];
		int64		limit = FC_CLEANUP_BATCH;
		int64		n;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (max_runs > 0)
			limit = Min(limit, max_runs - deleted);
		if (limit <= 0)
			break;
		args[0] = TimestampTzGetDatum(before);
		args[1] = Int64GetDatum(limit);
		args[2] = BoolGetDatum(all);
		args[3] = ObjectIdGetDatum(user);
		fc_catalog_exec(&q, args, NULL, 1);
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_freetuptable(SPI_tuptable);
		deleted += n;
		if (n < limit)
			break;
	}
	return deleted;
}
