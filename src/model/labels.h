/*
 * labels.h - label sets: the names of metric series, as Prometheus has
 * them. A set is name/value pairs, the metric name being the pair
 * `__name__`; it is kept sorted by name, holds no name twice and no
 * empty value (a label with an empty value is the same as no label, so
 * building a set drops it). The series model, the query floor and the
 * faces (the mount, HTTP) all name a series by one of these, through
 * this header only.
 *
 * What a set may hold (Prometheus's rules, checked by every way in):
 *
 *	metric name	[a-zA-Z_:][a-zA-Z0-9_:]*	(the value of __name__)
 *	label name	[a-zA-Z_][a-zA-Z0-9_]*		names starting with "__"
 *			are reserved: only __name__, unless LABELS_RESERVED
 *	value		UTF-8 without NUL, not empty
 *	limits		LABELS_NAME_MAX, LABELS_VALUE_MAX, LABELS_COUNT_MAX,
 *			and LABELS_ENCODED_MAX for the encoding below
 *
 * The canonical encoding, for engine keys: each pair as its name, a 0
 * byte, its value, a 0 byte, in name order, then one more 0 byte (an
 * empty name) that ends the set:
 *
 *	name 00 value 00 name 00 value 00 ... 00
 *
 * Neither names nor values hold a 0 byte, so the encoding is
 * unambiguous and ends itself (more key may follow it), and memcmp()
 * order of encodings is the order of labels_compare(): pair by pair,
 * names then values, a set that is a prefix of another first. A set has
 * exactly one encoding; labels_decode() takes bytes from storage as
 * untrusted and accepts nothing else.
 *
 * The file-name form names a series file in the mount: the set without
 * its metric name in PromQL selector syntax, {code="200",method="get"}
 * ({} for none), sorted by name, no spaces. A value is escaped as in a
 * PromQL string for \ " and newline (\\ \" \n), and / and % become %2F
 * and %25 (a file name holds no /); every other byte is itself. The
 * parser accepts exactly the spelling the formatter writes, so a name
 * read from a directory maps to one series and back.
 *
 * Not here: matchers and selectors (matcher.h), storing series.
 *
 * Memory: a set is one allocation, immutable once built; the strings of
 * labels_at() and labels_get() live as long as the set. Threading: a set
 * may be read from any number of threads; the functions keep no state
 * (errors go to the calling thread's err_set()).
 */
#ifndef SHALE_LABELS_H
#define SHALE_LABELS_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct labels;

#define LABELS_METRIC_NAME	"__name__"
#define LABELS_NAME_MAX		128	/* bytes in a label or metric name */
#define LABELS_VALUE_MAX	2048	/* bytes in a value */
#define LABELS_COUNT_MAX	64	/* labels in a set, __name__ included */
#define LABELS_ENCODED_MAX	16384	/* bytes of a set's canonical encoding */

/* Flags of the functions that take names from outside. */
enum {
	LABELS_RESERVED	= 1 << 0,	/* allow names starting with "__" */
};

/* A pair, given or seen; the strings need not be NUL-terminated. */
struct label {
	const char	*name;
	size_t		 name_len;
	const char	*value;
	size_t		 value_len;
};

/* A pair of C strings, for callers that have them. */
struct label	label_str(const char *name, const char *value);

/*
 * Checks, each 0 or -EINVAL with err_set() naming what and why. A label
 * name starting with "__" other than __name__ needs LABELS_RESERVED;
 * a value may be empty here (labels_new drops such a pair).
 */
int	labels_check_metric_name(const char *name, size_t len);
int	labels_check_name(const char *name, size_t len, int flags);
int	labels_check_value(const char *name, const char *value, size_t len);

/*
 * Build a set from n pairs in any order: each checked as above (the
 * value of __name__ as a metric name), pairs with an empty value
 * dropped, the rest sorted. A name given twice, or a set past the
 * limits, is -EINVAL with err_set(). *out is the caller's to free.
 */
int	labels_new(const struct label *pairs, size_t n, int flags,
	    struct labels **out);
void	labels_free(struct labels *ls);
struct labels *labels_dup(const struct labels *ls);

size_t	labels_count(const struct labels *ls);
/* The i-th pair in name order; its strings are NUL-terminated. */
const struct label *labels_at(const struct labels *ls, size_t i);
/* The value of `name` (NUL-terminated), or NULL if the set has none. */
const char *labels_get(const struct labels *ls, const char *name);
/* The pair named by len bytes at name, or NULL. */
const struct label *labels_find(const struct labels *ls, const char *name,
	    size_t len);
/* The metric name, or NULL. */
const char *labels_metric(const struct labels *ls);

/* <0, 0, >0 as for memcmp() of the encodings. */
int	labels_compare(const struct labels *a, const struct labels *b);
int	labels_equal(const struct labels *a, const struct labels *b);
/* XXH3 64 of the canonical encoding. */
uint64_t labels_hash(const struct labels *ls);

/* The canonical encoding: valid as long as the set. */
const void *labels_encoding(const struct labels *ls, size_t *len);
/* Append the canonical encoding to b: 0 or buf_append()'s error. */
int	labels_encode(const struct labels *ls, struct buf *b);
/*
 * Decode a set from p. With used NULL the n bytes must be exactly one
 * encoding; otherwise the encoding is a prefix of them and *used says
 * how long. Anything but a canonical encoding of a valid set (reserved
 * names allowed) is SHALE_ECORRUPT with err_set() saying where and why.
 */
int	labels_decode(const void *p, size_t n, size_t *used,
	    struct labels **out);

/* Append the file-name form of ls (its metric name left out) to b. */
int	labels_file_name(const struct labels *ls, struct buf *b);
/*
 * Parse a file-name form of n bytes at s into a set, adding __name__ =
 * metric unless metric is NULL. Exactly the formatter's spelling is
 * accepted (sorted, no empty value, the escapes above and no others);
 * anything else is -EINVAL with err_set() naming the column (counted in
 * characters from 1). flags as for labels_new.
 */
int	labels_parse_file_name(const char *metric, const char *s, size_t n,
	    int flags, struct labels **out);

#endif
