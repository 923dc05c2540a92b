/*-------------------------------------------------------------------------
 *
 * api.c
 *	  SQL-callable functions: argument checks, then a call into the
 *	  subsystem that does the work.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "expr.h"

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

Datum
flowcontrol_evaluate(PG_FUNCTION_ARGS)
{
	text	   *source;
	Jsonb	   *context = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	FcEvaluateCache *cache = (FcEvaluateCache *) fcinfo->flinfo->fn_extra;
	int			len;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	source = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(source);

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
	/* a constant expression argument is parsed once per query */
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

	PG_RETURN_JSONB_P(fc_expr_eval_jsonb(cache->expr, context));
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
