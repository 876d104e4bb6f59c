/*
 * promql.h - PromQL, parsed and printed: the syntax tree of a query, the
 * parser that builds it and the printer that writes it back, with the
 * grammar, the types and the error words of Prometheus 3; and the
 * evaluation of a tree over the metric series (at its end).
 *
 * The language (Prometheus's promql/parser): number literals (1, 1.5,
 * .5, 1e3, 0x1f, 010 octal as Go reads it, Inf and NaN in any case) and,
 * as in Prometheus 3, durations as numbers of seconds (5m is 300, printed
 * back as 5m); strings "...", '...' with Go's escapes and `...` raw;
 * vector selectors metric{matchers} (a quoted name in the braces is the
 * metric name, {"a.b"}); ranges sel[5m], subqueries expr[1h:5m] and
 * expr[1h:]; the modifiers offset D (D a duration or a number of
 * seconds, negative with '-') and @ T (seconds since the epoch, start(),
 * end()); unary + and -; the binary operators, from the loosest:
 *
 *	or
 *	and unless
 *	== != > < >= <=
 *	+ -
 *	* / % atan2
 *	^		(right-associative; all others left)
 *
 * with bool, on(...)/ignoring(...) and group_left(...)/group_right(...);
 * unary minus binds as *, below ^, so -2^2 is -(2^2); the aggregations
 * with by/without before or after their arguments; calls of the
 * functions of promql_funcs[]; parentheses; # comments to the end of a
 * line. Keywords are matched without case.
 *
 * Types are checked as Prometheus checks them, after the whole query
 * parsed: a syntax error anywhere comes before a type error. An error is
 * -EINVAL with err_set() worded as Prometheus words it, with the line and
 * the column in bytes of where it is: "1:14: parse error: unexpected
 * <by>". The first error is the one reported.
 *
 * Where shale differs: the experimental functions and aggregations of
 * Prometheus 3 (limitk, limit_ratio, sort_by_label, mad_over_time,
 * double_exponential_smoothing, first_over_time, ts_of_*_over_time,
 * histogram_quantiles, min_of, max_of, info) are always on; @ takes a
 * duration (seconds, as Prometheus 3 reads it); a selector holds
 * at most SELECTOR_MATCHERS_MAX matchers and label names are matcher.h's;
 * regex errors are pcre2's words; a tree is at most PROMQL_DEPTH_MAX
 * levels high (so that walking it recursively is safe on any thread's
 * stack) and a query at most PROMQL_QUERY_MAX bytes; a range of 0 is
 * refused however written ([0] too, which Prometheus prints [0s] and
 * then refuses); the label names inf and nan are printed quoted, and a
 * duration literal prints the millisecond it was written (Prometheus's
 * float product can print one short). The experimental duration
 * arithmetic of Prometheus 3 (foo[5m+1m], step()) is not read.
 *
 * Memory: a tree is one allocation per node, freed by promql_free(); its
 * strings live as long as it does. Threading: parse and format on any
 * number of threads; a tree is immutable and may be read by any number
 * of threads at once.
 */
#ifndef SHALE_PROMQL_H
#define SHALE_PROMQL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct selector;

#define PROMQL_DEPTH_MAX	200		/* levels of a tree */
#define PROMQL_QUERY_MAX	(256 * 1024)	/* bytes of a query */

/* The value types, as Prometheus names them in errors. */
enum promql_type {
	PROMQL_TYPE_NONE,
	PROMQL_TYPE_SCALAR,	/* "scalar" */
	PROMQL_TYPE_VECTOR,	/* "instant vector" */
	PROMQL_TYPE_MATRIX,	/* "range vector" */
	PROMQL_TYPE_STRING,	/* "string" */
};

enum promql_kind {
	PROMQL_NUMBER,		/* num */
	PROMQL_STRING,		/* str */
	PROMQL_VECTOR_SELECTOR,	/* vs */
	PROMQL_MATRIX_SELECTOR,	/* ms: a vector selector and a range */
	PROMQL_SUBQUERY,	/* sq */
	PROMQL_UNARY,		/* un */
	PROMQL_BINARY,		/* bin */
	PROMQL_AGGREGATE,	/* agg */
	PROMQL_CALL,		/* call */
	PROMQL_PAREN,		/* paren */
	PROMQL_EXTERNAL,	/* ext: a node of another language (promql_ext) */
};

/* Binary and unary operators, in the order of PROMQL_OP_NAMES. */
enum promql_op {
	PROMQL_ADD, PROMQL_SUB, PROMQL_MUL, PROMQL_DIV, PROMQL_MOD,
	PROMQL_POW, PROMQL_ATAN2,
	PROMQL_EQLC, PROMQL_NEQ, PROMQL_GTR, PROMQL_LSS, PROMQL_GTE,
	PROMQL_LTE,
	PROMQL_AND, PROMQL_OR, PROMQL_UNLESS,
};

enum promql_agg {
	PROMQL_SUM, PROMQL_AVG, PROMQL_COUNT, PROMQL_MIN, PROMQL_MAX,
	PROMQL_GROUP, PROMQL_STDDEV, PROMQL_STDVAR,
	PROMQL_TOPK, PROMQL_BOTTOMK, PROMQL_QUANTILE, PROMQL_COUNT_VALUES,
	PROMQL_LIMITK, PROMQL_LIMIT_RATIO,
};

/* How the two sides of a binary operation between vectors match. */
enum promql_card {
	PROMQL_ONE_TO_ONE,
	PROMQL_MANY_TO_ONE,	/* group_left */
	PROMQL_ONE_TO_MANY,	/* group_right */
	PROMQL_MANY_TO_MANY,	/* and, or, unless */
};

/* The @ modifier. */
enum promql_at {
	PROMQL_AT_NONE,
	PROMQL_AT_TIME,		/* at_ms */
	PROMQL_AT_START,	/* @ start() */
	PROMQL_AT_END,		/* @ end() */
};

/* A function: its argument types and how many may be left out or added. */
struct promql_func {
	const char	*name;
	enum promql_type args[5];
	int		 nargs;
	/*
	 * 0: exactly nargs arguments; n > 0: the last argument may be
	 * left out, and up to n of it given (nargs - 1 to nargs - 1 + n);
	 * -1: the last one repeats without a limit.
	 */
	int		 variadic;
	enum promql_type ret;
};

extern const struct promql_func promql_funcs[];
extern const size_t promql_nfuncs;
/* The function called name, or NULL. */
const struct promql_func *promql_func_find(const char *name, size_t len);

/* A list of label names (by, without, on, ignoring, group_*). */
struct promql_labels {
	char	**names;
	size_t	  n;
};

struct promql_node {
	enum promql_kind kind;
	uint32_t	 pos;		/* where it starts in the query, bytes */
	uint32_t	 height;	/* levels of the tree, itself the first */
	union {
		struct {
			double	 value;
			int	 duration;	/* written as one: print it so */
		} num;
		struct {
			char	*s;		/* unquoted; NUL-terminated */
			size_t	 len;
		} str;
		struct {
			char	*name;		/* before the braces, or "" */
			/*
			 * The matchers in the order written, then
			 * __name__="name" when a name stands before the
			 * braces (as Prometheus appends it).
			 */
			struct selector *sel;
			int64_t	 offset_ms;
			enum promql_at at;
			int64_t	 at_ms;
		} vs;
		struct {
			struct promql_node *vs;	/* a PROMQL_VECTOR_SELECTOR */
			int64_t	 range_ms;	/* offset and @ are vs's */
		} ms;
		struct {
			struct promql_node *expr;
			int64_t	 range_ms;
			int64_t	 step_ms;	/* 0: the query's step */
			int64_t	 offset_ms;
			enum promql_at at;
			int64_t	 at_ms;
		} sq;
		struct {
			enum promql_op op;	/* PROMQL_ADD or PROMQL_SUB */
			struct promql_node *expr;
		} un;
		struct {
			enum promql_op op;
			uint32_t op_pos;	/* where the operator is */
			int	 return_bool;
			struct promql_node *lhs, *rhs;
			/*
			 * Vector matching, for an operation between two
			 * instant vectors only (else matching is 0).
			 */
			int	 matching;
			enum promql_card card;
			int	 on;		/* on(labels), else ignoring */
			struct promql_labels labels;
			struct promql_labels include;	/* group_x(...) */
		} bin;
		struct {
			enum promql_agg op;
			int	 without;
			struct promql_labels grouping;
			struct promql_node *param;	/* topk's k ...; or NULL */
			struct promql_node *expr;
		} agg;
		struct {
			const struct promql_func *func;
			struct promql_node **args;
			size_t	 nargs;
		} call;
		struct {
			struct promql_node *expr;
		} paren;
		struct {
			const struct promql_ext *x;
			void	*node;		/* x's; freed by x->free */
		} ext;
	};
};

/*
 * Parse n bytes at query into a tree, owned by the caller: 0, or -EINVAL
 * with err_set() (Prometheus's words, above) and *out NULL.
 */
int	promql_parse(const char *query, size_t n, struct promql_node **out);

struct pq_eval;
struct pq_matrix;

/*
 * Another language whose queries are PromQL's outer grammar over nodes
 * of its own (LogQL's metric queries over its range aggregations): the
 * parser hands it each call of a name it claims, and the evaluator asks
 * it for such a node's value. Its nodes are instant vectors.
 */
struct promql_ext {
	/*
	 * At a name followed by "(" (at byte pos of q): 1 when the name is
	 * not the language's (PromQL goes on), else parse the whole node
	 * from pos, 0 with *node and *end the byte after it, or -EINVAL with
	 * err_set() (the message alone) and *end where the error is.
	 */
	int	(*parse)(const char *q, size_t n, size_t pos, size_t *end,
		    void **node);
	void	(*free)(void *node);
	int	(*format)(const void *node, struct buf *b);
	/*
	 * The node's series over the evaluation's steps (pq_steps), into
	 * out, their sets pq_intern'ed and their points pq_account'ed; arg
	 * is promql_opts' ext_arg.
	 */
	int	(*eval)(void *arg, struct pq_eval *ev, const void *node,
		    struct pq_matrix *out);
	/*
	 * Names of PromQL's functions and aggregations that the language
	 * has, NULL-terminated; NULL for all of them.
	 */
	const char *const *funcs;
	/* Errors as "parse error at line L, col C: " and the message, not "L:C: parse error: " */
	int	 loki_errors;
};

/* The same, for the language x. */
int	promql_parse_ext(const char *query, size_t n, const struct promql_ext *x,
	    struct promql_node **out);
void	promql_free(struct promql_node *e);

/* The type of e's value. */
enum promql_type promql_type_of(const struct promql_node *e);
/* "scalar", "instant vector", "range vector", "string", "none". */
const char *promql_type_name(enum promql_type t);
/* "+", "and", "atan2" ...; "sum", "count_values" ... */
const char *promql_op_name(enum promql_op op);
const char *promql_agg_name(enum promql_agg op);

/*
 * Append e to b as Prometheus's String() writes it (format_query): one
 * line, canonical spacing, matchers sorted, durations in their largest
 * units. What it writes parses back to a tree that prints the same.
 */
int	promql_format(const struct promql_node *e, struct buf *b);

/*
 * The same, prettified as Prometheus's Pretty(0) (what format_query
 * answers): a node whose one-line form is longer than 100 bytes is split,
 * its operands or arguments on lines of their own, indented two spaces a
 * level; shorter nodes stay on one line.
 */
int	promql_format_pretty(const struct promql_node *e, struct buf *b);

/*
 * Durations as Prometheus writes them: [0-9]+ with a unit y w d h m s ms,
 * units in that order, each at most once ("1h30m"). Parse: 0, or -EINVAL
 * with err_set() ("not a valid duration string: \"x\""), -ERANGE past
 * int64 milliseconds. Format: the largest units first, y and w only when
 * they divide what is left exactly; 0 is "0s".
 */
int	promql_duration_parse(const char *s, size_t n, int64_t *ms);
int	promql_duration_format(int64_t ms, struct buf *b);
/* A float as Go's strconv.FormatFloat(v, 'f', -1, 64): "+Inf", "NaN". */
int	promql_number_format(double v, struct buf *b);

/* ---- evaluation (promql_eval.c, promql_func.c, promql_agg.c) ---- */

struct labels;
struct series;

#define PROMQL_LOOKBACK_MS	(5 * 60 * 1000)	/* default lookback */
#define PROMQL_TIMEOUT_MS	(2 * 60 * 1000)	/* default timeout */
#define PROMQL_MAX_SAMPLES	50000000	/* default max samples */
#define PROMQL_MAX_POINTS	11000		/* steps of a range query */

/* How a query runs: zero fields take the defaults above. */
struct promql_opts {
	int64_t		 lookback_ms;
	int64_t		 timeout_ms;
	uint64_t	 max_samples;	/* in memory at once, as Prometheus counts */
	/*
	 * Polled while the query runs: non-zero cancels it (-ECANCELED),
	 * as when an HTTP client goes away. May be NULL.
	 */
	int		(*cancelled)(void *arg);
	void		*cancel_arg;
	void		*ext_arg;	/* for promql_ext's eval */
};

struct promql_point {
	int64_t		 t;		/* ms since the epoch */
	double		 v;
};

/* A series of a result: a vector's has one point, a matrix's several. */
struct promql_series {
	struct labels	*ls;		/* the result's */
	struct promql_point *pts;
	size_t		 n;
};

struct promql_stats {
	uint64_t	 samples;	/* total queryable samples touched */
	uint64_t	 peak_samples;	/* the most in memory at once */
	uint64_t	 series;	/* series read from the store */
	int64_t		 eval_ns;
};

/*
 * A query's answer. type is PROMQL_TYPE_SCALAR (scalar at t), _STRING
 * (str at t), _VECTOR (series with one point each, at the query's time)
 * or _MATRIX (a range query's answer, or a range vector asked for at an
 * instant). An instant vector's series are in the order Prometheus gives
 * them: as the evaluation left them when the top node orders (sort,
 * sort_desc, sort_by_label*, topk, bottomk), else by labels; a matrix's
 * by labels.
 */
struct promql_result {
	enum promql_type type;
	int64_t		 t;
	double		 scalar;
	char		*str;
	struct promql_series *series;
	size_t		 n;
	char		**warnings;	/* "PromQL warning: ...", for the API's warnings */
	size_t		 nwarnings;
	char		**infos;	/* "PromQL info: ...", for infos */
	size_t		 ninfos;
	struct promql_stats stats;
};

/*
 * Evaluate a parsed query over the series of s: at one instant t (ms), or
 * for every step from start to end (a range query: its expression must be
 * a scalar or an instant vector). 0 with *out the caller's to free with
 * promql_result_free(); or an error with err_set() worded as Prometheus:
 *
 *	-EINVAL		bad_data (a range query of a range vector; step
 *			<= 0; more than PROMQL_MAX_POINTS steps)
 *	-EDOM		execution: matching or collision errors, too many
 *			samples ("query processing would load too many
 *			samples into memory in query execution"), bad
 *			parameters
 *	-ETIMEDOUT	timeout ("query timed out in expression evaluation")
 *	-ECANCELED	canceled
 *	-ENOMEM, -EIO, ...	the store failed: internal
 */
int	promql_eval_instant(struct series *s, const struct promql_node *e,
	    int64_t t, const struct promql_opts *o, struct promql_result **out);
int	promql_eval_range(struct series *s, const struct promql_node *e,
	    int64_t start, int64_t end, int64_t step, const struct promql_opts *o,
	    struct promql_result **out);
void	promql_result_free(struct promql_result *r);

/*
 * The values of promql_opts' zero fields, PROMQL_* above unless set: a
 * program sets them once from its settings (query_options), before any
 * query runs; a server's timeout is also the longest a client may ask.
 */
void	promql_set_defaults(const struct promql_opts *o);
void	promql_get_defaults(struct promql_opts *o);

/*
 * A result written out, for the HTTP API, the query views and the CLI
 * (promql_result.c):
 *
 * json	the "data" object of Prometheus's /api/v1/query answer, byte for
 *	byte as Prometheus writes it: {"resultType":"vector","result":[...]}
 * text	one line per series of a vector, labels then value, as
 *	metric{a="b"} 42; a matrix one line per point,
 *	metric{a="b"} 42 1733561234.567 (value, then seconds); a scalar or
 *	a string its value alone
 * csv	a header line time,series,value then a line per point, the time
 *	in seconds, the series as in text, quoted as RFC 4180
 */
int	promql_result_json(const struct promql_result *r, struct buf *b);
/*
 * The "result" value alone, the same shapes as Loki's query API writes
 * them for a metric query (logql_result.c): times and values in plain
 * decimals, never with an exponent, strings unescaped past JSON's own
 * escapes, and "values":[] for a series without points.
 */
int	promql_result_json_loki(const struct promql_result *r, struct buf *b);
int	promql_result_text(const struct promql_result *r, struct buf *b);
int	promql_result_csv(const struct promql_result *r, struct buf *b);

/* The API's error type of a code from the above: "bad_data", "execution", "timeout", "canceled", "internal". */
const char *promql_error_type(int code);

#endif
