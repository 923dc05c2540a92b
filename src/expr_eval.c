/*-------------------------------------------------------------------------
 *
 * expr_eval.c
 *	  Evaluating expressions over jsonb; the parse cache; templates.
 *
 * Values are JsonbValues with Python's meaning: null is None, booleans
 * are True/False (and, as in Python, count as the integers 1 and 0 in
 * arithmetic and comparisons), numbers are numeric, strings str,
 * arrays list and objects dict.  Arrays and objects are always jbvBinary,
 * pointing into the context (or into a jsonb built by a filter), so
 * variables are looked up in the context's containers without
 * converting it.  Comparisons that Python would refuse with a TypeError
 * ('a' < 1, None < 1, 1 in None) are false, as in Django's {% if %};
 * filters that Django would let raise on odd input return a neutral value
 * instead (documented per filter in doc/expressions.md).
 *
 * This file owns the walk over a parsed tree, the parse cache and
 * templates.  The values and Python's comparisons are in expr_value.c, the
 * filters in expr_filter.c (expr_eval.h declares what the three share).
 * It must not parse (that is expr_parse.c, through fc_expr_get()) nor read
 * any table (registered filters are expr_filter.c's).
 *
 * The parse cache maps source text to trees.  Trees live in a small
 * context each, under "flowcontrol expression cache" (a child of
 * TopMemoryContext); a tree is only inserted once it parsed completely.
 * When the cache outgrows FC_EXPR_CACHE_MAX_ENTRIES or
 * FC_EXPR_CACHE_MAX_BYTES it is emptied, but only once a new top-level
 * transaction uses it, so a tree returned by fc_expr_get() stays valid
 * until the end of the transaction that asked for it.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "compat.h"
#include "expr_eval.h"
#include "expr_int.h"

#define FC_EXPR_CACHE_MAX_ENTRIES	1000
#define FC_EXPR_CACHE_MAX_BYTES		(8 * 1024 * 1024)

typedef struct FcExprCacheEntry
{
	const char *source;			/* hash key: points to expr->source */
	FcExpr	   *expr;
} FcExprCacheEntry;

static MemoryContext cache_context = NULL;
static HTAB *cache = NULL;
static bool cache_full = false;
static LocalTransactionId cache_lxid = InvalidLocalTransactionId;

/* ---------------------------------------------------------------------
 * Evaluation
 * ---------------------------------------------------------------------
 */

/*
 * Django's variable resolution: each step is an object key, or (when all
 * digits) an index into an array or a string.  Anything missing is None.
 */
static void
eval_var(FcEvalState *st, const FcExprNode *node, JsonbValue *result)
{
	int			i;

	if (st->context == NULL ||
		getKeyJsonValueFromContainer(st->context,
									 node->u.var.steps[0].key,
									 node->u.var.steps[0].keylen,
									 result) == NULL)
		goto missing;

	for (i = 1; i < node->u.var.nsteps; i++)
	{
		const FcPathStep *step = &node->u.var.steps[i];

		if (result->type == jbvBinary && JsonContainerIsObject(result->val.binary.data))
		{
			if (getKeyJsonValueFromContainer(result->val.binary.data,
											 step->key, step->keylen,
											 result) == NULL)
				goto missing;
		}
		else if (result->type == jbvBinary && step->index >= 0 &&
				 step->index < container_size(result))
			fc_expr_array_element(result, step->index, result);
		else if (result->type == jbvString && step->index >= 0)
		{
			char	   *s = result->val.string.val;
			char	   *end = s + result->val.string.len;
			int			n;

			for (n = 0; n < step->index && s < end; n++)
				s += char_length(s, end);
			if (s >= end)
				goto missing;
			set_string(result, s, char_length(s, end));
		}
		else
			goto missing;
	}
	return;

missing:
	if (node == st->missing_as_empty)
		set_string(result, "", 0);
	else
		set_null(result);
}

void
fc_expr_eval_node(FcEvalState *st, const FcExprNode *node, JsonbValue *result)
{
	JsonbValue	right;

	/* leaves first: they do not recurse */
	if (node->kind == FC_EXPR_CONST)
	{
		*result = node->u.constant;
		return;
	}
	if (node->kind == FC_EXPR_VAR)
	{
		eval_var(st, node, result);
		return;
	}

	check_stack_depth();

	switch (node->kind)
	{
		case FC_EXPR_CONST:
		case FC_EXPR_VAR:
			pg_unreachable();
			break;
		case FC_EXPR_FILTERED:
			{
				int			i;

				fc_expr_eval_node(st, node->u.filtered.operand, result);
				for (i = 0; i < node->u.filtered.nfilters; i++)
				{
					CHECK_FOR_INTERRUPTS();
					fc_expr_apply_filter(st, &node->u.filtered.filters[i], result);
				}
			}
			break;
		case FC_EXPR_AND:
		case FC_EXPR_OR:
			{
				ListCell   *lc;

				/* Python: the first operand that decides, or the last */
				foreach(lc, node->u.nary)
				{
					fc_expr_eval_node(st, lfirst(lc), result);
					if (fc_expr_truthy(result) == (node->kind == FC_EXPR_OR))
						break;
				}
			}
			break;
		case FC_EXPR_NOT:
			fc_expr_eval_node(st, node->u.binary.left, result);
			set_bool(result, !fc_expr_truthy(result));
			break;
		case FC_EXPR_EQ:
		case FC_EXPR_NE:
			fc_expr_eval_node(st, node->u.binary.left, result);
			fc_expr_eval_node(st, node->u.binary.right, &right);
			set_bool(result, fc_expr_py_equal(result, &right) == (node->kind == FC_EXPR_EQ));
			break;
		case FC_EXPR_LT:
		case FC_EXPR_GT:
		case FC_EXPR_LE:
		case FC_EXPR_GE:
			fc_expr_eval_node(st, node->u.binary.left, result);
			fc_expr_eval_node(st, node->u.binary.right, &right);
			set_bool(result, fc_expr_py_order(result, &right, node->kind));
			break;
		case FC_EXPR_IN:
		case FC_EXPR_NOT_IN:
			{
				int			in;

				fc_expr_eval_node(st, node->u.binary.left, result);
				fc_expr_eval_node(st, node->u.binary.right, &right);
				in = fc_expr_py_contains(&right, result);
				/* a TypeError makes both "in" and "not in" false */
				set_bool(result, in >= 0 && (in == 1) == (node->kind == FC_EXPR_IN));
			}
			break;
		case FC_EXPR_IS:
		case FC_EXPR_IS_NOT:
			fc_expr_eval_node(st, node->u.binary.left, result);
			fc_expr_eval_node(st, node->u.binary.right, &right);
			set_bool(result, fc_expr_py_is(result, &right) == (node->kind == FC_EXPR_IS));
			break;
	}
}

static void
eval_init(FcEvalState *st, Jsonb *context)
{
	st->context = NULL;
	st->missing_as_empty = NULL;
	if (context != NULL && JB_ROOT_IS_OBJECT(context))
		st->context = &context->root;
}

/*
 * fc_expr_eval
 *
 * See expr.h.  The result is palloc'd in CurrentMemoryContext, but strings
 * and containers in it may point into context or into expr.
 */
JsonbValue *
fc_expr_eval(const FcExpr *expr, Jsonb *context)
{
	FcEvalState st;
	JsonbValue *result = palloc(sizeof(JsonbValue));

	eval_init(&st, context);
	if (expr->root == NULL)
		set_null(result);
	else
		fc_expr_eval_node(&st, expr->root, result);
	return result;
}

/*
 * A value as a jsonb document.  The documents for true, false and null are
 * built once and copied, which is much cheaper than JsonbValueToJsonb()
 * and is what conditions return.
 */
static Jsonb *
value_to_jsonb(JsonbValue *value)
{
	static Jsonb *constants[3];
	int			i;
	Jsonb	   *result;

	if (value->type == jbvNull)
		i = 0;
	else if (value->type == jbvBool)
		i = value->val.boolean ? 2 : 1;
	else
		return JsonbValueToJsonb(value);

	if (constants[i] == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		constants[i] = JsonbValueToJsonb(value);
		MemoryContextSwitchTo(old);
	}
	result = palloc(VARSIZE(constants[i]));
	memcpy(result, constants[i], VARSIZE(constants[i]));
	return result;
}

Jsonb *
fc_expr_eval_jsonb(const FcExpr *expr, Jsonb *context)
{
	FcEvalState st;
	JsonbValue	result;

	eval_init(&st, context);
	if (expr->root == NULL)
		set_null(&result);
	else
		fc_expr_eval_node(&st, expr->root, &result);
	return value_to_jsonb(&result);
}

/* ---------------------------------------------------------------------
 * The parse cache
 * ---------------------------------------------------------------------
 */

static uint32
cache_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
cache_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(const char *const *) key1, *(const char *const *) key2);
}

static void
cache_create(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(const char *);
	ctl.entrysize = sizeof(FcExprCacheEntry);
	ctl.hash = cache_hash;
	ctl.match = cache_match;
	ctl.hcxt = cache_context;
	cache = hash_create("flowcontrol expression cache", 64, &ctl,
						HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	cache_full = false;
}

/*
 * fc_expr_get
 *
 * See expr.h.  The tree stays valid at least until the end of the current
 * top-level transaction; callers must not keep it longer.
 */
FcExpr *
fc_expr_get(const char *source)
{
	FcExprCacheEntry *entry;
	MemoryContext entry_context;
	MemoryContext old;
	FcExpr	   *expr;

	if (cache_context == NULL)
	{
		cache_context = AllocSetContextCreate(TopMemoryContext,
											  "flowcontrol expression cache",
											  ALLOCSET_DEFAULT_SIZES);
		cache_create();
	}
	else if (cache_full && FC_MY_LXID() != cache_lxid)
	{
		/* no tree handed out in an earlier transaction may still be used */
		MemoryContextReset(cache_context);
		cache_create();
	}
	cache_lxid = FC_MY_LXID();

	entry = hash_search(cache, &source, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->expr;

	/* parse into a context of its own, entered only once complete */
	entry_context = AllocSetContextCreate(cache_context,
										  "flowcontrol expression",
										  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(entry_context);
	PG_TRY();
	{
		expr = fc_expr_parse(source);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(entry_context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);

	entry = hash_search(cache, &expr->source, HASH_ENTER, NULL);
	entry->expr = expr;

	if (hash_get_num_entries(cache) > FC_EXPR_CACHE_MAX_ENTRIES ||
		MemoryContextMemAllocated(cache_context, true) > FC_EXPR_CACHE_MAX_BYTES)
		cache_full = true;
	return expr;
}

void
fc_expr_cache_reset(void)
{
	if (cache_context != NULL)
	{
		MemoryContextReset(cache_context);
		cache_create();
	}
}

/* ---------------------------------------------------------------------
 * Convenience wrappers and templates
 * ---------------------------------------------------------------------
 */

bool
fc_expr_condition(const char *source, Jsonb *context)
{
	FcExpr	   *expr;

	if (source == NULL || source[0] == '\0')
		return false;
	expr = fc_expr_get(source);
	if (expr->root == NULL)
		return false;
	return fc_expr_truthy(fc_expr_eval(expr, context));
}

Jsonb *
fc_expr_value(const char *source, Jsonb *context)
{
	return fc_expr_eval_jsonb(fc_expr_get(source), context);
}

/* Error context for errors in a placeholder: where it is in the template. */
typedef struct FcPlaceholderContext
{
	const char *template_text;
	const char *start;
} FcPlaceholderContext;

/*
 * Find the next placeholder at or after *pos: sets *start (at "{{") and
 * *end (after "}}") and returns its parsed expression (from the cache);
 * NULL if there is none.  As in Django, the first "}}" ends a placeholder.
 */
static FcExpr *
next_placeholder(const char *template_text, const char **pos,
				 const char **start, const char **end,
				 FcPlaceholderContext *pc)
{
	const char *open = strstr(*pos, "{{");
	const char *close;
	char	   *source;
	FcExpr	   *expr;

	if (open == NULL)
		return NULL;
	close = strstr(open + 2, "}}");
	if (close == NULL)
		fc_expr_syntax_error_in("template", template_text, open - template_text,
								strlen(open), "unterminated placeholder in template");
	*start = open;
	*end = close + 2;
	*pos = *end;

	source = pnstrdup(open + 2, close - open - 2);
	pc->start = open;			/* errors in the expression say where it is */
	expr = fc_expr_get(source);
	pc->start = NULL;
	pfree(source);
	/* blank is what the scanner skips: decided by parsing */
	if (expr->root == NULL)
		fc_expr_syntax_error_in("template", template_text, open - template_text,
								close + 2 - open, "empty placeholder in template");
	return expr;
}

static void
placeholder_error_callback(void *arg)
{
	FcPlaceholderContext *pc = (FcPlaceholderContext *) arg;

	if (pc->start != NULL)
		errcontext("template placeholder at position %d",
				   pg_mbstrlen_with_len(pc->template_text,
										pc->start - pc->template_text) + 1);
}

static void
push_placeholder_context(ErrorContextCallback * cb, FcPlaceholderContext *pc,
						 const char *template_text)
{
	pc->template_text = template_text;
	pc->start = NULL;
	cb->callback = placeholder_error_callback;
	cb->arg = pc;
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

char *
fc_expr_render(const char *template_text, Jsonb *context)
{
	StringInfoData buf;
	const char *pos = template_text;
	const char *text = template_text;	/* start of text not yet copied */
	const char *start;
	const char *end;
	FcExpr	   *expr;
	ErrorContextCallback errcallback;
	FcPlaceholderContext pc;

	initStringInfo(&buf);
	push_placeholder_context(&errcallback, &pc, template_text);
	for (;;)
	{
		const FcExprNode *root;
		FcEvalState st;
		JsonbValue	value;

		CHECK_FOR_INTERRUPTS();
		expr = next_placeholder(template_text, &pos, &start, &end, &pc);
		if (expr == NULL)
			break;
		root = expr->root;
		pc.start = start;
		appendBinaryStringInfo(&buf, text, start - text);
		eval_init(&st, context);
		if (root->kind == FC_EXPR_FILTERED)
			root = root->u.filtered.operand;
		if (root->kind == FC_EXPR_VAR)
			st.missing_as_empty = root;
		fc_expr_eval_node(&st, expr->root, &value);
		fc_expr_append_text(&buf, &value);
		pc.start = NULL;
		text = end;
	}
	error_context_stack = errcallback.previous;
	appendStringInfoString(&buf, text);
	return buf.data;
}

/* Parse every placeholder of a template; with check_filters, check filters. */
static void
validate_template(const char *template_text, bool check_filters)
{
	const char *pos = template_text;
	const char *start;
	const char *end;
	ErrorContextCallback errcallback;
	FcPlaceholderContext pc;
	FcExpr	   *expr;

	push_placeholder_context(&errcallback, &pc, template_text);
	do
	{
		CHECK_FOR_INTERRUPTS();
		expr = next_placeholder(template_text, &pos, &start, &end, &pc);
		if (expr != NULL && check_filters)
			fc_expr_check_filters(expr);
	} while (expr != NULL);
	error_context_stack = errcallback.previous;
}

void
fc_expr_validate_template(const char *template_text)
{
	validate_template(template_text, false);
}

/*
 * fc_expr_validate_template, and the filter names of its placeholders as
 * fc_expr_check_filters() checks them.
 */
void
fc_expr_validate_template_filters(const char *template_text)
{
	validate_template(template_text, true);
}


/* ---------------------------------------------------------------------
 * Template entry points for the regression tests
 *
 * Not declared by the install script (SPEC.md has no SQL function for
 * templates); sql/expressions_filters.sql declares them as C functions of
 * this library to test fc_expr_render() and fc_expr_validate_template().
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(flowcontrol_render_template);
Datum
flowcontrol_render_template(PG_FUNCTION_ARGS)
{
	char	   *template_text = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *context = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	PG_RETURN_TEXT_P(cstring_to_text(fc_expr_render(template_text, context)));
}

PG_FUNCTION_INFO_V1(flowcontrol_validate_template);
Datum
flowcontrol_validate_template(PG_FUNCTION_ARGS)
{
	fc_expr_validate_template(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_BOOL(true);
}
