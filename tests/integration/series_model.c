/*
 * series_model.c - metric series (series.h) against an in-memory model.
 *
 *   series_model URI SEED ROUNDS
 *
 * On a fresh store, NSERIES series (three metric names; an "inst" label
 * each, a "job" label on most; some with times before the epoch) get
 * random samples for ROUNDS rounds of COMMITS commits. Each commit gives
 * some series new samples, in order, with now and then a jump past a
 * chunk's span, and before them samples the series must refuse or
 * ignore: a sample it holds again (its newest or an older one, sealed in
 * a chunk or not), another value at its newest time (a conflict), a time
 * older than its newest (out of order); and now and then a new sample
 * twice in the same commit. Values are integers, fractions, NaN, the
 * infinities, -0 and the stale marker. The model says what each commit
 * must count (taken, made, duplicates, conflicts, out of order) and
 * return. Every other round, the commits come from THREADS threads at
 * once, each with series of its own, while another reads random series
 * (scan and text view), which must be whole and in order.
 *
 * After each round, one of: reopen as writer; engine_compact;
 * series_flush_heads; engine_flush and a reader (ENGINE_READER) opened on
 * the same store and checked, and so is a reader opened at the start,
 * which has followed the writer since (once it has caught up);
 * series_flush_heads then a reopen. Then
 * every series is checked: its id and label set, every sample by
 * series_scan (whole, and random windows), its text view by series_read
 * (whole, at random offsets and sizes, past the end) against the model's
 * lines (series_format_sample), series_getattr (size, first and last
 * time), and the dictionary: series_select with each kind of matcher,
 * with and without a time range, series_label_names,
 * series_label_values, series_metrics, series_of_metric, against the
 * model's answers. The first difference is printed and fails the run.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "engine/objstore/objstore.h"
#include "model/chunk.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define NSERIES		240
#define COMMITS		40	/* a round */
#define PER_COMMIT	24	/* series a commit, at most */
#define NEW_MAX		10	/* new samples of a series in a commit */

struct mseries {
	struct labels	*ls;
	char		 metric[8], inst[8], job[8];	/* job "" if none */
	int64_t		*t;
	double		*v;
	size_t		 n, cap;
	uint64_t	 id;		/* 0 until made */
	int64_t		 start;		/* the first sample's time, about */
	unsigned	 mark;		/* the commit that last took it */
};

struct store {
	const char	*uri;
	struct objstore_opts so;
	struct engine_settings es;
	struct engine	*e;
	struct series	*s;
};

static struct mseries	ms[NSERIES];
static __thread uint64_t rng;	/* each appending thread its own */
static int		failed;
static unsigned		commits;	/* numbers them, atomic */

#define FAIL(...) do {							\
	flockfile(stdout);						\
	printf("FAIL: " __VA_ARGS__);					\
	printf("\n");							\
	funlockfile(stdout);						\
	__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);			\
} while (0)

static uint64_t
rnd(uint64_t n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return n ? (rng >> 33) % n : 0;
}

static void
push(struct mseries *m, int64_t t, double v)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->t = xrealloc(m->t, m->cap * sizeof(*m->t));
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	m->t[m->n] = t;
	m->v[m->n++] = v;
}

/* The index of the first sample at or after t. */
static size_t
lower(const struct mseries *m, int64_t t)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->t[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static double
random_value(void)
{
	uint64_t r = rnd(100);

	if (r < 40)
		return (double)rnd(1000);
	if (r < 80)
		return (double)(int64_t)(rnd(2000000000) - 1000000000) / 1e6;
	if (r < 84)
		return bits_double(CHUNK_STALE_NAN);
	if (r < 87)
		return NAN;
	if (r < 90)
		return rnd(2) ? INFINITY : -INFINITY;
	if (r < 93)
		return -0.0;
	return (double)rnd(1u << 30) * 1e-300 * (rnd(2) ? 1 : -1);
}

/* A value whose bits differ from v's. */
static double
other_value(double v)
{
	double w;

	do
		w = random_value();
	while (double_bits(w) == double_bits(v));
	return w;
}

static int
store_open(struct store *st, enum engine_mode mode)
{
	int rc;

	if ((rc = engine_open(st->uri, &st->so, &st->es, mode, &st->e)) != 0) {
		printf("open %s: %s\n", st->uri, err_message(rc));
		return rc;
	}
	if ((rc = series_open(st->e, &(struct series_options){ 0 }, &st->s))
	    != 0) {
		printf("series_open: %s\n", err_message(rc));
		engine_close(st->e);
		return rc;
	}
	if (series_read_only(st->s) != (mode == ENGINE_READER))
		FAIL("series_read_only is %d", series_read_only(st->s));
	return 0;
}

static int
store_close(struct store *st)
{
	int rc;

	series_close(st->s);
	st->s = NULL;
	rc = engine_close(st->e);
	st->e = NULL;
	if (rc != 0)
		printf("engine_close: %s\n", err_message(rc));
	return rc;
}

/* ---- appends ---- */

struct expect {
	uint64_t	 samples, created, duplicates, conflicts, out_of_order;
};

/*
 * Samples series m must refuse or ignore, judged against what it holds
 * before this commit: added to x, counted in *ex.
 */
static size_t
bad_samples(struct mseries *m, struct series_sample *x, struct expect *ex)
{
	size_t nx = 0;

	if (m->n == 0)
		return 0;
	if (rnd(6) == 0) {		/* a sample it holds, any */
		size_t i = rnd(m->n);

		x[nx++] = (struct series_sample){ m->t[i], m->v[i] };
		ex->duplicates++;
	}
	if (rnd(8) == 0) {		/* its newest again */
		x[nx++] = (struct series_sample){ m->t[m->n - 1],
		    m->v[m->n - 1] };
		ex->duplicates++;
	}
	if (rnd(10) == 0) {		/* its newest time, another value */
		x[nx++] = (struct series_sample){ m->t[m->n - 1],
		    other_value(m->v[m->n - 1]) };
		ex->conflicts++;
	}
	if (rnd(10) == 0) {		/* older than its newest */
		size_t i = rnd(m->n);
		int64_t t;

		switch (rnd(3)) {
		case 0:			/* before its first */
			t = m->t[0] - 1 - (int64_t)rnd(100000);
			x[nx++] = (struct series_sample){ t, random_value() };
			ex->out_of_order++;
			break;
		case 1:			/* a time it holds, another value */
			if (i == m->n - 1)
				break;
			x[nx++] = (struct series_sample){ m->t[i],
			    other_value(m->v[i]) };
			ex->out_of_order++;
			break;
		default:		/* between two it holds */
			if (i == m->n - 1 || m->t[i + 1] - m->t[i] < 2)
				break;
			t = m->t[i] + 1 + (int64_t)rnd((uint64_t)(m->t[i + 1] -
			    m->t[i] - 1));
			x[nx++] = (struct series_sample){ t, random_value() };
			ex->out_of_order++;
		}
	}
	return nx;
}

/*
 * One commit of series part, part + nparts, ...: threads with parts of
 * their own append side by side, each keeping its part of the model.
 */
static int
one_commit(struct store *st, size_t part, size_t nparts)
{
	unsigned commit = __atomic_add_fetch(&commits, 1, __ATOMIC_RELAXED);
	struct series_appender *a = series_appender_new(st->s);
	struct series_sample x[4 + 2 * NEW_MAX];
	struct series_counts c;
	struct expect ex = { 0 };
	size_t k = 1 + rnd(PER_COMMIT);
	uint64_t seq;
	int rc, want;

	for (size_t j = 0; j < k; j++) {
		struct mseries *m = &ms[part + nparts * rnd(NSERIES / nparts)];
		size_t nx, nnew = rnd(NEW_MAX + 1);

		if (m->mark == commit)	/* once a commit */
			continue;
		m->mark = commit;
		nx = bad_samples(m, x, &ex);
		for (size_t i = 0; i < nnew; i++) {
			int64_t t = m->n ? m->t[m->n - 1] + 1 +
			    (int64_t)rnd(30000) : m->start;

			if (rnd(150) == 0)	/* past a chunk's span */
				t += CHUNK_MAX_SPAN_MS + (int64_t)rnd(3600000);
			x[nx] = (struct series_sample){ t, random_value() };
			push(m, t, x[nx].v);
			nx++;
			ex.samples++;
			if (rnd(20) == 0) {	/* twice in one commit */
				x[nx] = x[nx - 1];
				nx++;
				ex.duplicates++;
			}
		}
		if (nx == 0)
			continue;
		if (m->id == 0 && nnew > 0)
			ex.created++;
		if (m->id != 0 && rnd(2))
			rc = series_appender_add_id(a, m->id, x, nx);
		else
			rc = series_appender_add(a, m->ls, x, nx);
		if (rc != 0) {
			FAIL("series_appender_add: %s", err_message(rc));
			series_appender_free(a);
			return rc;
		}
	}
	want = ex.conflicts + ex.out_of_order ? -EINVAL : 0;
	rc = series_appender_commit(a, &c, &seq);
	series_appender_free(a);
	if (rc != want)
		FAIL("commit %u: %d (%s), want %d", commit, rc,
		    rc ? err_message(rc) : "", want);
	if (c.samples != ex.samples || c.series_created != ex.created ||
	    c.duplicates != ex.duplicates || c.conflicts != ex.conflicts ||
	    c.out_of_order != ex.out_of_order || c.over_limit != 0)
		FAIL("commit %u counts: samples %" PRIu64 "/%" PRIu64
		    " created %" PRIu64 "/%" PRIu64 " duplicates %" PRIu64
		    "/%" PRIu64 " conflicts %" PRIu64 "/%" PRIu64
		    " out of order %" PRIu64 "/%" PRIu64 " (got/want)",
		    commit, c.samples, ex.samples, c.series_created,
		    ex.created, c.duplicates, ex.duplicates, c.conflicts,
		    ex.conflicts, c.out_of_order, ex.out_of_order);
	if (ex.samples > 0 && seq == 0)
		FAIL("commit %u: samples taken, seq 0", commit);
	/* ids of the series made */
	for (size_t i = part; i < NSERIES; i += nparts) {
		struct mseries *m = &ms[i];

		uint64_t id;

		if (m->id != 0 || m->n == 0)
			continue;
		if ((rc = series_find(st->s, m->ls, &id)) != 0) {
			FAIL("series %zu not found after its first commit: %s",
			    i, err_message(rc));
			return rc;
		}
		__atomic_store_n(&m->id, id, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&failed, __ATOMIC_RELAXED) ? -EINVAL : 0;
}

/* ---- appending threads ---- */

#define THREADS	4

struct appender_arg {
	struct store	*st;
	size_t		 part;
	uint64_t	 seed;
	pthread_t	 tid;
};

static void *
appender_main(void *p)
{
	struct appender_arg *a = p;

	rng = a->seed;
	for (int c = 0; c < COMMITS / THREADS; c++)
		if (one_commit(a->st, a->part, THREADS) != 0)
			break;
	return NULL;
}

/*
 * Beside the appending threads: reads of random series, which must be in
 * order in themselves (the model is being changed, so not compared).
 */
static int		appending;
static size_t		reads_beside;	/* reads made beside appends */

struct order {
	int64_t		 last;
	size_t		 n;
	int		 bad;
};

static int
order_fn(void *arg, int64_t t, double v)
{
	struct order *o = arg;

	(void)v;
	if (o->n++ > 0 && t <= o->last)
		o->bad = 1;
	o->last = t;
	return 0;
}

static void *
reader_main(void *p)
{
	struct store *st = p;
	struct buf b;
	size_t reads = 0;

	buf_init(&b, 0);
	rng = 99;
	while (__atomic_load_n(&appending, __ATOMIC_ACQUIRE) || reads == 0) {
		const struct mseries *m = &ms[rnd(NSERIES)];
		uint64_t id = __atomic_load_n(&m->id, __ATOMIC_ACQUIRE);
		struct order o = { 0 };
		struct series_attr at;
		char chunk[4096];
		uint64_t off = 0;
		ssize_t n;
		int rc;

		if (id == 0)
			continue;
		reads++;
		if ((rc = series_scan(st->s, id, INT64_MIN, INT64_MAX, order_fn,
		    &o)) != 0 || o.bad || o.n == 0) {
			FAIL("series_scan %" PRIu64 " while appending: %d, %zu "
			    "samples%s", id, rc, o.n, o.bad ? ", out of order" :
			    "");
			break;
		}
		if ((rc = series_getattr(st->s, id, &at)) != 0) {
			FAIL("series_getattr %" PRIu64 " while appending: %s",
			    id, err_message(rc));
			break;
		}
		/* the text, at least as long as st_size said: whole lines */
		buf_reset(&b);
		while ((n = series_read(st->s, id, off, chunk,
		    1 + rnd(sizeof(chunk)))) > 0) {
			buf_append(&b, chunk, (size_t)n);
			off += (uint64_t)n;
		}
		if (n < 0 || b.len < at.size || b.len == 0 ||
		    b.data[b.len - 1] != '\n') {
			FAIL("series_read %" PRIu64 " while appending: %zd, %zu "
			    "bytes, st_size %" PRIu64, id, n, b.len, at.size);
			break;
		}
		o = (struct order){ 0 };
		for (size_t i = 0, j; i < b.len; i = j + 1) {
			struct series_sample x;

			for (j = i; b.data[j] != '\n'; j++)
				continue;
			if (series_parse_line(b.data + i, j - i, 0, &x) != 0 ||
			    (o.n++ > 0 && x.t <= o.last)) {
				FAIL("series_read %" PRIu64 " while appending: "
				    "line '%.*s' at %zu", id, (int)(j - i),
				    b.data + i, i);
				break;
			}
			o.last = x.t;
		}
		if (__atomic_load_n(&failed, __ATOMIC_RELAXED))
			break;
	}
	buf_release(&b);
	reads_beside += reads;
	return NULL;
}

/* A round's commits from THREADS threads at once, a reader beside them. */
static void
commit_threads(struct store *st)
{
	struct appender_arg a[THREADS];
	pthread_t reader;
	int have_reader;

	__atomic_store_n(&appending, 1, __ATOMIC_RELEASE);
	have_reader = pthread_create(&reader, NULL, reader_main, st) == 0;

	for (size_t i = 0; i < THREADS; i++) {
		a[i] = (struct appender_arg){ .st = st, .part = i,
		    .seed = rnd(UINT32_MAX) + 1 };
		if (pthread_create(&a[i].tid, NULL, appender_main, &a[i]) != 0) {
			FAIL("pthread_create");
			a[i].st = NULL;
		}
	}
	for (size_t i = 0; i < THREADS; i++)
		if (a[i].st != NULL)
			pthread_join(a[i].tid, NULL);
	__atomic_store_n(&appending, 0, __ATOMIC_RELEASE);
	if (have_reader)
		pthread_join(reader, NULL);
}

/* ---- checks ---- */

struct got {
	const struct mseries *m;
	size_t		 from, i;
	int		 bad;
};

static int
sample_fn(void *arg, int64_t t, double v)
{
	struct got *g = arg;
	size_t i = g->from + g->i++;
	const struct mseries *m = g->m;

	if (!g->bad && (i >= m->n || m->t[i] != t ||
	    double_bits(m->v[i]) != double_bits(v))) {
		FAIL("series %s{inst=\"%s\"} sample %zu of %zu: got %" PRId64
		    " %a, want %" PRId64 " %a", m->metric, m->inst, i, m->n,
		    t, v, i < m->n ? m->t[i] : -1, i < m->n ? m->v[i] : 0.0);
		g->bad = 1;
	}
	return 0;
}

static int
scan_check(struct series *s, const struct mseries *m, size_t lo, size_t hi,
    int64_t mint, int64_t maxt)
{
	struct got g = { .m = m, .from = lo };
	int rc;

	if ((rc = series_scan(s, m->id, mint, maxt, sample_fn, &g)) != 0) {
		FAIL("series_scan %s{inst=\"%s\"}: %s", m->metric, m->inst,
		    err_message(rc));
		return rc;
	}
	if (!g.bad && g.i != hi - lo)
		FAIL("series_scan %s{inst=\"%s\"} [%" PRId64 ", %" PRId64
		    "]: %zu samples, want %zu", m->metric, m->inst, mint, maxt,
		    g.i, hi - lo);
	return 0;
}

static void
check_series(struct series *s, const struct mseries *m, struct buf *want,
    char *got)
{
	struct series_attr at;
	struct labels *ls;
	uint64_t id;
	ssize_t n;
	int rc;

	if ((rc = series_find(s, m->ls, &id)) != 0 || id != m->id) {
		FAIL("series_find %s{inst=\"%s\"}: %d, id %" PRIu64 " want %"
		    PRIu64, m->metric, m->inst, rc, id, m->id);
		return;
	}
	if ((rc = series_labels(s, id, &ls)) != 0) {
		FAIL("series_labels %" PRIu64 ": %s", id, err_message(rc));
		return;
	}
	if (!labels_equal(ls, m->ls))
		FAIL("series_labels %" PRIu64 ": another set", id);
	labels_free(ls);

	scan_check(s, m, 0, m->n, INT64_MIN, INT64_MAX);
	for (int w = 0; w < 3; w++) {
		size_t lo = rnd(m->n), hi = lo + rnd(m->n - lo);
		/* bounds on a sample or between two */
		int64_t mint = m->t[lo] - (int64_t)(lo > 0 && rnd(2) ?
		    rnd((uint64_t)(m->t[lo] - m->t[lo - 1])) : 0);
		int64_t maxt = m->t[hi] + (int64_t)(hi + 1 < m->n && rnd(2) ?
		    rnd((uint64_t)(m->t[hi + 1] - m->t[hi])) : 0);

		scan_check(s, m, lo, hi + 1, mint, maxt);
	}
	/* an empty window: after the newest */
	scan_check(s, m, 0, 0, m->t[m->n - 1] + 1, INT64_MAX);

	buf_reset(want);
	for (size_t i = 0; i < m->n; i++) {
		char line[SERIES_LINE_MAX];
		size_t len = series_format_sample(m->t[i], m->v[i], line);

		buf_append(want, line, len);
	}
	if ((rc = series_getattr(s, id, &at)) != 0) {
		FAIL("series_getattr %" PRIu64 ": %s", id, err_message(rc));
		return;
	}
	if (at.id != id || at.size != want->len || at.first_t != m->t[0] ||
	    at.last_t != m->t[m->n - 1])
		FAIL("series_getattr %s{inst=\"%s\"}: id %" PRIu64 " size %"
		    PRIu64 " first %" PRId64 " last %" PRId64 ", want %" PRIu64
		    " %zu %" PRId64 " %" PRId64, m->metric, m->inst, at.id,
		    at.size, at.first_t, at.last_t, id, want->len, m->t[0],
		    m->t[m->n - 1]);
	n = series_read(s, id, 0, got, want->len + 100);
	if (n != (ssize_t)want->len || memcmp(got, want->data, want->len)) {
		FAIL("series_read %s{inst=\"%s\"} whole: %zd bytes, want %zu%s",
		    m->metric, m->inst, n, want->len,
		    n == (ssize_t)want->len ? ", other bytes" : "");
		return;
	}
	for (int r = 0; r < 12; r++) {
		size_t off = rnd(want->len), len = 1 + rnd(r < 6 ? 64 : 4000);

		n = series_read(s, id, off, got, len);
		if (len > want->len - off)
			len = want->len - off;
		if (n != (ssize_t)len || memcmp(got, want->data + off, len)) {
			FAIL("series_read %s{inst=\"%s\"} at %zu: %zd bytes, "
			    "want %zu%s", m->metric, m->inst, off, n, len,
			    n == (ssize_t)len ? ", other bytes" : "");
			return;
		}
	}
	if ((n = series_read(s, id, want->len, got, 10)) != 0 ||
	    (n = series_read(s, id, want->len + 1000, got, 10)) != 0)
		FAIL("series_read %s{inst=\"%s\"} past the end: %zd",
		    m->metric, m->inst, n);
}

struct sel_got {
	uint64_t	 last;
	size_t		 n;
	unsigned char	 seen[NSERIES];
	int		 bad;
};

static int
select_fn(void *arg, uint64_t id, const struct labels *ls)
{
	struct sel_got *g = arg;
	size_t i;

	for (i = 0; i < NSERIES && ms[i].id != id; i++)
		continue;
	if (id <= g->last || i == NSERIES || !labels_equal(ls, ms[i].ls))
		g->bad = 1;
	else
		g->seen[i] = 1;
	g->last = id;
	g->n++;
	return 0;
}

static int
name_fn(void *arg, const char *name, size_t len)
{
	struct buf *b = arg;

	buf_append(b, name, len);
	buf_putc(b, ',');
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, each once, as "a,b,": what label names and values answer. */
static void
sorted_set(const char **v, size_t n, struct buf *b)
{
	buf_reset(b);
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0) {
			buf_append(b, v[i], strlen(v[i]));
			buf_putc(b, ',');
		}
}

/* Does series m match sel (NULL: all) with a sample in [mint, maxt]? */
static int
model_matches(const struct mseries *m, const struct selector *sel,
    int64_t mint, int64_t maxt)
{
	size_t i;

	if (m->id == 0 || (sel != NULL && !selector_matches(sel, m->ls)))
		return 0;
	if (mint > maxt)
		return 1;
	i = lower(m, mint);
	return i < m->n && m->t[i] <= maxt;
}

struct of_metric {
	struct labels	*prev;
	int		 n, bad;
};

/* series_of_metric: counted, in label set order */
static int
of_metric_fn(void *arg, uint64_t id, const struct labels *ls)
{
	struct of_metric *o = arg;

	(void)id;
	if (o->prev != NULL && labels_compare(o->prev, ls) >= 0)
		o->bad = 1;
	labels_free(o->prev);
	o->prev = labels_dup(ls);
	o->n++;
	return 0;
}

static void
check_dictionary(struct series *s)
{
	static const char *const sels[] = {
		NULL,
		"m_a",
		"{job=\"j1\"}",
		"{inst=~\"i1.*\"}",
		"{__name__=\"m_b\",job!=\"j0\"}",
		"{__name__=~\"m_[ab]\",inst!~\"i[0-9]\"}",
		"{__name__=\"m_c\",job=\"\"}",
		"{__name__=\"m_none\"}",
	};
	struct buf want, got;
	const char *v[3 * NSERIES];

	buf_init(&want, 0);
	buf_init(&got, 0);
	for (size_t q = 0; q < sizeof(sels) / sizeof(*sels); q++) {
		struct selector *sel = NULL;
		int64_t mint = 1, maxt = 0;
		size_t nv;
		int rc;

		if (sels[q] != NULL &&
		    (rc = selector_parse(sels[q], strlen(sels[q]), &sel)) != 0) {
			FAIL("selector_parse %s: %s", sels[q], err_message(rc));
			continue;
		}
		for (int ranged = 0; ranged < 2; ranged++) {
			struct sel_got g = { 0 };
			size_t n = 0;

			if (ranged) {		/* around a random series' sample */
				const struct mseries *m = &ms[rnd(NSERIES)];
				int64_t t = m->n ? m->t[rnd(m->n)] : 0;

				mint = t - (int64_t)rnd(600000);
				maxt = t + (int64_t)rnd(600000);
			}
			rc = series_select(s, sel ? &sel : NULL, sel ? 1 : 0,
			    mint, maxt, select_fn, &g);
			for (size_t i = 0; i < NSERIES; i++) {
				int want_i = model_matches(&ms[i], sel, mint,
				    maxt);

				n += want_i;
				if (want_i != g.seen[i])
					g.bad = 1;
			}
			if (rc != 0 || g.bad || g.n != n)
				for (size_t i = 0; i < NSERIES; i++) {
					const struct mseries *m = &ms[i];
					size_t j = lower(m, mint);

					if (model_matches(m, sel, mint, maxt) ==
					    g.seen[i])
						continue;
					printf("  %s{inst=\"%s\"}: %s; samples "
					    "%" PRId64 " .. %" PRId64 ", around: %"
					    PRId64 " %" PRId64 "\n", m->metric,
					    m->inst, g.seen[i] ? "extra" :
					    "missing", m->t[0], m->t[m->n - 1],
					    j > 0 ? m->t[j - 1] : -1,
					    j < m->n ? m->t[j] : -1);
				}
			if (rc != 0 || g.bad || g.n != n)
				FAIL("series_select %s [%" PRId64 ", %" PRId64
				    "]: rc %d, %zu series, want %zu%s",
				    sels[q] ? sels[q] : "(all)", mint, maxt, rc,
				    g.n, n, g.bad ? ", other ones" : "");
		}
		/* label names and job values of the matching series */
		nv = 0;
		for (size_t i = 0; i < NSERIES; i++)
			if (model_matches(&ms[i], sel, 1, 0)) {
				v[nv++] = "__name__";
				v[nv++] = "inst";
				if (ms[i].job[0])
					v[nv++] = "job";
			}
		sorted_set(v, nv, &want);
		buf_reset(&got);
		rc = series_label_names(s, sel ? &sel : NULL, sel ? 1 : 0, 1, 0,
		    name_fn, &got);
		if (rc != 0 || got.len != want.len ||
		    memcmp(buf_str(&got), buf_str(&want), want.len) != 0)
			FAIL("series_label_names %s: %d '%s', want '%s'",
			    sels[q] ? sels[q] : "(all)", rc, buf_str(&got),
			    buf_str(&want));
		nv = 0;
		for (size_t i = 0; i < NSERIES; i++)
			if (model_matches(&ms[i], sel, 1, 0) && ms[i].job[0])
				v[nv++] = ms[i].job;
		sorted_set(v, nv, &want);
		buf_reset(&got);
		rc = series_label_values(s, "job", sel ? &sel : NULL,
		    sel ? 1 : 0, 1, 0, name_fn, &got);
		if (rc != 0 || got.len != want.len ||
		    memcmp(buf_str(&got), buf_str(&want), want.len) != 0)
			FAIL("series_label_values job %s: %d '%s', want '%s'",
			    sels[q] ? sels[q] : "(all)", rc, buf_str(&got),
			    buf_str(&want));
		selector_free(sel);
	}

	/* metric names, and the series of each */
	{
		size_t nv = 0;
		int rc;

		for (size_t i = 0; i < NSERIES; i++)
			if (ms[i].id != 0)
				v[nv++] = ms[i].metric;
		sorted_set(v, nv, &want);
		buf_reset(&got);
		rc = series_metrics(s, name_fn, &got);
		if (rc != 0 || strcmp(buf_str(&got), buf_str(&want)) != 0)
			FAIL("series_metrics: %d '%s', want '%s'", rc,
			    buf_str(&got), buf_str(&want));
	}
	for (int k = 0; k < 3; k++) {
		char metric[8];
		struct of_metric o = { 0 };
		size_t n = 0;
		int rc;

		snprintf(metric, sizeof(metric), "m_%c", 'a' + k);
		for (size_t i = 0; i < NSERIES; i++)
			n += ms[i].id != 0 && strcmp(ms[i].metric, metric) == 0;
		rc = series_of_metric(s, metric, of_metric_fn, &o);
		labels_free(o.prev);
		if (rc != 0 || (size_t)o.n != n || o.bad)
			FAIL("series_of_metric %s: %d, %d series, want %zu%s",
			    metric, rc, o.n, n, o.bad ? ", out of order" : "");
	}
	buf_release(&want);
	buf_release(&got);
}

static void
check_all(struct series *s, const char *what)
{
	struct buf want;
	char *got = NULL;
	size_t cap = 0;
	int was = failed;

	buf_init(&want, 0);
	for (size_t i = 0; i < NSERIES && !failed; i++) {
		const struct mseries *m = &ms[i];
		size_t need = m->n * SERIES_LINE_MAX + 4100;

		if (m->id == 0)
			continue;
		if (need > cap) {
			cap = need;
			got = xrealloc(got, cap);
		}
		check_series(s, m, &want, got);
	}
	if (!failed)
		check_dictionary(s);
	free(got);
	buf_release(&want);
	if (failed && !was)
		printf("  (checking %s)\n", what);
}

static void
set_settings(struct engine_settings *es, int s3)
{
	engine_settings_default(es);
	/* small memtables and tables, compactions often */
	es->l0_sst_size_bytes = 96 << 10;
	es->flush_interval_ms = 5;
	es->wal_max_bytes = 32 << 10;
	es->block_size = s3 ? 4096 : 1024;
	es->max_sst_size = 64 << 10;
	es->compactor_poll_interval_ms = 100;
	es->l0_max_ssts = 4;
	/*
	 * the collector runs often, but leaves 20 s to the readers of
	 * another process, which nothing else protects: a reader's check
	 * takes a second or two
	 */
	es->gc_manifest.min_age_ms = es->gc_wal.min_age_ms = 20000;
	es->gc_compacted.min_age_ms = 20000;
	es->gc_manifest.interval_ms = es->gc_wal.interval_ms = 200;
	es->gc_compacted.interval_ms = 200;
	es->manifest_poll_interval_ms = 50;
}

/*
 * Wait until reader s has every sample of the model (30 s at most): 0,
 * or -ETIMEDOUT having said which series lags.
 */
static int
caught_up(struct series *s)
{
	int64_t due = clock_mono_ns() + 30 * (int64_t)1000000000;

	for (size_t i = 0; i < NSERIES; i++) {
		const struct mseries *m = &ms[i];
		struct series_attr at = { 0 };
		uint64_t id = 0;

		if (m->id == 0)
			continue;
		for (;;) {
			if (series_find(s, m->ls, &id) == 0 &&
			    series_getattr(s, id, &at) == 0 &&
			    at.last_t == m->t[m->n - 1])
				break;
			if (clock_mono_ns() > due) {
				FAIL("the follower lags: %s{inst=\"%s\"} id %"
				    PRIu64 " last %" PRId64 ", want %" PRId64,
				    m->metric, m->inst, id, at.last_t,
				    m->t[m->n - 1]);
				return -ETIMEDOUT;
			}
			clock_sleep_ms(10);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const ops[] = {
		"reopen", "compact", "flush heads", "reader", "flush heads, reopen",
	};
	struct store st = { 0 }, rd = { 0 }, fo = { 0 };
	uint64_t total = 0;
	int rounds, rc;

	if (argc != 4) {
		fprintf(stderr, "usage: series_model URI SEED ROUNDS\n");
		return 2;
	}
	rng = strtoull(argv[2], NULL, 10);
	rounds = atoi(argv[3]);
	log_set_level(LOG_WARN);
	st.uri = rd.uri = fo.uri = argv[1];
	st.so.no_fsync = rd.so.no_fsync = fo.so.no_fsync = 1;
	set_settings(&st.es, strncmp(argv[1], "s3:", 3) == 0);
	set_settings(&rd.es, strncmp(argv[1], "s3:", 3) == 0);
	set_settings(&fo.es, strncmp(argv[1], "s3:", 3) == 0);

	for (size_t i = 0; i < NSERIES; i++) {
		struct mseries *m = &ms[i];
		struct label p[3];
		size_t n = 2;

		snprintf(m->metric, sizeof(m->metric), "m_%c", 'a' + (int)(i % 3));
		snprintf(m->inst, sizeof(m->inst), "i%zu", i);
		if (i % 7 != 0)
			snprintf(m->job, sizeof(m->job), "j%zu", i % 5);
		p[0] = label_str("__name__", m->metric);
		p[1] = label_str("inst", m->inst);
		if (m->job[0])
			p[n++] = label_str("job", m->job);
		if ((rc = labels_new(p, n, 0, &m->ls)) != 0) {
			printf("labels_new: %s\n", err_message(rc));
			return 1;
		}
		/* some before the epoch, most about now */
		m->start = i % 11 == 0 ? -86400000 + (int64_t)rnd(3600000) :
		    1700000000000 + (int64_t)rnd(3600000);
	}

	if (store_open(&st, ENGINE_WRITER) != 0)
		return 1;
	/* a reader from the start, which follows the writer to the end */
	if (store_open(&fo, ENGINE_READER) != 0)
		return 1;
	for (int r = 0; r < rounds && !failed; r++) {
		const char *op = ops[r % 5];

		if (r % 2)
			commit_threads(&st);
		else
			for (int c = 0; c < COMMITS && !failed; c++)
				if (one_commit(&st, 0, 1) != 0)
					break;
		if (failed)
			break;
		check_all(st.s, "after the commits");
		switch (r % 5) {
		case 0:
			if (store_close(&st) != 0 ||
			    store_open(&st, ENGINE_WRITER) != 0)
				return 1;
			break;
		case 1:
			if ((rc = engine_compact(st.e)) != 0)
				FAIL("engine_compact: %s", err_message(rc));
			break;
		case 2:
			if ((rc = series_flush_heads(st.s)) != 0)
				FAIL("series_flush_heads: %s", err_message(rc));
			break;
		case 3:
			if ((rc = engine_flush(st.e)) != 0) {
				FAIL("engine_flush: %s", err_message(rc));
				break;
			}
			if (store_open(&rd, ENGINE_READER) != 0)
				return 1;
			check_all(rd.s, "a reader");
			store_close(&rd);
			/* and the reader that has followed since round 1 */
			if (caught_up(fo.s) == 0)
				check_all(fo.s, "the follower");
			break;
		default:
			if ((rc = series_flush_heads(st.s)) != 0)
				FAIL("series_flush_heads: %s", err_message(rc));
			if (store_close(&st) != 0 ||
			    store_open(&st, ENGINE_WRITER) != 0)
				return 1;
		}
		check_all(st.s, op);
		total = 0;
		for (size_t i = 0; i < NSERIES; i++)
			total += ms[i].n;
		printf("round %d (%s): %u commits, %" PRIu64 " samples%s\n",
		    r + 1, op, commits, total, failed ? ": FAILED" : "");
		fflush(stdout);
	}
	if (store_close(&fo) != 0 || store_close(&st) != 0)
		failed = 1;
	for (size_t i = 0; i < NSERIES; i++) {
		labels_free(ms[i].ls);
		free(ms[i].t);
		free(ms[i].v);
	}
	engine_settings_release(&st.es);
	engine_settings_release(&rd.es);
	engine_settings_release(&fo.es);
	printf("%s: %d rounds, %u commits, %" PRIu64 " samples in %d series; "
	    "%zu series read beside appends\n", failed ? "FAILED" : "ok",
	    rounds, commits, total, NSERIES, reads_beside);
	return failed;
}
