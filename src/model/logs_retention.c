/*
 * logs_retention.c - how long a stream's records are kept.
 *
 * A stream's retention is, in this order: its own (the mount's
 * user.shale.retention, kept in an 'E' record by the stream's id), the
 * duration of the first of logs_options.retention_filters whose
 * selector matches the stream's whole label set (as logs_streams gives
 * it, stream= included), or logs_options.retention; 0 at any step means
 * for ever. A record has expired once its own time plus that retention
 * is past: reads skip it at once (logs_stream.c, logs_scan.c,
 * logs_labels.c), and the compaction filter (logs_apply.c) drops it and
 * its time index entries for good.
 *
 * Records are written without an engine expiry: the retention in force
 * when a compaction runs is the one that counts, so that a retention
 * set, lengthened or shortened later applies to what is stored already.
 *
 * Working a retention out may mean building a label set and matching
 * selectors, too much for each record a compaction or a read meets: each
 * node keeps the last value with the generation it was worked out for,
 * and whatever may change a stream's retention (the settings, its own,
 * its labels, a rename) bumps the generation under ns (write).
 *
 * Also here: the checkpoints of a stream's appends (ck_*), which bound
 * the times of its records from an offset on, so that the compaction
 * filter can answer for a whole run of records without reading them.
 *
 * Locks (logs_int.h): the settings and the given retentions are under
 * ns; the cached values are atomics, worked out under ns (read), which
 * no bump can cross; a node's checkpoints are under its ck_lock, taken
 * last.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/labels.h"
#include "model/logs_int.h"
#include "model/matcher.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MS_NS		1000000LL

/* A line of logs_options.retention_filters: SELECTOR:DURATION */
struct logs_ret_filter {
	struct selector	*sel;
	int64_t		 ms;
};

static void
filters_free(struct logs_ret_filter *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		selector_free(f[i].sel);
	free(f);
}

/*
 * Lines of SELECTOR:DURATION, the duration after the last colon (a
 * value may hold colons, a duration never does); blank lines and lines
 * starting with '#' are skipped. 0, or -EINVAL naming the line.
 */
static int
parse_filters(const char *text, struct logs_ret_filter **out, size_t *nout)
{
	struct logs_ret_filter *f = NULL;
	const char *p = text, *nl, *colon;
	struct selector *sel;
	char dur[64];
	size_t line = 0, n, k = 0;
	int64_t ms;
	int rc = 0;

	for (; p != NULL && *p != '\0'; p = *nl ? nl + 1 : nl) {
		const char *a = p, *b;

		line++;
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		while (a < nl && (*a == ' ' || *a == '\t'))
			a++;
		b = nl;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
			b--;
		if (a == b || *a == '#')
			continue;
		for (colon = b; colon > a && colon[-1] != ':'; colon--)
			;
		if (colon == a) {
			rc = err_set(-EINVAL, "logs_options.retention_filters, "
			    "line %zu: SELECTOR:DURATION, please", line);
			goto fail;
		}
		n = (size_t)(b - colon);
		memcpy(dur, colon, n < sizeof(dur) ? n : sizeof(dur) - 1);
		dur[n < sizeof(dur) ? n : sizeof(dur) - 1] = '\0';
		if (n == 0 || n >= sizeof(dur) ||
		    settings_parse_duration(dur, &ms) != 0 || ms < 0) {
			rc = err_set(-EINVAL, "logs_options.retention_filters, "
			    "line %zu: '%s' is not a duration", line, dur);
			goto fail;
		}
		if ((rc = selector_parse(a, (size_t)(colon - 1 - a), &sel)) != 0) {
			rc = err_set(rc, "logs_options.retention_filters, "
			    "line %zu: %s", line, err_detail());
			goto fail;
		}
		f = xrealloc(f, (k + 1) * sizeof(*f));
		f[k].sel = sel;
		f[k++].ms = ms;
	}
	*out = f;
	*nout = k;
	return 0;
fail:
	filters_free(f, k);
	return rc;
}

int
logs_set_retention(struct logs *l, int64_t retention_ms, const char *filters)
{
	struct logs_ret_filter *f = NULL, *old;
	size_t n = 0, nold;
	int rc;

	if (retention_ms < 0)
		return err_set(-EINVAL, "logs_options.retention: a duration "
		    "of 0 or more, please");
	if ((rc = parse_filters(filters, &f, &n)) != 0)
		return rc;
	pthread_rwlock_wrlock(&l->ns);
	old = l->ret_filters;
	nold = l->ret_nfilters;
	l->ret_filters = f;
	l->ret_nfilters = n;
	l->ret_default_ms = retention_ms;
	retention_changed(l);
	pthread_rwlock_unlock(&l->ns);
	filters_free(old, nold);
	return 0;
}

void
logs_retention_release(struct logs *l)
{
	filters_free(l->ret_filters, l->ret_nfilters);
	l->ret_filters = NULL;
	l->ret_nfilters = 0;
}

/* ---- the 'E' records ---- */

void
batch_retention(struct engine_batch *b, uint64_t id, int64_t ms)
{
	unsigned char k[11], v[8];

	key_id(k, K_RETENTION, id);
	if (ms < 0) {
		engine_batch_delete(b, k, 11);
		return;
	}
	put_be64(v, (uint64_t)ms);
	engine_batch_put(b, k, 11, v, 8, ENGINE_NO_EXPIRY);
}

int
load_retentions(struct logs *l, const struct engine_snapshot *snap)
{
	unsigned char lo[3], hi[3];
	struct engine_iter *it;
	const unsigned char *k, *v;
	struct node *n;
	size_t klen, vlen;
	int rc;

	key_head(lo, K_RETENTION);
	key_head(hi, K_RETENTION + 1);
	it = engine_iter_new(l->e, snap, lo, 3, hi, 3);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		/* those of removed streams wait for compaction */
		if (klen != 11 || (n = node_find(l, get_be64(k + 3))) == NULL ||
		    n->type != LOGS_STREAM)
			continue;
		if (vlen != 8 || (int64_t)get_be64(v) < 0) {
			log_warn("skipping a malformed retention record");
			continue;
		}
		n->ret_given_ms = (int64_t)get_be64(v);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	retention_changed(l);
	return rc;
}

void
apply_retention(struct logs *l, struct node *n, const void *val, size_t vlen)
{
	if (val == NULL)
		n->ret_given_ms = -1;
	else if (vlen == 8 && (int64_t)get_be64(val) >= 0)
		n->ret_given_ms = (int64_t)get_be64(val);
	else
		log_warn("skipping a malformed retention record");
	retention_changed(l);
}

/* ---- a stream's own ---- */

int
logs_retention_get(struct logs *l, uint64_t id, int64_t *ms)
{
	struct node *n;
	int rc = 0;

	*ms = -1;
	pthread_rwlock_rdlock(&l->ns);
	if ((n = node_find(l, id)) == NULL || n->gone)
		rc = -ENOENT;
	else if (n->type != LOGS_STREAM)
		rc = -EISDIR;
	else
		*ms = n->ret_given_ms;
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

int
logs_retention_set(struct logs *l, uint64_t id, int64_t ms)
{
	struct engine_batch *b;
	struct node *n;
	int rc;

	if (l->ro)
		return -EROFS;
	if (ms < -1)
		ms = -1;
	pthread_rwlock_wrlock(&l->ns);
	if ((n = node_find(l, id)) == NULL || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	if (n->type != LOGS_STREAM) {
		rc = -EISDIR;
		goto out;
	}
	b = engine_batch_new();
	batch_retention(b, id, ms);
	rc = engine_write(l->e, b, NULL);
	engine_batch_free(b);
	if (rc != 0) {
		rc = logs_errno(l, rc);
		goto out;
	}
	n->ret_given_ms = ms;
	retention_changed(l);
	logs_changed(l, id);
out:
	pthread_rwlock_unlock(&l->ns);
	return rc;
}

/*
 * A retention as text (the mount's user.shale.retention): a duration as
 * the settings take them ("7d", "12h", "500ms", "0" for ever); an empty
 * value, trailing blanks and newlines aside, is -1 (none). 0 or -EINVAL.
 */
int
logs_retention_parse(const char *v, size_t n, int64_t *ms)
{
	char s[64];

	while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n == 0) {
		*ms = -1;
		return 0;
	}
	if (n >= sizeof(s) || memchr(v, '\0', n) != NULL)
		return -EINVAL;
	memcpy(s, v, n);
	s[n] = '\0';
	if (settings_parse_duration(s, ms) != 0 || *ms < 0)
		return -EINVAL;
	return 0;
}

/* The same back, in the largest unit that divides it: "7d", "90m", "0d". */
void
logs_retention_format(int64_t ms, struct buf *b)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t i;

	for (i = 0; i + 1 < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i].ms == 0)
			break;
	buf_printf(b, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
}

/* ---- the retention in force ---- */

void
retention_changed(struct logs *l)
{
	__atomic_add_fetch(&l->ret_gen, 1, __ATOMIC_RELEASE);
}

/* The first filter matching n's whole label set, or the default. (ns) */
static int64_t
work_out(struct logs *l, struct node *n)
{
	struct labels *ls;
	struct buf path;
	int64_t ms = l->ret_default_ms;

	if (n->ret_given_ms >= 0)
		return n->ret_given_ms;
	if (l->ret_nfilters == 0)
		return ms;
	buf_init(&path, 0);
	node_path(l, n, &path);
	if (whole_set(n->labels, path.data, path.len, &ls) == 0) {
		for (size_t i = 0; i < l->ret_nfilters; i++) {
			if (selector_matches(l->ret_filters[i].sel, ls)) {
				ms = l->ret_filters[i].ms;
				break;
			}
		}
		labels_free(ls);
	}
	buf_release(&path);
	return ms;
}

int64_t
stream_retention(struct logs *l, struct node *n)
{
	uint64_t gen = __atomic_load_n(&l->ret_gen, __ATOMIC_ACQUIRE);
	int64_t ms;

	if (__atomic_load_n(&n->ret_gen, __ATOMIC_ACQUIRE) == gen)
		return __atomic_load_n(&n->ret_ms, __ATOMIC_RELAXED);
	ms = work_out(l, n);
	__atomic_store_n(&n->ret_ms, ms, __ATOMIC_RELAXED);
	__atomic_store_n(&n->ret_gen, gen, __ATOMIC_RELEASE);
	return ms;
}

int64_t
stream_retention_nowait(struct logs *l, struct node *n)
{
	uint64_t gen = __atomic_load_n(&l->ret_gen, __ATOMIC_ACQUIRE);
	int64_t ms;

	if (__atomic_load_n(&n->ret_gen, __ATOMIC_ACQUIRE) == gen)
		return __atomic_load_n(&n->ret_ms, __ATOMIC_RELAXED);
	if (pthread_rwlock_tryrdlock(&l->ns) != 0)
		return __atomic_load_n(&n->ret_ms, __ATOMIC_RELAXED);
	ms = stream_retention(l, n);
	pthread_rwlock_unlock(&l->ns);
	return ms;
}

int64_t
stream_cutoff(struct logs *l, struct node *n)
{
	int64_t ms;

	pthread_rwlock_rdlock(&l->ns);
	ms = stream_retention(l, n);
	pthread_rwlock_unlock(&l->ns);
	return retention_cutoff(ms, clock_wall_ns());
}

int64_t
retention_cutoff(int64_t ret_ms, int64_t now_ns)
{
	if (ret_ms <= 0 || ret_ms > INT64_MAX / MS_NS)
		return INT64_MIN;
	return now_ns - ret_ms * MS_NS;		/* now_ns >= 0: no overflow */
}

/* ---- checkpoints of appends, for the compaction filter ---- */

#define CK_MAX		16
#define CK_SPACING_NS	(60LL * 1000000000)	/* between two maxima */

struct ret_ck {
	uint64_t	 off;
	int64_t		 m;
};

/*
 * A checkpoint whenever the maximum moved on a minute; when all CK_MAX
 * are taken every other one goes, so they reach back to the stream's
 * first append here however long it runs, more sparsely the older.
 */
void
ck_note(struct node *n, uint64_t off, int64_t m)
{
	if (m == INT64_MIN)
		return;
	pthread_mutex_lock(&n->ck_lock);
	if (n->ck == NULL)
		n->ck = xcalloc(CK_MAX, sizeof(*n->ck));
	if (n->nck > 0 && (m < n->ck[n->nck - 1].m + CK_SPACING_NS ||
	    off <= n->ck[n->nck - 1].off)) {
		pthread_mutex_unlock(&n->ck_lock);
		return;
	}
	if (n->nck == CK_MAX) {
		for (size_t i = 0; i < CK_MAX / 2; i++)
			n->ck[i] = n->ck[2 * i];
		n->nck = CK_MAX / 2;
	}
	n->ck[n->nck].off = off;
	n->ck[n->nck++].m = m;
	pthread_mutex_unlock(&n->ck_lock);
}

void
ck_clear(struct node *n)
{
	pthread_mutex_lock(&n->ck_lock);
	n->nck = 0;
	pthread_mutex_unlock(&n->ck_lock);
}

int
ck_after(struct node *n, uint64_t off, int64_t cutoff)
{
	int64_t m = INT64_MIN;

	pthread_mutex_lock(&n->ck_lock);
	for (size_t i = 0; i < n->nck && n->ck[i].off <= off; i++)
		m = n->ck[i].m;
	pthread_mutex_unlock(&n->ck_lock);
	return m != INT64_MIN && m - LOGS_OOO_WINDOW_NS > cutoff &&
	    m > INT64_MIN + LOGS_OOO_WINDOW_NS;
}
