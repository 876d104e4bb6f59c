/*
 * logql_pipe_int.h - what the pipeline's files share (logql.h has the
 * public side): the label builder a run keeps for each line, the
 * parsers of logql_parsers.c and the Go template subset of
 * logql_template.c that line_format and label_format run.
 *
 * The builder holds the stream's set as it is and a short list of
 * changes (a label set, or one deleted), so that a stage that reads a
 * label never copies the set, and a line that no stage touched ends with
 * the stream's own set.
 */
#ifndef SHALE_LOGQL_PIPE_INT_H
#define SHALE_LOGQL_PIPE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct labels;
struct logql_run;

#define LQ_ERROR		"__error__"
#define LQ_ERROR_DETAILS	"__error_details__"
#define LQ_DUP_SUFFIX		"_extracted"

/* A change to the stream's labels: offsets in the builder's arena. */
struct lq_mod {
	uint32_t	 noff, nlen;
	uint32_t	 voff, vlen;
	int		 del;		/* the label is gone */
};

struct lq_builder {
	const struct labels *base;
	struct lq_mod	*mod;
	size_t		 nmod, capmod;
	struct buf	 arena;
	/* which parsed labels to keep (NULL: all); lq_set_parsed asks */
	int		(*want)(void *arg, const char *name, size_t len);
	void		*want_arg;
};

void	lq_builder_init(struct lq_builder *b);
void	lq_builder_release(struct lq_builder *b);
void	lq_builder_reset(struct lq_builder *b, const struct labels *base);
/* Make dst the same labels as src (dst initialized). */
int	lq_builder_copy(struct lq_builder *dst, const struct lq_builder *src);
/* The value of a label now (not NUL-terminated), or NULL; valid until the next change. */
const char *lq_get(const struct lq_builder *b, const char *name, size_t nlen,
	    size_t *vlen);
/* Whether the stream's own set has the name. */
int	lq_base_has(const struct lq_builder *b, const char *name, size_t nlen);
int	lq_set(struct lq_builder *b, const char *name, size_t nlen,
	    const char *value, size_t vlen);
int	lq_del(struct lq_builder *b, const char *name, size_t nlen);
int	lq_set_err(struct lq_builder *b, const char *err, const char *details);
int	lq_has_err(const struct lq_builder *b);
/* Call fn for every label now, in no particular order; a nonzero return stops. */
int	lq_each(const struct lq_builder *b, int (*fn)(void *, const char *,
	    size_t, const char *, size_t), void *arg);

/* ---- parsers (logql_parsers.c) ---- */

/* Name sanitized as Loki does: [a-zA-Z0-9_], not starting with a digit. */
int	lq_sanitize_name(const char *s, size_t n, struct buf *out);
/* Set a parsed label: a name the stream has gets the _extracted suffix. */
int	lq_set_parsed(struct lq_builder *b, struct buf *scratch,
	    const char *name, size_t nlen, const char *value, size_t vlen);

/* json and unpack: the whole object, flattened with _ */
int	lq_json_all(struct lq_builder *b, struct buf *scratch,
	    const char *line, size_t len);
/*
 * json with expressions: n labels names[i] from paths[i] (a.b, a[0],
 * ["a b"]); a path that does not parse is -EINVAL at parse time.
 */
struct lq_jpath;
int	lq_jpath_parse(const char *s, size_t n, struct lq_jpath **out);
void	lq_jpath_free(struct lq_jpath *p);
int	lq_json_paths(struct lq_builder *b, struct buf *scratch,
	    const char *line, size_t len, char *const *names,
	    struct lq_jpath *const *paths, size_t n);
/* unpack: string values as labels, _entry the new line (into *line_out). */
int	lq_unpack(struct lq_builder *b, struct buf *scratch, const char *line,
	    size_t len, struct buf *line_out, int *replaced);
/* logfmt; with names, only those keys (keys[i] into names[i]). */
int	lq_logfmt(struct lq_builder *b, struct buf *scratch, const char *line,
	    size_t len, int strict, int keep_empty, char *const *names,
	    char *const *keys, size_t n);

/* The pattern parser's expression. */
struct lq_pattern;
/* need_named: the parser stage wants a named capture; the |> filter does not. */
int	lq_pattern_parse(const char *s, size_t n, int need_named,
	    struct lq_pattern **out);
void	lq_pattern_free(struct lq_pattern *p);
int	lq_pattern_extract(const struct lq_pattern *p, struct lq_builder *b,
	    struct buf *scratch, const char *line, size_t len);
/* Whether the whole line matches (the |> line filter). */
int	lq_pattern_matches(const struct lq_pattern *p, const char *line,
	    size_t len);

/*
 * ip("..."): one address, a CIDR prefix (192.168.0.0/16) or a range
 * (10.0.0.1-10.0.0.9), IPv4 or IPv6. lq_ip_find says whether any address
 * written in s (found as Loki finds them) is in it.
 */
struct lq_ip;
int	lq_ip_parse(const char *s, size_t n, struct lq_ip **out);
void	lq_ip_free(struct lq_ip *ip);
int	lq_ip_find(const struct lq_ip *ip, const char *s, size_t n);

/* Go's time.ParseDuration, in seconds; humanize's ParseBytes. 0 or -EINVAL. */
int	lq_parse_duration(const char *s, size_t n, double *out);
int	lq_parse_bytes(const char *s, size_t n, double *out);
/* strconv.ParseFloat of the whole string. */
int	lq_parse_float(const char *s, size_t n, double *out);


/* ---- templates (logql_template.c) ---- */

struct lq_tmpl;
/* 0, or -EINVAL with err_set() saying why (the caller adds the position). */
int	lq_tmpl_parse(const char *s, size_t n, struct lq_tmpl **out);
void	lq_tmpl_free(struct lq_tmpl *t);
/*
 * Run t with the labels of b as its fields, line as __line__, ts_ns as
 * __timestamp__, appending to out: 0, or -EINVAL with err_set() (a
 * function that failed: the caller sets TemplateFormatErr).
 */
int	lq_tmpl_exec(const struct lq_tmpl *t, const struct lq_builder *b,
	    const char *line, size_t len, int64_t ts_ns, struct buf *out);
/* Call fn with each field t reads: 1 if it reads them all (.), else 0. */
int	lq_tmpl_fields(const struct lq_tmpl *t, void (*fn)(void *, const char *),
	    void *arg);

#endif
