/*
 * chunk.c - the sample chunk: the encoder and the iterator.
 *
 * The header is bytes (version, count, first timestamp, first value); the
 * rest is one bit stream (util/bits.h). Per sample after the first:
 *
 *	second sample	delta from the first, as varint bytes in the stream
 *	later samples	delta of deltas in one of the buckets of dod_buckets[]
 *	every sample	the value, one of (version 2):
 *			'0'	the same bits as the previous one
 *			'10'	a decimal step: the previous value and this
 *				one are integers over 10^scale, and the
 *				difference of the integers follows, in one of
 *				the buckets of dec_buckets[]
 *			'110'	XORed with the previous one's bits: the bits
 *				inside the previous window
 *			'1110'	the same with a new window: 5 bits leading
 *				zeros + 6 bits length (0 for 64) + the bits
 *			'1111'	4 bits of a new scale, then a decimal step
 *			(version 1: '0', then '10' and '11' for the XORs)
 *
 * The decimal step is VictoriaMetrics's idea in Gorilla's frame: most
 * values a node exports are integers (bytes, counts) or decimals with a
 * few digits (seconds to the hundredth), whose XORs spread over all the
 * mantissa while the integers' differences are small. A value is an
 * integer m over 10^scale when (double)m / 10^scale gives its bits
 * back exactly; the encoder checks that, so the decoder's division
 * gives the same bits, and it picks for each sample whichever of the
 * codes is shortest. The scale starts at 0 in every chunk.
 *
 * shale-format(5), SERIES CHUNKS, says why the buckets are these.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"

#define HEAD_MIN	2	/* version and count: an empty chunk */
#define LEAD_MAX	31	/* what 5 bits of leading zeros say */
#define WINDOW_HISTORY	CHUNK_WINDOW_HISTORY
#define WINDOW_SLACK	2	/* bits a reused window may waste */

/*
 * The buckets of a delta of deltas that is not 0 ('0'), sized for
 * millisecond timestamps with a few milliseconds of jitter, and a missed
 * scrape in the 20-bit one (shale-format(5) says why).
 */
static const struct dod_bucket {
	unsigned	 prefix;	/* the control bits */
	unsigned	 plen;		/* how many */
	unsigned	 width;		/* bits of the value, two's complement */
} dod_buckets[] = {
	{ 0x02, 2, 5 },		/* '10'    -16 .. 15 */
	{ 0x06, 3, 9 },		/* '110'   -256 .. 255 */
	{ 0x0e, 4, 14 },	/* '1110'  -8192 .. 8191 */
	{ 0x1e, 5, 20 },	/* '11110' -524288 .. 524287 */
	{ 0x1f, 5, 64 },	/* '11111' anything */
};
#define DOD_BUCKETS	(sizeof(dod_buckets) / sizeof(dod_buckets[0]))

/* The buckets of a decimal step: as many ones as the index, then 0. */
static const struct dod_bucket dec_buckets[] = {
	{ 0x00, 1, 6 },		/* '0'     -32 .. 31 */
	{ 0x02, 2, 13 },	/* '10'    -4096 .. 4095 */
	{ 0x06, 3, 20 },	/* '110'   -524288 .. 524287 */
	{ 0x0e, 4, 32 },	/* '1110'  32 bits */
	{ 0x0f, 4, 64 },	/* '1111'  anything */
};
#define DEC_BUCKETS	(sizeof(dec_buckets) / sizeof(dec_buckets[0]))
#define DEC_LIMIT	9007199254740992.0	/* 2^53: integers exact in a double */

/* Powers of ten, each exact in a double. */
static const double pow10s[CHUNK_SCALE_MAX + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15,
};

/*
 * The value with these bits as an integer over 10^scale: 1 and *m if it
 * is one (the division gives the bits back exactly), else 0. The
 * encoder and the decoder both decide with this, from the same bits.
 */
static int
decimal(uint64_t bits, unsigned scale, int64_t *m)
{
	double v = bits_double(bits), x;
	int64_t r;

	if (!isfinite(v))
		return 0;
	x = v * pow10s[scale];
	if (!(fabs(x) < DEC_LIMIT))
		return 0;
	r = llround(x);
	if (double_bits((double)r / pow10s[scale]) != bits)
		return 0;
	*m = r;
	return 1;
}

/* Whether the signed x fits in `width` bits of two's complement. */
static int
fits(int64_t x, unsigned width)
{
	int64_t lim;

	if (width >= 64)
		return 1;
	lim = (int64_t)1 << (width - 1);
	return x >= -lim && x < lim;
}

/* ---- the encoder ---- */

void
chunk_enc_init(struct chunk_enc *e)
{
	buf_init(&e->buf, CHUNK_MAX_BYTES);
	chunk_enc_reset(e);
}

void
chunk_enc_release(struct chunk_enc *e)
{
	buf_release(&e->buf);
}

/*
 * dst becomes a copy of src, with its own bytes: an encoder is a buffer
 * and a bit writer pointing into it, so a plain struct copy would share
 * the buffer.
 */
void
chunk_enc_copy(struct chunk_enc *dst, const struct chunk_enc *src)
{
	struct buf keep = dst->buf;

	buf_reset(&keep);
	if (buf_append(&keep, src->buf.data, src->buf.len) != 0)
		BUG("cannot copy a chunk");
	*dst = *src;
	dst->buf = keep;
	dst->bits.buf = &dst->buf;
}

void
chunk_enc_reset(struct chunk_enc *e)
{
	uint8_t head[HEAD_MIN] = { CHUNK_VERSION, 0 };

	buf_reset(&e->buf);
	if (buf_append(&e->buf, head, sizeof(head)) != 0)
		BUG("cannot start a chunk");
	e->count = 0;
	e->first_t = e->last_t = 0;
	e->last_delta = 0;
	e->last_v = 0;
	e->lead = e->sig = 0;
	e->hist_n = 0;
	e->scale = 0;
}

static void
put(struct chunk_enc *e, uint64_t v, unsigned n)
{
	/* CHUNK_MAX_BYTES holds the longest chunk */
	if (bits_put(&e->bits, v, n) != 0)
		BUG("chunk passes %d bytes", CHUNK_MAX_BYTES);
}

/*
 * The first sample: the rest of the header; the bit stream starts after
 * it. Its value is a scale byte, then the integer (a signed varint) when
 * the value is one over 10^scale, the smallest scale that holds it, or
 * 0xff and its 64 bits. That scale is where the chunk's decimal steps
 * start.
 */
static void
put_first(struct chunk_enc *e, int64_t t, uint64_t v)
{
	uint8_t head[2 * CODING_VARINT_MAX + 9];
	size_t n;
	int64_t m;
	unsigned sc;

	n = varint_put(head, zigzag(t));
	for (sc = 0; sc <= CHUNK_SCALE_MAX && !decimal(v, sc, &m); sc++)
		;
	if (sc <= CHUNK_SCALE_MAX) {
		head[n++] = (uint8_t)sc;
		n += varint_put(head + n, zigzag(m));
		e->scale = sc;
	} else {
		head[n++] = 0xff;
		put_le64(head + n, v);
		n += 8;
	}
	if (buf_append(&e->buf, head, n) != 0)
		BUG("cannot start a chunk");
	bits_writer_init(&e->bits, &e->buf);
}

static void
put_dod(struct chunk_enc *e, int64_t dod)
{
	const struct dod_bucket *b;

	if (dod == 0) {
		put(e, 0, 1);
		return;
	}
	for (b = dod_buckets; !fits(dod, b->width); b++)
		;
	put(e, b->prefix, b->plen);
	put(e, (uint64_t)dod, b->width);
}

static void
put_varint(struct chunk_enc *e, uint64_t x)
{
	uint8_t p[CODING_VARINT_MAX];
	size_t n = varint_put(p, x);

	for (size_t i = 0; i < n; i++)
		put(e, p[i], 8);
}

/*
 * The XOR window for x: the format lets the encoder choose any window
 * that holds the XOR's bits. Reusing the last one whenever it fits, as
 * Gorilla does, keeps a window one long carry made wide for the rest of
 * the chunk; so a new window is the smallest that holds the last
 * WINDOW_HISTORY XORs, and is also taken when the last one is
 * WINDOW_SLACK bits wider than that. Plans without changing e.
 */
struct xor_plan {
	int		 reuse;
	unsigned	 lead, trail;	/* of x */
	unsigned	 ulead, sig;	/* a new window */
	unsigned	 cost;		/* bits, control included */
};

static void
plan_xor(const struct chunk_enc *e, uint64_t x, struct xor_plan *p)
{
	unsigned n = e->hist_n + 1, slot = e->hist_n % WINDOW_HISTORY;

	p->lead = (unsigned)__builtin_clzll(x);
	p->trail = (unsigned)__builtin_ctzll(x);
	if (p->lead > LEAD_MAX)
		p->lead = LEAD_MAX;
	p->ulead = p->lead;
	{
		unsigned utrail = p->trail;

		/* the last WINDOW_HISTORY XORs, this one in its slot */
		for (unsigned i = 0; i < WINDOW_HISTORY && i < n; i++) {
			if (i == slot)
				continue;
			if (e->hist_lead[i] < p->ulead)
				p->ulead = e->hist_lead[i];
			if (e->hist_trail[i] < utrail)
				utrail = e->hist_trail[i];
		}
		p->sig = 64 - p->ulead - utrail;
	}
	p->reuse = e->sig != 0 && p->lead >= e->lead &&
	    p->trail >= 64 - e->lead - e->sig &&
	    (n < WINDOW_HISTORY || e->sig < p->sig + WINDOW_SLACK);
	p->cost = p->reuse ? 3 + e->sig : 4 + 5 + 6 + p->sig;
}

static void
put_xor(struct chunk_enc *e, uint64_t x, const struct xor_plan *p)
{
	e->hist_lead[e->hist_n % WINDOW_HISTORY] = (uint8_t)p->lead;
	e->hist_trail[e->hist_n % WINDOW_HISTORY] = (uint8_t)p->trail;
	e->hist_n++;
	if (p->reuse) {
		put(e, 0x6, 3);
		put(e, x >> (64 - e->lead - e->sig), e->sig);
		return;
	}
	put(e, 0xe, 4);
	put(e, p->ulead, 5);
	put(e, p->sig & 0x3f, 6);	/* 64 is written as 0 */
	put(e, x >> (64 - p->ulead - p->sig), p->sig);
	e->lead = p->ulead;
	e->sig = p->sig;
}

static const struct dod_bucket *
dec_bucket(int64_t d)
{
	const struct dod_bucket *b;

	for (b = dec_buckets; !fits(d, b->width); b++)
		;
	return b;
}

/* A value: the shortest of the codes that give it. */
static void
put_value(struct chunk_enc *e, uint64_t v)
{
	uint64_t x = v ^ e->last_v;
	const struct dod_bucket *b;
	struct xor_plan xp;
	int64_t mp, mc;
	unsigned dcost = ~0u, scost = ~0u, nscale = 0;
	int64_t dd = 0, sd = 0;

	if (x == 0) {
		put(e, 0, 1);
		return;
	}
	plan_xor(e, x, &xp);
	if (decimal(e->last_v, e->scale, &mp) && decimal(v, e->scale, &mc)) {
		dd = mc - mp;
		b = dec_bucket(dd);
		dcost = 2 + b->plen + b->width;
	}
	if (dcost > 16) {
		/* the smallest scale that holds both, if not the current one */
		for (unsigned sc = 0; sc <= CHUNK_SCALE_MAX; sc++) {
			if (sc == e->scale || !decimal(e->last_v, sc, &mp) ||
			    !decimal(v, sc, &mc))
				continue;
			sd = mc - mp;
			b = dec_bucket(sd);
			scost = 4 + 4 + b->plen + b->width;
			nscale = sc;
			break;
		}
	}
	if (dcost <= xp.cost && dcost <= scost) {
		b = dec_bucket(dd);
		put(e, 0x2, 2);
		put(e, b->prefix, b->plen);
		put(e, (uint64_t)dd, b->width);
	} else if (scost < xp.cost) {
		b = dec_bucket(sd);
		put(e, 0xf, 4);
		put(e, nscale, 4);
		put(e, b->prefix, b->plen);
		put(e, (uint64_t)sd, b->width);
		e->scale = nscale;
	} else
		put_xor(e, x, &xp);
}

int
chunk_enc_append(struct chunk_enc *e, int64_t t, double v)
{
	uint64_t bits = double_bits(v), delta;

	if (e->count > 0 && t <= e->last_t)
		return -EINVAL;
	if (e->count >= CHUNK_MAX_SAMPLES || (e->count > 0 &&
	    (uint64_t)t - (uint64_t)e->first_t >= (uint64_t)CHUNK_MAX_SPAN_MS))
		return -ENOSPC;
	if (e->count == 0) {
		put_first(e, t, bits);
		e->first_t = t;
	} else {
		delta = (uint64_t)t - (uint64_t)e->last_t;
		if (e->count == 1)
			put_varint(e, delta);
		else
			put_dod(e, (int64_t)(delta - e->last_delta));
		put_value(e, bits);
		e->last_delta = delta;
	}
	e->last_t = t;
	e->last_v = bits;
	e->count++;
	e->buf.data[1] = (char)e->count;
	return 0;
}

const uint8_t *
chunk_enc_bytes(const struct chunk_enc *e, size_t *lenp)
{
	*lenp = e->buf.len;
	return (const uint8_t *)e->buf.data;
}

unsigned
chunk_enc_count(const struct chunk_enc *e)
{
	return e->count;
}

int64_t
chunk_enc_first_t(const struct chunk_enc *e)
{
	return e->first_t;
}

int64_t
chunk_enc_last_t(const struct chunk_enc *e)
{
	return e->last_t;
}

/* ---- the iterator ---- */

static int
corrupt(struct chunk_iter *it, const char *what)
{
	it->err = err_set(SHALE_ECORRUPT, "damaged chunk: sample %u: %s",
	    it->done + 1, what);
	return it->err;
}

int
chunk_iter_init(struct chunk_iter *it, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t zt;
	size_t pos = HEAD_MIN;

	memset(it, 0, sizeof(*it));
	bits_reader_init(&it->bits, p, 0);
	if (len < HEAD_MIN) {
		it->err = err_set(SHALE_ECORRUPT, "damaged chunk: %zu bytes",
		    len);
		return it->err;
	}
	if (p[0] != 1 && p[0] != CHUNK_VERSION) {
		it->err = err_set(SHALE_ECORRUPT,
		    "damaged chunk: version %u", p[0]);
		return it->err;
	}
	if (p[1] > CHUNK_MAX_SAMPLES) {
		it->err = err_set(SHALE_ECORRUPT,
		    "damaged chunk: %u samples", p[1]);
		return it->err;
	}
	if (p[1] == 0) {
		if (len != HEAD_MIN)
			return corrupt(it, "bytes after an empty chunk");
		return 0;
	}
	it->count = p[1];
	it->version = p[0];
	if (varint_get(p, len, &pos, &zt) != 0)
		goto short_header;
	it->t = unzigzag(zt);
	if (it->version >= 2) {
		uint64_t zm;
		int64_t m;

		if (pos == len)
			goto short_header;
		it->scale = p[pos++];
		if (it->scale <= CHUNK_SCALE_MAX) {
			if (varint_get(p, len, &pos, &zm) != 0)
				goto short_header;
			m = unzigzag(zm);
			if (!(fabs((double)m) < DEC_LIMIT)) {
				it->err = err_set(SHALE_ECORRUPT, "damaged "
				    "chunk: a first value past 2^53");
				return it->err;
			}
			it->v = double_bits((double)m / pow10s[it->scale]);
			bits_reader_init(&it->bits, p + pos, len - pos);
			return 0;
		}
		if (it->scale != 0xff) {
			it->err = err_set(SHALE_ECORRUPT, "damaged chunk: "
			    "scale %u", it->scale);
			return it->err;
		}
		it->scale = 0;
	}
	if (len - pos < 8)
		goto short_header;
	it->v = get_le64(p + pos);
	pos += 8;
	bits_reader_init(&it->bits, p + pos, len - pos);
	return 0;
short_header:
	it->count = 0;
	it->err = err_set(SHALE_ECORRUPT, "damaged chunk: header cut short");
	return it->err;
}

unsigned
chunk_iter_count(const struct chunk_iter *it)
{
	return it->count;
}

static int
get(struct chunk_iter *it, unsigned n, uint64_t *v)
{
	if (bits_get(&it->bits, n, v) != 0)
		return corrupt(it, "cut short");
	return 0;
}

/* The delta of the second sample: varint bytes in the stream. */
static int
get_varint(struct chunk_iter *it, uint64_t *out)
{
	uint64_t r = 0, c;
	int rc;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if ((rc = get(it, 8, &c)) != 0)
			return rc;
		if (shift == 63 && c > 1)
			break;
		r |= (c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*out = r;
			return 0;
		}
	}
	return corrupt(it, "delta past 64 bits");
}

static int
get_dod(struct chunk_iter *it, uint64_t *dod)
{
	const struct dod_bucket *b;
	uint64_t bit, x;
	unsigned ones = 0;
	int rc;

	/* the control bits: as many ones as the bucket's index + 1, then 0 */
	for (;;) {
		if ((rc = get(it, 1, &bit)) != 0)
			return rc;
		if (bit == 0)
			break;
		if (++ones == DOD_BUCKETS)
			break;
	}
	if (ones == 0) {
		*dod = 0;
		return 0;
	}
	b = &dod_buckets[ones - 1];
	if ((rc = get(it, b->width, &x)) != 0)
		return rc;
	/* sign-extend */
	if (b->width < 64 && (x >> (b->width - 1)) != 0)
		x |= ~(uint64_t)0 << b->width;
	*dod = x;
	return 0;
}

/* A XOR with the window in use, or (new) a new one. */
static int
get_xor(struct chunk_iter *it, int new)
{
	uint64_t x, lead, sig;
	int rc;

	it->m_ok = 0;

	if (new) {
		if ((rc = get(it, 5, &lead)) != 0 ||
		    (rc = get(it, 6, &sig)) != 0)
			return rc;
		if (sig == 0)
			sig = 64;
		if (lead + sig > 64)
			return corrupt(it, "value window past 64 bits");
		it->lead = (unsigned)lead;
		it->sig = (unsigned)sig;
	} else if (it->sig == 0)
		return corrupt(it, "value window used before it is set");
	if ((rc = get(it, it->sig, &x)) != 0)
		return rc;
	it->v ^= x << (64 - it->lead - it->sig);
	return 0;
}

/* A decimal step at it->scale. */
static int
get_decimal(struct chunk_iter *it)
{
	const struct dod_bucket *b;
	uint64_t bit, x;
	unsigned ones = 0;
	int64_t mp, mc;
	int rc;

	if (it->m_ok && it->m_scale == it->scale)
		mp = it->m;
	else if (!decimal(it->v, it->scale, &mp))
		return corrupt(it, "a decimal step from a value that is not "
		    "one");
	while (ones < DEC_BUCKETS - 1) {
		if ((rc = get(it, 1, &bit)) != 0)
			return rc;
		if (bit == 0)
			break;
		ones++;
	}
	b = &dec_buckets[ones];
	if ((rc = get(it, b->width, &x)) != 0)
		return rc;
	if (b->width < 64 && (x >> (b->width - 1)) != 0)
		x |= ~(uint64_t)0 << b->width;
	if (__builtin_add_overflow(mp, (int64_t)x, &mc) ||
	    !(fabs((double)mc) < DEC_LIMIT))
		return corrupt(it, "a decimal step past 2^53");
	it->v = double_bits((double)mc / pow10s[it->scale]);
	it->m = mc;
	it->m_scale = it->scale;
	it->m_ok = 1;
	return 0;
}

static int
get_value(struct chunk_iter *it)
{
	uint64_t c;
	unsigned ones = 0;
	int rc;

	if (it->version == 1) {
		if ((rc = get(it, 1, &c)) != 0)
			return rc;
		if (c == 0)
			return 0;
		if ((rc = get(it, 1, &c)) != 0)
			return rc;
		return get_xor(it, c == 1);
	}
	/* '0', '10', '110', '1110', '1111': the ones before a 0, at most 4 */
	while (ones < 4) {
		if ((rc = get(it, 1, &c)) != 0)
			return rc;
		if (c == 0)
			break;
		ones++;
	}
	switch (ones) {
	case 0:
		return 0;
	case 1:
		return get_decimal(it);
	case 2:
		return get_xor(it, 0);
	case 3:
		return get_xor(it, 1);
	default:
		if ((rc = get(it, 4, &c)) != 0)
			return rc;
		it->scale = (unsigned)c;	/* 4 bits: CHUNK_SCALE_MAX at most */
		return get_decimal(it);
	}
}

/* After the last sample: at most the zero bits that pad the last byte. */
static int
check_end(struct chunk_iter *it)
{
	size_t left = bits_left(&it->bits);
	uint64_t pad;

	if (left >= 8)
		return corrupt(it, "bytes after the last sample");
	if (get(it, (unsigned)left, &pad) != 0 || pad != 0)
		return corrupt(it, "padding bits not zero");
	it->at_end = 1;
	return 0;
}

static int
advance(struct chunk_iter *it)
{
	uint64_t delta = 0, dod = 0;
	int rc;

	if (it->err != 0)
		return it->err;
	if (it->at_end)
		return 0;
	if (it->done == it->count)
		return check_end(it);
	if (it->done == 0) {
		it->done++;
		return 1;
	}
	if (it->done == 1) {
		if ((rc = get_varint(it, &delta)) != 0)
			return rc;
	} else {
		if ((rc = get_dod(it, &dod)) != 0)
			return rc;
		delta = it->delta + dod;
	}
	/* 1 <= delta <= INT64_MAX - t, in unsigned arithmetic */
	if (delta == 0 || delta > (uint64_t)INT64_MAX - (uint64_t)it->t)
		return corrupt(it, "timestamp not after the previous one");
	if ((rc = get_value(it)) != 0)
		return rc;
	it->t = (int64_t)((uint64_t)it->t + delta);
	it->delta = delta;
	it->done++;
	return 1;
}

int
chunk_iter_next(struct chunk_iter *it, int64_t *t, double *v)
{
	int rc = advance(it);

	if (rc == 1) {
		*t = it->t;
		*v = bits_double(it->v);
	}
	return rc;
}

int
chunk_iter_seek(struct chunk_iter *it, int64_t t, int64_t *tp, double *vp)
{
	int rc = 1;

	if (it->err != 0)
		return it->err;
	if (it->done == 0 || it->at_end)
		rc = advance(it);
	while (rc == 1 && it->t < t)
		rc = advance(it);
	if (rc == 1) {
		*tp = it->t;
		*vp = bits_double(it->v);
	}
	return rc;
}
