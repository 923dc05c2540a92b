/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  Executing flow runs: the directive loop, limits, life-cycle changes.
 *
 * A run executes inside the caller's transaction.  It is locked first (row
 * lock FOR NO KEY UPDATE), so one session at a time executes it; sessions
 * that sweep for work (continue_flowruns, the worker) skip locked runs.  A
 * sweep reads the ids of runnable runs without locking them and locks each
 * just before executing it, so it holds locks only on the runs it executed
 * (until its transaction ends) and the one it is executing: a slow run
 * keeps no other run from other sweeps.
 * The run lives in memory while it executes and its row is written once,
 * when execution stops.
 *
 * Each action hook runs in its own subtransaction as the flow owner
 * (fc_engine_guarded), under a time limit: the action's "timeout" and, for
 * hooks that run SQL, the owner's statement_timeout (timeout.c).  When it
 * fails -- an error, or the limit -- its database effects are rolled
 * back, the run ends errored with the action and the error in its log, and
 * the state built by the earlier actions is kept; or, when the action's
 * retry policy has attempts left for its run hook, the run waits (status
 * waiting, repeat_action, continue_after after the backoff) and the action
 * runs again when due.  run->attempt counts the current action's failures
 * in a row and is 0 after any hook call that succeeds.  Errors that are not
 * the run's fault are never caught (fc_engine_error_is_transient): query
 * cancel and shutdown, serialization failures and deadlocks, out of
 * memory; they abort the caller's transaction, and the worker retries.
 *
 * Limits: creating a run takes transaction-level advisory locks (own lock
 * tag, so they never collide with the user's advisory locks) on the flow
 * and on (flow, object) before counting, so concurrent creations at READ
 * COMMITTED see each other's committed runs.
 *
 * Memory: an execution's context (exec_cxt) holds the run with one copy
 * of its state and log; fc_exec_set_state() and fc_exec_set_log() free the
 * copy they replace (and the context built from it), and each hook's
 * allocations go to a step context reset before the next hook, so an
 * execution needs memory in proportion to its state and log, whatever the
 * number of steps.  flowcontrol.max_state_size and max_log_size bound
 * both.
 *
 * Versions: a run executes the action tree of the flow version it is
 * pinned to (flow_run.flow_version; a row without one is pinned to the
 * current version when it first executes); the flow's condition, limits
 * and owner are always the current ones.  When a run on an earlier version
 * ends or is reset onto another one, release_version() removes that
 * version if no run uses it any more, in a subtransaction of its own: a
 * failure there leaves the version for later and never costs the run.
 *
 * Invariants: a run with status done has an outcome and done_at; a waiting
 * run has an action and a continue_after or a waiting trigger; pending and
 * waiting runs have no outcome.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "action_policy.h"
#include "actions.h"
#include "catalog.h"
#include "clock.h"
#include "compat.h"
#include "engine.h"
#include "expr.h"
#include "flowcache.h"
#include "objects.h"
#include "owner.h"
#include "runs.h"
#include "timeout.h"
#include "versions.h"
#include "worker.h"

/* lock tag field4 for flowcontrol's advisory locks (user ones use 1 and 2) */
#define FC_LOCKTAG_FIELD4 0x4643
#define FC_LOCKTAG_NAME 0x464E	/* flow names being deployed */

/* Settings: limits of a run's state and log, in kB */
int			fc_max_state_size = 16384;
int			fc_max_log_size = 16384;

/*
 * The invariants of the header comment, asserted wherever the engine moves
 * a run into a state.  (A row edited by hand may break them; executing it
 * reports that with an ERROR instead.)
 */
#define AssertRunDone(run) \
	Assert((run)->status == FC_STATUS_DONE && \
		   (run)->outcome != FC_OUTCOME_NONE && (run)->has_done_at)
#define AssertRunWaiting(run) \
	Assert((run)->status == FC_STATUS_WAITING && (run)->action_id != 0 && \
		   ((run)->has_continue_after || (run)->waiting_trigger_id != 0) && \
		   (run)->outcome == FC_OUTCOME_NONE)
#define AssertRunPending(run) \
	Assert((run)->status == FC_STATUS_PENDING && \
		   (run)->outcome == FC_OUTCOME_NONE && !(run)->has_done_at)

int64		fc_engine_current_run = 0;

/* Executions in progress in this backend, innermost first. */
static FcExec *current_exec = NULL;

static FcExec *
find_exec(int64 run_id)
{
	FcExec	   *e;

	for (e = current_exec; e != NULL; e = e->outer)
		if (e->run->id == run_id)
			return e;
	return NULL;
}

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */
char *
fc_log_append(const char *log, const char *message)
{
	if (message == NULL || message[0] == '\0')
		return pstrdup(log ? log : "");
	if (log == NULL || log[0] == '\0')
		return pstrdup(message);
	return psprintf("%s\n%s", log, message);
}

/*
 * fc_log_line: a log entry as it is stored: each line of message prefixed
 * with the time "at" in UTC ("2026-12-01 14:00:00+00 "), whatever the
 * session's TimeZone and DateStyle, so logs compare and parse alike
 * everywhere.  An empty message gives "" (nothing is appended).  The result
 * is palloc'd in the current memory context; errors only on a time beyond
 * the timestamp range.
 */
char *
fc_log_line(const char *message, TimestampTz at)
{
	struct pg_tm tt;
	fsec_t		fsec;
	char		stamp[64];
	StringInfoData buf;
	const char *line;

	if (message == NULL || message[0] == '\0')
		return pstrdup("");
	if (timestamp2tm(at, NULL, &tt, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02d %02d:%02d:%02d+00 ",
			 tt.tm_year, tt.tm_mon, tt.tm_mday, tt.tm_hour, tt.tm_min, tt.tm_sec);
	initStringInfo(&buf);
	for (line = message;;)
	{
		const char *end = strchr(line, '\n');

		appendStringInfoString(&buf, stamp);
		if (end == NULL)
		{
			appendStringInfoString(&buf, line);
			break;
		}
		appendBinaryStringInfo(&buf, line, end - line + 1);
		line = end + 1;
	}
	return buf.data;
}

void
fc_engine_define_settings(void)
{
	DefineCustomIntVariable("flowcontrol.max_state_size",
							gettext_noop("Largest state a flow run may have."),
							gettext_noop("A larger state ends the run errored, or is refused when a run is created or reset."),
							&fc_max_state_size,
							16384, 1, 256 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("flowcontrol.max_log_size",
							gettext_noop("Largest log a flow run may have."),
							gettext_noop("Appending beyond it is an error; in a running action, the run ends errored."),
							&fc_max_log_size,
							16384, 1, 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

void
fc_engine_check_state_size(Jsonb *state)
{
	Size		size = VARSIZE_ANY_EXHDR(state);

	if (size > (Size) fc_max_state_size * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("flow run state of %zu bytes exceeds the maximum of %d kB", size, fc_max_state_size),
				 errhint("The limit is set by flowcontrol.max_state_size.")));
}

static void
check_log_size(const char *log, const char *message)
{
	Size		size = (log ? strlen(log) : 0) + 1 + (message ? strlen(message) : 0);

	if (size > (Size) fc_max_log_size * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("flow run log would grow to %zu bytes, more than the maximum of %d kB", size, fc_max_log_size),
				 errhint("The limit is set by flowcontrol.max_log_size.")));
}

/* Free a superseded copy of a run value, if it is one exec_cxt holds. */
static void
free_exec_value(FcExec *exec, void *value)
{
	if (value != NULL && GetMemoryChunkContext(value) == exec->exec_cxt)
		pfree(value);
}

void
fc_exec_set_state(FcExec *exec, Jsonb *state)
{
	Jsonb	   *old_state = exec->run->state;

	MemoryContext old;

	state = DatumGetJsonbP(PointerGetDatum(state));
	fc_engine_check_state_size(state);
	old = MemoryContextSwitchTo(exec->exec_cxt);
	exec->run->state = (Jsonb *) pg_detoast_datum_copy((struct varlena *) state);
	MemoryContextSwitchTo(old);

	/* the cached context was built from the old state */
	free_exec_value(exec, exec->context);
	exec->context = NULL;
	exec->context_state = NULL;
	if (old_state != exec->run->state)
		free_exec_value(exec, old_state);
}

void
fc_exec_set_log(FcExec *exec, const char *base, const char *message, bool check_limit)
{
	char	   *old_log = exec->run->log;
	MemoryContext old;

	if (base == NULL)
		base = old_log;
	if (check_limit)
		check_log_size(base, message);
	old = MemoryContextSwitchTo(exec->exec_cxt);
	exec->run->log = fc_log_append(base, fc_log_line(message, fc_now(exec->flow->owner)));
	MemoryContextSwitchTo(old);
	free_exec_value(exec, old_log);
}

void
fc_engine_check_visible(const FcFlow *flow, const char *what, int64 id)
{
	if (flow != NULL && (superuser() || is_member_of_role(GetUserId(), flow->owner)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("%s %lld does not exist", what, (long long) id)));
}

Jsonb *
fc_engine_context(Jsonb *state, Jsonb *object)
{
	JsonbInState ps = {0};
	JsonbValue	k;
	JsonbValue	v;
	JsonbValue *res;
	JsonbValue	objval;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	if (state != NULL && JB_ROOT_IS_OBJECT(state))
	{
		JsonbIterator *it = JsonbIteratorInit(&state->root);
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &k, false)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			tok = JsonbIteratorNext(&it, &v, true);
			if ((k.val.string.len == 6 && memcmp(k.val.string.val, "object", 6) == 0) ||
				(k.val.string.len == 3 && memcmp(k.val.string.val, "obj", 3) == 0))
				continue;
			pushJsonbValue(&ps, WJB_KEY, &k);
			pushJsonbValue(&ps, WJB_VALUE, &v);
		}
	}
	if (object != NULL)
	{
		objval.type = jbvBinary;
		objval.val.binary.data = &object->root;
		objval.val.binary.len = VARSIZE(object) - VARHDRSZ;
	}
	else
		objval.type = jbvNull;
	k.type = jbvString;
	k.val.string.val = "object";
	k.val.string.len = 6;
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &objval);
	k.val.string.val = "obj";
	k.val.string.len = 3;
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &objval);
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	res = ps.result;
	return JsonbValueToJsonb(res);
}

Jsonb *
fc_exec_context(FcExec *exec)
{
	if (exec->context == NULL || exec->context_state != exec->run->state)
	{
		MemoryContext old = MemoryContextSwitchTo(exec->exec_cxt);

		exec->context = fc_engine_context(exec->run->state, exec->object);
		exec->context_state = exec->run->state;
		MemoryContextSwitchTo(old);
	}
	return exec->context;
}

/*
 * Errors that are not the run's fault, and so must not end it errored:
 * query cancel, termination and shutdown (class 57); serialization
 * failures, deadlocks and the rest of class 40 (transaction rollback);
 * out of memory, disk full and the rest of class 53 (insufficient
 * resources).  They abort the whole transaction: a session's call fails,
 * and a worker's unit of work rolls back and is retried after a pause, so
 * no committed step runs twice.
 */
bool
fc_engine_error_is_transient(int sqlerrcode)
{
	int			category = ERRCODE_TO_CATEGORY(sqlerrcode);

	return category == ERRCODE_OPERATOR_INTERVENTION ||
		category == ERRCODE_TRANSACTION_ROLLBACK ||
		category == ERRCODE_INSUFFICIENT_RESOURCES;
}

bool
fc_engine_guarded(void (*fn) (void *arg), void *arg, Oid userid, bool runs_sql,
				  ErrorData **edata)
{
	return fc_engine_guarded_timed(fn, arg, userid, runs_sql, edata, 0);
}

bool
fc_engine_guarded_timed(void (*fn) (void *arg), void *arg, Oid userid, bool runs_sql,
						ErrorData **edata, int timeout_ms)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;
	FcTimeLimit tl;

	tl.active = false;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		/* statement_timeout bounds hooks that run SQL, as statements would */
		fc_time_limit_begin(&tl, timeout_ms, runs_sql ? userid : InvalidOid);
		if (OidIsValid(userid))
		{
			FcOwnerEnv	env;

			if (runs_sql)
				fc_owner_enter(&env, userid);
			else
				fc_owner_become(&env, userid);
			fn(arg);
			fc_owner_leave(&env);
		}
		else
			fn(arg);
		fc_time_limit_check(&tl);
		(void) fc_time_limit_end(&tl);

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *e;
		bool		timed_out;

		MemoryContextSwitchTo(oldcxt);
		e = CopyErrorData();
		FlushErrorState();
		/* before the rollback: the timer must not fire in it */
		timed_out = fc_time_limit_end(&tl);
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;

		/* our own limit ran out: an error of the call, not a cancel */
		if (timed_out && fc_time_limit_error_is_timeout(e))
			e = fc_time_limit_error(&tl);
		else if (fc_engine_error_is_transient(e->sqlerrcode))
			ReThrowError(e);
		*edata = e;
		ok = false;
	}
	PG_END_TRY();

	return ok;
}

/* longest error message, in bytes, that an errored run's log line quotes */
#define FC_MAX_LOGGED_ERROR 8192

/* a part of an error for the log, cut to FC_MAX_LOGGED_ERROR bytes */
static void
append_error_part(StringInfo buf, const char *label, const char *text)
{
	int			len = strlen(text);

	appendStringInfoString(buf, label);
	/* the engine's own lines are never refused: a huge message is cut */
	if (len > FC_MAX_LOGGED_ERROR)
		appendStringInfo(buf, "%.*s...", pg_mbcliplen(text, len, FC_MAX_LOGGED_ERROR), text);
	else
		appendStringInfoString(buf, text);
}

/*
 * An error as the log keeps it: "SQLSTATE: message", then its DETAIL and
 * HINT, if any, on lines of their own, as psql shows them.
 */
static char *
describe_error(ErrorData *e)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s: ", unpack_sql_state(e->sqlerrcode));
	append_error_part(&buf, "", e->message ? e->message : "");
	if (e->detail != NULL && e->detail[0] != '\0')
		append_error_part(&buf, "\nDETAIL:  ", e->detail);
	if (e->hint != NULL && e->hint[0] != '\0')
		append_error_part(&buf, "\nHINT:  ", e->hint);
	return buf.data;
}

/*
 * An object table's name for a log line: schema-qualified, or "table with
 * OID N" once it has been dropped (its OID stays in the run's row).
 */
static char *
object_table_name(Oid table)
{
	Oid			rowtype = get_rel_type_id(table);

	if (!OidIsValid(rowtype))
		return psprintf("table with OID %u", table);
	return format_type_be_qualified(rowtype);
}

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
	fc_worker_wake_at_commit(0);
	return run;
}

/* ---------------------------------------------------------------------
 * Flow versions
 * ---------------------------------------------------------------------
 */
static void
prune_guarded(void *arg)
{
	(void) fc_catalog_prune_versions(*(int64 *) arg);
}

/*
 * A run that was pinned to version of its flow has ended or moved to
 * another version: if that was an earlier version, remove it once no run
 * that is not done uses it.  Removing is tidying up: a failure (a row
 * locked by a reset, say) leaves the version for the next deploy or run to
 * end, except transient errors, which abort the transaction as ever.
 */
static void
release_version(int64 flow_id, int32 version)
{
	FcFlow	   *flow;
	ErrorData  *edata = NULL;

	if (version == 0)
		return;
	flow = fc_catalog_get_flow(flow_id);
	if (flow == NULL || version >= flow->version)
		return;
	if (!fc_engine_guarded(prune_guarded, &flow_id, InvalidOid, false, &edata))
		ereport(LOG,
				(errmsg("could not remove earlier versions of flow %lld: %s",
						(long long) flow_id, edata->message)));
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
 * Executing runs
 * ---------------------------------------------------------------------
 */

/* error context: "flow run 12, action 7 "IfAction"" */
static void
exec_error_callback(void *arg)
{
	FcExec	   *exec = (FcExec *) arg;

	if (exec->current >= 0)
		errcontext("flow run %lld, action %lld \"%s\"",
				   (long long) exec->run->id,
				   (long long) exec->flow->actions[exec->current].id,
				   exec->flow->actions[exec->current].type->name);
	else
		errcontext("flow run %lld", (long long) exec->run->id);
}

static void
end_run(FcExec *exec, FcRunOutcome outcome, const char *message)
{
	FcRun	   *run = exec->run;
	MemoryContext old = MemoryContextSwitchTo(exec->exec_cxt);

	run->status = FC_STATUS_DONE;
	run->outcome = outcome;
	run->has_done_at = true;
	run->done_at = fc_now(exec->flow->owner);
	AssertRunDone(run);
	MemoryContextSwitchTo(old);
	/* the engine's own last line: never refused, so the run can end */
	fc_exec_set_log(exec, NULL, message, false);
}

typedef struct FcFetchArgs
{
	FcExec	   *exec;
	Jsonb	   *result;
	bool		cond;
} FcFetchArgs;

static void
fetch_object_guarded(void *arg)
{
	FcFetchArgs *fa = (FcFetchArgs *) arg;
	FcRun	   *run = fa->exec->run;
	Jsonb	   *obj;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	obj = fc_catalog_fetch_object(run->object_table, run->object_id);
	if (obj != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fa->exec->exec_cxt);

		fa->result = (Jsonb *) pg_detoast_datum_copy((struct varlena *) obj);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
}

static void
flow_condition_guarded(void *arg)
{
	FcFetchArgs *fa = (FcFetchArgs *) arg;

	fa->cond = fc_expr_condition(fa->exec->flow->condition, fc_exec_context(fa->exec));
}

typedef struct FcHookArgs
{
	FcExec	   *exec;
	FcAction   *action;
	bool		returning;
	FcDirective directive;
} FcHookArgs;

static void
hook_guarded(void *arg)
{
	FcHookArgs *ha = (FcHookArgs *) arg;

	ha->directive = fc_action_call(ha->exec, ha->action, ha->returning);
}

/*
 * An action's hook failed (its subtransaction is rolled back): count the
 * failure, and either end the run errored or, when the action's retry
 * policy has attempts left for its run hook, make the run wait for the
 * next attempt, which runs the action again.
 */
static void
action_failed(FcExec *exec, FcAction *a, bool returning, ErrorData *edata)
{
	FcRun	   *run = exec->run;
	const FcRetryPolicy *retry = returning ? NULL : a->retry;
	char	   *error = describe_error(edata);

	if (run->attempt < PG_INT32_MAX)
		run->attempt++;
	if (retry == NULL)
	{
		end_run(exec, FC_OUTCOME_ERRORED,
				psprintf("Action %s (" INT64_FORMAT ") failed: %s", a->type->name, a->id, error));
		return;
	}
	if (run->attempt >= retry->max_attempts)
	{
		end_run(exec, FC_OUTCOME_ERRORED,
				psprintf("Action %s (" INT64_FORMAT ") failed (attempt %d of %d): %s",
						 a->type->name, a->id, run->attempt, retry->max_attempts, error));
		return;
	}

	{
		int64		delay = fc_policy_retry_delay(retry, run->attempt);

		run->status = FC_STATUS_WAITING;
		run->repeat_action = true;
		run->waiting_trigger_id = 0;
		run->has_continue_after = true;
		run->continue_after = fc_now(exec->flow->owner) + delay;
		AssertRunWaiting(run);
		/* the engine's own line: never refused, so the run can wait */
		fc_exec_set_log(exec, NULL,
						psprintf("Action %s (" INT64_FORMAT ") failed (attempt %d of %d, next in %s): %s",
								 a->type->name, a->id, run->attempt, retry->max_attempts,
								 fc_policy_format_ms((delay + 999) / 1000), error),
						false);
		fc_worker_wake_at_commit(run->continue_after);
	}
}

/*
 * The directive loop.  Returns after the run has stopped (done or waiting);
 * the caller writes it.
 */
static void
run_loop(FcExec *exec, int start, bool start_returning, bool start_with_continue)
{
	FcFlow	   *flow = exec->flow;
	FcRun	   *run = exec->run;
	int			cur = start;
	bool		returning = start_returning;
	FcDirective d = FC_DIR_CONTINUE;
	bool		skip_hook = start_with_continue;
	MemoryContext step_cxt = AllocSetContextCreate(exec->exec_cxt,
												   "flowcontrol step",
												   ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		FcAction   *a = &flow->actions[cur];

		CHECK_FOR_INTERRUPTS();
		exec->current = cur;
		run->action_id = a->id;

		if (skip_hook)
		{
			/* resuming after a suspend: as if the action returned continue */
			skip_hook = false;
			d = FC_DIR_CONTINUE;
		}
		else
		{
			FcHookArgs	ha;
			ErrorData  *edata = NULL;
			MemoryContext old;

			/*
			 * Run hooks and return hooks are counted apart: a loop of N
			 * rounds enters its action once and returns to it N times.
			 */
			if (++exec->counts[2 * cur + (returning ? 1 : 0)] > exec->max_hot_loop)
			{
				end_run(exec, FC_OUTCOME_ERRORED,
						psprintf("Loop times %d exceeded in flow run at %s (" INT64_FORMAT ").",
								 exec->max_hot_loop, a->type->name, a->id));
				break;
			}

			ha.exec = exec;
			ha.action = a;
			ha.returning = returning;
			ha.directive = FC_DIR_CONTINUE;
			exec->returning = returning;
			MemoryContextReset(step_cxt);
			old = MemoryContextSwitchTo(step_cxt);
			if (!fc_engine_guarded_timed(hook_guarded, &ha, flow->owner,
										 a->type->kind == FC_ACTION_USER, &edata,
										 a->timeout_ms))
			{
				MemoryContextSwitchTo(exec->exec_cxt);
				action_failed(exec, a, returning, edata);
				MemoryContextSwitchTo(old);
				break;
			}
			MemoryContextSwitchTo(old);
			d = ha.directive;
			run->attempt = 0;	/* a call that succeeds ends a series of
								 * failures */

			/* a life-cycle function was called on this run meanwhile */
			if (exec->finish_outcome != FC_OUTCOME_NONE)
			{
				end_run(exec, exec->finish_outcome, exec->finish_message);
				break;
			}
		}

		switch (d)
		{
			case FC_DIR_ENTER:
				if (a->first_child >= 0)
				{
					cur = a->first_child;
					returning = false;
				}
				else
					returning = true;	/* as if its children all finished */
				continue;
			case FC_DIR_LEAVE:
				if (a->parent >= 0)
				{
					cur = a->parent;
					returning = true;
					continue;
				}
				end_run(exec, FC_OUTCOME_COMPLETE, NULL);
				break;
			case FC_DIR_BREAK:
				if (a->parent < 0)
				{
					end_run(exec, FC_OUTCOME_COMPLETE, NULL);
					break;
				}
				a = &flow->actions[a->parent];
				pg_fallthrough;
			case FC_DIR_CONTINUE:
				if (a->next_sibling >= 0)
				{
					cur = a->next_sibling;
					returning = false;
					continue;
				}
				if (a->parent >= 0)
				{
					cur = a->parent;
					returning = true;
					continue;
				}
				end_run(exec, FC_OUTCOME_COMPLETE, NULL);
				break;
			case FC_DIR_ABORT:
				end_run(exec, FC_OUTCOME_ABORTED, NULL);
				break;
			case FC_DIR_SUSPEND:
			case FC_DIR_SUSPEND_AND_REPEAT:
				run->action_id = flow->actions[cur].id;
				run->status = FC_STATUS_WAITING;
				run->repeat_action = (d == FC_DIR_SUSPEND_AND_REPEAT);
				if (!run->has_continue_after && run->waiting_trigger_id == 0)
				{
					run->has_continue_after = true;
					run->continue_after = fc_now(flow->owner);
				}
				AssertRunWaiting(run);
				if (run->has_continue_after)
					fc_worker_wake_at_commit(run->continue_after);
				break;
		}
		break;
	}
	exec->current = -1;
	MemoryContextDelete(step_cxt);
}

/*
 * Execute a locked run; with defer_write, do not write the row but set
 * *needs_write and leave that to the caller (see fc_engine_continue_runs).
 */
static FcRun *
execute_locked(FcRun *input, int max_hot_loop, bool defer_write, bool *needs_write)
{
	FcExec		exec;
	FcRun	   *run;
	FcFlow	   *flow;
	ErrorContextCallback errcallback;
	MemoryContext caller_cxt = CurrentMemoryContext;
	FcRun	   *result;
	ErrorData  *edata = NULL;
	int32		version;

	/* set inside PG_TRY, read after it: volatile against longjmp clobbers */
	volatile int start = -1;
	volatile bool start_with_continue = false;
	volatile bool write = true;

	if (input->status != FC_STATUS_PENDING && input->status != FC_STATUS_WAITING)
	{
		ereport(WARNING,
				(errmsg("flow run %lld is not in a valid state to execute: %s",
						(long long) input->id, fc_status_names[input->status])));
		return NULL;
	}
	if (find_exec(input->id) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("flow run %lld is already executing", (long long) input->id)));

	flow = fc_catalog_get_flow(input->flow_id);
	if (flow == NULL)
		elog(ERROR, "flow " INT64_FORMAT " of flow run " INT64_FORMAT " does not exist",
			 input->flow_id, input->id);

	/* the run executes its version's actions; one not pinned yet, the current */
	version = input->flow_version;
	if (version == 0)
		version = fc_catalog_claim_version(input->flow_id, flow->version);
	if (version != flow->tree_version)
	{
		flow = fc_catalog_get_flow_version(input->flow_id, version);
		if (flow == NULL)
			elog(ERROR, "flow " INT64_FORMAT " of flow run " INT64_FORMAT " does not exist",
				 input->flow_id, input->id);
	}

	memset(&exec, 0, sizeof(exec));
	exec.exec_cxt = AllocSetContextCreate(CurrentMemoryContext,
										  "flowcontrol execution",
										  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(exec.exec_cxt);
	exec.run = run = fc_run_copy(input);
	run->flow_version = version;
	exec.flow = flow;
	exec.max_hot_loop = max_hot_loop;
	exec.counts = palloc0(sizeof(int) * 2 * Max(flow->nactions, 1));
	exec.current = -1;
	exec.finish_outcome = FC_OUTCOME_NONE;
	exec.outer = current_exec;

	current_exec = &exec;

	/*
	 * The error context callback is pushed inside PG_TRY: PG_END_TRY (and a
	 * catcher's PG_CATCH) restore error_context_stack to its value at PG_TRY,
	 * so a callback pushed before it would stay on the stack after this frame
	 * is gone.
	 */
	PG_TRY();
	{
		FcFetchArgs fa = {&exec, NULL, true};

		errcallback.callback = exec_error_callback;
		errcallback.arg = &exec;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;

		/* regrole does not keep a role from being dropped */
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(flow->owner)))
			end_run(&exec, FC_OUTCOME_ERRORED,
					psprintf("The owner of flow " INT64_FORMAT " (role with OID %u) no longer exists.",
							 flow->id, flow->owner));

		/* a version removed by hand, or restored without its actions */
		if (run->status != FC_STATUS_DONE && flow->tree_missing)
			end_run(&exec, FC_OUTCOME_ERRORED,
					psprintf("Version %d of flow " INT64_FORMAT " no longer exists.",
							 flow->tree_version, flow->id));

		if (run->status != FC_STATUS_DONE && OidIsValid(run->object_table))
		{
			/* a dropped table's rows no longer exist either */
			if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(run->object_table)))
				end_run(&exec, FC_OUTCOME_OBSOLETE,
						psprintf("Discarded because object %s does not exist: its table (OID %u) was dropped.",
								 run->object_id, run->object_table));
			else if (!fc_engine_guarded(fetch_object_guarded, &fa, flow->owner, true, &edata))
				end_run(&exec, FC_OUTCOME_ERRORED,
						psprintf("Could not read object %s %s: %s",
								 object_table_name(run->object_table),
								 run->object_id, describe_error(edata)));
			else if (fa.result == NULL)
				end_run(&exec, FC_OUTCOME_OBSOLETE,
						psprintf("Discarded because object %s %s does not exist.",
								 object_table_name(run->object_table),
								 run->object_id));
			exec.object = fa.result;
		}

		if (run->status != FC_STATUS_DONE && flow->condition[0] != '\0')
		{
			if (!fc_engine_guarded(flow_condition_guarded, &fa, flow->owner, false, &edata))
				end_run(&exec, FC_OUTCOME_ERRORED,
						psprintf("Flow condition %s failed: %s", flow->condition,
								 describe_error(edata)));
			else if (!fa.cond)
				end_run(&exec, FC_OUTCOME_OBSOLETE,
						psprintf("Discarded because flow condition %s was not met.",
								 flow->condition));
		}

		if (run->status == FC_STATUS_WAITING)
		{
			if (!run->has_continue_after && run->waiting_trigger_id == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("Flow run is waiting but has neither trigger nor continue after time set")));
			if (run->action_id == 0 || (start = fc_flow_action_index(flow, run->action_id)) < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("Flow run is waiting but has no action set")));
			if (run->has_continue_after &&
				run->continue_after > fc_now(flow->owner))
				write = false;	/* not due: returned unchanged */
			else
			{
				start_with_continue = !run->repeat_action;
				run->repeat_action = false;
				run->has_continue_after = false;
				run->waiting_trigger_id = 0;
				run->status = FC_STATUS_RUNNING;
			}
		}
		else if (run->status == FC_STATUS_PENDING)
		{
			start = run->action_id != 0 ? fc_flow_action_index(flow, run->action_id) : -1;
			if (start < 0)
				start = flow->first_root;
			run->status = FC_STATUS_RUNNING;
			if (start < 0)
				end_run(&exec, FC_OUTCOME_COMPLETE, NULL);
		}

		if (run->status == FC_STATUS_RUNNING)
			run_loop(&exec, start, false, start_with_continue);

		if (write && !defer_write)
		{
			fc_catalog_write_run(run);
			if (run->status == FC_STATUS_DONE)
				release_version(run->flow_id, run->flow_version);
		}
	}
	PG_FINALLY();
	{
		current_exec = exec.outer;
	}
	PG_END_TRY();

	MemoryContextSwitchTo(caller_cxt);
	result = write ? fc_run_copy(run) : fc_run_copy(input);
	MemoryContextDelete(exec.exec_cxt);
	if (needs_write)
		*needs_write = write && defer_write;
	return result;
}

FcRun *
fc_engine_execute_locked(FcRun *input, int max_hot_loop)
{
	return execute_locked(input, max_hot_loop, false, NULL);
}

FcRun *
fc_engine_execute(int64 run_id, int max_hot_loop, bool check_visible)
{
	FcRun	   *run;

	if (find_exec(run_id) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("flow run %lld is already executing", (long long) run_id)));
	run = fc_catalog_lock_run(run_id, false);
	if (run == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("flow run %lld does not exist", (long long) run_id)));
	if (check_visible)
		fc_engine_check_visible(fc_catalog_get_flow(run->flow_id), "flow run", run_id);
	return fc_engine_execute_locked(run, max_hot_loop);
}

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

	ca->result = execute_locked(ca->run, FC_DEFAULT_MAX_HOT_LOOP, ca->defer_write,
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
		FcRun	  **runs;
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
		runs = palloc0(sizeof(FcRun *) * Max(n, 1));

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
				(runs[i] = lock_candidate(ids[i], &tids[i], claim_now)) == NULL)
				continue;

			/* more runs are due than this one: let an idle worker share them */
			if (!shared && i + 1 < n)
			{
				fc_worker_share_work();
				shared = true;
			}
			ca.run = runs[i];
			fc_engine_current_run = last_id;
			if (fc_engine_guarded(continue_one_guarded, &ca, InvalidOid, false, &edata))
			{
				if (ca.needs_write)
				{
					fc_catalog_write_run(ca.result);
					if (ca.result->status == FC_STATUS_DONE)
						release_version(ca.result->flow_id, ca.result->flow_version);
				}
			}
			else
			{
				/* an engine-level failure: record it on the run */
				FcRun	   *run = runs[i];

				run->status = FC_STATUS_DONE;
				run->outcome = FC_OUTCOME_ERRORED;
				run->has_done_at = true;
				run->done_at = claim_now;
				run->log = fc_log_append(run->log, fc_log_line(describe_error(edata), claim_now));
				AssertRunDone(run);
				fc_catalog_write_run(run);
				release_version(run->flow_id, run->flow_version);
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
	FcExec	   *exec = find_exec(run_id);
	FcRun	   *run;

	if (exec != NULL)
	{
		/* called by an action of this very run: takes effect when it returns */
		fc_engine_check_visible(exec->flow, "flow run", run_id);
		if (message != NULL && message[0] != '\0')
			check_log_size(exec->run->log, message);
		exec->finish_outcome = outcome;
		exec->finish_message = MemoryContextStrdup(exec->exec_cxt, message ? message : "");
		return fc_run_copy(exec->run);
	}

	run = lock_visible_run(run_id);
	if (only_if_not_done && run->status == FC_STATUS_DONE)
		return run;
	if (message != NULL && message[0] != '\0')
		check_log_size(run->log, message);
	run->status = FC_STATUS_DONE;
	run->outcome = outcome;
	run->has_done_at = true;
	run->done_at = fc_now_for_flow(run->flow_id);
	run->log = fc_log_append(run->log, fc_log_line(message, run->done_at));
	AssertRunDone(run);
	fc_catalog_write_run(run);
	release_version(run->flow_id, run->flow_version);
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
	if (find_exec(run_id) == NULL)
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
		release_version(run->flow_id, old_version);
	fc_worker_wake_at_commit(0);
	return run;
}

static void
check_not_executing_here(int64 run_id, const char *what)
{
	if (find_exec(run_id) != NULL)
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
		fc_worker_wake_at_commit(run->has_continue_after ? run->continue_after : 0);
	}
	return run;
}

FcRun *
fc_engine_append_log(int64 run_id, const char *message)
{
	FcExec	   *exec = find_exec(run_id);
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
		check_log_size(run->log, message);
		run->log = fc_log_append(run->log, fc_log_line(message, fc_now_for_flow(run->flow_id)));
		fc_catalog_write_run(run);
	}
	return run;
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
	n = (int64) SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
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
		release_version(run->flow_id, run->flow_version);
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
	n = (int64) SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
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
		if (find_exec(ids[i]) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot delete flow %lld: its flow run %lld is executing",
							(long long) flow_id, (long long) ids[i])));
		(void) fc_engine_finish(ids[i], FC_OUTCOME_CANCELED, "", true);
	}
	fc_catalog_exec(&delete_q, &arg, NULL, 0);
}
