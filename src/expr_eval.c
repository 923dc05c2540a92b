/*-------------------------------------------------------------------------
 *
 * expr_eval.c
 *	  (placeholder until the expression language lands)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "expr.h"

static void
not_yet(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("expressions are not implemented yet")));
}

FcExpr *
fc_expr_parse(const char *source)
{
	not_yet();
	return NULL;
}

FcExpr *
fc_expr_get(const char *source)
{
	not_yet();
	return NULL;
}

bool
fc_expr_is_empty(const FcExpr *expr)
{
	return true;
}

JsonbValue *
fc_expr_eval(const FcExpr *expr, Jsonb *context)
{
	not_yet();
	return NULL;
}

bool
fc_expr_truthy(const JsonbValue *value)
{
	return false;
}

bool
fc_expr_condition(const char *source, Jsonb *context)
{
	if (source[0] == '\0')
		return false;
	not_yet();
	return false;
}

Jsonb *
fc_expr_value(const char *source, Jsonb *context)
{
	not_yet();
	return NULL;
}

char *
fc_expr_render(const char *template_text, Jsonb *context)
{
	not_yet();
	return NULL;
}

void
fc_expr_validate_template(const char *template_text)
{
}

void
fc_expr_check_filters(const FcExpr *expr)
{
}

void
fc_expr_invalidate_filters(void)
{
}

bool
fc_expr_is_builtin_filter(const char *name)
{
	return false;
}
