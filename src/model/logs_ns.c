/*
 * logs_ns.c - the namespace: names, attributes, lookups, making,
 * removing and renaming entries, listing a directory, and the totals of
 * statfs. Every change is one engine batch (entries, inodes, the id
 * counter and the directories' times) and memory follows it only once
 * it is written; a failed write leaves memory as it was.
 *
 * Not here: the tables and the tree's links (logs_key.c), a stream's
 * bytes (logs_stream.c), paths (logs_scan.c), what a follower applies
 * (logs_apply.c).
 *
 * Locks (logs_int.h; their order: logs.h): ns, for reading to look and
 * for writing to change; a stream's lock inside it to read its size
 * (stream_load) or to write its inode with its data id.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "model/labels.h"
#include "model/logs_int.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/xmalloc.h"

/* ---- names and attributes ---- */

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

void
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
		rc = logs_errno(l, rc);
		goto out;
	}
	l->next_id++;
	node_link(l, n, parent, name, len);
	fill_attr(n, a);
	logs_changed(l, parent);
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
		rc = logs_errno(l, rc);
		goto out;
	}
	node_remove(l, n);
	logs_changed(l, parent);
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
		rc = logs_errno(l, rc);
		goto out;
	}
	if (old != NULL)
		node_remove(l, old);
	node_unlink(l, n);
	node_link(l, n, newparent, newname, newlen);
	retention_changed(l);		/* stream= of the paths moved */
	logs_changed(l, parent);
	if (newparent != parent)
		logs_changed(l, newparent);
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

/* ---- a stream by its path, made with its labels (logs_push) ---- */

int
ns_make_stream(struct logs *l, const char *path, size_t len,
    const struct labels *ls, uint64_t *id)
{
	const char *p = path, *end = path + len, *slash;
	struct node *dir, *n, *touched = NULL, *made[LOGS_PATH_MAX / 2 + 1];
	struct engine_batch *b = NULL;
	size_t nmade = 0, k;
	uint64_t next;
	int64_t now = clock_wall_ns(), saved = 0;
	int rc;

	if (l->ro)
		return -EROFS;
	if ((rc = logs_path_check(path, len)) != 0)
		return rc;
	pthread_rwlock_wrlock(&l->ns);
	dir = node_find(l, LOGS_ROOT_ID);
	next = l->next_id;
	for (;;) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		k = (size_t)(slash - p);
		n = nmade > 0 ? NULL : name_find(l, dir->id, p, k);
		if (n == NULL) {
			/* missing from here on: made, linked once written */
			if (b == NULL) {
				b = engine_batch_new();
				touch_dir(b, dir, now, &saved);
				touched = dir;
			}
			n = node_new(l, next++, slash == end ? LOGS_STREAM :
			    LOGS_DIR);
			n->parent = dir->id;
			n->ctime_ns = n->mtime_ns = now;
			n->name = xstrndup(p, k);	/* node_link names it again */
			n->namelen = k;
			if (n->type == LOGS_STREAM) {
				n->data_id = n->id;
				n->loaded = 1;
				n->last_ts = now;
				n->indexed_sec = -1;
			}
			batch_inode(b, n, n->data_id);
			batch_dirent(b, dir->id, p, k, n);
			made[nmade++] = n;
		} else if (slash != end && n->type != LOGS_DIR) {
			rc = -ENOTDIR;
			goto out;
		} else if (slash == end && n->type != LOGS_STREAM) {
			rc = -EISDIR;
			goto out;
		}
		if (slash == end)
			break;
		dir = n;
		p = slash + 1;
	}
	*id = n->id;
	if (nmade == 0) {
		rc = -EEXIST;
		goto out;
	}
	batch_labels(b, n->id, ls);
	batch_counter(b, next);
	rc = engine_write(l->e, b, NULL);
	if (rc != 0) {
		rc = logs_errno(l, rc);
		goto out;
	}
	l->next_id = next;
	for (k = 0; k < nmade; k++) {
		char *name = made[k]->name;

		made[k]->name = NULL;
		node_link(l, made[k], made[k]->parent, name, made[k]->namelen);
		free(name);
	}
	if (ls != NULL && labels_count(ls) > 0)
		n->labels = labels_dup(ls);
	logs_changed(l, made[0]->parent);
	nmade = 0;
out:
	/* not written: what was made goes, and the directory's time is back */
	while (nmade > 0)
		node_remove(l, made[--nmade]);
	if (rc != 0 && touched != NULL)
		touched->mtime_ns = saved;
	pthread_rwlock_unlock(&l->ns);
	if (b != NULL)
		engine_batch_free(b);
	return rc;
}
