/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  Executing a flow run: the directive loop, the guarded hook calls,
 *	  the run's state and log while it executes.
 *
 * This file owns the executions in progress in this backend (FcExec) and
 * the only catch-and-continue (fc_engine_guarded).  Sweeping for runnable
 * runs is in engine_continue.c; creating runs, their limits and the
 * life-cycle changes made by the SQL functions are in engine_lifecycle.c.
 * It calls the actions (actions.c) and is called back by them only through
 * engine_actions.h; it must not read or write flowcontrol's tables other
 * than through catalog.c, nor touch the workers' shared memory other than
 * through wakeup.h.
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
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
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
#include "engine_int.h"
#include "expr.h"
#include "flowcache.h"
#include "objects.h"
#include "owner.h"
#include "runs.h"
#include "timeout.h"
#include "versions.h"
#include "wakeup.h"

/* Settings: limits of a run's state and log, in kB */
int			fc_max_state_size = 16384;
int			fc_max_log_size = 16384;

/* Executions in progress in this backend, innermost first. */
static FcExec *current_exec = NULL;

FcExec *
fc_engine_find_exec(int64 run_id)
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

void
fc_engine_check_log_size(const char *log, const char *message)
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
		fc_engine_check_log_size(base, message);
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
char *
fc_engine_describe_error(ErrorData *e)
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
void
fc_engine_release_version(int64 flow_id, int32 version)
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
	char	   *error = fc_engine_describe_error(edata);

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
		fc_wakeup_at_commit(run->continue_after);
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
					fc_wakeup_at_commit(run->continue_after);
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
FcRun *
fc_engine_execute_run(FcRun *input, int max_hot_loop, bool defer_write, bool *needs_write)
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
	if (fc_engine_find_exec(input->id) != NULL)
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
								 run->object_id, fc_engine_describe_error(edata)));
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
								 fc_engine_describe_error(edata)));
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
				fc_engine_release_version(run->flow_id, run->flow_version);
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
	return fc_engine_execute_run(input, max_hot_loop, false, NULL);
}

FcRun *
fc_engine_execute(int64 run_id, int max_hot_loop, bool check_visible)
{
	FcRun	   *run;

	if (fc_engine_find_exec(run_id) != NULL)
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

