/*
 * matcher.h - label matchers and series selectors, as PromQL has them:
 * what picks series by their labels (labels.h) for a query, a mount
 * listing or the match[] of Prometheus's HTTP API.
 *
 * A matcher is a label name, an operator and a value:
 *
 *	=	the label's value is the value
 *	!=	it is not
 *	=~	the regex matches the whole value (fully anchored: "a.*"
 *		means ^(?:a.*)$, and . matches a newline too)
 *	!~	it does not
 *
 * A label a series lacks has the empty value, so a matcher that matches
 * "" also matches series without the label: {a=""} and {a!="x"} pick
 * series with no label a. A selector is a list of matchers, all of which
 * must match.
 *
 * Regexes are RE2 syntax, as Prometheus takes them, run by pcre2 (UTF-8
 * mode, compiled once, with JIT where the platform has it). What RE2
 * has not, pcre2 would take with another meaning or run in exponential
 * time is refused when the matcher is made: backreferences (\1, \k),
 * lookaround ((?=, (?!, (?<=, (?<!), atomic groups, possessive and
 * doubled repeats (a*+, a**), (?R) and other (? forms beyond
 * non-capturing and named groups and the flags i m s U, (* verbs, and
 * letter escapes RE2 does not know (\C, \K, \Z, \G, \R ...). A regex that
 * still takes too long for one value (pcre2's match limit) fails that
 * match with -ERANGE instead of running on.
 *
 * The selector syntax is PromQL's vector selector without range or
 * offset: metric, metric{matchers} or {matchers}; matchers are
 * name op string, separated by commas (one trailing comma allowed);
 * strings are "..." or '...' with Go's escapes (\a \b \f \n \r \t \v \\,
 * the quote, \NNN octal, \xNN, \uNNNN, \UNNNNNNNN) or `...` raw;
 * whitespace may stand between tokens. As in Prometheus, a metric name
 * before the braces is a first matcher __name__="metric" and may not be
 * given again inside them, and a selector needs at least one matcher
 * that does not match the empty string ({} and {a=~".*"} are refused).
 * Strings must be UTF-8 without NUL.
 *
 * Memory: matchers and selectors are immutable once made (selector_add
 * aside); strings they return live as long as they do. Threading: any
 * number of threads may match with one matcher or selector at once;
 * making and adding need external synchronization.
 */
#ifndef SHALE_MATCHER_H
#define SHALE_MATCHER_H

#include <stddef.h>

struct buf;
struct labels;
struct matcher;
struct selector;

#define MATCHER_VALUE_MAX	16384	/* bytes of a matcher's value or regex */
#define SELECTOR_MATCHERS_MAX	64	/* matchers in a selector */

enum matcher_op {
	MATCHER_EQ,		/* = */
	MATCHER_NE,		/* != */
	MATCHER_RE,		/* =~ */
	MATCHER_NRE,		/* !~ */
};

/* "=", "!=", "=~" or "!~". */
const char *matcher_op_str(enum matcher_op op);

/*
 * Make a matcher. The name may be any label name, reserved ones too; a
 * bad name, value or regex is -EINVAL with err_set() saying why (for a
 * regex, pcre2's message and the offset in the regex).
 */
int	matcher_new(enum matcher_op op, const char *name, size_t name_len,
	    const char *value, size_t value_len, struct matcher **out);
void	matcher_free(struct matcher *m);

enum matcher_op matcher_op(const struct matcher *m);
const char *matcher_name(const struct matcher *m);	/* NUL-terminated */
const char *matcher_value(const struct matcher *m, size_t *len);
/* True if m matches the empty string, and so a missing label. */
int	matcher_matches_empty(const struct matcher *m);

/*
 * Whether m matches len bytes at value (NULL: a missing label, the same
 * as ""): 1 or 0, or -ERANGE (regex past its match limit) or -EINVAL
 * (value not UTF-8, for a regex) with err_set().
 */
int	matcher_matches(const struct matcher *m, const char *value, size_t len);

/* ---- selectors ---- */

struct selector *selector_new(void);
void	selector_free(struct selector *s);
/* Add a matcher as matcher_new() makes one; -EINVAL past SELECTOR_MATCHERS_MAX. */
int	selector_add(struct selector *s, enum matcher_op op, const char *name,
	    size_t name_len, const char *value, size_t value_len);

/*
 * Parse n bytes at text as a selector (the syntax above). Errors are
 * -EINVAL with err_set() naming the column (in characters from 1, with
 * the line when the text has more than one).
 */
int	selector_parse(const char *text, size_t n, struct selector **out);

size_t	selector_count(const struct selector *s);
const struct matcher *selector_at(const struct selector *s, size_t i);
/* The value of the first __name__= matcher, or NULL: where to look. */
const char *selector_metric(const struct selector *s);

/* Whether every matcher matches ls: 1 or 0, or matcher_matches()'s error. */
int	selector_matches(const struct selector *s, const struct labels *ls);

/*
 * Append s in selector syntax to b, in a form selector_parse() reads
 * back to an equal selector: metric{...} when the first matcher is the
 * only __name__ one and an =, else {...}.
 */
int	selector_format(const struct selector *s, struct buf *b);
/* Same matchers in the same order. */
int	selector_equal(const struct selector *a, const struct selector *b);

#endif
