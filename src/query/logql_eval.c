/*
 * logql_eval.c - LogQL evaluated over the log streams.
 *
 * Both kinds of query start the same way: the streams whose labels the
 * selector matches (logs_streams: the labels live in memory, so picking
 * streams reads nothing), then for each stream the records of the time
 * range through the time index (logs_scan_time: records outside the
 * range are not read), each cut into lines, and each line through the
 * pipeline (logql_run_line), which for a line filter costs a memmem.
 *
 * A log query keeps the lines the pipeline keeps, as entries grouped by
 * the label set they end with. With a limit, only the newest (BACKWARD)
 * or the oldest (FORWARD) count: FORWARD reads each stream from the start
 * of the range and stops once it has the limit; BACKWARD reads slices of
 * the range from its end, each twice as long as the one before, and
 * stops at the first slice after which it has the limit (every entry of
 * an earlier slice is older than those it has).
 *
 * A metric query is PromQL's evaluator over the range aggregations,
 * which are evaluated here over the evaluator's steps. Each kept line is
 * a sample of its label set (after the pipeline, and the grouping of
 * by/without): 1 for count_over_time and rate, its length for the bytes
 * ones, the unwrapped value for the others. A sample at time ts falls in
 * the windows (T - range, T] of the steps T with ts <= T < ts + range,
 * a run of consecutive steps: the additive aggregations add it to the
 * first of them and take it away after the last (a difference array,
 * summed once at the end), so a line costs the same whatever the range
 * and the step; the others keep their samples and hand each step's
 * window to PromQL's own window function (sum_over_time, quantile_over_
 * time, rate for rate_counter ...), so both languages compute alike.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/logs.h"
#include "model/matcher.h"
#include "query/logql_int.h"
#include "query/promql_eval.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xmalloc.h"

/* Every so many records, the clock and the client are looked at. */
#define ALIVE_RECORDS	256

/* What one evaluation of a query shares. */
struct ctx {
	struct logs	*l;
	const struct logql_opts *o;
	struct logql_stats *stats;
	int64_t		 deadline_ns;
	int64_t		 polled_ns;
	size_t		 max_series;
};

static int
alive(struct ctx *c)
{
	int64_t now = clock_mono_ns();

	if (now > c->deadline_ns)
		return err_set(-ETIMEDOUT, "query timed out");
	if (c->o->cancelled != NULL && now - c->polled_ns > 10000000) {
		c->polled_ns = now;
		if (c->o->cancelled(c->o->cancel_arg))
			return err_set(-ECANCELED, "query was canceled");
	}
	return 0;
}

/* ---- streams ---- */

struct pick {
	uint64_t	 id;
	struct labels	*ls;
};

struct picks {
	const struct selector *sel;
	struct pick	*v;
	size_t		 n, cap;
	int		 rc;
};

static int
pick_stream(void *arg, uint64_t id, const struct labels *ls,
    const struct logs_attr *a)
{
	struct picks *p = arg;
	int m;

	(void)a;
	if ((m = selector_matches(p->sel, ls)) < 0)
		return p->rc = m;
	if (m == 0)
		return 0;
	if (p->n == p->cap)
		p->v = xgrow(p->v, &p->cap, p->n + 1, sizeof(*p->v));
	p->v[p->n].id = id;
	p->v[p->n].ls = labels_dup(ls);
	p->n++;
	return 0;
}

static void
picks_free(struct picks *p)
{
	for (size_t i = 0; i < p->n; i++)
		labels_free(p->v[i].ls);
	free(p->v);
}

static int
pick_streams(struct ctx *c, const struct selector *sel, struct picks *p)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->sel = sel;
	rc = logs_streams(c->l, pick_stream, p);
	if (rc == 0)
		rc = p->rc;
	c->stats->streams += p->n;
	return rc;
}

/*
 * The lines of one stream in [lo, hi), through a pipeline: fn gets what
 * each kept line became; a non-zero return stops (negative: an error).
 */
typedef int (*line_fn)(void *arg, int64_t ts, const struct logql_out *out);

struct lines {
	struct ctx	*c;
	struct logql_run *run;
	const struct labels *ls;
	int64_t		 lo, hi;
	line_fn		 fn;
	void		*arg;
	int		 rc;
	size_t		 records;
};

static int
lines_record(void *arg, uint64_t off, const void *data, size_t len,
    int64_t ts)
{
	struct lines *s = arg;
	const char *p = data, *end = p + len, *nl;
	struct logql_out out;
	int rc;

	(void)off;
	if (++s->records % ALIVE_RECORDS == 0 && (rc = alive(s->c)) != 0)
		return s->rc = rc;
	if (ts < s->lo || ts >= s->hi)
		return 0;
	s->c->stats->records++;
	s->c->stats->bytes += len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		s->c->stats->lines++;
		rc = logql_run_line(s->run, s->ls, p, (size_t)(nl - p), ts,
		    &out);
		if (rc < 0)
			return s->rc = rc;
		if (rc > 0 && (rc = s->fn(s->arg, ts, &out)) != 0) {
			s->rc = rc;
			return rc;
		}
		p = nl + 1;
	}
	return 0;
}

/*
 * The lines of stream pk in [lo, hi) through run, of pipeline pipe: its
 * needles let the scan leave out the table blocks that hold none.
 */
static int
scan_lines(struct ctx *c, const struct logql_pipeline *pipe,
    struct logql_run *run, const struct pick *pk, int64_t lo, int64_t hi,
    line_fn fn, void *arg)
{
	struct lines s = { c, run, pk->ls, lo, hi, fn, arg, 0, 0 };
	const char *const *nv = NULL;
	size_t nn = 0;
	int rc;

	if (lo >= hi)
		return 0;
	if (pipe != NULL)
		logql_pipeline_needles(pipe, &nv, &nn);
	rc = logs_scan_time_needles(c->l, pk->id, lo, hi, nv, nn,
	    lines_record, &s);
	if (s.rc != 0)
		return s.rc < 0 ? s.rc : 0;
	if (rc == -ENOENT)
		return 0;	/* removed meanwhile */
	return rc;
}

/* ---- log queries ---- */

struct ent {
	int64_t		 ts;
	uint64_t	 seq;		/* the order read, to keep ties stable */
	size_t		 set;		/* index in sets */
	char		*line;
	size_t		 len;
};

/* The label sets entries end with, by hash. */
struct sets {
	struct labels	**v;
	size_t		 n, cap;
	size_t		*slot;		/* open addressing: index + 1, 0 empty */
	size_t		 slots;
	size_t		 last;		/* the last set found */
};

static size_t
sets_find(struct sets *s, const struct labels *ls)
{
	uint64_t h;
	size_t i;

	if (s->n > 0 && labels_equal(ls, s->v[s->last]))
		return s->last;	/* the pipeline mostly gives one set on */
	if (s->n * 2 >= s->slots) {
		size_t nslots = s->slots ? s->slots * 2 : 64;

		free(s->slot);
		s->slot = xcalloc(nslots, sizeof(*s->slot));
		s->slots = nslots;
		for (size_t k = 0; k < s->n; k++) {
			i = labels_hash(s->v[k]) & (nslots - 1);
			while (s->slot[i] != 0)
				i = (i + 1) & (nslots - 1);
			s->slot[i] = k + 1;
		}
	}
	h = labels_hash(ls);
	for (i = h & (s->slots - 1); s->slot[i] != 0; i = (i + 1) & (s->slots - 1))
		if (labels_equal(s->v[s->slot[i] - 1], ls))
			goto found;
	if (s->n == s->cap)
		s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n] = labels_dup(ls);
	s->slot[i] = ++s->n;
found:
	s->last = s->slot[i] - 1;
	return s->last;
}

static void
sets_free(struct sets *s)
{
	for (size_t i = 0; i < s->n; i++)
		labels_free(s->v[i]);
	free(s->v);
	free(s->slot);
}

struct logq {
	struct ctx	*c;
	struct sets	 sets;
	struct ent	*e;
	size_t		 n, cap;
	uint64_t	 seq;
	size_t		 limit;
	size_t		 stream_kept;	/* of the stream being read */
	int		 forward;
};

static int
logq_line(void *arg, int64_t ts, const struct logql_out *out)
{
	struct logq *q = arg;
	struct ent *e;

	if (q->n == q->cap)
		q->e = xgrow(q->e, &q->cap, q->n + 1, sizeof(*q->e));
	e = &q->e[q->n++];
	e->ts = ts;
	e->seq = q->seq++;
	e->set = sets_find(&q->sets, out->ls);
	e->line = xstrndup(out->line, out->len);
	e->len = out->len;
	/*
	 * FORWARD: a stream's records come in time order but for late
	 * entries; once it has given the limit, the rest is left (an
	 * approximation only for entries late by more than the stream's
	 * newest limit ones span).
	 */
	if (q->forward && ++q->stream_kept >= q->limit)
		return 1;
	return 0;
}

static int
ent_cmp_fwd(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
ent_cmp_bwd(const void *a, const void *b)
{
	return ent_cmp_fwd(b, a);
}

static int
stream_cmp(const void *a, const void *b)
{
	const struct logql_stream *x = a, *y = b;

	return labels_compare(x->ls, y->ls);
}

/* Keep the first limit entries in the direction's order, free the rest. */
static void
logq_trim(struct logq *q)
{
	if (q->n > 1)	/* q->e may be NULL, which qsort may not be given */
		qsort(q->e, q->n, sizeof(*q->e), q->forward ? ent_cmp_fwd :
		    ent_cmp_bwd);
	for (size_t i = q->limit; i < q->n; i++)
		free(q->e[i].line);
	if (q->n > q->limit)
		q->n = q->limit;
}

/* The entries q holds, grouped by set into r's streams, in their order. */
static int
logq_result(struct logq *q, struct logql_result *r)
{
	size_t *count, *at;

	count = xcalloc(q->sets.n + 1, sizeof(*count));
	at = xcalloc(q->sets.n + 1, sizeof(*at));
	for (size_t i = 0; i < q->n; i++)
		count[q->e[i].set]++;
	r->streams = xcalloc(q->sets.n + 1, sizeof(*r->streams));
	for (size_t k = 0; k < q->sets.n; k++) {
		if (count[k] == 0)
			continue;
		at[k] = r->nstreams;
		r->streams[r->nstreams].ls = labels_dup(q->sets.v[k]);
		r->streams[r->nstreams].e = xcalloc(count[k],
		    sizeof(struct logql_entry));
		r->nstreams++;
	}
	for (size_t i = 0; i < q->n; i++) {
		struct logql_stream *s = &r->streams[at[q->e[i].set]];

		s->e[s->n].ts_ns = q->e[i].ts;
		s->e[s->n].line = q->e[i].line;
		s->e[s->n].len = q->e[i].len;
		s->e[s->n].seq = q->e[i].seq;
		s->n++;
		q->e[i].line = NULL;
	}
	qsort(r->streams, r->nstreams, sizeof(*r->streams), stream_cmp);
	r->stats.entries = q->n;
	free(at);
	free(count);
	return 0;
}

static void
logq_release(struct logq *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->e[i].line);
	free(q->e);
	sets_free(&q->sets);
}

static int
eval_log(struct ctx *c, const struct logql_expr *e, struct logql_result *r)
{
	const struct logql_opts *o = c->o;
	struct logq q = { .c = c };
	struct picks p;
	struct logql_run *run;
	int64_t lo, hi, slice;
	int rc;

	q.limit = o->limit;
	q.forward = o->dir == LOGQL_FORWARD;
	if ((rc = pick_streams(c, e->log.sel, &p)) != 0) {
		picks_free(&p);
		return rc;
	}
	run = logql_run_new(e->log.pipe);
	if (q.forward || q.limit == SIZE_MAX) {
		for (size_t i = 0; i < p.n && rc == 0; i++) {
			q.stream_kept = 0;
			rc = scan_lines(c, e->log.pipe, run, &p.v[i],
			    o->start_ns, o->end_ns, logq_line, &q);
			if (rc == 0 && q.n > q.limit)
				logq_trim(&q);
		}
	} else {
		/* backward: slices from the end, each twice the last */
		hi = o->end_ns;
		slice = 60LL * 1000000000;
		while (rc == 0 && hi > o->start_ns) {
			lo = hi - o->start_ns <= slice ? o->start_ns :
			    hi - slice;
			for (size_t i = 0; i < p.n && rc == 0; i++)
				rc = scan_lines(c, e->log.pipe, run, &p.v[i],
				    lo, hi, logq_line, &q);
			if (rc != 0 || q.n >= q.limit)
				break;
			hi = lo;
			if (slice < INT64_MAX / 2)
				slice *= 2;
		}
	}
	logql_run_free(run);
	picks_free(&p);
	if (rc == 0)
		logq_trim(&q);

	if (rc == 0)
		rc = logq_result(&q, r);
	logq_release(&q);
	return rc;
}

/* ---- following ---- */

struct tail_stream {
	uint64_t	 id;
	uint64_t	 off;		/* read up to here */
};

struct logql_tail {
	struct logs	*l;
	const struct logql_expr *e;
	struct logql_run *run;
	struct tail_stream *v;		/* by id */
	size_t		 n, cap;
	uint64_t	 seq;		/* of the entries given */
};

static struct tail_stream *
tail_find(struct logql_tail *t, uint64_t id)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->n && t->v[lo].id == id)
		return &t->v[lo];
	if (t->n == t->cap)
		t->v = xgrow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
	t->n++;
	t->v[lo].id = id;
	t->v[lo].off = 0;
	return &t->v[lo];
}

int
logql_tail_new(struct logs *l, const struct logql_expr *e,
    struct logql_tail **out)
{
	struct logql_opts o = { 0 };
	struct logql_stats st = { 0 };
	struct ctx c = { .l = l, .o = &o, .stats = &st };
	struct logql_tail *t;
	struct logs_attr a;
	struct picks p;
	int rc;

	*out = NULL;
	if (!e->is_log)
		return err_set(-EINVAL, "only log queries can be followed");
	c.deadline_ns = clock_mono_ns() + (int64_t)LOGQL_TIMEOUT_MS * 1000000;
	if ((rc = pick_streams(&c, e->log.sel, &p)) != 0) {
		picks_free(&p);
		return rc;
	}
	t = xcalloc(1, sizeof(*t));
	t->l = l;
	t->e = e;
	t->run = logql_run_new(e->log.pipe);
	for (size_t i = 0; i < p.n; i++)
		if (logs_getattr(l, p.v[i].id, &a) == 0)
			tail_find(t, p.v[i].id)->off = a.size;
	picks_free(&p);
	*out = t;
	return 0;
}

struct tail_scan {
	struct lines	 lines;
	struct logq	*q;
	uint64_t	 next;
};

/* A record's lines, whatever their times; stops past the limit. */
static int
tail_record(void *arg, uint64_t off, const void *data, size_t len,
    int64_t ts)
{
	struct tail_scan *ts_ = arg;
	int rc;

	if ((rc = lines_record(&ts_->lines, off, data, len, ts)) != 0)
		return rc;
	ts_->next = off + len;
	return ts_->q->n >= ts_->q->limit ? 1 : 0;
}

int
logql_tail_poll(struct logql_tail *t, size_t limit, struct logql_result **out)
{
	struct logql_opts o = { 0 };
	struct logql_result *r;
	struct logq q = { 0 };
	struct ctx c = { 0 };
	struct logs_attr a;
	struct picks p;
	int64_t t0 = clock_mono_ns();
	int rc;

	*out = NULL;
	r = xcalloc(1, sizeof(*r));
	r->is_log = 1;
	c.l = t->l;
	c.o = &o;
	c.stats = &r->stats;
	c.deadline_ns = t0 + (int64_t)LOGQL_TIMEOUT_MS * 1000000;
	q.c = &c;
	q.limit = limit > 0 ? limit : LOGQL_LIMIT_MAX;
	q.forward = 0;		/* the limit is taken a record at a time */
	q.seq = t->seq;
	if ((rc = pick_streams(&c, t->e->log.sel, &p)) != 0)
		goto out;
	for (size_t i = 0; i < p.n && rc == 0 && q.n < q.limit; i++) {
		struct tail_stream *ts = tail_find(t, p.v[i].id);
		struct tail_scan sc = { { &c, t->run, p.v[i].ls, INT64_MIN,
		    INT64_MAX, logq_line, &q, 0, 0 }, &q, 0 };
		uint64_t next;

		if (logs_getattr(t->l, ts->id, &a) != 0)
			continue;
		if (a.size < ts->off)
			ts->off = 0;		/* truncated: from its new start */
		if (a.size == ts->off)
			continue;
		sc.next = ts->off;
		q.stream_kept = 0;
		rc = logs_scan(t->l, ts->id, ts->off, a.size, SIZE_MAX,
		    SIZE_MAX, tail_record, &sc, &next);
		if (sc.lines.rc < 0)
			rc = sc.lines.rc;
		if (rc == -ENOENT)
			rc = 0;
		ts->off = sc.next;
	}
	picks_free(&p);
	t->seq = q.seq;
out:
	if (rc == 0)
		rc = logq_result(&q, r);
	logq_release(&q);
	r->stats.exec_ns = clock_mono_ns() - t0;
	if (rc != 0) {
		logql_result_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
logql_tail_free(struct logql_tail *t)
{
	if (t == NULL)
		return;
	logql_run_free(t->run);
	free(t->v);
	free(t);
}

/* ---- range aggregations ---- */

struct rseries {
	const struct labels *ls;	/* interned */
	double		*sum;		/* additive: differences, then sums */
	int64_t		*cnt;		/* additive: lines in each window */
	int64_t		*ts;		/* the others: samples, ns */
	double		*v;
	size_t		 n, cap;
	int		 sorted;
};

struct ragg {
	struct ctx	*c;
	struct pq_eval	*ev;
	const struct lq_range *r;
	int64_t		 start_ns, step_ns;	/* of the steps */
	size_t		 nsteps;
	int		 additive;
	struct rseries	*s;
	size_t		 n, cap;
	struct pq_pmap	 by_set;		/* interned set -> index + 1 */
	const struct labels *last_in;		/* the pipeline's last set, interned */
	size_t		 last;
	int		 have_last;
	struct buf	 scratch;
};

/* The set a sample of interned set ls counts under: by/without applied, interned. */
static const struct labels *
sample_set(struct ragg *a, const struct labels *ls)
{
	const struct lq_range *r = a->r;

	if (r->grouped)
		return pq_labels_subset(a->ev, ls, r->grouping, r->ngrouping,
		    !r->without);
	if (r->pushed)
		return pq_labels_subset(a->ev, ls, r->pushed->agg.grouping.names,
		    r->pushed->agg.grouping.n, !r->pushed->agg.without);
	return ls;
}

static int
series_of(struct ragg *a, const struct labels *out_ls, size_t *idx)
{
	const struct labels *ls, *in;
	uintptr_t *slot;
	int created, rc;

	/* the pipeline mostly gives one set on while labels do not change */
	if (a->have_last && labels_equal(out_ls, a->last_in)) {
		*idx = a->last;
		return 0;
	}
	/* what PromQL's label functions take: interned sets only */
	in = pq_intern(a->ev, labels_dup(out_ls));
	if ((ls = sample_set(a, in)) == NULL)
		return -EINVAL;
	slot = pq_pmap_get(&a->by_set, ls, &created);
	if (created) {
		struct rseries *s;

		/* a series' steps count as samples, as PromQL counts them */
		if (a->additive && (rc = pq_account(a->ev,
		    (int64_t)a->nsteps)) != 0)
			return rc;
		if (a->n == a->cap)
			a->s = xgrow(a->s, &a->cap, a->n + 1, sizeof(*a->s));
		s = &a->s[a->n];
		memset(s, 0, sizeof(*s));
		s->ls = ls;
		if (a->additive) {
			s->sum = xcalloc(a->nsteps + 1, sizeof(*s->sum));
			s->cnt = xcalloc(a->nsteps + 1, sizeof(*s->cnt));
		}
		*slot = ++a->n;
	}
	a->last_in = in;
	a->last = *slot - 1;
	a->have_last = 1;
	*idx = a->last;
	return 0;
}

static int
ragg_line(void *arg, int64_t ts, const struct logql_out *out)
{
	struct ragg *a = arg;
	const struct lq_range *r = a->r;
	const struct label *err;
	struct rseries *s;
	size_t idx = 0;
	double v;
	int rc;

	if ((err = labels_find(out->ls, "__error__", 9)) != NULL) {
		buf_reset(&a->scratch);
		labels_file_name(out->ls, &a->scratch);
		return err_set(-EDOM, "pipeline error: '%s' for series: '%s'. "
		    "Use a label filter to intercept this error. "
		    "(e.g | __error__=\"\")", err->value, buf_str(&a->scratch));
	}
	if ((rc = series_of(a, out->ls, &idx)) != 0)
		return rc;
	s = &a->s[idx];
	switch (r->op) {
	case LQ_BYTES_OVER_TIME:
	case LQ_BYTES_RATE:
		v = (double)out->len;
		break;
	case LQ_COUNT_OVER_TIME:
	case LQ_ABSENT_OVER_TIME:
		v = 1;
		break;
	case LQ_RATE:
		v = out->has_value ? out->value : 1;
		break;
	default:
		v = out->has_value ? out->value : 0;
		break;
	}
	if (a->additive) {
		/* the steps whose window (T - range, T] holds ts */
		int64_t base = ts + r->offset_ns - a->start_ns;
		int64_t lo, hi;

		lo = base <= 0 ? 0 : (base + a->step_ns - 1) / a->step_ns;
		base += r->range_ns;
		hi = base <= 0 ? -1 : (base + a->step_ns - 1) / a->step_ns - 1;
		if (hi >= (int64_t)a->nsteps)
			hi = (int64_t)a->nsteps - 1;
		if (lo > hi)
			return 0;
		s->sum[lo] += v;
		s->sum[hi + 1] -= v;
		s->cnt[lo]++;
		s->cnt[hi + 1]--;
		return 0;
	}
	if ((rc = pq_account(a->ev, 1)) != 0)
		return rc;
	if (s->n == s->cap) {
		size_t cap = s->cap;

		s->ts = xgrow(s->ts, &cap, s->n + 1, sizeof(*s->ts));
		s->v = xrealloc(s->v, cap * sizeof(*s->v));
		s->cap = cap;
	}
	if (s->n > 0 && ts < s->ts[s->n - 1])
		s->sorted = 0;
	else if (s->n == 0)
		s->sorted = 1;
	s->ts[s->n] = ts;
	s->v[s->n] = v;
	s->n++;
	return 0;
}

static int
sample_cmp(const void *a, const void *b)
{
	const struct pq_point *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* The PromQL window function an unwrapped aggregation is. */
static const char *
window_name(enum lq_op op)
{
	switch (op) {
	case LQ_SUM_OVER_TIME:		return "sum_over_time";
	case LQ_AVG_OVER_TIME:		return "avg_over_time";
	case LQ_MIN_OVER_TIME:		return "min_over_time";
	case LQ_MAX_OVER_TIME:		return "max_over_time";
	case LQ_STDDEV_OVER_TIME:	return "stddev_over_time";
	case LQ_STDVAR_OVER_TIME:	return "stdvar_over_time";
	case LQ_QUANTILE_OVER_TIME:	return "quantile_over_time";
	case LQ_FIRST_OVER_TIME:	return "first_over_time";
	case LQ_LAST_OVER_TIME:		return "last_over_time";
	case LQ_RATE_COUNTER:		return "rate";
	default:			return NULL;
	}
}

/* An unwrapped series' windows, through PromQL's window function. */
static int
window_series(struct ragg *a, struct rseries *s, const struct pq_funcdef *fd,
    struct pq_series *outs)
{
	const struct lq_range *r = a->r;
	struct pq_point *pts, *ms;
	size_t lo = 0, hi = 0;
	int rc = 0;

	/*
	 * The samples by time, in ns for the windows' edges (pts) and in ms
	 * for the function (ms, the same order): a window is a slice of both
	 */
	pts = xmalloc((s->n + 1) * sizeof(*pts));
	ms = xmalloc((s->n + 1) * sizeof(*ms));
	for (size_t i = 0; i < s->n; i++) {
		pts[i].t = s->ts[i];
		pts[i].v = s->v[i];
	}
	if (!s->sorted)
		qsort(pts, s->n, sizeof(*pts), sample_cmp);
	for (size_t i = 0; i < s->n; i++) {
		ms[i].t = pts[i].t / 1000000;
		ms[i].v = pts[i].v;
	}
	for (size_t i = 0; i < a->nsteps; i++) {
		int64_t T = a->start_ns + (int64_t)i * a->step_ns - r->offset_ns;
		struct pq_window w = { 0 };
		double v;

		while (lo < s->n && pts[lo].t <= T - r->range_ns)
			lo++;
		if (hi < lo)
			hi = lo;
		while (hi < s->n && pts[hi].t <= T)
			hi++;
		if (hi == lo)
			continue;
		w.p = ms + lo;
		w.n = hi - lo;
		w.start = (T - r->range_ns) / 1000000;
		w.end = T / 1000000;
		w.t = (a->start_ns + (int64_t)i * a->step_ns) / 1000000;
		w.s[0] = r->param;
		w.ls = s->ls;
		rc = fd->window(a->ev, &w, &v);
		if (rc < 0)
			break;
		if (rc > 0) {
			if ((rc = pq_account(a->ev, 1)) != 0)
				break;
			pq_series_push(outs, w.t, v);
		}
		rc = 0;
	}
	free(pts);
	free(ms);
	return rc;
}

/* The labels absent_over_time answers with: the selector's equalities. */
static const struct labels *
absent_set(struct ragg *a)
{
	const struct selector *sel = a->r->log.sel;
	struct label pairs[SELECTOR_MATCHERS_MAX];
	struct labels *ls;
	size_t n = 0;

	for (size_t i = 0; i < selector_count(sel); i++) {
		const struct matcher *m = selector_at(sel, i);
		size_t len;
		const char *v;

		if (matcher_op(m) != MATCHER_EQ)
			continue;
		v = matcher_value(m, &len);
		pairs[n].name = matcher_name(m);
		pairs[n].name_len = strlen(pairs[n].name);
		pairs[n].value = v;
		pairs[n].value_len = len;
		/* a name given twice: the first */
		for (size_t k = 0; k < n; k++)
			if (strcmp(pairs[k].name, pairs[n].name) == 0)
				goto next;
		n++;
next:		;
	}
	if (labels_new(pairs, n, LABELS_RESERVED, &ls) != 0)
		ls = NULL;
	if (ls == NULL && labels_new(NULL, 0, 0, &ls) != 0)
		return NULL;
	return pq_intern(a->ev, ls);
}

int
lq_range_eval(void *arg, struct pq_eval *ev, const void *node,
    struct pq_matrix *out)
{
	struct ctx *c = arg;
	const struct lq_range *r = node;
	struct ragg a = { .c = c, .ev = ev, .r = r };
	const struct pq_funcdef *fd = NULL;
	struct logql_run *run;
	struct picks p;
	int64_t start, end, step, lo, hi;
	size_t nsteps;
	int rc;

	pq_steps(ev, &start, &end, &step, &nsteps);
	a.start_ns = start * 1000000;
	a.step_ns = step * 1000000;
	a.nsteps = nsteps;
	a.additive = r->op < LQ_UNWRAP_FIRST;
	buf_init(&a.scratch, 0);
	if (!a.additive && (fd = pq_func(window_name(r->op))) == NULL)
		return err_set(-EINVAL, "%s is not implemented",
		    lq_range_names[r->op]);
	if ((rc = pick_streams(c, r->log.sel, &p)) != 0) {
		picks_free(&p);
		return rc;
	}
	/* samples of (first step - range, last step], in ns, [lo, hi) */
	lo = a.start_ns - r->offset_ns - r->range_ns + 1;
	hi = end * 1000000 - r->offset_ns + 1;
	run = logql_run_new(r->log.pipe);
	/* only the labels the samples are grouped by are needed */
	if (r->grouped)
		rc = logql_run_want(run, (const char *const *)r->grouping,
		    r->ngrouping, r->without);
	else if (r->pushed)
		rc = logql_run_want(run,
		    (const char *const *)r->pushed->agg.grouping.names,
		    r->pushed->agg.grouping.n, r->pushed->agg.without);
	for (size_t i = 0; i < p.n && rc == 0; i++) {
		a.have_last = 0;
		rc = scan_lines(c, r->log.pipe, run, &p.v[i], lo, hi,
		    ragg_line, &a);
	}
	logql_run_free(run);
	picks_free(&p);

	for (size_t k = 0; k < a.n && rc == 0; k++) {
		struct rseries *s = &a.s[k];
		struct pq_series ps = { .ls = s->ls };
		double sum = 0, range_s = (double)r->range_ns / 1e9;
		int64_t cnt = 0;

		if (r->op == LQ_ABSENT_OVER_TIME)
			break;
		if (!a.additive) {
			rc = window_series(&a, s, fd, &ps);
		} else {
			for (size_t i = 0; i < nsteps; i++) {
				sum += s->sum[i];
				cnt += s->cnt[i];
				if (cnt <= 0)
					continue;
				if ((rc = pq_account(ev, 1)) != 0)
					break;
				pq_series_push(&ps, start + (int64_t)i * step,
				    r->op == LQ_RATE || r->op == LQ_BYTES_RATE ?
				    sum / range_s : sum);
			}
		}
		if (rc != 0 || ps.n == 0) {
			free(ps.p);
			continue;
		}
		if (out->n == out->cap)
			out->s = xgrow(out->s, &out->cap, out->n + 1,
			    sizeof(*out->s));
		out->s[out->n++] = ps;
	}
	if (rc == 0 && r->op == LQ_ABSENT_OVER_TIME) {
		/* 1 at the steps where no series has a line */
		struct pq_series ps = { 0 };
		int64_t *total = xcalloc(nsteps + 1, sizeof(*total));

		for (size_t k = 0; k < a.n; k++) {
			int64_t cnt = 0;

			for (size_t i = 0; i < nsteps; i++) {
				cnt += a.s[k].cnt[i];
				total[i] += cnt;
			}
		}
		for (size_t i = 0; i < nsteps && rc == 0; i++)
			if (total[i] == 0 && (rc = pq_account(ev, 1)) == 0)
				pq_series_push(&ps, start + (int64_t)i * step, 1);
		free(total);
		if (rc == 0 && ps.n > 0 && (ps.ls = absent_set(&a)) != NULL) {
			out->s = xgrow(out->s, &out->cap, out->n + 1,
			    sizeof(*out->s));
			out->s[out->n++] = ps;
		} else
			free(ps.p);
	}
	for (size_t k = 0; k < a.n; k++) {
		pq_account(ev, -(int64_t)(a.additive ? a.nsteps : a.s[k].n));
		free(a.s[k].sum);
		free(a.s[k].cnt);
		free(a.s[k].ts);
		free(a.s[k].v);
	}
	free(a.s);
	pq_pmap_free(&a.by_set);
	buf_release(&a.scratch);
	return rc;
}

/* ---- the query ---- */

int
logql_eval(struct logs *l, const struct logql_expr *e,
    const struct logql_opts *o, struct logql_result **out)
{
	struct logql_opts opts = *o;
	struct logql_result *r;
	struct ctx c = { 0 };
	int64_t t0 = clock_mono_ns();
	int rc;

	*out = NULL;
	if (opts.end_ns < opts.start_ns)
		return err_set(-EINVAL, "end timestamp must not be before or "
		    "equal to start time");
	if (opts.limit == 0)
		opts.limit = LOGQL_LIMIT_DEFAULT;
	if (opts.timeout_ms <= 0)
		opts.timeout_ms = LOGQL_TIMEOUT_MS;
	r = xcalloc(1, sizeof(*r));
	c.l = l;
	c.o = &opts;
	c.stats = &r->stats;
	c.deadline_ns = t0 + opts.timeout_ms * 1000000;
	c.max_series = opts.max_series > 0 ? opts.max_series : LOGQL_MAX_SERIES;
	r->is_log = e->is_log;
	if (e->is_log) {
		rc = eval_log(&c, e, r);
	} else {
		struct promql_opts po = { 0 };

		po.timeout_ms = opts.timeout_ms;
		po.cancelled = opts.cancelled;
		po.cancel_arg = opts.cancel_arg;
		po.ext_arg = &c;
		if (opts.step_ns == 0)
			rc = promql_eval_instant(NULL, e->metric,
			    opts.end_ns / 1000000, &po, &r->metric);
		else
			rc = promql_eval_range(NULL, e->metric,
			    opts.start_ns / 1000000, opts.end_ns / 1000000,
			    opts.step_ns / 1000000 > 0 ?
			    opts.step_ns / 1000000 : 1, &po, &r->metric);
		if (rc == 0 && r->metric->n > c.max_series)
			rc = err_set(-EDOM, "maximum of series (%zu) reached "
			    "for a single query", c.max_series);
	}
	r->stats.exec_ns = clock_mono_ns() - t0;
	if (rc != 0) {
		logql_result_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
logql_result_free(struct logql_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nstreams; i++) {
		for (size_t k = 0; k < r->streams[i].n; k++)
			free(r->streams[i].e[k].line);
		free(r->streams[i].e);
		labels_free(r->streams[i].ls);
	}
	free(r->streams);
	if (r->metric != NULL)
		promql_result_free(r->metric);
	free(r);
}
