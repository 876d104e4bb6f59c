/*
 * fuzz_sst.c - libFuzzer harness for the sorted table reader.
 *
 * The input is a table held in memory. If sst_open_mem() accepts it, the
 * harness walks it forwards and backwards, seeks to keys it saw and to the
 * first and last keys of the properties, and gets some of them. What the
 * reader returns must hold together: records strictly in kv order both
 * ways, the same number both ways when neither walk failed, a failure
 * always SHALE_ECORRUPT, and a get that succeeds returns the key asked for
 * at a seq no greater than asked. Walks with needles, which pass over
 * the blocks the content filters rule out, give as many records both
 * ways and no more than the walks without. Anything else aborts.
 *
 * Build the library with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION defined
 * so that checksum mismatches are ignored and the fuzzer reaches the
 * decoders behind them.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/sst.h"
#include "util/buf.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WALK_MAX	100000	/* records walked each way, at most */
#define PROBES		8	/* keys kept for seeks and gets */

static volatile unsigned sink;

/* A copy of a record's key and seq. */
struct probe {
	struct buf	 key;
	uint64_t	 seq;
};

static void
check_status(int rc)
{
	if (rc != 0 && rc != SHALE_ECORRUPT)
		abort();
}

/*
 * Walk one way (with needles nd, may be NULL); keep a few keys; the
 * number of records seen.
 */
static size_t
walk(struct sst *t, int forward, struct probe *p,
    const struct sst_needles *nd, int *rcp)
{
	struct iter *it = sst_iter_new_needles(t, 1, nd);
	const struct kv_entry *e;
	struct buf prev;
	uint64_t prev_seq = 0;
	size_t n = 0;
	int c;

	buf_init(&prev, 0);
	if (forward)
		iter_seek_first(it);
	else
		iter_seek_last(it);
	while (iter_valid(it) && n < WALK_MAX) {
		e = iter_entry(it);
		if (e == NULL || (e->klen > 0 && e->key == NULL) ||
		    (e->kind != KV_PUT && e->kind != KV_DELETE) ||
		    (e->kind == KV_DELETE &&
		    (e->val != NULL || e->vlen != 0)) ||
		    (e->kind == KV_PUT && e->vlen > 0 && e->val == NULL) ||
		    e->seq > KV_SEQ_MAX || e->klen > KV_KEY_MAX)
			abort();
		if (n > 0) {
			c = kv_key_cmp(prev.data, prev.len, e->key, e->klen);
			if (c == 0)
				c = prev_seq > e->seq ? -1 : prev_seq < e->seq;
			if (forward ? c >= 0 : c <= 0)
				abort();
		}
		/* read every byte of the value: the sanitizer checks them */
		for (size_t j = 0; j < e->vlen; j++)
			sink += e->val[j];
		buf_reset(&prev);
		if (buf_append(&prev, e->key != NULL ? e->key :
		    (const uint8_t *)"", e->klen) != 0)
			abort();
		prev_seq = e->seq;
		if (n % 7 == 0 && p != NULL) {
			struct probe *q = &p[(n / 7) % PROBES];

			buf_reset(&q->key);
			buf_append(&q->key, prev.data, prev.len);
			q->seq = e->seq;
		}
		n++;
		if (forward)
			iter_next(it);
		else
			iter_prev(it);
	}
	*rcp = iter_status(it);
	check_status(*rcp);
	if (*rcp != 0 && iter_valid(it))
		abort();
	iter_free(it);
	buf_release(&prev);
	return n;
}

static void
probe(struct sst *t, const void *k, size_t klen, uint64_t seq)
{
	const void *key = k != NULL ? k : "";
	struct iter *it = sst_iter_new(t);
	struct kv_entry e;
	struct buf scratch;
	const struct kv_entry *x;
	int rc;

	buf_init(&scratch, 0);
	rc = sst_get(t, key, klen, seq, &e, &scratch);
	if (rc == 0) {
		if (e.klen != klen || e.seq > seq ||
		    (klen > 0 && memcmp(e.key, key, klen) != 0))
			abort();
	} else if (rc != -ENOENT)
		check_status(rc);
	(void)sst_may_contain(t, key, klen);

	iter_seek(it, key, klen);
	if (iter_valid(it)) {
		x = iter_entry(it);
		if (kv_key_cmp(x->key, x->klen, key, klen) < 0)
			abort();
		iter_prev(it);
	}
	check_status(iter_status(it));
	iter_seek_for_prev(it, key, klen);
	if (iter_valid(it)) {
		x = iter_entry(it);
		if (kv_key_cmp(x->key, x->klen, key, klen) > 0)
			abort();
		iter_next(it);
	}
	check_status(iter_status(it));
	iter_free(it);
	buf_release(&scratch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe p[PROBES];
	const struct sst_info *in;
	struct sst *t;
	size_t nf, nb, i;
	int rcf, rcb;

	if (sst_open_mem(data, size, "fuzz", &t) != 0)
		return 0;
	for (i = 0; i < PROBES; i++) {
		buf_init(&p[i].key, 0);
		p[i].seq = 0;
	}
	in = sst_info(t);
	if (in->size != size || in->min_seq > in->max_seq)
		abort();

	nf = walk(t, 1, p, NULL, &rcf);
	nb = walk(t, 0, NULL, NULL, &rcb);
	if (rcf == 0 && rcb == 0 && nf != nb && nf < WALK_MAX)
		abort();
	/* content filters: blocks passed over the same way both ways */
	{
		static const char *const nv[] = { "level=", "req=" };
		struct sst_needles nd;
		size_t mf, mb;
		int whole = rcf == 0 && rcb == 0;

		sst_needles_init(&nd);
		sst_needles_add(&nd, nv, NULL, 2);
		mf = walk(t, 1, NULL, &nd, &rcf);
		mb = walk(t, 0, NULL, &nd, &rcb);
		if (whole && rcf == 0 && rcb == 0 && (mf != mb || mf > nf) &&
		    nf < WALK_MAX)
			abort();
		sst_needles_release(&nd);
	}

	probe(t, in->first_key.data, in->first_key.len, KV_SEQ_MAX);
	probe(t, in->last_key.data, in->last_key.len, 0);
	for (i = 0; i < PROBES; i++) {
		probe(t, p[i].key.data, p[i].key.len, p[i].seq);
		probe(t, p[i].key.data, p[i].key.len, p[i].seq / 2);
		buf_release(&p[i].key);
	}
	sst_close(t);
	return 0;
}
