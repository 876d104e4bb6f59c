/*
 * test_promql_func.c - PromQL's functions (promql_func.c) on their own:
 * the window functions over hand-made windows and the step functions
 * over hand-made vectors, with the figures of Prometheus 3's own tests
 * (promql/promqltest/testdata/functions.test and histograms.test):
 * rate()'s extrapolation and zero cut-off, the regressions, Kahan sums
 * and means that would overflow, the quantiles, the dates, absent()'s
 * labels, label_replace() and label_join() with their errors, the
 * natural order of sort_by_label(), classic histogram_quantile() and
 * histogram_fraction(), and Go's formats in the warnings.
 *
 * The evaluator's side of promql_eval.h (interning, vectors, warnings,
 * the pointer map) is played here by small stand-ins, so the functions
 * are tested without a store.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "query/promql.h"
#include "query/promql_eval.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

/* ---- the evaluator's side, played small ---- */

struct pq_eval {
	struct labels	*sets[256];
	size_t		 nsets;
	char		 warn[16][512], info[16][512];
	size_t		 nwarn, ninfo;
};

void
pq_vector_push(struct pq_vector *v, const struct labels *ls, double x,
    int drop_name)
{
	v->s = xgrow(v->s, &v->cap, v->n + 1, sizeof(*v->s));
	v->s[v->n].ls = ls;
	v->s[v->n].v = x;
	v->s[v->n++].drop_name = drop_name;
}

const struct labels *
pq_intern(struct pq_eval *ev, struct labels *ls)
{
	for (size_t i = 0; i < ev->nsets; i++)
		if (labels_equal(ev->sets[i], ls)) {
			labels_free(ls);
			return ev->sets[i];
		}
	assert_true(ev->nsets < 256);
	ev->sets[ev->nsets++] = ls;
	return ls;
}

const struct labels *
pq_drop_name(struct pq_eval *ev, const struct labels *ls)
{
	return pq_labels_set(ev, ls, LABELS_METRIC_NAME, "", 0);
}

const struct labels *
pq_labels_set(struct pq_eval *ev, const struct labels *ls, const char *name,
    const char *value, size_t value_len)
{
	struct label pairs[LABELS_COUNT_MAX + 1];
	struct labels *out;
	size_t n = 0;

	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);

		if (strcmp(l->name, name) != 0)
			pairs[n++] = *l;
	}
	pairs[n] = label_str(name, "");
	pairs[n].value = value;
	pairs[n++].value_len = value_len;
	if (labels_new(pairs, n, LABELS_RESERVED, &out) != 0)
		return NULL;
	return pq_intern(ev, out);
}

void
pq_warn(struct pq_eval *ev, const struct promql_node *at, const char *fmt,
    ...)
{
	va_list ap;

	(void)at;
	if (ev->nwarn == 16)
		return;
	va_start(ap, fmt);
	vsnprintf(ev->warn[ev->nwarn++], sizeof(ev->warn[0]), fmt, ap);
	va_end(ap);
}

void
pq_info(struct pq_eval *ev, const struct promql_node *at, const char *fmt,
    ...)
{
	va_list ap;

	(void)at;
	if (ev->ninfo == 16)
		return;
	va_start(ap, fmt);
	vsnprintf(ev->info[ev->ninfo++], sizeof(ev->info[0]), fmt, ap);
	va_end(ap);
}

uintptr_t *
pq_pmap_get(struct pq_pmap *m, const void *key, int *created)
{
	size_t i;

	if (m->n + 1 > m->cap / 2) {
		struct pq_pmap old = *m;

		m->cap = old.cap ? old.cap * 2 : 16;
		m->key = xcalloc(m->cap, sizeof(*m->key));
		m->val = xcalloc(m->cap, sizeof(*m->val));
		m->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.key[i] != NULL) {
				int c;

				*pq_pmap_get(m, old.key[i], &c) = old.val[i];
			}
		free(old.key);
		free(old.val);
	}
	for (i = (uintptr_t)key / 8 % m->cap; m->key[i] != NULL;
	    i = (i + 1) % m->cap)
		if (m->key[i] == key) {
			*created = 0;
			return &m->val[i];
		}
	m->key[i] = key;
	m->n++;
	*created = 1;
	return &m->val[i];
}

uintptr_t *
pq_pmap_find(const struct pq_pmap *m, const void *key)
{
	for (size_t i = m->cap ? (uintptr_t)key / 8 % m->cap : 0;
	    m->cap && m->key[i] != NULL; i = (i + 1) % m->cap)
		if (m->key[i] == key)
			return &m->val[i];
	return NULL;
}

void
pq_pmap_free(struct pq_pmap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

static void
ev_free(struct pq_eval *ev)
{
	for (size_t i = 0; i < ev->nsets; i++)
		labels_free(ev->sets[i]);
	free(ev);
}

/* ---- helpers ---- */

#define S	1000
#define M	(60 * S)

/* values[i] at start + i * step; NAN_SKIP leaves a point out */
static const double SKIP = -12345.6789;

struct series_pts {
	struct pq_point	 p[2100];
	size_t		 n;
};

static void
load(struct series_pts *s, int64_t step, const double *v, size_t n)
{
	s->n = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] != SKIP) {
			s->p[s->n].t = (int64_t)i * step;
			s->p[s->n++].v = v[i];
		}
}

/* a+bxn, promtool's notation: n+1 values */
static size_t
seq(double *v, double a, double b, size_t n)
{
	for (size_t i = 0; i <= n; i++)
		v[i] = a + b * (double)i;
	return n + 1;
}

/* The window fn name at time t over range r of s (window (t-r, t]). */
static int
window(struct pq_eval *ev, const char *name, const struct series_pts *s,
    int64_t t, int64_t range, const double *scalars, double *out)
{
	const struct pq_funcdef *f = pq_func(name);
	struct pq_window w = { 0 };
	size_t first = 0, n = 0;

	assert_non_null(f);
	assert_non_null(f->window);
	while (first < s->n && s->p[first].t <= t - range)
		first++;
	while (first + n < s->n && s->p[first + n].t <= t)
		n++;
	w.p = s->p + first;
	w.n = n;
	w.start = t - range;
	w.end = t;
	w.t = t;
	if (scalars != NULL)
		memcpy(w.s, scalars, sizeof(w.s));
	return f->window(ev, &w, out);
}

static double
win(const char *name, const struct series_pts *s, int64_t t, int64_t range)
{
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	double out = -999;

	assert_int_equal(window(ev, name, s, t, range, NULL, &out), 1);
	ev_free(ev);
	return out;
}

static void
assert_close(double got, double want)
{
	if (isnan(want)) {
		assert_true(isnan(got));
		return;
	}
	if (isinf(want)) {
		assert_true(got == want);
		return;
	}
	if (fabs(got - want) > 1e-9 * fmax(1, fabs(want))) {
		print_error("got %.17g, want %.17g\n", got, want);
		fail();
	}
}

/* ---- range vectors ---- */

static void
test_rates(void **state)
{
	struct series_pts s;
	double v[64];
	size_t n;

	(void)state;
	/* counter reset in the middle */
	n = seq(v, 0, 27, 4);
	n += seq(v + n, 0, 27, 5);
	load(&s, 5 * M, v, n);
	assert_close(win("rate", &s, 50 * M, 50 * M), 0.08);

	/* reset at the end: one sample in [5m], none left */
	n = seq(v, 0, 10, 9);
	v[n++] = 0;
	v[n++] = 10;
	load(&s, 5 * M, v, n);
	{
		struct pq_eval *ev = xcalloc(1, sizeof(*ev));
		double out;

		assert_int_equal(window(ev, "rate", &s, 50 * M, 5 * M, NULL,
		    &out), 0);
		ev_free(ev);
	}
	assert_close(win("rate", &s, 50 * M, 6 * M), 0);

	/* extrapolation to zero, not below */
	n = seq(v, 0, 10, 10);
	load(&s, 5 * M, v, n);
	assert_close(win("increase", &s, 50 * M, 100 * M), 100);
	n = seq(v, 0, 18, 5);
	n += seq(v + n, 0, 18, 5);
	load(&s, 5 * M, v, n);
	assert_close(win("increase", &s, 50 * M, 100 * M), 162);
	n = seq(v, 10, 10, 10);
	load(&s, 5 * M, v, n);
	assert_close(win("increase", &s, 50 * M, 100 * M), 105);
	n = seq(v, 1, 10, 10);
	load(&s, 5 * M, v, n);
	assert_close(win("increase", &s, 50 * M, 100 * M), 101);

	/* 3 2 is a reset to 0, then 2 */
	{
		double r[] = { 0, 1, 2, 3, 2, 3, 4 };

		load(&s, 5 * M, r, 7);
		assert_close(win("increase", &s, 30 * M, 30 * M), 7);
	}

	/* the zero cut-off, half an interval at most */
	{
		static const double starts[] = { 0, 60, 120, 180, 240, 300 };
		static const double want10[] = { 0.5, 0.55, 0.6, 0.6, 0.6,
		    0.6 };

		for (size_t i = 0; i < 6; i++) {
			n = seq(v, starts[i], 240, 10);
			load(&s, 4 * M, v, n);
			assert_close(win("rate", &s, 10 * M, 20 * M), want10[i]);
			assert_close(win("rate", &s, 50 * M, 20 * M), 0.6);
		}
	}

	/* rate of a window with an offset */
	n = seq(v, 0, 80, 10);
	load(&s, 5 * M, v, n);
	assert_close(win("rate", &s, 50 * M, 50 * M), 0.26666666666666666);

	/* irate, idelta */
	n = seq(v, 0, 10, 10);
	load(&s, 5 * M, v, n);
	assert_close(win("irate", &s, 50 * M, 50 * M), .03333333333333333333);
	n = seq(v, 0, 10, 5);
	n += seq(v + n, 0, 10, 5);
	load(&s, 5 * M, v, n);
	assert_close(win("irate", &s, 30 * M, 50 * M), 0);
	{
		double d[] = { 0, 50, 100, 50 };
		double g[] = { 0, 50, 100, 150, 200 };
		double h[] = { 200, 150, 100, 50, 0 };

		load(&s, 5 * M, d, 4);
		assert_close(win("idelta", &s, 20 * M, 20 * M), -50);
		load(&s, 5 * M, g, 5);
		assert_close(win("delta", &s, 20 * M, 20 * M), 200);
		load(&s, 5 * M, h, 5);
		assert_close(win("delta", &s, 20 * M, 20 * M), -200);
	}
	{
		double nan_ctr[] = { 1, NAN, NAN, 5, 11 };

		load(&s, 5 * M, nan_ctr, 5);
		assert_close(win("irate", &s, 20 * M, 15 * M + S), 0.02);
		assert_close(win("idelta", &s, 20 * M, 15 * M + S), 6);
		assert_close(win("irate", &s, 10 * M, 15 * M + S), NAN);
	}
}

static void
test_regression(void **state)
{
	struct series_pts s;
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	double v[64], out, sc[4] = { 0, 3600, 0, 0 };
	size_t n;

	(void)state;
	n = seq(v, 0, 80, 10);
	load(&s, 5 * M, v, n);
	assert_close(win("deriv", &s, 50 * M, 50 * M), 0.26666666666666666);

	n = seq(v, 0, 10, 4);
	n += seq(v + n, 0, 10, 5);
	load(&s, 5 * M, v, n);
	assert_close(win("deriv", &s, 50 * M, 100 * M), 0.010606060606060607);
	assert_int_equal(window(ev, "predict_linear", &s, 50 * M, 50 * M, sc,
	    &out), 1);
	assert_close(out, 70);
	/* @ 3000: the window ends there, the intercept is at the step */
	{
		const struct pq_funcdef *f = pq_func("predict_linear");
		struct pq_window w = { .p = s.p, .n = s.n, .start = 3000 * S -
		    55 * M, .end = 3000 * S, .t = 10 * M, .s = { 0, 3600 } };

		assert_int_equal(f->window(ev, &w, &out), 1);
		assert_close(out, 51.36363636363637);
		w.t = 70 * M;
		assert_int_equal(f->window(ev, &w, &out), 1);
		assert_close(out, 89.54545454545455);
		w.t = 50 * M;
		assert_int_equal(f->window(ev, &w, &out), 1);
		assert_close(out, 76.81818181818181);
	}
	/* infinities make NaN */
	v[0] = -INFINITY;
	n = 1 + seq(v + 1, 0, 80, 10);
	v[n++] = INFINITY;
	load(&s, 5 * M, v, n);
	assert_close(win("deriv", &s, 100 * M, 100 * M), NAN);
	sc[1] = 6000;
	assert_int_equal(window(ev, "predict_linear", &s, 100 * M, 100 * M, sc,
	    &out), 1);
	assert_close(out, NAN);

	/* resets, changes */
	{
		double foo[] = { 1, 2, 3, 0, 1, 0, 0, 1, 2, 0 };
		double nan2[] = { 0, NAN, 0 }, nan1[] = { NAN, NAN, NAN };

		load(&s, 5 * M, foo, 10);
		assert_close(win("resets", &s, 50 * M, 50 * M), 3);
		assert_close(win("resets", &s, 50 * M, 20 * M), 1);
		assert_close(win("changes", &s, 50 * M, 50 * M), 7);
		assert_close(win("changes", &s, 50 * M, 30 * M), 3);
		load(&s, 5 * M, nan2, 3);
		assert_close(win("changes", &s, 15 * M, 20 * M), 2);
		load(&s, 5 * M, nan1, 3);
		assert_close(win("changes", &s, 15 * M, 20 * M), 0);
	}
	ev_free(ev);
}

static void
test_smoothing(void **state)
{
	static struct series_pts s;
	static double v[2100];
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	double out, sc[4] = { 0, 0.01, 0.1, 0 };
	size_t n;

	(void)state;
	n = seq(v, 0, 30, 1000);
	n += seq(v + n, 300, 80, 1000);
	load(&s, 10 * S, v, n);
	assert_int_equal(window(ev, "double_exponential_smoothing", &s,
	    8000 * S, M, sc, &out), 1);
	assert_close(out, 24000);
	n = seq(v, 0, -40, 1000);
	n += seq(v + n, 0, 40, 1000);
	load(&s, 10 * S, v, n);
	assert_int_equal(window(ev, "double_exponential_smoothing", &s,
	    8000 * S, M, sc, &out), 1);
	assert_close(out, -32000);
	sc[1] = 1;
	assert_int_equal(window(ev, "double_exponential_smoothing", &s,
	    8000 * S, M, sc, &out), -EDOM);
	assert_string_equal(err_detail(), "invalid smoothing factor. "
	    "Expected: 0 < sf < 1, got: 1.000000");
	sc[1] = 0.5;
	sc[2] = NAN;
	assert_int_equal(window(ev, "double_exponential_smoothing", &s,
	    8000 * S, M, sc, &out), -EDOM);
	assert_string_equal(err_detail(), "invalid trend factor. "
	    "Expected: 0 < tf < 1, got: NaN");
	ev_free(ev);
}

static void
test_over_time(void **state)
{
	struct series_pts s;
	double v[64];
	size_t n;

	(void)state;
	{
		double m[] = { 1, 2, 3, 4, 5 };

		load(&s, 10 * S, m, 5);
		assert_close(win("avg_over_time", &s, 55 * S, 20 * S), 5);
		assert_close(win("avg_over_time", &s, 55 * S, M), 3);
		assert_close(win("sum_over_time", &s, 55 * S, M), 15);
		assert_close(win("count_over_time", &s, 55 * S, M), 5);
	}
	{
		double m[] = { 1, 2, 3, INFINITY, -INFINITY };
		double m2[] = { INFINITY, 0, INFINITY };
		double m3[] = { 9.988465674311579e+307,
		    9.988465674311579e+307 };
		double m4[] = { -9.988465674311579e+307,
		    9.988465674311579e+307 };
		double m5[] = { 1, 1e100, 1, -1e100 };

		load(&s, 10 * S, m, 5);
		assert_close(win("avg_over_time", &s, 55 * S, M), NAN);
		load(&s, 10 * S, m2, 3);
		assert_close(win("avg_over_time", &s, 55 * S, M), INFINITY);
		load(&s, 10 * S, m3, 2);
		assert_close(win("avg_over_time", &s, 55 * S, M),
		    9.988465674311579e+307);
		assert_close(win("sum_over_time", &s, 55 * S, M), INFINITY);
		load(&s, 10 * S, m4, 2);
		assert_close(win("avg_over_time", &s, 55 * S, M), 0);
		load(&s, 10 * S, m5, 4);
		assert_close(win("sum_over_time", &s, M, 2 * M), 2);
		assert_close(win("avg_over_time", &s, M, 2 * M), 0.5);
	}
	{
		double m1[] = { 1.78264e50, 0.76342771, 1.9592258, 7.69805412,
		    458.90154 };
		double m9[] = { -1.78264E+215, 0.76342771, 1.9592258,
		    2.258E+220, 7.69805412, 1.78264E+215, -458.90154 };

		load(&s, 5 * S, m1, 5);
		assert_true(fabs(win("avg_over_time", &s, 55 * S, M) /
		    3.56528E+49 - 1) < 1e-6);
		load(&s, 5 * S, m9, 7);
		assert_true(fabs(win("avg_over_time", &s, 55 * S, M) /
		    3.225714285714286e+219 - 1) < 1e-6);
	}
	n = seq(v, 52, 0, 100);
	load(&s, 10 * S, v, n);
	for (int r = 100; r <= 130; r += 10)
		assert_true(win("avg_over_time", &s, 10 * M, r * S) == 52);

	/* min, max, last, first, NaN */
	{
		double some_nan2[] = { 2, NAN, 1 }, some_nan3[] = { NAN, 0, 1 };
		double only_nan[] = { NAN, NAN, NAN };

		load(&s, 10 * S, some_nan2, 3);
		assert_close(win("min_over_time", &s, M, 2 * M), 1);
		assert_close(win("max_over_time", &s, M, 2 * M), 2);
		assert_close(win("last_over_time", &s, M, 2 * M), 1);
		assert_close(win("first_over_time", &s, M, 2 * M), 2);
		load(&s, 10 * S, some_nan3, 3);
		assert_close(win("min_over_time", &s, M, 2 * M), 0);
		assert_close(win("max_over_time", &s, M, 2 * M), 1);
		assert_close(win("first_over_time", &s, M, 2 * M), NAN);
		load(&s, 10 * S, only_nan, 3);
		assert_close(win("min_over_time", &s, M, 2 * M), NAN);
	}
	/* timestamps, at an odd interval */
	{
		double m[] = { 1, 2, 3, 0, 5, 6, 2, 1, 4 };
		double l[] = { 1, 2, 3, SKIP, SKIP };

		load(&s, 10053, m, 9);
		assert_close(win("ts_of_min_over_time", &s, 90 * S, 90 * S),
		    30.159);
		assert_close(win("ts_of_max_over_time", &s, 90 * S, 90 * S),
		    50.265);
		load(&s, 10053, l, 5);
		assert_close(win("ts_of_last_over_time", &s, 95 * S, 90 * S),
		    20.106);
		assert_close(win("ts_of_first_over_time", &s, 95 * S, 90 * S),
		    10.053);
	}
	/* variance */
	{
		double m[] = { 0, 8, 8, 2, 3 };
		double c[] = { 1.5990505637277868, 1.5990505637277868,
		    1.5990505637277868 };

		load(&s, 10 * S, m, 5);
		assert_close(win("stdvar_over_time", &s, M, 2 * M), 10.56);
		assert_true(fabs(win("stddev_over_time", &s, M, 2 * M) -
		    3.249615) < 1e-6);
		load(&s, 10 * S, c, 3);
		assert_true(win("stdvar_over_time", &s, 55 * S, M) == 0);
	}
	/* mad */
	{
		double m[] = { 4, 6, 2, 1, 999, 1, 2 };
		double odd[] = { 1, 2, 3, 4, 5 }, nan[] = { 1, 2, NAN, 4 };

		load(&s, 10 * S, m, 7);
		assert_close(win("mad_over_time", &s, 70 * S, 70 * S), 1);
		load(&s, 10 * S, odd, 5);
		assert_close(win("mad_over_time", &s, 40 * S, 50 * S), 1);
		load(&s, 10 * S, nan, 4);
		assert_close(win("mad_over_time", &s, 30 * S, 40 * S), NAN);
	}
	/* absent and present over time */
	{
		struct pq_eval *ev = xcalloc(1, sizeof(*ev));
		double one[] = { 1 }, out;

		load(&s, M, one, 1);
		assert_int_equal(window(ev, "absent_over_time", &s, 0, 30 * S,
		    NULL, &out), 1);
		assert_int_equal(window(ev, "present_over_time", &s, M, 30 * S,
		    NULL, &out), 0);
		ev_free(ev);
	}
}

static void
test_quantile_over_time(void **state)
{
	static const struct {
		double	 q, want[3];
	} cases[] = {
		{ 0, { 0, 0, 0 } },
		{ 0.5, { 0.5, 1, 1 } },
		{ 0.75, { 0.75, 1.5, 2.5 } },
		{ 0.8, { 0.8, 1.6, 2.8 } },
		{ 1, { 1, 2, 4 } },
		{ -1, { -INFINITY, -INFINITY, -INFINITY } },
		{ 2, { INFINITY, INFINITY, INFINITY } },
	};
	double two[] = { 0, 1 }, three[] = { 0, 1, 2 }, uneven[] = { 0, 1, 4 };
	double *data[] = { two, three, uneven };
	size_t lens[] = { 2, 3, 3 };
	struct series_pts s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t k = 0; k < 3; k++) {
			struct pq_eval *ev = xcalloc(1, sizeof(*ev));
			double sc[4] = { cases[i].q }, out;

			load(&s, 10 * S, data[k], lens[k]);
			assert_int_equal(window(ev, "quantile_over_time", &s, M,
			    2 * M, sc, &out), 1);
			assert_close(out, cases[i].want[k]);
			assert_int_equal(ev->nwarn, cases[i].q < 0 ||
			    cases[i].q > 1);
			if (cases[i].q == 2)
				assert_string_equal(ev->warn[0], "quantile "
				    "value should be between 0 and 1, got 2");
			ev_free(ev);
		}
}

/* ---- instant vectors ---- */

static const struct labels *
set(struct pq_eval *ev, const char *text)
{
	struct labels *ls;
	const char *brace = strchr(text, '{');
	char *metric = NULL;

	if (brace != text)
		metric = xstrndup(text, (size_t)(brace - text));
	assert_int_equal(labels_parse_file_name(metric, brace, strlen(brace),
	    LABELS_RESERVED, &ls), 0);
	free(metric);
	return pq_intern(ev, ls);
}

struct call {
	struct promql_node *tree;
	struct pq_args	 a;
	void		*state;
	struct pq_vector in, out;
	const struct pq_funcdef *f;
};

/* Parse a call; its vector argument is filled by the caller. */
static void
call_init(struct call *c, const char *query)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(promql_parse(query, strlen(query), &c->tree), 0);
	assert_int_equal(c->tree->kind, PROMQL_CALL);
	c->f = pq_func(c->tree->call.func->name);
	assert_non_null(c->f);
	assert_non_null(c->f->step);
	c->a.call = c->tree;
	c->a.nargs = c->tree->call.nargs;
	c->a.state = &c->state;
	for (size_t i = 0; i < c->a.nargs; i++) {
		const struct promql_node *arg = c->tree->call.args[i];

		/* the evaluator hands over PQ_ARGS_MAX arguments */
		if (i >= PQ_ARGS_MAX)
			break;
		switch (promql_type_of(arg)) {
		case PROMQL_TYPE_SCALAR:
			while (arg->kind == PROMQL_PAREN)
				arg = arg->paren.expr;
			if (arg->kind == PROMQL_UNARY)
				c->a.s[i] = -arg->un.expr->num.value;
			else if (arg->kind == PROMQL_NUMBER)
				c->a.s[i] = arg->num.value;
			break;
		case PROMQL_TYPE_STRING:
			c->a.str[i] = arg->str.s;
			break;
		default:
			c->a.v[i] = &c->in;
		}
	}
}

static int
call_run(struct call *c, struct pq_eval *ev, int64_t t)
{
	c->a.t = t;
	c->out.n = 0;
	return c->f->step(ev, &c->a, &c->out);
}

static void
call_free(struct call *c)
{
	if (c->f->free_state != NULL)
		c->f->free_state(c->state);
	free(c->in.s);
	free(c->out.s);
	promql_free(c->tree);
}

static double
value_of(const struct call *c, struct pq_eval *ev, const char *ls)
{
	const struct labels *want = set(ev, ls);

	for (size_t i = 0; i < c->out.n; i++)
		if (c->out.s[i].ls == want)
			return c->out.s[i].v;
	print_error("no %s in the answer\n", ls);
	for (size_t i = 0; i < c->out.n; i++) {
		struct buf b;

		buf_init(&b, 0);
		labels_file_name(c->out.s[i].ls, &b);
		print_error("  has %s %s\n", labels_metric(c->out.s[i].ls), buf_str(&b));
		buf_release(&b);
	}
	fail();
	return NAN;
}

static void
test_math(void **state)
{
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	static const double in[] = { 2.5, 2, -2.5, -2, 0, -0.0, INFINITY,
	    -INFINITY, NAN };
	static const double want_round[] = { 3, 2, -2, -2, 0, 0, INFINITY,
	    -INFINITY, NAN };
	static const double want_floor[] = { 2, 2, -3, -2, 0, 0, INFINITY,
	    -INFINITY, NAN };
	struct call c;

	(void)state;
	call_init(&c, "round(x)");
	for (size_t i = 0; i < 9; i++) {
		char name[32];

		snprintf(name, sizeof(name), "x{i=\"%zu\"}", i);
		pq_vector_push(&c.in, set(ev, name), in[i], 0);
	}
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_int_equal(c.out.n, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_close(c.out.s[i].v, want_round[i]);
		assert_int_equal(c.out.s[i].drop_name, 1);
	}
	c.f = pq_func("floor");
	assert_int_equal(call_run(&c, ev, 0), 0);
	for (size_t i = 0; i < 9; i++)
		assert_close(c.out.s[i].v, want_floor[i]);
	c.f = pq_func("sgn");
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(c.out.s[6].v, 1);
	assert_close(c.out.s[7].v, -1);
	assert_close(c.out.s[8].v, NAN);
	call_free(&c);

	call_init(&c, "clamp(x, 0, NaN)");
	pq_vector_push(&c.in, set(ev, "x{a=\"1\"}"), -50, 0);
	pq_vector_push(&c.in, set(ev, "x{a=\"2\"}"), 100, 0);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_int_equal(c.out.n, 2);
	assert_close(c.out.s[0].v, NAN);
	assert_close(c.out.s[1].v, NAN);
	c.a.s[1] = 5;
	c.a.s[2] = -5;
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_int_equal(c.out.n, 0);
	c.a.s[1] = -25;
	c.a.s[2] = 75;
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(c.out.s[0].v, -25);
	assert_close(c.out.s[1].v, 75);
	call_free(&c);

	call_init(&c, "round(x, 0.1)");
	pq_vector_push(&c.in, set(ev, "x{}"), 1.26, 0);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(c.out.s[0].v, 1.3);
	call_free(&c);

	call_init(&c, "timestamp(-x)");
	pq_vector_push(&c.in, set(ev, "x{}"), 1, 0);
	assert_int_equal(call_run(&c, ev, 61 * S), 0);
	assert_close(c.out.s[0].v, 61);
	call_free(&c);
	ev_free(ev);
}

static void
test_dates(void **state)
{
	static const struct {
		const char	*fn;
		double		 t, want;
	} cases[] = {
		{ "year", 1136239445, 2006 },
		{ "month", 1136239445, 1 },
		{ "day_of_month", 1136239445, 2 },
		{ "day_of_year", 1136239445, 2 },
		{ "day_of_week", 1136239445, 1 },
		{ "hour", 1136239445, 22 },
		{ "minute", 1136239445, 4 },
		{ "year", 1230767999, 2008 },
		{ "year", 1230768000, 2009 },
		{ "month", 1456790399, 2 },
		{ "day_of_month", 1456790399, 29 },
		{ "month", 1456790400, 3 },
		{ "day_of_month", 1456790400, 1 },
		{ "day_of_year", 1483191420, 366 },
		{ "day_of_year", 1672493820, 365 },
		{ "days_in_month", 1454284800, 29 },
		{ "days_in_month", 1485907200, 28 },
		{ "day_of_week", 0, 4 },
		{ "year", -1, 1969 },
		{ "day_of_week", -86400, 3 },
		{ "day_of_year", 951782400.9, 60 },	/* 2000-02-29 */
	};
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char q[64];
		struct call c;

		snprintf(q, sizeof(q), "%s(x)", cases[i].fn);
		call_init(&c, q);
		pq_vector_push(&c.in, set(ev, "x{}"), cases[i].t, 0);
		assert_int_equal(call_run(&c, ev, 0), 0);
		assert_int_equal(c.out.n, 1);
		if (c.out.s[0].v != cases[i].want) {
			print_error("%s(%.1f) = %g, want %g\n", cases[i].fn,
			    cases[i].t, c.out.s[0].v, cases[i].want);
			fail();
		}
		call_free(&c);
	}
	{
		struct call c;

		call_init(&c, "day_of_week()");
		assert_int_equal(call_run(&c, ev, 0), 0);
		assert_int_equal(c.out.n, 1);
		assert_close(c.out.s[0].v, 4);
		assert_int_equal(labels_count(c.out.s[0].ls), 0);
		assert_int_equal(c.out.s[0].drop_name, 0);
		call_free(&c);
	}
	ev_free(ev);
}

static void
test_absent(void **state)
{
	static const struct {
		const char	*q, *want;
	} cases[] = {
		{ "absent(nonexistent)", "{}" },
		{ "absent(nonexistent{job=\"testjob\", instance=\"testinstance\", "
		    "method=~\".x\"})",
		    "{instance=\"testinstance\",job=\"testjob\"}" },
		{ "absent(nonexistent{job=\"testjob\",job=\"testjob2\","
		    "foo=\"bar\"})", "{foo=\"bar\"}" },
		{ "absent(nonexistent{job=\"testjob\",job=\"testjob2\","
		    "job=\"three\",foo=\"bar\"})", "{foo=\"bar\"}" },
		{ "absent(nonexistent{job=\"testjob\",job=~\"testjob2\","
		    "foo=\"bar\"})", "{foo=\"bar\"}" },
		{ "absent(sum(nonexistent{job=\"testjob\"}))", "{}" },
		{ "absent_over_time(x{handler=\"/foo\"}[5m])",
		    "{handler=\"%2Ffoo\"}" },
		{ "absent_over_time(x{handler=\"/foo\", handler=\"/bar\", "
		    "instance=\"127.0.0.1\"}[5m])", "{instance=\"127.0.0.1\"}" },
		{ "absent_over_time(x{handler!=\"/foo\"}[5m])", "{}" },
		{ "absent_over_time(rate(x{a=\"b\"}[5m])[5m:])", "{}" },
	};
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct call c;

		call_init(&c, cases[i].q);
		c.a.v[0] = &c.in;
		assert_int_equal(call_run(&c, ev, 0), 0);
		assert_int_equal(c.out.n, 1);
		assert_ptr_equal(c.out.s[0].ls, set(ev, cases[i].want));
		assert_close(c.out.s[0].v, 1);
		/* twice: the labels come from the state */
		assert_int_equal(call_run(&c, ev, 0), 0);
		assert_ptr_equal(c.out.s[0].ls, set(ev, cases[i].want));
		pq_vector_push(&c.in, set(ev, "x{}"), 1, 0);
		assert_int_equal(call_run(&c, ev, 0), 0);
		assert_int_equal(c.out.n, 0);
		call_free(&c);
	}
	ev_free(ev);
}

static void
test_label_replace(void **state)
{
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	struct call c;

	(void)state;
	call_init(&c, "label_replace(testmetric, \"dst\", "
	    "\"destination-value-$1\", \"src\", \"source-value-(.*)\")");
	pq_vector_push(&c.in, set(ev, "testmetric{dst=\"original\","
	    "src=\"source-value-10\"}"), 0, 0);
	pq_vector_push(&c.in, set(ev, "testmetric{dst=\"original\","
	    "src=\"source-value-20\"}"), 1, 1);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(value_of(&c, ev, "testmetric{dst=\"destination-value-10\","
	    "src=\"source-value-10\"}"), 0);
	assert_close(value_of(&c, ev, "testmetric{dst=\"destination-value-20\","
	    "src=\"source-value-20\"}"), 1);
	assert_int_equal(c.out.s[1].drop_name, 1);
	/* a second step, from the state: the same answer */
	c.in.s[1].drop_name = 0;
	assert_int_equal(call_run(&c, ev, M), 0);
	assert_int_equal(c.out.n, 2);
	assert_close(value_of(&c, ev, "testmetric{dst=\"destination-value-20\","
	    "src=\"source-value-20\"}"), 1);
	assert_int_equal(c.out.s[1].drop_name, 0);
	call_free(&c);

	/* no substring match; several groups; $1x is ${1x}; named groups */
	{
		static const struct {
			const char	*repl, *re, *want;
		} cases[] = {
			{ "v-$1", "value-(.*)", "original" },
			{ "$1-value-$2", "(.*)-value-(.*)", "source-value-10" },
			{ "$1x", "(.*)", "" },
			{ "${1}x", "(.*)", "source-value-10x" },
			{ "$$1 $a $3", "(.*)", "$1  " },
			{ "${n}!", "(?P<n>s[a-z]*)-.*", "source!" },
			{ "$", "(.*)", "$" },
			{ "${1", "(.*)", "${1" },
			{ "a", "SOURCE-.*", "original" },
			{ "a", "(?i)SOURCE-.*", "a" },
			{ "new", "", "original" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]);
		    i++) {
			char q[256], want[128];

			snprintf(q, sizeof(q), "label_replace(x, \"dst\", "
			    "\"%s\", \"src\", \"%s\")", cases[i].repl,
			    cases[i].re);
			call_init(&c, q);
			pq_vector_push(&c.in, set(ev, "x{dst=\"original\","
			    "src=\"source-value-10\"}"), 0, 0);
			if (call_run(&c, ev, 0) != 0) {
				print_error("%s: %s\n", q, err_detail());
				fail();
			}
			if (cases[i].want[0] != '\0')
				snprintf(want, sizeof(want), "x{dst=\"%s\","
				    "src=\"source-value-10\"}", cases[i].want);
			else
				snprintf(want, sizeof(want),
				    "x{src=\"source-value-10\"}");
			assert_ptr_equal(c.out.s[0].ls, set(ev, want));
			call_free(&c);
		}
	}

	/* setting __name__ keeps it */
	call_init(&c, "label_replace(x, \"__name__\", \"rate_$1\", "
	    "\"__name__\", \"(.+)\")");
	pq_vector_push(&c.in, set(ev, "metric_total{env=\"1\"}"), 0.2, 1);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_ptr_equal(c.out.s[0].ls, set(ev, "rate_metric_total{env=\"1\"}"));
	assert_int_equal(c.out.s[0].drop_name, 0);
	call_free(&c);

	/* errors */
	call_init(&c, "label_replace(x, \"dst\", \"v\", \"src\", \"(.*\")");
	assert_int_equal(call_run(&c, ev, 0), -EDOM);
	assert_string_equal(err_detail(), "invalid regular expression in "
	    "label_replace(): (.*");
	call_free(&c);
	call_init(&c, "label_replace(x, \"dst\", \"v\", \"src\", \"(?=a)\")");
	assert_int_equal(call_run(&c, ev, 0), -EDOM);
	call_free(&c);
	call_init(&c, "label_replace(x, \"\\xff\", \"\", \"src\", \"(.*)\")");
	assert_int_equal(call_run(&c, ev, 0), -EDOM);
	call_free(&c);
	call_init(&c, "label_replace(x, \"src\", \"\", \"\", \"\")");
	pq_vector_push(&c.in, set(ev, "x{dst=\"a\",src=\"1\"}"), 0, 0);
	pq_vector_push(&c.in, set(ev, "x{dst=\"a\",src=\"2\"}"), 1, 0);
	assert_int_equal(call_run(&c, ev, 0), -EDOM);
	assert_string_equal(err_detail(), "vector cannot contain metrics "
	    "with the same labelset");
	call_free(&c);
	ev_free(ev);
}

static void
test_label_join(void **state)
{
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	struct call c;

	(void)state;
	call_init(&c, "label_join(x, \"dst\", \"-\", \"src\", \"src3\", "
	    "\"src1\")");
	pq_vector_push(&c.in, set(ev, "x{dst=\"o\",src=\"a\",src1=\"b\"}"), 0,
	    1);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_ptr_equal(c.out.s[0].ls, set(ev, "x{dst=\"a--b\",src=\"a\","
	    "src1=\"b\"}"));
	assert_int_equal(c.out.s[0].drop_name, 1);
	call_free(&c);

	call_init(&c, "label_join(x, \"dst\", \", \")");
	pq_vector_push(&c.in, set(ev, "x{dst=\"o\",src=\"a\"}"), 0, 0);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_ptr_equal(c.out.s[0].ls, set(ev, "x{src=\"a\"}"));
	call_free(&c);

	call_init(&c, "label_join(x, \"__name__\", \"_\", \"__name__\", "
	    "\"env\")");
	pq_vector_push(&c.in, set(ev, "metric_total{env=\"1\"}"), 0, 1);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_ptr_equal(c.out.s[0].ls, set(ev, "metric_total_1{env=\"1\"}"));
	assert_int_equal(c.out.s[0].drop_name, 0);
	call_free(&c);

	call_init(&c, "label_join(dup, \"label\", \"\", \"this\")");
	pq_vector_push(&c.in, set(ev, "dup{label=\"a\",this=\"a\"}"), 1, 0);
	pq_vector_push(&c.in, set(ev, "dup{label=\"b\",this=\"a\"}"), 1, 0);
	assert_int_equal(call_run(&c, ev, 0), -EDOM);
	call_free(&c);
	ev_free(ev);
}

static void
test_sort(void **state)
{
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	static const char *cpus[] = { "0", "1", "2", "3", "10", "11", "12",
	    "20", "21", "100" };
	static const char *rel[] = { "1.2.3", "1.11.3", "1.111.3" };
	static const char *inst[] = { "4m5", "4m600", "4m1000" };
	char name[64];
	struct call c;

	(void)state;
	call_init(&c, "sort_by_label(x, \"cpu\")");
	for (size_t i = 10; i-- > 0;) {
		snprintf(name, sizeof(name), "x{cpu=\"%s\"}", cpus[i]);
		pq_vector_push(&c.in, set(ev, name), 100, 0);
	}
	assert_int_equal(call_run(&c, ev, 0), 0);
	for (size_t i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "x{cpu=\"%s\"}", cpus[i]);
		assert_ptr_equal(c.out.s[i].ls, set(ev, name));
	}
	call_free(&c);

	call_init(&c, "sort_by_label(x, \"release\")");
	for (size_t i = 3; i-- > 0;) {
		snprintf(name, sizeof(name), "x{instance=\"%s\",release=\"%s\"}",
		    inst[i], rel[(i + 1) % 3]);
		pq_vector_push(&c.in, set(ev, name), 100, 0);
	}
	assert_int_equal(call_run(&c, ev, 0), 0);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(labels_get(c.out.s[i].ls, "release"),
		    rel[i]);
	c.a.str[1] = "instance";
	assert_int_equal(call_run(&c, ev, 0), 0);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(labels_get(c.out.s[i].ls, "instance"),
		    inst[i]);
	c.f = pq_func("sort_by_label_desc");
	assert_int_equal(call_run(&c, ev, 0), 0);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(labels_get(c.out.s[i].ls, "instance"),
		    inst[2 - i]);
	call_free(&c);

	call_init(&c, "sort(x)");
	pq_vector_push(&c.in, set(ev, "x{a=\"1\"}"), 3, 0);
	pq_vector_push(&c.in, set(ev, "x{a=\"2\"}"), NAN, 0);
	pq_vector_push(&c.in, set(ev, "x{a=\"3\"}"), 1, 1);
	pq_vector_push(&c.in, set(ev, "x{a=\"4\"}"), 2, 0);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(c.out.s[0].v, 1);
	assert_int_equal(c.out.s[0].drop_name, 1);
	assert_close(c.out.s[1].v, 2);
	assert_close(c.out.s[2].v, 3);
	assert_close(c.out.s[3].v, NAN);
	c.f = pq_func("sort_desc");
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(c.out.s[0].v, 3);
	assert_close(c.out.s[1].v, 2);
	assert_close(c.out.s[2].v, 1);
	assert_close(c.out.s[3].v, NAN);
	assert_int_equal(c.f->ordered, 1);
	call_free(&c);
	ev_free(ev);
}

/* testhistogram3 and testhistogram2 of histograms.test, at 50m */
static void
push_histograms(struct call *c, struct pq_eval *ev)
{
	static const struct {
		const char	*le, *start;
		double		 v;
	} b[] = {
		{ "0", "positive", 0 }, { "0.1", "positive", 50 },
		{ ".2", "positive", 70 }, { "1e0", "positive", 110 },
		{ "+Inf", "positive", 110 },
		{ "-.25", "negative", 0 }, { "-.2", "negative", 10 },
		{ "-0.1", "negative", 20 }, { "0.3", "negative", 20 },
		{ "+Inf", "negative", 20 },
	};
	char name[96];

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		snprintf(name, sizeof(name), "h_bucket{le=\"%s\",start=\"%s\"}",
		    b[i].le, b[i].start);
		pq_vector_push(&c->in, set(ev, name), b[i].v, 0);
	}
}

static void
test_histogram_quantile(void **state)
{
	static const struct {
		double	 q, pos, neg;
	} cases[] = {
		{ 0, 0, -0.25 },
		{ 0.25, 0.055, -0.225 },
		{ 0.5, 0.125, -0.2 },
		{ 0.75, 0.45, -0.15 },
		{ 1, 1, -0.1 },
		{ -0.1, -INFINITY, -INFINITY },
		{ 1.01, INFINITY, INFINITY },
		{ NAN, NAN, NAN },
	};
	struct pq_eval *ev = xcalloc(1, sizeof(*ev));
	struct call c;

	(void)state;
	call_init(&c, "histogram_quantile(0.5, h_bucket)");
	push_histograms(&c, ev);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ev->nwarn = 0;
		c.a.s[0] = cases[i].q;
		assert_int_equal(call_run(&c, ev, 50 * M), 0);
		assert_int_equal(c.out.n, 2);
		assert_close(value_of(&c, ev, "h_bucket{start=\"positive\"}"),
		    cases[i].pos);
		assert_close(value_of(&c, ev, "h_bucket{start=\"negative\"}"),
		    cases[i].neg);
		assert_int_equal(c.out.s[0].drop_name, 1);
		assert_int_equal(ev->nwarn, !(cases[i].q >= 0 &&
		    cases[i].q <= 1));
	}
	assert_string_equal(ev->warn[0], "quantile value should be between 0 "
	    "and 1, got NaN");
	c.a.s[0] = -0.1;
	ev->nwarn = 0;
	assert_int_equal(call_run(&c, ev, 50 * M), 0);
	assert_string_equal(ev->warn[0], "quantile value should be between 0 "
	    "and 1, got -0.1");
	assert_int_equal(ev->ninfo, 0);
	call_free(&c);

	/* le written several ways; a bad le; monotonicity */
	call_init(&c, "histogram_quantile(0.5, m_bucket)");
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"0.1\"}"), 10, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"0.2\"}"), 10, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"2e-1\"}"), 10, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"2.0e-1\"}"), 10, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"+Inf\"}"), 40, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"Hello World\"}"), 2, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"0x10\"}"), 2, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"-nan\"}"), 2, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\" 1\"}"), 2, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"1e999\"}"), 2, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"1e-999\"}"), 0, 0);
	ev->nwarn = 0;
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_int_equal(c.out.n, 1);
	assert_close(c.out.s[0].v, 0.15);
	assert_int_equal(ev->nwarn, 5);
	assert_string_equal(ev->warn[0], "bucket label \"le\" is missing or has "
	    "a malformed value of \"Hello World\" for metric name \"m_bucket\"");
	call_free(&c);

	call_init(&c, "histogram_quantile(0.5, m_bucket)");
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"0.5\"}"), 40, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"1\"}"), 30, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{le=\"+Inf\"}"), 35, 0);
	pq_vector_push(&c.in, set(ev, "m_bucket{a=\"1\",le=\"+Inf\"}"), 35, 0);
	ev->ninfo = 0;
	assert_int_equal(call_run(&c, ev, 1700000000000), 0);
	assert_int_equal(c.out.n, 2);
	assert_close(value_of(&c, ev, "m_bucket{}"), 0.25);
	assert_close(value_of(&c, ev, "m_bucket{a=\"1\"}"), NAN);
	/* a second step; the info, merged, when the node ends */
	c.in.s[1].v = 20;
	assert_int_equal(call_run(&c, ev, 1700000060000), 0);
	assert_int_equal(ev->ninfo, 0);
	call_free(&c);
	assert_int_equal(ev->ninfo, 1);
	assert_string_equal(ev->info[0], "input to histogram_quantile needed to "
	    "be fixed for monotonicity (see https://prometheus.io/docs/"
	    "prometheus/latest/querying/functions/#histogram_quantile) for "
	    "metric name \"m_bucket\", from buckets 1 to +Inf, with a max diff "
	    "of 20, over 2 samples from 2023-11-14T22:13:20Z to "
	    "2023-11-14T22:14:20Z");

	call_init(&c, "histogram_fraction(0, 4, t2_bucket)");
	pq_vector_push(&c.in, set(ev, "t2_bucket{le=\"0\"}"), 0, 0);
	pq_vector_push(&c.in, set(ev, "t2_bucket{le=\"2\"}"), 10, 0);
	pq_vector_push(&c.in, set(ev, "t2_bucket{le=\"4\"}"), 20, 0);
	pq_vector_push(&c.in, set(ev, "t2_bucket{le=\"6\"}"), 30, 0);
	pq_vector_push(&c.in, set(ev, "t2_bucket{le=\"+Inf\"}"), 30, 0);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_int_equal(c.out.n, 1);
	assert_close(c.out.s[0].v, 0.6666666666666666);
	c.a.s[0] = -INFINITY;
	c.a.s[1] = 3;
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(c.out.s[0].v, 0.5);
	c.a.s[0] = 5;
	c.a.s[1] = INFINITY;
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_close(c.out.s[0].v, 1.0 / 6);
	call_free(&c);

	/* several quantiles, told apart by a label */
	call_init(&c, "histogram_quantiles(h_bucket, \"q\", 0, 0.25, 1, "
	    "(-0.1))");
	push_histograms(&c, ev);
	ev->nwarn = 0;
	assert_int_equal(call_run(&c, ev, 50 * M), 0);
	assert_int_equal(c.out.n, 8);
	assert_close(value_of(&c, ev, "h_bucket{q=\"0.0\",start=\"negative\"}"),
	    -0.25);
	assert_close(value_of(&c, ev, "h_bucket{q=\"0.25\",start=\"positive\"}"),
	    0.055);
	assert_close(value_of(&c, ev, "h_bucket{q=\"1.0\",start=\"positive\"}"),
	    1);
	assert_close(value_of(&c, ev, "h_bucket{q=\"-0.1\",start=\"negative\"}"),
	    -INFINITY);
	assert_int_equal(ev->nwarn, 1);
	assert_string_equal(ev->warn[0], "quantile value should be between 0 "
	    "and 1, got -0.1");
	call_free(&c);
	call_init(&c, "histogram_quantiles(h_bucket, \"q\", 0.1, 2, NaN, "
	    "1e-05, 1e6)");
	push_histograms(&c, ev);
	assert_int_equal(call_run(&c, ev, 50 * M), 0);
	assert_int_equal(c.out.n, 10);
	value_of(&c, ev, "h_bucket{q=\"2.0\",start=\"negative\"}");
	value_of(&c, ev, "h_bucket{q=\"NaN\",start=\"negative\"}");
	value_of(&c, ev, "h_bucket{q=\"1e-05\",start=\"negative\"}");
	value_of(&c, ev, "h_bucket{q=\"1e+06\",start=\"negative\"}");
	call_free(&c);

	/* native-histogram functions: nothing over floats */
	call_init(&c, "histogram_count(x)");
	pq_vector_push(&c.in, set(ev, "x{}"), 1, 0);
	assert_int_equal(call_run(&c, ev, 0), 0);
	assert_int_equal(c.out.n, 0);
	call_free(&c);
	ev_free(ev);
}

static void
test_table(void **state)
{
	static const char *evaluators[] = { "time", "pi", "scalar", "vector",
	    "info", "min_of", "max_of" };

	(void)state;
	for (size_t i = 0; i < promql_nfuncs; i++) {
		const char *name = promql_funcs[i].name;
		const struct pq_funcdef *f = pq_func(name);
		int theirs = 0;

		for (size_t k = 0; k < sizeof(evaluators) /
		    sizeof(evaluators[0]); k++)
			theirs |= strcmp(name, evaluators[k]) == 0;
		if (theirs) {
			assert_null(f);
			continue;
		}
		if (f == NULL) {
			print_error("no function %s\n", name);
			fail();
		}
		/* a range vector argument: a window fn */
		for (int k = 0; k < promql_funcs[i].nargs; k++)
			if (promql_funcs[i].args[k] == PROMQL_TYPE_MATRIX)
				assert_non_null(f->window);
	}
	assert_int_equal(pq_func("last_over_time")->keep_name, 1);
	assert_int_equal(pq_func("first_over_time")->keep_name, 1);
	assert_int_equal(pq_func("max_over_time")->keep_name, 0);
	assert_null(pq_func("holt_winters"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_regression),
		cmocka_unit_test(test_smoothing),
		cmocka_unit_test(test_over_time),
		cmocka_unit_test(test_quantile_over_time),
		cmocka_unit_test(test_math),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_label_replace),
		cmocka_unit_test(test_label_join),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_histogram_quantile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
