/*
 * objstore_cache_int.h - the disk cache's insides, shared by its files:
 *
 *	objstore_cache.c	the layer: open and close, gets assembled from
 *				pages and ranged GETs, puts and deletes
 *	objstore_cache_index.c	the index in memory: objects, pages, the LRU
 *				list, the byte account and eviction; keeping
 *				and forgetting a page
 *	objstore_cache_pages.c	the pages on disk: names, page files, the
 *				scan of the directory at open
 *
 * Nothing outside engine/objstore/ includes it; the layer is reached
 * through objstore_cache_open() (objstore_int.h).
 *
 * Locking: c->lock guards objs, oldest, newest and bytes, every struct
 * cobj and struct cpage; no disk or network IO is done under it. A
 * function's comment says when its caller holds the lock; the others take
 * it themselves, or do not need it.
 */
#ifndef SHALE_OBJSTORE_CACHE_INT_H
#define SHALE_OBJSTORE_CACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/objstore/objstore_int.h"
#include "util/buf.h"
#include "util/clock.h"

struct metric_series;

#define CACHE_PAGE	((uint64_t)64 << 10)
#define SIZE_UNKNOWN	UINT64_MAX

/*
 * A page file's header (shale-format(5)):
 *
 *	0	8	magic "SHALEPG1"
 *	8	LE64	the object's size, all ones when not known
 *	16	LE64	the page's number (its offset / 64 KiB)
 *	24	LE32	the page's length, the bytes after the header
 *	28	LE32	CRC-32C of bytes 0-27, the key and the page's bytes
 */
#define HDR_LEN		32
#define HDR_MAGIC	"SHALEPG1"

struct cobj;

struct cpage {
	struct cobj	*obj;
	uint32_t	 no;
	uint32_t	 bytes;		/* the file's size, header included */
	int64_t		 touched;	/* its mtime as last set, in seconds */
	struct cpage	*older;		/* the LRU list */
	struct cpage	*newer;
};

/* An object with at least one page in the index. */
struct cobj {
	char		*key;
	uint64_t	 size;		/* SIZE_UNKNOWN until learned */
	struct cpage	**pages;	/* by number, NULL where absent */
	size_t		 cap;
	size_t		 n;		/* pages present */
};

struct cache {
	struct objstore	 os;
	char		*dir;		/* where the pages are; NULL: off */
	char		*prefix;	/* the keys it keeps; "" for all */
	uint64_t	 max;
	pthread_mutex_t	 lock;		/* protects objs, oldest, newest, bytes */
	void		*objs;		/* tsearch() tree of struct cobj by key */
	struct cpage	*oldest;
	struct cpage	*newest;
	uint64_t	 bytes;		/* in page files, or reserved for one */
	_Atomic int	 warned;	/* a local failure was logged */
	_Atomic int	 warned_damage;	/* a damaged page was logged */
	struct metric_series *hits;
	struct metric_series *misses;
	struct metric_series *evictions;
	struct metric_series *errors;
	struct metric_series *gauge;
};

/* Files to remove once the lock is released; `dir` entries with rmdir. */
struct doomed {
	struct {
		char	*path;
		int	 dir;
	}		*v;
	size_t		 n;
	size_t		 cap;
};

static inline int64_t
now_secs(void)
{
	return clock_wall_ns() / 1000000000;
}

/* The index (objstore_cache_index.c) */

/* Under c->lock: an object's entry, or a page's; NULL when absent. */
struct cobj *cache_obj_find(struct cache *c, const char *key);
struct cpage *cache_page_find(struct cache *c, const char *key, uint64_t no);
/* Under c->lock: add delta to the bytes held, and to the gauge. */
void	cache_account(struct cache *c, int64_t delta);
/* Under c->lock: take a page out of the LRU list, or make it the newest. */
void	cache_lru_unlink(struct cache *c, struct cpage *p);
void	cache_lru_push(struct cache *c, struct cpage *p);
/*
 * Under c->lock: take a page out of the index; its file (and the object's
 * directory when it was the last page) go to d, unless d is NULL.
 */
void	cache_page_drop(struct cache *c, struct cpage *p, struct doomed *d);
/*
 * Under c->lock: evict pages until `need` more bytes fit: 0, or -ENOSPC
 * when they cannot.
 */
int	cache_make_room(struct cache *c, uint64_t need, struct doomed *d);
/*
 * Under c->lock: record a page whose file (of `bytes`, already accounted)
 * is in place.
 */
void	cache_page_insert(struct cache *c, const char *key, uint32_t no,
	    uint64_t size, uint32_t bytes, int64_t touched);
/* Remove what cache_page_drop() and cache_make_room() gave up; call without the lock. */
void	cache_doomed_remove(struct doomed *d);
/* Drop every page of key from the index and the disk. */
void	cache_drop_key(struct cache *c, const char *key);
/*
 * Store the pages of n bytes read at page `no` (whole pages, but for the
 * object's last); an empty object is one empty page. Best effort.
 */
void	cache_store_run(struct cache *c, const char *key, uint64_t no,
	    uint64_t size, const char *data, uint64_t n);
/* A page that was missing or damaged: out of the index, its file removed. */
void	cache_page_forget(struct cache *c, const char *key, uint32_t no);

/* The pages on disk (objstore_cache_pages.c) */

/* Whether the cache keeps key: under its prefix, with a name that fits. */
int	cache_keeps(const struct cache *c, const char *key);
/* The object's directory into b, or the file of its page `no`. */
void	cache_obj_path(const struct cache *c, const char *key, struct buf *b);
void	cache_page_path(const struct cache *c, const char *key, uint32_t no,
	    struct buf *b);

enum { PAGE_OK, PAGE_GONE, PAGE_BAD };

/*
 * Read page `no` of key from path into f (header and page): PAGE_OK with
 * *size from its header, PAGE_GONE when there is no file, PAGE_BAD when
 * it is damaged or cannot be read (counted). `touch` sets its mtime.
 */
int	cache_page_read(struct cache *c, const char *path, const char *key,
	    uint32_t no, int touch, struct buf *f, uint64_t *size);
/*
 * Write a page's file under a temporary name and rename it: 0 or -1
 * (counted).
 */
int	cache_page_write(struct cache *c, const char *key, uint32_t no,
	    uint64_t size, const void *data, uint32_t n);
/* mkdir -p c->dir, new directories 0700: 0, or -1 (counted). */
int	cache_make_dirs(struct cache *c);
/* Rebuild the index from the directory, oldest mtime first in the LRU list. */
void	cache_scan(struct cache *c);

#endif
