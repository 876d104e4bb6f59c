/*
 * test_coding.c - the shared codings: base64 (RFC 4648 vectors, the strict
 * and the lenient decoder, every length round trip), coding.h's fixed
 * integers, varints, doubles and hex digits (byte order, limits,
 * malformed varints, NaN payloads), and UTF-8 checks (overlong forms,
 * surrogates, past U+10FFFF, cut sequences) and counts.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "util/base64.h"
#include "util/coding.h"
#include "util/utf8.h"

/* RFC 4648, section 10. */
static const char *const vectors[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
decodes(const char *s, int flags, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(base64_decode(&b, s, strlen(s), flags), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_release(&b);
}

static void
refuses(const char *s, int flags)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(base64_decode(&b, s, strlen(s), flags), -EINVAL);
	buf_release(&b);
}

static void
test_base64_vectors(void **state)
{
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		buf_init(&b, 0);
		buf_puts(&b, "x");
		assert_int_equal(base64_append(&b, vectors[i][0],
		    strlen(vectors[i][0])), 0);
		assert_string_equal(b.data + 1, vectors[i][1]);
		assert_int_equal(b.len, 1 + BASE64_LEN(strlen(vectors[i][0])));
		buf_release(&b);
		decodes(vectors[i][1], BASE64_STRICT, vectors[i][0]);
		decodes(vectors[i][1], 0, vectors[i][0]);
	}
}

static void
test_base64_strictness(void **state)
{
	(void)state;
	/* padding may be left out only when not strict */
	decodes("Zg", 0, "f");
	decodes("Zm8", 0, "fo");
	refuses("Zg", BASE64_STRICT);
	refuses("Zm8", BASE64_STRICT);
	/* stray bits past the last byte: one spelling when strict */
	refuses("Zh==", BASE64_STRICT);
	refuses("Zm9=", BASE64_STRICT);
	decodes("Zh==", 0, "f");
	/* never: a lone char in a quad, misplaced '=', other alphabets */
	for (int flags = 0; flags <= BASE64_STRICT; flags++) {
		refuses("Z", flags);
		refuses("Zm9vY", flags);
		refuses("Z===", flags);
		refuses("=m9v", flags);
		refuses("Zm=v", flags);
		refuses("Zg=", flags);
		refuses("Zm9v\n", flags);
		refuses("Zm9-", flags);
		refuses("Zm9_", flags);
		refuses("Zm 9", flags);
	}
}

static void
test_base64_round_trip(void **state)
{
	unsigned char in[300];
	struct buf e, d;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	buf_init(&e, 0);
	buf_init(&d, 0);
	for (size_t n = 0; n <= sizeof(in); n++) {
		buf_reset(&e);
		assert_int_equal(base64_append(&e, in, n), 0);
		assert_int_equal(base64_decode(&d, e.data, e.len,
		    BASE64_STRICT), 0);
		assert_int_equal(d.len, n);
		assert_memory_equal(d.data, in, n);
		/* without its padding, for the lenient decoder */
		while (e.len > 0 && e.data[e.len - 1] == '=')
			e.len--;
		assert_int_equal(base64_decode(&d, e.data, e.len, 0), 0);
		assert_int_equal(d.len, n);
		assert_memory_equal(d.data, in, n);
	}
	/* a buf with a ceiling refuses and stays as it was */
	buf_release(&e);
	buf_init(&e, 8);
	buf_puts(&e, "ab");
	assert_int_equal(base64_append(&e, in, 6), -EFBIG);
	assert_string_equal(e.data, "ab");
	buf_release(&e);
	buf_release(&d);
}

static void
test_fixed(void **state)
{
	uint8_t p[8];

	(void)state;
	put_le16(p, 0x1234);
	assert_int_equal(p[0], 0x34);
	assert_int_equal(get_le16(p), 0x1234);
	put_le32(p, 0xdeadbeef);
	assert_int_equal(p[0], 0xef);
	assert_int_equal(p[3], 0xde);
	assert_int_equal(get_le32(p), 0xdeadbeef);
	put_le64(p, 0x0102030405060708ULL);
	assert_int_equal(p[0], 0x08);
	assert_int_equal(p[7], 0x01);
	assert_true(get_le64(p) == 0x0102030405060708ULL);
	put_be64(p, 0x0102030405060708ULL);
	assert_int_equal(p[0], 0x01);
	assert_int_equal(p[7], 0x08);
	assert_true(get_be64(p) == 0x0102030405060708ULL);
	/* big-endian bytes sort as the numbers do */
	uint8_t q[8];
	put_be64(p, 255);
	put_be64(q, 256);
	assert_true(memcmp(p, q, 8) < 0);
}

static void
test_varint(void **state)
{
	static const uint64_t values[] = {
		0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX,
		(uint64_t)1 << 63, UINT64_MAX,
	};
	uint8_t p[CODING_VARINT_MAX + 1];
	uint64_t v;
	size_t n, pos;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		n = varint_put(p, values[i]);
		assert_true(n >= 1 && n <= CODING_VARINT_MAX);
		pos = 0;
		assert_int_equal(varint_get(p, n, &pos, &v), 0);
		assert_int_equal(pos, n);
		assert_true(v == values[i]);
		/* cut short: refused, pos untouched */
		pos = 0;
		assert_int_equal(varint_get(p, n - 1, &pos, &v), -1);
		assert_int_equal(pos, 0);
	}
	assert_int_equal(varint_put(p, 300), 2);
	assert_int_equal(p[0], 0xac);
	assert_int_equal(p[1], 0x02);
	/* past 64 bits */
	memset(p, 0xff, 9);
	p[9] = 0x02;
	pos = 0;
	assert_int_equal(varint_get(p, 10, &pos, &v), -1);
	memset(p, 0x80, sizeof(p));
	pos = 0;
	assert_int_equal(varint_get(p, sizeof(p), &pos, &v), -1);
	/* zigzag: small magnitudes, small numbers */
	assert_true(zigzag(0) == 0 && zigzag(-1) == 1 && zigzag(1) == 2);
	assert_true(unzigzag(zigzag(INT64_MIN)) == INT64_MIN);
	assert_true(unzigzag(zigzag(INT64_MAX)) == INT64_MAX);
	assert_true(unzigzag(zigzag(-12345)) == -12345);
}

static void
test_doubles(void **state)
{
	static const uint64_t bits[] = {
		0x7ff0000000000002ULL,	/* Prometheus's stale marker */
		0x7ff8000000000001ULL, 0xfff0000000000000ULL,
		0x8000000000000000ULL, 0x3ff0000000000000ULL, 0,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		assert_true(double_bits(bits_double(bits[i])) == bits[i]);
	assert_true(double_bits(1.0) == 0x3ff0000000000000ULL);
	assert_true(bits_double(0x4000000000000000ULL) == 2.0);
}

static void
test_hex(void **state)
{
	(void)state;
	assert_int_equal(hex_value('0'), 0);
	assert_int_equal(hex_value('9'), 9);
	assert_int_equal(hex_value('a'), 10);
	assert_int_equal(hex_value('F'), 15);
	assert_int_equal(hex_value('g'), -1);
	assert_int_equal(hex_value('/'), -1);
	assert_int_equal(hex_value(0xe9), -1);
}

static void
test_utf8(void **state)
{
	static const struct {
		const char	*s;
		size_t		 valid;
	} cases[] = {
		{ "", 0 }, { "abc", 3 }, { "a\xc3\xa9", 3 },
		{ "\xe2\x82\xac!", 4 }, { "\xf0\x9f\x98\x80", 4 },
		{ "a\xc0\xaf", 1 },		/* overlong '/' */
		{ "\xe0\x80\xaf", 0 },	/* overlong */
		{ "\xf0\x8f\xbf\xbf", 0 },	/* overlong */
		{ "\xed\xa0\x80", 0 },		/* a surrogate */
		{ "\xf4\x90\x80\x80", 0 },	/* past U+10FFFF */
		{ "ab\xe2\x82", 2 },		/* cut short */
		{ "\x80", 0 }, { "a\xff", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(utf8_valid(cases[i].s, strlen(cases[i].s)),
		    cases[i].valid);
	assert_int_equal(utf8_chars("a\xc3\xa9\xe2\x82\xac", 6), 3);
	assert_int_equal(utf8_chars("\x80\x80", 2), 0);
	assert_int_equal(utf8_chars("\xff", 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_strictness),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
