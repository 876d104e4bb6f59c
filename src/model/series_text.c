/*
 * series_text.c - reading samples: scans by time, a series' attributes,
 * the text view read at any offset, and sample lines in and out
 * (series.h, series_int.h).
 *
 * A read of the text view at offset off, in one engine snapshot:
 *	1. the 'X' entry at or before off names the chunk holding it; an
 *	   iterator over the chunk records starts there: its lines are made
 *	   and the bytes from off copied out, then the next chunks' in
 *	   order (an iterator reads the tables ahead, a get would not);
 *	2. past the last chunk, the head samples: each 'H' record carries
 *	   its line's offset, so the first one at or after off is found by
 *	   reading the head (at most a chunk's worth of records).
 * Lines are made from the samples on every read: a chunk's lines are
 * a few kilobytes, and the kernel's page cache keeps what was read.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "model/series_int.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ---- lines ---- */

/* The decimal digits of u at p: their count. */
static size_t
put_u64(char *p, uint64_t u)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static const double pow10s[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15,
};

/*
 * A value from 10^-4 to 10^15 that is exactly an integer m of at most 15
 * digits over 10^sc (sc from 1 to 15) is written by %.15g as m's digits
 * with the point put in: write that at p, its length; 0 if v is not one.
 */
static size_t
put_decimal(char *p, double v)
{
	double a = fabs(v), x;
	uint64_t m, ip, fp;
	size_t n = 0, k;
	unsigned sc;

	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	for (sc = 1; sc < 16; sc++) {
		x = a * pow10s[sc];
		if (x >= 1e15)
			return 0;
		m = (uint64_t)llround(x);
		if ((double)m / pow10s[sc] == a)
			break;
	}
	if (sc == 16)
		return 0;
	if (v < 0)
		p[n++] = '-';
	ip = m / (uint64_t)pow10s[sc];
	fp = m % (uint64_t)pow10s[sc];
	n += put_u64(p + n, ip);
	p[n++] = '.';
	/* the fraction's leading zeros, then its digits */
	for (k = sc; k > 1 && fp < (uint64_t)pow10s[k - 1]; k--)
		p[n++] = '0';
	n += put_u64(p + n, fp);
	return n;
}

/*
 * Every line of a series is made here, by the text view's reads, so the
 * common cases skip snprintf(): the time; a value that is an integer
 * under 10^15, which %.15g writes as its digits; and a decimal with at
 * most 15 digits from 10^-4 on (put_decimal). The same bytes either way,
 * as test_series checks against snprintf.
 */
size_t
series_format_sample(int64_t t, double v, char *out)
{
	uint64_t bits = double_bits(v), ut;
	size_t n = 0;
	int len;

	if (t < 0) {
		out[n++] = '-';
		ut = (uint64_t)0 - (uint64_t)t;
	} else
		ut = (uint64_t)t;
	n += put_u64(out + n, ut / 1000);
	out[n++] = '.';
	out[n++] = (char)('0' + ut % 1000 / 100);
	out[n++] = (char)('0' + ut % 100 / 10);
	out[n++] = (char)('0' + ut % 10);
	out[n++] = ' ';
	if (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
		if (v < 0)
			out[n++] = '-';
		n += put_u64(out + n, (uint64_t)fabs(v));
	} else if ((len = (int)put_decimal(out + n, v)) > 0) {
		n += (size_t)len;
	} else if (bits == CHUNK_STALE_NAN)
		n += (size_t)snprintf(out + n, SERIES_LINE_MAX - n, "stale");
	else if (isnan(v))
		n += (size_t)snprintf(out + n, SERIES_LINE_MAX - n, "NaN");
	else if (isinf(v))
		n += (size_t)snprintf(out + n, SERIES_LINE_MAX - n, "%sInf",
		    v > 0 ? "+" : "-");
	else {
		/*
		 * The shortest of 15, 16 and 17 digits that reads back to
		 * the same double: %g drops trailing zeros, so 15 gives the
		 * shortest form of any value that has one that short.
		 */
		for (int prec = 15; prec <= 17; prec++) {
			len = snprintf(out + n, SERIES_LINE_MAX - n, "%.*g",
			    prec, v);
			if (prec == 17 || strtod(out + n, NULL) == v)
				break;
		}
		n += (size_t)len;
	}
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

size_t
series_line_len(int64_t t, uint64_t bits)
{
	char line[SERIES_LINE_MAX];

	return series_format_sample(t, bits_double(bits), line);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A value: a float, NaN, [+-]Inf, or "stale". */
static int
parse_value(const char *p, size_t n, double *v)
{
	char tmp[64], *end;

	if (n == 5 && memcmp(p, "stale", 5) == 0) {
		*v = bits_double(CHUNK_STALE_NAN);
		return 0;
	}
	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	/* strtod takes hexadecimal and "infinity"; a user's file does not */
	if (strpbrk(tmp, "xX") != NULL)
		return -EINVAL;
	*v = strtod(tmp, &end);
	if (end != tmp + n)
		return -EINVAL;
	if (isnan(*v))
		*v = NAN;	/* one NaN, not the stale marker by chance */
	return 0;
}

/* Seconds with at most three decimals, into milliseconds. */
static int
parse_seconds(const char *p, size_t n, int64_t *ms)
{
	size_t i = 0, digits = 0, dec = 0;
	int neg = 0;
	uint64_t sec = 0, frac = 0;

	if (i < n && (p[i] == '-' || p[i] == '+'))
		neg = p[i++] == '-';
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
		if (sec > (UINT64_C(1) << 52) / 10)
			return -ERANGE;
		sec = sec * 10 + (uint64_t)(p[i] - '0');
	}
	if (i < n && p[i] == '.') {
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, dec++) {
			if (dec == 3)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(p[i] - '0');
		}
	}
	if (i != n || (digits == 0 && dec == 0))
		return -EINVAL;
	for (; dec < 3; dec++)
		frac *= 10;
	*ms = (int64_t)(sec * 1000 + frac);
	if (neg)
		*ms = -*ms;
	return 0;
}

int
series_parse_line(const char *line, size_t n, int64_t now_ms,
    struct series_sample *out)
{
	size_t a = 0, b, c, d;
	int rc;

	while (n > 0 && (line[n - 1] == '\r' || is_blank(line[n - 1])))
		n--;
	while (a < n && is_blank(line[a]))
		a++;
	if (a == n)
		return err_set(-EINVAL, "column 1: an empty line: want "
		    "VALUE or SECONDS VALUE");
	for (b = a; b < n && !is_blank(line[b]); b++)
		;
	for (c = b; c < n && is_blank(line[c]); c++)
		;
	if (c == n) {
		/* one field: the value, now */
		if (parse_value(line + a, b - a, &out->v) != 0)
			return err_set(-EINVAL, "column %zu: not a value: "
			    "'%.*s'", utf8_chars(line, a) + 1, (int)(b - a),
			    line + a);
		out->t = now_ms;
		return 0;
	}
	for (d = c; d < n && !is_blank(line[d]); d++)
		;
	if (d != n)
		return err_set(-EINVAL, "column %zu: more than SECONDS VALUE "
		    "on a line", utf8_chars(line, d) + 1);
	if ((rc = parse_seconds(line + a, b - a, &out->t)) != 0)
		return err_set(-EINVAL, "column %zu: not a time in seconds "
		    "with at most three decimals: '%.*s'",
		    utf8_chars(line, a) + 1, (int)(b - a), line + a);
	if (parse_value(line + c, d - c, &out->v) != 0)
		return err_set(-EINVAL, "column %zu: not a value: '%.*s'",
		    utf8_chars(line, c) + 1, (int)(d - c), line + c);
	return 0;
}

/* ---- attributes ---- */

static struct sseries *
lookup(struct series *s, uint64_t id)
{
	struct sseries *ss;

	pthread_rwlock_rdlock(&s->dict);
	ss = dict_by_id(s, id);
	pthread_rwlock_unlock(&s->dict);
	return ss;	/* series are never freed while s is open */
}

int
series_getattr(struct series *s, uint64_t id, struct series_attr *a)
{
	struct sseries *ss = lookup(s, id);
	int rc;

	if (ss == NULL)
		return -ENOENT;
	if ((rc = series_load(s, ss)) != 0)
		return rc;
	memset(a, 0, sizeof(*a));
	pthread_mutex_lock(&s->state);
	a->id = id;
	a->size = ss->end;
	a->samples = ss->head_n;
	if (!ss->empty) {
		a->first_t = ss->first_t;
		a->last_t = ss->last_t;
		/* ns since the epoch: times past 2262 are clamped */
		a->mtime_ns = ss->last_t > INT64_MAX / 1000000 ? INT64_MAX :
		    ss->last_t < INT64_MIN / 1000000 ? INT64_MIN :
		    ss->last_t * 1000000;
	}
	pthread_mutex_unlock(&s->state);
	return 0;
}

/* ---- scans by time ---- */

/*
 * The late samples of a scan (series_options.out_of_order_window_ms),
 * read first: they are few, and are given in their place among the
 * others.
 */
struct lates {
	int64_t		*t;
	uint64_t	*v;
	size_t		 n, cap, cap2, at;
	series_sample_fn fn;
	void		*arg;
};

static int
read_lates(struct series *s, struct engine_snapshot *snap, uint64_t id,
    int64_t mint, int64_t maxt, struct lates *L)
{
	unsigned char lo[SKEY_LEN], hi[SKEY_LEN];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t kl, vl;
	int64_t t;
	int rc;

	skey_t(lo, SK_LATE, id, mint);
	skey_t(hi, SK_LATE, id, INT64_MAX);
	it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl != SKEY_LEN || vl != 8)
			continue;
		if ((t = skey_time(k + SKEY_ID_LEN)) > maxt)
			break;
		L->t = xgrow(L->t, &L->cap, L->n + 1, sizeof(*L->t));
		L->v = xgrow(L->v, &L->cap2, L->n + 1, sizeof(*L->v));
		L->t[L->n] = t;
		L->v[L->n++] = get_le64(v);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

/* Give the late samples before t (all with INT64_MAX), then the sample. */
static int
give(struct lates *L, int64_t t, double x, int last)
{
	int rc;

	for (; L->at < L->n && L->t[L->at] < t; L->at++)
		if ((rc = L->fn(L->arg, L->t[L->at],
		    bits_double(L->v[L->at]))) != 0) {
			L->at++;
			return rc;
		}
	if (L->at < L->n && L->t[L->at] == t)
		L->at++;	/* a sample in order at t is the one */
	return last ? 0 : L->fn(L->arg, t, x);
}

int
series_scan(struct series *s, uint64_t id, int64_t mint, int64_t maxt,
    series_sample_fn fn, void *arg)
{
	unsigned char lo[SKEY_LEN], hi[SKEY_LEN];
	struct engine_snapshot *snap;
	struct engine_iter *it;
	const unsigned char *k, *v;
	struct lates L = { .fn = fn, .arg = arg };
	size_t kl, vl;
	int64_t last = INT64_MIN, t;
	double x;
	int rc = 0, r;

	if (lookup(s, id) == NULL)
		return -ENOENT;
	if (mint > maxt)
		return 0;
	snap = engine_snapshot_new(s->e);
	if (atomic_load(&s->lates) &&
	    (rc = read_lates(s, snap, id, mint, maxt, &L)) != 0)
		goto out;
	skey_t(lo, SK_CHUNK, id, INT64_MIN);
	/* maxt itself is in: up to maxt + 1, or past every chunk of id */
	if (maxt < INT64_MAX)
		skey_t(hi, SK_CHUNK, id, maxt + 1);
	else
		skey_t(hi, SK_CHUNK, id, INT64_MAX);
	it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
	skey_t(lo, SK_CHUNK, id, mint);
	/* the chunk before mint may reach into it */
	engine_iter_seek_for_prev(it, lo, SKEY_LEN);
	if (!engine_iter_valid(it))
		engine_iter_seek_first(it);
	for (; rc == 0 && engine_iter_valid(it); engine_iter_next(it)) {
		struct chunk_iter ci;

		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl != SKEY_LEN || vl < CHUNK_HDR_LEN)
			continue;
		if ((int64_t)get_le64(v + 12) < mint)
			continue;
		chunk_iter_init(&ci, v + CHUNK_HDR_LEN, vl - CHUNK_HDR_LEN);
		while ((r = chunk_iter_next(&ci, &t, &x)) == 1) {
			if (t < mint)
				continue;
			if (t > maxt)
				break;
			last = t;
			if ((rc = give(&L, t, x, 0)) != 0)
				break;
		}
		if (r < 0 && rc == 0)
			rc = r;
	}
	if (rc == 0)
		rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc != 0)
		goto out;
	skey_t(lo, SK_HEAD, id, mint);
	skey_t(hi, SK_HEAD, id, INT64_MAX);
	it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
	for (engine_iter_seek_first(it); rc == 0 && engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl != SKEY_LEN || vl != HEAD_VAL_LEN)
			continue;
		t = skey_time(k + SKEY_ID_LEN);
		if (t > maxt)
			break;
		if (t <= last)
			continue;
		rc = give(&L, t, bits_double(get_le64(v)), 0);
	}
	if (rc == 0)
		rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc == 0)
		rc = give(&L, INT64_MAX, 0, 1);
out:
	engine_snapshot_free(snap);
	free(L.t);
	free(L.v);
	return rc;
}

/*
 * Does a chunk of series id hold a sample at t? 1 and its value's bits
 * in *bits, 0, or the engine's error. One seek: the chunk starting at or
 * before t.
 */
int
series_chunk_at(struct series *s, uint64_t id, int64_t t, uint64_t *bits)
{
	unsigned char lo[SKEY_LEN], hi[SKEY_LEN];
	struct engine_iter *it;
	struct chunk_iter ci;
	const unsigned char *v;
	size_t vl;
	int64_t ct;
	double cv;
	int found = 0, rc;

	skey_t(lo, SK_CHUNK, id, INT64_MIN);
	skey_t(hi, SK_CHUNK, id, INT64_MAX);
	it = engine_iter_new(s->e, NULL, lo, SKEY_LEN, hi, SKEY_LEN);
	skey_t(lo, SK_CHUNK, id, t);
	engine_iter_seek_for_prev(it, lo, SKEY_LEN);
	if (engine_iter_valid(it)) {
		v = engine_iter_value(it, &vl);
		if (vl >= CHUNK_HDR_LEN &&
		    chunk_iter_init(&ci, v + CHUNK_HDR_LEN,
		    vl - CHUNK_HDR_LEN) == 0 &&
		    chunk_iter_seek(&ci, t, &ct, &cv) == 1 && ct == t) {
			found = 1;
			*bits = double_bits(cv);
		}
	}
	if (!found && (rc = engine_iter_status(it)) != 0)
		found = rc;
	engine_iter_free(it);
	return found;
}

/*
 * Does series id hold a sample in order (a head record or in a chunk)
 * at t? For a late sample, whose time such a one takes: 1, 0, or the
 * engine's error.
 */
int
series_has_at(struct series *s, uint64_t id, int64_t t)
{
	unsigned char k[SKEY_LEN];
	struct buf have;
	uint64_t bits;
	int rc;

	buf_init(&have, 0);
	skey_t(k, SK_HEAD, id, t);
	rc = engine_get(s->e, NULL, k, SKEY_LEN, &have);
	buf_release(&have);
	if (rc == 0)
		return 1;
	if (rc != -ENOENT)
		return rc;
	return series_chunk_at(s, id, t, &bits);
}

/* ---- the text view ---- */

struct copy {
	uint64_t	 pos;		/* the offset of the next line */
	uint64_t	 off;		/* where the read wants bytes from */
	char		*buf;
	size_t		 n, got;
};

/* Copy what of one line falls in the read. 1 when the read is full. */
static int
copy_line(struct copy *c, int64_t t, double v)
{
	char line[SERIES_LINE_MAX];
	size_t len = series_format_sample(t, v, line), from, take;

	if (c->pos > c->off + c->got)
		return 1;	/* a hole: the read ends before it */
	if (c->pos + len > c->off + c->got) {
		from = (size_t)(c->off + c->got - c->pos);
		take = len - from;
		if (take > c->n - c->got)
			take = c->n - c->got;
		memcpy(c->buf + c->got, line + from, take);
		c->got += take;
	}
	c->pos += len;
	return c->got == c->n;
}

ssize_t
series_read(struct series *s, uint64_t id, uint64_t off, void *buf, size_t n)
{
	unsigned char lo[SKEY_LEN], hi[SKEY_LEN], k2[SKEY_LEN];
	struct sseries *ss = lookup(s, id);
	struct engine_snapshot *snap;
	struct engine_iter *it;
	const unsigned char *k, *v;
	struct copy c = { .off = off, .buf = buf, .n = n };
	size_t kl, vl;
	uint64_t end;
	int64_t first;
	int rc = 0, full = 0;

	if (ss == NULL)
		return -ENOENT;
	if ((rc = series_load(s, ss)) != 0)
		return rc;
	pthread_mutex_lock(&s->state);
	end = ss->end;
	pthread_mutex_unlock(&s->state);
	if (off >= end || n == 0)
		return 0;
	if (n > end - off)
		c.n = n = (size_t)(end - off);
	snap = engine_snapshot_new(s->e);

	/*
	 * 1. the chunks, from the one holding off: 'X' names it, then
	 * one iterator walks the chunk records on, in time order, which
	 * is their text's order (and reads ahead, as a scan)
	 */
	first = INT64_MIN;
	skey_off(lo, id, 0);
	skey_off(hi, id, UINT64_MAX);
	it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
	skey_off(k2, id, off);
	engine_iter_seek_for_prev(it, k2, SKEY_LEN);
	if (engine_iter_valid(it)) {
		v = engine_iter_value(it, &vl);
		if (vl == 8)
			first = (int64_t)get_le64(v);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	skey_t(lo, SK_CHUNK, id, INT64_MIN);
	skey_t(hi, SK_CHUNK, id, INT64_MAX);
	it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
	skey_t(k2, SK_CHUNK, id, first);
	engine_iter_seek(it, k2, SKEY_LEN);	/* INT64_MIN: off may have expired */
	for (; rc == 0 && !full && engine_iter_valid(it); engine_iter_next(it)) {
		struct chunk_iter ci;
		uint64_t coff;
		int64_t t;
		double x;
		int r;

		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl != SKEY_LEN || vl < CHUNK_HDR_LEN)
			continue;
		coff = get_le64(v);
		if (coff + get_le32(v + 8) <= off)
			continue;
		c.pos = coff;	/* past off: expired before it, copy_line stops */
		chunk_iter_init(&ci, v + CHUNK_HDR_LEN, vl - CHUNK_HDR_LEN);
		while (!full && (r = chunk_iter_next(&ci, &t, &x)) == 1)
			full = copy_line(&c, t, x);
		if (!full && r < 0)
			rc = r;
	}
	if (rc == 0)
		rc = engine_iter_status(it);
	engine_iter_free(it);

	/* 2. the head */
	if (rc == 0 && !full) {
		skey_t(lo, SK_HEAD, id, INT64_MIN);
		skey_t(hi, SK_HEAD, id, INT64_MAX);
		it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
		for (engine_iter_seek_first(it); !full && engine_iter_valid(it);
		    engine_iter_next(it)) {
			uint64_t hoff, bits;
			int64_t t;

			k = engine_iter_key(it, &kl);
			v = engine_iter_value(it, &vl);
			if (kl != SKEY_LEN || vl != HEAD_VAL_LEN)
				continue;
			t = skey_time(k + SKEY_ID_LEN);
			bits = get_le64(v);
			hoff = get_le64(v + 8);
			if (hoff + series_line_len(t, bits) <= c.off + c.got)
				continue;
			c.pos = hoff;	/* each record says where its line is */
			full = copy_line(&c, t, bits_double(bits));
		}
		if (rc == 0)
			rc = engine_iter_status(it);
		engine_iter_free(it);
	}
	engine_snapshot_free(snap);
	if (rc != 0)
		return rc;
	return (ssize_t)c.got;
}
