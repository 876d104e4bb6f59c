/*
 * logs.c - log streams over the engine (see logs.h for the model and the
 * key layout, logs_int.h for the module's files and what they share):
 * opening and closing, the callbacks, the status, and what an engine
 * failure becomes for the caller.
 *
 * logs_open() reads the namespace from one snapshot (every inode, then
 * every directory entry, then the streams' labels and retentions: four
 * range reads; an entry that would break the tree is skipped with a
 * warning, an inode nothing names is not shown), writes the root's
 * inode once per store, and registers the follower or the compaction
 * filter (logs_apply.c). Not here: the namespace's operations
 * (logs_ns.c), the streams' (logs_stream.c).
 *
 * Locks (logs_int.h; their order: logs.h): the load holds ns for
 * writing, so that what a follower applies meanwhile waits for it.
 * logs_changed() takes wait_lock, the last of all, and is called with
 * ns held or with nothing.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "model/logs_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

/* ---- errors and changes ---- */

/* The errno a caller of the file system sees for an engine failure. */
int
logs_errno(struct logs *l, int rc)
{
	if (rc == SHALE_EFENCED || rc == -EROFS) {
		if (!l->fenced_said && rc == SHALE_EFENCED) {
			l->fenced_said = 1;
			log_error("store taken over by a newer writer: writes "
			    "now fail (%s)", err_detail());
		}
		return -EROFS;
	}
	if (rc == -ENOENT || rc == -EINVAL || rc == -ENOMEM)
		return rc;
	log_error("engine: %s", err_detail());
	return -EIO;
}

/* Wake every logs_wait(): the wait lock is taken by nothing else. */
static void
wake_waiters(struct logs *l)
{
	if (__atomic_load_n(&l->waiters, __ATOMIC_SEQ_CST) == 0)
		return;
	pthread_mutex_lock(&l->wait_lock);
	l->wait_gen++;
	pthread_cond_broadcast(&l->wait_cond);
	pthread_mutex_unlock(&l->wait_lock);
}

/* Tell the change callback and every logs_wait() that `id` changed. */
void
logs_changed(struct logs *l, uint64_t id)
{
	if (l->change_fn != NULL)
		l->change_fn(l->change_arg, id, NULL, 0);
	wake_waiters(l);
}

/* ---- opening ---- */

static int
load_inodes(struct logs *l, const struct engine_snapshot *snap)
{
	unsigned char lo[3], hi[3];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t klen, vlen;
	struct node *n;
	int rc;

	key_head(lo, K_INODE);
	key_head(hi, K_INODE + 1);
	it = engine_iter_new(l->e, snap, lo, 3, hi, 3);
	for (engine_iter_seek_first(it); engine_iter_valid(it); engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		if (klen != 11 || vlen != INODE_LEN || (v[0] != LOGS_DIR &&
		    v[0] != LOGS_STREAM)) {
			log_warn("skipping a malformed inode record");
			continue;
		}
		if (get_be64(k + 3) == LOGS_ROOT_ID)
			n = node_find(l, LOGS_ROOT_ID);
		else
			n = node_new(l, get_be64(k + 3), (enum logs_type)v[0]);
		n->data_id = get_be64(v + 1);
		n->parent = get_be64(v + 9);
		n->ctime_ns = (int64_t)get_be64(v + 17);
		n->mtime_ns = (int64_t)get_be64(v + 25);
		node_moved(l, n);
		if (n->id >= l->next_id)
			l->next_id = n->id + 1;
		if (n->data_id >= l->next_id)
			l->next_id = n->data_id + 1;
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

static int
load_dirents(struct logs *l, const struct engine_snapshot *snap)
{
	unsigned char lo[3], hi[3];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t klen, vlen;
	struct node *n, *dir;
	int rc;

	key_head(lo, K_DIRENT);
	key_head(hi, K_DIRENT + 1);
	it = engine_iter_new(l->e, snap, lo, 3, hi, 3);
	for (engine_iter_seek_first(it); engine_iter_valid(it); engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		if (klen <= 11 || vlen != 9 ||
		    logs_name_check((const char *)k + 11, klen - 11) != 0) {
			log_warn("skipping a malformed directory entry");
			continue;
		}
		n = node_find(l, get_be64(v));
		dir = node_find(l, get_be64(k + 3));
		if (n == NULL || dir == NULL || dir->type != LOGS_DIR ||
		    n->linked || n->id == LOGS_ROOT_ID) {
			log_warn("skipping a directory entry without its inode");
			continue;
		}
		if (n->type == LOGS_DIR && would_cycle(l, n, dir->id)) {
			log_warn("skipping a directory entry that makes a cycle");
			continue;
		}
		node_link(l, n, dir->id, (const char *)k + 11, klen - 11);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

int
logs_open(struct engine *e, struct logs **out)
{
	struct logs *l = xcalloc(1, sizeof(*l));
	pthread_condattr_t ca;
	struct engine_status st;
	struct engine_snapshot *snap;
	struct metrics *m = metrics_global();
	struct node *root, *n, *next;
	unsigned char k[11], v[INODE_LEN];
	struct buf val;
	int rc;

	l->e = e;
	engine_status(e, &st);
	l->ro = st.reader;
	/* the records' lines get content filters: scans for rare strings */
	key_head(k, K_RECORD);
	if ((rc = engine_content_filter_prefix(e, k, 3)) != 0)
		log_warn("logs: no content filters for records: %s",
		    strerror(-rc));
	pthread_rwlock_init(&l->ns, NULL);
	pthread_rwlock_init(&l->data_lock, NULL);
	pthread_mutex_init(&l->wait_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wait_cond, &ca);
	pthread_condattr_destroy(&ca);
	ntable_init(&l->by_id);
	ntable_init(&l->by_name);
	l->next_id = LOGS_ROOT_ID + 1;
	l->ret_gen = 1;			/* a new node's 0 is never current */
	l->m_app_records = metric_series(metrics_counter(m,
	    "log_append_records_total", "Records appended to log streams.",
	    NULL));
	l->m_app_bytes = metric_series(metrics_counter(m,
	    "log_append_bytes_total", "Bytes appended to log streams.", NULL));
	l->m_scan_records = metric_series(metrics_counter(m,
	    "log_records_scanned_total", "Records read from log streams.",
	    NULL));
	l->m_scan_bytes = metric_series(metrics_counter(m,
	    "log_bytes_scanned_total", "Bytes read from log streams.", NULL));

	root = node_new(l, LOGS_ROOT_ID, LOGS_DIR);
	root->parent = LOGS_ROOT_ID;
	root->ctime_ns = root->mtime_ns = clock_wall_ns();
	root->name = xstrdup("logs");
	root->namelen = 4;
	/*
	 * A follower registers before it loads, and loads holding the
	 * namespace, so that what its follow thread applies meanwhile
	 * waits in apply_record and is applied on top of what was loaded:
	 * nothing applied between the load and the registration is missed
	 * (engine_on_apply). Applying a record twice changes nothing.
	 */
	pthread_rwlock_wrlock(&l->ns);
	if (l->ro)
		engine_on_apply(e, logs_apply, l);
	snap = engine_snapshot_new(e);	/* inodes and names of one moment */
	rc = load_inodes(l, snap);
	if (rc == 0)
		rc = load_dirents(l, snap);
	if (rc == 0)
		rc = load_labels(l, snap);
	if (rc == 0)
		rc = load_retentions(l, snap);
	engine_snapshot_free(snap);
	/* inodes nothing names (a torn history) are not shown */
	for (size_t i = 0; rc == 0 && i < l->by_id.cap; i++) {
		for (n = l->by_id.v[i]; n != NULL; n = next) {
			next = n->id_next;
			if (!n->linked && n != root)
				node_remove(l, n);
		}
	}
	pthread_rwlock_unlock(&l->ns);
	if (rc != 0)
		goto fail;
	buf_init(&val, 0);
	key_head(k, K_COUNTER);
	rc = engine_get(e, NULL, k, 3, &val);
	if (rc == 0 && val.len == 8 &&
	    get_be64((const unsigned char *)val.data) > l->next_id)
		l->next_id = get_be64((const unsigned char *)val.data);
	buf_release(&val);
	if (rc != 0 && rc != -ENOENT)
		goto fail;
	if (!l->ro) {
		/* the root's inode, once per store: it carries its times */
		struct engine_batch *b = engine_batch_new();

		key_id(k, K_INODE, LOGS_ROOT_ID);
		inode_encode(v, root, 0);
		engine_batch_put(b, k, 11, v, INODE_LEN, ENGINE_NO_EXPIRY);
		rc = 0;
		buf_init(&val, 0);
		if (engine_get(e, NULL, k, 11, &val) == -ENOENT)
			rc = engine_write(e, b, NULL);
		buf_release(&val);
		engine_batch_free(b);
		if (rc != 0)
			goto fail;
	}
	if (!l->ro)
		engine_set_compaction_filter(e, logs_keep, logs_keep_range, l);
	*out = l;
	return 0;
fail:
	logs_close(l);
	return rc;
}

void
logs_close(struct logs *l)
{
	struct node *n, *next;

	if (l == NULL)
		return;
	if (l->ro)
		engine_on_apply(l->e, NULL, l);
	else
		engine_set_compaction_filter(l->e, NULL, NULL, NULL);
	for (size_t i = 0; i < l->by_id.cap; i++) {
		for (n = l->by_id.v[i]; n != NULL; n = next) {
			next = n->id_next;
			node_unref(n);
		}
	}
	free(l->by_id.v);
	free(l->by_name.v);
	logs_retention_release(l);
	free(l->push_rule);
	pthread_rwlock_destroy(&l->ns);
	pthread_rwlock_destroy(&l->data_lock);
	pthread_mutex_destroy(&l->wait_lock);
	pthread_cond_destroy(&l->wait_cond);
	free(l);
}

int
logs_read_only(const struct logs *l)
{
	return l->ro;
}

void
logs_status(struct logs *l, struct logs_status *st)
{
	struct engine_status es;

	engine_status(l->e, &es);
	memset(st, 0, sizeof(*st));
	st->reader = es.reader;
	st->fenced = es.fenced;
	st->epoch = es.epoch;
	st->manifest_id = es.manifest_id;
	st->last_seq = es.last_seq;
	st->durable_seq = es.durable_seq;
	st->unflushed_bytes = es.unflushed_bytes;
	st->l0_tables = es.l0_tables;
	st->runs = es.runs;
	st->run_tables = es.run_tables;
	st->table_bytes = es.table_bytes;
	st->compacting = es.compacting;
	st->follow_lag_ms = es.follow_lag_ms;
	st->store_failing_since_ns = es.store_failing_since_ns;
	st->store_write_failing_since_ns = es.store_write_failing_since_ns;
}

void
logs_on_change(struct logs *l, logs_change_fn fn, void *arg)
{
	l->change_arg = arg;
	l->change_fn = fn;
}

void
logs_on_data(struct logs *l, logs_data_fn fn, void *arg)
{
	pthread_rwlock_wrlock(&l->data_lock);
	l->data_arg = arg;
	l->data_fn = fn;
	pthread_rwlock_unlock(&l->data_lock);
}
