/*
 * labels.c - label sets (labels.h): the checks, building and looking up,
 * the canonical encoding and its decoder, the file-name form and its
 * parser.
 *
 * A set is one allocation: the struct, its pairs, then its canonical
 * encoding. The pairs' strings point into the encoding, where each name
 * and value is already followed by its 0 byte, so every set is made by
 * make() from an encoding that has been checked: labels_new() writes one
 * from checked pairs, labels_decode() checks one it was given.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "model/labels.h"
#include "model/labels_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

struct labels {
	size_t		 n;
	uint64_t	 hash;
	size_t		 enc_len;
	const char	*enc;		/* enc_len bytes after v[n] */
	struct label	 v[];
};

#define SHOW_MAX	80	/* bytes of a name or value shown in an error */

/* ---- error text (labels_int.h) ---- */

int
labels_quote(struct buf *b, const char *v, size_t n, int file_name)
{
	int rc = buf_putc(b, '"');

	for (size_t k = 0; k < n; k++) {
		char c = v[k];

		switch (c) {
		case '\\':	rc |= buf_append(b, "\\\\", 2); break;
		case '"':	rc |= buf_append(b, "\\\"", 2); break;
		case '\n':	rc |= buf_append(b, "\\n", 2); break;
		case '/':
		case '%':
			if (file_name) {
				rc |= buf_append(b, c == '/' ? "%2F" : "%25", 3);
				break;
			}
			/* FALLTHROUGH */
		default:	rc |= buf_putc(b, c); break;
		}
	}
	return rc | buf_putc(b, '"');
}

const char *
labels_show(char *dst, size_t dstlen, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > dstlen) {	/* room for "..." and NUL */
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}

/* ---- checks ---- */

static int
is_name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* what: "label name" or "metric name"; colon: ':' allowed */
static int
check_ident(const char *what, const char *s, size_t len, int colon)
{
	char show[SHOW_MAX];

	if (len == 0)
		return err_set(-EINVAL, "%s is empty", what);
	if (len > LABELS_NAME_MAX)
		return err_set(-EINVAL, "%s '%s' is longer than %d bytes", what,
		    labels_show(show, sizeof(show), s, len), LABELS_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 0 ? is_name_start(c) : is_name_char(c))
			continue;
		if (colon && c == ':')
			continue;
		return err_set(-EINVAL, "%s '%s': %s at byte %zu is not allowed%s",
		    what, labels_show(show, sizeof(show), s, len),
		    i == 0 && c >= '0' && c <= '9' ? "a digit" : "the character",
		    i + 1, colon ? " (metric names are [a-zA-Z_:][a-zA-Z0-9_:]*)" :
		    " (label names are [a-zA-Z_][a-zA-Z0-9_]*)");
	}
	return 0;
}

int
labels_check_metric_name(const char *name, size_t len)
{
	return check_ident("metric name", name, len, 1);
}

int
labels_check_name(const char *name, size_t len, int flags)
{
	char show[SHOW_MAX];
	int rc;

	if ((rc = check_ident("label name", name, len, 0)) != 0)
		return rc;
	if (len >= 2 && name[0] == '_' && name[1] == '_' &&
	    !(flags & LABELS_RESERVED) &&
	    !(len == strlen(LABELS_METRIC_NAME) &&
	    memcmp(name, LABELS_METRIC_NAME, len) == 0))
		return err_set(-EINVAL, "label name '%s' is reserved: names "
		    "starting with '__' are for internal use",
		    labels_show(show, sizeof(show), name, len));
	return 0;
}

int
labels_check_value(const char *name, const char *value, size_t len)
{
	size_t bad;
	const char *nul;

	if (len > LABELS_VALUE_MAX)
		return err_set(-EINVAL, "label '%s': value is longer than %d bytes",
		    name, LABELS_VALUE_MAX);
	if ((nul = memchr(value, '\0', len)) != NULL)
		return err_set(-EINVAL, "label '%s': value holds a NUL at byte %zu",
		    name, (size_t)(nul - value) + 1);
	if ((bad = utf8_valid(value, len)) != len)
		return err_set(-EINVAL, "label '%s': value is not UTF-8 at byte %zu",
		    name, bad + 1);
	return 0;
}

static int
is_metric_label(const char *name, size_t len)
{
	return len == strlen(LABELS_METRIC_NAME) &&
	    memcmp(name, LABELS_METRIC_NAME, len) == 0;
}

/* A pair, checked: its name, then its value (as a metric name for __name__). */
static int
check_pair(const struct label *l, int flags)
{
	char show[SHOW_MAX];
	int rc;

	if ((rc = labels_check_name(l->name, l->name_len, flags)) != 0)
		return rc;
	if (l->value_len == 0)
		return 0;
	if (is_metric_label(l->name, l->name_len))
		return labels_check_metric_name(l->value, l->value_len);
	return labels_check_value(labels_show(show, sizeof(show), l->name,
	    l->name_len), l->value, l->value_len);
}

/* ---- sets ---- */

struct label
label_str(const char *name, const char *value)
{
	struct label l = { name, strlen(name), value, strlen(value) };

	return l;
}

/* A set from a checked canonical encoding of n pairs. */
static struct labels *
make(const char *enc, size_t len, size_t n)
{
	struct labels *ls;
	char *copy;
	size_t i, pos = 0;

	ls = xmalloc(sizeof(*ls) + n * sizeof(ls->v[0]) + len);
	copy = (char *)&ls->v[n];
	memcpy(copy, enc, len);
	ls->n = n;
	ls->enc = copy;
	ls->enc_len = len;
	ls->hash = XXH3_64bits(copy, len);
	for (i = 0; i < n; i++) {
		ls->v[i].name = copy + pos;
		ls->v[i].name_len = strlen(copy + pos);
		pos += ls->v[i].name_len + 1;
		ls->v[i].value = copy + pos;
		ls->v[i].value_len = strlen(copy + pos);
		pos += ls->v[i].value_len + 1;
	}
	return ls;
}

static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
pair_cmp(const void *pa, const void *pb)
{
	const struct label *a = pa, *b = pb;

	return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

int
labels_new(const struct label *pairs, size_t n, int flags, struct labels **out)
{
	struct label *v = NULL;
	struct buf enc;
	char show[SHOW_MAX];
	size_t i, kept = 0, total = 1;
	int rc = 0;

	*out = NULL;
	buf_init(&enc, 0);
	for (i = 0; i < n; i++)
		if ((rc = check_pair(&pairs[i], flags)) != 0)
			goto fail;
	v = xmalloc((n ? n : 1) * sizeof(*v));
	if (n > 0)
		memcpy(v, pairs, n * sizeof(*v));
	qsort(v, n, sizeof(*v), pair_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && pair_cmp(&v[i - 1], &v[i]) == 0) {
			rc = err_set(-EINVAL, "label '%s' is given twice",
			    labels_show(show, sizeof(show), v[i].name, v[i].name_len));
			goto fail;
		}
		if (v[i].value_len == 0)
			continue;
		v[kept++] = v[i];
		total += v[i].name_len + v[i].value_len + 2;
	}
	if (kept > LABELS_COUNT_MAX) {
		rc = err_set(-EINVAL, "%zu labels: a set holds at most %d", kept,
		    LABELS_COUNT_MAX);
		goto fail;
	}
	if (total > LABELS_ENCODED_MAX) {
		rc = err_set(-EINVAL, "labels take %zu bytes: a set takes at most %d",
		    total, LABELS_ENCODED_MAX);
		goto fail;
	}
	buf_reserve(&enc, total);
	for (i = 0; i < kept; i++) {
		buf_append(&enc, v[i].name, v[i].name_len);
		buf_putc(&enc, '\0');
		buf_append(&enc, v[i].value, v[i].value_len);
		buf_putc(&enc, '\0');
	}
	buf_putc(&enc, '\0');
	*out = make(enc.data, enc.len, kept);

fail:
	free(v);
	buf_release(&enc);
	return rc;
}

void
labels_free(struct labels *ls)
{
	free(ls);
}

struct labels *
labels_dup(const struct labels *ls)
{
	return make(ls->enc, ls->enc_len, ls->n);
}

size_t
labels_count(const struct labels *ls)
{
	return ls->n;
}

const struct label *
labels_at(const struct labels *ls, size_t i)
{
	return i < ls->n ? &ls->v[i] : NULL;
}

const struct label *
labels_find(const struct labels *ls, const char *name, size_t len)
{
	size_t lo = 0, hi = ls->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(ls->v[mid].name, ls->v[mid].name_len, name, len);

		if (c == 0)
			return &ls->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
labels_get(const struct labels *ls, const char *name)
{
	const struct label *l = labels_find(ls, name, strlen(name));

	return l != NULL ? l->value : NULL;
}

const char *
labels_metric(const struct labels *ls)
{
	return labels_get(ls, LABELS_METRIC_NAME);
}

int
labels_compare(const struct labels *a, const struct labels *b)
{
	return name_cmp(a->enc, a->enc_len, b->enc, b->enc_len);
}

int
labels_equal(const struct labels *a, const struct labels *b)
{
	return a->hash == b->hash && a->enc_len == b->enc_len &&
	    memcmp(a->enc, b->enc, a->enc_len) == 0;
}

uint64_t
labels_hash(const struct labels *ls)
{
	return ls->hash;
}

/* ---- the canonical encoding ---- */

const void *
labels_encoding(const struct labels *ls, size_t *len)
{
	*len = ls->enc_len;
	return ls->enc;
}

int
labels_encode(const struct labels *ls, struct buf *b)
{
	return buf_append(b, ls->enc, ls->enc_len);
}

/* Turn the check's detail into the decoder's: where, and SHALE_ECORRUPT. */
static int
corrupt_at(size_t pos)
{
	char why[512];

	snprintf(why, sizeof(why), "%s", err_detail());
	return err_set(SHALE_ECORRUPT, "label set encoding, byte %zu: %s",
	    pos, why);
}

int
labels_decode(const void *p, size_t n, size_t *used, struct labels **out)
{
	const char *s = p, *name, *value, *prev = NULL, *end;
	char show[SHOW_MAX];
	size_t pos = 0, count = 0, nlen, vlen, prevlen = 0;

	*out = NULL;
	for (;;) {
		if (pos >= n)
			return err_set(SHALE_ECORRUPT, "label set encoding, byte "
			    "%zu: ends without its end mark", pos);
		if (s[pos] == '\0')
			break;
		name = s + pos;
		if ((end = memchr(name, '\0', n - pos)) == NULL)
			return err_set(SHALE_ECORRUPT, "label set encoding, byte "
			    "%zu: a name runs past the end", pos);
		nlen = (size_t)(end - name);
		if (labels_check_name(name, nlen, LABELS_RESERVED) != 0)
			return corrupt_at(pos);
		if (prev != NULL && name_cmp(prev, prevlen, name, nlen) >= 0)
			return err_set(SHALE_ECORRUPT, "label set encoding, byte "
			    "%zu: label '%s' is out of order", pos,
			    labels_show(show, sizeof(show), name, nlen));
		if (++count > LABELS_COUNT_MAX)
			return err_set(SHALE_ECORRUPT, "label set encoding, byte "
			    "%zu: more than %d labels", pos, LABELS_COUNT_MAX);
		pos += nlen + 1;
		value = s + pos;
		if (pos >= n || (end = memchr(value, '\0', n - pos)) == NULL)
			return err_set(SHALE_ECORRUPT, "label set encoding, byte "
			    "%zu: the value of '%s' runs past the end", pos,
			    labels_show(show, sizeof(show), name, nlen));
		vlen = (size_t)(end - value);
		if (vlen == 0)
			return err_set(SHALE_ECORRUPT, "label set encoding, byte "
			    "%zu: label '%s' has an empty value", pos,
			    labels_show(show, sizeof(show), name, nlen));
		if (is_metric_label(name, nlen) ?
		    labels_check_metric_name(value, vlen) != 0 :
		    labels_check_value(labels_show(show, sizeof(show), name, nlen),
		    value, vlen) != 0)
			return corrupt_at(pos);
		pos += vlen + 1;
		prev = name;
		prevlen = nlen;
	}
	pos++;				/* the end mark */
	if (pos > LABELS_ENCODED_MAX)
		return err_set(SHALE_ECORRUPT, "label set encoding: %zu bytes, "
		    "more than %d", pos, LABELS_ENCODED_MAX);
	if (used != NULL)
		*used = pos;
	else if (pos != n)
		return err_set(SHALE_ECORRUPT, "label set encoding, byte %zu: "
		    "%zu bytes after the end mark", pos, n - pos);
	*out = make(s, pos, count);
	return 0;
}

/* ---- the file-name form ---- */

int
labels_file_name(const struct labels *ls, struct buf *b)
{
	size_t start = b->len;
	int rc = 0, first = 1;

	rc |= buf_putc(b, '{');
	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];

		if (is_metric_label(l->name, l->name_len))
			continue;
		if (!first)
			rc |= buf_putc(b, ',');
		first = 0;
		rc |= buf_append(b, l->name, l->name_len);
		rc |= buf_putc(b, '=');
		rc |= labels_quote(b, l->value, l->value_len, 1);
	}
	rc |= buf_putc(b, '}');
	if (rc != 0) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
		return -EFBIG;
	}
	return 0;
}

/* A parse error at byte pos of s: -EINVAL, the column in the detail. */
static int
file_error(const char *s, size_t n, size_t pos, const char *why)
{
	char show[SHOW_MAX];

	return err_set(-EINVAL, "series file name '%s', column %zu: %s",
	    labels_show(show, sizeof(show), s, n), utf8_chars(s, pos) + 1, why);
}

/*
 * The value from s[*pos] (past its opening quote) to its closing quote,
 * unescaped into arena. s is valid UTF-8, and every escape is ASCII.
 */
static int
file_value(const char *s, size_t n, size_t *pos, struct buf *arena)
{
	size_t i = *pos;

	for (;;) {
		if (i >= n)
			return file_error(s, n, i, "the value has no closing '\"'");
		switch (s[i]) {
		case '"':
			*pos = i + 1;
			return 0;
		case '\\':
			if (i + 1 < n && (s[i + 1] == '\\' || s[i + 1] == '"'))
				buf_putc(arena, s[i + 1]);
			else if (i + 1 < n && s[i + 1] == 'n')
				buf_putc(arena, '\n');
			else
				return file_error(s, n, i, "an escape not used in "
				    "file names (only \\\\, \\\" and \\n are)");
			i += 2;
			break;
		case '%':
			if (i + 2 < n && s[i + 1] == '2' && s[i + 2] == 'F')
				buf_putc(arena, '/');
			else if (i + 2 < n && s[i + 1] == '2' && s[i + 2] == '5')
				buf_putc(arena, '%');
			else
				return file_error(s, n, i, "'%' must be %2F (for "
				    "'/') or %25 (for '%')");
			i += 3;
			break;
		case '\n':
			return file_error(s, n, i, "a newline is written \\n");
		case '/':
			return file_error(s, n, i, "a '/' is written %2F");
		case '\0':
			return file_error(s, n, i, "a value holds no NUL");
		default:
			buf_putc(arena, s[i]);
			i++;
			break;
		}
	}
}

int
labels_parse_file_name(const char *metric, const char *s, size_t n, int flags,
    struct labels **out)
{
	struct buf arena;
	struct label *v = NULL;
	size_t *off = NULL, cap = 0, count = 0, pos = 0, i, start;
	int rc;

	*out = NULL;
	buf_init(&arena, 0);
	if (n == 0 || s[0] != '{') {
		rc = file_error(s, n, 0, "a series file name starts with '{'");
		goto fail;
	}
	if ((i = utf8_valid(s, n)) != n) {
		rc = file_error(s, n, i, "not UTF-8");
		goto fail;
	}
	if (metric != NULL &&
	    (rc = labels_check_metric_name(metric, strlen(metric))) != 0)
		goto fail;
	pos = 1;
	if (pos < n && s[pos] == '}') {
		pos++;
		goto end;
	}
	for (;;) {
		/* off[]: name start, name length, value offset, value length */
		if (count == LABELS_COUNT_MAX) {
			rc = file_error(s, n, pos, "too many labels");
			goto fail;
		}
		off = xgrow(off, &cap, 4 * (count + 1), sizeof(*off));
		start = pos;
		while (pos < n && is_name_char((unsigned char)s[pos]))
			pos++;
		if (pos == start) {
			rc = file_error(s, n, pos, "a label name is expected");
			goto fail;
		}
		if (labels_check_name(s + start, pos - start, flags) != 0) {
			char why[512];

			snprintf(why, sizeof(why), "%s", err_detail());
			rc = file_error(s, n, start, why);
			goto fail;
		}
		if (is_metric_label(s + start, pos - start)) {
			rc = file_error(s, n, start, "the metric name is not part of "
			    "a series file name");
			goto fail;
		}
		if (count > 0) {
			int c = name_cmp(s + off[4 * (count - 1)],
			    off[4 * (count - 1) + 1], s + start, pos - start);

			if (c >= 0) {
				rc = file_error(s, n, start, c == 0 ? "label given twice" :
				    "labels out of order (they are sorted by name)");
				goto fail;
			}
		}
		off[4 * count] = start;
		off[4 * count + 1] = pos - start;
		if (pos + 1 >= n || s[pos] != '=' || s[pos + 1] != '"') {
			rc = file_error(s, n, pos, "'=\"' is expected");
			goto fail;
		}
		pos += 2;
		start = pos;
		off[4 * count + 2] = arena.len;
		if ((rc = file_value(s, n, &pos, &arena)) != 0)
			goto fail;
		off[4 * count + 3] = arena.len - off[4 * count + 2];
		if (off[4 * count + 3] == 0) {
			rc = file_error(s, n, start, "an empty value (a label with no "
			    "value is left out)");
			goto fail;
		}
		if (off[4 * count + 3] > LABELS_VALUE_MAX) {
			rc = file_error(s, n, start, "the value is too long");
			goto fail;
		}
		buf_putc(&arena, '\0');
		count++;
		if (pos < n && s[pos] == ',') {
			pos++;
			continue;
		}
		if (pos < n && s[pos] == '}') {
			pos++;
			break;
		}
		rc = file_error(s, n, pos, "',' or '}' is expected");
		goto fail;
	}
end:
	if (pos != n) {
		rc = file_error(s, n, pos, "bytes after the closing '}'");
		goto fail;
	}
	v = xmalloc((count + 1) * sizeof(*v));
	for (i = 0; i < count; i++) {
		v[i].name = s + off[4 * i];
		v[i].name_len = off[4 * i + 1];
		v[i].value = arena.data + off[4 * i + 2];
		v[i].value_len = off[4 * i + 3];
	}
	if (metric != NULL)
		v[count++] = label_str(LABELS_METRIC_NAME, metric);
	rc = labels_new(v, count, flags, out);

fail:
	free(v);
	free(off);
	buf_release(&arena);
	return rc;
}
