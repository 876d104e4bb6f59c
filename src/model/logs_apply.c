/*
 * logs_apply.c - following a writer, and the writer's compaction filter.
 *
 * The engine of a read-only logs tells it each record it applies from
 * the writer's WAL; memory follows, as the writer's own calls made it
 * follow there, and whatever the bytes the tree stays a tree. The
 * compaction filter answers the writer's compactor: which records and
 * time index entries still belong to a stream, and which have expired.
 *
 * Not here: registering either (logs_open), the tables' operations
 * (logs_key.c).
 *
 * Locks (logs_int.h; their order: logs.h): ns, for reading to apply a
 * stream's record, for writing to apply an inode or a directory entry;
 * a stream's lock inside it for its end and data id. The change callback
 * is called once ns is released. The filter reads ns.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "model/labels.h"
#include "model/logs_int.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/log.h"

/* ---- following a writer (read-only) ---- */

/* Tell the change callback that `name` in `dir` may lead elsewhere now. */
static void
changed_name(struct logs *l, uint64_t dir, const char *name, size_t len)
{
	if (l->change_fn != NULL)
		l->change_fn(l->change_arg, dir, name, len);
}

/*
 * The engine of a read-only mount applies what the writer stored and
 * tells us each record: bring memory up to date with it, as the writer's
 * own calls did there. Records come in the writer's batch order, so an
 * inode is seen before the entry that names it.
 */
static void
apply_record(struct logs *l, const unsigned char *k, size_t klen,
    const unsigned char *v, size_t vlen)
{
	uint64_t end, id = 0, dir = 0;
	const char *gone_name = NULL;
	size_t gone_len = 0;
	struct labels *ls;
	struct node *n, *up;
	int64_t ts;

	/* records, by far the most, only read the namespace */
	if (k[2] == K_RECORD)
		pthread_rwlock_rdlock(&l->ns);
	else
		pthread_rwlock_wrlock(&l->ns);
	switch (k[2]) {
	case K_RECORD:
		if (klen != 19 || v == NULL || vlen < TS_LEN)
			break;
		if ((n = data_find(l, get_be64(k + 3))) == NULL)
			break;
		__atomic_store_n(&l->last_data, n, __ATOMIC_RELAXED);
		end = get_be64(k + 11) + (vlen - TS_LEN);
		ts = (int64_t)get_be64(v);
		pthread_mutex_lock(&n->lock);
		if (n->loaded && end > n->end) {
			__atomic_store_n(&n->end, end, __ATOMIC_RELEASE);
			if (ts > n->last_ts)
				n->last_ts = ts;	/* the running maximum */
		}
		pthread_mutex_unlock(&n->lock);
		id = n->id;
		break;
	case K_INODE:
		if (klen != 11)
			break;
		id = get_be64(k + 3);
		n = node_find(l, id);
		if (v == NULL) {
			if (n != NULL && id != LOGS_ROOT_ID)
				node_remove(l, n);
			break;
		}
		if (vlen != INODE_LEN || (v[0] != LOGS_DIR && v[0] != LOGS_STREAM))
			break;
		if (n == NULL)
			n = node_new(l, id, (enum logs_type)v[0]);
		pthread_mutex_lock(&n->lock);
		if (n->data_id != get_be64(v + 1))
			n->loaded = 0;	/* truncated: read its end again */
		__atomic_store_n(&n->data_id, get_be64(v + 1), __ATOMIC_RELEASE);
		n->ctime_ns = (int64_t)get_be64(v + 17);
		n->mtime_ns = (int64_t)get_be64(v + 25);
		pthread_mutex_unlock(&n->lock);
		node_moved(l, n);
		break;
	case K_DIRENT:
		if (klen <= 11 ||
		    logs_name_check((const char *)k + 11, klen - 11) != 0)
			break;
		dir = get_be64(k + 3);
		n = name_find(l, dir, (const char *)k + 11, klen - 11);
		/* the kernel may keep the name: tell it */
		gone_name = (const char *)k + 11;
		gone_len = klen - 11;
		if (v == NULL) {
			if (n != NULL)
				node_unlink(l, n);
			break;
		}
		if (vlen != 9 || (up = node_find(l, dir)) == NULL ||
		    up->type != LOGS_DIR)
			break;
		if (n != NULL && n->id != get_be64(v))
			node_unlink(l, n);	/* replaced */
		if ((n = node_find(l, get_be64(v))) == NULL || n->id == LOGS_ROOT_ID)
			break;
		if (n->type == LOGS_DIR && would_cycle(l, n, dir))
			break;
		if (n->linked)
			node_unlink(l, n);	/* renamed */
		node_link(l, n, dir, (const char *)k + 11, klen - 11);
		retention_changed(l);
		break;
	case K_LABELS:
		if (klen != 11 || (n = node_find(l, get_be64(k + 3))) == NULL ||
		    n->type != LOGS_STREAM)
			break;
		if (v == NULL || vlen == 0 || vlen == 1) {
			labels_free(n->labels);		/* none given */
			n->labels = NULL;
		} else if (labels_decode(v, vlen, NULL, &ls) == 0) {
			labels_free(n->labels);
			n->labels = ls;
		} else
			log_warn("skipping a malformed label record");
		retention_changed(l);
		id = n->id;
		break;
	case K_RETENTION:
		if (klen != 11 || (n = node_find(l, get_be64(k + 3))) == NULL ||
		    n->type != LOGS_STREAM)
			break;
		apply_retention(l, n, v, vlen);
		id = n->id;
		break;
	default:
		break;		/* the counter and the time index */
	}
	pthread_rwlock_unlock(&l->ns);
	if (id != 0)
		logs_changed(l, id);
	if (dir != 0)
		logs_changed(l, dir);
	if (gone_name != NULL)
		changed_name(l, dir, gone_name, gone_len);
}

void
logs_apply(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	const unsigned char *k = key;

	if (klen >= 3 && k[0] == KEY_LOGS && k[1] == KEY_VERSION)
		apply_record(arg, k, klen, val, vlen);
}

/* ---- the compaction filter ---- */

/* Is k the key of a kind kept by the stream's or data's id? */
static int
per_stream(const unsigned char *k)
{
	return k[2] == K_RECORD || k[2] == K_TIME || k[2] == K_LABELS ||
	    k[2] == K_RETENTION;
}

/*
 * The compactor's question: keep this record? A stream's records and time
 * index entries stay while some node, named or removed but still open,
 * has their data id, and while they have not expired (logs_retention.c):
 * those of removed and truncated streams go, and a record goes once its
 * own time is a retention old, as does an index entry whose time is. Its
 * labels and retention ('L', 'E', by the stream's own id, which a
 * truncation keeps) stay while the node does.
 */
int
logs_keep(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	struct logs *l = arg;
	const unsigned char *k = key;
	struct node *n;
	int64_t ms, ts;
	int keep;

	if (klen < 11 || k[0] != KEY_LOGS || k[1] != KEY_VERSION ||
	    !per_stream(k))
		return 1;
	pthread_rwlock_rdlock(&l->ns);
	if (k[2] == K_LABELS || k[2] == K_RETENTION)
		keep = node_find(l, get_be64(k + 3)) != NULL;
	else if ((n = data_find(l, get_be64(k + 3))) == NULL)
		keep = 0;
	else if ((ms = stream_retention(l, n)) == 0)
		keep = 1;
	else {
		if (k[2] == K_RECORD)
			ts = val != NULL && vlen >= TS_LEN ?
			    (int64_t)get_be64(val) : INT64_MAX;
		else
			ts = klen == 27 ? (int64_t)get_be64(k + 11) : INT64_MAX;
		keep = ts > retention_cutoff(ms, clock_wall_ns());
	}
	pthread_rwlock_unlock(&l->ns);
	return keep;
}

/*
 * The compactor's other question: does logs_keep keep every key in
 * [lo, hi]? Yes when both are of one kind that is not kept by id (it
 * keeps all those), or labels or retentions of one id that it keeps, or
 * records or index entries of one data id it keeps that cannot have
 * expired: every key between has the same prefix. Index entries are in
 * time order, so lo's time tells for them all; records are not, but
 * the checkpoints of the appends since the stream was opened bound the
 * times from an offset on (ck_after); records older than those are read.
 */
int
logs_keep_range(void *arg, const void *lo, size_t lolen, const void *hi,
    size_t hilen)
{
	struct logs *l = arg;
	const unsigned char *a = lo, *b = hi;
	struct node *n;
	int64_t ms;
	int keep;

	if (lolen < 3 || hilen < 3 || memcmp(a, b, 3) != 0 ||
	    a[0] != KEY_LOGS || a[1] != KEY_VERSION)
		return 0;
	if (!per_stream(a))
		return 1;
	if (lolen < 11 || hilen < 11 || memcmp(a, b, 11) != 0)
		return 0;
	pthread_rwlock_rdlock(&l->ns);
	if (a[2] == K_LABELS || a[2] == K_RETENTION)
		keep = node_find(l, get_be64(a + 3)) != NULL;
	else if ((n = data_find(l, get_be64(a + 3))) == NULL)
		keep = 0;
	else if ((ms = stream_retention(l, n)) == 0)
		keep = 1;
	else if (a[2] == K_TIME)
		keep = lolen == 27 && (int64_t)get_be64(a + 11) >
		    retention_cutoff(ms, clock_wall_ns());
	else
		keep = lolen == 19 && ck_after(n, get_be64(a + 11),
		    retention_cutoff(ms, clock_wall_ns()));
	pthread_rwlock_unlock(&l->ns);
	return keep;
}
