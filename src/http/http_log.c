/*
 * http_log.c - the log API: /api/v1/log/{append,scan,keys,count}, in the
 * JSON of OpenData Log, over the log streams of src/model/logs.h.
 *
 * A key names a stream by its path under /logs ("app" or "web/nginx");
 * a sequence is a byte offset in the stream, so a scan resumes exactly
 * where the last one ended (nextSequence) and the mount and the API
 * agree on every byte. A value is one record: it is stored as one record
 * of the stream (cut at LOGS_RECORD_MAX like any other), and a value
 * that does not end in a newline gets one, so that the stream stays a
 * file of lines for cat and tail. A scan gives back records as stored:
 * what one append (a value, or one write(2) on the mount) made.
 *
 * Everything a request carries is checked before anything is stored: a
 * request with one bad record stores none of them.
 *
 * The parsing is kept apart from the handlers (http_log_parse_*) for the
 * fuzz harness.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/labels.h"
#include "model/logs.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define SCAN_LIMIT_DEFAULT	1000
#define SCAN_LIMIT_MAX		100000
#define SCAN_BYTES_MAX		(8 * 1024 * 1024)	/* of values, before base64 */
#define KEYS_LIMIT_DEFAULT	1000
#define KEYS_LIMIT_MAX		100000
#define FOLLOW_TIMEOUT_MS	30000
#define FOLLOW_TIMEOUT_MAX_MS	300000

const char *
http_arg(const struct http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].name, name) == 0)
			return req->args[i].value != NULL ? req->args[i].value : "";
	return NULL;
}

int
http_parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	unsigned d;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (x > UINT64_MAX / 10 || (x == UINT64_MAX / 10 &&
		    d > UINT64_MAX % 10))
			return -EINVAL;	/* past 18446744073709551615 */
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int
http_parse_bool(const char *s, int *v)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || *s == '\0')
		*v = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*v = 0;
	else
		return -EINVAL;
	return 0;
}

/* ---- parsing an append ---- */

void
http_append_release(struct http_append *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		buf_release(&a->v[i].value);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* A value as a record: ends in a newline. */
static void
end_line(struct buf *v)
{
	if (v->len == 0 || v->data[v->len - 1] != '\n')
		buf_putc(v, '\n');
}

static int
bad(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
key_check(const char *key, size_t len, char *msg, size_t msglen)
{
	int rc = logs_path_check(key, len);

	if (rc == 0)
		return 0;
	return bad(msg, msglen, "bad key: a stream's path under /logs is "
	    "names joined by '/', without '.', '..', empty names, NUL or a "
	    "leading '/', each name at most %d bytes and the whole at most %d",
	    LOGS_NAME_MAX, LOGS_PATH_MAX);
}

int
http_parse_append_json(const char *body, size_t len, struct http_append *a,
    char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *root, *records, *rec, *k, *v, *d;
	size_t i, cap = 0;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return bad(msg, msglen, "malformed JSON at line %d, column %d: "
		    "%s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		rc = bad(msg, msglen, "the body must be a JSON object with "
		    "\"records\"");
		goto out;
	}
	d = json_object_get(root, "awaitDurable");
	if (d == NULL)
		d = json_object_get(root, "await_durable");
	if (d != NULL && !json_is_boolean(d)) {
		rc = bad(msg, msglen, "\"awaitDurable\" must be true or false");
		goto out;
	}
	a->await_durable = d != NULL && json_is_true(d);
	records = json_object_get(root, "records");
	if (!json_is_array(records) || json_array_size(records) == 0) {
		rc = bad(msg, msglen, "\"records\" must be a non-empty array");
		goto out;
	}
	json_array_foreach(records, i, rec) {
		k = json_object_get(rec, "key");
		v = json_object_get(rec, "value");
		if (!json_is_object(rec) || !json_is_string(k) ||
		    !json_is_string(v)) {
			rc = bad(msg, msglen, "record %zu: needs \"key\" (a "
			    "stream's path) and \"value\" (base64), both strings",
			    i);
			goto out;
		}
		if (key_check(json_string_value(k), json_string_length(k), msg,
		    msglen) != 0) {
			rc = -EINVAL;
			goto out;
		}
		a->v = xgrow(a->v, &cap, a->n + 1, sizeof(*a->v));
		struct http_record *r = &a->v[a->n++];
		r->key = xstrdup(json_string_value(k));
		r->klen = json_string_length(k);
		buf_init(&r->value, 0);
		if (base64_decode(&r->value, json_string_value(v),
		    json_string_length(v), 0) != 0) {
			rc = bad(msg, msglen, "record %zu: \"value\" is not "
			    "base64", i);
			goto out;
		}
		end_line(&r->value);
	}
out:
	json_decref(root);
	if (rc != 0)
		http_append_release(a);
	return rc;
}

int
http_parse_append_text(const char *key, const char *body, size_t len,
    struct http_append *a, char *msg, size_t msglen)
{
	memset(a, 0, sizeof(*a));
	if (key_check(key, strlen(key), msg, msglen) != 0)
		return -EINVAL;
	if (len == 0)
		return bad(msg, msglen, "the body is empty: it holds the lines "
		    "to append");
	a->v = xcalloc(1, sizeof(*a->v));
	a->n = 1;
	a->v[0].key = xstrdup(key);
	a->v[0].klen = strlen(key);
	buf_init(&a->v[0].value, len + 1);
	buf_append(&a->v[0].value, body, len);
	end_line(&a->v[0].value);
	return 0;
}

int
http_parse_range(const struct http_req *req, struct http_range *g, char *msg,
    size_t msglen)
{
	const char *s;

	memset(g, 0, sizeof(*g));
	g->end = UINT64_MAX;
	g->limit = SCAN_LIMIT_DEFAULT;
	g->timeout_ms = FOLLOW_TIMEOUT_MS;
	if ((g->key = http_arg(req, "key")) == NULL)
		return bad(msg, msglen, "missing parameter: key");
	if (key_check(g->key, strlen(g->key), msg, msglen) != 0)
		return -EINVAL;
	if ((s = http_arg(req, "start_seq")) != NULL &&
	    http_parse_u64(s, &g->start) != 0)
		return bad(msg, msglen, "start_seq must be a byte offset");
	if ((s = http_arg(req, "end_seq")) != NULL &&
	    http_parse_u64(s, &g->end) != 0)
		return bad(msg, msglen, "end_seq must be a byte offset");
	if (g->end < g->start)
		return bad(msg, msglen, "end_seq is before start_seq");
	if ((s = http_arg(req, "limit")) != NULL &&
	    (http_parse_u64(s, &g->limit) != 0 || g->limit == 0 ||
	    g->limit > SCAN_LIMIT_MAX))
		return bad(msg, msglen, "limit must be from 1 to %d",
		    SCAN_LIMIT_MAX);
	if ((s = http_arg(req, "follow")) != NULL &&
	    http_parse_bool(s, &g->follow) != 0)
		return bad(msg, msglen, "follow must be true or false");
	if ((s = http_arg(req, "timeout_ms")) != NULL &&
	    (http_parse_u64(s, &g->timeout_ms) != 0 ||
	    g->timeout_ms > FOLLOW_TIMEOUT_MAX_MS))
		return bad(msg, msglen, "timeout_ms must be from 0 to %d",
		    FOLLOW_TIMEOUT_MAX_MS);
	return 0;
}

/* ---- answers ---- */

void
http_json_key(struct buf *out, const char *field, const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);	/* NULL: not UTF-8 */
	char *t = j != NULL ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) :
	    NULL;

	if (t != NULL)
		buf_printf(out, "\"%s\":%s", field, t);
	else {
		/* JSON strings are text: the bytes go as base64 instead */
		buf_printf(out, "\"%sBase64\":\"", field);
		base64_append(out, s, len);
		buf_putc(out, '"');
	}
	free(t);
	json_decref(j);
}

#define ERRNO_MSG_MAX	(LOGS_PATH_MAX + 128)

/*
 * The status and message for what a logs call returned, for stream
 * `key`; `create` for an append, to which a stream on the way to a key
 * is in the way, as a directory is.
 */
static int
errno_status(int rc, const char *key, int create, char *msg, size_t msglen)
{
	switch (rc) {
	case -ENOTDIR:
		if (create) {
			snprintf(msg, msglen, "a name on the way to '%s' is a "
			    "stream, not a directory", key);
			return 400;
		}
		/* FALLTHROUGH */
	case -ENOENT:
		snprintf(msg, msglen, "no such stream: %s", key);
		return 404;
	case -EISDIR:
		snprintf(msg, msglen, "'%s' is a directory, not a stream", key);
		return 400;
	case -EEXIST:
		snprintf(msg, msglen, "'%s' is in the way of a directory", key);
		return 400;
	case -EINVAL:
	case -ENAMETOOLONG:
		snprintf(msg, msglen, "bad key");
		return 400;
	case -EROFS:
		snprintf(msg, msglen, "not writable: fenced by another writer");
		return 503;
	case -EBUSY:
		snprintf(msg, msglen, "'%s' is being read through the page "
		    "cache of the mount; retry", key);
		return 503;
	default:
		snprintf(msg, msglen, "the store failed: %s", strerror(-rc));
		return 500;
	}
}

/* The reply for what a logs call returned, for stream `key`. */
static void
reply_errno(struct http_reply *r, int rc, const char *key, int create)
{
	char msg[ERRNO_MSG_MAX];
	int status = errno_status(rc, key, create, msg, sizeof(msg));

	http_reply_error(r, status, msg);
}

static void
do_append(struct http *h, struct logs *l, struct http_append *a,
    const struct labels *ls, struct http_reply *r)
{
	struct logs_attr at;
	const char *last = NULL;
	uint64_t seq = 0, off, first = 0;
	size_t i, n;
	int rc = 0, status;
	char msg[ERRNO_MSG_MAX + 64];

	if (logs_read_only(l)) {
		http_reply_error(r, 403, "this store is followed read-only: "
		    "append where it is written");
		return;
	}
	for (i = 0; i < a->n; i++) {
		struct http_record *rec = &a->v[i];
		if (last == NULL || strcmp(last, rec->key) != 0) {
			if ((rc = logs_resolve(l, rec->key, rec->klen, 1,
			    &at)) != 0)
				break;
			/* labels= gives the stream its labels, then appends */
			if (ls != NULL && (rc = logs_labels_set(l, at.id,
			    ls)) != 0)
				break;
			last = rec->key;
		}
		rc = logs_append_at(l, at.id, rec->value.data, rec->value.len,
		    &seq, &off);
		if (rc != 0)
			break;
		if (i == 0)
			first = off;
	}
	if (rc != 0) {
		status = errno_status(rc, a->v[i].key, 1, msg, sizeof(msg));
		if (i > 0) {
			/* say what is stored: the records before this one */
			n = strlen(msg);
			snprintf(msg + n, sizeof(msg) - n, " (the first %zu "
			    "records were appended)", i);
		}
		http_reply_error(r, status, msg);
		return;
	}
	/*
	 * Stored: wait in slices, so that a stop does not wait on a store
	 * that does not answer (the records are then stored at the close,
	 * or reported lost in the log).
	 */
	while (a->await_durable && (rc = logs_sync_seq(l, seq, 100)) ==
	    -ETIMEDOUT && !__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST))
		;
	if (a->await_durable && rc != 0) {
		http_reply_error(r, 503, rc == -ETIMEDOUT ? "appended, but not "
		    "yet stored: shutting down" : rc == -EROFS ? "appended, but "
		    "not stored: fenced by another writer" : "appended, but not "
		    "yet stored: the object store is failing");
		return;
	}
	r->content_type = "application/json";
	buf_printf(&r->body, "{\"status\":\"success\",\"recordsAppended\":%zu,"
	    "\"startSequence\":%" PRIu64 "}\n", a->n, first);
}

/* POST /api/v1/log/append: JSON, or with ?key= the lines of a text body */
static void
route_append(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct logs *l = atomic_load(&h->l);
	struct http_append a;
	struct labels *ls = NULL;
	const char *key = http_arg(req, "key"), *s;
	char msg[512];
	int rc, d;

	if ((s = http_arg(req, "labels")) != NULL &&
	    (rc = logs_labels_parse(s, strlen(s), &ls)) != 0) {
		snprintf(msg, sizeof(msg), "labels: %s", err_detail());
		http_reply_error(r, 400, msg);
		return;
	}
	if (key != NULL)
		rc = http_parse_append_text(key, req->body, req->body_len, &a,
		    msg, sizeof(msg));
	else
		rc = http_parse_append_json(req->body, req->body_len, &a, msg,
		    sizeof(msg));
	if (rc == 0 && (s = http_arg(req, "awaitDurable")) != NULL) {
		if (http_parse_bool(s, &d) != 0) {
			http_append_release(&a);
			rc = -EINVAL;
			snprintf(msg, sizeof(msg), "awaitDurable must be true "
			    "or false");
		} else
			a.await_durable |= d;
	}
	if (rc != 0) {
		labels_free(ls);
		http_reply_error(r, 400, msg);
		return;
	}
	do_append(h, l, &a, ls, r);
	http_append_release(&a);
	labels_free(ls);
}

struct scan_out {
	struct buf	*body;
	size_t		 n;
};

static int
scan_one(void *arg, uint64_t off, const void *data, size_t len, int64_t ts)
{
	struct scan_out *o = arg;

	(void)ts;
	buf_printf(o->body, "%s{\"sequence\":%" PRIu64 ",\"value\":\"",
	    o->n > 0 ? "," : "", off);
	base64_append(o->body, data, len);
	buf_puts(o->body, "\"}");
	o->n++;
	return 0;
}

/* GET /api/v1/log/scan: records from start_seq; follow waits for some */
static void
route_scan(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct logs *l = atomic_load(&h->l);
	struct http_range g;
	struct logs_attr a;
	struct scan_out o;
	uint64_t next;
	int64_t deadline;
	char msg[512];
	int rc;

	if (http_parse_range(req, &g, msg, sizeof(msg)) != 0) {
		http_reply_error(r, 400, msg);
		return;
	}
	if ((rc = logs_resolve(l, g.key, strlen(g.key), 0, &a)) != 0) {
		reply_errno(r, rc, g.key, 0);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.body = &r->body;
	buf_puts(&r->body, "{\"status\":\"success\",");
	http_json_key(&r->body, "key", g.key, strlen(g.key));
	buf_puts(&r->body, ",\"values\":[");
	deadline = clock_mono_ns() + (int64_t)g.timeout_ms * 1000000;
	for (;;) {
		rc = logs_scan(l, a.id, g.start, g.end, (size_t)g.limit,
		    SCAN_BYTES_MAX, scan_one, &o, &next);
		if (rc != 0 || o.n > 0 || !g.follow || g.start >= g.end)
			break;
		/* a long poll: until the stream grows past start_seq */
		rc = logs_wait(l, a.id, g.start, deadline, &h->stopping);
		if (rc != 0) {
			/* a timeout or a stop: the answer is what there is */
			rc = rc == -ENOENT ? rc : 0;
			break;
		}
	}
	if (rc != 0) {
		reply_errno(r, rc, g.key, 0);
		return;
	}
	r->content_type = "application/json";
	buf_printf(&r->body, "],\"nextSequence\":%" PRIu64 "}\n", next);
}

/* GET /api/v1/log/count: records and bytes in [start_seq, end_seq) */
struct count_out {
	uint64_t	 records, bytes;
};

static int
count_one(void *arg, uint64_t off, const void *data, size_t len, int64_t ts)
{
	struct count_out *c = arg;

	(void)off;
	(void)data;
	(void)ts;
	c->records++;
	c->bytes += len;
	return 0;
}

static void
route_count(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct logs *l = atomic_load(&h->l);
	struct count_out c = { 0, 0 };
	struct http_range g;
	struct logs_attr a;
	uint64_t next;
	char msg[512];
	int rc;

	if (http_parse_range(req, &g, msg, sizeof(msg)) != 0) {
		http_reply_error(r, 400, msg);
		return;
	}
	if ((rc = logs_resolve(l, g.key, strlen(g.key), 0, &a)) != 0 ||
	    (rc = logs_scan(l, a.id, g.start, g.end, SIZE_MAX, SIZE_MAX,
	    count_one, &c, &next)) != 0) {
		reply_errno(r, rc, g.key, 0);
		return;
	}
	r->content_type = "application/json";
	buf_printf(&r->body, "{\"status\":\"success\",\"count\":%" PRIu64
	    ",\"bytes\":%" PRIu64 "}\n", c.records, c.bytes);
}

/* ---- keys: the streams, depth first, names in byte order ---- */

/*
 * The order of a depth-first walk: paths compared as if '/' were below
 * every byte a name may hold (a directory's streams come before a name
 * that extends the directory's: "a/x" < "a.b").
 */
int
http_path_cmp(const char *a, const char *b)
{
	int x, y;

	for (;; a++, b++) {
		x = *a == '/' ? 1 : *a == '\0' ? 0 : (unsigned char)*a + 1;
		y = *b == '/' ? 1 : *b == '\0' ? 0 : (unsigned char)*b + 1;
		if (x != y || x == 0)
			return x - y;
	}
}

struct entry {
	char		*name;
	uint64_t	 id;
	enum logs_type	 type;
};

/* One directory of the walk: its entries, and where the walk is in them. */
struct frame {
	struct entry	*v;
	size_t		 n, cap;
	size_t		 next;		/* the entry to look at next */
	size_t		 base;		/* the directory's path length */
};

struct walk {
	struct logs	*l;
	const char	*prefix;
	const char	*after;		/* NULL: from the first */
	uint64_t	 limit, n;
	int		 more;
	struct buf	*body;
	struct buf	 path;
	struct buf	 last;
	struct frame	*stack;		/* the directories being walked, root first */
	size_t		 depth, cap;
};

static int
list_one(void *arg, const char *name, size_t len, const struct logs_attr *a)
{
	struct frame *f = arg;
	struct entry *e;

	f->v = xgrow(f->v, &f->cap, f->n + 1, sizeof(*f->v));
	e = &f->v[f->n++];
	e->name = xstrndup(name, len);
	e->id = a->id;
	e->type = a->type;
	return 0;
}

/* Can a stream under directory `dir` (a path, then '/') match? */
static int
dir_wanted(struct walk *w, const char *dir, size_t len)
{
	size_t plen = strlen(w->prefix);
	size_t n = len < plen ? len : plen;

	if (memcmp(dir, w->prefix, n) != 0)
		return 0;
	if (w->after != NULL && http_path_cmp(dir, w->after) < 0 &&
	    strncmp(w->after, dir, len) != 0)
		return 0;	/* all of it is before the cursor */
	return 1;
}

/* Read directory `dir` into a new frame on top of the stack. */
static int
walk_push(struct walk *w, uint64_t dir)
{
	struct frame *f;
	int rc;

	w->stack = xgrow(w->stack, &w->cap, w->depth + 1, sizeof(*w->stack));
	f = &w->stack[w->depth++];
	memset(f, 0, sizeof(*f));
	f->base = w->path.len;
	rc = logs_readdir(w->l, dir, list_one, f);
	return rc == -ENOENT ? 0 : rc;	/* removed meanwhile: nothing in it */
}

static void
walk_pop(struct walk *w)
{
	struct frame *f = &w->stack[--w->depth];

	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].name);
	free(f->v);
	w->path.len = f->base;
	if (w->path.data != NULL)
		w->path.data[w->path.len] = '\0';
}

/*
 * The streams in depth-first order, from a stack on the heap: the tree
 * is whatever mkdir made, so its depth is the user's to choose, and a
 * thread's stack is not. Only paths scan can name are listed (at most
 * LOGS_PATH_MAX bytes), so a directory whose path leaves no room for a
 * name under it is not read: that also bounds the stack, to
 * LOGS_PATH_MAX / 2 frames.
 */
static int
walk(struct walk *w)
{
	struct entry *e;
	struct frame *f;
	int rc;

	if ((rc = walk_push(w, LOGS_ROOT_ID)) != 0)
		goto out;
	while (w->depth > 0 && !w->more) {
		f = &w->stack[w->depth - 1];
		if (f->next == f->n) {
			walk_pop(w);
			continue;
		}
		e = &f->v[f->next++];
		w->path.len = f->base;
		if (f->base > 0)
			buf_putc(&w->path, '/');
		buf_puts(&w->path, e->name);
		if (e->type == LOGS_DIR) {
			/* "dir/" and a name of one byte at least */
			if (w->path.len + 2 > LOGS_PATH_MAX)
				continue;
			buf_putc(&w->path, '/');
			if (!dir_wanted(w, w->path.data, w->path.len))
				continue;
			w->path.len--;
			w->path.data[w->path.len] = '\0';
			if ((rc = walk_push(w, e->id)) != 0)
				goto out;
			continue;
		}
		if (w->path.len > LOGS_PATH_MAX ||
		    strncmp(w->path.data, w->prefix, strlen(w->prefix)) != 0 ||
		    (w->after != NULL && http_path_cmp(w->path.data,
		    w->after) <= 0))
			continue;
		if (w->n == w->limit) {
			w->more = 1;
			break;
		}
		buf_puts(w->body, w->n > 0 ? ",{" : "{");
		http_json_key(w->body, "key", w->path.data, w->path.len);
		buf_putc(w->body, '}');
		buf_reset(&w->last);
		buf_append(&w->last, w->path.data, w->path.len);
		w->n++;
	}
out:
	while (w->depth > 0)
		walk_pop(w);
	free(w->stack);
	w->stack = NULL;
	w->cap = 0;
	return rc;
}

int
http_parse_keys(const struct http_req *req, struct http_keys *k, char *msg,
    size_t msglen)
{
	const char *s, *b;

	memset(k, 0, sizeof(*k));
	buf_init(&k->after_buf, LOGS_PATH_MAX + 4);
	k->limit = KEYS_LIMIT_DEFAULT;
	k->prefix = (s = http_arg(req, "prefix")) != NULL ? s : "";
	k->after = http_arg(req, "after");
	if ((b = http_arg(req, "after_base64")) != NULL) {
		if (k->after != NULL)
			return bad(msg, msglen, "after and after_base64 "
			    "name the same thing: give one");
		if (base64_decode(&k->after_buf, b, strlen(b), 0) != 0 ||
		    memchr(k->after_buf.data, '\0', k->after_buf.len) != NULL)
			return bad(msg, msglen, "after_base64 must be the "
			    "base64 of a key (the nextBase64 of a page)");
		k->after = buf_str(&k->after_buf);
	}
	if ((s = http_arg(req, "limit")) != NULL &&
	    (http_parse_u64(s, &k->limit) != 0 || k->limit == 0 ||
	    k->limit > KEYS_LIMIT_MAX))
		return bad(msg, msglen, "limit must be from 1 to %d",
		    KEYS_LIMIT_MAX);
	return 0;
}

/* GET /api/v1/log/keys: the streams' paths, `limit` at a time after `after` */
static void
route_keys(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct http_keys k;
	struct walk w;
	char msg[256];
	int rc;

	memset(&w, 0, sizeof(w));
	buf_init(&w.path, 0);
	buf_init(&w.last, 0);
	if (http_parse_keys(req, &k, msg, sizeof(msg)) != 0) {
		http_reply_error(r, 400, msg);
		goto out;
	}
	w.l = atomic_load(&h->l);
	w.limit = k.limit;
	w.prefix = k.prefix;
	w.after = k.after;
	w.body = &r->body;
	buf_puts(&r->body, "{\"status\":\"success\",\"keys\":[");
	if ((rc = walk(&w)) != 0) {
		reply_errno(r, rc, "", 0);
		goto out;
	}
	r->content_type = "application/json";
	buf_putc(&r->body, ']');
	if (w.more) {
		buf_putc(&r->body, ',');
		http_json_key(&r->body, "next", buf_str(&w.last), w.last.len);
	}
	buf_puts(&r->body, "}\n");
out:
	buf_release(&k.after_buf);
	buf_release(&w.path);
	buf_release(&w.last);
}

const struct http_route http_log_routes[] = {
	{ "/api/v1/log/append", HTTP_POST | HTTP_STORE, route_append },
	{ "/api/v1/log/scan", HTTP_GET | HTTP_STORE, route_scan },
	{ "/api/v1/log/keys", HTTP_GET | HTTP_STORE, route_keys },
	{ "/api/v1/log/count", HTTP_GET | HTTP_STORE, route_count },
};
const size_t http_log_nroutes = sizeof(http_log_routes) /
    sizeof(http_log_routes[0]);
