/*
 * promql_agg.c - the aggregation operators, one step at a time
 * (pq_aggregate() of promql_eval.h), with Prometheus 3's numerics and
 * words:
 *
 *	sum		Kahan-Babuska-Neumaier summation (pq_kahan_inc)
 *	avg		the same sum divided at the end; once the sum would
 *			overflow to an infinity, an incremental mean from
 *			there on (so big values of one sign still average)
 *	count, group	the number of samples; 1
 *	min, max	a NaN is replaced by any number that follows it
 *	stddev, stdvar	Welford's running mean and sum of squares; a first
 *			value NaN or infinite makes the group NaN
 *	quantile	sorted with NaN below every number, interpolated
 *			between the two nearest ranks; q outside [0, 1]
 *			gives -Inf or +Inf and a warning, NaN gives NaN
 *	count_values	the value as strconv.FormatFloat(v, 'f', -1, 64)
 *			set as the label (overriding one of that name),
 *			then grouped, counted
 *	topk, bottomk	the k largest (smallest) of each group, NaN the
 *			smallest (largest), kept in a heap as Go's
 *			container/heap keeps them, so that ties are settled
 *			the same way; ordered by value, groups in the order
 *			they first appear in the step's input
 *	limitk		the first k samples of each group
 *	limit_ratio	the samples whose label set's hash, as a fraction of
 *			2^64, is below r (r > 0) or at least 1 + r (r < 0)
 *
 * Grouping: `by (l...)` keeps those labels, `without (l...)` drops them
 * and __name__. A name still to be dropped (drop_name) parts groups only
 * under `by (__name__)`, as in Prometheus's delayed removal, and then the
 * group drops it when any member does. The operators that pick samples
 * (topk, bottomk, limitk, limit_ratio) give them with their own labels
 * and drop_name; the others give the group's labels, with drop_name 0
 * but for that case.
 *
 * The state of a node lives across its steps: the group of every input
 * set, by the set's interned pointer, and the groups themselves, so that
 * after the first step a sample costs a hash lookup and no allocation.
 * A group's accumulators are reset lazily, the first time it is met in
 * a step.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "query/promql_eval.h"
#include "query/promql_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

/* The largest double that converts to an int64, as Prometheus checks k. */
#define K_MAX	9223372036854774784.0

/* Warnings given once for the node, not once a step. */
enum {
	WARNED_NAN	= 1 << 0,
	WARNED_HIGH	= 1 << 1,
	WARNED_LOW	= 1 << 2,
};

struct agg_group {
	const struct labels *ls;	/* the group's labels (interned) */
	uint64_t	 step;		/* the step it was last met at */
	double		 v;		/* the sum, min, max, Welford's M2 ... */
	double		 mean;
	double		 c;		/* Kahan compensation */
	double		 n;		/* samples met */
	int		 incremental;	/* avg: mean kept incrementally */
	/*
	 * Grouped by __name__: the name of a member that drops it is still
	 * told apart, and the group drops it when any member does
	 */
	int		 drop_name;
	/* topk, bottomk, limitk, limit_ratio: the samples kept; quantile: the values */
	struct pq_sample *s;
	size_t		 ns, caps;
};

/* count_values: an input set's group for the value it last had. */
struct cv_slot {
	double		 v;
	size_t		 group;
	int		 valid;
};

struct agg_state {
	enum promql_agg	 op;
	int		 without;
	char		**names;	/* the grouping (count_values: and its label) */
	size_t		 nnames;
	char		*label;		/* count_values' label */
	/* by (__name__): a group drops the name when a member does */
	int		 name_matters;
	/* count_values without the label it sets: grouped as the others */
	int		 label_dropped;
	/* input set -> group index + 1 (count_values: slot index + 1) */
	struct pq_pmap	 by_set;
	/* group labels -> group index + 1 */
	struct pq_pmap	 by_group;
	struct agg_group *g;
	size_t		 ng, capg;
	struct cv_slot	*slot;
	size_t		 nslot, capslot;
	/* the groups met in this step, in the order met */
	size_t		*met;
	size_t		 nmet, capmet;
	uint64_t	 step;
	int		 warned;
	struct buf	 num;		/* count_values' value as text */
};

/*
 * A double as Go's fmt %g writes it (Prometheus's error and warning
 * words): the shortest digits that read back, in exponent form when the
 * exponent is below -4 or at least 6.
 */
static void
go_g(double v, struct buf *b)
{
	char e[40], digits[24];
	int prec, exp, nd = 0;
	const char *p;

	if (isnan(v) || isinf(v) || v == 0) {
		promql_number_format(v, b);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	p = e;
	if (*p == '-')
		p++;
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	if (exp >= -4 && exp < 6) {
		promql_number_format(v, b);
		return;
	}
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (v < 0)
		buf_putc(b, '-');
	buf_putc(b, digits[0]);
	if (nd > 1) {
		buf_putc(b, '.');
		buf_append(b, digits + 1, (size_t)nd - 1);
	}
	buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static int
picks_samples(enum promql_agg op)
{
	return op == PROMQL_TOPK || op == PROMQL_BOTTOMK ||
	    op == PROMQL_LIMITK || op == PROMQL_LIMIT_RATIO;
}

/*
 * count_values' label, from the tree (its length is the string's, NUL
 * bytes and all) or else sparam: a new string, or NULL and -EDOM with
 * err_set() for a name a series cannot hold (labels.h), where Prometheus
 * 3 takes any UTF-8 name.
 */
static int
value_label(const struct promql_node *agg, const char *sparam, char **out)
{
	const struct promql_node *p = agg->agg.param;
	const char *s = sparam != NULL ? sparam : "";
	size_t n;
	struct buf q;
	int rc;

	while (p != NULL && p->kind == PROMQL_PAREN)
		p = p->paren.expr;
	if (p != NULL && p->kind == PROMQL_STRING) {
		s = p->str.s;
		n = p->str.len;
	} else
		n = strlen(s);
	if (n > 0 && labels_check_name(s, n, LABELS_RESERVED) == 0) {
		*out = xstrndup(s, n);
		return 0;
	}
	*out = NULL;
	buf_init(&q, 0);
	promql_quote(s, n, &q);
	rc = err_set(-EDOM, "invalid label name %s", buf_str(&q));
	buf_release(&q);
	return rc;
}

static struct agg_state *
state_new(const struct promql_node *agg, char *label)
{
	const struct promql_labels *gl = &agg->agg.grouping;
	struct agg_state *st = xcalloc(1, sizeof(*st));

	st->op = agg->agg.op;
	st->without = agg->agg.without;
	st->names = xcalloc(gl->n + 1, sizeof(*st->names));
	for (size_t i = 0; i < gl->n; i++)
		st->names[st->nnames++] = gl->names[i];
	if (st->op == PROMQL_COUNT_VALUES) {
		st->label = label;
		/* by: the value's label is one of the group's */
		if (!st->without)
			st->names[st->nnames++] = st->label;
		else {
			st->label_dropped = strcmp(label,
			    LABELS_METRIC_NAME) == 0;
			for (size_t i = 0; i < st->nnames; i++)
				if (strcmp(st->names[i], label) == 0)
					st->label_dropped = 1;
		}
	}
	if (!st->without)
		for (size_t i = 0; i < st->nnames; i++)
			if (strcmp(st->names[i], LABELS_METRIC_NAME) == 0)
				st->name_matters = 1;
	buf_init(&st->num, 0);
	return st;
}

void
pq_aggregate_free(void *state)
{
	struct agg_state *st = state;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->ng; i++)
		free(st->g[i].s);
	free(st->g);
	free(st->slot);
	free(st->met);
	pq_pmap_free(&st->by_set);
	pq_pmap_free(&st->by_group);
	free(st->names);
	free(st->label);
	buf_release(&st->num);
	free(st);
}

/* The index of the group of labels gls, made on first sight. */
static size_t
group_of_labels(struct agg_state *st, const struct labels *gls)
{
	int created;
	uintptr_t *slot = pq_pmap_get(&st->by_group, gls, &created);

	if (created) {
		st->g = xgrow(st->g, &st->capg, st->ng + 1, sizeof(*st->g));
		memset(&st->g[st->ng], 0, sizeof(st->g[st->ng]));
		st->g[st->ng].ls = gls;
		*slot = ++st->ng;
	}
	return (size_t)*slot - 1;
}

/* Values that print the same: -0 is not 0, every NaN is "NaN". */
static int
same_value(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return a == b && signbit(a) == signbit(b);
}

/* The group of sample s; -EDOM with err_set() when count_values cannot label it. */
static int
group_of(struct pq_eval *ev, struct agg_state *st, const struct pq_sample *s,
    size_t *gi)
{
	struct pq_pmap *m = &st->by_set;
	const struct labels *ls, *gls;
	struct cv_slot *cv;
	uintptr_t *slot;
	int created;

	slot = pq_pmap_get(m, s->ls, &created);
	if (st->op != PROMQL_COUNT_VALUES || st->label_dropped) {
		if (created) {
			gls = pq_labels_subset(ev, s->ls,
			    st->names, st->nnames, !st->without);
			*slot = group_of_labels(st, gls) + 1;
		}
		*gi = (size_t)*slot - 1;
		return 0;
	}

	/* count_values: the group follows the value; most keep theirs */
	if (created) {
		st->slot = xgrow(st->slot, &st->capslot, st->nslot + 1,
		    sizeof(*st->slot));
		memset(&st->slot[st->nslot], 0, sizeof(st->slot[st->nslot]));
		*slot = ++st->nslot;
	}
	cv = &st->slot[*slot - 1];
	if (cv->valid && same_value(cv->v, s->v)) {
		*gi = cv->group;
		return 0;
	}
	buf_reset(&st->num);
	promql_number_format(s->v, &st->num);
	ls = pq_labels_set(ev, s->ls, st->label,
	    buf_str(&st->num), strlen(buf_str(&st->num)));
	if (ls == NULL)
		return -EDOM;
	gls = pq_labels_subset(ev, ls, st->names, st->nnames, !st->without);
	cv->v = s->v;
	cv->valid = 1;
	cv->group = group_of_labels(st, gls);
	*gi = cv->group;
	return 0;
}

/* The group gi met in this step: 1 the first time (reset), else 0. */
static int
meet(struct agg_state *st, size_t gi)
{
	struct agg_group *g = &st->g[gi];

	if (g->step == st->step)
		return 0;
	g->step = st->step;
	g->ns = 0;
	g->c = 0;
	g->incremental = 0;
	g->drop_name = 0;
	st->met = xgrow(st->met, &st->capmet, st->nmet + 1, sizeof(*st->met));
	st->met[st->nmet++] = gi;
	return 1;
}

static void
keep(struct agg_group *g, const struct pq_sample *s)
{
	g->s = xgrow(g->s, &g->caps, g->ns + 1, sizeof(*g->s));
	g->s[g->ns++] = *s;
}

/* ---- topk and bottomk: Go's container/heap, by value ---- */

/*
 * The heap's order: topk keeps the smallest of its k on top, bottomk the
 * largest; a NaN is on top of either (it goes first).
 */
static int
kless(const struct pq_sample *a, const struct pq_sample *b, int bottom)
{
	if (isnan(a->v))
		return 1;
	return bottom ? a->v > b->v : a->v < b->v;
}

static void
kswap(struct pq_sample *h, size_t i, size_t j)
{
	struct pq_sample t = h[i];

	h[i] = h[j];
	h[j] = t;
}

static void
heap_up(struct pq_sample *h, size_t j, int bottom)
{
	while (j > 0) {
		size_t i = (j - 1) / 2;

		if (!kless(&h[j], &h[i], bottom))
			break;
		kswap(h, i, j);
		j = i;
	}
}

static void
heap_down(struct pq_sample *h, size_t n, int bottom)
{
	size_t i = 0;

	for (;;) {
		size_t j = 2 * i + 1;

		if (j >= n)
			break;
		if (j + 1 < n && kless(&h[j + 1], &h[j], bottom))
			j++;
		if (!kless(&h[j], &h[i], bottom))
			break;
		kswap(h, i, j);
		i = j;
	}
}

static void
heap_offer(struct agg_group *g, const struct pq_sample *s, size_t k,
    int bottom)
{
	double top;

	if (g->ns < k) {
		keep(g, s);
		heap_up(g->s, g->ns - 1, bottom);
		return;
	}
	top = g->s[0].v;
	if ((bottom ? top > s->v : top < s->v) ||
	    (isnan(top) && !isnan(s->v))) {
		g->s[0] = *s;
		if (k > 1)
			heap_down(g->s, g->ns, bottom);
	}
}

/* The answer's order: topk descending, bottomk ascending, NaN last. */
static int
cmp_desc(const void *a, const void *b)
{
	const struct pq_sample *x = a, *y = b;

	if (isnan(x->v) != isnan(y->v))
		return isnan(x->v) ? 1 : -1;
	if (x->v != y->v && !isnan(x->v))
		return x->v > y->v ? -1 : 1;
	return labels_compare(x->ls, y->ls);
}

static int
cmp_asc(const void *a, const void *b)
{
	const struct pq_sample *x = a, *y = b;

	if (isnan(x->v) != isnan(y->v))
		return isnan(x->v) ? 1 : -1;
	if (x->v != y->v && !isnan(x->v))
		return x->v < y->v ? -1 : 1;
	return labels_compare(x->ls, y->ls);
}

/* ---- quantile ---- */

/* Ascending, NaN below every number, as Prometheus sorts for quantile. */
static int
cmp_value(const void *a, const void *b)
{
	double x = ((const struct pq_sample *)a)->v;
	double y = ((const struct pq_sample *)b)->v;

	if (isnan(x) || isnan(y))
		return isnan(x) ? (isnan(y) ? 0 : -1) : 1;
	return x < y ? -1 : x > y;
}

static double
quantile(double q, struct pq_sample *s, size_t n)
{
	double rank, lo, hi, w;

	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(s, n, sizeof(*s), cmp_value);
	rank = q * (double)(n - 1);
	lo = fmax(0, floor(rank));
	hi = fmin((double)(n - 1), lo + 1);
	w = rank - floor(rank);
	return s[(size_t)lo].v * (1 - w) + s[(size_t)hi].v * w;
}

/* ---- the parameters ---- */

/* topk's, bottomk's, limitk's k at this step: 0 and *k (0: nothing), or -EDOM. */
static int
param_k(double param, size_t n, size_t *k)
{
	struct buf b;
	int rc;

	if (isnan(param))
		return err_set(-EDOM, "Parameter value is NaN");
	if (param >= K_MAX) {
		buf_init(&b, 0);
		go_g(param, &b);
		rc = err_set(-EDOM, "Scalar value %s overflows int64",
		    buf_str(&b));
		buf_release(&b);
		return rc;
	}
	/*
	 * Below int64's range Prometheus errs only when another step asks
	 * for k >= 1; a step alone gives nothing, as for any k < 1.
	 */
	if (param < 1) {
		*k = 0;
		return 0;
	}
	*k = (uint64_t)(int64_t)param < n ? (size_t)(int64_t)param : n;
	return 0;
}

/* A warning about the parameter, once for the node; cap: what a ratio is capped to. */
static void
warn_param(struct pq_eval *ev, const struct promql_node *agg,
    struct agg_state *st, int which, double got, const char *cap)
{
	struct buf b;

	if (st->warned & which)
		return;
	st->warned |= which;
	buf_init(&b, 0);
	go_g(got, &b);
	if (st->op == PROMQL_QUANTILE)
		pq_warn(ev, agg->agg.param, "quantile value should be between "
		    "0 and 1, got %s", buf_str(&b));
	else
		pq_warn(ev, agg->agg.param, "ratio value should be between "
		    "-1 and 1, got %s, capping to %s", buf_str(&b), cap);
	buf_release(&b);
}

/* limit_ratio's sample: the set's hash as a fraction of 2^64 against r. */
static int
ratio_keeps(double r, const struct labels *ls)
{
	double off = (double)labels_hash(ls) / (double)UINT64_MAX;

	return r >= 0 ? off < r : off >= 1.0 + r;
}

/* ---- one step ---- */

static int
step_pick(struct pq_eval *ev, struct agg_state *st, const struct pq_vector *in,
    size_t k, double r, struct pq_vector *out)
{
	int bottom = st->op == PROMQL_BOTTOMK;
	int rc;

	for (size_t i = 0; i < in->n; i++) {
		const struct pq_sample *s = &in->s[i];
		struct agg_group *g;
		size_t gi;

		if ((rc = group_of(ev, st, s, &gi)) != 0)
			return rc;
		meet(st, gi);
		g = &st->g[gi];
		switch (st->op) {
		case PROMQL_TOPK:
		case PROMQL_BOTTOMK:
			heap_offer(g, s, k, bottom);
			break;
		case PROMQL_LIMITK:
			if (g->ns < k)
				keep(g, s);
			break;
		default:
			if (ratio_keeps(r, s->ls))
				keep(g, s);
			break;
		}
	}
	for (size_t i = 0; i < st->nmet; i++) {
		struct agg_group *g = &st->g[st->met[i]];

		if (st->op == PROMQL_TOPK && g->ns > 1)
			qsort(g->s, g->ns, sizeof(*g->s), cmp_desc);
		else if (st->op == PROMQL_BOTTOMK && g->ns > 1)
			qsort(g->s, g->ns, sizeof(*g->s), cmp_asc);
		for (size_t j = 0; j < g->ns; j++)
			pq_vector_push(out, g->s[j].ls, g->s[j].v,
			    g->s[j].drop_name);
	}
	return 0;
}

/* Add f to group g, met before in this step (fresh: the first sample). */
static void
accumulate(struct agg_state *st, struct agg_group *g, double f, int fresh)
{
	double q;

	if (fresh) {
		g->v = f;
		g->mean = f;
		g->n = 1;
		switch (st->op) {
		case PROMQL_STDDEV:
		case PROMQL_STDVAR:
			g->v = isnan(f) || isinf(f) ? NAN : 0;
			break;
		case PROMQL_GROUP:
			g->v = 1;
			break;
		case PROMQL_QUANTILE:
			keep(g, &(struct pq_sample){ .v = f });
			break;
		default:
			break;
		}
		return;
	}
	switch (st->op) {
	case PROMQL_SUM:
		g->v = pq_kahan_inc(f, g->v, &g->c);
		break;
	case PROMQL_AVG:
		g->n++;
		if (!g->incremental) {
			double c = g->c, v = pq_kahan_inc(f, g->v, &c);

			if (!isinf(v)) {
				g->v = v;
				g->c = c;
				break;
			}
			/* the sum would overflow: a running mean from here */
			g->incremental = 1;
			g->mean = g->v / (g->n - 1);
			g->c /= g->n - 1;
		}
		q = (g->n - 1) / g->n;
		g->c *= q;
		g->mean = pq_kahan_inc(f / g->n, q * g->mean, &g->c);
		break;
	case PROMQL_COUNT:
		g->n++;
		break;
	case PROMQL_MIN:
		if (g->v > f || isnan(g->v))
			g->v = f;
		break;
	case PROMQL_MAX:
		if (g->v < f || isnan(g->v))
			g->v = f;
		break;
	case PROMQL_STDDEV:
	case PROMQL_STDVAR: {
		double delta = f - g->mean;

		g->n++;
		g->mean += delta / g->n;
		g->v += delta * (f - g->mean);
		break;
	}
	case PROMQL_QUANTILE:
		keep(g, &(struct pq_sample){ .v = f });
		break;
	default:		/* group, count_values */
		g->n++;
		break;
	}
}

static double
result(struct agg_state *st, struct agg_group *g, double param)
{
	switch (st->op) {
	case PROMQL_SUM:
		return g->v + g->c;
	case PROMQL_AVG:
		if (g->incremental)
			return g->mean + g->c;
		return g->v / g->n + g->c / g->n;
	case PROMQL_COUNT:
	case PROMQL_COUNT_VALUES:
		return g->n;
	case PROMQL_STDVAR:
		return g->v / g->n;
	case PROMQL_STDDEV:
		return sqrt(g->v / g->n);
	case PROMQL_QUANTILE:
		return quantile(param, g->s, g->ns);
	default:		/* min, max, group */
		return g->v;
	}
}

static int
step_reduce(struct pq_eval *ev, struct agg_state *st,
    const struct pq_vector *in, double param, struct pq_vector *out)
{
	int rc;

	for (size_t i = 0; i < in->n; i++) {
		size_t gi;
		int fresh;

		if ((rc = group_of(ev, st, &in->s[i], &gi)) != 0)
			return rc;
		fresh = meet(st, gi);
		st->g[gi].drop_name |= in->s[i].drop_name && st->name_matters;
		accumulate(st, &st->g[gi], in->s[i].v, fresh);
	}
	for (size_t i = 0; i < st->nmet; i++) {
		struct agg_group *g = &st->g[st->met[i]];

		pq_vector_push(out, g->ls, result(st, g, param), g->drop_name);
	}
	return 0;
}

int
pq_aggregate(struct pq_eval *ev, const struct promql_node *agg, int64_t t,
    const struct pq_vector *in, double param, const char *sparam,
    void **state, struct pq_vector *out)
{
	struct agg_state *st = *state;
	size_t k = 0;
	double r = 0;
	int rc;

	(void)t;
	if (st == NULL) {
		char *label = NULL;

		if (agg->agg.op == PROMQL_COUNT_VALUES &&
		    (rc = value_label(agg, sparam, &label)) != 0)
			return rc;
		*state = st = state_new(agg, label);
	}
	st->step++;
	st->nmet = 0;

	switch (st->op) {
	case PROMQL_TOPK:
	case PROMQL_BOTTOMK:
	case PROMQL_LIMITK:
		if ((rc = param_k(param, in->n, &k)) != 0)
			return rc;
		if (k == 0)
			return 0;
		break;
	case PROMQL_LIMIT_RATIO:
		if (isnan(param))
			return err_set(-EDOM, "Ratio value is NaN");
		if (param == 0)
			return 0;
		r = param;
		if (param > 1) {
			warn_param(ev, agg, st, WARNED_HIGH, param, "1");
			r = 1;
		} else if (param < -1) {
			warn_param(ev, agg, st, WARNED_LOW, param, "-1");
			r = -1;
		}
		break;
	case PROMQL_QUANTILE:
		if (isnan(param))
			warn_param(ev, agg, st, WARNED_NAN, param, NULL);
		else if (param > 1)
			warn_param(ev, agg, st, WARNED_HIGH, param, NULL);
		else if (param < 0)
			warn_param(ev, agg, st, WARNED_LOW, param, NULL);
		break;
	default:
		break;
	}
	if (in->n == 0)
		return 0;
	if (picks_samples(st->op))
		return step_pick(ev, st, in, k, r, out);
	return step_reduce(ev, st, in, param, out);
}
