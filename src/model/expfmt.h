/*
 * expfmt.h - the parser of the Prometheus exposition formats: the text
 * format 0.0.4 and OpenMetrics 1.0 (text). Scrapes, files written to
 * the mount and the HTTP import endpoint all read metrics through it.
 *
 * It takes a whole exposition in memory and calls back, in order, once
 * for each metadata line (# HELP, # TYPE, OpenMetrics' # UNIT) and once
 * for each sample, with the sample's metric family already decided. It
 * checks what Prometheus checks, and a little more:
 *
 *   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 *     [a-zA-Z_][a-zA-Z0-9_]* ("__name__" is reserved), no label name twice
 *     in one sample, label values and help texts valid UTF-8 once
 *     unescaped; values as the format says (see below);
 *   - TYPE values: counter, gauge, histogram, summary, untyped (text) or
 *     counter, gauge, histogram, gaugehistogram, summary, info, stateset,
 *     unknown (OpenMetrics); at most one HELP and one TYPE (and UNIT) a
 *     family; no TYPE after a sample of its family;
 *   - a histogram's _bucket sample has an "le" label, and "le" and a
 *     summary's "quantile" are numbers;
 *   - OpenMetrics only: the exposition ends with "# EOF" (a line feed after
 *     it is optional) and nothing follows; no other comments, no empty
 *     lines, single spaces between tokens; a UNIT is the suffix of its
 *     family's name; families are not interleaved; exemplars only on a
 *     counter's _total and a histogram's _bucket samples, their labels at
 *     most 128 characters.
 *
 * Families and suffixes. In OpenMetrics a family is opened by its
 * metadata; a sample belongs to the current family if its name is the
 * family's name plus a suffix its type allows (counter: _total, _created;
 * histogram: _bucket, _count, _sum, _created; gaugehistogram: _bucket,
 * _gcount, _gsum; summary: none, _count, _sum, _created; info: _info;
 * gauge, stateset, unknown: none); any other name opens a family of type
 * unknown named as the sample. In the text format, as in Prometheus, a
 * sample belongs to the family of its exact name if there is one, else
 * to histogram or summary "x" for "x_bucket", "x_count" and "x_sum",
 * else to a new untyped family of its name.
 *
 * Values. Text 0.0.4: what Go's strconv.ParseFloat reads (decimal and
 * hexadecimal floats, NaN, [+-]Inf, [+-]Infinity, in any case; not Go's
 * digit separators) and an optional timestamp, integer milliseconds.
 * OpenMetrics: its ABNF's numbers (decimal, [+-]Inf, [+-]Infinity, NaN,
 * any case) and an optional timestamp in seconds with a fraction, handed
 * on as milliseconds (exactly, digits below the millisecond dropped).
 * A value out of a double's range is an error, as in Go.
 *
 * Not checked: duplicate series, the order and monotonicity of buckets,
 * the +Inf bucket, info's value 1, a stateset's 0/1 (all need state per
 * series and are the ingester's business); OpenMetrics' reserved "_"
 * label names and canonical "le" spellings.
 *
 * Errors: the first bad line stops the parse with -EINVAL and err_set()
 * says, for a person, where and what: "line 12, column 8: expected '='
 * after label name "code"" (columns count characters from 1). Nothing
 * the input says can make the parser use memory beyond a small multiple
 * of its length or time beyond linear: lines are at most EXPFMT_LINE_MAX
 * bytes, samples have at most EXPFMT_LABELS_MAX labels, an exposition at
 * most EXPFMT_FAMILIES_MAX families; the formats have no nesting.
 *
 * Memory: nothing is allocated per sample. Everything passed to a
 * callback is borrowed: the strings (NUL-terminated, with their lengths,
 * for values may hold NUL) and arrays live until the callback returns.
 *
 * Threading: thread-compatible; calls on different buffers may run at
 * once. Numbers are read in the "C" locale whatever the process's is.
 */
#ifndef SHALE_EXPFMT_H
#define SHALE_EXPFMT_H

#include <stddef.h>
#include <stdint.h>

#define EXPFMT_LINE_MAX		(1024 * 1024)	/* bytes a line, without its \n */
#define EXPFMT_LABELS_MAX	256		/* labels a sample (and an exemplar) */
#define EXPFMT_FAMILIES_MAX	(1024 * 1024)	/* families an exposition */
#define EXPFMT_EXEMPLAR_MAX	128		/* characters of an exemplar's labels */

enum expfmt_format {
	EXPFMT_TEXT_004 = 1,	/* text/plain; version=0.0.4 */
	EXPFMT_OPENMETRICS,	/* application/openmetrics-text; version=1.0.0 */
};

enum expfmt_type {
	EXPFMT_UNTYPED = 0,	/* text "untyped"; OpenMetrics "unknown" */
	EXPFMT_COUNTER,
	EXPFMT_GAUGE,
	EXPFMT_HISTOGRAM,
	EXPFMT_SUMMARY,
	EXPFMT_INFO,		/* OpenMetrics only, as are the two below */
	EXPFMT_STATESET,
	EXPFMT_GAUGEHISTOGRAM,
};

enum expfmt_meta_kind { EXPFMT_HELP = 1, EXPFMT_TYPE, EXPFMT_UNIT };

struct expfmt_label {
	const char	*name;
	size_t		 name_len;
	const char	*value;		/* unescaped; may hold NUL */
	size_t		 value_len;
};

/* A # HELP, # TYPE or # UNIT line. */
struct expfmt_meta {
	enum expfmt_meta_kind kind;
	const char	*family;
	size_t		 family_len;
	enum expfmt_type type;		/* TYPE */
	const char	*text;		/* HELP (unescaped), UNIT; "" for TYPE */
	size_t		 text_len;
	size_t		 line;		/* from 1 */
};

struct expfmt_exemplar {
	const struct expfmt_label *labels;
	size_t		 nlabels;
	double		 value;
	int		 has_timestamp;
	int64_t		 timestamp_ms;
};

struct expfmt_sample {
	const char	*name;		/* as written: "x_bucket" */
	size_t		 name_len;
	const char	*family;	/* the family it belongs to: "x" */
	size_t		 family_len;
	enum expfmt_type type;		/* the family's */
	const struct expfmt_label *labels;	/* in the order written */
	size_t		 nlabels;
	double		 value;
	int		 has_timestamp;
	int64_t		 timestamp_ms;	/* milliseconds since the epoch */
	const struct expfmt_exemplar *exemplar;	/* NULL if none */
	size_t		 line;
};

/* A callback returns 0 to go on; a negative code stops the parse, which returns it. */
typedef int (*expfmt_meta_fn)(void *arg, const struct expfmt_meta *m);
typedef int (*expfmt_sample_fn)(void *arg, const struct expfmt_sample *s);

struct expfmt_handler {
	expfmt_meta_fn	 on_meta;	/* may be NULL */
	expfmt_sample_fn on_sample;	/* may be NULL */
	void		*arg;
};

/* What a parse saw, complete after success, up to the error otherwise. */
struct expfmt_stats {
	size_t		 lines;
	size_t		 families;	/* declared by metadata or opened by a sample */
	size_t		 samples;
	size_t		 exemplars;
	size_t		 metas;		/* HELP, TYPE and UNIT lines */
	size_t		 comments;	/* other comments and blank lines (text) */
};

/*
 * Parse data[0..len) in format fmt, calling h (which may be NULL, to
 * check only). 0, -EINVAL with err_set() for a malformed exposition, or
 * a callback's code. stats (may be NULL) is filled in either way.
 */
int	expfmt_parse(const char *data, size_t len, enum expfmt_format fmt,
	    const struct expfmt_handler *h, struct expfmt_stats *stats);

/*
 * The format of a body with this Content-Type value, as Prometheus picks
 * it: application/openmetrics-text is OpenMetrics, anything else (or
 * NULL, or "") the text format. The protobuf formats
 * (application/vnd.google.protobuf, application/openmetrics-protobuf)
 * are -EPROTONOSUPPORT, with err_set().
 */
int	expfmt_format_for(const char *content_type, enum expfmt_format *fmt);

/* "counter", "unknown" ...: the type's name in format fmt. */
const char *expfmt_type_name(enum expfmt_type t, enum expfmt_format fmt);

#endif
