/*
 * test_labels.c - label sets and matchers (labels.h, matcher.h): name
 * and value rules (the "__" names, UTF-8, limits), building (sorting,
 * duplicates, empty values), the canonical encoding (order, round trips,
 * every damaged form refused), the file-name form (awkward values both
 * ways, every other spelling refused), matcher semantics as the
 * Prometheus docs give them (anchoring, the empty string and missing
 * labels, !~, regexes RE2 has not), and selector parsing and its errors.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/matcher.h"
#include "util/buf.h"
#include "util/error.h"

#define NPAIRS(a)	(sizeof(a) / sizeof((a)[0]))

/* A set from "name", "value", ... pairs of C strings, NULL-terminated. */
static struct labels *
set_of(const char *name, ...)
{
	struct label pairs[32];
	struct labels *ls;
	va_list ap;
	size_t n = 0;

	va_start(ap, name);
	for (const char *k = name; k != NULL; k = va_arg(ap, const char *))
		pairs[n++] = label_str(k, va_arg(ap, const char *));
	va_end(ap);
	assert_int_equal(labels_new(pairs, n, 0, &ls), 0);
	return ls;
}

static void
detail_has(const char *want)
{
	if (strstr(err_detail(), want) == NULL)
		fail_msg("detail '%s' lacks '%s'", err_detail(), want);
}

/* ---- names and values ---- */

static void
test_names(void **state)
{
	static const char *good_metric[] = { "up", "http_requests_total",
	    "a:b:c", ":colon", "_x", "A9", "job:rate5m" };
	static const char *bad_metric[] = { "", "9a", "a-b", "a.b", "a b",
	    "caf\xc3\xa9" };
	static const char *good_label[] = { "a", "_", "code", "A_9", "__name__" };
	static const char *bad_label[] = { "", "9", "a:b", "a-b", "a.b", "\xc3\xa9" };
	char longname[LABELS_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < NPAIRS(good_metric); i++)
		assert_int_equal(labels_check_metric_name(good_metric[i],
		    strlen(good_metric[i])), 0);
	for (size_t i = 0; i < NPAIRS(bad_metric); i++)
		assert_int_equal(labels_check_metric_name(bad_metric[i],
		    strlen(bad_metric[i])), -EINVAL);
	for (size_t i = 0; i < NPAIRS(good_label); i++)
		assert_int_equal(labels_check_name(good_label[i],
		    strlen(good_label[i]), 0), 0);
	for (size_t i = 0; i < NPAIRS(bad_label); i++)
		assert_int_equal(labels_check_name(bad_label[i],
		    strlen(bad_label[i]), LABELS_RESERVED), -EINVAL);
	assert_int_equal(labels_check_name("a-b", 3, 0), -EINVAL);
	detail_has("'a-b'");
	detail_has("byte 2");

	/* "__": reserved but for __name__, unless the caller allows it */
	assert_int_equal(labels_check_name("__meta", 6, 0), -EINVAL);
	detail_has("reserved");
	assert_int_equal(labels_check_name("__meta", 6, LABELS_RESERVED), 0);
	assert_int_equal(labels_check_name("__", 2, 0), -EINVAL);
	assert_int_equal(labels_check_name("_a", 2, 0), 0);

	memset(longname, 'a', sizeof(longname));
	assert_int_equal(labels_check_name(longname, LABELS_NAME_MAX, 0), 0);
	assert_int_equal(labels_check_name(longname, LABELS_NAME_MAX + 1, 0),
	    -EINVAL);
	detail_has("longer than");
	assert_int_equal(labels_check_metric_name(longname, LABELS_NAME_MAX + 1),
	    -EINVAL);
}

static void
test_values(void **state)
{
	static const char *good[] = { "", "x", "caf\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
	    "tab\there", "new\nline", "a\"b\\c/d%e" };
	static const char *bad[] = {
		"\xc3",			/* cut short */
		"\x80",			/* continuation first */
		"\xc0\xaf",		/* overlong / */
		"\xe0\x80\xaf",		/* overlong, 3 bytes */
		"\xf0\x80\x80\xaf",	/* overlong, 4 bytes */
		"\xed\xa0\x80",		/* surrogate U+D800 */
		"\xf4\x90\x80\x80",	/* past U+10FFFF */
		"\xff", "ok\xfe",
		"\xe2\x82",		/* cut short */
		"\xe2\x28\xa1",		/* bad continuation */
	};
	char big[LABELS_VALUE_MAX + 1];

	(void)state;
	for (size_t i = 0; i < NPAIRS(good); i++)
		assert_int_equal(labels_check_value("a", good[i], strlen(good[i])),
		    0);
	for (size_t i = 0; i < NPAIRS(bad); i++) {
		assert_int_equal(labels_check_value("a", bad[i], strlen(bad[i])),
		    -EINVAL);
		detail_has("not UTF-8");
	}
	assert_int_equal(labels_check_value("lbl", "a\0b", 3), -EINVAL);
	detail_has("'lbl'");
	detail_has("NUL");
	memset(big, 'v', sizeof(big));
	assert_int_equal(labels_check_value("a", big, LABELS_VALUE_MAX), 0);
	assert_int_equal(labels_check_value("a", big, LABELS_VALUE_MAX + 1),
	    -EINVAL);
}

/* ---- sets ---- */

static void
test_build(void **state)
{
	struct label pairs[] = {
		label_str("method", "get"), label_str("__name__", "http_total"),
		label_str("code", "200"), label_str("empty", ""),
	};
	struct label dup[] = {
		label_str("a", "1"), label_str("b", "2"), label_str("a", "3"),
	};
	struct label bad_metric[] = { label_str("__name__", "a-b") };
	struct label reserved[] = { label_str("__meta_x", "1") };
	struct labels *ls, *same, *copy;
	const struct label *l;

	(void)state;
	assert_int_equal(labels_new(pairs, NPAIRS(pairs), 0, &ls), 0);
	assert_int_equal(labels_count(ls), 3);	/* empty value dropped */
	assert_string_equal(labels_at(ls, 0)->name, "__name__");
	assert_string_equal(labels_at(ls, 1)->name, "code");
	assert_string_equal(labels_at(ls, 2)->name, "method");
	assert_null(labels_at(ls, 3));
	assert_string_equal(labels_get(ls, "code"), "200");
	assert_string_equal(labels_metric(ls), "http_total");
	assert_null(labels_get(ls, "empty"));
	assert_null(labels_get(ls, "cod"));
	assert_null(labels_get(ls, "codes"));
	l = labels_find(ls, "methodX", 6);
	assert_non_null(l);
	assert_int_equal(l->value_len, 3);

	/* order of the pairs given does not matter */
	same = set_of("code", "200", "method", "get", "__name__", "http_total",
	    NULL);
	assert_true(labels_equal(ls, same));
	assert_int_equal(labels_compare(ls, same), 0);
	assert_true(labels_hash(ls) == labels_hash(same));
	copy = labels_dup(ls);
	assert_true(labels_equal(copy, same));
	labels_free(copy);
	labels_free(same);
	labels_free(ls);

	assert_int_equal(labels_new(dup, NPAIRS(dup), 0, &ls), -EINVAL);
	assert_null(ls);
	detail_has("'a' is given twice");
	assert_int_equal(labels_new(bad_metric, 1, 0, &ls), -EINVAL);
	detail_has("metric name");
	assert_int_equal(labels_new(reserved, 1, 0, &ls), -EINVAL);
	detail_has("reserved");
	assert_int_equal(labels_new(reserved, 1, LABELS_RESERVED, &ls), 0);
	labels_free(ls);

	/* the empty set */
	assert_int_equal(labels_new(NULL, 0, 0, &ls), 0);
	assert_int_equal(labels_count(ls), 0);
	assert_null(labels_metric(ls));
	labels_free(ls);
}

static void
test_limits(void **state)
{
	struct label pairs[LABELS_COUNT_MAX + 1];
	char names[LABELS_COUNT_MAX + 1][8];
	static char big[LABELS_VALUE_MAX + 1];
	struct labels *ls;
	size_t i;

	(void)state;
	for (i = 0; i <= LABELS_COUNT_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "l%zu", i);
		pairs[i] = label_str(names[i], "v");
	}
	assert_int_equal(labels_new(pairs, LABELS_COUNT_MAX, 0, &ls), 0);
	labels_free(ls);
	assert_int_equal(labels_new(pairs, LABELS_COUNT_MAX + 1, 0, &ls),
	    -EINVAL);
	detail_has("at most");

	/* the encoding's limit: eight values of the largest size pass it */
	memset(big, 'v', LABELS_VALUE_MAX);
	for (i = 0; i < 8; i++)
		pairs[i].value = big, pairs[i].value_len = LABELS_VALUE_MAX;
	assert_int_equal(labels_new(pairs, 8, 0, &ls), -EINVAL);
	detail_has("bytes");
	assert_int_equal(labels_new(pairs, 7, 0, &ls), 0);
	labels_free(ls);
}

static void
test_order(void **state)
{
	/* each sorts before the next: by pairs, names then values, prefixes first */
	struct labels *v[] = {
		set_of(NULL),
		set_of("a", "1", NULL),
		set_of("a", "1", "b", "1", NULL),
		set_of("a", "1", "c", "1", NULL),
		set_of("a", "10", NULL),
		set_of("a", "2", NULL),
		set_of("aa", "1", NULL),
		set_of("b", "0", NULL),
	};
	size_t n = NPAIRS(v);

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++) {
			size_t la, lb;
			const void *ea = labels_encoding(v[i], &la);
			const void *eb = labels_encoding(v[k], &lb);
			int c = labels_compare(v[i], v[k]);
			int m = memcmp(ea, eb, la < lb ? la : lb);

			if (m == 0)
				m = la < lb ? -1 : la > lb;
			assert_int_equal(c < 0, i < k);
			assert_int_equal(c == 0, i == k);
			assert_int_equal(m < 0, i < k);
			assert_int_equal(labels_equal(v[i], v[k]), i == k);
		}
	for (size_t i = 0; i < n; i++)
		labels_free(v[i]);
}

/* ---- the canonical encoding ---- */

static void
decodes_not(const void *p, size_t n, const char *why)
{
	struct labels *ls = (struct labels *)1;

	assert_int_equal(labels_decode(p, n, NULL, &ls), SHALE_ECORRUPT);
	assert_null(ls);
	detail_has(why);
}

static void
test_encoding(void **state)
{
	struct labels *ls, *back;
	struct buf b;
	size_t used;
	const char want[] = "__name__\0up\0job\0a/b\"c\0\0";

	(void)state;
	ls = set_of("job", "a/b\"c", "__name__", "up", NULL);
	buf_init(&b, 0);
	assert_int_equal(labels_encode(ls, &b), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.data, want, b.len);

	assert_int_equal(labels_decode(b.data, b.len, NULL, &back), 0);
	assert_true(labels_equal(ls, back));
	labels_free(back);

	/* more key after it: the encoding ends itself */
	buf_append(&b, "\x01\x02", 2);
	assert_int_equal(labels_decode(b.data, b.len, &used, &back), 0);
	assert_int_equal(used, sizeof(want) - 1);
	assert_true(labels_equal(ls, back));
	labels_free(back);
	decodes_not(b.data, b.len, "after the end mark");

	/* every cut is refused */
	for (size_t n = 0; n < sizeof(want) - 1; n++)
		decodes_not(want, n, "label set encoding");

	/* the empty set is one byte */
	assert_int_equal(labels_decode("", 1, NULL, &back), 0);
	assert_int_equal(labels_count(back), 0);
	labels_free(back);

	buf_release(&b);
	labels_free(ls);
}

static void
test_encoding_damaged(void **state)
{
	(void)state;
	decodes_not("", 0, "end mark");
	decodes_not("b\0001\0a\0001\0\0", 9, "out of order");
	decodes_not("a\0001\0a\0002\0\0", 9, "out of order");
	decodes_not("a\0\0\0", 4, "empty value");
	decodes_not("a-b\0001\0\0", 7, "label name");
	decodes_not("9\0001\0\0", 5, "label name");
	decodes_not("a\0\xff\0\0", 5, "not UTF-8");
	decodes_not("a\0\xc3\0\0", 5, "not UTF-8");
	decodes_not("__name__\0a-b\0\0", 14, "metric name");
	decodes_not("a\0001", 3, "runs past the end");
	decodes_not("a", 1, "runs past the end");
	decodes_not("a\0001\0", 4, "end mark");
	/* a reserved name is stored as given */
	{
		struct labels *ls;

		assert_int_equal(labels_decode("__x\0001\0\0", 7, NULL, &ls), 0);
		labels_free(ls);
	}
	/* too many labels */
	{
		struct buf b;

		buf_init(&b, 0);
		for (int i = 0; i <= LABELS_COUNT_MAX; i++)
			buf_printf(&b, "l%03d%c1%c", i, 0, 0);
		buf_putc(&b, 0);
		decodes_not(b.data, b.len, "more than");
		buf_release(&b);
	}
}

/* ---- the file-name form ---- */

static void
file_round_trip(struct labels *ls, const char *want)
{
	struct labels *back;
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(labels_file_name(ls, &b), 0);
	assert_string_equal(b.data, want);
	assert_int_equal(labels_parse_file_name(labels_metric(ls), b.data, b.len,
	    0, &back), 0);
	assert_true(labels_equal(ls, back));
	labels_free(back);
	buf_release(&b);
	labels_free(ls);
}

static void
test_file_name(void **state)
{
	(void)state;
	file_round_trip(set_of(NULL), "{}");
	file_round_trip(set_of("__name__", "up", NULL), "{}");
	file_round_trip(set_of("method", "get", "code", "200", "__name__",
	    "http_total", NULL), "{code=\"200\",method=\"get\"}");
	file_round_trip(set_of("q", "say \"hi\"", NULL), "{q=\"say \\\"hi\\\"\"}");
	file_round_trip(set_of("p", "C:\\dir\\", NULL), "{p=\"C:\\\\dir\\\\\"}");
	file_round_trip(set_of("n", "two\nlines", NULL), "{n=\"two\\nlines\"}");
	file_round_trip(set_of("path", "/a/b", NULL), "{path=\"%2Fa%2Fb\"}");
	file_round_trip(set_of("pct", "100%", "x", "%2F", NULL),
	    "{pct=\"100%25\",x=\"%252F\"}");
	file_round_trip(set_of("u", "caf\xc3\xa9 \xf0\x9f\x98\x80", NULL),
	    "{u=\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}");
	file_round_trip(set_of("t", "a\tb,c}d{e=f'g", NULL),
	    "{t=\"a\tb,c}d{e=f'g\"}");
}

static void
file_refused(const char *s, const char *why)
{
	struct labels *ls = (struct labels *)1;

	if (labels_parse_file_name("m", s, strlen(s), 0, &ls) != -EINVAL)
		fail_msg("'%s' was not refused", s);
	assert_null(ls);
	detail_has(why);
}

static void
test_file_name_strict(void **state)
{
	struct labels *ls;

	(void)state;
	assert_int_equal(labels_parse_file_name("up", "{a=\"1\"}", 7, 0, &ls), 0);
	assert_string_equal(labels_metric(ls), "up");
	labels_free(ls);

	file_refused("", "column 1");
	file_refused("a=\"1\"", "starts with '{'");
	file_refused("{", "column 2: a label name");
	file_refused("{a=\"1\"", "column 7");
	file_refused("{a=\"1\"} ", "column 8: bytes after");
	file_refused("{ a=\"1\"}", "column 2");
	file_refused("{a = \"1\"}", "column 3");
	file_refused("{a='1'}", "column 3");
	file_refused("{a=\"1\",}", "column 8: a label name");
	file_refused("{a=\"1\" ,b=\"2\"}", "column 7");
	file_refused("{b=\"1\",a=\"2\"}", "column 8: labels out of order");
	file_refused("{a=\"1\",a=\"2\"}", "twice");
	file_refused("{a=\"\"}", "column 5: an empty value");
	file_refused("{a=\"/\"}", "column 5: a '/' is written %2F");
	file_refused("{a=\"%2f\"}", "column 5");
	file_refused("{a=\"%\"}", "column 5");
	file_refused("{a=\"%41\"}", "column 5");
	file_refused("{a=\"\\t\"}", "column 5: an escape");
	file_refused("{a=\"\\x41\"}", "column 5");
	file_refused("{a=\"\n\"}", "column 5: a newline");
	file_refused("{a=\"\xff\"}", "column 5: not UTF-8");
	file_refused("{a=\"\xc3\xa9\xff\"}", "column 6: not UTF-8");
	file_refused("{__name__=\"up\"}", "metric name");
	file_refused("{__x=\"1\"}", "reserved");
	file_refused("{9=\"1\"}", "column 2");
	file_refused("{a-b=\"1\"}", "column 3");
	file_refused("{}{}", "column 3");
	/* a bad metric name */
	assert_int_equal(labels_parse_file_name("a-b", "{}", 2, 0, &ls), -EINVAL);
	detail_has("metric name");
	/* reserved names with the flag */
	assert_int_equal(labels_parse_file_name(NULL, "{__x=\"1\"}", 9,
	    LABELS_RESERVED, &ls), 0);
	labels_free(ls);
}

/* ---- matchers ---- */

static struct matcher *
matcher(enum matcher_op op, const char *value)
{
	struct matcher *m;

	if (matcher_new(op, "a", 1, value, strlen(value), &m) != 0)
		fail_msg("matcher %s\"%s\": %s", matcher_op_str(op), value,
		    err_detail());
	return m;
}

/* Whether op value matches v (NULL: a missing label). */
static int
match(enum matcher_op op, const char *value, const char *v)
{
	struct matcher *m = matcher(op, value);
	int rc = matcher_matches(m, v, v ? strlen(v) : 0);

	assert_true(rc == 0 || rc == 1);
	matcher_free(m);
	return rc;
}

static void
test_matchers(void **state)
{
	(void)state;
	assert_true(match(MATCHER_EQ, "x", "x"));
	assert_false(match(MATCHER_EQ, "x", "xy"));
	assert_false(match(MATCHER_EQ, "x", NULL));
	assert_true(match(MATCHER_NE, "x", "y"));
	assert_false(match(MATCHER_NE, "x", "x"));

	/* fully anchored */
	assert_true(match(MATCHER_RE, "a.*", "abc"));
	assert_false(match(MATCHER_RE, "a.*", "xabc"));
	assert_false(match(MATCHER_RE, "b", "abc"));
	assert_true(match(MATCHER_RE, ".*b.*", "abc"));
	assert_false(match(MATCHER_RE, "a|ab", "abc"));
	assert_true(match(MATCHER_RE, "a|ab", "ab"));	/* not just leftmost-first */
	assert_true(match(MATCHER_RE, "a|b", "b"));
	assert_false(match(MATCHER_RE, "abc$", "abc\n"));	/* $ is the end */
	assert_true(match(MATCHER_RE, "a.c", "a\nc"));	/* . matches a newline */
	assert_true(match(MATCHER_RE, "(?i)ABC", "abc"));
	assert_true(match(MATCHER_RE, "5..", "503"));
	assert_true(match(MATCHER_RE, "\\d+", "42"));
	assert_false(match(MATCHER_RE, "\\d+", "\xd9\xa4"));	/* \d is ASCII */
	assert_true(match(MATCHER_RE, ".", "\xc3\xa9"));	/* UTF-8 mode */
	assert_true(match(MATCHER_RE, "[[:alpha:]]+", "abc"));
	assert_true(match(MATCHER_RE, "[]a]+", "]a"));
	assert_true(match(MATCHER_RE, "a{2,3}", "aaa"));
	assert_true(match(MATCHER_RE, "a*?", "aa"));
	assert_true(match(MATCHER_RE, "(?P<x>a)+", "aa"));
	assert_true(match(MATCHER_RE, "\\Q.*\\E", ".*"));
	assert_false(match(MATCHER_RE, "\\Q.*\\E", "ab"));
	assert_true(match(MATCHER_RE, "\\x{e9}", "\xc3\xa9"));
	assert_true(match(MATCHER_RE, "\\pL+", "\xc3\xa9t\xc3\xa9"));

	/* !~ */
	assert_true(match(MATCHER_NRE, "a.*", "ba"));
	assert_false(match(MATCHER_NRE, "a.*", "ab"));

	/* the empty string stands for a missing label */
	assert_true(match(MATCHER_EQ, "", NULL));
	assert_false(match(MATCHER_EQ, "", "x"));
	assert_true(match(MATCHER_NE, "x", NULL));
	assert_false(match(MATCHER_NE, "", NULL));
	assert_true(match(MATCHER_RE, ".*", NULL));
	assert_false(match(MATCHER_RE, ".+", NULL));
	assert_true(match(MATCHER_RE, "|a", NULL));
	assert_true(match(MATCHER_NRE, ".+", NULL));
	assert_false(match(MATCHER_NRE, ".*", NULL));
	assert_true(match(MATCHER_RE, "x|", ""));
}

static void
regex_refused(const char *re, const char *why)
{
	struct matcher *m = (struct matcher *)1;

	if (matcher_new(MATCHER_RE, "a", 1, re, strlen(re), &m) != -EINVAL)
		fail_msg("regex '%s' was not refused", re);
	assert_null(m);
	detail_has(why);
}

static void
test_regex_refused(void **state)
{
	struct matcher *m;

	(void)state;
	regex_refused("a(", "offset");
	regex_refused("[a", "regex '[a'");
	regex_refused("*a", "offset 0");
	regex_refused("(a)\\1", "backreferences");
	regex_refused("(?=a)a", "(?");
	regex_refused("(?!a)b", "(?");
	regex_refused("(?<=a)b", "(?");
	regex_refused("(?<!a)b", "(?");
	regex_refused("(?>a)", "(?");
	regex_refused("(?R)", "(?");
	regex_refused("(?x)a b", "(?");
	regex_refused("(*UTF)a", "verbs");
	regex_refused("a*+", "possessive");
	regex_refused("a{2}+", "possessive");
	regex_refused("a**", "a repeat of a repeat");
	regex_refused("a*?+", "a repeat of a repeat");
	regex_refused("\\C", "escape");
	regex_refused("a\\K", "escape");
	regex_refused("a\\Z", "escape");
	regex_refused("\\k<x>", "escape");
	regex_refused("a\xff", "not UTF-8");
	assert_int_equal(matcher_new(MATCHER_EQ, "a", 1, "x\0y", 3, &m), -EINVAL);
	assert_int_equal(matcher_new(MATCHER_EQ, "a-b", 3, "x", 1, &m), -EINVAL);
	/* what only looks like them */
	assert_int_equal(matcher_new(MATCHER_RE, "a", 1, "[\\1(?=]", 7, &m), -EINVAL);
	m = matcher(MATCHER_RE, "[(?=*+]+");
	assert_int_equal(matcher_matches(m, "(?=*+", 5), 1);
	matcher_free(m);
	m = matcher(MATCHER_RE, "\\(\\?=a\\*\\+");
	assert_int_equal(matcher_matches(m, "(?=a*+", 6), 1);
	matcher_free(m);
	m = matcher(MATCHER_RE, "\\x{41}+");
	assert_int_equal(matcher_matches(m, "AA", 2), 1);
	matcher_free(m);
	m = matcher(MATCHER_RE, "(?i:a)(?s-i)b");
	assert_int_equal(matcher_matches(m, "Ab", 2), 1);
	matcher_free(m);
	/* a value not UTF-8 is no error for =, one for a regex */
	m = matcher(MATCHER_RE, ".*");
	assert_int_equal(matcher_matches(m, "\xff", 1), -EINVAL);
	matcher_free(m);
}

static void
test_regex_limit(void **state)
{
	struct matcher *m;
	char v[64];

	(void)state;
	/* exponential for a backtracking engine: gives up, says so */
	m = matcher(MATCHER_RE, "(a|aa)+");
	memset(v, 'a', sizeof(v));
	v[sizeof(v) - 1] = '!';
	assert_int_equal(matcher_matches(m, v, sizeof(v)), -ERANGE);
	detail_has("match limit");
	matcher_free(m);
}

/* ---- selectors ---- */

static struct selector *
parse(const char *text)
{
	struct selector *s;

	if (selector_parse(text, strlen(text), &s) != 0)
		fail_msg("selector '%s': %s", text, err_detail());
	return s;
}

static void
has(const struct selector *s, size_t i, const char *name, enum matcher_op op,
    const char *value)
{
	const struct matcher *m = selector_at(s, i);

	assert_non_null(m);
	assert_string_equal(matcher_name(m), name);
	assert_int_equal(matcher_op(m), op);
	assert_string_equal(matcher_value(m, NULL), value);
}

static void
formats(const char *text, const char *want)
{
	struct selector *s = parse(text), *back;
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(selector_format(s, &b), 0);
	assert_string_equal(b.data, want);
	back = parse(b.data);
	assert_true(selector_equal(s, back));
	selector_free(back);
	selector_free(s);
	buf_release(&b);
}

static void
test_selector_parse(void **state)
{
	struct selector *s;

	(void)state;
	s = parse("http_requests_total{code=\"200\",method=~\"get|put\"}");
	assert_int_equal(selector_count(s), 3);
	has(s, 0, "__name__", MATCHER_EQ, "http_requests_total");
	has(s, 1, "code", MATCHER_EQ, "200");
	has(s, 2, "method", MATCHER_RE, "get|put");
	assert_string_equal(selector_metric(s), "http_requests_total");
	selector_free(s);

	s = parse("{__name__=~\"job:.*\"}");
	assert_int_equal(selector_count(s), 1);
	has(s, 0, "__name__", MATCHER_RE, "job:.*");
	assert_null(selector_metric(s));
	selector_free(s);

	s = parse("  up  ");
	has(s, 0, "__name__", MATCHER_EQ, "up");
	selector_free(s);

	s = parse(" up { a != 'x' ,\n\tb !~ `c\\d\"` , } ");
	assert_int_equal(selector_count(s), 3);
	has(s, 1, "a", MATCHER_NE, "x");
	has(s, 2, "b", MATCHER_NRE, "c\\d\"");
	selector_free(s);

	s = parse("{a=\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\\101\\x42\\u00e9\\U0001F600\",b=\"x\"}");
	has(s, 0, "a", MATCHER_EQ,
	    "\a\b\f\n\r\t\v\\\"AB\xc3\xa9\xf0\x9f\x98\x80");
	selector_free(s);
	s = parse("{a='it\\'s'}");
	has(s, 0, "a", MATCHER_EQ, "it's");
	selector_free(s);

	s = parse("job:rate5m{__meta_x=\"1\"}");
	has(s, 0, "__name__", MATCHER_EQ, "job:rate5m");
	has(s, 1, "__meta_x", MATCHER_EQ, "1");
	selector_free(s);

	formats("up", "up");
	formats("{__name__=\"up\"}", "up");
	formats("up{a=\"b\",c=~\"x.*\"}", "up{a=\"b\",c=~\"x.*\"}");
	formats("{a='q\"\\\\\\n'}", "{a=\"q\\\"\\\\\\n\"}");
	formats("{__name__!=\"x\",a=\"1\"}", "{__name__!=\"x\",a=\"1\"}");
	formats("{__name__=\"up\",__name__!=\"x\"}",
	    "{__name__=\"up\",__name__!=\"x\"}");
	formats("{a=\"1\",__name__=\"up\"}", "{a=\"1\",__name__=\"up\"}");
}

static void
parse_refused(const char *text, const char *why)
{
	struct selector *s = (struct selector *)1;

	if (selector_parse(text, strlen(text), &s) != -EINVAL)
		fail_msg("selector '%s' was not refused", text);
	assert_null(s);
	detail_has(why);
}

static void
test_selector_errors(void **state)
{
	(void)state;
	parse_refused("", "column 1: a metric name or '{'");
	parse_refused("  ", "column 3");
	parse_refused("9up", "column 1");
	parse_refused("up{", "column 4: '}' is expected");
	parse_refused("up{a}", "column 5: =, !=, =~ or !~");
	parse_refused("up{a=b}", "column 6: a quoted string");
	parse_refused("up{a=\"b}", "column 6: the string has no closing quote");
	parse_refused("up{a=\"b\"", "column 9");
	parse_refused("up{a=\"b\" c=\"d\"}", "column 10: ',' or '}'");
	parse_refused("up{,}", "column 4: a label name");
	parse_refused("up{a=\"b\",,}", "column 10: a label name");
	parse_refused("up{a==\"b\"}", "column 6");
	parse_refused("up{a=~\"(\"}", "column 7: regex '('");
	parse_refused("up{a=~\"(?=x)\"}", "column 7");
	parse_refused("up{a=\"\\q\"}", "column 7: unknown escape");
	parse_refused("up{a=\"\\x4\"}", "column 7: escape sequence cut short");
	parse_refused("up{a=\"\\ud800\"}", "not a valid code point");
	parse_refused("up{a=\"\\U00110000\"}", "not a valid code point");
	parse_refused("up{a=\"\\400\"}", "not a valid code point");
	parse_refused("up{a=\"\\xff\"}", "not UTF-8");
	parse_refused("up{a=\"\\x00\"}", "NUL");
	parse_refused("up{a='\\\"'}", "unknown escape");
	parse_refused("up{a=\"x\ny\"}", "a newline");
	parse_refused("up{a=\"b\"} x", "column 11: unexpected text");
	parse_refused("up[5m]", "column 3: unexpected text");
	parse_refused("up{__name__=\"x\"}", "column 1: the metric name is given twice");
	parse_refused("{}", "at least one matcher");
	parse_refused("{a=\"\"}", "at least one matcher");
	parse_refused("{a=~\".*\"}", "at least one matcher");
	parse_refused("{a!=\"x\"}", "at least one matcher");
	parse_refused("{a=~\".+\",\nb=c}", "line 2, column 3");
	parse_refused("{a=\"\xc3\xa9\xc3\xa9\" b=\"\"}", "column 9");
}

static void
test_selector_matches(void **state)
{
	struct labels *ls = set_of("__name__", "http_total", "code", "200",
	    "method", "get", NULL);
	static const struct {
		const char *sel;
		int want;
	} cases[] = {
		{ "http_total", 1 },
		{ "other", 0 },
		{ "{__name__=~\"http_.*\"}", 1 },
		{ "{__name__=~\"http\"}", 0 },
		{ "http_total{code=\"200\"}", 1 },
		{ "http_total{code=\"500\"}", 0 },
		{ "http_total{code=~\"2..\"}", 1 },
		{ "http_total{code=~\"2\"}", 0 },
		{ "http_total{code!~\"5..\"}", 1 },
		{ "http_total{code!=\"200\"}", 0 },
		{ "http_total{missing=\"\"}", 1 },
		{ "http_total{code=\"\"}", 0 },
		{ "http_total{missing!=\"x\"}", 1 },
		{ "http_total{missing=~\"x|\"}", 1 },
		{ "http_total{missing=~\"x\"}", 0 },
		{ "http_total{missing!~\".+\"}", 1 },
		{ "http_total{method=\"get\",code=~\"2.*\",x!=\"1\"}", 1 },
		{ "{code=\"200\",method=\"put\"}", 0 },
	};

	(void)state;
	for (size_t i = 0; i < NPAIRS(cases); i++) {
		struct selector *s = parse(cases[i].sel);

		if (selector_matches(s, ls) != cases[i].want)
			fail_msg("'%s' should %smatch", cases[i].sel,
			    cases[i].want ? "" : "not ");
		selector_free(s);
	}
	labels_free(ls);
}

static void
test_selector_build(void **state)
{
	struct selector *s = selector_new();
	struct labels *ls = set_of("a", "1", NULL);
	int i;

	(void)state;
	assert_int_equal(selector_add(s, MATCHER_RE, "a", 1, "[0-9]", 5), 0);
	assert_int_equal(selector_matches(s, ls), 1);
	for (i = 1; i < SELECTOR_MATCHERS_MAX; i++)
		assert_int_equal(selector_add(s, MATCHER_NE, "b", 1, "x", 1), 0);
	assert_int_equal(selector_add(s, MATCHER_NE, "b", 1, "x", 1), -EINVAL);
	assert_int_equal(selector_count(s), SELECTOR_MATCHERS_MAX);
	assert_int_equal(selector_matches(s, ls), 1);
	selector_free(s);
	labels_free(ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_encoding_damaged),
		cmocka_unit_test(test_file_name),
		cmocka_unit_test(test_file_name_strict),
		cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_regex_refused),
		cmocka_unit_test(test_regex_limit),
		cmocka_unit_test(test_selector_parse),
		cmocka_unit_test(test_selector_errors),
		cmocka_unit_test(test_selector_matches),
		cmocka_unit_test(test_selector_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
