/*
 * expfmt.c - the exposition formats' parser (expfmt.h).
 *
 * One pass over the buffer, a line at a time: line() sends a line to
 * the metadata parsers (text_comment, om_comment) or to sample(). A
 * cursor (p->at) walks the line; strings the callbacks get are copied,
 * unescaped and NUL-terminated, into p->scratch, which is made big
 * enough for the whole line before the line is read, so pointers into it
 * stay good until the line is done. Families are kept in an open-addressed
 * table keyed by name (XXH3, seeded per parse) for the checks that span
 * lines: a second HELP, a TYPE after samples, interleaved families, and
 * which family "x_sum" belongs to.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <xxhash.h>

#include "model/expfmt.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

enum {
	F_HELP		= 1 << 0,
	F_TYPE		= 1 << 1,
	F_UNIT		= 1 << 2,
	F_SAMPLES	= 1 << 3,
};

struct family {
	size_t		 off;		/* of the name in p->names */
	size_t		 len;
	enum expfmt_type type;
	unsigned	 flags;		/* F_* */
};

#define DUP_SLOTS	1024		/* > 2 * EXPFMT_LABELS_MAX, a power of 2 */
#define QUOTE_MAX	48		/* characters of input shown in a message */
#define NOFAMILY	((size_t)-1)

struct parser {
	enum expfmt_format fmt;
	const struct expfmt_handler *h;
	struct expfmt_stats *st;
	int		 om;		/* fmt == EXPFMT_OPENMETRICS */

	/* the line being read */
	const char	*line;
	const char	*end;		/* of the line, at its \n */
	const char	*at;		/* the cursor */
	size_t		 lineno;

	char		*scratch;	/* the line's strings */
	size_t		 scratch_len;
	size_t		 scratch_cap;

	struct expfmt_label labels[EXPFMT_LABELS_MAX];
	const char	*label_at[EXPFMT_LABELS_MAX];	/* where each name was */
	struct expfmt_label exlabels[EXPFMT_LABELS_MAX];
	uint32_t	 dup_gen[DUP_SLOTS];	/* the duplicate label check */
	uint16_t	 dup_idx[DUP_SLOTS];
	uint32_t	 gen;

	struct family	*fams;
	size_t		 nfams;
	size_t		 fams_cap;
	uint32_t	*slots;		/* index + 1, 0 for none */
	size_t		 nslots;	/* a power of 2, >= 2 * nfams */
	struct buf	 names;		/* family names, each NUL-terminated */
	uint64_t	 seed;
	size_t		 cur;		/* the current family or NOFAMILY */

	int		 saw_eof;
	char		 quoted[2][QUOTE_MAX * 4 + 8];
};

static const char *const type_names_text[] = {
	[EXPFMT_UNTYPED] = "untyped", [EXPFMT_COUNTER] = "counter",
	[EXPFMT_GAUGE] = "gauge", [EXPFMT_HISTOGRAM] = "histogram",
	[EXPFMT_SUMMARY] = "summary", [EXPFMT_INFO] = "info",
	[EXPFMT_STATESET] = "stateset", [EXPFMT_GAUGEHISTOGRAM] = "gaugehistogram",
};

/* The suffixes a type's samples may add to the family's name (OpenMetrics). */
static const char *const *
suffixes(enum expfmt_type t)
{
	static const char *const none[] = { "", NULL };
	static const char *const counter[] = { "_total", "_created", NULL };
	static const char *const histogram[] = { "_bucket", "_count", "_sum",
	    "_created", NULL };
	static const char *const gaugehistogram[] = { "_bucket", "_gcount",
	    "_gsum", NULL };
	static const char *const summary[] = { "", "_count", "_sum", "_created",
	    NULL };
	static const char *const info[] = { "_info", NULL };

	switch (t) {
	case EXPFMT_COUNTER:		return counter;
	case EXPFMT_HISTOGRAM:		return histogram;
	case EXPFMT_GAUGEHISTOGRAM:	return gaugehistogram;
	case EXPFMT_SUMMARY:		return summary;
	case EXPFMT_INFO:		return info;
	case EXPFMT_UNTYPED:
	case EXPFMT_GAUGE:
	case EXPFMT_STATESET:
		break;
	}
	return none;
}

const char *
expfmt_type_name(enum expfmt_type t, enum expfmt_format fmt)
{
	if (t == EXPFMT_UNTYPED)
		return fmt == EXPFMT_OPENMETRICS ? "unknown" : "untyped";
	if ((size_t)t < sizeof(type_names_text) / sizeof(type_names_text[0]))
		return type_names_text[t];
	return "?";
}

/* ---- messages ---- */

/*
 * s[0..n) for a message, in double quotes, cut short after QUOTE_MAX
 * characters: valid UTF-8 as it is, '"' and '\\' escaped, control
 * characters and other bytes as \xNN. Slot 0 or 1.
 */
static const char *
quote(struct parser *p, int slot, const char *s, size_t n)
{
	char *o = p->quoted[slot];
	size_t shown = 0, i = 0, k;

	*o++ = '"';
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (shown++ == QUOTE_MAX) {
			memcpy(o, "...", 3);
			o += 3;
			break;
		}
		k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (c >= 0x80 && k <= n - i && utf8_valid(s + i, k) == k) {
			memcpy(o, s + i, k);	/* at most 4 bytes a character */
			o += k;
			i += k;
			continue;
		}
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			memcpy(o, "\\n", 2);
			o += 2;
		} else if (c < 0x20 || c >= 0x7f) {
			o += sprintf(o, "\\x%02x", c);
		} else {
			*o++ = (char)c;
		}
		i++;
	}
	*o++ = '"';
	*o = '\0';
	return p->quoted[slot];
}

/* The character at the cursor, for "found ...". */
static const char *
found(struct parser *p, int slot)
{
	unsigned char c;

	if (p->at >= p->end)
		return "the end of the line";
	c = (unsigned char)*p->at;
	if (c == '\'')
		snprintf(p->quoted[slot], sizeof(p->quoted[slot]), "\"'\"");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(p->quoted[slot], sizeof(p->quoted[slot]), "'%c'", c);
	else
		snprintf(p->quoted[slot], sizeof(p->quoted[slot]), "byte 0x%02x", c);
	return p->quoted[slot];
}

/* Characters (UTF-8 lead bytes and stray bytes) before `at` on the line, plus 1. */
static size_t
column(const struct parser *p, const char *at)
{
	return utf8_chars(p->line, (size_t)(at - p->line)) + 1;
}

static int	fail_at(struct parser *p, const char *at, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

static int
fail_at(struct parser *p, const char *at, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(-EINVAL, "line %zu, column %zu: %s", p->lineno,
	    column(p, at), msg);
}

/* ---- characters ---- */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    is_digit(c);
}

static int
is_metric_char(char c)
{
	return is_label_char(c) || c == ':';
}

/* ---- the scratch space ---- */

/* Copy s[0..n) to scratch, NUL-terminated; the line's size guarantees room. */
static char *
scratch_put(struct parser *p, const char *s, size_t n)
{
	char *d = p->scratch + p->scratch_len;

	if (p->scratch_len + n + 1 > p->scratch_cap)
		abort();	/* the sizing in line() is wrong */
	memcpy(d, s, n);
	d[n] = '\0';
	p->scratch_len += n + 1;
	return d;
}

/* ---- families ---- */

static uint64_t
name_hash(const struct parser *p, const char *s, size_t n)
{
	return XXH3_64bits_withSeed(s, n, p->seed);
}

static const char *
fam_name(const struct parser *p, size_t i)
{
	return p->names.data + p->fams[i].off;
}

static size_t
fam_find(const struct parser *p, const char *s, size_t n)
{
	size_t mask = p->nslots - 1, i;
	uint32_t v;

	if (p->nslots == 0)
		return NOFAMILY;
	for (i = name_hash(p, s, n) & mask; (v = p->slots[i]) != 0;
	    i = (i + 1) & mask) {
		const struct family *f = &p->fams[v - 1];
		if (f->len == n && memcmp(fam_name(p, v - 1), s, n) == 0)
			return v - 1;
	}
	return NOFAMILY;
}

static void
fam_slot(struct parser *p, size_t idx)
{
	const struct family *f = &p->fams[idx];
	size_t mask = p->nslots - 1, i;

	for (i = name_hash(p, fam_name(p, idx), f->len) & mask; p->slots[i] != 0;
	    i = (i + 1) & mask)
		;
	p->slots[i] = (uint32_t)(idx + 1);
}

/* A new family (not in the table yet), made current; or -EINVAL past the limit. */
static int
fam_add(struct parser *p, const char *at, const char *s, size_t n,
    enum expfmt_type type, size_t *out)
{
	struct family *f;

	if (p->nfams >= EXPFMT_FAMILIES_MAX)
		return fail_at(p, at, "more than %d metric families",
		    EXPFMT_FAMILIES_MAX);
	if (2 * (p->nfams + 1) > p->nslots) {
		free(p->slots);
		p->nslots = p->nslots == 0 ? 64 : p->nslots * 2;
		p->slots = xcalloc(p->nslots, sizeof(*p->slots));
		for (size_t i = 0; i < p->nfams; i++)
			fam_slot(p, i);
	}
	p->fams = xgrow(p->fams, &p->fams_cap, p->nfams + 1, sizeof(*p->fams));
	f = &p->fams[p->nfams];
	f->off = p->names.len;
	f->len = n;
	f->type = type;
	f->flags = 0;
	if (buf_append(&p->names, s, n) != 0 || buf_putc(&p->names, '\0') != 0)
		return fail_at(p, at, "too many metric family names");
	fam_slot(p, p->nfams);
	*out = p->cur = p->nfams++;
	if (p->st != NULL)
		p->st->families++;
	return 0;
}

/* ---- tokens ---- */

static void
skip_blanks(struct parser *p)
{
	while (p->at < p->end && is_blank(*p->at))
		p->at++;
}

/* Between tokens: blanks and tabs in text, one space in OpenMetrics. 1 if there was. */
static int
separator(struct parser *p)
{
	const char *start = p->at;

	if (p->om) {
		if (p->at < p->end && *p->at == ' ') {
			p->at++;
			return 1;
		}
		return 0;
	}
	skip_blanks(p);
	return p->at > start;
}

/* A run of non-separator bytes. */
static size_t
token(struct parser *p, const char **tok)
{
	const char *s = p->at;

	while (p->at < p->end && !(p->om ? *p->at == ' ' : is_blank(*p->at)))
		p->at++;
	*tok = s;
	return (size_t)(p->at - s);
}

/* A metric name at the cursor, checked; what names it for messages in `what`. */
static int
metric_name(struct parser *p, const char *what, const char **name,
    size_t *len)
{
	const char *s = p->at;

	while (p->at < p->end && is_metric_char(*p->at))
		p->at++;
	*name = s;
	*len = (size_t)(p->at - s);
	if (*len == 0)
		return fail_at(p, s, "expected a metric name%s, found %s", what,
		    found(p, 0));
	if (is_digit(*s))
		return fail_at(p, s, "invalid metric name %s: it must not "
		    "start with a digit", quote(p, 0, s, *len));
	return 0;
}

/* The end of the line, or an error naming what came before. */
static int
line_end(struct parser *p, const char *after)
{
	const char *tok;
	size_t n;

	if (!p->om)
		skip_blanks(p);
	if (p->at == p->end)
		return 0;
	if (p->om && *p->at == ' ')
		return fail_at(p, p->at, "unexpected space after %s "
		    "(OpenMetrics separates tokens with one space and has "
		    "none at the end of a line)", after);
	n = token(p, &tok);
	return fail_at(p, tok, "unexpected %s after %s", quote(p, 0, tok, n),
	    after);
}

/* ---- numbers ---- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void
c_locale_init(void)
{
	if ((c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0)) == (locale_t)0)
		abort();
}

static int
prefix_ci(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n == w && strncasecmp(s, word, w) == 0;
}

static size_t
digits(const char *s, size_t n, size_t i, int hex)
{
	while (i < n && (is_digit(s[i]) || (hex && ((s[i] >= 'a' &&
	    s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))))
		i++;
	return i;
}

/*
 * Whether s[0..n) is a number in the format: 1 finite syntax, 2
 * infinity or NaN, 0 not a number. Text: Go's ParseFloat (hexadecimal
 * floats with their 'p' exponent too); OpenMetrics: its ABNF.
 */
static int
number_syntax(const char *s, size_t n, int om)
{
	size_t i = 0, j, k;
	int hex = 0;

	if (prefix_ci(s, n, "nan"))
		return 2;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (prefix_ci(s + i, n - i, "inf") || prefix_ci(s + i, n - i, "infinity"))
		return 2;
	if (!om && n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		hex = 1;
		i += 2;
	}
	j = digits(s, n, i, hex);		/* the integer part */
	k = j;
	if (k < n && s[k] == '.')
		k = digits(s, n, k + 1, hex);	/* the fraction */
	if (j == i && k <= j + 1)
		return 0;			/* no digit at all */
	if (hex) {
		if (k == n || (s[k] != 'p' && s[k] != 'P'))
			return 0;
	} else if (k == n || (s[k] != 'e' && s[k] != 'E')) {
		return k == n;
	}
	k++;
	if (k < n && (s[k] == '+' || s[k] == '-'))
		k++;
	j = digits(s, n, k, 0);
	return j > k && j == n;
}

/* s[0..n) as a double, or -EINVAL (message about `what`, at s). */
static int
number(struct parser *p, const char *s, size_t n, const char *what, double *out)
{
	char *copy, *end;
	size_t mark = p->scratch_len;
	int syn = number_syntax(s, n, p->om);

	if (syn == 0)
		return fail_at(p, s, "invalid %s %s: expected a number, NaN, "
		    "+Inf or -Inf", what, quote(p, 0, s, n));
	copy = scratch_put(p, s, n);
	pthread_once(&c_locale_once, c_locale_init);
	errno = 0;
	*out = strtod_l(copy, &end, c_locale);
	p->scratch_len = mark;
	if (end != copy + n)
		return fail_at(p, s, "invalid %s %s: expected a number", what,
		    quote(p, 0, s, n));
	if (syn == 1 && isinf(*out))
		return fail_at(p, s, "%s %s is out of range", what,
		    quote(p, 0, s, n));
	return 0;
}

/* Text: integer milliseconds, as Go's ParseInt(s, 10, 64). */
static int
timestamp_text(struct parser *p, const char *s, size_t n, int64_t *ms)
{
	uint64_t v = 0, lim;
	size_t i = 0;
	int neg = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		goto bad;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			goto bad;
		if (v > (lim - (uint64_t)(s[i] - '0')) / 10)
			return fail_at(p, s, "timestamp %s is out of range",
			    quote(p, 0, s, n));
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ms = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
bad:
	return fail_at(p, s, "invalid timestamp %s: expected integer "
	    "milliseconds since the epoch", quote(p, 0, s, n));
}

/*
 * OpenMetrics: seconds, perhaps with a fraction or an exponent, to
 * milliseconds, exactly: the decimal digits times a power of ten, digits
 * below the millisecond dropped (toward zero).
 */
static int
timestamp_om(struct parser *p, const char *s, size_t n, int64_t *ms)
{
	uint64_t v = 0, lim;
	size_t i = 0, m = 0, first;
	long long e = 0, k, keep;
	int neg = 0, eneg = 0;
	const char *dig[2];
	size_t dn[2] = { 0, 0 };

	if (number_syntax(s, n, 1) != 1)
		return fail_at(p, s, "invalid timestamp %s: expected seconds "
		    "since the epoch", quote(p, 0, s, n));
	if (s[0] == '+' || s[0] == '-')
		neg = s[i++] == '-';
	dig[0] = s + i;
	while (i < n && is_digit(s[i]))
		i++, dn[0]++;
	dig[1] = s + i + 1;
	if (i < n && s[i] == '.')
		for (i++; i < n && is_digit(s[i]); i++)
			dn[1]++;
	if (i < n) {		/* the exponent, saturated */
		i++;
		if (s[i] == '+' || s[i] == '-')
			eneg = s[i++] == '-';
		for (; i < n; i++)
			if (e < 100000000)
				e = e * 10 + (s[i] - '0');
		if (eneg)
			e = -e;
	}
	/* value = D * 10^(e - dn[1]); ms = D * 10^k */
	k = e - (long long)dn[1] + 3;
	/* skip leading zeros of D */
	for (first = 0; first < dn[0] + dn[1]; first++) {
		char c = first < dn[0] ? dig[0][first] : dig[1][first - dn[0]];
		if (c != '0')
			break;
	}
	m = dn[0] + dn[1] - first;		/* significant digits */
	keep = (long long)m + (k < 0 ? k : 0);	/* those above the millisecond */
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (long long d = 0; d < keep; d++) {
		size_t at = first + (size_t)d;
		char c = at < dn[0] ? dig[0][at] : dig[1][at - dn[0]];
		if (v > (lim - (uint64_t)(c - '0')) / 10)
			goto range;
		v = v * 10 + (uint64_t)(c - '0');
	}
	for (long long z = 0; keep > 0 && z < k; z++) {
		if (v > lim / 10)
			goto range;
		v *= 10;
	}
	*ms = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
range:
	return fail_at(p, s, "timestamp %s is out of range", quote(p, 0, s, n));
}

/* ---- labels ---- */

/*
 * A quoted string at the cursor (just past its '"'), unescaped into
 * scratch: text knows \\ \" \n and nothing else; OpenMetrics keeps an
 * unknown escape's backslash. `what` names it in messages.
 */
static int
quoted_value(struct parser *p, const char *open, const char *what,
    const char **out, size_t *outlen)
{
	const char *s = p->at, *bad;
	char *d = p->scratch + p->scratch_len, *start = d;
	size_t ok;

	while (p->at < p->end && *p->at != '"') {
		if (*p->at != '\\') {
			*d++ = *p->at++;
			continue;
		}
		if (p->at + 1 >= p->end)
			break;
		switch (p->at[1]) {
		case '\\':	*d++ = '\\'; break;
		case '"':	*d++ = '"'; break;
		case 'n':	*d++ = '\n'; break;
		default:
			if (!p->om)
				return fail_at(p, p->at, "invalid escape "
				    "sequence %s in %s (known: \\\\, \\\" and "
				    "\\n)", quote(p, 0, p->at, 2), what);
			*d++ = '\\';
			p->at++;	/* the next byte as it is */
			continue;
		}
		p->at += 2;
	}
	if (p->at >= p->end)
		return fail_at(p, open, "%s has no closing '\"'", what);
	if ((ok = utf8_valid(s, (size_t)(p->at - s))) != (size_t)(p->at - s)) {
		bad = s + ok;
		return fail_at(p, bad, "%s is not valid UTF-8", what);
	}
	*d = '\0';
	*out = start;
	*outlen = (size_t)(d - start);
	p->scratch_len += *outlen + 1;
	p->at++;	/* the closing quote */
	return 0;
}

/*
 * The labels at the cursor (on '{'), into v; *nv their number. For an
 * exemplar, `ex` is set: no "__name__" rule, a limit on characters.
 */
static int
labels(struct parser *p, struct expfmt_label *v, size_t *nv, int ex)
{
	const char *open = p->at, *name, *vopen;
	size_t n = 0, nlen, chars = 0, mask = DUP_SLOTS - 1;
	char what[128];
	uint32_t gen;
	int rc;

	p->at++;	/* '{' */
	if (++p->gen == 0) {
		memset(p->dup_gen, 0, sizeof(p->dup_gen));
		p->gen = 1;
	}
	gen = p->gen;
	for (;;) {
		if (!p->om)
			skip_blanks(p);
		if (p->at < p->end && *p->at == '}' && (n == 0 || !p->om))
			break;
		name = p->at;
		while (p->at < p->end && is_label_char(*p->at))
			p->at++;
		nlen = (size_t)(p->at - name);
		if (nlen == 0) {
			if (p->at >= p->end)
				return fail_at(p, open, "the labels have no "
				    "closing '}'");
			return fail_at(p, p->at, "expected a label name%s, found %s",
			    n == 0 ? " or '}'" : "", found(p, 0));
		}
		if (is_digit(*name))
			return fail_at(p, name, "invalid label name %s: it must "
			    "not start with a digit", quote(p, 0, name, nlen));
		if (n == EXPFMT_LABELS_MAX)
			return fail_at(p, name, "more than %d labels",
			    EXPFMT_LABELS_MAX);
		if (!ex && nlen == 8 && memcmp(name, "__name__", 8) == 0)
			return fail_at(p, name, "label name \"__name__\" is "
			    "reserved");
		/* a label name twice: a table of this sample's names */
		{
			uint64_t hh = XXH3_64bits_withSeed(name, nlen, p->seed);
			size_t i;
			for (i = hh & mask; p->dup_gen[i] == gen; i = (i + 1) & mask) {
				const struct expfmt_label *o = &v[p->dup_idx[i]];
				if (o->name_len == nlen && memcmp(o->name, name,
				    nlen) == 0)
					return fail_at(p, name, "duplicate label "
					    "name %s", quote(p, 0, name, nlen));
			}
			p->dup_gen[i] = gen;
			p->dup_idx[i] = (uint16_t)n;
		}
		v[n].name = scratch_put(p, name, nlen);
		v[n].name_len = nlen;
		if (!ex)
			p->label_at[n] = name;
		if (!p->om)
			skip_blanks(p);
		if (p->at >= p->end || *p->at != '=')
			return fail_at(p, p->at, "expected '=' after label name "
			    "%s, found %s", quote(p, 0, name, nlen), found(p, 1));
		p->at++;
		if (!p->om)
			skip_blanks(p);
		if (p->at >= p->end || *p->at != '"')
			return fail_at(p, p->at, "expected '\"' to open the value "
			    "of label %s, found %s", quote(p, 0, name, nlen),
			    found(p, 1));
		vopen = p->at++;
		snprintf(what, sizeof(what), "the value of label %s",
		    quote(p, 0, name, nlen));
		if ((rc = quoted_value(p, vopen, what, &v[n].value,
		    &v[n].value_len)) != 0)
			return rc;
		if (ex) {
			chars += utf8_chars(v[n].name, nlen) +
			    utf8_chars(v[n].value, v[n].value_len);
			if (chars > EXPFMT_EXEMPLAR_MAX)
				return fail_at(p, open, "the exemplar's labels "
				    "have more than %d characters",
				    EXPFMT_EXEMPLAR_MAX);
		}
		n++;
		if (!p->om)
			skip_blanks(p);
		if (p->at < p->end && *p->at == '}')
			break;
		if (p->at >= p->end || *p->at != ',')
			return fail_at(p, p->at, "expected ',' or '}' after the "
			    "value of label %s, found %s",
			    quote(p, 0, v[n - 1].name, v[n - 1].name_len),
			    found(p, 1));
		p->at++;
		if (p->om && p->at < p->end && *p->at == '}')
			return fail_at(p, p->at, "expected a label name after "
			    "',' (OpenMetrics allows no ',' before '}')");
	}
	p->at++;	/* '}' */
	*nv = n;
	return 0;
}

/* ---- samples ---- */

static const char *
label_find(const struct parser *p, size_t n, const char *name, size_t *idx)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (p->labels[i].name_len == len &&
		    memcmp(p->labels[i].name, name, len) == 0) {
			*idx = i;
			return p->labels[i].value;
		}
	return NULL;
}

/* The suffixes of a type as a list for a message: "_total or _created". */
static void
suffix_list(enum expfmt_type t, char *out, size_t size)
{
	const char *const *sx = suffixes(t);
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; sx[i] != NULL && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i == 0 ? "" :
		    sx[i + 1] == NULL ? " or " : ", ", sx[i]);
}

/* Whether name[0..n) is family f's name plus a suffix its type allows. */
static int
belongs(const struct parser *p, size_t f, const char *name, size_t n)
{
	const struct family *fam = &p->fams[f];
	const char *const *sx = suffixes(fam->type);

	if (n < fam->len || memcmp(name, fam_name(p, f), fam->len) != 0)
		return 0;
	for (size_t i = 0; sx[i] != NULL; i++)
		if (strlen(sx[i]) == n - fam->len &&
		    memcmp(name + fam->len, sx[i], n - fam->len) == 0)
			return 1;
	return 0;
}

/* OpenMetrics: the family of a sample (see expfmt.h). */
static int
family_om(struct parser *p, const char *name, size_t n, size_t *out)
{
	static const char *const all[] = { "_total", "_created", "_bucket",
	    "_count", "_sum", "_gcount", "_gsum", "_info", NULL };
	char list[96];
	size_t f;

	if (p->cur != NOFAMILY) {
		if (belongs(p, p->cur, name, n)) {
			*out = p->cur;
			return 0;
		}
		f = p->cur;
		if (p->fams[f].len == n && memcmp(fam_name(p, f), name, n) == 0) {
			suffix_list(p->fams[f].type, list, sizeof(list));
			return fail_at(p, name, "a sample of %s %s must be named "
			    "with the suffix %s", expfmt_type_name(p->fams[f].type,
			    p->fmt), quote(p, 0, name, n), list);
		}
	}
	f = fam_find(p, name, n);
	for (size_t i = 0; f == NOFAMILY && all[i] != NULL; i++) {
		size_t sl = strlen(all[i]), b;
		if (n > sl && memcmp(name + n - sl, all[i], sl) == 0 &&
		    (b = fam_find(p, name, n - sl)) != NOFAMILY &&
		    belongs(p, b, name, n))
			f = b;
	}
	if (f != NOFAMILY)
		return fail_at(p, name, "metric family %s appears again after "
		    "other families (OpenMetrics families must not be "
		    "interleaved)", quote(p, 0, fam_name(p, f), p->fams[f].len));
	return fam_add(p, name, name, n, EXPFMT_UNTYPED, out);
}

/* Text: the family of a sample, as Prometheus decides it. */
static int
family_text(struct parser *p, const char *name, size_t n, size_t *out)
{
	static const char *const sx[] = { "_bucket", "_count", "_sum", NULL };
	size_t f;

	if ((f = fam_find(p, name, n)) != NOFAMILY) {
		*out = p->cur = f;
		return 0;
	}
	for (size_t i = 0; sx[i] != NULL; i++) {
		size_t sl = strlen(sx[i]);
		if (n > sl && memcmp(name + n - sl, sx[i], sl) == 0 &&
		    (f = fam_find(p, name, n - sl)) != NOFAMILY &&
		    (p->fams[f].type == EXPFMT_HISTOGRAM ||
		    (p->fams[f].type == EXPFMT_SUMMARY && i > 0))) {
			*out = p->cur = f;
			return 0;
		}
	}
	return fam_add(p, name, name, n, EXPFMT_UNTYPED, out);
}

/* What the family's type asks of a sample: "le", "quantile", exemplars. */
static int
sample_rules(struct parser *p, const char *name, const struct expfmt_sample *s,
    const char *exemplar_at)
{
	const struct family *f = &p->fams[p->cur];
	const char *sfx = s->name + f->len, *v;
	int bucket = (f->type == EXPFMT_HISTOGRAM ||
	    f->type == EXPFMT_GAUGEHISTOGRAM) && strcmp(sfx, "_bucket") == 0;
	size_t i;

	if (bucket) {
		if ((v = label_find(p, s->nlabels, "le", &i)) == NULL)
			return fail_at(p, name, "histogram bucket %s has no "
			    "\"le\" label", quote(p, 0, s->name, s->name_len));
		if (number_syntax(v, s->labels[i].value_len, p->om) == 0)
			return fail_at(p, p->label_at[i], "the value %s of "
			    "label \"le\" is not a number", quote(p, 0, v,
			    s->labels[i].value_len));
	}
	if (f->type == EXPFMT_SUMMARY && *sfx == '\0' &&
	    (v = label_find(p, s->nlabels, "quantile", &i)) != NULL &&
	    number_syntax(v, s->labels[i].value_len, p->om) == 0)
		return fail_at(p, p->label_at[i], "the value %s of label "
		    "\"quantile\" is not a number", quote(p, 0, v,
		    s->labels[i].value_len));
	if (exemplar_at != NULL && !bucket &&
	    !(f->type == EXPFMT_COUNTER && strcmp(sfx, "_total") == 0))
		return fail_at(p, exemplar_at, "an exemplar on %s: only a "
		    "counter's _total and a histogram's _bucket samples may "
		    "have one", quote(p, 0, s->name, s->name_len));
	return 0;
}

/* " # {labels} value [timestamp]", the cursor on the '#'. */
static int
exemplar(struct parser *p, struct expfmt_exemplar *ex)
{
	const char *tok, *sp;
	size_t n;
	int rc;

	p->at++;
	if (p->at + 1 >= p->end || p->at[0] != ' ' || p->at[1] != '{') {
		if (p->at < p->end && *p->at == ' ')
			p->at++;
		return fail_at(p, p->at, "expected '{' to open an exemplar's "
		    "labels after \" # \", found %s", found(p, 0));
	}
	p->at++;
	if ((rc = labels(p, p->exlabels, &ex->nlabels, 1)) != 0)
		return rc;
	ex->labels = p->exlabels;
	if (!separator(p))
		return fail_at(p, p->at, "expected a space and the exemplar's "
		    "value after its labels, found %s", found(p, 0));
	if ((n = token(p, &tok)) == 0)
		return fail_at(p, tok, "expected the exemplar's value, found %s",
		    found(p, 0));
	if ((rc = number(p, tok, n, "exemplar value", &ex->value)) != 0)
		return rc;
	sp = p->at;
	if (separator(p) && p->at < p->end) {
		n = token(p, &tok);
		if ((rc = timestamp_om(p, tok, n, &ex->timestamp_ms)) != 0)
			return rc;
		ex->has_timestamp = 1;
	} else {
		p->at = sp;
	}
	return line_end(p, "the exemplar");
}

static int
sample(struct parser *p)
{
	struct expfmt_sample s;
	struct expfmt_exemplar ex;
	const char *name, *tok, *sp, *ex_at = NULL;
	size_t nlen, n, fi;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&ex, 0, sizeof(ex));
	if ((rc = metric_name(p, "", &name, &nlen)) != 0)
		return rc;
	s.name = scratch_put(p, name, nlen);
	s.name_len = nlen;
	if (!p->om)
		skip_blanks(p);
	if (p->at < p->end && *p->at == '{') {
		if ((rc = labels(p, p->labels, &s.nlabels, 0)) != 0)
			return rc;
		s.labels = p->labels;
		if (!separator(p) && p->om)
			return fail_at(p, p->at, "expected a space and a value "
			    "after the labels of %s, found %s", quote(p, 0, name,
			    nlen), found(p, 1));
	} else if (p->at == name + nlen && p->at < p->end && !separator(p)) {
		return fail_at(p, p->at, "invalid character %s in metric name "
		    "%s", found(p, 0), quote(p, 1, name, nlen));
	}
	if ((n = token(p, &tok)) == 0)
		return fail_at(p, tok, "expected a value for %s, found %s",
		    quote(p, 0, name, nlen), found(p, 1));
	if ((rc = number(p, tok, n, "value", &s.value)) != 0)
		return rc;
	if (p->om) {
		sp = p->at;
		if (separator(p) && p->at < p->end && *p->at != '#') {
			n = token(p, &tok);
			if ((rc = timestamp_om(p, tok, n, &s.timestamp_ms)) != 0)
				return rc;
			s.has_timestamp = 1;
			sp = p->at;
			separator(p);
		}
		if (p->at < p->end && *p->at == '#' && p->at > sp) {
			ex_at = p->at;
			if ((rc = exemplar(p, &ex)) != 0)
				return rc;
			s.exemplar = &ex;
		} else {
			p->at = sp;
			if ((rc = line_end(p, s.has_timestamp ? "the timestamp" :
			    "the value")) != 0)
				return rc;
		}
	} else {
		if (separator(p) && p->at < p->end) {
			n = token(p, &tok);
			if ((rc = timestamp_text(p, tok, n, &s.timestamp_ms)) != 0)
				return rc;
			s.has_timestamp = 1;
		}
		if ((rc = line_end(p, s.has_timestamp ? "the timestamp" :
		    "the value")) != 0)
			return rc;
	}

	rc = p->om ? family_om(p, name, nlen, &fi) : family_text(p, name, nlen, &fi);
	if (rc != 0)
		return rc;
	p->fams[fi].flags |= F_SAMPLES;
	s.family = fam_name(p, fi);
	s.family_len = p->fams[fi].len;
	s.type = p->fams[fi].type;
	s.line = p->lineno;
	if ((rc = sample_rules(p, name, &s, ex_at)) != 0)
		return rc;
	p->st->samples++;
	if (s.exemplar != NULL)
		p->st->exemplars++;
	if (p->h != NULL && p->h->on_sample != NULL)
		return p->h->on_sample(p->h->arg, &s);
	return 0;
}

/* ---- metadata ---- */

/* A HELP text: unescaped into scratch, checked for UTF-8. */
static int
help_text(struct parser *p, const char *s, size_t n, const char **out,
    size_t *outlen)
{
	char *d = p->scratch + p->scratch_len, *start = d;
	size_t ok;

	if ((ok = utf8_valid(s, n)) != n)
		return fail_at(p, s + ok, "the help text is not valid UTF-8");
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*d++ = s[i];
			continue;
		}
		if (i + 1 == n)
			return fail_at(p, s + i, "a lone '\\' at the end of "
			    "the help text");
		switch (s[i + 1]) {
		case '\\':	*d++ = '\\'; i++; continue;
		case 'n':	*d++ = '\n'; i++; continue;
		case '"':
			if (p->om) {
				*d++ = '"';
				i++;
				continue;
			}
			break;
		default:
			break;
		}
		if (!p->om)
			return fail_at(p, s + i, "invalid escape sequence %s in "
			    "the help text (known: \\\\ and \\n)",
			    quote(p, 0, s + i, 2));
		*d++ = '\\';
	}
	*d = '\0';
	*out = start;
	*outlen = (size_t)(d - start);
	p->scratch_len += *outlen + 1;
	return 0;
}

static int
parse_type(struct parser *p, const char *s, size_t n, enum expfmt_type *t)
{
	static const enum expfmt_type text[] = { EXPFMT_COUNTER, EXPFMT_GAUGE,
	    EXPFMT_HISTOGRAM, EXPFMT_SUMMARY };
	static const enum expfmt_type om[] = { EXPFMT_COUNTER, EXPFMT_GAUGE,
	    EXPFMT_HISTOGRAM, EXPFMT_GAUGEHISTOGRAM, EXPFMT_STATESET,
	    EXPFMT_INFO, EXPFMT_SUMMARY };
	const enum expfmt_type *v = p->om ? om : text;
	size_t nv = p->om ? sizeof(om) / sizeof(om[0]) : sizeof(text) / sizeof(text[0]);

	for (size_t i = 0; i < nv; i++) {
		const char *w = type_names_text[v[i]];
		if (strlen(w) == n && memcmp(w, s, n) == 0) {
			*t = v[i];
			return 0;
		}
	}
	if (n == 7 && memcmp(s, p->om ? "unknown" : "untyped", 7) == 0) {
		*t = EXPFMT_UNTYPED;
		return 0;
	}
	if (n == 0)
		return fail_at(p, s, "expected a metric type, found %s",
		    found(p, 0));
	return fail_at(p, s, "unknown metric type %s: expected %s",
	    quote(p, 0, s, n), p->om ? "counter, gauge, histogram, "
	    "gaugehistogram, summary, info, stateset or unknown" :
	    "counter, gauge, histogram, summary or untyped");
}

/* The family a metadata line is about, with the checks of its kind. */
static int
meta_family(struct parser *p, const char *name, size_t n, const char *kw,
    unsigned flag, size_t *out)
{
	size_t f;
	int rc;

	if (p->om && p->cur != NOFAMILY && p->fams[p->cur].len == n &&
	    memcmp(fam_name(p, p->cur), name, n) == 0)
		f = p->cur;
	else if ((f = fam_find(p, name, n)) != NOFAMILY && p->om)
		return fail_at(p, name, "metric family %s appears again after "
		    "other families (OpenMetrics families must not be "
		    "interleaved)", quote(p, 0, name, n));
	if (f == NOFAMILY && (rc = fam_add(p, name, name, n, EXPFMT_UNTYPED,
	    &f)) != 0)
		return rc;
	if (p->fams[f].flags & flag)
		return fail_at(p, name, "second %s line for metric %s", kw,
		    quote(p, 0, name, n));
	if ((p->fams[f].flags & F_SAMPLES) && (p->om || flag == F_TYPE))
		return fail_at(p, name, "%s line for metric %s after its "
		    "samples", kw, quote(p, 0, name, n));
	p->cur = *out = f;
	return 0;
}

static int
emit_meta(struct parser *p, struct expfmt_meta *m, size_t f)
{
	m->family = fam_name(p, f);
	m->family_len = p->fams[f].len;
	m->line = p->lineno;
	if (m->text == NULL)
		m->text = "";
	p->st->metas++;
	if (p->h != NULL && p->h->on_meta != NULL)
		return p->h->on_meta(p->h->arg, m);
	return 0;
}

/* "# HELP name text", "# TYPE name type", "# UNIT name unit": the cursor on the name. */
static int
meta(struct parser *p, enum expfmt_meta_kind kind, const char *kw)
{
	struct expfmt_meta m;
	const char *name, *s, *e, *tok;
	size_t nlen, f, n;
	char after[32];
	int rc;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	snprintf(after, sizeof(after), " after %s", kw);
	if ((rc = metric_name(p, after, &name, &nlen)) != 0)
		return rc;
	if (p->at < p->end && !(p->om ? *p->at == ' ' : is_blank(*p->at)))
		return fail_at(p, p->at, "invalid character %s in metric name %s",
		    found(p, 0), quote(p, 1, name, nlen));
	switch (kind) {
	case EXPFMT_TYPE:
		if (!separator(p))
			return fail_at(p, p->at, "expected a metric type after "
			    "%s, found %s", quote(p, 0, name, nlen), found(p, 1));
		n = token(p, &tok);
		if ((rc = parse_type(p, tok, n, &m.type)) != 0)
			return rc;
		if ((rc = line_end(p, "the type")) != 0)
			return rc;
		if ((rc = meta_family(p, name, nlen, kw, F_TYPE, &f)) != 0)
			return rc;
		p->fams[f].flags |= F_TYPE;
		p->fams[f].type = m.type;
		return emit_meta(p, &m, f);
	case EXPFMT_HELP:
		separator(p);
		s = p->at;
		e = p->end;
		if (!p->om)
			while (e > s && is_blank(e[-1]))
				e--;
		if ((rc = help_text(p, s, (size_t)(e - s), &m.text,
		    &m.text_len)) != 0)
			return rc;
		if ((rc = meta_family(p, name, nlen, kw, m.text_len > 0 ||
		    !p->om ? F_HELP : 0, &f)) != 0)
			return rc;
		if (p->om && m.text_len == 0)
			return 0;	/* as if there were none */
		p->fams[f].flags |= F_HELP;
		return emit_meta(p, &m, f);
	case EXPFMT_UNIT:
		separator(p);
		for (s = p->at; p->at < p->end && is_metric_char(*p->at); p->at++)
			;
		if ((rc = line_end(p, "the unit")) != 0)
			return rc;
		n = (size_t)(p->at - s);
		if (n > 0 && (nlen <= n || name[nlen - n - 1] != '_' ||
		    memcmp(name + nlen - n, s, n) != 0))
			return fail_at(p, s, "unit %s is not the suffix of metric "
			    "family %s (the name must end in \"_%.*s\")",
			    quote(p, 0, s, n), quote(p, 1, name, nlen),
			    (int)(n > 64 ? 64 : n), s);
		if ((rc = meta_family(p, name, nlen, kw, n > 0 ? F_UNIT : 0,
		    &f)) != 0)
			return rc;
		if (n == 0)
			return 0;
		p->fams[f].flags |= F_UNIT;
		m.text = scratch_put(p, s, n);
		m.text_len = n;
		return emit_meta(p, &m, f);
	}
	return 0;
}

static int
text_comment(struct parser *p)
{
	const char *tok;
	size_t n;

	p->at++;	/* '#' */
	skip_blanks(p);
	n = token(p, &tok);
	if (n == 4 && memcmp(tok, "HELP", 4) == 0) {
		skip_blanks(p);
		return meta(p, EXPFMT_HELP, "HELP");
	}
	if (n == 4 && memcmp(tok, "TYPE", 4) == 0) {
		skip_blanks(p);
		return meta(p, EXPFMT_TYPE, "TYPE");
	}
	p->st->comments++;
	return 0;
}

static int
om_comment(struct parser *p)
{
	size_t n = (size_t)(p->end - p->line);

	if (n == 5 && memcmp(p->line, "# EOF", 5) == 0) {
		p->saw_eof = 1;
		return 0;
	}
	if (n > 7 && memcmp(p->line, "# HELP ", 7) == 0) {
		p->at += 7;
		return meta(p, EXPFMT_HELP, "HELP");
	}
	if (n > 7 && memcmp(p->line, "# TYPE ", 7) == 0) {
		p->at += 7;
		return meta(p, EXPFMT_TYPE, "TYPE");
	}
	if (n > 7 && memcmp(p->line, "# UNIT ", 7) == 0) {
		p->at += 7;
		return meta(p, EXPFMT_UNIT, "UNIT");
	}
	return fail_at(p, p->line, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" "
	    "or \"# EOF\" (OpenMetrics has no other comments)");
}

static int
line(struct parser *p, const char *s, size_t len)
{
	size_t need = len + 4 * EXPFMT_LABELS_MAX + 64;
	const char *cr;

	p->line = p->at = s;
	p->end = s + len;
	p->st->lines++;
	if (need > p->scratch_cap) {
		free(p->scratch);
		p->scratch_cap = need < 4096 ? 4096 : need + need / 2;
		p->scratch = xmalloc(p->scratch_cap);
	}
	p->scratch_len = 0;
	if (p->om && p->saw_eof)
		return fail_at(p, s, "unexpected data after \"# EOF\"");
	if ((cr = memchr(s, '\r', len)) != NULL)
		return fail_at(p, cr, "a carriage return: lines must end with "
		    "\"\\n\" alone");
	if (p->om) {
		if (len == 0)
			return fail_at(p, s, "an empty line (OpenMetrics has none)");
		return *s == '#' ? om_comment(p) : sample(p);
	}
	skip_blanks(p);
	if (p->at == p->end) {
		p->st->comments++;
		return 0;
	}
	return *p->at == '#' ? text_comment(p) : sample(p);
}

int
expfmt_parse(const char *data, size_t len, enum expfmt_format fmt,
    const struct expfmt_handler *h, struct expfmt_stats *stats)
{
	struct expfmt_stats local;
	struct parser *p;
	struct timespec ts;
	const char *s, *nl, *end = data + len;
	size_t n;
	int rc = 0;

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (fmt != EXPFMT_TEXT_004 && fmt != EXPFMT_OPENMETRICS)
		return err_set(-EINVAL, "unknown exposition format %d", (int)fmt);
	p = xcalloc(1, sizeof(*p));
	p->fmt = fmt;
	p->om = fmt == EXPFMT_OPENMETRICS;
	p->h = h;
	p->st = stats;
	p->cur = NOFAMILY;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	p->seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
	    (uint64_t)(uintptr_t)p;
	buf_init(&p->names, 0);

	for (s = data; s < end && rc == 0; s = nl + 1) {
		p->lineno++;
		nl = memchr(s, '\n', (size_t)(end - s));
		n = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		if (n > EXPFMT_LINE_MAX) {
			p->line = p->end = s;
			rc = fail_at(p, s, "the line is longer than %d bytes",
			    EXPFMT_LINE_MAX);
			break;
		}
		if (nl == NULL && !(p->om && n == 5 && memcmp(s, "# EOF", 5) == 0)) {
			if ((rc = line(p, s, n)) != 0)
				break;
			p->line = s;
			rc = fail_at(p, s + n, p->om ? "expected a line feed and "
			    "\"# EOF\" at the end of the data" :
			    "expected a line feed at the end of the data");
			break;
		}
		rc = line(p, s, n);
		if (nl == NULL)
			break;
	}
	if (rc == 0 && p->om && !p->saw_eof) {
		p->lineno++;
		p->line = end;
		rc = fail_at(p, end, "expected \"# EOF\" at the end of the data");
	}

	buf_release(&p->names);
	free(p->slots);
	free(p->fams);
	free(p->scratch);
	free(p);
	return rc;
}

int
expfmt_format_for(const char *content_type, enum expfmt_format *fmt)
{
	const char *s = content_type;
	size_t n;

	*fmt = EXPFMT_TEXT_004;
	if (s == NULL)
		return 0;
	while (is_blank(*s))
		s++;
	n = strcspn(s, "; \t");
	if (n == 28 && strncasecmp(s, "application/openmetrics-text", n) == 0)
		*fmt = EXPFMT_OPENMETRICS;
	else if ((n == 31 && strncasecmp(s, "application/vnd.google.protobuf",
	    n) == 0) || (n == 32 && strncasecmp(s,
	    "application/openmetrics-protobuf", n) == 0))
		return err_set(-EPROTONOSUPPORT, "the protobuf exposition "
		    "format ('%.*s') is not supported: send the text format "
		    "or OpenMetrics", (int)n, s);
	return 0;
}
