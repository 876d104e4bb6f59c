/*
 * http_loki_push.c - Loki's push API over the log streams:
 *
 *	POST /loki/api/v1/push	JSON, or snappy-compressed protobuf
 *	POST /api/prom/push	the same (the path older clients use)
 *
 * A request is decoded whole (loki_push_decode()) before anything is
 * stored, then given to logs_push(), which checks every entry and stores
 * all of them in one engine batch or none; the answer waits until that
 * batch is in the object store, so a 204 means the entries outlive a
 * crash, as for remote write (http_write.c).
 *
 * The status is what Loki's clients act on (Promtail, the Alloy and
 * Fluent Bit outputs, the client libraries): a 2xx is done, a 4xx other
 * than 429 drops the batch, a 5xx is retried. Hence:
 *
 *	204	every entry stored
 *	400	what no retry fixes, with Loki's kind of message: a body that
 *		does not decode, bad labels, a label set whose path is taken,
 *		an entry too old or too far ahead of the clock
 *	413	past a limit: the body's 1 MiB, PUSH_MAX_* once uncompressed
 *	415	a Content-Encoding other than gzip, deflate, snappy or none
 *		(a Content-Type other than JSON is read as protobuf, as Loki
 *		reads it)
 *	503	what a retry may fix: the store opening or failing, this
 *		writer fenced, a read-only follower, a stop
 *	500	out of memory
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "http/http_int.h"
#include "model/logs.h"
#include "model/loki_push.h"
#include "util/error.h"
#include "util/metrics.h"

/*
 * A body is 1 MiB at most (HTTP_BODY_MAX); gzip may make that a
 * thousand times more. What Loki's own limits allow by default (a
 * message of 100 MB) is more than a request of 1 MiB needs: these keep
 * the cost of a request bounded whatever it holds.
 */
#define PUSH_MAX_SIZE		(64 * 1024 * 1024)	/* uncompressed */
#define PUSH_MAX_ENTRIES	1000000
#define PUSH_MAX_MEMORY		(256 * 1024 * 1024)	/* the parsers' */
#define SYNC_SLICE_MS		100

/* The families; registered once, valid for the life of the process. */
static struct {
	struct metric		*requests;	/* by code */
	struct metric_series	*entries;
	struct metric_series	*bytes;
	struct metric_series	*failed;
} lm;

static pthread_once_t lm_once = PTHREAD_ONCE_INIT;

static void
lm_register(void)
{
	struct metrics *m = metrics_global();

	lm.requests = metrics_counter(m, "loki_push_requests_total",
	    "Loki push requests answered, by HTTP status.", "code");
	lm.entries = metric_series(metrics_counter(m,
	    "loki_push_entries_ingested_total",
	    "Entries of Loki push requests stored.", NULL));
	lm.bytes = metric_series(metrics_counter(m,
	    "loki_push_bytes_ingested_total",
	    "Bytes of the lines of Loki push requests stored.", NULL));
	lm.failed = metric_series(metrics_counter(m,
	    "loki_push_entries_failed_total",
	    "Entries of decoded Loki push requests refused: too old or too "
	    "new, bad labels, the store failing.", NULL));
}

void
http_loki_push_register(void)
{
	pthread_once(&lm_once, lm_register);
}

/*
 * The status and message for what logs_push() and the wait for its
 * batch returned.
 */
static int
status_of(struct logs *l, int rc, int sync_rc, char *msg, size_t msglen)
{
	switch (rc) {
	case 0:
		break;
	case -EINVAL:
	case -ERANGE:
	case -ENAMETOOLONG:
	case -EISDIR:
	case -ENOTDIR:
	case -EEXIST:
		snprintf(msg, msglen, "%s", err_message(rc));
		return 400;
	case -EFBIG:
		snprintf(msg, msglen, "%s", err_message(rc));
		return 413;
	case -EROFS:
		snprintf(msg, msglen, logs_read_only(l) ? "this store is "
		    "followed read-only: push where it is written" :
		    "not writable: fenced by another writer");
		return 503;
	case -EBUSY:
		snprintf(msg, msglen, "a stream of the push is open for "
		    "reading through the page cache: try again");
		return 503;
	case -ENOENT:
		snprintf(msg, msglen, "a stream of the push was removed while "
		    "it was written: try again");
		return 503;
	case -ENOMEM:
		snprintf(msg, msglen, "out of memory");
		return 500;
	default:
		snprintf(msg, msglen, "the object store is failing: %s",
		    err_message(rc));
		return 503;
	}
	switch (sync_rc) {
	case 0:
		return 204;
	case -ETIMEDOUT:
		snprintf(msg, msglen, "taken, but not yet stored: shutting "
		    "down");
		return 503;
	case -EROFS:
		snprintf(msg, msglen, "taken, but not stored: fenced by "
		    "another writer");
		return 503;
	default:
		snprintf(msg, msglen, "taken, but not yet stored: the object "
		    "store is failing: %s", err_message(sync_rc));
		return 503;
	}
}

/*
 * Wait until the batch `seq` is in the object store, in slices, so that
 * a stop does not wait on a store that does not answer.
 */
static int
sync_seq(struct http *h, struct logs *l, uint64_t seq)
{
	int rc;

	while ((rc = logs_sync_seq(l, seq, SYNC_SLICE_MS)) == -ETIMEDOUT &&
	    !__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST))
		;
	return rc;
}

static void
count_request(int status)
{
	char code[16];

	snprintf(code, sizeof(code), "%d", status);
	metric_add(metric_series(lm.requests, code), 1);
}

void
http_route_loki_push(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	static const struct loki_push_limits lim = {
		PUSH_MAX_SIZE, PUSH_MAX_ENTRIES, PUSH_MAX_MEMORY
	};
	struct logs *l = atomic_load(&h->l);
	struct loki_push p;
	uint64_t seq = 0;
	char msg[1024];
	int rc, sync_rc = 0, status;

	http_loki_push_register();
	err_clear();	/* no detail of this thread's last request */
	memset(&p, 0, sizeof(p));
	if (loki_push_encoding(req->content_encoding) < 0) {
		snprintf(msg, sizeof(msg), "%s", err_detail());
		status = 415;
		goto out;
	}
	if (l == NULL) {
		snprintf(msg, sizeof(msg), "opening the store");
		status = 503;
		goto out;
	}
	if (logs_read_only(l)) {
		snprintf(msg, sizeof(msg), "this store is followed read-only: "
		    "push where it is written");
		status = 503;
		goto out;
	}
	rc = loki_push_decode(req->content_type, req->content_encoding,
	    req->body, req->body_len, &lim, &p);
	if (rc == 0) {
		rc = logs_push(l, p.v, p.n, &seq);
		if (rc == 0)
			sync_rc = sync_seq(h, l, seq);
		if (rc == 0 && sync_rc == 0) {
			metric_add(lm.entries, (double)p.entries);
			metric_add(lm.bytes, (double)p.bytes);
		} else
			metric_add(lm.failed, (double)p.entries);
	}
	status = status_of(l, rc, sync_rc, msg, sizeof(msg));
out:
	if (status == 204) {
		r->status = 204;
		buf_reset(&r->body);
	} else {
		/* Loki answers a refused push in plain text */
		r->status = status;
		r->content_type = "text/plain; charset=utf-8";
		buf_reset(&r->body);
		buf_printf(&r->body, "%s\n", msg);
	}
	count_request(status);
	loki_push_release(&p);
}
