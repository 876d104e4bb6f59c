/*
 * logql_parsers.c - the label builder of a pipeline run and the stages
 * that read a line into labels: json (whole or by paths), unpack,
 * logfmt, pattern; ip(); and the conversions of label filters and
 * unwrap (numbers, Go durations, humanized bytes).
 *
 * JSON goes through jansson: a line is decoded whole, its objects
 * flattened with "_" between the keys and arrays left out, as Loki's
 * json parser does. Numbers come out as jansson reads them (integers as
 * written, other numbers in their shortest form), which is Loki's text
 * but for spellings such as 1.50 or 1e3.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "model/labels.h"
#include "query/logql_pipe_int.h"
#include "util/error.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ---- the builder ---- */

void
lq_builder_init(struct lq_builder *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->arena, 0);
}

void
lq_builder_release(struct lq_builder *b)
{
	free(b->mod);
	buf_release(&b->arena);
}

int
lq_builder_copy(struct lq_builder *dst, const struct lq_builder *src)
{
	int rc;

	dst->base = src->base;
	dst->nmod = 0;
	buf_reset(&dst->arena);
	if (src->arena.len > 0 &&
	    (rc = buf_append(&dst->arena, src->arena.data, src->arena.len)) != 0)
		return rc;
	if (src->nmod > dst->capmod) {
		dst->capmod = src->capmod;
		dst->mod = xrealloc(dst->mod, dst->capmod * sizeof(*dst->mod));
	}
	if (src->nmod > 0)
		memcpy(dst->mod, src->mod, src->nmod * sizeof(*dst->mod));
	dst->nmod = src->nmod;
	return 0;
}

void
lq_builder_reset(struct lq_builder *b, const struct labels *base)
{
	b->base = base;
	b->nmod = 0;
	buf_reset(&b->arena);
}

static struct lq_mod *
find_mod(const struct lq_builder *b, const char *name, size_t nlen)
{
	size_t i;

	for (i = b->nmod; i-- > 0;) {
		struct lq_mod *m = &b->mod[i];

		if (m->nlen == nlen &&
		    memcmp(b->arena.data + m->noff, name, nlen) == 0)
			return m;
	}
	return NULL;
}

const char *
lq_get(const struct lq_builder *b, const char *name, size_t nlen,
    size_t *vlen)
{
	const struct lq_mod *m;
	const struct label *l;

	if ((m = find_mod(b, name, nlen)) != NULL) {
		if (m->del)
			return NULL;
		*vlen = m->vlen;
		return b->arena.data + m->voff;
	}
	if (b->base == NULL || (l = labels_find(b->base, name, nlen)) == NULL)
		return NULL;
	*vlen = l->value_len;
	return l->value;
}

int
lq_base_has(const struct lq_builder *b, const char *name, size_t nlen)
{
	return b->base != NULL && labels_find(b->base, name, nlen) != NULL;
}

/* Where p is in the arena, or (size_t)-1 when elsewhere. */
static size_t
arena_offset(const struct lq_builder *b, const char *p)
{
	if (p == NULL || b->arena.data == NULL || p < b->arena.data ||
	    p >= b->arena.data + b->arena.len)
		return (size_t)-1;
	return (size_t)(p - b->arena.data);
}

/* Append n bytes at p to the arena, p possibly inside it: the offset. */
static int
arena_put(struct lq_builder *b, const char *p, size_t n, uint32_t *off)
{
	size_t inside = arena_offset(b, p);
	int rc;

	if ((rc = buf_reserve(&b->arena, n + 1)) != 0)
		return rc;
	if (inside != (size_t)-1)
		p = b->arena.data + inside;
	*off = (uint32_t)b->arena.len;
	if (n > 0)
		memmove(b->arena.data + b->arena.len, p, n);
	b->arena.len += n;
	b->arena.data[b->arena.len] = '\0';
	return 0;
}

static int
put_mod(struct lq_builder *b, const char *name, size_t nlen,
    const char *value, size_t vlen, int del)
{
	struct lq_mod *m, nm;
	size_t nin, vin;
	int rc;

	/*
	 * Room for both first: a name or value taken from the arena (a
	 * rename's) must not move between the two
	 */
	nin = arena_offset(b, name);
	vin = arena_offset(b, value);
	if ((rc = buf_reserve(&b->arena, nlen + vlen + 1)) != 0)
		return rc;
	if (nin != (size_t)-1)
		name = b->arena.data + nin;
	if (vin != (size_t)-1)
		value = b->arena.data + vin;
	memset(&nm, 0, sizeof(nm));
	if ((m = find_mod(b, name, nlen)) != NULL)
		nm.noff = m->noff;
	else if ((rc = arena_put(b, name, nlen, &nm.noff)) != 0)
		return rc;
	if (vin != (size_t)-1)
		value = b->arena.data + vin;
	nm.nlen = (uint32_t)nlen;
	nm.del = del;
	if (!del && (rc = arena_put(b, value, vlen, &nm.voff)) != 0)
		return rc;
	nm.vlen = (uint32_t)vlen;
	if (m == NULL) {
		if (b->nmod == b->capmod) {
			b->capmod = b->capmod ? b->capmod * 2 : 16;
			b->mod = xrealloc(b->mod, (b->capmod) * sizeof(*b->mod));
		}
		m = &b->mod[b->nmod++];
	}
	*m = nm;
	return 0;
}

int
lq_set(struct lq_builder *b, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	return put_mod(b, name, nlen, value, vlen, 0);
}

int
lq_del(struct lq_builder *b, const char *name, size_t nlen)
{
	if (find_mod(b, name, nlen) == NULL && !lq_base_has(b, name, nlen))
		return 0;
	return put_mod(b, name, nlen, NULL, 0, 1);
}

int
lq_set_err(struct lq_builder *b, const char *err, const char *details)
{
	int rc;

	if ((rc = lq_set(b, LQ_ERROR, strlen(LQ_ERROR), err, strlen(err))) != 0)
		return rc;
	if (details == NULL || *details == '\0')
		return 0;
	return lq_set(b, LQ_ERROR_DETAILS, strlen(LQ_ERROR_DETAILS), details,
	    strlen(details));
}

int
lq_has_err(const struct lq_builder *b)
{
	size_t n;

	return lq_get(b, LQ_ERROR, strlen(LQ_ERROR), &n) != NULL && n > 0;
}

int
lq_each(const struct lq_builder *b, int (*fn)(void *, const char *, size_t,
    const char *, size_t), void *arg)
{
	size_t i, n;
	int rc;

	n = b->base ? labels_count(b->base) : 0;
	for (i = 0; i < n; i++) {
		const struct label *l = labels_at(b->base, i);

		if (find_mod(b, l->name, l->name_len) != NULL)
			continue;
		if ((rc = fn(arg, l->name, l->name_len, l->value,
		    l->value_len)) != 0)
			return rc;
	}
	for (i = 0; i < b->nmod; i++) {
		const struct lq_mod *m = &b->mod[i];

		if (m->del)
			continue;
		if ((rc = fn(arg, b->arena.data + m->noff, m->nlen,
		    b->arena.data + m->voff, m->vlen)) != 0)
			return rc;
	}
	return 0;
}

/* ---- names ---- */

int
lq_sanitize_name(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int rc;

	size_t at;

	buf_reset(out);
	if (n > 0 && s[0] >= '0' && s[0] <= '9' &&
	    (rc = buf_putc(out, '_')) != 0)
		return rc;
	at = out->len;
	if ((rc = buf_append(out, s, n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			out->data[at + i] = '_';
	}
	if (out->data == NULL)
		return buf_puts(out, "");
	return 0;
}

/*
 * Whether a parsed value may be a label's: UTF-8 without NUL and
 * without U+FFFD (what Go puts for bad bytes); Loki takes any other as
 * empty. ASCII, the common case, is one pass.
 */
static int
plain_value(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == '\0' || (unsigned char)v[i] >= 0x80)
			break;
	if (i == n)
		return 1;
	return utf8_valid(v, n) == n && memchr(v, '\0', n) == NULL &&
	    memmem(v, n, "\xef\xbf\xbd", 3) == NULL;
}

int
lq_set_parsed(struct lq_builder *b, struct buf *scratch, const char *name,
    size_t nlen, const char *value, size_t vlen)
{
	int rc;

	if (scratch->data != name || scratch->len != nlen) {
		if ((rc = lq_sanitize_name(name, nlen, scratch)) != 0)
			return rc;
	}
	if (scratch->len == 0)
		return 0;
	if (lq_base_has(b, scratch->data, scratch->len) &&
	    (rc = buf_puts(scratch, LQ_DUP_SUFFIX)) != 0)
		return rc;
	if (b->want != NULL && !b->want(b->want_arg, scratch->data,
	    scratch->len))
		return 0;
	if (!plain_value(value, vlen))
		vlen = 0;
	return lq_set(b, scratch->data, scratch->len, value, vlen);
}

/* ---- json ---- */

/* The text of a scalar as Loki's label value; 0 with *n 0 for none. */
static const char *
json_scalar(json_t *v, char *tmp, size_t tmplen, size_t *n)
{
	double d;
	int p;

	switch (json_typeof(v)) {
	case JSON_STRING:
		*n = json_string_length(v);
		return json_string_value(v);
	case JSON_INTEGER:
		*n = (size_t)snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return tmp;
	case JSON_REAL:
		d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 1e15) {
			*n = (size_t)snprintf(tmp, tmplen, "%.0f", d);
			return tmp;
		}
		for (p = 1; p <= 17; p++) {
			snprintf(tmp, tmplen, "%.*g", p, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
		*n = strlen(tmp);
		return tmp;
	case JSON_TRUE:
		*n = 4;
		return "true";
	case JSON_FALSE:
		*n = 5;
		return "false";
	default:
		*n = 0;
		return NULL;
	}
}

static json_t *
json_line(struct lq_builder *b, const char *line, size_t len, int *rc)
{
	json_error_t jerr;
	json_t *root;

	*rc = 0;
	root = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	/* integers past 64 bits are read as floats rather than refused */
	if (root == NULL && strstr(jerr.text, "too big") != NULL)
		root = json_loadb(line, len, JSON_DECODE_ANY |
		    JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
	if (root == NULL || !json_is_object(root)) {
		char det[256];

		if (root == NULL)
			snprintf(det, sizeof(det), "%s at column %d", jerr.text,
			    jerr.column);
		else
			snprintf(det, sizeof(det), "the line is not a JSON "
			    "object");
		json_decref(root);
		*rc = lq_set_err(b, "JSONParserErr", det);
		return NULL;
	}
	return root;
}

static int
flatten(struct lq_builder *b, struct buf *prefix, struct buf *scratch,
    json_t *obj)
{
	const char *key;
	json_t *v;
	size_t plen = prefix->len, klen;
	char tmp[64];
	int rc;

	json_object_keylen_foreach(obj, key, klen, v) {
		const char *s;
		size_t n;

		prefix->len = plen;
		if (plen > 0 && (rc = buf_putc(prefix, '_')) != 0)
			return rc;
		if ((rc = buf_append(prefix, key, klen)) != 0)
			return rc;
		if (json_is_object(v)) {
			if ((rc = flatten(b, prefix, scratch, v)) != 0)
				return rc;
			continue;
		}
		if ((s = json_scalar(v, tmp, sizeof(tmp), &n)) == NULL)
			continue;
		if ((rc = lq_sanitize_name(prefix->data, prefix->len,
		    scratch)) != 0 ||
		    (rc = lq_set_parsed(b, scratch, scratch->data, scratch->len,
		    s, n)) != 0)
			return rc;
	}
	prefix->len = plen;
	return 0;
}

int
lq_json_all(struct lq_builder *b, struct buf *scratch, const char *line,
    size_t len)
{
	struct buf prefix;
	json_t *root;
	int rc;

	if ((root = json_line(b, line, len, &rc)) == NULL)
		return rc;
	buf_init(&prefix, 0);
	rc = flatten(b, &prefix, scratch, root);
	buf_release(&prefix);
	json_decref(root);
	return rc;
}

/* A path: keys (strings) and indexes (key NULL). */
struct lq_jpath {
	size_t		 n;
	struct jstep {
		char	*key;
		size_t	 idx;
	}		*step;
};

void
lq_jpath_free(struct lq_jpath *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->step[i].key);
	free(p->step);
	free(p);
}

static void
jpath_add(struct lq_jpath *p, const char *key, size_t klen, size_t idx)
{
	p->step = xrealloc(p->step, (p->n + 1) * sizeof(*p->step));
	p->step[p->n].key = key ? xstrndup(key, klen) : NULL;
	p->step[p->n].idx = idx;
	p->n++;
}

int
lq_jpath_parse(const char *s, size_t n, struct lq_jpath **out)
{
	struct lq_jpath *p;
	size_t i = 0, j;

	p = xcalloc(1, sizeof(*p));
	while (i < n) {
		if (s[i] == '.' && p->n > 0) {
			i++;
			continue;
		}
		if (s[i] == '[') {
			i++;
			if (i < n && (s[i] == '"' || s[i] == '\'')) {
				char q = s[i++];

				for (j = i; j < n && s[j] != q; j++)
					;
				if (j + 1 >= n || s[j + 1] != ']')
					goto bad;
				jpath_add(p, s + i, j - i, 0);
				i = j + 2;
				continue;
			}
			for (j = i; j < n && s[j] >= '0' && s[j] <= '9'; j++)
				;
			if (j == i || j >= n || s[j] != ']' || j - i > 9)
				goto bad;
			jpath_add(p, NULL, 0, (size_t)strtoul(s + i, NULL, 10));
			i = j + 1;
			continue;
		}
		for (j = i; j < n && s[j] != '.' && s[j] != '['; j++)
			;
		if (j == i)
			goto bad;
		jpath_add(p, s + i, j - i, 0);
		i = j;
	}
	if (p->n == 0)
		goto bad;
	*out = p;
	return 0;
bad:
	lq_jpath_free(p);
	*out = NULL;
	return err_set(-EINVAL, "cannot parse JSON expression '%.*s'",
	    (int)(n > 200 ? 200 : n), s);
}

int
lq_json_paths(struct lq_builder *b, struct buf *scratch, const char *line,
    size_t len, char *const *names, struct lq_jpath *const *paths, size_t n)
{
	json_t *root, *v;
	size_t i, k;
	char tmp[64];
	int rc = 0;

	if ((root = json_line(b, line, len, &rc)) == NULL)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		const char *s;
		char *dump = NULL;
		size_t sl;

		v = root;
		for (k = 0; k < paths[i]->n && v != NULL; k++) {
			const struct jstep *st = &paths[i]->step[k];

			v = st->key ? json_object_get(v, st->key) :
			    json_array_get(v, st->idx);
		}
		if (v == NULL)
			continue;
		if (json_is_object(v) || json_is_array(v)) {
			dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
			    JSON_PRESERVE_ORDER);
			s = dump;
			sl = dump ? strlen(dump) : 0;
		} else if ((s = json_scalar(v, tmp, sizeof(tmp), &sl)) == NULL)
			continue;
		rc = lq_set_parsed(b, scratch, names[i], strlen(names[i]), s,
		    sl);
		free(dump);
	}
	json_decref(root);
	return rc;
}

int
lq_unpack(struct lq_builder *b, struct buf *scratch, const char *line,
    size_t len, struct buf *line_out, int *replaced)
{
	const char *key;
	json_t *root, *v;
	size_t klen;
	int rc = 0;

	*replaced = 0;
	if ((root = json_line(b, line, len, &rc)) == NULL)
		return rc;
	json_object_keylen_foreach(root, key, klen, v) {
		if (!json_is_string(v))
			continue;
		if (klen == 6 && memcmp(key, "_entry", 6) == 0) {
			buf_reset(line_out);
			if ((rc = buf_append(line_out, json_string_value(v),
			    json_string_length(v))) != 0)
				break;
			*replaced = 1;
			continue;
		}
		if ((rc = lq_set_parsed(b, scratch, key, klen,
		    json_string_value(v), json_string_length(v))) != 0)
			break;
	}
	json_decref(root);
	return rc;
}

/* ---- logfmt ---- */

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

/* A logfmt separator: any byte up to the space, as go-logfmt has it. */
static int
is_sep(char c)
{
	return (unsigned char)c <= ' ';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Unquote a quoted value, s[0] and s[n - 1] its quotes, with JSON's
 * escapes (\" \\ \/ \b \f \n \r \t \uXXXX): 0, or -1 for a bad one.
 */
static int
logfmt_unquote(const char *s, size_t n, struct buf *out)
{
	size_t i;

	buf_reset(out);
	for (i = 1; i + 1 < n; i++) {
		char c = s[i];
		unsigned long cp = 0;
		char u[4];
		int k;

		if (c != '\\') {
			if (buf_putc(out, c) != 0)
				return -1;
			continue;
		}
		if (++i + 1 >= n)
			return -1;
		switch (s[i]) {
		case '"': case '\\': case '/': c = s[i]; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (i + 4 > n - 2)
				return -1;
			for (k = 1; k <= 4; k++) {
				if (hexval(s[i + k]) < 0)
					return -1;
				cp = cp << 4 | (unsigned long)hexval(s[i + k]);
			}
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			if (cp < 0x80) {
				c = (char)cp;
				break;
			}
			if (cp < 0x800) {
				u[0] = (char)(0xc0 | (cp >> 6));
				u[1] = (char)(0x80 | (cp & 0x3f));
				k = 2;
			} else {
				u[0] = (char)(0xe0 | (cp >> 12));
				u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
				u[2] = (char)(0x80 | (cp & 0x3f));
				k = 3;
			}
			if (buf_append(out, u, (size_t)k) != 0)
				return -1;
			continue;
		default:
			return -1;
		}
		if (buf_putc(out, c) != 0)
			return -1;
	}
	if (out->data == NULL && buf_puts(out, "") != 0)
		return -1;
	return 0;
}

/* Which of the nk keys wanted is k: its index, or -1. */
static int
logfmt_wanted(char *const *keys, size_t nk, const char *k, size_t klen)
{
	size_t i;

	for (i = 0; i < nk; i++)
		if (strlen(keys[i]) == klen && memcmp(keys[i], k, klen) == 0)
			return (int)i;
	return -1;
}

/*
 * One pair from line + *i: 1 with *k and *v (v NULL for a key alone), 0
 * at the end, or -1 for a pair that does not parse (why in err, *i past
 * it).
 */
static int
logfmt_next(const char *line, size_t len, size_t *i, struct buf *val,
    const char **k, size_t *klen, const char **v, size_t *vlen, char *err,
    size_t errlen)
{
	size_t p = *i, st;

	while (p < len && is_sep(line[p]))
		p++;
	if (p >= len) {
		*i = p;
		return 0;
	}
	st = p;
	while (p < len && !is_sep(line[p]) && line[p] != '=' && line[p] != '"')
		p++;
	if (p < len && (line[p] == '"' || (line[p] == '=' && p == st))) {
		snprintf(err, errlen, "logfmt syntax error at pos %zu : "
		    "unexpected '%c'", p + 1, line[p]);
		goto skip;
	}
	*k = line + st;
	*klen = p - st;
	*v = NULL;
	*vlen = 0;
	if (p >= len || line[p] != '=') {
		*i = p;
		return 1;
	}
	p++;
	if (p >= len || is_sep(line[p])) {
		*v = "";
		*i = p;
		return 1;
	}
	if (line[p] == '"') {
		size_t q = p + 1;
		int esc = 0, has_esc = 0;

		for (; q < len; q++) {
			if (esc)
				esc = 0;
			else if (line[q] == '\\')
				esc = has_esc = 1;
			else if (line[q] == '"')
				break;
		}
		if (q >= len) {
			snprintf(err, errlen, "logfmt syntax error at pos %zu : "
			    "unterminated quoted value", len + 1);
			*i = len;
			return -1;
		}
		if (!has_esc) {
			*v = line + p + 1;
			*vlen = q - p - 1;
		} else if (logfmt_unquote(line + p, q - p + 1, val) != 0) {
			snprintf(err, errlen, "logfmt syntax error at pos %zu : "
			    "invalid quoted value", q + 2);
			p = q + 1;
			goto skip;
		} else {
			*v = val->data;
			*vlen = val->len;
		}
		*i = q + 1;
		return 1;
	}
	st = p;
	while (p < len && !is_sep(line[p])) {
		if (line[p] == '=' || line[p] == '"') {
			snprintf(err, errlen, "logfmt syntax error at pos %zu : "
			    "unexpected '%c'", p + 1, line[p]);
			goto skip;
		}
		p++;
	}
	*v = line + st;
	*vlen = p - st;
	*i = p;
	return 1;
skip:
	while (p < len && !is_sep(line[p]))
		p++;
	*i = p;
	return -1;
}

int
lq_logfmt(struct lq_builder *b, struct buf *scratch, const char *line,
    size_t len, int strict, int keep_empty, char *const *names,
    char *const *keys, size_t nk)
{
	struct buf val;
	size_t i = 0;
	int rc = 0, r;

	/* an empty value is no label in a set, so keep_empty changes nothing */
	(void)keep_empty;
	buf_init(&val, 0);
	for (;;) {
		const char *k, *v;
		size_t klen, vlen;
		char err[128];
		int w;

		r = logfmt_next(line, len, &i, &val, &k, &klen, &v, &vlen, err,
		    sizeof(err));
		if (r == 0)
			break;
		if (r < 0) {
			/* --strict stops at the first error and says so */
			if (strict) {
				rc = lq_set_err(b, "LogfmtParserErr", err);
				break;
			}
			continue;
		}
		if (v == NULL)
			v = "";
		if (nk > 0) {
			if ((w = logfmt_wanted(keys, nk, k, klen)) < 0)
				continue;
			k = names[w];
			klen = strlen(names[w]);
		}
		if ((rc = lq_set_parsed(b, scratch, k, klen, v, vlen)) != 0)
			break;
	}
	buf_release(&val);
	return rc;
}

/* ---- pattern ---- */

struct pnode {
	char	*lit;		/* a literal, or NULL for a capture */
	size_t	 len;
	char	*name;		/* a capture's name; NULL for <_> */
};

struct lq_pattern {
	struct pnode	*node;
	size_t		 n;
};

void
lq_pattern_free(struct lq_pattern *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->node[i].lit);
		free(p->node[i].name);
	}
	free(p->node);
	free(p);
}

static size_t
capture_len(const char *s, size_t n)
{
	size_t j;

	if (n < 3 || s[0] != '<')
		return 0;
	if (!((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z') ||
	    s[1] == '_'))
		return 0;
	for (j = 2; j < n; j++) {
		char c = s[j];

		if (c == '>')
			return j + 1;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 0;
}

int
lq_pattern_parse(const char *s, size_t n, int need_named,
    struct lq_pattern **out)
{
	struct lq_pattern *p;
	size_t i = 0, lit = 0, c, k;
	int named = 0;

	p = xcalloc(1, sizeof(*p));
	while (i <= n) {
		c = i < n ? capture_len(s + i, n - i) : 0;
		if (i < n && c == 0) {
			i++;
			continue;
		}
		if (i > lit) {
			p->node = xrealloc(p->node, (p->n + 1) * sizeof(*p->node));
			p->node[p->n].lit = xstrndup(s + lit, i - lit);
			p->node[p->n].len = i - lit;
			p->node[p->n].name = NULL;
			p->n++;
		}
		if (i == n)
			break;
		if (p->n > 0 && p->node[p->n - 1].lit == NULL) {
			lq_pattern_free(p);
			*out = NULL;
			return err_set(-EINVAL, "found consecutive capture "
			    "'%.*s': invalid expression", (int)c, s + i);
		}
		p->node = xrealloc(p->node, (p->n + 1) * sizeof(*p->node));
		p->node[p->n].lit = NULL;
		p->node[p->n].len = 0;
		p->node[p->n].name = (c == 3 && s[i + 1] == '_') ? NULL :
		    xstrndup(s + i + 1, c - 2);
		if (p->node[p->n].name != NULL) {
			for (k = 0; k < p->n; k++)
				if (p->node[k].name != NULL &&
				    strcmp(p->node[k].name,
				    p->node[p->n].name) == 0) {
					p->n++;
					lq_pattern_free(p);
					*out = NULL;
					return err_set(-EINVAL, "duplicate "
					    "capture name (%.*s): invalid "
					    "expression", (int)(c - 2), s + i + 1);
				}
			named = 1;
		}
		p->n++;
		i += c;
		lit = i;
	}
	if (!named && need_named) {
		lq_pattern_free(p);
		*out = NULL;
		return err_set(-EINVAL, "at least one capture is required");
	}
	*out = p;
	return 0;
}

/*
 * Walk the pattern over the line: each capture takes the text up to the
 * first place its following literal occurs; a capture last, or one
 * whose literal is not found, takes the rest. fn sees each named capture. Returns whether every part was found.
 */
static int
pattern_walk(const struct lq_pattern *p, const char *line, size_t len,
    int (*fn)(void *, const char *, const char *, size_t), void *arg,
    int *rc)
{
	const char *in = line, *end = line + len, *hit;
	size_t i = 0;

	*rc = 0;
	if (p->n > 0 && p->node[0].lit != NULL) {
		if ((size_t)(end - in) < p->node[0].len ||
		    memcmp(in, p->node[0].lit, p->node[0].len) != 0)
			return 0;
		in += p->node[0].len;
		i = 1;
	}
	while (i < p->n) {
		const struct pnode *cap = &p->node[i];

		if (i + 1 == p->n) {
			if (cap->name && fn && (*rc = fn(arg, cap->name, in,
			    (size_t)(end - in))) != 0)
				return 0;
			return 1;
		}
		hit = memmem(in, (size_t)(end - in), p->node[i + 1].lit,
		    p->node[i + 1].len);
		if (hit == NULL) {
			/* a literal not found: its capture takes the rest */
			if (cap->name && fn)
				*rc = fn(arg, cap->name, in, (size_t)(end - in));
			return 0;
		}
		if (cap->name && fn && (*rc = fn(arg, cap->name, in,
		    (size_t)(hit - in))) != 0)
			return 0;
		in = hit + p->node[i + 1].len;
		i += 2;
	}
	/* the pattern ended with a literal: the line must end there too */
	return in == end;
}

struct pattern_arg {
	struct lq_builder *b;
	struct buf	*scratch;
};

static int
pattern_set(void *arg, const char *name, const char *v, size_t n)
{
	struct pattern_arg *a = arg;

	return lq_set_parsed(a->b, a->scratch, name, strlen(name), v, n);
}

int
lq_pattern_extract(const struct lq_pattern *p, struct lq_builder *b,
    struct buf *scratch, const char *line, size_t len)
{
	struct pattern_arg a = { b, scratch };
	int rc;

	(void)pattern_walk(p, line, len, pattern_set, &a, &rc);
	return rc;
}

int
lq_pattern_matches(const struct lq_pattern *p, const char *line, size_t len)
{
	int rc;

	return pattern_walk(p, line, len, NULL, NULL, &rc);
}

/* ---- ip() ---- */

struct lq_ip {
	int		 family;	/* AF_INET or AF_INET6 */
	size_t		 len;		/* 4 or 16 */
	unsigned char	 lo[16], hi[16];
};

void
lq_ip_free(struct lq_ip *ip)
{
	free(ip);
}

/* An address of n bytes at s: its family and bytes, or 0. */
static int
ip_addr(const char *s, size_t n, unsigned char *out)
{
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, tmp, out) == 1)
		return AF_INET6;
	return 0;
}

int
lq_ip_parse(const char *s, size_t n, struct lq_ip **out)
{
	struct lq_ip *ip = xcalloc(1, sizeof(*ip));
	const char *slash = memchr(s, '/', n), *dash = memchr(s, '-', n);
	unsigned char b[16];
	int f;

	*out = NULL;
	if (slash != NULL) {
		char *end;
		unsigned long bits;
		size_t i;

		ip->family = ip_addr(s, (size_t)(slash - s), ip->lo);
		ip->len = ip->family == AF_INET ? 4 : 16;
		bits = strtoul(slash + 1, &end, 10);
		if (ip->family == 0 || end != s + n || end == slash + 1 ||
		    bits > ip->len * 8 || slash[1] == '+' || slash[1] == '-')
			goto bad;
		for (i = 0; i < ip->len; i++) {
			unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ?
			    (unsigned)(bits - i * 8) : 0;
			unsigned char mask = (unsigned char)(keep ? 0xff << (8 -
			    keep) : 0);

			ip->hi[i] = (unsigned char)(ip->lo[i] | (unsigned char)~mask);
			ip->lo[i] &= mask;
		}
	} else if (dash != NULL) {
		ip->family = ip_addr(s, (size_t)(dash - s), ip->lo);
		f = ip_addr(dash + 1, (size_t)(s + n - dash - 1), ip->hi);
		ip->len = ip->family == AF_INET ? 4 : 16;
		if (ip->family == 0 || f != ip->family ||
		    memcmp(ip->lo, ip->hi, ip->len) > 0)
			goto bad;
	} else {
		if ((ip->family = ip_addr(s, n, b)) == 0)
			goto bad;
		ip->len = ip->family == AF_INET ? 4 : 16;
		memcpy(ip->lo, b, ip->len);
		memcpy(ip->hi, b, ip->len);
	}
	*out = ip;
	return 0;
bad:
	free(ip);
	return err_set(-EINVAL, "ip: invalid pattern: \"%.*s\"",
	    (int)(n > 100 ? 100 : n), s);
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static size_t
span(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0' && strchr(set, s[i]) != NULL; i++)
		;
	return i;
}

/* Whether the address of n bytes at s is in ip; *len its length. */
static int
ip_in(const struct lq_ip *ip, const char *s, size_t n, const char *set,
    size_t *len)
{
	unsigned char b[16];
	int f;

	*len = span(s, n, set);
	f = ip_addr(s, *len, b);
	return f == ip->family && memcmp(b, ip->lo, ip->len) >= 0 &&
	    memcmp(b, ip->hi, ip->len) <= 0;
}

int
lq_ip_find(const struct lq_ip *ip, const char *s, size_t n)
{
	size_t i, l;

	/* where an address may start: a digit then a dot within three, or hex then a colon */
	for (i = 0; i < n; i++) {
		if (i + 3 < n && s[i] >= '0' && s[i] <= '9' &&
		    (s[i + 1] == '.' || s[i + 2] == '.' || s[i + 3] == '.')) {
			if (ip_in(ip, s + i, n - i, "0123456789.", &l))
				return 1;
			if (l > 0)
				i += l;
			continue;
		}
		if (i + 4 < n && ((s[i] == ':' && s[i + 1] == ':' &&
		    is_hex(s[i + 2])) || (is_hex(s[i]) && (s[i + 1] == ':' ||
		    (is_hex(s[i + 1]) && (s[i + 2] == ':' || (is_hex(s[i + 2]) &&
		    (s[i + 3] == ':' || (is_hex(s[i + 3]) &&
		    s[i + 4] == ':'))))))))) {
			if (ip_in(ip, s + i, n - i, "0123456789abcdefABCDEF:.",
			    &l))
				return 1;
			if (l > 0)
				i += l;
		}
	}
	return 0;
}

/* ---- conversions ---- */

int
lq_parse_float(const char *s, size_t n, double *out)
{
	char tmp[512], *end;
	size_t i;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (is_space(s[i]) || s[i] == '\0')
			return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	*out = strtod(tmp, &end);
	if (end != tmp + n)
		return -EINVAL;
	/* Go refuses hex floats without p and C's nan(...) forms alike */
	return 0;
}

int
lq_parse_duration(const char *s, size_t n, double *out)
{
	static const struct {
		const char	*u;
		double		 mul;
	} units[] = {
		{ "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 },
		{ "\xce\xbcs", 1e-6 }, { "ms", 1e-3 }, { "s", 1 }, { "m", 60 },
		{ "h", 3600 }, { "d", 86400 }, { "w", 7 * 86400 },
		{ "y", 365 * 86400 },
	};
	size_t i = 0, k;
	double total = 0, sign = 1;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		sign = s[i++] == '-' ? -1 : 1;
	if (n - i == 1 && s[i] == '0') {
		*out = 0;
		return 0;
	}
	if (i >= n)
		return -EINVAL;
	while (i < n) {
		char num[64];
		double v;
		int digits = 0, dots = 0;
		size_t best = 0, bi = 0, st = i;

		/* the number read by strtod(), so that it rounds once */
		while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
			if (s[i] == '.')
				dots++;
			else
				digits++;
			i++;
		}
		if (digits == 0 || dots > 1 || i - st >= sizeof(num))
			return -EINVAL;
		memcpy(num, s + st, i - st);
		num[i - st] = '\0';
		v = strtod(num, NULL);
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			size_t ul = strlen(units[k].u);

			if (ul <= n - i && memcmp(s + i, units[k].u, ul) == 0 &&
			    ul > best) {
				best = ul;
				bi = k;
			}
		}
		if (best == 0)
			return -EINVAL;
		total += v * units[bi].mul;
		i += best;
	}
	*out = sign * total;
	return 0;
}

int
lq_parse_bytes(const char *s, size_t n, double *out)
{
	static const struct {
		const char	*u;
		double		 mul;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1e3 }, { "kb", 1e3 }, { "ki", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1e6 }, { "mb", 1e6 }, { "mi", 1048576.0 },
		{ "mib", 1048576.0 },
		{ "g", 1e9 }, { "gb", 1e9 }, { "gi", 1073741824.0 },
		{ "gib", 1073741824.0 },
		{ "t", 1e12 }, { "tb", 1e12 }, { "ti", 1099511627776.0 },
		{ "tib", 1099511627776.0 },
		{ "p", 1e15 }, { "pb", 1e15 }, { "pi", 1125899906842624.0 },
		{ "pib", 1125899906842624.0 },
		{ "e", 1e18 }, { "eb", 1e18 }, { "ei", 1152921504606846976.0 },
		{ "eib", 1152921504606846976.0 },
	};
	char num[64], unit[8];
	size_t i = 0, j = 0, k, ul;
	double v;

	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
	    s[i] == ',')) {
		if (s[i] != ',') {
			if (j + 1 >= sizeof(num))
				return -EINVAL;
			num[j++] = s[i];
		}
		i++;
	}
	num[j] = '\0';
	if (j == 0 || lq_parse_float(num, j, &v) != 0)
		return -EINVAL;
	while (i < n && s[i] == ' ')
		i++;
	if (n - i >= sizeof(unit))
		return -EINVAL;
	for (ul = 0; i < n; i++, ul++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		unit[ul] = c;
	}
	unit[ul] = '\0';
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
		if (strcmp(unit, units[k].u) == 0) {
			*out = v * units[k].mul;
			return 0;
		}
	return -EINVAL;
}
