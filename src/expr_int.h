/*-------------------------------------------------------------------------
 *
 * expr_int.h
 *	  Private declarations shared by the expression scanner, parser and
 *	  evaluator.
 *
 * The scanner (expr_scan.c) turns the whole source into an array of
 * tokens up front, so the parser can look one token ahead (for "is not"
 * and "not in") without re-scanning.  The parser (expr_parse.c) builds a
 * tree of FcExprNode in the memory context current when it is called;
 * nothing in the tree points outside that context, so a tree is freed by
 * deleting its context.  The evaluator (expr_eval.c) only reads the tree.
 *
 * Limits: nesting (parser recursion and tree height) is bounded by
 * FC_EXPR_MAX_DEPTH, so every recursive walk over a tree is shallow;
 * "and"/"or" chains are n-ary nodes and filter chains are arrays, so long
 * flat expressions never make deep trees.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_EXPR_INT_H
#define FC_EXPR_INT_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "expr.h"

typedef enum FcTokenKind
{
	FC_TOK_EOF,
	FC_TOK_NUMBER,
	FC_TOK_STRING,
	FC_TOK_NAME,				/* variable path, filter name */
	FC_TOK_LPAREN,
	FC_TOK_RPAREN,
	FC_TOK_PIPE,
	FC_TOK_COLON,
	FC_TOK_EQ,
	FC_TOK_NE,
	FC_TOK_LT,
	FC_TOK_GT,
	FC_TOK_LE,
	FC_TOK_GE,
	FC_TOK_AND,
	FC_TOK_OR,
	FC_TOK_NOT,
	FC_TOK_IN,
	FC_TOK_IS,
	FC_TOK_TRUE,
	FC_TOK_FALSE,
	FC_TOK_NONE
} FcTokenKind;

typedef struct FcToken
{
	FcTokenKind kind;
	int			start;			/* byte offset in the source */
	int			len;			/* bytes */
	bool		dotted;			/* FC_TOK_NAME containing a '.' */
} FcToken;

/*
 * Scan source (len bytes, NUL-terminated) into *ntokens tokens, the last
 * of which is FC_TOK_EOF.  Raises SYNTAX_ERROR for a character that starts
 * no token or an unterminated string.  Result in CurrentMemoryContext.
 */
extern FcToken *fc_expr_scan(const char *source, int len, int *ntokens);

/*
 * Raise SYNTAX_ERROR with errmsg msg (which may contain one %s, replaced
 * by the quoted token text) and the position of byte offset in errdetail.
 */
pg_noreturn extern void fc_expr_syntax_error(const char *source, int offset,
											 int toklen, const char *msg);

/* The same for source that is a "template" (or other what). */
pg_noreturn extern void fc_expr_syntax_error_in(const char *what,
												const char *source,
												int offset, int toklen,
												const char *msg);

typedef enum FcExprKind
{
	FC_EXPR_CONST,				/* literal: scalar JsonbValue */
	FC_EXPR_VAR,				/* variable with dotted lookups */
	FC_EXPR_FILTERED,			/* operand followed by |filter:arg ... */
	FC_EXPR_AND,				/* n-ary */
	FC_EXPR_OR,					/* n-ary */
	FC_EXPR_NOT,
	FC_EXPR_EQ,
	FC_EXPR_NE,
	FC_EXPR_LT,
	FC_EXPR_GT,
	FC_EXPR_LE,
	FC_EXPR_GE,
	FC_EXPR_IN,
	FC_EXPR_NOT_IN,
	FC_EXPR_IS,
	FC_EXPR_IS_NOT
} FcExprKind;

/* The built-in filters; FC_FILTER_REGISTERED for all other names. */
typedef enum FcFilterKind
{
	FC_FILTER_REGISTERED,
	FC_FILTER_ADD,
	FC_FILTER_CUT,
	FC_FILTER_DEFAULT,
	FC_FILTER_DEFAULT_IF_NONE,
	FC_FILTER_DIVISIBLEBY,
	FC_FILTER_FIRST,
	FC_FILTER_JOIN,
	FC_FILTER_LAST,
	FC_FILTER_LENGTH,
	FC_FILTER_LOWER,
	FC_FILTER_STARTSWITH,
	FC_FILTER_UPPER,
	FC_FILTER_YESNO
} FcFilterKind;

/* Whether a built-in filter takes an argument. */
typedef enum FcFilterArity
{
	FC_ARG_NONE,
	FC_ARG_REQUIRED,
	FC_ARG_OPTIONAL
} FcFilterArity;

typedef struct FcBuiltinFilter
{
	const char *name;
	FcFilterKind kind;
	FcFilterArity arity;
} FcBuiltinFilter;

/* The built-in filter called name, or NULL. */
extern const FcBuiltinFilter *fc_expr_builtin_filter(const char *name);

/* One step of a variable path: an object key, or also an array index. */
typedef struct FcPathStep
{
	char	   *key;			/* NUL-terminated */
	int			keylen;
	int			index;			/* >= 0 if key is all digits, else -1 */
} FcPathStep;

typedef struct FcExprNode FcExprNode;

typedef struct FcFilter
{
	char	   *name;
	FcFilterKind kind;
	FcExprNode *arg;			/* FC_EXPR_CONST or FC_EXPR_VAR; NULL if none */
	int			offset;			/* of the name in the source, for errors */
} FcFilter;

struct FcExprNode
{
	FcExprKind	kind;
	int			height;			/* 1 for a leaf; bounded by FC_EXPR_MAX_DEPTH */
	union
	{
		JsonbValue	constant;	/* FC_EXPR_CONST */
		struct
		{
			int			nsteps;
			FcPathStep *steps;	/* steps[0] is the top-level variable */
		}			var;
		struct
		{
			FcExprNode *operand;
			int			nfilters;
			FcFilter   *filters;
		}			filtered;
		List	   *nary;		/* FC_EXPR_AND, FC_EXPR_OR: operands */
		struct
		{
			FcExprNode *left;
			FcExprNode *right;	/* NULL for FC_EXPR_NOT */
		}			binary;
	}			u;
};

struct FcExpr
{
	char	   *source;			/* copy of the source text */
	FcExprNode *root;			/* NULL if the source was blank */
};

/*
 * Empty the parse cache now.  Only for the fuzz harness, which runs
 * millions of expressions in one transaction and holds no tree across
 * calls; everyone else relies on the cache emptying itself between
 * transactions.
 */
extern void fc_expr_cache_reset(void);

#endif							/* FC_EXPR_INT_H */
