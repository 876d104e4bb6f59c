/*
 * logs.c - log streams over the engine (see logs.h for the model and the
 * key layout).
 *
 * The namespace lives in memory: logs_open() reads every directory entry
 * and inode once, and every change is written through to the engine in
 * one batch before memory follows, so a lookup, a getattr or a readdir
 * never reaches the object store. A stream's length and last timestamp
 * are read the first time the stream is used (one seek to its last
 * record) and kept up to date by the appends, which all go through here.
 *
 * Locks, in this order:
 *	ns	(rwlock) the namespace: the node tables, names, parents,
 *		children, refcounts, next_id; readers for lookups, writers
 *		for changes
 *	node->lock	one stream's appends and its end, last_ts, data_id,
 *			indexed_sec, loaded
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine/lsm/engine.h"
#include "model/logs.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define KEY_LOGS	0x01
#define KEY_VERSION	0x01
#define K_DIRENT	'D'
#define K_INODE		'I'
#define K_RECORD	'R'
#define K_TIME		'T'
#define K_COUNTER	'C'

#define INODE_LEN	33	/* type, data_id, parent, ctime, mtime */
#define TS_LEN		8	/* a record value starts with its timestamp */

struct node {
	uint64_t	 id;
	enum logs_type	 type;
	uint64_t	 parent;		/* ns */
	char		*name;			/* ns */
	size_t		 namelen;		/* ns */
	int64_t		 ctime_ns;
	int64_t		 mtime_ns;		/* ns (directories) */
	int		 refs;			/* atomic, under ns: the namespace's + users' */
	int		 linked;		/* ns: reachable by name */
	int		 gone;			/* ns: removed; forgotten at the last put */

	struct node	*id_next;		/* ns: chains of the tables */
	struct node	*name_next;
	struct node	*child, *sib_prev, *sib_next;	/* ns: directories */
	struct node	*moved_next;		/* ns: on l->moved */
	int		 on_moved;		/* ns */
	size_t		 nchildren;		/* ns */

	pthread_mutex_t	 lock;
	int		 loaded;		/* lock: end and last_ts read */
	int		 removed;		/* lock: no name leads here any more */
	/*
	 * Changed under lock (and data_id under ns too) with atomic stores,
	 * so that logs_reader_read can load them without the lock
	 */
	uint64_t	 data_id;
	uint64_t	 end;
	int64_t		 last_ts;		/* lock */
	int64_t		 indexed_sec;		/* lock */
	uint64_t	 last_seq;		/* lock: of the last append */
	int		 writers;		/* lock: logs_writer_new's, not freed */
	int		 cached;		/* lock: readers in the page cache */
};

struct table {
	struct node	**v;
	size_t		 n, cap;		/* cap: a power of two */
};

struct logs {
	struct engine	*e;
	int		 ro;
	pthread_rwlock_t ns;
	struct table	 by_id;
	struct table	 by_name;
	uint64_t	 next_id;		/* ns */
	struct node	*moved;			/* ns: streams whose data id is not their id */
	struct node	*last_data;		/* atomic, cleared under ns (write): the
						 * follower's last record's stream */
	logs_change_fn	 change_fn;
	void		*change_arg;
	pthread_rwlock_t data_lock;		/* data_fn, data_arg: held over calls */
	logs_data_fn	 data_fn;
	void		*data_arg;
	int		 fenced_said;

	/* logs_wait(): woken by every change while someone waits */
	pthread_mutex_t	 wait_lock;
	pthread_cond_t	 wait_cond;
	uint64_t	 wait_gen;		/* wait_lock */
	int		 waiters;		/* atomic */

	struct metric_series *m_app_records, *m_app_bytes;
	struct metric_series *m_scan_records, *m_scan_bytes;
};

struct logs_writer {
	struct logs	*l;
	struct node	*n;
	unsigned	 flags;
	struct buf	 held;
	uint64_t	 last_seq;
};

/* ---- keys ---- */

static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t
key_head(unsigned char *k, char kind)
{
	k[0] = KEY_LOGS;
	k[1] = KEY_VERSION;
	k[2] = (unsigned char)kind;
	return 3;
}

static size_t
key_id(unsigned char *k, char kind, uint64_t id)
{
	key_head(k, kind);
	put_be64(k + 3, id);
	return 11;
}

static size_t
key_record(unsigned char *k, uint64_t data_id, uint64_t off)
{
	key_id(k, K_RECORD, data_id);
	put_be64(k + 11, off);
	return 19;
}

/* k must hold 11 + LOGS_NAME_MAX bytes */
static size_t
key_dirent(unsigned char *k, uint64_t parent, const char *name, size_t len)
{
	key_id(k, K_DIRENT, parent);
	memcpy(k + 11, name, len);
	return 11 + len;
}

static void
inode_encode(unsigned char *v, const struct node *n, uint64_t data_id)
{
	v[0] = (unsigned char)n->type;
	put_be64(v + 1, data_id);
	put_be64(v + 9, n->parent);
	put_be64(v + 17, (uint64_t)n->ctime_ns);
	put_be64(v + 25, (uint64_t)n->mtime_ns);
}

/* ---- the node tables ---- */

static uint64_t
name_hash(uint64_t parent, const char *name, size_t len)
{
	return XXH3_64bits_withSeed(name, len, parent);
}

static struct node **
id_slot(struct table *t, uint64_t id)
{
	struct node **p = &t->v[XXH3_64bits(&id, sizeof(id)) & (t->cap - 1)];

	while (*p != NULL && (*p)->id != id)
		p = &(*p)->id_next;
	return p;
}

static struct node **
name_slot(struct table *t, uint64_t parent, const char *name, size_t len)
{
	struct node **p = &t->v[name_hash(parent, name, len) & (t->cap - 1)];

	while (*p != NULL && ((*p)->parent != parent || (*p)->namelen != len ||
	    memcmp((*p)->name, name, len) != 0))
		p = &(*p)->name_next;
	return p;
}

static void
table_init(struct table *t)
{
	t->cap = 64;
	t->n = 0;
	t->v = xcalloc(t->cap, sizeof(*t->v));
}

static void
table_grow(struct table *t, int by_name)
{
	struct node **old = t->v, *n, *next;
	size_t oldcap = t->cap;

	t->cap *= 2;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	for (size_t i = 0; i < oldcap; i++) {
		for (n = old[i]; n != NULL; n = next) {
			if (by_name) {
				next = n->name_next;
				n->name_next = NULL;
				*name_slot(t, n->parent, n->name, n->namelen) = n;
			} else {
				next = n->id_next;
				n->id_next = NULL;
				*id_slot(t, n->id) = n;
			}
		}
	}
	free(old);
}

static struct node *
node_find(struct logs *l, uint64_t id)
{
	return *id_slot(&l->by_id, id);
}

static struct node *
name_find(struct logs *l, uint64_t parent, const char *name, size_t len)
{
	return *name_slot(&l->by_name, parent, name, len);
}

static struct node *
node_new(struct logs *l, uint64_t id, enum logs_type type)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->id = id;
	n->type = type;
	n->refs = 1;
	pthread_mutex_init(&n->lock, NULL);
	if (l->by_id.n + 1 > l->by_id.cap)
		table_grow(&l->by_id, 0);
	*id_slot(&l->by_id, id) = n;
	l->by_id.n++;
	return n;
}

static void
node_unref(struct node *n)
{
	if (__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	pthread_mutex_destroy(&n->lock);
	free(n->name);
	free(n);
}

/* Give n a name in dir `parent` (it must have none). (ns) */
static void
node_link(struct logs *l, struct node *n, uint64_t parent, const char *name,
    size_t len)
{
	struct node *dir = node_find(l, parent);

	free(n->name);
	n->name = xstrndup(name, len);
	n->namelen = len;
	n->parent = parent;
	n->linked = 1;
	if (l->by_name.n + 1 > l->by_name.cap)
		table_grow(&l->by_name, 1);
	*name_slot(&l->by_name, parent, name, len) = n;
	l->by_name.n++;
	if (dir != NULL && dir != n) {
		n->sib_prev = NULL;
		n->sib_next = dir->child;
		if (dir->child != NULL)
			dir->child->sib_prev = n;
		dir->child = n;
		dir->nchildren++;
	}
}

/* Take n's name away. (ns) */
static void
node_unlink(struct logs *l, struct node *n)
{
	struct node *dir = node_find(l, n->parent);
	struct node **p = name_slot(&l->by_name, n->parent, n->name, n->namelen);

	BUG_ON(*p != n);
	*p = n->name_next;
	n->name_next = NULL;
	l->by_name.n--;
	if (dir != NULL) {
		if (n->sib_prev != NULL)
			n->sib_prev->sib_next = n->sib_next;
		else
			dir->child = n->sib_next;
		if (n->sib_next != NULL)
			n->sib_next->sib_prev = n->sib_prev;
		dir->nchildren--;
	}
	n->sib_prev = n->sib_next = NULL;
	n->linked = 0;
}

/* Keep l->moved right after n's data id changed. (ns, write) */
static void
node_moved(struct logs *l, struct node *n)
{
	if (n->on_moved || n->data_id == n->id || n->type != LOGS_STREAM)
		return;
	n->moved_next = l->moved;
	l->moved = n;
	n->on_moved = 1;
}

/* The stream whose records carry data id `d`, or NULL. (ns) */
static struct node *
data_find(struct logs *l, uint64_t d)
{
	struct node *n;

	/* nodes are forgotten only under the write lock: n stays valid */
	n = __atomic_load_n(&l->last_data, __ATOMIC_RELAXED);
	if (n != NULL && n->data_id == d)
		return n;
	if ((n = node_find(l, d)) != NULL && n->data_id == d)
		return n;
	for (n = l->moved; n != NULL; n = n->moved_next)
		if (n->data_id == d)
			return n;
	return NULL;
}

/*
 * Would naming n in `dir` make a directory its own ancestor? A store can
 * say anything: a damaged or hostile one must not make a walk up the tree
 * loop. (ns)
 */
static int
would_cycle(struct logs *l, const struct node *n, uint64_t dir)
{
	const struct node *up = node_find(l, dir);

	for (size_t steps = 0; up != NULL; steps++) {
		if (up == n || steps > l->by_id.n)
			return 1;
		if (up->id == LOGS_ROOT_ID)
			return 0;
		up = node_find(l, up->parent);
	}
	return 0;
}

/* Drop n from the id table with the namespace's reference. (ns, write) */
static void
node_forget(struct logs *l, struct node *n)
{
	struct node **p = id_slot(&l->by_id, n->id);

	if (n->on_moved) {
		struct node **m = &l->moved;

		while (*m != n)
			m = &(*m)->moved_next;
		*m = n->moved_next;
		n->on_moved = 0;
	}
	if (l->last_data == n)
		l->last_data = NULL;

	BUG_ON(*p != n);
	*p = n->id_next;
	n->id_next = NULL;
	l->by_id.n--;
	node_unref(n);
}

/*
 * Take n out of the namespace: no name leads to it any more. While files
 * hold it open it stays findable by id (fstat, reads); the last of them
 * to let go forgets it (stream_put). (ns, write)
 */
static void
node_remove(struct logs *l, struct node *n)
{
	pthread_mutex_lock(&n->lock);
	n->removed = 1;		/* its open writers now fail */
	pthread_mutex_unlock(&n->lock);
	/*
	 * Only a damaged store removes a directory that still has entries
	 * (logs_rmdir refuses): they lose their names with it
	 */
	while (n->child != NULL)
		node_unlink(l, n->child);
	if (n->linked)
		node_unlink(l, n);
	n->gone = 1;
	/* refs only change under ns here: read or write held */
	if (n->refs == 1)
		node_forget(l, n);
}

/* ---- errors ---- */

/* The errno a caller of the file system sees for an engine failure. */
static int
engine_errno(struct logs *l, int rc)
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

static void
changed(struct logs *l, uint64_t id)
{
	if (l->change_fn != NULL)
		l->change_fn(l->change_arg, id, NULL, 0);
	wake_waiters(l);
}

static void
changed_name(struct logs *l, uint64_t dir, const char *name, size_t len)
{
	if (l->change_fn != NULL)
		l->change_fn(l->change_arg, dir, name, len);
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

/* ---- following a writer (read-only) ---- */

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
			n->last_ts = ts;
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
		break;
	default:
		break;		/* the counter and the time index */
	}
	pthread_rwlock_unlock(&l->ns);
	if (id != 0)
		changed(l, id);
	if (dir != 0)
		changed(l, dir);
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

/*
 * The compactor's question: keep this record? A stream's records and time
 * index entries stay while some node, named or removed but still open,
 * has their data id; those of removed and truncated streams go.
 */
static int
logs_keep(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	struct logs *l = arg;
	const unsigned char *k = key;
	int keep;

	(void)val;
	(void)vlen;
	if (klen < 11 || k[0] != KEY_LOGS || k[1] != KEY_VERSION ||
	    (k[2] != K_RECORD && k[2] != K_TIME))
		return 1;
	pthread_rwlock_rdlock(&l->ns);
	keep = data_find(l, get_be64(k + 3)) != NULL;
	pthread_rwlock_unlock(&l->ns);
	return keep;
}

/*
 * The compactor's other question: does logs_keep keep every key in
 * [lo, hi]? Yes when both are of one kind that is neither records nor
 * time index (it keeps all those), or records (or index entries) of one
 * data id that it keeps: every key between has the same prefix.
 */
static int
logs_keep_range(void *arg, const void *lo, size_t lolen, const void *hi,
    size_t hilen)
{
	const unsigned char *a = lo, *b = hi;

	if (lolen < 3 || hilen < 3 || memcmp(a, b, 3) != 0 ||
	    a[0] != KEY_LOGS || a[1] != KEY_VERSION)
		return 0;
	if (a[2] != K_RECORD && a[2] != K_TIME)
		return 1;
	if (lolen < 11 || hilen < 11 || memcmp(a, b, 11) != 0)
		return 0;
	return logs_keep(arg, lo, lolen, NULL, 0);
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
	pthread_rwlock_init(&l->ns, NULL);
	pthread_rwlock_init(&l->data_lock, NULL);
	pthread_mutex_init(&l->wait_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wait_cond, &ca);
	pthread_condattr_destroy(&ca);
	table_init(&l->by_id);
	table_init(&l->by_name);
	l->next_id = LOGS_ROOT_ID + 1;
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
		engine_on_apply(l->e, NULL, NULL);
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

/* Tell data_fn that s holds `n1 + n2` new bytes from `off` on. (s->lock) */
static void
data_changed(struct logs *l, struct node *s, uint64_t off, const void *p1,
    size_t n1, const void *p2, size_t n2)
{
	pthread_rwlock_rdlock(&l->data_lock);
	if (l->data_fn != NULL)
		l->data_fn(l->data_arg, s->id, off, p1, n1, p2, n2);
	pthread_rwlock_unlock(&l->data_lock);
}

int
logs_name_check(const char *name, size_t len)
{
	if (len == 0 || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if (len > LOGS_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) != NULL || memchr(name, '\0', len) != NULL)
		return -EINVAL;
	return 0;
}

/* ---- streams' state ---- */

/* Read a stream's end and last timestamp from its last record. (n->lock) */
static int
stream_load(struct logs *l, struct node *n)
{
	unsigned char lo[19], hi[19];
	struct engine_iter *it;
	const unsigned char *k;
	size_t klen, vlen;
	int rc;

	if (n->loaded)
		return 0;
	key_record(lo, n->data_id, 0);
	key_record(hi, n->data_id + 1, 0);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	engine_iter_seek_last(it);
	__atomic_store_n(&n->end, 0, __ATOMIC_RELEASE);
	n->last_ts = n->ctime_ns;
	if (engine_iter_valid(it)) {
		k = engine_iter_key(it, &klen);
		const unsigned char *v = engine_iter_value(it, &vlen);
		if (klen == 19 && vlen >= TS_LEN) {
			__atomic_store_n(&n->end, get_be64(k + 11) +
			    (vlen - TS_LEN), __ATOMIC_RELEASE);
			n->last_ts = (int64_t)get_be64(v);
		}
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc != 0)
		return engine_errno(l, rc);
	n->indexed_sec = n->last_ts / 1000000000;
	n->loaded = 1;
	return 0;
}

static void
fill_attr(struct node *n, struct logs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->id = n->id;
	a->type = n->type;
	a->parent = n->parent;
	a->ctime_ns = n->ctime_ns;
	a->mtime_ns = n->mtime_ns;
}

/* Fill a with n's attributes, loading a stream if needed. (ns held) */
static int
node_attr(struct logs *l, struct node *n, struct logs_attr *a)
{
	int rc = 0;

	fill_attr(n, a);
	if (n->type == LOGS_STREAM) {
		pthread_mutex_lock(&n->lock);
		if ((rc = stream_load(l, n)) == 0) {
			a->size = n->end;
			a->mtime_ns = n->last_ts;
		}
		pthread_mutex_unlock(&n->lock);
	}
	return rc;
}

/* ---- the namespace ---- */

int
logs_getattr(struct logs *l, uint64_t id, struct logs_attr *a)
{
	struct node *n;
	int rc;

	pthread_rwlock_rdlock(&l->ns);
	n = node_find(l, id);
	rc = n == NULL ? -ENOENT : node_attr(l, n, a);
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

int
logs_lookup(struct logs *l, uint64_t parent, const char *name,
    struct logs_attr *a)
{
	size_t len = strlen(name);
	struct node *dir, *n;
	int rc;

	if (len > LOGS_NAME_MAX)
		return -ENAMETOOLONG;
	pthread_rwlock_rdlock(&l->ns);
	dir = node_find(l, parent);
	if (dir == NULL)
		rc = -ENOENT;
	else if (dir->type != LOGS_DIR)
		rc = -ENOTDIR;
	else if ((n = name_find(l, parent, name, len)) == NULL)
		rc = -ENOENT;
	else
		rc = node_attr(l, n, a);
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

/* Put n's inode into b. */
static void
batch_inode(struct engine_batch *b, const struct node *n, uint64_t data_id)
{
	unsigned char k[11], v[INODE_LEN];

	key_id(k, K_INODE, n->id);
	inode_encode(v, n, data_id);
	engine_batch_put(b, k, 11, v, INODE_LEN, ENGINE_NO_EXPIRY);
}

static void
batch_dirent(struct engine_batch *b, uint64_t parent, const char *name,
    size_t len, const struct node *n)
{
	unsigned char k[11 + LOGS_NAME_MAX], v[9];

	put_be64(v, n->id);
	v[8] = (unsigned char)n->type;
	engine_batch_put(b, k, key_dirent(k, parent, name, len), v, 9, ENGINE_NO_EXPIRY);
}

static void
batch_undirent(struct engine_batch *b, uint64_t parent, const char *name,
    size_t len)
{
	unsigned char k[11 + LOGS_NAME_MAX];

	engine_batch_delete(b, k, key_dirent(k, parent, name, len));
}

static void
batch_uninode(struct engine_batch *b, uint64_t id)
{
	unsigned char k[11];

	engine_batch_delete(b, k, key_id(k, K_INODE, id));
}

static void
batch_counter(struct engine_batch *b, uint64_t next)
{
	unsigned char k[3], v[8];

	key_head(k, K_COUNTER);
	put_be64(v, next);
	engine_batch_put(b, k, 3, v, 8, ENGINE_NO_EXPIRY);
}

/* A directory's mtime moves with its entries; written with the change. (ns) */
static void
touch_dir(struct engine_batch *b, struct node *dir, int64_t now,
    int64_t *saved)
{
	*saved = dir->mtime_ns;
	dir->mtime_ns = now;
	batch_inode(b, dir, 0);
}

/* Checks common to making a name in `parent`. (ns) */
static int
check_new_name(struct logs *l, uint64_t parent, const char *name, size_t len,
    struct node **dirp)
{
	struct node *dir;
	int rc;

	if (l->ro)
		return -EROFS;
	if ((rc = logs_name_check(name, len)) != 0)
		return rc;
	if ((dir = node_find(l, parent)) == NULL)
		return -ENOENT;
	if (dir->type != LOGS_DIR)
		return -ENOTDIR;
	if (name_find(l, parent, name, len) != NULL)
		return -EEXIST;
	*dirp = dir;
	return 0;
}

static int
make(struct logs *l, uint64_t parent, const char *name, enum logs_type type,
    struct logs_attr *a)
{
	size_t len = strlen(name);
	struct engine_batch *b;
	struct node *dir, *n;
	int64_t now = clock_wall_ns(), saved;
	int rc;

	pthread_rwlock_wrlock(&l->ns);
	if ((rc = check_new_name(l, parent, name, len, &dir)) != 0)
		goto out;
	n = node_new(l, l->next_id, type);
	n->parent = parent;
	n->ctime_ns = n->mtime_ns = now;
	if (type == LOGS_STREAM) {
		n->data_id = n->id;
		n->loaded = 1;		/* a new stream is empty */
		n->last_ts = now;
		n->indexed_sec = -1;
	}
	b = engine_batch_new();
	batch_inode(b, n, n->data_id);
	batch_dirent(b, parent, name, len, n);
	batch_counter(b, l->next_id + 1);
	touch_dir(b, dir, now, &saved);
	rc = engine_write(l->e, b, NULL);
	engine_batch_free(b);
	if (rc != 0) {
		dir->mtime_ns = saved;
		node_remove(l, n);
		rc = engine_errno(l, rc);
		goto out;
	}
	l->next_id++;
	node_link(l, n, parent, name, len);
	fill_attr(n, a);
	changed(l, parent);
out:
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

int
logs_mkdir(struct logs *l, uint64_t parent, const char *name,
    struct logs_attr *a)
{
	return make(l, parent, name, LOGS_DIR, a);
}

int
logs_create(struct logs *l, uint64_t parent, const char *name,
    struct logs_attr *a)
{
	return make(l, parent, name, LOGS_STREAM, a);
}

static int
remove_entry(struct logs *l, uint64_t parent, const char *name, int dir_wanted)
{
	size_t len = strlen(name);
	struct engine_batch *b;
	struct node *dir, *n;
	int64_t saved;
	int rc;

	if (l->ro)
		return -EROFS;
	if (len > LOGS_NAME_MAX)
		return -ENAMETOOLONG;
	pthread_rwlock_wrlock(&l->ns);
	if ((dir = node_find(l, parent)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if ((n = name_find(l, parent, name, len)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if (dir_wanted && n->type != LOGS_DIR) {
		rc = -ENOTDIR;
		goto out;
	}
	if (!dir_wanted && n->type == LOGS_DIR) {
		rc = -EISDIR;
		goto out;
	}
	if (n->type == LOGS_DIR && n->nchildren > 0) {
		rc = -ENOTEMPTY;
		goto out;
	}
	b = engine_batch_new();
	batch_undirent(b, parent, name, len);
	batch_uninode(b, n->id);
	touch_dir(b, dir, clock_wall_ns(), &saved);
	rc = engine_write(l->e, b, NULL);
	engine_batch_free(b);
	if (rc != 0) {
		dir->mtime_ns = saved;
		rc = engine_errno(l, rc);
		goto out;
	}
	node_remove(l, n);
	changed(l, parent);
out:
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

int
logs_unlink(struct logs *l, uint64_t parent, const char *name)
{
	return remove_entry(l, parent, name, 0);
}

int
logs_rmdir(struct logs *l, uint64_t parent, const char *name)
{
	return remove_entry(l, parent, name, 1);
}

int
logs_rename(struct logs *l, uint64_t parent, const char *name,
    uint64_t newparent, const char *newname, unsigned flags)
{
	size_t len = strlen(name), newlen = strlen(newname);
	struct engine_batch *b;
	struct node *dir, *newdir, *n, *old;
	int64_t now = clock_wall_ns(), saved1, saved2 = 0;
	uint64_t oldparent;
	int rc;

	if (l->ro)
		return -EROFS;
	if (len > LOGS_NAME_MAX)
		return -ENAMETOOLONG;
	if ((rc = logs_name_check(newname, newlen)) != 0)
		return rc;
	pthread_rwlock_wrlock(&l->ns);
	dir = node_find(l, parent);
	newdir = node_find(l, newparent);
	if (dir == NULL || newdir == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if (dir->type != LOGS_DIR || newdir->type != LOGS_DIR) {
		rc = -ENOTDIR;
		goto out;
	}
	if ((n = name_find(l, parent, name, len)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	old = name_find(l, newparent, newname, newlen);
	if (old == n) {
		rc = 0;		/* rename(2): the same file, nothing to do */
		goto out;
	}
	if (old != NULL) {
		if (flags & LOGS_RENAME_NOREPLACE) {
			rc = -EEXIST;
			goto out;
		}
		if (n->type == LOGS_DIR && old->type != LOGS_DIR) {
			rc = -ENOTDIR;
			goto out;
		}
		if (n->type != LOGS_DIR && old->type == LOGS_DIR) {
			rc = -EISDIR;
			goto out;
		}
		if (old->type == LOGS_DIR && old->nchildren > 0) {
			rc = -ENOTEMPTY;
			goto out;
		}
	}
	/* a directory cannot move into itself or below */
	if (n->type == LOGS_DIR && would_cycle(l, n, newparent)) {
		rc = -EINVAL;
		goto out;
	}
	b = engine_batch_new();
	batch_undirent(b, parent, name, len);
	if (old != NULL)
		batch_uninode(b, old->id);
	oldparent = n->parent;
	n->parent = newparent;
	pthread_mutex_lock(&n->lock);
	batch_inode(b, n, n->data_id);
	pthread_mutex_unlock(&n->lock);
	n->parent = oldparent;
	batch_dirent(b, newparent, newname, newlen, n);
	touch_dir(b, dir, now, &saved1);
	if (newdir != dir)
		touch_dir(b, newdir, now, &saved2);
	rc = engine_write(l->e, b, NULL);
	engine_batch_free(b);
	if (rc != 0) {
		dir->mtime_ns = saved1;
		if (newdir != dir)
			newdir->mtime_ns = saved2;
		rc = engine_errno(l, rc);
		goto out;
	}
	if (old != NULL)
		node_remove(l, old);
	node_unlink(l, n);
	node_link(l, n, newparent, newname, newlen);
	changed(l, parent);
	if (newparent != parent)
		changed(l, newparent);
out:
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a;
	const struct node *y = *(struct node *const *)b;
	size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->namelen < y->namelen ? -1 : x->namelen > y->namelen;
}

int
logs_readdir(struct logs *l, uint64_t id, logs_dir_fn fn, void *arg)
{
	struct logs_attr a;
	struct node *dir, *n, **v = NULL;
	size_t k = 0;
	int rc = 0;

	pthread_rwlock_rdlock(&l->ns);
	if ((dir = node_find(l, id)) == NULL)
		rc = -ENOENT;
	else if (dir->type != LOGS_DIR)
		rc = -ENOTDIR;
	if (rc == 0 && dir->nchildren > 0) {
		v = xcalloc(dir->nchildren, sizeof(*v));
		for (n = dir->child; n != NULL; n = n->sib_next)
			v[k++] = n;
		qsort(v, k, sizeof(*v), name_cmp);
	}
	for (size_t i = 0; i < k; i++) {
		/* sizes are not needed to list: no stream is loaded here */
		fill_attr(v[i], &a);
		if (fn(arg, v[i]->name, v[i]->namelen, &a) != 0)
			break;
	}
	pthread_rwlock_unlock(&l->ns);
	free(v);
	return rc;
}

int
logs_usage(struct logs *l, struct logs_usage *u)
{
	struct node *n;

	memset(u, 0, sizeof(*u));
	pthread_rwlock_rdlock(&l->ns);
	for (size_t i = 0; i < l->by_id.cap; i++) {
		for (n = l->by_id.v[i]; n != NULL; n = n->id_next) {
			if (n->gone)
				continue;	/* removed, still open */
			if (n->type == LOGS_DIR) {
				u->dirs++;
				continue;
			}
			u->streams++;
			pthread_mutex_lock(&n->lock);
			if (n->loaded)
				u->bytes += n->end;
			pthread_mutex_unlock(&n->lock);
		}
	}
	pthread_rwlock_unlock(&l->ns);
	return 0;
}

/* ---- streams ---- */

static void	stream_put(struct logs *l, struct node *n);

/* The stream `id`, referenced, loaded: release with stream_put(). */
static int
stream_get(struct logs *l, uint64_t id, struct node **out)
{
	struct node *n;
	int rc = 0;

	pthread_rwlock_rdlock(&l->ns);
	if ((n = node_find(l, id)) == NULL)
		rc = -ENOENT;
	else if (n->type != LOGS_STREAM)
		rc = -EISDIR;
	else
		__atomic_add_fetch(&n->refs, 1, __ATOMIC_ACQ_REL);
	pthread_rwlock_unlock(&l->ns);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&n->lock);
	rc = stream_load(l, n);
	pthread_mutex_unlock(&n->lock);
	if (rc != 0) {
		stream_put(l, n);
		return rc;
	}
	*out = n;
	return 0;
}

static void
stream_put(struct logs *l, struct node *n)
{
	pthread_rwlock_rdlock(&l->ns);
	if (!n->gone) {
		node_unref(n);	/* never the last: the namespace holds one */
		pthread_rwlock_unlock(&l->ns);
		return;
	}
	pthread_rwlock_unlock(&l->ns);
	pthread_rwlock_wrlock(&l->ns);
	node_unref(n);
	if (n->refs == 1)
		node_forget(l, n);
	pthread_rwlock_unlock(&l->ns);
}

/*
 * A reader keeps one engine iterator between reads, so reading a stream
 * from start to end seeks once, not once per read(2); it makes a new one
 * when asked for another offset or for records its iterator was made
 * too early to see.
 */
struct logs_reader {
	struct logs		*l;
	struct node		*n;
	pthread_mutex_t		 lock;
	struct engine_iter	*it;		/* lock */
	uint64_t		 data_id;	/* lock: of it */
	uint64_t		 seen;		/* lock: stream end when it was made */
	uint64_t		 pos;		/* lock: where the next read starts */
	unsigned char		 lo[19], hi[19];
	int			 cached;	/* counted in n->cached */
};

struct logs_reader *
logs_reader_new(struct logs *l, uint64_t id)
{
	struct logs_reader *r;
	struct node *s;

	if (stream_get(l, id, &s) != 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->l = l;
	r->n = s;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
logs_reader_getattr(struct logs_reader *r, struct logs_attr *a)
{
	struct node *n = r->n;

	fill_attr(n, a);
	pthread_mutex_lock(&n->lock);
	a->size = n->end;
	a->mtime_ns = n->last_ts;
	pthread_mutex_unlock(&n->lock);
}

void
logs_reader_free(struct logs_reader *r)
{
	if (r == NULL)
		return;
	engine_iter_free(r->it);
	pthread_mutex_destroy(&r->lock);
	if (r->cached) {
		pthread_mutex_lock(&r->n->lock);
		r->n->cached--;
		pthread_mutex_unlock(&r->n->lock);
	}
	stream_put(r->l, r->n);
	free(r);
}

/*
 * Wait up to LOGS_UNCACHED_WAIT_MS for the readers in the page cache to be
 * gone: the kernel sends a file's release after close(2) has returned,
 * so `cat f; echo >> f` would otherwise find the cat still there.
 * 0 once none is, -EBUSY if one stays. (s->lock)
 */
static int
wait_uncached(struct node *s)
{
	for (int i = 0; s->cached > 0; i++) {
		if (i >= LOGS_UNCACHED_WAIT_MS)
			return -EBUSY;
		pthread_mutex_unlock(&s->lock);
		clock_sleep_ms(1);
		pthread_mutex_lock(&s->lock);
	}
	return 0;
}

int
logs_reader_cache(struct logs_reader *r)
{
	struct node *s = r->n;

	pthread_mutex_lock(&s->lock);
	if (!r->cached && s->writers == 0) {
		s->cached++;
		r->cached = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return r->cached;
}

/* Position a fresh iterator on the record holding `off`. (r->lock) */
static void
reader_seek(struct logs_reader *r, uint64_t data_id, uint64_t end,
    uint64_t off)
{
	unsigned char key[19];

	engine_iter_free(r->it);
	r->data_id = data_id;
	r->seen = end;
	key_record(r->lo, data_id, 0);
	key_record(r->hi, data_id + 1, 0);
	r->it = engine_iter_new(r->l->e, NULL, r->lo, 19, r->hi, 19);
	key_record(key, data_id, off);
	engine_iter_seek_for_prev(r->it, key, 19);
	if (!engine_iter_valid(r->it))
		engine_iter_seek_first(r->it);
	r->pos = off;
}

ssize_t
logs_reader_read(struct logs_reader *r, uint64_t off, void *buf, size_t n)
{
	struct logs *l = r->l;
	struct node *s = r->n;
	const unsigned char *k, *v;
	size_t klen, vlen, got = 0, len, skip;
	uint64_t data_id, end, roff, records = 0;
	int rc;

	/*
	 * Not under s->lock: a commit holds it while the data callback
	 * runs, and that may wait for the page the kernel locked for the
	 * read this serves (the end first: a truncation changes data_id
	 * first, so a read racing one finds no bytes rather than old ones)
	 */
	end = __atomic_load_n(&s->end, __ATOMIC_ACQUIRE);
	data_id = __atomic_load_n(&s->data_id, __ATOMIC_ACQUIRE);
	if (off >= end || n == 0)
		return 0;
	if (n > end - off)
		n = (size_t)(end - off);

	pthread_mutex_lock(&r->lock);
	if (r->it == NULL || r->data_id != data_id || r->pos != off ||
	    off + n > r->seen)
		reader_seek(r, data_id, end, off);
	for (; engine_iter_valid(r->it) && got < n; engine_iter_next(r->it)) {
		k = engine_iter_key(r->it, &klen);
		v = engine_iter_value(r->it, &vlen);
		if (klen != 19 || vlen < TS_LEN)
			continue;
		roff = get_be64(k + 11);
		len = vlen - TS_LEN;
		if (roff > off + got)
			break;		/* a hole: should not happen */
		if (roff + len <= off + got)
			continue;
		skip = (size_t)(off + got - roff);
		len -= skip;
		if (len > n - got)
			len = n - got;
		memcpy((char *)buf + got, v + TS_LEN + skip, len);
		got += len;
		records++;
		if (skip + len < vlen - TS_LEN)
			break;		/* stay on a record not read to its end */
	}
	r->pos = off + got;
	rc = engine_iter_status(r->it);
	if (rc != 0 || r->pos >= r->seen || got == 0) {
		/*
		 * At the end of what it can see the iterator is of no more use,
		 * and a reader left open (tail -f) must not pin memtables; nor
		 * is one that saw nothing where the end said there was more.
		 */
		engine_iter_free(r->it);
		r->it = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (rc != 0)
		return engine_errno(l, rc);
	metric_add(l->m_scan_records, (double)records);
	metric_add(l->m_scan_bytes, (double)got);
	return (ssize_t)got;
}

ssize_t
logs_read(struct logs *l, uint64_t id, uint64_t off, void *buf, size_t n)
{
	struct logs_reader *r;
	ssize_t got;

	if ((r = logs_reader_new(l, id)) == NULL) {
		struct logs_attr a;
		int rc = logs_getattr(l, id, &a);
		return rc != 0 ? rc : -EISDIR;
	}
	got = logs_reader_read(r, off, buf, n);
	logs_reader_free(r);
	return got;
}

int
logs_truncate(struct logs *l, uint64_t id, uint64_t size)
{
	struct engine_batch *b;
	struct node *s;
	uint64_t data_id;
	int rc;

	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	rc = size == s->end ? 1 : size != 0 ? -EPERM : l->ro ? -EROFS :
	    s->removed ? -ENOENT : wait_uncached(s);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		goto out;
	/* a fresh data id (a failed write wastes it) */
	pthread_rwlock_wrlock(&l->ns);
	data_id = l->next_id++;
	pthread_mutex_lock(&s->lock);
	if (s->cached > 0) {	/* a reader came meanwhile */
		pthread_mutex_unlock(&s->lock);
		pthread_rwlock_unlock(&l->ns);
		rc = -EBUSY;
		goto out;
	}
	b = engine_batch_new();
	batch_inode(b, s, data_id);
	batch_counter(b, data_id + 1);
	rc = engine_write(l->e, b, &s->last_seq);
	engine_batch_free(b);
	if (rc == 0) {
		/* the old records are left to compaction */
		__atomic_store_n(&s->data_id, data_id, __ATOMIC_RELEASE);
		__atomic_store_n(&s->end, 0, __ATOMIC_RELEASE);
		s->last_ts = clock_wall_ns();
		s->indexed_sec = -1;
		node_moved(l, s);
		data_changed(l, s, 0, NULL, 0, NULL, 0);
	} else
		rc = engine_errno(l, rc);
	pthread_mutex_unlock(&s->lock);
	pthread_rwlock_unlock(&l->ns);
	if (rc == 0)
		changed(l, id);
out:
	stream_put(l, s);
	return rc > 0 ? 0 : rc;
}

int
logs_offset_at(struct logs *l, uint64_t id, int64_t ts_ns, uint64_t *off)
{
	unsigned char key[27], lo[19], hi[19];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t klen, vlen;
	uint64_t data_id, start = 0;
	struct node *s;
	int rc;

	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	data_id = s->data_id;
	*off = s->end;
	pthread_mutex_unlock(&s->lock);
	stream_put(l, s);

	/* the last index entry at or before ts_ns: records from there on are not older */
	key_id(lo, K_TIME, data_id);
	key_id(hi, K_TIME, data_id + 1);
	it = engine_iter_new(l->e, NULL, lo, 11, hi, 11);
	key_id(key, K_TIME, data_id);
	put_be64(key + 11, (uint64_t)ts_ns);
	put_be64(key + 19, UINT64_MAX);
	engine_iter_seek_for_prev(it, key, 27);
	if (engine_iter_valid(it)) {
		k = engine_iter_key(it, &klen);
		if (klen == 27)
			start = get_be64(k + 19);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc != 0)
		return engine_errno(l, rc);

	key_record(lo, data_id, 0);
	key_record(hi, data_id + 1, 0);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	key_record(key, data_id, start);
	for (engine_iter_seek(it, key, 19); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		if (klen == 19 && vlen >= TS_LEN &&
		    (int64_t)get_be64(v) >= ts_ns) {
			*off = get_be64(k + 11);
			break;
		}
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc != 0 ? engine_errno(l, rc) : 0;
}

/*
 * Commit the bytes of up to two pieces (held, then new) as records at the
 * stream's end, in one batch. (s->lock)
 */
static int
commit(struct logs *l, struct node *s, const void *p1, size_t n1,
    const void *p2, size_t n2, uint64_t *seq)
{
	unsigned char key[27], *val;
	const unsigned char *src;
	struct engine_batch *b;
	size_t total = n1 + n2, pos = 0, take, i, nrec = 0, from;
	uint64_t off = s->end;
	int64_t ts = clock_wall_ns();
	int rc;

	if (total == 0)
		return 0;
	if (l->ro)
		return -EROFS;
	if (s->removed)
		return -ENOENT;	/* bytes nothing could read back */
	if (s->cached > 0)
		return -EBUSY;	/* logs_reader_cache */
	if (ts < s->last_ts)
		ts = s->last_ts;	/* never backwards within a stream */
	val = xmalloc(TS_LEN + (total < LOGS_RECORD_MAX ? total : LOGS_RECORD_MAX));
	put_be64(val, (uint64_t)ts);
	b = engine_batch_new();
	while (pos < total) {
		take = total - pos;
		if (take > LOGS_RECORD_MAX)
			take = LOGS_RECORD_MAX;
		/* gather [pos, pos + take) */
		for (i = 0; i < take; ) {
			from = pos + i;
			src = from < n1 ? (const unsigned char *)p1 + from :
			    (const unsigned char *)p2 + (from - n1);
			size_t run = from < n1 ? n1 - from : total - from;
			if (run > take - i)
				run = take - i;
			memcpy(val + TS_LEN + i, src, run);
			i += run;
		}
		/* cut a full record at its last newline, if it has one */
		if (pos + take < total) {
			unsigned char *nl = memrchr(val + TS_LEN, '\n', take);
			if (nl != NULL)
				take = (size_t)(nl - (val + TS_LEN)) + 1;
		}
		key_record(key, s->data_id, off);
		engine_batch_put(b, key, 19, val, TS_LEN + take, 0);
		off += take;
		pos += take;
		nrec++;
	}
	if (ts / 1000000000 != s->indexed_sec) {
		key_id(key, K_TIME, s->data_id);
		put_be64(key + 11, (uint64_t)ts);
		put_be64(key + 19, s->end);
		engine_batch_put(b, key, 27, "", 0, 0);
	}
	rc = engine_write(l->e, b, seq);
	engine_batch_free(b);
	free(val);
	if (rc != 0)
		return engine_errno(l, rc);
	if (ts / 1000000000 != s->indexed_sec)
		s->indexed_sec = ts / 1000000000;
	__atomic_store_n(&s->end, off, __ATOMIC_RELEASE);
	s->last_ts = ts;
	s->last_seq = *seq;
	data_changed(l, s, off - total, p1, n1, p2, n2);
	metric_add(l->m_app_records, (double)nrec);
	metric_add(l->m_app_bytes, (double)total);
	return 0;
}

int
logs_append(struct logs *l, uint64_t id, const void *data, size_t n,
    uint64_t *seq)
{
	return logs_append_at(l, id, data, n, seq, NULL);
}

int
logs_append_at(struct logs *l, uint64_t id, const void *data, size_t n,
    uint64_t *seq, uint64_t *off)
{
	struct node *s;
	uint64_t dummy;
	int rc;

	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	if (off != NULL)
		*off = s->end;
	rc = commit(l, s, data, n, NULL, 0, seq != NULL ? seq : &dummy);
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		changed(l, id);
	stream_put(l, s);
	return rc;
}

/*
 * The wait of an fsync: 0, -EINTR (cancelled), or -EIO, fsync's word for
 * data not stored: the store refused it for store_failure_timeout (it is
 * kept, and stored when the store takes it), or fenced (lost).
 */
static int
wait_durable(struct logs *l, uint64_t seq, const int *stop)
{
	int rc;

	if (l->ro || seq == 0)
		return 0;
	rc = engine_sync(l->e, seq, -1, stop);
	return rc == 0 || rc == -EINTR ? rc : -EIO;
}

int
logs_sync(struct logs *l)
{
	return logs_sync_stop(l, NULL);
}

int
logs_sync_stop(struct logs *l, const int *stop)
{
	if (l->ro)
		return 0;
	return wait_durable(l, engine_last_seq(l->e), stop);
}

int
logs_sync_seq(struct logs *l, uint64_t seq, int64_t timeout_ms)
{
	int rc;

	if (l->ro || seq == 0)
		return 0;
	rc = engine_sync(l->e, seq, timeout_ms, NULL);
	if (rc == 0 || rc == -ETIMEDOUT)
		return rc;
	return engine_errno(l, rc) == -EROFS ? -EROFS : -EIO;
}

struct logs_writer *
logs_writer_new(struct logs *l, uint64_t id, unsigned flags)
{
	struct logs_writer *w;
	struct node *s;

	if (stream_get(l, id, &s) != 0) {
		errno = ENOENT;
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	if (wait_uncached(s) != 0) {
		pthread_mutex_unlock(&s->lock);
		stream_put(l, s);
		errno = EBUSY;
		return NULL;
	}
	s->writers++;
	pthread_mutex_unlock(&s->lock);
	w = xcalloc(1, sizeof(*w));
	w->l = l;
	w->n = s;
	w->flags = flags;
	buf_init(&w->held, 0);
	return w;
}

ssize_t
logs_writer_write(struct logs_writer *w, uint64_t off, const void *data,
    size_t n)
{
	struct logs *l = w->l;
	struct node *s = w->n;
	const char *nl;
	size_t whole;
	int rc = 0;

	if (l->ro)
		return -EROFS;
	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (!(w->flags & LOGS_W_APPEND) && off != s->end + w->held.len) {
		pthread_mutex_unlock(&s->lock);
		return -EPERM;
	}
	nl = memrchr(data, '\n', n);
	if (w->flags & LOGS_W_SYNC)
		whole = n;		/* the caller wants it stored now */
	else if (nl != NULL)
		whole = (size_t)(nl - (const char *)data) + 1;
	else
		whole = 0;
	if ((whole > 0 ? 0 : w->held.len) + (n - whole) > LOGS_LINE_HOLD_MAX)
		whole = n;		/* too long to hold: a line in pieces */
	if (s->removed) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	if (whole > 0) {
		rc = commit(l, s, w->held.data, w->held.len, data, whole,
		    &w->last_seq);
		if (rc == 0)
			buf_reset(&w->held);
	}
	if (rc == 0 && whole < n)
		rc = buf_append(&w->held, (const char *)data + whole, n - whole);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		return rc;
	if (whole > 0)
		changed(l, s->id);
	if (w->flags & LOGS_W_SYNC &&
	    (rc = wait_durable(l, w->last_seq, NULL)) != 0)
		return rc;
	return (ssize_t)n;
}

int
logs_writer_flush(struct logs_writer *w)
{
	struct node *s = w->n;
	int rc;

	if (w->held.len == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	rc = commit(w->l, s, w->held.data, w->held.len, NULL, 0, &w->last_seq);
	if (rc == 0)
		buf_reset(&w->held);
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		changed(w->l, s->id);
	return rc;
}

int
logs_writer_sync(struct logs_writer *w)
{
	return logs_writer_sync_stop(w, NULL);
}

int
logs_writer_sync_stop(struct logs_writer *w, const int *stop)
{
	struct node *s = w->n;
	uint64_t seq;
	int rc;

	if ((rc = logs_writer_flush(w)) != 0)
		return rc;
	/* what others wrote to this stream before counts too */
	pthread_mutex_lock(&s->lock);
	seq = s->last_seq > w->last_seq ? s->last_seq : w->last_seq;
	pthread_mutex_unlock(&s->lock);
	return wait_durable(w->l, seq, stop);
}

size_t
logs_writer_held(const struct logs_writer *w)
{
	return w->held.len;
}

void
logs_writer_free(struct logs_writer *w)
{
	if (w == NULL)
		return;
	buf_release(&w->held);
	pthread_mutex_lock(&w->n->lock);
	w->n->writers--;
	pthread_mutex_unlock(&w->n->lock);
	stream_put(w->l, w->n);
	free(w);
}

/* ---- for the HTTP API: paths, scans and waits ---- */

int
logs_path_check(const char *path, size_t len)
{
	const char *p = path, *end = path + len, *slash;
	int rc;

	if (len == 0 || len > LOGS_PATH_MAX || path[0] == '/' ||
	    path[len - 1] == '/')
		return -EINVAL;
	while (p < end) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		if ((rc = logs_name_check(p, (size_t)(slash - p))) != 0)
			return rc;
		p = slash + 1;
	}
	return 0;
}

int
logs_resolve(struct logs *l, const char *path, size_t len, int create,
    struct logs_attr *a)
{
	char name[LOGS_NAME_MAX + 1];
	const char *p = path, *end = path + len, *slash;
	uint64_t dir = LOGS_ROOT_ID;
	size_t n;
	int rc, last;

	if ((rc = logs_path_check(path, len)) != 0)
		return rc;
	for (;;) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		n = (size_t)(slash - p);
		memcpy(name, p, n);
		name[n] = '\0';
		last = slash == end;
		rc = logs_lookup(l, dir, name, a);
		if (rc == -ENOENT && create) {
			rc = last ? logs_create(l, dir, name, a) :
			    logs_mkdir(l, dir, name, a);
			if (rc == -EEXIST)	/* made meanwhile by another */
				rc = logs_lookup(l, dir, name, a);
		}
		if (rc != 0)
			return rc;
		if (last)
			return a->type == LOGS_STREAM ? 0 : -EISDIR;
		if (a->type != LOGS_DIR)
			return -ENOTDIR;
		dir = a->id;
		p = slash + 1;
	}
}

int
logs_scan(struct logs *l, uint64_t id, uint64_t start, uint64_t end,
    size_t limit, size_t max_bytes, logs_scan_fn fn, void *arg,
    uint64_t *next)
{
	unsigned char lo[19], hi[19], key[19];
	const unsigned char *k, *v;
	struct engine_iter *it;
	struct node *s;
	uint64_t data_id, len, roff, records = 0, bytes = 0, skip;
	size_t klen, vlen;
	int rc;

	*next = start;
	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	data_id = s->data_id;
	if (end > s->end)
		end = s->end;
	pthread_mutex_unlock(&s->lock);
	if (start >= end || limit == 0) {
		stream_put(l, s);
		return 0;
	}
	key_record(lo, data_id, 0);
	key_record(hi, data_id + 1, 0);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	key_record(key, data_id, start);
	engine_iter_seek_for_prev(it, key, 19);
	if (!engine_iter_valid(it))
		engine_iter_seek_first(it);
	rc = 0;
	for (; engine_iter_valid(it); engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		if (klen != 19 || vlen < TS_LEN)
			continue;
		roff = get_be64(k + 11);
		len = vlen - TS_LEN;
		if (roff >= end)
			break;
		if (roff + len <= start)
			continue;
		/* the part of the record inside [start, end) */
		skip = roff < start ? start - roff : 0;
		if (roff + len > end)
			len = end - roff;
		len -= skip;
		if (records > 0 && bytes + len > max_bytes)
			break;
		if ((rc = fn(arg, roff + skip, v + TS_LEN + skip, (size_t)len,
		    (int64_t)get_be64(v))) != 0)
			break;
		records++;
		bytes += len;
		*next = roff + skip + len;
		if (records >= limit)
			break;
	}
	if (rc == 0 && (rc = engine_iter_status(it)) != 0)
		rc = engine_errno(l, rc);
	else if (rc > 0)
		rc = 0;
	engine_iter_free(it);
	stream_put(l, s);
	metric_add(l->m_scan_records, (double)records);
	metric_add(l->m_scan_bytes, (double)bytes);
	return rc;
}

int
logs_wait(struct logs *l, uint64_t id, uint64_t have, int64_t deadline_ns,
    const int *stop)
{
	struct logs_attr a;
	uint64_t gen;
	int rc;

	__atomic_add_fetch(&l->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		pthread_mutex_lock(&l->wait_lock);
		gen = l->wait_gen;
		pthread_mutex_unlock(&l->wait_lock);
		/* looked at without the wait lock: getattr takes others */
		if ((rc = logs_getattr(l, id, &a)) != 0)
			break;
		if (a.size > have) {
			rc = 0;
			break;
		}
		if (__atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
			rc = -ECANCELED;
			break;
		}
		if (clock_mono_ns() >= deadline_ns) {
			rc = -ETIMEDOUT;
			break;
		}
		pthread_mutex_lock(&l->wait_lock);
		while (l->wait_gen == gen && !__atomic_load_n(stop,
		    __ATOMIC_SEQ_CST)) {
			if (clock_cond_wait(&l->wait_cond, &l->wait_lock,
			    deadline_ns) == ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&l->wait_lock);
	}
	__atomic_sub_fetch(&l->waiters, 1, __ATOMIC_SEQ_CST);
	return rc;
}

void
logs_wake(struct logs *l)
{
	pthread_mutex_lock(&l->wait_lock);
	l->wait_gen++;
	pthread_cond_broadcast(&l->wait_cond);
	pthread_mutex_unlock(&l->wait_lock);
	engine_wake(l->e);	/* and the syncs */
}
