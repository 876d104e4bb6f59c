/*
 * series.h - metric series: label sets (labels.h) with float samples at
 * millisecond timestamps, kept in the engine beside the log streams. The
 * one place where a series is given meaning: the mount (fs/), the HTTP
 * routes (remote write, import, the metadata API), the scraper and the
 * CLI use only this header, so they never disagree about one.
 *
 * The dictionary: every series has an id (from SERIES_FIRST_ID up, never
 * reused) and a label set. series_open() reads every series once and
 * keeps them in memory, with the postings (label pair -> ids, sorted) and
 * the label names and values, so that finding series never reaches the
 * object store. Samples are read from the engine when asked for.
 *
 * Samples, as Prometheus's head takes them (series_appender):
 *	- later than the series' newest sample: taken;
 *	- at the time of a sample the series holds, with the same value
 *	  bits: taken once, then ignored (a retried request adds nothing);
 *	- at the newest sample's time with another value: refused,
 *	  "duplicate sample for timestamp";
 *	- older than the newest: refused, "out of order sample", unless
 *	  series_options.out_of_order_window_ms takes it (a late sample).
 * Values are kept bit for bit: the stale marker (CHUNK_STALE_NAN) too.
 *
 * Storage (keys big-endian; shale-format(5), SERIES):
 *
 *	02 01 'S' id(8)			series -> canonical label encoding
 *	02 01 'N'			the next free id (8)
 *	02 01 'H' id(8) t(8)		a head sample -> value bits (8)
 *	02 01 'C' id(8) first_t(8)	a sealed chunk -> off(8) len(4) chunk
 *	02 01 'X' id(8) off(8)		the chunk holding text offset off -> first_t(8)
 *	02 01 'M' metric		metadata -> type(1) help_len(4) help unit
 *	02 01 'O' id(8) t(8)		a late sample -> value bits (8)
 *
 * (t is offset by 2^63, so that negative times sort first.) Samples go in
 * as head samples, one record each, so an append is one small batch and
 * durable through the engine's WAL; when a series' head holds
 * CHUNK_MAX_SAMPLES samples or spans CHUNK_MAX_SPAN_MS, they are sealed
 * into one chunk (chunk.h) and their head records deleted, in the batch
 * of the append that fills it. series_flush_heads() stores a head that
 * is not full the same way, as a chunk still growing: the next load
 * takes it up again as the head, and its seal writes the same key. With a retention, every record of a
 * sample expires at its time plus the retention, a chunk at its last
 * sample's: compaction drops them whole.
 *
 * The text view: a series reads as one line per sample, oldest first,
 *	<unix seconds>.<milliseconds> <value>\n	e.g. 1733561234.567 42
 * (series_format_sample()). A chunk's value records the offset of its
 * first line and the bytes of its lines, and 'X' maps offsets to chunks,
 * so reading at any offset is a seek.
 *
 * Threading: every function may be called from any thread. Appends are
 * applied one appender at a time (the append lock), then the engine
 * write; the dictionary has its own rwlock, taken after the append lock.
 */
#ifndef SHALE_SERIES_H
#define SHALE_SERIES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct engine;
struct labels;
struct selector;
struct series;
struct series_appender;

#define SERIES_FIRST_ID		1
#define SERIES_LINE_MAX		64	/* bytes of a sample's text line */
#define SERIES_DEFAULT_MAX	1000000	/* series in a store */

struct series_options {
	int64_t		 retention_ms;		/* 0: samples never expire */
	uint64_t	 max_series;		/* 0: SERIES_DEFAULT_MAX */
	/*
	 * A sample up to this much older than its series' newest is taken
	 * (an 'O' record: in scans, not in the text view); 0: refused, as
	 * Prometheus's default
	 */
	int64_t		 out_of_order_window_ms;
	/*
	 * NULL, or lines of SELECTOR:DURATION: the series the first
	 * matching selector names keep their samples that long instead of
	 * retention_ms (0: for ever). A bad line fails series_open with
	 * -EINVAL naming it.
	 */
	const char	*retention_filters;
};

struct series_sample {
	int64_t		 t;			/* milliseconds since the epoch */
	double		 v;
};

/* What appends did: counted for the metrics and the remote write 2.0 headers. */
struct series_counts {
	uint64_t	 samples;		/* taken */
	uint64_t	 series_created;
	uint64_t	 duplicates;		/* the same sample again: ignored */
	uint64_t	 out_of_order;		/* refused */
	uint64_t	 late;			/* taken in the out-of-order window */
	uint64_t	 conflicts;		/* same time, other value: refused */
	uint64_t	 over_limit;		/* of series refused: max_series */
};

/* Series over an open engine (writer or reader); the engine stays the caller's. */
int	series_open(struct engine *e, const struct series_options *o,
	    struct series **out);
void	series_close(struct series *s);
int	series_read_only(const struct series *s);

/*
 * Called after series `id` got samples or was made (id may be new), from
 * the thread that made the change or, on a follower, applied it: must be
 * quick and not call back into series.
 */
typedef void (*series_change_fn)(void *arg, uint64_t id);
void	series_on_change(struct series *s, series_change_fn fn, void *arg);

/* ---- the dictionary ---- */

/* The id of the series with this label set: 0, or -ENOENT. */
int	series_find(struct series *s, const struct labels *ls, uint64_t *id);
/*
 * The same, making the series if there is none (one engine batch): 0, or
 * -ENOSPC past max_series, -EROFS (follower), -EIO, with err_set().
 */
int	series_get(struct series *s, const struct labels *ls, uint64_t *id);
/* The label set of series id (a copy, the caller's): 0 or -ENOENT. */
int	series_labels(struct series *s, uint64_t id, struct labels **out);

/* fn(arg, ...) returns 0 to go on; anything else stops and is returned. */
typedef int (*series_id_fn)(void *arg, uint64_t id, const struct labels *ls);
typedef int (*series_name_fn)(void *arg, const char *name, size_t len);

/* Every metric name that has series, in byte order. */
int	series_metrics(struct series *s, series_name_fn fn, void *arg);
/* The series of one metric, in label set order. */
int	series_of_metric(struct series *s, const char *metric,
	    series_id_fn fn, void *arg);
/*
 * The series matching any of n selectors (all if n is 0), in id order,
 * each once. With mint <= maxt, only those with a sample in [mint, maxt]
 * (a seek each); otherwise (mint > maxt) all.
 */
int	series_select(struct series *s, struct selector *const *sel, size_t n,
	    int64_t mint, int64_t maxt, series_id_fn fn, void *arg);
/* Label names of the series that match (all if n is 0), sorted, each once. */
int	series_label_names(struct series *s, struct selector *const *sel,
	    size_t n, int64_t mint, int64_t maxt, series_name_fn fn, void *arg);
/* Values of label `name` among the series that match, sorted, each once. */
int	series_label_values(struct series *s, const char *name,
	    struct selector *const *sel, size_t n, int64_t mint, int64_t maxt,
	    series_name_fn fn, void *arg);

struct series_stats {
	uint64_t	 series;
	uint64_t	 label_pairs;		/* distinct name=value */
	uint64_t	 label_names;
	int64_t		 min_t, max_t;		/* of samples in memory heads; 0 if none */
	uint64_t	 head_samples;		/* in series loaded since open */
	uint64_t	 head_series;		/* series loaded since open */
};
void	series_stats(struct series *s, struct series_stats *st);
/* The `limit` biggest of each, as Prometheus's /api/v1/status/tsdb shows them. */
struct series_top {
	const char	*name;			/* valid until the next call's free */
	uint64_t	 count;
};
struct series_tsdb_stats {
	struct series_top *by_metric;		/* series per metric name */
	struct series_top *by_label_name;	/* label values per label name */
	struct series_top *by_pair;		/* series per name=value */
	struct series_top *memory_by_label_name;	/* bytes of values per name */
	size_t		 n_metric, n_label_name, n_pair, n_memory;
};
int	series_tsdb_stats(struct series *s, size_t limit,
	    struct series_tsdb_stats *st);
void	series_tsdb_stats_free(struct series_tsdb_stats *st);

/* ---- appending ---- */

/*
 * Gather samples of any series, then commit them as one engine batch:
 * series are made as needed, the samples judged as above. The appender
 * belongs to one thread at a time.
 */
struct series_appender *series_appender_new(struct series *s);
void	series_appender_free(struct series_appender *a);
/*
 * Add n samples of the series named ls (kept by copy): 0, or -ENOMEM.
 * Nothing is judged until the commit.
 */
int	series_appender_add(struct series_appender *a, const struct labels *ls,
	    const struct series_sample *v, size_t n);
/* The same for a series known by id. */
int	series_appender_add_id(struct series_appender *a, uint64_t id,
	    const struct series_sample *v, size_t n);
/*
 * Commit what was added and empty the appender: *c (may be NULL) says
 * what happened. 0 when every sample was taken or a duplicate; -EINVAL
 * when some were refused (out of order, conflicts: the others are
 * taken; err_set() names the first refused, its series and why);
 * -ENOSPC when a series could not be made (max_series; its samples
 * refused, the others taken); -EROFS (follower, fenced) or -EIO: then
 * nothing was taken. *seq (may be NULL) is the batch's engine sequence,
 * for series_sync_seq(); 0 if nothing was written.
 */
int	series_appender_commit(struct series_appender *a, struct series_counts *c,
	    uint64_t *seq);

/*
 * Store every head chunk that has samples only in head records as a
 * chunk record (a chunk still growing), deleting those records: what
 * was appended then lives in chunks only. A writer does it every
 * SERIES_FLUSH_MS and at series_close(); 0, or the engine's error.
 */
#define SERIES_FLUSH_MS		(5 * 60 * 1000)
int	series_flush_heads(struct series *s);

/* Wait until the batch with sequence seq is stored: 0, -ETIMEDOUT, -EIO, -EROFS. */
int	series_sync_seq(struct series *s, uint64_t seq, int64_t timeout_ms);

/* ---- metadata (# HELP, # TYPE, # UNIT; remote write metadata) ---- */

enum series_type {
	SERIES_UNKNOWN = 0, SERIES_COUNTER, SERIES_GAUGE, SERIES_HISTOGRAM,
	SERIES_GAUGEHISTOGRAM, SERIES_SUMMARY, SERIES_INFO, SERIES_STATESET,
};
/* "counter", "gauge", ... as Prometheus's /api/v1/metadata names them. */
const char *series_type_name(enum series_type t);

struct series_meta {
	const char	*metric;
	size_t		 metric_len;
	enum series_type type;
	const char	*help;
	size_t		 help_len;
	const char	*unit;
	size_t		 unit_len;
};
/* Store it unless the store has the same already: 0, -EROFS, -EIO. */
int	series_meta_put(struct series *s, const struct series_meta *m);
/* Each metric's metadata in name order (one metric if metric is not NULL). */
typedef int (*series_meta_fn)(void *arg, const struct series_meta *m);
int	series_meta_each(struct series *s, const char *metric,
	    series_meta_fn fn, void *arg);

/* ---- samples ---- */

/*
 * fn(arg, t, v) for each sample of series id in [mint, maxt], oldest
 * first; a non-zero return stops the scan and is returned.
 */
typedef int (*series_sample_fn)(void *arg, int64_t t, double v);
int	series_scan(struct series *s, uint64_t id, int64_t mint, int64_t maxt,
	    series_sample_fn fn, void *arg);

/* ---- the text view: the series file ---- */

struct series_attr {
	uint64_t	 id;
	uint64_t	 size;			/* bytes of the text view */
	uint64_t	 samples;		/* in the head chunk (a writer) */
	int64_t		 first_t, last_t;	/* ms; 0 with no sample */
	int64_t		 mtime_ns;		/* last_t, or the creation */
};
int	series_getattr(struct series *s, uint64_t id, struct series_attr *a);
/* Read up to n bytes of the text view at off: the count (0 at the end) or -errno. */
ssize_t	series_read(struct series *s, uint64_t id, uint64_t off, void *buf,
	    size_t n);

/*
 * The text line of a sample, with its newline, into out (at least
 * SERIES_LINE_MAX bytes): its length. Seconds with three decimals, then
 * the value in the shortest form that reads back to the same double;
 * NaN, +Inf, -Inf; the stale marker as "stale".
 */
size_t	series_format_sample(int64_t t, double v, char *out);
/*
 * Parse one line a user appends (without its newline): "VALUE" (a sample
 * at now_ms) or "SECONDS VALUE" (seconds since the epoch, with at most
 * three decimals). VALUE is a float as strtod reads it, NaN, [+-]Inf or
 * "stale". 0, or -EINVAL with err_set() naming the column.
 */
int	series_parse_line(const char *line, size_t n, int64_t now_ms,
	    struct series_sample *out);

/* ---- text import (Prometheus text 0.0.4 and OpenMetrics 1.0) ---- */

struct series_import_result {
	struct series_counts counts;
	uint64_t	 lines;
	uint64_t	 metadata;
	uint64_t	 seq;			/* of the batch; 0 if none */
};
/*
 * Parse data and append its samples as one batch (those without a
 * timestamp at now_ms) and store its metadata. openmetrics selects the
 * format. A malformed exposition is -EINVAL with err_set() naming line
 * and column, and nothing is appended; otherwise as
 * series_appender_commit().
 */
int	series_import(struct series *s, const char *data, size_t len,
	    int openmetrics, int64_t now_ms, struct series_import_result *r);

#endif
