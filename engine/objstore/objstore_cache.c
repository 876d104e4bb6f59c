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
 * Threading: calls from any number of threads at once. One mutex guards
 * the index and the byte account; no disk or network IO is done under it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "engine/objstore/objstore_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/path.h"
#include "util/xmalloc.h"

#define CACHE_PAGE	((uint64_t)64 << 10)
#define CACHE_DEFAULT_MAX ((uint64_t)16 << 30)
#define SIZE_UNKNOWN	UINT64_MAX
#define TOUCH_SECS	60

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

static int64_t
now_secs(void)
{
	return clock_wall_ns() / 1000000000;
}

static void
local_failure(struct cache *c, const char *what, const char *path, int e)
{
	metric_add(c->errors, 1);
	if (atomic_exchange(&c->warned, 1) == 0)
		log_warn("disk cache: %s '%s': %s; reading from the store (logged "
		    "once)", what, path, strerror(e));
}

/* ---- names ---- */

static int
plain_byte(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
}

/*
 * Append key as one directory name: bytes other than letters, digits and
 * "-_." as %XX, and a leading '.' too. -ENAMETOOLONG past NAME_MAX.
 */
static int
escape_key(struct buf *b, const char *key)
{
	size_t start = b->len;

	for (const char *s = key; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (plain_byte(ch) && !(ch == '.' && s == key))
			buf_putc(b, (char)ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
	return b->len - start > NAME_MAX ? -ENAMETOOLONG : 0;
}

static int
hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The key a directory name stands for, or NULL if escape_key() did not make it. */
static char *
unescape_name(const char *name)
{
	struct buf b, again;
	char *key = NULL;

	buf_init(&b, 0);
	buf_init(&again, 0);
	for (const char *s = name; *s != '\0'; s++) {
		if (*s != '%') {
			buf_putc(&b, *s);
			continue;
		}
		if (hex_digit(s[1]) < 0 || hex_digit(s[2]) < 0 ||
		    (hex_digit(s[1]) == 0 && hex_digit(s[2]) == 0))
			goto out;
		buf_putc(&b, (char)(hex_digit(s[1]) << 4 | hex_digit(s[2])));
		s += 2;
	}
	if (b.len > 0 && escape_key(&again, b.data) == 0 &&
	    strcmp(again.data, name) == 0)
		key = buf_detach(&b, NULL);
out:
	buf_release(&b);
	buf_release(&again);
	return key;
}

static int
cacheable(const struct cache *c, const char *key)
{
	size_t n = 0;

	if (c->dir == NULL || strncmp(key, c->prefix, strlen(c->prefix)) != 0)
		return 0;
	for (const char *s = key; *s != '\0'; s++)
		n += plain_byte((unsigned char)*s) ? 1 : 3;
	return n + 2 <= NAME_MAX;
}

/* The object's directory into b. */
static void
obj_path(const struct cache *c, const char *key, struct buf *b)
{
	buf_reset(b);
	buf_puts(b, c->dir);
	buf_putc(b, '/');
	escape_key(b, key);
}

static void
page_path(const struct cache *c, const char *key, uint32_t no, struct buf *b)
{
	obj_path(c, key, b);
	buf_printf(b, "/%08x", no);
}

/* ---- the index; every function here is called under c->lock ---- */

static int
obj_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cobj *)a)->key, ((const struct cobj *)b)->key);
}

static struct cobj *
obj_find(struct cache *c, const char *key)
{
	struct cobj probe;
	void *node;

	probe.key = (char *)key;
	node = tfind(&probe, &c->objs, obj_cmp);
	return node != NULL ? *(struct cobj **)node : NULL;
}

static struct cpage *
page_find(struct cache *c, const char *key, uint64_t no)
{
	struct cobj *o = obj_find(c, key);

	return o != NULL && no < o->cap ? o->pages[no] : NULL;
}

static void
account(struct cache *c, int64_t delta)
{
	c->bytes += (uint64_t)delta;
	metric_add(c->gauge, (double)delta);
}

static void
lru_unlink(struct cache *c, struct cpage *p)
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

static void
lru_push(struct cache *c, struct cpage *p)
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
static void
page_drop(struct cache *c, struct cpage *p, struct doomed *d)
{
	struct cobj *o = p->obj;
	struct buf path;

	buf_init(&path, 0);
	if (d != NULL) {
		page_path(c, o->key, p->no, &path);
		doom(d, buf_detach(&path, NULL), 0);
	}
	lru_unlink(c, p);
	account(c, -(int64_t)p->bytes);
	o->pages[p->no] = NULL;
	free(p);
	if (--o->n > 0)
		return;
	if (d != NULL) {
		obj_path(c, o->key, &path);
		doom(d, buf_detach(&path, NULL), 1);
	}
	tdelete(o, &c->objs, obj_cmp);
	free(o->pages);
	free(o->key);
	free(o);
}

/* Evict pages until `need` more bytes fit: 0, or -ENOSPC when they cannot. */
static int
make_room(struct cache *c, uint64_t need, struct doomed *d)
{
	while (c->bytes + need > c->max && c->oldest != NULL) {
		page_drop(c, c->oldest, d);
		metric_add(c->evictions, 1);
	}
	return c->bytes + need > c->max ? -ENOSPC : 0;
}

/* Record a page whose file (of `bytes`, already accounted) is in place. */
static void
page_insert(struct cache *c, const char *key, uint32_t no, uint64_t size,
    uint32_t bytes, int64_t touched)
{
	struct cobj *o = obj_find(c, key);
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
		account(c, -(int64_t)p->bytes);
		lru_unlink(c, p);
	} else {
		p = xcalloc(1, sizeof(*p));
		p->obj = o;
		p->no = no;
		o->pages[no] = p;
		o->n++;
	}
	p->bytes = bytes;
	p->touched = touched;
	lru_push(c, p);
}

/* Remove what page_drop() and make_room() gave up; call without the lock. */
static void
doomed_remove(struct doomed *d)
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

/* Drop every page of key from the index and the disk. */
static void
drop_key(struct cache *c, const char *key)
{
	struct doomed d = { 0 };
	struct cobj *o;

	pthread_mutex_lock(&c->lock);
	if ((o = obj_find(c, key)) != NULL) {
		/* the last page_drop() frees o: count, do not look again */
		for (size_t i = 0, left = o->n; left > 0; i++) {
			if (o->pages[i] == NULL)
				continue;
			left--;
			page_drop(c, o->pages[i], &d);
		}
	}
	pthread_mutex_unlock(&c->lock);
	doomed_remove(&d);
}

/* ---- page files ---- */

static void
le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static uint32_t
page_crc(const uint8_t *hdr, const char *key, const void *data, size_t n)
{
	uint32_t crc = crc32c(0, hdr, 28);

	crc = crc32c(crc, key, strlen(key));
	return crc32c(crc, data, n);
}

/*
 * Whether a file's bytes f[0, len) are page `no` of key, whole and
 * consistent with the object's size, which goes to *size.
 */
static int
page_valid(const uint8_t *f, size_t len, const char *key, uint32_t no,
    uint64_t *size)
{
	uint64_t n, at = (uint64_t)no * CACHE_PAGE;

	if (len < HDR_LEN || memcmp(f, HDR_MAGIC, 8) != 0)
		return 0;
	n = len - HDR_LEN;
	if (le_get(f + 16, 8) != no || le_get(f + 24, 4) != n ||
	    n > CACHE_PAGE || le_get(f + 28, 4) != page_crc(f, key, f + HDR_LEN, n))
		return 0;
	if ((*size = le_get(f + 8, 8)) == SIZE_UNKNOWN)
		return n == CACHE_PAGE;		/* only a last page is short */
	if (at >= *size)
		return at == 0 && n == 0;	/* an empty object */
	return n == (*size - at < CACHE_PAGE ? *size - at : CACHE_PAGE);
}

enum { PAGE_OK, PAGE_GONE, PAGE_BAD };

/*
 * Read page `no` of key from path into f (header and page): PAGE_OK with
 * *size from its header, PAGE_GONE when there is no file, PAGE_BAD when
 * it is damaged or cannot be read (counted). `touch` sets its mtime.
 */
static int
page_read(struct cache *c, const char *path, const char *key, uint32_t no,
    int touch, struct buf *f, uint64_t *size)
{
	struct stat st;
	ssize_t r = 0;
	size_t want;
	int fd, rc = PAGE_BAD;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return PAGE_GONE;
		local_failure(c, "cannot open", path, errno);
		return PAGE_BAD;
	}
	buf_reset(f);
	if (fstat(fd, &st) != 0) {
		local_failure(c, "cannot stat", path, errno);
		goto out;
	}
	want = st.st_size > 0 && (uint64_t)st.st_size <= HDR_LEN + CACHE_PAGE ?
	    (size_t)st.st_size : 0;
	if (want > 0 && buf_reserve(f, want) == 0)
		while (f->len < want &&
		    (r = read(fd, f->data + f->len, want - f->len)) > 0)
			f->len += (size_t)r;
	if (r < 0) {
		local_failure(c, "cannot read", path, errno);
		goto out;
	}
	if (want > 0 && f->len == want &&
	    page_valid((const uint8_t *)f->data, f->len, key, no, size)) {
		rc = PAGE_OK;
		if (touch)
			(void)futimens(fd, NULL);
		goto out;
	}
	metric_add(c->errors, 1);
	if (atomic_exchange(&c->warned_damage, 1) == 0)
		log_warn("disk cache: page '%s' is damaged; fetching it again "
		    "(logged once)", path);
out:
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write a page's file under a temporary name and rename it: 0 or -1 (counted). */
static int
page_write(struct cache *c, const char *key, uint32_t no, uint64_t size,
    const void *data, uint32_t n)
{
	uint8_t hdr[HDR_LEN];
	struct buf dir, tmp, dst;
	const char *what = "cannot create";
	int fd, e, rc = -1;

	memcpy(hdr, HDR_MAGIC, 8);
	le_put(hdr + 8, size, 8);
	le_put(hdr + 16, no, 8);
	le_put(hdr + 24, n, 4);
	le_put(hdr + 28, page_crc(hdr, key, data, n), 4);
	buf_init(&dir, 0);
	buf_init(&tmp, 0);
	buf_init(&dst, 0);
	obj_path(c, key, &dir);
	buf_printf(&tmp, "%s/.tmp.%08x%08x", dir.data, arc4random(), arc4random());
	page_path(c, key, no, &dst);
	/* the object's first page; or its last one just went, and its directory */
	for (int tries = 0; tries < 5; tries++) {
		fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != ENOENT ||
		    (mkdir(dir.data, 0700) != 0 && errno != EEXIST))
			break;
	}
	if (fd < 0)
		goto fail;
	what = "cannot write";
	if (write_all(fd, hdr, HDR_LEN) != 0 || write_all(fd, data, n) != 0) {
		e = errno;
		close(fd);
		errno = e;
		goto unlink;
	}
	if (close(fd) != 0)
		goto unlink;
	what = "cannot rename";
	if (rename(tmp.data, dst.data) == 0) {
		rc = 0;
		goto out;
	}
unlink:
	e = errno;
	(void)unlink(tmp.data);
	errno = e;
fail:
	local_failure(c, what, tmp.data, errno);
out:
	buf_release(&dir);
	buf_release(&tmp);
	buf_release(&dst);
	return rc;
}

/* Keep a page on disk, making room for it first; best effort. */
static void
page_store(struct cache *c, const char *key, uint32_t no, uint64_t size,
    const void *data, uint32_t n)
{
	struct doomed d = { 0 };
	uint32_t bytes = HDR_LEN + n;
	int rc;

	pthread_mutex_lock(&c->lock);
	if ((rc = make_room(c, bytes, &d)) == 0)
		account(c, bytes);
	pthread_mutex_unlock(&c->lock);
	doomed_remove(&d);
	if (rc != 0)
		return;
	rc = page_write(c, key, no, size, data, n);
	pthread_mutex_lock(&c->lock);
	if (rc == 0)
		page_insert(c, key, no, size, bytes, now_secs());
	else
		account(c, -(int64_t)bytes);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Store the pages of n bytes read at page `no` (whole pages, but for the
 * object's last); an empty object is one empty page.
 */
static void
store_run(struct cache *c, const char *key, uint64_t no, uint64_t size,
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
static void
page_forget(struct cache *c, const char *key, uint32_t no)
{
	struct doomed d = { 0 };
	struct cpage *p;

	pthread_mutex_lock(&c->lock);
	if ((p = page_find(c, key, no)) != NULL)
		page_drop(c, p, &d);
	pthread_mutex_unlock(&c->lock);
	doomed_remove(&d);
}

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
	o = obj_find(c, key);
	size = o != NULL ? o->size : SIZE_UNKNOWN;
	pthread_mutex_unlock(&c->lock);
	return size;
}

static void
obj_set_size(struct cache *c, const char *key, uint64_t size)
{
	struct cobj *o;

	pthread_mutex_lock(&c->lock);
	if ((o = obj_find(c, key)) != NULL)
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
	if ((o = obj_find(c, key)) != NULL)
		for (no = o->cap; no > 0 && o->pages[no - 1] == NULL; no--)
			;
	pthread_mutex_unlock(&c->lock);
	if (no-- == 0)
		return SIZE_UNKNOWN;
	buf_init(&path, 0);
	buf_init(&f, 0);
	page_path(c, key, (uint32_t)no, &path);
	if (page_read(c, path.data, key, (uint32_t)no, 0, &f, &size) != PAGE_OK) {
		page_forget(c, key, (uint32_t)no);
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
		if ((p = page_find(c, key, first + k)) == NULL)
			continue;
		sl[k].have = 1;
		lru_unlink(c, p);
		lru_push(c, p);
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

	if (!cacheable(c, key))
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
			store_run(c, key, 0, 0, NULL, 0);
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
		page_path(c, key, (uint32_t)(first + k), &path);
		switch (page_read(c, path.data, key, (uint32_t)(first + k),
		    sl[k].touch, &sl[k].file, &hsize)) {
		case PAGE_OK:
			metric_add(c->hits, 1);
			if (hsize != SIZE_UNKNOWN)
				size = hsize;
			continue;
		case PAGE_GONE:		/* another process evicted it */
		case PAGE_BAD:
			sl[k].have = 0;
			page_forget(c, key, (uint32_t)(first + k));
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
			store_run(c, key, first + k, size, run.data, got);
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
	drop_key(c, key);
	if (n <= c->max)
		store_run(c, key, 0, n, data, n);
}

static int
cache_put(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct cache *c = (struct cache *)os;
	int rc = os->inner->ops->put(os->inner, key, d, n);

	if (cacheable(c, key)) {
		if (rc == 0)
			fill(c, key, d, n);
		else
			drop_key(c, key);
	}
	return rc;
}

static int
cache_put_if_absent(struct objstore *os, const char *key, const void *d, size_t n)
{
	struct cache *c = (struct cache *)os;
	int rc = os->inner->ops->put_if_absent(os->inner, key, d, n);

	if (rc == 0 && cacheable(c, key))
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

	if (cacheable(c, key))
		drop_key(c, key);
	return rc;
}

static int
cache_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	struct cache *c = (struct cache *)os;
	int rc = os->inner->ops->delete_batch(os->inner, keys, n);

	for (size_t i = 0; i < n; i++)
		if (cacheable(c, keys[i]))
			drop_key(c, keys[i]);
	return rc;
}

static void
cache_close(struct objstore *os)
{
	struct cache *c = (struct cache *)os;

	pthread_mutex_lock(&c->lock);
	while (c->oldest != NULL)
		page_drop(c, c->oldest, NULL);
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

/* ---- opening: the directory and what it holds ---- */

/* mkdir -p c->dir, new directories 0700: 0, or -1 (counted). */
static int
make_dirs(struct cache *c)
{
	int rc;

	if ((rc = path_mkdirs(c->dir, 0700)) != 0) {
		local_failure(c, "cannot create", c->dir, -rc);
		return -1;
	}
	return 0;
}

/* A page file found at open. */
struct found {
	const char	*key;		/* shared by an object's pages */
	uint32_t	 no;
	uint32_t	 bytes;
	int64_t		 mtime;
};

static int
found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

/* The page files of one object's directory; a crash's temporary files go. */
static void
scan_obj(DIR *od, const char *key, struct found **f, size_t *nf, size_t *cap)
{
	struct dirent *de;
	struct stat st;
	int fd = dirfd(od);

	while ((de = readdir(od)) != NULL) {
		if (strncmp(de->d_name, ".tmp.", 5) == 0) {
			(void)unlinkat(fd, de->d_name, 0);
			continue;
		}
		if (strlen(de->d_name) != 8 ||
		    strspn(de->d_name, "0123456789abcdef") != 8 ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (st.st_size < HDR_LEN ||
		    (uint64_t)st.st_size > HDR_LEN + CACHE_PAGE) {
			(void)unlinkat(fd, de->d_name, 0);
			continue;
		}
		*f = xgrow(*f, cap, *nf + 1, sizeof(**f));
		(*f)[(*nf)++] = (struct found){ key,
		    (uint32_t)strtoul(de->d_name, NULL, 16),
		    (uint32_t)st.st_size, (int64_t)st.st_mtim.tv_sec };
	}
}

/* Rebuild the index from the directory, oldest mtime first in the LRU list. */
static void
scan(struct cache *c)
{
	struct found *f = NULL;
	struct doomed d = { 0 };
	size_t nf = 0, capf = 0, nkeys = 0, capkeys = 0, before;
	char **keys = NULL, *key;
	struct dirent *de;
	DIR *top, *od;
	int fd;

	if ((top = opendir(c->dir)) == NULL) {
		local_failure(c, "cannot open", c->dir, errno);
		free(c->dir);
		c->dir = NULL;
		return;
	}
	while ((de = readdir(top)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (key = unescape_name(de->d_name)) == NULL)
			continue;
		fd = openat(dirfd(top), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		if (fd < 0 || (od = fdopendir(fd)) == NULL) {
			if (fd >= 0)
				close(fd);
			free(key);
			continue;
		}
		keys = xgrow(keys, &capkeys, nkeys + 1, sizeof(*keys));
		keys[nkeys++] = key;
		before = nf;
		scan_obj(od, key, &f, &nf, &capf);
		closedir(od);
		if (nf == before)
			(void)unlinkat(dirfd(top), de->d_name, AT_REMOVEDIR);
	}
	closedir(top);
	if (nf > 0)
		qsort(f, nf, sizeof(*f), found_cmp);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < nf; i++) {
		account(c, f[i].bytes);
		page_insert(c, f[i].key, f[i].no, SIZE_UNKNOWN, f[i].bytes,
		    f[i].mtime);
	}
	(void)make_room(c, 0, &d);
	pthread_mutex_unlock(&c->lock);
	doomed_remove(&d);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	free(f);
}

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
	if (make_dirs(c) == 0)
		scan(c);
	else {
		free(c->dir);
		c->dir = NULL;
	}
	*out = &c->os;
	return 0;
}
