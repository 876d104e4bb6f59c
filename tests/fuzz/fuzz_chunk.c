/*
 * fuzz_chunk.c - libFuzzer harness for the sample chunk (model/chunk.h).
 *
 * The input is read twice. First as a chunk: the iterator must end,
 * cleanly or with SHALE_ECORRUPT, within the count its header gives and
 * at most CHUNK_MAX_SAMPLES samples, in strictly increasing time, and a
 * seek must agree with the walk. Then as a program for an encoder: each
 * step picks a timestamp (a little after the last, a scrape later, any
 * 64 bits, or before the last) and a value (the same, any 64 bits, a
 * counter's next, a special float) and appends it. The encoder's answer
 * must be the one its rules give, and each chunk, whenever it is full and
 * at the end, must decode to exactly the samples it took, bit for bit,
 * and each of its prefixes to some of them and then an error. Anything
 * else aborts.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/chunk.h"
#include "util/coding.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t specials[] = {
	CHUNK_STALE_NAN, UINT64_C(0x7ff8000000000000),
	UINT64_C(0x7ff0000000000000), UINT64_C(0xfff0000000000000),
	UINT64_C(0x8000000000000000), 0, 1, UINT64_C(0x7fffffffffffffff),
};

struct input {
	const uint8_t	*p;
	size_t		 n;
};

/* The next k bytes of the input as a number (zeros once it runs out). */
static uint64_t
take(struct input *in, size_t k)
{
	uint64_t v = 0;

	for (size_t i = 0; i < k; i++) {
		v = v << 8;
		if (in->n > 0) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

static void
decode_any(const uint8_t *data, size_t size)
{
	struct chunk_iter it;
	int64_t t, prev = 0, first = 0, st;
	double v, sv;
	unsigned n = 0;
	int rc, src;

	if ((rc = chunk_iter_init(&it, data, size)) == 0) {
		while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
			if (n > 0 && t <= prev)
				abort();
			if (n == 0)
				first = t;
			prev = t;
			if (++n > chunk_iter_count(&it))
				abort();
		}
	}
	if ((rc != 0 && rc != SHALE_ECORRUPT) || n > CHUNK_MAX_SAMPLES)
		abort();
	if (rc == 0 && n != chunk_iter_count(&it))
		abort();
	if (chunk_iter_next(&it, &t, &v) != rc)
		abort();
	/* a clean chunk: seeks find its first and last samples */
	if (rc == 0 && n > 0) {
		if (chunk_iter_init(&it, data, size) != 0 ||
		    chunk_iter_seek(&it, first, &st, &sv) != 1 || st != first ||
		    chunk_iter_seek(&it, prev, &st, &sv) != 1 || st != prev)
			abort();
		src = prev == INT64_MAX ? 0 :
		    chunk_iter_seek(&it, prev + 1, &st, &sv);
		if (src != 0)
			abort();
	}
}

struct sample {
	int64_t		 t;
	uint64_t	 v;
};

/* The chunk holds exactly s[0..n); a prefix gives some, then an error. */
static void
check_chunk(const struct chunk_enc *e, const struct sample *s, unsigned n,
    size_t cut)
{
	struct chunk_iter it;
	const uint8_t *data;
	size_t len;
	unsigned i = 0;
	int64_t t;
	double v;
	int rc;

	data = chunk_enc_bytes(e, &len);
	if (chunk_enc_count(e) != n || len > CHUNK_MAX_BYTES)
		abort();
	if (chunk_iter_init(&it, data, len) != 0)
		abort();
	while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
		if (i >= n || t != s[i].t || double_bits(v) != s[i].v)
			abort();
		i++;
	}
	if (rc != 0 || i != n)
		abort();
	cut %= len;
	i = 0;
	if ((rc = chunk_iter_init(&it, data, cut)) == 0) {
		while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
			if (i >= n || t != s[i].t || double_bits(v) != s[i].v)
				abort();
			i++;
		}
	}
	if (rc != SHALE_ECORRUPT)
		abort();
}

static void
encode(struct input *in)
{
	struct sample s[CHUNK_MAX_SAMPLES];
	struct chunk_enc e;
	int64_t t = 0, last_t = 0;
	uint64_t v = 0, op;
	unsigned n = 0;
	int rc, want;

	chunk_enc_init(&e);
	while (in->n > 0) {
		op = take(in, 1);
		switch (op & 3) {
		case 0:
			t = (int64_t)((uint64_t)last_t + take(in, 1));
			break;
		case 1:
			t = (int64_t)((uint64_t)last_t + 15000 +
			    (uint64_t)(int64_t)(int8_t)take(in, 1));
			break;
		case 2:
			t = (int64_t)take(in, 8);
			break;
		default:
			t = (int64_t)((uint64_t)last_t - take(in, 2));
			break;
		}
		switch (op >> 2 & 3) {
		case 0:
			break;
		case 1:
			v = take(in, 8);
			break;
		case 2:
			v = double_bits(bits_double(v) + (double)take(in, 1));
			break;
		default:
			v = specials[take(in, 1) % (sizeof(specials) /
			    sizeof(specials[0]))];
			break;
		}
		if (n > 0 && t <= last_t)
			want = -EINVAL;
		else if (n == CHUNK_MAX_SAMPLES || (n > 0 &&
		    (uint64_t)t - (uint64_t)s[0].t >=
		    (uint64_t)CHUNK_MAX_SPAN_MS))
			want = -ENOSPC;
		else
			want = 0;
		rc = chunk_enc_append(&e, t, bits_double(v));
		if (rc != want)
			abort();
		if (rc == -ENOSPC) {
			check_chunk(&e, s, n, (size_t)op);
			chunk_enc_reset(&e);
			n = 0;
			if (chunk_enc_append(&e, t, bits_double(v)) != 0)
				abort();
		}
		if (rc != -EINVAL) {
			s[n].t = last_t = t;
			s[n++].v = v;
		}
		if (chunk_enc_first_t(&e) != s[0].t ||
		    chunk_enc_last_t(&e) != last_t)
			abort();
	}
	check_chunk(&e, s, n, n * 7 + 1);
	chunk_enc_release(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	decode_any(data, size);
	encode(&in);
	return 0;
}
