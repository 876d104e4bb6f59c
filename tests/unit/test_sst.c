/*
 * test_sst.c - sorted tables: building them, reading them back, damage.
 *
 * The reference is a sorted array of the records that went in. Tables of
 * thousands of random records (keys with shared prefixes and bytes 0x00
 * and 0xff, the empty key, several versions per key, deletes, empty and
 * multi-block values, expiries including negative ones) are read through
 * sst_open_mem() and through a file:// store with sst_open(): gets of
 * present and absent keys at many max_seq, full scans both ways, seek and
 * seek_for_prev at, between, before and after keys followed by a few
 * steps either way. The bloom filter's false positives at 10 bits a key
 * stay under 2%. sst_info agrees between builder and reader. The builder
 * refuses records out of order, duplicates and bad fields, and is
 * unchanged by the refusal. Damage: every sampled single-byte change of a
 * table (footer, properties, filter, index, data) is refused at open with
 * SHALE_ECORRUPT or when the block is read, and what is returned before is
 * right; every truncation fails sst_open. Object store errors pass
 * through; a short GET is SHALE_ECORRUPT; opening reads a small table in
 * one GET and a large one in two. Four threads read one open table at
 * once.
 *
 * With a block cache: a table reads the same records as without, with the
 * cache cold, warm, and too small to hold it (evicting as it goes); a
 * second get of a key and a second scan make no GET and count as hits;
 * two opens of one object keep apart; closing drops the table's blocks;
 * four threads read a cached table while its blocks are evicted.
 *
 * Content filters: built only for the records under the prefix named,
 * beside a key filter that still finds every key;
 * an iterator given needles leaves out only records of the prefix that
 * lack one, keeps order both ways and under seeks, and leaves out every
 * block but the needle's when one block holds it, all of the prefix's
 * when none does, none for needles too short; a group with a delete is
 * kept; damaged filters fail only a scan with needles; a version 1 table
 * (no filters) reads as before.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/block_cache.h"
#include "engine/lsm/kv.h"
#include "engine/objstore/objstore.h"
#include "engine/lsm/sst.h"
#include "engine/lsm/sst_format.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

/* A fuzzing build ignores checksums: damage then goes unnoticed. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define SKIP_IF_NO_CRC()	skip()
#else
#define SKIP_IF_NO_CRC()	do { } while (0)
#endif

/* xorshift64*: the same tables on every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t
rnd_n(uint64_t n)
{
	return rnd() % n;
}

/* A record of the reference set. */
struct trec {
	uint8_t		*key;
	size_t		 klen;
	uint8_t		*val;
	size_t		 vlen;
	uint64_t	 seq;
	uint8_t		 kind;
	int64_t		 expire;
};

struct tset {
	struct trec	*r;
	size_t		 n;
};

static int
trec_cmp(const void *a, const void *b)
{
	const struct trec *x = a, *y = b;
	int c = kv_key_cmp(x->key, x->klen, y->key, y->klen);

	if (c != 0)
		return c;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

static int
ukey_cmp(const void *a, const void *b)
{
	const struct trec *x = a, *y = b;

	return kv_key_cmp(x->key, x->klen, y->key, y->klen);
}

static void
tset_free(struct tset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->r[i].key);
		free(s->r[i].val);
	}
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

static void
fill_value(struct trec *r, size_t vlen)
{
	size_t i;
	int pattern = (int)rnd_n(2);

	r->vlen = vlen;
	r->val = xmalloc(vlen + 1);
	for (i = 0; i < vlen; i++)
		r->val[i] = pattern ? (uint8_t)"abcdefgh"[i % 8] : (uint8_t)rnd();
}

/*
 * Random records: about nkeys distinct user keys, 1 to 4 versions each,
 * sorted. big: a few values larger than a block.
 */
static void
gen(struct tset *s, size_t nkeys, int empty_key, int big)
{
	static const char *prefixes[] = { "a", "app/", "app/user/", "app/user/0",
	    "b\x00", "zz\xff", "m" };
	struct trec *keys = xcalloc(nkeys + 1, sizeof(*keys));
	size_t nk = 0, i, j, v, nv, cap = 0;
	uint64_t seqs[4];
	const char *p;

	for (i = 0; i < nkeys; i++) {
		struct trec *k = &keys[nk++];
		size_t plen, slen = rnd_n(13);

		p = prefixes[rnd_n(sizeof(prefixes) / sizeof(prefixes[0]))];
		plen = strlen(p) + (p[0] == 'b');
		k->klen = plen + slen;
		k->key = xmalloc(k->klen + 1);
		memcpy(k->key, p, plen);
		for (j = 0; j < slen; j++)
			k->key[plen + j] = rnd_n(4) == 0 ? (uint8_t)rnd() :
			    (uint8_t)("\x00" "01xyz\xff"[rnd_n(7)]);
	}
	if (empty_key) {
		keys[nk].key = xmalloc(1);
		keys[nk++].klen = 0;
	}
	qsort(keys, nk, sizeof(*keys), ukey_cmp);

	s->r = NULL;
	s->n = 0;
	for (i = 0; i < nk; i++) {
		if (i + 1 < nk && ukey_cmp(&keys[i], &keys[i + 1]) == 0) {
			free(keys[i].key);
			continue;
		}
		nv = 1 + rnd_n(4);
		for (v = 0; v < nv; v++) {
			seqs[v] = 1 + rnd_n(1000000);
			if (rnd_n(500) == 0)
				seqs[v] = KV_SEQ_MAX;
		}
		for (v = 0; v < nv; v++) {
			struct trec *r;
			size_t d;

			for (d = 0; d < v; d++)
				if (seqs[d] == seqs[v])
					break;
			if (d < v)
				continue;
			s->r = xgrow(s->r, &cap, s->n + 1, sizeof(*s->r));
			r = &s->r[s->n++];
			memset(r, 0, sizeof(*r));
			r->key = xmalloc(keys[i].klen + 1);
			memcpy(r->key, keys[i].key, keys[i].klen);
			r->klen = keys[i].klen;
			r->seq = seqs[v];
			r->kind = rnd_n(7) == 0 ? KV_DELETE : KV_PUT;
			if (rnd_n(5) == 0)
				r->expire = (int64_t)rnd_n(2000000000000ull) + 1;
			if (rnd_n(100) == 0)
				r->expire = -(int64_t)rnd_n(1000) - 1;
			if (r->kind == KV_DELETE)
				continue;
			if (rnd_n(10) == 0)
				fill_value(r, 0);
			else if (big && rnd_n(40) == 0)
				fill_value(r, 1000 + rnd_n(6000));
			else
				fill_value(r, 1 + rnd_n(100));
		}
		free(keys[i].key);
	}
	free(keys);
	qsort(s->r, s->n, sizeof(*s->r), trec_cmp);
}

static void
to_entry(const struct trec *r, struct kv_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->key = r->key;
	e->klen = r->klen;
	e->val = r->kind == KV_PUT ? r->val : NULL;
	e->vlen = r->kind == KV_PUT ? r->vlen : 0;
	e->seq = r->seq;
	e->kind = r->kind;
	e->expire = r->expire;
}

static void
build(const struct tset *s, const struct sst_options *o, struct buf *out,
    struct sst_info *info)
{
	struct sst_builder *b = sst_builder_new(o);
	struct kv_entry e;
	uint64_t est;

	for (size_t i = 0; i < s->n; i++) {
		to_entry(&s->r[i], &e);
		assert_int_equal(sst_builder_add(b, &e), 0);
	}
	assert_int_equal(sst_builder_entries(b), s->n);
	est = sst_builder_size(b);
	assert_int_equal(sst_builder_finish(b, out, info), 0);
	assert_int_equal(info->size, out->len);
	/* the estimate is near: compression may still shrink the last blocks */
	assert_true(est >= out->len / 2 && est <= 2 * out->len + 65536);
	sst_builder_free(b);
}

static struct sst *
open_mem(const struct buf *tbl, const char *name)
{
	struct sst *t;
	int rc;

	if ((rc = sst_open_mem(tbl->data, tbl->len, name, &t)) != 0)
		fail_msg("open '%s': %d (%s)", name, rc, err_detail());
	return t;
}

static struct sst *
open_store(struct objstore *os, const char *key, uint64_t size)
{
	struct sst *t;
	int rc;

	if ((rc = sst_open(os, key, size, &t)) != 0)
		fail_msg("open '%s': %d (%s)", key, rc, err_detail());
	return t;
}

static void
check_entry(const struct kv_entry *e, const struct trec *r)
{
	assert_non_null(e);
	assert_int_equal(e->klen, r->klen);
	assert_memory_equal(e->key, r->key, r->klen);
	assert_int_equal(e->seq, r->seq);
	assert_int_equal(e->kind, r->kind);
	assert_int_equal(e->expire, r->expire);
	if (r->kind == KV_PUT) {
		assert_int_equal(e->vlen, r->vlen);
		assert_non_null(e->val);
		assert_memory_equal(e->val, r->val, r->vlen);
	} else {
		assert_null(e->val);
		assert_int_equal(e->vlen, 0);
	}
}

/* The first record at or after (key, seq). */
static size_t
lower_bound(const struct tset *s, const uint8_t *k, size_t kl, uint64_t seq)
{
	struct trec t = { .key = (uint8_t *)k, .klen = kl, .seq = seq };
	size_t lo = 0, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (trec_cmp(&s->r[mid], &t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first record whose user key is after k. */
static size_t
upper_bound_user(const struct tset *s, const uint8_t *k, size_t kl)
{
	size_t lo = 0, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (kv_key_cmp(s->r[mid].key, s->r[mid].klen, k, kl) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
check_scan(struct sst *t, const struct tset *s)
{
	struct iter *it = sst_iter_new(t);
	size_t i;

	assert_false(iter_valid(it));
	iter_seek_first(it);
	for (i = 0; i < s->n; i++) {
		assert_true(iter_valid(it));
		check_entry(iter_entry(it), &s->r[i]);
		iter_next(it);
	}
	assert_false(iter_valid(it));
	assert_int_equal(iter_status(it), 0);
	iter_seek_last(it);
	for (i = s->n; i-- > 0;) {
		assert_true(iter_valid(it));
		check_entry(iter_entry(it), &s->r[i]);
		iter_prev(it);
	}
	assert_false(iter_valid(it));
	assert_int_equal(iter_status(it), 0);
	iter_free(it);
}

/* The get of (k, max_seq) must match the reference. */
static void
check_get(struct sst *t, const struct tset *s, const uint8_t *k, size_t kl,
    uint64_t max_seq)
{
	struct kv_entry e;
	struct buf scratch;
	uint64_t ms = max_seq > KV_SEQ_MAX ? KV_SEQ_MAX : max_seq;
	size_t j = lower_bound(s, k, kl, ms);
	int rc;

	buf_init(&scratch, 0);
	rc = sst_get(t, k, kl, max_seq, &e, &scratch);
	if (j < s->n && kv_key_cmp(s->r[j].key, s->r[j].klen, k, kl) == 0) {
		if (rc != 0)
			fail_msg("get: %d (%s)", rc, err_detail());
		check_entry(&e, &s->r[j]);
	} else
		assert_int_equal(rc, -ENOENT);
	buf_release(&scratch);
}

static void
check_gets(struct sst *t, const struct tset *s, size_t every)
{
	static const uint64_t fixed[] = { 0, 1, 500000, KV_SEQ_MAX, UINT64_MAX };
	uint8_t k[64];
	const struct trec *r;
	size_t i, f;

	for (i = 0; i < s->n; i += every) {
		r = &s->r[i];
		check_get(t, s, r->key, r->klen, r->seq);
		check_get(t, s, r->key, r->klen, r->seq - 1);
		check_get(t, s, r->key, r->klen, r->seq + rnd_n(10));
		check_get(t, s, r->key, r->klen, fixed[i % 5]);
		/* absent keys near it */
		if (r->klen < sizeof(k) - 1) {
			memcpy(k, r->key, r->klen);
			k[r->klen] = (uint8_t)rnd();
			check_get(t, s, k, r->klen + 1, KV_SEQ_MAX);
		}
		if (r->klen > 0)
			check_get(t, s, r->key, r->klen - 1, KV_SEQ_MAX);
	}
	for (f = 0; f < 5; f++)
		check_get(t, s, (const uint8_t *)"", 0, fixed[f]);
	check_get(t, s, (const uint8_t *)"\xff\xff\xff", 3, KV_SEQ_MAX);
	check_get(t, s, (const uint8_t *)"0", 1, KV_SEQ_MAX);
}

/* After positioning at reference index j (s->n for none), step around. */
static void
check_at(struct iter *it, const struct tset *s, size_t j)
{
	size_t i;
	int steps, back;

	if (j >= s->n) {
		assert_false(iter_valid(it));
		assert_int_equal(iter_status(it), 0);
		return;
	}
	assert_true(iter_valid(it));
	check_entry(iter_entry(it), &s->r[j]);
	back = (int)rnd_n(2);
	steps = 1 + (int)rnd_n(20);
	for (i = j; steps-- > 0;) {
		if (back) {
			iter_prev(it);
			if (i == 0) {
				assert_false(iter_valid(it));
				break;
			}
			i--;
		} else {
			iter_next(it);
			if (++i == s->n) {
				assert_false(iter_valid(it));
				break;
			}
		}
		assert_true(iter_valid(it));
		check_entry(iter_entry(it), &s->r[i]);
	}
	assert_int_equal(iter_status(it), 0);
}

static void
check_seek_key(struct iter *it, const struct tset *s, const uint8_t *k,
    size_t kl)
{
	const uint8_t *ref = k != NULL ? k : (const uint8_t *)"";
	size_t j;

	iter_seek(it, k, kl);
	check_at(it, s, lower_bound(s, ref, kl, KV_SEQ_MAX));
	iter_seek_for_prev(it, k, kl);
	j = upper_bound_user(s, ref, kl);
	check_at(it, s, j == 0 ? s->n : j - 1);
}

static void
check_seeks(struct sst *t, const struct tset *s, size_t every)
{
	struct iter *it = sst_iter_new(t);
	uint8_t k[64];
	const struct trec *r;
	size_t i;

	for (i = 0; i < s->n; i += every) {
		r = &s->r[i];
		check_seek_key(it, s, r->key, r->klen);
		if (r->klen < sizeof(k) - 1) {
			memcpy(k, r->key, r->klen);
			k[r->klen] = (uint8_t)rnd_n(3);
			check_seek_key(it, s, k, r->klen + 1);
		}
		if (r->klen > 0 && r->klen < sizeof(k)) {
			memcpy(k, r->key, r->klen);
			check_seek_key(it, s, k, r->klen - 1);
			if (k[r->klen - 1] > 0) {
				k[r->klen - 1]--;
				check_seek_key(it, s, k, r->klen);
			}
			k[r->klen - 1] = 0xff;
			check_seek_key(it, s, k, r->klen);
		}
	}
	check_seek_key(it, s, (const uint8_t *)"", 0);
	check_seek_key(it, s, NULL, 0);
	check_seek_key(it, s, (const uint8_t *)"\xff\xff\xff\xff", 4);
	check_seek_key(it, s, (const uint8_t *)"A", 1);
	iter_free(it);
}

static void
check_info(const struct sst_info *in, const struct tset *s, uint64_t size)
{
	uint64_t mins = UINT64_MAX, maxs = 0;
	int64_t mine = 0, maxe = 0;
	int never = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct trec *r = &s->r[i];

		mins = r->seq < mins ? r->seq : mins;
		maxs = r->seq > maxs ? r->seq : maxs;
		if (r->expire == 0)
			never = 1;
		else {
			if (mine == 0 || r->expire < mine)
				mine = r->expire;
			if (maxe == 0 || r->expire > maxe)
				maxe = r->expire;
		}
	}
	assert_int_equal(in->entries, s->n);
	assert_int_equal(in->size, size);
	if (s->n == 0) {
		assert_int_equal(in->min_seq, 0);
		assert_int_equal(in->max_seq, 0);
		assert_int_equal(in->first_key.len, 0);
		assert_int_equal(in->last_key.len, 0);
		return;
	}
	assert_int_equal(in->min_seq, mins);
	assert_int_equal(in->max_seq, maxs);
	assert_int_equal(in->min_expire, mine);
	assert_int_equal(in->max_expire, never ? 0 : maxe);
	assert_int_equal(in->first_key.len, s->r[0].klen);
	assert_memory_equal(buf_str(&in->first_key), s->r[0].key, s->r[0].klen);
	assert_int_equal(in->last_key.len, s->r[s->n - 1].klen);
	assert_memory_equal(buf_str(&in->last_key), s->r[s->n - 1].key,
	    s->r[s->n - 1].klen);
}

/* Everything, on an open table. */
static void
check_table(struct sst *t, const struct tset *s, size_t every)
{
	check_info(sst_info(t), s, sst_info(t)->size);
	check_scan(t, s);
	check_gets(t, s, every);
	check_seeks(t, s, every);
}

/* Per test: a temporary directory and a file:// store in it (scratch.h). */

/* Requests of kind `op` the fixture's store has seen. */
static unsigned long
requests(const struct scratch *fx, const char *op)
{
	struct buf b;
	char pat[96];
	const char *p;
	unsigned long n = 0;

	buf_init(&b, 0);
	assert_int_equal(metrics_render(fx->m, &b), 0);
	snprintf(pat, sizeof(pat), "\nobjstore_requests_total{op=\"%s\"} ", op);
	if ((p = strstr(buf_str(&b), pat)) != NULL)
		n = strtoul(p + strlen(pat), NULL, 10);
	buf_release(&b);
	return n;
}

static void
test_roundtrip_mem(void **state)
{
	struct sst_options o = { .block_size = 1024, .zstd_level = 3,
	    .bloom_bits_per_key = 10 };
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;

	(void)state;
	gen(&s, 3000, 1, 1);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, &o, &tbl, &info);
	check_info(&info, &s, tbl.len);
	t = open_mem(&tbl, "mem.sst");
	assert_string_equal(sst_name(t), "mem.sst");
	check_info(sst_info(t), &s, tbl.len);
	check_table(t, &s, 1);
	sst_close(t);
	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

/* Other shapes: default options, tiny blocks, no filter, no empty key. */
static void
test_roundtrip_options(void **state)
{
	struct sst_options opts[] = {
		{ .block_size = 0, .zstd_level = 0, .bloom_bits_per_key = 10 },
		{ .block_size = 1, .zstd_level = 19, .bloom_bits_per_key = 3 },
		{ .block_size = 100000, .zstd_level = -5, .bloom_bits_per_key = 0 },
		{ .block_size = 300, .zstd_level = 1, .bloom_bits_per_key = 64 },
	};
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		gen(&s, 700, (int)(i % 2), (int)(i % 2));
		buf_init(&tbl, 0);
		sst_info_init(&info);
		build(&s, &opts[i], &tbl, &info);
		t = open_mem(&tbl, "x");
		check_table(t, &s, 3);
		if (opts[i].bloom_bits_per_key == 0)
			assert_int_equal(sst_may_contain(t, "nope", 4), 1);
		sst_close(t);
		sst_info_release(&info);
		buf_release(&tbl);
		tset_free(&s);
	}
	/* NULL options are the defaults, with a filter */
	gen(&s, 200, 0, 0);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, NULL, &tbl, &info);
	t = open_mem(&tbl, "x");
	check_table(t, &s, 1);
	sst_close(t);
	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

static void
test_roundtrip_store(void **state)
{
	struct scratch *fx = *state;
	struct sst_options o = { .block_size = 2048, .zstd_level = 3,
	    .bloom_bits_per_key = 10 };
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;
	unsigned long gets, heads;

	gen(&s, 2500, 1, 1);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, &o, &tbl, &info);
	assert_int_equal(objstore_put(fx->os, "compacted/1.sst", tbl.data,
	    tbl.len), 0);

	/* size unknown: a HEAD, then one GET for all the metadata */
	gets = requests(fx, "get");
	heads = requests(fx, "head");
	t = open_store(fx->os, "compacted/1.sst", 0);
	assert_int_equal(requests(fx, "head"), heads + 1);
	assert_int_equal(requests(fx, "get"), gets + 1);
	assert_string_equal(sst_name(t), "compacted/1.sst");
	check_info(sst_info(t), &s, tbl.len);
	check_table(t, &s, 2);
	sst_close(t);

	/* size known: no HEAD */
	heads = requests(fx, "head");
	t = open_store(fx->os, "compacted/1.sst", tbl.len);
	assert_int_equal(requests(fx, "head"), heads);
	check_scan(t, &s);
	sst_close(t);

	/* errors of the store pass through */
	assert_int_equal(sst_open(fx->os, "compacted/none.sst", 0, &t), -ENOENT);
	assert_null(t);
	assert_int_equal(sst_open(fx->os, "compacted/none.sst", 100, &t),
	    -ENOENT);
	/* a size larger than the object: the GET comes back short */
	assert_int_equal(sst_open(fx->os, "compacted/1.sst", tbl.len + 10, &t),
	    SHALE_ECORRUPT);

	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

/* Metadata bigger than the first read: a second GET, and still right. */
static void
test_large_meta(void **state)
{
	struct scratch *fx = *state;
	struct sst_options o = { .block_size = 256, .zstd_level = 1,
	    .bloom_bits_per_key = 40 };
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;
	unsigned long gets;

	gen(&s, 12000, 0, 0);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, &o, &tbl, &info);
	assert_int_equal(objstore_put(fx->os, "big.sst", tbl.data, tbl.len), 0);
	gets = requests(fx, "get");
	t = open_store(fx->os, "big.sst", tbl.len);
	assert_int_equal(requests(fx, "get"), gets + 2);
	check_table(t, &s, 37);
	sst_close(t);
	t = open_mem(&tbl, "big");
	check_scan(t, &s);
	sst_close(t);
	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

static void
test_bloom(void **state)
{
	struct sst_options o = { .block_size = 4096, .zstd_level = 3,
	    .bloom_bits_per_key = 10 };
	struct sst_builder *b = sst_builder_new(&o);
	struct sst_info info;
	struct buf tbl;
	struct kv_entry e;
	struct sst *t;
	char k[32];
	size_t i, fp = 0, nkeys = 20000, probes = 200000;
	double rate;

	(void)state;
	for (i = 0; i < nkeys; i++) {
		snprintf(k, sizeof(k), "key%08zu", i);
		memset(&e, 0, sizeof(e));
		e.key = (const uint8_t *)k;
		e.klen = strlen(k);
		e.seq = i + 1;
		e.kind = KV_PUT;
		e.val = (const uint8_t *)"v";
		e.vlen = 1;
		assert_int_equal(sst_builder_add(b, &e), 0);
		if (i % 3 == 0) {	/* an older version: still one key */
			e.seq = 0;
			assert_int_equal(sst_builder_add(b, &e), 0);
		}
	}
	buf_init(&tbl, 0);
	sst_info_init(&info);
	assert_int_equal(sst_builder_finish(b, &tbl, &info), 0);
	sst_builder_free(b);
	t = open_mem(&tbl, "bloom");
	for (i = 0; i < nkeys; i++) {
		snprintf(k, sizeof(k), "key%08zu", i);
		assert_int_equal(sst_may_contain(t, k, strlen(k)), 1);
	}
	for (i = 0; i < probes; i++) {
		snprintf(k, sizeof(k), "absent%08zu", i);
		fp += (size_t)sst_may_contain(t, k, strlen(k));
	}
	rate = (double)fp / (double)probes;
	print_message("bloom: %zu false positives in %zu probes (%.3f%%)\n",
	    fp, probes, rate * 100);
	assert_true(rate < 0.02);
	sst_close(t);
	sst_info_release(&info);
	buf_release(&tbl);
}

static void
add_ok(struct sst_builder *b, const char *k, uint64_t seq, int kind)
{
	struct kv_entry e;

	memset(&e, 0, sizeof(e));
	e.key = (const uint8_t *)k;
	e.klen = strlen(k);
	e.seq = seq;
	e.kind = (uint8_t)kind;
	e.val = kind == KV_PUT ? (const uint8_t *)k : NULL;
	e.vlen = kind == KV_PUT ? strlen(k) : 0;
	assert_int_equal(sst_builder_add(b, &e), 0);
}

static int
add(struct sst_builder *b, const char *k, size_t klen, uint64_t seq,
    int kind, const void *val, size_t vlen)
{
	struct kv_entry e;

	memset(&e, 0, sizeof(e));
	e.key = (const uint8_t *)k;
	e.klen = klen;
	e.seq = seq;
	e.kind = (uint8_t)kind;
	e.val = val;
	e.vlen = vlen;
	return sst_builder_add(b, &e);
}

static void
test_builder_rejects(void **state)
{
	struct sst_builder *b = sst_builder_new(NULL);
	struct sst_info info;
	struct buf tbl;
	struct sst *t;
	struct iter *it;
	char *big = xcalloc(1, KV_KEY_MAX + 2);

	(void)state;
	add_ok(b, "b", 10, KV_PUT);
	add_ok(b, "b", 5, KV_DELETE);
	/* a duplicate, a newer version after an older, keys before */
	assert_int_equal(add(b, "b", 1, 5, KV_PUT, "x", 1), -EINVAL);
	assert_int_equal(add(b, "b", 1, 6, KV_PUT, "x", 1), -EINVAL);
	assert_int_equal(add(b, "a", 1, 1, KV_PUT, "x", 1), -EINVAL);
	assert_int_equal(add(b, "", 0, 1, KV_PUT, "x", 1), -EINVAL);
	/* bad fields */
	assert_int_equal(add(b, "c", 1, KV_SEQ_MAX + 1, KV_PUT, "x", 1),
	    -EINVAL);
	assert_int_equal(add(b, "c", 1, 1, 7, "x", 1), -EINVAL);
	assert_int_equal(add(b, NULL, 1, 1, KV_PUT, "x", 1), -EINVAL);
	assert_int_equal(add(b, "c", 1, 1, KV_PUT, NULL, 1), -EINVAL);
	assert_int_equal(add(b, big, KV_KEY_MAX + 1, 1, KV_PUT, "x", 1),
	    -EINVAL);
	assert_int_equal(add(b, "c", 1, 1, KV_PUT, "x",
	    (size_t)KV_VALUE_MAX + 1), -EINVAL);
	assert_int_equal(sst_builder_entries(b), 2);
	add_ok(b, "c", 1, KV_PUT);

	/* the refusals left nothing behind */
	buf_init(&tbl, 0);
	sst_info_init(&info);
	assert_int_equal(sst_builder_finish(b, &tbl, &info), 0);
	sst_builder_free(b);
	assert_int_equal(info.entries, 3);
	t = open_mem(&tbl, "r");
	it = sst_iter_new(t);
	iter_seek_first(it);
	assert_int_equal(iter_entry(it)->seq, 10);
	iter_next(it);
	assert_int_equal(iter_entry(it)->seq, 5);
	iter_next(it);
	assert_int_equal(iter_entry(it)->klen, 1);
	assert_memory_equal(iter_entry(it)->key, "c", 1);
	iter_next(it);
	assert_false(iter_valid(it));
	iter_free(it);
	sst_close(t);
	free(big);
	buf_release(&tbl);
	sst_info_release(&info);
}

static void
test_builder_after_finish(void **state)
{
	struct sst_builder *b = sst_builder_new(NULL);
	struct sst_info info;
	struct buf tbl;
	struct sst *t;
	struct iter *it;
	const struct kv_entry *e;
	char *big = xcalloc(1, KV_KEY_MAX);

	(void)state;
	memset(big, 'q', KV_KEY_MAX);
	add_ok(b, "b", 10, KV_PUT);
	add_ok(b, "b", 5, KV_DELETE);
	assert_int_equal(add(b, "b", 1, 5, KV_PUT, "x", 1), -EINVAL);
	assert_int_equal(add(b, "c", 1, 3, KV_DELETE, "junk", 4), 0);
	assert_int_equal(add(b, big, KV_KEY_MAX, 2, KV_PUT, "", 0), 0);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	assert_int_equal(sst_builder_finish(b, &tbl, &info), 0);
	assert_int_equal(info.entries, 4);
	assert_int_equal(add(b, "z", 1, 1, KV_PUT, "x", 1), -EINVAL);
	assert_int_equal(sst_builder_finish(b, &tbl, &info), -EINVAL);
	sst_builder_free(b);

	t = open_mem(&tbl, "t");
	it = sst_iter_new(t);
	iter_seek(it, "c", 1);
	assert_true(iter_valid(it));
	e = iter_entry(it);
	assert_int_equal(e->kind, KV_DELETE);
	assert_null(e->val);
	assert_int_equal(e->vlen, 0);
	iter_next(it);
	assert_true(iter_valid(it));
	e = iter_entry(it);
	assert_int_equal(e->klen, KV_KEY_MAX);
	assert_memory_equal(e->key, big, KV_KEY_MAX);
	assert_non_null(e->val);
	assert_int_equal(e->vlen, 0);
	iter_next(it);
	assert_false(iter_valid(it));
	iter_free(it);
	sst_close(t);
	free(big);
	buf_release(&tbl);
	sst_info_release(&info);
}

/* seek_for_prev lands on the oldest version; get honours max_seq. */
static void
test_versions(void **state)
{
	struct sst_builder *b = sst_builder_new(NULL);
	struct sst_info info;
	struct buf tbl, scratch;
	struct kv_entry e;
	struct sst *t;
	struct iter *it;

	(void)state;
	add_ok(b, "k1", 9, KV_PUT);
	add_ok(b, "k1", 5, KV_DELETE);
	add_ok(b, "k1", 2, KV_PUT);
	add_ok(b, "k3", 7, KV_PUT);
	buf_init(&tbl, 0);
	buf_init(&scratch, 0);
	sst_info_init(&info);
	assert_int_equal(sst_builder_finish(b, &tbl, &info), 0);
	sst_builder_free(b);
	t = open_mem(&tbl, "v");

	it = sst_iter_new(t);
	iter_seek_for_prev(it, "k1", 2);
	assert_true(iter_valid(it));
	assert_int_equal(iter_entry(it)->seq, 2);
	iter_seek_for_prev(it, "k2", 2);
	assert_int_equal(iter_entry(it)->seq, 2);
	iter_seek_for_prev(it, "k3", 2);
	assert_int_equal(iter_entry(it)->seq, 7);
	iter_seek_for_prev(it, "k0", 2);
	assert_false(iter_valid(it));
	iter_seek(it, "k1", 2);
	assert_int_equal(iter_entry(it)->seq, 9);
	iter_seek(it, "k2", 2);
	assert_int_equal(iter_entry(it)->seq, 7);
	iter_seek(it, "k4", 2);
	assert_false(iter_valid(it));
	iter_free(it);

	assert_int_equal(sst_get(t, "k1", 2, 100, &e, &scratch), 0);
	assert_int_equal(e.seq, 9);
	assert_int_equal(sst_get(t, "k1", 2, 8, &e, &scratch), 0);
	assert_int_equal(e.seq, 5);
	assert_int_equal(e.kind, KV_DELETE);
	assert_null(e.val);
	assert_int_equal(sst_get(t, "k1", 2, 4, &e, &scratch), 0);
	assert_int_equal(e.seq, 2);
	assert_int_equal(e.vlen, 2);
	assert_memory_equal(e.val, "k1", 2);
	assert_int_equal(sst_get(t, "k1", 2, 1, &e, &scratch), -ENOENT);
	assert_int_equal(sst_get(t, "k3", 2, 6, &e, &scratch), -ENOENT);
	assert_int_equal(sst_get(t, "k2", 2, 100, &e, &scratch), -ENOENT);

	sst_close(t);
	buf_release(&tbl);
	buf_release(&scratch);
	sst_info_release(&info);
}

static void
test_empty_table(void **state)
{
	struct sst_builder *b = sst_builder_new(NULL);
	struct sst_info info;
	struct buf tbl, scratch;
	struct kv_entry e;
	struct sst *t;
	struct iter *it;
	struct tset s = { NULL, 0 };

	(void)state;
	buf_init(&tbl, 0);
	buf_init(&scratch, 0);
	sst_info_init(&info);
	assert_int_equal(sst_builder_finish(b, &tbl, &info), 0);
	sst_builder_free(b);
	check_info(&info, &s, tbl.len);
	t = open_mem(&tbl, "e");
	check_info(sst_info(t), &s, tbl.len);
	assert_int_equal(sst_get(t, "", 0, KV_SEQ_MAX, &e, &scratch), -ENOENT);
	it = sst_iter_new(t);
	iter_seek_first(it);
	assert_false(iter_valid(it));
	iter_seek_last(it);
	assert_false(iter_valid(it));
	iter_seek(it, "a", 1);
	assert_false(iter_valid(it));
	iter_seek_for_prev(it, "a", 1);
	assert_false(iter_valid(it));
	assert_int_equal(iter_status(it), 0);
	iter_free(it);
	sst_close(t);
	buf_release(&tbl);
	buf_release(&scratch);
	sst_info_release(&info);
}

/* A value of several MiB between small records. */
static void
test_big_value(void **state)
{
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;
	struct trec *r;

	(void)state;
	gen(&s, 300, 1, 0);
	r = &s.r[s.n / 2];
	free(r->val);
	r->kind = KV_PUT;
	fill_value(r, (size_t)5 << 20);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, NULL, &tbl, &info);
	t = open_mem(&tbl, "bigv");
	check_table(t, &s, 5);
	sst_close(t);
	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

/*
 * Whatever a damaged table gives must be right or an error: a scan either
 * matches the reference to the end or stops with SHALE_ECORRUPT after
 * right records; a get is right, -ENOENT when the reference agrees, or
 * SHALE_ECORRUPT.
 */
static int
check_damaged(struct sst *t, const struct tset *s)
{
	struct iter *it = sst_iter_new(t);
	struct buf scratch;
	struct kv_entry e;
	size_t i, j;
	int rc, errors = 0;

	iter_seek_first(it);
	for (i = 0; i < s->n && iter_valid(it); i++) {
		check_entry(iter_entry(it), &s->r[i]);
		iter_next(it);
	}
	if (i < s->n) {
		assert_false(iter_valid(it));
		assert_int_equal(iter_status(it), SHALE_ECORRUPT);
		errors++;
		/* stopped for good */
		iter_seek_first(it);
		assert_false(iter_valid(it));
		assert_int_equal(iter_status(it), SHALE_ECORRUPT);
	} else
		assert_int_equal(iter_status(it), 0);
	iter_free(it);

	it = sst_iter_new(t);
	iter_seek_last(it);
	for (i = s->n; i > 0 && iter_valid(it); i--) {
		check_entry(iter_entry(it), &s->r[i - 1]);
		iter_prev(it);
	}
	if (i > 0)
		assert_int_equal(iter_status(it), SHALE_ECORRUPT);
	iter_free(it);

	buf_init(&scratch, 0);
	for (i = 0; i < s->n; i += 7) {
		rc = sst_get(t, s->r[i].key, s->r[i].klen, s->r[i].seq, &e,
		    &scratch);
		j = lower_bound(s, s->r[i].key, s->r[i].klen, s->r[i].seq);
		if (rc == 0)
			check_entry(&e, &s->r[j]);
		else if (rc != SHALE_ECORRUPT)
			fail_msg("get after damage: %d (%s)", rc, err_detail());
	}
	buf_release(&scratch);
	return errors;
}

static void
test_corruption(void **state)
{
	struct sst_options o = { .block_size = 512, .zstd_level = 3,
	    .bloom_bits_per_key = 10 };
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;
	uint8_t *copy;
	size_t pos, step, n, tried = 0, at_open = 0, later = 0;
	int rc;

	(void)state;
	SKIP_IF_NO_CRC();
	gen(&s, 250, 1, 1);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, &o, &tbl, &info);
	n = tbl.len;
	t = open_mem(&tbl, "intact");
	assert_int_equal(check_damaged(t, &s), 0);
	sst_close(t);
	copy = xmalloc(n);
	/* every byte of the last 2 KiB (metadata), a sample of the rest */
	for (pos = 0; pos < n; pos += step) {
		step = pos + 2048 >= n ? 1 : 1 + rnd_n(50);
		memcpy(copy, tbl.data, n);
		copy[pos] ^= (uint8_t)(1 + rnd_n(255));
		tried++;
		rc = sst_open_mem(copy, n, "damaged", &t);
		if (rc != 0) {
			if (rc != SHALE_ECORRUPT)
				fail_msg("byte %zu: open: %d", pos, rc);
			assert_non_null(strstr(err_detail(), "'damaged'"));
			at_open++;
			continue;
		}
		if (check_damaged(t, &s) > 0)
			later++;
		else
			fail_msg("byte %zu changed and nothing noticed", pos);
		sst_close(t);
	}
	print_message("corruption: %zu single-byte changes, %zu refused at "
	    "open, %zu when read\n", tried, at_open, later);

	/* every truncation */
	for (pos = 0; pos < n; pos += pos + 4096 >= n ? 1 : 97) {
		rc = sst_open_mem(tbl.data, pos, "short", &t);
		assert_int_equal(rc, SHALE_ECORRUPT);
		assert_null(t);
	}
	free(copy);
	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

/* A damaged data block in the store: open works, reading it fails. */
static void
test_store_damage(void **state)
{
	struct scratch *fx = *state;
	struct sst_options o = { .block_size = 512, .zstd_level = 3,
	    .bloom_bits_per_key = 10 };
	struct objstore_opts oo;
	struct objstore *fos;
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;
	struct iter *it;
	char uri[400];
	size_t i;
	int rc, rc2;

	SKIP_IF_NO_CRC();
	gen(&s, 400, 0, 0);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, &o, &tbl, &info);
	tbl.data[tbl.len / 4] ^= 0x40;
	assert_int_equal(objstore_put(fx->os, "d.sst", tbl.data, tbl.len), 0);
	t = open_store(fx->os, "d.sst", 0);
	it = sst_iter_new(t);
	iter_seek_first(it);
	for (i = 0; iter_valid(it); i++) {
		check_entry(iter_entry(it), &s.r[i]);
		iter_next(it);
	}
	assert_true(i < s.n);
	assert_int_equal(iter_status(it), SHALE_ECORRUPT);
	assert_non_null(strstr(err_detail(), "'d.sst': block at offset "));
	assert_non_null(strstr(err_detail(), "checksum mismatch"));
	iter_next(it);
	iter_prev(it);
	iter_seek(it, "", 0);
	assert_false(iter_valid(it));
	assert_int_equal(iter_status(it), SHALE_ECORRUPT);
	iter_free(it);
	check_damaged(t, &s);
	sst_close(t);

	/* a truncated object */
	assert_int_equal(objstore_put(fx->os, "short.sst", tbl.data,
	    tbl.len - 1), 0);
	assert_int_equal(sst_open(fx->os, "short.sst", 0, &t), SHALE_ECORRUPT);

	/* a store that fails GETs: its error comes back unchanged */
	memset(&oo, 0, sizeof(oo));
	oo.no_fsync = 1;
	oo.max_retries = -1;
	oo.metrics = fx->m;
	snprintf(uri, sizeof(uri), "fault:rate=1,errors=eio,ops=get:file://%s",
	    fx->dir);
	assert_int_equal(objstore_open(uri, &oo, &fos), 0);
	rc = sst_open(fos, "d.sst", 0, &t);
	assert_true(rc != 0 && rc != SHALE_ECORRUPT);
	buf_reset(&tbl);
	rc2 = objstore_get(fos, "d.sst", 0, 10, &tbl);
	assert_int_equal(rc, rc2);
	objstore_close(fos);

	/* one that returns short bodies */
	snprintf(uri, sizeof(uri), "fault:short=1,ops=get:file://%s", fx->dir);
	assert_int_equal(objstore_open(uri, &oo, &fos), 0);
	assert_int_equal(sst_open(fos, "d.sst", 0, &t), SHALE_ECORRUPT);
	objstore_close(fos);

	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

/* One open table, read by several threads at once. */
struct reader {
	struct sst		*t;
	const struct tset	*s;
	int			 failures;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct iter *it = sst_iter_new(r->t);
	struct buf scratch;
	struct kv_entry e;
	size_t i;

	buf_init(&scratch, 0);
	for (int round = 0; round < 3; round++) {
		iter_seek_first(it);
		for (i = 0; i < r->s->n && iter_valid(it); i++) {
			if (iter_entry(it)->seq != r->s->r[i].seq)
				r->failures++;
			iter_next(it);
		}
		if (i != r->s->n || iter_status(it) != 0)
			r->failures++;
		for (i = round; i < r->s->n; i += 5) {
			if (sst_get(r->t, r->s->r[i].key, r->s->r[i].klen,
			    KV_SEQ_MAX, &e, &scratch) != 0 ||
			    e.seq < r->s->r[i].seq)
				r->failures++;
		}
	}
	iter_free(it);
	buf_release(&scratch);
	return NULL;
}

static void
test_threads(void **state)
{
	struct scratch *fx = *state;
	struct sst_options o = { .block_size = 1024, .zstd_level = 3,
	    .bloom_bits_per_key = 10 };
	struct reader r[4];
	pthread_t tid[4];
	struct tset s;
	struct buf tbl;
	struct sst_info info;
	struct sst *t;
	size_t i;

	gen(&s, 1500, 1, 0);
	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(&s, &o, &tbl, &info);
	assert_int_equal(objstore_put(fx->os, "shared.sst", tbl.data, tbl.len),
	    0);
	t = open_store(fx->os, "shared.sst", tbl.len);
	for (i = 0; i < 4; i++) {
		r[i].t = t;
		r[i].s = &s;
		r[i].failures = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, reader_main,
		    &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(r[i].failures, 0);
	}
	sst_close(t);
	sst_info_release(&info);
	buf_release(&tbl);
	tset_free(&s);
}

static struct sst *
open_cached(struct objstore *os, const char *key, uint64_t size,
    struct block_cache *c)
{
	struct sst *t;
	int rc;

	if ((rc = sst_open_cached(os, key, size, c, &t)) != 0)
		fail_msg("open '%s': %d (%s)", key, rc, err_detail());
	return t;
}

/* Build a table of s and store it at key; its size. */
static uint64_t
store_table(struct scratch *fx, const struct tset *s, size_t block_size,
    const char *key)
{
	struct sst_options o = { .block_size = block_size, .zstd_level = 3,
	    .bloom_bits_per_key = 10 };
	struct sst_info info;
	struct buf tbl;
	uint64_t size;

	buf_init(&tbl, 0);
	sst_info_init(&info);
	build(s, &o, &tbl, &info);
	assert_int_equal(objstore_put(fx->os, key, tbl.data, tbl.len), 0);
	size = tbl.len;
	sst_info_release(&info);
	buf_release(&tbl);
	return size;
}

/* A get of r's key that must find it. */
static void
get_found(struct sst *t, const struct trec *r)
{
	struct kv_entry e;
	struct buf scratch;

	buf_init(&scratch, 0);
	assert_int_equal(sst_get(t, r->key, r->klen, KV_SEQ_MAX, &e,
	    &scratch), 0);
	assert_int_equal(e.klen, r->klen);
	assert_memory_equal(e.key, r->key, r->klen);
	buf_release(&scratch);
}

static void
test_cache_reads(void **state)
{
	struct scratch *fx = *state;
	struct block_cache *c = block_cache_new(16 << 20);
	struct block_cache_stats st, st2;
	struct tset s;
	struct sst *t, *t2;
	const struct trec *r;
	unsigned long gets;
	uint64_t size;

	gen(&s, 2500, 1, 1);
	size = store_table(fx, &s, 1024, "c.sst");
	t = open_cached(fx->os, "c.sst", size, c);
	assert_true(sst_blocks(t) > 50);

	/* a scan that does not fill (a compaction's) leaves a cache empty */
	{
		struct block_cache *c2 = block_cache_new(16 << 20);
		struct sst *t3 = open_cached(fx->os, "c.sst", size, c2);
		struct iter *it = sst_iter_new_fill(t3, 0);
		size_t n = 0;

		for (iter_seek_first(it); iter_valid(it); iter_next(it))
			n++;
		assert_int_equal(iter_status(it), 0);
		assert_int_equal(n, s.n);
		iter_free(it);
		block_cache_stats(c2, &st);
		assert_int_equal(st.blocks, 0);
		assert_int_equal(st.bytes, 0);
		sst_close(t3);
		block_cache_free(c2);
	}

	/* a get: one GET, a miss; again: no GET, a hit */
	r = &s.r[s.n / 2];
	gets = requests(fx, "get");
	get_found(t, r);
	assert_int_equal(requests(fx, "get"), gets + 1);
	block_cache_stats(c, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.blocks, 1);
	get_found(t, r);
	assert_int_equal(requests(fx, "get"), gets + 1);
	block_cache_stats(c, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 1);

	/* a scan both ways: GETs (read ahead), then every block cached */
	check_scan(t, &s);
	assert_true(requests(fx, "get") > gets + 1);
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, sst_blocks(t));
	/* again: no GET, only hits */
	gets = requests(fx, "get");
	check_scan(t, &s);
	assert_int_equal(requests(fx, "get"), gets);
	block_cache_stats(c, &st2);
	assert_int_equal(st2.misses, st.misses);
	/* each block entered forward, then back (the last one is kept) */
	assert_int_equal(st2.hits, st.hits + 2 * sst_blocks(t) - 1);
	/* gets and seeks of everything, from the cache alone */
	check_table(t, &s, 2);
	assert_int_equal(requests(fx, "get"), gets);

	/* another open of the object has blocks of its own */
	t2 = open_cached(fx->os, "c.sst", size, c);
	gets = requests(fx, "get");
	get_found(t2, r);
	assert_int_equal(requests(fx, "get"), gets + 1);
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, sst_blocks(t) + 1);
	/* closing drops a table's blocks, not the other's */
	sst_close(t);
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, 1);
	get_found(t2, r);
	assert_int_equal(requests(fx, "get"), gets + 1);
	sst_close(t2);
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.bytes, 0);
	block_cache_free(c);

	/* a cache much smaller than the table: still the same records */
	c = block_cache_new(64 << 10);
	t = open_cached(fx->os, "c.sst", size, c);
	check_table(t, &s, 1);
	check_table(t, &s, 3);
	block_cache_stats(c, &st);
	assert_true(st.hits > 0 && st.evictions > 0);
	assert_true(st.bytes <= 64 << 10);
	sst_close(t);
	block_cache_free(c);

	/* no cache (a budget of 0): every read is a GET */
	c = block_cache_new(0);
	t = open_cached(fx->os, "c.sst", size, c);
	gets = requests(fx, "get");
	get_found(t, r);
	get_found(t, r);
	assert_int_equal(requests(fx, "get"), gets + 2);
	sst_close(t);
	tset_free(&s);
}

/* Four readers of one cached table, with its blocks evicted meanwhile. */
static void
test_cache_threads(void **state)
{
	struct scratch *fx = *state;
	struct block_cache *c = block_cache_new(256 << 10);
	struct block_cache_stats st;
	struct reader r[4];
	pthread_t tid[4];
	struct tset s;
	struct sst *t;
	uint64_t size;
	size_t i;

	gen(&s, 1500, 1, 0);
	size = store_table(fx, &s, 1024, "shared.sst");
	t = open_cached(fx->os, "shared.sst", size, c);
	for (i = 0; i < 4; i++) {
		r[i] = (struct reader){ t, &s, 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, reader_main,
		    &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(r[i].failures, 0);
	}
	block_cache_stats(c, &st);
	assert_true(st.hits > 0);
	sst_close(t);
	block_cache_free(c);
	tset_free(&s);
}

/* Not a table at all. */
static void
test_garbage(void **state)
{
	uint8_t junk[4096];
	struct sst *t;
	size_t i, n;

	(void)state;
	for (i = 0; i < 200; i++) {
		n = rnd_n(sizeof(junk));
		for (size_t j = 0; j < n; j++)
			junk[j] = (uint8_t)rnd();
		if (n >= SST_FOOTER_SIZE && i % 2)
			memcpy(junk + n - SST_MAGIC_SIZE, SST_MAGIC,
			    SST_MAGIC_SIZE);
		assert_int_equal(sst_open_mem(junk, n, "junk", &t),
		    SHALE_ECORRUPT);
	}
	assert_int_equal(sst_open_mem(NULL, 0, "nothing", &t), SHALE_ECORRUPT);
}

/* ---- content filters ---- */

#define CF_LINES	600

/* The records of a content filter table, in order. */
struct cfrec {
	char	 key[16];
	char	 val[96];
};

/*
 * Keys "A000".."A019" (outside the prefix), "R00000".."R00599" (log-like
 * lines, one of which holds "NEEDLE-42x"), "Z000".."Z019"; 256-byte
 * blocks, a filter per block (cf_group 1) of 12 bits a trigram, so that
 * false positives are too rare to matter to the counts below.
 */
static size_t
cf_records(struct cfrec **out)
{
	struct cfrec *r = xcalloc(40 + CF_LINES, sizeof(*r));
	size_t n = 0;

	for (int i = 0; i < 20; i++, n++) {
		snprintf(r[n].key, sizeof(r[n].key), "A%03d", i);
		snprintf(r[n].val, sizeof(r[n].val), "meta %d", i);
	}
	for (int i = 0; i < CF_LINES; i++, n++) {
		snprintf(r[n].key, sizeof(r[n].key), "R%05d", i);
		snprintf(r[n].val, sizeof(r[n].val),
		    "level=info method=GET path=/api/%d id=%016llx%s", i % 7,
		    (unsigned long long)rnd(), i == 321 ? " NEEDLE-42x" : "");
	}
	for (int i = 0; i < 20; i++, n++) {
		snprintf(r[n].key, sizeof(r[n].key), "Z%03d", i);
		snprintf(r[n].val, sizeof(r[n].val), "meta %d", i);
	}
	*out = r;
	return n;
}

static void
cf_build(const struct cfrec *r, size_t n, const char *prefix, size_t del,
    struct buf *tbl)
{
	struct sst_prefix pf;
	struct sst_options o = { .block_size = 256, .bloom_bits_per_key = 10,
	    .cf_prefix = &pf, .cf_nprefix = prefix != NULL, .cf_group = 1,
	    .cf_bits = 12, .cf_k = 6 };
	struct sst_builder *b;
	struct sst_info info;

	memset(&pf, 0, sizeof(pf));
	if (prefix != NULL) {
		pf.len = strlen(prefix);
		memcpy(pf.p, prefix, pf.len);
	}
	b = sst_builder_new(&o);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(add(b, r[i].key, strlen(r[i].key), 1,
		    i == del ? KV_DELETE : KV_PUT, r[i].val,
		    i == del ? 0 : strlen(r[i].val)), 0);
	sst_info_init(&info);
	buf_init(tbl, 0);
	assert_int_equal(sst_builder_finish(b, tbl, &info), 0);
	sst_info_release(&info);
	sst_builder_free(b);
}

/*
 * Walk t with needle nd both ways: the records given are some of r, in
 * order, the same backwards, and include every record outside the
 * prefix "R" and every one whose value holds each needle. Their number
 * in *given; seeks to every key land on the first record given at or
 * after it, seek_for_prev on the last at or before.
 */
static void
cf_walk(struct sst *t, const struct cfrec *r, size_t n, size_t del,
    const struct sst_needles *nd, const char *const *s, size_t ns,
    size_t *given)
{
	struct iter *it = sst_iter_new_needles(t, 1, nd);
	size_t *got = xcalloc(n + 1, sizeof(*got)), ng = 0, j = 0, i, k;
	const struct kv_entry *e;

	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		e = iter_entry(it);
		while (j < n && (strlen(r[j].key) != e->klen ||
		    memcmp(r[j].key, e->key, e->klen) != 0)) {
			/* left out: in the prefix, without some needle */
			int has_all = 1;

			assert_int_equal(r[j].key[0], 'R');
			assert_true(j != del);
			for (k = 0; k < ns; k++)
				if (strlen(s[k]) >= 3 &&
				    strstr(r[j].val, s[k]) == NULL)
					has_all = 0;
			assert_false(has_all);
			j++;
		}
		assert_true(j < n);
		if (j != del) {
			assert_int_equal(e->vlen, strlen(r[j].val));
			assert_memory_equal(e->val, r[j].val, e->vlen);
		}
		got[ng++] = j++;
	}
	assert_int_equal(iter_status(it), 0);
	/* backwards: the same, reversed */
	k = ng;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
		assert_true(k > 0);
		e = iter_entry(it);
		k--;
		assert_memory_equal(e->key, r[got[k]].key, e->klen);
	}
	assert_int_equal(k, 0);
	/* seeks */
	for (i = 0, k = 0; i < n; i++) {
		while (k < ng && got[k] < i)
			k++;
		iter_seek(it, r[i].key, strlen(r[i].key));
		if (k == ng)
			assert_false(iter_valid(it));
		else {
			assert_true(iter_valid(it));
			assert_memory_equal(iter_entry(it)->key, r[got[k]].key,
			    strlen(r[got[k]].key));
		}
		iter_seek_for_prev(it, r[i].key, strlen(r[i].key));
		if (k < ng && got[k] == i)
			assert_memory_equal(iter_entry(it)->key, r[i].key,
			    strlen(r[i].key));
		else if (k == 0)
			assert_false(iter_valid(it));
		else {
			assert_true(iter_valid(it));
			assert_memory_equal(iter_entry(it)->key,
			    r[got[k - 1]].key, strlen(r[got[k - 1]].key));
		}
	}
	assert_int_equal(iter_status(it), 0);
	iter_free(it);
	free(got);
	*given = ng;
}

/* Make a version 1 table of a version 2 one without content filters. */
static void
to_v1(struct buf *tbl)
{
	uint8_t *f, *tr, type;
	uint64_t poff, psize;
	uint32_t crc;

	f = (uint8_t *)tbl->data + tbl->len - SST_FOOTER_SIZE;
	poff = get_le64(f + 32);
	psize = get_le64(f + 40);
	/* the properties, uncompressed, end in two zero varints */
	tr = (uint8_t *)tbl->data + poff + psize;
	assert_int_equal(tr[0], 0);
	assert_int_equal(tr[-1], 0);
	assert_int_equal(tr[-2], 0);
	psize -= 2;
	tr -= 2;
	type = 0;
	crc = crc32c(0, tbl->data + poff, (size_t)psize);
	crc = crc32c(crc, &type, 1);
	tr[0] = type;
	put_le32(tr + 1, crc);
	memmove(tr + SST_TRAILER_SIZE, f, SST_FOOTER_SIZE);
	tbl->len -= 2;
	f = (uint8_t *)tbl->data + tbl->len - SST_FOOTER_SIZE;
	put_le64(f + 40, psize);
	put_le32(f + 48, 1);
	put_le32(f + SST_FOOTER_CRC_OFF, crc32c(0, f, SST_FOOTER_CRC_OFF));
}

/*
 * Content filters: built for the prefix only; a needle in one block
 * leaves out every other block of the prefix, one in none leaves them all
 * out, a short one none; a delete keeps its group; version 1 tables read
 * as before, with no filters.
 */
static void
test_content_filter(void **state)
{
	const char *present[] = { "NEEDLE-42x" }, *absent[] = { "QQQzzz" };
	const char *shortn[] = { "NE" }, *two[] = { "NEEDLE", "level=info" };
	struct sst_needles nd;
	struct cfrec *r;
	struct buf tbl;
	struct sst *t;
	size_t n, given, excluded, blocks;
	uint64_t cfbytes;

	(void)state;
	n = cf_records(&r);
	cf_build(r, n, "R", SIZE_MAX, &tbl);
	t = open_mem(&tbl, "cf");
	blocks = sst_blocks(t);
	assert_true(blocks > 50);
	assert_true(sst_has_cfilter(t, &cfbytes));
	assert_true(cfbytes > 0);
	/* the key filter and gets are as without content filters */
	{
		struct buf scratch;
		struct kv_entry e;

		buf_init(&scratch, 0);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(sst_get(t, r[i].key, strlen(r[i].key),
			    KV_SEQ_MAX, &e, &scratch), 0);
			assert_int_equal(e.vlen, strlen(r[i].val));
			assert_memory_equal(e.val, r[i].val, e.vlen);
		}
		buf_release(&scratch);
	}

	/* present in one block: all the prefix's other blocks go */
	sst_needles_init(&nd);
	sst_needles_add(&nd, present, NULL, 1);
	excluded = 0;
	for (size_t i = 0; i < blocks; i++)
		excluded += (size_t)sst_block_excluded(t, i, &nd);
	cf_walk(t, r, n, SIZE_MAX, &nd, present, 1, &given);
	/* A and Z records, and the needle's block (a few lines) */
	assert_true(given >= 41);
	assert_true(given < 41 + 10);
	assert_true(excluded >= blocks - 8);
	assert_true(atomic_load(&nd.skipped) > 0);
	sst_needles_release(&nd);

	/* two needles: both must be there */
	sst_needles_init(&nd);
	sst_needles_add(&nd, two, NULL, 2);
	cf_walk(t, r, n, SIZE_MAX, &nd, two, 2, &given);
	assert_true(given >= 41 && given < 41 + 10);
	sst_needles_release(&nd);

	/* absent: only the records outside the prefix */
	sst_needles_init(&nd);
	sst_needles_add(&nd, absent, NULL, 1);
	cf_walk(t, r, n, SIZE_MAX, &nd, absent, 1, &given);
	assert_true(given >= 40 && given < 40 + 6);
	sst_needles_release(&nd);

	/* too short to tell: everything */
	sst_needles_init(&nd);
	sst_needles_add(&nd, shortn, NULL, 1);
	assert_int_equal(nd.n, 0);
	cf_walk(t, r, n, SIZE_MAX, &nd, shortn, 1, &given);
	assert_int_equal(given, n);
	sst_needles_release(&nd);
	sst_close(t);
	buf_release(&tbl);

	/* a delete keeps its block: leaving it out would be seen */
	cf_build(r, n, "R", 200, &tbl);
	t = open_mem(&tbl, "cf-del");
	sst_needles_init(&nd);
	sst_needles_add(&nd, absent, NULL, 1);
	cf_walk(t, r, n, 200, &nd, absent, 1, &given);
	assert_true(given > 40);
	sst_needles_release(&nd);
	sst_close(t);
	buf_release(&tbl);

#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/*
	 * damaged content filters: the open, which does not read them, and
	 * a scan without needles go on; one with needles fails
	 */
	cf_build(r, n, "R", SIZE_MAX, &tbl);
	tbl.data[get_le64((uint8_t *)tbl.data + tbl.len - SST_FOOTER_SIZE) -
	    SST_TRAILER_SIZE - 3] ^= 0x10;
	t = open_mem(&tbl, "cf-bad");
	sst_needles_init(&nd);
	sst_needles_add(&nd, absent, NULL, 1);
	{
		struct iter *it = sst_iter_new_needles(t, 1, NULL);
		size_t k = 0;

		for (iter_seek_first(it); iter_valid(it); iter_next(it))
			k++;
		assert_int_equal(iter_status(it), 0);
		assert_int_equal(k, n);
		iter_free(it);
		it = sst_iter_new_needles(t, 1, &nd);
		iter_seek_first(it);
		assert_false(iter_valid(it));
		assert_int_equal(iter_status(it), SHALE_ECORRUPT);
		iter_free(it);
		assert_int_equal(sst_block_excluded(t, 5, &nd), 0);
	}
	sst_needles_release(&nd);
	sst_close(t);
	buf_release(&tbl);
#endif

	/* no record under the prefix: no filters at all */
	cf_build(r, n, "X", SIZE_MAX, &tbl);
	t = open_mem(&tbl, "cf-none");
	assert_false(sst_has_cfilter(t, NULL));
	sst_needles_init(&nd);
	sst_needles_add(&nd, absent, NULL, 1);
	cf_walk(t, r, n, SIZE_MAX, &nd, absent, 1, &given);
	assert_int_equal(given, n);
	sst_close(t);

	/* version 1: the same table read as it was written before */
	to_v1(&tbl);
	t = open_mem(&tbl, "cf-v1");
	assert_false(sst_has_cfilter(t, NULL));
	cf_walk(t, r, n, SIZE_MAX, &nd, absent, 1, &given);
	assert_int_equal(given, n);
	sst_needles_release(&nd);
	sst_close(t);
	buf_release(&tbl);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_mem),
		cmocka_unit_test(test_roundtrip_options),
		cmocka_unit_test_setup_teardown(test_roundtrip_store,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_large_meta,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test(test_bloom),
		cmocka_unit_test(test_builder_rejects),
		cmocka_unit_test(test_builder_after_finish),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_big_value),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test_setup_teardown(test_store_damage,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_threads, scratch_setup,
		    scratch_teardown),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_content_filter),
		cmocka_unit_test_setup_teardown(test_cache_reads,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_cache_threads,
		    scratch_setup, scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
