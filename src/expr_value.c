/*-------------------------------------------------------------------------
 *
 * expr_value.c
 *	  The expression language's values, and Python's comparisons of them.
 *
 * Values are JsonbValues with Python's meaning: null is None, booleans are
 * True/False (and count as 1 and 0 in arithmetic and comparisons), numbers
 * numeric, strings str, arrays list and objects dict.  Comparisons that
 * Python would refuse with a TypeError are false.  This file owns those
 * rules (truthiness, str(), ==, ordering, "in", "is"); it must not
 * evaluate expressions or filters, and a comparison of any two values is
 * an answer, never an error (only can't-happen states elog).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "compat.h"
#include "expr_eval.h"
#include "expr_int.h"

Numeric		fc_expr_numeric_zero = NULL;
static Numeric numeric_one = NULL;	/* True in arithmetic */

/* ---------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------
 */

void
fc_expr_init_numerics(void)
{
	MemoryContext old;

	if (fc_expr_numeric_zero != NULL)
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	numeric_one = int64_to_numeric(1);
	fc_expr_numeric_zero = int64_to_numeric(0);
	MemoryContextSwitchTo(old);
}

/* A jsonb document as a value: containers by reference, scalars unpacked. */
void
fc_expr_set_jsonb(JsonbValue *v, Jsonb *jb)
{
	if (JB_ROOT_IS_SCALAR(jb))
		JsonbExtractScalar(&jb->root, v);
	else
	{
		v->type = jbvBinary;
		v->val.binary.data = &jb->root;
		v->val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
}

int
fc_expr_numeric_compare(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* A bool or number as numeric (Python: True == 1). */
Numeric
fc_expr_as_numeric(const JsonbValue *v)
{
	if (v->type == jbvBool)
	{
		fc_expr_init_numerics();
		return v->val.boolean ? numeric_one : fc_expr_numeric_zero;
	}
	return v->val.numeric;
}

bool
fc_expr_truthy(const JsonbValue *value)
{
	switch (value->type)
	{
		case jbvNull:
			return false;
		case jbvBool:
			return value->val.boolean;
		case jbvNumeric:
			fc_expr_init_numerics();
			return fc_expr_numeric_compare(value->val.numeric, fc_expr_numeric_zero) != 0;
		case jbvString:
			return value->val.string.len > 0;
		case jbvArray:
			return value->val.array.nElems > 0;
		case jbvObject:
			return value->val.object.nPairs > 0;
		case jbvBinary:
			return container_size(value) > 0;
		default:
			return false;
	}
}

/*
 * Append Python's str() of a value as Django renders it: strings bare,
 * None, True and False by name, numbers in their text form, arrays and
 * objects as JSON text.
 */
void
fc_expr_append_text(StringInfo buf, const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			appendStringInfoString(buf, "None");
			break;
		case jbvBool:
			appendStringInfoString(buf, v->val.boolean ? "True" : "False");
			break;
		case jbvNumeric:
			appendStringInfoString(buf,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvString:
			appendBinaryStringInfo(buf, v->val.string.val, v->val.string.len);
			break;
		case jbvBinary:
			(void) JsonbToCString(buf, v->val.binary.data, v->val.binary.len);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

/* str() of a value as a palloc'd string of *len bytes. */
char *
fc_expr_value_text(const JsonbValue *v, int *len)
{
	StringInfoData buf;

	if (v->type == jbvString)
	{
		*len = v->val.string.len;
		return v->val.string.val;
	}
	initStringInfo(&buf);
	fc_expr_append_text(&buf, v);
	*len = buf.len;
	return buf.data;
}

/* Element i of an array value (copied into a JsonbValue of our own). */
void
fc_expr_array_element(const JsonbValue *array, int i, JsonbValue *elem)
{
	JsonbValue *e = getIthJsonbValueFromContainer(array->val.binary.data, i);

	*elem = *e;
}

/* ---------------------------------------------------------------------
 * Python's comparisons
 * ---------------------------------------------------------------------
 */

/* Python's a == b (never an error). */
bool
fc_expr_py_equal(const JsonbValue *a, const JsonbValue *b)
{
	FcPyType	ta = py_type(a);
	FcPyType	tb = py_type(b);

	check_stack_depth();

	if ((ta == PY_BOOL || ta == PY_NUMBER) && (tb == PY_BOOL || tb == PY_NUMBER))
	{
		if (ta == PY_BOOL && tb == PY_BOOL)
			return a->val.boolean == b->val.boolean;
		return fc_expr_numeric_compare(fc_expr_as_numeric(a), fc_expr_as_numeric(b)) == 0;
	}
	if (ta != tb)
		return false;

	switch (ta)
	{
		case PY_NONE:
			return true;
		case PY_STR:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val,
					   a->val.string.len) == 0;
		case PY_LIST:
			{
				int			n = container_size(a);
				int			i;

				if (n != container_size(b))
					return false;
				for (i = 0; i < n; i++)
				{
					JsonbValue	ea,
								eb;

					CHECK_FOR_INTERRUPTS();
					fc_expr_array_element(a, i, &ea);
					fc_expr_array_element(b, i, &eb);
					if (!fc_expr_py_equal(&ea, &eb))
						return false;
				}
				return true;
			}
		case PY_DICT:
			{
				JsonbIterator *it;
				JsonbIteratorToken tok;
				JsonbValue	v;

				if (container_size(a) != container_size(b))
					return false;
				it = JsonbIteratorInit(a->val.binary.data);
				while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
				{
					JsonbValue	key;
					JsonbValue	other;

					if (tok != WJB_KEY)
						continue;
					CHECK_FOR_INTERRUPTS();
					key = v;
					tok = JsonbIteratorNext(&it, &v, true);
					Assert(tok == WJB_VALUE);
					if (getKeyJsonValueFromContainer(b->val.binary.data,
													 key.val.string.val,
													 key.val.string.len,
													 &other) == NULL ||
						!fc_expr_py_equal(&v, &other))
						return false;
				}
				return true;
			}
		default:
			return false;
	}
}

/* Apply an ordering operator to the result of a three-way comparison. */
static bool
order_holds(FcExprKind op, int cmp)
{
	switch (op)
	{
		case FC_EXPR_LT:
			return cmp < 0;
		case FC_EXPR_LE:
			return cmp <= 0;
		case FC_EXPR_GT:
			return cmp > 0;
		case FC_EXPR_GE:
			return cmp >= 0;
		default:
			elog(ERROR, "unexpected ordering operator %d", (int) op);
			return false;
	}
}

/*
 * Python's a < b (and <=, >, >=): numbers and booleans numerically,
 * strings by code point, lists lexicographically.  Where Python raises a
 * TypeError (any other pair of types) the comparison is false.
 */
bool
fc_expr_py_order(const JsonbValue *a, const JsonbValue *b, FcExprKind op)
{
	FcPyType	ta = py_type(a);
	FcPyType	tb = py_type(b);

	check_stack_depth();

	if ((ta == PY_BOOL || ta == PY_NUMBER) && (tb == PY_BOOL || tb == PY_NUMBER))
		return order_holds(op, fc_expr_numeric_compare(fc_expr_as_numeric(a), fc_expr_as_numeric(b)));
	if (ta != tb)
		return false;
	if (ta == PY_STR)
	{
		int			la = a->val.string.len;
		int			lb = b->val.string.len;
		int			cmp = memcmp(a->val.string.val, b->val.string.val, Min(la, lb));

		/* UTF-8 byte order is code point order */
		if (cmp == 0)
			cmp = (la > lb) - (la < lb);
		return order_holds(op, cmp);
	}
	if (ta == PY_LIST)
	{
		int			la = container_size(a);
		int			lb = container_size(b);
		int			i;

		for (i = 0; i < la && i < lb; i++)
		{
			JsonbValue	ea,
						eb;

			CHECK_FOR_INTERRUPTS();
			fc_expr_array_element(a, i, &ea);
			fc_expr_array_element(b, i, &eb);
			if (!fc_expr_py_equal(&ea, &eb))
				return fc_expr_py_order(&ea, &eb, op);
		}
		return order_holds(op, (la > lb) - (la < lb));
	}
	return false;
}

/*
 * Python's item in container: 1 if it is, 0 if not, -1 where Python
 * raises a TypeError.
 */
int
fc_expr_py_contains(const JsonbValue *container, const JsonbValue *item)
{
	FcPyType	tc = py_type(container);
	FcPyType	ti = py_type(item);

	switch (tc)
	{
		case PY_STR:
			if (ti != PY_STR)
				return -1;
			if (item->val.string.len == 0)
				return 1;
			return memmem(container->val.string.val, container->val.string.len,
						  item->val.string.val, item->val.string.len) != NULL;
		case PY_LIST:
			{
				int			n = container_size(container);
				int			i;

				for (i = 0; i < n; i++)
				{
					JsonbValue	e;

					CHECK_FOR_INTERRUPTS();
					fc_expr_array_element(container, i, &e);
					if (fc_expr_py_equal(&e, item))
						return 1;
				}
				return 0;
			}
		case PY_DICT:
			{
				JsonbValue	v;

				if (ti == PY_LIST || ti == PY_DICT)
					return -1;	/* unhashable */
				if (ti != PY_STR)
					return 0;	/* JSON keys are strings */
				return getKeyJsonValueFromContainer(container->val.binary.data,
													item->val.string.val,
													item->val.string.len,
													&v) != NULL;
			}
		default:
			return -1;
	}
}

/* Python's a is b: only None, True and False have an identity here. */
bool
fc_expr_py_is(const JsonbValue *a, const JsonbValue *b)
{
	if (a->type == jbvNull && b->type == jbvNull)
		return true;
	if (a->type == jbvBool && b->type == jbvBool)
		return a->val.boolean == b->val.boolean;
	return false;
}
