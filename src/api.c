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
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "catalog.h"
#include "expr.h"

PG_FUNCTION_INFO_V1(flowcontrol_evaluate);
PG_FUNCTION_INFO_V1(flowcontrol_validate_expression);

/*
 * evaluate(expression text, context jsonb DEFAULT '{}') returns jsonb
 */
Datum
flowcontrol_evaluate(PG_FUNCTION_ARGS)
{
	char	   *source;
	Jsonb	   *context = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	source = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (context != NULL && !JB_ROOT_IS_OBJECT(context))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expression context must be a jsonb object")));

	PG_RETURN_JSONB_P(fc_expr_value(source, context));
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
