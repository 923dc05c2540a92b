/*-------------------------------------------------------------------------
 *
 * api.c
 *	  SQL-callable functions: argument checks, then a call into the
 *	  subsystem that does the work.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "engine.h"
#include "expr.h"
#include "flowcache.h"
#include "runs.h"
#include "trigger_acl.h"

PG_FUNCTION_INFO_V1(flowcontrol_evaluate);
PG_FUNCTION_INFO_V1(flowcontrol_validate_expression);

/*
 * evaluate(expression text, context jsonb DEFAULT '{}') returns jsonb
 *
 * The parsed expression is kept in fn_extra while the same source comes
 * again (the usual case: one expression over many rows), so the backend's
 * expression cache is neither consulted nor filled by ad-hoc expressions.
 */
typedef struct FcEvaluateCache
{
	MemoryContext context;		/* holds source and expr */
	char	   *source;
	int			len;
	FcExpr	   *expr;			/* NULL until a source parsed */
	bool		constant;		/* the argument cannot change in this query */
} FcEvaluateCache;

/*
 * Is argument argnum of the call a Const?  Not get_fn_expr_arg_stable():
 * PL/pgSQL keeps a simple expression's state, fn_extra included, across
 * executions with different values of its (external) Params.
 */
static bool
arg_is_const(FmgrInfo *flinfo, int argnum)
{
	List	   *args;

	if (flinfo->fn_expr == NULL || !IsA(flinfo->fn_expr, FuncExpr))
		return false;
	args = ((FuncExpr *) flinfo->fn_expr)->args;
	return argnum < list_length(args) && IsA(list_nth(args, argnum), Const);
}

/*
 * The parsed expression of argument 0, kept in fn_extra: a constant
 * expression argument is parsed once per query, another one whenever it
 * changes.  Also checks the context argument.
 */
static const FcExpr *
cached_expression(FunctionCallInfo fcinfo, Jsonb *context)
{
	text	   *source = PG_GETARG_TEXT_PP(0);
	FcEvaluateCache *cache = (FcEvaluateCache *) fcinfo->flinfo->fn_extra;
	int			len = VARSIZE_ANY_EXHDR(source);

	if (context != NULL && !JB_ROOT_IS_OBJECT(context))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expression context must be a jsonb object")));

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(FcEvaluateCache));
		cache->context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
											   "flowcontrol evaluate",
											   ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->expr == NULL ||
		(!cache->constant &&
		 (cache->len != len || memcmp(cache->source, VARDATA_ANY(source), len) != 0)))
	{
		MemoryContext old;

		cache->expr = NULL;
		MemoryContextReset(cache->context);
		old = MemoryContextSwitchTo(cache->context);
		cache->source = text_to_cstring(source);
		cache->len = len;
		cache->expr = fc_expr_parse(cache->source);
		MemoryContextSwitchTo(old);
		cache->constant = arg_is_const(fcinfo->flinfo, 0);
	}
	return cache->expr;
}

Datum
flowcontrol_evaluate(PG_FUNCTION_ARGS)
{
	Jsonb	   *context = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(fc_expr_eval_jsonb(cached_expression(fcinfo, context), context));
}

/*
 * evaluate_condition(expression text, context jsonb DEFAULT '{}') returns boolean
 *
 * A condition as IfAction evaluates it: the truthiness of the value (an
 * empty expression is false), without building a jsonb result.
 */
PG_FUNCTION_INFO_V1(flowcontrol_evaluate_condition);
Datum
flowcontrol_evaluate_condition(PG_FUNCTION_ARGS)
{
	Jsonb	   *context = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(fc_expr_truthy(fc_expr_eval(cached_expression(fcinfo, context), context)));
}

/*
 * validate_expression(expression text) returns boolean
 *
 * Raises the syntax error, or an error for an unknown filter; true if the
 * expression is valid.
 */
Datum
flowcontrol_validate_expression(PG_FUNCTION_ARGS)
{
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(0));

	fc_expr_check_filters(fc_expr_get(source));
	PG_RETURN_BOOL(true);
}

/* ---------------------------------------------------------------------
 * Flow runs
 * ---------------------------------------------------------------------
 */
static MemoryContext
api_connect(void)
{
	MemoryContext caller = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	return caller;
}

/* The run as a flow_run datum in the caller's context; disconnects SPI. */
static Datum
api_finish_run(MemoryContext caller, FcRun *run, bool *isnull)
{
	Datum		result = (Datum) 0;
	MemoryContext old = MemoryContextSwitchTo(caller);

	if (run != NULL)
		result = fc_run_to_datum(run);
	MemoryContextSwitchTo(old);
	SPI_finish();
	*isnull = (run == NULL);
	return result;
}

#define RETURN_RUN(caller, run) \
	do { \
		bool		isnull_; \
		Datum		d_ = api_finish_run((caller), (run), &isnull_); \
		if (isnull_) \
			PG_RETURN_NULL(); \
		PG_RETURN_DATUM(d_); \
	} while (0)

static int64
required_id(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return PG_GETARG_INT64(argno);
}

static Jsonb *
state_arg(FunctionCallInfo fcinfo, int argno)
{
	Jsonb	   *state;

	if (PG_ARGISNULL(argno))
		return NULL;
	state = PG_GETARG_JSONB_P(argno);
	if (!JB_ROOT_IS_OBJECT(state) || JB_ROOT_IS_SCALAR(state))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("state must be a JSON object")));
	return state;
}

static char *
object_id_arg(FunctionCallInfo fcinfo, int table_argno, int id_argno, Oid *table)
{
	*table = PG_ARGISNULL(table_argno) ? InvalidOid : PG_GETARG_OID(table_argno);
	return PG_ARGISNULL(id_argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(id_argno));
}

/*
 * A run id the caller names as a reference: another role's run is one that
 * does not exist (same message and SQLSTATE).
 */
static void
check_visible_run(int64 run_id)
{
	FcRun	   *run = fc_catalog_read_run(run_id);

	fc_engine_check_visible(run ? fc_catalog_get_flow(run->flow_id) : NULL,
							"flow run", run_id);
}

static FcRun *
create_from_args(FunctionCallInfo fcinfo, bool has_trigger_arg)
{
	int64		flow_id = required_id(fcinfo, 0, "flow_id");
	Oid			table;
	char	   *object_id = object_id_arg(fcinfo, 1, 2, &table);
	Jsonb	   *state = state_arg(fcinfo, 3);
	int64		parent = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
	int64		trigger = (!has_trigger_arg || PG_ARGISNULL(5)) ? 0 : PG_GETARG_INT64(5);

	if (parent != 0)
		check_visible_run(parent);
	if (trigger != 0)
		fc_trigger_check_visible(trigger);
	return fc_engine_create_run(flow_id, table, object_id, state, parent, trigger, -1,
								FC_CREATE_CHECK_VISIBLE);
}

PG_FUNCTION_INFO_V1(flowcontrol_create_flowrun);
Datum
flowcontrol_create_flowrun(PG_FUNCTION_ARGS)
{
	MemoryContext caller = api_connect();

	RETURN_RUN(caller, create_from_args(fcinfo, true));
}

PG_FUNCTION_INFO_V1(flowcontrol_start_flowrun);
Datum
flowcontrol_start_flowrun(PG_FUNCTION_ARGS)
{
	MemoryContext caller = api_connect();
	FcRun	   *run = create_from_args(fcinfo, false);

	if (run != NULL && run->status == FC_STATUS_PENDING)
		run = fc_engine_execute_locked(run, FC_DEFAULT_MAX_HOT_LOOP);
	RETURN_RUN(caller, run);
}

PG_FUNCTION_INFO_V1(flowcontrol_execute_flowrun);
Datum
flowcontrol_execute_flowrun(PG_FUNCTION_ARGS)
{
	int64		run_id = required_id(fcinfo, 0, "run_id");
	int32		max_hot_loop = PG_ARGISNULL(1) ? FC_DEFAULT_MAX_HOT_LOOP : PG_GETARG_INT32(1);
	MemoryContext caller;

	if (max_hot_loop < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_hot_loop must be at least 1")));
	caller = api_connect();
	RETURN_RUN(caller, fc_engine_execute(run_id, max_hot_loop, true));
}

static Datum
finish_with(FunctionCallInfo fcinfo, FcRunOutcome outcome, bool has_message, bool only_if_not_done)
{
	int64		run_id = required_id(fcinfo, 0, "run_id");
	char	   *message = (has_message && !PG_ARGISNULL(1)) ?
	text_to_cstring(PG_GETARG_TEXT_PP(1)) : "";
	MemoryContext caller = api_connect();

	RETURN_RUN(caller, fc_engine_finish(run_id, outcome, message, only_if_not_done));
}

PG_FUNCTION_INFO_V1(flowcontrol_cancel_flowrun);
Datum
flowcontrol_cancel_flowrun(PG_FUNCTION_ARGS)
{
	return finish_with(fcinfo, FC_OUTCOME_CANCELED, false, true);
}

PG_FUNCTION_INFO_V1(flowcontrol_discard_flowrun);
Datum
flowcontrol_discard_flowrun(PG_FUNCTION_ARGS)
{
	return finish_with(fcinfo, FC_OUTCOME_OBSOLETE, true, false);
}

PG_FUNCTION_INFO_V1(flowcontrol_abort_flowrun);
Datum
flowcontrol_abort_flowrun(PG_FUNCTION_ARGS)
{
	return finish_with(fcinfo, FC_OUTCOME_ABORTED, false, false);
}

PG_FUNCTION_INFO_V1(flowcontrol_error_flowrun);
Datum
flowcontrol_error_flowrun(PG_FUNCTION_ARGS)
{
	return finish_with(fcinfo, FC_OUTCOME_ERRORED, true, false);
}

PG_FUNCTION_INFO_V1(flowcontrol_cancel_flowruns_for_object);
Datum
flowcontrol_cancel_flowruns_for_object(PG_FUNCTION_ARGS)
{
	Oid			table;
	char	   *object_id = object_id_arg(fcinfo, 0, 1, &table);
	int64		n;

	if (!OidIsValid(table) || object_id == NULL)
		PG_RETURN_INT64(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = fc_engine_cancel_for_object(table, object_id);
	SPI_finish();
	PG_RETURN_INT64(n);
}

PG_FUNCTION_INFO_V1(flowcontrol_reset_flowrun);
Datum
flowcontrol_reset_flowrun(PG_FUNCTION_ARGS)
{
	int64		run_id = required_id(fcinfo, 0, "run_id");
	int64		action_id = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	int64		trigger_id = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	Jsonb	   *state = state_arg(fcinfo, 3);
	MemoryContext caller = api_connect();

	if (trigger_id != 0)
		fc_trigger_check_visible(trigger_id);
	RETURN_RUN(caller, fc_engine_reset(run_id, action_id, trigger_id, state, true));
}

PG_FUNCTION_INFO_V1(flowcontrol_pause_flowrun);
Datum
flowcontrol_pause_flowrun(PG_FUNCTION_ARGS)
{
	int64		run_id = required_id(fcinfo, 0, "run_id");
	MemoryContext caller = api_connect();

	RETURN_RUN(caller, fc_engine_pause(run_id));
}

PG_FUNCTION_INFO_V1(flowcontrol_resume_flowrun);
Datum
flowcontrol_resume_flowrun(PG_FUNCTION_ARGS)
{
	int64		run_id = required_id(fcinfo, 0, "run_id");
	MemoryContext caller = api_connect();

	RETURN_RUN(caller, fc_engine_resume(run_id));
}

PG_FUNCTION_INFO_V1(flowcontrol_append_log);
Datum
flowcontrol_append_log(PG_FUNCTION_ARGS)
{
	int64		run_id = required_id(fcinfo, 0, "run_id");
	char	   *message = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	MemoryContext caller = api_connect();

	RETURN_RUN(caller, fc_engine_append_log(run_id, message));
}

PG_FUNCTION_INFO_V1(flowcontrol_continue_flowruns);
Datum
flowcontrol_continue_flowruns(PG_FUNCTION_ARGS)
{
	int32		max_runs = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0);
	int			n;

	if (!PG_ARGISNULL(0) && max_runs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_runs must not be negative")));
	if (!PG_ARGISNULL(0) && max_runs == 0)
		PG_RETURN_INT32(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = fc_engine_continue_runs(max_runs);
	SPI_finish();
	PG_RETURN_INT32(n);
}

PG_FUNCTION_INFO_V1(flowcontrol_cleanup_flowruns);
Datum
flowcontrol_cleanup_flowruns(PG_FUNCTION_ARGS)
{
	Interval   *older_than;
	int64		max_runs = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	TimestampTz before;
	int64		n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("older_than must not be NULL")));
	older_than = PG_GETARG_INTERVAL_P(0);
	if (!PG_ARGISNULL(1) && max_runs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_runs must not be negative")));
	if (!PG_ARGISNULL(1) && max_runs == 0)
		PG_RETURN_INT64(0);
	before = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
													 IntervalPGetDatum(older_than)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = fc_engine_cleanup_runs(before, max_runs, true);
	SPI_finish();
	PG_RETURN_INT64(n);
}

PG_FUNCTION_INFO_V1(flowcontrol_get_context);
Datum
flowcontrol_get_context(PG_FUNCTION_ARGS)
{
	FcRun	   *run;
	Jsonb	   *obj = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	run = fc_run_from_datum(PG_GETARG_DATUM(0));
	PG_RETURN_JSONB_P(fc_engine_context(run->state, obj));
}

/* ---------------------------------------------------------------------
 * Flows
 * ---------------------------------------------------------------------
 */
PG_FUNCTION_INFO_V1(flowcontrol_delete_flow);
Datum
flowcontrol_delete_flow(PG_FUNCTION_ARGS)
{
	int64		flow_id = required_id(fcinfo, 0, "flow_id");
	bool		cancel_runs = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	fc_engine_delete_flow(flow_id, cancel_runs);
	SPI_finish();
	PG_RETURN_VOID();
}
