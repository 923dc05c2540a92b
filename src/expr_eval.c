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

#include "catalog/objectaccess.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/formatting.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "catalog.h"
#include "compat.h"
#include "expr_int.h"
#include "flowcache.h"
#include "owner.h"

#define FC_EXPR_CACHE_MAX_ENTRIES	1000
#define FC_EXPR_CACHE_MAX_BYTES		(8 * 1024 * 1024)

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

typedef struct FcExprCacheEntry
{
	const char *source;			/* hash key: points to expr->source */
	FcExpr	   *expr;
} FcExprCacheEntry;

static MemoryContext cache_context = NULL;
static HTAB *cache = NULL;
static bool cache_full = false;
static LocalTransactionId cache_lxid = InvalidLocalTransactionId;

static Numeric numeric_zero = NULL;
static Numeric numeric_one = NULL;

static void eval_node(FcEvalState *st, const FcExprNode *node,
					  JsonbValue *result);
static bool py_equal(const JsonbValue *a, const JsonbValue *b);

/* ---------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------
 */

static void
init_numerics(void)
{
	MemoryContext old;

	if (numeric_zero != NULL)
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	numeric_one = int64_to_numeric(1);
	numeric_zero = int64_to_numeric(0);
	MemoryContextSwitchTo(old);
}

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

/* A jsonb document as a value: containers by reference, scalars unpacked. */
static void
set_jsonb(JsonbValue *v, Jsonb *jb)
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

/* Number of elements of an array or pairs of an object value. */
static inline int
container_size(const JsonbValue *v)
{
	return JsonContainerSize(v->val.binary.data);
}

static int
numeric_compare(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* A bool or number as numeric (Python: True == 1). */
static Numeric
as_numeric(const JsonbValue *v)
{
	if (v->type == jbvBool)
	{
		init_numerics();
		return v->val.boolean ? numeric_one : numeric_zero;
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
			init_numerics();
			return numeric_compare(value->val.numeric, numeric_zero) != 0;
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
static void
append_text(StringInfo buf, const JsonbValue *v)
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
static char *
value_text(const JsonbValue *v, int *len)
{
	StringInfoData buf;

	if (v->type == jbvString)
	{
		*len = v->val.string.len;
		return v->val.string.val;
	}
	initStringInfo(&buf);
	append_text(&buf, v);
	*len = buf.len;
	return buf.data;
}

/* Element i of an array value (copied into a JsonbValue of our own). */
static void
array_element(const JsonbValue *array, int i, JsonbValue *elem)
{
	JsonbValue *e = getIthJsonbValueFromContainer(array->val.binary.data, i);

	*elem = *e;
}

/* ---------------------------------------------------------------------
 * Python's comparisons
 * ---------------------------------------------------------------------
 */

/* Python's a == b (never an error). */
static bool
py_equal(const JsonbValue *a, const JsonbValue *b)
{
	FcPyType	ta = py_type(a);
	FcPyType	tb = py_type(b);

	check_stack_depth();

	if ((ta == PY_BOOL || ta == PY_NUMBER) && (tb == PY_BOOL || tb == PY_NUMBER))
	{
		if (ta == PY_BOOL && tb == PY_BOOL)
			return a->val.boolean == b->val.boolean;
		return numeric_compare(as_numeric(a), as_numeric(b)) == 0;
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
					array_element(a, i, &ea);
					array_element(b, i, &eb);
					if (!py_equal(&ea, &eb))
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
						!py_equal(&v, &other))
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
static bool
py_order(const JsonbValue *a, const JsonbValue *b, FcExprKind op)
{
	FcPyType	ta = py_type(a);
	FcPyType	tb = py_type(b);

	check_stack_depth();

	if ((ta == PY_BOOL || ta == PY_NUMBER) && (tb == PY_BOOL || tb == PY_NUMBER))
		return order_holds(op, numeric_compare(as_numeric(a), as_numeric(b)));
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
			array_element(a, i, &ea);
			array_element(b, i, &eb);
			if (!py_equal(&ea, &eb))
				return py_order(&ea, &eb, op);
		}
		return order_holds(op, (la > lb) - (la < lb));
	}
	return false;
}

/*
 * Python's item in container: 1 if it is, 0 if not, -1 where Python
 * raises a TypeError.
 */
static int
py_contains(const JsonbValue *container, const JsonbValue *item)
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
					array_element(container, i, &e);
					if (py_equal(&e, item))
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
static bool
py_is(const JsonbValue *a, const JsonbValue *b)
{
	if (a->type == jbvNull && b->type == jbvNull)
		return true;
	if (a->type == jbvBool && b->type == jbvBool)
		return a->val.boolean == b->val.boolean;
	return false;
}

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
			*result = as_numeric(v);
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
	set_jsonb(result, JsonbValueToJsonb(res));
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

/* Byte length of the multibyte character at s. */
static inline int
char_length(const char *s, const char *end)
{
	return Min(pg_mblen(s), end - s);
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
		array_element(value, last ? container_size(value) - 1 : 0, value);
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
	char	   *sep = value_text(arg, &seplen);
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
			append_text(&buf, &v);
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
	char	   *s = value_text(value, &len);
	char	   *needle = value_text(arg, &neelen);
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
		text = value_text(arg, &len);

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
	char	   *s = value_text(value, &len);
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

		init_numerics();
		result = !escontext.error_occurred &&
			numeric_compare(rem, numeric_zero) == 0;
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
		set_jsonb(value, DatumGetJsonbP(result));
}

static void
apply_filter(FcEvalState *st, const FcFilter *f, JsonbValue *value)
{
	JsonbValue	arg;

	if (f->arg)
		eval_node(st, f->arg, &arg);
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
			array_element(result, step->index, result);
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

static void
eval_node(FcEvalState *st, const FcExprNode *node, JsonbValue *result)
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

				eval_node(st, node->u.filtered.operand, result);
				for (i = 0; i < node->u.filtered.nfilters; i++)
				{
					CHECK_FOR_INTERRUPTS();
					apply_filter(st, &node->u.filtered.filters[i], result);
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
					eval_node(st, lfirst(lc), result);
					if (fc_expr_truthy(result) == (node->kind == FC_EXPR_OR))
						break;
				}
			}
			break;
		case FC_EXPR_NOT:
			eval_node(st, node->u.binary.left, result);
			set_bool(result, !fc_expr_truthy(result));
			break;
		case FC_EXPR_EQ:
		case FC_EXPR_NE:
			eval_node(st, node->u.binary.left, result);
			eval_node(st, node->u.binary.right, &right);
			set_bool(result, py_equal(result, &right) == (node->kind == FC_EXPR_EQ));
			break;
		case FC_EXPR_LT:
		case FC_EXPR_GT:
		case FC_EXPR_LE:
		case FC_EXPR_GE:
			eval_node(st, node->u.binary.left, result);
			eval_node(st, node->u.binary.right, &right);
			set_bool(result, py_order(result, &right, node->kind));
			break;
		case FC_EXPR_IN:
		case FC_EXPR_NOT_IN:
			{
				int			in;

				eval_node(st, node->u.binary.left, result);
				eval_node(st, node->u.binary.right, &right);
				in = py_contains(&right, result);
				/* a TypeError makes both "in" and "not in" false */
				set_bool(result, in >= 0 && (in == 1) == (node->kind == FC_EXPR_IN));
			}
			break;
		case FC_EXPR_IS:
		case FC_EXPR_IS_NOT:
			eval_node(st, node->u.binary.left, result);
			eval_node(st, node->u.binary.right, &right);
			set_bool(result, py_is(result, &right) == (node->kind == FC_EXPR_IS));
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
		eval_node(&st, expr->root, result);
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
		eval_node(&st, expr->root, &result);
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
		eval_node(&st, expr->root, &value);
		append_text(&buf, &value);
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
