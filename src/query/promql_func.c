/*
 * promql_func.c - PromQL's functions (promql_eval.h): a window function
 * for each function over a range vector, a step function for each
 * function over instant vectors, found by name in one table, funcs[].
 *
 * The numbers are Prometheus 3's to the bit where its tests compare
 * them: the same order of operations, Kahan summation where it sums
 * (pq_kahan_inc), the same extrapolation in rate(), the same regression
 * in deriv() and predict_linear(), the same interpolation in the
 * quantiles. Go's math.Min and math.Max are not C's fmin and fmax (Go
 * lets a NaN win), so they are written out here; Go's float formats
 * (%g in warnings, %f in errors) too.
 *
 * Not here: time(), pi(), scalar(), vector() and info(), which the
 * evaluator does itself, as it does timestamp() of a selector (the
 * samples' own times; here timestamp() of anything else is the step's
 * time). Only floats are stored, so the functions of native histograms
 * (histogram_avg ...) have nothing to act on and give nothing, and
 * histogram_quantile() and histogram_fraction() read classic _bucket
 * series only.
 *
 * Names: a step function says itself whether what it gives drops the
 * metric name (drop_name); most do, as in Prometheus 3; sort*() keep
 * the input's flag; label_replace() and label_join() keep it unless
 * they write __name__, which then stays.
 *
 * Memory: a window function allocates nothing that outlives the call;
 * a step function keeps what it derives from a label set or from its
 * constant arguments (a compiled regex, a set's bucket bound) in its
 * state, freed by the table's free_state when the node is done. That is
 * also when histogram_quantile() gives its infos, merged over the
 * node's steps as Prometheus merges them over a query (the state holds
 * the evaluator it was called from, alive until the node is done).
 * Threading: none of its own; a query runs on one thread.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <float.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/labels.h"
#include "model/matcher.h"
#include "query/promql_eval.h"
#include "query/promql_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/re.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* Tolerance under which two bucket counts are taken for the same. */
#define SMALL_DELTA_TOLERANCE	1e-12

/* ---- Go's numerics and formats ---- */

/* Go's math.Max: +Inf wins over NaN, NaN over any other, +0 over -0. */
static double
go_max(double x, double y)
{
	if (isinf(x) && x > 0)
		return x;
	if (isinf(y) && y > 0)
		return y;
	if (isnan(x) || isnan(y))
		return NAN;
	if (x == 0 && x == y)
		return signbit(x) ? y : x;
	return x > y ? x : y;
}

/* Go's math.Min: -Inf wins over NaN, NaN over any other, -0 over +0. */
static double
go_min(double x, double y)
{
	if (isinf(x) && x < 0)
		return x;
	if (isinf(y) && y < 0)
		return y;
	if (isnan(x) || isnan(y))
		return NAN;
	if (x == 0 && x == y)
		return signbit(x) ? x : y;
	return x < y ? x : y;
}

/*
 * Go's %g of a float64: the shortest digits that read back to v, in the
 * exponent form (two exponent digits at least) below 1e-4 and from 1e6
 * on, as Go decides with a precision of 6 when the digits are the
 * shortest.
 */
static const char *
go_fmt_g(double v, char *out, size_t outlen)
{
	char e[40], digits[24];
	int prec, exp, nd = 0;
	const char *p;
	size_t o = 0;

	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	if (v == 0)
		return signbit(v) ? "-0" : "0";
	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e is [-]d[.ddd]e[+-]xx */
	p = e;
	if (*p == '-')
		out[o++] = *p++;
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp < -4 || exp >= 6) {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)nd - 1);
			o += (size_t)nd - 1;
		}
		snprintf(out + o, outlen - o, "e%c%02d", exp < 0 ? '-' : '+',
		    exp < 0 ? -exp : exp);
		return out;
	}
	if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -exp - 1; i++)
			out[o++] = '0';
		memcpy(out + o, digits, (size_t)nd);
		o += (size_t)nd;
	} else {
		for (int i = 0; i <= exp; i++)
			out[o++] = i < nd ? digits[i] : '0';
		if (nd > exp + 1) {
			out[o++] = '.';
			memcpy(out + o, digits + exp + 1, (size_t)(nd - exp - 1));
			o += (size_t)(nd - exp - 1);
		}
	}
	out[o] = '\0';
	return out;
}

/* Go's %f: six decimals, and NaN, +Inf, -Inf spelled as Go spells them. */
static const char *
go_fmt_f(double v, char *out, size_t outlen)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(out, outlen, "%f", v);
	return out;
}

/* Go's strconv.Quote of s, in a buffer of the caller's. */
static const char *
go_quote(struct buf *b, const char *s)
{
	buf_reset(b);
	if (promql_quote(s, strlen(s), b) != 0)
		return "\"\"";
	return buf_str(b);
}

/*
 * Go's int64(f) as amd64 does it: a value out of range, NaN included,
 * is the smallest int64.
 */
static int64_t
go_int64(double f)
{
	if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
		return INT64_MIN;
	return (int64_t)f;
}

/* ---- sorting ---- */

typedef int (*sample_cmp)(const struct pq_sample *a,
	    const struct pq_sample *b, const void *ctx);

/*
 * A merge sort of n samples: stable, and safe whatever cmp answers
 * (natural order is not always a strict order), which qsort() is not.
 */
static void
sort_samples(struct pq_sample *s, size_t n, sample_cmp cmp, const void *ctx)
{
	struct pq_sample *tmp;

	if (n < 2)
		return;
	tmp = xmalloc(n * sizeof(*tmp));
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = cmp(&s[j], &s[i], ctx) < 0 ?
				    s[j++] : s[i++];
			while (i < mid)
				tmp[k++] = s[i++];
			while (j < hi)
				tmp[k++] = s[j++];
		}
		memcpy(s, tmp, n * sizeof(*s));
	}
	free(tmp);
}

/* NaN first, then ascending: the order of Prometheus's quantile(). */
static int
cmp_nan_first(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	if (isnan(a))
		return isnan(b) ? 0 : -1;
	if (isnan(b))
		return 1;
	return a < b ? -1 : a > b;
}

/*
 * The q-quantile of n values, interpolated between the two closest
 * ranks; sorts v.
 */
static double
quantile(double q, double *v, size_t n)
{
	double rank, lo, hi, weight, fn = (double)n;

	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(v, n, sizeof(*v), cmp_nan_first);
	rank = q * (fn - 1);
	lo = go_max(0, floor(rank));
	hi = go_min(fn - 1, lo + 1);
	weight = rank - floor(rank);
	return v[(size_t)lo] * (1 - weight) + v[(size_t)hi] * weight;
}

static double *
window_values(const struct pq_window *w)
{
	double *v = xmalloc(w->n * sizeof(*v));

	for (size_t i = 0; i < w->n; i++)
		v[i] = w->p[i].v;
	return v;
}

static const struct promql_node *
arg_node(const struct promql_node *call, size_t i)
{
	if (call == NULL || call->kind != PROMQL_CALL || i >= call->call.nargs)
		return call;
	return call->call.args[i];
}

static void
warn_quantile(struct pq_eval *ev, const struct promql_node *at, double q)
{
	char g[40];

	if (isnan(q) || q < 0 || q > 1)
		pq_warn(ev, at, "quantile value should be between 0 and 1, got %s",
		    go_fmt_g(q, g, sizeof(g)));
}

/* ---- range vectors: rates ---- */

/*
 * rate(), increase() and delta(): the change over the window, corrected
 * for counter resets, extrapolated to the window's edges when the first
 * and last samples are close enough to them (within 1.1 average
 * intervals), else by half an average interval; a counter is never
 * extrapolated below zero.
 */
static int
extrapolated_rate(const struct pq_window *w, int counter, int rate,
    double *out)
{
	const struct pq_point *p = w->p;
	size_t n = w->n;
	double result, to_start, to_end, sampled, avg, threshold, factor;

	if (n < 2)
		return 0;
	result = p[n - 1].v - p[0].v;
	if (counter)
		for (size_t i = 1; i < n; i++)
			if (p[i].v < p[i - 1].v)
				result += p[i - 1].v;
	to_start = (double)(p[0].t - w->start) / 1000;
	to_end = (double)(w->end - p[n - 1].t) / 1000;
	sampled = (double)(p[n - 1].t - p[0].t) / 1000;
	avg = sampled / (double)(n - 1);
	threshold = avg * 1.1;
	if (to_start >= threshold)
		to_start = avg / 2;
	if (counter) {
		/* where the counter would have been zero, if nearer */
		double to_zero = to_start;

		if (result > 0 && p[0].v >= 0)
			to_zero = sampled * (p[0].v / result);
		if (to_zero < to_start)
			to_start = to_zero;
	}
	if (to_end >= threshold)
		to_end = avg / 2;
	factor = (sampled + to_start + to_end) / sampled;
	if (rate)
		factor /= (double)(w->end - w->start) / 1000;
	*out = result * factor;
	return 1;
}

static int
fn_rate(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	return extrapolated_rate(w, 1, 1, out);
}

static int
fn_increase(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	return extrapolated_rate(w, 1, 0, out);
}

static int
fn_delta(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	return extrapolated_rate(w, 0, 0, out);
}

/* irate() and idelta(): the last two samples alone. */
static int
instant_value(const struct pq_window *w, int rate, double *out)
{
	const struct pq_point *last, *prev;
	int64_t dt;
	double r;

	if (w->n < 2)
		return 0;
	last = &w->p[w->n - 1];
	prev = &w->p[w->n - 2];
	if ((dt = last->t - prev->t) == 0)
		return 0;
	if (rate && last->v < prev->v)
		r = last->v;		/* a counter reset */
	else
		r = last->v - prev->v;
	if (rate)
		r /= (double)dt / 1000;
	*out = r;
	return 1;
}

static int
fn_irate(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	return instant_value(w, 1, out);
}

static int
fn_idelta(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	return instant_value(w, 0, out);
}

/*
 * Least squares over the window, x in seconds from t0 (a time near the
 * samples, for precision): the slope, and the value at t0.
 */
static void
linear_regression(const struct pq_window *w, int64_t t0, double *slope,
    double *intercept)
{
	double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0;
	double sx2 = 0, cx2 = 0, init = w->p[0].v, cov, var;
	int constant = 1;

	for (size_t i = 0; i < w->n; i++) {
		double x = (double)(w->p[i].t - t0) / 1e3, y = w->p[i].v;

		if (constant && i > 0 && y != init)
			constant = 0;
		n += 1.0;
		sx = pq_kahan_inc(x, sx, &cx);
		sy = pq_kahan_inc(y, sy, &cy);
		sxy = pq_kahan_inc(x * y, sxy, &cxy);
		sx2 = pq_kahan_inc(x * x, sx2, &cx2);
	}
	if (constant) {
		if (isinf(init)) {
			*slope = *intercept = NAN;
		} else {
			*slope = 0;
			*intercept = init;
		}
		return;
	}
	sx += cx;
	sy += cy;
	sxy += cxy;
	sx2 += cx2;
	cov = sxy - sx * sy / n;
	var = sx2 - sx * sx / n;
	*slope = cov / var;
	*intercept = sy / n - *slope * sx / n;
}

static int
fn_deriv(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	double intercept;

	(void)ev;
	if (w->n < 2)
		return 0;
	linear_regression(w, w->p[0].t, out, &intercept);
	return 1;
}

static int
fn_predict_linear(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	double slope, intercept;

	(void)ev;
	if (w->n < 2)
		return 0;
	linear_regression(w, w->t, &slope, &intercept);
	*out = slope * w->s[1] + intercept;
	return 1;
}

static int
fn_resets(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	size_t r = 0;

	(void)ev;
	if (w->n == 0)
		return 0;
	for (size_t i = 1; i < w->n; i++)
		if (w->p[i].v < w->p[i - 1].v)
			r++;
	*out = (double)r;
	return 1;
}

static int
fn_changes(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	size_t c = 0;

	(void)ev;
	if (w->n == 0)
		return 0;
	for (size_t i = 1; i < w->n; i++) {
		double a = w->p[i - 1].v, b = w->p[i].v;

		if (a != b && !(isnan(a) && isnan(b)))
			c++;
	}
	*out = (double)c;
	return 1;
}

/*
 * double_exponential_smoothing(): Holt's linear smoothing with factor
 * sf (s[1]) and trend factor tf (s[2]), both in (0, 1).
 */
static int
fn_double_exponential_smoothing(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	double sf = w->s[1], tf = w->s[2], s0 = 0, s1, b;
	char f[48];

	(void)ev;
	if (sf <= 0 || sf >= 1 || isnan(sf))
		return err_set(-EDOM, "invalid smoothing factor. Expected: "
		    "0 < sf < 1, got: %s", go_fmt_f(sf, f, sizeof(f)));
	if (tf <= 0 || tf >= 1 || isnan(tf))
		return err_set(-EDOM, "invalid trend factor. Expected: "
		    "0 < tf < 1, got: %s", go_fmt_f(tf, f, sizeof(f)));
	if (w->n < 2)
		return 0;
	s1 = w->p[0].v;
	b = w->p[1].v - w->p[0].v;
	for (size_t i = 1; i < w->n; i++) {
		double x = sf * w->p[i].v, y;

		/* the trend, from the second step on */
		if (i > 1)
			b = tf * (s1 - s0) + (1 - tf) * b;
		y = (1 - sf) * (s1 + b);
		s0 = s1;
		s1 = x + y;
	}
	*out = s1;
	return 1;
}

/* ---- range vectors: aggregations over time ---- */

static int
fn_sum_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	double sum = 0, c = 0;

	(void)ev;
	if (w->n == 0)
		return 0;
	for (size_t i = 0; i < w->n; i++)
		sum = pq_kahan_inc(w->p[i].v, sum, &c);
	*out = isinf(sum) ? sum : sum + c;
	return 1;
}

/*
 * avg_over_time(): the sum divided by the count while the sum stays
 * finite (more accurate), the mean kept incrementally once it would
 * overflow.
 */
static int
fn_avg_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	double sum, count = 1, mean = 0, c = 0;
	int incremental = 0;

	(void)ev;
	if (w->n == 0)
		return 0;
	sum = w->p[0].v;
	for (size_t i = 1; i < w->n; i++) {
		double f = w->p[i].v, q;

		count = (double)(i + 1);
		if (!incremental) {
			double nc = c, ns = pq_kahan_inc(f, sum, &nc);

			if (!isinf(ns)) {
				sum = ns;
				c = nc;
				continue;
			}
			incremental = 1;
			mean = sum / (count - 1);
			c /= count - 1;
		}
		q = (count - 1) / count;
		c *= q;
		mean = pq_kahan_inc(f / count, q * mean, &c);
	}
	*out = incremental ? mean + c : sum / count + c / count;
	return 1;
}

static int
fn_count_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = (double)w->n;
	return 1;
}

static int
fn_present_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = 1;
	return 1;
}

/* The window fn of absent_over_time(): 1 where the window has a sample. */
static int
fn_absent_over_time_window(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	return fn_present_over_time(ev, w, out);
}

static int
fn_last_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = w->p[w->n - 1].v;
	return 1;
}

static int
fn_first_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = w->p[0].v;
	return 1;
}

static int
fn_ts_of_last_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = (double)w->p[w->n - 1].t / 1000;
	return 1;
}

static int
fn_ts_of_first_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = (double)w->p[0].t / 1000;
	return 1;
}

enum cmp_mode { CMP_MIN, CMP_MAX, CMP_TS_MIN, CMP_TS_MAX };

/*
 * min/max_over_time() and the times of their samples: a NaN is kept only
 * until a number comes; ts_of_* take the last of equal extremes.
 */
static int
compare_over_time(const struct pq_window *w, enum cmp_mode mode, double *out)
{
	double best;
	int64_t t;

	if (w->n == 0)
		return 0;
	best = w->p[0].v;
	t = w->p[0].t;
	for (size_t i = 0; i < w->n; i++) {
		double cur = w->p[i].v;
		int take;

		switch (mode) {
		case CMP_MIN:		take = cur < best; break;
		case CMP_MAX:		take = cur > best; break;
		case CMP_TS_MIN:	take = cur <= best; break;
		default:		take = cur >= best; break;
		}
		if (take || isnan(best)) {
			best = cur;
			t = w->p[i].t;
		}
	}
	*out = mode == CMP_MIN || mode == CMP_MAX ? best : (double)t / 1000;
	return 1;
}

static int
fn_min_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	return compare_over_time(w, CMP_MIN, out);
}

static int
fn_max_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	(void)ev;
	return compare_over_time(w, CMP_MAX, out);
}

static int
fn_ts_of_min_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	(void)ev;
	return compare_over_time(w, CMP_TS_MIN, out);
}

static int
fn_ts_of_max_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	(void)ev;
	return compare_over_time(w, CMP_TS_MAX, out);
}

/* Welford's variance, both sums compensated. */
static double
variance(const struct pq_window *w)
{
	double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;

	for (size_t i = 0; i < w->n; i++) {
		double f = w->p[i].v, delta;

		count++;
		delta = f - (mean + cmean);
		mean = pq_kahan_inc(delta / count, mean, &cmean);
		aux = pq_kahan_inc(delta * (f - (mean + cmean)), aux, &caux);
	}
	return (aux + caux) / count;
}

static int
fn_stdvar_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = variance(w);
	return 1;
}

static int
fn_stddev_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	(void)ev;
	if (w->n == 0)
		return 0;
	*out = sqrt(variance(w));
	return 1;
}

static int
fn_quantile_over_time(struct pq_eval *ev, const struct pq_window *w,
    double *out)
{
	double q = w->s[0], *v;

	if (w->n == 0)
		return 0;
	warn_quantile(ev, arg_node(w->call, 0), q);
	v = window_values(w);
	*out = quantile(q, v, w->n);
	free(v);
	return 1;
}

/* mad_over_time(): the median of the distances to the median. */
static int
fn_mad_over_time(struct pq_eval *ev, const struct pq_window *w, double *out)
{
	double *v, median;

	(void)ev;
	if (w->n == 0)
		return 0;
	for (size_t i = 0; i < w->n; i++)
		if (isnan(w->p[i].v)) {
			*out = NAN;	/* no median to measure from */
			return 1;
		}
	v = window_values(w);
	median = quantile(0.5, v, w->n);
	for (size_t i = 0; i < w->n; i++)
		v[i] = fabs(v[i] - median);
	*out = quantile(0.5, v, w->n);
	free(v);
	return 1;
}

/* ---- instant vectors: arithmetic ---- */

typedef double (*float_fn)(double);

/* Each sample through f, the name dropped. */
static int
map_floats(const struct pq_args *a, struct pq_vector *out, float_fn f)
{
	const struct pq_vector *in = a->v[0];

	for (size_t i = 0; in != NULL && i < in->n; i++)
		pq_vector_push(out, in->s[i].ls, f(in->s[i].v), 1);
	return 0;
}

static double
sgn(double v)
{
	if (v < 0)
		return -1;
	if (v > 0)
		return 1;
	return v;
}

static double
deg(double v)
{
	return v * 180 / M_PI;
}

static double
rad(double v)
{
	return v * M_PI / 180;
}

#define MATH_FN(name, f)						\
static int								\
fn_##name(struct pq_eval *ev, const struct pq_args *a,			\
    struct pq_vector *out)						\
{									\
	(void)ev;							\
	return map_floats(a, out, f);					\
}

MATH_FN(abs, fabs)
MATH_FN(ceil, ceil)
MATH_FN(floor, floor)
MATH_FN(exp, exp)
MATH_FN(sqrt, sqrt)
MATH_FN(ln, log)
MATH_FN(log2, log2)
MATH_FN(log10, log10)
MATH_FN(sgn, sgn)
MATH_FN(sin, sin)
MATH_FN(cos, cos)
MATH_FN(tan, tan)
MATH_FN(asin, asin)
MATH_FN(acos, acos)
MATH_FN(atan, atan)
MATH_FN(sinh, sinh)
MATH_FN(cosh, cosh)
MATH_FN(tanh, tanh)
MATH_FN(asinh, asinh)
MATH_FN(acosh, acosh)
MATH_FN(atanh, atanh)
MATH_FN(deg, deg)
MATH_FN(rad, rad)

/* round(v, to_nearest): ties up, through the inverse (fewer errors). */
static int
fn_round(struct pq_eval *ev, const struct pq_args *a, struct pq_vector *out)
{
	const struct pq_vector *in = a->v[0];
	double inv = 1.0 / (a->nargs >= 2 ? a->s[1] : 1.0);

	(void)ev;
	for (size_t i = 0; in != NULL && i < in->n; i++)
		pq_vector_push(out, in->s[i].ls,
		    floor(in->s[i].v * inv + 0.5) / inv, 1);
	return 0;
}

static int
clamp(const struct pq_args *a, double lo, double hi, struct pq_vector *out)
{
	const struct pq_vector *in = a->v[0];

	if (hi < lo)
		return 0;
	for (size_t i = 0; in != NULL && i < in->n; i++)
		pq_vector_push(out, in->s[i].ls,
		    go_max(lo, go_min(hi, in->s[i].v)), 1);
	return 0;
}

static int
fn_clamp(struct pq_eval *ev, const struct pq_args *a, struct pq_vector *out)
{
	(void)ev;
	return clamp(a, a->s[1], a->s[2], out);
}

static int
fn_clamp_max(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	(void)ev;
	return clamp(a, -INFINITY, a->s[1], out);
}

static int
fn_clamp_min(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	(void)ev;
	return clamp(a, a->s[1], INFINITY, out);
}

/* timestamp() of an expression: its samples are of the step's time. */
static int
fn_timestamp(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	const struct pq_vector *in = a->v[0];

	(void)ev;
	for (size_t i = 0; in != NULL && i < in->n; i++)
		pq_vector_push(out, in->s[i].ls, (double)a->t / 1000, 1);
	return 0;
}

/* The functions of native histograms: no float is one. */
static int
fn_histogram_only(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	(void)ev;
	(void)a;
	(void)out;
	return 0;
}

/* ---- instant vectors: dates ---- */

struct civil {
	int64_t	 year;
	int	 month;		/* 1-12 */
	int	 day;		/* 1-31 */
	int	 yday;		/* 1-366 */
	int	 wday;		/* 0 Sunday */
	int	 hour, minute;
};

static int
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The UTC calendar of a Unix time in seconds (proleptic Gregorian). */
static void
civil_from_unix(int64_t sec, struct civil *c)
{
	int64_t days = floor_div(sec, 86400), secs = sec - days * 86400;
	int64_t z = days + 719468;		/* from 0000-03-01 */
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;		/* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* from March */
	int64_t mp = (5 * doy + 2) / 153;
	static const int cum[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243,
	    273, 304, 334 };

	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->month <= 2);
	c->yday = cum[c->month - 1] + c->day + (c->month > 2 && leap(c->year));
	c->wday = (int)((days % 7 + 7 + 4) % 7);
	c->hour = (int)(secs / 3600);
	c->minute = (int)(secs % 3600 / 60);
}

enum date_part {
	DATE_DAY_OF_MONTH, DATE_DAY_OF_WEEK, DATE_DAY_OF_YEAR,
	DATE_DAYS_IN_MONTH, DATE_HOUR, DATE_MINUTE, DATE_MONTH, DATE_YEAR,
};

static double
date_part(int64_t sec, enum date_part part)
{
	struct civil c;

	civil_from_unix(sec, &c);
	switch (part) {
	case DATE_DAY_OF_MONTH:		return c.day;
	case DATE_DAY_OF_WEEK:		return c.wday;
	case DATE_DAY_OF_YEAR:		return c.yday;
	case DATE_DAYS_IN_MONTH:	return month_days(c.year, c.month);
	case DATE_HOUR:			return c.hour;
	case DATE_MINUTE:		return c.minute;
	case DATE_MONTH:		return c.month;
	case DATE_YEAR:			return (double)c.year;
	}
	return NAN;
}

/* The empty label set, interned. */
static const struct labels *
no_labels(struct pq_eval *ev)
{
	struct labels *ls;

	if (labels_new(NULL, 0, 0, &ls) != 0)
		abort();
	return pq_intern(ev, ls);
}

/*
 * The date functions: of each sample's value (seconds since the epoch,
 * whole seconds), or without an argument of the step's time, as
 * vector(time()).
 */
static int
date_fn(struct pq_eval *ev, const struct pq_args *a, struct pq_vector *out,
    enum date_part part)
{
	const struct pq_vector *in = a->v[0];

	if (a->nargs == 0) {
		pq_vector_push(out, no_labels(ev),
		    date_part(a->t / 1000, part), 0);
		return 0;
	}
	for (size_t i = 0; in != NULL && i < in->n; i++)
		pq_vector_push(out, in->s[i].ls,
		    date_part(go_int64(in->s[i].v), part), 1);
	return 0;
}

#define DATE_FN(name, part)						\
static int								\
fn_##name(struct pq_eval *ev, const struct pq_args *a,			\
    struct pq_vector *out)						\
{									\
	return date_fn(ev, a, out, part);				\
}

DATE_FN(day_of_month, DATE_DAY_OF_MONTH)
DATE_FN(day_of_week, DATE_DAY_OF_WEEK)
DATE_FN(day_of_year, DATE_DAY_OF_YEAR)
DATE_FN(days_in_month, DATE_DAYS_IN_MONTH)
DATE_FN(hour, DATE_HOUR)
DATE_FN(minute, DATE_MINUTE)
DATE_FN(month, DATE_MONTH)
DATE_FN(year, DATE_YEAR)

/* ---- absent ---- */

/*
 * The labels absent() and absent_over_time() give: those a selector
 * asks to be equal to one value, once; a name matched any other way,
 * or twice, is left out (Prometheus's rule, kept for compatibility).
 * Anything but a selector gives none.
 */
static int
absent_labels(struct pq_eval *ev, const struct promql_node *arg,
    const struct labels **out)
{
	struct label pairs[SELECTOR_MATCHERS_MAX];
	int set[SELECTOR_MATCHERS_MAX];
	const struct selector *sel = NULL;
	struct labels *ls;
	size_t np = 0, n;
	int rc;

	if (arg != NULL && arg->kind == PROMQL_MATRIX_SELECTOR)
		arg = arg->ms.vs;
	if (arg != NULL && arg->kind == PROMQL_VECTOR_SELECTOR)
		sel = arg->vs.sel;
	n = sel != NULL ? selector_count(sel) : 0;
	for (size_t i = 0; i < n && np < SELECTOR_MATCHERS_MAX; i++) {
		const struct matcher *m = selector_at(sel, i);
		const char *name = matcher_name(m);
		size_t k, vlen;

		if (strcmp(name, LABELS_METRIC_NAME) == 0)
			continue;
		for (k = 0; k < np; k++)
			if (strcmp(pairs[k].name, name) == 0)
				break;
		if (matcher_op(m) == MATCHER_EQ && k == np) {
			pairs[np].name = name;
			pairs[np].name_len = strlen(name);
			pairs[np].value = matcher_value(m, &vlen);
			pairs[np].value_len = vlen;
			set[np++] = 1;
		} else if (k < np) {
			set[k] = 0;	/* and never set again */
		}
	}
	n = 0;
	for (size_t i = 0; i < np; i++)
		if (set[i])
			pairs[n++] = pairs[i];
	if ((rc = labels_new(pairs, n, LABELS_RESERVED, &ls)) != 0)
		return err_set(-EDOM, "%s", err_detail());
	*out = pq_intern(ev, ls);
	return 0;
}

/*
 * absent(), and absent_over_time() over its window function's answers:
 * one sample where the vector is empty.
 */
static int
fn_absent(struct pq_eval *ev, const struct pq_args *a, struct pq_vector *out)
{
	const struct labels *ls = *a->state;
	int rc;

	if (a->v[0] != NULL && a->v[0]->n > 0)
		return 0;
	if (ls == NULL) {
		if ((rc = absent_labels(ev, arg_node(a->call, 0), &ls)) != 0)
			return rc;
		*a->state = (void *)(uintptr_t)ls;	/* interned: not ours */
	}
	pq_vector_push(out, ls, 1, 0);
	return 0;
}

/* ---- sorting functions ---- */

/* sort(): ascending, NaN last. */
static int
cmp_asc(const struct pq_sample *a, const struct pq_sample *b, const void *ctx)
{
	(void)ctx;
	if (isnan(a->v) || isnan(b->v)) {
		if (isnan(a->v) != isnan(b->v))
			return isnan(a->v) ? 1 : -1;
	} else if (a->v != b->v) {
		return a->v < b->v ? -1 : 1;
	}
	return labels_compare(a->ls, b->ls);
}

/* sort_desc(): descending, NaN last. */
static int
cmp_desc(const struct pq_sample *a, const struct pq_sample *b,
    const void *ctx)
{
	(void)ctx;
	if (isnan(a->v) || isnan(b->v)) {
		if (isnan(a->v) != isnan(b->v))
			return isnan(a->v) ? 1 : -1;
	} else if (a->v != b->v) {
		return a->v > b->v ? -1 : 1;
	}
	return labels_compare(a->ls, b->ls);
}

static int
sort_values(const struct pq_args *a, struct pq_vector *out, sample_cmp cmp)
{
	const struct pq_vector *in = a->v[0];
	size_t base = out->n;

	for (size_t i = 0; in != NULL && i < in->n; i++)
		pq_vector_push(out, in->s[i].ls, in->s[i].v,
		    in->s[i].drop_name);
	sort_samples(out->s + base, out->n - base, cmp, NULL);
	return 0;
}

static int
fn_sort(struct pq_eval *ev, const struct pq_args *a, struct pq_vector *out)
{
	(void)ev;
	return sort_values(a, out, cmp_asc);
}

static int
fn_sort_desc(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	(void)ev;
	return sort_values(a, out, cmp_desc);
}

/* A run of ASCII digits at s as an int64: 1, or 0 if it does not fit. */
static int
parse_digits(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (v > (uint64_t)INT64_MAX / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > (uint64_t)INT64_MAX)
			return 0;
	}
	*out = (int64_t)v;
	return 1;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The length of the chunk at s: a run of digits or of other bytes. */
static size_t
chunk_len(const char *s)
{
	size_t n = 0;
	int d = is_digit(s[0]);

	while (s[n] != '\0' && is_digit(s[n]) == d)
		n++;
	return n;
}

/*
 * Natural order, as the natsort Prometheus uses: the strings cut into
 * runs of digits and of other bytes, runs compared in turn, as numbers
 * when both are, else as bytes. True when a comes first. Not a strict
 * order at its edges ("" against anything is false both ways), as
 * there.
 */
static int
natural_less(const char *a, const char *b)
{
	size_t na, nb;

	while (*a != '\0') {
		int64_t ia, ib;
		int last_a, last_b, c;

		if (*b == '\0')
			return 0;
		na = chunk_len(a);
		nb = chunk_len(b);
		last_a = a[na] == '\0';
		last_b = b[nb] == '\0';
		if (is_digit(*a) && is_digit(*b) && parse_digits(a, na, &ia) &&
		    parse_digits(b, nb, &ib)) {
			if (ia != ib)
				return ia < ib;
		} else if (na != nb || memcmp(a, b, na) != 0) {
			c = memcmp(a, b, na < nb ? na : nb);
			if (c == 0)
				return na < nb;
			return c < 0;
		}
		if (last_a)
			return 1;
		if (last_b)
			return 0;
		a += na;
		b += nb;
	}
	return 0;
}

struct by_label {
	const char	*const *names;
	size_t		 n;
	int		 desc;
};

static int
cmp_by_label(const struct pq_sample *a, const struct pq_sample *b,
    const void *ctx)
{
	const struct by_label *bl = ctx;

	for (size_t i = 0; i < bl->n; i++) {
		const char *va = labels_get(a->ls, bl->names[i]);
		const char *vb = labels_get(b->ls, bl->names[i]);

		if (va == NULL)
			va = "";
		if (vb == NULL)
			vb = "";
		if (strcmp(va, vb) == 0)
			continue;
		if (natural_less(va, vb))
			return bl->desc ? 1 : -1;
		return bl->desc ? -1 : 1;
	}
	return bl->desc ? -labels_compare(a->ls, b->ls) :
	    labels_compare(a->ls, b->ls);
}

static int
sort_by_label(const struct pq_args *a, struct pq_vector *out, int desc)
{
	const struct pq_vector *in = a->v[0];
	struct by_label bl = { a->str + 1, a->nargs > 1 ? a->nargs - 1 : 0,
	    desc };
	size_t base = out->n;

	if (bl.n > sizeof(a->str) / sizeof(a->str[0]) - 1)
		bl.n = sizeof(a->str) / sizeof(a->str[0]) - 1;
	for (size_t i = 0; in != NULL && i < in->n; i++)
		pq_vector_push(out, in->s[i].ls, in->s[i].v,
		    in->s[i].drop_name);
	sort_samples(out->s + base, out->n - base, cmp_by_label, &bl);
	return 0;
}

static int
fn_sort_by_label(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	(void)ev;
	return sort_by_label(a, out, 0);
}

static int
fn_sort_by_label_desc(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	(void)ev;
	return sort_by_label(a, out, 1);
}

/* ---- label_replace and label_join ---- */

/* A label name as Prometheus 3 takes one: UTF-8, not empty. */
static int
valid_label_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && utf8_valid(s, n) == n;
}

/* Two samples of out from base on with one label set: Prometheus's error. */
static int
check_unique(const struct pq_vector *out, size_t base)
{
	struct pq_pmap seen = { 0 };
	int created, rc = 0;

	if (out->n - base < 2)
		return 0;
	for (size_t i = base; i < out->n && rc == 0; i++) {
		(void)pq_pmap_get(&seen, out->s[i].ls, &created);
		if (!created)
			rc = err_set(-EDOM, "vector cannot contain metrics "
			    "with the same labelset");
	}
	pq_pmap_free(&seen);
	return rc;
}

/*
 * What label_replace() and label_join() keep across the steps: the
 * regex, and the set each input set became (a set is the same every
 * step, so its answer is too).
 */
struct relabel_state {
	pcre2_code	*re;
	pcre2_match_data *md;
	struct pq_pmap	 done;	/* input set -> output set | 1 if written */
};

static void
relabel_free(void *p)
{
	struct relabel_state *st = p;

	if (st == NULL)
		return;
	pcre2_match_data_free(st->md);
	pcre2_code_free(st->re);
	pq_pmap_free(&st->done);
	free(st);
}

static struct relabel_state *
relabel_state(const struct pq_args *a)
{
	if (*a->state == NULL)
		*a->state = xcalloc(1, sizeof(struct relabel_state));
	return *a->state;
}

/*
 * Push s under the set its input set became; drop_name as Prometheus
 * leaves it: a written __name__ stays, else the input's flag.
 */
static void
relabel_push(const struct pq_sample *s, uintptr_t done, const char *dst,
    struct pq_vector *out)
{
	const struct labels *ls = (const struct labels *)(done & ~(uintptr_t)1);
	int drop = s->drop_name;

	if ((done & 1) && strcmp(dst, LABELS_METRIC_NAME) == 0)
		drop = 0;
	pq_vector_push(out, ls, s->v, drop);
}

/* ls with name set to value, tagged as written; 0 and err_set() if not. */
static uintptr_t
relabel_set(struct pq_eval *ev, const struct labels *ls, const char *name,
    const struct buf *value)
{
	const struct labels *out;
	char why[256];

	out = pq_labels_set(ev, ls, name, value->len ? buf_str(value) : "",
	    value->len);
	if (out == NULL) {
		snprintf(why, sizeof(why), "%s", err_detail());
		(void)err_set(-EDOM, "%s", why);
		return 0;
	}
	return (uintptr_t)out | 1;
}

/*
 * The regex of label_replace(), as Go's ^(?s:regex)$: RE2's syntax
 * (matcher.h's check), anchored at both ends, captures numbered and
 * named.
 */
static int
replace_compile(struct relabel_state *st, const char *regex)
{
	const struct re_contexts *c = re_contexts();
	struct matcher *m;
	char *wrapped;
	PCRE2_SIZE off;
	int err;

	wrapped = xasprintf("(?s:%s)", regex);
	if (matcher_new(MATCHER_RE, "re", 2, wrapped, strlen(wrapped),
	    &m) != 0) {
		free(wrapped);
		return err_set(-EDOM, "invalid regular expression in "
		    "label_replace(): %s", regex);
	}
	matcher_free(m);
	st->re = pcre2_compile((PCRE2_SPTR)wrapped, strlen(wrapped),
	    PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED |
	    PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &err, &off,
	    c->compile);
	free(wrapped);
	if (st->re == NULL)
		return err_set(-EDOM, "invalid regular expression in "
		    "label_replace(): %s", regex);
	(void)pcre2_jit_compile(st->re, PCRE2_JIT_COMPLETE);
	st->md = pcre2_match_data_create_from_pattern(st->re, c->general);
	if (st->md == NULL)
		abort();
	return 0;
}

static int
name_char(unsigned char c)
{
	return is_digit((char)c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/*
 * Expand a template as Go's Regexp.Expand: $n, ${n}, $name, ${name} (the
 * longest name: $1x is ${1x}), $$ for $; a group that did not take part,
 * or is not there, is empty; a malformed $ stays as it is.
 */
static int
expand(const struct relabel_state *st, const char *tmpl, const char *src,
    struct buf *b)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
	uint32_t groups = pcre2_get_ovector_count(st->md);
	const char *p = tmpl;
	int rc = 0;

	while (*p != '\0' && rc == 0) {
		const char *dollar = strchr(p, '$'), *name;
		size_t n = 0;
		int brace, num;

		if (dollar == NULL) {
			rc = buf_puts(b, p);
			break;
		}
		rc = buf_append(b, p, (size_t)(dollar - p));
		p = dollar + 1;
		if (*p == '$') {
			rc = buf_putc(b, '$');
			p++;
			continue;
		}
		brace = *p == '{';
		name = p + brace;
		while (name_char((unsigned char)name[n]))
			n++;
		if (n == 0 || (brace && name[n] != '}')) {
			rc = buf_putc(b, '$');
			continue;
		}
		p = name + n + brace;
		num = 0;
		for (size_t i = 0; i < n; i++) {
			if (!is_digit(name[i]) || num >= 100000000) {
				num = -1;
				break;
			}
			num = num * 10 + (name[i] - '0');
		}
		if (name[0] == '0' && n > 1)
			num = -1;
		if (num < 0) {
			char tmp[LABELS_NAME_MAX + 1];

			if (n < sizeof(tmp)) {
				memcpy(tmp, name, n);
				tmp[n] = '\0';
				num = pcre2_substring_number_from_name(st->re,
				    (PCRE2_SPTR)tmp);
			}
			if (num < 0)
				continue;
		}
		if ((uint32_t)num < groups && ov[2 * num] != PCRE2_UNSET)
			rc = buf_append(b, src + ov[2 * num],
			    ov[2 * num + 1] - ov[2 * num]);
	}
	return rc;
}

/* What label_replace() makes of ls: 0 and err_set() on an error. */
static uintptr_t
replace_one(struct pq_eval *ev, const struct relabel_state *st,
    const struct pq_args *a, const struct labels *ls, struct buf *b)
{
	const struct re_contexts *c = re_contexts();
	const char *v = labels_get(ls, a->str[3]);
	int m;

	if (v == NULL)
		v = "";
	m = pcre2_match(st->re, (PCRE2_SPTR)v, strlen(v), 0, 0, st->md,
	    c->match);
	if (m == PCRE2_ERROR_NOMATCH)
		return (uintptr_t)ls;
	if (m < 0) {
		(void)err_set(-EDOM, "label_replace(): regex gave up on value "
		    "'%s' (pcre2 error %d)", v, m);
		return 0;
	}
	buf_reset(b);
	if (expand(st, a->str[2], v, b) != 0) {
		(void)err_set(-EDOM, "label_replace(): the replacement is too "
		    "long");
		return 0;
	}
	return relabel_set(ev, ls, a->str[1], b);
}

static int
fn_label_replace(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	const char *dst = a->str[1];
	const struct pq_vector *in = a->v[0];
	struct relabel_state *st = relabel_state(a);
	struct buf b = { 0 };
	size_t base = out->n;
	int rc;

	if (st->re == NULL && (rc = replace_compile(st, a->str[4])) != 0)
		return rc;
	if (!valid_label_name(dst))
		return err_set(-EDOM, "invalid destination label name in "
		    "label_replace(): %s", dst);
	for (size_t i = 0; in != NULL && i < in->n; i++) {
		const struct pq_sample *s = &in->s[i];
		uintptr_t *slot;
		int created;

		slot = pq_pmap_get(&st->done, s->ls, &created);
		if (created && (*slot = replace_one(ev, st, a, s->ls, &b)) == 0) {
			buf_release(&b);
			return -EDOM;
		}
		relabel_push(s, *slot, dst, out);
	}
	buf_release(&b);
	return check_unique(out, base);
}

static int
fn_label_join(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	const size_t maxargs = sizeof(a->str) / sizeof(a->str[0]);
	const char *dst = a->str[1], *sep = a->str[2];
	const struct pq_vector *in = a->v[0];
	struct relabel_state *st = relabel_state(a);
	size_t nsrc = a->nargs > 3 ? a->nargs - 3 : 0, base = out->n;
	struct buf b = { 0 };
	int rc = 0;

	if (nsrc > maxargs - 3)
		nsrc = maxargs - 3;
	for (size_t k = 0; k < nsrc; k++)
		if (!valid_label_name(a->str[3 + k]))
			return err_set(-EDOM, "invalid source label name in "
			    "label_join(): %s", a->str[3 + k]);
	if (!valid_label_name(dst))
		return err_set(-EDOM, "invalid destination label name in "
		    "label_join(): %s", dst);
	for (size_t i = 0; in != NULL && i < in->n && rc == 0; i++) {
		const struct pq_sample *s = &in->s[i];
		uintptr_t *slot;
		int created;

		slot = pq_pmap_get(&st->done, s->ls, &created);
		if (created) {
			buf_reset(&b);
			for (size_t k = 0; k < nsrc && rc == 0; k++) {
				const char *v = labels_get(s->ls,
				    a->str[3 + k]);

				if (k > 0)
					rc = buf_puts(&b, sep);
				if (rc == 0 && v != NULL)
					rc = buf_puts(&b, v);
			}
			if (rc != 0) {
				rc = err_set(-EDOM, "label_join(): the joined "
				    "value is too long");
				break;
			}
			if ((*slot = relabel_set(ev, s->ls, dst, &b)) == 0) {
				rc = -EDOM;
				break;
			}
		}
		relabel_push(s, *slot, dst, out);
	}
	buf_release(&b);
	return rc != 0 ? rc : check_unique(out, base);
}

/* ---- classic histograms ---- */

struct bucket {
	double	 upper;
	double	 count;
};

/* A series seen, by its set: its group and its bucket's bound. */
struct hist_series {
	const struct labels *group;	/* the set without le */
	double		 le;
	int		 bad;		/* le missing or not a number */
};

struct hist_group {
	const struct labels *ls;
	struct bucket	*b;
	size_t		 n, cap;
};

/* What fixing the buckets' monotonicity took. */
struct monotonic_fix {
	int	 forced;
	double	 min_bucket, max_bucket, max_diff;
};

/* The groups fixed for monotonicity under one metric name, so far. */
struct forced {
	const char	*name;		/* NULL: none */
	struct monotonic_fix fix;
	int64_t		 min_t, max_t;	/* the steps */
	size_t		 n;		/* groups times steps */
};

struct hist_state {
	struct pq_pmap	 series;	/* set -> struct hist_series * */
	struct pq_pmap	 groups;	/* group set -> index + 1 */
	struct hist_group *g;
	size_t		 ng, gcap;
	struct buf	 quote;
	/*
	 * The infos of the node, given when it ends (hist_free), merged
	 * over its steps as Prometheus merges them over a query.
	 */
	struct pq_eval	*ev;
	const struct promql_node *at;
	struct forced	*f;
	size_t		 nf, fcap;
};

static void forced_report(struct hist_state *st);

static void
hist_free(void *p)
{
	struct hist_state *st = p;

	if (st == NULL)
		return;
	forced_report(st);
	free(st->f);
	for (size_t i = 0; i < st->series.cap; i++)
		if (st->series.key != NULL && st->series.key[i] != NULL)
			free((void *)st->series.val[i]);
	pq_pmap_free(&st->series);
	pq_pmap_free(&st->groups);
	for (size_t i = 0; i < st->ng; i++)
		free(st->g[i].b);
	free(st->g);
	buf_release(&st->quote);
	free(st);
}

/*
 * An le value as Go's strconv.ParseFloat reads it: 0, or -1 if not.
 * strtod() takes more: leading blanks, nan(...), a sign before nan, hex
 * without a binary exponent.
 */
static int
parse_le(const char *s, double *out)
{
	const char *p;
	char *end;

	if (s == NULL || *s == '\0' || strchr(s, '(') != NULL ||
	    !(is_digit(*s) || *s == '.' || *s == '+' || *s == '-' ||
	    *s == 'i' || *s == 'I' || *s == 'n' || *s == 'N'))
		return -1;
	p = s + (*s == '+' || *s == '-');
	if (p != s && (*p == 'n' || *p == 'N'))
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    strpbrk(p, "pP") == NULL)
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (*end != '\0' || (errno == ERANGE && isinf(*out)))
		return -1;
	return 0;
}

/*
 * Gather the classic buckets of in into their groups (the series'
 * sets without le); a series without a readable le is warned of at
 * arg and left out. Afterwards the groups with buckets are those with
 * n > 0.
 */
static int
hist_gather(struct pq_eval *ev, struct hist_state *st,
    const struct pq_vector *in, const struct promql_node *arg)
{
	for (size_t i = 0; i < st->ng; i++)
		st->g[i].n = 0;
	for (size_t i = 0; in != NULL && i < in->n; i++) {
		const struct pq_sample *s = &in->s[i];
		struct hist_series *hs;
		struct hist_group *g;
		uintptr_t *slot;
		int created;

		slot = pq_pmap_get(&st->series, s->ls, &created);
		if (created) {
			hs = xcalloc(1, sizeof(*hs));
			*slot = (uintptr_t)hs;
			if (parse_le(labels_get(s->ls, "le"), &hs->le) != 0)
				hs->bad = 1;
			else if ((hs->group = pq_labels_set(ev, s->ls, "le",
			    "", 0)) == NULL)
				return -EDOM;
		}
		hs = (struct hist_series *)*slot;
		if (hs->bad) {
			const char *le = labels_get(s->ls, "le");
			const char *name = labels_metric(s->ls);
			struct buf qn = { 0 };

			if (name != NULL)
				promql_quote(name, strlen(name), &qn);
			pq_warn(ev, arg, "bucket label \"le\" is missing or has "
			    "a malformed value of %s%s%s",
			    go_quote(&st->quote, le != NULL ? le : ""),
			    name != NULL ? " for metric name " : "",
			    name != NULL ? buf_str(&qn) : "");
			buf_release(&qn);
			continue;
		}
		slot = pq_pmap_get(&st->groups, hs->group, &created);
		if (created) {
			st->g = xgrow(st->g, &st->gcap, st->ng + 1,
			    sizeof(*st->g));
			memset(&st->g[st->ng], 0, sizeof(st->g[0]));
			st->g[st->ng].ls = hs->group;
			*slot = ++st->ng;
		}
		g = &st->g[*slot - 1];
		g->b = xgrow(g->b, &g->cap, g->n + 1, sizeof(*g->b));
		g->b[g->n].upper = hs->le;
		g->b[g->n++].count = s->v;
	}
	return 0;
}

static int
cmp_bucket(const void *pa, const void *pb)
{
	const struct bucket *a = pa, *b = pb;

	return a->upper < b->upper ? -1 : a->upper > b->upper;
}

/* Sort by bound and merge buckets of one bound; the new count. */
static size_t
coalesce(struct bucket *b, size_t n)
{
	size_t k = 0;

	qsort(b, n, sizeof(*b), cmp_bucket);
	for (size_t i = 1; i < n; i++) {
		if (b[i].upper == b[k].upper)
			b[k].count += b[i].count;
		else
			b[++k] = b[i];
	}
	return k + 1;
}

/* Prometheus's almost.Equal: within a relative epsilon. */
static int
almost_equal(double a, double b, double epsilon)
{
	double abs_sum, diff;

	if (isnan(a) && isnan(b))
		return 1;
	if (a == b)
		return 1;
	abs_sum = fabs(a) + fabs(b);
	diff = fabs(a - b);
	if (a == 0 || b == 0 || abs_sum < DBL_MIN)
		return diff < epsilon * DBL_MIN;
	return diff / go_min(abs_sum, DBL_MAX) < epsilon;
}

/*
 * Counts must not fall as bounds rise: tiny differences (float noise)
 * are ignored either way, a real fall is raised to the count before it
 * and reported.
 */
static void
ensure_monotonic(struct bucket *b, size_t n, struct monotonic_fix *fix)
{
	double prev = b[0].count;

	fix->forced = 0;
	fix->min_bucket = INFINITY;
	fix->max_bucket = -INFINITY;
	fix->max_diff = 0;
	for (size_t i = 1; i < n; i++) {
		double cur = b[i].count;

		if (cur == prev)
			continue;
		if (almost_equal(prev, cur, SMALL_DELTA_TOLERANCE)) {
			b[i].count = prev;
			continue;
		}
		if (cur < prev) {
			b[i].count = prev;
			fix->forced = 1;
			if (b[i].upper < fix->min_bucket)
				fix->min_bucket = b[i].upper;
			if (b[i].upper > fix->max_bucket)
				fix->max_bucket = b[i].upper;
			if (prev - cur > fix->max_diff)
				fix->max_diff = prev - cur;
			continue;
		}
		prev = cur;
	}
}

/*
 * The q-quantile of classic buckets: interpolated linearly within the
 * bucket it falls in, from 0 in the lowest bucket if its bound is
 * positive; the second highest bound if it falls in the +Inf bucket.
 */
static double
bucket_quantile(double q, struct bucket *b, size_t n,
    struct monotonic_fix *fix)
{
	double obs, rank, start = 0, count;
	size_t lo, hi;

	fix->forced = 0;
	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(b, n, sizeof(*b), cmp_bucket);
	if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
		return NAN;
	n = coalesce(b, n);
	ensure_monotonic(b, n, fix);
	if (n < 2)
		return NAN;
	if ((obs = b[n - 1].count) == 0)
		return NAN;
	rank = q * obs;
	lo = 0;
	hi = n - 1;
	while (lo < hi) {			/* the first with count >= rank */
		size_t mid = lo + (hi - lo) / 2;

		if (b[mid].count >= rank)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == n - 1)
		return b[n - 2].upper;
	if (lo == 0 && b[0].upper <= 0)
		return b[0].upper;
	count = b[lo].count;
	if (lo > 0) {
		start = b[lo - 1].upper;
		count -= b[lo - 1].count;
		rank -= b[lo - 1].count;
	}
	return start + (b[lo].upper - start) * (rank / count);
}

/*
 * The fraction of the observations of classic buckets between lower
 * and upper, interpolated linearly within buckets.
 */
static double
bucket_fraction(double lower, double upper, struct bucket *b, size_t n)
{
	double count, rank = 0, lower_rank = 0, upper_rank = 0, lb = 0;
	int lower_set = 0, upper_set = 0;

	qsort(b, n, sizeof(*b), cmp_bucket);
	if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
		return NAN;
	n = coalesce(b, n);
	count = b[n - 1].count;
	if (count == 0 || isnan(lower) || isnan(upper))
		return NAN;
	if (lower >= upper)
		return 0;
	if (b[0].upper <= 0)
		lb = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		double ub = b[i].upper;

		if (i > 0)
			lb = b[i - 1].upper;
		if (!lower_set && lb >= lower) {
			lower_rank = rank;
			lower_set = 1;
		}
		if (!upper_set && lb >= upper) {
			upper_rank = rank;
			upper_set = 1;
		}
		if (lower_set && upper_set)
			break;
		if (!lower_set && lb < lower && ub > lower) {
			lower_rank = isinf(lb) ? b[i].count : rank +
			    (b[i].count - rank) * (lower - lb) / (ub - lb);
			lower_set = 1;
		}
		if (!upper_set && lb < upper && ub > upper) {
			upper_rank = isinf(lb) ? b[i].count : rank +
			    (b[i].count - rank) * (upper - lb) / (ub - lb);
			upper_set = 1;
		}
		if (lower_set && upper_set)
			break;
		rank = b[i].count;
	}
	if (!lower_set || lower_rank > count)
		lower_rank = count;
	if (!upper_set || upper_rank > count)
		upper_rank = count;
	return (upper_rank - lower_rank) / count;
}

static struct hist_state *
hist_state(const struct pq_args *a)
{
	if (*a->state == NULL)
		*a->state = xcalloc(1, sizeof(struct hist_state));
	return *a->state;
}

/* Go's time.Unix(ms / 1000).UTC() in RFC 3339. */
static const char *
rfc3339(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)(ms / 1000));
	return out;
}

/* Count one group's fix at step t under its metric name. */
static void
forced_add(struct hist_state *st, const char *name,
    const struct monotonic_fix *fix, int64_t t)
{
	struct forced *x;
	size_t k;

	for (k = 0; k < st->nf; k++)
		if ((st->f[k].name == NULL) == (name == NULL) &&
		    (name == NULL || strcmp(st->f[k].name, name) == 0))
			break;
	if (k == st->nf) {
		st->f = xgrow(st->f, &st->fcap, st->nf + 1, sizeof(*st->f));
		st->f[k].name = name;
		st->f[k].fix = *fix;
		st->f[k].min_t = st->f[k].max_t = t;
		st->f[k].n = 0;
		st->nf++;
	}
	x = &st->f[k];
	x->fix.min_bucket = go_min(x->fix.min_bucket, fix->min_bucket);
	x->fix.max_bucket = go_max(x->fix.max_bucket, fix->max_bucket);
	x->fix.max_diff = go_max(x->fix.max_diff, fix->max_diff);
	if (t < x->min_t)
		x->min_t = t;
	if (t > x->max_t)
		x->max_t = t;
	x->n++;
}

/* The node's infos of fixed monotonicity, in Prometheus's words. */
static void
forced_report(struct hist_state *st)
{
	for (size_t k = 0; k < st->nf && st->ev != NULL; k++) {
		const struct forced *f = &st->f[k];
		char lo[40], hi[40], diff[40], from[40], to[40];

		snprintf(diff, sizeof(diff), "%.2g", f->fix.max_diff);
		pq_info(st->ev, st->at, "input to histogram_quantile needed to "
		    "be fixed for monotonicity (see https://prometheus.io/docs/"
		    "prometheus/latest/querying/functions/#histogram_quantile)"
		    "%s%s, from buckets %s to %s, with a max diff of %s, over "
		    "%zu samples from %s to %s",
		    f->name != NULL ? " for metric name " : "",
		    f->name != NULL ? go_quote(&st->quote, f->name) : "",
		    go_fmt_g(f->fix.min_bucket, lo, sizeof(lo)),
		    go_fmt_g(f->fix.max_bucket, hi, sizeof(hi)), diff, f->n,
		    rfc3339(f->min_t, from, sizeof(from)),
		    rfc3339(f->max_t, to, sizeof(to)));
	}
	st->nf = 0;
}

/*
 * histogram_quantile(q, buckets): per group of _bucket series, the
 * q-quantile. The groups whose counts had to be made monotonic make
 * one info a metric name, given when the node ends.
 */
static int
fn_histogram_quantile(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	struct hist_state *st = hist_state(a);
	const struct promql_node *arg = arg_node(a->call, 1);
	double q = a->s[0];
	int rc;

	st->ev = ev;
	st->at = arg;
	warn_quantile(ev, arg_node(a->call, 0), q);
	if ((rc = hist_gather(ev, st, a->v[1], arg)) != 0)
		return rc;
	for (size_t i = 0; i < st->ng; i++) {
		struct hist_group *g = &st->g[i];
		struct monotonic_fix fix;
		double v;

		if (g->n == 0)
			continue;
		v = bucket_quantile(q, g->b, g->n, &fix);
		pq_vector_push(out, g->ls, v, 1);
		if (fix.forced)
			forced_add(st, labels_metric(g->ls), &fix, a->t);
	}
	return 0;
}

/*
 * A scalar argument: the evaluator hands over the first PQ_ARGS_MAX;
 * a later one is read from the tree, where a literal stands (-1 if it
 * is not one).
 */
static int
scalar_arg(const struct pq_args *a, size_t j, double *out)
{
	const struct promql_node *n = arg_node(a->call, j);
	double sign = 1;

	if (j < sizeof(a->s) / sizeof(a->s[0])) {
		*out = a->s[j];
		return 0;
	}
	for (;;) {
		if (n->kind == PROMQL_PAREN)
			n = n->paren.expr;
		else if (n->kind == PROMQL_UNARY) {
			if (n->un.op == PROMQL_SUB)
				sign = -sign;
			n = n->un.expr;
		} else
			break;
	}
	if (n->kind != PROMQL_NUMBER)
		return -1;
	*out = sign * n->num.value;
	return 0;
}

/* A quantile as a label value: Go's %g, with ".0" when it looks whole. */
static const char *
quantile_label(double q, char *out, size_t outlen)
{
	char g[40];
	const char *s;

	if (q == 0)
		return "0.0";
	s = go_fmt_g(q, g, sizeof(g));
	snprintf(out, outlen, "%s%s", s, isnan(q) || isinf(q) ||
	    strpbrk(s, "e.") != NULL ? "" : ".0");
	return out;
}

/*
 * histogram_quantiles(buckets, label, q...): histogram_quantile() for
 * each q, the answers told apart by the label set to the quantile.
 */
static int
fn_histogram_quantiles(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	struct hist_state *st = hist_state(a);
	const struct promql_node *arg = arg_node(a->call, 0);
	const char *label = a->str[1];
	int rc;

	st->ev = ev;
	st->at = arg;

	for (size_t j = 2; j < a->nargs; j++) {
		double q;

		if (scalar_arg(a, j, &q) != 0)
			return err_set(-EDOM, "histogram_quantiles: a quantile "
			    "after the third must be a number");
		warn_quantile(ev, arg_node(a->call, j), q);
	}
	if ((rc = hist_gather(ev, st, a->v[0], arg)) != 0)
		return rc;
	for (size_t j = 2; j < a->nargs; j++) {
		char buf[48];
		const char *qs;
		double q;

		(void)scalar_arg(a, j, &q);
		qs = quantile_label(q, buf, sizeof(buf));
		for (size_t i = 0; i < st->ng; i++) {
			struct hist_group *g = &st->g[i];
			struct monotonic_fix fix;
			const struct labels *ls;
			struct bucket *b;
			double v;

			if (g->n == 0)
				continue;
			/* sorted in place: a copy, for the next quantile */
			b = xmalloc(g->n * sizeof(*b));
			memcpy(b, g->b, g->n * sizeof(*b));
			v = bucket_quantile(q, b, g->n, &fix);
			free(b);
			if ((ls = pq_labels_set(ev, g->ls, label, qs,
			    strlen(qs))) == NULL)
				return -EDOM;
			pq_vector_push(out, ls, v, 1);
			if (fix.forced)
				forced_add(st, labels_metric(g->ls), &fix,
				    a->t);
		}
	}
	return 0;
}

static int
fn_histogram_fraction(struct pq_eval *ev, const struct pq_args *a,
    struct pq_vector *out)
{
	struct hist_state *st = hist_state(a);
	int rc;

	if ((rc = hist_gather(ev, st, a->v[2], arg_node(a->call, 2))) != 0)
		return rc;
	for (size_t i = 0; i < st->ng; i++) {
		struct hist_group *g = &st->g[i];

		if (g->n > 0)
			pq_vector_push(out, g->ls,
			    bucket_fraction(a->s[0], a->s[1], g->b, g->n), 1);
	}
	return 0;
}

/* ---- the table ---- */

/* Sorted by name. */
static const struct pq_funcdef funcs[] = {
	{ "abs", NULL, fn_abs, NULL, 0, 0 },
	{ "absent", NULL, fn_absent, NULL, 0, 0 },
	{ "absent_over_time", fn_absent_over_time_window, fn_absent, NULL,
	    0, 0 },
	{ "acos", NULL, fn_acos, NULL, 0, 0 },
	{ "acosh", NULL, fn_acosh, NULL, 0, 0 },
	{ "asin", NULL, fn_asin, NULL, 0, 0 },
	{ "asinh", NULL, fn_asinh, NULL, 0, 0 },
	{ "atan", NULL, fn_atan, NULL, 0, 0 },
	{ "atanh", NULL, fn_atanh, NULL, 0, 0 },
	{ "avg_over_time", fn_avg_over_time, NULL, NULL, 0, 0 },
	{ "ceil", NULL, fn_ceil, NULL, 0, 0 },
	{ "changes", fn_changes, NULL, NULL, 0, 0 },
	{ "clamp", NULL, fn_clamp, NULL, 0, 0 },
	{ "clamp_max", NULL, fn_clamp_max, NULL, 0, 0 },
	{ "clamp_min", NULL, fn_clamp_min, NULL, 0, 0 },
	{ "cos", NULL, fn_cos, NULL, 0, 0 },
	{ "cosh", NULL, fn_cosh, NULL, 0, 0 },
	{ "count_over_time", fn_count_over_time, NULL, NULL, 0, 0 },
	{ "day_of_month", NULL, fn_day_of_month, NULL, 0, 0 },
	{ "day_of_week", NULL, fn_day_of_week, NULL, 0, 0 },
	{ "day_of_year", NULL, fn_day_of_year, NULL, 0, 0 },
	{ "days_in_month", NULL, fn_days_in_month, NULL, 0, 0 },
	{ "deg", NULL, fn_deg, NULL, 0, 0 },
	{ "delta", fn_delta, NULL, NULL, 0, 0 },
	{ "deriv", fn_deriv, NULL, NULL, 0, 0 },
	{ "double_exponential_smoothing", fn_double_exponential_smoothing,
	    NULL, NULL, 0, 0 },
	{ "exp", NULL, fn_exp, NULL, 0, 0 },
	{ "first_over_time", fn_first_over_time, NULL, NULL, 1, 0 },
	{ "floor", NULL, fn_floor, NULL, 0, 0 },
	{ "histogram_avg", NULL, fn_histogram_only, NULL, 0, 0 },
	{ "histogram_count", NULL, fn_histogram_only, NULL, 0, 0 },
	{ "histogram_fraction", NULL, fn_histogram_fraction, hist_free, 0,
	    0 },
	{ "histogram_quantile", NULL, fn_histogram_quantile, hist_free, 0,
	    0 },
	{ "histogram_quantiles", NULL, fn_histogram_quantiles, hist_free, 0,
	    0 },
	{ "histogram_stddev", NULL, fn_histogram_only, NULL, 0, 0 },
	{ "histogram_stdvar", NULL, fn_histogram_only, NULL, 0, 0 },
	{ "histogram_sum", NULL, fn_histogram_only, NULL, 0, 0 },
	{ "hour", NULL, fn_hour, NULL, 0, 0 },
	{ "idelta", fn_idelta, NULL, NULL, 0, 0 },
	{ "increase", fn_increase, NULL, NULL, 0, 0 },
	{ "irate", fn_irate, NULL, NULL, 0, 0 },
	{ "label_join", NULL, fn_label_join, relabel_free, 0, 0 },
	{ "label_replace", NULL, fn_label_replace, relabel_free, 0, 0 },
	{ "last_over_time", fn_last_over_time, NULL, NULL, 1, 0 },
	{ "ln", NULL, fn_ln, NULL, 0, 0 },
	{ "log10", NULL, fn_log10, NULL, 0, 0 },
	{ "log2", NULL, fn_log2, NULL, 0, 0 },
	{ "mad_over_time", fn_mad_over_time, NULL, NULL, 0, 0 },
	{ "max_over_time", fn_max_over_time, NULL, NULL, 0, 0 },
	{ "min_over_time", fn_min_over_time, NULL, NULL, 0, 0 },
	{ "minute", NULL, fn_minute, NULL, 0, 0 },
	{ "month", NULL, fn_month, NULL, 0, 0 },
	{ "predict_linear", fn_predict_linear, NULL, NULL, 0, 0 },
	{ "present_over_time", fn_present_over_time, NULL, NULL, 0, 0 },
	{ "quantile_over_time", fn_quantile_over_time, NULL, NULL, 0, 0 },
	{ "rad", NULL, fn_rad, NULL, 0, 0 },
	{ "rate", fn_rate, NULL, NULL, 0, 0 },
	{ "resets", fn_resets, NULL, NULL, 0, 0 },
	{ "round", NULL, fn_round, NULL, 0, 0 },
	{ "sgn", NULL, fn_sgn, NULL, 0, 0 },
	{ "sin", NULL, fn_sin, NULL, 0, 0 },
	{ "sinh", NULL, fn_sinh, NULL, 0, 0 },
	{ "sort", NULL, fn_sort, NULL, 0, 1 },
	{ "sort_by_label", NULL, fn_sort_by_label, NULL, 0, 1 },
	{ "sort_by_label_desc", NULL, fn_sort_by_label_desc, NULL, 0, 1 },
	{ "sort_desc", NULL, fn_sort_desc, NULL, 0, 1 },
	{ "sqrt", NULL, fn_sqrt, NULL, 0, 0 },
	{ "stddev_over_time", fn_stddev_over_time, NULL, NULL, 0, 0 },
	{ "stdvar_over_time", fn_stdvar_over_time, NULL, NULL, 0, 0 },
	{ "sum_over_time", fn_sum_over_time, NULL, NULL, 0, 0 },
	{ "tan", NULL, fn_tan, NULL, 0, 0 },
	{ "tanh", NULL, fn_tanh, NULL, 0, 0 },
	{ "timestamp", NULL, fn_timestamp, NULL, 0, 0 },
	{ "ts_of_first_over_time", fn_ts_of_first_over_time, NULL, NULL, 0,
	    0 },
	{ "ts_of_last_over_time", fn_ts_of_last_over_time, NULL, NULL, 0, 0 },
	{ "ts_of_max_over_time", fn_ts_of_max_over_time, NULL, NULL, 0, 0 },
	{ "ts_of_min_over_time", fn_ts_of_min_over_time, NULL, NULL, 0, 0 },
	{ "year", NULL, fn_year, NULL, 0, 0 },
};

const struct pq_funcdef *
pq_func(const char *name)
{
	size_t lo = 0, hi = sizeof(funcs) / sizeof(funcs[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(funcs[mid].name, name);

		if (c == 0)
			return &funcs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
