/*
 * sst_cfilter.c - content filters: which trigrams the values of a group
 * of data blocks may hold, so that a scan for strings every record it
 * wants must contain (needles) passes over the blocks that hold none.
 *
 * The builder side (struct cf_builder) collects, for the group being
 * filled, the distinct trigrams of the values of records under the
 * prefixes of sst_options; a record outside them, or a delete, leaves
 * the group without a filter, since its absence from a scan would be
 * seen. The bytes are in sst_format.h.
 *
 * Why trigrams and few bits: a needle of n bytes has n - 2 trigrams and
 * a group is passed over as soon as one of them misses, so a filter can
 * afford a false positive rate per trigram that a key filter could not:
 * 2 bits and 1 probe let about 39 % of the trigrams it does not hold
 * through, and a needle of 6 distinct trigrams through about 1 group in
 * 300 that does not hold it. Groups of about 16 KiB of blocks rather
 * than single blocks: the distinct trigrams of a few kilobytes of log
 * lines are nearly as many as their bytes, and many recur from one block
 * to the next. On 50 MB of access-log lines with random request ids
 * (16 MB of zstd blocks) the filters cost 13 % of the table at these
 * settings, against 26 % at 4 bits and 2 probes, 41 % with a filter per
 * 4 KiB block, and 12 % at 64 KiB a group (4 bits), where a needle held
 * by one line left 5 % of the blocks to read instead of 0.07 %.
 *
 * Not here: where the block goes in the table (sst_build.c, sst_read.c),
 * the iterator that passes over blocks (sst_iter.c).
 *
 * Threading: a builder belongs to its sst_builder's thread. Decoded
 * filters do not change, and sst_block_excluded() reads them from any
 * thread. A struct sst_needles is filled before iterators use it; only
 * its `skipped` count changes after, atomically.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/sst.h"
#include "engine/lsm/sst_format.h"
#include "engine/lsm/sst_int.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/xmalloc.h"

#define TRIGRAMS	((size_t)1 << 24)

static uint64_t
tri_hash(uint32_t t)
{
	uint8_t b[SST_CF_GRAM] = { (uint8_t)(t >> 16), (uint8_t)(t >> 8),
	    (uint8_t)t };

	return XXH3_64bits(b, sizeof(b));
}

/* Is bit (h1 + i * h2) mod m set for every probe i? */
static int
probes_hit(const uint8_t *bits, uint64_t m, unsigned k, uint64_t h)
{
	uint64_t h1 = h & 0xffffffff, h2 = h >> 32, bit;

	for (unsigned i = 0; i < k; i++) {
		bit = (h1 + i * h2) % m;
		if ((bits[bit / 8] & (1u << (bit % 8))) == 0)
			return 0;
	}
	return 1;
}

/* ---- building ---- */

void
cfb_init(struct cf_builder *c, const struct sst_options *o)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->ok = 1;
	buf_init(&c->out, 0);
}

void
cfb_release(struct cf_builder *c)
{
	free(c->seen);
	free(c->tri);
	buf_release(&c->out);
	memset(c, 0, sizeof(*c));
}

static int
under_prefix(const struct sst_options *o, const uint8_t *key, size_t klen)
{
	for (size_t i = 0; i < o->cf_nprefix; i++)
		if (klen >= o->cf_prefix[i].len &&
		    memcmp(key, o->cf_prefix[i].p, o->cf_prefix[i].len) == 0)
			return 1;
	return 0;
}

/* Forget the group's trigrams; the bitmap is all clear again. */
static void
cfb_forget(struct cf_builder *c)
{
	for (size_t i = 0; i < c->ntri; i++)
		c->seen[c->tri[i] >> 6] &= ~((uint64_t)1 << (c->tri[i] & 63));
	c->ntri = 0;
}

void
cfb_add(struct cf_builder *c, const uint8_t *key, size_t klen, uint8_t kind,
    const uint8_t *val, size_t vlen)
{
	uint32_t t;
	uint64_t bit;

	if (c->o->cf_nprefix == 0 || !c->ok)
		return;
	if (kind != KV_PUT || !under_prefix(c->o, key, klen)) {
		c->ok = 0;
		if (c->seen != NULL)
			cfb_forget(c);
		return;
	}
	if (vlen < SST_CF_GRAM)
		return;
	if (c->seen == NULL)
		c->seen = xcalloc(TRIGRAMS / 64, sizeof(*c->seen));
	t = (uint32_t)val[0] << 8 | val[1];
	for (size_t i = 2; i < vlen; i++) {
		t = (t << 8 | val[i]) & (TRIGRAMS - 1);
		bit = (uint64_t)1 << (t & 63);
		if (c->seen[t >> 6] & bit)
			continue;
		c->seen[t >> 6] |= bit;
		c->tri = xgrow(c->tri, &c->tri_cap, c->ntri + 1,
		    sizeof(*c->tri));
		c->tri[c->ntri++] = t;
	}
}

static int
buf_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[SST_VARINT_MAX];

	return buf_append(b, tmp, varint_put(tmp, v));
}

/* Write the group's entry and start the next one. */
static int
cfb_close(struct cf_builder *c)
{
	uint64_t m = 0, h;
	unsigned k = c->o->cf_k, bits = c->o->cf_bits;
	uint8_t *p;
	int rc;

	if (c->ok) {
		m = (uint64_t)c->ntri * bits;
		if (m < 64)
			m = 64;
		m = (m + 7) / 8 * 8;
	}
	if ((rc = buf_varint(&c->out, c->blocks)) != 0 ||
	    (rc = buf_varint(&c->out, m / 8)) != 0 ||
	    (rc = buf_reserve(&c->out, (size_t)(m / 8))) != 0)
		goto out;
	if (m > 0) {
		p = (uint8_t *)c->out.data + c->out.len;
		memset(p, 0, (size_t)(m / 8));
		for (size_t i = 0; i < c->ntri; i++) {
			h = tri_hash(c->tri[i]);
			for (unsigned j = 0; j < k; j++) {
				uint64_t bit = ((h & 0xffffffff) +
				    j * (h >> 32)) % m;

				p[bit / 8] |= (uint8_t)(1u << (bit % 8));
			}
		}
		c->out.len += (size_t)(m / 8);
		c->out.data[c->out.len] = '\0';
		c->any = 1;
	}
	c->groups++;
out:
	if (c->seen != NULL)
		cfb_forget(c);
	c->ok = 1;
	c->blocks = 0;
	c->raw = 0;
	return rc;
}

int
cfb_block(struct cf_builder *c, size_t raw)
{
	if (c->o->cf_nprefix == 0)
		return 0;
	c->blocks++;
	c->raw += raw;
	if (c->raw < c->o->cf_group)
		return 0;
	return cfb_close(c);
}

int
cfb_finish(struct cf_builder *c, struct buf *out)
{
	uint8_t k;
	int rc;

	buf_reset(out);
	if (c->o->cf_nprefix == 0)
		return 0;
	if (c->blocks > 0 && (rc = cfb_close(c)) != 0)
		return rc;
	if (!c->any)
		return 0;
	k = (uint8_t)c->o->cf_k;
	if ((rc = buf_append(out, &k, 1)) != 0 ||
	    (rc = buf_varint(out, c->groups)) != 0 ||
	    (rc = buf_append(out, c->out.data, c->out.len)) != 0)
		return rc;
	if (out->len > SST_META_RAW_MAX)
		return -EFBIG;
	return 0;
}

uint64_t
cfb_size(const struct cf_builder *c)
{
	return c->out.len + (uint64_t)c->ntri * c->o->cf_bits / 8;
}

/* ---- reading ---- */

int
cf_decode(struct sst *t, uint64_t off, const uint8_t *p, size_t n)
{
	uint64_t ng, nb, bytes, blocks = 0;
	size_t pos = 1, cap = 0;

	if (n < 2 || p[0] < 1 || p[0] > SST_CF_K_MAX ||
	    varint_get(p, n, &pos, &ng) != 0 || ng < 1 || ng > t->nidx)
		goto bad;
	t->cf_of = xcalloc(t->nidx ? t->nidx : 1, sizeof(*t->cf_of));
	while (t->ncfg < ng) {
		if (varint_get(p, n, &pos, &nb) != 0 || nb < 1 ||
		    nb > t->nidx - blocks ||
		    varint_get(p, n, &pos, &bytes) != 0 ||
		    (bytes != 0 && bytes < 8) || bytes > n - pos)
			goto bad;
		t->cfg = xgrow(t->cfg, &cap, t->ncfg + 1, sizeof(*t->cfg));
		t->cfg[t->ncfg].off = pos;
		t->cfg[t->ncfg].m = bytes * 8;
		for (uint64_t j = 0; j < nb; j++)
			t->cf_of[blocks + j] = (uint32_t)t->ncfg;
		blocks += nb;
		pos += (size_t)bytes;
		t->ncfg++;
	}
	if (blocks != t->nidx || pos != n)
		goto bad;
	t->cf = xmalloc(n);
	memcpy(t->cf, p, n);
	t->cf_k = p[0];
	return 0;

bad:
	free(t->cfg);
	free(t->cf_of);
	t->cfg = NULL;
	t->cf_of = NULL;
	t->ncfg = 0;
	return sst_corrupt(t, off, "bad content filter");
}

int
sst_block_excluded(struct sst *t, size_t i, const struct sst_needles *nd)
{
	if (nd == NULL || nd->n == 0 || sst_cf_load(t) != 0)
		return 0;
	return cf_excluded(t, i, nd);
}

int
cf_excluded(const struct sst *t, size_t i, const struct sst_needles *nd)
{
	const struct cf_group *g;

	if (nd == NULL || nd->n == 0 || i >= t->nidx ||
	    atomic_load_explicit(&((struct sst *)t)->cf_state,
	    memory_order_acquire) != 1)
		return 0;
	g = &t->cfg[t->cf_of[i]];
	if (g->m == 0)
		return 0;
	for (size_t j = 0; j < nd->n; j++)
		for (size_t k = 0; k < nd->v[j].nh; k++)
			if (!probes_hit(t->cf + g->off, g->m, t->cf_k,
			    nd->v[j].h[k]))
				return 1;
	return 0;
}

int
sst_has_cfilter(const struct sst *t, uint64_t *bytes)
{
	if (bytes != NULL)
		*bytes = t->cf_size != 0 ? t->cf_size + SST_TRAILER_SIZE : 0;
	return t->cf_size != 0;
}

/* ---- needles ---- */

void
sst_needles_init(struct sst_needles *nd)
{
	nd->v = NULL;
	nd->n = 0;
	atomic_init(&nd->skipped, 0);
	nd->hi = NULL;
	nd->hilen = 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
sst_needles_add(struct sst_needles *nd, const char *const *s,
    const size_t *lens, size_t n)
{
	const uint8_t *p;
	struct sst_needle *x;
	uint32_t *tri;
	size_t len, nt, j, u;

	for (size_t i = 0; i < n; i++) {
		p = (const uint8_t *)s[i];
		len = lens != NULL ? lens[i] : strlen(s[i]);
		if (len < SST_CF_GRAM)
			continue;
		nt = len - 2;
		tri = xcalloc(nt, sizeof(*tri));
		for (j = 0; j < nt; j++)
			tri[j] = (uint32_t)p[j] << 16 | (uint32_t)p[j + 1] << 8 |
			    p[j + 2];
		qsort(tri, nt, sizeof(*tri), cmp_u32);
		nd->v = xrealloc(nd->v, (nd->n + 1) * sizeof(*nd->v));
		x = &nd->v[nd->n++];
		x->h = xcalloc(nt, sizeof(*x->h));
		for (j = u = 0; j < nt; j++)
			if (j == 0 || tri[j] != tri[j - 1])
				x->h[u++] = tri_hash(tri[j]);
		x->nh = u;
		free(tri);
	}
}

void
sst_needles_release(struct sst_needles *nd)
{
	for (size_t i = 0; i < nd->n; i++)
		free(nd->v[i].h);
	free(nd->v);
	nd->v = NULL;
	nd->n = 0;
}
