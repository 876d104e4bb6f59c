/*
 * objstore_file.c - the file:// backend: objects as files in a directory.
 *
 * Layout. A key is split at '/'; every component but the last names a
 * directory, the last one a file. On disk each component is escaped so that
 * nothing collides: '%' becomes "%25", a leading '.' becomes "%2E", an empty
 * component is "%00", and a directory's name gets the suffix "%2F" (a file
 * can never end so, its '%' being escaped). Thus "a" and "a/b" can both be
 * objects, as in S3, and names starting with '.' are free for temporary
 * files. A component longer than 255 bytes once escaped is ENAMETOOLONG.
 *
 * put writes ".tmp.*" in the target directory, fsyncs it, renames it over
 * the key and fsyncs the directory, so a reader sees the old object or the
 * new one, never a mix, and a crash leaves at worst a temporary file.
 * put_if_absent does the same but link(2)s the temporary into place, which
 * fails with EEXIST for all but one of any number of racers, then unlinks
 * the temporary. delete removes the file and prunes the directories it
 * leaves empty; put retries if its directory vanished under it.
 *
 * Listing walks the tree in byte order of the decoded keys: siblings are
 * sorted by name, a directory's name taken with its '/', and a subtree is
 * entered only when it can hold keys after start_after under the prefix.
 *
 * Thread-safe: every call works on its own file descriptors.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/objstore/objstore_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define LIST_PAGE 1000

struct fstore {
	struct objstore	 os;
	char		*root;
	int		 no_fsync;
};

/* Escape one key component for the disk; -ENAMETOOLONG past 255 bytes. */
static int
enc_component(struct buf *out, const char *c, size_t n, int is_dir)
{
	size_t start = out->len;

	if (n == 0)
		buf_puts(out, "%00");
	for (size_t i = 0; i < n; i++) {
		if (c[i] == '%')
			buf_puts(out, "%25");
		else if (i == 0 && c[i] == '.')
			buf_puts(out, "%2E");
		else
			buf_putc(out, c[i]);
	}
	if (is_dir)
		buf_puts(out, "%2F");
	return out->len - start > NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Decode a directory entry; 1 if it is a directory name, 0 a file, -1 foreign. */
static int
dec_component(const char *name, struct buf *out)
{
	size_t n = strlen(name);
	int is_dir = 0;

	buf_reset(out);
	if (n >= 3 && strcmp(name + n - 3, "%2F") == 0) {
		is_dir = 1;
		n -= 3;
	}
	if (n == 3 && strncmp(name, "%00", 3) == 0)
		return is_dir;
	for (size_t i = 0; i < n; i++) {
		if (name[i] != '%') {
			buf_putc(out, name[i]);
			continue;
		}
		if (i + 2 < n && strncmp(name + i, "%25", 3) == 0)
			buf_putc(out, '%');
		else if (i == 0 && strncmp(name, "%2E", 3) == 0)
			buf_putc(out, '.');
		else
			return -1;
		i += 2;
	}
	return is_dir;
}

/* The file path of `key`; *dirlen is the length of its directory part. */
static int
key_path(struct fstore *fs, const char *key, struct buf *path, size_t *dirlen)
{
	const char *p = key, *slash;
	int rc;

	buf_reset(path);
	buf_puts(path, fs->root);
	for (;;) {
		buf_putc(path, '/');
		slash = strchr(p, '/');
		if (slash == NULL)
			break;
		if ((rc = enc_component(path, p, (size_t)(slash - p), 1)) != 0)
			return err_set(rc, "key '%s': a path component is too long "
			    "for a file:// store", key);
		p = slash + 1;
	}
	*dirlen = path->len - 1;
	if ((rc = enc_component(path, p, strlen(p), 0)) != 0)
		return err_set(rc, "key '%s': a path component is too long for a "
		    "file:// store", key);
	return 0;
}

static int
sys_err(int e, const char *what, const char *path)
{
	return err_set(-e, "%s '%s': %s", what, path, strerror(e));
}

/* mkdir -p of path[0, len). */
static int
make_dirs(size_t rootlen, struct buf *path, size_t len)
{
	char save = path->data[len];
	int rc = 0;

	path->data[len] = '\0';
	if (mkdir(path->data, 0755) == 0 || errno == EEXIST)
		goto out;
	if (errno != ENOENT) {
		rc = sys_err(errno, "cannot create directory", path->data);
		goto out;
	}
	char *slash = strrchr(path->data, '/');

	if (slash == NULL || (size_t)(slash - path->data) < rootlen) {
		rc = sys_err(ENOENT, "cannot create directory", path->data);
		goto out;
	}
	path->data[len] = save;
	if ((rc = make_dirs(rootlen, path, (size_t)(slash - path->data))) != 0)
		return rc;
	path->data[len] = '\0';
	if (mkdir(path->data, 0755) != 0 && errno != EEXIST)
		rc = sys_err(errno, "cannot create directory", path->data);
out:
	path->data[len] = save;
	return rc;
}

static int
fsync_dir(struct fstore *fs, const char *path, size_t len)
{
	char *d;
	int fd, rc = 0;

	if (fs->no_fsync)
		return 0;
	d = xstrndup(path, len);
	if ((fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) != 0)
		rc = sys_err(errno, "cannot sync directory", d);
	if (fd >= 0)
		close(fd);
	free(d);
	return rc;
}

/* Write the bytes to a new temporary file beside the key; its path in tmp. */
static int
write_temp(struct fstore *fs, struct buf *path, size_t dirlen,
    const void *data, size_t len, struct buf *tmp)
{
	const char *p = data;
	int fd = -1, rc, tries = 0;
	ssize_t w;

again:
	buf_reset(tmp);
	buf_append(tmp, path->data, dirlen);
	buf_printf(tmp, "/.tmp.%08x%08x", arc4random(), arc4random());
	if ((fd = open(tmp->data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		if (errno == ENOENT && tries++ < 100) {
			/* the directory is missing, or a delete pruned it */
			if ((rc = make_dirs(strlen(fs->root), path, dirlen)) != 0)
				return rc;
			goto again;
		}
		return sys_err(errno, "cannot create", tmp->data);
	}
	for (size_t off = 0; off < len; off += (size_t)w) {
		if ((w = write(fd, p + off, len - off)) < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			rc = sys_err(errno, "cannot write", tmp->data);
			goto fail;
		}
	}
	if (!fs->no_fsync && fsync(fd) != 0) {
		rc = sys_err(errno, "cannot sync", tmp->data);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = sys_err(errno, "cannot close", tmp->data);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp->data);
	return rc;
}

static int
file_put_common(struct objstore *os, const char *key, const void *data,
    size_t len, int exclusive)
{
	struct fstore *fs = (struct fstore *)os;
	struct buf path, tmp;
	size_t dirlen;
	int rc;

	buf_init(&path, 0);
	buf_init(&tmp, 0);
	if ((rc = key_path(fs, key, &path, &dirlen)) != 0)
		goto out;
	if ((rc = write_temp(fs, &path, dirlen, data, len, &tmp)) != 0)
		goto out;
	if (exclusive) {
		if (link(tmp.data, path.data) != 0) {
			rc = errno == EEXIST ? -EEXIST :
			    sys_err(errno, "cannot link", path.data);
			if (rc == -EEXIST)
				err_set(rc, "'%s' exists", key);
		}
		unlink(tmp.data);
	} else if (rename(tmp.data, path.data) != 0) {
		rc = sys_err(errno, "cannot rename to", path.data);
		unlink(tmp.data);
	}
	if (rc == 0)
		rc = fsync_dir(fs, path.data, dirlen);
out:
	buf_release(&path);
	buf_release(&tmp);
	return rc;
}

static int
file_put(struct objstore *os, const char *key, const void *data, size_t len)
{
	return file_put_common(os, key, data, len, 0);
}

static int
file_put_if_absent(struct objstore *os, const char *key, const void *data,
    size_t len)
{
	return file_put_common(os, key, data, len, 1);
}

static int
open_key(struct fstore *fs, const char *key, struct buf *path, struct stat *st)
{
	size_t dirlen;
	int fd, rc;

	if ((rc = key_path(fs, key, path, &dirlen)) != 0)
		return rc;
	if ((fd = open(path->data, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return err_set(-ENOENT, "'%s' not found", key);
		return sys_err(errno, "cannot open", path->data);
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return err_set(-ENOENT, "'%s' not found", key);
	}
	return fd;
}

static int
file_get(struct objstore *os, const char *key, uint64_t off, uint64_t len,
    struct buf *out)
{
	struct fstore *fs = (struct fstore *)os;
	struct buf path;
	struct stat st;
	uint64_t size, want;
	ssize_t r;
	int fd, rc = 0;

	buf_init(&path, 0);
	if ((fd = open_key(fs, key, &path, &st)) < 0) {
		rc = fd;
		goto out;
	}
	size = (uint64_t)st.st_size;
	if (off >= size)
		goto out;
	want = len == OBJSTORE_TO_END || len > size - off ? size - off : len;
	if (want > SIZE_MAX || (rc = buf_reserve(out, (size_t)want)) != 0) {
		rc = err_set(-EFBIG, "'%s': %llu bytes do not fit the buffer", key,
		    (unsigned long long)want);
		goto out;
	}
	while (want > 0) {
		r = pread(fd, out->data + out->len, (size_t)want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = sys_err(errno, "cannot read", path.data);
			goto out;
		}
		if (r == 0)
			break;		/* shrank under us: cannot, objects are immutable */
		out->len += (size_t)r;
		off += (uint64_t)r;
		want -= (uint64_t)r;
	}
	out->data[out->len] = '\0';
out:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	return rc;
}

static int
file_head(struct objstore *os, const char *key, struct objstore_meta *m)
{
	struct fstore *fs = (struct fstore *)os;
	struct buf path;
	struct stat st;
	int fd;

	buf_init(&path, 0);
	fd = open_key(fs, key, &path, &st);
	buf_release(&path);
	if (fd < 0)
		return fd;
	close(fd);
	m->size = (uint64_t)st.st_size;
	m->mtime = st.st_mtim.tv_sec;
	snprintf(m->etag, sizeof(m->etag), "%llx-%llx-%lx",
	    (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
	    (long)st.st_mtim.tv_nsec);
	return 0;
}

/* Remove now-empty directories from path[0, len) up to the root. */
static void
prune_dirs(struct fstore *fs, char *path, size_t len)
{
	size_t rootlen = strlen(fs->root);
	char *slash;

	path[len] = '\0';
	while (strlen(path) > rootlen) {
		if (rmdir(path) != 0)
			return;
		if ((slash = strrchr(path, '/')) == NULL)
			return;
		*slash = '\0';
	}
}

static int
file_delete(struct objstore *os, const char *key)
{
	struct fstore *fs = (struct fstore *)os;
	struct buf path;
	size_t dirlen;
	int rc;

	buf_init(&path, 0);
	if ((rc = key_path(fs, key, &path, &dirlen)) != 0)
		goto out;
	if (unlink(path.data) != 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = sys_err(errno, "cannot delete", path.data);
		goto out;
	}
	prune_dirs(fs, path.data, dirlen);
out:
	buf_release(&path);
	return rc;
}

static int
file_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = file_delete(os, keys[i])) != 0)
			return rc;
	return 0;
}

/* ---- listing ---- */

struct dent {
	char	*key;		/* decoded, '/'-terminated for a directory */
	char	*name;		/* on disk */
	int	 is_dir;
};

static int
dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->key, ((const struct dent *)b)->key);
}

struct walk {
	const char	*prefix;
	const char	*after;		/* NULL or exclusive lower bound */
	size_t		 want;		/* entries to collect */
	struct objstore_list *out;
};

static int
starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Can a subtree whose keys all start with `k` hold a wanted key? */
static int
subtree_wanted(const struct walk *w, const char *k)
{
	if (!starts_with(k, w->prefix) && !starts_with(w->prefix, k))
		return 0;
	if (w->after != NULL && strcmp(k, w->after) <= 0 && !starts_with(w->after, k))
		return 0;
	return 1;
}

static int
walk_dir(struct walk *w, struct buf *dirpath, const char *keyprefix)
{
	struct dent *v = NULL;
	size_t n = 0, cap = 0, mark;
	struct buf name;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0, kind;

	if ((d = opendir(dirpath->data)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* pruned by a concurrent delete */
		return sys_err(errno, "cannot list", dirpath->data);
	}
	buf_init(&name, 0);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* ".", "..", temporaries */
		if ((kind = dec_component(de->d_name, &name)) < 0)
			continue;	/* not ours */
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		v[n].key = xasprintf("%s%s%s", keyprefix, buf_str(&name),
		    kind ? "/" : "");
		v[n].name = xstrdup(de->d_name);
		v[n].is_dir = kind;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), dent_cmp);
	for (size_t i = 0; i < n && w->out->n < w->want; i++) {
		mark = dirpath->len;
		buf_putc(dirpath, '/');
		buf_puts(dirpath, v[i].name);
		if (v[i].is_dir) {
			if (subtree_wanted(w, v[i].key))
				rc = walk_dir(w, dirpath, v[i].key);
		} else if (starts_with(v[i].key, w->prefix) &&
		    (w->after == NULL || strcmp(v[i].key, w->after) > 0) &&
		    stat(dirpath->data, &st) == 0) {
			objstore_list_add(w->out, v[i].key, strlen(v[i].key),
			    (uint64_t)st.st_size, st.st_mtim.tv_sec);
		}
		dirpath->len = mark;
		dirpath->data[mark] = '\0';
		if (rc != 0)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].name);
	}
	free(v);
	buf_release(&name);
	return rc;
}

static int
file_list(struct objstore *os, const char *prefix, const char *after,
    size_t max, struct objstore_list *out)
{
	struct fstore *fs = (struct fstore *)os;
	struct walk w = { prefix, after, (max ? max : LIST_PAGE) + 1, out };
	struct buf dir;
	int rc;

	buf_init(&dir, 0);
	buf_puts(&dir, fs->root);
	rc = walk_dir(&w, &dir, "");
	buf_release(&dir);
	if (rc != 0)
		return rc;
	if (out->n == w.want) {
		/* one more than asked: there is a next page */
		free(out->entries[--out->n].key);
		out->next = xstrdup(out->entries[out->n - 1].key);
	}
	return 0;
}

static void
file_close(struct objstore *os)
{
	struct fstore *fs = (struct fstore *)os;

	free(fs->root);
	free(os->uri);
	free(fs);
}

static const struct objstore_ops file_ops = {
	"file", file_get, file_put, file_put_if_absent, file_head, file_list,
	file_delete, file_delete_batch, file_close
};

int
objstore_file_open(const char *path, const struct objstore_opts *o,
    struct objstore **out)
{
	struct fstore *fs;
	struct buf p;
	char *real;
	size_t n;
	int rc;

	buf_init(&p, 0);
	buf_puts(&p, path);
	while (p.len > 1 && p.data[p.len - 1] == '/')
		p.data[--p.len] = '\0';
	n = p.len;
	if ((rc = make_dirs(0, &p, n)) != 0) {
		buf_release(&p);
		return rc;
	}
	if ((real = realpath(p.data, NULL)) == NULL) {
		rc = sys_err(errno, "cannot open store directory", p.data);
		buf_release(&p);
		return rc;
	}
	buf_release(&p);
	if (access(real, R_OK | W_OK | X_OK) != 0) {
		rc = sys_err(errno, "cannot use store directory", real);
		free(real);
		return rc;
	}
	fs = xcalloc(1, sizeof(*fs));
	fs->os.ops = &file_ops;
	fs->root = real;
	fs->no_fsync = o->no_fsync;
	*out = &fs->os;
	return 0;
}
