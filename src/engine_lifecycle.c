/*-------------------------------------------------------------------------
 *
 * engine_lifecycle.c
 *	  Creating runs (limits, reset_to_action), the life-cycle changes of the
 *	  SQL functions (finish, reset, pause, resume, append to the log,
 *	  cancel for an object), and deleting flows.
 *
 * Limits: creating a run takes transaction-level advisory locks (own lock
 * tag, so they never collide with the user's advisory locks) on the flow
 * and on (flow, object) before counting, so concurrent creations at READ
 * COMMITTED see each other's committed runs.
 *
 * A change to a run that this backend is executing (an action calling
 * cancel_flowrun() on its own run, say) is recorded on the execution and
 * takes effect when the action returns; reset, pause and resume refuse it.
 * Every change here runs in the caller's transaction and writes the run's
 * row once, under its row lock.
 *
 * This file owns the run-creation rules and the advisory lock tags.  It
 * must not execute runs itself (that is engine.c), nor read or write the
 * tables other than through catalog.c.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "clock.h"
#include "engine.h"
#include "engine_int.h"
#include "objects.h"
#include "versions.h"
#include "wakeup.h"

/* lock tag field4 for flowcontrol's advisory locks (user ones use 1 and 2) */
#define FC_LOCKTAG_FIELD4 0x4643
#define FC_LOCKTAG_NAME 0x464E	/* flow names being deployed */

/* ---------------------------------------------------------------------
 * Creating runs
 * ---------------------------------------------------------------------
 */
static void
lock_limit(int64 flow_id, Oid object_table, const char *object_id)
{
	LOCKTAG		tag;
	uint32		h1 = hash_bytes_uint32((uint32) flow_id) ^ (uint32) (flow_id >> 32);
	uint32		h2 = 0;

	if (object_id != NULL)
	{
		h2 = hash_bytes((const unsigned char *) object_id, strlen(object_id));
		h2 ^= hash_bytes_uint32(object_table);
		h2 |= 1;				/* never 0, which is the flow-wide lock */
	}
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, h1, h2, FC_LOCKTAG_FIELD4);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * Would a new run for this flow (and object) exceed a limit?
 *
 * Counting runs is only safe against concurrent creations while the count
 * and the insert are serialized: flow-wide by an advisory lock of the flow
 * (one per flow and transaction), per object by the lock on the object's
 * row, which a table trigger's transaction already holds and which, unlike
 * an advisory lock per object, does not use up the shared lock table in a
 * transaction that creates runs for many rows.  An object row that is not
 * there (deleted, or not yet visible to us) falls back to an advisory lock
 * of (flow, object).
 */
static bool
limits_reached(const FcFlow *flow, Oid object_table, const char *object_id,
			   bool object_locked)
{
	bool		per_object = object_id != NULL &&
	(flow->max_per_object > 0 || flow->max_concurrent_per_object > 0);

	if (flow->max_concurrent > 0)
	{
		lock_limit(flow->id, InvalidOid, NULL);
		if (fc_catalog_count_runs(flow->id, InvalidOid, NULL, true,
								  flow->max_concurrent) >= flow->max_concurrent)
			return true;
	}
	if (!per_object)
		return false;

	if (!object_locked && !fc_catalog_lock_object(object_table, object_id))
		lock_limit(flow->id, object_table, object_id);
	if (flow->max_per_object > 0 &&
		fc_catalog_count_runs(flow->id, object_table, object_id, false,
							  flow->max_per_object) >= flow->max_per_object)
		return true;
	if (flow->max_concurrent_per_object > 0 &&
		fc_catalog_count_runs(flow->id, object_table, object_id, true,
							  flow->max_concurrent_per_object) >= flow->max_concurrent_per_object)
		return true;
	return false;
}

/* The trigger's reset_to_action_id, or 0. */
static int64
trigger_reset_action(int64 trigger_id)
{
	static FcQuery q = {
		"SELECT reset_to_action_id FROM flowcontrol.trigger WHERE id = $1", 1, {INT8OID}
	};
	Datum		arg = Int64GetDatum(trigger_id);
	bool		isnull;
	Datum		d;

	fc_catalog_exec(&q, &arg, NULL, 1);
	if (SPI_processed == 0)
		return 0;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

FcRun *
fc_engine_create_run(int64 flow_id, Oid object_table, const char *object_id,
					 Jsonb *state, int64 parent_run_id, int64 trigger_id,
					 int64 reset_action_id, int flags)
{
	FcFlow	   *flow = fc_catalog_get_flow(flow_id);
	FcRun	   *run;

	if ((flags & FC_CREATE_CHECK_VISIBLE) || flow == NULL)
		fc_engine_check_visible(flow, "flow", flow_id);
	if (state != NULL)
		fc_engine_check_state_size(state);

	if (!fc_flow_is_active(flow))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("Cannot start a flow run for an inactive flow"),
				 errdetail("Flow %lld \"%s\" is not active.", (long long) flow->id, flow->name),
				 errhint("Activate it with flowcontrol.activate_flow(%lld).", (long long) flow->id)));

	if (OidIsValid(object_table) != (object_id != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("object_table and object_id must be given together")));
	if (OidIsValid(object_table) && !(flags & FC_CREATE_OBJECT_LOCKED))
	{
		Oid			keytype;
		Oid			infunc;
		Oid			ioparam;

		/* the key must name a row of the table: its text must be valid input */
		(void) fc_catalog_object_key(object_table, &keytype);
		getTypeInputInfo(keytype, &infunc, &ioparam);
		(void) OidInputFunctionCall(infunc, (char *) object_id, ioparam, -1);
	}

	/*
	 * As in the seed, the flow's table is checked only against an object that
	 * is given: a run without an object is created for any flow.
	 */
	if (OidIsValid(flow->object_table) && OidIsValid(object_table) &&
		flow->object_table != object_table)
		return NULL;

	/*
	 * The object is read by the owner's hooks, and reading a row runs code of
	 * the table's owner (casts to json, row-level security policies, the
	 * key's operators).  So the table is the owner's choice: the one the flow
	 * names, the one a table trigger bound by the owner fired for, or any
	 * table when a member of the owner starts the run.
	 */
	if (OidIsValid(object_table) && !OidIsValid(flow->object_table) &&
		!(flags & FC_CREATE_OBJECT_ADMITTED) &&
		!has_privs_of_role(GetUserId(), flow->owner))
	{
		if (flags & FC_CREATE_SKIP_UNADMITTED)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to attach a row of table \"%s\" to a run of flow %lld",
						get_rel_name(object_table), (long long) flow->id),
				 errdetail("Flow %lld names no object table, and only members of its owner \"%s\" may choose one.",
						   (long long) flow->id, GetUserNameFromId(flow->owner, false)),
				 errhint("Set the flow's object_table to the table.")));
	}

	if (trigger_id != 0)
	{
		int64		reset_action = reset_action_id >= 0 ? reset_action_id :
		trigger_reset_action(trigger_id);

		if (reset_action != 0)
		{
			/*
			 * By flow_run_not_done_idx: (flow_id[, object_table, object_id]).
			 * OFFSET 0 keeps the planner from walking the primary key in id
			 * order through the flow's done runs instead.
			 */
			static FcQuery first_q = {
				"SELECT id FROM (SELECT id FROM flowcontrol.flow_run WHERE flow_id = $1"
				" AND status OPERATOR(pg_catalog.<>) 'done' OFFSET 0) r ORDER BY id LIMIT 1",
				1, {INT8OID}
			};
			static FcQuery first_object_q = {
				"SELECT id FROM flowcontrol.flow_run WHERE flow_id = $1"
				" AND object_table = $2::pg_catalog.oid::pg_catalog.regclass"
				" AND object_id = $3 COLLATE pg_catalog.\"C\""
				" AND status OPERATOR(pg_catalog.<>) 'done' ORDER BY id LIMIT 1",
				3, {INT8OID, OIDOID, TEXTOID}
			};
			Datum		args[3];
			bool		isnull;
			int64		run_id;

			args[0] = Int64GetDatum(flow_id);
			if (OidIsValid(object_table))
			{
				args[1] = ObjectIdGetDatum(object_table);
				args[2] = CStringGetTextDatum(object_id);
				fc_catalog_exec(&first_object_q, args, NULL, 1);
			}
			else
				fc_catalog_exec(&first_q, args, NULL, 1);
			if (SPI_processed == 0)
				return NULL;
			run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull));
			return fc_engine_reset(run_id, reset_action, trigger_id, NULL, false);
		}
	}

	if (limits_reached(flow, object_table, object_id, (flags & FC_CREATE_OBJECT_LOCKED) != 0))
		return NULL;

	run = fc_catalog_insert_run(flow_id, object_table, object_id, state,
								parent_run_id, trigger_id, flow->version);
	fc_wakeup_at_commit(0);
	return run;
}

/*
 * Lock the name of a flow being deployed until the transaction ends, so
 * that two deploys of one name never both create it.
 */
void
fc_engine_lock_flow_name(const char *name)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hash_bytes((const unsigned char *) name, strlen(name)),
						 0, FC_LOCKTAG_NAME);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* ---------------------------------------------------------------------
 * Life-cycle changes
 * ---------------------------------------------------------------------
 */
/* Lock a run the current user may see (waiting for its lock), or error. */
static FcRun *
lock_visible_run(int64 run_id)
{
	FcRun	   *run = fc_catalog_lock_run(run_id, false);

	if (run == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("flow run %lld does not exist", (long long) run_id)));
	fc_engine_check_visible(fc_catalog_get_flow(run->flow_id), "flow run", run_id);
	return run;
}

FcRun *
fc_engine_finish(int64 run_id, FcRunOutcome outcome, const char *message,
				 bool only_if_not_done)
{
	FcExec	   *exec = fc_engine_find_exec(run_id);
	FcRun	   *run;

	if (exec != NULL)
	{
		/* called by an action of this very run: takes effect when it returns */
		fc_engine_check_visible(exec->flow, "flow run", run_id);
		if (message != NULL && message[0] != '\0')
			fc_engine_check_log_size(exec->run->log, message);
		exec->finish_outcome = outcome;
		exec->finish_message = MemoryContextStrdup(exec->exec_cxt, message ? message : "");
		return fc_run_copy(exec->run);
	}

	run = lock_visible_run(run_id);
	if (only_if_not_done && run->status == FC_STATUS_DONE)
		return run;
	if (message != NULL && message[0] != '\0')
		fc_engine_check_log_size(run->log, message);
	run->status = FC_STATUS_DONE;
	run->outcome = outcome;
	run->has_done_at = true;
	run->done_at = fc_now_for_flow(run->flow_id);
	run->log = fc_log_append(run->log, fc_log_line(message, run->done_at));
	AssertRunDone(run);
	fc_catalog_write_run(run);
	fc_engine_release_version(run->flow_id, run->flow_version);
	return run;
}

FcRun *
fc_engine_reset(int64 run_id, int64 action_id, int64 trigger_id, Jsonb *state,
				bool check_visible)
{
	FcRun	   *run = NULL;
	int32		old_version;

	if (state != NULL)
		fc_engine_check_state_size(state);

	/*
	 * A run executing anywhere (this session included) holds its lock; a row
	 * left "running" counts as executing too, as in the seed.
	 */
	if (fc_engine_find_exec(run_id) == NULL)
		run = fc_catalog_lock_run(run_id, true);
	if (run == NULL || run->status == FC_STATUS_RUNNING)
	{
		FcRun	   *existing = fc_catalog_read_run(run_id);

		if (existing == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("flow run %lld does not exist", (long long) run_id)));
		if (check_visible)
			fc_engine_check_visible(fc_catalog_get_flow(existing->flow_id), "flow run", run_id);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("Cannot reset flow run %lld: it is currently executing", (long long) run_id)));
	}
	if (check_visible)
		fc_engine_check_visible(fc_catalog_get_flow(run->flow_id), "flow run", run_id);

	old_version = run->flow_version;
	if (action_id != 0)
	{
		/* the run goes on with the version of that action */
		run->flow_version = fc_catalog_claim_action_version(run->flow_id, action_id);
		if (run->flow_version == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("action %lld is not an action of flow %lld",
							(long long) action_id, (long long) run->flow_id)));
		run->status = FC_STATUS_WAITING;
		run->has_continue_after = true;
		run->continue_after = fc_now_for_flow(run->flow_id);
		run->repeat_action = true;
		run->action_id = action_id;
	}
	else
	{
		/* starting over: on the current version */
		FcFlow	   *flow = fc_catalog_get_flow(run->flow_id);

		run->flow_version = fc_catalog_claim_version(run->flow_id, flow ? flow->version : 0);
		run->status = FC_STATUS_PENDING;
		run->action_id = 0;
		run->has_continue_after = false;
		run->repeat_action = false;
	}
	run->waiting_trigger_id = 0;
	run->outcome = FC_OUTCOME_NONE;
	run->has_done_at = false;
	run->attempt = 0;
	run->trigger_id = trigger_id;
	if (state != NULL)
		run->state = state;
#ifdef USE_ASSERT_CHECKING
	if (action_id != 0)
		AssertRunWaiting(run);
	else
		AssertRunPending(run);
#endif
	fc_catalog_write_run(run);
	if (old_version != run->flow_version)
		fc_engine_release_version(run->flow_id, old_version);
	fc_wakeup_at_commit(0);
	return run;
}

static void
check_not_executing_here(int64 run_id, const char *what)
{
	if (fc_engine_find_exec(run_id) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot %s flow run %lld: it is currently executing",
						what, (long long) run_id)));
}

/* pausing or resuming a run that is done changes nothing: say so */
static void
warn_if_done(const FcRun *run, const char *verb)
{
	if (run->status == FC_STATUS_DONE)
		ereport(WARNING,
				(errmsg("flow run %lld is not in a valid state to %s: %s",
						(long long) run->id, verb, fc_status_names[run->status])));
}

FcRun *
fc_engine_pause(int64 run_id)
{
	FcRun	   *run;

	check_not_executing_here(run_id, "pause");
	run = lock_visible_run(run_id);
	warn_if_done(run, "pause");
	if (run->status == FC_STATUS_PENDING || run->status == FC_STATUS_WAITING)
	{
		run->status = FC_STATUS_PAUSED;
		fc_catalog_write_run(run);
	}
	return run;
}

FcRun *
fc_engine_resume(int64 run_id)
{
	FcRun	   *run;

	check_not_executing_here(run_id, "resume");
	run = lock_visible_run(run_id);
	warn_if_done(run, "resume");
	if (run->status == FC_STATUS_PAUSED)
	{
		if (run->action_id != 0 && (run->has_continue_after || run->waiting_trigger_id != 0))
			run->status = FC_STATUS_WAITING;
		else
			run->status = FC_STATUS_PENDING;
		fc_catalog_write_run(run);
		fc_wakeup_at_commit(run->has_continue_after ? run->continue_after : 0);
	}
	return run;
}

FcRun *
fc_engine_append_log(int64 run_id, const char *message)
{
	FcExec	   *exec = fc_engine_find_exec(run_id);
	FcRun	   *run;

	if (exec != NULL)
	{
		fc_engine_check_visible(exec->flow, "flow run", run_id);
		if (message != NULL && message[0] != '\0')
			fc_exec_set_log(exec, NULL, message, true);
		return fc_run_copy(exec->run);
	}
	run = lock_visible_run(run_id);
	if (message != NULL && message[0] != '\0')
	{
		fc_engine_check_log_size(run->log, message);
		run->log = fc_log_append(run->log, fc_log_line(message, fc_now_for_flow(run->flow_id)));
		fc_catalog_write_run(run);
	}
	return run;
}

/*
 * The first column (bigint, not null) of the rows the last SPI query
 * returned, in a palloc'd array; *n is set to their number.
 */
static int64 *
fetched_ids(int64 *n)
{
	int64	   *ids;
	int64		i;

	*n = (int64) SPI_processed;
	ids = palloc(sizeof(int64) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	return ids;
}

int64
fc_engine_cancel_for_object(Oid object_table, const char *object_id)
{
	/*
	 * One probe of flow_run_not_done_idx (flow_id, object_table, object_id)
	 * per flow: OFFSET 0 keeps the planner from turning it into a scan of
	 * the whole index.
	 */
	static FcQuery q = {
		"SELECT r.id FROM flowcontrol.flow f CROSS JOIN LATERAL"
		" (SELECT r.id FROM flowcontrol.flow_run r WHERE r.flow_id = f.id"
		" AND r.object_table = $1::pg_catalog.oid::pg_catalog.regclass"
		" AND r.object_id = $2 COLLATE pg_catalog.\"C\""
		" AND r.status IN ('pending', 'waiting') OFFSET 0) r"
		" WHERE ($3 OR pg_catalog.pg_has_role($4, f.owner::pg_catalog.oid, 'MEMBER'))"
		" ORDER BY r.id",
		4, {OIDOID, TEXTOID, BOOLOID, OIDOID}
	};
	Datum		args[4];
	int64	   *ids;
	int64		n;
	int64		i;
	int64		canceled = 0;

	args[0] = ObjectIdGetDatum(object_table);
	args[1] = CStringGetTextDatum(object_id);
	args[2] = BoolGetDatum(superuser());
	args[3] = ObjectIdGetDatum(GetUserId());
	fc_catalog_exec(&q, args, NULL, 0);
	ids = fetched_ids(&n);
	for (i = 0; i < n; i++)
	{
		FcRun	   *run = fc_catalog_lock_run(ids[i], false);

		/* recheck: it may have moved on while we waited for the lock */
		if (run == NULL || (run->status != FC_STATUS_PENDING && run->status != FC_STATUS_WAITING))
			continue;
		run->status = FC_STATUS_DONE;
		run->outcome = FC_OUTCOME_CANCELED;
		run->has_done_at = true;
		run->done_at = fc_now_for_flow(run->flow_id);
		AssertRunDone(run);
		fc_catalog_write_run(run);
		fc_engine_release_version(run->flow_id, run->flow_version);
		canceled++;
	}
	return canceled;
}

/* ---------------------------------------------------------------------
 * Deleting flows
 * ---------------------------------------------------------------------
 */
void
fc_engine_delete_flow(int64 flow_id, bool cancel_runs)
{
	/* FOR UPDATE: no run is created (FOR KEY SHARE) while we delete */
	static FcQuery lock_q = {
		"SELECT 1 FROM flowcontrol.flow WHERE id = $1 FOR UPDATE", 1, {INT8OID}
	};
	static FcQuery runs_q = {
		"SELECT id FROM flowcontrol.flow_run WHERE flow_id = $1"
		" AND status OPERATOR(pg_catalog.<>) 'done' ORDER BY id",
		1, {INT8OID}
	};
	static FcQuery delete_q = {
		"DELETE FROM flowcontrol.flow WHERE id = $1", 1, {INT8OID}
	};
	Datum		arg = Int64GetDatum(flow_id);
	int64	   *ids;
	int64		n;
	int64		i;

	fc_engine_check_visible(fc_catalog_get_flow(flow_id), "flow", flow_id);
	fc_catalog_exec(&lock_q, &arg, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("flow %lld does not exist", (long long) flow_id)));
	fc_catalog_exec(&runs_q, &arg, NULL, 0);
	ids = fetched_ids(&n);
	if (n > 0 && !cancel_runs)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg_plural("flow %lld has %lld flow run that is not done",
							   "flow %lld has %lld flow runs that are not done",
							   n, (long long) flow_id, (long long) n),
				 errhint("End them first, or call flowcontrol.delete_flow(%lld, cancel_runs => true).",
						 (long long) flow_id)));
	for (i = 0; i < n; i++)
	{
		if (fc_engine_find_exec(ids[i]) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot delete flow %lld: its flow run %lld is executing",
							(long long) flow_id, (long long) ids[i])));
		(void) fc_engine_finish(ids[i], FC_OUTCOME_CANCELED, "", true);
	}
	fc_catalog_exec(&delete_q, &arg, NULL, 0);
}
