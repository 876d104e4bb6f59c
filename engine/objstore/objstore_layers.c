/*
 * objstore_layers.c - the layers objstore_open() stacks over a backend:
 *
 *   count  counts every call, its bytes, errors by kind and latency, in the
 *          metrics registry (objstore_* families);
 *   retry  retries transient failures (5xx, 429, timeouts, resets) with
 *          capped exponential backoff and full jitter, and turns a
 *          conditional put whose earlier attempt may have landed into
 *          SHALE_EUNKNOWN, so the caller re-reads instead of guessing.
 *
 * Both are stateless apart from settings and metric handles: thread-safe
 * as long as the layer below is.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/objstore_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

enum op { OP_GET, OP_PUT, OP_PUT_IF_ABSENT, OP_HEAD, OP_LIST, OP_DELETE,
	OP_DELETE_BATCH, OP_MAX };

static const char *op_names[OP_MAX] = {
	"get", "put", "put_if_absent", "head", "list", "delete", "delete_batch"
};

/* ---- the retrying layer ---- */

struct retry {
	struct objstore		 os;
	int			 max_retries;
	int			 base_ms;
	int			 max_ms;
	struct metric_series	*retries[OP_MAX];
};

/* Sleep before attempt `attempt` (1 for the first retry): full jitter. */
static void
backoff(struct retry *r, int attempt)
{
	int64_t cap = r->base_ms;

	for (int i = 1; i < attempt && cap < r->max_ms; i++)
		cap *= 2;
	if (cap > r->max_ms)
		cap = r->max_ms;
	clock_sleep_ms((int64_t)arc4random_uniform((uint32_t)cap + 1));
}

/*
 * Whether a failed call may have reached the store and taken effect: a
 * status from the server or a timeout or reset after sending, but not a
 * refused connection.
 */
static int
maybe_applied(int rc)
{
	return rc == SHALE_ETRANSIENT || rc == -ETIMEDOUT || rc == -ECONNRESET ||
	    rc == SHALE_EUNKNOWN;
}

static int
should_retry(struct retry *r, enum op op, const char *key, int rc, int attempt)
{
	if (!err_is_transient(rc) || attempt > r->max_retries)
		return 0;
	metric_add(r->retries[op], 1);
	log_info("retrying %s '%s' (attempt %d): %s", op_names[op], key,
	    attempt + 1, err_message(rc));
	backoff(r, attempt);
	return 1;
}

static int
retry_get(struct objstore *os, const char *key, uint64_t off, uint64_t len,
    struct buf *out)
{
	struct retry *r = (struct retry *)os;
	size_t mark = out->len;
	int rc, attempt = 0;

	for (;;) {
		rc = os->inner->ops->get(os->inner, key, off, len, out);
		if (rc == 0)
			return 0;
		out->len = mark;	/* drop what a failed attempt appended */
		if (out->data != NULL)
			out->data[mark] = '\0';
		if (!should_retry(r, OP_GET, key, rc, ++attempt))
			return rc;
	}
}

static int
retry_put(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct retry *r = (struct retry *)os;
	int rc, attempt = 0;

	while ((rc = os->inner->ops->put(os->inner, key, d, n)) != 0 &&
	    should_retry(r, OP_PUT, key, rc, ++attempt))
		;
	return rc;
}

static int
retry_put_if_absent(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct retry *r = (struct retry *)os;
	int rc, attempt = 0, uncertain = 0;

	for (;;) {
		rc = os->inner->ops->put_if_absent(os->inner, key, d, n);
		if (rc == 0)
			return 0;
		if (rc == -EEXIST && uncertain)
			return err_set(SHALE_EUNKNOWN, "put_if_absent '%s': exists "
			    "after an attempt whose outcome is unknown", key);
		uncertain |= maybe_applied(rc);
		if (!should_retry(r, OP_PUT_IF_ABSENT, key, rc, ++attempt))
			break;
	}
	if (uncertain && rc != -EEXIST)
		return err_set(SHALE_EUNKNOWN, "put_if_absent '%s': outcome unknown "
		    "after %d attempts: %s", key, attempt, err_message(rc));
	return rc;
}

static int
retry_head(struct objstore *os, const char *key, struct objstore_meta *m)
{
	struct retry *r = (struct retry *)os;
	int rc, attempt = 0;

	while ((rc = os->inner->ops->head(os->inner, key, m)) != 0 &&
	    should_retry(r, OP_HEAD, key, rc, ++attempt))
		;
	return rc;
}

static int
retry_list(struct objstore *os, const char *prefix, const char *after,
    size_t max, struct objstore_list *l)
{
	struct retry *r = (struct retry *)os;
	int rc, attempt = 0;

	for (;;) {
		objstore_list_release(l);
		rc = os->inner->ops->list(os->inner, prefix, after, max, l);
		if (rc == 0)
			return 0;
		if (!should_retry(r, OP_LIST, prefix, rc, ++attempt))
			break;
	}
	objstore_list_release(l);
	return rc;
}

static int
retry_delete(struct objstore *os, const char *key)
{
	struct retry *r = (struct retry *)os;
	int rc, attempt = 0;

	while ((rc = os->inner->ops->delete(os->inner, key)) != 0 &&
	    should_retry(r, OP_DELETE, key, rc, ++attempt))
		;
	return rc;
}

static int
retry_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	struct retry *r = (struct retry *)os;
	int rc, attempt = 0;

	while ((rc = os->inner->ops->delete_batch(os->inner, keys, n)) != 0 &&
	    should_retry(r, OP_DELETE_BATCH, keys[0], rc, ++attempt))
		;
	return rc;
}

static void
layer_close(struct objstore *os)
{
	os->inner->ops->close(os->inner);
	free(os->uri);
	free(os);
}

static const struct objstore_ops retry_ops = {
	"retry", retry_get, retry_put, retry_put_if_absent, retry_head,
	retry_list, retry_delete, retry_delete_batch, layer_close
};

int
objstore_retry_open(struct objstore *inner, const struct objstore_opts *o,
    struct objstore **out)
{
	struct retry *r = xcalloc(1, sizeof(*r));
	struct metrics *m = o->metrics ? o->metrics : metrics_global();
	struct metric *f;

	r->os.ops = &retry_ops;
	r->os.inner = inner;
	r->max_retries = o->max_retries < 0 ? 0 : o->max_retries ? o->max_retries : 8;
	r->base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 50;
	r->max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : 5000;
	f = metrics_counter(m, "objstore_retries_total",
	    "Object store requests retried after a transient failure.", "op");
	for (int i = 0; i < OP_MAX; i++)
		r->retries[i] = metric_series(f, op_names[i]);
	*out = &r->os;
	return 0;
}

/* ---- the counting layer ---- */

struct count {
	struct objstore		 os;
	struct metric		*errors;
	struct metric_series	*requests[OP_MAX];
	struct metric_series	*latency[OP_MAX];
	struct metric_series	*bytes_in;
	struct metric_series	*bytes_out;
	_Atomic int64_t		 last_ok_ns;	/* objstore_health */
	_Atomic int64_t		 failing_since_ns;
};

static const char *
error_kind(int rc)
{
	switch (rc) {
	case -ENOENT:		return "not_found";
	case -EEXIST:		return "exists";
	case SHALE_EUNKNOWN:	return "unknown_outcome";
	case SHALE_EAUTH:	return "auth";
	case SHALE_ENOBUCKET:	return "no_bucket";
	case SHALE_ETRANSIENT:	return "transient";
	case -ETIMEDOUT:	return "timeout";
	case -ECONNRESET:	return "reset";
	case SHALE_ECONN:	return "connect";
	case SHALE_ECORRUPT:	return "corrupt";
	}
	return "other";
}

/* A missing or existing key is an answer; anything else is a failure. */
static void
note_health(struct count *c, int rc)
{
	int64_t zero = 0;

	if (rc == 0 || rc == -ENOENT || rc == -EEXIST || rc == SHALE_ECORRUPT) {
		atomic_store(&c->last_ok_ns, clock_wall_ns());
		atomic_store(&c->failing_since_ns, 0);
	} else
		atomic_compare_exchange_strong(&c->failing_since_ns, &zero,
		    clock_wall_ns());
}

static int
counted(struct count *c, enum op op, int64_t t0, int rc)
{
	double secs = (double)(clock_mono_ns() - t0) / 1e9;

	metric_add(c->requests[op], 1);
	metric_observe(c->latency[op], secs);
	if (rc != 0)
		metric_add(metric_series(c->errors, op_names[op], error_kind(rc)), 1);
	note_health(c, rc);
	return rc;
}

static int
count_get(struct objstore *os, const char *key, uint64_t off, uint64_t len,
    struct buf *out)
{
	struct count *c = (struct count *)os;
	int64_t t0 = clock_mono_ns();
	size_t before = out->len;
	int rc;

	rc = os->inner->ops->get(os->inner, key, off, len, out);
	if (rc == 0)
		metric_add(c->bytes_in, (double)(out->len - before));
	return counted(c, OP_GET, t0, rc);
}

static int
count_put(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct count *c = (struct count *)os;
	int64_t t0 = clock_mono_ns();
	int rc;

	rc = os->inner->ops->put(os->inner, key, d, n);
	if (rc == 0)
		metric_add(c->bytes_out, (double)n);
	return counted(c, OP_PUT, t0, rc);
}

static int
count_put_if_absent(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct count *c = (struct count *)os;
	int64_t t0 = clock_mono_ns();
	int rc;

	rc = os->inner->ops->put_if_absent(os->inner, key, d, n);
	if (rc == 0)
		metric_add(c->bytes_out, (double)n);
	return counted(c, OP_PUT_IF_ABSENT, t0, rc);
}

static int
count_head(struct objstore *os, const char *key, struct objstore_meta *m)
{
	int64_t t0 = clock_mono_ns();

	return counted((struct count *)os, OP_HEAD, t0,
	    os->inner->ops->head(os->inner, key, m));
}

static int
count_list(struct objstore *os, const char *prefix, const char *after,
    size_t max, struct objstore_list *l)
{
	int64_t t0 = clock_mono_ns();

	return counted((struct count *)os, OP_LIST, t0,
	    os->inner->ops->list(os->inner, prefix, after, max, l));
}

static int
count_delete(struct objstore *os, const char *key)
{
	int64_t t0 = clock_mono_ns();

	return counted((struct count *)os, OP_DELETE, t0,
	    os->inner->ops->delete(os->inner, key));
}

static int
count_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	int64_t t0 = clock_mono_ns();

	return counted((struct count *)os, OP_DELETE_BATCH, t0,
	    os->inner->ops->delete_batch(os->inner, keys, n));
}

static const struct objstore_ops count_ops = {
	"count", count_get, count_put, count_put_if_absent, count_head,
	count_list, count_delete, count_delete_batch, layer_close
};

void
objstore_health(struct objstore *os, struct objstore_health *h)
{
	memset(h, 0, sizeof(*h));
	for (; os != NULL; os = os->inner) {
		if (os->ops == &count_ops) {
			struct count *c = (struct count *)os;

			h->last_ok_ns = atomic_load(&c->last_ok_ns);
			h->failing_since_ns = atomic_load(&c->failing_since_ns);
			return;
		}
	}
}

int
objstore_count_open(struct objstore *inner, const struct objstore_opts *o,
    struct objstore **out)
{
	struct count *c = xcalloc(1, sizeof(*c));
	struct metrics *m = o->metrics ? o->metrics : metrics_global();
	struct metric *req, *lat;

	c->os.ops = &count_ops;
	c->os.inner = inner;
	req = metrics_counter(m, "objstore_requests_total",
	    "Object store calls, by operation (retries inside a call not counted).", "op");
	lat = metrics_histogram(m, "objstore_request_duration_seconds",
	    "Object store call latency, retries included.", "op",
	    metrics_latency_bounds, metrics_latency_nbounds);
	c->errors = metrics_counter(m, "objstore_errors_total",
	    "Object store calls that failed, by operation and kind.", "op,kind");
	for (int i = 0; i < OP_MAX; i++) {
		c->requests[i] = metric_series(req, op_names[i]);
		c->latency[i] = metric_series(lat, op_names[i]);
	}
	c->bytes_in = metric_series(metrics_counter(m,
	    "objstore_read_bytes_total", "Bytes read from the object store.", NULL));
	c->bytes_out = metric_series(metrics_counter(m,
	    "objstore_written_bytes_total", "Bytes written to the object store.", NULL));
	*out = &c->os;
	return 0;
}
