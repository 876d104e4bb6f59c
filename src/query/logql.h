/*
 * logql.h - LogQL, Loki's query language, over the log streams: parsed,
 * evaluated inside the engine, and written out (shale-logql(7)).
 *
 * A query is a log query or a metric query. A log query is a stream
 * selector ({app="api", env=~"prod|dev"}, matcher.h's syntax over the
 * streams' labels, logs.h) and a pipeline of stages:
 *
 *	|= "x"  != "x"  |~ "re"  !~ "re"	line filters (chained; "a" or "b")
 *	| json  | logfmt  | regexp "re"  | pattern "<a> <_>"  | unpack
 *						parsers, which add labels
 *	| a = "x"  | n > 10  | d >= 5s  | b < 1KB  (and, or, commas)
 *						label filters
 *	| line_format "{{.a}}"  | label_format a="{{.b}}", c=d
 *	| drop a, b  | keep a  | decolorize
 *
 * A metric query is PromQL's outer grammar (aggregations with by and
 * without, binary operators with bool, on, ignoring, group_left and
 * group_right, numbers, vector(), label_replace()) over range
 * aggregations of log queries: count_over_time, rate, bytes_over_time,
 * bytes_rate, absent_over_time, and over a pipeline ending in
 * | unwrap label (or duration(label), bytes(label)): sum_, avg_, min_,
 * max_, stddev_, stdvar_, quantile_, first_, last_over_time and
 * rate_counter, the range written after the pipeline or after the
 * selector ({a="b"}[5m] |= "x"). The outer grammar is PromQL's parser
 * itself (promql.h), with each range aggregation a PROMQL_EXTERNAL node,
 * and it is evaluated by PromQL's evaluator, so both languages aggregate
 * and match alike.
 *
 * Errors are -EINVAL with err_set() worded as Loki words them, with the
 * line and the column: "parse error at line 1, col 12: syntax error:
 * unexpected IDENTIFIER".
 *
 * Memory: a parsed query is the caller's, freed by logql_free();
 * immutable, so any number of threads may evaluate it at once.
 */
#ifndef SHALE_LOGQL_H
#define SHALE_LOGQL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct labels;
struct logs;
struct promql_result;
struct selector;

#define LOGQL_QUERY_MAX		(256 * 1024)	/* bytes of a query */

/* ---- the pipeline (logql_pipe.c) ---- */

struct logql_pipeline;

/*
 * Parse the stages of a pipeline from q + *pos (whitespace first is
 * skipped): as many stages as follow, stopping before the first thing
 * that cannot begin one ('[', ')', the end, anything else), *pos left
 * there. Zero stages is a valid, empty pipeline. The unwrap stage (and
 * the label filters after it) are read too. Errors as above, the column
 * counted from the start of q, and *pos then where the error is.
 */
int	logql_pipeline_parse(const char *q, size_t n, size_t *pos,
	    struct logql_pipeline **out);
void	logql_pipeline_free(struct logql_pipeline *p);
/* Append p as LogQL (" |= \"x\" | json"...; "" when empty). */
int	logql_pipeline_format(const struct logql_pipeline *p, struct buf *b);
/* Whether p has an unwrap stage. */
int	logql_pipeline_unwraps(const struct logql_pipeline *p);
/*
 * The literal strings every line that p keeps must contain (from the
 * |= filters before any stage that changes the line), for skipping
 * blocks that cannot hold them: *out an array of n NUL-terminated
 * strings, the pipeline's, valid as long as it.
 */
void	logql_pipeline_needles(const struct logql_pipeline *p,
	    const char *const **out, size_t *n);

/* What the stages made of a line. */
struct logql_out {
	const char	*line;		/* the line now (line_format) */
	size_t		 len;
	/*
	 * The labels now: the stream's with what the parsers and
	 * label_format added, drop and keep took (an __error__ label, and
	 * __error_details__, where a parser or unwrap failed); valid until
	 * the next call with the same run.
	 */
	const struct labels *ls;
	double		 value;		/* unwrap's, when has_value */
	int		 has_value;
};

/*
 * The state of one evaluation running p (match data, scratch, a cache
 * of label sets): one thread at a time; many runs of one pipeline may go
 * on at once.
 */
struct logql_run;
struct logql_run *logql_run_new(const struct logql_pipeline *p);
void	logql_run_free(struct logql_run *r);
/*
 * Run the stages over one line (without its newline) of a stream whose
 * labels are ls, taken at ts_ns: 1 if the line is kept (and *out says
 * what it became), 0 if a stage dropped it, or a negative code with
 * err_set() (a regex past its match limit, out of memory).
 */
int	logql_run_line(struct logql_run *r, const struct labels *ls,
	    const char *line, size_t len, int64_t ts_ns, struct logql_out *out);
/*
 * What the caller will do with the labels: after logql_run_want(), a
 * line's set holds only the labels names[] (without false) or all but
 * them (without), and __error__ and __error_details__ always; and
 * parsers leave out the labels that neither that set nor a later stage
 * reads. A range aggregation grouped by a few labels then builds small
 * sets, mostly the same from line to line. 0, or -ENOMEM.
 */
int	logql_run_want(struct logql_run *r, const char *const *names,
	    size_t n, int without);

/* ---- queries (logql.c) ---- */

struct logql_expr;

/* Parse n bytes at q: 0 and *out, or -EINVAL with err_set() as above. */
int	logql_parse(const char *q, size_t n, struct logql_expr **out);
void	logql_free(struct logql_expr *e);
/* 1 for a log query (its answer is streams of lines), 0 for a metric query. */
int	logql_is_log(const struct logql_expr *e);
/* The query written back in LogQL. */
int	logql_format(const struct logql_expr *e, struct buf *b);

/*
 * Which language n bytes at q are, where a query may be either (the
 * mount's query views, shale query): 1 for LogQL, 0 for PromQL. A query
 * that begins with '{' is LogQL; one that parses in one language only is
 * of that one; one that parses in both (count_over_time({a="b"}[5m]))
 * is LogQL when it has selectors and none names a metric, as log
 * streams have no metric names (vector(1) is PromQL). One that parses in neither is LogQL when it has
 * a '|' or begins with a name only LogQL has, so that its error is
 * LogQL's.
 */
int	logql_detect(const char *q, size_t n);

#define LOGQL_LIMIT_DEFAULT	100		/* entries of a log query */
#define LOGQL_LIMIT_MAX		5000
#define LOGQL_MAX_SERIES	500		/* series of a metric query */
#define LOGQL_TIMEOUT_MS	(2 * 60 * 1000)

enum logql_direction {
	LOGQL_BACKWARD,		/* newest first (Loki's default) */
	LOGQL_FORWARD,		/* oldest first */
};

/*
 * How a query runs. Times in nanoseconds since the epoch. A log query
 * gives the entries of [start, end) (end excluded, as Loki), at most
 * limit of them: the newest ones when BACKWARD, the oldest when FORWARD.
 * A metric query is evaluated at end alone (instant, step 0) or at each
 * step from start to end. Zero fields take the defaults above.
 */
struct logql_opts {
	int64_t		 start_ns, end_ns;
	int64_t		 step_ns;	/* 0: an instant query at end_ns */
	size_t		 limit;
	enum logql_direction dir;
	int64_t		 timeout_ms;
	size_t		 max_series;
	int		(*cancelled)(void *arg);
	void		*cancel_arg;
};

struct logql_entry {
	int64_t		 ts_ns;
	char		*line;		/* NUL-terminated, without newline */
	size_t		 len;
	/*
	 * The order the query read it in (a stream's file order): entries
	 * of one time are written out in it, whatever their label sets.
	 */
	uint64_t	 seq;
};

/* Entries of one label set, in the query's direction. */
struct logql_stream {
	struct labels	*ls;
	struct logql_entry *e;
	size_t		 n;
};

struct logql_stats {
	uint64_t	 streams;	/* streams the selector picked */
	uint64_t	 records;	/* records read */
	uint64_t	 lines;		/* lines read */
	uint64_t	 bytes;		/* bytes read */
	uint64_t	 entries;	/* entries returned */
	int64_t		 exec_ns;
};

/*
 * A query's answer: a log query's streams (ordered by labels, entries in
 * the query's direction), or a metric query's result as PromQL's
 * (vector, matrix or scalar; its times are milliseconds).
 */
struct logql_result {
	int		 is_log;
	struct logql_stream *streams;
	size_t		 nstreams;
	struct promql_result *metric;
	struct logql_stats stats;
};

/*
 * Evaluate e over the streams of l: 0 and *out (free with
 * logql_result_free()), or:
 *	-EINVAL		bad_data: bad times, step, limit past the maximum
 *	-EDOM		execution: too many series, a pipeline error in a
 *			metric query, ...
 *	-ETIMEDOUT, -ECANCELED, -ENOMEM, -EIO	as PromQL's
 * with err_set() worded as Loki.
 */
int	logql_eval(struct logs *l, const struct logql_expr *e,
	    const struct logql_opts *o, struct logql_result **out);
void	logql_result_free(struct logql_result *r);

/*
 * Following a log query: the lines its streams get from now on, as they
 * are appended. A tail remembers how far it has read each stream the
 * selector picks (by offset, so that an entry counts once whatever its
 * time, and none is missed for coming late); a stream made later is read
 * from its start, one truncated from its new start. Each poll gives what
 * came since the last as a FORWARD log query's result, entries of each
 * stream in the order appended, with their times; at most limit of them
 * (0: LOGQL_LIMIT_MAX), the rest left for the next poll. One thread at a
 * time.
 */
struct logql_tail;
int	logql_tail_new(struct logs *l, const struct logql_expr *e,
	    struct logql_tail **out);
int	logql_tail_poll(struct logql_tail *t, size_t limit,
	    struct logql_result **out);
void	logql_tail_free(struct logql_tail *t);

/*
 * Results written out (logql_result.c):
 * json	the "data" object of Loki's /loki/api/v1/query_range answer:
 *	{"resultType":"streams","result":[{"stream":{...},"values":
 *	[["<ns>","line"],...]}],"stats":{...}}, or for a metric query
 *	"matrix"/"vector"/"scalar" as Loki writes them
 * text	a log query's lines alone, oldest first across all streams, one a
 *	line (what grep and awk take); a metric query as promql_result_text
 * csv	a metric query as promql_result_csv; a log query as
 *	time,stream,line with the time in RFC 3339 nanoseconds
 */
int	logql_result_json(const struct logql_result *r, struct buf *b);
int	logql_result_text(const struct logql_result *r, struct buf *b);
int	logql_result_csv(const struct logql_result *r, struct buf *b);

#endif
