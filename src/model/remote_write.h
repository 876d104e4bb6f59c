/*
 * remote_write.h - decode the body of a Prometheus remote write request
 * (POST /api/v1/write) into series and their samples.
 *
 * Two versions, told apart by the Content-Type (rw_version()):
 *
 *	1.0	application/x-protobuf (or no proto= parameter, or none
 *		at all): prometheus.WriteRequest, series carrying their
 *		labels as name/value strings, and a list of metadata
 *	2.0	application/x-protobuf;proto=io.prometheus.write.v2.Request:
 *		a table of strings ("symbols") and series naming their
 *		labels, help and unit by index into it; metadata per series
 *
 * Either body is a protobuf message compressed in snappy's block format
 * (not the framed one). src/model/prompb.proto holds the fields read.
 *
 * What comes out, through the callbacks of a struct rw_handler: each
 * series with one or more float samples, as a label set (labels.h: the
 * names checked by Prometheus's rules, sorted, empty values dropped) and
 * its samples in the order sent; each metadata entry (1.0: the request's
 * list; 2.0: a series' metadata when it says anything, named by the
 * series' metric name). Left out and only counted: exemplars and native
 * histogram samples (struct rw_counts), the 2.0 created timestamp.
 *
 * All or nothing: the whole request is decoded and checked before the
 * first callback, so a refused request has given the caller nothing. A
 * callback that returns non-zero stops the decoding; rw_decode() returns
 * its value, and what the callbacks took before stays taken.
 *
 * Refusals, each with err_set() saying which series, which label and why
 * (the HTTP route answers 400 or 413 with it):
 *	-EINVAL	what a retry cannot fix: bad snappy, bad protobuf, an
 *		invalid or reserved-looking name, a label given twice, a
 *		series with no metric name, a 2.0 reference past the
 *		symbol table, help or unit that is not UTF-8
 *	-EFBIG	past a struct rw_limits bound; the snappy header's claim
 *		of the uncompressed size is checked before anything is
 *		allocated, so a decompression bomb costs nothing
 *
 * Labels whose names start with "__" are accepted (LABELS_RESERVED), as
 * Prometheus's receiver accepts them. Series are not merged: a request
 * naming one series twice gives two callbacks.
 *
 * Memory: the label set and samples handed to on_series, and the strings
 * of a struct rw_metadata, live until the callback returns (labels_dup()
 * to keep a set). The protobuf parser allocates through an accounting
 * allocator held to rw_limits.max_memory.
 *
 * Threading: no state; any number of threads may decode at once.
 */
#ifndef SHALE_REMOTE_WRITE_H
#define SHALE_REMOTE_WRITE_H

#include <stddef.h>
#include <stdint.h>

struct labels;

enum rw_version {
	RW_V1	= 1,	/* prometheus.WriteRequest */
	RW_V2	= 2,	/* io.prometheus.write.v2.Request */
};

/* The metric types, numbered as both versions number them. */
enum rw_metric_type {
	RW_TYPE_UNKNOWN		= 0,
	RW_TYPE_COUNTER		= 1,
	RW_TYPE_GAUGE		= 2,
	RW_TYPE_HISTOGRAM	= 3,
	RW_TYPE_GAUGEHISTOGRAM	= 4,
	RW_TYPE_SUMMARY		= 5,
	RW_TYPE_INFO		= 6,
	RW_TYPE_STATESET	= 7,
};

struct rw_sample {
	int64_t	t;	/* milliseconds since the epoch */
	double	v;	/* any double: a NaN may be a staleness marker */
};

/* Strings are UTF-8 and not NUL-terminated; an absent one has length 0. */
struct rw_metadata {
	const char		*name;	/* metric family name, a valid metric name */
	size_t			 name_len;
	enum rw_metric_type	 type;	/* a value the sender gave past 7 is UNKNOWN */
	const char		*help;
	size_t			 help_len;
	const char		*unit;
	size_t			 unit_len;
};

/* Each 0 or a value rw_decode() returns at once; arg is the handler's. */
typedef int (*rw_series_fn)(void *arg, const struct labels *ls,
    const struct rw_sample *samples, size_t n);
typedef int (*rw_metadata_fn)(void *arg, const struct rw_metadata *md);

struct rw_handler {
	rw_series_fn	 on_series;	/* NULL: series are checked, not given */
	rw_metadata_fn	 on_metadata;	/* NULL: metadata is checked, not given */
	void		*arg;
};

struct rw_limits {
	size_t	max_size;	/* bytes of the uncompressed message */
	size_t	max_samples;	/* float samples in the request, all series */
	size_t	max_memory;	/* bytes the protobuf parser may allocate */
};

/* What a request held; filled as far as decoding went. */
struct rw_counts {
	size_t	series;		/* calls of on_series */
	size_t	samples;	/* samples given to them */
	size_t	metadata;	/* calls of on_metadata */
	size_t	exemplars;	/* left out */
	size_t	histograms;	/* native histogram samples, left out */
};

/*
 * The version a Content-Type value asks for: RW_V1 for NULL, "" or
 * application/x-protobuf without a proto= parameter or with
 * proto=prometheus.WriteRequest; RW_V2 for
 * proto=io.prometheus.write.v2.Request. Anything else is -EINVAL with
 * err_set() (the route answers 415).
 */
int	rw_version(const char *content_type);

/*
 * Decode a snappy-compressed body of len bytes of the given version,
 * calling h's callbacks; counts (may be NULL) is zeroed first. 0, a
 * callback's non-zero value, or a refusal above.
 */
int	rw_decode(enum rw_version version, const void *body, size_t len,
	    const struct rw_limits *lim, const struct rw_handler *h,
	    struct rw_counts *counts);

/* The same for a message already uncompressed (tests, fuzzing). */
int	rw_decode_message(enum rw_version version, const void *msg,
	    size_t len, const struct rw_limits *lim,
	    const struct rw_handler *h, struct rw_counts *counts);

#endif
