/*
 * promql_eval.c - evaluating a PromQL tree over the metric series, as
 * Prometheus 3's engine does (see promql_eval.h for the shape of it).
 *
 * The times: an instant query is evaluated as one step at t; a range
 * query at start, start + step, ... up to end. A vector selector's value
 * at a step is the newest sample in (ref - lookback, ref], where ref is
 * the step's time (or the @ time) less the offset, unless that sample is
 * a stale marker. A range vector's window at a step is (ref - range,
 * ref], stale markers left out. A subquery is evaluated once over all
 * the steps it needs, at times aligned to its own step (the first after
 * the first window's start), and its windows are cut from that.
 *
 * Reading: a selector reads the samples of each series it matches over
 * the whole range the query needs of it, one series at a time (only
 * those chunks are fetched, through the engine's block cache), and keeps
 * only the points of its steps: memory grows with the series and the
 * steps, not with the samples scanned.
 *
 * Limits: samples in memory at once are counted as Prometheus counts
 * them (the points of the matrices alive, the windows being read), the
 * clock and the cancel callback are checked every step and every series.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/chunk.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series.h"
#include "query/promql_eval.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define SUBQUERY_STEP_MS	60000	/* a subquery's step when none is given */

struct pq_eval {
	struct series	*store;
	/* the current evaluation's steps (a subquery's inside one) */
	int64_t		 start, end, interval;
	size_t		 nsteps;
	/* the query's own, for @ start() and end() */
	int64_t		 q_start, q_end;
	int64_t		 lookback;
	uint64_t	 max_samples;
	int64_t		 cur_samples;
	int64_t		 deadline_ns;
	int		(*cancelled)(void *arg);
	void		*cancel_arg;
	int64_t		 polled_ns;		/* the last call of cancelled */
	void		*ext_arg;		/* promql_opts' */
	struct promql_stats stats;

	/* interned label sets: open addressing by their hash */
	const struct labels **iset;
	size_t		 icap, in;
	struct pq_pmap	 noname;		/* set -> set without __name__ */
	const struct labels *empty;

	char		**warn, **info;
	size_t		 nwarn, ninfo;
};

/* The value of a node over the current steps. */
struct pq_value {
	enum promql_type type;
	struct pq_matrix m;		/* an instant vector */
	double		*sv;		/* a scalar: nsteps values */
	const char	*str;		/* a string: the tree's */
};

static int eval(struct pq_eval *ev, const struct promql_node *e,
	    struct pq_value *out);

/* ---- small things ---- */

static const struct promql_node *
unparen(const struct promql_node *e)
{
	while (e->kind == PROMQL_PAREN)
		e = e->paren.expr;
	return e;
}

void
pq_vector_push(struct pq_vector *v, const struct labels *ls, double x,
    int drop_name)
{
	if (v->n == v->cap)
		v->s = xgrow(v->s, &v->cap, v->n + 1, sizeof(*v->s));
	v->s[v->n].ls = ls;
	v->s[v->n].v = x;
	v->s[v->n].drop_name = drop_name;
	v->n++;
}

void
pq_steps(const struct pq_eval *ev, int64_t *start, int64_t *end,
    int64_t *step, size_t *n)
{
	*start = ev->start;
	*end = ev->end;
	*step = ev->interval;
	*n = ev->nsteps;
}

void
pq_series_push(struct pq_series *s, int64_t t, double v)
{
	if (s->n == s->cap)
		s->p = xgrow(s->p, &s->cap, s->n + 1, sizeof(*s->p));
	s->p[s->n].t = t;
	s->p[s->n].v = v;
	s->n++;
}

static void
series_push(struct pq_series *s, int64_t t, double v)
{
	if (s->n == s->cap)
		s->p = xgrow(s->p, &s->cap, s->n + 1, sizeof(*s->p));
	s->p[s->n].t = t;
	s->p[s->n].v = v;
	s->n++;
}

static size_t
matrix_points(const struct pq_matrix *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->s[i].n;
	return n;
}

static void
matrix_free(struct pq_eval *ev, struct pq_matrix *m)
{
	pq_account(ev, -(int64_t)matrix_points(m));
	for (size_t i = 0; i < m->n; i++)
		free(m->s[i].p);
	free(m->s);
	memset(m, 0, sizeof(*m));
}

static void
value_free(struct pq_eval *ev, struct pq_value *v)
{
	matrix_free(ev, &v->m);
	if (v->sv != NULL)
		pq_account(ev, -(int64_t)ev->nsteps);
	free(v->sv);
	memset(v, 0, sizeof(*v));
}

static int64_t
step_time(const struct pq_eval *ev, size_t i)
{
	return ev->start + (int64_t)i * ev->interval;
}

int
pq_account(struct pq_eval *ev, int64_t n)
{
	ev->cur_samples += n;
	if (n > 0 && (uint64_t)ev->cur_samples > ev->stats.peak_samples)
		ev->stats.peak_samples = (uint64_t)ev->cur_samples;
	if (n > 0 && (uint64_t)ev->cur_samples > ev->max_samples)
		return err_set(-EDOM, "query processing would load too many "
		    "samples into memory in query execution");
	return 0;
}

static int check_alive(struct pq_eval *ev);

/* Every so many steps of a loop over steps, the clock is looked at. */
#define ALIVE_EVERY	4096

/*
 * A scalar's values for the steps: counted first, so that a subquery of
 * a trillion steps fails on the limit instead of on malloc.
 */
static int
steps_alloc(struct pq_eval *ev, double **out)
{
	int rc;

	*out = NULL;
	if ((rc = pq_account(ev, (int64_t)ev->nsteps)) != 0) {
		pq_account(ev, -(int64_t)ev->nsteps);
		return rc;
	}
	*out = xmalloc((ev->nsteps + 1) * sizeof(double));
	return 0;
}

int
pq_check_alive(struct pq_eval *ev)
{
	return check_alive(ev);
}

/* The clock and the client: 0, -ETIMEDOUT or -ECANCELED. */
static int
check_alive(struct pq_eval *ev)
{
	int64_t now = clock_mono_ns();

	if (now > ev->deadline_ns)
		return err_set(-ETIMEDOUT,
		    "query timed out in expression evaluation");
	/* the callback may cost a system call: every 10 ms at most */
	if (ev->cancelled != NULL && now - ev->polled_ns > 10000000) {
		ev->polled_ns = now;
		if (ev->cancelled(ev->cancel_arg))
			return err_set(-ECANCELED,
			    "query was canceled in expression evaluation");
	}
	return 0;
}

/* ---- interned label sets ---- */

static void
intern_grow(struct pq_eval *ev)
{
	size_t cap = ev->icap ? ev->icap * 2 : 1024;
	const struct labels **v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < ev->icap; i++) {
		const struct labels *ls = ev->iset[i];
		size_t j;

		if (ls == NULL)
			continue;
		for (j = labels_hash(ls) & (cap - 1); v[j] != NULL;
		    j = (j + 1) & (cap - 1))
			;
		v[j] = ls;
	}
	free(ev->iset);
	ev->iset = v;
	ev->icap = cap;
}

const struct labels *
pq_intern(struct pq_eval *ev, struct labels *ls)
{
	uint64_t h = labels_hash(ls);
	size_t j;

	if ((ev->in + 1) * 4 > ev->icap * 3)
		intern_grow(ev);
	for (j = h & (ev->icap - 1); ev->iset[j] != NULL;
	    j = (j + 1) & (ev->icap - 1)) {
		const struct labels *o = ev->iset[j];

		if (labels_hash(o) == h && labels_equal(o, ls)) {
			if (o != ls)
				labels_free(ls);
			return o;
		}
	}
	ev->iset[j] = ls;
	ev->in++;
	return ls;
}

static const struct labels *
intern_pairs(struct pq_eval *ev, const struct label *v, size_t n)
{
	struct labels *ls;

	if (labels_new(v, n, LABELS_RESERVED, &ls) != 0)
		return NULL;
	return pq_intern(ev, ls);
}

const struct labels *
pq_drop_name(struct pq_eval *ev, const struct labels *ls)
{
	struct label v[LABELS_COUNT_MAX];
	uintptr_t *slot;
	size_t n = 0, i;
	int created;

	if (labels_metric(ls) == NULL)
		return ls;
	slot = pq_pmap_get(&ev->noname, ls, &created);
	if (!created)
		return (const struct labels *)*slot;
	for (i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);

		if (strcmp(l->name, LABELS_METRIC_NAME) != 0)
			v[n++] = *l;
	}
	*slot = (uintptr_t)intern_pairs(ev, v, n);
	return (const struct labels *)*slot;
}

static int
name_in(const char *name, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

const struct labels *
pq_labels_subset(struct pq_eval *ev, const struct labels *ls,
    char *const *names, size_t n, int keep)
{
	struct label v[LABELS_COUNT_MAX];
	size_t k = 0;

	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);
		int in = name_in(l->name, names, n);

		if (keep ? in : !in && strcmp(l->name,
		    LABELS_METRIC_NAME) != 0)
			v[k++] = *l;
	}
	if (k == labels_count(ls))
		return ls;
	return intern_pairs(ev, v, k);
}

const struct labels *
pq_labels_set(struct pq_eval *ev, const struct labels *ls, const char *name,
    const char *value, size_t value_len)
{
	struct label v[LABELS_COUNT_MAX + 1];
	size_t k = 0;

	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);

		if (strcmp(l->name, name) != 0)
			v[k++] = *l;
	}
	if (value_len > 0) {
		v[k].name = name;
		v[k].name_len = strlen(name);
		v[k].value = value;
		v[k].value_len = value_len;
		k++;
	}
	return intern_pairs(ev, v, k);
}

/* ---- the pointer map ---- */

static size_t
pmap_hash(const void *key, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)key;

	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

uintptr_t *
pq_pmap_find(const struct pq_pmap *m, const void *key)
{
	if (m->cap == 0)
		return NULL;
	for (size_t j = pmap_hash(key, m->cap); m->key[j] != NULL;
	    j = (j + 1) & (m->cap - 1))
		if (m->key[j] == key)
			return &m->val[j];
	return NULL;
}

uintptr_t *
pq_pmap_get(struct pq_pmap *m, const void *key, int *created)
{
	size_t j;

	if ((m->n + 1) * 4 > m->cap * 3) {
		struct pq_pmap g;

		g.cap = m->cap ? m->cap * 2 : 64;
		g.key = xcalloc(g.cap, sizeof(*g.key));
		g.val = xcalloc(g.cap, sizeof(*g.val));
		g.n = m->n;
		for (size_t i = 0; i < m->cap; i++) {
			if (m->key[i] == NULL)
				continue;
			for (j = pmap_hash(m->key[i], g.cap); g.key[j] != NULL;
			    j = (j + 1) & (g.cap - 1))
				;
			g.key[j] = m->key[i];
			g.val[j] = m->val[i];
		}
		free(m->key);
		free(m->val);
		*m = g;
	}
	for (j = pmap_hash(key, m->cap); m->key[j] != NULL;
	    j = (j + 1) & (m->cap - 1))
		if (m->key[j] == key) {
			*created = 0;
			return &m->val[j];
		}
	m->key[j] = key;
	m->val[j] = 0;
	m->n++;
	*created = 1;
	return &m->val[j];
}

void
pq_pmap_free(struct pq_pmap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

/* ---- warnings ---- */

static void
note(struct pq_eval *ev, char ***v, size_t *n, const char *kind,
    const struct promql_node *at, const char *fmt, va_list ap)
{
	char msg[512], *s;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (at != NULL)
		s = xasprintf("PromQL %s: %s (1:%u)", kind, msg,
		    (unsigned)at->pos + 1);
	else
		s = xasprintf("PromQL %s: %s", kind, msg);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0) {
			free(s);
			return;
		}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
	(void)ev;
}

void
pq_warn(struct pq_eval *ev, const struct promql_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(ev, &ev->warn, &ev->nwarn, "warning", at, fmt, ap);
	va_end(ap);
}

void
pq_info(struct pq_eval *ev, const struct promql_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(ev, &ev->info, &ev->ninfo, "info", at, fmt, ap);
	va_end(ap);
}

/* ---- gathering a node's vectors into its matrix ---- */

/*
 * Output series by (set, drop_name): the key is the interned set's
 * pointer with its low bit for drop_name (sets are aligned).
 */
struct gather {
	struct pq_pmap	 idx;		/* key -> index + 1 in m */
	struct pq_matrix *m;
};

static int
gather_add(struct pq_eval *ev, struct gather *g, int64_t t,
    const struct pq_sample *s)
{
	const void *key = (const void *)((uintptr_t)s->ls |
	    (uintptr_t)(s->drop_name != 0));
	struct pq_series *out;
	uintptr_t *slot;
	int created, rc;

	slot = pq_pmap_get(&g->idx, key, &created);
	if (created) {
		struct pq_matrix *m = g->m;

		if (m->n == m->cap)
			m->s = xgrow(m->s, &m->cap, m->n + 1, sizeof(*m->s));
		memset(&m->s[m->n], 0, sizeof(m->s[m->n]));
		m->s[m->n].ls = s->ls;
		m->s[m->n].drop_name = s->drop_name;
		*slot = ++m->n;
	}
	out = &g->m->s[*slot - 1];
	if (out->n > 0 && out->p[out->n - 1].t == t)
		return err_set(-EDOM,
		    "vector cannot contain metrics with the same labelset");
	if ((rc = pq_account(ev, 1)) != 0)
		return rc;
	series_push(out, t, s->v);
	return 0;
}

/* The vector of series of m that have a point at t; cur[] walks them. */
static void
cut_step(const struct pq_matrix *m, size_t *cur, int64_t t,
    struct pq_vector *v)
{
	v->n = 0;
	for (size_t k = 0; k < m->n; k++) {
		const struct pq_series *s = &m->s[k];

		while (cur[k] < s->n && s->p[cur[k]].t < t)
			cur[k]++;
		if (cur[k] < s->n && s->p[cur[k]].t == t)
			pq_vector_push(v, s->ls, s->p[cur[k]].v, s->drop_name);
	}
}

/* One step of a node made of others: the args at step i, into out. */
typedef int (*step_cb)(struct pq_eval *ev, void *arg, size_t i, int64_t t,
	    struct pq_vector *const *vecs, struct pq_vector *out);

/*
 * Evaluate a node step by step over args (vectors cut by step; scalars
 * and strings are the callback's to read), gathering into out.
 */
static int
step_eval(struct pq_eval *ev, struct pq_value *args, size_t nargs, step_cb cb,
    void *cbarg, struct pq_matrix *out)
{
	struct pq_vector vecs[PQ_ARGS_MAX] = { { 0 } }, *vp[PQ_ARGS_MAX] = { 0 };
	struct pq_vector res = { 0 };
	size_t *cur[PQ_ARGS_MAX] = { 0 };
	struct gather g = { .m = out };
	int rc = 0;

	for (size_t j = 0; j < nargs && j < PQ_ARGS_MAX; j++)
		if (args[j].type == PROMQL_TYPE_VECTOR) {
			cur[j] = xcalloc(args[j].m.n + 1, sizeof(size_t));
			vp[j] = &vecs[j];
		}
	for (size_t i = 0; i < ev->nsteps; i++) {
		int64_t t = step_time(ev, i);

		if ((rc = check_alive(ev)) != 0)
			break;
		for (size_t j = 0; j < nargs && j < PQ_ARGS_MAX; j++)
			if (vp[j] != NULL)
				cut_step(&args[j].m, cur[j], t, vp[j]);
		res.n = 0;
		if ((rc = cb(ev, cbarg, i, t, vp, &res)) != 0)
			break;
		for (size_t k = 0; k < res.n; k++)
			if ((rc = gather_add(ev, &g, t, &res.s[k])) != 0)
				goto out;
	}
out:
	for (size_t j = 0; j < PQ_ARGS_MAX; j++) {
		free(cur[j]);
		free(vecs[j].s);
	}
	free(res.s);
	pq_pmap_free(&g.idx);
	return rc;
}

/* ---- selectors ---- */

struct loaded {
	struct pq_point	*p;
	size_t		 n, cap;
	int		 keep_stale;
};

static int
load_sample(void *arg, int64_t t, double v)
{
	struct loaded *l = arg;
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	if (bits == CHUNK_STALE_NAN && !l->keep_stale)
		return 0;
	if (l->n == l->cap)
		l->p = xgrow(l->p, &l->cap, l->n + 1, sizeof(*l->p));
	l->p[l->n].t = t;
	l->p[l->n].v = v;
	l->n++;
	return 0;
}

static int
is_stale(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == CHUNK_STALE_NAN;
}

struct ids {
	uint64_t	*v;
	size_t		 n, cap;
};

static int
collect_id(void *arg, uint64_t id, const struct labels *ls)
{
	struct ids *ids = arg;

	(void)ls;
	if (ids->n == ids->cap)
		ids->v = xgrow(ids->v, &ids->cap, ids->n + 1, sizeof(*ids->v));
	ids->v[ids->n++] = id;
	return 0;
}

static int
select_ids(struct pq_eval *ev, const struct promql_node *vs, struct ids *ids)
{
	struct selector *sel = vs->vs.sel;
	int rc;

	/* every series of the selector: scanning says which have samples */
	rc = series_select(ev->store, &sel, 1, 1, 0, collect_id, ids);
	if (rc != 0)
		return rc;
	ev->stats.series += ids->n;
	return 0;
}

/* The time a selector or subquery looks from at step t: @, then offset. */
static int64_t
ref_time(const struct pq_eval *ev, enum promql_at at, int64_t at_ms,
    int64_t offset_ms, int64_t t)
{
	switch (at) {
	case PROMQL_AT_TIME:	t = at_ms; break;
	case PROMQL_AT_START:	t = ev->q_start; break;
	case PROMQL_AT_END:	t = ev->q_end; break;
	case PROMQL_AT_NONE:	break;
	}
	return t - offset_ms;
}

static int
series_labels_of(struct pq_eval *ev, uint64_t id, const struct labels **out)
{
	struct labels *ls;
	int rc;

	if ((rc = series_labels(ev->store, id, &ls)) != 0)
		return rc;
	*out = pq_intern(ev, ls);
	return 0;
}

/*
 * An instant vector selector over the steps; with stamp, each value is
 * the time of its sample in seconds (timestamp(selector)).
 */
static int
eval_vector_selector(struct pq_eval *ev, const struct promql_node *e,
    int stamp, struct pq_matrix *out)
{
	struct ids ids = { 0 };
	struct loaded l = { .keep_stale = 1 };
	int64_t lo, hi;
	int rc;

	lo = ref_time(ev, e->vs.at, e->vs.at_ms, e->vs.offset_ms, ev->start);
	hi = ref_time(ev, e->vs.at, e->vs.at_ms, e->vs.offset_ms, ev->end);
	if ((rc = select_ids(ev, e, &ids)) != 0)
		goto out;
	for (size_t k = 0; k < ids.n; k++) {
		struct pq_series s = { 0 };
		size_t cur = 0;

		if ((rc = check_alive(ev)) != 0)
			break;
		l.n = 0;
		rc = series_scan(ev->store, ids.v[k], lo - ev->lookback + 1,
		    hi, load_sample, &l);
		if (rc != 0)
			break;
		ev->stats.samples += l.n;
		if (l.n == 0)
			continue;
		if ((rc = pq_account(ev, (int64_t)l.n)) != 0)
			break;
		for (size_t i = 0; i < ev->nsteps; i++) {
			int64_t t = step_time(ev, i);
			int64_t ref = ref_time(ev, e->vs.at, e->vs.at_ms,
			    e->vs.offset_ms, t);

			if (i % ALIVE_EVERY == ALIVE_EVERY - 1 &&
			    (rc = check_alive(ev)) != 0)
				break;
			/* refs ascend with the steps, or stand still (@) */
			if (cur > 0 && l.p[cur - 1].t > ref)
				cur = 0;
			while (cur < l.n && l.p[cur].t <= ref)
				cur++;
			if (cur == 0 || l.p[cur - 1].t <= ref - ev->lookback ||
			    is_stale(l.p[cur - 1].v))
				continue;
			if ((rc = pq_account(ev, 1)) != 0)
				break;
			series_push(&s, t, stamp ?
			    (double)l.p[cur - 1].t / 1000.0 : l.p[cur - 1].v);
		}
		pq_account(ev, -(int64_t)l.n);
		if (rc == 0 && s.n > 0)
			rc = series_labels_of(ev, ids.v[k], &s.ls);
		if (rc != 0 || s.n == 0) {
			pq_account(ev, -(int64_t)s.n);
			free(s.p);
			if (rc != 0)
				break;
			continue;
		}
		s.drop_name = stamp;
		if (out->n == out->cap)
			out->s = xgrow(out->s, &out->cap, out->n + 1,
			    sizeof(*out->s));
		out->s[out->n++] = s;
	}
out:
	free(ids.v);
	free(l.p);
	return rc;
}

/* ---- range vectors: a selector's samples or a subquery's points ---- */

/*
 * The source of windows: for each series, its points over the range the
 * steps need, and where the window of step t is.
 */
struct rsrc {
	const struct promql_node *node;	/* matrix selector or subquery */
	int64_t		 range, offset;
	enum promql_at	 at;
	int64_t		 at_ms;
	/* a selector: the ids, read one at a time */
	struct ids	 ids;
	const struct promql_node *vs;
	/* a subquery: its matrix */
	struct pq_matrix sm;
	int		 is_sq;
};

static int eval_subquery(struct pq_eval *ev, const struct promql_node *sq,
	    struct pq_matrix *out);

static int
rsrc_open(struct pq_eval *ev, const struct promql_node *e, struct rsrc *r)
{
	memset(r, 0, sizeof(*r));
	e = unparen(e);
	r->node = e;
	if (e->kind == PROMQL_MATRIX_SELECTOR) {
		r->vs = e->ms.vs;
		r->range = e->ms.range_ms;
		r->offset = r->vs->vs.offset_ms;
		r->at = r->vs->vs.at;
		r->at_ms = r->vs->vs.at_ms;
		return select_ids(ev, r->vs, &r->ids);
	}
	if (e->kind != PROMQL_SUBQUERY)
		return err_set(-EINVAL, "a range vector of kind %d", e->kind);
	r->is_sq = 1;
	r->range = e->sq.range_ms;
	r->offset = e->sq.offset_ms;
	r->at = e->sq.at;
	r->at_ms = e->sq.at_ms;
	return eval_subquery(ev, e, &r->sm);
}

static size_t
rsrc_count(const struct rsrc *r)
{
	return r->is_sq ? r->sm.n : r->ids.n;
}

/*
 * Series k's points over [lo, hi] into l (a selector's read, without
 * stale markers; a subquery's copied), its set and drop_name.
 */
static int
rsrc_load(struct pq_eval *ev, struct rsrc *r, size_t k, int64_t lo, int64_t hi,
    struct loaded *l, const struct labels **ls, int *drop)
{
	int rc;

	l->n = 0;
	if (r->is_sq) {
		const struct pq_series *s = &r->sm.s[k];

		for (size_t i = 0; i < s->n; i++)
			if (s->p[i].t >= lo && s->p[i].t <= hi)
				load_sample(l, s->p[i].t, s->p[i].v);
		*ls = s->ls;
		*drop = s->drop_name;
		return pq_account(ev, (int64_t)l->n);
	}
	rc = series_scan(ev->store, r->ids.v[k], lo, hi, load_sample, l);
	if (rc != 0)
		return rc;
	ev->stats.samples += l->n;
	*drop = 0;
	*ls = NULL;
	if (l->n > 0 && (rc = series_labels_of(ev, r->ids.v[k], ls)) != 0)
		return rc;
	return pq_account(ev, (int64_t)l->n);
}

static void
rsrc_close(struct pq_eval *ev, struct rsrc *r)
{
	free(r->ids.v);
	matrix_free(ev, &r->sm);
}

/* The steps' first and last window end. */
static void
rsrc_span(const struct pq_eval *ev, const struct rsrc *r, int64_t *lo,
    int64_t *hi)
{
	int64_t a = ref_time(ev, r->at, r->at_ms, r->offset, ev->start);
	int64_t b = ref_time(ev, r->at, r->at_ms, r->offset, ev->end);

	*lo = a - r->range + 1;
	*hi = b;
}

/* ---- subqueries ---- */

static int
eval_subquery(struct pq_eval *ev, const struct promql_node *sq,
    struct pq_matrix *out)
{
	struct pq_eval saved = *ev;
	struct pq_value v = { 0 };
	int64_t lo, hi, step;
	int rc;

	step = sq->sq.step_ms > 0 ? sq->sq.step_ms : SUBQUERY_STEP_MS;
	lo = ref_time(ev, sq->sq.at, sq->sq.at_ms, sq->sq.offset_ms,
	    ev->start) - sq->sq.range_ms;
	hi = ref_time(ev, sq->sq.at, sq->sq.at_ms, sq->sq.offset_ms, ev->end);
	/* the first time after lo that is a multiple of the step */
	ev->start = step * (lo / step);
	if (ev->start <= lo)
		ev->start += step;
	ev->interval = step;
	ev->end = hi;
	if (ev->end < ev->start) {
		ev->nsteps = 0;
		rc = 0;
	} else {
		ev->nsteps = (size_t)((ev->end - ev->start) / step) + 1;
		rc = eval(ev, sq->sq.expr, &v);
	}
	if (rc == 0 && v.type == PROMQL_TYPE_SCALAR) {
		/* a scalar subquery: one series without labels */
		struct pq_series s = { .ls = ev->empty };

		for (size_t i = 0; i < ev->nsteps; i++)
			series_push(&s, step_time(ev, i), v.sv[i]);
		out->s = xmalloc(sizeof(*out->s));
		out->s[0] = s;
		out->n = out->cap = 1;
		pq_account(ev, (int64_t)s.n);
	} else if (rc == 0) {
		*out = v.m;
		memset(&v.m, 0, sizeof(v.m));
	}
	value_free(ev, &v);
	/* the steps come back; what was counted stays counted */
	saved.cur_samples = ev->cur_samples;
	saved.stats = ev->stats;
	saved.iset = ev->iset;
	saved.icap = ev->icap;
	saved.in = ev->in;
	saved.noname = ev->noname;
	saved.warn = ev->warn;
	saved.nwarn = ev->nwarn;
	saved.info = ev->info;
	saved.ninfo = ev->ninfo;
	*ev = saved;
	return rc;
}

/* ---- calls ---- */

/* A scalar node's value per step into a new array (NaN where none). */
static int
eval_scalar(struct pq_eval *ev, const struct promql_node *e, double **out)
{
	struct pq_value v = { 0 };
	int rc;

	*out = NULL;
	if ((rc = eval(ev, e, &v)) != 0)
		return rc;
	*out = v.sv;
	v.sv = NULL;
	value_free(ev, &v);
	return 0;
}

struct window_call {
	const struct pq_funcdef *def;
	const struct promql_node *call;
	size_t		 mi;		/* the range vector's argument */
	double		*sargs[4];	/* scalar arguments by index */
};

static int
eval_window_call(struct pq_eval *ev, struct window_call *wc,
    struct pq_matrix *out)
{
	struct rsrc r;
	struct loaded l = { 0 };
	int64_t lo, hi;
	int rc;

	if ((rc = rsrc_open(ev, wc->call->call.args[wc->mi], &r)) != 0)
		goto out;
	rsrc_span(ev, &r, &lo, &hi);
	for (size_t k = 0; k < rsrc_count(&r); k++) {
		struct pq_series s = { 0 };
		struct pq_window w = { .call = wc->call };
		size_t a = 0, b = 0;
		int drop;

		if ((rc = check_alive(ev)) != 0)
			break;
		if ((rc = rsrc_load(ev, &r, k, lo, hi, &l, &s.ls, &drop)) != 0) {
			pq_account(ev, -(int64_t)l.n);
			break;
		}
		w.ls = s.ls;
		for (size_t i = 0; i < ev->nsteps && l.n > 0; i++) {
			int64_t t = step_time(ev, i);
			int64_t ref = ref_time(ev, r.at, r.at_ms, r.offset, t);
			double v;

			if (i % ALIVE_EVERY == ALIVE_EVERY - 1 &&
			    (rc = check_alive(ev)) != 0)
				break;
			if (a > 0 && l.p[a - 1].t > ref - r.range)
				a = b = 0;	/* a window that stands still */
			while (a < l.n && l.p[a].t <= ref - r.range)
				a++;
			if (b < a)
				b = a;
			while (b < l.n && l.p[b].t <= ref)
				b++;
			w.p = l.p + a;
			w.n = b - a;
			w.start = ref - r.range;
			w.end = ref;
			w.t = t;
			for (size_t j = 0; j < 4; j++)
				w.s[j] = wc->sargs[j] != NULL ?
				    wc->sargs[j][i] : 0;
			rc = wc->def->window(ev, &w, &v);
			if (rc < 0)
				break;
			if (rc == 0)
				continue;
			if ((rc = pq_account(ev, 1)) != 0)
				break;
			series_push(&s, t, v);
			rc = 0;
		}
		pq_account(ev, -(int64_t)l.n);
		if (rc != 0 || s.n == 0) {
			pq_account(ev, -(int64_t)s.n);
			free(s.p);
			if (rc != 0)
				break;
			continue;
		}
		s.drop_name = drop || !wc->def->keep_name;
		if (out->n == out->cap)
			out->s = xgrow(out->s, &out->cap, out->n + 1,
			    sizeof(*out->s));
		out->s[out->n++] = s;
	}
out:
	free(l.p);
	rsrc_close(ev, &r);
	return rc;
}

struct call_step {
	const struct pq_funcdef *def;
	const struct promql_node *call;
	struct pq_value	*args;
	size_t		 nargs;
	void		*state;
};

static int
call_step_cb(struct pq_eval *ev, void *arg, size_t i, int64_t t,
    struct pq_vector *const *vecs, struct pq_vector *out)
{
	struct call_step *cs = arg;
	struct pq_args a = { 0 };

	a.t = t;
	a.call = cs->call;
	a.nargs = cs->nargs;
	a.state = &cs->state;
	for (size_t j = 0; j < cs->nargs; j++) {
		switch (cs->args[j].type) {
		case PROMQL_TYPE_VECTOR:
			a.v[j] = vecs[j];
			break;
		case PROMQL_TYPE_SCALAR:
			a.s[j] = cs->args[j].sv[i];
			break;
		case PROMQL_TYPE_STRING:
			a.str[j] = cs->args[j].str;
			break;
		default:
			break;
		}
	}
	return cs->def->step(ev, &a, out);
}

static int
eval_call(struct pq_eval *ev, const struct promql_node *e,
    struct pq_value *out)
{
	const char *name = e->call.func->name;
	const struct pq_funcdef *def;
	struct pq_value args[PQ_ARGS_MAX];
	size_t nargs = e->call.nargs, j;
	int rc = 0;

	/* the functions of the evaluator's own */
	if (strcmp(name, "time") == 0 || strcmp(name, "pi") == 0) {
		out->type = PROMQL_TYPE_SCALAR;
		if ((rc = steps_alloc(ev, &out->sv)) != 0)
			return rc;
		for (size_t i = 0; i < ev->nsteps; i++)
			out->sv[i] = name[0] == 't' ?
			    (double)step_time(ev, i) / 1000.0 : M_PI;
		return 0;
	}
	if (strcmp(name, "min_of") == 0 || strcmp(name, "max_of") == 0) {
		double *b;

		if ((rc = eval_scalar(ev, e->call.args[0], &out->sv)) != 0)
			return rc;
		out->type = PROMQL_TYPE_SCALAR;
		if ((rc = eval_scalar(ev, e->call.args[1], &b)) != 0)
			return rc;
		/* as Go's math.Min and math.Max: NaN wins */
		for (size_t i = 0; i < ev->nsteps; i++)
			out->sv[i] = isnan(out->sv[i]) || isnan(b[i]) ?
			    (double)NAN : name[1] == 'i' ?
			    fmin(out->sv[i], b[i]) : fmax(out->sv[i], b[i]);
		pq_account(ev, -(int64_t)ev->nsteps);
		free(b);
		return 0;
	}
	if (strcmp(name, "vector") == 0) {
		double *sv;

		if ((rc = eval_scalar(ev, e->call.args[0], &sv)) != 0)
			return rc;
		out->type = PROMQL_TYPE_VECTOR;
		if (ev->nsteps > 0) {
			struct pq_series s = { .ls = ev->empty };

			for (size_t i = 0; i < ev->nsteps; i++)
				series_push(&s, step_time(ev, i), sv[i]);
			out->m.s = xmalloc(sizeof(*out->m.s));
			out->m.s[0] = s;
			out->m.n = out->m.cap = 1;
		}
		free(sv);	/* the same count moves to the vector */
		return 0;
	}
	if (strcmp(name, "scalar") == 0) {
		struct pq_value v = { 0 };
		size_t *cur;
		struct pq_vector vec = { 0 };

		if ((rc = eval(ev, e->call.args[0], &v)) != 0)
			return rc;
		out->type = PROMQL_TYPE_SCALAR;
		if ((rc = steps_alloc(ev, &out->sv)) != 0) {
			value_free(ev, &v);
			return rc;
		}
		cur = xcalloc(v.m.n + 1, sizeof(*cur));
		for (size_t i = 0; i < ev->nsteps; i++) {
			cut_step(&v.m, cur, step_time(ev, i), &vec);
			out->sv[i] = vec.n == 1 ? vec.s[0].v : (double)NAN;
		}
		free(cur);
		free(vec.s);
		value_free(ev, &v);
		return 0;
	}
	if (strcmp(name, "timestamp") == 0 &&
	    unparen(e->call.args[0])->kind == PROMQL_VECTOR_SELECTOR) {
		out->type = PROMQL_TYPE_VECTOR;
		return eval_vector_selector(ev, unparen(e->call.args[0]), 1,
		    &out->m);
	}
	if ((def = pq_func(name)) == NULL)
		return err_set(-EDOM, "function \"%s\" is not implemented",
		    name);
	if (nargs > PQ_ARGS_MAX)
		return err_set(-EDOM, "%s: at most %d arguments are taken", name,
		    PQ_ARGS_MAX);

	memset(args, 0, sizeof(args));
	if (def->window != NULL) {
		struct window_call wc = { .def = def, .call = e };

		for (j = 0; j < nargs; j++) {
			enum promql_type t = promql_type_of(e->call.args[j]);

			if (t == PROMQL_TYPE_MATRIX)
				wc.mi = j;
			else if (t == PROMQL_TYPE_SCALAR && j < 4 &&
			    (rc = eval_scalar(ev, e->call.args[j],
			    &wc.sargs[j])) != 0)
				goto window_out;
		}
		out->type = PROMQL_TYPE_VECTOR;
		rc = eval_window_call(ev, &wc, &out->m);
		if (rc == 0 && def->step != NULL) {
			/* absent_over_time: the step function over those */
			struct call_step cs = { .def = def, .call = e,
			    .args = args, .nargs = 1 };
			struct pq_matrix res = { 0 };

			args[0].type = PROMQL_TYPE_VECTOR;
			args[0].m = out->m;
			memset(&out->m, 0, sizeof(out->m));
			rc = step_eval(ev, args, 1, call_step_cb, &cs, &res);
			if (def->free_state != NULL && cs.state != NULL)
				def->free_state(cs.state);
			value_free(ev, &args[0]);
			out->m = res;
		}
window_out:
		for (j = 0; j < 4; j++) {
			if (wc.sargs[j] != NULL)
				pq_account(ev, -(int64_t)ev->nsteps);
			free(wc.sargs[j]);
		}
		return rc;
	}

	for (j = 0; j < nargs && rc == 0; j++) {
		const struct promql_node *a = unparen(e->call.args[j]);

		if (a->kind == PROMQL_STRING) {
			args[j].type = PROMQL_TYPE_STRING;
			args[j].str = a->str.s;
		} else
			rc = eval(ev, a, &args[j]);
	}
	if (rc == 0) {
		struct call_step cs = { .def = def, .call = e, .args = args,
		    .nargs = nargs };

		out->type = PROMQL_TYPE_VECTOR;
		rc = step_eval(ev, args, nargs, call_step_cb, &cs, &out->m);
		if (def->free_state != NULL && cs.state != NULL)
			def->free_state(cs.state);
	}
	for (j = 0; j < nargs; j++)
		value_free(ev, &args[j]);
	return rc;
}

/* ---- aggregations ---- */

struct agg_step {
	const struct promql_node *e;
	double		*param;
	const char	*sparam;
	void		*state;
};

static int
agg_step_cb(struct pq_eval *ev, void *arg, size_t i, int64_t t,
    struct pq_vector *const *vecs, struct pq_vector *out)
{
	struct agg_step *as = arg;

	return pq_aggregate(ev, as->e, t, vecs[0],
	    as->param != NULL ? as->param[i] : 0, as->sparam, &as->state, out);
}

static int
eval_aggregate(struct pq_eval *ev, const struct promql_node *e,
    struct pq_value *out)
{
	struct agg_step as = { .e = e };
	struct pq_value arg = { 0 };
	int rc = 0;

	if (e->agg.param != NULL) {
		const struct promql_node *p = unparen(e->agg.param);

		if (p->kind == PROMQL_STRING)
			as.sparam = p->str.s;
		else if ((rc = eval_scalar(ev, p, &as.param)) != 0)
			return rc;
	}
	if ((rc = eval(ev, e->agg.expr, &arg)) == 0) {
		out->type = PROMQL_TYPE_VECTOR;
		rc = step_eval(ev, &arg, 1, agg_step_cb, &as, &out->m);
	}
	if (as.state != NULL)
		pq_aggregate_free(as.state);
	value_free(ev, &arg);
	if (as.param != NULL)
		pq_account(ev, -(int64_t)ev->nsteps);
	free(as.param);
	return rc;
}

/* ---- binary operators ---- */

static int
is_comparison(enum promql_op op)
{
	return op >= PROMQL_EQLC && op <= PROMQL_LTE;
}

/* Arithmetic and comparison of two floats: 1 to keep (*out the value). */
static int
binop(enum promql_op op, double l, double r, double *out)
{
	switch (op) {
	case PROMQL_ADD:	*out = l + r; return 1;
	case PROMQL_SUB:	*out = l - r; return 1;
	case PROMQL_MUL:	*out = l * r; return 1;
	case PROMQL_DIV:	*out = l / r; return 1;
	case PROMQL_MOD:	*out = fmod(l, r); return 1;
	case PROMQL_POW:	*out = pow(l, r); return 1;
	case PROMQL_ATAN2:	*out = atan2(l, r); return 1;
	case PROMQL_EQLC:	*out = l; return l == r;
	case PROMQL_NEQ:	*out = l; return l != r;
	case PROMQL_GTR:	*out = l; return l > r;
	case PROMQL_LSS:	*out = l; return l < r;
	case PROMQL_GTE:	*out = l; return l >= r;
	case PROMQL_LTE:	*out = l; return l <= r;
	default:		return 0;
	}
}

struct bin_step {
	const struct promql_node *e;
	struct pq_value	*lhs, *rhs;
	/* vector matching: signatures and result sets, cached by set */
	struct pq_pmap	 lsig, rsig;	/* set -> signature set */
	struct pq_pmap	 sigs;		/* signature -> index + 1 (a step's) */
	struct pq_pmap	 seen;		/* signature -> index + 1 of the set made */
	struct pq_pmap	 memo;		/* "many" set -> struct result_memo */
	const struct labels **made;
	size_t		 nmade, capmade;
};

/* The set that vector matching compares of ls, cached. */
static const struct labels *
signature(struct pq_eval *ev, struct bin_step *bs, struct pq_pmap *cache,
    const struct labels *ls)
{
	const struct promql_node *e = bs->e;
	uintptr_t *slot;
	int created;

	slot = pq_pmap_get(cache, ls, &created);
	if (created)
		*slot = (uintptr_t)pq_labels_subset(ev, ls,
		    e->bin.labels.names, e->bin.labels.n, e->bin.on);
	return (const struct labels *)*slot;
}

static int
bin_scalar_cb(struct pq_eval *ev, void *arg, size_t i, int64_t t,
    struct pq_vector *const *vecs, struct pq_vector *out)
{
	struct bin_step *bs = arg;
	const struct promql_node *e = bs->e;
	int swap = bs->lhs->type == PROMQL_TYPE_SCALAR;
	const struct pq_vector *v = swap ? vecs[1] : vecs[0];
	double s = swap ? bs->lhs->sv[i] : bs->rhs->sv[i];
	enum promql_op op = e->bin.op;

	(void)ev;
	(void)t;
	for (size_t k = 0; k < v->n; k++) {
		double l = v->s[k].v, r = s, x;
		int keep;

		if (swap) {
			l = s;
			r = v->s[k].v;
		}
		keep = binop(op, l, r, &x);
		if (is_comparison(op) && swap)
			x = r;
		if (e->bin.return_bool) {
			x = keep ? 1.0 : 0.0;
			keep = 1;
		}
		if (!keep)
			continue;
		pq_vector_push(out, v->s[k].ls, x, v->s[k].drop_name ||
		    !is_comparison(op) || e->bin.return_bool);
	}
	return 0;
}

/*
 * The result set of a one-to-one or many-to-one match, as Prometheus's
 * resultMetric: the "many" side's set, without its name for arithmetic,
 * only the on() labels or without the ignoring() ones for one-to-one,
 * and the group_x() labels from the "one" side.
 */
static const struct labels *
result_set(struct pq_eval *ev, const struct promql_node *e,
    const struct labels *l, const struct labels *r)
{
	struct label v[2 * LABELS_COUNT_MAX];
	size_t k = 0;
	int arith = !is_comparison(e->bin.op);

	for (size_t i = 0; i < labels_count(l); i++) {
		const struct label *p = labels_at(l, i);

		if (arith && strcmp(p->name, LABELS_METRIC_NAME) == 0)
			continue;
		if (e->bin.card == PROMQL_ONE_TO_ONE && e->bin.on !=
		    name_in(p->name, e->bin.labels.names, e->bin.labels.n))
			continue;
		if (name_in(p->name, e->bin.include.names, e->bin.include.n))
			continue;
		v[k++] = *p;
	}
	for (size_t i = 0; i < e->bin.include.n; i++) {
		const struct label *p = labels_find(r, e->bin.include.names[i],
		    strlen(e->bin.include.names[i]));

		if (p != NULL)
			v[k++] = *p;
	}
	return intern_pairs(ev, v, k);
}

/* result_set(), cached by the pair of sets. */
struct result_memo {
	const struct labels *r, *res;
};

static const struct labels *
result_set_cached(struct pq_eval *ev, struct pq_pmap *memo,
    const struct promql_node *e, const struct labels *l,
    const struct labels *r)
{
	struct result_memo *m;
	uintptr_t *slot;
	int created;

	slot = pq_pmap_get(memo, l, &created);
	if (created)
		*slot = (uintptr_t)xcalloc(1, sizeof(*m));
	m = (struct result_memo *)*slot;
	if (m->res == NULL || (e->bin.include.n > 0 && m->r != r)) {
		m->r = r;
		m->res = result_set(ev, e, l, r);
	}
	return m->res;
}
static void
labels_text(const struct labels *ls, struct buf *b)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);

		if (i > 0)
			buf_puts(b, ", ");
		buf_printf(b, "%s=\"%s\"", l->name, l->value);
	}
	buf_putc(b, '}');
}

static int
bin_vector_cb(struct pq_eval *ev, void *arg, size_t i, int64_t t,
    struct pq_vector *const *vecs, struct pq_vector *out)
{
	struct bin_step *bs = arg;
	const struct promql_node *e = bs->e;
	enum promql_op op = e->bin.op;
	const struct pq_vector *lv = vecs[0], *rv = vecs[1];
	struct pq_pmap *lsig = &bs->lsig, *rsig = &bs->rsig;
	int swap = e->bin.card == PROMQL_ONE_TO_MANY;
	int rc = 0;

	(void)i;
	(void)t;
	/* set operators */
	if (op == PROMQL_AND || op == PROMQL_UNLESS) {
		struct pq_pmap rs = { 0 };
		int created;

		for (size_t k = 0; k < rv->n; k++)
			pq_pmap_get(&rs, signature(ev, bs, rsig,
			    rv->s[k].ls), &created);
		for (size_t k = 0; k < lv->n; k++) {
			int found = pq_pmap_find(&rs, signature(ev, bs, lsig,
			    lv->s[k].ls)) != NULL;

			if (found == (op == PROMQL_AND))
				pq_vector_push(out, lv->s[k].ls, lv->s[k].v,
				    lv->s[k].drop_name);
		}
		pq_pmap_free(&rs);
		return 0;
	}
	if (op == PROMQL_OR) {
		struct pq_pmap ls = { 0 };
		int created;

		for (size_t k = 0; k < lv->n; k++) {
			pq_pmap_get(&ls, signature(ev, bs, lsig, lv->s[k].ls),
			    &created);
			pq_vector_push(out, lv->s[k].ls, lv->s[k].v,
			    lv->s[k].drop_name);
		}
		for (size_t k = 0; k < rv->n; k++)
			if (pq_pmap_find(&ls, signature(ev, bs, rsig,
			    rv->s[k].ls)) == NULL)
				pq_vector_push(out, rv->s[k].ls, rv->s[k].v,
				    rv->s[k].drop_name);
		pq_pmap_free(&ls);
		return 0;
	}

	if (lv->n == 0 || rv->n == 0)
		return 0;
	if (swap) {
		const struct pq_vector *x = lv;

		lv = rv;
		rv = x;
		lsig = &bs->rsig;
		rsig = &bs->lsig;
	}
	/* the "one" side by signature */
	for (size_t k = 0; k < rv->n; k++) {
		const struct labels *sig = signature(ev, bs, rsig, rv->s[k].ls);
		uintptr_t *slot;
		int created;

		slot = pq_pmap_get(&bs->sigs, sig, &created);
		if (!created) {
			struct buf b;

			buf_init(&b, 0);
			buf_puts(&b, "found duplicate series for the match "
			    "group ");
			labels_text(sig, &b);
			buf_printf(&b, " on the %s hand-side of the operation: [",
			    swap ? "left" : "right");
			labels_text(rv->s[*slot - 1].ls, &b);
			buf_puts(&b, ", ");
			labels_text(rv->s[k].ls, &b);
			buf_puts(&b, "];many-to-many matching not allowed: "
			    "matching labels must be unique on one side");
			rc = err_set(-EDOM, "%s", buf_str(&b));
			buf_release(&b);
			goto out;
		}
		*slot = k + 1;
	}
	for (size_t k = 0; k < lv->n; k++) {
		const struct pq_sample *ls = &lv->s[k], *rs;
		const struct labels *sig = signature(ev, bs, lsig, ls->ls);
		const struct labels *res;
		uintptr_t *slot = pq_pmap_find(&bs->sigs, sig), *seen;
		double l, r, x;
		int keep, created;

		if (slot == NULL)
			continue;
		rs = &rv->s[*slot - 1];
		/* a second match is an error even if the operator filters it */
		seen = pq_pmap_get(&bs->seen, sig, &created);
		if (e->bin.card == PROMQL_ONE_TO_ONE && !created) {
			rc = err_set(-EDOM, "multiple matches for labels: "
			    "many-to-one matching must be explicit "
			    "(group_left/group_right)");
			goto out;
		}
		*seen = 1;
		l = ls->v;
		r = rs->v;
		if (swap) {
			l = rs->v;
			r = ls->v;
		}
		keep = binop(op, l, r, &x);
		if (e->bin.return_bool) {
			x = keep ? 1.0 : 0.0;
			keep = 1;
		}
		if (!keep)
			continue;
		res = result_set_cached(ev, &bs->memo, e, ls->ls, rs->ls);
		if (res == NULL) {
			rc = -EDOM;
			goto out;
		}
		if (e->bin.card != PROMQL_ONE_TO_ONE) {
			/* the sets made for this signature must differ */
			int created2;
			uintptr_t *dup = pq_pmap_get(&bs->seen,
			    (const void *)((uintptr_t)res | 1), &created2);

			if (!created2 && *dup == (uintptr_t)sig) {
				rc = err_set(-EDOM, "multiple matches for "
				    "labels: grouping labels must ensure "
				    "unique matches");
				goto out;
			}
			*dup = (uintptr_t)sig;
		}
		pq_vector_push(out, res, x, e->bin.return_bool ||
		    (ls->drop_name && is_comparison(op)));
	}
out:
	/* the step's maps start empty next step */
	for (size_t k = 0; k < bs->sigs.cap; k++)
		bs->sigs.key[k] = NULL;
	bs->sigs.n = 0;
	for (size_t k = 0; k < bs->seen.cap; k++)
		bs->seen.key[k] = NULL;
	bs->seen.n = 0;
	return rc;
}

static int
eval_binary(struct pq_eval *ev, const struct promql_node *e,
    struct pq_value *out)
{
	struct pq_value l = { 0 }, r = { 0 };
	struct bin_step bs = { .e = e, .lhs = &l, .rhs = &r };
	int rc;

	if ((rc = eval(ev, e->bin.lhs, &l)) != 0)
		goto out;
	if ((rc = eval(ev, e->bin.rhs, &r)) != 0)
		goto out;
	if (l.type == PROMQL_TYPE_SCALAR && r.type == PROMQL_TYPE_SCALAR) {
		out->type = PROMQL_TYPE_SCALAR;
		out->sv = l.sv;
		l.sv = NULL;
		for (size_t i = 0; i < ev->nsteps; i++) {
			double x;
			int keep = binop(e->bin.op, out->sv[i], r.sv[i], &x);

			if (is_comparison(e->bin.op))
				x = keep ? 1.0 : 0.0;
			out->sv[i] = x;
		}
		pq_account(ev, (int64_t)ev->nsteps);
		goto out;
	}
	out->type = PROMQL_TYPE_VECTOR;
	if (l.type == PROMQL_TYPE_SCALAR || r.type == PROMQL_TYPE_SCALAR) {
		struct pq_value args[2] = { l, r };

		rc = step_eval(ev, args, 2, bin_scalar_cb, &bs, &out->m);
	} else {
		struct pq_value args[2] = { l, r };

		rc = step_eval(ev, args, 2, bin_vector_cb, &bs, &out->m);
	}
out:
	pq_pmap_free(&bs.lsig);
	pq_pmap_free(&bs.rsig);
	pq_pmap_free(&bs.sigs);
	pq_pmap_free(&bs.seen);
	for (size_t k = 0; k < bs.memo.cap; k++)
		if (bs.memo.key[k] != NULL)
			free((void *)bs.memo.val[k]);
	pq_pmap_free(&bs.memo);
	value_free(ev, &l);
	value_free(ev, &r);
	return rc;
}

/* ---- the walk ---- */

static int
eval(struct pq_eval *ev, const struct promql_node *e, struct pq_value *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_alive(ev)) != 0)
		return rc;
	switch (e->kind) {
	case PROMQL_NUMBER:
		out->type = PROMQL_TYPE_SCALAR;
		if ((rc = steps_alloc(ev, &out->sv)) != 0)
			return rc;
		for (size_t i = 0; i < ev->nsteps; i++)
			out->sv[i] = e->num.value;
		return 0;
	case PROMQL_STRING:
		out->type = PROMQL_TYPE_STRING;
		out->str = e->str.s;
		return 0;
	case PROMQL_PAREN:
		return eval(ev, e->paren.expr, out);
	case PROMQL_UNARY:
		if ((rc = eval(ev, e->un.expr, out)) != 0)
			return rc;
		if (e->un.op != PROMQL_SUB)
			return 0;
		if (out->type == PROMQL_TYPE_SCALAR) {
			for (size_t i = 0; i < ev->nsteps; i++)
				out->sv[i] = -out->sv[i];
			return 0;
		}
		for (size_t k = 0; k < out->m.n; k++) {
			struct pq_series *s = &out->m.s[k];

			for (size_t i = 0; i < s->n; i++)
				s->p[i].v = -s->p[i].v;
			s->drop_name = 1;
		}
		/* two series may now be one: gather them again */
		return 0;
	case PROMQL_VECTOR_SELECTOR:
		out->type = PROMQL_TYPE_VECTOR;
		return eval_vector_selector(ev, e, 0, &out->m);
	case PROMQL_CALL:
		return eval_call(ev, e, out);
	case PROMQL_AGGREGATE:
		return eval_aggregate(ev, e, out);
	case PROMQL_BINARY:
		return eval_binary(ev, e, out);
	case PROMQL_EXTERNAL:
		out->type = PROMQL_TYPE_VECTOR;
		return e->ext.x->eval(ev->ext_arg, ev, e->ext.node, &out->m);
	case PROMQL_MATRIX_SELECTOR:
	case PROMQL_SUBQUERY:
		break;
	}
	return err_set(-EINVAL, "a range vector cannot be evaluated here");
}

/* ---- the query ---- */

static int
top_ordered(const struct promql_node *e)
{
	e = unparen(e);
	if (e->kind == PROMQL_AGGREGATE)
		return e->agg.op == PROMQL_TOPK || e->agg.op == PROMQL_BOTTOMK;
	if (e->kind == PROMQL_CALL) {
		const struct pq_funcdef *def = pq_func(e->call.func->name);

		return def != NULL && def->ordered;
	}
	return 0;
}

static int
series_cmp(const void *a, const void *b)
{
	const struct promql_series *x = a, *y = b;

	return labels_compare(x->ls, y->ls);
}

static int
point_cmp(const void *a, const void *b)
{
	const struct pq_point *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/*
 * The names go where they were to be dropped. Series that are then the
 * same set become one (a range query's -a or -b, each present at other
 * steps), unless two of them have a point at the same time. Into the
 * result's series (copies of the sets).
 */
static int
finish_matrix(struct pq_eval *ev, struct pq_matrix *m, int sort,
    struct promql_result *r)
{
	struct pq_pmap seen = { 0 };
	size_t kept = 0;
	int rc = 0;

	for (size_t k = 0; k < m->n; k++) {
		struct pq_series *s = &m->s[k], *into;
		uintptr_t *slot;
		int created;

		if (s->drop_name)
			s->ls = pq_drop_name(ev, s->ls);
		if (s->ls == NULL) {
			rc = -ENOMEM;
			break;
		}
		slot = pq_pmap_get(&seen, s->ls, &created);
		if (created) {
			*slot = kept + 1;
			if (kept != k) {
				m->s[kept] = *s;
				memset(s, 0, sizeof(*s));
			}
			kept++;
			continue;
		}
		into = &m->s[*slot - 1];
		for (size_t i = 0; i < s->n; i++)
			series_push(into, s->p[i].t, s->p[i].v);
		qsort(into->p, into->n, sizeof(*into->p), point_cmp);
		for (size_t i = 1; i < into->n && rc == 0; i++)
			if (into->p[i].t == into->p[i - 1].t)
				rc = err_set(-EDOM, "vector cannot contain "
				    "metrics with the same labelset");
		free(s->p);
		memset(s, 0, sizeof(*s));
		if (rc != 0)
			break;
	}
	pq_pmap_free(&seen);
	if (rc != 0)
		return rc;
	m->n = kept;
	r->series = xcalloc(m->n + 1, sizeof(*r->series));
	for (size_t k = 0; k < m->n; k++) {
		struct pq_series *s = &m->s[k];

		r->series[k].ls = labels_dup(s->ls);
		r->series[k].pts = (struct promql_point *)s->p;
		r->series[k].n = s->n;
		s->p = NULL;
		s->n = 0;
	}
	r->n = m->n;
	if (sort)
		qsort(r->series, r->n, sizeof(*r->series), series_cmp);
	return 0;
}

/* A range vector asked for at an instant: its windows at t. */
static int
eval_range_top(struct pq_eval *ev, const struct promql_node *e,
    struct promql_result *r)
{
	struct rsrc src;
	struct loaded l = { 0 };
	struct pq_matrix m = { 0 };
	int64_t lo, hi;
	int rc;

	if ((rc = rsrc_open(ev, e, &src)) != 0)
		goto out;
	rsrc_span(ev, &src, &lo, &hi);
	for (size_t k = 0; k < rsrc_count(&src); k++) {
		struct pq_series s = { 0 };
		int drop;

		if ((rc = check_alive(ev)) != 0)
			break;
		if ((rc = rsrc_load(ev, &src, k, lo, hi, &l, &s.ls, &drop)) != 0)
			break;
		if (l.n == 0)
			continue;
		s.p = l.p;
		s.n = s.cap = l.n;
		s.drop_name = drop;
		l.p = NULL;
		l.n = l.cap = 0;
		if (m.n == m.cap)
			m.s = xgrow(m.s, &m.cap, m.n + 1, sizeof(*m.s));
		m.s[m.n++] = s;
	}
	if (rc == 0) {
		r->type = PROMQL_TYPE_MATRIX;
		rc = finish_matrix(ev, &m, 1, r);
	}
out:
	free(l.p);
	matrix_free(ev, &m);
	rsrc_close(ev, &src);
	return rc;
}

/* The zero fields' values: the settings' query_options, set at start. */
static struct promql_opts defaults = {
	.lookback_ms = PROMQL_LOOKBACK_MS,
	.timeout_ms = PROMQL_TIMEOUT_MS,
	.max_samples = PROMQL_MAX_SAMPLES,
};

void
promql_set_defaults(const struct promql_opts *o)
{
	if (o->lookback_ms > 0)
		defaults.lookback_ms = o->lookback_ms;
	if (o->timeout_ms > 0)
		defaults.timeout_ms = o->timeout_ms;
	if (o->max_samples > 0)
		defaults.max_samples = o->max_samples;
}

void
promql_get_defaults(struct promql_opts *o)
{
	*o = defaults;
}

static int
run(struct series *s, const struct promql_node *e, int64_t start, int64_t end,
    int64_t step, int instant, const struct promql_opts *o,
    struct promql_result **out)
{
	struct pq_eval ev = { 0 };
	struct promql_result *r;
	struct pq_value v = { 0 };
	enum promql_type type = promql_type_of(e);
	int64_t t0 = clock_mono_ns(), timeout;
	int rc;

	*out = NULL;
	if (!instant && type != PROMQL_TYPE_SCALAR &&
	    type != PROMQL_TYPE_VECTOR)
		return err_set(-EINVAL, "invalid expression type \"%s\" for "
		    "range query, must be Scalar or instant Vector",
		    promql_type_name(type));
	ev.store = s;
	ev.start = ev.q_start = start;
	ev.end = ev.q_end = end;
	ev.interval = step;
	ev.nsteps = (size_t)((end - start) / step) + 1;
	ev.lookback = o != NULL && o->lookback_ms > 0 ? o->lookback_ms :
	    defaults.lookback_ms;
	ev.max_samples = o != NULL && o->max_samples > 0 ? o->max_samples :
	    defaults.max_samples;
	timeout = o != NULL && o->timeout_ms > 0 ? o->timeout_ms :
	    defaults.timeout_ms;
	ev.deadline_ns = t0 + timeout * 1000000;
	if (o != NULL) {
		ev.cancelled = o->cancelled;
		ev.cancel_arg = o->cancel_arg;
		ev.ext_arg = o->ext_arg;
	}
	ev.empty = intern_pairs(&ev, NULL, 0);

	r = xcalloc(1, sizeof(*r));
	r->t = end;
	if (instant && type == PROMQL_TYPE_MATRIX) {
		rc = eval_range_top(&ev, unparen(e), r);
		goto done;
	}
	if ((rc = eval(&ev, e, &v)) != 0)
		goto done;
	switch (v.type) {
	case PROMQL_TYPE_SCALAR:
		if (instant) {
			r->type = PROMQL_TYPE_SCALAR;
			r->scalar = v.sv[0];
		} else {
			/* a range query of a scalar: one series without labels */
			r->type = PROMQL_TYPE_MATRIX;
			r->series = xcalloc(1, sizeof(*r->series));
			r->series[0].ls = labels_dup(ev.empty);
			r->series[0].pts = xmalloc(ev.nsteps *
			    sizeof(struct promql_point));
			for (size_t i = 0; i < ev.nsteps; i++) {
				r->series[0].pts[i].t = step_time(&ev, i);
				r->series[0].pts[i].v = v.sv[i];
			}
			r->series[0].n = ev.nsteps;
			r->n = 1;
		}
		break;
	case PROMQL_TYPE_STRING:
		r->type = PROMQL_TYPE_STRING;
		r->str = xstrdup(v.str);
		break;
	default:
		r->type = instant ? PROMQL_TYPE_VECTOR : PROMQL_TYPE_MATRIX;
		rc = finish_matrix(&ev, &v.m, !(instant && top_ordered(e)), r);
		break;
	}
done:
	value_free(&ev, &v);
	for (size_t i = 0; i < ev.icap; i++)
		if (ev.iset[i] != NULL)
			labels_free((struct labels *)ev.iset[i]);
	free(ev.iset);
	pq_pmap_free(&ev.noname);
	r->warnings = ev.warn;
	r->nwarnings = ev.nwarn;
	r->infos = ev.info;
	r->ninfos = ev.ninfo;
	r->stats = ev.stats;
	r->stats.eval_ns = clock_mono_ns() - t0;
	if (rc != 0) {
		promql_result_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
promql_eval_instant(struct series *s, const struct promql_node *e, int64_t t,
    const struct promql_opts *o, struct promql_result **out)
{
	return run(s, e, t, t, 1, 1, o, out);
}

int
promql_eval_range(struct series *s, const struct promql_node *e,
    int64_t start, int64_t end, int64_t step, const struct promql_opts *o,
    struct promql_result **out)
{
	*out = NULL;
	if (step <= 0)
		return err_set(-EINVAL, "zero or negative query resolution "
		    "step widths are not accepted. Try a positive integer");
	if (end < start)
		return err_set(-EINVAL,
		    "end timestamp must not be before start time");
	if ((end - start) / step + 1 > PROMQL_MAX_POINTS)
		return err_set(-EINVAL, "exceeded maximum resolution of "
		    "11,000 points per timeseries. Try decreasing the query "
		    "resolution (?step=XX)");
	return run(s, e, start, end, step, 0, o, out);
}

void
promql_result_free(struct promql_result *r)
{
	if (r == NULL)
		return;
	for (size_t k = 0; k < r->n; k++) {
		labels_free(r->series[k].ls);
		free(r->series[k].pts);
	}
	free(r->series);
	free(r->str);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	for (size_t i = 0; i < r->ninfos; i++)
		free(r->infos[i]);
	free(r->infos);
	free(r);
}

const char *
promql_error_type(int code)
{
	switch (code) {
	case -EINVAL:		return "bad_data";
	case -EDOM:		return "execution";
	case -ETIMEDOUT:	return "timeout";
	case -ECANCELED:	return "canceled";
	default:		return "internal";
	}
}
