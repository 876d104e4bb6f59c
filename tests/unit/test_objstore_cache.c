/*
 * test_objstore_cache.c - the disk cache layer (engine/objstore/objstore_cache.c).
 *
 * Every test has a file:// store and a cache directory in a fresh
 * temporary directory, and a metrics registry of its own, whose
 * objstore_requests_total counts what reached the store below the cache.
 * Objects are written through a store without a cache unless a test
 * checks the fill on put.
 *
 * Checked: ranges inside a page, across pages, to the end, past the end,
 * OBJSTORE_TO_END (a HEAD when the size is not known yet) and an empty
 * object all answer what the store holds, and a second read makes no
 * request; missing pages are fetched one GET per run of adjacent ones; a
 * put of a table stores its pages (read back without a request), those of
 * manifests and WAL objects are never kept; LRU eviction keeps the files
 * within the bound and evicts the least recently used first; a reopened
 * cache serves its pages without a request, its LRU order from the files'
 * mtimes; a page file with a flipped byte (in its data or its header), cut
 * short or deleted is detected, fetched again and counted; a cache
 * directory that cannot be made (under a regular file) or is taken away
 * after opening still gives right answers; delete drops the pages; eight
 * threads reading through a small cache all get right answers.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/objstore/objstore.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/metrics.h"

#define PAGE		(64 * 1024)
#define FILE_BYTES	(PAGE + 32)	/* a whole page's file, header included */
#define PATH_LEN	1024

struct fx {
	char		 dir[200];
	char		 uri[256];
	char		 cache[256];
	struct metrics	*m;
	struct objstore	*os;		/* through the cache */
	struct objstore	*plain;		/* the same store without one */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || scratch_make(f->dir, sizeof(f->dir), "cache") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->uri, sizeof(f->uri), "file://%s/store", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	*state = f;
	return 0;
}

static void
close_stores(struct fx *f)
{
	objstore_close(f->os);
	objstore_close(f->plain);
	metrics_free(f->m);
	f->os = f->plain = NULL;
	f->m = NULL;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	close_stores(f);
	rc = scratch_remove(f->dir);
	free(f);
	return rc;
}

/* (Re)open both stores, the cache in `cache` holding at most max bytes. */
static void
open_stores(struct fx *f, const char *cache, uint64_t max)
{
	struct objstore_opts o;
	int rc;

	close_stores(f);
	f->m = metrics_new();
	memset(&o, 0, sizeof(o));
	o.no_fsync = 1;
	o.max_retries = -1;
	if ((rc = objstore_open(f->uri, &o, &f->plain)) != 0)
		fail_msg("open: %s", err_detail());
	o.metrics = f->m;
	o.cache_dir = cache;
	o.cache_prefix = "compacted/";
	o.cache_max_bytes = max;
	if ((rc = objstore_open(f->uri, &o, &f->os)) != 0)
		fail_msg("open with a cache: %s", err_detail());
}

static double
series(struct fx *f, const char *name, const char *label)
{
	struct metric *fam = metrics_find(f->m, name);

	assert_non_null(fam);
	return metric_value(metric_series(fam, label));
}

static double
gets(struct fx *f)
{
	return series(f, "objstore_requests_total", "get");
}

static double
heads(struct fx *f)
{
	return series(f, "objstore_requests_total", "head");
}

static double
disk(struct fx *f, const char *name)
{
	return series(f, name, "disk");
}

static uint8_t
pattern(const char *key, uint64_t i)
{
	return (uint8_t)(i * 131 + i / 977 + strlen(key) * 7);
}

/* Put an object of n pattern bytes, through the cache or not. */
static void
put_object(struct objstore *os, const char *key, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	int rc;

	assert_non_null(d);
	for (size_t i = 0; i < n; i++)
		d[i] = pattern(key, i);
	if ((rc = objstore_put(os, key, d, n)) != 0)
		fail_msg("put '%s': %s", key, err_detail());
	free(d);
}

/*
 * Read [off, off+len) of an object of `size` pattern bytes and check the
 * answer; returns the GETs it cost.
 */
static double
check_read(struct fx *f, const char *key, uint64_t size, uint64_t off,
    uint64_t len)
{
	uint64_t end = len == OBJSTORE_TO_END || off + len > size ? size : off + len;
	double before = gets(f);
	struct buf b;
	int rc;

	buf_init(&b, 0);
	buf_putc(&b, 'x');	/* the answer is appended */
	if ((rc = objstore_get(f->os, key, off, len, &b)) != 0)
		fail_msg("get '%s' %llu+%llu: %s", key, (unsigned long long)off,
		    (unsigned long long)len, err_detail());
	if (off >= size)
		assert_int_equal(b.len, 1);
	else
		assert_int_equal(b.len, 1 + end - off);
	for (uint64_t i = off; i < end; i++)
		if ((uint8_t)b.data[1 + i - off] != pattern(key, i))
			fail_msg("'%s' byte %llu is wrong", key, (unsigned long long)i);
	buf_release(&b);
	return gets(f) - before;
}

/* The directory of a key's pages. */
static void
obj_dir(struct fx *f, const char *name, char *out, size_t len)
{
	char top[PATH_LEN / 2];
	struct dirent *de;
	DIR *d;

	snprintf(top, sizeof(top), "%s/objects", f->cache);
	assert_non_null(d = opendir(top));
	while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
		;
	assert_non_null(de);
	if ((size_t)snprintf(out, len, "%s/%s/compacted%%2F%s", top, de->d_name,
	    name) >= len)
		fail_msg("path too long");
	closedir(d);
}

static void
page_file(struct fx *f, const char *name, unsigned no, char *out, size_t len)
{
	char dir[PATH_LEN];

	obj_dir(f, name, dir, sizeof(dir));
	if ((size_t)snprintf(out, len, "%s/%08x", dir, no) >= len)
		fail_msg("path too long");
}

/* Bytes and count of the files below the cache directory. */
static uint64_t
du(const char *dir, int *files)
{
	char path[PATH_LEN];
	struct dirent *de;
	struct stat st;
	uint64_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			n += du(path, files);
		else {
			n += (uint64_t)st.st_size;
			(*files)++;
		}
	}
	closedir(d);
	return n;
}

/* ---- ranges ---- */

static void
test_ranges(void **state)
{
	struct fx *f = *state;
	const char *k = "compacted/a.sst";
	uint64_t size = 3 * PAGE + PAGE / 2;

	open_stores(f, f->cache, 64 << 20);
	put_object(f->plain, k, size);
	/* across pages 0 and 1: one GET for the run */
	assert_true(check_read(f, k, size, PAGE - 10, 20) == 1);
	assert_true(disk(f, "engine_cache_misses_total") == 2);
	/* inside page 0: from disk */
	assert_true(check_read(f, k, size, 100, 1000) == 0);
	assert_true(disk(f, "engine_cache_hits_total") == 1);
	/* the last two pages, asked past the end: the short reply gives the size */
	assert_true(check_read(f, k, size, 2 * PAGE + 5, 2 * PAGE) == 1);
	/* to the end, past the end, from the end, beyond it: no request */
	assert_true(check_read(f, k, size, size - 100, 100) == 0);
	assert_true(check_read(f, k, size, size - 10, 100) == 0);
	assert_true(check_read(f, k, size, size, 10) == 0);
	assert_true(check_read(f, k, size, size + 5, 10) == 0);
	assert_true(check_read(f, k, size, size + 5, OBJSTORE_TO_END) == 0);
	assert_true(check_read(f, k, size, 1000, OBJSTORE_TO_END) == 0);
	assert_true(check_read(f, k, size, 0, OBJSTORE_TO_END) == 0);
	assert_true(check_read(f, k, size, 7, 0) == 0);
	assert_true(heads(f) == 0);
	assert_true(disk(f, "engine_cache_bytes") ==
	    3 * FILE_BYTES + 32 + PAGE / 2);

	/* to the end of an object not seen yet: a HEAD, then one GET */
	put_object(f->plain, "compacted/b.sst", 2 * PAGE);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 10,
	    OBJSTORE_TO_END) == 1);
	assert_true(heads(f) == 1);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 0,
	    OBJSTORE_TO_END) == 0);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 2 * PAGE,
	    10) == 0);
	assert_true(heads(f) == 1);

	/* an object of whole pages, read past its end before its size is known */
	put_object(f->plain, "compacted/c.sst", PAGE);
	assert_true(check_read(f, "compacted/c.sst", PAGE, 5 * PAGE, 10) == 1);
	assert_true(check_read(f, "compacted/c.sst", PAGE, 0, 2 * PAGE) == 1);
	assert_true(check_read(f, "compacted/c.sst", PAGE, 0, 2 * PAGE) == 0);

	/* an empty object, to the end and by range */
	put_object(f->plain, "compacted/e.sst", 0);
	assert_true(check_read(f, "compacted/e.sst", 0, 0, OBJSTORE_TO_END) == 0);
	assert_true(heads(f) == 2);
	assert_true(check_read(f, "compacted/e.sst", 0, 0, OBJSTORE_TO_END) == 0);
	assert_true(check_read(f, "compacted/e.sst", 0, 0, 10) == 0);
	assert_true(heads(f) == 2);
	put_object(f->plain, "compacted/e2.sst", 0);
	assert_true(check_read(f, "compacted/e2.sst", 0, 0, 10) == 1);
	assert_true(check_read(f, "compacted/e2.sst", 0, 0, 10) == 0);
	assert_true(check_read(f, "compacted/e2.sst", 0, 3, OBJSTORE_TO_END) == 0);
	assert_true(heads(f) == 2);
	/* a missing key is the store's answer */
	{
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(objstore_get(f->os, "compacted/none.sst", 0, 10,
		    &b), -ENOENT);
		assert_int_equal(b.len, 0);
		assert_int_equal(objstore_get(f->os, "compacted/none.sst", 0,
		    OBJSTORE_TO_END, &b), -ENOENT);
		buf_release(&b);
	}
}

/* Missing pages between pages on disk: one GET for each run. */
static void
test_runs(void **state)
{
	struct fx *f = *state;
	const char *k = "compacted/r.sst";
	uint64_t size = 8 * PAGE;

	open_stores(f, f->cache, 64 << 20);
	put_object(f->plain, k, size);
	assert_true(check_read(f, k, size, 2 * PAGE, 10) == 1);
	assert_true(check_read(f, k, size, 5 * PAGE + 3, PAGE) == 1);
	/* missing: 0-1, 3-4, 7 */
	assert_true(check_read(f, k, size, 17, OBJSTORE_TO_END) == 3);
	assert_true(disk(f, "engine_cache_misses_total") == 8);
	assert_true(disk(f, "engine_cache_hits_total") == 3);
	assert_true(check_read(f, k, size, 0, size) == 0);
}

/* ---- what is kept ---- */

static void
test_fill_on_put(void **state)
{
	struct fx *f = *state;
	uint64_t size = 2 * PAGE + 100;
	int files = 0;

	open_stores(f, f->cache, 64 << 20);
	put_object(f->os, "compacted/p.sst", size);
	assert_true(check_read(f, "compacted/p.sst", size, 0, OBJSTORE_TO_END) == 0);
	assert_true(check_read(f, "compacted/p.sst", size, size - 1, 1) == 0);
	assert_true(heads(f) == 0);
	/* a put again replaces the pages */
	put_object(f->os, "compacted/p.sst", 100);
	assert_true(check_read(f, "compacted/p.sst", 100, 0, OBJSTORE_TO_END) == 0);
	assert_true(du(f->cache, &files) == 32 + 100);
	assert_int_equal(files, 1);
	assert_true(objstore_put_if_absent(f->os, "compacted/q.sst", "abc", 3) == 0);
	{
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(objstore_get(f->os, "compacted/q.sst", 1, 5, &b), 0);
		assert_string_equal(buf_str(&b), "bc");
		buf_release(&b);
	}
	assert_true(gets(f) == 0);
}

static void
test_not_cached(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = {
		"manifest/00000000000000000001", "wal/00000000000000000001.wal",
		"compacted", "other/compacted/x.sst",
	};
	int files = 0;

	open_stores(f, f->cache, 64 << 20);
	for (size_t i = 0; i < 4; i++) {
		put_object(f->os, keys[i], PAGE + 10);
		assert_true(check_read(f, keys[i], PAGE + 10, 0, OBJSTORE_TO_END) == 1);
		assert_true(check_read(f, keys[i], PAGE + 10, 5, 10) == 1);
	}
	assert_true(du(f->cache, &files) == 0);
	assert_int_equal(files, 0);
	assert_true(disk(f, "engine_cache_hits_total") == 0);
	assert_true(disk(f, "engine_cache_misses_total") == 0);
}

static void
test_delete(void **state)
{
	struct fx *f = *state;
	const char *keys[2] = { "compacted/d1.sst", "compacted/d2.sst" };
	char dir[PATH_LEN];
	struct stat st;
	struct buf b;
	int files = 0;

	open_stores(f, f->cache, 64 << 20);
	put_object(f->os, "compacted/d0.sst", 2 * PAGE);
	put_object(f->os, keys[0], PAGE);
	put_object(f->os, keys[1], 10);
	obj_dir(f, "d0.sst", dir, sizeof(dir));
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(objstore_delete(f->os, "compacted/d0.sst"), 0);
	assert_int_equal(stat(dir, &st), -1);
	buf_init(&b, 0);
	assert_int_equal(objstore_get(f->os, "compacted/d0.sst", 0, 10, &b),
	    -ENOENT);
	assert_int_equal(objstore_delete_batch(f->os, keys, 2), 0);
	assert_int_equal(objstore_get(f->os, keys[1], 0, OBJSTORE_TO_END, &b),
	    -ENOENT);
	buf_release(&b);
	assert_true(du(f->cache, &files) == 0);
	assert_true(disk(f, "engine_cache_bytes") == 0);
}

/* ---- the bound, and restarts ---- */

static void
test_eviction(void **state)
{
	struct fx *f = *state;
	int files = 0;

	open_stores(f, f->cache, 4 * FILE_BYTES + 100);
	put_object(f->plain, "compacted/a.sst", 2 * PAGE);
	put_object(f->plain, "compacted/b.sst", 2 * PAGE);
	put_object(f->plain, "compacted/c.sst", 2 * PAGE);
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, 2 * PAGE) == 1);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 0, 2 * PAGE) == 1);
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, 2 * PAGE) == 0);
	assert_true(disk(f, "engine_cache_evictions_total") == 0);
	/* c takes b's room: b is the least recently used */
	assert_true(check_read(f, "compacted/c.sst", 2 * PAGE, 0, 2 * PAGE) == 1);
	assert_true(disk(f, "engine_cache_evictions_total") == 2);
	assert_true(du(f->cache, &files) <= 4 * FILE_BYTES + 100);
	assert_int_equal(files, 4);
	assert_true(disk(f, "engine_cache_bytes") == 4 * FILE_BYTES);
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, 2 * PAGE) == 0);
	assert_true(check_read(f, "compacted/c.sst", 2 * PAGE, 0, 2 * PAGE) == 0);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 0, 2 * PAGE) == 1);
	/* many objects through it: the files stay within the bound */
	for (int i = 0; i < 12; i++) {
		char k[64];

		snprintf(k, sizeof(k), "compacted/m%d.sst", i);
		put_object(f->plain, k, PAGE + 1000 * (size_t)i);
		check_read(f, k, PAGE + 1000 * (uint64_t)i, 0, OBJSTORE_TO_END);
		files = 0;
		assert_true(du(f->cache, &files) <= 4 * FILE_BYTES + 100);
	}
	/* a table bigger than the cache is not stored on put */
	put_object(f->os, "compacted/big.sst", 5 * PAGE);
	assert_true(check_read(f, "compacted/big.sst", 5 * PAGE, 0, 10) == 1);
}

static void
set_mtime(struct fx *f, const char *name, unsigned no, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	char path[PATH_LEN];

	page_file(f, name, no, path, sizeof(path));
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
test_reopen(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	int files = 0;

	open_stores(f, f->cache, 64 << 20);
	put_object(f->plain, "compacted/a.sst", 2 * PAGE);
	put_object(f->plain, "compacted/b.sst", 2 * PAGE);
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, OBJSTORE_TO_END) == 1);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 0, OBJSTORE_TO_END) == 1);
	open_stores(f, f->cache, 64 << 20);
	assert_true(disk(f, "engine_cache_bytes") == 4 * FILE_BYTES);
	/* the sizes from the pages' headers: no HEAD, nothing past the end */
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, OBJSTORE_TO_END) == 0);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 10, 2 * PAGE) == 0);
	assert_true(heads(f) == 0);

	/* last use from the mtimes: b's pages oldest, then a's page 1 */
	set_mtime(f, "b.sst", 0, now - 4000);
	set_mtime(f, "b.sst", 1, now - 3000);
	set_mtime(f, "a.sst", 0, now - 1000);
	set_mtime(f, "a.sst", 1, now - 2000);
	open_stores(f, f->cache, 2 * FILE_BYTES + 10);
	assert_true(disk(f, "engine_cache_evictions_total") == 2);
	assert_true(du(f->cache, &files) == 2 * FILE_BYTES);
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, 2 * PAGE) == 0);
	assert_true(check_read(f, "compacted/b.sst", 2 * PAGE, 0, 10) == 1);
	/* a's page 0 was used before its page 1, and went for b's */
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, PAGE, 10) == 0);
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, 10) == 1);
	/* a hit sets an old file's mtime again */
	set_mtime(f, "a.sst", 0, now - 5000);
	open_stores(f, f->cache, 64 << 20);
	assert_true(check_read(f, "compacted/a.sst", 2 * PAGE, 0, 10) == 0);
	{
		char path[PATH_LEN];
		struct stat st;

		page_file(f, "a.sst", 0, path, sizeof(path));
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_mtime >= now - 10);
	}
}

/* ---- damage and local failures ---- */

static void
flip(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char ch;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &ch, 1, off), 1);
	ch ^= 0x40;
	assert_int_equal(pwrite(fd, &ch, 1, off), 1);
	close(fd);
}

static void
test_damage(void **state)
{
	struct fx *f = *state;
	const char *k = "compacted/z.sst";
	uint64_t size = 4 * PAGE + 77;
	char path[PATH_LEN];

	open_stores(f, f->cache, 64 << 20);
	put_object(f->plain, k, size);
	assert_true(check_read(f, k, size, 0, OBJSTORE_TO_END) == 1);
	assert_true(heads(f) == 1);
	assert_true(check_read(f, k, size, 0, OBJSTORE_TO_END) == 0);
	/* a flipped byte in the data, then in the header's size */
	page_file(f, "z.sst", 1, path, sizeof(path));
	flip(path, 32 + 1000);
	assert_true(check_read(f, k, size, 0, OBJSTORE_TO_END) == 1);
	assert_true(disk(f, "engine_cache_errors_total") == 1);
	assert_true(check_read(f, k, size, 0, OBJSTORE_TO_END) == 0);
	page_file(f, "z.sst", 4, path, sizeof(path));
	flip(path, 9);
	assert_true(check_read(f, k, size, size - 10, 10) == 1);
	assert_true(disk(f, "engine_cache_errors_total") == 2);
	/* cut short, and empty */
	page_file(f, "z.sst", 2, path, sizeof(path));
	assert_int_equal(truncate(path, 1000), 0);
	page_file(f, "z.sst", 3, path, sizeof(path));
	assert_int_equal(truncate(path, 0), 0);
	assert_true(check_read(f, k, size, PAGE, 3 * PAGE) == 1);
	assert_true(disk(f, "engine_cache_errors_total") == 4);
	/* deleted behind its back: fetched, not an error */
	page_file(f, "z.sst", 0, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_true(check_read(f, k, size, 0, 10) == 1);
	assert_true(disk(f, "engine_cache_errors_total") == 4);
	assert_true(check_read(f, k, size, 0, OBJSTORE_TO_END) == 0);
	/* and across a restart */
	page_file(f, "z.sst", 2, path, sizeof(path));
	flip(path, 32 + PAGE - 1);
	open_stores(f, f->cache, 64 << 20);
	assert_true(check_read(f, k, size, 0, size) == 1);
	assert_true(disk(f, "engine_cache_errors_total") == 1);
	assert_true(check_read(f, k, size, 0, size) == 0);
}

static void
test_unwritable(void **state)
{
	struct fx *f = *state;
	char bad[PATH_LEN], dir[PATH_LEN];
	int fd;

	/* a directory under a regular file cannot be made, even by root */
	snprintf(bad, sizeof(bad), "%s/file", f->dir);
	assert_true((fd = open(bad, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	snprintf(bad, sizeof(bad), "%s/file/x", f->dir);
	open_stores(f, bad, 64 << 20);
	assert_true(disk(f, "engine_cache_errors_total") == 1);
	put_object(f->os, "compacted/u.sst", 2 * PAGE + 3);
	assert_true(check_read(f, "compacted/u.sst", 2 * PAGE + 3, 5, 2 * PAGE) == 1);
	assert_true(check_read(f, "compacted/u.sst", 2 * PAGE + 3, 5, 2 * PAGE) == 1);
	assert_true(check_read(f, "compacted/u.sst", 2 * PAGE + 3, 0,
	    OBJSTORE_TO_END) == 1);

	/* the directory taken away after opening, a file in its place */
	open_stores(f, f->cache, 64 << 20);
	put_object(f->os, "compacted/v.sst", 10);
	obj_dir(f, "v.sst", dir, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	assert_int_equal(scratch_remove(dir), 0);
	assert_true((fd = open(dir, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	assert_true(check_read(f, "compacted/v.sst", 10, 0, 10) == 1);
	put_object(f->plain, "compacted/w.sst", PAGE + 1);
	assert_true(check_read(f, "compacted/w.sst", PAGE + 1, 0, PAGE + 1) == 1);
	assert_true(check_read(f, "compacted/w.sst", PAGE + 1, 0, PAGE + 1) == 1);
	assert_true(disk(f, "engine_cache_errors_total") >= 2);
	assert_true(disk(f, "engine_cache_bytes") == 0);
	put_object(f->os, "compacted/w.sst", PAGE + 1);
}

/* ---- threads ---- */

struct reader {
	struct fx	*f;
	unsigned	 seed;
	int		 bad;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct buf b;
	char k[32];

	buf_init(&b, 0);
	for (int i = 0; i < 300; i++) {
		int obj = rand_r(&r->seed) % 6;
		uint64_t size = (uint64_t)(obj + 1) * PAGE + 555 * (uint64_t)obj;
		uint64_t off = (uint64_t)rand_r(&r->seed) % (size + 10);
		uint64_t len = (uint64_t)rand_r(&r->seed) % (3 * PAGE);

		snprintf(k, sizeof(k), "compacted/t%d.sst", obj);
		buf_reset(&b);
		if (objstore_get(r->f->os, k, off, len, &b) != 0) {
			r->bad++;
			continue;
		}
		if (b.len != (off >= size ? 0 : off + len > size ? size - off : len))
			r->bad++;
		for (size_t j = 0; j < b.len; j++)
			if ((uint8_t)b.data[j] != pattern(k, off + j)) {
				r->bad++;
				break;
			}
	}
	buf_release(&b);
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct reader r[8];
	pthread_t t[8];
	int files = 0;

	open_stores(f, f->cache, 12 * FILE_BYTES);
	for (int i = 0; i < 6; i++) {
		char k[32];

		snprintf(k, sizeof(k), "compacted/t%d.sst", i);
		put_object(f->plain, k, (size_t)(i + 1) * PAGE + 555 * (size_t)i);
	}
	for (int i = 0; i < 8; i++) {
		r[i] = (struct reader){ f, (unsigned)i * 7919 + 1, 0 };
		pthread_create(&t[i], NULL, reader_main, &r[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].bad, 0);
	}
	assert_true(du(f->cache, &files) <= 12 * FILE_BYTES);
	assert_true(disk(f, "engine_cache_hits_total") > 0);
	assert_true(disk(f, "engine_cache_evictions_total") > 0);
	assert_true(disk(f, "engine_cache_errors_total") == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_on_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
