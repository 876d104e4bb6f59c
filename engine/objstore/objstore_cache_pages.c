/*
 * objstore_cache_pages.c - the disk cache's pages on disk: the names of
 * objects' directories and of page files, a page file's header and its
 * CRC, reading a page and checking it, writing one under a temporary name
 * and renaming it, and the scan of the directory at open that rebuilds
 * the index.
 *
 * A key is one directory name, %-escaped, so that the name gives the key
 * back; a page file is named by its number. A file is checked whole on
 * every read: magic, number, length, CRC, and its length against the
 * object's size when the header knows it. Local failures are counted and
 * logged once, and the caller goes to the store.
 *
 * Not here: which pages are kept and which evicted, and the byte account
 * (objstore_cache_index.c); what a get asks for (objstore_cache.c).
 *
 * Threading: reading and writing a page file takes no lock; two threads
 * or processes writing the same page each write their own temporary file
 * and the last rename wins. The scan runs at open, before any call, and
 * takes c->lock only to fill the index.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/objstore/objstore_cache_int.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/path.h"
#include "util/xmalloc.h"

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

int
cache_keeps(const struct cache *c, const char *key)
{
	size_t n = 0;

	if (c->dir == NULL || strncmp(key, c->prefix, strlen(c->prefix)) != 0)
		return 0;
	for (const char *s = key; *s != '\0'; s++)
		n += plain_byte((unsigned char)*s) ? 1 : 3;
	return n + 2 <= NAME_MAX;
}

/* The object's directory into b. */
void
cache_obj_path(const struct cache *c, const char *key, struct buf *b)
{
	buf_reset(b);
	buf_puts(b, c->dir);
	buf_putc(b, '/');
	escape_key(b, key);
}

void
cache_page_path(const struct cache *c, const char *key, uint32_t no, struct buf *b)
{
	cache_obj_path(c, key, b);
	buf_printf(b, "/%08x", no);
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

/*
 * Read page `no` of key from path into f (header and page): PAGE_OK with
 * *size from its header, PAGE_GONE when there is no file, PAGE_BAD when
 * it is damaged or cannot be read (counted). `touch` sets its mtime.
 */
int
cache_page_read(struct cache *c, const char *path, const char *key, uint32_t no,
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
int
cache_page_write(struct cache *c, const char *key, uint32_t no, uint64_t size,
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
	cache_obj_path(c, key, &dir);
	buf_printf(&tmp, "%s/.tmp.%08x%08x", dir.data, arc4random(), arc4random());
	cache_page_path(c, key, no, &dst);
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

/* ---- opening: the directory and what it holds ---- */

/* mkdir -p c->dir, new directories 0700: 0, or -1 (counted). */
int
cache_make_dirs(struct cache *c)
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
void
cache_scan(struct cache *c)
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
		cache_account(c, f[i].bytes);
		cache_page_insert(c, f[i].key, f[i].no, SIZE_UNKNOWN, f[i].bytes,
		    f[i].mtime);
	}
	(void)cache_make_room(c, 0, &d);
	pthread_mutex_unlock(&c->lock);
	cache_doomed_remove(&d);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	free(f);
}
