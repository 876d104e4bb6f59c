/*
 * logql_pipe.c - LogQL's pipeline (logql.h): the stages after a stream
 * selector parsed from the query text, written back as LogQL, and run
 * over lines.
 *
 * Parsing is a small lexer of Loki's tokens (the names its errors use:
 * PIPE_EXACT, IDENTIFIER, STRING ...) and a recursive descent over them;
 * strings go through PromQL's lexer, which checks Go's escapes. A stage
 * is compiled once: regexes by pcre2 (after the RE2 check matchers
 * make), literals found by memmem(), templates parsed into trees
 * (logql_template.c).
 *
 * Running keeps, per run, the label builder (the stream's set and the
 * changes of this line), two line buffers that line_format and
 * decolorize alternate between, and a cache of the label sets built, so
 * that the million lines of one stream that a parser gives the same
 * labels share one set. A pipeline of line filters alone never touches
 * the builder and returns the stream's set itself.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "model/labels.h"
#include "model/matcher.h"
#include "query/logql.h"
#include "query/logql_pipe_int.h"
#include "query/promql_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/re.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ---- tokens ---- */

enum tk {
	TK_EOF, TK_OTHER,
	TK_PIPE, TK_PIPE_EXACT, TK_NEQ, TK_PIPE_MATCH, TK_NRE, TK_PIPE_PATTERN,
	TK_NPA, TK_STRING, TK_IDENT, TK_NUMBER, TK_DURATION, TK_BYTES,
	TK_COMMA, TK_LPAREN, TK_RPAREN, TK_EQ, TK_CMP_EQ, TK_RE, TK_GT, TK_GTE,
	TK_LT, TK_LTE, TK_FLAG, TK_SUB,
	/* keywords */
	TK_JSON, TK_LOGFMT, TK_REGEXP, TK_PATTERN, TK_UNPACK, TK_LINE_FMT,
	TK_LABEL_FMT, TK_DROP, TK_KEEP, TK_DECOLORIZE, TK_UNWRAP, TK_AND, TK_OR,
	TK_IP, TK_DURATION_CONV, TK_DURATION_SECONDS_CONV, TK_BYTES_CONV,
};

static const char *const tk_name[] = {
	"$end", "", "PIPE", "PIPE_EXACT", "NEQ", "PIPE_MATCH", "NRE",
	"PIPE_PATTERN", "NPA", "STRING", "IDENTIFIER", "NUMBER", "DURATION",
	"BYTES", "COMMA", "OPEN_PARENTHESIS", "CLOSE_PARENTHESIS", "EQ",
	"CMP_EQ", "RE", "GT", "GTE", "LT", "LTE", "PARSER_FLAG", "SUB",
	"JSON", "LOGFMT", "REGEXP", "PATTERN", "UNPACK", "LINE_FMT", "LABEL_FMT",
	"DROP", "KEEP", "DECOLORIZE", "UNWRAP", "AND", "OR", "IP",
	"DURATION_CONV", "DURATION_SECONDS_CONV", "BYTES_CONV",
};

static const struct {
	const char	*word;
	enum tk		 tk;
	int		 call;		/* only before '(' */
} keywords[] = {
	{ "json", TK_JSON, 0 }, { "logfmt", TK_LOGFMT, 0 },
	{ "regexp", TK_REGEXP, 0 }, { "pattern", TK_PATTERN, 0 },
	{ "unpack", TK_UNPACK, 0 }, { "line_format", TK_LINE_FMT, 0 },
	{ "label_format", TK_LABEL_FMT, 0 }, { "drop", TK_DROP, 0 },
	{ "keep", TK_KEEP, 0 }, { "decolorize", TK_DECOLORIZE, 0 },
	{ "unwrap", TK_UNWRAP, 0 }, { "and", TK_AND, 0 }, { "or", TK_OR, 0 },
	{ "ip", TK_IP, 1 }, { "duration", TK_DURATION_CONV, 1 },
	{ "duration_seconds", TK_DURATION_SECONDS_CONV, 1 },
	{ "bytes", TK_BYTES_CONV, 1 },
};

struct ltok {
	enum tk		 t;
	size_t		 pos, len;
	char		*s;		/* TK_STRING: unquoted (owned) */
	size_t		 slen;
	double		 v;		/* numbers, durations (s), bytes */
};

struct lp {
	const char	*q;
	size_t		 n, pos;
	struct ltok	 tok;		/* the current token */
	int		 have;
};

/* ---- the stages ---- */

enum lf_op { LF_CONTAINS, LF_NOT_CONTAINS, LF_RE, LF_NOT_RE, LF_PATTERN,
	LF_NOT_PATTERN };

struct lf_alt {
	char		*s;
	size_t		 n;
	int		 literal;	/* found with memmem() */
	pcre2_code	*re;
	struct lq_pattern *pat;
	struct lq_ip	*ip;		/* ip("...") */
};

enum lb_kind { LB_STRING, LB_NUMBER, LB_DURATION, LB_BYTES, LB_IP, LB_AND,
	LB_OR };
enum lb_cmp { CMP_EQ, CMP_NE, CMP_GT, CMP_GE, CMP_LT, CMP_LE };

struct lbf {
	enum lb_kind	 kind;
	struct matcher	*m;		/* LB_STRING */
	char		*name;
	size_t		 nlen;
	enum lb_cmp	 cmp;
	double		 v;
	char		*text;		/* the literal as written; ip's pattern */
	struct lq_ip	*ip;
	struct lbf	*l, *r;
};

struct fmt_item {
	char		*name;
	char		*value;		/* a template's text or a label's name */
	int		 rename;
	struct lq_tmpl	*t;
};

enum st_kind { S_LINE, S_JSON, S_LOGFMT, S_REGEXP, S_PATTERN, S_UNPACK,
	S_LABEL, S_LINE_FMT, S_LABEL_FMT, S_DROP, S_KEEP, S_DECOLORIZE,
	S_UNWRAP };

enum conv { CONV_NONE, CONV_DURATION, CONV_DURATION_SECONDS, CONV_BYTES };

struct stage {
	enum st_kind	 kind;
	enum lf_op	 op;		/* S_LINE */
	struct lf_alt	*alt;
	size_t		 nalt;
	char		**names;	/* json, logfmt extractions; drop/keep */
	char		**keys;		/* their expressions */
	struct lq_jpath	**paths;
	struct matcher	**ms;		/* drop/keep: a matcher or NULL */
	size_t		 n;
	int		 strict, keep_empty;
	char		*text;		/* regexp, pattern, line_format */
	size_t		 tlen;
	pcre2_code	*re;
	struct lq_pattern *pat;
	struct lq_tmpl	*tmpl;
	struct lbf	*lf;
	struct fmt_item	*fi;
	size_t		 nfi;
	enum conv	 conv;
	char		*label;		/* unwrap */
};

struct logql_pipeline {
	struct stage	*st;
	size_t		 n;
	char		**needle;
	size_t		 nneedle;
	int		 unwraps;
	const char	*unwrap_label;	/* the unwrap stage's */
};

/* ---- errors ---- */

/* Line and column (in characters, from 1) of byte pos of q. */
static void
line_col(const char *q, size_t pos, int *line, int *col)
{
	size_t i, ls = 0;

	*line = 1;
	for (i = 0; i < pos; i++)
		if (q[i] == '\n') {
			(*line)++;
			ls = i + 1;
		}
	*col = (int)utf8_chars(q + ls, pos - ls) + 1;
}

static int
perr(const struct lp *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(const struct lp *p, size_t pos, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	int line, col;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	line_col(p->q, pos, &line, &col);
	return err_set(-EINVAL, "parse error at line %d, col %d: %s", line, col,
	    why);
}

static int
unexpected(const struct lp *p, const char *expecting)
{
	const char *what = p->tok.t == TK_OTHER ? NULL : tk_name[p->tok.t];
	char other[8];

	if (what == NULL) {
		snprintf(other, sizeof(other), "%c", p->q[p->tok.pos]);
		what = other;
	}
	if (expecting)
		return perr(p, p->tok.pos, "syntax error: unexpected %s, "
		    "expecting %s", what, expecting);
	return perr(p, p->tok.pos, "syntax error: unexpected %s", what);
}

/* ---- the lexer ---- */

static int
is_ident(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && c >= '0' && c <= '9');
}

static void
tok_clear(struct ltok *t)
{
	free(t->s);
	t->s = NULL;
}

static int
lex(struct lp *p)
{
	const char *q = p->q;
	size_t i = p->pos, n = p->n, st;
	struct ltok *t = &p->tok;

	tok_clear(t);
	for (;;) {
		while (i < n && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' ||
		    q[i] == '\r'))
			i++;
		/* a comment runs to the end of the line */
		if (i < n && q[i] == '#') {
			while (i < n && q[i] != '\n')
				i++;
			continue;
		}
		break;
	}
	t->pos = st = i;
	t->len = 1;
	if (i >= n) {
		t->t = TK_EOF;
		t->len = 0;
		goto done;
	}
#define TWO(a, b) (q[i] == (a) && i + 1 < n && q[i + 1] == (b))
	if (TWO('|', '=')) t->t = TK_PIPE_EXACT, t->len = 2;
	else if (TWO('|', '~')) t->t = TK_PIPE_MATCH, t->len = 2;
	else if (TWO('|', '>')) t->t = TK_PIPE_PATTERN, t->len = 2;
	else if (TWO('!', '=')) t->t = TK_NEQ, t->len = 2;
	else if (TWO('!', '~')) t->t = TK_NRE, t->len = 2;
	else if (TWO('!', '>')) t->t = TK_NPA, t->len = 2;
	else if (TWO('=', '=')) t->t = TK_CMP_EQ, t->len = 2;
	else if (TWO('=', '~')) t->t = TK_RE, t->len = 2;
	else if (TWO('>', '=')) t->t = TK_GTE, t->len = 2;
	else if (TWO('<', '=')) t->t = TK_LTE, t->len = 2;
	else if (TWO('-', '-') && i + 2 < n && is_ident(q[i + 2], 1)) {
		i += 2;
		while (i < n && (is_ident(q[i], 0) || q[i] == '-'))
			i++;
		t->t = TK_FLAG;
		t->len = i - st;
	} else if (q[i] == '|') t->t = TK_PIPE;
	else if (q[i] == ',') t->t = TK_COMMA;
	else if (q[i] == '(') t->t = TK_LPAREN;
	else if (q[i] == ')') t->t = TK_RPAREN;
	else if (q[i] == '=') t->t = TK_EQ;
	else if (q[i] == '>') t->t = TK_GT;
	else if (q[i] == '<') t->t = TK_LT;
	else if (q[i] == '-') t->t = TK_SUB;
	else if (q[i] == '"' || q[i] == '`') {
		struct lexer l;
		struct tok pt;

		lexer_init(&l, q + i, n - i);
		lexer_next(&l, &pt);
		if (pt.type != T_STRING)
			return perr(p, st, "%s", pt.type == T_ERROR && pt.msg ?
			    pt.msg : "unterminated quoted string");
		t->t = TK_STRING;
		t->len = pt.len;
		t->s = promql_unquote(q + i, pt.len, &t->slen);
		/*
		 * the stages keep their strings NUL-terminated (templates,
		 * label names and values, the printed query)
		 */
		if (memchr(t->s, '\0', t->slen) != NULL)
			return perr(p, st, "a string may not hold a NUL byte");
	} else if (q[i] >= '0' && q[i] <= '9') {
		while (i < n && (is_ident(q[i], 0) || q[i] == '.' ||
		    (unsigned char)q[i] >= 0x80 || ((q[i] == '-' ||
		    q[i] == '+') && (q[i - 1] == 'e' || q[i - 1] == 'E') &&
		    i + 1 < n && q[i + 1] >= '0' && q[i + 1] <= '9')))
			i++;
		t->len = i - st;
		if (lq_parse_float(q + st, t->len, &t->v) == 0) {
			if (!isfinite(t->v))
				return perr(p, st, "syntax error: number out "
				    "of range '%.*s'", (int)(t->len > 40 ? 40 :
				    t->len), q + st);
			t->t = TK_NUMBER;
		}
		else if (lq_parse_duration(q + st, t->len, &t->v) == 0)
			t->t = TK_DURATION;
		else if (lq_parse_bytes(q + st, t->len, &t->v) == 0)
			t->t = TK_BYTES;
		else
			return perr(p, st, "syntax error: unexpected "
			    "character in number '%.*s'", (int)(t->len > 40 ?
			    40 : t->len), q + st);
	} else if (is_ident(q[i], 1)) {
		size_t k, j;

		while (i < n && is_ident(q[i], 0))
			i++;
		t->len = i - st;
		t->t = TK_IDENT;
		for (j = i; j < n && (q[j] == ' ' || q[j] == '\t'); j++)
			;
		for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
			if (strlen(keywords[k].word) == t->len &&
			    memcmp(keywords[k].word, q + st, t->len) == 0 &&
			    (!keywords[k].call || (j < n && q[j] == '('))) {
				t->t = keywords[k].tk;
				break;
			}
	} else
		t->t = TK_OTHER;
#undef TWO
done:
	p->pos = t->pos + t->len;
	return 0;
}

/* ---- freeing ---- */

static void
lbf_free(struct lbf *f)
{
	if (f == NULL)
		return;
	matcher_free(f->m);
	lq_ip_free(f->ip);
	free(f->name);
	free(f->text);
	lbf_free(f->l);
	lbf_free(f->r);
	free(f);
}

static void
stage_release(struct stage *s)
{
	size_t i;

	for (i = 0; i < s->nalt; i++) {
		free(s->alt[i].s);
		if (s->alt[i].re)
			pcre2_code_free(s->alt[i].re);
		lq_pattern_free(s->alt[i].pat);
		lq_ip_free(s->alt[i].ip);
	}
	free(s->alt);
	for (i = 0; i < s->n; i++) {
		free(s->names ? s->names[i] : NULL);
		free(s->keys ? s->keys[i] : NULL);
		if (s->paths)
			lq_jpath_free(s->paths[i]);
		if (s->ms)
			matcher_free(s->ms[i]);
	}
	free(s->names);
	free(s->keys);
	free(s->paths);
	free(s->ms);
	free(s->text);
	if (s->re)
		pcre2_code_free(s->re);
	lq_pattern_free(s->pat);
	lq_tmpl_free(s->tmpl);
	lbf_free(s->lf);
	for (i = 0; i < s->nfi; i++) {
		free(s->fi[i].name);
		free(s->fi[i].value);
		lq_tmpl_free(s->fi[i].t);
	}
	free(s->fi);
	free(s->label);
}

void
logql_pipeline_free(struct logql_pipeline *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		stage_release(&p->st[i]);
	free(p->st);
	for (i = 0; i < p->nneedle; i++)
		free(p->needle[i]);
	free(p->needle);
	free(p);
}

/* ---- the parser ---- */

/* Whether a regex is a plain literal (its text is what it matches). */
static int
re_is_literal(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strchr("\\.+*?()|[]{}^$", s[i]) != NULL)
			return 0;
	return 1;
}

/*
 * Compile a regex from the query: RE2's syntax checked as matchers check
 * it, then compiled unanchored (a line filter finds it anywhere).
 */
static int
compile_re(const struct lp *p, size_t at, const char *s, size_t n,
    pcre2_code **out)
{
	const struct re_contexts *rc = re_contexts();
	struct matcher *m;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int e;

	if (matcher_new(MATCHER_RE, "__line__", 8, s, n, &m) != 0)
		return perr(p, at, "error parsing regexp: %s", err_detail());
	matcher_free(m);
	*out = pcre2_compile((PCRE2_SPTR)s, n, PCRE2_UTF |
	    PCRE2_MATCH_INVALID_UTF, &e, &off, rc->compile);
	if (*out == NULL) {
		pcre2_get_error_message(e, msg, sizeof(msg));
		return perr(p, at, "error parsing regexp: %s at offset %zu",
		    (char *)msg, (size_t)off);
	}
	(void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	return 0;
}

static struct stage *
new_stage(struct logql_pipeline *pl, enum st_kind k)
{
	struct stage *s;

	pl->st = xrealloc(pl->st, (pl->n + 1) * sizeof(*pl->st));
	s = &pl->st[pl->n++];
	memset(s, 0, sizeof(*s));
	s->kind = k;
	return s;
}

static int
expect(struct lp *p, enum tk t)
{
	if (p->tok.t != t)
		return unexpected(p, tk_name[t]);
	return lex(p);
}

/* ip("pattern") at the current token: *out, the pattern kept in *text. */
static int
parse_ip(struct lp *p, struct lq_ip **out, char **text, size_t *tlen)
{
	int rc;

	if ((rc = lex(p)) != 0 || (rc = expect(p, TK_LPAREN)) != 0)
		return rc;
	if (p->tok.t != TK_STRING)
		return unexpected(p, "STRING");
	if (lq_ip_parse(p->tok.s, p->tok.slen, out) != 0)
		return perr(p, p->tok.pos, "%s", err_detail());
	*text = xstrndup(p->tok.s, p->tok.slen);
	*tlen = p->tok.slen;
	if ((rc = lex(p)) != 0)
		return rc;
	return expect(p, TK_RPAREN);
}

/* |= ip("...") and != ip("..."): a line that holds an address in it. */
static int
parse_ip_filter(struct lp *p, struct stage *s)
{
	struct lf_alt *a;

	if (s->op != LF_CONTAINS && s->op != LF_NOT_CONTAINS)
		return perr(p, p->tok.pos, "ip: invalid operation");
	s->alt = xcalloc(1, sizeof(*s->alt));
	s->nalt = 1;
	a = &s->alt[0];
	return parse_ip(p, &a->ip, &a->s, &a->n);
}

static int
parse_line_filter(struct lp *p, struct logql_pipeline *pl)
{
	struct stage *s;
	enum tk op = p->tok.t;
	int rc;

	s = new_stage(pl, S_LINE);
	s->op = op == TK_PIPE_EXACT ? LF_CONTAINS : op == TK_NEQ ?
	    LF_NOT_CONTAINS : op == TK_PIPE_MATCH ? LF_RE : op == TK_NRE ?
	    LF_NOT_RE : op == TK_PIPE_PATTERN ? LF_PATTERN : LF_NOT_PATTERN;
	if ((rc = lex(p)) != 0)
		return rc;
	for (;;) {
		struct lf_alt *a;

		if (p->tok.t == TK_IP && s->nalt == 0)
			return parse_ip_filter(p, s);
		if (p->tok.t != TK_STRING)
			return unexpected(p, "STRING");
		s->alt = xrealloc(s->alt, (s->nalt + 1) * sizeof(*s->alt));
		a = &s->alt[s->nalt++];
		memset(a, 0, sizeof(*a));
		a->s = p->tok.s;
		a->n = p->tok.slen;
		p->tok.s = NULL;
		switch (s->op) {
		case LF_CONTAINS:
		case LF_NOT_CONTAINS:
			a->literal = 1;
			break;
		case LF_RE:
		case LF_NOT_RE:
			if (re_is_literal(a->s, a->n))
				a->literal = 1;
			else if ((rc = compile_re(p, p->tok.pos, a->s, a->n,
			    &a->re)) != 0)
				return rc;
			break;
		default:
			if (lq_pattern_parse(a->s, a->n, 0, &a->pat) != 0)
				return perr(p, p->tok.pos, "%s", err_detail());
			break;
		}
		if ((rc = lex(p)) != 0)
			return rc;
		if (p->tok.t != TK_OR)
			break;
		if ((rc = lex(p)) != 0)
			return rc;
	}
	return 0;
}

static char *
tok_ident(const struct lp *p)
{
	return xstrndup(p->q + p->tok.pos, p->tok.len);
}

/* A string that becomes a C string (a template, a key): no NUL in it. */
static int
string_no_nul(const struct lp *p)
{
	if (memchr(p->tok.s, '\0', p->tok.slen) != NULL)
		return perr(p, p->tok.pos, "a NUL byte is not allowed in this "
		    "string");
	return 0;
}

/* An identifier, where Loki's lexer may have made a keyword of it. */
static int
is_name_tok(enum tk t)
{
	return t == TK_IDENT;
}

static int
parse_json_logfmt(struct lp *p, struct stage *s)
{
	int rc;

	if ((rc = lex(p)) != 0)
		return rc;
	while (s->kind == S_LOGFMT && p->tok.t == TK_FLAG) {
		const char *f = p->q + p->tok.pos;

		if (p->tok.len == 8 && memcmp(f, "--strict", 8) == 0)
			s->strict = 1;
		else if (p->tok.len == 12 && memcmp(f, "--keep-empty", 12) == 0)
			s->keep_empty = 1;
		else
			return perr(p, p->tok.pos, "invalid logfmt flag: %.*s",
			    (int)p->tok.len, f);
		if ((rc = lex(p)) != 0)
			return rc;
	}
	if (!is_name_tok(p->tok.t))
		return 0;
	for (;;) {
		char *name, *key;
		size_t at;

		if (!is_name_tok(p->tok.t))
			return unexpected(p, "IDENTIFIER");
		name = tok_ident(p);
		key = NULL;
		if ((rc = lex(p)) != 0) {
			free(name);
			return rc;
		}
		if (p->tok.t == TK_EQ) {
			if ((rc = lex(p)) != 0 || (p->tok.t != TK_STRING &&
			    (rc = unexpected(p, "STRING")) != 0)) {
				free(name);
				return rc;
			}
			if ((rc = string_no_nul(p)) != 0) {
				free(name);
				return rc;
			}
			key = xstrndup(p->tok.s, p->tok.slen);
			at = p->tok.pos;
			if ((rc = lex(p)) != 0) {
				free(name);
				free(key);
				return rc;
			}
		} else {
			/* a name alone: the key of that name */
			key = xstrdup(name);
			at = 0;
		}
		s->names = xrealloc(s->names, (s->n + 1) * sizeof(char *));
		s->keys = xrealloc(s->keys, (s->n + 1) * sizeof(char *));
		s->names[s->n] = name;
		s->keys[s->n] = key;
		if (s->kind == S_JSON) {
			s->paths = xrealloc(s->paths, (s->n + 1) *
			    sizeof(*s->paths));
			s->paths[s->n] = NULL;
			s->n++;
			if (lq_jpath_parse(key, strlen(key), &s->paths[s->n - 1])
			    != 0)
				return perr(p, at, "%s", err_detail());
		} else
			s->n++;
		if (p->tok.t != TK_COMMA)
			break;
		if ((rc = lex(p)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_regexp(struct lp *p, struct stage *s)
{
	uint32_t count = 0;
	int rc;

	if ((rc = lex(p)) != 0)
		return rc;
	if (p->tok.t != TK_STRING)
		return unexpected(p, "STRING");
	s->text = xstrndup(p->tok.s, p->tok.slen);
	s->tlen = p->tok.slen;
	if ((rc = compile_re(p, p->tok.pos, s->text, s->tlen, &s->re)) != 0)
		return rc;
	pcre2_pattern_info(s->re, PCRE2_INFO_NAMECOUNT, &count);
	if (count == 0)
		return perr(p, p->tok.pos, "at least one named capture must be "
		    "supplied");
	return lex(p);
}

static int
parse_string_stage(struct lp *p, struct stage *s)
{
	int rc;

	if ((rc = lex(p)) != 0)
		return rc;
	if (p->tok.t != TK_STRING)
		return unexpected(p, "STRING");
	s->text = xstrndup(p->tok.s, p->tok.slen);
	s->tlen = p->tok.slen;
	if (s->kind == S_PATTERN &&
	    lq_pattern_parse(s->text, s->tlen, 1, &s->pat) != 0)
		return perr(p, p->tok.pos, "%s", err_detail());
	if (s->kind == S_LINE_FMT &&
	    lq_tmpl_parse(s->text, s->tlen, &s->tmpl) != 0)
		return perr(p, p->tok.pos, "invalid line template: %s",
		    err_detail());
	return lex(p);
}

static int
parse_label_fmt(struct lp *p, struct stage *s)
{
	size_t i;
	int rc;

	if ((rc = lex(p)) != 0)
		return rc;
	for (;;) {
		struct fmt_item *f;
		size_t at = p->tok.pos;

		if (!is_name_tok(p->tok.t))
			return unexpected(p, "IDENTIFIER");
		s->fi = xrealloc(s->fi, (s->nfi + 1) * sizeof(*s->fi));
		f = &s->fi[s->nfi++];
		memset(f, 0, sizeof(*f));
		f->name = tok_ident(p);
		if (strcmp(f->name, LQ_ERROR) == 0)
			return perr(p, at, "%s cannot be formatted", f->name);
		for (i = 0; i + 1 < s->nfi; i++)
			if (strcmp(s->fi[i].name, f->name) == 0)
				return perr(p, at, "multiple label name '%s' "
				    "not allowed in a single format operation",
				    f->name);
		if ((rc = lex(p)) != 0 || (rc = expect(p, TK_EQ)) != 0)
			return rc;
		if (is_name_tok(p->tok.t)) {
			f->rename = 1;
			f->value = tok_ident(p);
		} else if (p->tok.t == TK_STRING) {
			if ((rc = string_no_nul(p)) != 0)
				return rc;
			f->value = xstrndup(p->tok.s, p->tok.slen);
			if (lq_tmpl_parse(p->tok.s, p->tok.slen, &f->t) != 0)
				return perr(p, p->tok.pos, "invalid template "
				    "for label '%s': %s", f->name,
				    err_detail());
		} else
			return unexpected(p, "STRING");
		if ((rc = lex(p)) != 0)
			return rc;
		if (p->tok.t != TK_COMMA)
			break;
		if ((rc = lex(p)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_keep_drop(struct lp *p, struct stage *s)
{
	int rc;

	if ((rc = lex(p)) != 0)
		return rc;
	for (;;) {
		enum matcher_op op;
		char *name;
		size_t at;

		if (!is_name_tok(p->tok.t))
			return unexpected(p, "IDENTIFIER");
		name = tok_ident(p);
		s->names = xrealloc(s->names, (s->n + 1) * sizeof(char *));
		s->ms = xrealloc(s->ms, (s->n + 1) * sizeof(*s->ms));
		s->names[s->n] = name;
		s->ms[s->n] = NULL;
		s->n++;
		if ((rc = lex(p)) != 0)
			return rc;
		if (p->tok.t == TK_EQ || p->tok.t == TK_NEQ || p->tok.t == TK_RE ||
		    p->tok.t == TK_NRE) {
			op = p->tok.t == TK_EQ ? MATCHER_EQ : p->tok.t == TK_NEQ ?
			    MATCHER_NE : p->tok.t == TK_RE ? MATCHER_RE :
			    MATCHER_NRE;
			if ((rc = lex(p)) != 0)
				return rc;
			if (p->tok.t != TK_STRING)
				return unexpected(p, "STRING");
			at = p->tok.pos;
			if (matcher_new(op, name, strlen(name), p->tok.s,
			    p->tok.slen, &s->ms[s->n - 1]) != 0)
				return perr(p, at, "%s", err_detail());
			if ((rc = lex(p)) != 0)
				return rc;
		}
		if (p->tok.t != TK_COMMA)
			break;
		if ((rc = lex(p)) != 0)
			return rc;
	}
	return 0;
}

/* strconv.FormatFloat(v, 'f', -1, 64): the shortest digits, no exponent. */
static char *
go_float(double v)
{
	char e[40], digits[24];
	struct buf b;
	size_t nd = 0, i;
	int p, exp;
	char *mant;

	if (isinf(v))
		return xstrdup(v > 0 ? "+Inf" : "-Inf");
	if (isnan(v))
		return xstrdup("NaN");
	for (p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e is [-]d[.ddd]e±x: the digits, then where the point goes */
	mant = e[0] == '-' ? e + 1 : e;
	for (i = 0; mant[i] != 'e'; i++)
		if (mant[i] != '.')
			digits[nd++] = mant[i];
	exp = atoi(mant + i + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	buf_init(&b, 0);
	if (e[0] == '-')
		buf_putc(&b, '-');
	if (exp < 0) {
		buf_puts(&b, "0.");
		for (i = 0; i < (size_t)(-exp - 1); i++)
			buf_putc(&b, '0');
		buf_append(&b, digits, nd);
	} else if ((size_t)exp + 1 >= nd) {
		buf_append(&b, digits, nd);
		for (i = nd; i < (size_t)exp + 1; i++)
			buf_putc(&b, '0');
	} else {
		buf_append(&b, digits, (size_t)exp + 1);
		buf_putc(&b, '.');
		buf_append(&b, digits + exp + 1, nd - (size_t)exp - 1);
	}
	return buf_detach(&b, NULL);
}

/* Go's time.Duration String() of v seconds: 1h2m3.5s, 1.5ms, 0s. */
static char *
go_duration(double v)
{
	static const struct {
		const char	*unit;
		int64_t		 ns;
	} small[] = { { "ms", 1000000 }, { "\xc2\xb5s", 1000 }, { "ns", 1 } };
	char tmp[96], frac[16];
	int64_t d, h, m, sec, rest;
	const char *sign;
	size_t k;
	int w;

	if (!(fabs(v) < 9.2e9))
		return xasprintf("%.0fs", v);
	d = (int64_t)llround(v * 1e9);
	sign = d < 0 ? "-" : "";
	if (d < 0)
		d = -d;
	if (d == 0)
		return xstrdup("0s");
	if (d < 1000000000) {
		for (k = 0; k < 3 && d < small[k].ns; k++)
			;
		rest = d % small[k].ns;
		w = small[k].ns == 1000000 ? 6 : small[k].ns == 1000 ? 3 : 0;
		frac[0] = '\0';
		if (rest != 0 && w > 0) {
			snprintf(frac, sizeof(frac), ".%0*lld", w, (long long)rest);
			for (w = (int)strlen(frac); frac[w - 1] == '0'; w--)
				frac[w - 1] = '\0';
		}
		return xasprintf("%s%lld%s%s", sign, (long long)(d /
		    small[k].ns), frac, small[k].unit);
	}
	h = d / 3600000000000LL;
	m = d / 60000000000LL % 60;
	sec = d / 1000000000 % 60;
	rest = d % 1000000000;
	frac[0] = '\0';
	if (rest != 0) {
		snprintf(frac, sizeof(frac), ".%09lld", (long long)rest);
		for (w = (int)strlen(frac); frac[w - 1] == '0'; w--)
			frac[w - 1] = '\0';
	}
	if (h > 0)
		snprintf(tmp, sizeof(tmp), "%s%lldh%lldm%lld%ss", sign,
		    (long long)h, (long long)m, (long long)sec, frac);
	else if (m > 0)
		snprintf(tmp, sizeof(tmp), "%s%lldm%lld%ss", sign, (long long)m,
		    (long long)sec, frac);
	else
		snprintf(tmp, sizeof(tmp), "%s%lld%ss", sign, (long long)sec,
		    frac);
	return xstrdup(tmp);
}

static int parse_lbf_or(struct lp *p, struct lbf **out, int depth);

/* name op value */
static int
parse_lbf_prim(struct lp *p, struct lbf **out, int depth)
{
	struct lbf *f;
	enum tk op;
	size_t at, vl;
	int rc, neg = 0;

	*out = NULL;
	if (p->tok.t == TK_LPAREN) {
		if (depth > 100)
			return perr(p, p->tok.pos, "label filter nested too "
			    "deeply");
		if ((rc = lex(p)) != 0 ||
		    (rc = parse_lbf_or(p, out, depth + 1)) != 0)
			return rc;
		return expect(p, TK_RPAREN);
	}
	if (!is_name_tok(p->tok.t))
		return unexpected(p, NULL);
	f = xcalloc(1, sizeof(*f));
	*out = f;
	f->name = tok_ident(p);
	f->nlen = p->tok.len;
	if ((rc = lex(p)) != 0)
		return rc;
	op = p->tok.t;
	switch (op) {
	case TK_EQ: case TK_NEQ: case TK_RE: case TK_NRE: case TK_CMP_EQ:
	case TK_GT: case TK_GTE: case TK_LT: case TK_LTE:
		break;
	default:
		return unexpected(p, NULL);
	}
	if ((rc = lex(p)) != 0)
		return rc;
	at = p->tok.pos;
	if (p->tok.t == TK_IP) {
		if (op != TK_EQ && op != TK_NEQ)
			return perr(p, at, "ip: invalid operation");
		f->kind = LB_IP;
		f->cmp = op == TK_EQ ? CMP_EQ : CMP_NE;
		return parse_ip(p, &f->ip, &f->text, &vl);
	}
	if (p->tok.t == TK_STRING && (op == TK_EQ || op == TK_NEQ ||
	    op == TK_RE || op == TK_NRE)) {
		enum matcher_op mo = op == TK_EQ ? MATCHER_EQ : op == TK_NEQ ?
		    MATCHER_NE : op == TK_RE ? MATCHER_RE : MATCHER_NRE;

		f->kind = LB_STRING;
		if (matcher_new(mo, f->name, f->nlen, p->tok.s, p->tok.slen,
		    &f->m) != 0)
			return perr(p, at, "%s", err_detail());
		return lex(p);
	}
	if (op == TK_RE || op == TK_NRE)
		return unexpected(p, "STRING");
	if (p->tok.t == TK_SUB) {
		neg = 1;
		if ((rc = lex(p)) != 0)
			return rc;
	}
	switch (p->tok.t) {
	case TK_NUMBER:		f->kind = LB_NUMBER; break;
	case TK_DURATION:	f->kind = LB_DURATION; break;
	case TK_BYTES:		f->kind = LB_BYTES; break;
	default:
		return unexpected(p, NULL);
	}
	f->v = neg ? -p->tok.v : p->tok.v;
	/* written back as Loki writes it; a size as it was given */
	if (f->kind == LB_NUMBER)
		f->text = go_float(f->v);
	else if (f->kind == LB_DURATION)
		f->text = go_duration(f->v);
	else
		f->text = xasprintf("%s%.*s", neg ? "-" : "", (int)p->tok.len,
		    p->q + p->tok.pos);
	f->cmp = op == TK_EQ || op == TK_CMP_EQ ? CMP_EQ : op == TK_NEQ ?
	    CMP_NE : op == TK_GT ? CMP_GT : op == TK_GTE ? CMP_GE :
	    op == TK_LT ? CMP_LT : CMP_LE;
	return lex(p);
}

static struct lbf *
lbf_bin(enum lb_kind k, struct lbf *l, struct lbf *r)
{
	struct lbf *f = xcalloc(1, sizeof(*f));

	f->kind = k;
	f->l = l;
	f->r = r;
	return f;
}

static int
parse_lbf_and(struct lp *p, struct lbf **out, int depth)
{
	struct lbf *r;
	int rc;

	if ((rc = parse_lbf_prim(p, out, depth)) != 0)
		return rc;
	for (;;) {
		if (p->tok.t == TK_AND || p->tok.t == TK_COMMA) {
			if ((rc = lex(p)) != 0)
				return rc;
		} else if (p->tok.t != TK_IDENT && p->tok.t != TK_LPAREN)
			return 0;
		rc = parse_lbf_prim(p, &r, depth);
		*out = lbf_bin(LB_AND, *out, r);
		if (rc != 0)
			return rc;
	}
}

static int
parse_lbf_or(struct lp *p, struct lbf **out, int depth)
{
	struct lbf *r;
	int rc;

	if ((rc = parse_lbf_and(p, out, depth)) != 0)
		return rc;
	while (p->tok.t == TK_OR) {
		if ((rc = lex(p)) != 0)
			return rc;
		rc = parse_lbf_and(p, &r, depth);
		*out = lbf_bin(LB_OR, *out, r);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
parse_unwrap(struct lp *p, struct stage *s)
{
	int rc;

	if ((rc = lex(p)) != 0)
		return rc;
	switch (p->tok.t) {
	case TK_DURATION_CONV:
	case TK_DURATION_SECONDS_CONV:
	case TK_BYTES_CONV:
		s->conv = p->tok.t == TK_DURATION_CONV ? CONV_DURATION :
		    p->tok.t == TK_BYTES_CONV ? CONV_BYTES :
		    CONV_DURATION_SECONDS;
		if ((rc = lex(p)) != 0 || (rc = expect(p, TK_LPAREN)) != 0)
			return rc;
		if (!is_name_tok(p->tok.t))
			return unexpected(p, "IDENTIFIER");
		s->label = tok_ident(p);
		if ((rc = lex(p)) != 0)
			return rc;
		return expect(p, TK_RPAREN);
	case TK_IDENT:
		s->label = tok_ident(p);
		return lex(p);
	default:
		return unexpected(p, "IDENTIFIER");
	}
}

/*
 * The escape sequences decolorize removes: Loki's expression (from
 * stripansi), ESC or CSI, then either an OSC-like run ending in BEL or
 * parameters and a final byte.
 */
static const char ansi_re[] =
    "[\\x{1b}\\x{9b}][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?"
    "\\x{07})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))";

static int
parse_decolorize(struct lp *p, struct stage *s)
{
	PCRE2_SIZE off;
	int e;

	s->re = pcre2_compile((PCRE2_SPTR)ansi_re, sizeof(ansi_re) - 1,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &e, &off,
	    re_contexts()->compile);
	if (s->re == NULL)
		abort();
	(void)pcre2_jit_compile(s->re, PCRE2_JIT_COMPLETE);
	return lex(p);
}

/* After '|': one stage. */
static int
parse_stage(struct lp *p, struct logql_pipeline *pl)
{
	struct stage *s;
	int rc;

	if (pl->unwraps && p->tok.t != TK_IDENT && p->tok.t != TK_LPAREN)
		return unexpected(p, NULL);
	switch (p->tok.t) {
	case TK_JSON:
		return parse_json_logfmt(p, new_stage(pl, S_JSON));
	case TK_LOGFMT:
		return parse_json_logfmt(p, new_stage(pl, S_LOGFMT));
	case TK_REGEXP:
		return parse_regexp(p, new_stage(pl, S_REGEXP));
	case TK_PATTERN:
		return parse_string_stage(p, new_stage(pl, S_PATTERN));
	case TK_LINE_FMT:
		return parse_string_stage(p, new_stage(pl, S_LINE_FMT));
	case TK_UNPACK:
		new_stage(pl, S_UNPACK);
		return lex(p);
	case TK_DECOLORIZE:
		return parse_decolorize(p, new_stage(pl, S_DECOLORIZE));
	case TK_LABEL_FMT:
		return parse_label_fmt(p, new_stage(pl, S_LABEL_FMT));
	case TK_DROP:
		return parse_keep_drop(p, new_stage(pl, S_DROP));
	case TK_KEEP:
		return parse_keep_drop(p, new_stage(pl, S_KEEP));
	case TK_UNWRAP:
		pl->unwraps = 1;
		s = new_stage(pl, S_UNWRAP);
		if ((rc = parse_unwrap(p, s)) == 0)
			pl->unwrap_label = s->label;
		return rc;
	case TK_IDENT:
	case TK_LPAREN:
		s = new_stage(pl, S_LABEL);
		rc = parse_lbf_or(p, &s->lf, 0);
		return rc;
	default:
		return unexpected(p, NULL);
	}
}

/* The leading literal |= filters: what every kept line holds. */
static void
find_needles(struct logql_pipeline *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++) {
		const struct stage *s = &pl->st[i];

		if (s->kind == S_LINE_FMT || s->kind == S_DECOLORIZE ||
		    s->kind == S_UNPACK)
			break;
		if (s->kind != S_LINE || s->nalt != 1 ||
		    (s->op != LF_CONTAINS && s->op != LF_RE) ||
		    !s->alt[0].literal || s->alt[0].n == 0 ||
		    memchr(s->alt[0].s, '\0', s->alt[0].n) != NULL)
			continue;
		pl->needle = xrealloc(pl->needle, (pl->nneedle + 1) *
		    sizeof(char *));
		pl->needle[pl->nneedle++] = xstrndup(s->alt[0].s, s->alt[0].n);
	}
}

int
logql_pipeline_parse(const char *q, size_t n, size_t *pos,
    struct logql_pipeline **out)
{
	struct logql_pipeline *pl;
	struct lp p;
	size_t last;
	int rc;

	*out = NULL;
	if (n > LOGQL_QUERY_MAX)
		return err_set(-EINVAL, "query longer than %d bytes",
		    LOGQL_QUERY_MAX);
	memset(&p, 0, sizeof(p));
	p.q = q;
	p.n = n;
	p.pos = *pos;
	pl = xcalloc(1, sizeof(*pl));
	if ((rc = lex(&p)) != 0)
		goto fail;
	for (;;) {
		last = p.tok.pos;
		switch (p.tok.t) {
		case TK_PIPE_EXACT: case TK_NEQ: case TK_PIPE_MATCH:
		case TK_NRE: case TK_PIPE_PATTERN: case TK_NPA:
			if (pl->unwraps) {
				rc = unexpected(&p, NULL);
				goto fail;
			}
			rc = parse_line_filter(&p, pl);
			break;
		case TK_PIPE:
			if ((rc = lex(&p)) == 0)
				rc = parse_stage(&p, pl);
			break;
		default:
			*pos = last;
			tok_clear(&p.tok);
			find_needles(pl);
			*out = pl;
			return 0;
		}
		if (rc != 0)
			goto fail;
	}
fail:
	*pos = p.tok.pos;
	tok_clear(&p.tok);
	logql_pipeline_free(pl);
	return rc;
}

int
logql_pipeline_unwraps(const struct logql_pipeline *p)
{
	return p->unwraps;
}

void
logql_pipeline_needles(const struct logql_pipeline *p,
    const char *const **out, size_t *n)
{
	*out = (const char *const *)p->needle;
	*n = p->nneedle;
}

/* ---- formatting ---- */

static const char *const cmp_str[] = { "==", "!=", ">", ">=", "<", "<=" };

static int
format_lbf(const struct lbf *f, struct buf *b)
{
	size_t vl;
	const char *v;
	int rc;

	switch (f->kind) {
	case LB_STRING:
		buf_puts(b, f->name);
		buf_puts(b, matcher_op_str(matcher_op(f->m)));
		v = matcher_value(f->m, &vl);
		return promql_quote(v, vl, b);
	case LB_AND:
	case LB_OR:
		buf_puts(b, "( ");
		if ((rc = format_lbf(f->l, b)) != 0)
			return rc;
		buf_puts(b, f->kind == LB_AND ? " , " : " or ");
		if ((rc = format_lbf(f->r, b)) != 0)
			return rc;
		return buf_puts(b, " )");
	case LB_IP:
		buf_printf(b, "%s%sip(", f->name, f->cmp == CMP_EQ ? "=" : "!=");
		promql_quote(f->text, strlen(f->text), b);
		return buf_putc(b, ')');
	default:
		return buf_printf(b, "%s%s%s", f->name, cmp_str[f->cmp],
		    f->text);
	}
}

static const char *const lf_str[] = { "|=", "!=", "|~", "!~", "|>", "!>" };

int
logql_pipeline_format(const struct logql_pipeline *p, struct buf *b)
{
	size_t i, k;
	int rc = 0;

	for (i = 0; i < p->n && rc == 0; i++) {
		const struct stage *s = &p->st[i];

		switch (s->kind) {
		case S_LINE:
			buf_printf(b, " %s ", lf_str[s->op]);
			for (k = 0; k < s->nalt; k++) {
				if (k > 0)
					buf_puts(b, " or ");
				if (s->alt[k].ip)
					buf_puts(b, "ip(");
				promql_quote(s->alt[k].s, s->alt[k].n, b);
				if (s->alt[k].ip)
					buf_putc(b, ')');
			}
			break;
		case S_JSON:
		case S_LOGFMT:
			buf_puts(b, s->kind == S_JSON ? " | json" : " | logfmt");
			if (s->strict)
				buf_puts(b, " --strict");
			if (s->keep_empty)
				buf_puts(b, " --keep-empty");
			for (k = 0; k < s->n; k++) {
				buf_puts(b, k ? "," : " ");
				buf_printf(b, "%s=", s->names[k]);
				promql_quote(s->keys[k], strlen(s->keys[k]), b);
			}
			break;
		case S_REGEXP:
		case S_PATTERN:
		case S_LINE_FMT:
			buf_puts(b, s->kind == S_REGEXP ? " | regexp " :
			    s->kind == S_PATTERN ? " | pattern " :
			    " | line_format ");
			promql_quote(s->text, s->tlen, b);
			break;
		case S_UNPACK:
			buf_puts(b, " | unpack");
			break;
		case S_DECOLORIZE:
			buf_puts(b, " | decolorize");
			break;
		case S_LABEL:
			buf_puts(b, " | ");
			rc = format_lbf(s->lf, b);
			break;
		case S_LABEL_FMT:
			buf_puts(b, " | label_format ");
			for (k = 0; k < s->nfi; k++) {
				if (k)
					buf_putc(b, ',');
				buf_printf(b, "%s=", s->fi[k].name);
				if (s->fi[k].rename)
					buf_puts(b, s->fi[k].value);
				else
					promql_quote(s->fi[k].value,
					    strlen(s->fi[k].value), b);
			}
			break;
		case S_DROP:
		case S_KEEP:
			buf_puts(b, s->kind == S_DROP ? " | drop " : " | keep ");
			for (k = 0; k < s->n; k++) {
				size_t vl;
				const char *v;

				if (k)
					buf_putc(b, ',');
				buf_puts(b, s->names[k]);
				if (s->ms[k] == NULL)
					continue;
				buf_puts(b, matcher_op_str(matcher_op(s->ms[k])));
				v = matcher_value(s->ms[k], &vl);
				promql_quote(v, vl, b);
			}
			break;
		case S_UNWRAP:
			if (s->conv == CONV_NONE)
				buf_printf(b, " | unwrap %s", s->label);
			else
				buf_printf(b, " | unwrap %s(%s)",
				    s->conv == CONV_DURATION ? "duration" :
				    s->conv == CONV_BYTES ? "bytes" :
				    "duration_seconds", s->label);
			break;
		}
	}
	if (rc == 0 && b->data == NULL)
		rc = buf_puts(b, "");
	return rc;
}

/* ---- running ---- */

#define CACHE_SLOTS	1024

struct cache_ent {
	uint64_t	 h;
	struct labels	*ls;
};

struct pair_ref {
	const char	*name, *value;
	size_t		 nlen, vlen;
};

/* Names, looked up linearly: a few at most. */
struct name_set {
	char		**v;
	size_t		 n;
	int		 all;
};

struct logql_run {
	const struct logql_pipeline *p;
	/* logql_run_want(): 0 none, else which labels the caller keeps */
	enum { WANT_ALL, WANT_BY, WANT_WITHOUT } want;
	struct name_set	 out;		/* by or without these */
	struct name_set	*need;		/* per stage: what the later ones read */
	size_t		 stage;		/* the stage running */
	struct labels	*base_out;	/* the stream's set as the caller wants it */
	const struct labels *base_in;
	uint64_t	 base_hash;
	pcre2_match_data *md;
	struct lq_builder b;
	struct lq_builder snap;		/* label_format's templates read this */
	struct buf	 line[2];	/* line_format and decolorize alternate */
	struct buf	 scratch, enc, vals;
	struct pair_ref	*pairs;
	size_t		 npairs, cappairs;
	struct cache_ent *cache;
	size_t		 ncached;
};

struct logql_run *
logql_run_new(const struct logql_pipeline *p)
{
	struct logql_run *r = xcalloc(1, sizeof(*r));
	uint32_t most = 1, c;
	size_t i, k;

	r->p = p;
	for (i = 0; i < p->n; i++) {
		if (p->st[i].re && pcre2_pattern_info(p->st[i].re,
		    PCRE2_INFO_CAPTURECOUNT, &c) == 0 && c + 1 > most)
			most = c + 1;
		for (k = 0; k < p->st[i].nalt; k++)
			if (p->st[i].alt[k].re && pcre2_pattern_info(
			    p->st[i].alt[k].re, PCRE2_INFO_CAPTURECOUNT, &c) == 0 &&
			    c + 1 > most)
				most = c + 1;
	}
	r->md = pcre2_match_data_create(most, re_contexts()->general);
	if (r->md == NULL)
		abort();
	lq_builder_init(&r->b);
	lq_builder_init(&r->snap);
	buf_init(&r->line[0], 0);
	buf_init(&r->line[1], 0);
	buf_init(&r->scratch, 0);
	buf_init(&r->enc, 0);
	buf_init(&r->vals, 0);
	r->cache = xcalloc(CACHE_SLOTS, sizeof(*r->cache));
	return r;
}

static void
names_release(struct name_set *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static int
names_has(const struct name_set *ns, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strlen(ns->v[i]) == len && memcmp(ns->v[i], name, len) == 0)
			return 1;
	return 0;
}

static void
names_add(void *arg, const char *name)
{
	struct name_set *ns = arg;

	if (names_has(ns, name, strlen(name)))
		return;
	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(char *));
	ns->v[ns->n++] = xstrdup(name);
}

static void
lbf_names(const struct lbf *f, struct name_set *ns)
{
	if (f == NULL)
		return;
	if (f->name != NULL)
		names_add(ns, f->name);
	lbf_names(f->l, ns);
	lbf_names(f->r, ns);
}

/* What stage s reads of the labels, added to ns. */
static void
stage_reads(const struct stage *s, struct name_set *ns)
{
	size_t k;

	switch (s->kind) {
	case S_LABEL:
		lbf_names(s->lf, ns);
		break;
	case S_LINE_FMT:
		ns->all |= lq_tmpl_fields(s->tmpl, names_add, ns);
		break;
	case S_LABEL_FMT:
		for (k = 0; k < s->nfi; k++) {
			if (s->fi[k].rename)
				names_add(ns, s->fi[k].value);
			else
				ns->all |= lq_tmpl_fields(s->fi[k].t, names_add,
				    ns);
		}
		break;
	case S_UNWRAP:
		names_add(ns, s->label);
		break;
	default:
		break;
	}
}

/* Whether a parser of the running stage should set a label. */
static int
want_parsed(void *arg, const char *name, size_t len)
{
	struct logql_run *r = arg;
	const struct name_set *need = &r->need[r->stage];

	if (need->all || names_has(need, name, len))
		return 1;
	return names_has(&r->out, name, len) == (r->want == WANT_BY);
}

int
logql_run_want(struct logql_run *r, const char *const *names, size_t n,
    int without)
{
	const struct logql_pipeline *p = r->p;
	size_t i;

	names_release(&r->out);
	for (i = 0; i < n; i++)
		names_add(&r->out, names[i]);
	r->want = without ? WANT_WITHOUT : WANT_BY;
	if (r->need == NULL) {
		r->need = xcalloc(p->n + 1, sizeof(*r->need));
		/* each stage's set: what every stage after it reads */
		for (i = p->n; i-- > 0;) {
			size_t k;

			r->need[i].all = r->need[i + 1].all;
			for (k = 0; k < r->need[i + 1].n; k++)
				names_add(&r->need[i], r->need[i + 1].v[k]);
			if (i + 1 < p->n)
				stage_reads(&p->st[i + 1], &r->need[i]);
		}
	}
	r->b.want = want_parsed;
	r->b.want_arg = r;
	labels_free(r->base_out);
	r->base_out = NULL;
	r->base_in = NULL;
	return 0;
}

void
logql_run_free(struct logql_run *r)
{
	size_t i;

	if (r == NULL)
		return;
	names_release(&r->out);
	if (r->need != NULL)
		for (i = 0; i <= r->p->n; i++)
			names_release(&r->need[i]);
	free(r->need);
	labels_free(r->base_out);
	pcre2_match_data_free(r->md);
	lq_builder_release(&r->b);
	lq_builder_release(&r->snap);
	buf_release(&r->line[0]);
	buf_release(&r->line[1]);
	buf_release(&r->scratch);
	buf_release(&r->enc);
	buf_release(&r->vals);
	free(r->pairs);
	for (i = 0; i < CACHE_SLOTS; i++)
		labels_free(r->cache[i].ls);
	free(r->cache);
	free(r);
}

static int
re_run(struct logql_run *r, pcre2_code *re, const char *s, size_t n)
{
	int rc;

	rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, r->md,
	    re_contexts()->match);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return err_set(-ERANGE, "regex gave up on a line (pcre2 error %d: "
	    "match limit)", rc);
}

static int
line_filter(struct logql_run *r, const struct stage *s, const char *line,
    size_t len)
{
	size_t k;
	int hit = 0, rc;

	for (k = 0; k < s->nalt && !hit; k++) {
		const struct lf_alt *a = &s->alt[k];

		if (a->ip)
			hit = lq_ip_find(a->ip, line, len);
		else if (a->literal)
			hit = a->n == 0 || memmem(line, len, a->s, a->n) != NULL;
		else if (a->pat)
			hit = lq_pattern_matches(a->pat, line, len);
		else if ((rc = re_run(r, a->re, line, len)) < 0)
			return rc;
		else
			hit = rc;
	}
	if (s->op == LF_NOT_CONTAINS || s->op == LF_NOT_RE ||
	    s->op == LF_NOT_PATTERN)
		return !hit;
	return hit;
}

/* The line without its escape sequences, into out. */
static int
decolorize(struct logql_run *r, const struct stage *s, const char *line,
    size_t len, struct buf *out)
{
	PCRE2_SIZE olen;
	int rc;

	buf_reset(out);
	if ((rc = buf_reserve(out, len + 1)) != 0)
		return rc;
	olen = out->cap;
	rc = pcre2_substitute(s->re, (PCRE2_SPTR)line, len, 0,
	    PCRE2_SUBSTITUTE_GLOBAL, r->md, re_contexts()->match,
	    (PCRE2_SPTR)"", 0, (PCRE2_UCHAR *)out->data, &olen);
	if (rc < 0)
		return err_set(-ERANGE, "decolorize gave up on a line (pcre2 "
		    "error %d)", rc);
	out->len = olen;
	out->data[olen] = '\0';
	return 0;
}

static int
regexp_stage(struct logql_run *r, const struct stage *s, const char *line,
    size_t len)
{
	PCRE2_SPTR table;
	PCRE2_SIZE *ov;
	uint32_t count, esize, i;
	int rc;

	if ((rc = re_run(r, s->re, line, len)) <= 0)
		return rc;
	ov = pcre2_get_ovector_pointer(r->md);
	pcre2_pattern_info(s->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(s->re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(s->re, PCRE2_INFO_NAMETABLE, &table);
	for (i = 0; i < count; i++) {
		const unsigned char *e = table + i * esize;
		unsigned g = ((unsigned)e[0] << 8) | e[1];
		const char *name = (const char *)e + 2;

		if (ov[2 * g] == PCRE2_UNSET)
			continue;
		if ((rc = lq_set_parsed(&r->b, &r->scratch, name, strlen(name),
		    line + ov[2 * g], ov[2 * g + 1] - ov[2 * g])) != 0)
			return rc;
	}
	return 0;
}

static const char *
convert_err(char *det, size_t dl, const char *fn, const char *v, size_t vl)
{
	snprintf(det, dl, "%s: parsing \"%.*s\": invalid syntax", fn,
	    (int)(vl > 100 ? 100 : vl), v);
	return det;
}

/* 1 kept, 0 dropped, <0 an error. */
static int
label_filter(struct logql_run *r, const struct lbf *f)
{
	const char *v;
	size_t vl;
	double x, y;
	char det[200];
	int rc, l, rr, ok;

	switch (f->kind) {
	case LB_AND:
	case LB_OR:
		if ((l = label_filter(r, f->l)) < 0)
			return l;
		if (f->kind == LB_OR && l)
			return 1;
		if ((rr = label_filter(r, f->r)) < 0)
			return rr;
		return f->kind == LB_AND ? l && rr : l || rr;
	case LB_STRING:
		v = lq_get(&r->b, f->name, f->nlen, &vl);
		return matcher_matches(f->m, v, v ? vl : 0);
	case LB_IP:
		/* as Loki: a line with an error passes, one without the label not */
		if (lq_has_err(&r->b))
			return 1;
		if ((v = lq_get(&r->b, f->name, f->nlen, &vl)) == NULL)
			return 0;
		return lq_ip_find(f->ip, v, vl) == (f->cmp == CMP_EQ);
	default:
		break;
	}
	if ((v = lq_get(&r->b, f->name, f->nlen, &vl)) == NULL)
		return 0;
	switch (f->kind) {
	case LB_NUMBER:
		rc = lq_parse_float(v, vl, &x);
		if (rc != 0)
			convert_err(det, sizeof(det), "strconv.ParseFloat", v, vl);
		break;
	case LB_DURATION:
		rc = lq_parse_duration(v, vl, &x);
		if (rc != 0)
			snprintf(det, sizeof(det), "time: invalid duration "
			    "\"%.*s\"", (int)(vl > 100 ? 100 : vl), v);
		break;
	default:
		rc = lq_parse_bytes(v, vl, &x);
		if (rc != 0)
			snprintf(det, sizeof(det), "strconv.ParseFloat: parsing "
			    "\"%.*s\": invalid syntax", (int)(vl > 100 ? 100 :
			    vl), v);
		break;
	}
	if (rc != 0) {
		/* a value that does not convert keeps the line, marked; an
		 * error already there says more and stays */
		if (!lq_has_err(&r->b) &&
		    (rc = lq_set_err(&r->b, "LabelFilterErr", det)) != 0)
			return rc;
		return 1;
	}
	y = f->v;
	switch (f->cmp) {
	case CMP_EQ: ok = x == y; break;
	case CMP_NE: ok = x != y; break;
	case CMP_GT: ok = x > y; break;
	case CMP_GE: ok = x >= y; break;
	case CMP_LT: ok = x < y; break;
	default: ok = x <= y; break;
	}
	return ok;
}

static int
label_fmt(struct logql_run *r, const struct stage *s, const char *line,
    size_t len, int64_t ts)
{
	size_t k, vl;
	const char *v;
	int rc, snapped = 0;

	for (k = 0; k < s->nfi; k++) {
		const struct fmt_item *f = &s->fi[k];

		if (f->rename) {
			if ((v = lq_get(&r->b, f->value, strlen(f->value),
			    &vl)) == NULL)
				continue;
			if ((rc = lq_set(&r->b, f->name, strlen(f->name), v,
			    vl)) != 0)
				return rc;
			if (strcmp(f->name, f->value) != 0 &&
			    (rc = lq_del(&r->b, f->value, strlen(f->value))) != 0)
				return rc;
			continue;
		}
		/*
		 * The templates of a stage all see the labels as the first
		 * of them found them: what one sets is not another's field.
		 */
		if (!snapped && (rc = lq_builder_copy(&r->snap, &r->b)) != 0)
			return rc;
		snapped = 1;
		buf_reset(&r->scratch);
		if (lq_tmpl_exec(f->t, &r->snap, line, len, ts,
		    &r->scratch) != 0) {
			if ((rc = lq_set_err(&r->b, "TemplateFormatErr",
			    err_detail())) != 0)
				return rc;
			continue;
		}
		if ((rc = lq_set(&r->b, f->name, strlen(f->name),
		    r->scratch.data ? r->scratch.data : "", r->scratch.len)) != 0)
			return rc;
	}
	return 0;
}

struct kd_arg {
	struct logql_run *r;
	const struct stage *s;
	int		 keep;
	int		 rc;
};

/* Whether a drop/keep stage names the label (and its matcher, if any, matches). */
static int
kd_names(const struct stage *s, const char *name, size_t nlen,
    const char *v, size_t vl)
{
	size_t k;

	for (k = 0; k < s->n; k++) {
		if (strlen(s->names[k]) != nlen ||
		    memcmp(s->names[k], name, nlen) != 0)
			continue;
		if (s->ms[k] == NULL || matcher_matches(s->ms[k], v, vl) == 1)
			return 1;
	}
	return 0;
}

static int
kd_collect(void *arg, const char *name, size_t nlen, const char *v,
    size_t vl)
{
	struct kd_arg *a = arg;
	struct logql_run *r = a->r;
	int named = kd_names(a->s, name, nlen, v, vl);

	if (named == a->keep)
		return 0;
	/* keep never takes the error away: only a filter or drop does */
	if (a->keep && ((nlen == strlen(LQ_ERROR) &&
	    memcmp(name, LQ_ERROR, nlen) == 0) ||
	    (nlen == strlen(LQ_ERROR_DETAILS) &&
	    memcmp(name, LQ_ERROR_DETAILS, nlen) == 0)))
		return 0;
	/* to drop: remember the name, the builder cannot change mid-walk */
	if (buf_append(&r->vals, name, nlen) != 0 || buf_putc(&r->vals, 0) != 0)
		return -ENOMEM;
	return 0;
}

static int
keep_drop(struct logql_run *r, const struct stage *s, int keep)
{
	struct kd_arg a = { r, s, keep, 0 };
	size_t i;
	int rc;

	buf_reset(&r->vals);
	if ((rc = lq_each(&r->b, kd_collect, &a)) != 0)
		return rc;
	for (i = 0; i < r->vals.len;) {
		const char *name = r->vals.data + i;
		size_t nl = strlen(name);

		if ((rc = lq_del(&r->b, name, nl)) != 0)
			return rc;
		i += nl + 1;
	}
	return 0;
}

static int
unwrap(struct logql_run *r, const struct stage *s, struct logql_out *out)
{
	const char *v;
	size_t vl;
	char det[200];
	int rc;

	out->has_value = 0;
	if ((v = lq_get(&r->b, s->label, strlen(s->label), &vl)) == NULL ||
	    vl == 0)
		return 0;
	switch (s->conv) {
	case CONV_NONE:
		rc = lq_parse_float(v, vl, &out->value);
		if (rc != 0)
			convert_err(det, sizeof(det), "strconv.ParseFloat", v, vl);
		break;
	case CONV_DURATION:
	case CONV_DURATION_SECONDS:
		rc = lq_parse_duration(v, vl, &out->value);
		if (rc != 0)
			snprintf(det, sizeof(det), "time: invalid duration "
			    "\"%.*s\"", (int)(vl > 100 ? 100 : vl), v);
		break;
	default:
		rc = lq_parse_bytes(v, vl, &out->value);
		if (rc != 0)
			snprintf(det, sizeof(det), "strconv.ParseFloat: parsing "
			    "\"%.*s\": invalid syntax", (int)(vl > 100 ? 100 :
			    vl), v);
		break;
	}
	if (rc != 0) {
		out->value = 0;
		if ((rc = lq_set_err(&r->b, "SampleExtractionErr", det)) != 0)
			return rc;
	}
	out->has_value = 1;
	return 1;
}

/* ---- the label set of a line ---- */

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair_ref *x = a, *y = b;
	size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->nlen < y->nlen ? -1 : x->nlen > y->nlen;
}

static int
pair_add(void *arg, const char *name, size_t nlen, const char *v, size_t vl)
{
	struct logql_run *r = arg;

	if (vl == 0)
		return 0;
	/* the caller's choice of labels; errors always stay */
	if (r->want != WANT_ALL && names_has(&r->out, name, nlen) !=
	    (r->want == WANT_BY) && !(nlen == strlen(LQ_ERROR) &&
	    memcmp(name, LQ_ERROR, nlen) == 0) && !(nlen ==
	    strlen(LQ_ERROR_DETAILS) && memcmp(name, LQ_ERROR_DETAILS,
	    nlen) == 0))
		return 0;
	if (r->npairs == r->cappairs) {
		r->cappairs = r->cappairs ? 2 * r->cappairs : 32;
		r->pairs = xrealloc(r->pairs, r->cappairs * sizeof(*r->pairs));
	}
	r->pairs[r->npairs].name = name;
	r->pairs[r->npairs].nlen = nlen > LABELS_NAME_MAX ? LABELS_NAME_MAX :
	    nlen;
	r->pairs[r->npairs].value = v;
	r->pairs[r->npairs].vlen = vl;
	r->npairs++;
	return 0;
}

/*
 * A value as a label set may hold it: valid UTF-8 without NUL, at most
 * LABELS_VALUE_MAX bytes. Anything else is mended into r->vals (a bad
 * byte or a NUL becomes U+FFFD, the end is cut at a character) and *off
 * set to its offset + 1 there; 0 when the value is fine as it is.
 */
static int
mend_value(struct logql_run *r, const char *v, size_t n, size_t *off,
    size_t *len)
{
	size_t i = 0, good, start = r->vals.len;
	int rc;

	*off = 0;
	*len = n;
	if (n <= LABELS_VALUE_MAX) {
		for (i = 0; i < n && v[i] != '\0' &&
		    (unsigned char)v[i] < 0x80; i++)
			;
		if (i == n || (memchr(v, '\0', n) == NULL &&
		    utf8_valid(v, n) == n))
			return 0;
		i = 0;
	}
	while (i < n) {
		const char *nul;

		good = utf8_valid(v + i, n - i);
		if ((nul = memchr(v + i, '\0', good)) != NULL)
			good = (size_t)(nul - (v + i));
		if ((rc = buf_append(&r->vals, v + i, good)) != 0)
			return rc;
		i += good;
		if (i < n) {
			if ((rc = buf_append(&r->vals, "\xef\xbf\xbd", 3)) != 0)
				return rc;
			i++;
		}
	}
	n = r->vals.len - start;
	if (n > LABELS_VALUE_MAX) {
		n = LABELS_VALUE_MAX;
		while (n > 0 && ((unsigned char)r->vals.data[start + n] &
		    0xc0) == 0x80)
			n--;
	}
	*off = start + 1;
	*len = n;
	return 0;
}

/*
 * A line no stage changed gave set ls: so will the next lines of the
 * stream, which take the copy kept here. The set to give back.
 */
static const struct labels *
remember_base(struct logql_run *r, const struct labels *base,
    const struct labels *ls)
{
	if (r->b.nmod != 0 || r->want == WANT_ALL)
		return ls;
	labels_free(r->base_out);
	r->base_out = labels_dup(ls);
	r->base_in = base;
	r->base_hash = labels_hash(base);
	return r->base_out;
}

static int
build_labels(struct logql_run *r, const struct labels *base,
    const struct labels **out)
{
	struct label lab[LABELS_COUNT_MAX];
	size_t offs[LABELS_COUNT_MAX];
	size_t i, n = 0, total = 1;
	struct cache_ent *e;
	const void *be;
	size_t bl;
	uint64_t h;
	int rc;

	if (r->b.nmod == 0 && r->want == WANT_ALL) {
		*out = base;
		return 0;
	}
	/* the stream's set as the caller wants it, made once a stream */
	if (r->b.nmod == 0 && r->base_out != NULL && r->base_in == base &&
	    r->base_hash == labels_hash(base)) {
		*out = r->base_out;
		return 0;
	}
	r->npairs = 0;
	buf_reset(&r->vals);
	if ((rc = lq_each(&r->b, pair_add, r)) != 0)
		return rc;
	if (r->npairs > 1)
		qsort(r->pairs, r->npairs, sizeof(*r->pairs), pair_cmp);
	buf_reset(&r->enc);
	for (i = 0; i < r->npairs && n < LABELS_COUNT_MAX; i++) {
		struct pair_ref pr = r->pairs[i];

		if (i > 0 && pair_cmp(&r->pairs[i - 1], &pr) == 0)
			continue;
		/* a set names a metric only by a valid name: another is left out */
		if (pr.nlen == 8 && memcmp(pr.name, LABELS_METRIC_NAME, 8) == 0 &&
		    labels_check_metric_name(pr.value, pr.vlen) != 0)
			continue;
		if ((rc = mend_value(r, pr.value, pr.vlen, &offs[n],
		    &pr.vlen)) != 0)
			return rc;
		if (total + pr.nlen + pr.vlen + 2 > LABELS_ENCODED_MAX)
			continue;
		total += pr.nlen + pr.vlen + 2;
		lab[n].name = pr.name;
		lab[n].name_len = pr.nlen;
		lab[n].value = pr.value;
		lab[n].value_len = pr.vlen;
		n++;
	}
	for (i = 0; i < n; i++) {
		if (offs[i] > 0)
			lab[i].value = r->vals.data + offs[i] - 1;
		if ((rc = buf_append(&r->enc, lab[i].name, lab[i].name_len)) != 0 ||
		    (rc = buf_putc(&r->enc, 0)) != 0 ||
		    (rc = buf_append(&r->enc, lab[i].value,
		    lab[i].value_len)) != 0 || (rc = buf_putc(&r->enc, 0)) != 0)
			return rc;
	}
	if ((rc = buf_putc(&r->enc, 0)) != 0)
		return rc;
	be = labels_encoding(base, &bl);
	if (bl == r->enc.len && memcmp(be, r->enc.data, bl) == 0) {
		*out = remember_base(r, base, base);
		return 0;
	}
	h = XXH3_64bits(r->enc.data, r->enc.len);
	e = &r->cache[h & (CACHE_SLOTS - 1)];
	if (e->ls != NULL && e->h == h) {
		be = labels_encoding(e->ls, &bl);
		if (bl == r->enc.len && memcmp(be, r->enc.data, bl) == 0) {
			*out = remember_base(r, base, e->ls);
			return 0;
		}
	}
	labels_free(e->ls);
	e->ls = NULL;
	if ((rc = labels_new(lab, n, LABELS_RESERVED, &e->ls)) != 0)
		return rc;
	e->h = h;
	*out = remember_base(r, base, e->ls);
	return 0;
}

int
logql_run_line(struct logql_run *r, const struct labels *ls,
    const char *line, size_t len, int64_t ts_ns, struct logql_out *out)
{
	const struct logql_pipeline *p = r->p;
	size_t i;
	int cur = 0, rc, replaced;

	out->has_value = 0;
	out->value = 0;
	if (r->b.nmod != 0 || r->b.base != ls)
		lq_builder_reset(&r->b, ls);
	for (i = 0; i < p->n; i++) {
		const struct stage *s = &p->st[i];
		struct buf *nb = &r->line[cur];

		r->stage = i;
		switch (s->kind) {
		case S_LINE:
			if ((rc = line_filter(r, s, line, len)) <= 0)
				return rc;
			break;
		case S_JSON:
			rc = s->n ? lq_json_paths(&r->b, &r->scratch, line, len,
			    s->names, s->paths, s->n) :
			    lq_json_all(&r->b, &r->scratch, line, len);
			if (rc != 0)
				return rc;
			break;
		case S_LOGFMT:
			if ((rc = lq_logfmt(&r->b, &r->scratch, line, len,
			    s->strict, s->keep_empty, s->names, s->keys,
			    s->n)) != 0)
				return rc;
			break;
		case S_REGEXP:
			if ((rc = regexp_stage(r, s, line, len)) < 0)
				return rc;
			break;
		case S_PATTERN:
			if ((rc = lq_pattern_extract(s->pat, &r->b, &r->scratch,
			    line, len)) != 0)
				return rc;
			break;
		case S_UNPACK:
			if ((rc = lq_unpack(&r->b, &r->scratch, line, len, nb,
			    &replaced)) != 0)
				return rc;
			if (replaced) {
				line = nb->data;
				len = nb->len;
				cur ^= 1;
			}
			break;
		case S_LABEL:
			if ((rc = label_filter(r, s->lf)) <= 0)
				return rc;
			break;
		case S_LINE_FMT:
			buf_reset(nb);
			if (lq_tmpl_exec(s->tmpl, &r->b, line, len, ts_ns,
			    nb) != 0) {
				if ((rc = lq_set_err(&r->b, "TemplateFormatErr",
				    err_detail())) != 0)
					return rc;
				break;
			}
			if (nb->data == NULL && (rc = buf_puts(nb, "")) != 0)
				return rc;
			line = nb->data;
			len = nb->len;
			cur ^= 1;
			break;
		case S_LABEL_FMT:
			if ((rc = label_fmt(r, s, line, len, ts_ns)) != 0)
				return rc;
			break;
		case S_DROP:
		case S_KEEP:
			if ((rc = keep_drop(r, s, s->kind == S_KEEP)) != 0)
				return rc;
			break;
		case S_DECOLORIZE:
			if (memchr(line, '\x1b', len) == NULL &&
			    memmem(line, len, "\xc2\x9b", 2) == NULL)
				break;
			if ((rc = decolorize(r, s, line, len, nb)) != 0)
				return rc;
			line = nb->data;
			len = nb->len;
			cur ^= 1;
			break;
		case S_UNWRAP:
			if ((rc = unwrap(r, s, out)) <= 0)
				return rc;
			break;
		}
	}
	/*
	 * The unwrapped label names no series, it is the value: gone from
	 * the set, once the filters after unwrap have seen it.
	 */
	if (out->has_value && (rc = lq_del(&r->b, p->unwrap_label,
	    strlen(p->unwrap_label))) != 0)
		return rc;
	if ((rc = build_labels(r, ls, &out->ls)) != 0)
		return rc;
	out->line = line;
	out->len = len;
	return 1;
}
