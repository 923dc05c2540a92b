/*-------------------------------------------------------------------------
 *
 * expr_filter.c
 *	  The expression language's filters (Django's "value|filter:arg"), the
 *	  call into filters registered by users, and checking filter names.
 *
 * Built-in filters return a neutral value on input that Django would let
 * raise (documented per filter in doc/expressions.md); a registered filter
 * is an SQL function, called as the role evaluating the expression (the
 * flow owner while a run executes) with that role's own settings.  It is
 * the only place in the expression language that reads a table (the
 * filter registry, through catalog.c).  This file owns the list of
 * built-in filters and how a name is looked up; it must not evaluate
 * expressions itself other than a filter's argument (fc_expr_eval_node).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/objectaccess.h"
#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/formatting.h"
#include "utils/numeric.h"

#include "catalog.h"
#include "compat.h"
#include "expr_eval.h"
#include "expr_int.h"
#include "flowcache.h"
#include "owner.h"


/* ---------------------------------------------------------------------
 * Filters
 * ---------------------------------------------------------------------
 */

/* ASCII white space as Python's str.strip() sees it */
static inline bool
is_py_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

/*
 * Python's int(v): booleans are 0 and 1, numbers are truncated, strings
 * are parsed as Python parses them (surrounding white space, a sign,
 * digits with single underscores between them).  False if Python would
 * raise.
 */
static bool
py_int(const JsonbValue *v, Numeric *result)
{
	switch (v->type)
	{
		case jbvBool:
			*result = fc_expr_as_numeric(v);
			return true;
		case jbvNumeric:
			*result = DatumGetNumeric(DirectFunctionCall2(numeric_trunc,
														  NumericGetDatum(v->val.numeric),
														  Int32GetDatum(0)));
			return true;
		case jbvString:
			{
				const char *s = v->val.string.val;
				const char *end = s + v->val.string.len;
				char	   *digits = palloc(v->val.string.len + 1);
				int			n = 0;
				bool		ok = false;

				while (s < end && is_py_space(*s))
					s++;
				while (end > s && is_py_space(end[-1]))
					end--;
				if (s < end && (*s == '+' || *s == '-'))
					digits[n++] = *s++;
				for (; s < end; s++)
				{
					if (*s >= '0' && *s <= '9')
					{
						digits[n++] = *s;
						ok = true;
					}
					else if (*s == '_' && ok && s + 1 < end &&
							 s[1] >= '0' && s[1] <= '9')
						continue;
					else
						return false;
				}
				if (!ok)
					return false;
				digits[n] = '\0';
				*result = DatumGetNumeric(DirectFunctionCall3(numeric_in,
															  CStringGetDatum(digits),
															  ObjectIdGetDatum(InvalidOid),
															  Int32GetDatum(-1)));
				return true;
			}
		default:
			return false;
	}
}

/*
 * Filters that build values (add, join) could otherwise grow a string
 * exponentially along a chain: x|join:"ab"|join:"ab"|... triples it each
 * time.
 */
static void
check_value_size(Size size)
{
	if (size > FC_EXPR_MAX_VALUE_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("expression value is too large"),
				 errdetail("A filter would build a value of more than %d bytes.",
						   FC_EXPR_MAX_VALUE_SIZE)));
}

/* A new array value: the elements of a, then those of b. */
static void
concat_arrays(const JsonbValue *a, const JsonbValue *b, JsonbValue *result)
{
	JsonbInState state = {0};
	JsonbValue *res;
	const JsonbValue *arrays[2] = {a, b};
	int			k;

	check_value_size((Size) a->val.binary.len + b->val.binary.len);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (k = 0; k < 2; k++)
	{
		JsonbIterator *it = JsonbIteratorInit(arrays[k]->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	v;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			CHECK_FOR_INTERRUPTS();
			if (tok == WJB_ELEM)
				pushJsonbValue(&state, WJB_ELEM, &v);
		}
	}
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	res = state.result;
	fc_expr_set_jsonb(result, JsonbValueToJsonb(res));
}

/* Django's add: integer sum, else same-type concatenation, else "". */
static void
filter_add(JsonbValue *value, const JsonbValue *arg)
{
	Numeric		a,
				b;
	FcPyType	tv,
				ta;

	if (py_int(value, &a) && py_int(arg, &b))
	{
		set_numeric(value,
					DatumGetNumeric(DirectFunctionCall2(numeric_add,
														NumericGetDatum(a),
														NumericGetDatum(b))));
		return;
	}
	tv = py_type(value);
	ta = py_type(arg);
	if (tv == PY_STR && ta == PY_STR)
	{
		int			len;
		char	   *s;

		check_value_size((Size) value->val.string.len + arg->val.string.len);
		len = value->val.string.len + arg->val.string.len;
		s = palloc(len + 1);

		memcpy(s, value->val.string.val, value->val.string.len);
		memcpy(s + value->val.string.len, arg->val.string.val,
			   arg->val.string.len);
		s[len] = '\0';
		set_string(value, s, len);
	}
	else if (tv == PY_LIST && ta == PY_LIST)
		concat_arrays(value, arg, value);
	else
		set_string(value, "", 0);
}

static void
filter_first_last(JsonbValue *value, bool last)
{
	FcPyType	t = py_type(value);

	if (t == PY_STR && value->val.string.len > 0)
	{
		char	   *s = value->val.string.val;
		char	   *end = s + value->val.string.len;
		int			len = char_length(s, end);

		if (last)
		{
			while (s + len < end)
			{
				s += len;
				len = char_length(s, end);
			}
		}
		set_string(value, s, len);
	}
	else if (t == PY_LIST && container_size(value) > 0)
		fc_expr_array_element(value, last ? container_size(value) - 1 : 0, value);
	else
		set_string(value, "", 0);
}

/* Django's join: str() of each item of an iterable, joined by str(arg). */
static void
filter_join(JsonbValue *value, const JsonbValue *arg)
{
	FcPyType	t = py_type(value);
	StringInfoData buf;
	int			seplen;
	char	   *sep = fc_expr_value_text(arg, &seplen);
	bool		first = true;

	initStringInfo(&buf);
	if (t == PY_STR)
	{
		const char *s = value->val.string.val;
		const char *end = s + value->val.string.len;

		while (s < end)
		{
			int			len = char_length(s, end);

			CHECK_FOR_INTERRUPTS();
			if (!first)
				appendBinaryStringInfo(&buf, sep, seplen);
			appendBinaryStringInfo(&buf, s, len);
			check_value_size(buf.len);
			s += len;
			first = false;
		}
	}
	else if (t == PY_LIST || t == PY_DICT)
	{
		JsonbIterator *it = JsonbIteratorInit(value->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	v;

		/* iterating a dict yields its keys */
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			CHECK_FOR_INTERRUPTS();
			if (tok != WJB_ELEM && tok != WJB_KEY)
				continue;
			if (!first)
				appendBinaryStringInfo(&buf, sep, seplen);
			fc_expr_append_text(&buf, &v);
			check_value_size(buf.len);
			first = false;
		}
	}
	else
		return;					/* not iterable: Django returns the value */
	set_string(value, buf.data, buf.len);
}

/* Django's cut: str(value) with every occurrence of str(arg) removed. */
static void
filter_cut(JsonbValue *value, const JsonbValue *arg)
{
	int			len,
				neelen;
	char	   *s = fc_expr_value_text(value, &len);
	char	   *needle = fc_expr_value_text(arg, &neelen);
	StringInfoData buf;
	char	   *end = s + len;
	char	   *hit;

	if (neelen == 0)
	{
		set_string(value, s, len);
		return;
	}
	initStringInfo(&buf);
	while ((hit = memmem(s, end - s, needle, neelen)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		appendBinaryStringInfo(&buf, s, hit - s);
		s = hit + neelen;
	}
	appendBinaryStringInfo(&buf, s, end - s);
	set_string(value, buf.data, buf.len);
}

/* Django's yesno: "yes,no,maybe" style mapping of True, False and None. */
static void
filter_yesno(JsonbValue *value, const JsonbValue *arg)
{
	int			len;
	char	   *text;
	char	   *bits[3];
	int			bitlen[3];
	int			nbits = 0;
	char	   *s;
	char	   *end;
	int			pick;

	if (arg->type == jbvNull)
	{
		text = "yes,no,maybe";

		len = strlen(text);
	}
	else
		text = fc_expr_value_text(arg, &len);

	/* split on commas; only the number of pieces past three matters */
	s = text;
	end = text +len;

	for (;;)
	{
		char	   *comma = memchr(s, ',', end - s);

		if (nbits < 3)
		{
			bits[nbits] = s;
			bitlen[nbits] = comma ? comma - s : end - s;
		}
		nbits++;
		if (comma == NULL)
			break;
		s = comma + 1;
	}

	if (nbits < 2)
		return;					/* invalid argument: the value unchanged */
	if (value->type == jbvNull)
		pick = (nbits == 3) ? 2 : 1;
	else
		pick = fc_expr_truthy(value) ? 0 : 1;
	set_string(value, bits[pick], bitlen[pick]);
}

static void
filter_case(JsonbValue *value, bool upper)
{
	int			len;
	char	   *s = fc_expr_value_text(value, &len);
	char	   *res;

	res = upper ? str_toupper(s, len, DEFAULT_COLLATION_OID) :
		str_tolower(s, len, DEFAULT_COLLATION_OID);
	set_string(value, res, strlen(res));
}

static void
filter_length(JsonbValue *value)
{
	FcPyType	t = py_type(value);
	int64		n = 0;

	if (t == PY_STR)
		n = pg_mbstrlen_with_len(value->val.string.val, value->val.string.len);
	else if (t == PY_LIST || t == PY_DICT)
		n = container_size(value);
	set_numeric(value, int64_to_numeric(n));
}

static void
filter_divisibleby(JsonbValue *value, const JsonbValue *arg)
{
	Numeric		a,
				b;
	bool		result = false;

	if (py_int(value, &a) && py_int(arg, &b))
	{
		ErrorSaveContext escontext = {T_ErrorSaveContext};
		Numeric		rem = numeric_mod_safe(a, b, (Node *) &escontext);

		fc_expr_init_numerics();
		result = !escontext.error_occurred &&
			fc_expr_numeric_compare(rem, fc_expr_numeric_zero) == 0;
	}
	set_bool(value, result);
}

static void
filter_startswith(JsonbValue *value, const JsonbValue *arg)
{
	bool		result = false;

	if (value->type == jbvString && arg->type == jbvString)
		result = value->val.string.len >= arg->val.string.len &&
			memcmp(value->val.string.val, arg->val.string.val,
				   arg->val.string.len) == 0;
	set_bool(value, result);
}

static void
unknown_filter(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("unknown filter \"%s\"", name),
			 errhint("Filters are built in or added with flowcontrol.register_filter().")));
}

/* Call a registered filter function (value jsonb, arg jsonb) -> jsonb. */
static void
filter_registered(const FcFilter *f, JsonbValue *value, const JsonbValue *arg)
{
	Oid			fn = fc_catalog_lookup_filter(f->name);
	FmgrInfo	flinfo;
	Datum		result;
	FcOwnerEnv	env;

	LOCAL_FCINFO(fcinfo, 2);

	if (!OidIsValid(fn))
		unknown_filter(f->name);
	fc_catalog_check_execute(fn);
	InvokeFunctionExecuteHook(fn);

	/*
	 * Both arguments are jsonb values (a JSON null is the jsonb 'null', not
	 * an SQL NULL): a STRICT filter is always called.
	 */
	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = JsonbPGetDatum(JsonbValueToJsonb(value));
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = JsonbPGetDatum(JsonbValueToJsonb((JsonbValue *) arg));
	fcinfo->args[1].isnull = false;

	/*
	 * A filter is SQL of the role evaluating the expression (a flow's owner
	 * while a flow runs): it runs as a hook of that role, with the role's own
	 * settings, and what it changes does not outlive the call.
	 */
	fc_owner_enter(&env, GetUserId());
	result = FunctionCallInvoke(fcinfo);
	fc_owner_leave(&env);
	if (fcinfo->isnull)
		set_null(value);
	else
		fc_expr_set_jsonb(value, DatumGetJsonbP(result));
}

void
fc_expr_apply_filter(FcEvalState *st, const FcFilter *f, JsonbValue *value)
{
	JsonbValue	arg;

	if (f->arg)
		fc_expr_eval_node(st, f->arg, &arg);
	else
		set_null(&arg);

	switch (f->kind)
	{
		case FC_FILTER_ADD:
			filter_add(value, &arg);
			break;
		case FC_FILTER_CUT:
			filter_cut(value, &arg);
			break;
		case FC_FILTER_DEFAULT:
			if (!fc_expr_truthy(value))
				*value = arg;
			break;
		case FC_FILTER_DEFAULT_IF_NONE:
			if (value->type == jbvNull)
				*value = arg;
			break;
		case FC_FILTER_DIVISIBLEBY:
			filter_divisibleby(value, &arg);
			break;
		case FC_FILTER_FIRST:
			filter_first_last(value, false);
			break;
		case FC_FILTER_JOIN:
			filter_join(value, &arg);
			break;
		case FC_FILTER_LAST:
			filter_first_last(value, true);
			break;
		case FC_FILTER_LENGTH:
			filter_length(value);
			break;
		case FC_FILTER_LOWER:
			filter_case(value, false);
			break;
		case FC_FILTER_STARTSWITH:
			filter_startswith(value, &arg);
			break;
		case FC_FILTER_UPPER:
			filter_case(value, true);
			break;
		case FC_FILTER_YESNO:
			filter_yesno(value, &arg);
			break;
		case FC_FILTER_REGISTERED:
			filter_registered(f, value, &arg);
			break;
	}
}


/* ---------------------------------------------------------------------
 * Filter names
 * ---------------------------------------------------------------------
 */

/*
 * While fc_expr_probe_filter() probes for uses of a filter, check_filters()
 * records a use of that name instead of looking filters up.
 */
static const char *filter_probe = NULL;
static bool filter_probe_hit = false;

void
fc_expr_probe_filter(const char *name)
{
	filter_probe = name;
	filter_probe_hit = false;
}

bool
fc_expr_probe_hit(void)
{
	bool		hit = filter_probe_hit;

	filter_probe_hit = false;
	return hit;
}

static void
check_filters(const FcExprNode *node)
{
	check_stack_depth();

	switch (node->kind)
	{
		case FC_EXPR_CONST:
		case FC_EXPR_VAR:
			break;
		case FC_EXPR_FILTERED:
			{
				int			i;

				check_filters(node->u.filtered.operand);
				for (i = 0; i < node->u.filtered.nfilters; i++)
				{
					const FcFilter *f = &node->u.filtered.filters[i];

					CHECK_FOR_INTERRUPTS();
					if (f->kind != FC_FILTER_REGISTERED)
						continue;
					if (filter_probe != NULL)
					{
						if (strcmp(f->name, filter_probe) == 0)
							filter_probe_hit = true;
					}
					else if (!OidIsValid(fc_catalog_lookup_filter(f->name)))
						unknown_filter(f->name);
				}
			}
			break;
		case FC_EXPR_AND:
		case FC_EXPR_OR:
			{
				ListCell   *lc;

				foreach(lc, node->u.nary)
					check_filters(lfirst(lc));
			}
			break;
		case FC_EXPR_NOT:
			check_filters(node->u.binary.left);
			break;
		default:
			check_filters(node->u.binary.left);
			check_filters(node->u.binary.right);
			break;
	}
}

void
fc_expr_check_filters(const FcExpr *expr)
{
	if (expr->root != NULL)
		check_filters(expr->root);
}

bool
fc_expr_is_builtin_filter(const char *name)
{
	return fc_expr_builtin_filter(name) != NULL;
}

/*
 * Registered filters are looked up through fc_catalog_lookup_filter(),
 * which keeps its own cache; nothing here caches them.
 */
void
fc_expr_invalidate_filters(void)
{
}
