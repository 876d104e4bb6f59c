/*
 * logql_int.h - what the LogQL front (logql.c: the query's shape, the
 * range aggregations as PromQL's external nodes) and the evaluator
 * (logql_eval.c) share.
 */
#ifndef SHALE_LOGQL_INT_H
#define SHALE_LOGQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "query/logql.h"
#include "query/promql.h"

/* The range aggregations, in the order of lq_range_names[]. */
enum lq_op {
	LQ_COUNT_OVER_TIME, LQ_RATE, LQ_BYTES_OVER_TIME, LQ_BYTES_RATE,
	LQ_ABSENT_OVER_TIME,
	/* over unwrapped values */
	LQ_SUM_OVER_TIME, LQ_AVG_OVER_TIME, LQ_MIN_OVER_TIME,
	LQ_MAX_OVER_TIME, LQ_STDDEV_OVER_TIME, LQ_STDVAR_OVER_TIME,
	LQ_QUANTILE_OVER_TIME, LQ_FIRST_OVER_TIME, LQ_LAST_OVER_TIME,
	LQ_RATE_COUNTER,
};
#define LQ_UNWRAP_FIRST	LQ_SUM_OVER_TIME

extern const char *const lq_range_names[];

/* A log query: a selector and its pipeline. */
struct lq_log {
	struct selector	*sel;
	struct logql_pipeline *pipe;
};

/* A range aggregation of a log query: PromQL's external node. */
struct lq_range {
	enum lq_op	 op;
	double		 param;		/* quantile_over_time's */
	struct lq_log	 log;
	int64_t		 range_ns;
	int64_t		 offset_ns;
	int		 grouped;	/* by or without given */
	int		 without;
	char		**grouping;
	size_t		 ngrouping;
	/*
	 * The sum that aggregates it, when that may group its samples
	 * instead (sum by (a) (count_over_time(...)) counts by a from the
	 * start, holding a series a value of a, not one a label set): a
	 * node of the tree it is in, or NULL.
	 */
	const struct promql_node *pushed;
};

struct logql_expr {
	int		 is_log;
	struct lq_log	 log;		/* a log query */
	struct promql_node *metric;	/* a metric query */
};

/* The language as PromQL's parser and evaluator see it (logql.c). */
extern const struct promql_ext lq_ext;

/* The value of a range aggregation over the steps (logql_eval.c). */
int	lq_range_eval(void *arg, struct pq_eval *ev, const void *node,
	    struct pq_matrix *out);

#endif
