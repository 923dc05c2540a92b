/*-------------------------------------------------------------------------
 *
 * expr_parse.c
 *	  Recursive-descent parser of the expression language.
 *
 * The grammar and binding powers are those of Django's {% if %} tag
 * (django/template/smartif.py), a Pratt parser: or 6, and 7, not 8 (a
 * prefix operator), in and not in 9, is, is not, ==, !=, <, >, <=, >= 10.
 * Infix operators are left-associative.  Beyond Django, parentheses group
 * and may be followed by filters, and tokens need not be separated by
 * white space.  An operand is a literal or a variable followed by any
 * number of filters "|name" or "|name:arg", arg being a literal or a
 * variable.
 *
 * "a and b and c" becomes one n-ary node, and a filter chain one node
 * with an array of filters, so flat input makes flat trees.  Nesting
 * (parser recursion through "not", parentheses and operands, and the
 * height of the tree) is limited to FC_EXPR_MAX_DEPTH.
 *
 * Filter names are not resolved here beyond recognising the built-ins
 * (and checking whether they take an argument): a name may belong to a
 * filter registered later.  fc_expr_check_filters() checks them.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "expr_int.h"

/* Sorted by name. */
static const FcBuiltinFilter builtin_filters[] = {
	{"add", FC_FILTER_ADD, FC_ARG_REQUIRED},
	{"cut", FC_FILTER_CUT, FC_ARG_REQUIRED},
	{"default", FC_FILTER_DEFAULT, FC_ARG_REQUIRED},
	{"default_if_none", FC_FILTER_DEFAULT_IF_NONE, FC_ARG_REQUIRED},
	{"divisibleby", FC_FILTER_DIVISIBLEBY, FC_ARG_REQUIRED},
	{"first", FC_FILTER_FIRST, FC_ARG_NONE},
	{"join", FC_FILTER_JOIN, FC_ARG_REQUIRED},
	{"last", FC_FILTER_LAST, FC_ARG_NONE},
	{"length", FC_FILTER_LENGTH, FC_ARG_NONE},
	{"lower", FC_FILTER_LOWER, FC_ARG_NONE},
	{"startswith", FC_FILTER_STARTSWITH, FC_ARG_REQUIRED},
	{"upper", FC_FILTER_UPPER, FC_ARG_NONE},
	{"yesno", FC_FILTER_YESNO, FC_ARG_OPTIONAL}
};

typedef struct FcParser
{
	const char *source;
	FcToken    *tokens;
	int			pos;			/* index of the current token */
	int			depth;			/* parse_expr recursion */
} FcParser;

static FcExprNode *parse_expr(FcParser *p, int rbp);

const FcBuiltinFilter *
fc_expr_builtin_filter(const char *name)
{
	int			lo = 0;
	int			hi = lengthof(builtin_filters) - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(name, builtin_filters[mid].name);

		if (c == 0)
			return &builtin_filters[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

static inline FcToken *
current(FcParser *p)
{
	return &p->tokens[p->pos];
}

static inline FcToken *
peek(FcParser *p)
{
	/* the last token is EOF, and we never advance past it */
	return current(p)->kind == FC_TOK_EOF ? current(p) : &p->tokens[p->pos + 1];
}

/* Report a syntax error at token tok (or the end of the expression). */
static void
error_at(FcParser *p, FcToken *tok)
{
	if (tok->kind == FC_TOK_EOF)
		fc_expr_syntax_error(p->source, tok->start, 0,
							 "unexpected end of expression");
	fc_expr_syntax_error(p->source, tok->start, tok->len,
						 "syntax error at or near \"%s\"");
}

static void
too_deep(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("expression is too deeply nested"),
			 errdetail("Operators and parentheses can be nested at most %d levels deep.",
					   FC_EXPR_MAX_DEPTH)));
}

static FcExprNode *
make_node(FcExprKind kind, int height)
{
	FcExprNode *node = palloc0(sizeof(FcExprNode));

	node->kind = kind;
	node->height = height;
	if (height > FC_EXPR_MAX_DEPTH)
		too_deep();
	return node;
}

/* The text of a string literal, without quotes, with escapes resolved. */
static void
string_literal(FcParser *p, FcToken *tok, JsonbValue *value)
{
	const char *src = p->source + tok->start;
	char		quote = src[0];
	char	   *buf = palloc(tok->len);
	int			n = 0;
	int			i;

	/*
	 * Django's unescape_string_literal(): a backslash before the quote
	 * character or another backslash stands for that character; any other
	 * backslash is kept as written.
	 */
	for (i = 1; i < tok->len - 1; i++)
	{
		if (src[i] == '\\' && (src[i + 1] == quote || src[i + 1] == '\\') &&
			i + 1 < tok->len - 1)
			i++;
		buf[n++] = src[i];
	}
	buf[n] = '\0';
	value->type = jbvString;
	value->val.string.val = buf;
	value->val.string.len = n;
}

static FcExprNode *
parse_var(FcParser *p, FcToken *tok)
{
	FcExprNode *node = make_node(FC_EXPR_VAR, 1);
	char	   *path = pnstrdup(p->source + tok->start, tok->len);
	int			nsteps = 1;
	int			i;
	char	   *s;

	for (s = path; *s; s++)
		if (*s == '.')
			nsteps++;
	node->u.var.nsteps = nsteps;
	node->u.var.steps = palloc(nsteps * sizeof(FcPathStep));

	s = path;
	for (i = 0; i < nsteps; i++)
	{
		FcPathStep *step = &node->u.var.steps[i];
		char	   *dot = strchr(s, '.');
		int			ndigits = 0;
		char	   *c;

		if (dot)
			*dot = '\0';
		step->key = s;
		step->keylen = strlen(s);

		/* an all-digit step also indexes arrays (and strings) */
		for (c = s; *c >= '0' && *c <= '9'; c++)
			ndigits++;
		if (ndigits == step->keylen)
		{
			const char *digits = s;

			/* leading zeros do not count, as for Python's int() */
			while (*digits == '0' && digits[1] != '\0')
			{
				digits++;
				ndigits--;
			}
			/* longer than any jsonb array can be: never a valid index */
			step->index = (ndigits > 9) ? PG_INT32_MAX : atoi(digits);
		}
		else
			step->index = -1;
		s = dot ? dot + 1 : NULL;
	}
	return node;
}

/* A literal or a variable: the operand of a filter chain, or its argument. */
static FcExprNode *
parse_atom(FcParser *p)
{
	FcToken    *tok = current(p);
	FcExprNode *node;

	switch (tok->kind)
	{
		case FC_TOK_NAME:
			node = parse_var(p, tok);
			break;
		case FC_TOK_NUMBER:
			{
				char	   *text = pnstrdup(p->source + tok->start, tok->len);

				node = make_node(FC_EXPR_CONST, 1);
				node->u.constant.type = jbvNumeric;
				node->u.constant.val.numeric =
					DatumGetNumeric(DirectFunctionCall3(numeric_in,
														CStringGetDatum(text),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));
			}
			break;
		case FC_TOK_STRING:
			node = make_node(FC_EXPR_CONST, 1);
			string_literal(p, tok, &node->u.constant);
			break;
		case FC_TOK_TRUE:
		case FC_TOK_FALSE:
			node = make_node(FC_EXPR_CONST, 1);
			node->u.constant.type = jbvBool;
			node->u.constant.val.boolean = (tok->kind == FC_TOK_TRUE);
			break;
		case FC_TOK_NONE:
			node = make_node(FC_EXPR_CONST, 1);
			node->u.constant.type = jbvNull;
			break;
		default:
			error_at(p, tok);
			return NULL;		/* keep compiler quiet */
	}
	p->pos++;
	return node;
}

/* Parse the filters following operand, if any. */
static FcExprNode *
parse_filters(FcParser *p, FcExprNode *operand)
{
	FcExprNode *node;
	FcFilter   *filters;
	int			n = 0;
	int			cap = 4;

	if (current(p)->kind != FC_TOK_PIPE)
		return operand;

	node = make_node(FC_EXPR_FILTERED, operand->height + 1);
	filters = palloc(cap * sizeof(FcFilter));
	while (current(p)->kind == FC_TOK_PIPE)
	{
		FcToken    *name = peek(p);
		FcFilter   *f;
		const FcBuiltinFilter *builtin;

		CHECK_FOR_INTERRUPTS();
		if (name->kind != FC_TOK_NAME || name->dotted)
			error_at(p, name);
		p->pos += 2;

		if (n == cap)
		{
			cap *= 2;
			filters = repalloc(filters, cap * sizeof(FcFilter));
		}
		f = &filters[n++];
		f->name = pnstrdup(p->source + name->start, name->len);
		f->offset = name->start;
		f->arg = NULL;
		builtin = fc_expr_builtin_filter(f->name);
		f->kind = builtin ? builtin->kind : FC_FILTER_REGISTERED;

		if (current(p)->kind == FC_TOK_COLON)
		{
			p->pos++;
			f->arg = parse_atom(p);
		}
		if (builtin && builtin->arity == FC_ARG_NONE && f->arg)
			fc_expr_syntax_error(p->source, name->start, name->len,
								 "filter \"%s\" takes no argument");
		if (builtin && builtin->arity == FC_ARG_REQUIRED && !f->arg)
			fc_expr_syntax_error(p->source, name->start, name->len,
								 "filter \"%s\" requires an argument");
	}
	node->u.filtered.operand = operand;
	node->u.filtered.nfilters = n;
	node->u.filtered.filters = filters;
	return node;
}

/* Binding power and node kind of the infix operator at the current token. */
static int
infix_operator(FcParser *p, FcExprKind *kind, int *ntokens)
{
	FcTokenKind next = peek(p)->kind;

	*ntokens = 1;
	switch (current(p)->kind)
	{
		case FC_TOK_OR:
			*kind = FC_EXPR_OR;
			return 6;
		case FC_TOK_AND:
			*kind = FC_EXPR_AND;
			return 7;
		case FC_TOK_NOT:
			if (next != FC_TOK_IN)
				return 0;		/* "not" is prefix only */
			*kind = FC_EXPR_NOT_IN;
			*ntokens = 2;
			return 9;
		case FC_TOK_IN:
			*kind = FC_EXPR_IN;
			return 9;
		case FC_TOK_IS:
			if (next == FC_TOK_NOT)
			{
				*kind = FC_EXPR_IS_NOT;
				*ntokens = 2;
			}
			else
				*kind = FC_EXPR_IS;
			return 10;
		case FC_TOK_EQ:
			*kind = FC_EXPR_EQ;
			return 10;
		case FC_TOK_NE:
			*kind = FC_EXPR_NE;
			return 10;
		case FC_TOK_LT:
			*kind = FC_EXPR_LT;
			return 10;
		case FC_TOK_GT:
			*kind = FC_EXPR_GT;
			return 10;
		case FC_TOK_LE:
			*kind = FC_EXPR_LE;
			return 10;
		case FC_TOK_GE:
			*kind = FC_EXPR_GE;
			return 10;
		default:
			return 0;
	}
}

/* Operand position: "not", a parenthesized expression, or an operand. */
static FcExprNode *
parse_prefix(FcParser *p)
{
	FcToken    *tok = current(p);
	FcExprNode *node;

	switch (tok->kind)
	{
		case FC_TOK_NOT:
			{
				FcExprNode *operand;

				p->pos++;
				operand = parse_expr(p, 8);
				node = make_node(FC_EXPR_NOT, operand->height + 1);
				node->u.binary.left = operand;
				return node;
			}
		case FC_TOK_LPAREN:
			p->pos++;
			node = parse_expr(p, 0);
			if (current(p)->kind != FC_TOK_RPAREN)
				error_at(p, current(p));
			p->pos++;
			return parse_filters(p, node);
		default:
			return parse_filters(p, parse_atom(p));
	}
}

static FcExprNode *
parse_expr(FcParser *p, int rbp)
{
	FcExprNode *left;

	check_stack_depth();
	if (++p->depth > FC_EXPR_MAX_DEPTH)
		too_deep();

	left = parse_prefix(p);
	for (;;)
	{
		FcExprKind	kind = FC_EXPR_CONST;
		int			ntokens;
		int			lbp = infix_operator(p, &kind, &ntokens);
		FcExprNode *right;

		CHECK_FOR_INTERRUPTS();
		if (rbp >= lbp)
			break;
		p->pos += ntokens;
		right = parse_expr(p, lbp);

		if (kind == FC_EXPR_AND || kind == FC_EXPR_OR)
		{
			/* "and" and "or" are associative: extend a chain in place */
			if (left->kind != kind)
			{
				FcExprNode *chain = make_node(kind, left->height + 1);

				chain->u.nary = list_make1(left);
				left = chain;
			}
			left->u.nary = lappend(left->u.nary, right);
			if (right->height + 1 > left->height)
			{
				left->height = right->height + 1;
				if (left->height > FC_EXPR_MAX_DEPTH)
					too_deep();
			}
		}
		else
		{
			FcExprNode *node = make_node(kind,
										 Max(left->height, right->height) + 1);

			node->u.binary.left = left;
			node->u.binary.right = right;
			left = node;
		}
	}

	p->depth--;
	return left;
}

/*
 * fc_expr_parse
 *
 * See expr.h.  Everything, including a copy of the source, is allocated
 * in CurrentMemoryContext; on error, what was allocated is left there.
 */
FcExpr *
fc_expr_parse(const char *source)
{
	size_t		len = strlen(source);
	FcExpr	   *expr;
	FcParser	p;
	int			ntokens;

	if (len > FC_EXPR_MAX_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("expression is too long"),
				 errdetail("The expression is %zu bytes long; the maximum is %d bytes.",
						   len, FC_EXPR_MAX_LENGTH)));

	expr = palloc(sizeof(FcExpr));
	expr->source = pnstrdup(source, len);
	expr->root = NULL;

	/*
	 * Scan and parse the caller's string, not the copy: the tree keeps no
	 * pointer into it, and a fuzzer's exactly-sized buffer then catches any
	 * read past the end.
	 */
	p.source = source;
	p.tokens = fc_expr_scan(source, (int) len, &ntokens);
	p.pos = 0;
	p.depth = 0;

	if (ntokens > 1)
	{
		expr->root = parse_expr(&p, 0);
		if (current(&p)->kind != FC_TOK_EOF)
			error_at(&p, current(&p));
	}
	pfree(p.tokens);
	return expr;
}

bool
fc_expr_is_empty(const FcExpr *expr)
{
	return expr->root == NULL;
}
