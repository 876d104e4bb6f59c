/*
 * promql_int.h - what the lexer (promql_lex.c), the parser
 * (promql_parse.c) and the printer (promql_format.c) share: the tokens
 * and the lexer's state. The lexer is Prometheus's lex.go in its states
 * (statements, inside braces, inside brackets) and its errors; it is
 * pulled one token at a time by the parser, so an error the parser finds
 * first is the one reported, as in Prometheus.
 */
#ifndef SHALE_PROMQL_INT_H
#define SHALE_PROMQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "query/promql.h"

enum tok_type {
	T_EOF, T_ERROR,
	T_IDENTIFIER, T_METRIC_IDENTIFIER, T_NUMBER, T_DURATION, T_STRING,
	T_LEFT_PAREN, T_RIGHT_PAREN, T_LEFT_BRACE, T_RIGHT_BRACE,
	T_LEFT_BRACKET, T_RIGHT_BRACKET, T_COMMA, T_EQL, T_COLON,
	/* operators: T_OP_FIRST..T_OP_LAST */
	T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_POW, T_ATAN2,
	T_EQLC, T_NEQ, T_GTR, T_LSS, T_GTE, T_LTE,
	T_LAND, T_LOR, T_LUNLESS,
	T_EQL_REGEX, T_NEQ_REGEX, T_AT,
	/* aggregators */
	T_SUM, T_AVG, T_COUNT, T_MIN, T_MAX, T_GROUP, T_STDDEV, T_STDVAR,
	T_TOPK, T_BOTTOMK, T_QUANTILE, T_COUNT_VALUES, T_LIMITK,
	T_LIMIT_RATIO,
	/* keywords */
	T_BOOL, T_BY, T_GROUP_LEFT, T_GROUP_RIGHT, T_IGNORING, T_OFFSET,
	T_ON, T_WITHOUT,
	/* preprocessors */
	T_START, T_END,
};

#define T_OP_FIRST	T_ADD
#define T_OP_LAST	T_AT
#define T_AGG_FIRST	T_SUM
#define T_AGG_LAST	T_LIMIT_RATIO
#define T_KW_FIRST	T_BOOL
#define T_KW_LAST	T_WITHOUT

struct tok {
	enum tok_type	 type;
	uint32_t	 pos;		/* byte offset in the query */
	uint32_t	 len;
	const char	*msg;		/* T_ERROR: the lexer's words (lexer-owned) */
};

struct lexer {
	const char	*in;
	size_t		 n;
	size_t		 pos;
	int		 paren_depth;
	int		 brace_open;
	int		 bracket_open;
	int		 got_colon;
	int		 done;		/* EOF or an error was given */
	char		 msg[160];
};

void	lexer_init(struct lexer *l, const char *in, size_t n);
/* Go on lexing from byte pos, outside braces and brackets (the parenthesis depth kept). */
void	lexer_seek(struct lexer *l, size_t pos);
/* The next token; after T_EOF or T_ERROR, T_EOF again. */
void	lexer_next(struct lexer *l, struct tok *t);

/*
 * Unquote a T_STRING token's text ("...", '...' or `...`, the lexer has
 * checked its escapes) into a new NUL-terminated string.
 */
char	*promql_unquote(const char *s, size_t n, size_t *len);

/* Prometheus's Item.desc(): `identifier "x"`, `"("`, `<by>` ... */
void	tok_desc(const char *in, const struct tok *t, char *out, size_t outlen);

/* Go's strconv.Quote of n bytes at s, appended to b. */
int	promql_quote(const char *s, size_t n, struct buf *b);
/* A label name as Prometheus 3 writes it: bare when legacy-valid, else quoted. */
int	promql_label_name(const char *s, struct buf *b);

#endif
