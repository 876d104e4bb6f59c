/*
 * loki_push.c - Loki push bodies to streams and entries (loki_push.h).
 *
 * A body goes through three steps, each refusing before the next:
 *
 *	inflate_body	the Content-Encoding undone (zlib), the output
 *			held to max_size as it grows
 *	decode_json	jansson parses the body; each stream's labels and
 *			entries are checked and kept, lines pointing into
 *			jansson's strings
 *	decode_proto	snappy's length header against max_size, then
 *			snappy_uncompress and protobuf-c, whose allocations
 *			are held to max_memory; lines point into the message
 *
 * Nothing is given to the caller before the whole body is checked, so a
 * refused push is refused whole.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <snappy-c.h>
#include <zlib.h>

#include "model/labels.h"
#include "model/logproto.pb-c.h"
#include "model/logs.h"
#include "model/loki_push.h"
#include "model/matcher.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define MEDIA_JSON	"application/json"
#define INFLATE_CHUNK	(64 * 1024)

/* Does the media type of a Content-Type value (before any ';') equal t? */
static int
media_is(const char *ct, const char *t)
{
	size_t n = strlen(t);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, t, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
loki_push_format(const char *ct)
{
	/*
	 * As Loki: JSON when it says so, protobuf otherwise, so that a
	 * client that sends no type, or curl's default one, is understood
	 */
	if (ct != NULL && media_is(ct, MEDIA_JSON))
		return LOKI_PUSH_JSON;
	return LOKI_PUSH_PROTOBUF;
}

int
loki_push_encoding(const char *ce)
{
	if (ce == NULL || *ce == '\0' || strcasecmp(ce, "identity") == 0 ||
	    strcasecmp(ce, "snappy") == 0)
		return LOKI_PUSH_IDENTITY;
	if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
		return LOKI_PUSH_GZIP;
	if (strcasecmp(ce, "deflate") == 0)
		return LOKI_PUSH_DEFLATE;
	return err_set(-EINVAL, "Content-Encoding '%.64s' is not taken: gzip, "
	    "deflate or none", ce);
}

/* ---- Content-Encoding ---- */

/*
 * Does a deflate body start with a zlib header? RFC 1950: method 8, a
 * window of at most 32 KiB, and the two bytes a multiple of 31. Raw
 * deflate (what Go's compress/flate writes) seldom passes all three.
 */
static int
zlib_header(const unsigned char *p, size_t n)
{
	return n >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 &&
	    ((unsigned)p[0] << 8 | p[1]) % 31 == 0;
}

static int
inflate_body(enum loki_push_encoding enc, const void *in, size_t len,
    size_t max, unsigned char **out, size_t *outlen)
{
	const char *what = enc == LOKI_PUSH_GZIP ? "gzip" : "deflate";
	unsigned char *buf = NULL;
	size_t cap = 0, used = 0;
	z_stream z;
	int rc, wbits;

	memset(&z, 0, sizeof(z));
	if (enc == LOKI_PUSH_GZIP)
		wbits = 16 + MAX_WBITS;
	else
		wbits = zlib_header(in, len) ? MAX_WBITS : -MAX_WBITS;
	if (inflateInit2(&z, wbits) != Z_OK)
		return err_set(-ENOMEM, "cannot start zlib");
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	for (;;) {
		if (used == cap) {
			if (cap > max) {
				rc = err_set(-EFBIG, "the %s body is larger "
				    "than %zu bytes uncompressed", what, max);
				goto fail;
			}
			cap = cap == 0 ? INFLATE_CHUNK : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			buf = xrealloc(buf, cap);
		}
		z.next_out = buf + used;
		z.avail_out = (uInt)(cap - used);
		rc = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_BUF_ERROR && z.avail_in == 0) {
			rc = err_set(-EINVAL, "the %s body is cut short", what);
			goto fail;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			rc = err_set(-EINVAL, "the body is not valid %s: %s",
			    what, z.msg != NULL ? z.msg : "bad data");
			goto fail;
		}
	}
	if (used > max) {
		rc = err_set(-EFBIG, "the %s body is larger than %zu bytes "
		    "uncompressed", what, max);
		goto fail;
	}
	inflateEnd(&z);
	*out = buf;
	*outlen = used;
	return 0;
fail:
	inflateEnd(&z);
	free(buf);
	return rc;
}

/* ---- what both formats share ---- */

/* Streams and entries as they are found, before they become the push's. */
struct acc {
	struct loki_push	*p;
	const struct loki_push_limits *lim;
	size_t			 cap_sets;
	size_t			 cap_first;
	size_t			 cap_entries;
	/* where each stream's entries start in p->all */
	size_t			*first;
};

static int
too_many(const struct acc *a)
{
	return err_set(-EFBIG, "the push holds more than %zu entries",
	    a->lim->max_entries);
}

/* Reserve room for n more entries: 0 or -EFBIG. */
static int
reserve_entries(struct acc *a, size_t n)
{
	if (n > a->lim->max_entries - a->p->entries)
		return too_many(a);
	a->p->all = xgrow(a->p->all, &a->cap_entries, a->p->entries + n,
	    sizeof(*a->p->all));
	return 0;
}

/*
 * An entry of the stream whose entries start at `first`. One that
 * repeats the time and line of the entry before it is dropped, as Loki
 * drops it, so that a client that sends a line twice in one push stores
 * it once.
 */
static void
add_entry(struct acc *a, size_t first, int64_t ts, const char *line,
    size_t len)
{
	struct logs_entry *e = &a->p->all[a->p->entries];

	if (a->p->entries > first && e[-1].ts_ns == ts && e[-1].len == len &&
	    memcmp(e[-1].line, line, len) == 0)
		return;
	a->p->entries++;
	e->ts_ns = ts;
	e->line = line;
	e->len = len;
	a->p->bytes += len;
}

/* A stream: its set (taken) and its entries from p->all[first] on. */
static void
add_stream(struct acc *a, struct labels *ls, size_t first)
{
	struct loki_push *p = a->p;

	if (p->entries == first) {
		labels_free(ls);	/* nothing to store in it */
		return;
	}
	p->sets = xgrow(p->sets, &a->cap_sets, p->n + 1, sizeof(*p->sets));
	a->first = xgrow(a->first, &a->cap_first, p->n + 1,
	    sizeof(*a->first));
	p->sets[p->n] = ls;
	a->first[p->n] = first;
	p->n++;
}

/* Point each stream at its entries, now that p->all moves no more. */
static int
finish(struct acc *a)
{
	struct loki_push *p = a->p;

	free(p->v);
	p->v = NULL;
	if (p->entries == 0)
		return err_set(-EINVAL, "the push holds no entries: at least "
		    "one stream with one entry is needed");
	p->v = xcalloc(p->n, sizeof(*p->v));
	for (size_t i = 0; i < p->n; i++) {
		size_t end = i + 1 < p->n ? a->first[i + 1] : p->entries;

		p->v[i].ls = p->sets[i];
		p->v[i].e = &p->all[a->first[i]];
		p->v[i].n = end - a->first[i];
	}
	return 0;
}

/* Prefix err_detail() with where it happened. */
static int
at(int rc, const char *where)
{
	char detail[768];

	snprintf(detail, sizeof(detail), "%s", err_detail());
	return err_set(rc, "%s: %s", where, detail);
}

/* ---- labels ---- */

int
loki_push_labels(const char *text, size_t len, struct labels **out)
{
	struct label pairs[SELECTOR_MATCHERS_MAX];
	struct selector *sel = NULL;
	size_t i = 0, n;
	int rc;

	*out = NULL;
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i == len)
		return err_set(-EINVAL, "no labels: at least one label pair is "
		    "required per stream");
	/* a metric name before the braces is PromQL's, not a stream's */
	if (text[i] != '{')
		return err_set(-EINVAL, "labels '%.*s' do not start with '{'",
		    (int)(len > 128 ? 128 : len), text);
	if ((rc = selector_parse(text, len, &sel)) != 0) {
		char detail[512];

		snprintf(detail, sizeof(detail), "%s", err_detail());
		return err_set(rc, "cannot parse labels '%.*s': %s",
		    (int)(len > 128 ? 128 : len), text, detail);
	}
	n = selector_count(sel);
	for (i = 0; i < n; i++) {
		const struct matcher *m = selector_at(sel, i);
		const char *name = matcher_name(m);

		if (matcher_op(m) != MATCHER_EQ) {
			rc = err_set(-EINVAL, "label '%s' is given with '%s': "
			    "a stream's labels are name=\"value\"", name,
			    matcher_op_str(matcher_op(m)));
			goto done;
		}
		pairs[i].name = name;
		pairs[i].name_len = strlen(name);
		pairs[i].value = matcher_value(m, &pairs[i].value_len);
	}
	rc = labels_new(pairs, n, LABELS_RESERVED, out);
done:
	selector_free(sel);
	return rc;
}

/* The set of a JSON "stream" object. */
static int
json_labels(json_t *obj, struct labels **out)
{
	struct label pairs[LABELS_COUNT_MAX];
	const char *name;
	json_t *v;
	size_t n = 0;

	*out = NULL;
	if (!json_is_object(obj))
		return err_set(-EINVAL, "\"stream\" is not an object of labels");
	if (json_object_size(obj) == 0)
		return err_set(-EINVAL, "no labels: at least one label pair is "
		    "required per stream");
	json_object_foreach(obj, name, v) {
		if (!json_is_string(v))
			return err_set(-EINVAL, "label '%.128s' is not a "
			    "string", name);
		if (n == LABELS_COUNT_MAX)
			return err_set(-EINVAL, "more than %d labels",
			    LABELS_COUNT_MAX);
		pairs[n].name = name;
		pairs[n].name_len = strlen(name);
		pairs[n].value = json_string_value(v);
		pairs[n].value_len = json_string_length(v);
		n++;
	}
	return labels_new(pairs, n, LABELS_RESERVED, out);
}

/* A set that dropped every pair (all values empty) is no set. */
static int
check_set(struct labels **ls)
{
	if (labels_count(*ls) > 0)
		return 0;
	labels_free(*ls);
	*ls = NULL;
	return err_set(-EINVAL, "no labels: at least one label pair with a "
	    "value is required per stream");
}

/* ---- JSON ---- */

/* A decimal integer of nanoseconds, as a string: "1700000000000000000". */
static int
json_time(json_t *v, int64_t *ts)
{
	const char *s;
	int neg = 0;
	uint64_t x = 0, lim;
	size_t n;

	if (!json_is_string(v))
		return err_set(-EINVAL, "the time is not a string of "
		    "nanoseconds");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > 0 && s[0] == '-') {
		neg = 1;
		s++;
		n--;
	}
	if (n == 0)
		return err_set(-EINVAL, "the time is empty");
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return err_set(-EINVAL, "the time '%.32s' is not an "
			    "integer of nanoseconds", json_string_value(v));
		if (x > (lim - d) / 10)
			return err_set(-EINVAL, "the time '%.32s' is out of "
			    "range", json_string_value(v));
		x = x * 10 + d;
	}
	*ts = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

/* Structured metadata: an object of strings. Checked, not kept. */
static int
json_metadata(json_t *v)
{
	const char *name;
	json_t *x;

	if (!json_is_object(v))
		return err_set(-EINVAL, "structured metadata is not an object");
	json_object_foreach(v, name, x)
		if (!json_is_string(x))
			return err_set(-EINVAL, "structured metadata '%.128s' "
			    "is not a string", name);
	return 0;
}

static int
json_entry(struct acc *a, size_t first, json_t *e)
{
	size_t n = json_is_array(e) ? json_array_size(e) : 0;
	json_t *line;
	int64_t ts = 0;
	int rc;

	if (n != 2 && n != 3)
		return err_set(-EINVAL, "an entry is [\"<ns>\", \"line\"] or "
		    "[\"<ns>\", \"line\", {metadata}]");
	if ((rc = json_time(json_array_get(e, 0), &ts)) != 0)
		return rc;
	line = json_array_get(e, 1);
	if (!json_is_string(line))
		return err_set(-EINVAL, "the line is not a string");
	if (n == 3 && (rc = json_metadata(json_array_get(e, 2))) != 0)
		return rc;
	add_entry(a, first, ts, json_string_value(line),
	    json_string_length(line));
	return 0;
}

static int
json_stream(struct acc *a, size_t i, json_t *s)
{
	struct labels *ls = NULL;
	json_t *values;
	size_t first = a->p->entries, n;
	char where[96];
	int rc;

	snprintf(where, sizeof(where), "streams[%zu]", i);
	if (!json_is_object(s))
		return err_set(-EINVAL, "%s is not an object", where);
	if ((rc = json_labels(json_object_get(s, "stream"), &ls)) != 0 ||
	    (rc = check_set(&ls)) != 0)
		return at(rc, where);
	values = json_object_get(s, "values");
	if (values != NULL && !json_is_array(values)) {
		labels_free(ls);
		return err_set(-EINVAL, "%s: \"values\" is not an array", where);
	}
	n = json_array_size(values);
	if ((rc = reserve_entries(a, n)) != 0) {
		labels_free(ls);
		return rc;
	}
	for (size_t k = 0; k < n; k++)
		if ((rc = json_entry(a, first, json_array_get(values,
		    k))) != 0) {
			labels_free(ls);
			snprintf(where, sizeof(where), "streams[%zu].values[%zu]",
			    i, k);
			return at(rc, where);
		}
	add_stream(a, ls, first);
	return 0;
}

/*
 * What jansson allocates for a body, bounded from above before it
 * parses: each string (keys too), array, object and number is a piece of
 * about JSON_VALUE_COST bytes, and the text of the strings is copied.
 * Counting takes one pass over the bytes, outside strings and inside
 * them, where only the closing quote matters.
 */
#define JSON_VALUE_COST	112

static size_t
json_cost(const unsigned char *p, size_t len)
{
	size_t values = 0;
	int in_str = 0, in_num = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if ((c >= '0' && c <= '9') || c == '-' || c == '+' ||
		    c == '.' || c == 'e' || c == 'E') {
			values += !in_num;
			in_num = 1;
			continue;
		}
		in_num = 0;
		if (c == '"') {
			in_str = 1;
			values++;
		} else if (c == '[' || c == '{')
			values++;
	}
	return values > (SIZE_MAX - len) / JSON_VALUE_COST ? SIZE_MAX :
	    values * JSON_VALUE_COST + len;
}

static int
decode_json(struct acc *a, const void *body, size_t len)
{
	json_error_t jerr;
	json_t *root, *streams;
	size_t cost;
	int rc;

	/* a gzip body of a megabyte may unpack to millions of tiny values */
	if ((cost = json_cost(body, len)) > a->lim->max_memory)
		return err_set(-EFBIG, "decoding the JSON body needs more than "
		    "%zu bytes of memory (about %zu)", a->lim->max_memory,
		    cost);
	/* a line may hold \u0000: it is bytes like any other */
	if ((root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr)) == NULL)
		return err_set(-EINVAL, "the body is not JSON: %s at line %d, "
		    "column %d", jerr.text, jerr.line, jerr.column);
	a->p->json = root;
	streams = json_object_get(root, "streams");
	if (!json_is_array(streams))
		return err_set(-EINVAL, "the body has no \"streams\" array");
	for (size_t i = 0; i < json_array_size(streams); i++)
		if ((rc = json_stream(a, i, json_array_get(streams, i))) != 0)
			return rc;
	return finish(a);
}

/* ---- protobuf ---- */

/*
 * The parser's allocations, counted against a budget: a message of tiny
 * entries unpacks into a struct and a pointer each, many times its size.
 * Each piece carries its size in front, so that a free gives it back.
 */
struct budget {
	ProtobufCAllocator	 pa;
	size_t			 used, max;
	int			 over;
};

static void *
budget_alloc(void *data, size_t n)
{
	struct budget *b = data;
	max_align_t *p;

	if (n > b->max - b->used || sizeof(max_align_t) > b->max - b->used -
	    n) {
		b->over = 1;
		return NULL;
	}
	p = xmalloc(sizeof(max_align_t) + n);
	*(size_t *)(void *)p = n;
	b->used += sizeof(max_align_t) + n;
	return p + 1;
}

static void
budget_free(void *data, void *ptr)
{
	struct budget *b = data;
	max_align_t *p = ptr;

	if (p == NULL)
		return;
	p--;
	b->used -= sizeof(max_align_t) + *(size_t *)(void *)p;
	free(p);
}

static int64_t
proto_time(const Logproto__Timestamp *t)
{
	int64_t s, ns;

	if (t == NULL)
		return 0;
	/* past what nanoseconds in an int64 can say: saturate */
	if (t->seconds > INT64_MAX / 1000000000 - 1)
		return INT64_MAX;
	if (t->seconds < INT64_MIN / 1000000000 + 1)
		return INT64_MIN;
	s = t->seconds * 1000000000;
	ns = t->nanos;
	return s + ns;
}

static int
proto_stream(struct acc *a, size_t i, const Logproto__StreamAdapter *s)
{
	struct labels *ls = NULL;
	size_t first = a->p->entries;
	char where[96];
	int rc;

	snprintf(where, sizeof(where), "streams[%zu]", i);
	if ((rc = loki_push_labels(s->labels.data != NULL ?
	    (const char *)s->labels.data : "", s->labels.len, &ls)) != 0 ||
	    (rc = check_set(&ls)) != 0)
		return at(rc, where);
	if ((rc = reserve_entries(a, s->n_entries)) != 0) {
		labels_free(ls);
		return rc;
	}
	for (size_t k = 0; k < s->n_entries; k++) {
		const Logproto__EntryAdapter *e = s->entries[k];
		const Logproto__Timestamp *t = e->timestamp;

		if (t != NULL && (t->nanos < 0 || t->nanos > 999999999)) {
			labels_free(ls);
			return err_set(-EINVAL, "streams[%zu].entries[%zu]: "
			    "the time's nanos %d are not in [0, 999999999]",
			    i, k, (int)t->nanos);
		}
		add_entry(a, first, proto_time(t), e->line.data != NULL ?
		    (const char *)e->line.data : "", e->line.len);
	}
	add_stream(a, ls, first);
	return 0;
}

static int
decode_proto(struct acc *a, const void *body, size_t len)
{
	const struct loki_push_limits *lim = a->lim;
	struct loki_push *p = a->p;
	Logproto__PushRequest *req;
	struct budget *b;
	size_t n;
	int rc;

	if (snappy_uncompressed_length(body, len, &n) != SNAPPY_OK)
		return err_set(-EINVAL, "the body is not snappy-compressed (a "
		    "protobuf push is snappy's block format)");
	if (n > lim->max_size)
		return err_set(-EFBIG, "the body is %zu bytes uncompressed, "
		    "more than the limit of %zu", n, lim->max_size);
	p->body = xmalloc(n > 0 ? n : 1);
	if (snappy_uncompress(body, len, p->body, &n) != SNAPPY_OK)
		return err_set(-EINVAL, "the body is not valid snappy");
	b = xcalloc(1, sizeof(*b));
	b->pa.alloc = budget_alloc;
	b->pa.free = budget_free;
	b->pa.allocator_data = b;
	b->max = lim->max_memory;
	p->alloc = b;
	req = logproto__push_request__unpack(&b->pa, n, p->body);
	if (req == NULL) {
		if (b->over)
			return err_set(-EFBIG, "decoding the push needs more "
			    "than %zu bytes of memory", lim->max_memory);
		return err_set(-EINVAL, "the body is not a valid "
		    "logproto.PushRequest protobuf message");
	}
	p->msg = req;
	for (size_t i = 0; i < req->n_streams; i++)
		if ((rc = proto_stream(a, i, req->streams[i])) != 0)
			return rc;
	return finish(a);
}

/* ---- the entry points ---- */

int
loki_push_decode_body(enum loki_push_format format, const void *body,
    size_t len, const struct loki_push_limits *lim, struct loki_push *p)
{
	struct acc a;
	int rc;

	memset(p, 0, sizeof(*p));
	memset(&a, 0, sizeof(a));
	a.p = p;
	a.lim = lim;
	if (format == LOKI_PUSH_JSON) {
		if (len > lim->max_size)
			rc = err_set(-EFBIG, "the body is %zu bytes, more than "
			    "the limit of %zu", len, lim->max_size);
		else
			rc = decode_json(&a, body, len);
	} else
		rc = decode_proto(&a, body, len);
	free(a.first);
	if (rc != 0)
		loki_push_release(p);
	return rc;
}

int
loki_push_decode(const char *content_type, const char *content_encoding,
    const void *body, size_t len, const struct loki_push_limits *lim,
    struct loki_push *p)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	int fmt, enc, rc;

	memset(p, 0, sizeof(*p));
	if ((fmt = loki_push_format(content_type)) < 0)
		return fmt;
	if ((enc = loki_push_encoding(content_encoding)) < 0)
		return enc;
	if (enc == LOKI_PUSH_IDENTITY)
		return loki_push_decode_body((enum loki_push_format)fmt, body,
		    len, lim, p);
	if ((rc = inflate_body((enum loki_push_encoding)enc, body, len,
	    lim->max_size, &raw, &rawlen)) != 0)
		return rc;
	rc = loki_push_decode_body((enum loki_push_format)fmt, raw, rawlen,
	    lim, p);
	/* JSON lines point into jansson's strings, protobuf's into p->body */
	free(raw);
	return rc;
}

void
loki_push_release(struct loki_push *p)
{
	struct budget *b = p->alloc;

	for (size_t i = 0; i < p->n; i++)
		labels_free(p->sets[i]);
	free(p->sets);
	free(p->v);
	free(p->all);
	if (p->json != NULL)
		json_decref(p->json);
	if (p->msg != NULL)
		logproto__push_request__free_unpacked(p->msg, &b->pa);
	free(b);
	free(p->body);
	memset(p, 0, sizeof(*p));
}
