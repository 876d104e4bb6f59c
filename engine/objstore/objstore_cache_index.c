/*
 * objstore_cache_index.c - the disk cache's index in memory: the objects
 * with pages on disk (a tsearch() tree by key), each one's pages by
 * number, the LRU list of all pages, the bytes their files take, and
 * eviction of the least recently used when a page needs room. Keeping a
 * page reserves its room, writes its file and enters it; forgetting one,
 * or every page of a key, takes it out and removes its file.
 *
 * Not here: page files and their names (objstore_cache_pages.c), which
 * pages a get needs and when to keep them (objstore_cache.c).
 *
 * Locking: c->lock guards all of it. Functions that work on the index
 * alone are called under it; those that keep or forget pages take it
 * themselves and do the disk IO without it: the files of dropped pages
 * are gathered in a struct doomed and removed once it is released.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/objstore/objstore_cache_int.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

/* ---- the index: called under c->lock ---- */

static int
obj_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cobj *)a)->key, ((const struct cobj *)b)->key);
}

struct cobj *
cache_obj_find(struct cache *c, const char *key)
{
	struct cobj probe;
	void *node;

	probe.key = (char *)key;
	node = tfind(&probe, &c->objs, obj_cmp);
	return node != NULL ? *(struct cobj **)node : NULL;
}

struct cpage *
cache_page_find(struct cache *c, const char *key, uint64_t no)
{
	struct cobj *o = cache_obj_find(c, key);

	return o != NULL && no < o->cap ? o->pages[no] : NULL;
}

void
cache_account(struct cache *c, int64_t delta)
{
	c->bytes += (uint64_t)delta;
	metric_add(c->gauge, (double)delta);
}

void
cache_lru_unlink(struct cache *c, struct cpage *p)
{
	if (p->older != NULL)
		p->older->newer = p->newer;
	else
		c->oldest = p->newer;
	if (p->newer != NULL)
		p->newer->older = p->older;
	else
		c->newest = p->older;
	p->older = p->newer = NULL;
}

void
cache_lru_push(struct cache *c, struct cpage *p)
{
	p->older = c->newest;
	p->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = p;
	else
		c->oldest = p;
	c->newest = p;
}

static void
doom(struct doomed *d, char *path, int dir)
{
	d->v = xgrow(d->v, &d->cap, d->n + 1, sizeof(*d->v));
	d->v[d->n].path = path;
	d->v[d->n++].dir = dir;
}

/*
 * Take a page out of the index; its file (and the object's directory when
 * it was the last page) go to d, unless d is NULL.
 */
void
cache_page_drop(struct cache *c, struct cpage *p, struct doomed *d)
{
	struct cobj *o = p->obj;
	struct buf path;

	buf_init(&path, 0);
	if (d != NULL) {
		cache_page_path(c, o->key, p->no, &path);
		doom(d, buf_detach(&path, NULL), 0);
	}
	cache_lru_unlink(c, p);
	cache_account(c, -(int64_t)p->bytes);
	o->pages[p->no] = NULL;
	free(p);
	if (--o->n > 0)
		return;
	if (d != NULL) {
		cache_obj_path(c, o->key, &path);
		doom(d, buf_detach(&path, NULL), 1);
	}
	tdelete(o, &c->objs, obj_cmp);
	free(o->pages);
	free(o->key);
	free(o);
}

/* Evict pages until `need` more bytes fit: 0, or -ENOSPC when they cannot. */
int
cache_make_room(struct cache *c, uint64_t need, struct doomed *d)
{
	while (c->bytes + need > c->max && c->oldest != NULL) {
		cache_page_drop(c, c->oldest, d);
		metric_add(c->evictions, 1);
	}
	return c->bytes + need > c->max ? -ENOSPC : 0;
}

/* Record a page whose file (of `bytes`, already accounted) is in place. */
void
cache_page_insert(struct cache *c, const char *key, uint32_t no, uint64_t size,
    uint32_t bytes, int64_t touched)
{
	struct cobj *o = cache_obj_find(c, key);
	struct cpage *p;
	size_t had;

	if (o == NULL) {
		o = xcalloc(1, sizeof(*o));
		o->key = xstrdup(key);
		o->size = SIZE_UNKNOWN;
		tsearch(o, &c->objs, obj_cmp);
	}
	if (size != SIZE_UNKNOWN)
		o->size = size;
	had = o->cap;
	o->pages = xgrow(o->pages, &o->cap, (size_t)no + 1, sizeof(*o->pages));
	memset(o->pages + had, 0, (o->cap - had) * sizeof(*o->pages));
	if ((p = o->pages[no]) != NULL) {
		/* another thread stored it too: the file is ours now */
		cache_account(c, -(int64_t)p->bytes);
		cache_lru_unlink(c, p);
	} else {
		p = xcalloc(1, sizeof(*p));
		p->obj = o;
		p->no = no;
		o->pages[no] = p;
		o->n++;
	}
	p->bytes = bytes;
	p->touched = touched;
	cache_lru_push(c, p);
}

/* Remove what cache_page_drop() and cache_make_room() gave up; call without the lock. */
void
cache_doomed_remove(struct doomed *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].dir)
			(void)rmdir(d->v[i].path);	/* may hold a page in flight */
		else
			(void)unlink(d->v[i].path);
		free(d->v[i].path);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* ---- keeping and forgetting pages ---- */

/* Keep a page on disk, making room for it first; best effort. */
static void
page_store(struct cache *c, const char *key, uint32_t no, uint64_t size,
    const void *data, uint32_t n)
{
	struct doomed d = { 0 };
	uint32_t bytes = HDR_LEN + n;
	int rc;

	pthread_mutex_lock(&c->lock);
	if ((rc = cache_make_room(c, bytes, &d)) == 0)
		cache_account(c, bytes);
	pthread_mutex_unlock(&c->lock);
	cache_doomed_remove(&d);
	if (rc != 0)
		return;
	rc = cache_page_write(c, key, no, size, data, n);
	pthread_mutex_lock(&c->lock);
	if (rc == 0)
		cache_page_insert(c, key, no, size, bytes, now_secs());
	else
		cache_account(c, -(int64_t)bytes);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Store the pages of n bytes read at page `no` (whole pages, but for the
 * object's last); an empty object is one empty page.
 */
void
cache_store_run(struct cache *c, const char *key, uint64_t no, uint64_t size,
    const char *data, uint64_t n)
{
	static const char empty[1];

	if (n == 0 && no == 0 && size == 0)
		page_store(c, key, 0, 0, empty, 0);
	for (uint64_t at = 0; at < n; at += CACHE_PAGE)
		page_store(c, key, (uint32_t)(no + at / CACHE_PAGE), size,
		    data + at, (uint32_t)(n - at < CACHE_PAGE ? n - at : CACHE_PAGE));
}

/* A page that was missing or damaged: out of the index, its file removed. */
void
cache_page_forget(struct cache *c, const char *key, uint32_t no)
{
	struct doomed d = { 0 };
	struct cpage *p;

	pthread_mutex_lock(&c->lock);
	if ((p = cache_page_find(c, key, no)) != NULL)
		cache_page_drop(c, p, &d);
	pthread_mutex_unlock(&c->lock);
	cache_doomed_remove(&d);
}

/* Drop every page of key from the index and the disk. */
void
cache_drop_key(struct cache *c, const char *key)
{
	struct doomed d = { 0 };
	struct cobj *o;

	pthread_mutex_lock(&c->lock);
	if ((o = cache_obj_find(c, key)) != NULL) {
		/* the last cache_page_drop() frees o: count, do not look again */
		for (size_t i = 0, left = o->n; left > 0; i++) {
			if (o->pages[i] == NULL)
				continue;
			left--;
			cache_page_drop(c, o->pages[i], &d);
		}
	}
	pthread_mutex_unlock(&c->lock);
	cache_doomed_remove(&d);
}
