/*-------------------------------------------------------------------------
 *
 * expr_eval.h
 *	  The evaluator's value model, shared by expr_eval.c (evaluation),
 *	  expr_value.c (values and Python's comparisons) and expr_filter.c
 *	  (filters) only.
 *
 * Values are JsonbValues with Python's meaning (see expr_eval.c's header
 * comment).  The inline helpers below build values in place; none
 * allocates.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_EXPR_EVAL_H
#define FC_EXPR_EVAL_H

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "expr_int.h"

/* Python's types, as far as jsonb has them. */
typedef enum FcPyType
{
	PY_NONE,
	PY_BOOL,
	PY_NUMBER,
	PY_STR,
	PY_LIST,
	PY_DICT
} FcPyType;

typedef struct FcEvalState
{
	JsonbContainer *context;	/* top-level object, or NULL */

	/*
	 * In a template placeholder that is a variable with filters (Django's {{
	 * var|filter }} syntax), a missing variable is "" rather than None, as
	 * Django renders it (string_if_invalid).
	 */
	const FcExprNode *missing_as_empty;
} FcEvalState;

static inline FcPyType
py_type(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvBool:
			return PY_BOOL;
		case jbvNumeric:
			return PY_NUMBER;
		case jbvString:
			return PY_STR;
		case jbvArray:
			return PY_LIST;
		case jbvObject:
			return PY_DICT;
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? PY_DICT : PY_LIST;
		default:
			return PY_NONE;
	}
}

static inline void
set_null(JsonbValue *v)
{
	v->type = jbvNull;
}

static inline void
set_bool(JsonbValue *v, bool b)
{
	v->type = jbvBool;
	v->val.boolean = b;
}

static inline void
set_string(JsonbValue *v, char *s, int len)
{
	v->type = jbvString;
	v->val.string.val = s;
	v->val.string.len = len;
}

static inline void
set_numeric(JsonbValue *v, Numeric n)
{
	v->type = jbvNumeric;
	v->val.numeric = n;
}

/* Number of elements of an array or pairs of an object value. */
static inline int
container_size(const JsonbValue *v)
{
	return JsonContainerSize(v->val.binary.data);
}

/* Byte length of the multibyte character at s. */
static inline int
char_length(const char *s, const char *end)
{
	return Min(pg_mblen(s), end - s);
}

/* expr_value.c */

/* Numeric 0 (False in arithmetic), made by fc_expr_init_numerics(). */
extern Numeric fc_expr_numeric_zero;
extern void fc_expr_init_numerics(void);

/* A jsonb document as a value: containers by reference, scalars unpacked. */
extern void fc_expr_set_jsonb(JsonbValue *v, Jsonb *jb);
extern int	fc_expr_numeric_compare(Numeric a, Numeric b);

/* A number or boolean as a Numeric; NULL for other types. */
extern Numeric fc_expr_as_numeric(const JsonbValue *v);

/* str(v), appended to buf; and as a string of *len bytes. */
extern void fc_expr_append_text(StringInfo buf, const JsonbValue *v);
extern char *fc_expr_value_text(const JsonbValue *v, int *len);

/* Element i of an array value (in range). */
extern void fc_expr_array_element(const JsonbValue *array, int i, JsonbValue *elem);

/* Python's ==, <, <=, >, >= (op), "in" and "is"; never an error. */
extern bool fc_expr_py_equal(const JsonbValue *a, const JsonbValue *b);
extern bool fc_expr_py_order(const JsonbValue *a, const JsonbValue *b, FcExprKind op);
extern int	fc_expr_py_contains(const JsonbValue *container, const JsonbValue *item);
extern bool fc_expr_py_is(const JsonbValue *a, const JsonbValue *b);

/* expr_eval.c */

/* Evaluate node into *result (pointing into the context or new memory). */
extern void fc_expr_eval_node(FcEvalState *st, const FcExprNode *node,
							  JsonbValue *result);

/* expr_filter.c */

/* Apply filter f to *value in place (its argument evaluated in st). */
extern void fc_expr_apply_filter(FcEvalState *st, const FcFilter *f, JsonbValue *value);

#endif							/* FC_EXPR_EVAL_H */
