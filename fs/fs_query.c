/*
 * fs_query.c - /query: PromQL over the mount's series, as files. An ad
 * hoc query is a file named by its text, evaluated when opened; a saved
 * view (src/model/views.h) is a directory of files that set its query
 * and read its results. shale-mount(1), QUERY VIEWS, says what a user
 * sees; src/query/promql.h parses and evaluates, this file translates.
 *
 *	query/				FS_INO_QUERY_ROOT
 *	query/.error			the mount's last query error
 *	query/<view>/			QINO(n, QF_DIR): the n-th view name
 *	query/<view>/expr ... live	QINO(n, QF_EXPR ... QF_LIVE)
 *	query/<any other name>		QINO_ADHOC | n: an ad hoc query
 *
 * Names. The kernel looks a name up before mkdir(2) makes it, and a
 * name it finds is EEXIST without our hearing of the mkdir: so a name
 * that may name a view (views_check_name: letters, digits, _ - . :)
 * is only ever a view, ENOENT when there is none, and every other name
 * is a query, its text with "%2F" for '/' and "%25" for '%' (the only
 * escapes). A query that does not parse fails the lookup with EINVAL.
 * Names starting with '.' other than .error are not found.
 *
 * Numbers. A view has no id in the store: view names are numbered as
 * the mount meets them, for the mount's life (views[], like the metric
 * names of fs_series.c), and the files of view n are QINO(n, f). An ad
 * hoc query gets a number at its lookup, held while the kernel holds
 * the inode (the lookups it counts, given back by FORGET) and at most
 * QUERY_ADHOC_MAX at once: past that, the least recently looked up goes
 * (its inode's next open is ESTALE, and the kernel's next lookup of the
 * name, after entry_timeout, gets a new number). Numbers are never
 * reused, so the generation is always 1.
 *
 * Results. result, result.json, result.csv and an ad hoc query are
 * evaluated at open, at the open's time, into the handle (as the files
 * of /.shale: size 0 and direct_io, so a read sees the whole text and
 * nothing is cached past its evaluation). A range view (its range set)
 * is a range query ending at the open. expr, range and step are small
 * stored values with honest sizes; a write(2) that ends in a newline
 * ends the value, which is checked (parsed) and stored at once, so that
 * the write that brings a bad one fails with EINVAL; what is left at the
 * close is stored then.
 *
 * Live. A view's live file is one text shared by its openers: the
 * first open empties it and evaluates the view at once, as an instant
 * query; after that, a stat(2) or read(2) of the file evaluates it
 * again once a step has passed since the last evaluation, appending a
 * line per series (labels, value, time). Its size is that of the text,
 * with no attribute caching, so tail -f (which polls the size on a FUSE
 * mount) sees each evaluation. The text keeps its last
 * QUERY_LIVE_MAX bytes; a read of what went before is EIO.
 *
 * Errors of a query (a parse error, an evaluation's) are said in the
 * log and kept as .error's text; the operation fails with EINVAL for the
 * query's own faults, ETIMEDOUT, EINTR (interrupted) or EIO (the store).
 *
 * Threading: called from the FUSE threads. q->lock guards the tables
 * and the last error; each view's live text has its own lock, held
 * across its evaluations. Lock order: a live lock, then q->lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_int.h"
#include "model/labels.h"
#include "model/views.h"
#include "query/logql.h"
#include "query/promql.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define QUERY_VIEWS_MAX		(1u << 20)	/* view names numbered */
#define QUERY_ADHOC_MAX		1024		/* ad hoc queries held at once */
#define QUERY_LIVE_MAX		((size_t)1 << 20)	/* bytes of a live text */
#define QUERY_TEXT_MAX		((size_t)1 << 30)	/* bytes of a result */
#define QUERY_STEP_MS		15000		/* a step not set: see default_step */
#define QUERY_POINTS		250		/* ... of a range view */
#define QUERY_LOG_MAX		512		/* bytes of a query in the log */
#define QUERY_LOGQL_RANGE_MS	(3600 * 1000)	/* of a log query not given one */
#define QUERY_LOGQL_STEP_MS	1000		/* of a log query's live file */
#define QUERY_LOGQL_LIVE_FIRST	100		/* lines the live file starts with */

/* The files of a view's directory, by their number in its inodes. */
enum { QF_DIR, QF_EXPR, QF_RANGE, QF_STEP, QF_RESULT, QF_JSON, QF_CSV,
	QF_LIVE, QF_N };
static const char *const qf_names[QF_N] = {
	[QF_EXPR] = "expr", [QF_RANGE] = "range", [QF_STEP] = "step",
	[QF_RESULT] = "result", [QF_JSON] = "result.json",
	[QF_CSV] = "result.csv", [QF_LIVE] = "live",
};

#define QINO(n, f)	(FS_INO_QUERY | ((uint64_t)(n) << 4) | (uint64_t)(f))
#define QINO_ADHOC	((uint64_t)1 << 60)
#define QINO_VIEW(ino)	(FS_INO_NUM(ino) >> 4)
#define QINO_FILE(ino)	((int)(FS_INO_NUM(ino) & 15))
#define FS_INO_QERROR	QINO(0, 1)

static const char error_name[] = ".error";

/* A view name the mount has numbered, and its live text. */
struct qview {
	char		*name;
	pthread_mutex_t	 lock;		/* the fields below */
	struct buf	 live;		/* the text from offset base */
	uint64_t	 base;
	int64_t		 last_ms;	/* the last evaluation; 0: none */
	int64_t		 mtime_ns;
	unsigned	 opens;		/* handles of the live file */
	/* a LogQL log query's live file: what it follows, and its text */
	struct logql_expr *tail_expr;
	struct logql_tail *tail;
	char		*tail_text;
};

struct adhoc {
	char		*text;		/* the query, unescaped */
	uint64_t	 n;		/* QINO_ADHOC | n */
	uint64_t	 nlookup;	/* the kernel's count */
	int64_t		 used_ns;	/* the last lookup */
};

struct fs_query {
	pthread_mutex_t	 lock;
	struct qview	**views;	/* lock: views[n - 1] for number n */
	size_t		 nviews, vcap;	/* lock */
	struct adhoc	*adhoc;		/* lock */
	size_t		 nadhoc, acap;	/* lock */
	uint64_t	 next_adhoc;	/* lock */
	uint64_t	 errors;	/* lock: errors so far */
	struct buf	 error;		/* lock: the last one, as .error reads */
};

static int
is_view_ino(fuse_ino_t ino)
{
	return !(FS_INO_NUM(ino) & QINO_ADHOC) && QINO_VIEW(ino) != 0;
}

static int
is_adhoc_ino(fuse_ino_t ino)
{
	return (FS_INO_NUM(ino) & QINO_ADHOC) != 0;
}

/* ---- the tables ---- */

/* The number of view `name`, given one if it has none: 0 or -ENOSPC. */
static int
view_number(struct fs *fs, const char *name, size_t len, uint64_t *n)
{
	struct fs_query *q = fs->q;
	struct qview *qv;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->nviews; i++) {
		if (strlen(q->views[i]->name) == len &&
		    memcmp(q->views[i]->name, name, len) == 0) {
			*n = i + 1;
			pthread_mutex_unlock(&q->lock);
			return 0;
		}
	}
	if (q->nviews >= QUERY_VIEWS_MAX) {
		pthread_mutex_unlock(&q->lock);
		return err_set(-ENOSPC, "the mount has named %u views, its most",
		    QUERY_VIEWS_MAX);
	}
	qv = xcalloc(1, sizeof(*qv));
	qv->name = xstrndup(name, len);
	pthread_mutex_init(&qv->lock, NULL);
	buf_init(&qv->live, 0);
	q->views = xgrow(q->views, &q->vcap, q->nviews + 1, sizeof(*q->views));
	q->views[q->nviews++] = qv;
	*n = q->nviews;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* View number n's entry (never freed before the mount), or NULL. */
static struct qview *
view_of(struct fs *fs, uint64_t n)
{
	struct qview *qv = NULL;

	pthread_mutex_lock(&fs->q->lock);
	if (n >= 1 && n <= fs->q->nviews)
		qv = fs->q->views[n - 1];
	pthread_mutex_unlock(&fs->q->lock);
	return qv;
}

/* The view of inode ino as stored, into vw: 0 or -ENOENT. */
static int
view_get(struct fs *fs, fuse_ino_t ino, struct qview **qvp, struct view *vw)
{
	struct qview *qv = view_of(fs, QINO_VIEW(ino));
	int rc;

	memset(vw, 0, sizeof(*vw));
	if (qv == NULL)
		return -ENOENT;
	if ((rc = views_get(fs->v, qv->name, vw)) != 0) {
		if (rc != -ENOENT)
			log_warn("cannot read view '%s': %s", qv->name,
			    err_message(rc));
		return rc == -ENOENT ? rc : -EIO;
	}
	if (qvp != NULL)
		*qvp = qv;
	return 0;
}

/*
 * The number of ad hoc query text (taken), counted as one lookup. Past
 * QUERY_ADHOC_MAX the least recently looked up goes.
 */
static void
adhoc_number(struct fs *fs, char *text, uint64_t *n)
{
	struct fs_query *q = fs->q;
	size_t i, old = 0;

	pthread_mutex_lock(&q->lock);
	for (i = 0; i < q->nadhoc; i++)
		if (strcmp(q->adhoc[i].text, text) == 0)
			break;
	if (i == q->nadhoc) {
		if (q->nadhoc >= QUERY_ADHOC_MAX) {
			for (i = 1; i < q->nadhoc; i++)
				if (q->adhoc[i].used_ns < q->adhoc[old].used_ns)
					old = i;
			free(q->adhoc[old].text);
			q->adhoc[old] = q->adhoc[--q->nadhoc];
		}
		q->adhoc = xgrow(q->adhoc, &q->acap, q->nadhoc + 1,
		    sizeof(*q->adhoc));
		i = q->nadhoc++;
		q->adhoc[i].text = text;
		q->adhoc[i].n = ++q->next_adhoc;
		q->adhoc[i].nlookup = 0;
	} else
		free(text);
	q->adhoc[i].nlookup++;
	q->adhoc[i].used_ns = clock_mono_ns();
	*n = q->adhoc[i].n;
	pthread_mutex_unlock(&q->lock);
}

/* The text of ad hoc query n (a copy), or NULL if it went. */
static char *
adhoc_text(struct fs *fs, uint64_t n)
{
	char *text = NULL;

	pthread_mutex_lock(&fs->q->lock);
	for (size_t i = 0; i < fs->q->nadhoc; i++)
		if (fs->q->adhoc[i].n == n)
			text = xstrdup(fs->q->adhoc[i].text);
	pthread_mutex_unlock(&fs->q->lock);
	return text;
}

void
fs_query_forget(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_query *q = fs->q;
	uint64_t n = FS_INO_NUM(ino) & (QINO_ADHOC - 1);

	if (q == NULL || !is_adhoc_ino(ino))
		return;
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->nadhoc; i++) {
		if (q->adhoc[i].n != n)
			continue;
		if (q->adhoc[i].nlookup > nlookup) {
			q->adhoc[i].nlookup -= nlookup;
		} else {
			free(q->adhoc[i].text);
			q->adhoc[i] = q->adhoc[--q->nadhoc];
		}
		break;
	}
	pthread_mutex_unlock(&q->lock);
}

/* ---- errors ---- */

/*
 * A query's error rc (err_set() detail standing), kept as .error's text
 * and said in the log: the errno the operation fails with.
 */
static int
query_failed(struct fs *fs, const char *what, const char *text, int rc)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", err_message(rc));
	/* the whole text is in .error; the log's line stays a line */
	log_warn("%s '%.*s%s': %s", what, QUERY_LOG_MAX, text,
	    strlen(text) > QUERY_LOG_MAX ? "..." : "", msg);
	pthread_mutex_lock(&fs->q->lock);
	fs->q->errors++;
	buf_reset(&fs->q->error);
	buf_printf(&fs->q->error, "errors: %" PRIu64 "\n"
	    "time: %" PRId64 "\n"
	    "query: %s\n"
	    "type: %s\n"
	    "error: %s\n",
	    fs->q->errors, clock_wall_ns() / 1000000000, text,
	    promql_error_type(rc), msg);
	pthread_mutex_unlock(&fs->q->lock);
	switch (rc) {
	case -EINVAL: case -EDOM: case -ERANGE:
		return -EINVAL;
	case -ETIMEDOUT: case -ENOMEM: case -ENOENT: case -EFBIG:
		return rc;
	case -ECANCELED: case -EINTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

static void
render_error(struct fs *fs, struct buf *out)
{
	pthread_mutex_lock(&fs->q->lock);
	if (fs->q->errors == 0)
		buf_puts(out, "errors: 0\n");
	else
		buf_append(out, fs->q->error.data, fs->q->error.len);
	pthread_mutex_unlock(&fs->q->lock);
}

/* ---- evaluating ---- */

/* The step of a view whose step is not set. */
static int64_t
default_step(int64_t range_ms)
{
	int64_t s = range_ms / QUERY_POINTS;

	return s > QUERY_STEP_MS ? s : QUERY_STEP_MS;
}

static int
is_stopped(void *arg)
{
	return __atomic_load_n((const int *)arg, __ATOMIC_RELAXED);
}

/* A result of either language. */
struct qres {
	struct promql_result *p;
	struct logql_result *g;
};

static void
qres_free(struct qres *r)
{
	if (r->p != NULL)
		promql_result_free(r->p);
	logql_result_free(r->g);
	memset(r, 0, sizeof(*r));
}

/* Check that text parses, in the language it is in (logql_detect). */
static int
query_check(const char *text, size_t len)
{
	struct promql_node *e;
	struct logql_expr *le;
	int rc;

	if (logql_detect(text, len)) {
		if ((rc = logql_parse(text, len, &le)) == 0)
			logql_free(le);
		return rc;
	}
	if ((rc = promql_parse(text, len, &e)) == 0)
		promql_free(e);
	return rc;
}

/*
 * A LogQL query: a log query gives every line of [now - range, now]
 * (an hour when no range is set) oldest first, or with limit the newest
 * limit of them; a metric query is evaluated as PromQL's are.
 */
static int
evaluate_logql(struct fs *fs, const char *text, size_t len, int64_t range_ms,
    int64_t step_ms, int64_t now_ms, size_t limit, int *stop,
    struct logql_result **out)
{
	struct logql_opts o;
	struct logql_expr *e;
	int rc;

	if ((rc = logql_parse(text, len, &e)) != 0)
		return rc;
	memset(&o, 0, sizeof(o));
	if (stop != NULL) {
		o.cancelled = is_stopped;
		o.cancel_arg = stop;
	}
	o.end_ns = now_ms * 1000000 + 1000000;	/* now_ms itself too */
	if (logql_is_log(e)) {
		o.start_ns = now_ms * 1000000 - (range_ms > 0 ? range_ms :
		    QUERY_LOGQL_RANGE_MS) * 1000000;
		o.limit = limit;
		o.dir = limit == SIZE_MAX ? LOGQL_FORWARD : LOGQL_BACKWARD;
	} else if (range_ms > 0) {
		o.end_ns = now_ms * 1000000;
		o.start_ns = (now_ms - range_ms) * 1000000;
		o.step_ns = (step_ms > 0 ? step_ms : default_step(range_ms)) *
		    1000000;
	} else
		o.end_ns = now_ms * 1000000;
	rc = logql_eval(fs->l, e, &o, out);
	logql_free(e);
	return rc;
}

/*
 * Evaluate query text at now_ms (an instant query), or over range_ms up
 * to it: 0 with *out the caller's, or the evaluation's error with
 * err_set(). stop (may be NULL) cancels it.
 */
static int
evaluate(struct fs *fs, const char *text, size_t len, int64_t range_ms,
    int64_t step_ms, int64_t now_ms, int *stop, struct qres *res)
{
	struct promql_result **out = &res->p;
	struct promql_opts o;
	struct promql_node *e;
	int rc;

	memset(res, 0, sizeof(*res));
	err_clear();
	if (len == 0)
		return err_set(-EINVAL, "no expression");
	if (logql_detect(text, len))
		return evaluate_logql(fs, text, len, range_ms, step_ms, now_ms,
		    SIZE_MAX, stop, &res->g);
	if ((rc = promql_parse(text, len, &e)) != 0)
		return rc;
	memset(&o, 0, sizeof(o));
	if (stop != NULL) {
		o.cancelled = is_stopped;
		o.cancel_arg = stop;
	}
	if (range_ms > 0)
		rc = promql_eval_range(fs->s, e, now_ms - range_ms, now_ms,
		    step_ms > 0 ? step_ms : default_step(range_ms), &o, out);
	else
		rc = promql_eval_instant(fs->s, e, now_ms, &o, out);
	promql_free(e);
	return rc;
}

/* s as a JSON string */
static void
json_text(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

static void
json_list(struct buf *b, const char *key, char *const *v, size_t n)
{
	if (n == 0)
		return;
	buf_printf(b, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_text(b, v[i]);
	}
	buf_putc(b, ']');
}

/* r written as file f reads it, into out. */
static int
render(const struct qres *res, int f, struct buf *out)
{
	const struct promql_result *r = res->p;
	int rc;

	if (res->g != NULL) {
		switch (f) {
		case QF_JSON:
			/* as the HTTP API answers /loki/api/v1/query_range */
			buf_puts(out, "{\"status\":\"success\",\"data\":");
			if ((rc = logql_result_json(res->g, out)) != 0)
				return rc;
			return buf_putc(out, '}');
		case QF_CSV:
			return logql_result_csv(res->g, out);
		default:
			return logql_result_text(res->g, out);
		}
	}
	switch (f) {
	case QF_JSON:
		/* as the HTTP API answers /api/v1/query */
		buf_puts(out, "{\"status\":\"success\",\"data\":");
		if ((rc = promql_result_json(r, out)) != 0)
			return rc;
		json_list(out, "warnings", r->warnings, r->nwarnings);
		json_list(out, "infos", r->infos, r->ninfos);
		return buf_putc(out, '}');
	case QF_CSV:
		return promql_result_csv(r, out);
	default:
		return promql_result_text(r, out);
	}
}

/*
 * An evaluation of a live file, appended to out: a vector as one line a
 * series, labels, value, then the time (the text of a matrix of one
 * point); a scalar or a string its value and the time.
 */
static int
render_live(struct promql_result *r, struct buf *out)
{
	enum promql_type t = r->type;
	int rc;

	switch (t) {
	case PROMQL_TYPE_VECTOR:
		r->type = PROMQL_TYPE_MATRIX;
		rc = promql_result_text(r, out);
		r->type = t;
		return rc;
	case PROMQL_TYPE_SCALAR:
		promql_number_format(r->scalar, out);
		break;
	case PROMQL_TYPE_STRING:
		buf_puts(out, r->str != NULL ? r->str : "");
		break;
	default:
		return promql_result_text(r, out);
	}
	return buf_printf(out, " %" PRId64 ".%03d\n", r->t / 1000,
	    (int)(r->t % 1000 + (r->t % 1000 < 0 ? 1000 : 0)));
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

/* The text of a stored field of vw (expr, range, step), into out. */
static void
field_text(const struct view *vw, int f, struct buf *out)
{
	int64_t ms = f == QF_RANGE ? vw->range_ms : vw->step_ms;

	if (f == QF_EXPR) {
		if (vw->expr_len > 0) {
			buf_append(out, vw->expr, vw->expr_len);
			buf_putc(out, '\n');
		}
	} else if (ms > 0) {
		promql_duration_format(ms, out);
		buf_putc(out, '\n');
	}
}

static void live_poll(struct fs *fs, struct qview *qv, int force);

int
fs_query_stat(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct qview *qv;
	struct view vw;
	struct buf b;
	int rc, f;

	if (fs->q == NULL)
		return -ENOENT;
	fill_common(fs, ino, st);
	if (ino == FS_INO_QUERY_ROOT) {
		st->st_mode = S_IFDIR | (fs->o.read_only ? 0555 : 0755);
		return 0;
	}
	/* made at open: size 0, as /proc's files, and the time of now */
	st->st_mode = S_IFREG | 0444;
	st->st_mtim.tv_sec = clock_wall_ns() / 1000000000;
	st->st_ctim = st->st_atim = st->st_mtim;
	if (ino == FS_INO_QERROR || is_adhoc_ino(ino))
		return 0;
	if (!is_view_ino(ino) || (f = QINO_FILE(ino)) >= QF_N)
		return -ENOENT;
	if ((rc = view_get(fs, ino, &qv, &vw)) != 0)
		return rc;
	switch (f) {
	case QF_DIR:
		st->st_mode = S_IFDIR | (fs->o.read_only ? 0555 : 0755);
		break;
	case QF_EXPR: case QF_RANGE: case QF_STEP:
		st->st_mode = S_IFREG | (fs->o.read_only ? 0444 : 0644);
		buf_init(&b, 0);
		field_text(&vw, f, &b);
		st->st_size = (off_t)b.len;
		buf_release(&b);
		break;
	case QF_LIVE:
		pthread_mutex_lock(&qv->lock);
		live_poll(fs, qv, 0);
		st->st_size = (off_t)(qv->base + qv->live.len);
		if (qv->mtime_ns != 0) {
			st->st_mtim.tv_sec = qv->mtime_ns / 1000000000;
			st->st_mtim.tv_nsec = qv->mtime_ns % 1000000000;
			st->st_ctim = st->st_atim = st->st_mtim;
		}
		pthread_mutex_unlock(&qv->lock);
		break;
	}
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	view_release(&vw);
	return 0;
}

/* Seconds the kernel may keep ino's attributes: none for a live file. */
static double
attr_timeout(struct fs *fs, fuse_ino_t ino)
{
	if (is_view_ino(ino) && QINO_FILE(ino) == QF_LIVE)
		return 0;
	return fs->o.attr_timeout;
}

static void
reply_entry(fuse_req_t req, struct fs *fs, fuse_ino_t ino)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	e.attr_timeout = attr_timeout(fs, ino);
	e.entry_timeout = fs->o.entry_timeout;
	if ((rc = fs_query_stat(fs, ino, &e.attr)) != 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_entry(req, &e) != 0 && is_adhoc_ino(ino))
		fs_query_forget(fs, ino, 1);	/* the kernel did not count it */
}

void
fs_query_getattr(fuse_req_t req, struct fs *fs, fuse_ino_t ino)
{
	struct stat st;
	int rc;

	if ((rc = fs_query_stat(fs, ino, &st)) != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, attr_timeout(fs, ino));
}

/* ---- names ---- */

/* A name's query text: "%2F" is '/', "%25" is '%'; nothing else is an escape. */
static char *
unescape(const char *name)
{
	char *s = xmalloc(strlen(name) + 1), *o = s;

	for (const char *p = name; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == '2' && (p[2] == 'F' || p[2] == 'f')) {
			*o++ = '/';
			p += 2;
		} else if (p[0] == '%' && p[1] == '2' && p[2] == '5') {
			*o++ = '%';
			p += 2;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return s;
}

void
fs_query_lookup(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
    const char *name)
{
	struct view vw;
	uint64_t n;
	char *text;
	int rc;

	if (is_view_ino(parent) && QINO_FILE(parent) == QF_DIR) {
		for (int f = QF_DIR + 1; f < QF_N; f++) {
			if (strcmp(name, qf_names[f]) == 0) {
				reply_entry(req, fs, QINO(QINO_VIEW(parent), f));
				return;
			}
		}
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (parent != FS_INO_QUERY_ROOT) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (strcmp(name, error_name) == 0) {
		reply_entry(req, fs, FS_INO_QERROR);
		return;
	}
	if (name[0] == '.') {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* a view's name is a view or nothing: see the opening comment */
	if (views_check_name(name, strlen(name)) == 0) {
		/* no negative entries: a follower's new views show at once */
		if ((rc = views_get(fs->v, name, &vw)) == 0)
			rc = view_number(fs, name, strlen(name), &n);
		view_release(&vw);
		if (rc != 0)
			fuse_reply_err(req, rc == -ENOENT ? ENOENT : EIO);
		else
			reply_entry(req, fs, QINO(n, QF_DIR));
		return;
	}
	text = unescape(name);
	err_clear();
	if ((rc = query_check(text, strlen(text))) != 0) {
		fuse_reply_err(req, -query_failed(fs, "query", text, rc));
		free(text);
		return;
	}
	adhoc_number(fs, text, &n);
	reply_entry(req, fs, FS_INO_QUERY | QINO_ADHOC | n);
}

void
fs_query_mkdir(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
    const char *name)
{
	uint64_t n;
	int rc;

	if (parent != FS_INO_QUERY_ROOT)
		rc = -EPERM;
	else if (fs->o.read_only)
		rc = -EROFS;
	else {
		err_clear();
		if ((rc = views_make(fs->v, name)) == 0)
			rc = view_number(fs, name, strlen(name), &n);
		if (rc != 0 && rc != -EEXIST)
			log_warn("query/%s: %s", name, err_message(rc));
	}
	if (rc != 0)
		fuse_reply_err(req, rc == -EINVAL || rc == -EEXIST ||
		    rc == -EROFS || rc == -EPERM || rc == -ENOSPC ? -rc : EIO);
	else
		reply_entry(req, fs, QINO(n, QF_DIR));
}

void
fs_query_rmdir(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
    const char *name)
{
	int rc;

	if (parent != FS_INO_QUERY_ROOT)
		rc = -EPERM;
	else if (fs->o.read_only)
		rc = -EROFS;
	else if (views_check_name(name, strlen(name)) != 0)
		rc = name[0] == '.' ? -EPERM : -ENOTDIR;
	else {
		err_clear();
		if ((rc = views_remove(fs->v, name)) != 0 && rc != -ENOENT)
			log_warn("query/%s: %s", name, err_message(rc));
	}
	fuse_reply_err(req, rc == 0 || rc == -ENOENT || rc == -EROFS ||
	    rc == -EPERM || rc == -ENOTDIR ? -rc : EIO);
}

/* ---- directories ---- */

struct listing {
	struct fs	*fs;
	struct fs_handle *h;
};

static int
list_view(void *arg, const char *name, size_t len)
{
	struct listing *li = arg;
	uint64_t n;
	int rc;

	if ((rc = view_number(li->fs, name, len, &n)) != 0)
		return rc;
	dir_add(li->h, name, len, QINO(n, QF_DIR), S_IFDIR);
	return 0;
}

int
fs_query_opendir(struct fs *fs, fuse_ino_t ino, struct fs_handle *h)
{
	struct view vw;
	int rc;

	if (fs->q == NULL)
		return -ENOENT;
	if (ino == FS_INO_QUERY_ROOT) {
		dir_add(h, ".", 1, ino, S_IFDIR);
		dir_add(h, "..", 2, FS_INO_ROOT, S_IFDIR);
		dir_add(h, error_name, sizeof(error_name) - 1, FS_INO_QERROR,
		    S_IFREG);
		rc = views_each(fs->v, list_view, &(struct listing){ fs, h });
		return rc == 0 ? 0 : -EIO;
	}
	if (!is_view_ino(ino) || QINO_FILE(ino) != QF_DIR)
		return -ENOTDIR;
	if ((rc = view_get(fs, ino, NULL, &vw)) != 0)
		return rc;
	view_release(&vw);
	dir_add(h, ".", 1, ino, S_IFDIR);
	dir_add(h, "..", 2, FS_INO_QUERY_ROOT, S_IFDIR);
	for (int f = QF_DIR + 1; f < QF_N; f++)
		dir_add(h, qf_names[f], strlen(qf_names[f]),
		    QINO(QINO_VIEW(ino), f), S_IFREG);
	return 0;
}

/* ---- live files ---- */

static void live_trim(struct qview *qv);

/*
 * The live file of a LogQL view. A log query's starts with the newest
 * QUERY_LOGQL_LIVE_FIRST lines of its range, then each evaluation (a
 * step, a second unless set, after the last) appends the lines appended
 * since to every stream the selector picks (logql_tail: by offset, so
 * that a line pushed late is not missed), so tail -f follows them as
 * they come. A metric query appends its values as a PromQL view's does.
 * (qv->lock)
 */
static void
live_tail_free(struct qview *qv)
{
	logql_tail_free(qv->tail);
	logql_free(qv->tail_expr);
	free(qv->tail_text);
	qv->tail = NULL;
	qv->tail_expr = NULL;
	qv->tail_text = NULL;
}

static void
live_poll_logql(struct fs *fs, struct qview *qv, const struct view *vw,
    int force, int64_t now_ms)
{
	struct logql_result *r = NULL;
	struct logql_expr *e = NULL;
	struct logql_opts o;
	char what[VIEWS_NAME_MAX + 32];
	int64_t step = vw->step_ms > 0 ? vw->step_ms : QUERY_LOGQL_STEP_MS;
	int rc;

	if (!force && now_ms - qv->last_ms < step)
		return;
	qv->last_ms = now_ms;
	err_clear();
	/* a new expression, or a first open: start again */
	if (force || qv->tail_text == NULL ||
	    strlen(qv->tail_text) != vw->expr_len ||
	    memcmp(qv->tail_text, vw->expr, vw->expr_len) != 0) {
		live_tail_free(qv);
		force = 1;
	}
	if (qv->tail != NULL) {
		rc = logql_tail_poll(qv->tail, 0, &r);
	} else if ((rc = logql_parse(vw->expr, vw->expr_len, &e)) == 0) {
		memset(&o, 0, sizeof(o));
		o.end_ns = now_ms * 1000000;
		if (!logql_is_log(e)) {
			rc = logql_eval(fs->l, e, &o, &r);
			logql_free(e);
		} else {
			/* the newest lines of the range, then what comes */
			o.end_ns += 1000000;
			o.start_ns = o.end_ns - (vw->range_ms > 0 ?
			    vw->range_ms : QUERY_LOGQL_RANGE_MS) * 1000000;
			o.limit = QUERY_LOGQL_LIVE_FIRST;
			o.dir = LOGQL_BACKWARD;
			if ((rc = logql_tail_new(fs->l, e, &qv->tail)) == 0)
				rc = logql_eval(fs->l, e, &o, &r);
			qv->tail_expr = e;
			qv->tail_text = xstrndup(vw->expr, vw->expr_len);
		}
	}
	if (rc != 0) {
		snprintf(what, sizeof(what), "view '%s' live", qv->name);
		(void)query_failed(fs, what, vw->expr, rc);
		live_tail_free(qv);
		return;
	}
	if (r->metric != NULL)
		rc = render_live(r->metric, &qv->live);
	else
		rc = logql_result_text(r, &qv->live);
	if (rc != 0)
		log_warn("view '%s': live: %s", qv->name, err_message(rc));
	qv->mtime_ns = clock_wall_ns();
	logql_result_free(r);
	live_trim(qv);
}

/*
 * Evaluate qv's view for its live file if it is open and a step has
 * passed since the last evaluation (or force): under qv->lock.
 */
static void
live_poll(struct fs *fs, struct qview *qv, int force)
{
	struct qres res = { 0 };
	struct promql_result *r;
	int64_t now_ms = clock_wall_ns() / 1000000, step;
	char what[VIEWS_NAME_MAX + 32];
	struct view vw;
	int rc;

	if (qv->opens == 0 && !force)
		return;
	if (views_get(fs->v, qv->name, &vw) != 0)
		return;		/* removed: nothing more to say */
	if (logql_detect(vw.expr, vw.expr_len)) {
		live_poll_logql(fs, qv, &vw, force, now_ms);
		view_release(&vw);
		return;
	}
	step = vw.step_ms > 0 ? vw.step_ms : default_step(vw.range_ms);
	if (!force && now_ms - qv->last_ms < step) {
		view_release(&vw);
		return;
	}
	qv->last_ms = now_ms;
	rc = evaluate(fs, vw.expr, vw.expr_len, 0, 0, now_ms, NULL, &res);
	r = res.p;
	if (rc != 0) {
		snprintf(what, sizeof(what), "view '%s' live", qv->name);
		(void)query_failed(fs, what, vw.expr, rc);
		view_release(&vw);
		return;
	}
	if ((rc = render_live(r, &qv->live)) != 0)
		log_warn("view '%s': live: %s", qv->name, err_message(rc));
	qv->mtime_ns = clock_wall_ns();
	qres_free(&res);
	view_release(&vw);
	live_trim(qv);
}

/* Keep the last half of the most of a live text, from a line's start. */
static void
live_trim(struct qview *qv)
{
	size_t cut;

	/* keep the last half of the most, from a line's start */
	if (qv->live.len > QUERY_LIVE_MAX) {
		cut = qv->live.len - QUERY_LIVE_MAX / 2;
		while (cut < qv->live.len && qv->live.data[cut - 1] != '\n')
			cut++;
		memmove(qv->live.data, qv->live.data + cut, qv->live.len - cut);
		qv->live.len -= cut;
		qv->live.data[qv->live.len] = '\0';
		qv->base += cut;
	}
}

static ssize_t
live_read(struct fs *fs, struct fs_handle *h, uint64_t off, char *out,
    size_t size)
{
	struct qview *qv = view_of(fs, QINO_VIEW(h->qino));
	ssize_t n = 0;

	if (qv == NULL)
		return -ENOENT;
	pthread_mutex_lock(&qv->lock);
	live_poll(fs, qv, 0);
	if (off < qv->base) {
		log_info("view '%s': a read of live at %" PRIu64 ", before the "
		    "%" PRIu64 " bytes it keeps", qv->name, off, qv->base);
		n = -EIO;
	} else if (off - qv->base < qv->live.len) {
		n = (ssize_t)(qv->live.len - (off - qv->base) < size ?
		    qv->live.len - (off - qv->base) : size);
		memcpy(out, qv->live.data + (off - qv->base), (size_t)n);
	}
	pthread_mutex_unlock(&qv->lock);
	return n;
}

/* ---- open files ---- */

struct qwait {
	int		 stop;		/* __atomic */
};

/* libfuse calls this with the request's lock held: quick, no FUSE calls */
static void
on_interrupt(fuse_req_t req, void *arg)
{
	(void)req;
	__atomic_store_n(&((struct qwait *)arg)->stop, 1, __ATOMIC_RELAXED);
}

/*
 * The text of h (made at open): a query's result, a field's value or
 * .error. 0 or -errno.
 */
static int
open_text(fuse_req_t req, struct fs *fs, fuse_ino_t ino, struct fs_handle *h)
{
	struct qres r = { 0 };
	int64_t now_ms = clock_wall_ns() / 1000000;
	struct qwait w = { .stop = 0 };
	char what[VIEWS_NAME_MAX + 32];
	struct qview *qv;
	struct view vw;
	char *text;
	int rc, f;

	if (ino == FS_INO_QERROR) {
		render_error(fs, &h->text);
		return 0;
	}
	if (is_adhoc_ino(ino)) {
		if ((text = adhoc_text(fs, FS_INO_NUM(ino) & (QINO_ADHOC - 1))) ==
		    NULL)
			return -ESTALE;
		fuse_req_interrupt_func(req, on_interrupt, &w);
		rc = evaluate(fs, text, strlen(text), 0, 0, now_ms, &w.stop, &r);
		fuse_req_interrupt_func(req, NULL, NULL);
		if (rc == 0 && (rc = render(&r, QF_RESULT, &h->text)) == -EFBIG)
			err_set(rc, "a result of more than %zu bytes",
			    QUERY_TEXT_MAX);
		if (rc != 0)
			rc = query_failed(fs, "query", text, rc);
		qres_free(&r);
		free(text);
		return rc;
	}
	if ((rc = view_get(fs, ino, &qv, &vw)) != 0)
		return rc;
	f = QINO_FILE(ino);
	if (f == QF_EXPR || f == QF_RANGE || f == QF_STEP) {
		field_text(&vw, f, &h->text);
	} else {
		fuse_req_interrupt_func(req, on_interrupt, &w);
		rc = evaluate(fs, vw.expr, vw.expr_len, vw.range_ms, vw.step_ms,
		    now_ms, &w.stop, &r);
		fuse_req_interrupt_func(req, NULL, NULL);
		if (rc == 0 && (rc = render(&r, f, &h->text)) == -EFBIG)
			err_set(rc, "a result of more than %zu bytes",
			    QUERY_TEXT_MAX);
		if (rc != 0) {
			snprintf(what, sizeof(what), "view '%s' %s", qv->name,
			    qf_names[f]);
			rc = query_failed(fs, what, vw.expr, rc);
		}
		qres_free(&r);
	}
	view_release(&vw);
	return rc;
}

void
fs_query_open(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
    struct fuse_file_info *fi)
{
	int write = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct qview *qv;
	struct view vw;
	struct fs_handle *h;
	int rc = 0, f = is_view_ino(ino) ? QINO_FILE(ino) : -1;

	if (fs->q == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (ino == FS_INO_QUERY_ROOT || f == QF_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (write || (fi->flags & O_TRUNC)) {
		if (f != QF_EXPR && f != QF_RANGE && f != QF_STEP)
			rc = -EACCES;
		else if (fs->o.read_only)
			rc = -EROFS;
		if (rc != 0) {
			fuse_reply_err(req, -rc);
			return;
		}
	}
	h = xcalloc(1, sizeof(*h));
	buf_init(&h->text, QUERY_TEXT_MAX);
	buf_init(&h->held, VIEWS_EXPR_MAX + 1);
	h->kind = f == QF_LIVE ? H_LIVE : H_QUERY;
	h->qino = ino;
	/*
	 * O_TRUNC changes nothing: the kernel sends a FLUSH at each close
	 * of a descriptor, and a shell's > closes one before its write, so
	 * only what is written is a value ("echo > expr" writes an empty one)
	 */
	if (write)
		h->wflags = FS_W_WRITE;
	if (f == QF_LIVE) {
		if ((rc = view_get(fs, ino, &qv, &vw)) == 0 && vw.expr_len == 0) {
			err_set(-EINVAL, "no expression");
			rc = query_failed(fs, "view live", qv->name, -EINVAL);
		}
		view_release(&vw);
		if (rc == 0) {
			/* the first opener starts a text of its own */
			pthread_mutex_lock(&qv->lock);
			if (qv->opens++ == 0) {
				buf_reset(&qv->live);
				qv->base = 0;
				live_poll(fs, qv, 1);
			}
			pthread_mutex_unlock(&qv->lock);
		}
	} else
		rc = open_text(req, fs, ino, h);
	if (rc != 0) {
		handle_free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	handle_track(fs, h);
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) != 0)
		handle_close(fs, h);
}

ssize_t
fs_query_read(struct fs *fs, struct fs_handle *h, uint64_t off, char *out,
    size_t size)
{
	size_t n = 0;

	if (h->kind == H_LIVE)
		return live_read(fs, h, off, out, size);
	if (off < h->text.len) {
		n = h->text.len - off < size ? h->text.len - off : size;
		memcpy(out, h->text.data + off, n);
	}
	return (ssize_t)n;
}

/* ---- writing a view's expr, range and step ---- */

/* Bytes without the white space at both ends. */
static const char *
trim(const char *s, size_t *len)
{
	while (*len > 0 && strchr(" \t\r\n", s[*len - 1]) != NULL)
		(*len)--;
	while (*len > 0 && strchr(" \t\r\n", s[0]) != NULL) {
		s++;
		(*len)--;
	}
	return s;
}

/* A duration as range and step take it: "5m", seconds ("300", "0.5"), "" or 0. */
static int
parse_duration(const char *s, size_t len, int64_t *ms)
{
	char tmp[64], *end;
	double sec;

	*ms = 0;
	if (len == 0)
		return 0;
	if (len < sizeof(tmp)) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		sec = strtod(tmp, &end);
		if (end == tmp + len && isfinite(sec) && sec >= 0 &&
		    sec < 9e15 / 1000) {
			*ms = (int64_t)(sec * 1000 + 0.5);
			return 0;
		}
	}
	err_clear();
	return promql_duration_parse(s, len, ms);
}

/* Store what h holds as its field's value: 0, or -errno said in .error. */
static int
store_field(struct fs *fs, struct fs_handle *h)
{
	struct qview *qv = view_of(fs, QINO_VIEW(h->qino));
	size_t len = h->held.len;
	const char *s = trim(buf_str(&h->held), &len);
	char *value = xstrndup(s, len), what[VIEWS_NAME_MAX + 32];
	int64_t ms;
	int rc = 0, f = QINO_FILE(h->qino);

	buf_reset(&h->held);
	if (qv == NULL) {
		free(value);
		return -ENOENT;
	}
	err_clear();
	if (f == QF_EXPR) {
		/* "" takes the expression away */
		if (len > 0)
			rc = query_check(value, len);
		if (rc == 0)
			rc = views_set_expr(fs->v, qv->name, value, len);
	} else if ((rc = parse_duration(value, len, &ms)) == 0)
		rc = f == QF_RANGE ? views_set_range(fs->v, qv->name, ms) :
		    views_set_step(fs->v, qv->name, ms);
	if (rc != 0 && rc != -ENOENT && rc != -EROFS) {
		snprintf(what, sizeof(what), "view '%s' %s", qv->name,
		    qf_names[f]);
		rc = query_failed(fs, what, value, rc);
	}
	free(value);
	return rc;
}

ssize_t
fs_query_write(struct fs *fs, struct fs_handle *h, const char *data,
    size_t size)
{
	int rc;

	if (h->kind != H_QUERY || !(h->wflags & FS_W_WRITE))
		return -EBADF;
	if (buf_append(&h->held, data, size) != 0) {
		buf_reset(&h->held);
		err_set(-EINVAL, "a value of more than %d bytes", VIEWS_EXPR_MAX);
		return query_failed(fs, "view", "(too long)", -EINVAL);
	}
	/* a write that ends a line ends the value */
	if (size > 0 && data[size - 1] == '\n' &&
	    (rc = store_field(fs, h)) != 0)
		return rc;
	return (ssize_t)size;
}

int
fs_query_flush(struct fs *fs, struct fs_handle *h)
{
	if (h->kind != H_QUERY || !(h->wflags & FS_W_WRITE))
		return 0;
	if (h->held.len > 0)
		return store_field(fs, h);
	return 0;
}

void
fs_query_handle_close(struct fs *fs, struct fs_handle *h)
{
	struct qview *qv;

	if (h->kind == H_QUERY) {
		if (h->held.len > 0)
			(void)fs_query_flush(fs, h);
		return;
	}
	if (h->kind != H_LIVE || (qv = view_of(fs, QINO_VIEW(h->qino))) == NULL)
		return;
	pthread_mutex_lock(&qv->lock);
	if (--qv->opens == 0) {
		buf_release(&qv->live);
		buf_init(&qv->live, 0);
		qv->base = 0;
		live_tail_free(qv);
	}
	pthread_mutex_unlock(&qv->lock);
}

/* ---- set up ---- */

void
fs_query_init(struct fs *fs, struct views *v)
{
	struct fs_query *q;

	if (v == NULL || fs->q != NULL)
		return;
	q = xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	buf_init(&q->error, 0);
	fs->v = v;
	fs->q = q;
}

void
fs_query_release(struct fs *fs)
{
	struct fs_query *q = fs->q;

	if (q == NULL)
		return;
	for (size_t i = 0; i < q->nviews; i++) {
		free(q->views[i]->name);
		buf_release(&q->views[i]->live);
		live_tail_free(q->views[i]);
		pthread_mutex_destroy(&q->views[i]->lock);
		free(q->views[i]);
	}
	free(q->views);
	for (size_t i = 0; i < q->nadhoc; i++)
		free(q->adhoc[i].text);
	free(q->adhoc);
	buf_release(&q->error);
	pthread_mutex_destroy(&q->lock);
	free(q);
	fs->q = NULL;
}
