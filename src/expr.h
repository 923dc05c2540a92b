/*-------------------------------------------------------------------------
 *
 * expr.h
 *	  The expression language of conditions and evaluated values.
 *
 * Expressions follow the seed's condition language (the Django template
 * {% if %} expression syntax) and are evaluated over jsonb: the context is
 * a jsonb object whose top-level keys are the variables.  A hand-written
 * scanner (expr_scan.c) and recursive-descent parser (expr_parse.c) build
 * an FcExprNode tree; expr_eval.c evaluates it to a JsonbValue.  Parsed
 * trees are cached per backend, keyed by their source text.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_EXPR_H
#define FC_EXPR_H

#include "utils/jsonb.h"

/* Limits that keep hostile input from exhausting the stack or memory. */
#define FC_EXPR_MAX_LENGTH		65536	/* bytes of source text */
#define FC_EXPR_MAX_DEPTH		200 /* nesting of operators and parens */
#define FC_EXPR_MAX_VALUE_SIZE	(16 * 1024 * 1024)	/* bytes of a string or
													 * array a filter builds */

typedef struct FcExpr FcExpr;

/*
 * Parse an expression.  Errors: SYNTAX_ERROR (42601) naming the offending
 * token, with the position in errdetail; PROGRAM_LIMIT_EXCEEDED for too
 * long or too deeply nested input.  The tree is allocated in
 * CurrentMemoryContext.  An empty (or all-blank) source parses to an
 * expression that evaluates to None.
 */
extern FcExpr *fc_expr_parse(const char *source);

/*
 * The parsed tree for source from the backend's expression cache, parsing
 * it on first use.  The result lives in a long-lived context and must not
 * be freed or modified.  It stays valid at least until the end of the
 * current top-level transaction; do not keep it longer (a cache that has
 * outgrown its bounds is emptied when a later transaction uses it): call
 * fc_expr_get() again, a hash lookup.  Same errors as fc_expr_parse().
 */
extern FcExpr *fc_expr_get(const char *source);

/* True if the expression's source was empty or blank. */
extern bool fc_expr_is_empty(const FcExpr *expr);

/*
 * Evaluate expr over context (a jsonb object, or NULL for none).  The
 * result is allocated in CurrentMemoryContext, but its strings and
 * containers may point into context and into expr.  Registered filters are
 * called as the current user: callers that evaluate a flow's expressions
 * switch to the flow owner first.  Errors from filters propagate.
 */
extern JsonbValue *fc_expr_eval(const FcExpr *expr, Jsonb *context);

/*
 * fc_expr_eval() as a jsonb document, allocated in CurrentMemoryContext;
 * cheaper than converting fc_expr_eval()'s result for booleans and None.
 */
extern Jsonb *fc_expr_eval_jsonb(const FcExpr *expr, Jsonb *context);

/* Python truthiness of a value. */
extern bool fc_expr_truthy(const JsonbValue *value);

/*
 * Convenience wrappers over the cache: a condition (empty source is false),
 * a value as jsonb, and rendering of "{{ expression }}" placeholders in a
 * template (values rendered as Django renders them: strings bare, None as
 * "None", True/False capitalised).
 */
extern bool fc_expr_condition(const char *source, Jsonb *context);
extern Jsonb *fc_expr_value(const char *source, Jsonb *context);
extern char *fc_expr_render(const char *template_text, Jsonb *context);

/* Check the syntax of a template's placeholders; same errors as parsing. */
extern void fc_expr_validate_template(const char *template_text);

/* The same, and unknown filter names in its placeholders are errors. */
extern void fc_expr_validate_template_filters(const char *template_text);

/*
 * Raise UNDEFINED_OBJECT if the expression uses a filter that is neither
 * built in nor registered.
 */
extern void fc_expr_check_filters(const FcExpr *expr);

/*
 * Probe for uses of a registered filter (NULL ends the probe): until then,
 * fc_expr_check_filters() and the template checks look no filter up, but
 * note a use of name, which fc_expr_probe_hit() reports (and clears).
 */
extern void fc_expr_probe_filter(const char *name);
extern bool fc_expr_probe_hit(void);

/* Is name one of the built-in filters? */
extern bool fc_expr_is_builtin_filter(const char *name);

/* Forget cached registered-filter lookups (called on catalog changes). */
extern void fc_expr_invalidate_filters(void);

#endif							/* FC_EXPR_H */
