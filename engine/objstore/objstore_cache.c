/*
 * objstore_cache.c - the disk cache: pages of table objects kept on local
 * disk, so that a table read again, also after a restart, costs no GET.
 *
 * objstore_open() stacks it outermost when opts->cache_dir is set:
 *
 *   caller -> cache -> count -> retry -> [fault] -> backend
 *
 * so the store's request metrics count only the requests that reach it.
 *
 * What it keeps: byte ranges of the objects whose keys start with the
 * opener's cache_prefix (the engine's tables, under `compacted/`: written
 * once, never changed, read many times), in pages of 64 KiB aligned to
 * the object's offsets; the last page of an object may be short. Every
 * other key (the engine's manifests and WAL objects) passes through.
 *
 * A get of [off, off+len) takes the pages it covers from disk and fetches
 * each run of adjacent missing pages with one ranged GET of whole pages,
 * stores them, and assembles the answer. An object's size is learned once:
 * from the first reply shorter than asked, from a page's header, or from a
 * HEAD when a read to the end needs it and nothing else told; a read at or
 * past the end then costs no request. A put of a table (a flush, a
 * compaction) stores its pages too; a delete drops them.
 *
 * On disk: <cache_dir>/objects/<16 hex digits, a hash of the store's URI>/
 * <key, %-escaped>/<page number, 8 hex digits>, each file a 32-byte header
 * and the page's bytes (shale-format(5), DISK CACHE). A file is written
 * under a temporary name and renamed, and checked on every read: one that
 * is damaged or cut short is deleted and its page fetched again, so a get
 * answers only bytes that came from the store or from a page that checks.
 *
 * Bounded: page files (headers included) take at most max bytes; room for
 * a page is reserved before it is written, evicting the least recently
 * used pages. The index (objects, their pages, the LRU list) is in memory,
 * rebuilt at open by listing the directory, with each file's mtime as its
 * last use; a hit sets the mtime again when it is more than a minute old.
 *
 * Local failures (ENOSPC, a directory that cannot be made or written, a
 * read error) never fail a call: the first is logged, each is counted in
 * engine_cache_errors_total{cache="disk"}, and the store answers. Several
 * processes may share a directory: each keeps its own index and account
 * (together they may exceed the bound until they restart), and a page one
 * of them deleted is fetched again by the others.
 *
 * This file is the layer: open and close, the get that assembles pages
 * and ranged GETs, and the puts and deletes that fill and invalidate.
 * Not here: the index in memory, the LRU list and eviction
 * (objstore_cache_index.c), page files and the scan at open
 * (objstore_cache_pages.c); objstore_cache_int.h is what they share.
 *
 * Threading: calls from any number of threads at once. One mutex guards
 * the index and the byte account; no disk or network IO is done under it.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/objstore_cache_int.h"
#include "engine/objstore/objstore_int.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define CACHE_DEFAULT_MAX ((uint64_t)16 << 30)
#define TOUCH_SECS	60

/* ---- get ---- */

struct slot {
	int		 have;		/* in the index, then read and checked */
	int		 touch;		/* set the file's mtime when reading it */
	struct buf	 file;		/* header and page */
};

static uint64_t
obj_size(struct cache *c, const char *key)
{
	struct cobj *o;
	uint64_t size;

	pthread_mutex_lock(&c->lock);
	o = cache_obj_find(c, key);
	size = o != NULL ? o->size : SIZE_UNKNOWN;
	pthread_mutex_unlock(&c->lock);
	return size;
}

static void
obj_set_size(struct cache *c, const char *key, uint64_t size)
{
	struct cobj *o;

	pthread_mutex_lock(&c->lock);
	if ((o = cache_obj_find(c, key)) != NULL)
		o->size = size;
	pthread_mutex_unlock(&c->lock);
}

/*
 * An object's size from its last page on disk (its header says, once the
 * page checks), or SIZE_UNKNOWN; after a restart, before a HEAD.
 */
static uint64_t
size_from_pages(struct cache *c, const char *key)
{
	struct buf path, f;
	struct cobj *o;
	uint64_t size = SIZE_UNKNOWN;
	size_t no = 0;

	pthread_mutex_lock(&c->lock);
	if ((o = cache_obj_find(c, key)) != NULL)
		for (no = o->cap; no > 0 && o->pages[no - 1] == NULL; no--)
			;
	pthread_mutex_unlock(&c->lock);
	if (no-- == 0)
		return SIZE_UNKNOWN;
	buf_init(&path, 0);
	buf_init(&f, 0);
	cache_page_path(c, key, (uint32_t)no, &path);
	if (cache_page_read(c, path.data, key, (uint32_t)no, 0, &f, &size) != PAGE_OK) {
		cache_page_forget(c, key, (uint32_t)no);
		size = SIZE_UNKNOWN;
	}
	buf_release(&path);
	buf_release(&f);
	return size;
}

/* Which of the n pages from `first` the index has; they become the newest. */
static void
mark_slots(struct cache *c, const char *key, uint64_t first, struct slot *sl,
    uint64_t n)
{
	int64_t now = now_secs();
	struct cpage *p;

	pthread_mutex_lock(&c->lock);
	for (uint64_t k = 0; k < n; k++) {
		if ((p = cache_page_find(c, key, first + k)) == NULL)
			continue;
		sl[k].have = 1;
		cache_lru_unlink(c, p);
		cache_lru_push(c, p);
		if (now - p->touched >= TOUCH_SECS) {
			p->touched = now;
			sl[k].touch = 1;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* Append what of the bytes d[0, n), at object offset at, lies in [off, end). */
static int
put_part(struct buf *out, const char *d, uint64_t n, uint64_t at, uint64_t off,
    uint64_t end)
{
	uint64_t a = off > at ? off : at, b = at + n < end ? at + n : end;

	return a < b ? buf_append(out, d + (a - at), (size_t)(b - a)) : 0;
}

static int
cache_get(struct objstore *os, const char *key, uint64_t off, uint64_t len,
    struct buf *out)
{
	struct cache *c = (struct cache *)os;
	struct objstore_meta meta;
	struct slot *sl;
	struct buf path, run;
	uint64_t size, was, hsize, end, first, nslots, n, k, j, ps, pe, got;
	size_t mark = out->len;
	int rc = 0;

	if (!cache_keeps(c, key))
		return os->inner->ops->get(os->inner, key, off, len, out);
	was = size = obj_size(c, key);
	if (size == SIZE_UNKNOWN && (len == OBJSTORE_TO_END || off + len < off) &&
	    (size = size_from_pages(c, key)) == SIZE_UNKNOWN) {
		memset(&meta, 0, sizeof(meta));
		if (os->inner->ops->head(os->inner, key, &meta) != 0)
			return os->inner->ops->get(os->inner, key, off, len, out);
		size = meta.size;
	}
	end = len == OBJSTORE_TO_END || off + len < off ? size : off + len;
	if (end > size)
		end = size;
	if (off >= end) {
		if (size == 0 && was == SIZE_UNKNOWN)	/* from a HEAD */
			cache_store_run(c, key, 0, 0, NULL, 0);
		return 0;
	}
	first = off / CACHE_PAGE;
	if ((end - 1) / CACHE_PAGE > UINT32_MAX)
		return os->inner->ops->get(os->inner, key, off, len, out);
	nslots = (end - 1) / CACHE_PAGE - first + 1;
	sl = xcalloc(nslots, sizeof(*sl));
	mark_slots(c, key, first, sl, nslots);
	buf_init(&path, 0);
	buf_init(&run, 0);

	/* the pages on disk, checked before anything is fetched */
	for (k = 0; k < nslots; k++) {
		if (!sl[k].have)
			continue;
		cache_page_path(c, key, (uint32_t)(first + k), &path);
		switch (cache_page_read(c, path.data, key, (uint32_t)(first + k),
		    sl[k].touch, &sl[k].file, &hsize)) {
		case PAGE_OK:
			metric_add(c->hits, 1);
			if (hsize != SIZE_UNKNOWN)
				size = hsize;
			continue;
		case PAGE_GONE:		/* another process evicted it */
		case PAGE_BAD:
			sl[k].have = 0;
			cache_page_forget(c, key, (uint32_t)(first + k));
			break;
		}
	}
	if (end > size)
		end = size;
	n = off < end ? (end - 1) / CACHE_PAGE - first + 1 : 0;

	/* in order: a page from disk, or a run of missing ones in one GET */
	for (k = 0; k < n; ) {
		if (sl[k].have) {
			got = sl[k].file.len - HDR_LEN;
			if ((rc = put_part(out, sl[k].file.data + HDR_LEN, got,
			    (first + k) * CACHE_PAGE, off, end)) != 0)
				goto fail;
			if (got < CACHE_PAGE)
				break;
			k++;
			continue;
		}
		for (j = k; j + 1 < n && !sl[j + 1].have; j++)
			;
		ps = (first + k) * CACHE_PAGE;
		pe = (first + j + 1) * CACHE_PAGE;
		if (pe > size)
			pe = size;
		buf_reset(&run);
		if ((rc = os->inner->ops->get(os->inner, key, ps, pe - ps, &run)) != 0)
			goto fail;
		metric_add(c->misses, (double)(j - k + 1));
		got = run.len;
		if ((rc = put_part(out, run.data, got, ps, off, end)) != 0)
			goto fail;
		/* a short reply ends the object; past the end, an empty one may not say where */
		if (got < pe - ps && size == SIZE_UNKNOWN && (got > 0 || ps == 0))
			size = ps + got;
		if (got == pe - ps || size == ps + got)
			cache_store_run(c, key, first + k, size, run.data, got);
		if (got < pe - ps)
			break;
		k = j + 1;
	}
	if (size != was && size != SIZE_UNKNOWN)
		obj_set_size(c, key, size);
	goto out;
fail:
	out->len = mark;
	if (out->data != NULL)
		out->data[mark] = '\0';
out:
	for (k = 0; k < nslots; k++)
		buf_release(&sl[k].file);
	free(sl);
	buf_release(&path);
	buf_release(&run);
	return rc;
}

/* ---- the other calls ---- */

/* A table just stored: its pages too, unless it is bigger than the cache. */
static void
fill(struct cache *c, const char *key, const void *data, size_t n)
{
	cache_drop_key(c, key);
	if (n <= c->max)
		cache_store_run(c, key, 0, n, data, n);
}

static int
cache_put(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct cache *c = (struct cache *)os;
	int rc = os->inner->ops->put(os->inner, key, d, n);

	if (cache_keeps(c, key)) {
		if (rc == 0)
			fill(c, key, d, n);
		else
			cache_drop_key(c, key);
	}
	return rc;
}

static int
cache_put_if_absent(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct cache *c = (struct cache *)os;
	int rc = os->inner->ops->put_if_absent(os->inner, key, d, n);

	if (rc == 0 && cache_keeps(c, key))
		fill(c, key, d, n);
	return rc;
}

static int
cache_head(struct objstore *os, const char *key, struct objstore_meta *m)
{
	return os->inner->ops->head(os->inner, key, m);
}

static int
cache_list(struct objstore *os, const char *prefix, const char *after,
    size_t max, struct objstore_list *l)
{
	return os->inner->ops->list(os->inner, prefix, after, max, l);
}

static int
cache_delete(struct objstore *os, const char *key)
{
	struct cache *c = (struct cache *)os;
	int rc = os->inner->ops->delete(os->inner, key);

	if (cache_keeps(c, key))
		cache_drop_key(c, key);
	return rc;
}

static int
cache_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	struct cache *c = (struct cache *)os;
	int rc = os->inner->ops->delete_batch(os->inner, keys, n);

	for (size_t i = 0; i < n; i++)
		if (cache_keeps(c, keys[i]))
			cache_drop_key(c, keys[i]);
	return rc;
}

static void
cache_close(struct objstore *os)
{
	struct cache *c = (struct cache *)os;

	pthread_mutex_lock(&c->lock);
	while (c->oldest != NULL)
		cache_page_drop(c, c->oldest, NULL);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_destroy(&c->lock);
	os->inner->ops->close(os->inner);
	free(c->dir);
	free(c->prefix);
	free(os->uri);
	free(c);
}

static const struct objstore_ops cache_ops = {
	"cache", cache_get, cache_put, cache_put_if_absent, cache_head,
	cache_list, cache_delete, cache_delete_batch, cache_close
};

/* ---- opening ---- */

int
objstore_cache_open(struct objstore *inner, const struct objstore_opts *o,
    const char *uri, struct objstore **out)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	char name[OBJSTORE_URI_NAME_LEN + 1];
	struct metrics *m = o->metrics ? o->metrics : metrics_global();

	c->os.ops = &cache_ops;
	c->os.inner = inner;
	c->max = o->cache_max_bytes ? o->cache_max_bytes : CACHE_DEFAULT_MAX;
	pthread_mutex_init(&c->lock, NULL);
	/* families shared with the block cache: the label tells them apart */
	c->hits = metric_series(metrics_counter(m, "engine_cache_hits_total",
	    "Lookups a cache answered (disk: pages).", "cache"), "disk");
	c->misses = metric_series(metrics_counter(m, "engine_cache_misses_total",
	    "Lookups a cache could not answer (disk: pages fetched from the "
	    "store).", "cache"), "disk");
	c->evictions = metric_series(metrics_counter(m,
	    "engine_cache_evictions_total",
	    "Entries a cache evicted to make room.", "cache"), "disk");
	c->errors = metric_series(metrics_counter(m, "engine_cache_errors_total",
	    "Damaged entries a cache found, and its local failures.", "cache"),
	    "disk");
	c->gauge = metric_series(metrics_gauge(m, "engine_cache_bytes",
	    "Bytes a cache holds.", "cache"), "disk");
	c->prefix = xstrdup(o->cache_prefix != NULL ? o->cache_prefix : "");
	objstore_uri_name(uri, name);
	c->dir = xasprintf("%s/objects/%s", o->cache_dir, name);
	if (cache_make_dirs(c) == 0)
		cache_scan(c);
	else {
		free(c->dir);
		c->dir = NULL;
	}
	*out = &c->os;
	return 0;
}
