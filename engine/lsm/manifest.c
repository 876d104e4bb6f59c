/*
 * manifest.c - the manifest as JSON (see manifest.h; the fields are
 * described in shale-format(5), MANIFEST).
 *
 * One compact line of JSON and a newline, fields in a fixed order (jansson
 * keeps objects in insertion order), every non-ASCII character escaped, so
 * that encoding the same manifest always gives the same bytes:
 *
 *	{"format":1,"id":7,"writer_epoch":3,"wal_replay_from":12,
 *	 "last_seq":4711,"created_ms":1763800000000,
 *	 "l0":[TABLE...],"runs":[{"id":2,"tables":[TABLE...]}...],
 *	 "checkpoints":[{"id":"x","manifest_id":5,"expire_ms":...}...]}
 *
 *	TABLE = {"key":"compacted/...sst","size":N,"entries":N,"min_seq":N,
 *	 "max_seq":N,"min_expire":N,"max_expire":N,"first_key":B64,
 *	 "last_key":B64}
 *
 * Integers are JSON integers; the unsigned ones must be 0..INT64_MAX.
 * Keys are standard base64 with padding, decoded strictly (no whitespace,
 * no missing padding, no stray bits). Decoding rejects a missing field, a
 * field of the wrong type, an unknown field, a duplicate field and
 * anything over MANIFEST_MAX bytes: a reader that dropped what it did not
 * understand would drop it again when it writes the next version.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/manifest.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MANIFEST_MAX	((size_t)256 << 20)	/* JSON we read or write */
#define MANIFEST_PATH	96			/* "runs[N].tables[N]" */


static const char *const root_fields[] = {
	"format", "id", "writer_epoch", "wal_replay_from", "last_seq",
	"created_ms", "l0", "runs", "checkpoints", NULL
};
static const char *const table_fields[] = {
	"key", "size", "entries", "min_seq", "max_seq", "min_expire",
	"max_expire", "first_key", "last_key", NULL
};
static const char *const run_fields[] = { "id", "tables", NULL };
static const char *const checkpoint_fields[] = {
	"id", "manifest_id", "expire_ms", NULL
};

void
manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->wal_replay_from = 1;
}

void
manifest_table_release(struct manifest_table *t)
{
	free(t->key);
	free(t->first_key);
	free(t->last_key);
	memset(t, 0, sizeof(*t));
}

static void
manifest_run_release(struct manifest_run *r)
{
	for (size_t i = 0; i < r->ntables; i++)
		manifest_table_release(&r->tables[i]);
	free(r->tables);
	memset(r, 0, sizeof(*r));
}

void
manifest_release(struct manifest *m)
{
	for (size_t i = 0; i < m->nl0; i++)
		manifest_table_release(&m->l0[i]);
	free(m->l0);
	for (size_t i = 0; i < m->nruns; i++)
		manifest_run_release(&m->runs[i]);
	free(m->runs);
	for (size_t i = 0; i < m->ncheckpoints; i++)
		free(m->checkpoints[i].id);
	free(m->checkpoints);
	memset(m, 0, sizeof(*m));
}

/* A copy of n bytes that is never NULL, even for n == 0. */
static uint8_t *
bytes_dup(const uint8_t *p, size_t n)
{
	uint8_t *d = xmalloc(n ? n : 1);

	if (n != 0)
		memcpy(d, p, n);
	return d;
}

void
manifest_table_copy(struct manifest_table *dst,
    const struct manifest_table *src)
{
	*dst = *src;
	dst->key = src->key != NULL ? xstrdup(src->key) : NULL;
	dst->first_key = bytes_dup(src->first_key, src->first_klen);
	dst->last_key = bytes_dup(src->last_key, src->last_klen);
}

static int
l0_first_cmp(const void *a, const void *b, void *arg)
{
	const struct manifest *m = arg;
	const struct manifest_table *x = &m->l0[*(const size_t *)a];
	const struct manifest_table *y = &m->l0[*(const size_t *)b];

	if (x->first_key == NULL || y->first_key == NULL)
		return (x->first_key == NULL) - (y->first_key == NULL);
	return kv_key_cmp(x->first_key, x->first_klen, y->first_key,
	    y->first_klen);
}

size_t
manifest_l0_chains(const struct manifest *m, size_t *order, size_t *chain)
{
	size_t *ord = order != NULL ? order : xcalloc(m->nl0 + 1, sizeof(*ord));
	size_t *tail = xcalloc(m->nl0 + 1, sizeof(*tail));	/* last table of each */
	size_t i, c, n = 0;

	for (i = 0; i < m->nl0; i++)
		ord[i] = i;
	qsort_r(ord, m->nl0, sizeof(*ord), l0_first_cmp, (void *)m);
	/*
	 * Greedy, in key order: a table goes on the first chain whose last
	 * table ends before it begins. A new chain is begun only when every
	 * chain's last table holds the table's first key, so the chains are
	 * as many as the tables that hold one key: the depth.
	 */
	for (i = 0; i < m->nl0; i++) {
		const struct manifest_table *t = &m->l0[ord[i]], *l;

		for (c = 0; c < n && t->first_key != NULL; c++) {
			l = &m->l0[tail[c]];
			if (l->last_key != NULL && kv_key_cmp(l->last_key,
			    l->last_klen, t->first_key, t->first_klen) < 0)
				break;
		}
		if (c == n || t->first_key == NULL || t->last_key == NULL)
			c = n++;
		tail[c] = ord[i];
		if (chain != NULL)
			chain[i] = c;
	}
	free(tail);
	if (order == NULL)
		free(ord);
	return n;
}

static struct manifest_table *
tables_copy(const struct manifest_table *src, size_t n)
{
	struct manifest_table *t;

	if (n == 0)
		return NULL;
	t = xcalloc(n, sizeof(*t));
	for (size_t i = 0; i < n; i++)
		manifest_table_copy(&t[i], &src[i]);
	return t;
}

void
manifest_copy(struct manifest *dst, const struct manifest *src)
{
	const struct manifest_checkpoint *c;

	*dst = *src;
	dst->l0 = tables_copy(src->l0, src->nl0);
	dst->runs = NULL;
	if (src->nruns != 0) {
		dst->runs = xcalloc(src->nruns, sizeof(*dst->runs));
		for (size_t i = 0; i < src->nruns; i++) {
			dst->runs[i].id = src->runs[i].id;
			dst->runs[i].ntables = src->runs[i].ntables;
			dst->runs[i].tables = tables_copy(src->runs[i].tables,
			    src->runs[i].ntables);
		}
	}
	dst->checkpoints = NULL;
	if (src->ncheckpoints != 0) {
		dst->checkpoints = xcalloc(src->ncheckpoints,
		    sizeof(*dst->checkpoints));
		for (size_t i = 0; i < src->ncheckpoints; i++) {
			c = &src->checkpoints[i];
			dst->checkpoints[i] = *c;
			dst->checkpoints[i].id = c->id != NULL ?
			    xstrdup(c->id) : NULL;
		}
	}
}

size_t
manifest_expire_checkpoints(struct manifest *m, int64_t now_ms)
{
	size_t i, k;

	for (i = k = 0; i < m->ncheckpoints; i++) {
		if (m->checkpoints[i].expire_ms <= now_ms)
			free(m->checkpoints[i].id);
		else
			m->checkpoints[k++] = m->checkpoints[i];
	}
	m->ncheckpoints = k;
	return i - k;
}

void
manifest_successor(struct manifest *m, const struct manifest *base,
    int64_t now_ms)
{
	manifest_release(m);
	manifest_init(m);
	manifest_copy(m, base);
	m->id++;
	m->created_ms = now_ms < base->created_ms ? base->created_ms : now_ms;
	manifest_expire_checkpoints(m, now_ms);
}

/*
 * Encoding. Each helper sets a detail and returns -EINVAL for a value JSON
 * cannot hold (a u64 over INT64_MAX, a string that is not UTF-8), -ENOMEM
 * if jansson cannot allocate.
 */

static int
enc_bad(uint64_t id, const char *path, const char *field, const char *what)
{
	return err_set(-EINVAL, "cannot encode manifest %llu: field "
	    "'%s%s%s': %s", (unsigned long long)id, path, *path ? "." : "",
	    field, what);
}

static int
enc_set(json_t *o, const char *field, json_t *v)
{
	/* json_object_set_new() takes v, and frees it on failure. */
	return json_object_set_new(o, field, v) == 0 ? 0 : -ENOMEM;
}

static int
enc_u64(uint64_t id, json_t *o, const char *path, const char *field,
    uint64_t v)
{
	if (v > INT64_MAX)
		return enc_bad(id, path, field, "over 2^63-1");
	return enc_set(o, field, json_integer((json_int_t)v));
}

static int
enc_i64(json_t *o, const char *field, int64_t v)
{
	return enc_set(o, field, json_integer((json_int_t)v));
}

static int
enc_str(uint64_t id, json_t *o, const char *path, const char *field,
    const char *s)
{
	json_t *v;

	if (s == NULL || *s == '\0')
		return enc_bad(id, path, field, "empty");
	if ((v = json_string(s)) == NULL)
		return enc_bad(id, path, field, "not UTF-8");
	return enc_set(o, field, v);
}

static int
enc_key(uint64_t id, json_t *o, const char *path, const char *field,
    const uint8_t *p, size_t n)
{
	struct buf b;
	int rc;

	if (n > KV_KEY_MAX)
		return enc_bad(id, path, field, "key longer than the limit");
	if (p == NULL && n != 0)
		return enc_bad(id, path, field, "NULL key");
	buf_init(&b, 0);
	if (base64_append(&b, p, n) != 0)
		BUG("cannot encode a key of %zu bytes", n);
	rc = enc_set(o, field, json_stringn(b.data, b.len));
	buf_release(&b);
	return rc;
}

static int
enc_table(uint64_t id, json_t *arr, const char *path,
    const struct manifest_table *t)
{
	json_t *o;
	int rc;

	if ((o = json_object()) == NULL ||
	    json_array_append_new(arr, o) != 0)
		return -ENOMEM;
	if ((rc = enc_str(id, o, path, "key", t->key)) != 0 ||
	    (rc = enc_u64(id, o, path, "size", t->size)) != 0 ||
	    (rc = enc_u64(id, o, path, "entries", t->entries)) != 0 ||
	    (rc = enc_u64(id, o, path, "min_seq", t->min_seq)) != 0 ||
	    (rc = enc_u64(id, o, path, "max_seq", t->max_seq)) != 0 ||
	    (rc = enc_i64(o, "min_expire", t->min_expire)) != 0 ||
	    (rc = enc_i64(o, "max_expire", t->max_expire)) != 0 ||
	    (rc = enc_key(id, o, path, "first_key", t->first_key,
	    t->first_klen)) != 0 ||
	    (rc = enc_key(id, o, path, "last_key", t->last_key,
	    t->last_klen)) != 0)
		return rc;
	return 0;
}

static int
enc_tables(uint64_t id, json_t *o, const char *path, const char *field,
    const struct manifest_table *t, size_t n)
{
	char sub[MANIFEST_PATH];
	json_t *arr;
	int rc;

	if ((arr = json_array()) == NULL || (rc = enc_set(o, field, arr)) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s%s%s[%zu]", path,
		    *path ? "." : "", field, i);
		if ((rc = enc_table(id, arr, sub, &t[i])) != 0)
			return rc;
	}
	return 0;
}

static int
enc_runs(const struct manifest *m, json_t *root)
{
	char sub[MANIFEST_PATH];
	json_t *arr, *o;
	int rc;

	if ((arr = json_array()) == NULL ||
	    (rc = enc_set(root, "runs", arr)) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < m->nruns; i++) {
		snprintf(sub, sizeof(sub), "runs[%zu]", i);
		if ((o = json_object()) == NULL ||
		    json_array_append_new(arr, o) != 0)
			return -ENOMEM;
		if ((rc = enc_u64(m->id, o, sub, "id", m->runs[i].id)) != 0 ||
		    (rc = enc_tables(m->id, o, sub, "tables",
		    m->runs[i].tables, m->runs[i].ntables)) != 0)
			return rc;
	}
	return 0;
}

static int
enc_checkpoints(const struct manifest *m, json_t *root)
{
	const struct manifest_checkpoint *c;
	char sub[MANIFEST_PATH];
	json_t *arr, *o;
	int rc;

	if ((arr = json_array()) == NULL ||
	    (rc = enc_set(root, "checkpoints", arr)) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < m->ncheckpoints; i++) {
		c = &m->checkpoints[i];
		snprintf(sub, sizeof(sub), "checkpoints[%zu]", i);
		if ((o = json_object()) == NULL ||
		    json_array_append_new(arr, o) != 0)
			return -ENOMEM;
		if ((rc = enc_str(m->id, o, sub, "id", c->id)) != 0 ||
		    (rc = enc_u64(m->id, o, sub, "manifest_id",
		    c->manifest_id)) != 0 ||
		    (rc = enc_i64(o, "expire_ms", c->expire_ms)) != 0)
			return rc;
	}
	return 0;
}

int
manifest_encode(const struct manifest *m, struct buf *out)
{
	json_t *root;
	char *s = NULL;
	size_t len, start = out->len;
	int rc;

	if ((root = json_object()) == NULL)
		return -ENOMEM;
	if ((rc = enc_i64(root, "format", MANIFEST_FORMAT)) != 0 ||
	    (rc = enc_u64(m->id, root, "", "id", m->id)) != 0 ||
	    (rc = enc_u64(m->id, root, "", "writer_epoch",
	    m->writer_epoch)) != 0 ||
	    (rc = enc_u64(m->id, root, "", "wal_replay_from",
	    m->wal_replay_from)) != 0 ||
	    (rc = enc_u64(m->id, root, "", "last_seq", m->last_seq)) != 0 ||
	    (rc = enc_i64(root, "created_ms", m->created_ms)) != 0 ||
	    (rc = enc_tables(m->id, root, "", "l0", m->l0, m->nl0)) != 0 ||
	    (rc = enc_runs(m, root)) != 0 ||
	    (rc = enc_checkpoints(m, root)) != 0)
		goto fail;

	if ((s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	len = strlen(s);
	if (len + 1 > MANIFEST_MAX) {
		rc = err_set(-EFBIG, "cannot encode manifest %llu: over %zu "
		    "bytes", (unsigned long long)m->id, MANIFEST_MAX);
		goto fail;
	}
	if ((rc = buf_append(out, s, len)) != 0 ||
	    (rc = buf_putc(out, '\n')) != 0) {
		out->len = start;
		out->data[start] = '\0';
		goto fail;
	}
	rc = 0;

fail:
	free(s);
	json_decref(root);
	return rc;
}

/*
 * Decoding. Every helper names the field by its path from the root
 * (l0[3].first_key) and returns SHALE_ECORRUPT with a detail.
 */

struct dec {
	const char	*name;		/* the object, for errors */
};

static int
dec_bad(const struct dec *d, const char *path, const char *field,
    const char *what)
{
	err_set(SHALE_ECORRUPT, "'%s': field '%s%s%s': %s", d->name, path,
	    *path && *field ? "." : "", field, what);
	return SHALE_ECORRUPT;
}

static int
dec_object(const struct dec *d, const json_t *o, const char *path)
{
	if (!json_is_object(o))
		return dec_bad(d, path, "", "not an object");
	return 0;
}

/*
 * After its fields were read: `o` has no field but those in `names`. Last,
 * so that a field of the wrong type is reported before a stray one.
 */
static int
dec_no_extra(const struct dec *d, const json_t *o, const char *path,
    const char *const *names)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, key, v) {
		for (i = 0; names[i] != NULL; i++) {
			if (strcmp(key, names[i]) == 0)
				break;
		}
		if (names[i] == NULL) {
			return err_set(SHALE_ECORRUPT, "'%s': unknown field "
			    "'%s%s%.64s'", d->name, path, *path ? "." : "",
			    key);
		}
	}
	return 0;
}

static int
dec_i64(const struct dec *d, const json_t *o, const char *path,
    const char *field, int64_t *out)
{
	const json_t *v = json_object_get(o, field);

	if (v == NULL)
		return dec_bad(d, path, field, "missing");
	if (!json_is_integer(v))
		return dec_bad(d, path, field, "not an integer");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int
dec_u64(const struct dec *d, const json_t *o, const char *path,
    const char *field, uint64_t *out)
{
	int64_t v = 0;
	int rc;

	if ((rc = dec_i64(d, o, path, field, &v)) != 0)
		return rc;
	if (v < 0)
		return dec_bad(d, path, field, "negative");
	*out = (uint64_t)v;
	return 0;
}

static int
dec_str(const struct dec *d, const json_t *o, const char *path,
    const char *field, char **out)
{
	const json_t *v = json_object_get(o, field);
	const char *s;

	if (v == NULL)
		return dec_bad(d, path, field, "missing");
	if (!json_is_string(v))
		return dec_bad(d, path, field, "not a string");
	s = json_string_value(v);
	if (json_string_length(v) == 0)
		return dec_bad(d, path, field, "empty");
	if (strlen(s) != json_string_length(v))
		return dec_bad(d, path, field, "contains NUL");
	*out = xstrdup(s);
	return 0;
}

static int
dec_key(const struct dec *d, const json_t *o, const char *path,
    const char *field, uint8_t **out, size_t *lenp)
{
	const json_t *v = json_object_get(o, field);
	struct buf b;
	size_t n;

	if (v == NULL)
		return dec_bad(d, path, field, "missing");
	if (!json_is_string(v))
		return dec_bad(d, path, field, "not a string");
	n = json_string_length(v);
	if (n > BASE64_LEN(KV_KEY_MAX))
		return dec_bad(d, path, field, "key longer than the limit");
	buf_init(&b, 0);
	if (base64_decode(&b, json_string_value(v), n, BASE64_STRICT) != 0) {
		buf_release(&b);
		return dec_bad(d, path, field, "bad base64");
	}
	if (b.len > KV_KEY_MAX) {
		buf_release(&b);
		return dec_bad(d, path, field, "key longer than the limit");
	}
	*out = (uint8_t *)b.data;	/* the buf's bytes are ours now */
	*lenp = b.len;
	return 0;
}

static int
dec_array(const struct dec *d, const json_t *o, const char *path,
    const char *field, json_t **out)
{
	json_t *v = json_object_get(o, field);

	if (v == NULL)
		return dec_bad(d, path, field, "missing");
	if (!json_is_array(v))
		return dec_bad(d, path, field, "not an array");
	*out = v;
	return 0;
}

static int
dec_table(const struct dec *d, const json_t *o, const char *path,
    struct manifest_table *t)
{
	int rc;

	if ((rc = dec_object(d, o, path)) != 0 ||
	    (rc = dec_str(d, o, path, "key", &t->key)) != 0 ||
	    (rc = dec_u64(d, o, path, "size", &t->size)) != 0 ||
	    (rc = dec_u64(d, o, path, "entries", &t->entries)) != 0 ||
	    (rc = dec_u64(d, o, path, "min_seq", &t->min_seq)) != 0 ||
	    (rc = dec_u64(d, o, path, "max_seq", &t->max_seq)) != 0 ||
	    (rc = dec_i64(d, o, path, "min_expire", &t->min_expire)) != 0 ||
	    (rc = dec_i64(d, o, path, "max_expire", &t->max_expire)) != 0 ||
	    (rc = dec_key(d, o, path, "first_key", &t->first_key,
	    &t->first_klen)) != 0 ||
	    (rc = dec_key(d, o, path, "last_key", &t->last_key,
	    &t->last_klen)) != 0 ||
	    (rc = dec_no_extra(d, o, path, table_fields)) != 0)
		return rc;
	return 0;
}

/*
 * Fill *tp, *np from the array `field` of `o`; on error what was filled is
 * left for the caller to release.
 */
static int
dec_tables(const struct dec *d, const json_t *o, const char *path,
    const char *field, struct manifest_table **tp, size_t *np)
{
	char sub[MANIFEST_PATH];
	json_t *arr = NULL;
	size_t n;
	int rc;

	if ((rc = dec_array(d, o, path, field, &arr)) != 0)
		return rc;
	if ((n = json_array_size(arr)) == 0)
		return 0;
	*tp = xcalloc(n, sizeof(**tp));
	for (size_t i = 0; i < n; i++) {
		(*np)++;
		snprintf(sub, sizeof(sub), "%s%s%s[%zu]", path,
		    *path ? "." : "", field, i);
		if ((rc = dec_table(d, json_array_get(arr, i), sub,
		    &(*tp)[i])) != 0)
			return rc;
	}
	return 0;
}

static int
dec_runs(const struct dec *d, const json_t *root, struct manifest *m)
{
	struct manifest_run *r;
	char sub[MANIFEST_PATH];
	json_t *arr = NULL, *o;
	size_t n;
	int rc;

	if ((rc = dec_array(d, root, "", "runs", &arr)) != 0)
		return rc;
	if ((n = json_array_size(arr)) == 0)
		return 0;
	m->runs = xcalloc(n, sizeof(*m->runs));
	for (size_t i = 0; i < n; i++) {
		r = &m->runs[m->nruns++];
		o = json_array_get(arr, i);
		snprintf(sub, sizeof(sub), "runs[%zu]", i);
		if ((rc = dec_object(d, o, sub)) != 0 ||
		    (rc = dec_u64(d, o, sub, "id", &r->id)) != 0 ||
		    (rc = dec_tables(d, o, sub, "tables", &r->tables,
		    &r->ntables)) != 0 ||
		    (rc = dec_no_extra(d, o, sub, run_fields)) != 0)
			return rc;
	}
	return 0;
}

static int
dec_checkpoints(const struct dec *d, const json_t *root, struct manifest *m)
{
	struct manifest_checkpoint *c;
	char sub[MANIFEST_PATH];
	json_t *arr = NULL, *o;
	size_t n;
	int rc;

	if ((rc = dec_array(d, root, "", "checkpoints", &arr)) != 0)
		return rc;
	if ((n = json_array_size(arr)) == 0)
		return 0;
	m->checkpoints = xcalloc(n, sizeof(*m->checkpoints));
	for (size_t i = 0; i < n; i++) {
		c = &m->checkpoints[m->ncheckpoints++];
		o = json_array_get(arr, i);
		snprintf(sub, sizeof(sub), "checkpoints[%zu]", i);
		if ((rc = dec_object(d, o, sub)) != 0 ||
		    (rc = dec_str(d, o, sub, "id", &c->id)) != 0 ||
		    (rc = dec_u64(d, o, sub, "manifest_id",
		    &c->manifest_id)) != 0 ||
		    (rc = dec_i64(d, o, sub, "expire_ms",
		    &c->expire_ms)) != 0 ||
		    (rc = dec_no_extra(d, o, sub, checkpoint_fields)) != 0)
			return rc;
	}
	return 0;
}

/*
 * On success *m holds the manifest (the caller releases it); on failure
 * *m is empty, as manifest_init() leaves it. Whatever *m held before is
 * not freed.
 */
int
manifest_decode(const void *data, size_t n, const char *name,
    struct manifest *m)
{
	struct dec d;
	json_error_t jerr;
	json_t *root = NULL;
	int64_t format;
	int rc;

	manifest_init(m);
	d.name = name != NULL ? name : "(manifest)";
	if (n > MANIFEST_MAX) {
		rc = err_set(SHALE_ECORRUPT, "'%s': %zu bytes, over the limit "
		    "of %zu", d.name, n, MANIFEST_MAX);
		goto fail;
	}
	if (data == NULL)
		data = "";
	root = json_loadb(data, n, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		rc = err_set(SHALE_ECORRUPT, "'%s': not valid JSON at line %d "
		    "column %d: %s", d.name, jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	if (!json_is_object(root)) {
		rc = err_set(SHALE_ECORRUPT, "'%s': not a JSON object", d.name);
		goto fail;
	}
	if ((rc = dec_i64(&d, root, "", "format", &format)) != 0)
		goto fail;
	if (format != MANIFEST_FORMAT) {
		rc = err_set(SHALE_ECORRUPT, "'%s': unknown format version "
		    "%lld", d.name, (long long)format);
		goto fail;
	}
	if ((rc = dec_u64(&d, root, "", "id", &m->id)) != 0 ||
	    (rc = dec_u64(&d, root, "", "writer_epoch",
	    &m->writer_epoch)) != 0 ||
	    (rc = dec_u64(&d, root, "", "wal_replay_from",
	    &m->wal_replay_from)) != 0 ||
	    (rc = dec_u64(&d, root, "", "last_seq", &m->last_seq)) != 0 ||
	    (rc = dec_i64(&d, root, "", "created_ms", &m->created_ms)) != 0 ||
	    (rc = dec_tables(&d, root, "", "l0", &m->l0, &m->nl0)) != 0 ||
	    (rc = dec_runs(&d, root, m)) != 0 ||
	    (rc = dec_checkpoints(&d, root, m)) != 0 ||
	    (rc = dec_no_extra(&d, root, "", root_fields)) != 0)
		goto fail;
	json_decref(root);
	return 0;

fail:
	json_decref(root);
	manifest_release(m);
	manifest_init(m);
	return rc;
}
