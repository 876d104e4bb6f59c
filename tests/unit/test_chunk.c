/*
 * test_chunk.c - the sample chunk of metric series (src/model/chunk.h):
 * round trips of made-up series (scrapes with jitter, counters, gauges,
 * constants, huge jumps, negative and extreme timestamps, random bits),
 * every special float bit for bit, the refusals, a growing chunk read at
 * every step, every prefix of a chunk, seeks, damage, and the bytes a
 * sample costs on a node_exporter-like counter. Also util/bits.h.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "model/chunk.h"
#include "util/bits.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/error.h"

#define SERIES_MAX	2000

static uint64_t rng_state = 0x9e3779b97f4a7c15;

/* xorshift64*: the same numbers on every run */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static int64_t
jitter(int64_t ms)
{
	return (int64_t)(rnd() % (uint64_t)(2 * ms + 1)) - ms;
}

struct series {
	size_t		 n;
	int64_t		 t[SERIES_MAX];
	uint64_t	 v[SERIES_MAX];	/* the bits */
};

static struct series S;

/* Decode data and expect exactly samples [from, from + n) of s. */
static void
expect_chunk(const uint8_t *data, size_t len, const struct series *s,
    size_t from, size_t n)
{
	struct chunk_iter it;
	int64_t t;
	double v;

	assert_int_equal(chunk_iter_init(&it, data, len), 0);
	assert_int_equal(chunk_iter_count(&it), n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(chunk_iter_next(&it, &t, &v), 1);
		assert_true(t == s->t[from + i]);
		assert_true(double_bits(v) == s->v[from + i]);
	}
	assert_int_equal(chunk_iter_next(&it, &t, &v), 0);
	assert_int_equal(chunk_iter_next(&it, &t, &v), 0);
}

/*
 * Encode s into as many chunks as it takes, reading each back whole and,
 * when `every`, after each append; the bytes of all chunks.
 */
static size_t
round_trip(const struct series *s, int every)
{
	struct chunk_enc e;
	const uint8_t *data;
	size_t len, from = 0, bytes = 0;
	int rc;

	chunk_enc_init(&e);
	for (size_t i = 0; i < s->n; i++) {
		rc = chunk_enc_append(&e, s->t[i], bits_double(s->v[i]));
		if (rc == -ENOSPC) {
			data = chunk_enc_bytes(&e, &len);
			expect_chunk(data, len, s, from, i - from);
			bytes += len;
			from = i;
			chunk_enc_reset(&e);
			assert_int_equal(chunk_enc_count(&e), 0);
			rc = chunk_enc_append(&e, s->t[i], bits_double(s->v[i]));
		}
		assert_int_equal(rc, 0);
		assert_int_equal(chunk_enc_count(&e), i - from + 1);
		assert_true(chunk_enc_first_t(&e) == s->t[from]);
		assert_true(chunk_enc_last_t(&e) == s->t[i]);
		data = chunk_enc_bytes(&e, &len);
		assert_true(len <= CHUNK_MAX_BYTES);
		if (every)
			expect_chunk(data, len, s, from, i - from + 1);
	}
	data = chunk_enc_bytes(&e, &len);
	expect_chunk(data, len, s, from, s->n - from);
	bytes += len;
	chunk_enc_release(&e);
	return bytes;
}

static void
test_bits(void **state)
{
	struct bits_writer w;
	struct bits_reader r;
	struct buf b;
	uint64_t vals[500], got;
	unsigned widths[500];
	size_t total = 0;

	(void)state;
	buf_init(&b, 0);
	buf_putc(&b, 'x');
	bits_writer_init(&w, &b);
	for (size_t i = 0; i < 500; i++) {
		widths[i] = (unsigned)(rnd() % 65);
		vals[i] = rnd();
		assert_int_equal(bits_put(&w, vals[i], widths[i]), 0);
		total += widths[i];
		assert_int_equal(bits_written(&w), 8 + total);
		assert_int_equal(b.len, 1 + (total + 7) / 8);
	}
	assert_int_equal(b.data[0], 'x');
	bits_reader_init(&r, b.data + 1, b.len - 1);
	for (size_t i = 0; i < 500; i++) {
		assert_int_equal(bits_get(&r, widths[i], &got), 0);
		if (widths[i] < 64)
			vals[i] &= (UINT64_C(1) << widths[i]) - 1;
		assert_true(got == vals[i]);
	}
	/* only the zero padding is left, and no more than that is read */
	assert_true(bits_left(&r) < 8);
	assert_int_equal(bits_get(&r, (unsigned)bits_left(&r), &got), 0);
	assert_true(got == 0);
	assert_int_equal(bits_get(&r, 1, &got), -1);
	assert_int_equal(bits_get(&r, 0, &got), 0);
	buf_release(&b);

	/* the ceiling: refused whole, nothing written */
	buf_init(&b, 2);
	bits_writer_init(&w, &b);
	assert_int_equal(bits_put(&w, 0x5, 3), 0);
	assert_int_equal(bits_put(&w, 0xfff, 12), 0);
	assert_int_equal(bits_put(&w, 0x3, 2), -EFBIG);
	assert_int_equal(bits_written(&w), 15);
	assert_int_equal(bits_put(&w, 1, 1), 0);
	assert_int_equal((uint8_t)b.data[0], 0xbf);
	assert_int_equal((uint8_t)b.data[1], 0xff);
	buf_release(&b);
}

static void
test_scrapes(void **state)
{
	(void)state;
	/* 15 s scrapes with jitter; a gauge wandering around */
	S.n = SERIES_MAX;
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = INT64_C(1700000000000) + (int64_t)i * 15000 +
		    jitter(5);
		S.v[i] = double_bits(50.0 + (double)(rnd() % 1000) / 10.0);
	}
	round_trip(&S, 1);
	/* a counter, some scrapes missed, once reset */
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = INT64_C(1700000000000) + (int64_t)i * 15000 +
		    (i % 37 == 0 ? 30000 * (int64_t)i / 37 : 0) + jitter(3);
		S.v[i] = double_bits(i < 700 ? (double)(i * 7) :
		    (double)(i - 700) * 1.5);
	}
	/* keep them increasing after the gaps */
	for (size_t i = 1; i < S.n; i++)
		if (S.t[i] <= S.t[i - 1])
			S.t[i] = S.t[i - 1] + 1;
	round_trip(&S, 0);
	/* random gauges, every bit random */
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = (int64_t)i * 1000 + (int64_t)(rnd() % 999);
		S.v[i] = rnd();
	}
	round_trip(&S, 0);
	/* a constant value; 1 ms apart */
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = (int64_t)i;
		S.v[i] = double_bits(42.0);
	}
	round_trip(&S, 1);
}

static void
test_jumps(void **state)
{
	(void)state;
	/* huge jumps of time (up to the span) and of value */
	S.n = SERIES_MAX;
	S.t[0] = -INT64_C(5000000000000);
	S.v[0] = double_bits(1e300);
	for (size_t i = 1; i < S.n; i++) {
		switch (rnd() % 4) {
		case 0:
			S.t[i] = S.t[i - 1] + 1;
			break;
		case 1:
			S.t[i] = S.t[i - 1] + CHUNK_MAX_SPAN_MS - 1;
			break;
		case 2:
			S.t[i] = S.t[i - 1] + (int64_t)(rnd() % 100000) + 1;
			break;
		default:
			S.t[i] = S.t[i - 1] + 15000;
			break;
		}
		S.v[i] = i % 2 ? double_bits(-1e-300 * (double)i) :
		    double_bits((double)rnd());
	}
	round_trip(&S, 0);
	/* negative timestamps, crossing zero */
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = -INT64_C(15000) * 1000 + (int64_t)i * 15000 +
		    jitter(200);
		S.v[i] = double_bits((double)i);
	}
	round_trip(&S, 0);
}

static void
test_extremes(void **state)
{
	(void)state;
	/* the lowest and the highest timestamps there are */
	S.n = 300;
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = INT64_MIN + (int64_t)i * 60000;
		S.v[i] = rnd();
	}
	round_trip(&S, 1);
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = INT64_MAX - (int64_t)(S.n - 1 - i) * 60000;
		S.v[i] = rnd();
	}
	round_trip(&S, 1);
	S.n = 2;
	S.t[0] = INT64_MAX - CHUNK_MAX_SPAN_MS + 1;
	S.t[1] = INT64_MAX;
	S.v[0] = S.v[1] = 0;
	round_trip(&S, 1);
	S.t[0] = INT64_MIN;
	S.t[1] = INT64_MIN + CHUNK_MAX_SPAN_MS - 1;
	round_trip(&S, 1);
	/* one sample; none */
	S.n = 1;
	round_trip(&S, 1);
	S.n = 0;
	round_trip(&S, 1);
}

static const uint64_t specials[] = {
	CHUNK_STALE_NAN,
	UINT64_C(0x7ff8000000000000),	/* the quiet NaN */
	UINT64_C(0xfff8000000000000),	/* negative */
	UINT64_C(0x7ff0000000000001),	/* signalling, lowest payload */
	UINT64_C(0x7fffffffffffffff),	/* every payload bit */
	UINT64_C(0xffffffffffffffff),
	UINT64_C(0x7ff4000000000000),
	UINT64_C(0x7ff0000000000000),	/* +Inf */
	UINT64_C(0xfff0000000000000),	/* -Inf */
	UINT64_C(0x0000000000000000),	/* +0.0 */
	UINT64_C(0x8000000000000000),	/* -0.0 */
	UINT64_C(0x0000000000000001),	/* the smallest subnormal */
	UINT64_C(0x800fffffffffffff),
	UINT64_C(0x7fefffffffffffff),	/* DBL_MAX */
	UINT64_C(0x3ff0000000000000),	/* 1.0 */
	UINT64_C(0xbff0000000000000),	/* -1.0 */
};
#define SPECIALS	(sizeof(specials) / sizeof(specials[0]))

static void
test_special_floats(void **state)
{
	(void)state;
	/* each after each: every pair of neighbours */
	S.n = 0;
	for (size_t i = 0; i < SPECIALS; i++)
		for (size_t j = 0; j < SPECIALS; j++) {
			S.t[S.n] = (int64_t)S.n * 15000;
			S.v[S.n++] = specials[i];
			S.t[S.n] = (int64_t)S.n * 15000;
			S.v[S.n++] = specials[j];
		}
	assert_true(S.n <= SERIES_MAX);
	round_trip(&S, 0);
	/* the stale marker stays a NaN with its payload through a double */
	S.n = 3;
	S.t[0] = 1; S.v[0] = double_bits(1.0);
	S.t[1] = 2; S.v[1] = CHUNK_STALE_NAN;
	S.t[2] = 3; S.v[2] = double_bits(1.0);
	round_trip(&S, 1);
	assert_true(isnan(bits_double(CHUNK_STALE_NAN)));
}

static void
test_refusals(void **state)
{
	struct chunk_enc e;
	const uint8_t *data;
	uint8_t before[CHUNK_MAX_BYTES];
	size_t len, blen;

	(void)state;
	chunk_enc_init(&e);
	assert_int_equal(chunk_enc_append(&e, 1000, 1.0), 0);
	assert_int_equal(chunk_enc_append(&e, 2000, 2.0), 0);
	data = chunk_enc_bytes(&e, &blen);
	memcpy(before, data, blen);
	/* not after the last: refused, nothing changed */
	assert_int_equal(chunk_enc_append(&e, 2000, 3.0), -EINVAL);
	assert_int_equal(chunk_enc_append(&e, 1999, 3.0), -EINVAL);
	assert_int_equal(chunk_enc_append(&e, INT64_MIN, 3.0), -EINVAL);
	data = chunk_enc_bytes(&e, &len);
	assert_int_equal(len, blen);
	assert_memory_equal(data, before, len);
	assert_int_equal(chunk_enc_count(&e), 2);
	assert_true(chunk_enc_last_t(&e) == 2000);
	/* the span: the first sample + 2 h is the next chunk's */
	assert_int_equal(chunk_enc_append(&e, 1000 + CHUNK_MAX_SPAN_MS, 3.0),
	    -ENOSPC);
	assert_int_equal(chunk_enc_append(&e, INT64_MAX, 3.0), -ENOSPC);
	assert_int_equal(chunk_enc_append(&e, 999 + CHUNK_MAX_SPAN_MS, 3.0),
	    0);
	/* both wrong: -EINVAL first */
	assert_int_equal(chunk_enc_append(&e, 5, 3.0), -EINVAL);
	chunk_enc_reset(&e);

	/* 120 samples, then full */
	for (int i = 0; i < CHUNK_MAX_SAMPLES; i++)
		assert_int_equal(chunk_enc_append(&e, i, (double)i), 0);
	assert_int_equal(chunk_enc_append(&e, CHUNK_MAX_SAMPLES, 0.0),
	    -ENOSPC);
	assert_int_equal(chunk_enc_append(&e, 0, 0.0), -EINVAL);
	assert_int_equal(chunk_enc_count(&e), CHUNK_MAX_SAMPLES);
	/* reset: empty, 2 bytes, anything may come first */
	chunk_enc_reset(&e);
	data = chunk_enc_bytes(&e, &len);
	assert_int_equal(len, 2);
	assert_int_equal(chunk_enc_count(&e), 0);
	assert_int_equal(chunk_enc_append(&e, INT64_MIN, 0.0), 0);
	chunk_enc_release(&e);
}

/* Every prefix gives the samples it holds, then SHALE_ECORRUPT. */
static void
check_prefixes(const uint8_t *data, size_t len, const struct series *s)
{
	struct chunk_iter it;
	size_t got;
	int64_t t;
	double v;
	int rc;

	for (size_t cut = 0; cut < len; cut++) {
		got = 0;
		rc = chunk_iter_init(&it, data, cut);
		if (rc == 0) {
			while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
				assert_true(got < s->n);
				assert_true(t == s->t[got]);
				assert_true(double_bits(v) == s->v[got]);
				got++;
			}
		}
		assert_int_equal(rc, SHALE_ECORRUPT);
		assert_true(got < s->n || s->n == 0);
		assert_true(strstr(err_detail(), "damaged chunk") != NULL);
		/* and it stays failed */
		assert_int_equal(chunk_iter_next(&it, &t, &v), SHALE_ECORRUPT);
		assert_int_equal(chunk_iter_seek(&it, 0, &t, &v),
		    SHALE_ECORRUPT);
	}
}

static void
test_truncation(void **state)
{
	struct chunk_enc e;
	const uint8_t *data;
	size_t len;

	(void)state;
	for (int kind = 0; kind < 4; kind++) {
		S.n = kind == 3 ? 1 : CHUNK_MAX_SAMPLES;
		for (size_t i = 0; i < S.n; i++) {
			S.t[i] = INT64_C(1700000000000) + (int64_t)i * 15000 +
			    (kind == 0 ? jitter(4) : 0);
			S.v[i] = kind == 1 ? rnd() : kind == 2 ?
			    double_bits(7.0) : double_bits((double)(i * 3));
		}
		chunk_enc_init(&e);
		for (size_t i = 0; i < S.n; i++)
			assert_int_equal(chunk_enc_append(&e, S.t[i],
			    bits_double(S.v[i])), 0);
		data = chunk_enc_bytes(&e, &len);
		expect_chunk(data, len, &S, 0, S.n);
		check_prefixes(data, len, &S);
		chunk_enc_release(&e);
	}
}

static void
test_damage(void **state)
{
	struct chunk_enc e;
	struct chunk_iter it;
	const uint8_t *data;
	uint8_t copy[CHUNK_MAX_BYTES + 1];
	size_t len, n;
	int64_t t, prev;
	double v;
	int rc;

	(void)state;
	chunk_enc_init(&e);
	for (int i = 0; i < CHUNK_MAX_SAMPLES; i++)
		assert_int_equal(chunk_enc_append(&e, i * 15000 + jitter(9),
		    (double)(rnd() % 100)), 0);
	data = chunk_enc_bytes(&e, &len);
	memcpy(copy, data, len);
	/* every bit flipped in turn: a clean end or a clean error */
	for (size_t bit = 0; bit < len * 8; bit++) {
		copy[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		n = 0;
		prev = INT64_MIN;
		if ((rc = chunk_iter_init(&it, copy, len)) == 0) {
			while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
				assert_true(n == 0 || t > prev);
				prev = t;
				n++;
			}
		}
		assert_true(rc == 0 || rc == SHALE_ECORRUPT);
		assert_true(n <= CHUNK_MAX_SAMPLES);
		copy[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	/* a byte too many; another version; too many samples */
	copy[len] = 0;
	assert_int_equal(chunk_iter_init(&it, copy, len + 1), 0);
	while ((rc = chunk_iter_next(&it, &t, &v)) == 1)
		;
	assert_int_equal(rc, SHALE_ECORRUPT);
	copy[0] = CHUNK_VERSION + 1;
	assert_int_equal(chunk_iter_init(&it, copy, len), SHALE_ECORRUPT);
	assert_int_equal(chunk_iter_next(&it, &t, &v), SHALE_ECORRUPT);
	copy[0] = CHUNK_VERSION;
	copy[1] = CHUNK_MAX_SAMPLES + 1;
	assert_int_equal(chunk_iter_init(&it, copy, len), SHALE_ECORRUPT);
	/* an empty chunk is exactly 2 bytes */
	copy[1] = 0;
	assert_int_equal(chunk_iter_init(&it, copy, 2), 0);
	assert_int_equal(chunk_iter_next(&it, &t, &v), 0);
	assert_int_equal(chunk_iter_init(&it, copy, 3), SHALE_ECORRUPT);
	chunk_enc_release(&e);
}

static void
test_seek(void **state)
{
	struct chunk_enc e;
	struct chunk_iter it;
	const uint8_t *data;
	size_t len;
	int64_t t, expect;
	double v;

	(void)state;
	chunk_enc_init(&e);
	for (int i = 0; i < 100; i++)
		assert_int_equal(chunk_enc_append(&e, 1000 + i * 10,
		    (double)i), 0);
	data = chunk_enc_bytes(&e, &len);
	for (int64_t want = 900; want < 2100; want += 7) {
		assert_int_equal(chunk_iter_init(&it, data, len), 0);
		if (want > 1990) {
			assert_int_equal(chunk_iter_seek(&it, want, &t, &v), 0);
			assert_int_equal(chunk_iter_seek(&it, 0, &t, &v), 0);
			continue;
		}
		/* the first sample at or after want */
		expect = want <= 1000 ? 1000 : 1000 + (want - 1000 + 9) / 10 * 10;
		assert_int_equal(chunk_iter_seek(&it, want, &t, &v), 1);
		assert_true(t == expect);
		assert_true(v == (double)(t - 1000) / 10);
		/* again, or backwards: the same sample */
		assert_int_equal(chunk_iter_seek(&it, want, &t, &v), 1);
		assert_true(t == expect);
		assert_int_equal(chunk_iter_seek(&it, 0, &t, &v), 1);
		assert_true(t == expect);
		/* then on */
		if (t < 1990) {
			assert_int_equal(chunk_iter_next(&it, &t, &v), 1);
			assert_true(t == expect + 10);
		}
	}
	chunk_enc_release(&e);
}

/* A counter scraped every 15 s +- 3 ms, growing by 0 .. inc-1: bytes/sample. */
static double
counter_bytes(double start, unsigned inc)
{
	double counter = start;

	S.n = CHUNK_MAX_SAMPLES * 16;
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = INT64_C(1700000000000) + (int64_t)i * 15000 +
		    jitter(3);
		counter += (double)(rnd() % inc);
		S.v[i] = double_bits(counter);
	}
	return (double)round_trip(&S, 0) / (double)S.n;
}

/*
 * The figure that matters: a node_exporter-like counter scraped every
 * 15 s with a few ms of jitter, growing by small integers, in chunks of
 * 120 samples. Prometheus's XOR chunks get about 1.3 on real data.
 */
static void
test_bytes_per_sample(void **state)
{
	double gauge = 3.0, per;

	(void)state;
	per = counter_bytes(1234567.0, 4);
	print_message("counter +0..3, 15 s +-3 ms: %.3f bytes/sample\n", per);
	assert_true(per < 2.0);
	/* larger steps cost more: the XOR has more bits to carry */
	per = counter_bytes(123456789.0, 8);
	print_message("counter +0..7, 15 s +-3 ms: %.3f bytes/sample\n", per);
	assert_true(per < 2.3);

	/* the same times, a gauge that rarely changes: far less */
	for (size_t i = 0; i < S.n; i++) {
		if (rnd() % 10 == 0)
			gauge += 1.0;
		S.v[i] = double_bits(gauge);
	}
	per = (double)round_trip(&S, 0) / (double)S.n;
	print_message("gauge, 15 s +-3 ms: %.3f bytes/sample\n", per);
	assert_true(per < 1.5);
	/* exact 15 s scrapes and a constant: what a chunk costs at least */
	for (size_t i = 0; i < S.n; i++) {
		S.t[i] = INT64_C(1700000000000) + (int64_t)i * 15000;
		S.v[i] = double_bits(1.0);
	}
	per = (double)round_trip(&S, 0) / (double)S.n;
	print_message("constant, exact 15 s: %.3f bytes/sample\n", per);
	assert_true(per < 0.5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_scrapes),
		cmocka_unit_test(test_jumps),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_special_floats),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_seek),
		cmocka_unit_test(test_bytes_per_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
