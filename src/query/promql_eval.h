/*
 * promql_eval.h - what the evaluator (promql_eval.c), the functions
 * (promql_func.c) and the aggregations (promql_agg.c) share.
 *
 * The evaluator works as Prometheus's engine does: an instant query is a
 * range query of one step, and every node is evaluated for all the steps
 * at once into a pq_matrix, its series holding a point at each step where
 * they have a value. A node made of others (a call, an aggregation, a
 * binary operation) is evaluated a step at a time: the evaluator cuts
 * each argument's matrix into the vector of that step and hands the
 * vectors to the node's step function, then gathers the vectors it gives
 * back into the node's matrix by label set.
 *
 * Label sets are interned: every set a query sees or makes is put through
 * pq_intern(), which keeps one copy of each for the query's life. So two
 * sets are equal exactly when their pointers are, a pointer is a fine
 * hash key, and a step function may cache what it derives from a set
 * (a group's key, a match signature) by the set's pointer across steps.
 *
 * Names are dropped late, as Prometheus 3 (with its delayed name removal,
 * which its own tests use): an operation that would drop the metric name
 * sets drop_name on what it gives, and the name goes at the end of the
 * query, or where an operation needs the sets without it (aggregations
 * by labels, vector matching, label_replace). pq_drop_name() is that
 * removal for one set.
 *
 * Errors: a step function returns 0 or a negative code with err_set()
 * (Prometheus's words); -EDOM is an execution error. Memory: everything
 * a query allocates is freed when it ends; vectors are reused between
 * steps.
 */
#ifndef SHALE_PROMQL_EVAL_H
#define SHALE_PROMQL_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include <math.h>

#include "query/promql.h"

struct labels;
struct pq_eval;

struct pq_point {
	int64_t		 t;
	double		 v;
};

/* One element of an instant vector. */
struct pq_sample {
	const struct labels *ls;	/* interned */
	double		 v;
	int		 drop_name;
};

struct pq_vector {
	struct pq_sample *s;
	size_t		 n, cap;
};

/* One series of a node's value over the steps. */
struct pq_series {
	const struct labels *ls;	/* interned */
	struct pq_point	*p;		/* ascending in t */
	size_t		 n, cap;
	int		 drop_name;
};

struct pq_matrix {
	struct pq_series *s;
	size_t		 n, cap;
};

/* The steps being evaluated: start, end, interval (ms) and their count. */
void	pq_steps(const struct pq_eval *ev, int64_t *start, int64_t *end,
	    int64_t *step, size_t *n);
/* The clock and the client, as the evaluator checks them: 0, -ETIMEDOUT or -ECANCELED. */
int	pq_check_alive(struct pq_eval *ev);
/* Append a point to s (grows it); t ascending. */
void	pq_series_push(struct pq_series *s, int64_t t, double v);

/* Append one sample to v (grows it). */
void	pq_vector_push(struct pq_vector *v, const struct labels *ls, double x,
	    int drop_name);

/*
 * Intern ls (taking it: it is freed if an equal set is already held):
 * the query's one copy of that set, valid until the query ends.
 */
const struct labels *pq_intern(struct pq_eval *ev, struct labels *ls);
/* ls without __name__, interned (ls itself when it has none). */
const struct labels *pq_drop_name(struct pq_eval *ev, const struct labels *ls);
/*
 * ls with only the names in keep (keep != 0) or without them (keep == 0;
 * __name__ always goes then), interned. names need not be sorted. The
 * result for a given (ls, list) should be cached by the caller when it is
 * asked every step.
 */
const struct labels *pq_labels_subset(struct pq_eval *ev,
	    const struct labels *ls, char *const *names, size_t n, int keep);
/* ls with name set to value (removed when value is ""), interned; NULL and err_set() for an invalid name. */
const struct labels *pq_labels_set(struct pq_eval *ev, const struct labels *ls,
	    const char *name, const char *value, size_t value_len);

/* A warning or an info for the result (printf-like; the "PromQL warning: " prefix is added). */
void	pq_warn(struct pq_eval *ev, const struct promql_node *at,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void	pq_info(struct pq_eval *ev, const struct promql_node *at,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Count n more samples in memory against the query's max_samples (and
 * n < 0 for those freed): 0, or -EDOM with Prometheus's words.
 */
int	pq_account(struct pq_eval *ev, int64_t n);

/* ---- pointer-keyed map, for caches by interned set ---- */

struct pq_pmap {
	const void	**key;
	uintptr_t	*val;
	size_t		 cap, n;
};
/* The slot of key (a new one is 0, *created set). */
uintptr_t *pq_pmap_get(struct pq_pmap *m, const void *key, int *created);
uintptr_t *pq_pmap_find(const struct pq_pmap *m, const void *key);
void	pq_pmap_free(struct pq_pmap *m);

/* ---- functions (promql_func.c) ---- */

#define PQ_ARGS_MAX	16	/* arguments of a call */

/* What a step function of a call gets. */
struct pq_args {
	int64_t		 t;		/* the step's time, ms */
	const struct promql_node *call;
	/* by argument index: a vector, a scalar or a string */
	struct pq_vector *v[PQ_ARGS_MAX];
	double		 s[PQ_ARGS_MAX];
	const char	*str[PQ_ARGS_MAX];
	size_t		 nargs;
	/*
	 * For the function's own use across the steps of one evaluation
	 * of the node (a cache by set); freed with free_state when the
	 * node is done.
	 */
	void		**state;
};

/* The samples of one series in a window (start, end], oldest first, without stale markers. */
struct pq_window {
	const struct pq_point *p;
	size_t		 n;
	int64_t		 start, end;	/* the window; start excluded */
	int64_t		 t;		/* the step's time */
	double		 s[4];		/* the call's scalar arguments at this step, by index */
	const struct labels *ls;	/* the series' (for warnings) */
	const struct promql_node *call;
};

/*
 * A function over the windows of a range vector: 1 and *out, 0 for no
 * value at this step, or a negative code.
 */
typedef int (*pq_window_fn)(struct pq_eval *ev, const struct pq_window *w,
	    double *out);
/*
 * A function of instant vectors and scalars, a step at a time: appends
 * its answer to out (drop_name as the function wants it).
 */
typedef int (*pq_step_fn)(struct pq_eval *ev, const struct pq_args *a,
	    struct pq_vector *out);

struct pq_funcdef {
	const char	*name;
	pq_window_fn	 window;	/* range-vector functions */
	pq_step_fn	 step;		/* the others */
	void		(*free_state)(void *state);
	int		 keep_name;	/* window functions that keep __name__ */
	/*
	 * The answer is ordered as the function leaves it (sort ...):
	 * an instant query keeps that order.
	 */
	int		 ordered;
};

/* The definition of the function called name, or NULL (not implemented). */
const struct pq_funcdef *pq_func(const char *name);

/* ---- aggregations (promql_agg.c) ---- */

/*
 * One step of aggregation agg over in: param is the scalar parameter
 * (topk's k, quantile's q, limit_ratio's ratio), sparam count_values'
 * label name; *state as pq_args' (freed with pq_aggregate_free()).
 * Appends the groups to out.
 */
int	pq_aggregate(struct pq_eval *ev, const struct promql_node *agg,
	    int64_t t, const struct pq_vector *in, double param,
	    const char *sparam, void **state, struct pq_vector *out);
void	pq_aggregate_free(void *state);

/* ---- Prometheus's numerics, shared ---- */

/* Kahan-Babuska-Neumaier summation, as Prometheus's kahansum. */
static inline double
pq_kahan_inc(double inc, double sum, double *c)
{
	double t = sum + inc;

	if (isinf(t))
		*c = 0;
	else if ((sum < 0 ? -sum : sum) >= (inc < 0 ? -inc : inc))
		*c += (sum - t) + inc;
	else
		*c += (inc - t) + sum;
	return t;
}

#endif
