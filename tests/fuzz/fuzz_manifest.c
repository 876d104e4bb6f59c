/*
 * fuzz_manifest.c - libFuzzer harness for manifest_decode().
 *
 * The input is a manifest object. A decode that fails must be
 * SHALE_ECORRUPT. One that succeeds must encode (whatever decodes fits in
 * JSON), and decoding that again must give an equal manifest, whose
 * encoding is the same bytes: the output is stable. manifest_copy of it
 * must be equal too.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/manifest.h"
#include "util/buf.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return 0;
	if (alen == 0)
		return 1;
	return a != NULL && b != NULL && memcmp(a, b, alen) == 0;
}

static int
table_equal(const struct manifest_table *a, const struct manifest_table *b)
{
	return strcmp(a->key, b->key) == 0 && a->size == b->size &&
	    a->entries == b->entries && a->min_seq == b->min_seq &&
	    a->max_seq == b->max_seq && a->min_expire == b->min_expire &&
	    a->max_expire == b->max_expire &&
	    bytes_equal(a->first_key, a->first_klen, b->first_key,
	    b->first_klen) &&
	    bytes_equal(a->last_key, a->last_klen, b->last_key, b->last_klen);
}

static int
manifest_equal(const struct manifest *a, const struct manifest *b)
{
	if (a->id != b->id || a->writer_epoch != b->writer_epoch ||
	    a->wal_replay_from != b->wal_replay_from ||
	    a->last_seq != b->last_seq || a->created_ms != b->created_ms ||
	    a->nl0 != b->nl0 || a->nruns != b->nruns ||
	    a->ncheckpoints != b->ncheckpoints)
		return 0;
	for (size_t i = 0; i < a->nl0; i++) {
		if (!table_equal(&a->l0[i], &b->l0[i]))
			return 0;
	}
	for (size_t i = 0; i < a->nruns; i++) {
		if (a->runs[i].id != b->runs[i].id ||
		    a->runs[i].ntables != b->runs[i].ntables)
			return 0;
		for (size_t j = 0; j < a->runs[i].ntables; j++) {
			if (!table_equal(&a->runs[i].tables[j],
			    &b->runs[i].tables[j]))
				return 0;
		}
	}
	for (size_t i = 0; i < a->ncheckpoints; i++) {
		if (strcmp(a->checkpoints[i].id, b->checkpoints[i].id) != 0 ||
		    a->checkpoints[i].manifest_id !=
		    b->checkpoints[i].manifest_id ||
		    a->checkpoints[i].expire_ms != b->checkpoints[i].expire_ms)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m, m2, c;
	struct buf b1, b2;
	int rc;

	rc = manifest_decode(data, size, "fuzz", &m);
	if (rc != 0) {
		if (rc != SHALE_ECORRUPT || m.nl0 != 0 || m.nruns != 0 ||
		    m.ncheckpoints != 0)
			abort();
		manifest_release(&m);
		return 0;
	}
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	if (manifest_encode(&m, &b1) != 0)
		abort();
	if (manifest_decode(b1.data, b1.len, "fuzz again", &m2) != 0)
		abort();
	if (!manifest_equal(&m, &m2))
		abort();
	if (manifest_encode(&m2, &b2) != 0 || b1.len != b2.len ||
	    memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	manifest_copy(&c, &m);
	if (!manifest_equal(&m, &c))
		abort();
	manifest_release(&c);
	manifest_release(&m2);
	manifest_release(&m);
	buf_release(&b2);
	buf_release(&b1);
	return 0;
}
