/*-------------------------------------------------------------------------
 *
 * expr_scan.c
 *	  Hand-written scanner of the expression language.
 *
 * The whole source is scanned into an array of tokens before parsing.
 * Tokens are: numbers ([+-]digits[.digits][e[+-]digits], or starting with
 * "."), strings in single or double quotes (a backslash makes the next
 * character part of the string), names (a variable path: an identifier
 * followed by ".segment" steps, segments being letters, digits and
 * underscores; bytes of multibyte characters count as letters), the
 * keywords and, or, not, in, is, True, False, None, the operators
 * == != < > <= >=, and ( ) | :.  White space separates tokens and is
 * otherwise ignored.  Anything else is a syntax error naming the run of
 * non-blank characters where it starts, so "i !bad= 5" reports "!bad=".
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"

#include "expr_int.h"

/* How much of the source a syntax error's detail quotes. */
#define FC_EXPR_ERROR_SOURCE_BYTES	200
/* How much of an offending token a syntax error's message quotes. */
#define FC_EXPR_ERROR_TOKEN_BYTES	60

static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Letters, underscore, and any byte of a multibyte character. */
static inline bool
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		IS_HIGHBIT_SET(c);
}

static inline bool
is_ident_char(char c)
{
	return is_ident_start(c) || is_digit(c);
}

/*
 * Clip str (len bytes) to at most max bytes on a character boundary,
 * returning a palloc'd NUL-terminated copy, with "..." if clipped.
 */
static char *
clip_text(const char *str, int len, int max)
{
	int			cliplen = len;
	char	   *res;

	if (len > max)
		cliplen = pg_mbcliplen(str, len, max);
	res = palloc(cliplen + 4);
	memcpy(res, str, cliplen);
	if (cliplen < len)
		memcpy(res + cliplen, "...", 4);
	else
		res[cliplen] = '\0';
	return res;
}

void
fc_expr_syntax_error(const char *source, int offset, int toklen,
					 const char *msg)
{
	fc_expr_syntax_error_in("expression", source, offset, toklen, msg);
}

void
fc_expr_syntax_error_in(const char *what, const char *source, int offset,
						int toklen, const char *msg)
{
	int			srclen = strlen(source);
	int			position = pg_mbstrlen_with_len(source, offset) + 1;
	char	   *token = clip_text(source + offset, toklen,
								  FC_EXPR_ERROR_TOKEN_BYTES);
	char	   *shown = clip_text(source, srclen, FC_EXPR_ERROR_SOURCE_BYTES);

	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg_internal(msg, token),
			 errdetail("Position %d in %s: %s", position, what, shown)));
	pg_unreachable();
}

/* Length of the run of non-blank characters starting at p. */
static int
word_length(const char *p)
{
	const char *q = p;

	while (*q && !is_space(*q))
		q++;
	return q - p;
}

static FcTokenKind
keyword_kind(const char *p, int len)
{
	switch (len)
	{
		case 2:
			if (memcmp(p, "or", 2) == 0)
				return FC_TOK_OR;
			if (memcmp(p, "in", 2) == 0)
				return FC_TOK_IN;
			if (memcmp(p, "is", 2) == 0)
				return FC_TOK_IS;
			break;
		case 3:
			if (memcmp(p, "and", 3) == 0)
				return FC_TOK_AND;
			if (memcmp(p, "not", 3) == 0)
				return FC_TOK_NOT;
			break;
		case 4:
			if (memcmp(p, "True", 4) == 0)
				return FC_TOK_TRUE;
			if (memcmp(p, "None", 4) == 0)
				return FC_TOK_NONE;
			break;
		case 5:
			if (memcmp(p, "False", 5) == 0)
				return FC_TOK_FALSE;
			break;
	}
	return FC_TOK_NAME;
}

/*
 * Scan a number at p (known to start one); returns its length or -1 if
 * it is malformed ("1.", "1e", "1.2.3", "5abc").
 */
static int
scan_number(const char *p)
{
	const char *q = p;

	if (*q == '+' || *q == '-')
		q++;
	while (is_digit(*q))
		q++;
	if (*q == '.')
	{
		q++;
		if (!is_digit(*q))
			return -1;
		while (is_digit(*q))
			q++;
	}
	if (*q == 'e' || *q == 'E')
	{
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!is_digit(*q))
			return -1;
		while (is_digit(*q))
			q++;
	}
	if (is_ident_char(*q) || *q == '.')
		return -1;
	return q - p;
}

/* Scan a variable path at p; returns its length or -1 if malformed. */
static int
scan_name(const char *p, bool *dotted)
{
	const char *q = p;

	*dotted = false;
	while (is_ident_char(*q))
		q++;
	while (*q == '.')
	{
		*dotted = true;
		q++;
		if (!is_ident_char(*q))
			return -1;
		while (is_ident_char(*q))
			q++;
	}
	return q - p;
}

FcToken *
fc_expr_scan(const char *source, int len, int *ntokens)
{
	int			cap = 16;
	int			n = 0;
	FcToken    *tokens = palloc(cap * sizeof(FcToken));
	int			pos = 0;

	for (;;)
	{
		const char *p;
		FcToken    *tok;
		int			toklen;

		CHECK_FOR_INTERRUPTS();

		while (pos < len && is_space(source[pos]))
			pos++;

		if (n == cap)
		{
			cap *= 2;
			tokens = repalloc(tokens, cap * sizeof(FcToken));
		}
		tok = &tokens[n++];
		tok->start = pos;
		tok->dotted = false;
		p = source + pos;

		if (pos >= len)
		{
			tok->kind = FC_TOK_EOF;
			tok->len = 0;
			break;
		}

		toklen = 1;
		switch (*p)
		{
			case '(':
				tok->kind = FC_TOK_LPAREN;
				break;
			case ')':
				tok->kind = FC_TOK_RPAREN;
				break;
			case '|':
				tok->kind = FC_TOK_PIPE;
				break;
			case ':':
				tok->kind = FC_TOK_COLON;
				break;
			case '=':
			case '!':
				if (p[1] != '=')
					fc_expr_syntax_error(source, pos, word_length(p),
										 "syntax error at or near \"%s\"");
				tok->kind = (*p == '=') ? FC_TOK_EQ : FC_TOK_NE;
				toklen = 2;
				break;
			case '<':
			case '>':
				if (p[1] == '=')
				{
					tok->kind = (*p == '<') ? FC_TOK_LE : FC_TOK_GE;
					toklen = 2;
				}
				else
					tok->kind = (*p == '<') ? FC_TOK_LT : FC_TOK_GT;
				break;
			case '\'':
			case '"':
				{
					const char *q = p + 1;

					while (*q && *q != *p)
					{
						if (*q == '\\' && q[1] != '\0')
							q++;
						q++;
					}
					if (*q == '\0')
						fc_expr_syntax_error(source, pos, len - pos,
											 "unterminated string literal");
					tok->kind = FC_TOK_STRING;
					toklen = q + 1 - p;
				}
				break;
			default:
				if (is_digit(*p) ||
					((*p == '+' || *p == '-' || *p == '.') &&
					 (is_digit(p[1]) || (p[1] == '.' && *p != '.' && is_digit(p[2])))))
				{
					toklen = scan_number(p);
					tok->kind = FC_TOK_NUMBER;
				}
				else if (is_ident_start(*p))
				{
					toklen = scan_name(p, &tok->dotted);
					if (toklen > 0)
						tok->kind = tok->dotted ? FC_TOK_NAME :
							keyword_kind(p, toklen);
				}
				else
					toklen = -1;
				if (toklen < 0)
					fc_expr_syntax_error(source, pos, word_length(p),
										 "syntax error at or near \"%s\"");
				break;
		}
		tok->len = toklen;
		pos += toklen;
	}

	*ntokens = n;
	return tokens;
}
