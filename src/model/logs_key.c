/*
 * logs_key.c - the key layout of logs.h in bytes, and the node tables.
 *
 * Keys, inode values and the batch entries written by more than one
 * file are made here. The tables find every node in memory by id and by
 * (parent, name): chained hash tables that double as they fill. With
 * them go the tree's links (a directory's children), l->moved (the
 * streams whose data id is not their id, for data_find) and a node's
 * life: made, named, unnamed, removed, forgotten at its last reference.
 *
 * Not here: what a name may be (logs_ns.c), a stream's bytes and end
 * (logs_stream.c), writing anything to the engine.
 *
 * Locks (logs_int.h): the codecs use only the caller's bytes. The table
 * functions want ns held as each one's comment says; node_remove takes
 * the node's lock inside it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine/lsm/engine.h"
#include "model/labels.h"
#include "model/logs_int.h"
#include "util/coding.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---- keys ---- */

size_t
key_head(unsigned char *k, char kind)
{
	k[0] = KEY_LOGS;
	k[1] = KEY_VERSION;
	k[2] = (unsigned char)kind;
	return 3;
}

size_t
key_id(unsigned char *k, char kind, uint64_t id)
{
	key_head(k, kind);
	put_be64(k + 3, id);
	return 11;
}

size_t
key_record(unsigned char *k, uint64_t data_id, uint64_t off)
{
	key_id(k, K_RECORD, data_id);
	put_be64(k + 11, off);
	return 19;
}

/* k must hold 11 + LOGS_NAME_MAX bytes */
size_t
key_dirent(unsigned char *k, uint64_t parent, const char *name, size_t len)
{
	key_id(k, K_DIRENT, parent);
	memcpy(k + 11, name, len);
	return 11 + len;
}

void
inode_encode(unsigned char *v, const struct node *n, uint64_t data_id)
{
	v[0] = (unsigned char)n->type;
	put_be64(v + 1, data_id);
	put_be64(v + 9, n->parent);
	put_be64(v + 17, (uint64_t)n->ctime_ns);
	put_be64(v + 25, (uint64_t)n->mtime_ns);
}

/* Put n's inode into b. */
void
batch_inode(struct engine_batch *b, const struct node *n, uint64_t data_id)
{
	unsigned char k[11], v[INODE_LEN];

	key_id(k, K_INODE, n->id);
	inode_encode(v, n, data_id);
	engine_batch_put(b, k, 11, v, INODE_LEN, ENGINE_NO_EXPIRY);
}

void
batch_counter(struct engine_batch *b, uint64_t next)
{
	unsigned char k[3], v[8];

	key_head(k, K_COUNTER);
	put_be64(v, next);
	engine_batch_put(b, k, 3, v, 8, ENGINE_NO_EXPIRY);
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

void
ntable_init(struct table *t)
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

struct node *
node_find(struct logs *l, uint64_t id)
{
	return *id_slot(&l->by_id, id);
}

struct node *
name_find(struct logs *l, uint64_t parent, const char *name, size_t len)
{
	return *name_slot(&l->by_name, parent, name, len);
}

struct node *
node_new(struct logs *l, uint64_t id, enum logs_type type)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->id = id;
	n->type = type;
	n->refs = 1;
	n->ret_given_ms = -1;
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->ck_lock, NULL);
	if (l->by_id.n + 1 > l->by_id.cap)
		table_grow(&l->by_id, 0);
	*id_slot(&l->by_id, id) = n;
	l->by_id.n++;
	return n;
}

void
node_unref(struct node *n)
{
	if (__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->ck_lock);
	free(n->ck);
	labels_free(n->labels);
	free(n->name);
	free(n);
}

/* Give n a name in dir `parent` (it must have none). (ns) */
void
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
void
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
void
node_moved(struct logs *l, struct node *n)
{
	if (n->on_moved || n->data_id == n->id || n->type != LOGS_STREAM)
		return;
	n->moved_next = l->moved;
	l->moved = n;
	n->on_moved = 1;
}

/* The stream whose records carry data id `d`, or NULL. (ns) */
struct node *
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
int
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
void
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
void
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
