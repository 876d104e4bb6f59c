/*
 * logql_template.c - the part of Go's text/template that line_format
 * and label_format run (shale-logql(7) lists it): text and actions,
 * {{- and -}} trimming, comments, fields {{.name}} (the labels of the
 * line, a missing one being ""), string, number and boolean constants,
 * pipelines {{ .a | f x }} (the piped value is the last argument),
 * parentheses, if / else if / else / end, and a table of functions
 * (Loki's and the sprig ones dashboards use). A function not in the
 * table is a parse error, as Go's "function "x" not defined".
 *
 * Values are strings, numbers (integer or float), booleans or a time
 * (__timestamp__); printing follows Go's fmt for those kinds, printf
 * with a mismatched verb writes Go's %!d(string=x) form.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/logql_pipe_int.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/re.h"
#include "util/xmalloc.h"

/* ---- the tree ---- */

enum arg_kind { A_FIELD, A_STR, A_INT, A_FLOAT, A_BOOL, A_FUNC, A_PIPE, A_DOT };

struct pipe;

struct arg {
	enum arg_kind	 kind;
	char		*s;		/* field name, string, function name */
	size_t		 n;
	int64_t		 i;
	double		 f;
	int		 fn;		/* A_FUNC: index in funcs[] */
	struct pipe	*sub;		/* A_PIPE */
	pcre2_code	*re;		/* a constant regex argument, compiled once */
};

struct cmd {
	struct arg	*arg;
	size_t		 narg;
};

struct pipe {
	struct cmd	*cmd;
	size_t		 ncmd;
};

enum node_kind { N_TEXT, N_ACTION, N_IF };

struct node {
	enum node_kind	 kind;
	char		*text;		/* N_TEXT */
	size_t		 len;
	struct pipe	*pipe;		/* N_ACTION, N_IF's condition */
	struct list	*then, *els;
};

struct list {
	struct node	*node;
	size_t		 n;
};

struct lq_tmpl {
	struct list	*root;
};

/* ---- values ---- */

enum val_kind { V_STR, V_INT, V_FLOAT, V_BOOL, V_TIME };

struct val {
	enum val_kind	 kind;
	char		*s;		/* V_STR, owned */
	size_t		 n;
	int64_t		 i;		/* V_INT, V_TIME (ns) */
	double		 f;
	int		 b;
};

static void
val_free(struct val *v)
{
	free(v->s);
	v->s = NULL;
}

static struct val
val_str(const char *s, size_t n)
{
	struct val v = { V_STR, NULL, 0, 0, 0, 0 };

	v.s = xmalloc(n + 1);
	memcpy(v.s, s, n);
	v.s[n] = '\0';
	v.n = n;
	return v;
}

static struct val
val_take(struct buf *b)
{
	struct val v = { V_STR, NULL, 0, 0, 0, 0 };
	size_t n;

	if (b->data == NULL)
		buf_puts(b, "");
	v.s = buf_detach(b, &n);
	v.n = n;
	return v;
}

static struct val
val_int(int64_t i)
{
	struct val v = { V_INT, NULL, 0, i, 0, 0 };

	return v;
}

static struct val
val_float(double f)
{
	struct val v = { V_FLOAT, NULL, 0, 0, f, 0 };

	return v;
}

static struct val
val_bool(int b)
{
	struct val v = { V_BOOL, NULL, 0, 0, 0, b != 0 };

	return v;
}

/*
 * A float as Go's fmt prints it with %v: the shortest digits that read
 * back to it, in %e form when the exponent is below -4 or 6 and above,
 * else plainly.
 */
static void
put_float(struct buf *b, double f)
{
	char tmp[64];
	int p, exp;

	if (isinf(f)) {
		buf_puts(b, f > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (isnan(f)) {
		buf_puts(b, "NaN");
		return;
	}
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	exp = atoi(strchr(tmp, 'e') + 1);
	if (exp < -4 || exp >= 6) {
		buf_puts(b, tmp);
		return;
	}
	buf_printf(b, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, f);
}

/* Go's time.Time String() in UTC. */
static void
put_time(struct buf *b, int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000);
	int64_t frac = ns % 1000000000;
	struct tm tm;
	char tmp[64];

	if (frac < 0) {
		frac += 1000000000;
		s--;
	}
	gmtime_r(&s, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm);
	buf_puts(b, tmp);
	if (frac != 0) {
		int w = 9;

		while (frac % 10 == 0) {
			frac /= 10;
			w--;
		}
		buf_printf(b, ".%0*" PRId64, w, frac);
	}
	buf_puts(b, " +0000 UTC");
}

static void
val_print(struct buf *b, const struct val *v)
{
	switch (v->kind) {
	case V_STR:
		buf_append(b, v->s, v->n);
		break;
	case V_INT:
		buf_printf(b, "%" PRId64, v->i);
		break;
	case V_FLOAT:
		put_float(b, v->f);
		break;
	case V_BOOL:
		buf_puts(b, v->b ? "true" : "false");
		break;
	case V_TIME:
		put_time(b, v->i);
		break;
	}
}

static struct val
val_as_str(const struct val *v)
{
	struct buf b;

	if (v->kind == V_STR)
		return val_str(v->s, v->n);
	buf_init(&b, 0);
	val_print(&b, v);
	return val_take(&b);
}

static int
truthy(const struct val *v)
{
	switch (v->kind) {
	case V_STR:	return v->n > 0;
	case V_INT:	return v->i != 0;
	case V_FLOAT:	return v->f != 0;
	case V_BOOL:	return v->b;
	case V_TIME:	return 1;
	}
	return 0;
}

/* Integer arithmetic wraps around, as Go's does. */
static int64_t
wrap(uint64_t u)
{
	int64_t i;

	memcpy(&i, &u, sizeof(i));
	return i;
}

/* A float as an int64, without C's undefined cases: NaN 0, out of range clamped. */
static int64_t
f2i(double f)
{
	if (isnan(f))
		return 0;
	if (f >= 9223372036854775807.0)
		return INT64_MAX;
	if (f <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)f;
}

/* cast.ToInt64 / ToFloat64 as sprig's arithmetic takes them: 0 when not a number. */
static int64_t
to_int(const struct val *v)
{
	char *end;
	int64_t i;

	switch (v->kind) {
	case V_INT:	return v->i;
	case V_FLOAT:	return f2i(v->f);
	case V_BOOL:	return v->b;
	case V_TIME:	return v->i;
	case V_STR:
		i = strtoll(v->s, &end, 10);
		if (*end == '\0' && end != v->s)
			return i;
		return f2i(strtod(v->s, NULL));
	}
	return 0;
}

static double
to_float(const struct val *v)
{
	switch (v->kind) {
	case V_INT:	return (double)v->i;
	case V_FLOAT:	return v->f;
	case V_BOOL:	return v->b;
	case V_TIME:	return (double)v->i;
	case V_STR:	return strtod(v->s, NULL);
	}
	return 0;
}

/* ---- functions ---- */

struct ctx {
	const struct lq_builder *b;
	const char	*line;
	size_t		 len;
	int64_t		 ts;
};

typedef int (*tfunc)(const struct ctx *, struct val *, size_t,
    const struct arg *, struct val *);

#define FN(name) static int name(const struct ctx *c, struct val *a, \
    size_t n, const struct arg *args, struct val *out)
#define UNUSED (void)c; (void)a; (void)n; (void)args; (void)out

static void
map_case(struct val *out, const struct val *in, int upper)
{
	size_t i;

	*out = val_as_str(in);
	for (i = 0; i < out->n; i++)
		out->s[i] = (char)(upper ? toupper((unsigned char)out->s[i]) :
		    tolower((unsigned char)out->s[i]));
}

FN(f_upper) { UNUSED; map_case(out, &a[0], 1); return 0; }
FN(f_lower) { UNUSED; map_case(out, &a[0], 0); return 0; }

FN(f_title)
{
	size_t i;
	int start = 1;

	UNUSED;
	*out = val_as_str(&a[0]);
	for (i = 0; i < out->n; i++) {
		unsigned char ch = (unsigned char)out->s[i];

		if (start && islower(ch))
			out->s[i] = (char)toupper(ch);
		start = !isalnum(ch) && ch < 0x80;
	}
	return 0;
}

static int
in_set(char ch, const struct val *set)
{
	return memchr(set->s, ch, set->n) != NULL;
}

/* trim cutset from s's ends; set NULL: whitespace. */
static void
trim_set(struct val *out, const struct val *s, const struct val *set,
    int left, int right)
{
	size_t i = 0, j = s->n;

	while (left && i < j && (set ? in_set(s->s[i], set) :
	    isspace((unsigned char)s->s[i])))
		i++;
	while (right && j > i && (set ? in_set(s->s[j - 1], set) :
	    isspace((unsigned char)s->s[j - 1])))
		j--;
	*out = val_str(s->s + i, j - i);
}

FN(f_trimspace) { UNUSED; trim_set(out, &a[0], NULL, 1, 1); return 0; }
FN(f_Trim) { UNUSED; trim_set(out, &a[0], &a[1], 1, 1); return 0; }
FN(f_TrimLeft) { UNUSED; trim_set(out, &a[0], &a[1], 1, 0); return 0; }
FN(f_TrimRight) { UNUSED; trim_set(out, &a[0], &a[1], 0, 1); return 0; }
FN(f_trimAll) { UNUSED; trim_set(out, &a[1], &a[0], 1, 1); return 0; }

static void
trim_affix(struct val *out, const struct val *s, const struct val *x,
    int prefix)
{
	if (x->n <= s->n && prefix && memcmp(s->s, x->s, x->n) == 0)
		*out = val_str(s->s + x->n, s->n - x->n);
	else if (x->n <= s->n && !prefix &&
	    memcmp(s->s + s->n - x->n, x->s, x->n) == 0)
		*out = val_str(s->s, s->n - x->n);
	else
		*out = val_str(s->s, s->n);
}

FN(f_TrimPrefix) { UNUSED; trim_affix(out, &a[0], &a[1], 1); return 0; }
FN(f_TrimSuffix) { UNUSED; trim_affix(out, &a[0], &a[1], 0); return 0; }
FN(f_trimPrefix) { UNUSED; trim_affix(out, &a[1], &a[0], 1); return 0; }
FN(f_trimSuffix) { UNUSED; trim_affix(out, &a[1], &a[0], 0); return 0; }

/* strings.Replace(s, old, new, n); n < 0 for all. */
static void
replace(struct val *out, const struct val *s, const struct val *old,
    const struct val *new, int64_t lim)
{
	struct buf b;
	size_t i = 0;
	int64_t done = 0;

	buf_init(&b, 0);
	while (i <= s->n) {
		const char *hit;

		if (lim >= 0 && done >= lim)
			break;
		if (old->n == 0) {
			/* an empty old matches before each rune and at the end */
			buf_append(&b, new->s, new->n);
			done++;
			if (i == s->n) {
				i++;
				break;
			}
			buf_append(&b, s->s + i, 1);
			i++;
			continue;
		}
		hit = memmem(s->s + i, s->n - i, old->s, old->n);
		if (hit == NULL)
			break;
		buf_append(&b, s->s + i, (size_t)(hit - (s->s + i)));
		buf_append(&b, new->s, new->n);
		i = (size_t)(hit - s->s) + old->n;
		done++;
	}
	if (i < s->n)
		buf_append(&b, s->s + i, s->n - i);
	*out = val_take(&b);
}

FN(f_Replace) { UNUSED; replace(out, &a[0], &a[1], &a[2], to_int(&a[3])); return 0; }
FN(f_replace) { UNUSED; replace(out, &a[2], &a[0], &a[1], -1); return 0; }

FN(f_contains)
{
	UNUSED;
	*out = val_bool(a[0].n == 0 || memmem(a[1].s, a[1].n, a[0].s,
	    a[0].n) != NULL);
	return 0;
}

FN(f_hasPrefix)
{
	UNUSED;
	*out = val_bool(a[0].n <= a[1].n && memcmp(a[1].s, a[0].s, a[0].n) == 0);
	return 0;
}

FN(f_hasSuffix)
{
	UNUSED;
	*out = val_bool(a[0].n <= a[1].n &&
	    memcmp(a[1].s + a[1].n - a[0].n, a[0].s, a[0].n) == 0);
	return 0;
}

/* The byte offset of rune k of s (k past the end: its length). */
static size_t
rune_off(const struct val *v, int64_t k)
{
	size_t i = 0;

	while (k > 0 && i < v->n) {
		i++;
		while (i < v->n && ((unsigned char)v->s[i] & 0xc0) == 0x80)
			i++;
		k--;
	}
	return i;
}

static int64_t
rune_count(const struct val *v)
{
	int64_t c = 0;
	size_t i;

	for (i = 0; i < v->n; i++)
		if (((unsigned char)v->s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Loki's substr over runes: start < 0 takes [:end], end < 0 [start:]. */
FN(f_substr)
{
	int64_t st = to_int(&a[0]), e = to_int(&a[1]), l = rune_count(&a[2]);
	size_t bs, be;

	UNUSED;
	if (e > l)
		e = l;
	if (st > l)
		st = l;
	if (st < 0) {
		if (e < 0) {
			*out = val_str("", 0);
			return 0;
		}
		st = 0;
	} else if (e < 0)
		e = l;
	if (st > e) {
		*out = val_str("", 0);
		return 0;
	}
	bs = rune_off(&a[2], st);
	be = rune_off(&a[2], e);
	*out = val_str(a[2].s + bs, be - bs);
	return 0;
}

/* The first c runes, or with c < 0 the last -c. */
FN(f_trunc)
{
	int64_t k = to_int(&a[0]), l = rune_count(&a[1]);
	size_t o;

	UNUSED;
	if (k < 0 && l + k > 0) {
		o = rune_off(&a[1], l + k);
		*out = val_str(a[1].s + o, a[1].n - o);
	} else if (k >= 0 && l > k)
		*out = val_str(a[1].s, rune_off(&a[1], k));
	else
		*out = val_str(a[1].s, a[1].n);
	return 0;
}

/* count regex s: how many times the regex matches. */
FN(f_count)
{
	const struct re_contexts *rc = re_contexts();
	pcre2_code *re = args[0].re;
	pcre2_match_data *md;
	PCRE2_SIZE off = 0, *ov;
	int64_t k = 0;
	int r, own = 0;

	UNUSED;
	if (re == NULL) {
		int e;
		PCRE2_SIZE eo;

		re = pcre2_compile((PCRE2_SPTR)a[0].s, a[0].n, PCRE2_UTF |
		    PCRE2_MATCH_INVALID_UTF, &e, &eo, rc->compile);
		if (re == NULL)
			return err_set(-EINVAL, "error parsing regexp");
		own = 1;
	}
	md = pcre2_match_data_create_from_pattern(re, rc->general);
	while (off <= a[1].n) {
		r = pcre2_match(re, (PCRE2_SPTR)a[1].s, a[1].n, off, 0, md,
		    rc->match);
		if (r < 0)
			break;
		ov = pcre2_get_ovector_pointer(md);
		k++;
		off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
	}
	pcre2_match_data_free(md);
	if (own)
		pcre2_code_free(re);
	*out = val_int(k);
	return 0;
}

FN(f_urldecode)
{
	struct buf b;
	size_t i;

	UNUSED;
	buf_init(&b, 0);
	for (i = 0; i < a[0].n; i++) {
		char ch = a[0].s[i];

		if (ch == '+')
			ch = ' ';
		else if (ch == '%') {
			unsigned x;

			if (i + 2 >= a[0].n + 0 || sscanf(a[0].s + i + 1, "%2x",
			    &x) != 1 || !isxdigit((unsigned char)a[0].s[i + 1]) ||
			    !isxdigit((unsigned char)a[0].s[i + 2])) {
				buf_release(&b);
				return err_set(-EINVAL, "invalid URL escape");
			}
			ch = (char)x;
			i += 2;
		}
		buf_putc(&b, ch);
	}
	*out = val_take(&b);
	return 0;
}

FN(f_bytes)
{
	double v;

	UNUSED;
	if (lq_parse_bytes(a[0].s, a[0].n, &v) != 0)
		return err_set(-EINVAL, "strconv.ParseFloat: parsing \"%.*s\": "
		    "invalid syntax", (int)(a[0].n > 100 ? 100 : a[0].n), a[0].s);
	*out = val_float(v);
	return 0;
}

FN(f_duration)
{
	double v;

	UNUSED;
	if (lq_parse_duration(a[0].s, a[0].n, &v) != 0)
		return err_set(-EINVAL, "time: invalid duration \"%.*s\"",
		    (int)(a[0].n > 100 ? 100 : a[0].n), a[0].s);
	*out = val_float(v);
	return 0;
}

static int
minmax(struct val *a, size_t n, struct val *out, int isfloat, int max)
{
	size_t i;

	if (isfloat) {
		double m = to_float(&a[0]);

		for (i = 1; i < n; i++)
			if (max ? to_float(&a[i]) > m : to_float(&a[i]) < m)
				m = to_float(&a[i]);
		*out = val_float(m);
	} else {
		int64_t m = to_int(&a[0]);

		for (i = 1; i < n; i++)
			if (max ? to_int(&a[i]) > m : to_int(&a[i]) < m)
				m = to_int(&a[i]);
		*out = val_int(m);
	}
	return 0;
}

FN(f_max) { UNUSED; return minmax(a, n, out, 0, 1); }
FN(f_min) { UNUSED; return minmax(a, n, out, 0, 0); }
FN(f_maxf) { UNUSED; return minmax(a, n, out, 1, 1); }
FN(f_minf) { UNUSED; return minmax(a, n, out, 1, 0); }

/* indent n s: every line of s after n spaces; nindent also a newline first. */
static int
indent(struct val *out, const struct val *w, const struct val *s, int nl)
{
	int64_t k = to_int(w), j;
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	if (nl)
		buf_putc(&b, '\n');
	for (i = 0; i <= s->n; i++) {
		if (i == 0 || s->s[i - 1] == '\n')
			for (j = 0; j < k && j < 4096; j++)
				buf_putc(&b, ' ');
		if (i < s->n)
			buf_putc(&b, s->s[i]);
	}
	*out = val_take(&b);
	return 0;
}

FN(f_indent) { UNUSED; return indent(out, &a[0], &a[1], 0); }
FN(f_nindent) { UNUSED; return indent(out, &a[0], &a[1], 1); }

/* Go's reference-time layout, in UTC: date FORMAT TIME. */
static void
go_layout(struct buf *b, const char *l, size_t n, int64_t ns)
{
	static const char *const mon[] = { "January", "February", "March",
	    "April", "May", "June", "July", "August", "September", "October",
	    "November", "December" };
	static const char *const day[] = { "Sunday", "Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday" };
	time_t t = (time_t)(ns / 1000000000);
	int64_t frac = ns % 1000000000;
	struct tm tm;
	size_t i = 0, k;

	if (frac < 0) {
		frac += 1000000000;
		t--;
	}
	gmtime_r(&t, &tm);
#define AT(s) (n - i >= sizeof(s) - 1 && memcmp(l + i, s, sizeof(s) - 1) == 0 \
	    && (i += sizeof(s) - 1, 1))
	while (i < n) {
		if (AT("January"))
			buf_puts(b, mon[tm.tm_mon]);
		else if (AT("Jan"))
			buf_printf(b, "%.3s", mon[tm.tm_mon]);
		else if (AT("Monday"))
			buf_puts(b, day[tm.tm_wday]);
		else if (AT("Mon"))
			buf_printf(b, "%.3s", day[tm.tm_wday]);
		else if (AT("MST"))
			buf_puts(b, "UTC");
		else if (AT("2006"))
			buf_printf(b, "%04d", tm.tm_year + 1900);
		else if (AT("Z07:00") || AT("Z0700") || AT("Z07"))
			buf_putc(b, 'Z');
		else if (AT("-07:00"))
			buf_puts(b, "+00:00");
		else if (AT("-0700"))
			buf_puts(b, "+0000");
		else if (AT("-07"))
			buf_puts(b, "+00");
		else if (AT("01"))
			buf_printf(b, "%02d", tm.tm_mon + 1);
		else if (AT("02"))
			buf_printf(b, "%02d", tm.tm_mday);
		else if (AT("_2"))
			buf_printf(b, "%2d", tm.tm_mday);
		else if (AT("03"))
			buf_printf(b, "%02d", tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
		else if (AT("04"))
			buf_printf(b, "%02d", tm.tm_min);
		else if (AT("05"))
			buf_printf(b, "%02d", tm.tm_sec);
		else if (AT("06"))
			buf_printf(b, "%02d", tm.tm_year % 100);
		else if (AT("15"))
			buf_printf(b, "%02d", tm.tm_hour);
		else if (AT("PM"))
			buf_puts(b, tm.tm_hour >= 12 ? "PM" : "AM");
		else if (AT("pm"))
			buf_puts(b, tm.tm_hour >= 12 ? "pm" : "am");
		else if ((l[i] == '.' || l[i] == ',') && i + 1 < n &&
		    (l[i + 1] == '0' || l[i + 1] == '9')) {
			char d = l[i + 1], sep = l[i];
			char digits[16];

			for (k = i + 1; k < n && l[k] == d; k++)
				;
			if (k < n && l[k] >= '0' && l[k] <= '9') {
				buf_putc(b, l[i++]);
				continue;
			}
			snprintf(digits, sizeof(digits), "%09lld",
			    (long long)frac);
			k -= i + 1;
			if (k > 9)
				k = 9;
			if (d == '9') {
				size_t m = k;

				while (m > 0 && digits[m - 1] == '0')
					m--;
				if (m > 0) {
					buf_putc(b, sep);
					buf_append(b, digits, m);
				}
			} else {
				buf_putc(b, sep);
				buf_append(b, digits, k);
			}
			i += k + 1;
		} else if (AT("1"))
			buf_printf(b, "%d", tm.tm_mon + 1);
		else if (AT("2"))
			buf_printf(b, "%d", tm.tm_mday);
		else if (AT("3"))
			buf_printf(b, "%d", tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
		else if (AT("4"))
			buf_printf(b, "%d", tm.tm_min);
		else if (AT("5"))
			buf_printf(b, "%d", tm.tm_sec);
		else
			buf_putc(b, l[i++]);
	}
#undef AT
}

FN(f_date)
{
	struct buf b;

	UNUSED;
	if (a[0].kind != V_STR)
		return err_set(-EINVAL, "wrong type for value; expected string");
	buf_init(&b, 0);
	go_layout(&b, a[0].s, a[0].n, a[1].kind == V_TIME ? a[1].i :
	    wrap((uint64_t)to_int(&a[1]) * 1000000000u));
	*out = val_take(&b);
	return 0;
}

FN(f_default)
{
	UNUSED;
	if (n < 2 || !truthy(&a[1]))
		*out = a[0], a[0].s = NULL;
	else
		*out = a[1], a[1].s = NULL;
	return 0;
}

FN(f_len)
{
	UNUSED;
	*out = val_int((int64_t)(a[0].kind == V_STR ? a[0].n : 0));
	return 0;
}

FN(f_not) { UNUSED; *out = val_bool(!truthy(&a[0])); return 0; }

FN(f_and)
{
	size_t i;

	UNUSED;
	for (i = 0; i + 1 < n && truthy(&a[i]); i++)
		;
	*out = a[i];
	a[i].s = NULL;
	return 0;
}

FN(f_or)
{
	size_t i;

	UNUSED;
	for (i = 0; i + 1 < n && !truthy(&a[i]); i++)
		;
	*out = a[i];
	a[i].s = NULL;
	return 0;
}

/* Go's comparison of two basic values: <0, 0, >0, or 2 when they cannot be compared. */
static int
compare(const struct val *x, const struct val *y)
{
	int r;

	if (x->kind == V_STR && y->kind == V_STR) {
		r = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
		if (r == 0)
			r = x->n < y->n ? -1 : x->n > y->n;
		return r < 0 ? -1 : r > 0;
	}
	if ((x->kind == V_INT || x->kind == V_FLOAT) &&
	    (y->kind == V_INT || y->kind == V_FLOAT)) {
		double a = to_float(x), b = to_float(y);

		return a < b ? -1 : a > b;
	}
	if (x->kind == V_BOOL && y->kind == V_BOOL)
		return x->b != y->b ? (x->b ? 1 : -1) : 0;
	return 2;
}

static int
cmp_fn(struct val *a, size_t n, struct val *out, int op)
{
	int r = compare(&a[0], &a[1]);
	size_t i;

	if (r == 2)
		return err_set(-EINVAL, "incompatible types for comparison");
	switch (op) {
	case 0:		/* eq: with any of the rest */
		for (i = 1; i < n; i++)
			if (compare(&a[0], &a[i]) == 0) {
				*out = val_bool(1);
				return 0;
			}
		*out = val_bool(0);
		return 0;
	case 1: *out = val_bool(r != 0); break;
	case 2: *out = val_bool(r < 0); break;
	case 3: *out = val_bool(r <= 0); break;
	case 4: *out = val_bool(r > 0); break;
	default: *out = val_bool(r >= 0); break;
	}
	return 0;
}

FN(f_eq) { UNUSED; return cmp_fn(a, n, out, 0); }
FN(f_ne) { UNUSED; return cmp_fn(a, n, out, 1); }
FN(f_lt) { UNUSED; return cmp_fn(a, n, out, 2); }
FN(f_le) { UNUSED; return cmp_fn(a, n, out, 3); }
FN(f_gt) { UNUSED; return cmp_fn(a, n, out, 4); }
FN(f_ge) { UNUSED; return cmp_fn(a, n, out, 5); }

FN(f_add)
{
	UNUSED;
	*out = val_int(wrap((uint64_t)to_int(&a[0]) + (uint64_t)to_int(&a[1])));
	return 0;
}

FN(f_sub)
{
	UNUSED;
	*out = val_int(wrap((uint64_t)to_int(&a[0]) - (uint64_t)to_int(&a[1])));
	return 0;
}

FN(f_mul)
{
	UNUSED;
	*out = val_int(wrap((uint64_t)to_int(&a[0]) * (uint64_t)to_int(&a[1])));
	return 0;
}

FN(f_div)
{
	UNUSED;
	if (to_int(&a[1]) == 0)
		return err_set(-EINVAL, "integer divide by zero");
	if (to_int(&a[1]) == -1)
		*out = val_int(wrap(0 - (uint64_t)to_int(&a[0])));
	else
		*out = val_int(to_int(&a[0]) / to_int(&a[1]));
	return 0;
}

FN(f_mod)
{
	UNUSED;
	if (to_int(&a[1]) == 0)
		return err_set(-EINVAL, "integer divide by zero");
	*out = val_int(to_int(&a[1]) == -1 ? 0 : to_int(&a[0]) % to_int(&a[1]));
	return 0;
}

FN(f_addf) { UNUSED; *out = val_float(to_float(&a[0]) + to_float(&a[1])); return 0; }
FN(f_subf) { UNUSED; *out = val_float(to_float(&a[0]) - to_float(&a[1])); return 0; }
FN(f_mulf) { UNUSED; *out = val_float(to_float(&a[0]) * to_float(&a[1])); return 0; }
FN(f_divf) { UNUSED; *out = val_float(to_float(&a[0]) / to_float(&a[1])); return 0; }
FN(f_int) { UNUSED; *out = val_int(to_int(&a[0])); return 0; }
FN(f_float64) { UNUSED; *out = val_float(to_float(&a[0])); return 0; }
FN(f_ceil) { UNUSED; *out = val_float(ceil(to_float(&a[0]))); return 0; }
FN(f_floor) { UNUSED; *out = val_float(floor(to_float(&a[0]))); return 0; }

FN(f_round)
{
	double f = to_float(&a[0]), p = n > 1 ? (double)to_int(&a[1]) : 0;
	double m = pow(10, p);

	UNUSED;
	*out = val_float(round(f * m) / m);
	return 0;
}

FN(f_repeat)
{
	struct buf b;
	int64_t k;

	UNUSED;
	buf_init(&b, 1 << 20);
	for (k = a[1].n > 0 ? to_int(&a[0]) : 0; k > 0; k--)
		if (buf_append(&b, a[1].s, a[1].n) != 0)
			return err_set(-EINVAL, "repeat: result too long");
	*out = val_take(&b);
	return 0;
}

static int
align(struct val *out, const struct val *w, const struct val *s, int left)
{
	int64_t k = to_int(w);
	struct buf b;

	if (k < 0)
		return err_set(-EINVAL, "alignment must be positive");
	if (k > 1 << 20)
		return err_set(-EINVAL, "alignment too wide");
	buf_init(&b, 0);
	if ((size_t)k <= s->n) {
		if (left)
			buf_append(&b, s->s, (size_t)k);
		else
			buf_append(&b, s->s + s->n - (size_t)k, (size_t)k);
	} else {
		if (left)
			buf_append(&b, s->s, s->n);
		for (size_t i = s->n; i < (size_t)k; i++)
			buf_putc(&b, ' ');
		if (!left)
			buf_append(&b, s->s, s->n);
	}
	*out = val_take(&b);
	return 0;
}

FN(f_alignLeft) { UNUSED; return align(out, &a[0], &a[1], 1); }
FN(f_alignRight) { UNUSED; return align(out, &a[0], &a[1], 0); }

FN(f_line) { UNUSED; *out = val_str(c->line, c->len); return 0; }

FN(f_timestamp)
{
	UNUSED;
	out->kind = V_TIME;
	out->s = NULL;
	out->i = c->ts;
	return 0;
}

FN(f_unixEpoch) { UNUSED; *out = val_int(to_int(&a[0]) / 1000000000); return 0; }
FN(f_unixEpochMillis) { UNUSED; *out = val_int(to_int(&a[0]) / 1000000); return 0; }
FN(f_unixEpochNanos) { UNUSED; *out = val_int(to_int(&a[0])); return 0; }

FN(f_b64enc)
{
	struct buf b;

	UNUSED;
	buf_init(&b, 0);
	if (base64_append(&b, a[0].s, a[0].n) != 0)
		return err_set(-EINVAL, "b64enc failed");
	*out = val_take(&b);
	return 0;
}

FN(f_b64dec)
{
	struct buf b;

	UNUSED;
	buf_init(&b, 0);
	if (base64_decode(&b, a[0].s, a[0].n, 0) != 0) {
		buf_release(&b);
		return err_set(-EINVAL, "illegal base64 data");
	}
	*out = val_take(&b);
	return 0;
}

/* regexReplaceAll regex s repl: $1 and ${name} expand unless literal. */
static int
re_replace(const struct arg *ra, struct val *a, struct val *out, int literal)
{
	const struct re_contexts *rc = re_contexts();
	pcre2_code *re = ra->re;
	pcre2_match_data *md;
	PCRE2_SIZE olen;
	struct buf b;
	int r, own = 0;

	if (re == NULL) {
		int e;
		PCRE2_SIZE off;

		re = pcre2_compile((PCRE2_SPTR)a[0].s, a[0].n, PCRE2_UTF |
		    PCRE2_MATCH_INVALID_UTF, &e, &off, rc->compile);
		if (re == NULL)
			return err_set(-EINVAL, "error parsing regexp");
		own = 1;
	}
	md = pcre2_match_data_create_from_pattern(re, rc->general);
	olen = a[1].n * 2 + 64;
	buf_init(&b, 0);
	for (;;) {
		if (buf_reserve(&b, olen + 1) != 0) {
			r = -EFBIG;
			break;
		}
		olen = b.cap - 1;
		r = pcre2_substitute(re, (PCRE2_SPTR)a[1].s, a[1].n, 0,
		    PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
		    (literal ? PCRE2_SUBSTITUTE_LITERAL : 0) |
		    PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_SUBSTITUTE_UNKNOWN_UNSET,
		    md, rc->match, (PCRE2_SPTR)a[2].s, a[2].n,
		    (PCRE2_UCHAR *)b.data, &olen);
		if (r != PCRE2_ERROR_NOMEMORY)
			break;
	}
	pcre2_match_data_free(md);
	if (own)
		pcre2_code_free(re);
	if (r < 0) {
		buf_release(&b);
		return err_set(-EINVAL, "regexReplaceAll failed (pcre2 error %d)",
		    r);
	}
	b.len = olen;
	b.data[olen] = '\0';
	*out = val_take(&b);
	return 0;
}

FN(f_regexReplaceAll) { UNUSED; return re_replace(&args[0], a, out, 0); }
FN(f_regexReplaceAllLiteral) { UNUSED; return re_replace(&args[0], a, out, 1); }

FN(f_urlencode)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b;
	size_t i;

	UNUSED;
	buf_init(&b, 0);
	for (i = 0; i < a[0].n; i++) {
		unsigned char ch = (unsigned char)a[0].s[i];

		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' ||
		    ch == '~')
			buf_putc(&b, (char)ch);
		else if (ch == ' ')
			buf_putc(&b, '+');
		else {
			buf_putc(&b, '%');
			buf_putc(&b, hex[ch >> 4]);
			buf_putc(&b, hex[ch & 15]);
		}
	}
	*out = val_take(&b);
	return 0;
}

static int f_printf(const struct ctx *, struct val *, size_t,
    const struct arg *, struct val *);

/* The table: name, least and most arguments (-1: any). */
static const struct func {
	const char	*name;
	int		 min, max;
	tfunc		 fn;
} funcs[] = {
	{ "ToUpper", 1, 1, f_upper }, { "ToLower", 1, 1, f_lower },
	{ "upper", 1, 1, f_upper }, { "lower", 1, 1, f_lower },
	{ "title", 1, 1, f_title }, { "Title", 1, 1, f_title },
	{ "TrimSpace", 1, 1, f_trimspace }, { "trim", 1, 1, f_trimspace },
	{ "Trim", 2, 2, f_Trim }, { "TrimLeft", 2, 2, f_TrimLeft },
	{ "TrimRight", 2, 2, f_TrimRight }, { "trimAll", 2, 2, f_trimAll },
	{ "TrimPrefix", 2, 2, f_TrimPrefix }, { "TrimSuffix", 2, 2, f_TrimSuffix },
	{ "trimPrefix", 2, 2, f_trimPrefix }, { "trimSuffix", 2, 2, f_trimSuffix },
	{ "Replace", 4, 4, f_Replace }, { "replace", 3, 3, f_replace },
	{ "contains", 2, 2, f_contains }, { "hasPrefix", 2, 2, f_hasPrefix },
	{ "hasSuffix", 2, 2, f_hasSuffix }, { "substr", 3, 3, f_substr },
	{ "trunc", 2, 2, f_trunc }, { "default", 1, 2, f_default },
	{ "printf", 1, -1, f_printf }, { "len", 1, 1, f_len },
	{ "not", 1, 1, f_not }, { "and", 1, -1, f_and }, { "or", 1, -1, f_or },
	{ "eq", 2, -1, f_eq }, { "ne", 2, 2, f_ne }, { "lt", 2, 2, f_lt },
	{ "le", 2, 2, f_le }, { "gt", 2, 2, f_gt }, { "ge", 2, 2, f_ge },
	{ "add", 2, 2, f_add }, { "sub", 2, 2, f_sub }, { "mul", 2, 2, f_mul },
	{ "div", 2, 2, f_div }, { "mod", 2, 2, f_mod },
	{ "addf", 2, 2, f_addf }, { "subf", 2, 2, f_subf },
	{ "mulf", 2, 2, f_mulf }, { "divf", 2, 2, f_divf },
	{ "int", 1, 1, f_int }, { "float64", 1, 1, f_float64 },
	{ "ceil", 1, 1, f_ceil }, { "floor", 1, 1, f_floor },
	{ "round", 1, 2, f_round }, { "repeat", 2, 2, f_repeat },
	{ "alignLeft", 2, 2, f_alignLeft }, { "alignRight", 2, 2, f_alignRight },
	{ "regexReplaceAll", 3, 3, f_regexReplaceAll },
	{ "regexReplaceAllLiteral", 3, 3, f_regexReplaceAllLiteral },
	{ "b64enc", 1, 1, f_b64enc }, { "b64dec", 1, 1, f_b64dec },
	{ "urlencode", 1, 1, f_urlencode },
	{ "unixEpoch", 1, 1, f_unixEpoch },
	{ "count", 2, 2, f_count }, { "urldecode", 1, 1, f_urldecode },
	{ "bytes", 1, 1, f_bytes }, { "duration", 1, 1, f_duration },
	{ "duration_seconds", 1, 1, f_duration },
	{ "max", 1, -1, f_max }, { "min", 1, -1, f_min },
	{ "maxf", 1, -1, f_maxf }, { "minf", 1, -1, f_minf },
	{ "indent", 2, 2, f_indent }, { "nindent", 2, 2, f_nindent },
	{ "date", 2, 2, f_date },
	{ "unixEpochMillis", 1, 1, f_unixEpochMillis },
	{ "unixEpochNanos", 1, 1, f_unixEpochNanos },
	{ "__line__", 0, 0, f_line }, { "__timestamp__", 0, 0, f_timestamp },
};
#define NFUNCS	(sizeof(funcs) / sizeof(funcs[0]))

/*
 * Which functions take their arguments as they are (numbers, booleans,
 * times); every other one gets strings, numbers written as Go prints
 * them, and reads a count from a string where it wants one.
 */
static int
wants_values(tfunc fn)
{
	return fn == f_printf || fn == f_default || fn == f_and ||
	    fn == f_or || fn == f_not || fn == f_eq || fn == f_ne ||
	    fn == f_lt || fn == f_le || fn == f_gt || fn == f_ge ||
	    fn == f_add || fn == f_sub || fn == f_mul || fn == f_div ||
	    fn == f_mod || fn == f_addf || fn == f_subf || fn == f_mulf ||
	    fn == f_divf || fn == f_int || fn == f_float64 || fn == f_ceil ||
	    fn == f_floor || fn == f_round || fn == f_unixEpoch ||
	    fn == f_unixEpochMillis || fn == f_unixEpochNanos || fn == f_len ||
	    fn == f_max || fn == f_min || fn == f_maxf || fn == f_minf ||
	    fn == f_date;
}

/*
 * printf: Go's verbs over our kinds. The C format each verb becomes is
 * built here from the flags, width and precision the query gave, so it
 * cannot be a literal.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int
f_printf(const struct ctx *c, struct val *a, size_t n, const struct arg *args,
    struct val *out)
{
	const char *f, *end;
	struct buf b;
	size_t ai = 1;

	(void)c; (void)args;
	if (a[0].kind != V_STR)
		return err_set(-EINVAL, "wrong type for value; expected string");
	f = a[0].s;
	end = a[0].s + a[0].n;
	buf_init(&b, 0);
	while (f < end) {
		char spec[32], verb, tmp[512];
		size_t sl = 0;
		const struct val *v;

		if (*f != '%') {
			buf_putc(&b, *f++);
			continue;
		}
		spec[sl++] = *f++;
		while (f < end && strchr("+-# 0123456789.", *f) && sl < 20)
			spec[sl++] = *f++;
		if (f >= end) {
			buf_puts(&b, "%!(NOVERB)");
			break;
		}
		verb = *f++;
		if (verb == '%') {
			buf_putc(&b, '%');
			continue;
		}
		if (ai >= n) {
			buf_printf(&b, "%%!%c(MISSING)", verb);
			continue;
		}
		v = &a[ai++];
		switch (verb) {
		case 'v':
		case 's':
			if (v->kind == V_STR || verb == 'v') {
				struct val sv = val_as_str(v);

				spec[sl++] = 's';
				spec[sl] = '\0';
				buf_printf(&b, spec, sv.s);
				val_free(&sv);
				continue;
			}
			break;
		case 'q':
			if (v->kind == V_STR) {
				buf_putc(&b, '"');
				for (size_t i = 0; i < v->n; i++) {
					if (v->s[i] == '"' || v->s[i] == '\\')
						buf_putc(&b, '\\');
					buf_putc(&b, v->s[i]);
				}
				buf_putc(&b, '"');
				continue;
			}
			break;
		case 'd':
		case 'x':
		case 'X':
		case 'o':
			if (v->kind == V_INT) {
				spec[sl++] = 'l';
				spec[sl++] = 'l';
				spec[sl++] = verb == 'd' ? 'd' : verb;
				spec[sl] = '\0';
				snprintf(tmp, sizeof(tmp), spec, (long long)v->i);
				buf_puts(&b, tmp);
				continue;
			}
			break;
		case 't':
			if (v->kind == V_BOOL) {
				buf_puts(&b, v->b ? "true" : "false");
				continue;
			}
			break;
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G':
			if (v->kind == V_FLOAT || v->kind == V_INT) {
				spec[sl++] = verb;
				spec[sl] = '\0';
				snprintf(tmp, sizeof(tmp), spec, to_float(v));
				buf_puts(&b, tmp);
				continue;
			}
			break;
		default:
			break;
		}
		/* Go's report of a verb that does not fit its operand */
		buf_printf(&b, "%%!%c(%s=", verb, v->kind == V_STR ? "string" :
		    v->kind == V_INT ? "int64" : v->kind == V_FLOAT ? "float64" :
		    v->kind == V_BOOL ? "bool" : "time.Time");
		val_print(&b, v);
		buf_putc(&b, ')');
	}
	/* arguments no verb used: Go lists them after the text */
	if (ai < n) {
		buf_puts(&b, "%!(EXTRA ");
		for (; ai < n; ai++) {
			buf_printf(&b, "%s=", a[ai].kind == V_STR ? "string" :
			    a[ai].kind == V_INT ? "int64" : a[ai].kind ==
			    V_FLOAT ? "float64" : a[ai].kind == V_BOOL ? "bool" :
			    "time.Time");
			val_print(&b, &a[ai]);
			if (ai + 1 < n)
				buf_puts(&b, ", ");
		}
		buf_putc(&b, ')');
	}
	*out = val_take(&b);
	return 0;
}

#pragma GCC diagnostic pop

/* ---- the parser ---- */

struct tp {
	const char	*s;
	size_t		 n, i;
	int		 line;
};

/* fmt is a literal at every call, taking one %.*s of a, al. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int
tp_error(const struct tp *p, const char *fmt, const char *a, size_t al)
{
	char why[200];

	snprintf(why, sizeof(why), fmt, (int)al, a);
	return err_set(-EINVAL, "template: line:%d: %s", p->line, why);
}
#pragma GCC diagnostic pop

static void free_pipe(struct pipe *pp);
static void free_list(struct list *l);

static void
free_arg(struct arg *a)
{
	free(a->s);
	if (a->sub)
		free_pipe(a->sub);
	if (a->re)
		pcre2_code_free(a->re);
}

static void
free_pipe(struct pipe *pp)
{
	size_t i, j;

	if (pp == NULL)
		return;
	for (i = 0; i < pp->ncmd; i++) {
		for (j = 0; j < pp->cmd[i].narg; j++)
			free_arg(&pp->cmd[i].arg[j]);
		free(pp->cmd[i].arg);
	}
	free(pp->cmd);
	free(pp);
}

static void
free_list(struct list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->node[i].text);
		free_pipe(l->node[i].pipe);
		free_list(l->node[i].then);
		free_list(l->node[i].els);
	}
	free(l->node);
	free(l);
}

void
lq_tmpl_free(struct lq_tmpl *t)
{
	if (t == NULL)
		return;
	free_list(t->root);
	free(t);
}

static void
skip_ws(struct tp *p)
{
	while (p->i < p->n && isspace((unsigned char)p->s[p->i])) {
		if (p->s[p->i] == '\n')
			p->line++;
		p->i++;
	}
}

/* At the end of an action: " }}" or " -}}"; consumes it, *trim set for -}}. */
static int
at_close(struct tp *p, int *trim, int eat)
{
	size_t j = p->i;

	if (j + 2 < p->n && p->s[j] == '-' && p->s[j + 1] == '}' &&
	    p->s[j + 2] == '}') {
		if (eat) {
			*trim = 1;
			p->i = j + 3;
		}
		return 1;
	}
	if (j + 1 < p->n && p->s[j] == '}' && p->s[j + 1] == '}') {
		if (eat) {
			*trim = 0;
			p->i = j + 2;
		}
		return 1;
	}
	return 0;
}

static int is_ident(char c, int first)
{
	return isalpha((unsigned char)c) || c == '_' ||
	    (!first && isdigit((unsigned char)c));
}

static int parse_pipe(struct tp *p, struct pipe **out, int paren);

/* A string constant "..." (Go escapes, common ones) or `...`. */
static int
parse_strconst(struct tp *p, struct arg *a)
{
	char q = p->s[p->i++];
	struct buf b;

	buf_init(&b, 0);
	while (p->i < p->n && p->s[p->i] != q) {
		char ch = p->s[p->i++];

		if (q == '"' && ch == '\n')
			break;
		if (q == '"' && ch == '\\' && p->i < p->n) {
			ch = p->s[p->i++];
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case '\\': case '"': case '\'': break;
			default:
				buf_release(&b);
				return tp_error(p, "unknown escape sequence%.*s",
				    "", 0);
			}
		}
		buf_putc(&b, ch);
	}
	if (p->i >= p->n || p->s[p->i] != q) {
		buf_release(&b);
		return tp_error(p, "unterminated quoted string%.*s", "", 0);
	}
	p->i++;
	a->kind = A_STR;
	if (b.data == NULL)
		buf_puts(&b, "");
	a->s = buf_detach(&b, &a->n);
	return 0;
}

static int
find_func(const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < NFUNCS; k++)
		if (strlen(funcs[k].name) == n &&
		    memcmp(funcs[k].name, s, n) == 0)
			return (int)k;
	return -1;
}

static int
parse_arg(struct tp *p, struct arg *a)
{
	size_t st = p->i;
	char c = p->s[p->i];
	int rc;

	memset(a, 0, sizeof(*a));
	if (c == '"' || c == '`')
		return parse_strconst(p, a);
	if (c == '(') {
		p->i++;
		a->kind = A_PIPE;
		if ((rc = parse_pipe(p, &a->sub, 1)) != 0)
			return rc;
		return 0;
	}
	if (c == '.') {
		p->i++;
		while (p->i < p->n && is_ident(p->s[p->i], 0))
			p->i++;
		if (p->i == st + 1) {
			a->kind = A_DOT;
			return 0;
		}
		if (p->i < p->n && p->s[p->i] == '.')
			return tp_error(p, "nested field %.*s is not supported",
			    p->s + st, p->i - st);
		a->kind = A_FIELD;
		a->s = xstrndup(p->s + st + 1, p->i - st - 1);
		a->n = p->i - st - 1;
		return 0;
	}
	if (isdigit((unsigned char)c) || c == '-' || c == '+') {
		char tmp[64], *end;
		size_t l;

		p->i++;
		while (p->i < p->n && (isalnum((unsigned char)p->s[p->i]) ||
		    p->s[p->i] == '.' || p->s[p->i] == '_'))
			p->i++;
		l = p->i - st;
		if (l >= sizeof(tmp))
			return tp_error(p, "bad number syntax: %.*s", p->s + st,
			    l > 40 ? 40 : l);
		memcpy(tmp, p->s + st, l);
		tmp[l] = '\0';
		a->i = strtoll(tmp, &end, 0);
		if (*end == '\0') {
			a->kind = A_INT;
			return 0;
		}
		a->f = strtod(tmp, &end);
		if (*end != '\0')
			return tp_error(p, "bad number syntax: %.*s", tmp, l);
		a->kind = A_FLOAT;
		return 0;
	}
	if (is_ident(c, 1)) {
		while (p->i < p->n && is_ident(p->s[p->i], 0))
			p->i++;
		if (p->i - st == 4 && memcmp(p->s + st, "true", 4) == 0) {
			a->kind = A_BOOL;
			a->i = 1;
			return 0;
		}
		if (p->i - st == 5 && memcmp(p->s + st, "false", 5) == 0) {
			a->kind = A_BOOL;
			return 0;
		}
		if ((a->fn = find_func(p->s + st, p->i - st)) < 0)
			return tp_error(p, "function \"%.*s\" not defined",
			    p->s + st, p->i - st);
		a->kind = A_FUNC;
		return 0;
	}
	return tp_error(p, "unexpected \"%.*s\" in command", p->s + st, 1);
}

/* Arguments up to | or the end of the action (or ')' when paren). */
static int
parse_cmd(struct tp *p, struct cmd *c, int paren)
{
	int rc, t;

	memset(c, 0, sizeof(*c));
	for (;;) {
		skip_ws(p);
		if (p->i >= p->n)
			return tp_error(p, "unclosed action%.*s", "", 0);
		if (p->s[p->i] == '|' || (paren && p->s[p->i] == ')') ||
		    (!paren && at_close(p, &t, 0)))
			break;
		c->arg = xrealloc(c->arg, (c->narg + 1) * sizeof(*c->arg));
		rc = parse_arg(p, &c->arg[c->narg]);
		c->narg++;
		if (rc != 0)
			return rc;
	}
	if (c->narg == 0)
		return tp_error(p, "missing value for command%.*s", "", 0);
	return 0;
}

static int
check_cmd(struct tp *p, const struct cmd *c, int piped)
{
	const struct func *f;
	size_t k, got;

	if (c->arg[0].kind != A_FUNC) {
		if (c->narg > 1 || piped)
			return tp_error(p, "can't give argument to non-function"
			    " %.*s", c->arg[0].s ? c->arg[0].s : ".",
			    c->arg[0].s ? c->arg[0].n : 1);
		return 0;
	}
	f = &funcs[c->arg[0].fn];
	got = c->narg - 1 + (piped ? 1 : 0);
	if ((int)got < f->min || (f->max >= 0 && (int)got > f->max))
		return tp_error(p, "wrong number of args for %.*s", f->name,
		    strlen(f->name));
	for (k = 1; k < c->narg; k++)
		if (c->arg[k].kind == A_FUNC && funcs[c->arg[k].fn].min > 0)
			return tp_error(p, "wrong number of args for %.*s",
			    funcs[c->arg[k].fn].name,
			    strlen(funcs[c->arg[k].fn].name));
	return 0;
}

static int
parse_pipe(struct tp *p, struct pipe **out, int paren)
{
	struct pipe *pp = xcalloc(1, sizeof(*pp));
	int rc;

	*out = pp;
	for (;;) {
		pp->cmd = xrealloc(pp->cmd, (pp->ncmd + 1) * sizeof(*pp->cmd));
		rc = parse_cmd(p, &pp->cmd[pp->ncmd], paren);
		pp->ncmd++;
		if (rc != 0)
			return rc;
		if ((rc = check_cmd(p, &pp->cmd[pp->ncmd - 1],
		    pp->ncmd > 1)) != 0)
			return rc;
		if (p->s[p->i] != '|')
			break;
		p->i++;
	}
	if (paren)
		p->i++;		/* the ')' */
	return 0;
}

static int parse_list(struct tp *p, struct list **out, int *ended, int depth);

static void
add_text(struct list *l, const char *s, size_t n)
{
	struct node *nd;

	if (n == 0)
		return;
	l->node = xrealloc(l->node, (l->n + 1) * sizeof(*l->node));
	nd = &l->node[l->n++];
	memset(nd, 0, sizeof(*nd));
	nd->kind = N_TEXT;
	nd->text = xstrndup(s, n);
	nd->len = n;
}

/* What ended a list: the end, {{else}}, {{else if ...}} or {{end}}. */
enum { END_EOF, END_ELSE, END_ELSE_IF, END_END };

static int
keyword(struct tp *p, const char *kw)
{
	size_t l = strlen(kw);

	if (p->i + l <= p->n && memcmp(p->s + p->i, kw, l) == 0 &&
	    (p->i + l == p->n || !is_ident(p->s[p->i + l], 0))) {
		p->i += l;
		return 1;
	}
	return 0;
}

static int
parse_if(struct tp *p, struct list *l, int depth)
{
	struct node *nd;
	int ended, rc, t;

	if (depth > 50)
		return tp_error(p, "too deeply nested%.*s", "", 0);
	l->node = xrealloc(l->node, (l->n + 1) * sizeof(*l->node));
	nd = &l->node[l->n++];
	memset(nd, 0, sizeof(*nd));
	nd->kind = N_IF;
	skip_ws(p);
	if ((rc = parse_pipe(p, &nd->pipe, 0)) != 0)
		return rc;
	at_close(p, &t, 1);
	/* {{- trimming after the action */
	if (t)
		skip_ws(p);
	if ((rc = parse_list(p, &nd->then, &ended, depth + 1)) != 0)
		return rc;
	if (ended == END_ELSE_IF) {
		nd->els = xcalloc(1, sizeof(*nd->els));
		return parse_if(p, nd->els, depth + 1);
	}
	if (ended == END_ELSE) {
		if ((rc = parse_list(p, &nd->els, &ended, depth + 1)) != 0)
			return rc;
		if (ended != END_END)
			return tp_error(p, "expected end; found %.*s", "else",
			    ended == END_EOF ? 0 : 4);
		return 0;
	}
	if (ended != END_END)
		return tp_error(p, "unexpected EOF%.*s", "", 0);
	return 0;
}

static int
parse_list(struct tp *p, struct list **out, int *ended, int depth)
{
	struct list *l = xcalloc(1, sizeof(*l));
	int rc, t;

	*out = l;
	*ended = END_EOF;
	while (p->i < p->n) {
		const char *open = memmem(p->s + p->i, p->n - p->i, "{{", 2);
		size_t tl, st = p->i;
		int trim_left = 0;

		if (open == NULL) {
			add_text(l, p->s + p->i, p->n - p->i);
			for (; p->i < p->n; p->i++)
				if (p->s[p->i] == '\n')
					p->line++;
			break;
		}
		tl = (size_t)(open - (p->s + p->i));
		p->i += tl + 2;
		if (p->i + 1 < p->n && p->s[p->i] == '-' &&
		    isspace((unsigned char)p->s[p->i + 1])) {
			trim_left = 1;
			p->i++;
		}
		if (trim_left)
			while (tl > 0 && isspace((unsigned char)p->s[st + tl - 1]))
				tl--;
		add_text(l, p->s + st, tl);
		for (size_t k = st; k < p->i; k++)
			if (p->s[k] == '\n')
				p->line++;
		if (p->i + 1 < p->n && p->s[p->i] == '/' && p->s[p->i + 1] == '*') {
			const char *ce = memmem(p->s + p->i, p->n - p->i, "*/", 2);

			if (ce == NULL)
				return tp_error(p, "unclosed comment%.*s", "", 0);
			p->i = (size_t)(ce - p->s) + 2;
			skip_ws(p);
			if (!at_close(p, &t, 1))
				return tp_error(p, "comment ends before closing "
				    "delimiter%.*s", "", 0);
			if (t)
				skip_ws(p);
			continue;
		}
		skip_ws(p);
		if (keyword(p, "if")) {
			if ((rc = parse_if(p, l, depth)) != 0)
				return rc;
			continue;
		}
		if (keyword(p, "else")) {
			skip_ws(p);
			if (keyword(p, "if")) {
				*ended = END_ELSE_IF;
				return depth > 0 ? 0 : tp_error(p,
				    "unexpected {{else}}%.*s", "", 0);
			}
			if (!at_close(p, &t, 1))
				return tp_error(p, "unexpected token in else%.*s",
				    "", 0);
			if (t)
				skip_ws(p);
			*ended = END_ELSE;
			return depth > 0 ? 0 : tp_error(p,
			    "unexpected {{else}}%.*s", "", 0);
		}
		if (keyword(p, "end")) {
			skip_ws(p);
			if (!at_close(p, &t, 1))
				return tp_error(p, "unexpected token in end%.*s",
				    "", 0);
			if (t)
				skip_ws(p);
			*ended = END_END;
			return depth > 0 ? 0 : tp_error(p,
			    "unexpected {{end}}%.*s", "", 0);
		}
		if (keyword(p, "range") || keyword(p, "with") ||
		    keyword(p, "define") || keyword(p, "template") ||
		    keyword(p, "block") || keyword(p, "break") ||
		    keyword(p, "continue"))
			return tp_error(p, "the %.*s action is not supported",
			    "action", 6);
		if (p->i < p->n && p->s[p->i] == '$')
			return tp_error(p, "variables are not supported%.*s",
			    "", 0);
		l->node = xrealloc(l->node, (l->n + 1) * sizeof(*l->node));
		memset(&l->node[l->n], 0, sizeof(l->node[0]));
		l->node[l->n].kind = N_ACTION;
		rc = parse_pipe(p, &l->node[l->n].pipe, 0);
		l->n++;
		if (rc != 0)
			return rc;
		at_close(p, &t, 1);
		if (t)
			skip_ws(p);
	}
	return 0;
}

/* Compile the constant regex of regexReplaceAll calls once. */
static int
precompile(struct tp *p, struct pipe *pp)
{
	const struct re_contexts *rc = re_contexts();
	size_t i, k;
	int e, r;

	if (pp == NULL)
		return 0;
	for (i = 0; i < pp->ncmd; i++) {
		struct cmd *c = &pp->cmd[i];

		for (k = 0; k < c->narg; k++)
			if (c->arg[k].sub && (r = precompile(p, c->arg[k].sub)))
				return r;
		if (c->arg[0].kind == A_FUNC && c->narg > 1 &&
		    c->arg[1].kind == A_STR &&
		    (funcs[c->arg[0].fn].fn == f_regexReplaceAll ||
		    funcs[c->arg[0].fn].fn == f_regexReplaceAllLiteral ||
		    funcs[c->arg[0].fn].fn == f_count)) {
			PCRE2_SIZE off;

			c->arg[1].re = pcre2_compile((PCRE2_SPTR)c->arg[1].s,
			    c->arg[1].n, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
			    &e, &off, rc->compile);
			if (c->arg[1].re == NULL)
				return tp_error(p, "error parsing regexp %.*s",
				    c->arg[1].s, c->arg[1].n);
			if (pcre2_jit_compile(c->arg[1].re,
			    PCRE2_JIT_COMPLETE) != 0) {
				/* the interpreter runs it */
			}
		}
	}
	return 0;
}

static int
precompile_list(struct tp *p, struct list *l)
{
	size_t i;
	int rc;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if ((rc = precompile(p, l->node[i].pipe)) != 0 ||
		    (rc = precompile_list(p, l->node[i].then)) != 0 ||
		    (rc = precompile_list(p, l->node[i].els)) != 0)
			return rc;
	return 0;
}

int
lq_tmpl_parse(const char *s, size_t n, struct lq_tmpl **out)
{
	struct tp p = { s, n, 0, 1 };
	struct lq_tmpl *t = xcalloc(1, sizeof(*t));
	int ended, rc;

	rc = parse_list(&p, &t->root, &ended, 0);
	if (rc == 0)
		rc = precompile_list(&p, t->root);
	if (rc != 0) {
		lq_tmpl_free(t);
		*out = NULL;
		return rc;
	}
	*out = t;
	return 0;
}

/* ---- the fields a template reads ---- */

static int
fields_pipe(const struct pipe *pp, void (*fn)(void *, const char *),
    void *arg)
{
	size_t i, k;
	int all = 0;

	if (pp == NULL)
		return 0;
	for (i = 0; i < pp->ncmd; i++)
		for (k = 0; k < pp->cmd[i].narg; k++) {
			const struct arg *a = &pp->cmd[i].arg[k];

			if (a->kind == A_FIELD)
				fn(arg, a->s);
			else if (a->kind == A_DOT)
				all = 1;
			else if (a->kind == A_PIPE)
				all |= fields_pipe(a->sub, fn, arg);
		}
	return all;
}

static int
fields_list(const struct list *l, void (*fn)(void *, const char *),
    void *arg)
{
	size_t i;
	int all = 0;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->n; i++) {
		all |= fields_pipe(l->node[i].pipe, fn, arg);
		all |= fields_list(l->node[i].then, fn, arg);
		all |= fields_list(l->node[i].els, fn, arg);
	}
	return all;
}

int
lq_tmpl_fields(const struct lq_tmpl *t, void (*fn)(void *, const char *),
    void *arg)
{
	return fields_list(t->root, fn, arg);
}

/* ---- running ---- */

static int run_pipe(const struct ctx *c, const struct pipe *pp,
    struct val *out, int depth);

static int
eval_arg(const struct ctx *c, const struct arg *a, struct val *out, int depth)
{
	const char *v;
	size_t vl;

	switch (a->kind) {
	case A_FIELD:
		v = lq_get(c->b, a->s, a->n, &vl);
		*out = v ? val_str(v, vl) : val_str("", 0);
		return 0;
	case A_STR:
		*out = val_str(a->s, a->n);
		return 0;
	case A_INT:
		*out = val_int(a->i);
		return 0;
	case A_FLOAT:
		*out = val_float(a->f);
		return 0;
	case A_BOOL:
		*out = val_bool((int)a->i);
		return 0;
	case A_DOT:
		*out = val_str("map[]", 5);
		return 0;
	case A_PIPE:
		return run_pipe(c, a->sub, out, depth + 1);
	case A_FUNC:
		return funcs[a->fn].fn(c, NULL, 0, a, out);
	}
	return -EINVAL;
}

static int
run_cmd(const struct ctx *c, const struct cmd *cm, struct val *piped,
    struct val *out, int depth)
{
	const struct func *f;
	struct val a[16];
	size_t na = 0, k;
	int rc = 0;

	if (cm->arg[0].kind != A_FUNC)
		return eval_arg(c, &cm->arg[0], out, depth);
	f = &funcs[cm->arg[0].fn];
	if (cm->narg - 1 + (piped ? 1 : 0) > 16)
		return err_set(-EINVAL, "too many arguments for %s", f->name);
	for (k = 1; k < cm->narg && rc == 0; k++)
		rc = eval_arg(c, &cm->arg[k], &a[na++], depth);
	if (rc == 0 && piped) {
		a[na++] = *piped;
		piped->s = NULL;
	}
	if (rc == 0 && !wants_values(f->fn)) {
		for (k = 0; k < na; k++)
			if (a[k].kind != V_STR) {
				struct val s = val_as_str(&a[k]);

				val_free(&a[k]);
				a[k] = s;
			}
	}
	if (rc == 0)
		rc = f->fn(c, a, na, cm->arg + 1, out);
	if (rc != 0 && strncmp(err_detail(), "error calling", 13) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err_detail());
		rc = err_set(rc, "error calling %s: %s", f->name, why);
	}
	for (k = 0; k < na; k++)
		val_free(&a[k]);
	return rc;
}

static int
run_pipe(const struct ctx *c, const struct pipe *pp, struct val *out,
    int depth)
{
	struct val cur, next;
	size_t i;
	int rc;

	if (depth > 50)
		return err_set(-EINVAL, "template nested too deeply");
	if ((rc = run_cmd(c, &pp->cmd[0], NULL, &cur, depth)) != 0)
		return rc;
	for (i = 1; i < pp->ncmd; i++) {
		rc = run_cmd(c, &pp->cmd[i], &cur, &next, depth);
		val_free(&cur);
		if (rc != 0)
			return rc;
		cur = next;
	}
	*out = cur;
	return 0;
}

static int
run_list(const struct ctx *c, const struct list *l, struct buf *out)
{
	struct val v;
	size_t i;
	int rc;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->n; i++) {
		const struct node *nd = &l->node[i];

		switch (nd->kind) {
		case N_TEXT:
			if ((rc = buf_append(out, nd->text, nd->len)) != 0)
				return rc;
			break;
		case N_ACTION:
			if ((rc = run_pipe(c, nd->pipe, &v, 0)) != 0)
				return rc;
			val_print(out, &v);
			val_free(&v);
			break;
		case N_IF:
			if ((rc = run_pipe(c, nd->pipe, &v, 0)) != 0)
				return rc;
			rc = run_list(c, truthy(&v) ? nd->then : nd->els, out);
			val_free(&v);
			if (rc != 0)
				return rc;
			break;
		}
	}
	return 0;
}

int
lq_tmpl_exec(const struct lq_tmpl *t, const struct lq_builder *b,
    const char *line, size_t len, int64_t ts_ns, struct buf *out)
{
	struct ctx c = { b, line, len, ts_ns };

	return run_list(&c, t->root, out);
}
