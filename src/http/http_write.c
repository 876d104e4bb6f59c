/*
 * http_write.c - the ingest of metric series, over src/model/series.h:
 *
 *	POST /api/v1/write		Prometheus remote write 1.0 and 2.0
 *	POST /api/v1/import/prometheus	the text format 0.0.4, OpenMetrics
 *
 * A request is one commit of one series_appender: the body is decoded
 * whole before anything is added (rw_decode() and series_import() refuse
 * a bad body having given nothing), its samples go to the engine as one
 * batch, and the answer waits until that batch is in the object store
 * (series_sync_seq()). So a 2xx means the samples outlive a crash, and a
 * request whose answer was lost can be sent again: the samples it finds
 * stored are ignored as duplicates (series.h), and it adds nothing twice.
 *
 * The status is what Prometheus's remote write client acts on: a 2xx is
 * done; a 4xx other than 429 drops the batch for good; a 5xx is retried
 * with backoff. Hence:
 *
 *	204	every sample taken, or a duplicate of one stored
 *	400	what no retry fixes: a body that does not decode (snappy,
 *		protobuf, an invalid name), samples out of order or at a
 *		time the series holds with another value, a series past
 *		max_series (the others of the request are taken: the
 *		message names the first refused)
 *	413	past a limit (rw_limits below, the body's 1 MiB)
 *	415	a Content-Type or Content-Encoding that is not remote write
 *	503	what a retry may fix, and the message says which: the store
 *		failing, this writer fenced, a read-only follower, a stop
 *
 * Remote write 2.0 answers say, in X-Prometheus-Remote-Write-*-Written
 * headers, what was written: the samples taken or found already stored;
 * histograms and exemplars are never stored, so 0 of them. What is left
 * out is counted in the metrics and logged at most once a minute.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"
#include "model/remote_write.h"
#include "model/series.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

/*
 * A body is 1 MiB at most (HTTP_BODY_MAX): Prometheus sends 500 samples
 * a request by default (max_samples_per_send), some tens of KiB. Snappy
 * expands a block at most about 21 times, so 1 MiB of body holds at most
 * about a million samples of 20 bytes each: the limits are there so that
 * such a body is taken, and nothing more costly is.
 */
#define RW_MAX_SAMPLES		1000000
#define RW_MAX_SIZE		(32 * 1024 * 1024)	/* uncompressed */
#define RW_MAX_MEMORY		(128 * 1024 * 1024)	/* the parser's */
#define SYNC_SLICE_MS		100
#define DROP_LOG_EVERY_NS	(60 * 1000000000LL)

#define HDR_SAMPLES	"X-Prometheus-Remote-Write-Samples-Written"
#define HDR_HISTOGRAMS	"X-Prometheus-Remote-Write-Histograms-Written"
#define HDR_EXEMPLARS	"X-Prometheus-Remote-Write-Exemplars-Written"

/* The families; registered once, valid for the life of the process. */
static struct {
	struct metric		*requests;	/* by code */
	struct metric_series	*ingested;
	struct metric_series	*failed;
	struct metric_series	*exemplars;
	struct metric_series	*histograms;
	/* left out since the last line logged; the time of that line */
	atomic_uint_fast64_t	 pending_exemplars;
	atomic_uint_fast64_t	 pending_histograms;
	atomic_int_fast64_t	 logged_ns;
} wm;

static pthread_once_t wm_once = PTHREAD_ONCE_INIT;

static void
wm_register(void)
{
	struct metrics *m = metrics_global();

	wm.requests = metrics_counter(m, "remote_write_requests_total",
	    "Remote write requests answered, by HTTP status.", "code");
	wm.ingested = metric_series(metrics_counter(m,
	    "remote_write_samples_ingested_total",
	    "Samples of remote write requests taken (duplicates of stored "
	    "samples not counted).", NULL));
	wm.failed = metric_series(metrics_counter(m,
	    "remote_write_samples_failed_total",
	    "Samples of remote write requests refused: out of order, a "
	    "conflicting duplicate, a series over the limit, the store "
	    "failing, a body that does not decode.", NULL));
	wm.exemplars = metric_series(metrics_counter(m,
	    "remote_write_exemplars_dropped_total",
	    "Exemplars of remote write requests left out: they are not "
	    "stored.", NULL));
	wm.histograms = metric_series(metrics_counter(m,
	    "remote_write_histograms_dropped_total",
	    "Native histogram samples of remote write requests left out: "
	    "they are not stored.", NULL));
}

void
http_write_register(void)
{
	pthread_once(&wm_once, wm_register);
}

/*
 * Count what a request left out; log it, with what others left out
 * since, at most once a minute, so that a sender of histograms does not
 * fill the log.
 */
static void
note_dropped(size_t exemplars, size_t histograms)
{
	int_fast64_t now = clock_mono_ns(), last;
	uint_fast64_t ex, hi;

	if (exemplars == 0 && histograms == 0)
		return;
	metric_add(wm.exemplars, (double)exemplars);
	metric_add(wm.histograms, (double)histograms);
	atomic_fetch_add(&wm.pending_exemplars, exemplars);
	atomic_fetch_add(&wm.pending_histograms, histograms);
	last = atomic_load(&wm.logged_ns);
	if (last != 0 && now - last < DROP_LOG_EVERY_NS)
		return;
	if (!atomic_compare_exchange_strong(&wm.logged_ns, &last, now))
		return;		/* another request logs it */
	ex = atomic_exchange(&wm.pending_exemplars, 0);
	hi = atomic_exchange(&wm.pending_histograms, 0);
	log_warn("remote write: left out %" PRIuFAST64 " exemplars and %"
	    PRIuFAST64 " native histogram samples%s: only float samples are "
	    "stored", ex, hi, last != 0 ? " in the last minute" : "");
}

/* ---- what both routes share ---- */

/*
 * Wait until the batch `seq` is in the object store, in slices, so that
 * a stop does not wait on a store that does not answer (the batch is
 * then stored at the close, or reported lost in the log).
 */
static int
sync_seq(struct http *h, struct series *s, uint64_t seq)
{
	int rc;

	if (seq == 0)
		return 0;
	while ((rc = series_sync_seq(s, seq, SYNC_SLICE_MS)) == -ETIMEDOUT &&
	    !__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST))
		;
	return rc;
}

/*
 * The status and message for what a commit or its wait returned. rc is
 * the commit's; sync_rc the wait's, which counts only when the commit
 * wrote something (it is 0 otherwise).
 */
static int
status_of(struct series *s, int rc, int sync_rc, char *msg, size_t msglen)
{
	if (rc == 0 || rc == -EINVAL || rc == -ENOSPC) {
		if (sync_rc == -ETIMEDOUT) {
			snprintf(msg, msglen, "taken, but not yet stored: "
			    "shutting down");
			return 503;
		}
		if (sync_rc == -EROFS) {
			snprintf(msg, msglen, "taken, but not stored: fenced "
			    "by another writer");
			return 503;
		}
		if (sync_rc != 0) {
			snprintf(msg, msglen, "taken, but not yet stored: the "
			    "object store is failing: %s", err_message(sync_rc));
			return 503;
		}
	}
	switch (rc) {
	case 0:
		return 204;
	case -EINVAL:
	case -ENOSPC:
		snprintf(msg, msglen, "%s", err_message(rc));
		return 400;
	case -EFBIG:
		snprintf(msg, msglen, "%s", err_message(rc));
		return 413;
	case -EROFS:
		snprintf(msg, msglen, series_read_only(s) ? "this store is "
		    "followed read-only: write where it is written" :
		    "not writable: fenced by another writer");
		return 503;
	case -ENOMEM:
		snprintf(msg, msglen, "out of memory");
		return 500;
	default:
		snprintf(msg, msglen, "the object store is failing: %s",
		    err_message(rc));
		return 503;
	}
}

/* 0 and *out, or 503 and why in msg: the store cannot take samples. */
static int
writable(struct http *h, struct series **out, char *msg, size_t msglen)
{
	struct series *s = atomic_load(&h->s);

	if (s == NULL) {
		snprintf(msg, msglen, "opening the store");
		return 503;
	}
	if (series_read_only(s)) {
		snprintf(msg, msglen, "this store is followed read-only: "
		    "write where it is written");
		return 503;
	}
	*out = s;
	return 0;
}

static void
reply(struct http_reply *r, int status, const char *msg)
{
	if (status == 204) {
		r->status = 204;
		buf_reset(&r->body);
	} else
		http_reply_error(r, status, msg);
}

/* ---- POST /api/v1/write ---- */

struct rw_ctx {
	struct series		*s;
	struct series_appender	*a;
	struct series_sample	*v;		/* a series' samples, converted */
	size_t			 cap;
};

static int
on_series(void *arg, const struct labels *ls, const struct rw_sample *x,
    size_t n)
{
	struct rw_ctx *c = arg;

	c->v = xgrow(c->v, &c->cap, n, sizeof(*c->v));
	for (size_t i = 0; i < n; i++) {
		c->v[i].t = x[i].t;
		c->v[i].v = x[i].v;
	}
	return series_appender_add(c->a, ls, c->v, n);
}

static const enum series_type type_of[] = {
	[RW_TYPE_UNKNOWN] = SERIES_UNKNOWN,
	[RW_TYPE_COUNTER] = SERIES_COUNTER,
	[RW_TYPE_GAUGE] = SERIES_GAUGE,
	[RW_TYPE_HISTOGRAM] = SERIES_HISTOGRAM,
	[RW_TYPE_GAUGEHISTOGRAM] = SERIES_GAUGEHISTOGRAM,
	[RW_TYPE_SUMMARY] = SERIES_SUMMARY,
	[RW_TYPE_INFO] = SERIES_INFO,
	[RW_TYPE_STATESET] = SERIES_STATESET,
};

/* Metadata is stored as it comes: the request decoded whole already. */
static int
on_metadata(void *arg, const struct rw_metadata *md)
{
	struct rw_ctx *c = arg;
	struct series_meta m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.metric = md->name;
	m.metric_len = md->name_len;
	m.type = (size_t)md->type < sizeof(type_of) / sizeof(type_of[0]) ?
	    type_of[md->type] : SERIES_UNKNOWN;
	m.help = md->help;
	m.help_len = md->help_len;
	m.unit = md->unit;
	m.unit_len = md->unit_len;
	/*
	 * What cannot be kept (help past its bound) is said and left out:
	 * the request's samples are no worse for it
	 */
	if ((rc = series_meta_put(c->s, &m)) == -EINVAL) {
		log_warn("remote write: metadata of '%.*s' left out: %s",
		    (int)md->name_len, md->name, err_detail());
		rc = 0;
	}
	return rc;
}

static void
count_request(int status)
{
	char code[16];

	snprintf(code, sizeof(code), "%d", status);
	metric_add(metric_series(wm.requests, code), 1);
}

static void
route_write(struct http *h, const struct http_req *req, struct http_reply *r)
{
	static const struct rw_limits lim = {
		RW_MAX_SIZE, RW_MAX_SAMPLES, RW_MAX_MEMORY
	};
	struct rw_handler hd;
	struct rw_counts got;
	struct series_counts sc;
	struct rw_ctx c;
	uint64_t seq = 0, written = 0;
	char msg[1024];
	int v, rc, sync_rc = 0, status;

	err_clear();	/* no detail of this thread's last request */
	memset(&c, 0, sizeof(c));
	memset(&sc, 0, sizeof(sc));
	if ((v = rw_version(req->content_type)) < 0) {
		snprintf(msg, sizeof(msg), "%s", err_message(v));
		status = 415;
		goto out;
	}
	if (req->content_encoding != NULL &&
	    strcasecmp(req->content_encoding, "snappy") != 0) {
		snprintf(msg, sizeof(msg), "Content-Encoding '%.64s' is not "
		    "taken: remote write bodies are snappy",
		    req->content_encoding);
		status = 415;
		goto out;
	}
	if ((status = writable(h, &c.s, msg, sizeof(msg))) != 0)
		goto out;
	c.a = series_appender_new(c.s);
	hd.on_series = on_series;
	hd.on_metadata = on_metadata;
	hd.arg = &c;
	rc = rw_decode((enum rw_version)v, req->body, req->body_len, &lim, &hd,
	    &got);
	/* a body refused gave nothing; a failed metadata put, some metadata */
	if (rc == 0) {
		rc = series_appender_commit(c.a, &sc, &seq);
		if (rc == 0 || rc == -EINVAL || rc == -ENOSPC)
			sync_rc = sync_seq(h, c.s, seq);
	}
	status = status_of(c.s, rc, sync_rc, msg, sizeof(msg));
	note_dropped(got.exemplars, got.histograms);
	written = sc.samples + sc.duplicates;
	metric_add(wm.ingested, (double)sc.samples);
	if (got.samples > written)
		metric_add(wm.failed, (double)(got.samples - written));
out:
	/* a 2.0 answer says what was written, whatever its status */
	if (v == RW_V2) {
		http_reply_header(r, HDR_SAMPLES, "%" PRIu64, written);
		http_reply_header(r, HDR_HISTOGRAMS, "0");
		http_reply_header(r, HDR_EXEMPLARS, "0");
	}
	reply(r, status, msg);
	count_request(status);
	if (c.a != NULL)
		series_appender_free(c.a);
	free(c.v);
}

/* ---- POST /api/v1/import/prometheus ---- */

static int
is_openmetrics(const char *ct)
{
	static const char om[] = "application/openmetrics-text";

	return ct != NULL && strncasecmp(ct, om, sizeof(om) - 1) == 0 &&
	    (ct[sizeof(om) - 1] == '\0' || ct[sizeof(om) - 1] == ';' ||
	    ct[sizeof(om) - 1] == ' ');
}

static void
route_import(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct series_import_result res;
	struct series *s;
	char msg[1024];
	int rc, sync_rc = 0, status;

	err_clear();
	if ((status = writable(h, &s, msg, sizeof(msg))) != 0) {
		reply(r, status, msg);
		return;
	}
	memset(&res, 0, sizeof(res));
	rc = series_import(s, req->body, req->body_len,
	    is_openmetrics(req->content_type), clock_wall_ns() / 1000000,
	    &res);
	if (rc == 0 || rc == -EINVAL || rc == -ENOSPC)
		sync_rc = sync_seq(h, s, res.seq);
	status = status_of(s, rc, sync_rc, msg, sizeof(msg));
	reply(r, status, msg);
}

const struct http_route http_write_routes[] = {
	{ "/api/v1/write", HTTP_POST | HTTP_STORE, route_write },
	{ "/api/v1/import/prometheus", HTTP_POST | HTTP_STORE, route_import },
};
const size_t http_write_nroutes = sizeof(http_write_routes) /
    sizeof(http_write_routes[0]);
