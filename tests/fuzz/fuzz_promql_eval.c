/*
 * fuzz_promql_eval.c - libFuzzer harness for the PromQL evaluator
 * (promql_eval.c, promql_func.c, promql_agg.c).
 *
 * The input is a query. What parses is evaluated over a small store made
 * once, in a directory of its own removed at exit: counters with a
 * reset, gauges, classic histogram buckets, a series with a stale
 * marker, NaN and infinities, at 15 s over an hour. Each query runs as
 * an instant query at three times and as a range query of 20 steps, under
 * tight limits (a million samples, a quarter of a second). An evaluation
 * may fail, but only as a query fails (bad_data, execution, timeout) with
 * a message; the store failing (internal) or a crash is a bug.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/chunk.h"
#include "model/labels.h"
#include "model/series.h"
#include "query/promql.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0	1700000000000LL		/* ms */
#define STEP	15000
#define N	240			/* an hour at 15 s */

static char		 dir[] = "/tmp/shale-fuzz-eval.XXXXXX";
static struct engine	*eng;
static struct series	*store;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	if (store != NULL)
		series_close(store);
	if (eng != NULL)
		engine_close(eng);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
add(struct series_appender *a, const char *name, const char *l1,
    const char *v1, const char *l2, const char *v2,
    double (*f)(int k, int i), int i)
{
	struct label pairs[3] = { label_str("__name__", name) };
	struct series_sample s[N];
	struct labels *ls;
	size_t n = 1;

	if (l1 != NULL)
		pairs[n++] = label_str(l1, v1);
	if (l2 != NULL)
		pairs[n++] = label_str(l2, v2);
	if (labels_new(pairs, n, 0, &ls) != 0)
		abort();
	for (int k = 0; k < N; k++) {
		s[k].t = T0 + (int64_t)k * STEP;
		s[k].v = f(k, i);
	}
	if (series_appender_add(a, ls, s, N) != 0)
		abort();
	labels_free(ls);
}

static double
counter(int k, int i)
{
	return k == 100 && i == 1 ? 2 : (k % 100) * (i + 1) + (k >= 100) * 7;
}

static double
gauge(int k, int i)
{
	if (i == 2 && k == 50) {
		uint64_t bits = CHUNK_STALE_NAN;
		double v;

		memcpy(&v, &bits, sizeof(v));
		return v;
	}
	if (i == 3)
		return k % 3 == 0 ? NAN : k % 3 == 1 ? INFINITY : -INFINITY;
	return sin(k / 10.0 + i) * 10 + i;
}

static double
bucket(int k, int i)
{
	return (double)k * (i + 1);
}

static void
setup(void)
{
	struct engine_settings es;
	struct series_appender *a;
	char uri[64];
	static const char *les[] = { "0.1", "1", "10", "+Inf" };

	if (mkdtemp(dir) == NULL)
		abort();
	atexit(teardown);
	snprintf(uri, sizeof(uri), "file://%s", dir);
	engine_settings_default(&es);
	if (engine_open(uri, NULL, &es, ENGINE_WRITER, &eng) != 0 ||
	    series_open(eng, &(struct series_options){ 0 }, &store) != 0)
		abort();
	a = series_appender_new(store);
	for (int i = 0; i < 3; i++) {
		char inst[8];

		snprintf(inst, sizeof(inst), "h%d", i);
		add(a, "req_total", "job", i < 2 ? "api" : "web", "instance",
		    inst, counter, i);
	}
	for (int i = 0; i < 4; i++) {
		char inst[8];

		snprintf(inst, sizeof(inst), "h%d", i);
		add(a, "temp", "instance", inst, NULL, NULL, gauge, i);
	}
	for (int i = 0; i < 4; i++)
		add(a, "dur_bucket", "le", les[i], "job", "api", bucket, i);
	if (series_appender_commit(a, NULL, NULL) != 0)
		abort();
	series_appender_free(a);
}

static void
run(const struct promql_node *e, int range, int64_t t)
{
	struct promql_opts o = { .timeout_ms = 250, .max_samples = 1000000 };
	struct promql_result *r;
	int rc;

	rc = range ? promql_eval_range(store, e, t - 19 * 60000, t, 60000, &o,
	    &r) : promql_eval_instant(store, e, t, &o, &r);
	if (rc != 0) {
		if (getenv("SHALE_FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "error: %s\n", err_detail());
		/* a query's failure, worded; never the store's */
		if (strcmp(promql_error_type(rc), "internal") == 0 &&
		    rc != -ENOMEM)
			abort();
		if (err_detail()[0] == '\0')
			abort();
		return;
	}
	for (size_t k = 0; k < r->n; k++)
		if (r->series[k].ls == NULL || (!range && r->type ==
		    PROMQL_TYPE_VECTOR && r->series[k].n != 1))
			abort();
	if (getenv("SHALE_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%s %s: %zu series\n", range ? "range" :
		    "instant", promql_type_name(r->type), r->n);
	promql_result_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promql_node *e;
	char *p;

	if (store == NULL)
		setup();
	p = malloc(size ? size : 1);
	memcpy(p, data, size);
	if (promql_parse(p, size, &e) == 0) {
		run(e, 0, T0 + 30 * 60000 + 7000);
		run(e, 0, T0 + 90 * 60000);
		run(e, 0, T0);
		if (promql_type_of(e) == PROMQL_TYPE_VECTOR ||
		    promql_type_of(e) == PROMQL_TYPE_SCALAR)
			run(e, 1, T0 + 50 * 60000);
		promql_free(e);
	}
	free(p);
	return 0;
}
