/*
 * test_bits.c - bit streams (util/bits.h): what is put is got back, in
 * any widths from 0 to 64 bits, at every alignment, near the end of the
 * bytes (where a read goes a byte at a time) and far from it (where it
 * loads eight bytes at once), and a read past the end is refused
 * without consuming anything.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "util/bits.h"
#include "util/buf.h"

#define NVALS	4000

/* A small deterministic generator: the same stream every run. */
static uint64_t
next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void
test_round_trip(void **state)
{
	static uint64_t vals[NVALS];
	static unsigned widths[NVALS];
	struct bits_writer w;
	struct bits_reader r;
	struct buf b;
	uint64_t x = 88172645463325252ULL, v;
	size_t total = 0;

	(void)state;
	buf_init(&b, 0);
	bits_writer_init(&w, &b);
	for (size_t i = 0; i < NVALS; i++) {
		widths[i] = (unsigned)(next(&x) % 65);
		vals[i] = widths[i] == 64 ? next(&x) : widths[i] == 0 ? 0 :
		    next(&x) & ((UINT64_C(1) << widths[i]) - 1);
		assert_int_equal(bits_put(&w, vals[i], widths[i]), 0);
		total += widths[i];
	}
	bits_reader_init(&r, b.data, b.len);
	for (size_t i = 0; i < NVALS; i++) {
		assert_int_equal(bits_get(&r, widths[i], &v), 0);
		assert_true(v == vals[i]);
	}
	assert_int_equal(bits_left(&r), b.len * 8 - total);
	/* what is left is the padding of the last byte: a read past it fails */
	assert_int_equal(bits_get(&r, (unsigned)bits_left(&r) + 1, &v), -1);
	assert_int_equal(bits_left(&r), b.len * 8 - total);
	buf_release(&b);
}

static void
test_every_alignment(void **state)
{
	uint8_t bytes[16];
	struct bits_reader r;
	uint64_t v, want;

	(void)state;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(0x5a ^ (i * 37));
	/* a read of n bits at bit `at`, the slow way, against bits_get */
	for (unsigned at = 0; at < 64; at++)
		for (unsigned n = 1; n <= 64 && at + n <= 128; n++) {
			want = 0;
			for (unsigned k = at; k < at + n; k++)
				want = want << 1 |
				    (uint64_t)(bytes[k / 8] >> (7 - k % 8) & 1);
			bits_reader_init(&r, bytes, sizeof(bytes));
			if (at > 0)
				assert_int_equal(bits_get(&r, at > 64 ? 64 :
				    at, &v), 0);
			assert_int_equal(bits_get(&r, n, &v), 0);
			assert_true(v == want);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_alignment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
