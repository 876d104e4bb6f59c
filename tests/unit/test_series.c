/*
 * test_series.c - metric series (src/model/series*.c) over a file:// engine.
 *
 * Exercises: sample lines out (times before and after the epoch, values
 * in their shortest form, NaN, the infinities, the stale marker) and in
 * (VALUE, SECONDS VALUE, errors naming the column); Prometheus's rules
 * for appends (newer taken, the same sample again ignored also when it
 * is sealed in a chunk, same time with another value and older samples
 * refused with the others of the commit taken); the out-of-order window
 * (late samples taken once, in scans in their place, not in the text
 * view, across a reopen and a compaction); the series limit; the
 * model test: random samples into random series against an in-memory
 * model, across chunk seals, reopens as writer, a compaction and a
 * reader, checking every series' samples by time (series_scan, whole
 * and in random windows), its text view (series_read at random offsets
 * and sizes, st_size), and the dictionary (select with each matcher
 * kind, label names and values, series of a metric); metadata; import
 * (a malformed exposition changes nothing; metadata kept); retention
 * (old chunks dropped by compaction, reads in the expired part return
 * 0, a retention filter keeping its series, bad filters refused); a
 * follower seeing new series and samples of its writer.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "engine/objstore/objstore.h"
#include "model/chunk.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

static char	scratch[PATH_MAX];
static int	nstores;

struct store {
	char		 uri[PATH_MAX + 32];
	struct engine	*e;
	struct series	*s;
	struct series_options o;
};

static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void
store_open(struct store *st, enum engine_mode mode)
{
	struct engine_settings es;
	struct objstore_opts so;

	engine_settings_default(&es);
	es.flush_interval_ms = 10;
	memset(&so, 0, sizeof(so));
	so.no_fsync = 1;
	assert_int_equal(engine_open(st->uri, &so, &es, mode, &st->e), 0);
	engine_settings_release(&es);
	assert_int_equal(series_open(st->e, &st->o, &st->s), 0);
	assert_int_equal(series_read_only(st->s), mode == ENGINE_READER);
}

static void
store_new(struct store *st)
{
	snprintf(st->uri, sizeof(st->uri), "file://%s/store%d", scratch,
	    nstores++);
	store_open(st, ENGINE_WRITER);
}

static void
store_close(struct store *st)
{
	series_close(st->s);
	st->s = NULL;
	assert_int_equal(engine_close(st->e), 0);
	st->e = NULL;
}

static struct labels *
mklabels(const char *metric, const char *k1, const char *v1)
{
	struct label p[2] = { label_str("__name__", metric) };
	struct labels *ls;
	size_t n = 1;

	if (k1 != NULL)
		p[n++] = label_str(k1, v1);
	assert_int_equal(labels_new(p, n, 0, &ls), 0);
	return ls;
}

static int
append1(struct series *s, const struct labels *ls, int64_t t, double v,
    struct series_counts *c)
{
	struct series_appender *a = series_appender_new(s);
	struct series_sample x = { t, v };
	uint64_t seq;
	int rc;

	assert_int_equal(series_appender_add(a, ls, &x, 1), 0);
	rc = series_appender_commit(a, c, &seq);
	series_appender_free(a);
	return rc;
}

/* ---- lines ---- */

static void
check_line(int64_t t, double v, const char *want)
{
	char line[SERIES_LINE_MAX];
	size_t n = series_format_sample(t, v, line);

	assert_string_equal(line, want);
	assert_int_equal(n, strlen(want));
}

static void
test_lines(void **state)
{
	struct series_sample x;

	(void)state;
	check_line(1733561234567, 42, "1733561234.567 42\n");
	check_line(0, 0.1, "0.000 0.1\n");
	check_line(-1500, -2.5, "-1.500 -2.5\n");
	check_line(5, 1e21, "0.005 1e+21\n");
	check_line(1000, 1.0 / 3, "1.000 0.3333333333333333\n");
	check_line(1000, NAN, "1.000 NaN\n");
	check_line(1000, INFINITY, "1.000 +Inf\n");
	check_line(1000, -INFINITY, "1.000 -Inf\n");
	check_line(1000, bits_double(CHUNK_STALE_NAN), "1.000 stale\n");
	check_line(1000, 0.30000000000000004, "1.000 0.30000000000000004\n");

	/* integers take a path of their own: the same bytes as %.15g */
	{
		uint64_t seed = 7;
		char line[SERIES_LINE_MAX], want[SERIES_LINE_MAX];

		for (int i = 0; i < 100000; i++) {
			uint64_t r = rnd(&seed);
			double d = (double)(int64_t)(r >> (r % 64)) *
			    (r & 1 ? -1 : 1);
			int64_t t = (int64_t)(rnd(&seed) >> 20) - (1LL << 43);

			if (i % 3 == 0)
				d = d / 1000;
			else if (i % 3 == 1)
				d = round(d / pow(10, (double)(r % 19))) /
				    pow(10, (double)(r % 11));
			series_format_sample(t, d, line);
			snprintf(want, sizeof(want), "%s%" PRIu64 ".%03u ",
			    t < 0 ? "-" : "", (t < 0 ? (uint64_t)-t : (uint64_t)t) /
			    1000, (unsigned)((t < 0 ? (uint64_t)-t : (uint64_t)t) %
			    1000));
			for (int prec = 15; prec <= 17; prec++) {
				snprintf(want + strlen(want), 40, "%.*g\n",
				    prec, d);
				if (strtod(strchr(want, ' ') + 1, NULL) == d)
					break;
				*(strchr(want, ' ') + 1) = '\0';
			}
			assert_string_equal(line, want);
		}
		check_line(1000, -0.0, "1.000 -0\n");
		check_line(1000, 1e15, "1.000 1e+15\n");
		check_line(1000, 999999999999999.0, "1.000 999999999999999\n");
		check_line(1000, 0.0001, "1.000 0.0001\n");
		check_line(1000, 0.00001, "1.000 1e-05\n");
		check_line(1000, -12.5, "1.000 -12.5\n");
		check_line(1000, 1.05, "1.000 1.05\n");
		check_line(1000, 123456789.123456, "1.000 123456789.123456\n");
	}
	assert_int_equal(series_parse_line("42", 2, 777, &x), 0);
	assert_int_equal(x.t, 777);
	assert_true(x.v == 42);
	assert_int_equal(series_parse_line(" 1733561234.567\t-4.5e3 \r", 24,
	    0, &x), 0);
	assert_int_equal(x.t, 1733561234567);
	assert_true(x.v == -4500);
	assert_int_equal(series_parse_line("10 stale", 8, 0, &x), 0);
	assert_int_equal(x.t, 10000);
	assert_true(double_bits(x.v) == CHUNK_STALE_NAN);
	assert_int_equal(series_parse_line("1.5 +Inf", 8, 0, &x), 0);
	assert_int_equal(x.t, 1500);
	assert_true(isinf(x.v) && x.v > 0);
	assert_int_equal(series_parse_line("1 NaN", 5, 0, &x), 0);
	assert_true(isnan(x.v) && double_bits(x.v) != CHUNK_STALE_NAN);

	assert_int_equal(series_parse_line("", 0, 0, &x), -EINVAL);
	assert_int_equal(series_parse_line("abc", 3, 0, &x), -EINVAL);
	assert_non_null(strstr(err_detail(), "column 1"));
	assert_int_equal(series_parse_line("1.2345 4", 8, 0, &x), -EINVAL);
	assert_int_equal(series_parse_line("1 2 3", 5, 0, &x), -EINVAL);
	assert_non_null(strstr(err_detail(), "column 4"));
	assert_int_equal(series_parse_line("1 0x10", 6, 0, &x), -EINVAL);
	assert_non_null(strstr(err_detail(), "column 3"));
}

/* ---- Prometheus's rules ---- */

static void
test_rules(void **state)
{
	struct store st = { 0 };
	struct labels *a = mklabels("up", "job", "a");
	struct labels *b = mklabels("up", "job", "b");
	struct series_appender *ap;
	struct series_counts c;
	struct series_sample v[3];
	uint64_t id;

	(void)state;
	store_new(&st);
	assert_int_equal(series_find(st.s, a, &id), -ENOENT);
	assert_int_equal(append1(st.s, a, 1000, 1, &c), 0);
	assert_int_equal(c.samples, 1);
	assert_int_equal(c.series_created, 1);
	assert_int_equal(series_find(st.s, a, &id), 0);
	/* the same sample again: taken once */
	assert_int_equal(append1(st.s, a, 1000, 1, &c), 0);
	assert_int_equal(c.samples, 0);
	assert_int_equal(c.duplicates, 1);
	/* same time, another value */
	assert_int_equal(append1(st.s, a, 1000, 2, &c), -EINVAL);
	assert_non_null(strstr(err_detail(), "duplicate sample"));
	assert_int_equal(c.conflicts, 1);
	/* 200 more: sealed chunks; then an old one again is a duplicate */
	for (int i = 1; i <= 200; i++)
		assert_int_equal(append1(st.s, a, 1000 + i * 1000, i, &c), 0);
	assert_int_equal(append1(st.s, a, 1000 + 7 * 1000, 7, &c), 0);
	assert_int_equal(c.duplicates, 1);
	/* older with another value: out of order */
	assert_int_equal(append1(st.s, a, 1000 + 7 * 1000, 8, &c), -EINVAL);
	assert_non_null(strstr(err_detail(), "out of order"));
	assert_int_equal(c.out_of_order, 1);
	/* a commit with refused samples takes the others */
	ap = series_appender_new(st.s);
	v[0] = (struct series_sample){ 500, 1 };
	v[1] = (struct series_sample){ 900000, 2 };
	assert_int_equal(series_appender_add(ap, a, v, 2), 0);
	assert_int_equal(series_appender_add(ap, b, v, 2), 0);
	assert_int_equal(series_appender_commit(ap, &c, NULL), -EINVAL);
	assert_int_equal(c.samples, 3);
	assert_int_equal(c.out_of_order, 1);
	assert_int_equal(c.series_created, 1);
	series_appender_free(ap);
	/* the series limit */
	store_close(&st);
	st.o.max_series = 2;
	store_open(&st, ENGINE_WRITER);
	{
		struct labels *x = mklabels("up", "job", "c");

		assert_int_equal(append1(st.s, x, 1, 1, &c), -ENOSPC);
		assert_int_equal(c.over_limit, 1);
		assert_non_null(strstr(err_detail(), "max_series"));
		assert_int_equal(series_find(st.s, x, &id), -ENOENT);
		assert_int_equal(append1(st.s, a, 1000000, 1, &c), 0);
		labels_free(x);
	}
	st.o.max_series = 0;
	store_close(&st);
	labels_free(a);
	labels_free(b);
}

/* ---- the out-of-order window ---- */

struct collect {
	int64_t		 t[16];
	double		 v[16];
	size_t		 n;
};

static int
collect_fn(void *arg, int64_t t, double v)
{
	struct collect *c = arg;

	if (c->n < 16) {
		c->t[c->n] = t;
		c->v[c->n] = v;
	}
	c->n++;
	return 0;
}

static void
test_late(void **state)
{
	struct store st = { 0 };
	struct labels *a = mklabels("late", NULL, NULL);
	struct series_counts c;
	struct series_attr at;
	struct collect got;
	uint64_t id;
	static const int64_t want_t[] = { 10000, 15000, 20000, 25000, 30000 };
	static const double want_v[] = { 1, 1.5, 2, 2.5, 3 };

	(void)state;
	st.o.out_of_order_window_ms = 3600 * 1000;
	store_new(&st);
	assert_int_equal(append1(st.s, a, 10000, 1, &c), 0);
	assert_int_equal(append1(st.s, a, 20000, 2, &c), 0);
	assert_int_equal(append1(st.s, a, 30000, 3, &c), 0);
	/* within the window: taken, once */
	assert_int_equal(append1(st.s, a, 15000, 1.5, &c), 0);
	assert_int_equal(c.samples, 1);
	assert_int_equal(c.late, 1);
	assert_int_equal(append1(st.s, a, 15000, 1.5, &c), 0);
	assert_int_equal(c.samples, 0);
	assert_int_equal(c.duplicates, 1);
	assert_int_equal(append1(st.s, a, 15000, 9, &c), -EINVAL);
	assert_non_null(strstr(err_detail(), "duplicate sample"));
	/* a time a sample in order holds, with another value */
	assert_int_equal(append1(st.s, a, 20000, 7, &c), -EINVAL);
	assert_int_equal(c.conflicts, 1);
	/* past the window */
	assert_int_equal(append1(st.s, a, 30000 - 3600 * 1000 - 1, 0, &c),
	    -EINVAL);
	assert_non_null(strstr(err_detail(), "out of order"));
	assert_int_equal(append1(st.s, a, 25000, 2.5, &c), 0);
	/* one commit: a time, a newer one, the first again with another value */
	{
		struct labels *b = mklabels("late2", NULL, NULL);
		struct series_appender *ap = series_appender_new(st.s);
		struct series_sample x[3] = { { 1000000, 1 }, { 2000000, 2 },
		    { 1000000, 3 } };

		assert_int_equal(series_appender_add(ap, b, x, 3), 0);
		assert_int_equal(series_appender_commit(ap, &c, NULL), -EINVAL);
		assert_int_equal(c.samples, 2);
		assert_int_equal(c.conflicts, 1);
		series_appender_free(ap);
		labels_free(b);
	}
	assert_int_equal(series_find(st.s, a, &id), 0);
	for (int round = 0; round < 3; round++) {
		memset(&got, 0, sizeof(got));
		assert_int_equal(series_scan(st.s, id, INT64_MIN, INT64_MAX,
		    collect_fn, &got), 0);
		assert_int_equal(got.n, 5);
		for (size_t i = 0; i < 5; i++) {
			assert_true(got.t[i] == want_t[i]);
			assert_true(got.v[i] == want_v[i]);
		}
		/* a window that starts between them */
		memset(&got, 0, sizeof(got));
		assert_int_equal(series_scan(st.s, id, 12000, 26000,
		    collect_fn, &got), 0);
		assert_int_equal(got.n, 3);
		assert_true(got.t[0] == 15000 && got.t[2] == 25000);
		/* the text view is the samples taken in order */
		assert_int_equal(series_getattr(st.s, id, &at), 0);
		assert_int_equal(at.size, strlen("10.000 1\n20.000 2\n"
		    "30.000 3\n"));
		if (round == 0) {
			store_close(&st);
			store_open(&st, ENGINE_WRITER);
		} else if (round == 1)
			assert_int_equal(engine_compact(st.e), 0);
	}
	store_close(&st);
	st.o.out_of_order_window_ms = 0;
	labels_free(a);
}

/* ---- the model test ---- */

#define MSERIES	12
#define MSAMPLES 4000

struct mseries {
	struct labels	*ls;
	int64_t		 t[MSAMPLES];
	double		 v[MSAMPLES];
	size_t		 n;
};

struct got {
	struct mseries	*m;
	size_t		 i, from;
	int		 bad;
};

static int
check_sample(void *arg, int64_t t, double v)
{
	struct got *g = arg;
	size_t i = g->from + g->i++;

	if (i >= g->m->n || g->m->t[i] != t ||
	    double_bits(g->m->v[i]) != double_bits(v)) {
		if (!g->bad)
			print_error("sample %zu of %zu: got %lld %a, want "
			    "%lld %a\n", i, g->m->n, (long long)t, v,
			    i < g->m->n ? (long long)g->m->t[i] : -1LL,
			    i < g->m->n ? g->m->v[i] : 0.0);
		g->bad = 1;
	}
	return 0;
}

static void
model_text(const struct mseries *m, struct buf *b)
{
	char line[SERIES_LINE_MAX];

	buf_reset(b);
	for (size_t i = 0; i < m->n; i++) {
		size_t n = series_format_sample(m->t[i], m->v[i], line);

		buf_append(b, line, n);
	}
}

static void
check_model(struct series *s, struct mseries *ms, uint64_t *seed)
{
	struct buf want;
	char *got;

	buf_init(&want, 0);
	for (size_t k = 0; k < MSERIES; k++) {
		struct mseries *m = &ms[k];
		struct series_attr a;
		struct got g = { .m = m };
		uint64_t id;
		size_t lo, hi;
		ssize_t n;

		if (m->n == 0)
			continue;
		assert_int_equal(series_find(s, m->ls, &id), 0);
		assert_int_equal(series_scan(s, id, INT64_MIN, INT64_MAX,
		    check_sample, &g), 0);
		assert_int_equal(g.bad, 0);
		assert_int_equal(g.i, m->n);
		/* a window */
		lo = (size_t)(rnd(seed) % m->n);
		hi = lo + (size_t)(rnd(seed) % (m->n - lo));
		memset(&g, 0, sizeof(g));
		g.m = m;
		g.from = lo;
		assert_int_equal(series_scan(s, id, m->t[lo], m->t[hi],
		    check_sample, &g), 0);
		assert_int_equal(g.bad, 0);
		assert_int_equal(g.i, hi - lo + 1);
		/* the text view */
		model_text(m, &want);
		assert_int_equal(series_getattr(s, id, &a), 0);
		assert_int_equal(a.size, want.len);
		assert_int_equal(a.last_t, m->t[m->n - 1]);
		got = xmalloc(want.len + 1);
		n = series_read(s, id, 0, got, want.len + 100);
		assert_int_equal(n, (ssize_t)want.len);
		assert_memory_equal(got, want.data, want.len);
		for (int r = 0; r < 20; r++) {
			size_t off = (size_t)(rnd(seed) % want.len);
			size_t len = 1 + (size_t)(rnd(seed) % 3000);

			if (len > want.len - off)
				len = want.len - off;
			n = series_read(s, id, off, got, len);
			assert_int_equal(n, (ssize_t)len);
			assert_memory_equal(got, want.data + off, len);
		}
		assert_int_equal(series_read(s, id, want.len, got, 10), 0);
		free(got);
	}
	buf_release(&want);
}

static int
count_fn(void *arg, uint64_t id, const struct labels *ls)
{
	(void)id;
	(void)ls;
	(*(int *)arg)++;
	return 0;
}

static int
names_fn(void *arg, const char *name, size_t len)
{
	struct buf *b = arg;

	buf_append(b, name, len);
	buf_putc(b, ',');
	return 0;
}

static void
test_model(void **state)
{
	static struct mseries ms[MSERIES];
	struct store st = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct selector *sel[2];
	struct buf b;
	int n;

	(void)state;
	for (size_t k = 0; k < MSERIES; k++) {
		char v[16];

		snprintf(v, sizeof(v), "i%zu", k);
		ms[k].ls = mklabels(k % 3 == 0 ? "m_a" : "m_b", "inst", v);
		ms[k].n = 0;
	}
	store_new(&st);
	for (int round = 0; round < 6; round++) {
		for (int c = 0; c < 60; c++) {
			struct series_appender *a = series_appender_new(st.s);
			struct series_counts cnt;

			for (int j = 0; j < 8; j++) {
				struct mseries *m = &ms[rnd(&seed) % MSERIES];
				struct series_sample x[4];
				size_t nx = 1 + rnd(&seed) % 4;

				if (m->n + nx > MSAMPLES)
					continue;
				for (size_t i = 0; i < nx; i++) {
					int64_t last = m->n ? m->t[m->n - 1] :
					    1700000000000 - 1000;
					uint64_t r = rnd(&seed);

					x[i].t = last + 1 + (int64_t)(r % 30000);
					/* jumps past a chunk's span now and then */
					if (r % 97 == 0)
						x[i].t += 3 * 3600 * 1000;
					x[i].v = r % 5 == 0 ? (double)(r % 1000) :
					    r % 7 == 0 ? bits_double(CHUNK_STALE_NAN) :
					    (double)(int64_t)r / 1e6;
					m->t[m->n] = x[i].t;
					m->v[m->n++] = x[i].v;
				}
				assert_int_equal(series_appender_add(a, m->ls, x,
				    nx), 0);
			}
			assert_int_equal(series_appender_commit(a, &cnt, NULL), 0);
			series_appender_free(a);
		}
		check_model(st.s, ms, &seed);
		switch (round % 3) {
		case 0:
			store_close(&st);
			store_open(&st, ENGINE_WRITER);
			break;
		case 1:
			assert_int_equal(engine_compact(st.e), 0);
			break;
		default:
			assert_int_equal(engine_flush(st.e), 0);
			{
				struct store rd = { 0 };

				memcpy(rd.uri, st.uri, sizeof(rd.uri));
				store_open(&rd, ENGINE_READER);
				check_model(rd.s, ms, &seed);
				store_close(&rd);
			}
		}
		check_model(st.s, ms, &seed);
	}

	/* the dictionary */
	assert_int_equal(selector_parse("m_a", 3, &sel[0]), 0);
	n = 0;
	assert_int_equal(series_select(st.s, sel, 1, 1, 0, count_fn, &n), 0);
	assert_int_equal(n, 4);
	selector_free(sel[0]);
	assert_int_equal(selector_parse("{inst=~\"i1.*\"}", 14, &sel[0]), 0);
	assert_int_equal(selector_parse("{__name__=\"m_a\",inst!=\"i0\"}", 27,
	    &sel[1]), 0);
	n = 0;
	assert_int_equal(series_select(st.s, sel, 2, 1, 0, count_fn, &n), 0);
	/* i1 i10 i11, and m_a without i0: i3 i6 i9 */
	assert_int_equal(n, 6);
	selector_free(sel[0]);
	selector_free(sel[1]);
	{
		const char *t = "{__name__=~\"m_.*\",inst!~\"i[0-9]\"}";

		assert_int_equal(selector_parse(t, strlen(t), &sel[0]), 0);
	}
	n = 0;
	assert_int_equal(series_select(st.s, sel, 1, 1, 0, count_fn, &n), 0);
	assert_int_equal(n, 2);
	selector_free(sel[0]);
	buf_init(&b, 0);
	assert_int_equal(series_label_names(st.s, NULL, 0, 1, 0, names_fn,
	    &b), 0);
	assert_string_equal(buf_str(&b), "__name__,inst,");
	buf_reset(&b);
	assert_int_equal(series_metrics(st.s, names_fn, &b), 0);
	assert_string_equal(buf_str(&b), "m_a,m_b,");
	buf_reset(&b);
	assert_int_equal(selector_parse("m_a", 3, &sel[0]), 0);
	assert_int_equal(series_label_values(st.s, "inst", sel, 1, 1, 0,
	    names_fn, &b), 0);
	assert_string_equal(buf_str(&b), "i0,i3,i6,i9,");
	selector_free(sel[0]);
	buf_release(&b);
	n = 0;
	assert_int_equal(series_of_metric(st.s, "m_b", count_fn, &n), 0);
	assert_int_equal(n, 8);
	store_close(&st);
	for (size_t k = 0; k < MSERIES; k++)
		labels_free(ms[k].ls);
}

/*
 * A long series read back in the kernel's pieces after a compaction and
 * a reopen: each read is an iterator of its own, so the read-ahead of
 * one must leave what it fetched to the next (sst_iter.c's ra_fill).
 */
static void
test_long_read(void **state)
{
	struct store st = { 0 };
	struct labels *a = mklabels("long", "k", "v");
	struct series_appender *ap;
	struct series_sample *v;
	struct series_attr at;
	struct buf want;
	char line[SERIES_LINE_MAX], *got;
	uint64_t id, off = 0;
	size_t n = 200000;
	ssize_t r;

	(void)state;
	v = xmalloc(n * sizeof(*v));
	buf_init(&want, 0);
	for (size_t i = 0; i < n; i++) {
		v[i].t = 1700000000000 + (int64_t)i * 15000;
		v[i].v = (double)(i * 7 % 1000) / 4;
		buf_append(&want, line, series_format_sample(v[i].t, v[i].v,
		    line));
	}
	store_new(&st);
	ap = series_appender_new(st.s);
	assert_int_equal(series_appender_add(ap, a, v, n), 0);
	assert_int_equal(series_appender_commit(ap, NULL, NULL), 0);
	series_appender_free(ap);
	assert_int_equal(series_flush_heads(st.s), 0);
	assert_int_equal(engine_compact(st.e), 0);
	store_close(&st);
	store_open(&st, ENGINE_WRITER);
	assert_int_equal(series_find(st.s, a, &id), 0);
	assert_int_equal(series_getattr(st.s, id, &at), 0);
	assert_int_equal(at.size, want.len);
	got = xmalloc(want.len);
	while ((r = series_read(st.s, id, off, got + off, 131072)) > 0)
		off += (uint64_t)r;
	assert_int_equal(r, 0);
	assert_int_equal(off, want.len);
	assert_memory_equal(got, want.data, want.len);
	free(got);
	free(v);
	buf_release(&want);
	store_close(&st);
	labels_free(a);
}

/* ---- metadata and import ---- */

static int
meta_fn(void *arg, const struct series_meta *m)
{
	struct buf *b = arg;

	buf_printf(b, "%.*s %s %.*s|%.*s;", (int)m->metric_len, m->metric,
	    series_type_name(m->type), (int)m->help_len, m->help,
	    (int)m->unit_len, m->unit);
	return 0;
}

static void
test_import(void **state)
{
	static const char good[] =
	    "# HELP req_total Requests.\n"
	    "# TYPE req_total counter\n"
	    "req_total{code=\"200\"} 10 1700000000000\n"
	    "req_total{code=\"500\"} 1 1700000000000\n"
	    "temp 21.5\n";
	static const char bad[] =
	    "ok_metric 1\n"
	    "bad metric{ 2\n";
	struct store st = { 0 };
	struct series_import_result r;
	struct series_stats ss;
	struct buf b;

	(void)state;
	store_new(&st);
	assert_int_equal(series_import(st.s, bad, sizeof(bad) - 1, 0, 5000,
	    &r), -EINVAL);
	assert_non_null(strstr(err_detail(), "line 2"));
	series_stats(st.s, &ss);
	assert_int_equal(ss.series, 0);
	assert_int_equal(series_import(st.s, good, sizeof(good) - 1, 0, 5000,
	    &r), 0);
	assert_int_equal(r.counts.samples, 3);
	assert_int_equal(r.counts.series_created, 3);
	assert_int_equal(r.metadata, 1);
	buf_init(&b, 0);
	assert_int_equal(series_meta_each(st.s, NULL, meta_fn, &b), 0);
	assert_string_equal(buf_str(&b), "req_total counter Requests.|;");
	store_close(&st);
	store_open(&st, ENGINE_WRITER);
	buf_reset(&b);
	assert_int_equal(series_meta_each(st.s, "req_total", meta_fn, &b), 0);
	assert_string_equal(buf_str(&b), "req_total counter Requests.|;");
	buf_reset(&b);
	assert_int_equal(series_meta_each(st.s, "req", meta_fn, &b), 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
	series_stats(st.s, &ss);
	assert_int_equal(ss.series, 3);
	store_close(&st);
}

/* ---- retention ---- */

static int
count_sample(void *arg, int64_t t, double v)
{
	(void)t;
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static void
test_retention(void **state)
{
	struct store st = { 0 };
	struct labels *a = mklabels("old", NULL, NULL);
	struct labels *keep = mklabels("keep", NULL, NULL);
	struct series_appender *ap;
	struct series_counts c;
	struct series_sample v[1000];
	struct series_attr at;
	int64_t now = clock_wall_ns() / 1000000;
	uint64_t id;
	char buf[256];
	int got = 0;

	(void)state;
	st.o.retention_ms = 3600 * 1000;
	/* a filter keeps "keep" for ever; a bad one fails the open */
	st.o.retention_filters = "# kept\n{__name__=\"keep\"}:0\n\n"
	    "x:y:30m\n";
	store_new(&st);
	{
		struct series *bad;
		struct series_options o = st.o;

		o.retention_filters = "{__name__=\"keep\"}:1d\nup 2d\n";
		assert_int_equal(series_open(st.e, &o, &bad), -EINVAL);
		assert_non_null(strstr(err_detail(), "line 2"));
		o.retention_filters = "up:forever\n";
		assert_int_equal(series_open(st.e, &o, &bad), -EINVAL);
		o.retention_filters = "{a=~\"(\"}:1d\n";
		assert_int_equal(series_open(st.e, &o, &bad), -EINVAL);
	}
	/* 600 samples from five hours ago, then 10 from now */
	for (int i = 0; i < 600; i++)
		v[i] = (struct series_sample){ now - 5 * 3600 * 1000 + i * 1000,
		    i };
	for (int i = 0; i < 10; i++)
		v[600 + i] = (struct series_sample){ now + i * 1000, i };
	ap = series_appender_new(st.s);
	assert_int_equal(series_appender_add(ap, a, v, 610), 0);
	assert_int_equal(series_appender_add(ap, keep, v, 610), 0);
	assert_int_equal(series_appender_commit(ap, &c, NULL), 0);
	series_appender_free(ap);
	assert_int_equal(c.samples, 1220);
	assert_int_equal(engine_compact(st.e), 0);
	assert_int_equal(series_find(st.s, a, &id), 0);
	assert_int_equal(series_getattr(st.s, id, &at), 0);
	/* the size stays; the expired part reads as nothing */
	assert_true(at.size > 0);
	assert_int_equal(series_read(st.s, id, 0, buf, sizeof(buf)), 0);
	assert_int_equal(series_scan(st.s, id, INT64_MIN, INT64_MAX,
	    count_sample, &got), 0);
	assert_int_equal(got, 10);
	/* reads from where the kept samples start work as before */
	assert_true(series_read(st.s, id, at.size - 4, buf, sizeof(buf)) == 4);
	assert_memory_equal(buf + 1, " 9\n", 3);
	/* the filter's series kept everything */
	got = 0;
	assert_int_equal(series_find(st.s, keep, &id), 0);
	assert_int_equal(series_scan(st.s, id, INT64_MIN, INT64_MAX,
	    count_sample, &got), 0);
	assert_int_equal(got, 610);
	/* past the dictionary's first size, made and then loaded again */
	ap = series_appender_new(st.s);
	for (int i = 0; i < 1500; i++) {
		char name[32];
		struct labels *x;

		snprintf(name, sizeof(name), "many_%d", i);
		x = mklabels(name, NULL, NULL);
		assert_int_equal(series_appender_add(ap, x, v + 600, 1), 0);
		labels_free(x);
	}
	assert_int_equal(series_appender_commit(ap, &c, NULL), 0);
	assert_int_equal(c.series_created, 1500);
	series_appender_free(ap);
	store_close(&st);
	store_open(&st, ENGINE_WRITER);
	got = 0;
	assert_int_equal(series_find(st.s, keep, &id), 0);
	assert_int_equal(series_scan(st.s, id, INT64_MIN, INT64_MAX,
	    count_sample, &got), 0);
	assert_int_equal(got, 610);
	store_close(&st);
	st.o.retention_ms = 0;
	st.o.retention_filters = NULL;
	labels_free(a);
	labels_free(keep);
}

/* ---- a follower ---- */

static void
test_follower(void **state)
{
	struct store w = { 0 }, r = { 0 };
	struct labels *a = mklabels("f", "x", "1");
	struct series_counts c;
	struct series_attr at;
	uint64_t id;
	int64_t due;

	(void)state;
	store_new(&w);
	assert_int_equal(append1(w.s, a, 1000, 1, &c), 0);
	assert_int_equal(engine_flush(w.e), 0);
	memcpy(r.uri, w.uri, sizeof(r.uri));
	store_open(&r, ENGINE_READER);
	assert_int_equal(series_find(r.s, a, &id), 0);
	assert_int_equal(series_getattr(r.s, id, &at), 0);
	assert_int_equal(at.last_t, 1000);
	assert_int_equal(append1(w.s, a, 2000, 2, &c), 0);
	{
		struct labels *b = mklabels("f", "x", "2");

		assert_int_equal(append1(w.s, b, 5000, 5, &c), 0);
		assert_int_equal(engine_flush(w.e), 0);
		due = clock_mono_ns() + 20 * (int64_t)1000000000;
		while (series_find(r.s, b, &id) != 0 && clock_mono_ns() < due)
			clock_sleep_ms(10);
		assert_int_equal(series_find(r.s, b, &id), 0);
		labels_free(b);
	}
	assert_int_equal(series_find(r.s, a, &id), 0);
	due = clock_mono_ns() + 20 * (int64_t)1000000000;
	do {
		assert_int_equal(series_getattr(r.s, id, &at), 0);
		if (at.last_t == 2000)
			break;
		clock_sleep_ms(10);
	} while (clock_mono_ns() < due);
	assert_int_equal(at.last_t, 2000);
	assert_int_equal(at.size, strlen("1.000 1\n2.000 2\n"));
	assert_int_equal(append1(r.s, a, 3000, 3, &c), -EROFS);
	store_close(&r);
	store_close(&w);
	labels_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_late),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_long_read),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_follower),
	};
	int rc;

	if (scratch_make(scratch, sizeof(scratch), "series") != 0) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_CACHE_HOME", scratch, 1);
	log_set_level(LOG_WARN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	scratch_remove(scratch);
	return rc;
}
