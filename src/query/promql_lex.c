/*
 * promql_lex.c - the PromQL lexer (promql_int.h): Prometheus's lex.go,
 * state for state. Outside braces words are keywords (without case) or
 * identifiers, a word with a ':' a metric identifier; inside braces every
 * word is an identifier, and only matcher operators, commas and strings
 * may stand there. A number that runs into a unit letter is a duration
 * (5m, 1h30m). Errors are the lexer's own words, at the start of the
 * token that failed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/promql_int.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define LEX_EOF	(-1)

static const struct {
	const char	*word;
	enum tok_type	 type;
} keywords[] = {
	{ "and", T_LAND }, { "or", T_LOR }, { "unless", T_LUNLESS },
	{ "atan2", T_ATAN2 },
	{ "sum", T_SUM }, { "avg", T_AVG }, { "count", T_COUNT },
	{ "min", T_MIN }, { "max", T_MAX }, { "group", T_GROUP },
	{ "stddev", T_STDDEV }, { "stdvar", T_STDVAR }, { "topk", T_TOPK },
	{ "bottomk", T_BOTTOMK }, { "count_values", T_COUNT_VALUES },
	{ "quantile", T_QUANTILE }, { "limitk", T_LIMITK },
	{ "limit_ratio", T_LIMIT_RATIO },
	{ "offset", T_OFFSET }, { "by", T_BY }, { "without", T_WITHOUT },
	{ "on", T_ON }, { "ignoring", T_IGNORING },
	{ "group_left", T_GROUP_LEFT }, { "group_right", T_GROUP_RIGHT },
	{ "bool", T_BOOL }, { "start", T_START }, { "end", T_END },
	{ "inf", T_NUMBER }, { "nan", T_NUMBER },
};

void
lexer_init(struct lexer *l, const char *in, size_t n)
{
	memset(l, 0, sizeof(*l));
	l->in = in;
	l->n = n;
}

void
lexer_seek(struct lexer *l, size_t pos)
{
	l->pos = pos;
	l->brace_open = 0;
	l->bracket_open = 0;
	l->got_colon = 0;
}

/*
 * The next character as Go's lexer reads runes: ASCII as itself, any
 * other byte as a code point of its own above 0x7f (what matters is only
 * that it is none of ours), LEX_EOF at the end.
 */
static int
next(struct lexer *l)
{
	if (l->pos >= l->n) {
		l->pos = l->n + 1;	/* a backup() after EOF stays at n */
		return LEX_EOF;
	}
	return (unsigned char)l->in[l->pos++];
}

static void
backup(struct lexer *l)
{
	l->pos--;
}

static int
peek(struct lexer *l)
{
	return l->pos < l->n ? (unsigned char)l->in[l->pos] : LEX_EOF;
}

static int
accept(struct lexer *l, const char *set)
{
	int c = next(l);

	if (c != LEX_EOF && c != 0 && strchr(set, c) != NULL)
		return 1;
	backup(l);
	return 0;
}

static void
accept_run(struct lexer *l, const char *set)
{
	while (accept(l, set))
		;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A character for a message, as Go's %q prints a rune. */
static void
show_char(int c, char *out, size_t n)
{
	if (c == LEX_EOF)
		snprintf(out, n, "'\xef\xbf\xbd'");	/* utf8.RuneError */
	else if (c == '\'' || c == '\\')
		snprintf(out, n, "'\\%c'", c);
	else if (c >= 0x20 && c < 0x7f)
		snprintf(out, n, "'%c'", c);
	else if (c == '\n')
		snprintf(out, n, "'\\n'");
	else if (c == '\t')
		snprintf(out, n, "'\\t'");
	else if (c == '\r')
		snprintf(out, n, "'\\r'");
	else	/* a control character, or a byte of a longer character */
		snprintf(out, n, "'\\x%02x'", c);
}

static void
error_tok(struct lexer *l, struct tok *t, size_t start, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
error_tok(struct lexer *l, struct tok *t, size_t start, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
	t->type = T_ERROR;
	t->pos = (uint32_t)start;
	t->len = 0;
	t->msg = l->msg;
	l->done = 1;
}

/* lex.go's scanNumber: digits, a fraction, an exponent, then no letter. */
static int
scan_number(struct lexer *l)
{
	const char *digits = "0123456789";

	if (accept(l, "0") && accept(l, "xX"))
		digits = "0123456789abcdefABCDEF";
	accept_run(l, digits);
	if (accept(l, "."))
		accept_run(l, digits);
	if (accept(l, "eE")) {
		accept(l, "+-");
		accept_run(l, "0123456789");
	}
	return !is_alnum(peek(l));
}

/* The rest of a duration after its first digits: unit, then more. */
static int
accept_duration(struct lexer *l)
{
	if (!accept(l, "smhdwy"))
		return 0;
	accept(l, "s");		/* ms */
	while (accept(l, "0123456789")) {
		accept_run(l, "0123456789");
		if (!accept(l, "smhdwy"))
			return 0;
		accept(l, "s");
	}
	/* then no letter: one that follows is shown in the error too */
	if (is_alnum(next(l)))
		return 0;
	backup(l);
	return 1;
}

static int
digit_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 16;
}

/* Go's %#U of a rune: U+0071 'q'. */
static void
show_rune(int c, char *out, size_t n)
{
	if (c == LEX_EOF)
		snprintf(out, n, "U+FFFFFFFFFFFFFFFF");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(out, n, "U+%04X '%c'", c, c);
	else
		snprintf(out, n, "U+%04X", c);
}

/* lex.go's lexEscape, after the backslash: 0 or an error in t. */
static int
lex_escape(struct lexer *l, struct tok *t, size_t start, int quote)
{
	int c = next(l), n;
	unsigned base;
	uint32_t max, x = 0;
	char show[32];

	switch (c) {
	case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v':
	case '\\':
		return 0;
	case '0': case '1': case '2': case '3': case '4': case '5': case '6':
	case '7':
		n = 3, base = 8, max = 255;
		break;
	case 'x':
		c = next(l);
		n = 2, base = 16, max = 255;
		break;
	case 'u':
		c = next(l);
		n = 4, base = 16, max = 0x10ffff;
		break;
	case 'U':
		c = next(l);
		n = 8, base = 16, max = 0x10ffff;
		break;
	case LEX_EOF:
		error_tok(l, t, start, "escape sequence not terminated");
		return -1;
	default:
		if (c == quote)
			return 0;
		show_rune(c, show, sizeof(show));
		error_tok(l, t, start, "unknown escape sequence %s", show);
		return -1;
	}
	while (n > 0) {
		unsigned d = c == LEX_EOF ? 16 : (unsigned)digit_val(c);

		if (d >= base) {
			if (c == LEX_EOF) {
				error_tok(l, t, start,
				    "escape sequence not terminated");
				return -1;
			}
			show_rune(c, show, sizeof(show));
			error_tok(l, t, start,
			    "illegal character %s in escape sequence", show);
			return -1;
		}
		x = x * base + d;
		if (--n > 0)
			c = next(l);
	}
	if (x > max || (x >= 0xd800 && x < 0xe000)) {
		error_tok(l, t, start,
		    "escape sequence is an invalid Unicode code point");
		return -1;
	}
	return 0;
}

/* A UTF-8 sequence at p: its length, or 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	uint32_t c;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c < 0xe000))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

/* A quoted string after its opening quote (start is the quote). */
static void
lex_string(struct lexer *l, struct tok *t, size_t start, int quote)
{
	for (;;) {
		int c;
		size_t k;

		if (l->pos < l->n && (unsigned char)l->in[l->pos] >= 0x80) {
			k = utf8_len((const unsigned char *)l->in + l->pos,
			    l->n - l->pos);
			if (k == 0) {
				l->pos++;
				error_tok(l, t, start, "invalid UTF-8 rune");
				return;
			}
			l->pos += k;
			continue;
		}
		c = next(l);
		if (c == '\\') {
			if (lex_escape(l, t, start, quote) != 0)
				return;
		} else if (c == LEX_EOF || c == '\n') {
			error_tok(l, t, start, "unterminated quoted string");
			return;
		} else if (c == quote)
			break;
	}
	t->type = T_STRING;
	t->pos = (uint32_t)start;
	t->len = (uint32_t)(l->pos - start);
}

static void
lex_raw_string(struct lexer *l, struct tok *t, size_t start)
{
	for (;;) {
		int c;
		size_t k;

		if (l->pos < l->n && (unsigned char)l->in[l->pos] >= 0x80) {
			k = utf8_len((const unsigned char *)l->in + l->pos,
			    l->n - l->pos);
			if (k == 0) {
				l->pos++;
				error_tok(l, t, start, "invalid UTF-8 rune");
				return;
			}
			l->pos += k;
			continue;
		}
		c = next(l);
		if (c == LEX_EOF) {
			error_tok(l, t, start, "unterminated raw string");
			return;
		}
		if (c == '`')
			break;
	}
	t->type = T_STRING;
	t->pos = (uint32_t)start;
	t->len = (uint32_t)(l->pos - start);
}

static void
emit(struct lexer *l, struct tok *t, size_t start, enum tok_type type)
{
	t->type = type;
	t->pos = (uint32_t)start;
	t->len = (uint32_t)(l->pos - start);
	t->msg = NULL;
}

static void
lex_word(struct lexer *l, struct tok *t, size_t start)
{
	size_t len;
	int colon = 0, c;

	while ((c = next(l)) != LEX_EOF && (is_alnum(c) || c == ':'))
		colon |= c == ':';
	backup(l);
	len = l->pos - start;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].word) == len &&
		    strncasecmp(keywords[i].word, l->in + start, len) == 0) {
			emit(l, t, start, keywords[i].type);
			return;
		}
	emit(l, t, start, colon ? T_METRIC_IDENTIFIER : T_IDENTIFIER);
}

static void
inside_braces(struct lexer *l, struct tok *t)
{
	size_t start;
	int c;
	char show[16];

	for (;;) {
		start = l->pos;
		c = next(l);
		if (c == LEX_EOF) {
			error_tok(l, t, l->n, "unexpected end of input inside braces");
			return;
		}
		if (is_space(c))
			continue;
		if (is_alpha(c)) {
			while ((c = next(l)) != LEX_EOF && is_alnum(c))
				;
			backup(l);
			emit(l, t, start, T_IDENTIFIER);
			return;
		}
		switch (c) {
		case ',':
			emit(l, t, start, T_COMMA);
			return;
		case '"':
		case '\'':
			lex_string(l, t, start, c);
			return;
		case '`':
			lex_raw_string(l, t, start);
			return;
		case '=':
			if (next(l) == '~') {
				emit(l, t, start, T_EQL_REGEX);
				return;
			}
			backup(l);
			emit(l, t, start, T_EQL);
			return;
		case '!':
			c = next(l);
			if (c == '~')
				emit(l, t, start, T_NEQ_REGEX);
			else if (c == '=')
				emit(l, t, start, T_NEQ);
			else {
				show_char(c, show, sizeof(show));
				error_tok(l, t, start, "unexpected character "
				    "after '!' inside braces: %s", show);
			}
			return;
		case '{':
			error_tok(l, t, start, "unexpected left brace '{'");
			return;
		case '}':
			l->brace_open = 0;
			emit(l, t, start, T_RIGHT_BRACE);
			return;
		default:
			show_char(c, show, sizeof(show));
			error_tok(l, t, start,
			    "unexpected character inside braces: %s", show);
			return;
		}
	}
}

void
lexer_next(struct lexer *l, struct tok *t)
{
	size_t start;
	int c;
	char show[16];

	memset(t, 0, sizeof(*t));
	if (l->done) {
		t->type = T_EOF;
		t->pos = (uint32_t)l->n;
		return;
	}
	if (l->brace_open) {
		inside_braces(l, t);
		return;
	}
	for (;;) {
		start = l->pos;
		c = next(l);
		if (c == LEX_EOF) {
			if (l->paren_depth != 0)
				error_tok(l, t, l->n, "unclosed left parenthesis");
			else if (l->bracket_open)
				error_tok(l, t, l->n, "unclosed left bracket");
			else {
				l->done = 1;
				t->type = T_EOF;
				t->pos = (uint32_t)l->n;
			}
			return;
		}
		if (is_space(c))
			continue;
		if (c == '#') {
			while ((c = next(l)) != LEX_EOF && c != '\n')
				;
			continue;
		}
		break;
	}
	switch (c) {
	case ',':	emit(l, t, start, T_COMMA); return;
	case '*':	emit(l, t, start, T_MUL); return;
	case '/':	emit(l, t, start, T_DIV); return;
	case '%':	emit(l, t, start, T_MOD); return;
	case '+':	emit(l, t, start, T_ADD); return;
	case '-':	emit(l, t, start, T_SUB); return;
	case '^':	emit(l, t, start, T_POW); return;
	case '@':	emit(l, t, start, T_AT); return;
	case '=':
		c = peek(l);
		if (c == '=') {
			next(l);
			emit(l, t, start, T_EQLC);
		} else if (c == '~') {
			show_char(c, show, sizeof(show));
			error_tok(l, t, start,
			    "unexpected character after '=': %s", show);
		} else
			emit(l, t, start, T_EQL);
		return;
	case '!':
		c = next(l);
		if (c == '=')
			emit(l, t, start, T_NEQ);
		else {
			show_char(c, show, sizeof(show));
			error_tok(l, t, start,
			    "unexpected character after '!': %s", show);
		}
		return;
	case '<':
		emit(l, t, start, accept(l, "=") ? T_LTE : T_LSS);
		t->len = (uint32_t)(l->pos - start);
		return;
	case '>':
		emit(l, t, start, accept(l, "=") ? T_GTE : T_GTR);
		t->len = (uint32_t)(l->pos - start);
		return;
	case '"':
	case '\'':
		lex_string(l, t, start, c);
		return;
	case '`':
		lex_raw_string(l, t, start);
		return;
	case '(':
		l->paren_depth++;
		emit(l, t, start, T_LEFT_PAREN);
		return;
	case ')':
		if (--l->paren_depth < 0) {
			/* lex.go emits the ')' first: the error is after it */
			error_tok(l, t, l->pos,
			    "unexpected right parenthesis ')'");
			return;
		}
		emit(l, t, start, T_RIGHT_PAREN);
		return;
	case '{':
		l->brace_open = 1;
		emit(l, t, start, T_LEFT_BRACE);
		return;
	case '[':
		if (l->bracket_open) {
			error_tok(l, t, start, "unexpected left bracket '['");
			return;
		}
		l->got_colon = 0;
		l->bracket_open = 1;
		emit(l, t, start, T_LEFT_BRACKET);
		return;
	case ']':
		if (!l->bracket_open) {
			error_tok(l, t, start, "unexpected right bracket ']'");
			return;
		}
		l->got_colon = 0;
		l->bracket_open = 0;
		emit(l, t, start, T_RIGHT_BRACKET);
		return;
	}
	/*
	 * In brackets lex.go takes a letter for the colon too: a second
	 * one is "unexpected colon 'x'", as Prometheus words it.
	 */
	if (l->bracket_open && (c == ':' || is_alpha(c))) {
		if (l->got_colon) {
			show_char(c, show, sizeof(show));
			error_tok(l, t, start, "unexpected colon %s", show);
			return;
		}
		l->got_colon = 1;
		emit(l, t, start, T_COLON);
		return;
	}
	if (is_digit(c) || (c == '.' && is_digit(peek(l)))) {
		backup(l);
		if (scan_number(l)) {
			emit(l, t, start, T_NUMBER);
			return;
		}
		if (accept_duration(l)) {
			emit(l, t, start, T_DURATION);
			return;
		}
		error_tok(l, t, start, "bad number or duration syntax: \"%.*s\"",
		    (int)(l->pos - start > 64 ? 64 : l->pos - start),
		    l->in + start);
		return;
	}
	if (is_alpha(c) || c == ':') {
		backup(l);
		lex_word(l, t, start);
		return;
	}
	if (c >= 0x80) {
		size_t k = utf8_len((const unsigned char *)l->in + start,
		    l->n - start);

		if (k == 0) {
			error_tok(l, t, start, "unexpected character: %s",
			    "'\\ufffd'");
			return;
		}
		error_tok(l, t, start, "unexpected character: '%.*s'", (int)k,
		    l->in + start);
		return;
	}
	show_char(c, show, sizeof(show));
	error_tok(l, t, start, "unexpected character: %s", show);
}

/* ---- strings ---- */

static void
put_utf8(struct buf *b, uint32_t c)
{
	char s[4];

	if (c < 0x80) {
		buf_putc(b, (char)c);
		return;
	}
	if (c < 0x800) {
		s[0] = (char)(0xc0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3f));
		buf_append(b, s, 2);
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | c >> 12);
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		buf_append(b, s, 3);
	} else {
		s[0] = (char)(0xf0 | c >> 18);
		s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[3] = (char)(0x80 | (c & 0x3f));
		buf_append(b, s, 4);
	}
}

char *
promql_unquote(const char *s, size_t n, size_t *len)
{
	struct buf b;
	char *out;

	buf_init(&b, 0);
	buf_reserve(&b, n);
	if (s[0] == '`') {
		buf_append(&b, s + 1, n - 2);
		goto done;
	}
	for (size_t i = 1; i + 1 < n; i++) {
		uint32_t x = 0;
		int k, base;
		char esc;

		if (s[i] != '\\') {
			buf_putc(&b, s[i]);
			continue;
		}
		switch ((esc = s[++i])) {
		case 'a': buf_putc(&b, '\a'); continue;
		case 'b': buf_putc(&b, '\b'); continue;
		case 'f': buf_putc(&b, '\f'); continue;
		case 'n': buf_putc(&b, '\n'); continue;
		case 'r': buf_putc(&b, '\r'); continue;
		case 't': buf_putc(&b, '\t'); continue;
		case 'v': buf_putc(&b, '\v'); continue;
		case 'x': k = 2, base = 16, i++; break;
		case 'u': k = 4, base = 16, i++; break;
		case 'U': k = 8, base = 16, i++; break;
		default:
			if (esc >= '0' && esc <= '7') {
				k = 3, base = 8;
				break;
			}
			buf_putc(&b, esc);	/* \\ and the quote */
			continue;
		}
		for (int j = 0; j < k; j++)
			x = x * (uint32_t)base + (uint32_t)digit_val(s[i + j]);
		i += (size_t)k - 1;
		if (esc == 'x' || base == 8)
			buf_putc(&b, (char)x);	/* a byte */
		else
			put_utf8(&b, x);
	}
done:
	if (b.len == 0) {
		/* reserved but never written: no terminating NUL there */
		buf_release(&b);
		*len = 0;
		return xstrdup("");
	}
	out = buf_detach(&b, len);
	return out;
}

/* ---- for messages ---- */

/* Go's %q of a string, into b. */
int
promql_quote(const char *s, size_t n, struct buf *b)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k;

		if (c >= 0x80) {
			k = utf8_len((const unsigned char *)s + i, n - i);
			if (k == 0) {
				buf_printf(b, "\\x%02x", c);
				i++;
				continue;
			}
			/* U+0080..U+009F and U+00AD are not printable in Go */
			if (k == 2 && c == 0xc2 && ((unsigned char)s[i + 1] < 0xa0
			    || (unsigned char)s[i + 1] == 0xad))
				buf_printf(b, "\\u%04x", (unsigned char)s[i + 1]);
			else
				buf_append(b, s + i, k);
			i += k;
			continue;
		}
		i++;
		switch (c) {
		case '"':	buf_puts(b, "\\\""); continue;
		case '\\':	buf_puts(b, "\\\\"); continue;
		case '\a':	buf_puts(b, "\\a"); continue;
		case '\b':	buf_puts(b, "\\b"); continue;
		case '\f':	buf_puts(b, "\\f"); continue;
		case '\n':	buf_puts(b, "\\n"); continue;
		case '\r':	buf_puts(b, "\\r"); continue;
		case '\t':	buf_puts(b, "\\t"); continue;
		case '\v':	buf_puts(b, "\\v"); continue;
		}
		if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	return buf_putc(b, '"');
}

int
promql_label_name(const char *s, struct buf *b)
{
	int ok = is_alpha((unsigned char)s[0]);

	for (size_t i = 1; ok && s[i] != '\0'; i++)
		ok = is_alnum((unsigned char)s[i]);
	if (ok)
		return buf_puts(b, s);
	return promql_quote(s, strlen(s), b);
}

void
tok_desc(const char *in, const struct tok *t, char *out, size_t outlen)
{
	struct buf b;
	const char *kind = NULL;

	if (t->type == T_EOF) {
		snprintf(out, outlen, "end of input");
		return;
	}
	buf_init(&b, 0);
	switch (t->type) {
	case T_IDENTIFIER:		kind = "identifier "; break;
	case T_METRIC_IDENTIFIER:	kind = "metric identifier "; break;
	case T_NUMBER:			kind = "number "; break;
	case T_DURATION:		kind = "duration "; break;
	case T_STRING:			kind = "string "; break;
	default:			break;
	}
	if (kind != NULL) {
		buf_puts(&b, kind);
		if (t->type != T_IDENTIFIER && t->type != T_METRIC_IDENTIFIER &&
		    t->len > 10) {
			/* Go's %.10q: the first ten characters, then ... */
			size_t n = 0, chars = 0;

			while (n < t->len && chars < 10) {
				size_t k = utf8_len((const unsigned char *)in +
				    t->pos + n, t->len - n);

				n += k ? k : 1;
				chars++;
			}
			promql_quote(in + t->pos, n, &b);
			buf_puts(&b, "...");
		} else
			promql_quote(in + t->pos, t->len, &b);
	} else if (t->type >= T_KW_FIRST && t->type <= T_KW_LAST)
		buf_printf(&b, "<%.*s>", (int)t->len, in + t->pos);
	else if (t->type >= T_OP_FIRST && t->type <= T_OP_LAST)
		buf_printf(&b, "<op:%.*s>", (int)t->len, in + t->pos);
	else if (t->type >= T_AGG_FIRST && t->type <= T_AGG_LAST)
		buf_printf(&b, "<aggr:%.*s>", (int)t->len, in + t->pos);
	else
		promql_quote(in + t->pos, t->len, &b);
	snprintf(out, outlen, "%s", buf_str(&b));
	buf_release(&b);
}
