/*
 * fs_series.c - /series: the metric series of src/model/series.h as
 * files. A directory a metric name, a file a series in it, named by its
 * label set's file-name form (labels.h), and the write-only special file
 * series/.import, which takes the Prometheus text format. shale-mount(1),
 * SERIES, says what a user sees; the series model decides everything
 * about a series, this file only translates.
 *
 *	series/				FS_INO_SERIES_ROOT
 *	series/.import			FS_INO_IMPORT
 *	series/<metric>/		FS_INO_METRIC | n (the table below)
 *	series/<metric>/{a="b"}		FS_INO_SERIES | id
 *
 * Metric directories. Every valid metric name is a directory, empty until
 * the metric has a series, so that a series is made by appending to its
 * path without a mkdir first; a listing shows the metrics with series.
 * A metric name has no id in the store, so the mount numbers the names it
 * is asked about in a table (metrics[], morder[]), kept for the mount's
 * life so that a number always means one name; at most FS_METRICS_MAX.
 *
 * Series files. A read is series_read() (a seek at any offset), stat(2)
 * is series_getattr(); both use direct I/O, never the page cache, as the
 * text view of a sample is made when read. A write takes lines, "VALUE"
 * or "SECONDS VALUE" (series_parse_line()), one sample each; a trailing
 * partial line waits in the handle (held) for the next write or the
 * close, as a stream's writer does. The complete lines of one write are
 * one appender commit: a bad line refuses the whole write, and refused
 * samples (out of order, another value at a time held) make it EINVAL.
 * close(2) and fsync(2) wait until the handle's last batch is stored.
 * Names, sizes and times change only through series: the notifier hears
 * of them by series_on_change() (fs_notify.c).
 *
 * Imports. A handle of series/.import gathers what is written to it
 * (held, at most FS_IMPORT_MAX); each write checks the complete lines so
 * far (expfmt_parse(), no callback) and refuses itself if they do not
 * parse; the close imports the whole text (series_import()) and its
 * result is what series/.import reads (last_import). The kernel sends a
 * FLUSH at every close(2) of a descriptor, not only the last, so each
 * imports what was written since the one before.
 *
 * Threading: called from the FUSE threads; a handle is used by one
 * request at a time. mlock guards the metric table, ilock the last
 * import's result (fs_int.h); struct series is thread-safe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_int.h"
#include "model/expfmt.h"
#include "model/labels.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define FS_METRICS_MAX		(1u << 20)	/* metric names numbered */
#define FS_SERIES_HOLD_MAX	4096		/* a partial sample line */
#define FS_IMPORT_MAX		((size_t)64 << 20)	/* an import's text */
#define FS_IMPORT_WHOLE_MAX	((size_t)4 << 20)	/* see import_check */
#define FS_SYNC_SLICE_MS	100		/* see wait_stored */
#define FS_NAME_MAX		255		/* what the kernel lets a name be */

static const char import_name[] = ".import";

/*
 * err_set(rc, "<what>: <the detail so far>"): the detail is copied
 * first, as err_set() writes over it.
 */
static int
err_prefix(int rc, const char *what)
{
	char detail[512];

	snprintf(detail, sizeof(detail), "%s", err_message(rc));
	return err_set(rc, "%s: %s", what, detail);
}

/* ---- the metric table ---- */

static int
name_cmp(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/*
 * The number of metric `name` (a valid metric name), given one if it has
 * none yet: 0, or -ENOSPC past FS_METRICS_MAX.
 */
static int
metric_number(struct fs *fs, const char *name, size_t len, uint64_t *n)
{
	size_t lo = 0, hi, i;
	int c;

	pthread_mutex_lock(&fs->mlock);
	hi = fs->nmetrics;
	while (lo < hi) {
		i = lo + (hi - lo) / 2;
		c = name_cmp(fs->metrics[fs->morder[i]], name, len);
		if (c == 0) {
			*n = (uint64_t)fs->morder[i] + 1;
			pthread_mutex_unlock(&fs->mlock);
			return 0;
		}
		if (c < 0)
			lo = i + 1;
		else
			hi = i;
	}
	if (fs->nmetrics >= FS_METRICS_MAX) {
		pthread_mutex_unlock(&fs->mlock);
		return err_set(-ENOSPC, "the mount has named %u metrics, its most",
		    FS_METRICS_MAX);
	}
	fs->metrics = xgrow(fs->metrics, &fs->mcap, fs->nmetrics + 1,
	    sizeof(*fs->metrics));
	fs->morder = xgrow(fs->morder, &fs->ocap, fs->nmetrics + 1,
	    sizeof(*fs->morder));
	fs->metrics[fs->nmetrics] = xstrndup(name, len);
	memmove(&fs->morder[lo + 1], &fs->morder[lo],
	    (fs->nmetrics - lo) * sizeof(*fs->morder));
	fs->morder[lo] = (uint32_t)fs->nmetrics;
	*n = ++fs->nmetrics;
	pthread_mutex_unlock(&fs->mlock);
	return 0;
}

/* The name of metric directory ino into out (LABELS_NAME_MAX + 1): 0 or -ENOENT. */
static int
metric_name(struct fs *fs, fuse_ino_t ino, char *out)
{
	uint64_t n = FS_INO_NUM(ino);
	int rc = -ENOENT;

	if (FS_INO_KIND(ino) != 1 || n == 0)
		return -ENOENT;
	pthread_mutex_lock(&fs->mlock);
	if (n <= fs->nmetrics) {
		snprintf(out, LABELS_NAME_MAX + 1, "%s", fs->metrics[n - 1]);
		rc = 0;
	}
	pthread_mutex_unlock(&fs->mlock);
	return rc;
}

static int
is_metric_dir(fuse_ino_t ino)
{
	return FS_INO_KIND(ino) == 1 && ino != FS_INO_SERIES_ROOT;
}

static int
is_series_file(fuse_ino_t ino)
{
	return FS_INO_KIND(ino) == 2 && ino != FS_INO_IMPORT;
}

/* "metric{a="b"}", for messages, into b (reset first). */
static const char *
series_text(struct fs *fs, uint64_t id, struct buf *b)
{
	struct labels *ls;
	const char *m;

	buf_reset(b);
	if (series_labels(fs->s, id, &ls) != 0) {
		buf_printf(b, "#%" PRIu64, id);
		return buf_str(b);
	}
	m = labels_metric(ls);
	buf_puts(b, m != NULL ? m : "");
	labels_file_name(ls, b);
	labels_free(ls);
	return buf_str(b);
}

/* ---- attributes ---- */

static void
fill_common(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_mtim.tv_sec = fs->started_ns / 1000000000;
	st->st_ctim = st->st_atim = st->st_mtim;
}

int
fs_series_stat(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	char metric[LABELS_NAME_MAX + 1];
	struct series_attr a;
	int rc;

	if (fs->s == NULL)
		return -ENOENT;
	fill_common(fs, ino, st);
	if (ino == FS_INO_SERIES_ROOT || is_metric_dir(ino)) {
		if (ino != FS_INO_SERIES_ROOT &&
		    (rc = metric_name(fs, ino, metric)) != 0)
			return rc;
		st->st_mode = S_IFDIR | (fs->o.read_only ? 0555 : 0755);
		return 0;
	}
	if (ino == FS_INO_IMPORT) {
		/* size 0, as the files of /.shale: its text is made at open */
		st->st_mode = S_IFREG | (fs->o.read_only ? 0444 : 0644);
		return 0;
	}
	if (!is_series_file(ino))
		return -ENOENT;
	if ((rc = series_getattr(fs->s, FS_INO_NUM(ino), &a)) != 0)
		return rc == -ENOENT ? rc : -EIO;
	st->st_mode = S_IFREG | (fs->o.read_only ? 0444 : 0644);
	st->st_size = (off_t)a.size;
	st->st_blocks = (blkcnt_t)((a.size + 511) / 512);
	st->st_mtim.tv_sec = a.mtime_ns / 1000000000;
	st->st_mtim.tv_nsec = a.mtime_ns % 1000000000;
	st->st_ctim = st->st_atim = st->st_mtim;
	return 0;
}

static void
reply_entry(fuse_req_t req, struct fs *fs, fuse_ino_t ino)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	e.attr_timeout = fs->o.attr_timeout;
	e.entry_timeout = fs->o.entry_timeout;
	if ((rc = fs_series_stat(fs, ino, &e.attr)) != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

void
fs_series_setattr(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
    struct stat *attr, int to_set)
{
	struct stat st;
	int rc;

	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);	/* modes and owners are fixed */
		return;
	}
	rc = fs_series_stat(fs, ino, &st);
	/*
	 * A size: samples go only by retention, so only what changes
	 * nothing (the size a series has; 0 for .import, as O_TRUNC and
	 * shells' > ask) is taken
	 */
	if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE)) {
		if (fs->o.read_only)
			rc = -EROFS;
		else if (S_ISDIR(st.st_mode))
			rc = -EISDIR;
		else if (ino == FS_INO_IMPORT ? attr->st_size != 0 :
		    attr->st_size != st.st_size) {
			log_info("refused to truncate a series (samples go only "
			    "by retention)");
			rc = -EPERM;
		}
	}
	/* times: a series' mtime is its last sample; touch(1) succeeds */
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->o.attr_timeout);
}

/* ---- names ---- */

/* The series named `name` in metric directory parent: 0, -ENOENT or -EINVAL. */
static int
parse_series_name(struct fs *fs, fuse_ino_t parent, const char *name,
    struct labels **ls)
{
	char metric[LABELS_NAME_MAX + 1], what[LABELS_NAME_MAX + 320];
	int rc;

	if ((rc = metric_name(fs, parent, metric)) != 0)
		return rc;
	if (strlen(name) > FS_NAME_MAX)
		return -ENAMETOOLONG;
	err_clear();
	if ((rc = labels_parse_file_name(metric, name, strlen(name), 0,
	    ls)) != 0) {
		snprintf(what, sizeof(what), "'%s' in series/%s/ names no "
		    "series", name, metric);
		return err_prefix(-EINVAL, what);
	}
	return 0;
}

void
fs_series_lookup(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
    const char *name)
{
	struct labels *ls;
	uint64_t n, id;
	int rc;

	if (parent == FS_INO_SERIES_ROOT) {
		if (strcmp(name, import_name) == 0) {
			reply_entry(req, fs, FS_INO_IMPORT);
			return;
		}
		err_clear();
		if (labels_check_metric_name(name, strlen(name)) != 0) {
			log_info("series/%s: not a metric name: %s", name,
			    err_detail());
			fuse_reply_err(req, ENOENT);
			return;
		}
		if ((rc = metric_number(fs, name, strlen(name), &n)) != 0) {
			log_warn("series/%s: %s", name, err_message(rc));
			fuse_reply_err(req, -rc);
			return;
		}
		reply_entry(req, fs, FS_INO_METRIC | n);
		return;
	}
	if (!is_metric_dir(parent)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if ((rc = parse_series_name(fs, parent, name, &ls)) != 0) {
		if (rc == -EINVAL)
			log_info("%s", err_detail());
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* no negative entries: a follower's new series must show at once */
	rc = series_find(fs->s, ls, &id);
	labels_free(ls);
	if (rc != 0)
		fuse_reply_err(req, ENOENT);
	else
		reply_entry(req, fs, FS_INO_SERIES | id);
}

void
fs_series_mkdir(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
    const char *name)
{
	uint64_t n;
	int rc;

	if (fs->o.read_only)
		rc = -EROFS;
	else if (parent != FS_INO_SERIES_ROOT)
		rc = -EPERM;
	else {
		err_clear();
		if ((rc = labels_check_metric_name(name, strlen(name))) != 0)
			log_warn("series/%s: not a metric name: %s", name,
			    err_detail());
		else if ((rc = metric_number(fs, name, strlen(name), &n)) != 0)
			log_warn("series/%s: %s", name, err_message(rc));
	}
	/* every metric name is a directory already: nothing to make */
	if (rc != 0)
		fuse_reply_err(req, rc == -ENOSPC || rc == -EROFS ||
		    rc == -EPERM ? -rc : EINVAL);
	else
		reply_entry(req, fs, FS_INO_METRIC | n);
}

/* The series named `name` in parent, made if new: 0 or -errno, said in the log. */
static int
make_series(struct fs *fs, fuse_ino_t parent, const char *name, int excl,
    uint64_t *id)
{
	struct labels *ls;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	if (!is_metric_dir(parent))
		return -EPERM;	/* series/ holds only directories and .import */
	if ((rc = parse_series_name(fs, parent, name, &ls)) != 0) {
		if (rc == -EINVAL)
			log_warn("%s", err_detail());
		return rc;
	}
	err_clear();
	if (series_find(fs->s, ls, id) == 0)
		rc = excl ? -EEXIST : 0;
	else if ((rc = series_get(fs->s, ls, id)) != 0)
		log_warn("cannot make series '%s' of series/%s: %s", name,
		    labels_metric(ls), err_message(rc));
	labels_free(ls);
	return rc;
}

void
fs_series_mknod(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
    const char *name, mode_t mode)
{
	uint64_t id;
	int rc;

	if (!S_ISREG(mode))
		rc = -EPERM;		/* devices, fifos and sockets */
	else
		rc = make_series(fs, parent, name, 1, &id);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, FS_INO_SERIES | id);
}

void
fs_series_create(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
    const char *name, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct fs_handle *h;
	uint64_t id;
	int rc;

	if ((rc = make_series(fs, parent, name, (fi->flags & O_EXCL) != 0,
	    &id)) == 0)
		rc = fs_series_open_handle(fs, FS_INO_SERIES | id, fi, &h);
	if (rc != 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = FS_INO_SERIES | id;
	e.generation = 1;
	e.attr_timeout = fs->o.attr_timeout;
	e.entry_timeout = fs->o.entry_timeout;
	if ((rc = fs_series_stat(fs, e.ino, &e.attr)) != 0) {
		handle_close(fs, h);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_create(req, &e, fi) != 0)
		handle_close(fs, h);
}

/* ---- directories ---- */

struct listing {
	struct fs	*fs;
	struct fs_handle *h;
	struct buf	 name;
};

static int
list_metric(void *arg, const char *name, size_t len)
{
	struct listing *li = arg;
	uint64_t n;
	int rc;

	if ((rc = metric_number(li->fs, name, len, &n)) != 0)
		return rc;
	dir_add(li->h, name, len, FS_INO_METRIC | n, S_IFDIR);
	return 0;
}

static int
list_series(void *arg, uint64_t id, const struct labels *ls)
{
	struct listing *li = arg;
	int rc;

	buf_reset(&li->name);
	if ((rc = labels_file_name(ls, &li->name)) != 0)
		return rc;
	/* a name the kernel would refuse to look up: read it over HTTP */
	if (li->name.len > FS_NAME_MAX) {
		log_debug("series %" PRIu64 " not listed: its file name has "
		    "%zu bytes", id, li->name.len);
		return 0;
	}
	dir_add(li->h, li->name.data, li->name.len, FS_INO_SERIES | id,
	    S_IFREG);
	return 0;
}

int
fs_series_opendir(struct fs *fs, fuse_ino_t ino, struct fs_handle *h)
{
	char metric[LABELS_NAME_MAX + 1];
	struct listing li = { .fs = fs, .h = h };
	int rc;

	if (fs->s == NULL)
		return -ENOENT;
	buf_init(&li.name, 0);
	if (ino == FS_INO_SERIES_ROOT) {
		dir_add(h, ".", 1, ino, S_IFDIR);
		dir_add(h, "..", 2, FS_INO_ROOT, S_IFDIR);
		dir_add(h, import_name, sizeof(import_name) - 1, FS_INO_IMPORT,
		    S_IFREG);
		rc = series_metrics(fs->s, list_metric, &li);
	} else if (is_metric_dir(ino)) {
		if ((rc = metric_name(fs, ino, metric)) == 0) {
			dir_add(h, ".", 1, ino, S_IFDIR);
			dir_add(h, "..", 2, FS_INO_SERIES_ROOT, S_IFDIR);
			rc = series_of_metric(fs->s, metric, list_series, &li);
		}
	} else
		rc = -ENOTDIR;
	buf_release(&li.name);
	return rc;
}

/* ---- open files ---- */

/* series/.import's text: the last import's result. */
static void
render_import(struct fs *fs, struct buf *out)
{
	pthread_mutex_lock(&fs->ilock);
	buf_printf(out, "imports: %" PRIu64 "\n", fs->imports);
	buf_append(out, fs->last_import.data != NULL ? fs->last_import.data :
	    "", fs->last_import.len);
	pthread_mutex_unlock(&fs->ilock);
}

/* Record an import's result for render_import. */
static void
record_import(struct fs *fs, const struct series_import_result *r,
    const char *error)
{
	const struct series_counts *c = &r->counts;

	pthread_mutex_lock(&fs->ilock);
	fs->imports++;
	buf_reset(&fs->last_import);
	buf_printf(&fs->last_import,
	    "time: %" PRId64 "\n"
	    "lines: %" PRIu64 "\n"
	    "samples: %" PRIu64 "\n"
	    "series_created: %" PRIu64 "\n"
	    "duplicates: %" PRIu64 "\n"
	    "out_of_order: %" PRIu64 "\n"
	    "conflicts: %" PRIu64 "\n"
	    "over_limit: %" PRIu64 "\n"
	    "metadata: %" PRIu64 "\n"
	    "error: %s\n",
	    clock_wall_ns() / 1000000000, r->lines, c->samples,
	    c->series_created, c->duplicates, c->out_of_order, c->conflicts,
	    c->over_limit, r->metadata, error != NULL ? error : "none");
	pthread_mutex_unlock(&fs->ilock);
}

int
fs_series_open_handle(struct fs *fs, fuse_ino_t ino,
    struct fuse_file_info *fi, struct fs_handle **out)
{
	int write = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct series_attr a;
	struct fs_handle *h;
	int rc;

	*out = NULL;
	if (fs->s == NULL)
		return -ENOENT;
	if (ino == FS_INO_SERIES_ROOT || is_metric_dir(ino))
		return -EISDIR;
	if (ino != FS_INO_IMPORT && !is_series_file(ino))
		return -ENOENT;
	if ((write || (fi->flags & O_TRUNC)) && fs->o.read_only)
		return -EROFS;
	h = xcalloc(1, sizeof(*h));
	buf_init(&h->text, 0);
	buf_init(&h->held, ino == FS_INO_IMPORT ? FS_IMPORT_MAX : 0);
	if (write) {
		h->wflags = FS_W_WRITE;
		if (fi->flags & O_APPEND)
			h->wflags |= FS_W_APPEND;
		if ((fi->flags & (O_SYNC | O_DSYNC)) || fs->o.sync)
			h->wflags |= FS_W_SYNC;
	}
	if (ino == FS_INO_IMPORT) {
		/* O_TRUNC: nothing to do, each open gathers a text of its own */
		h->kind = H_IMPORT;
		render_import(fs, &h->text);
		goto done;
	}
	h->kind = H_SERIES;
	h->sid = FS_INO_NUM(ino);
	if ((rc = series_getattr(fs->s, h->sid, &a)) != 0) {
		rc = rc == -ENOENT ? rc : -EIO;
		goto fail;
	}
	/* shells' > on a series with samples: they go only by retention */
	if ((fi->flags & O_TRUNC) && a.size != 0) {
		log_info("refused to truncate a series at open (samples go "
		    "only by retention)");
		rc = -EPERM;
		goto fail;
	}
	if (write)
		h->a = series_appender_new(fs->s);
	h->wpos = a.size;
done:
	handle_track(fs, h);
	*out = h;
	return 0;
fail:
	handle_free(h);
	return rc;
}

/* ---- writing samples ---- */

/*
 * Wait until the batch of sequence seq is stored, in slices, so that an
 * interrupted fsync or close (*stop) ends: 0, -EINTR or -EIO. A fenced
 * writer's (-EROFS) is EIO, as for streams: what was not stored is lost.
 */
static int
wait_stored(struct fs *fs, uint64_t seq, const int *stop)
{
	int rc;

	if (seq == 0)
		return 0;
	for (;;) {
		rc = series_sync_seq(fs->s, seq, FS_SYNC_SLICE_MS);
		if (rc != -ETIMEDOUT)
			return rc == 0 ? 0 : -EIO;
		if (stop != NULL && __atomic_load_n(stop, __ATOMIC_SEQ_CST))
			return -EINTR;
	}
}

/*
 * The n bytes at p are lines, each ending in '\n' but maybe the last:
 * append their samples to h's series in one commit. 0, or -EINVAL with
 * err_set() for a bad line (*judged 0: nothing taken) or for refused
 * samples (*judged 1: the others taken); -ENOSPC, -EROFS, -EIO as
 * series_appender_commit().
 */
static int
commit_lines(struct fs *fs, struct fs_handle *h, const char *p, size_t n,
    int *judged)
{
	int64_t now_ms = clock_wall_ns() / 1000000;
	struct series_sample *v;
	const char *e, *end = p + n;
	size_t count = 0, i = 0, len;
	uint64_t seq = 0;
	char what[32];
	int rc;

	*judged = 0;
	for (const char *q = p; q < end; q = e + 1) {
		count++;
		if ((e = memchr(q, '\n', (size_t)(end - q))) == NULL)
			break;
	}
	v = xmalloc(count * sizeof(*v));
	for (const char *q = p; q < end; q = e + 1, i++) {
		if ((e = memchr(q, '\n', (size_t)(end - q))) == NULL)
			e = end;
		len = (size_t)(e - q);
		rc = 0;
		err_clear();
		if (len == 0)
			rc = err_set(-EINVAL, "line %zu: empty", i + 1);
		else if (series_parse_line(q, len, now_ms, &v[i]) != 0) {
			snprintf(what, sizeof(what), "line %zu", i + 1);
			rc = err_prefix(-EINVAL, what);
		}
		if (rc != 0)
			goto out;
	}
	err_clear();
	if ((rc = series_appender_add_id(h->a, h->sid, v, count)) == 0) {
		*judged = 1;
		rc = series_appender_commit(h->a, NULL, &seq);
	}
	if (seq != 0)
		h->last_seq = seq;
	if (rc == 0 && (h->wflags & FS_W_SYNC))
		rc = wait_stored(fs, seq, NULL);
out:
	free(v);
	return rc;
}

/* A refused write or close of series h, said in the log. */
static void
say_refused(struct fs *fs, struct fs_handle *h, const char *what, int rc)
{
	struct buf b;

	buf_init(&b, 0);
	log_warn("series '%s': %s refused: %s", series_text(fs, h->sid, &b),
	    what, err_message(rc));
	buf_release(&b);
}

/* The errors a series write or close returns; others are EIO. */
static int
write_errno(int rc)
{
	switch (rc) {
	case 0: case -EINVAL: case -ENOSPC: case -EROFS: case -EINTR:
		return rc;
	default:
		return -EIO;
	}
}

static ssize_t
write_samples(struct fs *fs, struct fs_handle *h, uint64_t off,
    const char *data, size_t size)
{
	struct series_attr a;
	size_t before = h->held.len, take;
	int rc, judged;

	/*
	 * At the end: O_APPEND, or where this handle's last write ended
	 * (the kernel's file position: a series' text is not the bytes
	 * written), or the series' size, as a stream asks
	 */
	if (!(h->wflags & FS_W_APPEND) && off != h->wpos &&
	    (series_getattr(fs->s, h->sid, &a) != 0 || off != a.size)) {
		log_info("refused a write at offset %" PRIu64 " of series %"
		    PRIu64 " (not its end)", off, h->sid);
		return -EPERM;
	}
	if ((rc = buf_append(&h->held, data, size)) != 0)
		return -EIO;
	/* what goes now: the complete lines, or everything for O_SYNC */
	take = h->held.len;
	if (!(h->wflags & FS_W_SYNC))
		while (take > 0 && h->held.data[take - 1] != '\n')
			take--;
	if (h->held.len - take > FS_SERIES_HOLD_MAX) {
		rc = err_set(-EINVAL, "a line longer than %d bytes",
		    FS_SERIES_HOLD_MAX);
		judged = 0;
	} else if (take > 0)
		rc = commit_lines(fs, h, h->held.data, take, &judged);
	if (rc != 0) {
		say_refused(fs, h, "a write", rc);
		/*
		 * refused samples (-EINVAL after judging): the others were
		 * taken, with the line held; anything else took nothing, and
		 * what earlier writes handed over stays held
		 */
		h->held.len = judged && rc == -EINVAL ? 0 : before;
		h->held.data[h->held.len] = '\0';
		return write_errno(rc);
	}
	memmove(h->held.data, h->held.data + take, h->held.len - take);
	h->held.len -= take;
	h->held.data[h->held.len] = '\0';
	h->wpos = off + size;
	return (ssize_t)size;
}

/* Commit the held partial line as a sample: 0 or -errno, said in the log. */
static int
commit_held(struct fs *fs, struct fs_handle *h)
{
	int rc;

	int judged;

	if (h->held.len == 0)
		return 0;
	rc = commit_lines(fs, h, h->held.data, h->held.len, &judged);
	if (rc != 0)
		say_refused(fs, h, "the partial line at close", rc);
	buf_reset(&h->held);
	return write_errno(rc);
}

/* ---- imports ---- */

/*
 * Whether the first end bytes of h's text (complete lines) parse. Up to
 * FS_IMPORT_WHOLE_MAX the whole prefix is parsed at each write; past it,
 * the lines since the last check alone, then the whole prefix only if
 * they fail, for the exact line number (and the verdict: lines read
 * alone may lack the family they belong to). Linear, for a long text
 * written a pipe's buffer at a time; what is wrong only with what came
 * before (a second TYPE of a family) is then found at the close.
 */
static int
import_check(struct fs_handle *h, size_t end)
{
	int rc;

	err_clear();
	if (end <= FS_IMPORT_WHOLE_MAX || (rc = expfmt_parse(h->held.data +
	    h->checked, end - h->checked, EXPFMT_TEXT_004, NULL, NULL)) != 0)
		rc = expfmt_parse(h->held.data, end, EXPFMT_TEXT_004, NULL,
		    NULL);
	if (rc == 0)
		h->checked = end;
	return rc;
}

static ssize_t
write_import(struct fs *fs, struct fs_handle *h, uint64_t off,
    const char *data, size_t size)
{
	struct series_import_result r;
	size_t before = h->held.len, end;
	int rc;

	if (h->failed)
		return -EINVAL;		/* nothing of this text is imported */
	/* where the last write ended: the text may have gone at a close */
	if (!(h->wflags & FS_W_APPEND) && off != h->wpos) {
		log_info("refused a write at offset %" PRIu64 " of series/"
		    ".import (not its end)", off);
		return -EPERM;
	}
	err_clear();
	if ((rc = buf_append(&h->held, data, size)) != 0) {
		rc = err_set(-EFBIG, "an import of more than %zu bytes",
		    FS_IMPORT_MAX);
		goto refused;
	}
	for (end = h->held.len; end > before && h->held.data[end - 1] != '\n';
	    end--)
		;
	if (end == before) {
		if (h->held.len - h->checked > EXPFMT_LINE_MAX + 1) {
			rc = err_set(-EINVAL, "a line of more than %d bytes",
			    EXPFMT_LINE_MAX);
			goto refused;
		}
		h->wpos = off + size;
		return (ssize_t)size;
	}
	if ((rc = import_check(h, end)) != 0)
		goto refused;
	h->wpos = off + size;
	return (ssize_t)size;
refused:
	h->held.len = before;
	h->failed = 1;
	log_warn("series/.import: a write refused: %s", err_message(rc));
	memset(&r, 0, sizeof(r));
	record_import(fs, &r, err_message(rc));
	return rc == -EFBIG ? -EFBIG : -EINVAL;
}

/* Import what h gathered: 0 or -errno, said in the log and the result. */
static int
import_held(struct fs *fs, struct fs_handle *h)
{
	struct series_import_result r;
	int rc;

	if (h->failed) {
		h->failed = 0;
		h->checked = 0;
		buf_reset(&h->held);
		return -EINVAL;
	}
	if (h->held.len == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	err_clear();
	rc = series_import(fs->s, h->held.data, h->held.len, 0,
	    clock_wall_ns() / 1000000, &r);
	if (r.seq != 0)
		h->last_seq = r.seq;
	if (rc != 0)
		log_warn("series/.import: %s", err_message(rc));
	else
		log_info("series/.import: %" PRIu64 " samples of %" PRIu64
		    " lines", r.counts.samples, r.lines);
	record_import(fs, &r, rc != 0 ? err_message(rc) : NULL);
	buf_reset(&h->held);
	h->checked = 0;
	return write_errno(rc);
}

/* ---- the operations on open files ---- */

ssize_t
fs_series_write(struct fs *fs, struct fs_handle *h, uint64_t off,
    const char *data, size_t size)
{
	if (!(h->wflags & FS_W_WRITE))
		return -EBADF;
	if (size == 0)
		return 0;
	if (h->kind == H_IMPORT)
		return write_import(fs, h, off, data, size);
	return write_samples(fs, h, off, data, size);
}

int
fs_series_flush(struct fs *fs, struct fs_handle *h, const int *stop)
{
	int rc;

	if (!(h->wflags & FS_W_WRITE))
		return 0;
	if (h->kind == H_IMPORT)
		rc = import_held(fs, h);
	else
		rc = commit_held(fs, h);
	if (rc == 0)
		rc = wait_stored(fs, h->last_seq, stop);
	return rc;
}

int
fs_series_fsync(struct fs *fs, struct fs_handle *h, const int *stop)
{
	int rc = 0;

	if (h->kind == H_SERIES)
		rc = commit_held(fs, h);
	if (rc == 0)
		rc = wait_stored(fs, h->last_seq, stop);
	return rc;
}

void
fs_series_handle_close(struct fs *fs, struct fs_handle *h)
{
	if (!(h->wflags & FS_W_WRITE))
		return;
	if (h->kind == H_IMPORT)
		(void)import_held(fs, h);
	else
		(void)commit_held(fs, h);
}

/* ---- set up ---- */

void
fs_series_init(struct fs *fs)
{
	pthread_mutex_init(&fs->mlock, NULL);
	pthread_mutex_init(&fs->ilock, NULL);
	buf_init(&fs->last_import, 0);
}

void
fs_series_release(struct fs *fs)
{
	for (size_t i = 0; i < fs->nmetrics; i++)
		free(fs->metrics[i]);
	free(fs->metrics);
	free(fs->morder);
	buf_release(&fs->last_import);
	pthread_mutex_destroy(&fs->ilock);
	pthread_mutex_destroy(&fs->mlock);
}
