/*
 * test_manifest.c - the manifest and its JSON.
 *
 * Exercises: manifest_init; the exact JSON of an empty manifest and of one
 * table; a round trip of a manifest with l0 tables, runs and checkpoints,
 * binary keys (NUL, 0xff, empty, every length 0..70 and the longest key)
 * and extreme integers, encoding twice to the same bytes;
 * manifest_copy being deep; manifest_expire_checkpoints dropping exactly
 * the expired ones, in order; manifest_key and the strict manifest_key_id;
 * what manifest_encode refuses; and decoding of damaged JSON (not JSON,
 * wrong root, wrong types, missing, unknown and duplicate fields, unknown
 * format, negative and huge numbers, bad base64) each giving
 * SHALE_ECORRUPT with a detail naming the object and the field.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/manifest.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define NAME	"manifest/00000000000000000007"

static uint8_t *
dup_bytes(const void *p, size_t n)
{
	uint8_t *d = xmalloc(n + 1);

	if (n)
		memcpy(d, p, n);
	return d;
}

static void
table_set(struct manifest_table *t, const char *key, uint64_t size,
    const void *first, size_t flen, const void *last, size_t llen)
{
	memset(t, 0, sizeof(*t));
	t->key = xstrdup(key);
	t->size = size;
	t->entries = size / 10;
	t->min_seq = size + 1;
	t->max_seq = size + 100;
	t->min_expire = 0;
	t->max_expire = (int64_t)size * 1000;
	t->first_key = dup_bytes(first, flen);
	t->first_klen = flen;
	t->last_key = dup_bytes(last, llen);
	t->last_klen = llen;
}

static void
assert_table_equal(const struct manifest_table *a, const struct manifest_table *b)
{
	assert_string_equal(a->key, b->key);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->entries, b->entries);
	assert_int_equal(a->min_seq, b->min_seq);
	assert_int_equal(a->max_seq, b->max_seq);
	assert_int_equal(a->min_expire, b->min_expire);
	assert_int_equal(a->max_expire, b->max_expire);
	assert_int_equal(a->first_klen, b->first_klen);
	assert_non_null(a->first_key);
	assert_non_null(b->first_key);
	if (a->first_klen)
		assert_memory_equal(a->first_key, b->first_key, a->first_klen);
	assert_int_equal(a->last_klen, b->last_klen);
	assert_non_null(a->last_key);
	assert_non_null(b->last_key);
	if (a->last_klen)
		assert_memory_equal(a->last_key, b->last_key, a->last_klen);
}

static void
assert_manifest_equal(const struct manifest *a, const struct manifest *b)
{
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->writer_epoch, b->writer_epoch);
	assert_int_equal(a->wal_replay_from, b->wal_replay_from);
	assert_int_equal(a->last_seq, b->last_seq);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->nl0, b->nl0);
	for (size_t i = 0; i < a->nl0; i++)
		assert_table_equal(&a->l0[i], &b->l0[i]);
	assert_int_equal(a->nruns, b->nruns);
	for (size_t i = 0; i < a->nruns; i++) {
		assert_int_equal(a->runs[i].id, b->runs[i].id);
		assert_int_equal(a->runs[i].ntables, b->runs[i].ntables);
		for (size_t j = 0; j < a->runs[i].ntables; j++)
			assert_table_equal(&a->runs[i].tables[j],
			    &b->runs[i].tables[j]);
	}
	assert_int_equal(a->ncheckpoints, b->ncheckpoints);
	for (size_t i = 0; i < a->ncheckpoints; i++) {
		assert_string_equal(a->checkpoints[i].id, b->checkpoints[i].id);
		assert_int_equal(a->checkpoints[i].manifest_id,
		    b->checkpoints[i].manifest_id);
		assert_int_equal(a->checkpoints[i].expire_ms,
		    b->checkpoints[i].expire_ms);
	}
}

/*
 * A manifest with every kind of thing in it: 3 l0 tables (sizes 1001..),
 * 2 runs of 2 and 0 tables (sizes 2001..), 2 checkpoints. Every size is
 * unique, so the mutation tests can find a table by it.
 */
static void
sample(struct manifest *m)
{
	static const uint8_t nul_ff[] = { 0x00, 0xff, 0x00, 'a', 0xff };

	manifest_init(m);
	m->id = 7;
	m->writer_epoch = 3;
	m->wal_replay_from = 12;
	m->last_seq = KV_SEQ_MAX;
	m->created_ms = 1763800000123;
	m->nl0 = 3;
	m->l0 = xcalloc(m->nl0, sizeof(*m->l0));
	table_set(&m->l0[0], "l0/00000000000000000003.sst", 1001,
	    nul_ff, sizeof(nul_ff), "\xff\xff\xff", 3);
	table_set(&m->l0[1], "l0/00000000000000000002.sst", 1002,
	    "", 0, "", 0);
	table_set(&m->l0[2], "l0/00000000000000000001.sst", 1003,
	    "\0", 1, "zz", 2);
	m->l0[2].min_expire = INT64_MIN;
	m->l0[2].max_expire = INT64_MAX;
	m->l0[2].min_seq = 0;
	m->l0[2].max_seq = INT64_MAX;

	m->nruns = 2;
	m->runs = xcalloc(m->nruns, sizeof(*m->runs));
	m->runs[0].id = 9;
	m->runs[0].ntables = 2;
	m->runs[0].tables = xcalloc(2, sizeof(struct manifest_table));
	table_set(&m->runs[0].tables[0], "compacted/00000000000000000011.sst",
	    2001, "a", 1, "m", 1);
	table_set(&m->runs[0].tables[1], "compacted/00000000000000000012.sst",
	    2002, "n", 1, "zzzz", 4);
	m->runs[1].id = INT64_MAX;

	m->ncheckpoints = 2;
	m->checkpoints = xcalloc(2, sizeof(*m->checkpoints));
	m->checkpoints[0].id = xstrdup("backup-2026-11-22");
	m->checkpoints[0].manifest_id = 5;
	m->checkpoints[0].expire_ms = 1763900000000;
	m->checkpoints[1].id = xstrdup("caf\xc3\xa9 \"quoted\" \\ \x01");
	m->checkpoints[1].manifest_id = 0;
	m->checkpoints[1].expire_ms = -1;
}

static void
roundtrip(const struct manifest *m, struct buf *out)
{
	struct manifest d;
	struct buf again;

	buf_init(out, 0);
	assert_int_equal(manifest_encode(m, out), 0);
	assert_int_equal(strlen(out->data), out->len);
	assert_int_equal(out->data[out->len - 1], '\n');
	assert_null(memchr(out->data, '\n', out->len - 1));
	for (size_t i = 0; i < out->len; i++)
		assert_true((unsigned char)out->data[i] < 0x80);

	memset(&d, 0x5a, sizeof(d));
	if (manifest_decode(out->data, out->len, NAME, &d) != 0)
		fail_msg("decode: %s", err_detail());
	assert_manifest_equal(m, &d);

	/* The same manifest gives the same bytes. */
	buf_init(&again, 0);
	assert_int_equal(manifest_encode(&d, &again), 0);
	assert_int_equal(again.len, out->len);
	assert_memory_equal(again.data, out->data, out->len);
	buf_release(&again);
	manifest_release(&d);
}

static void
test_init(void **state)
{
	struct manifest m;

	(void)state;
	memset(&m, 0x5a, sizeof(m));
	manifest_init(&m);
	assert_int_equal(m.id, 0);
	assert_int_equal(m.writer_epoch, 0);
	assert_int_equal(m.wal_replay_from, 1);
	assert_int_equal(m.last_seq, 0);
	assert_int_equal(m.nl0, 0);
	assert_null(m.l0);
	assert_int_equal(m.nruns, 0);
	assert_int_equal(m.ncheckpoints, 0);
	manifest_release(&m);
	manifest_release(&m);		/* twice is harmless */
}

static void
test_empty(void **state)
{
	struct manifest m;
	struct buf b;

	(void)state;
	manifest_init(&m);
	roundtrip(&m, &b);
	assert_string_equal(b.data, "{\"format\":1,\"id\":0,\"writer_epoch\":0,"
	    "\"wal_replay_from\":1,\"last_seq\":0,\"created_ms\":0,"
	    "\"l0\":[],\"runs\":[],\"checkpoints\":[]}\n");
	buf_release(&b);
	manifest_release(&m);
}

static void
test_one_table(void **state)
{
	struct manifest m;
	struct buf b;

	(void)state;
	manifest_init(&m);
	m.id = 2;
	m.nl0 = 1;
	m.l0 = xcalloc(1, sizeof(*m.l0));
	table_set(&m.l0[0], "l0/x.sst", 10, "\0\xff", 2, "abc", 3);
	m.nruns = 1;
	m.runs = xcalloc(1, sizeof(*m.runs));
	m.runs[0].id = 4;
	m.ncheckpoints = 1;
	m.checkpoints = xcalloc(1, sizeof(*m.checkpoints));
	m.checkpoints[0].id = xstrdup("\xc3\xa9");
	m.checkpoints[0].manifest_id = 1;
	m.checkpoints[0].expire_ms = 99;
	roundtrip(&m, &b);
	assert_string_equal(b.data, "{\"format\":1,\"id\":2,\"writer_epoch\":0,"
	    "\"wal_replay_from\":1,\"last_seq\":0,\"created_ms\":0,"
	    "\"l0\":[{\"key\":\"l0/x.sst\",\"size\":10,\"entries\":1,"
	    "\"min_seq\":11,\"max_seq\":110,\"min_expire\":0,"
	    "\"max_expire\":10000,\"first_key\":\"AP8=\","
	    "\"last_key\":\"YWJj\"}],"
	    "\"runs\":[{\"id\":4,\"tables\":[]}],"
	    "\"checkpoints\":[{\"id\":\"\\u00E9\",\"manifest_id\":1,"
	    "\"expire_ms\":99}]}\n");
	buf_release(&b);
	manifest_release(&m);
}

static void
test_roundtrip(void **state)
{
	struct manifest m, c;
	struct buf b;

	(void)state;
	sample(&m);
	roundtrip(&m, &b);
	buf_release(&b);

	/* A copy is deep: it outlives the original. */
	manifest_copy(&c, &m);
	assert_manifest_equal(&m, &c);
	assert_ptr_not_equal(c.l0, m.l0);
	assert_ptr_not_equal(c.l0[0].first_key, m.l0[0].first_key);
	assert_ptr_not_equal(c.runs[0].tables, m.runs[0].tables);
	assert_ptr_not_equal(c.checkpoints[0].id, m.checkpoints[0].id);
	manifest_release(&m);
	sample(&m);
	manifest_release(&m);
	sample(&m);
	assert_manifest_equal(&m, &c);
	manifest_release(&m);
	manifest_release(&c);

	/* A copy of an empty manifest. */
	manifest_init(&m);
	manifest_copy(&c, &m);
	assert_manifest_equal(&m, &c);
	manifest_release(&c);
}

static void
test_expire_checkpoints(void **state)
{
	struct manifest m;

	(void)state;
	sample(&m);	/* expire_ms 1763900000000 and -1 */
	assert_int_equal(manifest_expire_checkpoints(&m, -2), 0);
	assert_int_equal(m.ncheckpoints, 2);
	assert_int_equal(manifest_expire_checkpoints(&m, -1), 1);
	assert_int_equal(m.ncheckpoints, 1);
	assert_string_equal(m.checkpoints[0].id, "backup-2026-11-22");
	assert_int_equal(manifest_expire_checkpoints(&m, 1763899999999), 0);
	assert_int_equal(manifest_expire_checkpoints(&m, 1763900000000), 1);
	assert_int_equal(m.ncheckpoints, 0);
	assert_int_equal(manifest_expire_checkpoints(&m, INT64_MAX), 0);
	manifest_release(&m);
}

/*
 * L0 as "lo-hi lo-hi ...", one-letter keys; "-" is a table without a
 * range. Released first.
 */
static void
l0_set(struct manifest *m, const char *spec)
{
	char name[32];

	manifest_release(m);
	manifest_init(m);
	for (const char *p = spec; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		m->l0 = xrealloc(m->l0, (m->nl0 + 1) * sizeof(*m->l0));
		snprintf(name, sizeof(name), "compacted/%zu.sst", m->nl0);
		if (*p == '-') {
			memset(&m->l0[m->nl0], 0, sizeof(*m->l0));
			m->l0[m->nl0].key = xstrdup(name);
		} else {
			table_set(&m->l0[m->nl0], name, 1, p, 1, p + 2, 1);
			p += 2;
		}
		m->nl0++;
	}
}

/*
 * manifest_l0_chains: `depth` chains; every table in one, once; in each,
 * ranges in key order that do not overlap.
 */
static void
check_chains(const struct manifest *m, const char *spec, size_t depth)
{
	size_t order[16], chain[16], last[16], seen[16] = { 0 };
	const struct manifest_table *a, *b;

	assert_true(m->nl0 <= 16);
	assert_int_equal(manifest_l0_chains(m, order, chain), depth);
	for (size_t c = 0; c < depth; c++)
		last[c] = SIZE_MAX;
	for (size_t k = 0; k < m->nl0; k++) {
		assert_true(order[k] < m->nl0);
		assert_true(chain[k] < depth);
		seen[order[k]]++;
		if (last[chain[k]] != SIZE_MAX) {
			a = &m->l0[last[chain[k]]];
			b = &m->l0[order[k]];
			if (a->last_key == NULL || b->first_key == NULL ||
			    kv_key_cmp(a->last_key, a->last_klen, b->first_key,
			    b->first_klen) >= 0)
				fail_msg("'%s': chain %zu has overlapping or "
				    "unranged tables", spec, chain[k]);
		}
		last[chain[k]] = order[k];
	}
	for (size_t i = 0; i < m->nl0; i++)
		assert_int_equal(seen[i], 1);
}

/* The most L0 tables that hold one key, in any order of the tables. */
static void
test_l0_depth(void **state)
{
	static const struct {
		const char	*spec;
		size_t		 depth;
	} cases[] = {
		{ "", 0 },
		{ "a-c", 1 },
		{ "a-b c-d e-f", 1 },		/* flushes cut by kind */
		{ "e-f a-b c-d", 1 },
		{ "a-c c-e", 2 },		/* a key both hold */
		{ "a-z b-c d-e", 2 },
		{ "a-c b-d c-e", 3 },
		{ "a-a a-a a-a b-b", 3 },
		{ "a-b c-d a-b c-d a-b c-d", 3 },	/* 3 flushes of 2 kinds */
		{ "a-b -", 2 },			/* no range: holds every key */
		{ "- -", 2 },
	};
	struct manifest m;
	size_t n;

	(void)state;
	manifest_init(&m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l0_set(&m, cases[i].spec);
		n = manifest_l0_chains(&m, NULL, NULL);
		if (n != cases[i].depth)
			fail_msg("'%s': depth %zu, not %zu", cases[i].spec, n,
			    cases[i].depth);
		check_chains(&m, cases[i].spec, cases[i].depth);
	}
	manifest_release(&m);
}

/* Every key length 0..70 with every byte value, and the longest key. */
static void
test_base64(void **state)
{
	struct manifest m;
	struct buf b;
	uint8_t key[71], *big;

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 255);
	manifest_init(&m);
	m.nl0 = sizeof(key) + 1;
	m.l0 = xcalloc(m.nl0, sizeof(*m.l0));
	for (size_t i = 0; i < sizeof(key); i++)
		table_set(&m.l0[i], "t", i, key, i, key + sizeof(key) - i, i);
	big = xmalloc(KV_KEY_MAX);
	for (size_t i = 0; i < KV_KEY_MAX; i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	table_set(&m.l0[sizeof(key)], "big", 1, big, KV_KEY_MAX, big, 1);
	roundtrip(&m, &b);
	buf_release(&b);

	/* One byte too long is refused. */
	m.l0[sizeof(key)].first_klen = KV_KEY_MAX + 1;
	buf_init(&b, 0);
	assert_int_equal(manifest_encode(&m, &b), -EINVAL);
	assert_int_equal(b.len, 0);
	m.l0[sizeof(key)].first_klen = KV_KEY_MAX;
	buf_release(&b);
	free(big);
	manifest_release(&m);
}

static void
test_encode_refuses(void **state)
{
	struct manifest m;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "keep"), 0);

	sample(&m);
	m.last_seq = (uint64_t)INT64_MAX + 1;
	assert_int_equal(manifest_encode(&m, &b), -EINVAL);
	assert_non_null(strstr(err_detail(), "'last_seq'"));
	assert_int_equal(b.len, 4);
	manifest_release(&m);

	sample(&m);
	m.runs[0].tables[1].max_seq = UINT64_MAX;
	assert_int_equal(manifest_encode(&m, &b), -EINVAL);
	assert_non_null(strstr(err_detail(), "'runs[0].tables[1].max_seq'"));
	assert_int_equal(b.len, 4);
	manifest_release(&m);

	sample(&m);
	free(m.l0[1].key);
	m.l0[1].key = NULL;
	assert_int_equal(manifest_encode(&m, &b), -EINVAL);
	assert_non_null(strstr(err_detail(), "'l0[1].key'"));
	assert_int_equal(b.len, 4);
	manifest_release(&m);

	sample(&m);
	free(m.checkpoints[1].id);
	m.checkpoints[1].id = xstrdup("bad \xff utf-8");
	assert_int_equal(manifest_encode(&m, &b), -EINVAL);
	assert_non_null(strstr(err_detail(), "'checkpoints[1].id'"));
	assert_int_equal(b.len, 4);
	manifest_release(&m);

	sample(&m);
	free(m.l0[0].first_key);
	m.l0[0].first_key = NULL;
	assert_int_equal(manifest_encode(&m, &b), -EINVAL);
	assert_int_equal(b.len, 4);
	assert_string_equal(buf_str(&b), "keep");

	/* NULL and empty is fine; the JSON is appended. */
	m.l0[0].first_klen = 0;
	assert_int_equal(manifest_encode(&m, &b), 0);
	assert_memory_equal(b.data, "keep{\"format\":1,", 16);
	manifest_release(&m);
	buf_release(&b);

	/* A ceiling that refuses the bytes leaves the buffer as it was. */
	buf_init(&b, 20);
	assert_int_equal(buf_puts(&b, "keep"), 0);
	sample(&m);
	assert_int_equal(manifest_encode(&m, &b), -EFBIG);
	assert_int_equal(b.len, 4);
	assert_string_equal(buf_str(&b), "keep");
	manifest_release(&m);
	buf_release(&b);
}

static void
test_key(void **state)
{
	char k[40];

	(void)state;
	manifest_key(7, k);
	assert_string_equal(k, "manifest/00000000000000000007");
	assert_int_equal(manifest_key_id(k), 7);
	manifest_key(UINT64_MAX, k);
	assert_string_equal(k, "manifest/18446744073709551615");
	assert_true(manifest_key_id(k) == UINT64_MAX);

	assert_int_equal(manifest_key_id(NULL), 0);
	assert_int_equal(manifest_key_id(""), 0);
	assert_int_equal(manifest_key_id("manifest/"), 0);
	assert_int_equal(manifest_key_id("manifest/7"), 0);
	assert_int_equal(manifest_key_id("manifest/0000000000000000007"), 0);
	assert_int_equal(manifest_key_id("manifest/000000000000000000007"), 0);
	assert_int_equal(manifest_key_id("manifest/00000000000000000007/"), 0);
	assert_int_equal(manifest_key_id("manifest/00000000000000000007.json"), 0);
	assert_int_equal(manifest_key_id("manifest/0000000000000000000x"), 0);
	assert_int_equal(manifest_key_id("manifest/-0000000000000000007"), 0);
	assert_int_equal(manifest_key_id("Manifest/00000000000000000007"), 0);
	assert_int_equal(manifest_key_id("x/manifest/00000000000000000007"), 0);
	assert_int_equal(manifest_key_id("manifest/18446744073709551616"), 0);
	assert_int_equal(manifest_key_id("wal/00000000000000000007.wal"), 0);
}

/* Decoding must fail with SHALE_ECORRUPT and a detail saying `what`. */
static void
decode_corrupt(const char *json, size_t n, const char *what)
{
	struct manifest m;
	int rc;

	err_clear();
	memset(&m, 0x5a, sizeof(m));
	rc = manifest_decode(json, n, NAME, &m);
	if (rc != SHALE_ECORRUPT)
		fail_msg("decode of '%.200s' gave %d, not SHALE_ECORRUPT",
		    json, rc);
	if (strncmp(err_detail(), "'" NAME "': ", strlen(NAME) + 4) != 0 ||
	    strstr(err_detail(), what) == NULL)
		fail_msg("decode of '%.200s': detail '%s' does not say '%s'",
		    json, err_detail(), what);
	/* A failed decode leaves an empty manifest. */
	assert_int_equal(m.nl0, 0);
	assert_int_equal(m.nruns, 0);
	assert_int_equal(m.ncheckpoints, 0);
	assert_int_equal(m.wal_replay_from, 1);
	manifest_release(&m);
}

/* The sample's JSON with the nth occurrence (from 1) of `from` replaced. */
static char *
mutate(const char *good, const char *from, int nth, const char *to)
{
	const char *p = good;
	struct buf b;

	for (int i = 0; i < nth; i++) {
		p = strstr(i == 0 ? p : p + 1, from);
		if (p == NULL)
			fail_msg("'%s' not %d times in the sample", from, nth);
	}
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, good, (size_t)(p - good)), 0);
	assert_int_equal(buf_puts(&b, to), 0);
	assert_int_equal(buf_puts(&b, p + strlen(from)), 0);
	return buf_detach(&b, NULL);
}

static const struct mutation {
	const char	*from;
	int		 nth;
	const char	*to;
	const char	*what;
} mutations[] = {
	/* The root. */
	{ "\"format\":1", 1, "\"format\":2", "unknown format version 2" },
	{ "\"format\":1", 1, "\"format\":0", "unknown format version 0" },
	{ "\"format\":1", 1, "\"format\":\"1\"", "field 'format': not an integer" },
	{ "\"format\":1", 1, "\"format\":1.0", "field 'format': not an integer" },
	{ "\"format\":1,", 1, "", "field 'format': missing" },
	{ "\"id\":7", 1, "\"id\":\"7\"", "field 'id': not an integer" },
	{ "\"id\":7", 1, "\"id\":-7", "field 'id': negative" },
	{ "\"id\":7", 1, "\"id\":null", "field 'id': not an integer" },
	{ "\"id\":7", 1, "\"id\":true", "field 'id': not an integer" },
	{ "\"id\":7", 1, "\"id\":99999999999999999999", "not valid JSON" },
	{ "\"id\":7", 1, "\"id\":1e400", "not valid JSON" },
	{ "\"id\":7", 1, "\"id\":7e0", "field 'id': not an integer" },
	{ "\"id\":7", 1, "\"id\":9223372036854775808", "not valid JSON" },
	{ "\"id\":7,", 1, "", "field 'id': missing" },
	{ "\"id\":7", 1, "\"id\":7,\"id\":8", "not valid JSON" },
	{ "\"id\":7", 1, "\"id\":7,\"extra\":1", "unknown field 'extra'" },
	{ "\"writer_epoch\":3", 1, "\"writer_epoch\":-1",
	    "field 'writer_epoch': negative" },
	{ "\"wal_replay_from\":12,", 1, "", "field 'wal_replay_from': missing" },
	{ "\"last_seq\"", 1, "\"last_seq\":[],\"x\"", "field 'last_seq': not an integer" },
	{ "\"created_ms\":1763800000123", 1, "\"created_ms\":{}",
	    "field 'created_ms': not an integer" },
	{ "\"l0\":[", 1, "\"l0\":{},\"x\":[", "field 'l0': not an array" },
	{ "\"runs\":[", 1, "\"runs\":\"\",\"x\":[", "field 'runs': not an array" },
	{ "\"checkpoints\":[", 1, "\"checkpoints\":null,\"x\":[",
	    "field 'checkpoints': not an array" },

	/* Tables. */
	{ "\"l0\":[", 1, "\"l0\":[1,", "field 'l0[0]': not an object" },
	{ "\"l0\":[", 1, "\"l0\":[[],", "field 'l0[0]': not an object" },
	{ "\"size\":1002", 1, "\"size\":-1002", "field 'l0[1].size': negative" },
	{ "\"size\":1002", 1, "\"size\":1002.5",
	    "field 'l0[1].size': not an integer" },
	{ "\"size\":1002,", 1, "", "field 'l0[1].size': missing" },
	{ "\"size\":1002", 1, "\"size\":1002,\"size\":3", "not valid JSON" },
	{ "\"size\":1002", 1, "\"size\":1002,\"color\":3",
	    "unknown field 'l0[1].color'" },
	{ "\"entries\":100", 3, "\"entries\":true",
	    "field 'l0[2].entries': not an integer" },
	{ "\"min_seq\"", 1, "\"min_seq\":-1,\"x\"", "field 'l0[0].min_seq': negative" },
	{ "\"max_seq\"", 4, "\"max_seq\":-1,\"x\"",
	    "field 'runs[0].tables[0].max_seq': negative" },
	{ "\"min_expire\"", 1, "\"min_expire\":\"0\",\"x\"",
	    "field 'l0[0].min_expire': not an integer" },
	{ "\"max_expire\"", 5, "\"max_expire\":0.5,\"x\"",
	    "field 'runs[0].tables[1].max_expire': not an integer" },
	{ "\"key\":\"l0/00000000000000000003.sst\"", 1, "\"key\":\"\"",
	    "field 'l0[0].key': empty" },
	{ "\"key\":\"l0/00000000000000000003.sst\"", 1, "\"key\":3",
	    "field 'l0[0].key': not a string" },
	{ "\"key\":\"l0/00000000000000000003.sst\"", 1, "\"key\":\"a\\u0000b\"",
	    "not valid JSON" },
	{ "\"key\":\"l0/00000000000000000003.sst\",", 1, "",
	    "field 'l0[0].key': missing" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8AYf8\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8AYf9=\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8AYf==\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8A Yf8=\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8AYf8=\\n\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8A=f8=\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8AYf8=AAAA\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"AP8AYf-_\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"====\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"A===\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":\"=\"",
	    "field 'l0[0].first_key': bad base64" },
	{ "\"first_key\":\"AP8AYf8=\"", 1, "\"first_key\":[]",
	    "field 'l0[0].first_key': not a string" },
	{ "\"last_key\":\"bQ==\"", 1, "\"last_key\":\"bR==\"",
	    "field 'runs[0].tables[0].last_key': bad base64" },
	{ "\"last_key\":\"bQ==\"", 1, "\"last_key\":\"bQ=\"",
	    "field 'runs[0].tables[0].last_key': bad base64" },
	{ ",\"last_key\":\"bQ==\"", 1, "",
	    "field 'runs[0].tables[0].last_key': missing" },

	/* Runs and checkpoints. */
	{ "\"runs\":[", 1, "\"runs\":[3,", "field 'runs[0]': not an object" },
	{ "{\"id\":9,", 1, "{\"id\":-9,", "field 'runs[0].id': negative" },
	{ "{\"id\":9,", 1, "{", "field 'runs[0].id': missing" },
	{ "\"tables\":[]", 1, "\"tables\":{}", "field 'runs[1].tables': not an array" },
	{ "\"tables\":[]", 1, "\"tables\":[],\"level\":1",
	    "unknown field 'runs[1].level'" },
	{ "\"tables\":[]", 1, "\"tables\":[{}]",
	    "field 'runs[1].tables[0].key': missing" },
	{ "\"tables\":[]", 1, "\"tables\":[7]",
	    "field 'runs[1].tables[0]': not an object" },
	{ "\"id\":\"backup-2026-11-22\"", 1, "\"id\":5",
	    "field 'checkpoints[0].id': not a string" },
	{ "\"id\":\"backup-2026-11-22\"", 1, "\"id\":\"\"",
	    "field 'checkpoints[0].id': empty" },
	{ "\"manifest_id\":0", 1, "\"manifest_id\":-5",
	    "field 'checkpoints[1].manifest_id': negative" },
	{ "\"expire_ms\":-1", 1, "\"expire_ms\":\"never\"",
	    "field 'checkpoints[1].expire_ms': not an integer" },
	{ "\"expire_ms\":-1", 1, "\"expire_ms\":-1,\"why\":\"x\"",
	    "unknown field 'checkpoints[1].why'" },
	{ "\"checkpoints\":[", 1, "\"checkpoints\":[\"x\",",
	    "field 'checkpoints[0]': not an object" },

	/* Not JSON, or not our JSON. */
	{ "\n", 1, "x", "not valid JSON" },
	{ "\n", 1, "{}", "not valid JSON" },
	{ "]}\n", 1, "", "not valid JSON" },
	{ "\"checkpoints\"", 1, "\"checkpoints\\ud800\"", "not valid JSON" },
};

static void
test_decode_damaged(void **state)
{
	struct manifest m;
	struct buf b;
	char *bad;
	size_t n;

	(void)state;
	sample(&m);
	buf_init(&b, 0);
	assert_int_equal(manifest_encode(&m, &b), 0);
	manifest_release(&m);

	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		const struct mutation *mu = &mutations[i];

		bad = mutate(b.data, mu->from, mu->nth, mu->to);
		decode_corrupt(bad, strlen(bad), mu->what);
		free(bad);
	}

	/* Roots that are not objects, and nothing at all. */
	decode_corrupt("", 0, "not valid JSON");
	decode_corrupt(NULL, 0, "not valid JSON");
	decode_corrupt("[]", 2, "not a JSON object");
	decode_corrupt("42", 2, "not valid JSON");
	decode_corrupt("\"manifest\"", 10, "not valid JSON");
	decode_corrupt("null", 4, "not valid JSON");
	decode_corrupt("{}", 2, "field 'format': missing");
	decode_corrupt("{\"format\":1}", 12, "field 'id': missing");
	decode_corrupt("{\"format\":1,", 12, "not valid JSON");
	decode_corrupt("{\"format\":1}\0", 13, "not valid JSON");

	/* Every truncation of the good JSON fails. */
	for (n = 0; n + 1 < b.len; n++) {
		struct manifest t;

		bad = xmalloc(n + 1);
		memcpy(bad, b.data, n);
		assert_int_equal(manifest_decode(bad, n, NAME, &t),
		    SHALE_ECORRUPT);
		manifest_release(&t);
		free(bad);
	}
	/* Without the newline it still decodes; with spaces too. */
	assert_int_equal(manifest_decode(b.data, b.len - 1, NAME, &m), 0);
	manifest_release(&m);

	/* Past the size limit, refused before it is read. */
	decode_corrupt("{}", (size_t)256 << 20 | 1, "over the limit");

	/* A key one byte longer than KV_KEY_MAX. */
	{
		size_t klen = KV_KEY_MAX + 1, blen = (klen + 2) / 3 * 4;
		char *to = xmalloc(blen + 16);

		strcpy(to, "\"last_key\":\"");
		n = strlen(to);
		memset(to + n, 'A', blen);
		strcpy(to + n + blen - 1, "=\"");
		bad = mutate(b.data, "\"last_key\":\"bQ==\"", 1, to);
		decode_corrupt(bad, strlen(bad), "field "
		    "'runs[0].tables[0].last_key': key longer than the limit");
		free(bad);
		free(to);
	}
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_one_table),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_expire_checkpoints),
		cmocka_unit_test(test_l0_depth),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_decode_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
