/*
 * objstore_s3.c - the s3:// backend: S3's REST API over libcurl, signed
 * with our own SigV4 (s3_sigv4.c).
 *
 * One request, s3_do():
 *
 *   handle_take()  a curl handle from the pool (waits while max_parallel
 *                  are in flight; idle handles keep their connections)
 *   sign()         SigV4 over method, encoded path, canonical query and the
 *                  host, x-amz-* and condition headers; the URL is built
 *                  from the same encoded path and query, so what is sent is
 *                  what was signed
 *   perform        curl_easy_perform, body from memory, response into a
 *                  bounded buffer
 *   status_error() map the result to a code, with S3's error code, message
 *                  and request id in the detail
 *   handle_give()  back to the pool
 *
 * Codes: 404 NoSuchKey -ENOENT, NoSuchBucket SHALE_ENOBUCKET, 403
 * SHALE_EAUTH, 412 -EEXIST, 429/5xx SHALE_ETRANSIENT; curl: cannot connect
 * SHALE_ECONN, timeout -ETIMEDOUT, reset or short body -ECONNRESET. The
 * retrying layer above decides what to try again.
 *
 * Multipart (put above multipart_threshold):
 *
 *   POST ?uploads -> UploadId -> PUT ?partNumber=i&uploadId= (each part)
 *     -> POST ?uploadId= (complete; a 200 may carry an <Error>)
 *   any failure after UploadId -> DELETE ?uploadId= (abort), then the error
 *
 * Thread-safe: the pool is behind `lock`; a handle is used by one thread.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/objstore/objstore_int.h"
#include "engine/objstore/s3_creds.h"
#include "engine/objstore/s3_sigv4.h"
#include "engine/objstore/s3_xml.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define LIST_PAGE	1000
#define DELETE_BATCH	1000
#define SMALL_BODY_MAX	((size_t)64 << 20)	/* XML answers, error bodies */

struct s3 {
	struct objstore	 os;
	char		*bucket;
	char		*prefix;	/* "" or ending in '/' */
	struct s3_settings set;
	char		*host;		/* Host header */
	char		*base;		/* scheme://host[:port] for URLs */
	int		 path_style;
	int		 unsigned_payload;
	long		 connect_timeout_ms;
	long		 timeout_s;
	uint64_t	 mp_threshold;
	uint64_t	 part_size;

	pthread_mutex_t	 lock;		/* protects idle, nidle, busy */
	pthread_cond_t	 cond;
	CURL		**idle;
	int		 nidle;
	int		 busy;
	int		 max_parallel;
};

struct s3_req {
	const char	*method;
	const char	*key;		/* full key below the prefix, NULL for the bucket */
	const struct sigv4_param *params;
	size_t		 nparams;
	const struct sigv4_header *hdrs;	/* extra signed headers */
	size_t		 nhdrs;
	const char	*body;
	size_t		 bodylen;
	struct buf	*out;		/* response body, or NULL for a small private one */
	int		 head;		/* HEAD: no body */
};

struct s3_resp {
	long		 status;
	struct buf	 small;		/* body when req->out is NULL */
	struct buf	*body;
	size_t		 start;		/* where this answer begins in body */
	char		 etag[72];
	char		 request_id[128];
	char		 last_modified[64];
	uint64_t	 content_length;
	int		 have_length;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the handle pool ---- */

static CURL *
handle_take(struct s3 *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->lock);
	while (s->busy >= s->max_parallel)
		pthread_cond_wait(&s->cond, &s->lock);
	s->busy++;
	if (s->nidle > 0)
		h = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->lock);
	return h ? h : curl_easy_init();
}

static void
handle_give(struct s3 *s, CURL *h, int keep)
{
	pthread_mutex_lock(&s->lock);
	s->busy--;
	if (keep && h != NULL && s->nidle < s->max_parallel)
		s->idle[s->nidle++] = h;
	else if (h != NULL)
		curl_easy_cleanup(h);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* ---- curl callbacks ---- */

struct upload {
	const char	*p;
	size_t		 left;
};

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->left)
		n = u->left;
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static size_t
write_cb(char *src, size_t size, size_t nmemb, void *arg)
{
	struct s3_resp *r = arg;
	size_t n = size * nmemb;

	if (buf_append(r->body, src, n) != 0)
		return 0;	/* over the ceiling: curl fails with WRITE_ERROR */
	return n;
}

static void
copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct s3_resp *r = arg;
	size_t n = size * nmemb, k;
	const char *colon = memchr(line, ':', n);
	char tmp[32];

	if (colon == NULL)
		return n;
	k = (size_t)(colon - line);
	colon++;
	if (k == 4 && strncasecmp(line, "ETag", 4) == 0)
		copy_header_value(r->etag, sizeof(r->etag), colon, n - k - 1);
	else if (k == 16 && strncasecmp(line, "x-amz-request-id", 16) == 0)
		copy_header_value(r->request_id, sizeof(r->request_id), colon, n - k - 1);
	else if (k == 13 && strncasecmp(line, "Last-Modified", 13) == 0)
		copy_header_value(r->last_modified, sizeof(r->last_modified), colon,
		    n - k - 1);
	else if (k == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
		copy_header_value(tmp, sizeof(tmp), colon, n - k - 1);
		r->content_length = strtoull(tmp, NULL, 10);
		r->have_length = 1;
	}
	return n;
}

/* ---- errors ---- */

static const char *
show_key(const struct s3_req *q)
{
	return q->key ? q->key : "";
}

/* The code and detail for a non-2xx answer. */
static int
status_error(struct s3 *s, const struct s3_req *q, struct s3_resp *r)
{
	struct s3_error e = { 0 };
	const char *rid;
	struct buf m;
	int rc;

	if (r->body->len > r->start)
		s3_xml_parse_error(r->body->data + r->start, r->body->len - r->start,
		    &e);
	switch (r->status) {
	case 404:
		rc = e.code && strcmp(e.code, "NoSuchBucket") == 0 ?
		    SHALE_ENOBUCKET : -ENOENT;
		if (q->head && q->key == NULL)
			rc = SHALE_ENOBUCKET;
		break;
	case 403:
	case 401:
		rc = SHALE_EAUTH;
		break;
	case 412:
		rc = -EEXIST;
		break;
	case 409:	/* ConditionalRequestConflict: a racer is mid-write */
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		rc = SHALE_ETRANSIENT;
		break;
	default:
		rc = r->status >= 500 ? SHALE_ETRANSIENT : SHALE_ESTORE;
	}
	buf_init(&m, 0);
	buf_printf(&m, "%s 's3://%s/%s%s': HTTP %ld", q->method, s->bucket,
	    s->prefix, show_key(q), r->status);
	if (e.code != NULL)
		buf_printf(&m, " %s", e.code);
	if (e.message != NULL && e.message[0] != '\0')
		buf_printf(&m, ": %s", e.message);
	else if (rc == SHALE_EAUTH)
		buf_puts(&m, ": access denied (check the credentials)");
	rid = e.request_id ? e.request_id : r->request_id[0] ? r->request_id : NULL;
	if (rid != NULL)
		buf_printf(&m, " (request id %s)", rid);
	err_set(rc, "%s", buf_str(&m));
	buf_release(&m);
	if (rc == SHALE_ETRANSIENT)
		log_debug("%s", err_detail());
	s3_error_release(&e);
	return rc;
}

static int
curl_error(struct s3 *s, const struct s3_req *q, CURLcode cc, const char *msg)
{
	int rc;

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		rc = SHALE_ECONN;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		rc = -ETIMEDOUT;
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		rc = -ECONNRESET;
		break;
	case CURLE_WRITE_ERROR:
		return err_set(-EFBIG, "%s 's3://%s/%s%s': response larger than the "
		    "buffer", q->method, s->bucket, s->prefix, show_key(q));
	default:
		rc = SHALE_ESTORE;
	}
	return err_set(rc, "%s 's3://%s/%s%s': %s: %s", q->method, s->bucket,
	    s->prefix, show_key(q), s->set.endpoint, msg[0] ? msg :
	    curl_easy_strerror(cc));
}

/* ---- one request ---- */

static int
s3_do(struct s3 *s, const struct s3_req *q, struct s3_resp *r)
{
	struct sigv4_header hv[16];
	struct sigv4_input in = { 0 };
	struct sigv4_output so;
	struct curl_slist *hl = NULL;
	struct upload up = { q->body, q->bodylen };
	struct buf path, url, line;
	char date[17], hash[65], errbuf[CURL_ERROR_SIZE] = "";
	size_t nh = 0, i;
	CURL *h;
	CURLcode cc;
	int rc = 0, keep = 1;

	memset(r, 0, sizeof(*r));
	buf_init(&r->small, SMALL_BODY_MAX);
	r->body = q->out ? q->out : &r->small;
	r->start = r->body->len;
	buf_init(&path, 0);
	buf_init(&url, 0);
	buf_init(&line, 0);
	sigv4_output_init(&so);

	/* the raw path: /bucket/prefixkey or /prefixkey */
	if (s->path_style)
		buf_printf(&path, "/%s/", s->bucket);
	else
		buf_putc(&path, '/');
	if (q->key != NULL) {
		buf_puts(&path, s->prefix);
		buf_puts(&path, q->key);
	}
	sigv4_amz_date(date);
	if (q->bodylen > 0 && s->unsigned_payload)
		strcpy(hash, SIGV4_UNSIGNED_PAYLOAD);
	else
		sigv4_sha256_hex(q->body ? q->body : "", q->bodylen, hash);
	hv[nh++] = (struct sigv4_header){ "host", s->host };
	hv[nh++] = (struct sigv4_header){ "x-amz-date", date };
	hv[nh++] = (struct sigv4_header){ "x-amz-content-sha256", hash };
	if (s->set.session_token)
		hv[nh++] = (struct sigv4_header){ "x-amz-security-token",
		    s->set.session_token };
	for (i = 0; i < q->nhdrs && nh < sizeof(hv) / sizeof(hv[0]); i++)
		hv[nh++] = q->hdrs[i];
	in.method = q->method;
	in.path = path.data;
	in.params = q->params;
	in.nparams = q->nparams;
	in.headers = hv;
	in.nheaders = nh;
	in.payload_hash = hash;
	in.amz_date = date;
	in.region = s->set.region;
	in.service = "s3";
	in.access_key = s->set.access_key;
	in.secret_key = s->set.secret_key;
	if ((rc = sigv4_sign(&in, &so)) != 0) {
		rc = err_set(rc, "cannot sign %s '%s'", q->method, show_key(q));
		goto out;
	}
	buf_printf(&url, "%s%s%s%s", s->base, buf_str(&so.path),
	    so.query.len ? "?" : "", buf_str(&so.query));

	for (i = 0; i < nh; i++) {
		if (strcmp(hv[i].name, "host") == 0)
			continue;	/* curl sends Host from the URL */
		buf_reset(&line);
		buf_printf(&line, "%s: %s", hv[i].name, hv[i].value);
		hl = curl_slist_append(hl, line.data);
	}
	buf_reset(&line);
	buf_printf(&line, "Authorization: %s", buf_str(&so.authorization));
	hl = curl_slist_append(hl, line.data);
	hl = curl_slist_append(hl, "Expect:");
	hl = curl_slist_append(hl, "Accept:");
	if (q->body != NULL && strcmp(q->method, "POST") == 0)
		hl = curl_slist_append(hl, "Content-Type: application/xml");

	if ((h = handle_take(s)) == NULL) {
		rc = err_set(-ENOMEM, "cannot create a curl handle");
		handle_give(s, NULL, 0);
		goto out;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);	/* keys may hold "/./" */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, s->timeout_s);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (q->head) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->bodylen);
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->bodylen);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = curl_error(s, q, cc, errbuf);
		keep = 0;	/* the connection may be in any state */
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->status < 200 || r->status > 299)
			rc = status_error(s, q, r);
	}
	handle_give(s, h, keep);
out:
	curl_slist_free_all(hl);
	sigv4_output_release(&so);
	buf_release(&path);
	buf_release(&url);
	buf_release(&line);
	return rc;
}

static void
resp_release(struct s3_resp *r)
{
	buf_release(&r->small);
}

/* ---- operations ---- */

static int
s3_get(struct objstore *os, const char *key, uint64_t off, uint64_t len,
    struct buf *out)
{
	struct s3 *s = (struct s3 *)os;
	struct sigv4_header range;
	struct s3_req q = { .method = "GET", .key = key };
	struct s3_resp r;
	char rv[64];
	size_t mark = out->len;
	int rc;

	if (len == 0)
		return 0;
	if (off > 0 || len != OBJSTORE_TO_END) {
		if (len == OBJSTORE_TO_END || off + len < off)
			snprintf(rv, sizeof(rv), "bytes=%llu-", (unsigned long long)off);
		else
			snprintf(rv, sizeof(rv), "bytes=%llu-%llu",
			    (unsigned long long)off, (unsigned long long)(off + len - 1));
		range = (struct sigv4_header){ "range", rv };
		q.hdrs = &range;
		q.nhdrs = 1;
	}
	q.out = out;
	rc = s3_do(s, &q, &r);
	if (rc == 0 && r.have_length && out->len - mark != r.content_length)
		rc = err_set(-ECONNRESET, "GET 's3://%s/%s%s': %zu of %llu bytes "
		    "received", s->bucket, s->prefix, key, out->len - mark,
		    (unsigned long long)r.content_length);
	if (rc != 0 && r.status == 416)
		rc = 0;		/* a range past the end reads nothing */
	if (rc != 0 || r.status == 416) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
	}
	resp_release(&r);
	return rc;
}

static int
put_single(struct s3 *s, const char *key, const void *data, size_t len,
    int exclusive)
{
	struct sigv4_header inm = { "if-none-match", "*" };
	struct s3_req q = { .method = "PUT", .key = key };
	struct s3_resp r;
	int rc;

	q.body = data ? data : "";
	q.bodylen = len;
	if (exclusive) {
		q.hdrs = &inm;
		q.nhdrs = 1;
	}
	rc = s3_do(s, &q, &r);
	if (rc == -EEXIST)
		err_set(rc, "'%s' exists", key);
	resp_release(&r);
	return rc;
}

static int
multipart_abort(struct s3 *s, const char *key, const char *id)
{
	struct sigv4_param p = { "uploadId", id };
	struct s3_req q = { .method = "DELETE", .key = key, .params = &p, .nparams = 1 };
	struct s3_resp r;
	int rc;

	rc = s3_do(s, &q, &r);
	resp_release(&r);
	if (rc != 0 && rc != -ENOENT)
		log_warn("cannot abort multipart upload of '%s' (%s): %s", key, id,
		    err_detail());
	return rc;
}

static int
put_multipart(struct s3 *s, const char *key, const char *data, size_t len)
{
	struct sigv4_param up = { "uploads", "" };
	struct s3_req q = { .method = "POST", .key = key, .params = &up, .nparams = 1 };
	struct s3_resp r;
	struct buf xml;
	char *id = NULL, **etags = NULL, num[24];
	size_t nparts = (len + s->part_size - 1) / s->part_size, i;
	int rc;

	buf_init(&xml, 0);
	q.body = "";
	if ((rc = s3_do(s, &q, &r)) == 0 &&
	    s3_xml_parse_upload_id(r.small.data, r.small.len, &id) != 0)
		rc = err_set(SHALE_ESTORE, "POST '%s?uploads': no UploadId in the "
		    "answer", key);
	resp_release(&r);
	if (rc != 0)
		return rc;
	etags = xcalloc(nparts, sizeof(*etags));
	for (i = 0; i < nparts; i++) {
		size_t off = i * (size_t)s->part_size;
		size_t n = len - off < s->part_size ? len - off : (size_t)s->part_size;
		struct sigv4_param pp[2] = { { "partNumber", num }, { "uploadId", id } };
		struct s3_req pq = { .method = "PUT", .key = key, .params = pp, .nparams = 2 };

		snprintf(num, sizeof(num), "%zu", i + 1);
		pq.body = data + off;
		pq.bodylen = n;
		rc = s3_do(s, &pq, &r);
		if (rc == 0 && r.etag[0] == '\0')
			rc = err_set(SHALE_ESTORE, "PUT part %zu of '%s': no ETag", i + 1, key);
		if (rc == 0)
			etags[i] = xstrdup(r.etag);
		resp_release(&r);
		if (rc != 0)
			goto fail;
	}
	s3_xml_complete_request(&xml, etags, nparts);
	{
		struct sigv4_param cp = { "uploadId", id };
		struct s3_req cq = { .method = "POST", .key = key, .params = &cp, .nparams = 1 };
		struct s3_error e = { 0 };

		cq.body = xml.data;
		cq.bodylen = xml.len;
		rc = s3_do(s, &cq, &r);
		/* a 200 whose body is an <Error> is a failure too */
		if (rc == 0 && s3_xml_parse_error(r.small.data, r.small.len, &e) == 0)
			rc = err_set(SHALE_ETRANSIENT, "complete multipart '%s': %s: %s",
			    key, e.code ? e.code : "?", e.message ? e.message : "");
		s3_error_release(&e);
		resp_release(&r);
	}
	if (rc != 0)
		goto fail;
	goto out;
fail:
	{
		/* keep the error's detail across the abort */
		char saved[1024];

		snprintf(saved, sizeof(saved), "%s", err_detail());
		multipart_abort(s, key, id);
		err_set(rc, "%s", saved);
	}
out:
	for (i = 0; i < nparts; i++)
		free(etags[i]);
	free(etags);
	free(id);
	buf_release(&xml);
	return rc;
}

static int
s3_put(struct objstore *os, const char *key, const void *data, size_t len)
{
	struct s3 *s = (struct s3 *)os;

	if (len > s->mp_threshold)
		return put_multipart(s, key, data, len);
	return put_single(s, key, data, len, 0);
}

static int
s3_put_if_absent(struct objstore *os, const char *key, const void *data,
    size_t len)
{
	return put_single((struct s3 *)os, key, data, len, 1);
}

static int
s3_head(struct objstore *os, const char *key, struct objstore_meta *m)
{
	struct s3 *s = (struct s3 *)os;
	struct s3_req q = { .method = "HEAD", .key = key };
	struct s3_resp r;
	struct tm tm;
	int rc;

	q.head = 1;
	if ((rc = s3_do(s, &q, &r)) == 0) {
		m->size = r.content_length;
		snprintf(m->etag, sizeof(m->etag), "%s", r.etag);
		memset(&tm, 0, sizeof(tm));
		if (strptime(r.last_modified, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL)
			m->mtime = (int64_t)timegm(&tm);
	} else if (rc == -ENOENT) {
		err_set(rc, "'%s' not found", key);
	}
	resp_release(&r);
	return rc;
}

static int
s3_list(struct objstore *os, const char *prefix, const char *after,
    size_t max, struct objstore_list *l)
{
	struct s3 *s = (struct s3 *)os;
	struct sigv4_param p[5];
	struct s3_req q = { .method = "GET", .key = NULL };
	struct s3_resp r;
	char *full = xasprintf("%s%s", s->prefix, prefix), *fafter = NULL;
	char *token = NULL, num[24];
	size_t np = 0;
	int rc, truncated = 0;

	snprintf(num, sizeof(num), "%zu", max ? max : LIST_PAGE);
	p[np++] = (struct sigv4_param){ "list-type", "2" };
	p[np++] = (struct sigv4_param){ "prefix", full };
	p[np++] = (struct sigv4_param){ "max-keys", num };
	p[np++] = (struct sigv4_param){ "encoding-type", "url" };
	if (after != NULL) {
		fafter = xasprintf("%s%s", s->prefix, after);
		p[np++] = (struct sigv4_param){ "start-after", fafter };
	}
	q.params = p;
	q.nparams = np;
	if ((rc = s3_do(s, &q, &r)) == 0) {
		rc = s3_xml_parse_list(r.small.data, r.small.len, s->prefix, 1, l,
		    &truncated, &token);
		if (rc != 0)
			rc = err_set(SHALE_ESTORE, "list 's3://%s/%s': malformed answer",
			    s->bucket, full);
	}
	if (rc == 0 && truncated && l->n > 0)
		l->next = xstrdup(l->entries[l->n - 1].key);
	resp_release(&r);
	free(token);
	free(full);
	free(fafter);
	return rc;
}

static int
s3_delete(struct objstore *os, const char *key)
{
	struct s3_req q = { .method = "DELETE", .key = key };
	struct s3_resp r;
	int rc;

	rc = s3_do((struct s3 *)os, &q, &r);
	resp_release(&r);
	return rc == -ENOENT ? 0 : rc;
}

/* One POST ?delete of at most DELETE_BATCH keys, all XML-safe. */
static int
delete_some(struct s3 *s, const char *const *keys, size_t n)
{
	struct sigv4_param p = { "delete", "" };
	struct sigv4_header md5h = { "content-md5", NULL };
	struct s3_req q = { .method = "POST", .params = &p, .nparams = 1,
	    .hdrs = &md5h, .nhdrs = 1 };
	struct s3_error e = { 0 };
	struct s3_resp r;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char b64[32], *fkey = NULL;
	const char **full = xcalloc(n, sizeof(*full));
	struct buf xml;
	size_t nerr = 0, i;
	int rc;

	buf_init(&xml, 0);
	for (i = 0; i < n; i++)
		full[i] = xasprintf("%s%s", s->prefix, keys[i]);
	if ((rc = s3_xml_delete_request(&xml, full, n)) != 0)
		goto out;
	EVP_Digest(xml.data, xml.len, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	md5h.value = b64;
	q.body = xml.data;
	q.bodylen = xml.len;
	if ((rc = s3_do(s, &q, &r)) == 0 &&
	    s3_xml_parse_delete_result(r.small.data, r.small.len, &nerr, &e, &fkey) == 0 &&
	    nerr > 0) {
		rc = err_set(e.code && strcmp(e.code, "AccessDenied") == 0 ?
		    SHALE_EAUTH : SHALE_ETRANSIENT, "delete of %zu keys: %zu failed, "
		    "first '%s': %s: %s", n, nerr, fkey ? fkey : "?",
		    e.code ? e.code : "?", e.message ? e.message : "");
	}
	resp_release(&r);
out:
	s3_error_release(&e);
	free(fkey);
	for (i = 0; i < n; i++)
		free((char *)full[i]);
	free(full);
	buf_release(&xml);
	return rc;
}

static int
s3_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	struct s3 *s = (struct s3 *)os;
	const char **batch = xcalloc(n, sizeof(*batch));
	size_t nb = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		/* a key XML cannot carry is deleted on its own */
		if (!s3_xml_text_ok(keys[i])) {
			rc = s3_delete(os, keys[i]);
			continue;
		}
		batch[nb++] = keys[i];
		if (nb == DELETE_BATCH) {
			rc = delete_some(s, batch, nb);
			nb = 0;
		}
	}
	if (rc == 0 && nb > 0)
		rc = delete_some(s, batch, nb);
	free(batch);
	return rc;
}

static void
s3_close(struct objstore *os)
{
	struct s3 *s = (struct s3 *)os;

	for (int i = 0; i < s->nidle; i++)
		curl_easy_cleanup(s->idle[i]);
	free(s->idle);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	s3_settings_release(&s->set);
	free(s->bucket);
	free(s->prefix);
	free(s->host);
	free(s->base);
	free(os->uri);
	free(s);
}

static const struct objstore_ops s3_ops = {
	"s3", s3_get, s3_put, s3_put_if_absent, s3_head, s3_list, s3_delete,
	s3_delete_batch, s3_close
};

int
objstore_s3_open(const char *bucket, const char *prefix,
    const struct objstore_opts *o, struct objstore **out)
{
	struct s3 *s;
	const char *hostport;
	char *scheme;
	int rc;

	pthread_once(&curl_once, curl_init_once);
	s3_xml_init();
	s = xcalloc(1, sizeof(*s));
	if ((rc = s3_settings_load(o, &s->set)) != 0) {
		free(s);
		return rc;
	}
	s->os.ops = &s3_ops;
	s->bucket = xstrdup(bucket);
	s->prefix = xstrdup(prefix);
	s->path_style = o->addressing == OBJSTORE_ADDR_PATH ? 1 :
	    o->addressing == OBJSTORE_ADDR_VHOST ? 0 : s->set.custom_endpoint;
	hostport = strstr(s->set.endpoint, "://") + 3;
	scheme = xstrndup(s->set.endpoint, (size_t)(hostport - s->set.endpoint));
	if (s->path_style) {
		s->host = xstrdup(hostport);
		s->base = xstrdup(s->set.endpoint);
	} else {
		s->host = xasprintf("%s.%s", bucket, hostport);
		s->base = xasprintf("%s%s", scheme, s->host);
	}
	free(scheme);
	s->unsigned_payload = o->unsigned_payload &&
	    strncmp(s->set.endpoint, "https://", 8) == 0;
	s->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
	s->timeout_s = o->timeout_ms > 0 ? (o->timeout_ms + 999) / 1000 : 30;
	s->mp_threshold = o->multipart_threshold ? o->multipart_threshold :
	    (uint64_t)64 << 20;
	s->part_size = o->part_size ? o->part_size : (uint64_t)16 << 20;
	if (s->part_size < ((uint64_t)5 << 20))
		s->part_size = (uint64_t)5 << 20;	/* S3's minimum */
	s->max_parallel = o->max_parallel > 0 ? o->max_parallel : 16;
	s->idle = xcalloc((size_t)s->max_parallel, sizeof(*s->idle));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	*out = &s->os;
	return 0;
}
