/*
 * logs_labels.c - what LogQL and Loki's push need of the streams: the
 * labels given to a stream ('L' records, kept on the nodes), every
 * stream with its whole label set, the path a pushed label set gets,
 * pushes of entries with their own times, and scans by those times.
 *
 * Times. A stream keeps the running maximum of its records' times
 * (node->last_ts); a push may bring entries up to LOGS_OOO_WINDOW_NS
 * behind it, and the time index follows that maximum, not the records'
 * own times. So for a record r at offset o, with M(r) the maximum once
 * r was written,
 *
 *	M(r) - LOGS_OOO_WINDOW_NS <= ts(r) <= M(r)	and M never falls,
 *
 * which is all logs_scan_time needs to read a bounded run of records
 * (see there). Appends through writers take the wall clock, raised to
 * the maximum if below, so their records sit at M(r) itself.
 *
 * Not here: making a path's directories (ns_make_stream, logs_ns.c),
 * the appends of writers (logs_stream.c), what a follower applies
 * (logs_apply.c, 'L' records included).
 *
 * Locks (logs_int.h; their order: logs.h): node->labels is read under
 * ns (read) and changed under ns (write); a push takes ns alone to find
 * and make its streams, then the streams' locks in id order, never ns
 * under them. A scan holds nothing while it reads.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "engine/lsm/engine.h"
#include "model/labels.h"
#include "model/labels_int.h"
#include "model/logs_int.h"
#include "model/matcher.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define SEC_NS		1000000000LL
#define PUSH_DIR	"loki"
#define NAME_CUT	200	/* bytes kept of a name too long, before ~hash */

/* ---- the 'L' records ---- */

void
batch_labels(struct engine_batch *b, uint64_t id, const struct labels *ls)
{
	unsigned char k[11];
	const void *p;
	size_t n;

	key_id(k, K_LABELS, id);
	if (ls == NULL || labels_count(ls) == 0) {
		engine_batch_delete(b, k, 11);
		return;
	}
	p = labels_encoding(ls, &n);
	engine_batch_put(b, k, 11, p, n, ENGINE_NO_EXPIRY);
}

int
load_labels(struct logs *l, const struct engine_snapshot *snap)
{
	unsigned char lo[3], hi[3];
	struct engine_iter *it;
	const unsigned char *k, *v;
	struct labels *ls;
	struct node *n;
	size_t klen, vlen;
	int rc;

	key_head(lo, K_LABELS);
	key_head(hi, K_LABELS + 1);
	it = engine_iter_new(l->e, snap, lo, 3, hi, 3);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		/* those of removed streams wait for compaction */
		if (klen != 11 || (n = node_find(l, get_be64(k + 3))) == NULL ||
		    n->type != LOGS_STREAM)
			continue;
		if (labels_decode(v, vlen, NULL, &ls) != 0) {
			log_warn("skipping a malformed label record");
			continue;
		}
		labels_free(n->labels);
		n->labels = labels_count(ls) > 0 ? ls : NULL;
		if (n->labels == NULL)
			labels_free(ls);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

/* ---- labels of streams ---- */

/* Append v as a PromQL string: "...", with \\, \" and \n escaped. */
static void
quote(struct buf *b, const char *v, size_t n)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\\' || v[i] == '"')
			buf_putc(b, '\\');
		if (v[i] == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, v[i]);
	}
	buf_putc(b, '"');
}

void
logs_labels_format(const struct labels *ls, struct buf *b)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *p = labels_at(ls, i);

		if (i > 0)
			buf_puts(b, ", ");
		buf_append(b, p->name, p->name_len);
		buf_putc(b, '=');
		quote(b, p->value, p->value_len);
	}
	buf_putc(b, '}');
}

/* Whether n bytes at s are only white space and at most one pair of {}. */
static int
empty_set(const char *s, size_t n)
{
	int open = 0, close = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '{' && !open && !close)
			open = 1;
		else if (s[i] == '}' && open && !close)
			close = 1;
		else if (strchr(" \t\r\n", s[i]) == NULL || s[i] == '\0')
			return 0;
	}
	return open == close;
}

int
logs_labels_parse(const char *s, size_t n, struct labels **out)
{
	struct label pairs[SELECTOR_MATCHERS_MAX];
	struct selector *sel;
	size_t k;
	int rc;

	*out = NULL;
	if (empty_set(s, n))
		return 0;
	if ((rc = selector_parse(s, n, &sel)) != 0)
		return rc;
	k = selector_count(sel);
	for (size_t i = 0; i < k; i++) {
		const struct matcher *m = selector_at(sel, i);

		if (matcher_op(m) != MATCHER_EQ) {
			selector_free(sel);
			return err_set(-EINVAL, "labels take '=' only");
		}
		pairs[i].name = matcher_name(m);
		pairs[i].name_len = strlen(pairs[i].name);
		pairs[i].value = matcher_value(m, &pairs[i].value_len);
	}
	rc = labels_new(pairs, k, LABELS_RESERVED, out);
	selector_free(sel);
	return rc;
}

int
logs_labels_get(struct logs *l, uint64_t id, struct labels **out)
{
	struct node *n;
	int rc = 0;

	*out = NULL;
	pthread_rwlock_rdlock(&l->ns);
	if ((n = node_find(l, id)) == NULL || n->gone)
		rc = -ENOENT;
	else if (n->type != LOGS_STREAM)
		rc = -EISDIR;
	else if (n->labels != NULL)
		*out = labels_dup(n->labels);
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

/* Room for stream= beside the given labels: 0 or -EINVAL. */
static int
check_given(const struct labels *ls)
{
	if (ls == NULL || labels_get(ls, LOGS_LABEL_STREAM) != NULL ||
	    labels_count(ls) < LABELS_COUNT_MAX)
		return 0;
	return err_set(-EINVAL, "a stream takes at most %d labels besides "
	    "'%s'", LABELS_COUNT_MAX - 1, LOGS_LABEL_STREAM);
}

int
logs_labels_set(struct logs *l, uint64_t id, const struct labels *ls)
{
	struct engine_batch *b;
	struct node *n;
	int rc;

	if (l->ro)
		return -EROFS;
	if ((rc = check_given(ls)) != 0)
		return rc;
	if (ls != NULL && labels_count(ls) == 0)
		ls = NULL;
	pthread_rwlock_wrlock(&l->ns);
	if ((n = node_find(l, id)) == NULL || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	if (n->type != LOGS_STREAM) {
		rc = -EISDIR;
		goto out;
	}
	b = engine_batch_new();
	batch_labels(b, id, ls);
	rc = engine_write(l->e, b, NULL);
	engine_batch_free(b);
	if (rc != 0) {
		rc = logs_errno(l, rc);
		goto out;
	}
	labels_free(n->labels);
	n->labels = ls != NULL ? labels_dup(ls) : NULL;
	retention_changed(l);
	logs_changed(l, id);
out:
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

/* Append n's path under /logs to b. (ns) */
void
node_path(struct logs *l, struct node *n, struct buf *b)
{
	struct node *up[LOGS_PATH_MAX / 2 + 1];
	size_t k = 0;

	/* would_cycle keeps the tree a tree; the bound is for a torn one */
	for (; n != NULL && n->id != LOGS_ROOT_ID && k < LOGS_PATH_MAX / 2;
	    n = node_find(l, n->parent))
		up[k++] = n;
	while (k > 0) {
		n = up[--k];
		buf_append(b, n->name, n->namelen);
		if (k > 0)
			buf_putc(b, '/');
	}
}

/* What logs_streams copies of a stream under ns, to build outside it. */
struct stream_copy {
	uint64_t	 id;
	struct logs_attr a;
	struct labels	*given;		/* NULL: none */
	size_t		 path_at, path_len;	/* in the call's path buffer */
};

/* The whole set of a stream: the given labels, and stream= unless given. */
int
whole_set(const struct labels *given, const char *path, size_t len,
    struct labels **out)
{
	struct label pairs[LABELS_COUNT_MAX + 1];
	size_t n = given != NULL ? labels_count(given) : 0;

	if (given != NULL && labels_get(given, LOGS_LABEL_STREAM) != NULL) {
		*out = labels_dup(given);
		return 0;
	}
	for (size_t i = 0; i < n && i < LABELS_COUNT_MAX; i++)
		pairs[i] = *labels_at(given, i);
	pairs[n].name = LOGS_LABEL_STREAM;
	pairs[n].name_len = strlen(LOGS_LABEL_STREAM);
	pairs[n].value = path;
	pairs[n].value_len = len;
	if (labels_new(pairs, n + 1, LABELS_RESERVED, out) == 0)
		return 0;
	/*
	 * A path no label value can be (not UTF-8, or past
	 * LABELS_VALUE_MAX): the stream keeps its given labels only
	 */
	return labels_new(pairs, n, LABELS_RESERVED, out);
}

/*
 * Everything a caller needs is copied under ns for reading (ids,
 * attributes, the given sets, the paths) so that the sets are built and
 * fn is called without it. A stream not used since logs_open has not
 * been loaded, and loading thousands would cost a read each: its size
 * and mtime_ns are given as 0 (not known), as the header allows.
 */
int
logs_streams(struct logs *l, logs_stream_fn fn, void *arg)
{
	struct stream_copy *v = NULL;
	struct labels *ls;
	struct node *n;
	struct buf paths;
	size_t k = 0, cap = 0;
	int rc = 0;

	buf_init(&paths, 0);
	pthread_rwlock_rdlock(&l->ns);
	for (size_t i = 0; i < l->by_id.cap; i++) {
		for (n = l->by_id.v[i]; n != NULL; n = n->id_next) {
			if (n->type != LOGS_STREAM || !n->linked || n->gone)
				continue;
			if (k == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[k].id = n->id;
			fill_attr(n, &v[k].a);
			v[k].a.mtime_ns = 0;
			pthread_mutex_lock(&n->lock);
			if (n->loaded) {
				v[k].a.size = n->end;
				v[k].a.mtime_ns = n->last_ts;
			}
			pthread_mutex_unlock(&n->lock);
			v[k].given = n->labels != NULL ? labels_dup(n->labels) :
			    NULL;
			v[k].path_at = paths.len;
			node_path(l, n, &paths);
			v[k].path_len = paths.len - v[k].path_at;
			k++;
		}
	}
	pthread_rwlock_unlock(&l->ns);
	for (size_t i = 0; i < k; i++) {
		if (rc == 0 && whole_set(v[i].given, paths.data + v[i].path_at,
		    v[i].path_len, &ls) == 0) {
			rc = fn(arg, v[i].id, ls, &v[i].a);
			labels_free(ls);
		}
		labels_free(v[i].given);
	}
	free(v);
	buf_release(&paths);
	return rc < 0 ? rc : 0;
}

/* ---- the path of a pushed stream ---- */

/*
 * Keep the name from `start` in b to at most LOGS_NAME_MAX bytes: a
 * longer one becomes its first NAME_CUT bytes (not cutting a %XX escape
 * or a UTF-8 character), '~' and 16 hex digits of hash.
 */
static void
fit_name(struct buf *b, size_t start, uint64_t hash)
{
	const unsigned char *p = (const unsigned char *)b->data + start;
	size_t cut = NAME_CUT;

	if (b->len - start <= LOGS_NAME_MAX)
		return;
	while (cut > 0 && (p[cut] & 0xc0) == 0x80)
		cut--;
	if (cut >= 1 && p[cut - 1] == '%')
		cut -= 1;
	else if (cut >= 2 && p[cut - 2] == '%')
		cut -= 2;
	b->len = start + cut;
	buf_printf(b, "~%016llx", (unsigned long long)hash);
}

/*
 * The directories of a pushed stream, when logs_options.push_path does
 * not say: one level, the first of these labels it has.
 */
#define PUSH_PATH_DEFAULT	"service_name|job|app|service"
#define PUSH_PATH_MAX		1024	/* bytes of the rule */
#define PUSH_LEVELS_MAX		16

/*
 * A rule: levels separated by ',', each the names of labels separated by
 * '|', whose first present names that level's directory. 0 or -EINVAL.
 */
static int
push_rule_check(const char *rule)
{
	size_t levels = 1, len = 0;
	const char *p;

	if (strlen(rule) > PUSH_PATH_MAX)
		return err_set(-EINVAL, "logs_options.push_path is longer than "
		    "%d bytes", PUSH_PATH_MAX);
	for (p = rule;; p++) {
		if (*p == ',' || *p == '|' || *p == '\0') {
			if (len == 0 || labels_check_name(p - len, len, 0) != 0)
				return err_set(-EINVAL, "logs_options.push_path: "
				    "'%s' is not a list of label names, such as "
				    "'namespace,app|job'", rule);
			if (*p == ',' && ++levels > PUSH_LEVELS_MAX)
				return err_set(-EINVAL, "logs_options.push_path: "
				    "more than %d levels", PUSH_LEVELS_MAX);
			if (*p == '\0')
				return 0;
			len = 0;
		} else
			len++;
	}
}

int
logs_set_push_path(struct logs *l, const char *rule)
{
	char *copy = NULL;
	int rc;

	if (rule != NULL && *rule != '\0') {
		if ((rc = push_rule_check(rule)) != 0)
			return rc;
		copy = xstrdup(rule);
	}
	pthread_rwlock_wrlock(&l->ns);
	free(l->push_rule);
	l->push_rule = copy;
	pthread_rwlock_unlock(&l->ns);
	return 0;
}

/* One directory of a pushed stream's path: v escaped, "_" for none. */
static int
push_level(struct buf *path, const char *v)
{
	size_t start = path->len, n;
	int rc = 0;

	if (v == NULL)
		rc |= buf_putc(path, '_');
	else if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		rc |= buf_puts(path, v[1] == '\0' ? "%2E" : "%2E%2E");
	else {
		n = strlen(v);
		for (size_t i = 0; i < n; i++) {
			if (v[i] == '/')
				rc |= buf_puts(path, "%2F");
			else if (v[i] == '%')
				rc |= buf_puts(path, "%25");
			else
				rc |= buf_putc(path, v[i]);
		}
		fit_name(path, start, XXH3_64bits(v, n));
	}
	rc |= buf_putc(path, '/');
	return rc;
}

int
logs_push_path(struct logs *l, const struct labels *ls, struct buf *path)
{
	char rule[PUSH_PATH_MAX + 1], name[LABELS_NAME_MAX + 1];
	const char *v = NULL, *p;
	size_t start, len = 0;
	int rc = 0;

	snprintf(rule, sizeof(rule), "%s", PUSH_PATH_DEFAULT);
	if (l != NULL) {
		pthread_rwlock_rdlock(&l->ns);
		if (l->push_rule != NULL)
			snprintf(rule, sizeof(rule), "%s", l->push_rule);
		pthread_rwlock_unlock(&l->ns);
	}
	rc |= buf_puts(path, PUSH_DIR "/");
	/* each level: the first of its names the set has */
	for (p = rule;; p++) {
		if (*p != ',' && *p != '|' && *p != '\0') {
			len++;
			continue;
		}
		if (v == NULL && len > 0 && len <= LABELS_NAME_MAX) {
			memcpy(name, p - len, len);
			name[len] = '\0';
			v = labels_get(ls, name);
		}
		len = 0;
		if (*p == '|')
			continue;
		rc |= push_level(path, v);
		v = NULL;
		if (*p == '\0')
			break;
	}
	start = path->len;
	rc |= labels_file_name(ls, path);
	fit_name(path, start, labels_hash(ls));
	if (rc != 0)
		return -ENOMEM;
	if (logs_path_check(path->data, path->len) != 0)
		return err_set(-EINVAL, "no stream path for these labels");
	return 0;
}

/* ---- pushes ---- */

/* ls as Loki shows a stream in its messages: {a="b", c="d"}. */
static void
show_labels(const struct labels *ls, struct buf *b)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *p = labels_at(ls, i);

		if (i > 0)
			buf_puts(b, ", ");
		buf_append(b, p->name, p->name_len);
		buf_putc(b, '=');
		labels_quote(b, p->value, p->value_len, 0);
	}
	buf_putc(b, '}');
}

/* RFC 3339 in UTC, to the second, as Loki's messages give times. */
static const char *
show_time(char *dst, size_t len, int64_t ns)
{
	time_t t = (time_t)(ns >= 0 ? ns / SEC_NS : (ns - SEC_NS + 1) / SEC_NS);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(dst, len, "%lld ns", (long long)ns);
	return dst;
}

/*
 * May an entry of time ts go into a stream whose newest time is *newest
 * (INT64_MIN: none yet)? 0, and *newest follows; or -ERANGE with Loki's
 * message.
 */
static int
check_time(const struct labels *ls, int64_t ts, int64_t now,
    int64_t *newest)
{
	int64_t oldest = *newest == INT64_MIN ? 0 :
	    *newest - LOGS_OOO_WINDOW_NS;
	char t1[64], t2[64];
	struct buf b;
	int rc;

	if (oldest < 0)
		oldest = 0;
	if (ts >= oldest && ts <= now + LOGS_FUTURE_GRACE_NS) {
		if (ts > *newest)
			*newest = ts;
		return 0;
	}
	buf_init(&b, 0);
	show_labels(ls, &b);
	if (ts > now)
		rc = err_set(-ERANGE, "entry for stream '%s' has timestamp "
		    "too new: %s", b.data, show_time(t1, sizeof(t1), ts));
	else
		rc = err_set(-ERANGE, "entry for stream '%s' has timestamp "
		    "too old: %s, oldest acceptable timestamp is: %s", b.data,
		    show_time(t1, sizeof(t1), ts),
		    show_time(t2, sizeof(t2), oldest));
	buf_release(&b);
	return rc;
}

/* A stream of a push, with the records being made for it. */
struct pstream {
	struct buf	 path;
	const struct labels *ls;	/* of the first push stream it serves */
	uint64_t	 id;		/* 0: to be made */
	struct node	*s;		/* referenced and locked in phase 2 */
	int64_t		 newest;	/* the running maximum so far */
	int64_t		 indexed_sec;
	uint64_t	 off;		/* where the next record goes */
	uint64_t	 first_off;	/* where this push's bytes start */
	struct buf	 data;		/* this push's bytes for it */
	size_t		 rec_at;	/* the open record's start in data */
	int64_t		 rec_ts;
	int		 rec_open;
	size_t		 nrec;
	size_t		 nent;		/* entries pushed to it */
	int		 have_last;	/* the last entry added (node's push_*) */
	int64_t		 last_ts;
	uint64_t	 last_hash;
};

/* Is the stream at id of labels ls? 0, or -EINVAL saying it is not. */
static int
same_labels(struct logs *l, uint64_t id, const struct labels *ls,
    const struct buf *path)
{
	struct labels *have;
	int rc;

	if ((rc = logs_labels_get(l, id, &have)) != 0)
		return rc;
	rc = have != NULL && labels_equal(have, ls) ? 0 :
	    err_set(-EINVAL, "'%.*s' is a stream of other labels",
	    (int)path->len, path->data);
	labels_free(have);
	return rc;
}

/* Find the stream of p (or learn that it is to be made): 0 or -errno. */
static int
find_stream(struct logs *l, struct pstream *p)
{
	struct logs_attr a;
	int rc;

	rc = logs_resolve(l, p->path.data, p->path.len, 0, &a);
	if (rc == -ENOENT) {
		p->id = 0;
		return 0;
	}
	if (rc == -EISDIR || rc == -ENOTDIR)
		return err_set(-EINVAL, "'%.*s' is taken by a directory",
		    (int)p->path.len, p->path.data);
	if (rc != 0)
		return rc;
	p->id = a.id;
	return same_labels(l, a.id, p->ls, &p->path);
}

/* Put the open record of p into b, and its index entry if due. */
static void
close_record(struct pstream *p, struct engine_batch *b, unsigned char *val,
    size_t len)
{
	unsigned char key[27];

	if (len == 0)
		return;
	put_be64(val, (uint64_t)p->rec_ts);
	memcpy(val + TS_LEN, p->data.data + p->rec_at, len);
	engine_batch_put(b, key, key_record(key, p->s->data_id, p->off), val,
	    TS_LEN + len, 0);
	if (p->rec_ts > p->newest)
		p->newest = p->rec_ts;
	/* the index follows the maximum, not the records' own times */
	if (p->newest / SEC_NS != p->indexed_sec) {
		key_id(key, K_TIME, p->s->data_id);
		put_be64(key + 11, (uint64_t)p->newest);
		put_be64(key + 19, p->off);
		engine_batch_put(b, key, 27, "", 0, 0);
		p->indexed_sec = p->newest / SEC_NS;
	}
	p->off += len;
	p->rec_at += len;
	p->nrec++;
}

/*
 * Add the entries of one push stream to p's records in b: equal times
 * in a row share a record up to LOGS_RECORD_MAX, and a longer entry is
 * cut at its last newline that fits, as commit() does. Each time is
 * checked first: 0 or -ERANGE. (p->s->lock)
 */
static int
add_entries(struct pstream *p, const struct logs_push_stream *ps,
    struct engine_batch *b, unsigned char *val, int64_t now)
{
	const struct logs_entry *e;
	size_t len, take;
	int64_t newest = p->newest;
	int rc;

	for (size_t i = 0; i < ps->n; i++) {
		uint64_t h;

		e = &ps->e[i];
		/* checked against the maximum with the open record's time */
		if (p->rec_open && p->rec_ts > newest)
			newest = p->rec_ts;
		if ((rc = check_time(ps->ls, e->ts_ns, now, &newest)) != 0)
			return rc;
		/* the stream's last entry again (a push retried): dropped */
		h = XXH3_64bits(e->line, e->len);
		if (p->have_last && e->ts_ns == p->last_ts && h == p->last_hash)
			continue;
		p->have_last = 1;
		p->last_ts = e->ts_ns;
		p->last_hash = h;
		len = p->data.len - p->rec_at;
		if (p->rec_open && (e->ts_ns != p->rec_ts ||
		    len + e->len + 1 > LOGS_RECORD_MAX))
			close_record(p, b, val, len);
		if (!p->rec_open || p->rec_at == p->data.len) {
			p->rec_at = p->data.len;
			p->rec_ts = e->ts_ns;
			p->rec_open = 1;
		}
		if (buf_append(&p->data, e->line, e->len) != 0 ||
		    buf_putc(&p->data, '\n') != 0)
			return -ENOMEM;
		while ((len = p->data.len - p->rec_at) > LOGS_RECORD_MAX) {
			const char *nl = memrchr(p->data.data + p->rec_at, '\n',
			    LOGS_RECORD_MAX);

			take = nl != NULL ? (size_t)(nl -
			    (p->data.data + p->rec_at)) + 1 : LOGS_RECORD_MAX;
			close_record(p, b, val, take);
		}
	}
	return 0;
}

static int
pstream_id_cmp(const void *a, const void *b)
{
	const struct pstream *x = *(struct pstream *const *)a;
	const struct pstream *y = *(struct pstream *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * In three steps. First each label set's path and stream, and every
 * entry checked against what the streams hold now, so that a refused
 * push makes nothing. Then the streams missing are made (each in one
 * batch with its directories and labels). Last the streams are locked
 * in id order, the entries checked again against what they hold now
 * (another push may have come between), and every record of every
 * stream written in one batch.
 */
int
logs_push(struct logs *l, const struct logs_push_stream *v, size_t n,
    uint64_t *seq)
{
	struct pstream *ps = NULL, **which = NULL, **order = NULL;
	struct engine_batch *b = NULL;
	unsigned char *val = NULL;
	size_t np = 0, nord = 0, nlocked = 0;
	int64_t now = clock_wall_ns();
	uint64_t dummy;
	int rc = 0;

	if (seq == NULL)
		seq = &dummy;
	*seq = 0;
	if (l->ro)
		return -EROFS;
	if (n == 0)
		return 0;
	ps = xcalloc(n, sizeof(*ps));
	which = xcalloc(n, sizeof(*which));

	/* 1: the streams, and the entries checked */
	for (size_t i = 0; i < n; i++) {
		struct pstream *p = &ps[np];
		size_t j;

		if (v[i].ls == NULL || labels_count(v[i].ls) == 0) {
			rc = err_set(-EINVAL, "error at least one label pair "
			    "is required per stream");
			goto out;
		}
		if ((rc = check_given(v[i].ls)) != 0)
			goto out;
		buf_init(&p->path, 0);
		buf_init(&p->data, 0);
		if ((rc = logs_push_path(l, v[i].ls, &p->path)) != 0) {
			np++;
			goto out;
		}
		for (j = 0; j < np; j++)
			if (ps[j].path.len == p->path.len &&
			    memcmp(ps[j].path.data, p->path.data,
			    p->path.len) == 0)
				break;
		if (j < np) {
			buf_release(&p->path);
			buf_release(&p->data);
			if (!labels_equal(ps[j].ls, v[i].ls)) {
				rc = err_set(-EINVAL, "two label sets of the "
				    "push have the path '%.*s'",
				    (int)ps[j].path.len, ps[j].path.data);
				goto out;
			}
			which[i] = &ps[j];
			ps[j].nent += v[i].n;
			continue;
		}
		p->ls = v[i].ls;
		which[i] = p;
		p->nent = v[i].n;
		np++;
		if ((rc = find_stream(l, p)) != 0)
			goto out;
		p->newest = INT64_MIN;
		if (p->id != 0) {
			struct node *s;

			if ((rc = stream_get(l, p->id, &s)) != 0)
				goto out;
			pthread_mutex_lock(&s->lock);
			if (s->end > 0)
				p->newest = s->last_ts;
			pthread_mutex_unlock(&s->lock);
			stream_put(l, s);
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < v[i].n; k++)
			if ((rc = check_time(v[i].ls, v[i].e[k].ts_ns, now,
			    &which[i]->newest)) != 0)
				goto out;

	/* 2: the streams missing, made (not for a set without entries) */
	for (size_t j = 0; j < np; j++) {
		if (ps[j].id != 0 || ps[j].nent == 0)
			continue;
		rc = ns_make_stream(l, ps[j].path.data, ps[j].path.len,
		    ps[j].ls, &ps[j].id);
		if (rc == -EEXIST)	/* made meanwhile by another */
			rc = same_labels(l, ps[j].id, ps[j].ls, &ps[j].path);
		else if (rc == -EISDIR || rc == -ENOTDIR)
			rc = err_set(-EINVAL, "'%.*s' is taken by a directory",
			    (int)ps[j].path.len, ps[j].path.data);
		if (rc != 0)
			goto out;
	}

	/* 3: locked in id order, checked again, written in one batch */
	order = xcalloc(np, sizeof(*order));
	for (size_t j = 0; j < np; j++) {
		if (ps[j].nent == 0)
			continue;
		if ((rc = stream_get(l, ps[j].id, &ps[j].s)) != 0)
			goto out;
		order[nord++] = &ps[j];
	}
	if (nord == 0)
		goto out;	/* no entries at all */
	qsort(order, nord, sizeof(*order), pstream_id_cmp);
	for (; nlocked < nord; nlocked++) {
		struct pstream *p = order[nlocked];
		struct node *s = p->s;

		pthread_mutex_lock(&s->lock);
		rc = s->removed ? -ENOENT : s->cached > 0 ? -EBUSY : 0;
		if (rc != 0) {
			nlocked++;
			goto out;
		}
		p->newest = s->end > 0 ? s->last_ts : INT64_MIN;
		p->indexed_sec = s->end > 0 ? s->indexed_sec : -1;
		p->have_last = s->push_have;
		p->last_ts = s->push_ts;
		p->last_hash = s->push_hash;
		p->off = p->first_off = s->end;
	}
	val = xmalloc(TS_LEN + LOGS_RECORD_MAX);
	b = engine_batch_new();
	for (size_t i = 0; i < n; i++)
		if (v[i].n > 0 &&
		    (rc = add_entries(which[i], &v[i], b, val, now)) != 0)
			goto out;
	for (size_t j = 0; j < np; j++)
		if (ps[j].nent > 0)
			close_record(&ps[j], b, val,
			    ps[j].data.len - ps[j].rec_at);
	if (engine_batch_count(b) == 0) {
		/*
		 * every entry was its stream's last again: nothing to write,
		 * and the push is stored once those last appends are
		 */
		for (size_t j = 0; j < nlocked; j++)
			if (order[j]->s->last_seq > *seq)
				*seq = order[j]->s->last_seq;
		goto out;
	}
	if ((rc = engine_write(l->e, b, seq)) != 0) {
		rc = logs_errno(l, rc);
		goto out;
	}
	for (size_t j = 0; j < np; j++) {
		struct pstream *p = &ps[j];
		struct node *s = p->s;

		if (p->data.len == 0)
			continue;
		s->push_have = p->have_last;
		s->push_ts = p->last_ts;
		s->push_hash = p->last_hash;
		__atomic_store_n(&s->end, p->off, __ATOMIC_RELEASE);
		if (p->first_off > 0)	/* else the maximum before is not known */
			ck_note(s, p->first_off, s->last_ts);
		s->last_ts = p->newest;
		s->indexed_sec = p->indexed_sec;
		s->last_seq = *seq;
		data_changed(l, s, p->first_off, p->data.data, p->data.len,
		    NULL, 0);
		metric_add(l->m_app_records, (double)p->nrec);
		metric_add(l->m_app_bytes, (double)p->data.len);
	}
out:
	while (nlocked > 0)
		pthread_mutex_unlock(&order[--nlocked]->s->lock);
	if (b != NULL)
		engine_batch_free(b);
	free(val);
	for (size_t j = 0; j < np; j++) {
		if (ps[j].s != NULL) {
			if (rc == 0 && ps[j].data.len > 0)
				logs_changed(l, ps[j].id);
			stream_put(l, ps[j].s);
		}
		buf_release(&ps[j].path);
		buf_release(&ps[j].data);
	}
	free(order);
	free(which);
	free(ps);
	return rc;
}

/* ---- scans by time ---- */

/*
 * Which records can hold times in [start_ns, end_ns)? With the bounds
 * of the header comment, r can only if M(r) >= start_ns (its time is at
 * most M(r)) and M(r) < end_ns + window (its time is at least
 * M(r) - window). M never falls along the stream, so these records are
 * one run, and both of its ends are found without reading outside it:
 *
 *  - the start: the last index entry whose time is at most start_ns. It
 *    was written at the first record whose M entered that entry's
 *    second, so every record before it has M, and its time, below
 *    start_ns. (No such entry: from the first record.)
 *  - the end: M is the entry's time there, and as the scan goes on the
 *    maximum of that and the times read. The first record where it
 *    reaches end_ns + window, and all after it, are past end_ns.
 *
 * So what is read beyond the records given is at most those written
 * since the maximum last entered a new second at or before start_ns,
 * and those up to one window of newer times after the range (less when
 * the stream was written in order).
 */
int
logs_scan_time(struct logs *l, uint64_t id, int64_t start_ns,
    int64_t end_ns, logs_scan_fn fn, void *arg)
{
	return logs_scan_time_needles(l, id, start_ns, end_ns, NULL, 0, fn,
	    arg);
}

/*
 * Records are written once at their data id and offset, never rewritten
 * nor deleted but with their stream (and then never read again), which
 * is what lets the iterator pass over table blocks without the needles.
 * A record left out does not raise the running maximum of times: the
 * scan may then read on further than it would have, never less far.
 */
int
logs_scan_time_needles(struct logs *l, uint64_t id, int64_t start_ns,
    int64_t end_ns, const char *const *needles, size_t nneedles,
    logs_scan_fn fn, void *arg)
{
	unsigned char lo[27], hi[27], key[27];
	const unsigned char *k, *v;
	struct engine_iter *it;
	struct node *s;
	uint64_t data_id, end, from = 0, records = 0, bytes = 0;
	int64_t newest, max = INT64_MIN, stop, ts, cutoff;
	size_t klen, vlen;
	int rc;

	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	cutoff = stream_cutoff(l, s);
	if (start_ns <= cutoff)
		start_ns = cutoff + 1;		/* what is older has expired */
	pthread_mutex_lock(&s->lock);
	data_id = s->data_id;
	end = s->end;
	newest = s->last_ts;
	pthread_mutex_unlock(&s->lock);
	stream_put(l, s);
	if (start_ns >= end_ns || end == 0 || newest < start_ns)
		return 0;
	stop = end_ns > INT64_MAX - LOGS_OOO_WINDOW_NS ? INT64_MAX :
	    end_ns + LOGS_OOO_WINDOW_NS;

	key_id(lo, K_TIME, data_id);
	key_id(hi, K_TIME, data_id + 1);
	it = engine_iter_new(l->e, NULL, lo, 11, hi, 11);
	if (start_ns > 0) {
		key_id(key, K_TIME, data_id);
		put_be64(key + 11, (uint64_t)start_ns);
		put_be64(key + 19, UINT64_MAX);
		engine_iter_seek_for_prev(it, key, 27);
		if (engine_iter_valid(it)) {
			k = engine_iter_key(it, &klen);
			if (klen == 27) {
				max = (int64_t)get_be64(k + 11);
				from = get_be64(k + 19);
			}
		}
	}
	/*
	 * The records from the first index entry at or past stop on were
	 * written with the maximum at or past stop: none can be in range
	 * (see above), so the scan ends there, whether or not it meets a
	 * record to say so (content filters may skip every block between).
	 */
	if (stop < INT64_MAX) {
		key_id(key, K_TIME, data_id);
		put_be64(key + 11, (uint64_t)stop);
		put_be64(key + 19, 0);
		engine_iter_seek(it, key, 27);
		if (engine_iter_valid(it)) {
			k = engine_iter_key(it, &klen);
			if (klen == 27 && get_be64(k + 19) < end)
				end = get_be64(k + 19);
		}
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc != 0)
		return logs_errno(l, rc);
	if (end <= from)
		return 0;

	key_record(lo, data_id, from);
	key_record(hi, data_id, end);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	if (nneedles > 0)
		engine_iter_set_needles(it, needles, NULL, nneedles);
	rc = 0;
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		if (klen != 19 || vlen < TS_LEN)
			continue;
		records++;
		ts = (int64_t)get_be64(v);
		if (ts > max)
			max = ts;
		if (max >= stop)
			break;
		if (ts < start_ns || ts >= end_ns)
			continue;
		bytes += vlen - TS_LEN;
		if ((rc = fn(arg, get_be64(k + 11), v + TS_LEN, vlen - TS_LEN,
		    ts)) != 0)
			break;
	}
	if (rc == 0 && (rc = engine_iter_status(it)) != 0)
		rc = logs_errno(l, rc);
	else if (rc > 0)
		rc = 0;
	engine_iter_free(it);
	metric_add(l->m_scan_records, (double)records);
	metric_add(l->m_scan_bytes, (double)bytes);
	return rc;
}
