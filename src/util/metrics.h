/*
 * metrics.h - a registry of counters, gauges and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * A family (struct metric) has a name, help text and a fixed list of label
 * names. A series (struct metric_series) is one combination of label
 * values; look it up once with metric_series() and keep the pointer: it
 * stays valid for the life of the registry. Updating a series is lock-free
 * (atomics); creating one takes the family's lock. Families and series are
 * never removed, so label values must come from a bounded set (an
 * operation name, an HTTP route), never from user input.
 *
 * Thread-safe throughout. Lock order: registry lock, then family lock.
 */
#ifndef SHALE_METRICS_H
#define SHALE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct metrics;
struct metric;
struct metric_series;

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* The process-wide registry, created on first use; never freed. */
struct metrics *metrics_global(void);
struct metrics *metrics_new(void);
void	metrics_free(struct metrics *m);

/*
 * Register a family, or find the one registered under that name (it must
 * have the same type and labels, else BUG). `labels` is a comma-separated
 * list of label names, or NULL for none. Histogram bounds are upper bounds
 * in increasing order; +Inf is implied.
 */
struct metric *metrics_counter(struct metrics *m, const char *name,
	    const char *help, const char *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name,
	    const char *help, const char *labels);
struct metric *metrics_histogram(struct metrics *m, const char *name,
	    const char *help, const char *labels, const double *bounds,
	    size_t nbounds);

/* The family registered under `name`, or NULL. */
struct metric *metrics_find(struct metrics *m, const char *name);

/* Bounds for request latencies in seconds, 1 ms to 30 s. */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_nbounds;

/* The series for these label values (as many as the family has labels). */
struct metric_series *metric_series(struct metric *f, ...);
struct metric_series *metric_seriesv(struct metric *f, const char *const *values);

void	metric_add(struct metric_series *s, double v);		/* counter, gauge */
void	metric_set(struct metric_series *s, double v);		/* gauge */
void	metric_observe(struct metric_series *s, double v);	/* histogram */
double	metric_value(struct metric_series *s);	/* counter/gauge value; histogram sum */
uint64_t metric_count(struct metric_series *s);	/* histogram observations */

/* Append the whole registry to `out` in text format 0.0.4. */
int	metrics_render(struct metrics *m, struct buf *out);

#endif
