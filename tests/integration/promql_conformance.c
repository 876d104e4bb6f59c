/*
 * promql_conformance.c - Prometheus's own PromQL test scripts (the .test
 * files of promql/promqltest/testdata) run against shale's evaluator,
 * over data loaded into a real store.
 *
 *   promql_conformance [-v|-vv] [-n] [--variants] [--min-percent N]
 *	[--min-variants-percent N] [--causes N] [--max-samples N]
 *	[--tmp DIR] FILE...
 *
 * A script is commands separated by empty lines ('#' starts a comment
 * line): `load INTERVAL` then series in promtool notation, `clear`, and
 * `eval instant at T QUERY` or `eval range from S to E step D QUERY`
 * followed by expectations and the expected series. Each file starts on
 * a fresh store, and so does each `clear`: a file:// store in a folder
 * of its own under DIR (a temporary folder by default), opened with
 * engine_open and series_open, removed when done. A load writes each
 * series' samples, at 0, INTERVAL, 2 * INTERVAL ... from the Unix epoch,
 * with one series_appender commit a series, its labels taken as remote
 * write takes them (reserved names too); a series given twice in a load
 * takes its last line; `stale` is the stale marker (CHUNK_STALE_NAN). A
 * series the store refuses (a label set labels.h does not take, a sample
 * the appender refuses) is remembered, and an eval whose selectors pick
 * it fails, counted.
 *
 * An eval parses its query with promql_parse and runs
 * promql_eval_instant or promql_eval_range with Prometheus's test
 * settings (lookback 5m, at most 10,000 samples), then compares as
 * Prometheus's test runner does: the same set of series (labels equal,
 * __name__ included), values within a relative 1e-6 (NaN equals NaN,
 * zero only itself), a range's points at start + i * step (`_` for none),
 * a scalar, a string (`expect string`), a range vector asked for at an
 * instant (`expect range vector from S to E step D`: evaluated at E).
 * The stale marker never belongs in a result. Order counts for `expect
 * ordered` (and eval_ordered), and for an instant vector whose query's
 * top node is sort, sort_desc or sort_by_label*; a matrix must be sorted
 * by labels. `expect fail` (eval_fail) passes when parsing or evaluation
 * fails, with `msg: TEXT` when err_detail() is TEXT, with `regex: RE`
 * when RE (pcre2, unanchored) matches it. Warnings and infos (`expect
 * warn`, `info`, `no_warn`, `no_info`) are not checked: they count
 * neither way.
 *
 * Out of scope, skipped with the reason counted: evals that read native
 * histograms (a series loaded with `{{...}}` values, or the histograms
 * `load_with_nhcb` makes of classic ones: its float series are loaded),
 * that expect one, and queries written with the experimental syntax of
 * Prometheus 3 that shale does not read (extended range selectors, fill
 * modifiers, duration expressions, info(), type and unit labels).
 * Prometheus's runner also repeats each instant eval with @ set on every
 * selector and as a range query around its time; --variants does the
 * same (below), else each eval runs once, as written.
 *
 * --variants: an instant eval that passed is asked again as Prometheus's
 * runner asks it: as a range query from a minute before its time to a
 * minute after, a step a minute, whose middle step must be the same
 * answer (order aside; not for `expect range vector`, `expect string`,
 * failures, and queries naming start(), end(), range() or step()); then,
 * unless it calls a function that depends on the time (time, timestamp,
 * predict_linear, minute ...), with every selector and subquery pinned
 * @ its time (those with an @ time keep it, nothing under a subquery
 * changes) and asked at -10 t, 0, t / 5, t and 10 t (-1 s, 0 and 1 s for
 * t = 0), each also as a range. The eval counts as passed with variants
 * when all of them give the expected answer.
 *
 * Output: a line a file, "FILE: passed/in-scope (skipped N: reasons)",
 * and "total: P/S evals (X%)" (with --variants, also what passed with
 * the variants, a file and in total). -v prints each failing eval (file:line,
 * the query, what was expected and what came), -vv each skipped one too;
 * --causes N the N most common causes of failure (an error's words, or
 * a wrong result by the query's top function or operator) with an
 * example each. -n parses and loads without evaluating, and checks every
 * loaded series by series_scan. Exit status 0 when the total reaches
 * --min-percent (default 0) and, with --variants, the total with the
 * variants --min-variants-percent; 1 below (or a file could not be
 * read, or a load check failed), 2 for bad usage.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "engine/objstore/objstore.h"
#include "model/chunk.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series.h"
#include "query/promql.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/re.h"
#include "util/xmalloc.h"

#define EPSILON		1e-6		/* relative error of a value */
#define MIN_NORMAL	2.2250738585072014e-308
#define MAX_SAMPLES	10000		/* Prometheus's test engine's */
#define TIMEOUT_MS	20000		/* an eval, at most */
#define SHOW_MAX	8		/* series printed of an answer */

/* ---- data ---- */

struct pair {
	char		*name;
	char		*value;
};

/* One value of a sequence in promtool notation. */
struct val {
	double		 v;
	int		 omitted;	/* `_` */
};

/* A series line: its labels, sorted by name, and its values. */
struct sline {
	struct pair	*p;
	size_t		 np;
	struct val	*v;
	size_t		 nv;
	int		 native;	/* has {{...}}: a native histogram */
};

/* A series the store does not have: a native histogram, or refused. */
struct unloaded {
	struct pair	*p;
	size_t		 np;
	char		*why;		/* NULL: a native histogram */
};

enum skip {
	SKIP_NATIVE_DATA,
	SKIP_NATIVE_RESULT,
	SKIP_EXPERIMENTAL,
	NSKIP
};

static const char *const skip_names[NSKIP] = {
	"native histogram data", "native histogram result",
	"experimental syntax",
};

struct eval {
	const char	*file;
	int		 line;
	const char	*query;
	int		 range;
	int64_t		 t;		/* instant: the time */
	int64_t		 start, end, step; /* range, or expect range vector */
	int		 expect_range;
	int		 fail;
	char		*fail_msg;	/* exact */
	char		*fail_re;	/* pcre2, unanchored */
	int		 ordered;
	int		 has_string;
	char		*string;
	int		 scalar;
	double		 scalar_v;
	struct sline	*es;
	size_t		 nes;
	int		 native_result;
	char		*bad;		/* the block could not be read */
};

/* The store of one `clear` scope. */
struct scope {
	char		*dir;
	char		*uri;
	struct engine	*e;
	struct series	*s;
	struct unloaded	*un;
	size_t		 nun, capun;
};

struct cause {
	char		*what;
	unsigned	 n;
	char		*example;
};

struct tally {
	unsigned	 passed, inscope;
	unsigned	 varied;		/* passed with the variants */
	unsigned	 skipped[NSKIP];
};

static int		 verbose, dry_run, with_variants;
static uint64_t		 max_samples = MAX_SAMPLES;
static const char	*tmp_root;
static unsigned		 nstores;
static unsigned		 nasked;	/* queries evaluated */
static unsigned		 load_errors;	/* -n: loaded samples that differ */
static unsigned		 unreadable;	/* files */
static struct cause	*causes;
static size_t		 ncauses, capcauses;

/* ---- small things ---- */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The next whitespace-separated token of *s, NUL-terminated in place. */
static char *
token(char **s)
{
	char *p = *s, *t;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	t = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	*s = p;
	return t;
}

static void
pairs_free(struct pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

static void
sline_release(struct sline *l)
{
	pairs_free(l->p, l->np);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->name,
	    ((const struct pair *)b)->name);
}

/* The value of label name among p, or NULL. */
static const char *
pair_get(const struct pair *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}

/*
 * A time of a script: a duration after the epoch (10m, 1h30m) or plain
 * seconds (100, 1.5): 0 or -EINVAL.
 */
static int
parse_time(const char *s, int64_t *ms)
{
	char *end;
	double sec;

	if (*s == '\0')
		return -EINVAL;
	sec = strtod(s, &end);
	if (*end == '\0' && isdigit((unsigned char)s[strspn(s, "+-")])) {
		*ms = (int64_t)llround(sec * 1000);
		return 0;
	}
	return promql_duration_parse(s, strlen(s), ms);
}

/*
 * A number at *s as the test scripts write them: Go's integers (0x1f,
 * 010 octal), floats, Inf and NaN in any case, with a sign; *s moves
 * past it. In a sequence (seq), x is the repeat: 0x5 is 0, x5, and
 * integers are decimal. 0, or -EINVAL with nothing read.
 */
static int
number_prefix(const char **s, double *v, int seq)
{
	const char *p = *s, *q;
	char *end;
	int neg = 0, hex = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (strncasecmp(p, "inf", 3) == 0 && !isalnum((unsigned char)p[3]) &&
	    p[3] != '_') {
		*v = neg ? -INFINITY : INFINITY;
		*s = p + 3;
		return 0;
	}
	if (strncasecmp(p, "nan", 3) == 0 && !isalnum((unsigned char)p[3]) &&
	    p[3] != '_') {
		*v = NAN;
		*s = p + 3;
		return 0;
	}
	if (!isdigit((unsigned char)*p) && *p != '.')
		return -EINVAL;
	/* an integer literal, as Go's ParseInt(s, 0, 64) reads one */
	q = p;
	if (!seq && q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
		for (q += 2; isxdigit((unsigned char)*q); q++)
			;
		hex = 1;
	} else {
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (q > p && (hex || (*q != '.' && *q != 'e' && *q != 'E'))) {
		long long n;

		errno = 0;
		n = strtoll(p, &end, seq ? 10 : 0);
		if (errno == 0 && end == q) {
			*v = neg ? -(double)n : (double)n;
			*s = end;
			return 0;
		}
	}
	*v = strtod(p, &end);
	if (end == p)
		return -EINVAL;
	if (neg)
		*v = -*v;
	*s = end;
	return 0;
}

/* The whole of s as one number. */
static int
parse_number(const char *s, double *v)
{
	const char *p = s;

	if (number_prefix(&p, v, 0) != 0 || *p != '\0')
		return -EINVAL;
	return 0;
}

/*
 * Go's strconv.Unquote of a "...", '...' or `...` string at *s, which
 * moves past it; the text into out. 0 or -EINVAL.
 */
static int
unquote(const char **s, struct buf *out)
{
	const char *p = *s;
	char q = *p++;

	buf_reset(out);
	if (q != '"' && q != '\'' && q != '`')
		return -EINVAL;
	while (*p && *p != q) {
		unsigned long c;
		int n;

		if (q == '`' || *p != '\\') {
			buf_putc(out, *p++);
			continue;
		}
		p++;
		switch (*p) {
		case 'a': c = '\a'; n = 0; break;
		case 'b': c = '\b'; n = 0; break;
		case 'f': c = '\f'; n = 0; break;
		case 'n': c = '\n'; n = 0; break;
		case 'r': c = '\r'; n = 0; break;
		case 't': c = '\t'; n = 0; break;
		case 'v': c = '\v'; n = 0; break;
		case '\\': case '"': case '\'': c = (unsigned char)*p; n = 0; break;
		case 'x': n = 2; break;
		case 'u': n = 4; break;
		case 'U': n = 8; break;
		default:
			if (*p >= '0' && *p <= '7') {
				if (p[1] < '0' || p[1] > '7' || p[2] < '0' ||
				    p[2] > '7')
					return -EINVAL;
				c = (unsigned long)((p[0] - '0') * 64 +
				    (p[1] - '0') * 8 + (p[2] - '0'));
				buf_putc(out, (char)c);
				p += 3;
				continue;
			}
			return -EINVAL;
		}
		if (n == 0) {
			buf_putc(out, (char)c);
			p++;
			continue;
		}
		c = 0;
		for (int i = 1; i <= n; i++) {
			if (!isxdigit((unsigned char)p[i]))
				return -EINVAL;
			c = c * 16 + (unsigned long)(isdigit((unsigned char)p[i]) ?
			    p[i] - '0' : (tolower((unsigned char)p[i]) - 'a' + 10));
		}
		p += n + 1;
		if (n == 2) {		/* \xNN is a byte */
			buf_putc(out, (char)c);
			continue;
		}
		/* \u and \U: the code point in UTF-8 */
		if (c < 0x80) {
			buf_putc(out, (char)c);
		} else if (c < 0x800) {
			buf_putc(out, (char)(0xc0 | c >> 6));
			buf_putc(out, (char)(0x80 | (c & 0x3f)));
		} else if (c < 0x10000) {
			buf_putc(out, (char)(0xe0 | c >> 12));
			buf_putc(out, (char)(0x80 | (c >> 6 & 0x3f)));
			buf_putc(out, (char)(0x80 | (c & 0x3f)));
		} else if (c < 0x110000) {
			buf_putc(out, (char)(0xf0 | c >> 18));
			buf_putc(out, (char)(0x80 | (c >> 12 & 0x3f)));
			buf_putc(out, (char)(0x80 | (c >> 6 & 0x3f)));
			buf_putc(out, (char)(0x80 | (c & 0x3f)));
		} else {
			return -EINVAL;
		}
	}
	if (*p != q)
		return -EINVAL;
	*s = p + 1;
	return 0;
}

static int
name_char(int c, int first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

static void
pair_add(struct pair **p, size_t *n, size_t *cap, const char *name,
    size_t name_len, const char *value)
{
	*p = xgrow(*p, cap, *n + 1, sizeof(**p));
	(*p)[*n].name = xstrndup(name, name_len);
	(*p)[*n].value = xstrdup(value);
	(*n)++;
}

/*
 * The labels of a series line, metric{name="value", ...}, {...} or
 * metric, at *s (which moves past them): sorted by name, empty values
 * dropped. Names may be quoted; a quoted string alone in the braces is
 * the metric name. 0, or -EINVAL with why.
 */
static int
parse_labels(const char **s, struct sline *l, const char **why)
{
	const char *p = *s;
	struct buf b = { 0 };
	struct pair *pa = NULL;
	size_t n = 0, cap = 0;
	int rc = -EINVAL;

	if (name_char((unsigned char)*p, 1)) {
		const char *st = p;

		while (name_char((unsigned char)*p, 0) || *p == '.')
			p++;
		pair_add(&pa, &n, &cap, LABELS_METRIC_NAME,
		    strlen(LABELS_METRIC_NAME), "");
		free(pa[0].value);
		pa[0].value = xstrndup(st, (size_t)(p - st));
	}
	if (*p == '{') {
		p++;
		for (;;) {
			char *name;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '}')
				break;
			if (*p == '"' || *p == '\'' || *p == '`') {
				if (unquote(&p, &b) != 0) {
					*why = "a bad quoted name";
					goto out;
				}
			} else if (name_char((unsigned char)*p, 1)) {
				const char *st = p;

				while (name_char((unsigned char)*p, 0))
					p++;
				buf_reset(&b);
				buf_append(&b, st, (size_t)(p - st));
			} else {
				*why = "a label name expected";
				goto out;
			}
			name = xstrdup(buf_str(&b));
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != '=') {	/* {"metric.name"} */
				pair_add(&pa, &n, &cap, LABELS_METRIC_NAME,
				    strlen(LABELS_METRIC_NAME), name);
				free(name);
			} else {
				p++;
				while (*p == ' ' || *p == '\t')
					p++;
				if (unquote(&p, &b) != 0) {
					free(name);
					*why = "a bad label value";
					goto out;
				}
				pair_add(&pa, &n, &cap, name, strlen(name),
				    buf_str(&b));
				free(name);
			}
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p != '}') {
				*why = "',' or '}' expected";
				goto out;
			}
		}
		p++;
	}
	if (n == 0 && p == *s) {
		*why = "a series expected";
		goto out;
	}
	/* an empty value is no label */
	for (size_t i = 0; i < n;) {
		if (pa[i].value[0] == '\0') {
			free(pa[i].name);
			free(pa[i].value);
			pa[i] = pa[--n];
		} else {
			i++;
		}
	}
	if (n > 1)
		qsort(pa, n, sizeof(*pa), pair_cmp);
	l->p = pa;
	l->np = n;
	pa = NULL;
	n = 0;
	*s = p;
	rc = 0;
out:
	pairs_free(pa, n);
	buf_release(&b);
	return rc;
}

static void
val_add(struct sline *l, size_t *cap, double v, int omitted)
{
	l->v = xgrow(l->v, cap, l->nv + 1, sizeof(*l->v));
	l->v[l->nv].v = v;
	l->v[l->nv++].omitted = omitted;
}

/* The count after an 'x' at *s: 0, or -EINVAL. */
static int
times(const char **s, uint64_t *n)
{
	char *end;

	if (**s != 'x' || !isdigit((unsigned char)(*s)[1]))
		return -EINVAL;
	*n = strtoull(*s + 1, &end, 10);
	if (*n > 1000000)
		return -EINVAL;
	*s = end;
	return 0;
}

/*
 * The values of a series line in promtool notation: v, vxN (N+1 times),
 * a+bxN and a-bxN (N+1 values, b added each time), _ (none), _xN (N
 * times none), stale. A line with {{ holds a native histogram: marked,
 * its values not read. 0, or -EINVAL with why.
 */
static int
parse_values(const char *p, struct sline *l, const char **why)
{
	size_t cap = 0;

	if (strstr(p, "{{") != NULL) {
		l->native = 1;
		return 0;
	}
	for (;;) {
		double a, b;
		uint64_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '_') {
			p++;
			n = 1;
			if (*p == 'x' && times(&p, &n) != 0)
				goto bad;
			for (uint64_t i = 0; i < n; i++)
				val_add(l, &cap, 0, 1);
		} else if (strncmp(p, "stale", 5) == 0) {
			p += 5;
			val_add(l, &cap, bits_double(CHUNK_STALE_NAN), 0);
		} else {
			if (number_prefix(&p, &a, 1) != 0)
				goto bad;
			b = 0;
			n = 0;
			if (*p == '+' || *p == '-') {
				int neg = *p == '-';

				p++;
				if (number_prefix(&p, &b, 1) != 0)
					goto bad;
				if (neg)
					b = -b;
				if (times(&p, &n) != 0)
					goto bad;
			} else if (*p == 'x') {
				if (times(&p, &n) != 0)
					goto bad;
			}
			/* added up as Prometheus adds them, not a + i * b */
			for (uint64_t i = 0; i <= n; i++) {
				val_add(l, &cap, a, 0);
				a += b;
			}
		}
		if (*p != '\0' && *p != ' ' && *p != '\t')
			goto bad;
		continue;
bad:
		*why = "a bad value";
		return -EINVAL;
	}
}

/* A whole series line: labels, then values. */
static int
parse_sline(const char *line, struct sline *l, const char **why)
{
	const char *p = line;
	int rc;

	memset(l, 0, sizeof(*l));
	if ((rc = parse_labels(&p, l, why)) != 0)
		return rc;
	if (*p != '\0' && *p != ' ' && *p != '\t') {
		*why = "space expected after the series";
		sline_release(l);
		return -EINVAL;
	}
	if ((rc = parse_values(p, l, why)) != 0)
		sline_release(l);
	return rc;
}

/* ---- the store of a scope ---- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
scope_close(struct scope *sc)
{
	if (sc->s != NULL)
		series_close(sc->s);
	if (sc->e != NULL)
		engine_close(sc->e);
	if (sc->dir != NULL)
		nftw(sc->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < sc->nun; i++) {
		pairs_free(sc->un[i].p, sc->un[i].np);
		free(sc->un[i].why);
	}
	free(sc->un);
	free(sc->dir);
	free(sc->uri);
	memset(sc, 0, sizeof(*sc));
}

/* Open the scope's store if it has none yet: 0, or the error, said. */
static int
scope_open(struct scope *sc)
{
	struct objstore_opts so = { .no_fsync = 1 };
	struct engine_settings es;
	int rc;

	if (sc->s != NULL)
		return 0;
	sc->dir = xasprintf("%s/store%u", tmp_root, nstores++);
	sc->uri = xasprintf("file://%s", sc->dir);
	engine_settings_default(&es);
	rc = engine_open(sc->uri, &so, &es, ENGINE_WRITER, &sc->e);
	engine_settings_release(&es);
	if (rc != 0) {
		fprintf(stderr, "engine_open %s: %s\n", sc->uri, err_message(rc));
		sc->e = NULL;
		return rc;
	}
	rc = series_open(sc->e, &(struct series_options){ 0 }, &sc->s);
	if (rc != 0) {
		fprintf(stderr, "series_open %s: %s\n", sc->uri,
		    err_message(rc));
		sc->s = NULL;
		return rc;
	}
	return 0;
}

/* Remember a series the store has not: why NULL for a native histogram. */
static void
unloaded_add(struct scope *sc, const struct pair *p, size_t np,
    const char *why)
{
	struct unloaded *u;

	sc->un = xgrow(sc->un, &sc->capun, sc->nun + 1, sizeof(*sc->un));
	u = &sc->un[sc->nun++];
	u->p = xcalloc(np ? np : 1, sizeof(*u->p));
	for (size_t i = 0; i < np; i++) {
		u->p[i].name = xstrdup(p[i].name);
		u->p[i].value = xstrdup(p[i].value);
	}
	u->np = np;
	u->why = why != NULL ? xstrdup(why) : NULL;
}

/*
 * The native histogram load_with_nhcb makes of a classic series: its
 * name without _bucket (and without le), _sum or _count.
 */
static void
nhcb_add(struct scope *sc, const struct sline *l)
{
	static const char *const suffix[] = { "_bucket", "_sum", "_count" };
	const char *name = pair_get(l->p, l->np, LABELS_METRIC_NAME);
	struct pair *p;
	size_t n = 0;

	if (name == NULL)
		return;
	for (size_t k = 0; k < 3; k++) {
		size_t len = strlen(name), sl = strlen(suffix[k]);

		if (len <= sl || strcmp(name + len - sl, suffix[k]) != 0)
			continue;
		p = xcalloc(l->np, sizeof(*p));
		for (size_t i = 0; i < l->np; i++) {
			if (k == 0 && strcmp(l->p[i].name, "le") == 0)
				continue;
			p[n].name = l->p[i].name;
			p[n].value = l->p[i].value;
			if (strcmp(p[n].name, LABELS_METRIC_NAME) == 0)
				p[n].value = xstrndup(name, len - sl);
			n++;
		}
		unloaded_add(sc, p, n, NULL);
		for (size_t i = 0; i < n; i++)
			if (strcmp(p[i].name, LABELS_METRIC_NAME) == 0)
				free(p[i].value);
		free(p);
		return;
	}
}

struct count_arg {
	const struct sline *l;
	size_t	 i;		/* the next value of l to see */
	int64_t	 interval;
	int	 bad;
};

static int
count_sample(void *arg, int64_t t, double v)
{
	struct count_arg *c = arg;

	while (c->i < c->l->nv && c->l->v[c->i].omitted)
		c->i++;
	if (c->i >= c->l->nv || t != (int64_t)c->i * c->interval ||
	    double_bits(v) != double_bits(c->l->v[c->i].v))
		c->bad = 1;
	c->i++;
	return 0;
}

/* -n: the store gives back exactly the samples of l. */
static void
check_loaded(struct scope *sc, const struct labels *ls, const struct sline *l,
    int64_t interval, const char *file, int line)
{
	struct count_arg c = { .l = l, .interval = interval };
	uint64_t id;
	int rc;

	if ((rc = series_find(sc->s, ls, &id)) == 0)
		rc = series_scan(sc->s, id, INT64_MIN, INT64_MAX,
		    count_sample, &c);
	while (c.i < l->nv && l->v[c.i].omitted)
		c.i++;
	if (rc != 0 || c.bad || c.i != l->nv) {
		printf("%s:%d: the store does not give back the samples "
		    "loaded (%s)\n", file, line,
		    rc ? err_message(rc) : "values differ");
		load_errors++;
	}
}

/* Load one series line into the scope's store. */
static void
load_series(struct scope *sc, const struct sline *l, int64_t interval,
    const char *file, int line)
{
	struct series_appender *a;
	struct series_sample *smp;
	struct labels *ls = NULL;
	struct label *lp;
	size_t n = 0;
	int rc;

	lp = xcalloc(l->np ? l->np : 1, sizeof(*lp));
	for (size_t i = 0; i < l->np; i++)
		lp[i] = label_str(l->p[i].name, l->p[i].value);
	rc = labels_new(lp, l->np, LABELS_RESERVED, &ls);
	free(lp);
	if (rc != 0) {
		char *why = xasprintf("%s:%d: not loaded: %s", file, line,
		    err_message(rc));

		unloaded_add(sc, l->p, l->np, why);
		free(why);
		return;
	}
	smp = xcalloc(l->nv ? l->nv : 1, sizeof(*smp));
	for (size_t i = 0; i < l->nv; i++)
		if (!l->v[i].omitted) {
			smp[n].t = (int64_t)i * interval;
			smp[n++].v = l->v[i].v;
		}
	a = series_appender_new(sc->s);
	rc = series_appender_add(a, ls, smp, n);
	if (rc == 0)
		rc = series_appender_commit(a, NULL, NULL);
	series_appender_free(a);
	free(smp);
	if (rc != 0) {
		char *why = xasprintf("%s:%d: not loaded: %s", file, line,
		    err_message(rc));

		unloaded_add(sc, l->p, l->np, why);
		free(why);
	} else if (dry_run) {
		check_loaded(sc, ls, l, interval, file, line);
	}
	labels_free(ls);
}

/* ---- reading a query's tree ---- */

/* Whether sel picks the series of labels p. */
static int
picks(const struct selector *sel, const struct pair *p, size_t np)
{
	for (size_t i = 0; i < selector_count(sel); i++) {
		const struct matcher *m = selector_at(sel, i);
		const char *v = pair_get(p, np, matcher_name(m));

		if (matcher_matches(m, v, v ? strlen(v) : 0) != 1)
			return 0;
	}
	return 1;
}

/*
 * The first series of the scope that a selector of e picks, native
 * histograms first (those skip the eval; refused series fail it).
 */
static const struct unloaded *
reads_unloaded(const struct scope *sc, const struct promql_node *e,
    int native)
{
	const struct unloaded *u = NULL;

	if (e == NULL)
		return NULL;
	switch (e->kind) {
	case PROMQL_VECTOR_SELECTOR:
		for (size_t i = 0; i < sc->nun; i++)
			if ((sc->un[i].why == NULL) == native &&
			    picks(e->vs.sel, sc->un[i].p, sc->un[i].np))
				return &sc->un[i];
		return NULL;
	case PROMQL_MATRIX_SELECTOR:
		return reads_unloaded(sc, e->ms.vs, native);
	case PROMQL_SUBQUERY:
		return reads_unloaded(sc, e->sq.expr, native);
	case PROMQL_UNARY:
		return reads_unloaded(sc, e->un.expr, native);
	case PROMQL_BINARY:
		if ((u = reads_unloaded(sc, e->bin.lhs, native)) != NULL)
			return u;
		return reads_unloaded(sc, e->bin.rhs, native);
	case PROMQL_AGGREGATE:
		if ((u = reads_unloaded(sc, e->agg.param, native)) != NULL)
			return u;
		return reads_unloaded(sc, e->agg.expr, native);
	case PROMQL_CALL:
		for (size_t i = 0; i < e->call.nargs && u == NULL; i++)
			u = reads_unloaded(sc, e->call.args[i], native);
		return u;
	case PROMQL_PAREN:
		return reads_unloaded(sc, e->paren.expr, native);
	default:
		return NULL;
	}
}

static const struct promql_node *
unparen(const struct promql_node *e)
{
	while (e->kind == PROMQL_PAREN)
		e = e->paren.expr;
	return e;
}

/* The top node's name, for grouping wrong results. */
static const char *
top_name(const struct promql_node *e)
{
	e = unparen(e);
	switch (e->kind) {
	case PROMQL_NUMBER: return "a number";
	case PROMQL_STRING: return "a string";
	case PROMQL_VECTOR_SELECTOR: return "a selector";
	case PROMQL_MATRIX_SELECTOR: return "a range selector";
	case PROMQL_SUBQUERY: return "a subquery";
	case PROMQL_UNARY: return "unary -";
	case PROMQL_BINARY: return promql_op_name(e->bin.op);
	case PROMQL_AGGREGATE: return promql_agg_name(e->agg.op);
	case PROMQL_CALL: return e->call.func->name;
	default: return "?";
	}
}

/* Whether the top node orders its answer: sort, sort_desc, sort_by_label*. */
static int
top_orders(const struct promql_node *e)
{
	e = unparen(e);
	return e->kind == PROMQL_CALL &&
	    (strcmp(e->call.func->name, "sort") == 0 ||
	    strcmp(e->call.func->name, "sort_desc") == 0 ||
	    starts(e->call.func->name, "sort_by_label"));
}

/*
 * Whether the query uses Prometheus 3's experimental syntax that shale
 * does not read, from the text (the parser refuses it, or would read it
 * as something else): the anchored and smoothed range modifiers, fill
 * modifiers, duration expressions (arithmetic in brackets or after
 * offset; step(), range(), and start() and end() other than after @),
 * info(), the __type__ and __unit__ labels.
 */
static int
experimental(const char *q)
{
	int bracket = 0, at = 0;	/* at: the last token was @ */

	for (const char *p = q; *p;) {
		if (*p == '"' || *p == '\'' || *p == '`') {
			char c = *p++;

			while (*p && *p != c)
				p += (*p == '\\' && c != '`' && p[1]) ? 2 : 1;
			if (*p)
				p++;
			continue;
		}
		if (*p == '[') {
			bracket = 1;
		} else if (*p == ']') {
			bracket = 0;
		} else if (bracket && strchr("+-*/%^(", *p) != NULL) {
			return 1;
		} else if (name_char((unsigned char)*p, 1)) {
			const char *st = p, *r;
			size_t n;

			while (name_char((unsigned char)*p, 0))
				p++;
			n = (size_t)(p - st);
			for (r = p; *r == ' ' || *r == '\t'; r++)
				;
#define IS(w)	(n == strlen(w) && strncmp(st, (w), n) == 0)
			if (IS("anchored") || IS("smoothed") ||
			    IS("__type__") || IS("__unit__"))
				return 1;
			if (*r == '(' && (IS("fill") || IS("fill_left") ||
			    IS("fill_right") || IS("info")))
				return 1;
			/* step(), range(); start() and end() but after @ */
			if (*r == '(' && (IS("step") || IS("range") ||
			    (!at && (IS("start") || IS("end"))))) {
				for (r++; *r == ' ' || *r == '\t'; r++)
					;
				if (*r == ')')
					return 1;
			}
			if (IS("offset") && *r == '(')
				return 1;
#undef IS
			at = 0;
			continue;
		}
		if (*p != ' ' && *p != '\t')
			at = *p == '@';
		p++;
	}
	return 0;
}

/* ---- comparing ---- */

/* Prometheus's almost.Equal with its test epsilon. */
static int
almost_equal(double a, double b)
{
	double sum, diff;

	if (isnan(a) && isnan(b))
		return 1;
	if (a == b)
		return 1;
	sum = fabs(a) + fabs(b);
	diff = fabs(a - b);
	if (a == 0 || b == 0 || sum < MIN_NORMAL)
		return diff < EPSILON * MIN_NORMAL;
	return diff / fmin(sum, DBL_MAX) < EPSILON;
}

static int
same_labels(const struct pair *p, size_t np, const struct labels *ls)
{
	if (labels_count(ls) != np)
		return 0;
	for (size_t i = 0; i < np; i++) {
		const struct label *l = labels_at(ls, i);

		if (strcmp(l->name, p[i].name) != 0 ||
		    strcmp(l->value, p[i].value) != 0)
			return 0;
	}
	return 1;
}

static void
put_number(struct buf *b, double v)
{
	if (double_bits(v) == CHUNK_STALE_NAN)
		buf_puts(b, "stale");
	else
		promql_number_format(v, b);
}

static void
put_pairs(struct buf *b, const struct pair *p, size_t np)
{
	const char *name = pair_get(p, np, LABELS_METRIC_NAME);
	int first = 1;

	if (name != NULL)
		buf_puts(b, name);
	buf_putc(b, '{');
	for (size_t i = 0; i < np; i++) {
		if (strcmp(p[i].name, LABELS_METRIC_NAME) == 0)
			continue;
		buf_printf(b, "%s%s=\"%s\"", first ? "" : ", ", p[i].name,
		    p[i].value);
		first = 0;
	}
	buf_putc(b, '}');
}

static void
put_labels(struct buf *b, const struct labels *ls)
{
	const char *name = labels_metric(ls);
	int first = 1;

	if (name != NULL)
		buf_puts(b, name);
	buf_putc(b, '{');
	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);

		if (strcmp(l->name, LABELS_METRIC_NAME) == 0)
			continue;
		buf_printf(b, "%s%s=\"%s\"", first ? "" : ", ", l->name,
		    l->value);
		first = 0;
	}
	buf_putc(b, '}');
}

/* What was expected, for -v. */
static void
put_expected(struct buf *b, const struct eval *ev)
{
	if (ev->fail) {
		buf_printf(b, "an error%s%s%s%s", ev->fail_msg ? ": " : "",
		    ev->fail_msg ? ev->fail_msg : "",
		    ev->fail_re ? " matching " : "",
		    ev->fail_re ? ev->fail_re : "");
		return;
	}
	if (ev->has_string) {
		buf_printf(b, "string \"%s\"", ev->string);
		return;
	}
	if (ev->scalar) {
		buf_puts(b, "scalar ");
		put_number(b, ev->scalar_v);
		return;
	}
	if (ev->nes == 0)
		buf_puts(b, "nothing");
	for (size_t i = 0; i < ev->nes && i < SHOW_MAX; i++) {
		const struct sline *l = &ev->es[i];

		buf_puts(b, "\n\t  ");
		put_pairs(b, l->p, l->np);
		for (size_t k = 0; k < l->nv; k++) {
			buf_putc(b, ' ');
			if (l->v[k].omitted)
				buf_putc(b, '_');
			else
				put_number(b, l->v[k].v);
		}
	}
	if (ev->nes > SHOW_MAX)
		buf_printf(b, "\n\t  ... %zu series in all", ev->nes);
}

/* What came, for -v. */
static void
put_result(struct buf *b, const struct promql_result *r)
{
	switch (r->type) {
	case PROMQL_TYPE_SCALAR:
		buf_puts(b, "scalar ");
		put_number(b, r->scalar);
		return;
	case PROMQL_TYPE_STRING:
		buf_printf(b, "string \"%s\"", r->str ? r->str : "");
		return;
	default:
		break;
	}
	if (r->n == 0)
		buf_printf(b, "an empty %s", promql_type_name(r->type));
	for (size_t i = 0; i < r->n && i < SHOW_MAX; i++) {
		const struct promql_series *s = &r->series[i];

		buf_puts(b, "\n\t  ");
		put_labels(b, s->ls);
		for (size_t k = 0; k < s->n; k++) {
			buf_putc(b, ' ');
			put_number(b, s->pts[k].v);
			if (r->type == PROMQL_TYPE_MATRIX)
				buf_printf(b, "@%" PRId64, s->pts[k].t);
		}
	}
	if (r->n > SHOW_MAX)
		buf_printf(b, "\n\t  ... %zu series in all", r->n);
}

/*
 * Compare a result with what ev expects: 0, or -1 with the difference
 * in why (kind: what sort of difference, for --causes). unordered: the
 * order is not judged (a step of a range query taken as an instant).
 */
static int
compare(const struct eval *ev, const struct promql_node *tree,
    const struct promql_result *r, int unordered, struct buf *why,
    const char **kind)
{
	unsigned char *seen = NULL;
	/* a sorting function orders an instant vector, not a range */
	int ordered = !unordered && (ev->ordered ||
	    (r->type == PROMQL_TYPE_VECTOR && top_orders(tree)));
	int rc = -1;

	if (ev->has_string || r->type == PROMQL_TYPE_STRING) {
		if (!ev->has_string || r->type != PROMQL_TYPE_STRING) {
			*kind = "wrong type";
			buf_printf(why, "a %s", promql_type_name(r->type));
			return -1;
		}
		if (strcmp(ev->string, r->str ? r->str : "") != 0) {
			*kind = "wrong string";
			buf_printf(why, "string \"%s\"", r->str ? r->str : "");
			return -1;
		}
		return 0;
	}
	if (ev->scalar || r->type == PROMQL_TYPE_SCALAR) {
		if (!ev->scalar || r->type != PROMQL_TYPE_SCALAR) {
			*kind = "wrong type";
			buf_printf(why, "a %s", promql_type_name(r->type));
			return -1;
		}
		if (!almost_equal(ev->scalar_v, r->scalar)) {
			*kind = "wrong value";
			buf_puts(why, "scalar ");
			put_number(why, r->scalar);
			return -1;
		}
		return 0;
	}
	if (r->type == PROMQL_TYPE_MATRIX && ordered) {
		*kind = "wrong type";
		buf_puts(why, "a matrix where order was expected");
		return -1;
	}
	seen = xcalloc(ev->nes + 1, 1);
	for (size_t i = 0; i < r->n; i++) {
		const struct promql_series *s = &r->series[i];
		const struct sline *l = NULL;
		size_t k, npts = 0;

		if (r->type == PROMQL_TYPE_MATRIX && i > 0 &&
		    labels_compare(r->series[i - 1].ls, s->ls) > 0) {
			*kind = "matrix not sorted";
			buf_puts(why, "a matrix not sorted by labels: ");
			put_labels(why, s->ls);
			goto out;
		}
		for (k = 0; k < ev->nes; k++)
			if (same_labels(ev->es[k].p, ev->es[k].np, s->ls))
				break;
		if (k == ev->nes) {
			*kind = "unexpected series";
			buf_puts(why, "unexpected series ");
			put_labels(why, s->ls);
			goto out;
		}
		l = &ev->es[k];
		seen[k] = 1;
		for (size_t p = 0; p < s->n; p++)
			if (double_bits(s->pts[p].v) == CHUNK_STALE_NAN) {
				*kind = "stale marker in the result";
				buf_puts(why, "a stale marker in ");
				put_labels(why, s->ls);
				goto out;
			}
		if (r->type == PROMQL_TYPE_VECTOR) {
			if (ordered && k != i) {
				*kind = "wrong order";
				buf_puts(why, "wrong order: ");
				put_labels(why, s->ls);
				buf_printf(why, " at %zu, expected at %zu",
				    i + 1, k + 1);
				goto out;
			}
			if (s->n != 1 || l->nv < 1 ||
			    !almost_equal(l->v[0].v, s->pts[0].v)) {
				*kind = "wrong value";
				put_labels(why, s->ls);
				buf_putc(why, ' ');
				if (s->n > 0)
					put_number(why, s->pts[0].v);
				else
					buf_puts(why, "without a point");
				goto out;
			}
			continue;
		}
		/* a matrix: the expected points at start + i * step */
		for (size_t p = 0; p < l->nv; p++) {
			int64_t t = ev->start + (int64_t)p * ev->step;

			if (l->v[p].omitted)
				continue;
			if (npts >= s->n || s->pts[npts].t != t ||
			    !almost_equal(l->v[p].v, s->pts[npts].v)) {
				*kind = npts < s->n && s->pts[npts].t == t ?
				    "wrong value" : "wrong points";
				put_labels(why, s->ls);
				buf_printf(why, ": at %" PRId64 " expected ", t);
				put_number(why, l->v[p].v);
				if (npts < s->n) {
					buf_puts(why, ", got ");
					put_number(why, s->pts[npts].v);
					buf_printf(why, "@%" PRId64,
					    s->pts[npts].t);
				} else {
					buf_puts(why, ", got no more points");
				}
				goto out;
			}
			npts++;
		}
		if (npts != s->n) {
			*kind = "wrong points";
			put_labels(why, s->ls);
			buf_printf(why, ": %zu points, expected %zu", s->n, npts);
			goto out;
		}
	}
	for (size_t k = 0; k < ev->nes; k++)
		if (!seen[k]) {
			*kind = "missing series";
			buf_puts(why, "missing ");
			put_pairs(why, ev->es[k].p, ev->es[k].np);
			goto out;
		}
	rc = 0;
out:
	free(seen);
	return rc;
}

/* ---- failures ---- */

static void
cause_add(const char *what, const char *example)
{
	for (size_t i = 0; i < ncauses; i++)
		if (strcmp(causes[i].what, what) == 0) {
			causes[i].n++;
			return;
		}
	causes = xgrow(causes, &capcauses, ncauses + 1, sizeof(*causes));
	causes[ncauses].what = xstrdup(what);
	causes[ncauses].n = 1;
	causes[ncauses++].example = xstrdup(example);
}

static int
cause_cmp(const void *a, const void *b)
{
	const struct cause *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->what, y->what);
}

/*
 * An error's words without the position Prometheus puts first
 * ("1:14: parse error: ..."), so that the same error groups.
 */
static const char *
error_words(const char *msg)
{
	const char *p = msg;

	p += strspn(p, "0123456789");
	if (p > msg && *p == ':') {
		const char *q = p + 1 + strspn(p + 1, "0123456789");

		if (q > p + 1 && q[0] == ':' && q[1] == ' ')
			return q + 2;
	}
	return msg;
}

static void
failed(const struct eval *ev, const char *cause, const char *detail)
{
	struct buf ex = { 0 };

	buf_printf(&ex, "%s:%d: %s", ev->file, ev->line, ev->query);
	cause_add(cause, buf_str(&ex));
	if (verbose) {
		printf("FAIL %s\n", buf_str(&ex));
		printf("\t%s\n", detail);
	}
	buf_release(&ex);
}

/* Whether an error matches what `expect fail` asks. */
static int
fail_matches(const struct eval *ev, const char *msg)
{
	pcre2_code *re;
	pcre2_match_data *md;
	PCRE2_SIZE off;
	int errc, rc;

	if (ev->fail_msg != NULL)
		return strcmp(ev->fail_msg, msg) == 0;
	if (ev->fail_re == NULL)
		return 1;
	re = pcre2_compile((PCRE2_SPTR)ev->fail_re, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF, &errc, &off, NULL);
	if (re == NULL)
		return 0;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)msg, strlen(msg), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

/* ---- an eval ---- */

static void
eval_release(struct eval *ev)
{
	for (size_t i = 0; i < ev->nes; i++)
		sline_release(&ev->es[i]);
	free(ev->es);
	free(ev->fail_msg);
	free(ev->fail_re);
	free(ev->string);
	free(ev->bad);
}

/* What one evaluation of an eval did. */
struct answer {
	int		 rc;
	struct promql_result *r;
	char		*msg;		/* rc's words */
};

static void
answer_release(struct answer *a)
{
	if (a->r != NULL)
		promql_result_free(a->r);
	free(a->msg);
	memset(a, 0, sizeof(*a));
}

static void
ask(struct scope *sc, const struct promql_node *tree, int range, int64_t t,
    int64_t start, int64_t end, int64_t step, struct answer *a)
{
	struct promql_opts o = {
		.timeout_ms = TIMEOUT_MS, .max_samples = max_samples,
	};

	memset(a, 0, sizeof(*a));
	nasked++;
	err_clear();
	if (range)
		a->rc = promql_eval_range(sc->s, tree, start, end, step, &o,
		    &a->r);
	else
		a->rc = promql_eval_instant(sc->s, tree, t, &o, &a->r);
	if (a->rc != 0) {
		a->msg = xstrdup(err_message(a->rc));
		a->r = NULL;
	}
}

/*
 * Judge an answer of tree against ev: 1 as expected, 0 not, with the
 * cause (for --causes) and what differs in cause and why.
 */
static int
judge(const struct eval *ev, const struct promql_node *tree,
    const struct answer *a, int unordered, struct buf *cause, struct buf *why)
{
	struct buf d = { 0 };
	const char *kind = NULL;
	int ok = 0;

	if (a->rc != 0) {
		if (ev->fail && fail_matches(ev, a->msg))
			return 1;
		buf_printf(cause, "%s%s", ev->fail ? "wrong error: " : "",
		    error_words(a->msg));
		buf_puts(why, "expected ");
		put_expected(why, ev);
		buf_printf(why, "\n\tgot %s", a->msg);
		return 0;
	}
	if (ev->fail) {
		buf_puts(cause, "no error where one was expected");
		buf_puts(why, "expected ");
		put_expected(why, ev);
		buf_puts(why, "\n\tgot ");
		put_result(why, a->r);
		return 0;
	}
	if (compare(ev, tree, a->r, unordered, &d, &kind) == 0) {
		ok = 1;
	} else {
		buf_printf(cause, "%s: %s", kind, top_name(tree));
		buf_printf(why, "%s\n\texpected ", buf_str(&d));
		put_expected(why, ev);
		buf_puts(why, "\n\tgot ");
		put_result(why, a->r);
	}
	buf_release(&d);
	return ok;
}

/*
 * Prometheus's runner asks an instant query again as a range query from
 * a minute before to a minute after, a step a minute, and judges the
 * middle step as the instant's answer: 1 the same, 0 not (cause, why).
 * The instant's answer was a (scalar).
 */
static int
range_mode(struct scope *sc, const struct eval *ev,
    const struct promql_node *tree, int64_t t, int scalar, struct buf *cause,
    struct buf *why)
{
	struct promql_result mid = { .type = PROMQL_TYPE_VECTOR, .t = t };
	struct answer a, am = { 0 };
	int ok = 0;

	ask(sc, tree, 1, 0, t - 60000, t + 60000, 60000, &a);
	if (a.rc != 0) {
		buf_printf(cause, "%s", error_words(a.msg));
		buf_printf(why, "as a range: %s", a.msg);
		goto out;
	}
	/* the order of an instant is the runner's to skip here */
	if (ev->ordered) {
		ok = 1;
		goto out;
	}
	mid.series = xcalloc(a.r->n + 1, sizeof(*mid.series));
	for (size_t i = 0; i < a.r->n; i++) {
		const struct promql_series *s = &a.r->series[i];

		if (i > 0 && labels_compare(a.r->series[i - 1].ls, s->ls) > 0) {
			buf_puts(cause, "matrix not sorted");
			buf_puts(why, "as a range: not sorted by labels: ");
			put_labels(why, s->ls);
			goto out;
		}
		for (size_t k = 0; k < s->n; k++)
			if (s->pts[k].t == t) {
				mid.series[mid.n].ls = s->ls;
				mid.series[mid.n].pts = &s->pts[k];
				mid.series[mid.n++].n = 1;
				break;
			}
	}
	if (scalar) {
		if (mid.n == 0) {
			buf_puts(cause, "no point in the middle");
			buf_puts(why, "as a range: no point at the instant");
			goto out;
		}
		mid.type = PROMQL_TYPE_SCALAR;
		mid.scalar = mid.series[0].pts[0].v;
		mid.n = 0;
	}
	am.r = &mid;
	if (judge(ev, tree, &am, 1, cause, why)) {
		ok = 1;
	} else {
		buf_puts(why, "\n\t(as a range, its middle step)");
	}
out:
	free(mid.series);
	answer_release(&a);
	return ok;
}

/*
 * Whether tree calls a function whose answer varies with the time even
 * where its arguments do not (Prometheus's AtModifierUnsafeFunctions).
 */
static int
at_unsafe(const struct promql_node *e)
{
	static const char *const unsafe[] = {
		"days_in_month", "day_of_month", "day_of_week", "day_of_year",
		"hour", "minute", "month", "year", "predict_linear", "time",
		"timestamp",
	};

	if (e == NULL)
		return 0;
	switch (e->kind) {
	case PROMQL_MATRIX_SELECTOR:
		return at_unsafe(e->ms.vs);
	case PROMQL_SUBQUERY:
		return at_unsafe(e->sq.expr);
	case PROMQL_UNARY:
		return at_unsafe(e->un.expr);
	case PROMQL_BINARY:
		return at_unsafe(e->bin.lhs) || at_unsafe(e->bin.rhs);
	case PROMQL_AGGREGATE:
		return at_unsafe(e->agg.param) || at_unsafe(e->agg.expr);
	case PROMQL_PAREN:
		return at_unsafe(e->paren.expr);
	case PROMQL_CALL:
		for (size_t i = 0; i < sizeof(unsafe) / sizeof(*unsafe); i++)
			if (strcmp(e->call.func->name, unsafe[i]) == 0)
				return 1;
		for (size_t i = 0; i < e->call.nargs; i++)
			if (at_unsafe(e->call.args[i]))
				return 1;
		return 0;
	default:
		return 0;
	}
}

/*
 * Pin every selector and subquery of e to @ t, as Prometheus's runner
 * does for its variants: those that have an @ time keep it, and nothing
 * under a subquery changes (it has an @ by then).
 */
static void
pin_at(struct promql_node *e, int64_t t)
{
	if (e == NULL)
		return;
	switch (e->kind) {
	case PROMQL_VECTOR_SELECTOR:
		if (e->vs.at != PROMQL_AT_TIME) {
			e->vs.at = PROMQL_AT_TIME;
			e->vs.at_ms = t;
		}
		return;
	case PROMQL_MATRIX_SELECTOR:
		pin_at(e->ms.vs, t);
		return;
	case PROMQL_SUBQUERY:
		if (e->sq.at != PROMQL_AT_TIME) {
			e->sq.at = PROMQL_AT_TIME;
			e->sq.at_ms = t;
		}
		return;
	case PROMQL_UNARY:
		pin_at(e->un.expr, t);
		return;
	case PROMQL_BINARY:
		pin_at(e->bin.lhs, t);
		pin_at(e->bin.rhs, t);
		return;
	case PROMQL_AGGREGATE:
		pin_at(e->agg.param, t);
		pin_at(e->agg.expr, t);
		return;
	case PROMQL_CALL:
		for (size_t i = 0; i < e->call.nargs; i++)
			pin_at(e->call.args[i], t);
		return;
	case PROMQL_PAREN:
		pin_at(e->paren.expr, t);
		return;
	default:
		return;
	}
}

/* Whether the query names start(), end(), range() or step(). */
static int
query_context(const char *q)
{
	static const char *const fn[] = { "start", "end", "range", "step" };

	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(fn[i]);

		for (const char *p = strstr(q, fn[i]); p != NULL;
		    p = strstr(p + 1, fn[i]))
			if (p[n] == '(' && p[n + 1] == ')')
				return 1;
	}
	return 0;
}

/*
 * The variants Prometheus's runner asks of an instant eval beside the
 * eval itself: the query as a range around its time, then (unless a
 * function depends on the time) with every selector pinned @ its time
 * and asked at other times, each also as a range. 1 all as expected, 0
 * not (the first difference in cause and why).
 */
static int
variants(struct scope *sc, const struct eval *ev, struct promql_node *tree,
    int64_t t, int scalar, struct buf *cause, struct buf *why)
{
	int64_t times[5];
	size_t n;
	int mode = !ev->fail && !ev->expect_range && !ev->has_string &&
	    !query_context(ev->query);

	if (mode && !range_mode(sc, ev, tree, t, scalar, cause, why))
		return 0;
	if (at_unsafe(tree))
		return 1;
	if (t != 0) {
		times[0] = -10 * t, times[1] = 0, times[2] = t / 5;
		times[3] = t, times[4] = 10 * t;
		n = 5;
	} else {
		times[0] = -1000, times[1] = 0, times[2] = 1000;
		n = 3;
	}
	pin_at(tree, t);
	for (size_t i = 0; i < n; i++) {
		struct answer a;
		int ok;

		ask(sc, tree, 0, times[i], 0, 0, 0, &a);
		ok = judge(ev, tree, &a, 0, cause, why);
		if (ok && a.rc == 0 && mode)
			ok = range_mode(sc, ev, tree, times[i],
			    a.r->type == PROMQL_TYPE_SCALAR, cause, why);
		answer_release(&a);
		if (!ok) {
			buf_printf(why, "\n\t(every selector @ %" PRId64
			    ", asked at %" PRId64 ")", t, times[i]);
			return 0;
		}
	}
	return 1;
}

/*
 * Run one eval: RUN_PASSED (as written) and RUN_VARIANTS (its variants
 * too, with --variants) or 0, or -1 - SKIP_x when skipped.
 */
enum { RUN_PASSED = 1 << 0, RUN_VARIANTS = 1 << 1 };

static int
run_eval(struct scope *sc, struct eval *ev)
{
	struct promql_node *tree = NULL;
	const struct unloaded *u;
	struct answer a = { 0 };
	struct buf why = { 0 }, cause = { 0 };
	int64_t t = ev->expect_range ? ev->end : ev->t;
	int rc, ret = 0;

	if (ev->native_result)
		return -1 - SKIP_NATIVE_RESULT;
	if (experimental(ev->query))
		return -1 - SKIP_EXPERIMENTAL;
	if (ev->bad != NULL) {
		failed(ev, "unreadable test", ev->bad);
		return 0;
	}
	rc = promql_parse(ev->query, strlen(ev->query), &tree);
	if (rc != 0) {
		const char *msg = err_message(rc);

		if (ev->fail && fail_matches(ev, msg))
			return RUN_PASSED | RUN_VARIANTS;
		buf_printf(&cause, "parse: %s", error_words(msg));
		buf_printf(&why, "expected ");
		put_expected(&why, ev);
		buf_printf(&why, "\n\tgot %s", msg);
		failed(ev, buf_str(&cause), buf_str(&why));
		goto out;
	}
	if (reads_unloaded(sc, tree, 1) != NULL) {
		ret = -1 - SKIP_NATIVE_DATA;
		goto out;
	}
	if ((u = reads_unloaded(sc, tree, 0)) != NULL) {
		failed(ev, "a series not loaded", u->why);
		goto out;
	}
	if (dry_run) {
		if (verbose)
			printf("%s:%d: %s %s\n", ev->file, ev->line,
			    ev->range ? "range" : "instant", ev->query);
		ret = RUN_PASSED | RUN_VARIANTS;
		goto out;
	}
	if ((rc = scope_open(sc)) != 0) {
		failed(ev, "no store", err_message(rc));
		goto out;
	}
	ask(sc, tree, ev->range, t, ev->start, ev->end, ev->step, &a);
	if (!judge(ev, tree, &a, 0, &cause, &why)) {
		failed(ev, buf_str(&cause), buf_str(&why));
		goto out;
	}
	ret = RUN_PASSED;
	if (!with_variants || ev->range) {
		ret |= RUN_VARIANTS;
		goto out;
	}
	if (variants(sc, ev, tree, t, a.rc == 0 &&
	    a.r->type == PROMQL_TYPE_SCALAR, &cause, &why)) {
		ret |= RUN_VARIANTS;
	} else {
		char *c = xasprintf("variant: %s", buf_str(&cause));

		failed(ev, c, buf_str(&why));
		free(c);
	}
out:
	answer_release(&a);
	promql_free(tree);
	buf_release(&why);
	buf_release(&cause);
	return ret;
}

/* ---- a script ---- */

struct script {
	const char	*file;
	char		**lines;	/* trimmed, comments emptied */
	size_t		 n;
};

/* Read an eval block from line *i; *i is left on its last line. */
static void
parse_eval(struct script *sc, size_t *i, struct eval *ev)
{
	char *p = sc->lines[*i], *w, *mod;
	size_t cap = 0;
	int64_t ms;

	memset(ev, 0, sizeof(*ev));
	ev->file = sc->file;
	ev->line = (int)*i + 1;
	w = token(&p);
	mod = strchr(w, '_');
	if (mod != NULL) {
		mod++;
		if (strcmp(mod, "fail") == 0)
			ev->fail = 1;
		else if (strcmp(mod, "ordered") == 0)
			ev->ordered = 1;
	}
	w = token(&p);
	if (w != NULL && strcmp(w, "instant") == 0) {
		char *at = p;

		w = token(&at);
		if (w != NULL && strcmp(w, "at") == 0 &&
		    (w = token(&at)) != NULL && parse_time(w, &ms) == 0) {
			ev->t = ms;
			p = at;
		} else {
			ev->bad = xstrdup("a bad instant eval line");
		}
	} else if (w != NULL && strcmp(w, "range") == 0) {
		char *from, *to, *step;

		if ((w = token(&p)) == NULL || strcmp(w, "from") != 0 ||
		    (from = token(&p)) == NULL ||
		    (w = token(&p)) == NULL || strcmp(w, "to") != 0 ||
		    (to = token(&p)) == NULL ||
		    (w = token(&p)) == NULL || strcmp(w, "step") != 0 ||
		    (step = token(&p)) == NULL ||
		    parse_time(from, &ev->start) != 0 ||
		    parse_time(to, &ev->end) != 0 ||
		    parse_time(step, &ev->step) != 0)
			ev->bad = xstrdup("a bad range eval line");
		ev->range = 1;
	} else {
		ev->bad = xstrdup("neither instant nor range");
	}
	ev->query = trim(p);

	while (*i + 1 < sc->n && sc->lines[*i + 1][0] != '\0') {
		char *l = sc->lines[++*i];
		const char *why = NULL;
		struct sline sl;
		double v;

		if (ev->fail && starts(l, "expected_fail_message")) {
			ev->fail_msg = xstrdup(trim(l + 21));
			break;
		}
		if (ev->fail && starts(l, "expected_fail_regexp")) {
			ev->fail_re = xstrdup(trim(l + 20));
			break;
		}
		if (starts(l, "expect range vector")) {
			char *q = l + 19, *from, *to, *step;

			if ((w = token(&q)) == NULL || strcmp(w, "from") != 0 ||
			    (from = token(&q)) == NULL ||
			    (w = token(&q)) == NULL || strcmp(w, "to") != 0 ||
			    (to = token(&q)) == NULL ||
			    (w = token(&q)) == NULL || strcmp(w, "step") != 0 ||
			    (step = token(&q)) == NULL ||
			    parse_time(from, &ev->start) != 0 ||
			    parse_time(to, &ev->end) != 0 ||
			    parse_time(step, &ev->step) != 0) {
				free(ev->bad);
				ev->bad = xstrdup("a bad expect range vector");
			}
			ev->expect_range = 1;
			continue;
		}
		if (starts(l, "expect string")) {
			const char *q = trim(l + 13);
			struct buf b = { 0 };

			if (unquote(&q, &b) != 0 || *q != '\0') {
				free(ev->bad);
				ev->bad = xstrdup("a bad expect string");
			}
			ev->has_string = 1;
			ev->string = xstrdup(buf_str(&b));
			buf_release(&b);
			continue;
		}
		if (starts(l, "expect ") || starts(l, "expect\t")) {
			char *q = l + 7, *rest, *colon;

			w = token(&q);
			if (w == NULL)
				continue;
			if (strcmp(w, "ordered") == 0)
				ev->ordered = 1;
			if (strcmp(w, "fail") != 0)
				continue;	/* warn, info: not counted */
			ev->fail = 1;
			rest = trim(q);
			colon = strchr(rest, ':');
			if (colon == NULL)
				continue;
			*colon = '\0';
			if (strcmp(trim(rest), "msg") == 0)
				ev->fail_msg = xstrdup(trim(colon + 1));
			else if (strcmp(trim(rest), "regex") == 0)
				ev->fail_re = xstrdup(trim(colon + 1));
			continue;
		}
		if (parse_number(l, &v) == 0) {
			ev->scalar = 1;
			ev->scalar_v = v;
			break;
		}
		if (parse_sline(l, &sl, &why) != 0) {
			free(ev->bad);
			ev->bad = xasprintf("line %zu: %s", *i + 1, why);
			continue;
		}
		if (sl.native)
			ev->native_result = 1;
		ev->es = xgrow(ev->es, &cap, ev->nes + 1, sizeof(*ev->es));
		ev->es[ev->nes++] = sl;
	}
	if (!ev->range && !ev->expect_range)
		ev->start = ev->end = ev->t;
}

static int
same_pairs(const struct sline *a, const struct sline *b)
{
	if (a->np != b->np)
		return 0;
	for (size_t i = 0; i < a->np; i++)
		if (strcmp(a->p[i].name, b->p[i].name) != 0 ||
		    strcmp(a->p[i].value, b->p[i].value) != 0)
			return 0;
	return 1;
}

/*
 * Read a load block from line *i and load it; *i is left on its last
 * line. A series given twice in a block takes its last line's values,
 * as in Prometheus's runner.
 */
static void
run_load(struct script *sc, size_t *i, struct scope *st)
{
	char *p = sc->lines[*i], *w;
	struct sline *ls = NULL;
	size_t n = 0, cap = 0, *at = NULL, atcap = 0;
	int nhcb, ok;
	int64_t interval;

	w = token(&p);
	nhcb = strcmp(w, "load_with_nhcb") == 0;
	w = token(&p);
	ok = w != NULL && promql_duration_parse(w, strlen(w), &interval) == 0
	    && interval > 0;
	if (!ok)
		printf("%s:%zu: a bad load line\n", sc->file, *i + 1);
	if (ok && scope_open(st) != 0)
		ok = 0;
	while (*i + 1 < sc->n && sc->lines[*i + 1][0] != '\0') {
		char *l = sc->lines[++*i];
		const char *why = NULL;
		struct sline sl;
		char *sp;

		/* a start timestamp line (@st) says nothing of values */
		sp = l + strcspn(l, " \t");
		if (sp - l >= 3 && strncmp(sp - 3, "@st", 3) == 0)
			continue;
		if (parse_sline(l, &sl, &why) != 0) {
			printf("%s:%zu: a bad series line: %s\n", sc->file,
			    *i + 1, why);
			continue;
		}
		ls = xgrow(ls, &cap, n + 1, sizeof(*ls));
		at = xgrow(at, &atcap, n + 1, sizeof(*at));
		ls[n] = sl;
		at[n++] = *i + 1;
	}
	for (size_t k = 0; k < n; k++) {
		struct sline *sl = &ls[k];
		size_t later;

		for (later = k + 1; later < n; later++)
			if (same_pairs(sl, &ls[later]))
				break;
		if (later < n)
			continue;
		if (sl->native) {
			unloaded_add(st, sl->p, sl->np, NULL);
		} else if (ok) {
			load_series(st, sl, interval, sc->file, (int)at[k]);
			if (nhcb)
				nhcb_add(st, sl);
		} else {
			unloaded_add(st, sl->p, sl->np, "its load failed");
		}
	}
	for (size_t k = 0; k < n; k++)
		sline_release(&ls[k]);
	free(ls);
	free(at);
}

static int
script_read(const char *path, struct script *sc)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lcap = 0;
	ssize_t n;

	if (f == NULL)
		return -errno;
	memset(sc, 0, sizeof(*sc));
	sc->file = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *t;

		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		t = trim(line);
		if (t[0] == '#')
			t[0] = '\0';
		sc->lines = xgrow(sc->lines, &lcap, sc->n + 1,
		    sizeof(*sc->lines));
		sc->lines[sc->n++] = xstrdup(t);
	}
	free(line);
	fclose(f);
	return 0;
}

static void
script_release(struct script *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->lines[i]);
	free(sc->lines);
}

static void
run_file(const char *path, struct tally *total)
{
	struct scope st = { 0 };
	struct script sc = { 0 };
	struct tally t = { 0 };
	unsigned nskip = 0;
	int rc;

	if ((rc = script_read(path, &sc)) != 0) {
		printf("%s: cannot read: %s\n", path, strerror(-rc));
		unreadable++;
		return;
	}
	for (size_t i = 0; i < sc.n; i++) {
		char *l = sc.lines[i];
		size_t wl = strcspn(l, " \t");

		if (l[0] == '\0')
			continue;
		if (wl == 5 && strncasecmp(l, "clear", 5) == 0) {
			scope_close(&st);
		} else if (strncasecmp(l, "load", 4) == 0) {
			run_load(&sc, &i, &st);
		} else if (strncasecmp(l, "eval", 4) == 0) {
			struct eval ev;
			int res;

			parse_eval(&sc, &i, &ev);
			res = run_eval(&st, &ev);
			if (res < 0) {
				t.skipped[-1 - res]++;
				if (verbose > 1)
					printf("SKIP %s:%d (%s): %s\n", ev.file,
					    ev.line, skip_names[-1 - res],
					    ev.query);
			} else {
				t.inscope++;
				t.passed += (res & RUN_PASSED) != 0;
				t.varied += (res & RUN_VARIANTS) != 0;
			}
			eval_release(&ev);
		} else {
			printf("%s:%zu: an unknown command\n", sc.file, i + 1);
		}
	}
	scope_close(&st);
	printf("%s: %u/%u", sc.file, t.passed, t.inscope);
	if (with_variants)
		printf(", with variants %u/%u", t.varied, t.inscope);
	for (int k = 0; k < NSKIP; k++)
		nskip += t.skipped[k];
	if (nskip > 0) {
		const char *sep = ": ";

		printf(" (skipped %u", nskip);
		for (int k = 0; k < NSKIP; k++) {
			if (t.skipped[k] == 0)
				continue;
			printf("%s%s %u", sep, skip_names[k], t.skipped[k]);
			sep = ", ";
		}
		printf(")");
	}
	printf("\n");
	fflush(stdout);
	total->passed += t.passed;
	total->varied += t.varied;
	total->inscope += t.inscope;
	for (int k = 0; k < NSKIP; k++)
		total->skipped[k] += t.skipped[k];
	script_release(&sc);
}

static void
usage(void)
{
	fprintf(stderr, "usage: promql_conformance [-v|-vv] [-n] [--variants] "
	    "[--min-percent N] [--min-variants-percent N] [--causes N] "
	    "[--max-samples N] [--tmp DIR] FILE...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct tally total = { 0 };
	double min_percent = 0, min_variants = 0, percent, vpercent;
	char tmpl[] = "/tmp/promql_conformance.XXXXXX";
	char *made = NULL;
	size_t show_causes = 0;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "-vv") == 0)
			verbose = 2;
		else if (strcmp(argv[i], "-n") == 0)
			dry_run = 1;
		else if (strcmp(argv[i], "--min-percent") == 0 && i + 1 < argc)
			min_percent = atof(argv[++i]);
		else if (strcmp(argv[i], "--variants") == 0)
			with_variants = 1;
		else if (strcmp(argv[i], "--min-variants-percent") == 0 &&
		    i + 1 < argc)
			min_variants = atof(argv[++i]);
		else if (strcmp(argv[i], "--causes") == 0 && i + 1 < argc)
			show_causes = (size_t)atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-samples") == 0 && i + 1 < argc)
			max_samples = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--tmp") == 0 && i + 1 < argc)
			tmp_root = argv[++i];
		else
			usage();
	}
	if (i == argc)
		usage();
	log_set_level(LOG_WARN);
	if (tmp_root == NULL) {
		if ((made = mkdtemp(tmpl)) == NULL) {
			perror("mkdtemp");
			return 2;
		}
		tmp_root = made;
	}
	for (; i < argc; i++)
		run_file(argv[i], &total);
	if (made != NULL)
		rmdir(made);

	percent = total.inscope ? 100.0 * total.passed / total.inscope : 0;
	vpercent = total.inscope ? 100.0 * total.varied / total.inscope : 0;
	printf("total: %u/%u evals (%.1f%%)", total.passed, total.inscope,
	    percent);
	{
		unsigned n = 0;

		for (int k = 0; k < NSKIP; k++)
			n += total.skipped[k];
		printf("; %u skipped", n);
	}
	printf("\n");
	if (with_variants)
		printf("total with variants: %u/%u evals (%.1f%%); %u queries "
		    "asked\n", total.varied, total.inscope, vpercent, nasked);
	if (show_causes > 0 && ncauses > 0) {
		qsort(causes, ncauses, sizeof(*causes), cause_cmp);
		printf("failures by cause:\n");
		for (size_t k = 0; k < ncauses && k < show_causes; k++)
			printf("%5u  %s\n\te.g. %s\n", causes[k].n,
			    causes[k].what, causes[k].example);
	}
	for (size_t k = 0; k < ncauses; k++) {
		free(causes[k].what);
		free(causes[k].example);
	}
	free(causes);
	if ((dry_run && load_errors > 0) || unreadable > 0)
		return 1;
	if (percent < min_percent || (with_variants && vpercent < min_variants))
		return 1;
	return 0;
}
