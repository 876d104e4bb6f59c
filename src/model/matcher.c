/*
 * matcher.c - label matchers and selectors (matcher.h): making a matcher
 * (its RE2 check and its pcre2 compile), matching, the selector parser
 * and its formatter.
 *
 * pcre2 allocates through one general context that calls xmalloc, so a
 * pattern or match data is never NULL; that context and the match
 * context (the match limit) are util/re.h's, made once and only read
 * after. A match makes its own match data: compiled code is shared by
 * every thread, match data is not.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/labels_int.h"
#include "model/matcher.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/utf8.h"
#include "util/re.h"
#include "util/xmalloc.h"

#define SHOW_MAX	80

/* Whole-value matching, RE2's $ and ., and no \C. */
#define RE_OPTIONS	(PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED | \
	PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C | \
	PCRE2_NO_AUTO_CAPTURE)

struct matcher {
	enum matcher_op	 op;
	char		*name;
	char		*value;		/* NUL-terminated; value_len bytes */
	size_t		 value_len;
	pcre2_code	*re;		/* for =~ and !~ */
	int		 empty;		/* matches "" (a missing label) */
};

struct selector {
	struct matcher	**v;
	size_t		  n;
	size_t		  cap;
};

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static pcre2_general_context *gctx;
static pcre2_compile_context *cctx;
static pcre2_match_context *mctx;

static void
ctx_init(void)
{
	const struct re_contexts *c = re_contexts();

	gctx = c->general;
	cctx = c->compile;
	mctx = c->match;
}

const char *
matcher_op_str(enum matcher_op op)
{
	switch (op) {
	case MATCHER_EQ:	return "=";
	case MATCHER_NE:	return "!=";
	case MATCHER_RE:	return "=~";
	case MATCHER_NRE:	return "!~";
	}
	return "?";
}

/* ---- the RE2 check ---- */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The length of a {n}, {n,} or {n,m} repeat at p, or 0. */
static size_t
repeat_len(const char *p, size_t n)
{
	size_t i = 1;

	if (n < 3 || p[0] != '{' || !is_digit(p[1]))
		return 0;
	while (i < n && is_digit(p[i]))
		i++;
	if (i < n && p[i] == ',')
		for (i++; i < n && is_digit(p[i]); i++)
			;
	return i < n && p[i] == '}' ? i + 1 : 0;
}

/*
 * Refuse what RE2 has not (matcher.h): -EINVAL with err_set() and the
 * offset, or 0. Syntax errors both would refuse are left to pcre2, which
 * words them better.
 */
static int
re2_check(const char *p, size_t n)
{
	static const char esc[] = "afnrtvxpPdDsSwWAbBz0";
	static const char class_esc[] = "afnrtvxpPdDsSwW0";
	const char *why = NULL;
	size_t i = 0, k, at = 0;
	int in_class = 0, repeat = 0;	/* 1 after a repeat, 2 after a lazy one */

	while (i < n && why == NULL) {
		char c = p[i];

		at = i;
		if (c == '\\') {
			char d = i + 1 < n ? p[i + 1] : '\0';

			repeat = 0;
			if (d == 'Q') {
				for (k = i + 2; k + 1 < n; k++)
					if (p[k] == '\\' && p[k + 1] == 'E')
						break;
				i = k + 1 < n ? k + 2 : n;
				continue;
			}
			if (d >= '1' && d <= '9')
				why = "backreferences are not supported";
			else if (is_alnum(d) &&
			    strchr(in_class ? class_esc : esc, d) == NULL)
				why = "this escape is not RE2 syntax";
			i += 2;
			/* \x{...} \p{...}: the braces are no repeat */
			if ((d == 'x' || d == 'p' || d == 'P') && i < n &&
			    p[i] == '{') {
				while (i < n && p[i] != '}')
					i++;
				i++;
			}
			continue;
		}
		if (in_class) {
			if (c == '[' && i + 1 < n && p[i + 1] == ':') {
				/* [:alpha:]: its ']' does not end the class */
				for (k = i + 2; k + 1 < n; k++)
					if (p[k] == ':' && p[k + 1] == ']')
						break;
				if (k + 1 < n) {
					i = k + 2;
					continue;
				}
			}
			if (c == ']')
				in_class = 0;
			i++;
			continue;
		}
		switch (c) {
		case '[':
			in_class = 1;
			repeat = 0;
			i++;
			if (i < n && p[i] == '^')
				i++;
			if (i < n && p[i] == ']')	/* a ']' first is itself */
				i++;
			continue;
		case '(':
			repeat = 0;
			if (i + 1 < n && p[i + 1] == '*') {
				why = "(* verbs are not supported";
			} else if (i + 1 < n && p[i + 1] == '?') {
				k = i + 2;
				if (k < n && p[k] == 'P' && k + 1 < n && p[k + 1] == '<')
					break;
				if (k < n && p[k] == '<' && k + 1 < n &&
				    p[k + 1] != '=' && p[k + 1] != '!')
					break;
				while (k < n && strchr("imsU-", p[k]) != NULL &&
				    p[k] != '\0')
					k++;
				if (k == i + 2 ? !(k < n && p[k] == ':') :
				    !(k < n && (p[k] == ':' || p[k] == ')')))
					why = "only (?:, (?P<name>, (?<name> and the "
					    "flags i, m, s and U are supported after (?";
			}
			break;
		case '*':
		case '+':
		case '?':
			if (repeat == 1 && c == '?') {
				repeat = 2;
				i++;
				continue;
			}
			if (repeat != 0) {
				why = c == '+' && repeat == 1 ? "possessive repeats "
				    "are not supported" : "a repeat of a repeat";
				break;
			}
			repeat = 1;
			i++;
			continue;
		case '{':
			if ((k = repeat_len(p + i, n - i)) == 0)
				break;
			if (repeat != 0) {
				why = "a repeat of a repeat";
				break;
			}
			repeat = 1;
			i += k;
			continue;
		default:
			break;
		}
		repeat = 0;
		i++;
	}
	if (why != NULL) {
		char show[SHOW_MAX];

		return err_set(-EINVAL, "regex '%s', offset %zu: %s",
		    labels_show(show, sizeof(show), p, n), at, why);
	}
	return 0;
}

/* ---- matchers ---- */

static int
check_string(const char *what, const char *p, size_t n)
{
	const char *nul;
	size_t bad;

	if (n > MATCHER_VALUE_MAX)
		return err_set(-EINVAL, "%s is longer than %d bytes", what,
		    MATCHER_VALUE_MAX);
	if ((nul = memchr(p, '\0', n)) != NULL)
		return err_set(-EINVAL, "%s holds a NUL at byte %zu", what,
		    (size_t)(nul - p) + 1);
	if ((bad = utf8_valid(p, n)) != n)
		return err_set(-EINVAL, "%s is not UTF-8 at byte %zu", what,
		    bad + 1);
	return 0;
}

/* Run m's regex over a value: 1, 0 or an error. */
static int
re_match(const struct matcher *m, const char *value, size_t len, int trusted)
{
	pcre2_match_data *md;
	char show[SHOW_MAX];
	int rc;

	md = pcre2_match_data_create(1, gctx);
	if (md == NULL)
		abort();
	rc = pcre2_match(m->re, (PCRE2_SPTR)(value ? value : ""), value ? len : 0,
	    0, trusted ? PCRE2_NO_UTF_CHECK : 0, md, mctx);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return err_set(-ERANGE, "regex '%s' gave up on a value of label "
		    "'%s' (match limit)", labels_show(show, sizeof(show),
		    m->value, m->value_len), m->name);
	return err_set(-EINVAL, "regex '%s' cannot match a value of label '%s' "
	    "(pcre2 error %d: a value not UTF-8?)", labels_show(show,
	    sizeof(show), m->value, m->value_len), m->name, rc);
}

int
matcher_new(enum matcher_op op, const char *name, size_t name_len,
    const char *value, size_t value_len, struct matcher **out)
{
	struct matcher *m;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	char show[SHOW_MAX];
	int rc, err;

	*out = NULL;
	if (op != MATCHER_EQ && op != MATCHER_NE && op != MATCHER_RE &&
	    op != MATCHER_NRE)
		return err_set(-EINVAL, "no such matcher operator: %d", (int)op);
	if ((rc = labels_check_name(name, name_len, LABELS_RESERVED)) != 0)
		return rc;
	if ((rc = check_string(op == MATCHER_EQ || op == MATCHER_NE ?
	    "a matcher's value" : "a regex", value, value_len)) != 0)
		return rc;
	if ((op == MATCHER_RE || op == MATCHER_NRE) &&
	    (rc = re2_check(value, value_len)) != 0)
		return rc;

	pthread_once(&ctx_once, ctx_init);
	m = xcalloc(1, sizeof(*m));
	m->op = op;
	m->name = xstrndup(name, name_len);
	m->value = xmalloc(value_len + 1);
	memcpy(m->value, value, value_len);
	m->value[value_len] = '\0';
	m->value_len = value_len;
	if (op == MATCHER_RE || op == MATCHER_NRE) {
		m->re = pcre2_compile((PCRE2_SPTR)value, value_len, RE_OPTIONS,
		    &err, &off, cctx);
		if (m->re == NULL) {
			pcre2_get_error_message(err, msg, sizeof(msg));
			rc = err_set(-EINVAL, "regex '%s', offset %zu: %s",
			    labels_show(show, sizeof(show), value, value_len),
			    (size_t)off, (const char *)msg);
			goto fail;
		}
		(void)pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE);
		m->empty = re_match(m, "", 0, 1) == 1;
	} else {
		m->empty = value_len == 0;
	}
	if (op == MATCHER_NE || op == MATCHER_NRE)
		m->empty = !m->empty;
	*out = m;
	return 0;

fail:
	matcher_free(m);
	return rc;
}

void
matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	pcre2_code_free(m->re);
	free(m->value);
	free(m->name);
	free(m);
}

enum matcher_op
matcher_op(const struct matcher *m)
{
	return m->op;
}

const char *
matcher_name(const struct matcher *m)
{
	return m->name;
}

const char *
matcher_value(const struct matcher *m, size_t *len)
{
	if (len != NULL)
		*len = m->value_len;
	return m->value;
}

int
matcher_matches_empty(const struct matcher *m)
{
	return m->empty;
}

static int
matches(const struct matcher *m, const char *value, size_t len, int trusted)
{
	int rc;

	if (value == NULL || len == 0)
		return m->empty;
	switch (m->op) {
	case MATCHER_EQ:
		return len == m->value_len && memcmp(value, m->value, len) == 0;
	case MATCHER_NE:
		return !(len == m->value_len && memcmp(value, m->value, len) == 0);
	case MATCHER_RE:
		return re_match(m, value, len, trusted);
	case MATCHER_NRE:
		rc = re_match(m, value, len, trusted);
		return rc < 0 ? rc : !rc;
	}
	return 0;
}

int
matcher_matches(const struct matcher *m, const char *value, size_t len)
{
	return matches(m, value, len, 0);
}

/* ---- selectors ---- */

struct selector *
selector_new(void)
{
	return xcalloc(1, sizeof(struct selector));
}

void
selector_free(struct selector *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		matcher_free(s->v[i]);
	free(s->v);
	free(s);
}

int
selector_add(struct selector *s, enum matcher_op op, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
	struct matcher *m;
	int rc;

	if (s->n == SELECTOR_MATCHERS_MAX)
		return err_set(-EINVAL, "a selector holds at most %d matchers",
		    SELECTOR_MATCHERS_MAX);
	if ((rc = matcher_new(op, name, name_len, value, value_len, &m)) != 0)
		return rc;
	s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = m;
	return 0;
}

size_t
selector_count(const struct selector *s)
{
	return s->n;
}

const struct matcher *
selector_at(const struct selector *s, size_t i)
{
	return i < s->n ? s->v[i] : NULL;
}

const char *
selector_metric(const struct selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i]->op == MATCHER_EQ &&
		    strcmp(s->v[i]->name, LABELS_METRIC_NAME) == 0)
			return s->v[i]->value;
	return NULL;
}

int
selector_matches(const struct selector *s, const struct labels *ls)
{
	const struct label *l;
	int rc;

	for (size_t i = 0; i < s->n; i++) {
		const struct matcher *m = s->v[i];

		l = labels_find(ls, m->name, strlen(m->name));
		rc = matches(m, l ? l->value : NULL, l ? l->value_len : 0, 1);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

int
selector_equal(const struct selector *a, const struct selector *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct matcher *x = a->v[i], *y = b->v[i];

		if (x->op != y->op || strcmp(x->name, y->name) != 0 ||
		    x->value_len != y->value_len ||
		    memcmp(x->value, y->value, x->value_len) != 0)
			return 0;
	}
	return 1;
}

/* The first matcher alone among the __name__ ones, and an =. */
static int
metric_first(const struct selector *s)
{
	if (s->n == 0 || s->v[0]->op != MATCHER_EQ ||
	    strcmp(s->v[0]->name, LABELS_METRIC_NAME) != 0)
		return 0;
	for (size_t i = 1; i < s->n; i++)
		if (strcmp(s->v[i]->name, LABELS_METRIC_NAME) == 0)
			return 0;
	return labels_check_metric_name(s->v[0]->value, s->v[0]->value_len) == 0;
}

int
selector_format(const struct selector *s, struct buf *b)
{
	size_t start = b->len, i = 0;
	int rc = 0;

	if (metric_first(s)) {
		rc |= buf_append(b, s->v[0]->value, s->v[0]->value_len);
		i = 1;
		if (s->n == 1)
			goto done;
	}
	rc |= buf_putc(b, '{');
	for (size_t first = i; i < s->n; i++) {
		const struct matcher *m = s->v[i];

		if (i > first)
			rc |= buf_putc(b, ',');
		rc |= buf_puts(b, m->name);
		rc |= buf_puts(b, matcher_op_str(m->op));
		rc |= labels_quote(b, m->value, m->value_len, 0);
	}
	rc |= buf_putc(b, '}');
done:
	if (rc != 0) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
		return -EFBIG;
	}
	return 0;
}

/* ---- the selector parser ---- */

struct parser {
	const char	*s;
	size_t		 n;
	size_t		 pos;
};

/* -EINVAL, naming the line (if the text has more than one) and column. */
static int
parse_error(const struct parser *p, size_t at, const char *why)
{
	char show[SHOW_MAX];
	size_t line = 1, bol = 0;

	for (size_t i = 0; i < at && i < p->n; i++)
		if (p->s[i] == '\n') {
			line++;
			bol = i + 1;
		}
	labels_show(show, sizeof(show), p->s, p->n);
	if (line == 1 && memchr(p->s, '\n', p->n) == NULL)
		return err_set(-EINVAL, "selector '%s', column %zu: %s", show,
		    utf8_chars(p->s, at) + 1, why);
	return err_set(-EINVAL, "selector '%s', line %zu, column %zu: %s", show,
	    line, utf8_chars(p->s + bol, at - bol) + 1, why);
}

static void
skip_space(struct parser *p)
{
	while (p->pos < p->n && strchr(" \t\r\n", p->s[p->pos]) != NULL &&
	    p->s[p->pos] != '\0')
		p->pos++;
}

static void
put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(b, u, n);
}

/* One escape at p->pos (just past the backslash) of a string quoted by q. */
static int
parse_escape(struct parser *p, char q, struct buf *out)
{
	static const char simple[] = "abfnrtv";
	static const char simple_val[] = "\a\b\f\n\r\t\v";
	size_t at = p->pos - 1, digits;
	unsigned long v = 0, max;
	int base, d;
	char c;
	const char *hit;

	if (p->pos >= p->n)
		return parse_error(p, at, "the string has no closing quote");
	c = p->s[p->pos++];
	if (c == '\\' || c == q) {
		buf_putc(out, c);
		return 0;
	}
	if (c != '\0' && (hit = strchr(simple, c)) != NULL) {
		buf_putc(out, simple_val[hit - simple]);
		return 0;
	}
	switch (c) {
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7':
		p->pos--;
		digits = 3, base = 8, max = 255;
		break;
	case 'x':
		digits = 2, base = 16, max = 255;
		break;
	case 'u':
		digits = 4, base = 16, max = 0x10ffff;
		break;
	case 'U':
		digits = 8, base = 16, max = 0x10ffff;
		break;
	default:
		return parse_error(p, at, "unknown escape sequence");
	}
	for (size_t i = 0; i < digits; i++) {
		if (p->pos >= p->n || (d = hex_value(p->s[p->pos])) < 0 ||
		    d >= base)
			return parse_error(p, at, "escape sequence cut short");
		v = v * (unsigned long)base + (unsigned long)d;
		p->pos++;
	}
	if (v > max || (v >= 0xd800 && v < 0xe000))
		return parse_error(p, at, "escape sequence is not a valid code "
		    "point");
	if (c == 'u' || c == 'U')
		put_utf8(out, v);
	else
		buf_putc(out, (char)v);		/* a byte: UTF-8 is checked later */
	return 0;
}

/* A quoted string at p->pos, unquoted into out. */
static int
parse_string(struct parser *p, struct buf *out)
{
	size_t at = p->pos;
	char q;
	int rc;

	if (p->pos >= p->n || strchr("\"'`", p->s[p->pos]) == NULL ||
	    p->s[p->pos] == '\0')
		return parse_error(p, at, "a quoted string is expected");
	q = p->s[p->pos++];
	for (;;) {
		char c;

		if (p->pos >= p->n)
			return parse_error(p, at, "the string has no closing quote");
		c = p->s[p->pos++];
		if (c == q)
			break;
		if (q != '`' && c == '\n')
			return parse_error(p, p->pos - 1, "a newline in a quoted "
			    "string (write \\n)");
		if (q != '`' && c == '\\') {
			if ((rc = parse_escape(p, q, out)) != 0)
				return rc;
			continue;
		}
		buf_putc(out, c);
	}
	if (out->len > MATCHER_VALUE_MAX)
		return parse_error(p, at, "the string is too long");
	if (memchr(out->data ? out->data : "", '\0', out->len) != NULL)
		return parse_error(p, at, "the string holds a NUL");
	if (utf8_valid(out->data ? out->data : "", out->len) != out->len)
		return parse_error(p, at, "the string is not UTF-8");
	return 0;
}

static size_t
scan_name(const struct parser *p, int colon)
{
	size_t i = p->pos;

	while (i < p->n) {
		char c = p->s[i];

		if (!(is_alnum(c) || c == '_' || (colon && c == ':')) ||
		    (i == p->pos && is_digit(c)))
			break;
		i++;
	}
	return i - p->pos;
}

static int
parse_matcher(struct parser *p, struct selector *s, struct buf *value)
{
	enum matcher_op op;
	size_t name_at, name_len, at;
	char why[512];
	int rc;

	skip_space(p);
	name_at = p->pos;
	if ((name_len = scan_name(p, 0)) == 0)
		return parse_error(p, p->pos, "a label name is expected");
	p->pos += name_len;
	skip_space(p);
	at = p->pos;
	if (p->pos + 1 < p->n && p->s[p->pos] == '=' && p->s[p->pos + 1] == '~')
		op = MATCHER_RE, p->pos += 2;
	else if (p->pos + 1 < p->n && p->s[p->pos] == '!' && p->s[p->pos + 1] == '~')
		op = MATCHER_NRE, p->pos += 2;
	else if (p->pos + 1 < p->n && p->s[p->pos] == '!' && p->s[p->pos + 1] == '=')
		op = MATCHER_NE, p->pos += 2;
	else if (p->pos < p->n && p->s[p->pos] == '=')
		op = MATCHER_EQ, p->pos += 1;
	else
		return parse_error(p, at, "=, !=, =~ or !~ is expected");
	skip_space(p);
	at = p->pos;
	buf_reset(value);
	if ((rc = parse_string(p, value)) != 0)
		return rc;
	if (selector_add(s, op, p->s + name_at, name_len,
	    value->data ? value->data : "", value->len) != 0) {
		snprintf(why, sizeof(why), "%s", err_detail());
		return parse_error(p, at, why);
	}
	return 0;
}

int
selector_parse(const char *text, size_t n, struct selector **out)
{
	struct parser p = { text, n, 0 };
	struct selector *s = selector_new();
	struct buf value;
	size_t metric_at = 0, metric_len = 0, i;
	int rc = 0;

	*out = NULL;
	buf_init(&value, 0);
	skip_space(&p);
	metric_at = p.pos;
	if ((metric_len = scan_name(&p, 1)) > 0) {
		p.pos += metric_len;
		if (selector_add(s, MATCHER_EQ, LABELS_METRIC_NAME,
		    strlen(LABELS_METRIC_NAME), text + metric_at, metric_len) != 0) {
			char why[512];

			snprintf(why, sizeof(why), "%s", err_detail());
			rc = parse_error(&p, metric_at, why);
			goto fail;
		}
		skip_space(&p);
	}
	if (p.pos < n && text[p.pos] == '{') {
		p.pos++;
		skip_space(&p);
		while (p.pos < n && text[p.pos] != '}') {
			if ((rc = parse_matcher(&p, s, &value)) != 0)
				goto fail;
			skip_space(&p);
			if (p.pos < n && text[p.pos] == ',') {
				p.pos++;
				skip_space(&p);
				continue;
			}
			if (p.pos >= n || text[p.pos] != '}') {
				rc = parse_error(&p, p.pos, "',' or '}' is expected");
				goto fail;
			}
		}
		if (p.pos >= n) {
			rc = parse_error(&p, p.pos, "'}' is expected");
			goto fail;
		}
		p.pos++;
		skip_space(&p);
	} else if (metric_len == 0) {
		rc = parse_error(&p, p.pos, "a metric name or '{' is expected");
		goto fail;
	}
	if (p.pos != n) {
		rc = parse_error(&p, p.pos, "unexpected text after the selector");
		goto fail;
	}
	for (i = metric_len > 0; i < s->n && metric_len > 0; i++)
		if (strcmp(s->v[i]->name, LABELS_METRIC_NAME) == 0) {
			rc = parse_error(&p, metric_at, "the metric name is given "
			    "twice");
			goto fail;
		}
	for (i = 0; i < s->n; i++)
		if (!s->v[i]->empty)
			break;
	if (i == s->n) {
		rc = parse_error(&p, 0, "a selector needs at least one matcher "
		    "that does not match the empty string");
		goto fail;
	}
	*out = s;
	s = NULL;

fail:
	buf_release(&value);
	selector_free(s);
	return rc;
}
