/*
 * objstore_fault.c - the fault: layer, which makes the store below it fail
 * on purpose so that every caller's error paths can be tested.
 *
 *   fault:OPTIONS:URI    OPTIONS is a comma-separated list of
 *
 *   seed=N          the random sequence (default 1): same seed, same faults
 *   rate=F          fail this fraction of calls (0..1)
 *   nth=N           fail the Nth call (1-based), whatever the rate
 *   every=N         fail every Nth call
 *   errors=E+E...   what a failure looks like, one picked at random per
 *                   fault: 503 (SlowDown), 500 (InternalError), reset
 *                   (connection reset), timeout, eio (permanent); default 503
 *   when=W          before (the call never reaches the store), after (it
 *                   takes effect, then fails: a lost response) or any
 *                   (default: either, at random)
 *   latency=MS      sleep this long before every call
 *   short=F         this fraction of successful gets return only part of
 *                   the bytes asked for (a truncated body that went unnoticed)
 *   ops=O+O...      only these operations fail: get, put, put_if_absent,
 *                   head, list, delete, delete_batch (default all)
 *   while=PATH      inject only while the file PATH exists, so a test can
 *                   take the store away and give it back (an outage)
 *
 * Faults injected are counted in objstore_faults_injected_total{op,kind}.
 * Thread-safe: the random state is behind a mutex, so the sequence of
 * faults is the same for the same sequence of calls.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/objstore/objstore_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

enum fault_kind { F_503, F_500, F_RESET, F_TIMEOUT, F_EIO, F_MAX };
static const char *kind_names[F_MAX] = { "503", "500", "reset", "timeout", "eio" };

enum { WHEN_ANY, WHEN_BEFORE, WHEN_AFTER };

static const char *op_names[] = {
	"get", "put", "put_if_absent", "head", "list", "delete", "delete_batch"
};
#define NOPS (sizeof(op_names) / sizeof(op_names[0]))

struct fault {
	struct objstore	 os;
	pthread_mutex_t	 lock;		/* protects rng, calls */
	unsigned short	 rng[3];
	uint64_t	 calls;
	double		 rate;
	uint64_t	 nth;
	uint64_t	 every;
	unsigned	 kinds;		/* 1 << enum fault_kind */
	int		 when;
	int		 latency_ms;
	double		 short_rate;
	unsigned	 ops;		/* 1 << op index */
	char		*while_path;	/* NULL, or faults only while it exists */
	struct metric	*injected;
};

static int
parse_list(const char *v, const char *const *names, size_t n, unsigned *out)
{
	char *copy = xstrdup(v), *save = NULL, *t;
	size_t i;
	int rc = 0;

	*out = 0;
	for (t = strtok_r(copy, "+", &save); t != NULL; t = strtok_r(NULL, "+", &save)) {
		for (i = 0; i < n && strcmp(t, names[i]) != 0; i++)
			;
		if (i == n) {
			rc = err_set(SHALE_EURI, "fault: unknown name '%s'", t);
			break;
		}
		*out |= 1u << i;
	}
	free(copy);
	return rc;
}

static int
parse_num(const char *k, const char *v, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || *out < lo || *out > hi)
		return err_set(SHALE_EURI, "fault: '%s=%s' out of range", k, v);
	return 0;
}

static int
parse_spec(struct fault *f, const char *spec)
{
	char *copy = xstrdup(spec), *save = NULL, *t, *eq;
	double d;
	int rc = 0;

	for (t = strtok_r(copy, ",", &save); t != NULL && rc == 0;
	    t = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(t, '=')) == NULL) {
			rc = err_set(SHALE_EURI, "fault: expected NAME=VALUE, not '%s'", t);
			break;
		}
		*eq++ = '\0';
		if (strcmp(t, "seed") == 0) {
			if ((rc = parse_num(t, eq, 0, 4e9, &d)) == 0) {
				f->rng[1] = (unsigned short)((uint64_t)d & 0xffff);
				f->rng[2] = (unsigned short)((uint64_t)d >> 16);
			}
		} else if (strcmp(t, "rate") == 0) {
			rc = parse_num(t, eq, 0, 1, &f->rate);
		} else if (strcmp(t, "short") == 0) {
			rc = parse_num(t, eq, 0, 1, &f->short_rate);
		} else if (strcmp(t, "nth") == 0) {
			if ((rc = parse_num(t, eq, 1, 1e18, &d)) == 0)
				f->nth = (uint64_t)d;
		} else if (strcmp(t, "every") == 0) {
			if ((rc = parse_num(t, eq, 1, 1e18, &d)) == 0)
				f->every = (uint64_t)d;
		} else if (strcmp(t, "latency") == 0) {
			if ((rc = parse_num(t, eq, 0, 60000, &d)) == 0)
				f->latency_ms = (int)d;
		} else if (strcmp(t, "errors") == 0) {
			rc = parse_list(eq, kind_names, F_MAX, &f->kinds);
		} else if (strcmp(t, "while") == 0) {
			free(f->while_path);
			f->while_path = xstrdup(eq);
		} else if (strcmp(t, "ops") == 0) {
			rc = parse_list(eq, op_names, NOPS, &f->ops);
		} else if (strcmp(t, "when") == 0) {
			if (strcmp(eq, "before") == 0)
				f->when = WHEN_BEFORE;
			else if (strcmp(eq, "after") == 0)
				f->when = WHEN_AFTER;
			else if (strcmp(eq, "any") == 0)
				f->when = WHEN_ANY;
			else
				rc = err_set(SHALE_EURI, "fault: when=%s: expected "
				    "before, after or any", eq);
		} else {
			rc = err_set(SHALE_EURI, "fault: unknown option '%s'", t);
		}
	}
	free(copy);
	return rc;
}

/* The decision for one call, made under the lock so it is reproducible. */
struct decision {
	int	fail;
	int	after;
	int	kind;
	int	cut;		/* get: return a short read */
	double	frac;		/* how much of it */
};

static struct decision
decide(struct fault *f, int op)
{
	struct decision d = { 0 };
	int n = 0, pick;

	pthread_mutex_lock(&f->lock);
	f->calls++;
	if ((f->ops & (1u << op)) &&
	    (f->while_path == NULL || access(f->while_path, F_OK) == 0)) {
		d.fail = (f->nth && f->calls == f->nth) ||
		    (f->every && f->calls % f->every == 0) ||
		    (f->rate > 0 && erand48(f->rng) < f->rate);
	}
	if (d.fail) {
		for (int k = 0; k < F_MAX; k++)
			n += (f->kinds >> k) & 1;
		pick = (int)(erand48(f->rng) * n);
		for (d.kind = 0; d.kind < F_MAX; d.kind++)
			if (((f->kinds >> d.kind) & 1) && pick-- == 0)
				break;
		d.after = f->when == WHEN_AFTER ||
		    (f->when == WHEN_ANY && erand48(f->rng) < 0.5);
	} else if (op == 0 && f->short_rate > 0 && erand48(f->rng) < f->short_rate) {
		d.cut = 1;
		d.frac = erand48(f->rng);
	}
	pthread_mutex_unlock(&f->lock);
	if (f->latency_ms)
		clock_sleep_ms(f->latency_ms);
	return d;
}

static int
inject(struct fault *f, int op, const struct decision *d, const char *key)
{
	metric_add(metric_series(f->injected, op_names[op], kind_names[d->kind]), 1);
	switch (d->kind) {
	case F_503:
		return err_set(SHALE_ETRANSIENT, "%s '%s': HTTP 503 SlowDown "
		    "(injected)", op_names[op], key);
	case F_500:
		return err_set(SHALE_ETRANSIENT, "%s '%s': HTTP 500 InternalError "
		    "(injected)", op_names[op], key);
	case F_RESET:
		return err_set(-ECONNRESET, "%s '%s': connection reset (injected)",
		    op_names[op], key);
	case F_TIMEOUT:
		return err_set(-ETIMEDOUT, "%s '%s': timed out (injected)",
		    op_names[op], key);
	}
	return err_set(-EIO, "%s '%s': I/O error (injected)", op_names[op], key);
}

/* Run `call` under the decision for `op`. */
#define FAULTED(op, key, call) do {					\
	struct decision d_ = decide(f, (op));				\
	int rc_;							\
									\
	if (d_.fail && !d_.after)					\
		return inject(f, (op), &d_, (key));			\
	rc_ = (call);							\
	if (d_.fail)							\
		return inject(f, (op), &d_, (key));			\
	return rc_;							\
} while (0)

static int
fault_get(struct objstore *os, const char *key, uint64_t off, uint64_t len,
    struct buf *out)
{
	struct fault *f = (struct fault *)os;
	struct decision d = decide(f, 0);
	size_t mark = out->len, got;
	int rc;

	if (d.fail && !d.after)
		return inject(f, 0, &d, key);
	rc = os->inner->ops->get(os->inner, key, off, len, out);
	if (d.fail) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		return inject(f, 0, &d, key);
	}
	if (rc == 0 && d.cut && (got = out->len - mark) > 0) {
		metric_add(metric_series(f->injected, "get", "short"), 1);
		out->len = mark + (size_t)((double)got * d.frac);
		out->data[out->len] = '\0';
	}
	return rc;
}

static int
fault_put(struct objstore *os, const char *key, const void *data, size_t len)
{
	struct fault *f = (struct fault *)os;

	FAULTED(1, key, os->inner->ops->put(os->inner, key, data, len));
}

static int
fault_put_if_absent(struct objstore *os, const char *key, const void *data,
    size_t len)
{
	struct fault *f = (struct fault *)os;

	FAULTED(2, key, os->inner->ops->put_if_absent(os->inner, key, data, len));
}

static int
fault_head(struct objstore *os, const char *key, struct objstore_meta *m)
{
	struct fault *f = (struct fault *)os;

	FAULTED(3, key, os->inner->ops->head(os->inner, key, m));
}

static int
fault_list(struct objstore *os, const char *prefix, const char *after,
    size_t max, struct objstore_list *l)
{
	struct fault *f = (struct fault *)os;

	FAULTED(4, prefix, os->inner->ops->list(os->inner, prefix, after, max, l));
}

static int
fault_delete(struct objstore *os, const char *key)
{
	struct fault *f = (struct fault *)os;

	FAULTED(5, key, os->inner->ops->delete(os->inner, key));
}

static int
fault_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	struct fault *f = (struct fault *)os;

	FAULTED(6, keys[0], os->inner->ops->delete_batch(os->inner, keys, n));
}

static void
fault_close(struct objstore *os)
{
	struct fault *f = (struct fault *)os;

	if (os->inner != NULL)
		os->inner->ops->close(os->inner);
	pthread_mutex_destroy(&f->lock);
	free(f->while_path);
	free(os->uri);
	free(f);
}

static const struct objstore_ops fault_ops = {
	"fault", fault_get, fault_put, fault_put_if_absent, fault_head,
	fault_list, fault_delete, fault_delete_batch, fault_close
};

int
objstore_fault_open(const char *spec, struct objstore *inner,
    struct objstore **out)
{
	struct fault *f = xcalloc(1, sizeof(*f));
	int rc;

	f->os.ops = &fault_ops;
	f->os.inner = inner;
	f->rng[0] = 0x330e;
	f->rng[1] = 1;
	f->kinds = 1u << F_503;
	f->ops = (1u << NOPS) - 1;
	pthread_mutex_init(&f->lock, NULL);
	if ((rc = parse_spec(f, spec)) == 0 && (f->kinds == 0 || f->ops == 0))
		rc = err_set(SHALE_EURI, "fault: empty errors= or ops= list");
	if (rc != 0) {
		fault_close(&f->os);
		return rc;
	}
	f->injected = metrics_counter(metrics_global(),
	    "objstore_faults_injected_total",
	    "Failures injected by a fault: store, by operation and kind.", "op,kind");
	*out = &f->os;
	return 0;
}
