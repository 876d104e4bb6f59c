/*
 * series.c - metric series: opening and closing, the dictionary and its
 * postings, selecting series, statistics, and following a writer
 * (series.h, series_int.h).
 */
#include "config.h"

#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series_int.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#include <xxhash.h>

/* ---- keys ---- */

size_t
skey_id(unsigned char *k, char kind, uint64_t id)
{
	k[0] = KEY_SERIES;
	k[1] = SKEY_VERSION;
	k[2] = (unsigned char)kind;
	put_be64(k + 3, id);
	return SKEY_ID_LEN;
}

/* Times are offset by 2^63 so that their byte order is their order. */
size_t
skey_t(unsigned char *k, char kind, uint64_t id, int64_t t)
{
	skey_id(k, kind, id);
	put_be64(k + SKEY_ID_LEN, (uint64_t)t ^ (UINT64_C(1) << 63));
	return SKEY_LEN;
}

size_t
skey_off(unsigned char *k, uint64_t id, uint64_t off)
{
	skey_id(k, SK_INDEX, id);
	put_be64(k + SKEY_ID_LEN, off);
	return SKEY_LEN;
}

uint64_t
skey_u64(const unsigned char *p)
{
	return get_be64(p);
}

int64_t
skey_time(const unsigned char *p)
{
	return (int64_t)(get_be64(p) ^ (UINT64_C(1) << 63));
}

/* ---- errors and callbacks ---- */

int
series_errno(struct series *s, int rc)
{
	(void)s;
	if (rc == SHALE_EFENCED)
		return err_set(-EROFS, "another writer has taken the store");
	return rc;
}

void
series_on_change(struct series *s, series_change_fn fn, void *arg)
{
	pthread_rwlock_wrlock(&s->change_lock);
	s->change_fn = fn;
	s->change_arg = arg;
	pthread_rwlock_unlock(&s->change_lock);
}

void
series_changed(struct series *s, uint64_t id)
{
	pthread_rwlock_rdlock(&s->change_lock);
	if (s->change_fn != NULL)
		s->change_fn(s->change_arg, id);
	pthread_rwlock_unlock(&s->change_lock);
}

/* ---- the dictionary ---- */

static void
grow_series(struct series *s)
{
	size_t ncap = s->cap * 2;
	struct sseries **bh = xcalloc(ncap, sizeof(*bh));
	struct sseries **bi = xcalloc(ncap, sizeof(*bi));
	struct sseries *ss, *next;

	for (size_t i = 0; i < s->cap; i++) {
		for (ss = s->by_id[i]; ss != NULL; ss = next) {
			next = ss->id_next;
			ss->id_next = bi[ss->id & (ncap - 1)];
			bi[ss->id & (ncap - 1)] = ss;
			ss->hash_next = bh[ss->hash & (ncap - 1)];
			bh[ss->hash & (ncap - 1)] = ss;
		}
	}
	free(s->by_hash);
	free(s->by_id);
	s->by_hash = bh;
	s->by_id = bi;
	s->cap = ncap;
}

/* (dict) */
struct sseries *
dict_find(struct series *s, const struct labels *ls, uint64_t hash)
{
	struct sseries *ss;

	for (ss = s->by_hash[hash & (s->cap - 1)]; ss != NULL;
	    ss = ss->hash_next)
		if (ss->hash == hash && labels_equal(ss->ls, ls))
			return ss;
	return NULL;
}

/* (dict) */
struct sseries *
dict_by_id(struct series *s, uint64_t id)
{
	struct sseries *ss;

	for (ss = s->by_id[id & (s->cap - 1)]; ss != NULL; ss = ss->id_next)
		if (ss->id == id)
			return ss;
	return NULL;
}

static uint64_t
pair_hash(const char *name, size_t nlen, const char *value, size_t vlen)
{
	char tmp[LABELS_NAME_MAX + 1 + MATCHER_VALUE_MAX];

	/* a matcher's value may be longer than any label's: no pair has it */
	if (nlen > LABELS_NAME_MAX || vlen > MATCHER_VALUE_MAX)
		return 0;
	memcpy(tmp, name, nlen);
	tmp[nlen] = '\0';
	memcpy(tmp + nlen + 1, value, vlen);
	return XXH3_64bits(tmp, nlen + 1 + vlen);
}

/* (dict) */
static struct posting *
posting_find(struct series *s, const char *name, size_t nlen,
    const char *value, size_t vlen, uint64_t h)
{
	struct posting *p;

	for (p = s->postings[h & (s->pcap - 1)]; p != NULL; p = p->next)
		if (p->hash == h && p->name_len == nlen && p->value_len == vlen &&
		    memcmp(p->name, name, nlen) == 0 &&
		    memcmp(p->value, value, vlen) == 0)
			return p;
	return NULL;
}

/* (dict) */
static struct lname *
lname_find(struct series *s, const char *name, size_t len)
{
	struct lname *ln;
	uint64_t h = XXH3_64bits(name, len);

	for (ln = s->names[h & (s->ncap - 1)]; ln != NULL; ln = ln->next)
		if (ln->len == len && memcmp(ln->name, name, len) == 0)
			return ln;
	return NULL;
}

/* (dict, write) */
static struct lname *
lname_get(struct series *s, const char *name, size_t len)
{
	struct lname *ln = lname_find(s, name, len);
	uint64_t h;

	if (ln != NULL)
		return ln;
	if (s->nnames >= s->ncap) {
		size_t ncap = s->ncap * 2;
		struct lname **v = xcalloc(ncap, sizeof(*v)), *x, *next;

		for (size_t i = 0; i < s->ncap; i++)
			for (x = s->names[i]; x != NULL; x = next) {
				next = x->next;
				h = XXH3_64bits(x->name, x->len);
				x->next = v[h & (ncap - 1)];
				v[h & (ncap - 1)] = x;
			}
		free(s->names);
		s->names = v;
		s->ncap = ncap;
	}
	ln = xcalloc(1, sizeof(*ln));
	ln->name = xmalloc(len + 1);
	memcpy(ln->name, name, len);
	ln->name[len] = '\0';
	ln->len = len;
	h = XXH3_64bits(name, len);
	ln->next = s->names[h & (s->ncap - 1)];
	s->names[h & (s->ncap - 1)] = ln;
	s->nnames++;
	return ln;
}

/* (dict, write) */
static void
posting_add(struct series *s, const struct label *lb, uint64_t id)
{
	uint64_t h = pair_hash(lb->name, lb->name_len, lb->value, lb->value_len);
	struct posting *p = posting_find(s, lb->name, lb->name_len, lb->value,
	    lb->value_len, h);
	struct lname *ln;
	size_t i;

	if (p == NULL) {
		if (s->npostings >= s->pcap) {
			size_t ncap = s->pcap * 2;
			struct posting **v = xcalloc(ncap, sizeof(*v)), *x, *next;

			for (i = 0; i < s->pcap; i++)
				for (x = s->postings[i]; x != NULL; x = next) {
					next = x->next;
					x->next = v[x->hash & (ncap - 1)];
					v[x->hash & (ncap - 1)] = x;
				}
			free(s->postings);
			s->postings = v;
			s->pcap = ncap;
		}
		p = xcalloc(1, sizeof(*p));
		p->name = xmalloc(lb->name_len + 1 + lb->value_len + 1);
		memcpy(p->name, lb->name, lb->name_len);
		p->name[lb->name_len] = '\0';
		memcpy(p->name + lb->name_len + 1, lb->value, lb->value_len);
		p->name[lb->name_len + 1 + lb->value_len] = '\0';
		p->name_len = lb->name_len;
		p->value = p->name + lb->name_len + 1;
		p->value_len = lb->value_len;
		p->hash = h;
		p->next = s->postings[h & (s->pcap - 1)];
		s->postings[h & (s->pcap - 1)] = p;
		s->npostings++;
		ln = lname_get(s, lb->name, lb->name_len);
		if (ln->n == ln->cap) {
			ln->cap = ln->cap ? ln->cap * 2 : 4;
			ln->pairs = xrealloc(ln->pairs, ln->cap *
			    sizeof(*ln->pairs));
		}
		ln->pairs[ln->n++] = p;
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 2;
		p->ids = xrealloc(p->ids, p->cap * sizeof(*p->ids));
	}
	/* ids mostly come in order; a follower's may not */
	for (i = p->n; i > 0 && p->ids[i - 1] > id; i--)
		;
	if (i > 0 && p->ids[i - 1] == id)
		return;
	memmove(p->ids + i + 1, p->ids + i, (p->n - i) * sizeof(*p->ids));
	p->ids[i] = id;
	p->n++;
}

/*
 * Add series id with label set ls (taken) to the dictionary, unless it
 * is there (a follower may be told twice). (dict, write)
 */
void
dict_add(struct series *s, uint64_t id, struct labels *ls)
{
	struct sseries *ss;

	if (dict_by_id(s, id) != NULL) {
		labels_free(ls);
		return;
	}
	if (s->count >= s->cap)
		grow_series(s);
	ss = xcalloc(1, sizeof(*ss));
	ss->id = id;
	ss->ls = ls;
	ss->hash = labels_hash(ls);
	ss->first_t = ss->last_t = 0;
	ss->empty = 1;
	ss->retention = series_retention(s, ls);
	ss->id_next = s->by_id[id & (s->cap - 1)];
	s->by_id[id & (s->cap - 1)] = ss;
	ss->hash_next = s->by_hash[ss->hash & (s->cap - 1)];
	s->by_hash[ss->hash & (s->cap - 1)] = ss;
	s->count++;
	if (id >= s->next_id)
		s->next_id = id + 1;
	for (size_t i = 0; i < labels_count(ls); i++)
		posting_add(s, labels_at(ls, i), id);
	metric_set(s->m_series, (double)s->count);
}

int
series_find(struct series *s, const struct labels *ls, uint64_t *id)
{
	struct sseries *ss;

	pthread_rwlock_rdlock(&s->dict);
	ss = dict_find(s, ls, labels_hash(ls));
	if (ss != NULL)
		*id = ss->id;
	pthread_rwlock_unlock(&s->dict);
	return ss != NULL ? 0 : -ENOENT;
}

int
series_labels(struct series *s, uint64_t id, struct labels **out)
{
	struct sseries *ss;

	pthread_rwlock_rdlock(&s->dict);
	ss = dict_by_id(s, id);
	if (ss != NULL)
		*out = labels_dup(ss->ls);
	pthread_rwlock_unlock(&s->dict);
	return ss != NULL ? 0 : -ENOENT;
}

/* ---- selecting ---- */

struct idvec {
	uint64_t	*v;
	size_t		 n, cap;
};

static void
idvec_push(struct idvec *x, uint64_t id)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->v = xrealloc(x->v, x->cap * sizeof(*x->v));
	}
	x->v[x->n++] = id;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The ids matching one selector into x: from the shortest posting list
 * of its = matchers (a value must be there), else from every series.
 * (dict)
 */
static int
select_one(struct series *s, const struct selector *sel, struct idvec *x)
{
	const struct posting *best = NULL, *p;
	size_t i, nm = selector_count(sel);
	int have_eq = 0, rc;

	for (i = 0; i < nm; i++) {
		const struct matcher *m = selector_at(sel, i);
		const char *name = matcher_name(m), *val;
		size_t vlen;

		if (matcher_op(m) != MATCHER_EQ)
			continue;
		val = matcher_value(m, &vlen);
		if (vlen == 0)
			continue;
		have_eq = 1;
		p = posting_find(s, name, strlen(name), val, vlen,
		    pair_hash(name, strlen(name), val, vlen));
		if (p == NULL)
			return 0;
		if (best == NULL || p->n < best->n)
			best = p;
	}
	if (have_eq) {
		for (i = 0; i < best->n; i++) {
			struct sseries *ss = dict_by_id(s, best->ids[i]);

			if (ss == NULL)
				continue;
			if ((rc = selector_matches(sel, ss->ls)) < 0)
				return rc;
			if (rc)
				idvec_push(x, ss->id);
		}
		return 0;
	}
	for (i = 0; i < s->cap; i++) {
		for (struct sseries *ss = s->by_id[i]; ss != NULL;
		    ss = ss->id_next) {
			if ((rc = selector_matches(sel, ss->ls)) < 0)
				return rc;
			if (rc)
				idvec_push(x, ss->id);
		}
	}
	return 0;
}

/* Does series id hold a sample in [mint, maxt]? 1, 0, or -errno. */
static int
has_samples(struct series *s, uint64_t id, int64_t mint, int64_t maxt)
{
	unsigned char lo[SKEY_LEN], hi[SKEY_LEN];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t kl, vl;
	int rc = 0;

	/*
	 * The last chunk starting at or before maxt: chunks do not overlap,
	 * so an earlier one ends before it starts. It has a sample in the
	 * window if it starts in it, else if one after mint is not past
	 * maxt.
	 */
	skey_t(lo, SK_CHUNK, id, INT64_MIN);
	skey_t(hi, SK_CHUNK, id, INT64_MAX);
	it = engine_iter_new(s->e, NULL, lo, SKEY_LEN, hi, SKEY_LEN);
	skey_t(lo, SK_CHUNK, id, maxt);
	engine_iter_seek_for_prev(it, lo, SKEY_LEN);
	if (engine_iter_valid(it)) {
		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl == SKEY_LEN && vl >= CHUNK_HDR_LEN &&
		    (int64_t)get_le64(v + 12) >= mint) {
			struct chunk_iter ci;
			int64_t ct;
			double cv;

			if (skey_time(k + SKEY_ID_LEN) >= mint)
				rc = 1;
			else if (chunk_iter_init(&ci, v + CHUNK_HDR_LEN,
			    vl - CHUNK_HDR_LEN) == 0 &&
			    chunk_iter_seek(&ci, mint, &ct, &cv) == 1 &&
			    ct <= maxt)
				rc = 1;
		}
	}
	/* then a head sample, or a late one, in [mint, maxt] */
	for (int kind = 0; kind < 2 && rc == 0; kind++) {
		char what = kind == 0 ? SK_HEAD : SK_LATE;

		if ((rc = engine_iter_status(it)) != 0)
			break;
		engine_iter_free(it);
		skey_t(lo, what, id, mint);
		skey_t(hi, what, id, INT64_MAX);
		it = engine_iter_new(s->e, NULL, lo, SKEY_LEN, hi, SKEY_LEN);
		engine_iter_seek_first(it);
		if (engine_iter_valid(it)) {
			k = engine_iter_key(it, &kl);
			rc = skey_time(k + SKEY_ID_LEN) <= maxt;
		} else
			rc = engine_iter_status(it);
	}
	engine_iter_free(it);
	return rc;
}

/* The matching ids, sorted and unique, in *x. */
static int
select_ids(struct series *s, struct selector *const *sel, size_t n,
    int64_t mint, int64_t maxt, struct idvec *x)
{
	size_t i, j;
	int rc = 0;

	pthread_rwlock_rdlock(&s->dict);
	if (n == 0) {
		for (i = 0; i < s->cap; i++)
			for (struct sseries *ss = s->by_id[i]; ss != NULL;
			    ss = ss->id_next)
				idvec_push(x, ss->id);
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = select_one(s, sel[i], x);
	pthread_rwlock_unlock(&s->dict);
	if (rc != 0)
		return rc;
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), cmp_u64);
	for (i = j = 0; i < x->n; i++)
		if (j == 0 || x->v[j - 1] != x->v[i])
			x->v[j++] = x->v[i];
	x->n = j;
	if (mint > maxt)
		return 0;
	for (i = j = 0; i < x->n; i++) {
		if ((rc = has_samples(s, x->v[i], mint, maxt)) < 0)
			return rc;
		if (rc)
			x->v[j++] = x->v[i];
	}
	x->n = j;
	return 0;
}

int
series_select(struct series *s, struct selector *const *sel, size_t n,
    int64_t mint, int64_t maxt, series_id_fn fn, void *arg)
{
	struct idvec x = { 0 };
	struct labels *ls;
	int rc;

	rc = select_ids(s, sel, n, mint, maxt, &x);
	for (size_t i = 0; rc == 0 && i < x.n; i++) {
		if (series_labels(s, x.v[i], &ls) != 0)
			continue;
		rc = fn(arg, x.v[i], ls);
		labels_free(ls);
	}
	free(x.v);
	return rc;
}

struct strvec {
	char		**v;
	size_t		 n, cap;
};

static void
strvec_push(struct strvec *x, const char *p, size_t len)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->v = xrealloc(x->v, x->cap * sizeof(*x->v));
	}
	x->v[x->n] = xmalloc(len + 1);
	memcpy(x->v[x->n], p, len);
	x->v[x->n][len] = '\0';
	x->n++;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort, drop repeats, give each to fn, free. */
static int
strvec_emit(struct strvec *x, series_name_fn fn, void *arg)
{
	int rc = 0;

	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), cmp_str);
	for (size_t i = 0; i < x->n; i++) {
		if (rc == 0 && (i == 0 || strcmp(x->v[i - 1], x->v[i]) != 0))
			rc = fn(arg, x->v[i], strlen(x->v[i]));
	}
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i]);
	free(x->v);
	return rc;
}

int
series_label_names(struct series *s, struct selector *const *sel, size_t n,
    int64_t mint, int64_t maxt, series_name_fn fn, void *arg)
{
	struct strvec names = { 0 };
	struct idvec x = { 0 };
	int rc;

	if (n == 0 && mint > maxt) {
		pthread_rwlock_rdlock(&s->dict);
		for (size_t i = 0; i < s->ncap; i++)
			for (struct lname *ln = s->names[i]; ln != NULL;
			    ln = ln->next)
				strvec_push(&names, ln->name, ln->len);
		pthread_rwlock_unlock(&s->dict);
		return strvec_emit(&names, fn, arg);
	}
	if ((rc = select_ids(s, sel, n, mint, maxt, &x)) != 0) {
		free(x.v);
		return rc;
	}
	pthread_rwlock_rdlock(&s->dict);
	for (size_t i = 0; i < x.n; i++) {
		struct sseries *ss = dict_by_id(s, x.v[i]);

		for (size_t j = 0; ss != NULL && j < labels_count(ss->ls); j++) {
			const struct label *lb = labels_at(ss->ls, j);

			strvec_push(&names, lb->name, lb->name_len);
		}
	}
	pthread_rwlock_unlock(&s->dict);
	free(x.v);
	return strvec_emit(&names, fn, arg);
}

int
series_label_values(struct series *s, const char *name,
    struct selector *const *sel, size_t n, int64_t mint, int64_t maxt,
    series_name_fn fn, void *arg)
{
	struct strvec vals = { 0 };
	struct idvec x = { 0 };
	struct lname *ln;
	int rc;

	if (n == 0 && mint > maxt) {
		pthread_rwlock_rdlock(&s->dict);
		ln = lname_find(s, name, strlen(name));
		for (size_t i = 0; ln != NULL && i < ln->n; i++)
			if (ln->pairs[i]->n > 0)
				strvec_push(&vals, ln->pairs[i]->value,
				    ln->pairs[i]->value_len);
		pthread_rwlock_unlock(&s->dict);
		return strvec_emit(&vals, fn, arg);
	}
	if ((rc = select_ids(s, sel, n, mint, maxt, &x)) != 0) {
		free(x.v);
		return rc;
	}
	pthread_rwlock_rdlock(&s->dict);
	for (size_t i = 0; i < x.n; i++) {
		struct sseries *ss = dict_by_id(s, x.v[i]);
		const char *v = ss != NULL ? labels_get(ss->ls, name) : NULL;

		if (v != NULL)
			strvec_push(&vals, v, strlen(v));
	}
	pthread_rwlock_unlock(&s->dict);
	free(x.v);
	return strvec_emit(&vals, fn, arg);
}

int
series_metrics(struct series *s, series_name_fn fn, void *arg)
{
	return series_label_values(s, LABELS_METRIC_NAME, NULL, 0, 1, 0, fn,
	    arg);
}

struct sorted_series {
	uint64_t	 id;
	struct labels	*ls;
};

static int
cmp_sorted(const void *a, const void *b)
{
	return labels_compare(((const struct sorted_series *)a)->ls,
	    ((const struct sorted_series *)b)->ls);
}

int
series_of_metric(struct series *s, const char *metric, series_id_fn fn,
    void *arg)
{
	struct sorted_series *v = NULL;
	struct posting *p;
	size_t n = 0, i;
	int rc = 0;

	pthread_rwlock_rdlock(&s->dict);
	p = posting_find(s, LABELS_METRIC_NAME, 8, metric, strlen(metric),
	    pair_hash(LABELS_METRIC_NAME, 8, metric, strlen(metric)));
	if (p != NULL && p->n > 0) {
		v = xcalloc(p->n, sizeof(*v));
		for (i = 0; i < p->n; i++) {
			struct sseries *ss = dict_by_id(s, p->ids[i]);

			if (ss != NULL) {
				v[n].id = ss->id;
				v[n++].ls = labels_dup(ss->ls);
			}
		}
	}
	pthread_rwlock_unlock(&s->dict);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_sorted);
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = fn(arg, v[i].id, v[i].ls);
		labels_free(v[i].ls);
	}
	free(v);
	return rc;
}

/* ---- statistics ---- */

void
series_stats(struct series *s, struct series_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_rwlock_rdlock(&s->dict);
	st->series = s->count;
	st->label_pairs = s->npostings;
	st->label_names = s->nnames;
	pthread_mutex_lock(&s->state);
	for (size_t i = 0; i < s->cap; i++) {
		for (struct sseries *ss = s->by_id[i]; ss != NULL;
		    ss = ss->id_next) {
			if (!ss->loaded || ss->empty)
				continue;
			st->head_series++;
			st->head_samples += ss->head_n;
			if (st->min_t == 0 || ss->first_t < st->min_t)
				st->min_t = ss->first_t;
			if (st->max_t == 0 || ss->last_t > st->max_t)
				st->max_t = ss->last_t;
		}
	}
	pthread_mutex_unlock(&s->state);
	pthread_rwlock_unlock(&s->dict);
}

static int
cmp_top(const void *a, const void *b)
{
	const struct series_top *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Keep the `limit` biggest of v[0..n), sorted; returns how many. */
static size_t
top_cut(struct series_top *v, size_t n, size_t limit)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_top);
	for (size_t i = limit; i < n; i++)
		free((char *)v[i].name);
	return n < limit ? n : limit;
}

int
series_tsdb_stats(struct series *s, size_t limit,
    struct series_tsdb_stats *st)
{
	struct series_top *bm, *bn, *bp, *mem;
	size_t nm = 0, nn = 0, np = 0, nmem = 0;

	memset(st, 0, sizeof(*st));
	pthread_rwlock_rdlock(&s->dict);
	bm = xcalloc(s->npostings + 1, sizeof(*bm));
	bp = xcalloc(s->npostings + 1, sizeof(*bp));
	bn = xcalloc(s->nnames + 1, sizeof(*bn));
	mem = xcalloc(s->nnames + 1, sizeof(*mem));
	for (size_t i = 0; i < s->pcap; i++) {
		for (struct posting *p = s->postings[i]; p != NULL;
		    p = p->next) {
			struct buf b;

			if (p->n == 0)
				continue;
			if (strcmp(p->name, LABELS_METRIC_NAME) == 0) {
				bm[nm].name = xstrdup(p->value);
				bm[nm++].count = p->n;
			}
			buf_init(&b, 0);
			buf_printf(&b, "%s=%s", p->name, p->value);
			bp[np].name = buf_detach(&b, NULL);
			bp[np++].count = p->n;
		}
	}
	for (size_t i = 0; i < s->ncap; i++) {
		for (struct lname *ln = s->names[i]; ln != NULL;
		    ln = ln->next) {
			uint64_t bytes = 0;

			for (size_t j = 0; j < ln->n; j++)
				bytes += ln->pairs[j]->value_len *
				    ln->pairs[j]->n;
			bn[nn].name = xstrdup(ln->name);
			bn[nn++].count = ln->n;
			mem[nmem].name = xstrdup(ln->name);
			mem[nmem++].count = bytes;
		}
	}
	pthread_rwlock_unlock(&s->dict);
	st->by_metric = bm;
	st->n_metric = top_cut(bm, nm, limit);
	st->by_pair = bp;
	st->n_pair = top_cut(bp, np, limit);
	st->by_label_name = bn;
	st->n_label_name = top_cut(bn, nn, limit);
	st->memory_by_label_name = mem;
	st->n_memory = top_cut(mem, nmem, limit);
	return 0;
}

void
series_tsdb_stats_free(struct series_tsdb_stats *st)
{
	struct series_top *lists[] = { st->by_metric, st->by_label_name,
	    st->by_pair, st->memory_by_label_name };
	size_t ns[] = { st->n_metric, st->n_label_name, st->n_pair,
	    st->n_memory };

	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < ns[i]; j++)
			free((char *)lists[i][j].name);
		free(lists[i]);
	}
	memset(st, 0, sizeof(*st));
}

/* ---- following a writer ---- */

/*
 * A follower's view of one record the writer wrote: a new series goes
 * into the dictionary; a head sample moves a loaded series' end; every
 * record of a series bumps its generation, so that a load that read the
 * engine before the record does not install what it read (series_load).
 */
static void
series_apply(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	struct series *s = arg;
	const unsigned char *k = key, *v = val;
	struct labels *ls;
	struct sseries *ss;
	uint64_t id;

	if (klen < SKEY_ID_LEN || k[0] != KEY_SERIES || k[1] != SKEY_VERSION)
		return;
	id = get_be64(k + 3);
	if (k[2] == SK_SERIES && val != NULL && klen == SKEY_ID_LEN) {
		if (labels_decode(val, vlen, NULL, &ls) != 0) {
			log_warn("series %llu: a label set that does not decode: "
			    "%s", (unsigned long long)id, err_detail());
			return;
		}
		pthread_rwlock_wrlock(&s->dict);
		dict_add(s, id, ls);
		pthread_rwlock_unlock(&s->dict);
		series_changed(s, id);
		return;
	}
	if (k[2] == SK_LATE)
		atomic_store(&s->lates, 1);
	if (k[2] != SK_HEAD && k[2] != SK_CHUNK)
		return;
	pthread_rwlock_rdlock(&s->dict);
	ss = dict_by_id(s, id);
	if (ss != NULL) {
		pthread_mutex_lock(&s->state);
		ss->gen++;
		if (ss->loaded && k[2] == SK_HEAD && v != NULL &&
		    vlen == HEAD_VAL_LEN && klen == SKEY_LEN) {
			int64_t t = skey_time(k + SKEY_ID_LEN);
			uint64_t bits = get_le64(v), off = get_le64(v + 8);

			if (ss->empty || t > ss->last_t) {
				if (ss->empty)
					ss->first_t = t;
				ss->empty = 0;
				ss->last_t = t;
				ss->last_v = bits;
				ss->end = off + series_line_len(t, bits);
			}
		}
		pthread_mutex_unlock(&s->state);
	}
	pthread_rwlock_unlock(&s->dict);
	if (ss != NULL && k[2] == SK_HEAD && val != NULL)
		series_changed(s, id);
}

/* ---- opening and closing ---- */

/*
 * series_options.retention_filters: lines of SELECTOR:DURATION, the
 * duration after the last colon (a metric name or a value may hold
 * colons, a duration never does). Blank lines and lines starting with
 * '#' are skipped.
 */
static int
parse_filters(struct series *s, const char *text)
{
	const char *p = text, *nl, *colon;
	struct selector *sel;
	char dur[64];
	int64_t ms;
	size_t line = 0, n;
	int rc;

	for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
		const char *a = p, *b;

		line++;
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		while (a < nl && (*a == ' ' || *a == '\t'))
			a++;
		b = nl;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
			b--;
		if (a == b || *a == '#')
			continue;
		for (colon = b; colon > a && colon[-1] != ':'; colon--)
			;
		if (colon == a)
			return err_set(-EINVAL, "series_options.retention_"
			    "filters, line %zu: SELECTOR:DURATION, please", line);
		n = (size_t)(b - colon);
		if (n == 0 || n >= sizeof(dur))
			return err_set(-EINVAL, "series_options.retention_"
			    "filters, line %zu: no duration after the last "
			    "colon", line);
		memcpy(dur, colon, n);
		dur[n] = '\0';
		if (settings_parse_duration(dur, &ms) != 0 || ms < 0)
			return err_set(-EINVAL, "series_options.retention_"
			    "filters, line %zu: '%s' is not a duration", line,
			    dur);
		if ((rc = selector_parse(a, (size_t)(colon - 1 - a), &sel)) != 0)
			return err_set(rc, "series_options.retention_filters, "
			    "line %zu: %s", line, err_detail());
		s->filters = xrealloc(s->filters, (s->nfilters + 1) *
		    sizeof(*s->filters));
		s->filters[s->nfilters].sel = sel;
		s->filters[s->nfilters++].retention_ms = ms;
	}
	return 0;
}

static int
load_dictionary(struct series *s)
{
	unsigned char lo[3] = { KEY_SERIES, SKEY_VERSION, SK_SERIES };
	unsigned char hi[3] = { KEY_SERIES, SKEY_VERSION, SK_SERIES + 1 };
	struct engine_iter *it;
	struct labels *ls;
	const unsigned char *k;
	const void *v;
	size_t kl, vl;
	int rc;

	it = engine_iter_new(s->e, NULL, lo, 3, hi, 3);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl != SKEY_ID_LEN)
			continue;
		if ((rc = labels_decode(v, vl, NULL, &ls)) != 0) {
			log_warn("series %llu: a label set that does not "
			    "decode, left out: %s",
			    (unsigned long long)get_be64(k + 3), err_detail());
			continue;
		}
		dict_add(s, get_be64(k + 3), ls);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

static int
load_meta(struct series *s)
{
	unsigned char lo[3] = { KEY_SERIES, SKEY_VERSION, SK_META };
	unsigned char hi[3] = { KEY_SERIES, SKEY_VERSION, SK_META + 1 };
	struct engine_iter *it;
	const unsigned char *k;
	const void *v;
	size_t kl, vl;
	int rc;

	it = engine_iter_new(s->e, NULL, lo, 3, hi, 3);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		struct meta_seen *m;
		uint64_t h;

		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl <= 3)
			continue;
		m = xcalloc(1, sizeof(*m));
		m->metric = xmalloc(kl - 3 + 1);
		memcpy(m->metric, k + 3, kl - 3);
		m->metric[kl - 3] = '\0';
		m->hash = XXH3_64bits(v, vl);
		h = XXH3_64bits(m->metric, kl - 3);
		m->next = s->meta[h & (s->mcap - 1)];
		s->meta[h & (s->mcap - 1)] = m;
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

/* Whether the store holds any late sample ('O' record): s->lates. */
static int
find_lates(struct series *s)
{
	unsigned char lo[3] = { KEY_SERIES, SKEY_VERSION, SK_LATE };
	unsigned char hi[3] = { KEY_SERIES, SKEY_VERSION, SK_LATE + 1 };
	struct engine_iter *it;
	int rc;

	it = engine_iter_new(s->e, NULL, lo, sizeof(lo), hi, sizeof(hi));
	engine_iter_seek_first(it);
	if (engine_iter_valid(it))
		atomic_store(&s->lates, 1);
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

int
series_open(struct engine *e, const struct series_options *o,
    struct series **out)
{
	struct metrics *m = metrics_global();
	struct engine_status est;
	struct series *s;
	unsigned char k[3] = { KEY_SERIES, SKEY_VERSION, SK_NEXT };
	struct buf val;
	int rc;

	s = xcalloc(1, sizeof(*s));
	s->e = e;
	if (o != NULL)
		s->o = *o;
	s->o.retention_filters = NULL;	/* parsed below, not kept */
	if (o != NULL && o->retention_filters != NULL &&
	    (rc = parse_filters(s, o->retention_filters)) != 0) {
		for (size_t i = 0; i < s->nfilters; i++)
			selector_free(s->filters[i].sel);
		free(s->filters);
		free(s);
		return rc;
	}
	if (s->o.max_series == 0)
		s->o.max_series = SERIES_DEFAULT_MAX;
	engine_status(e, &est);
	s->ro = est.reader;
	pthread_mutex_init(&s->append, NULL);
	pthread_rwlock_init(&s->dict, NULL);
	pthread_mutex_init(&s->state, NULL);
	pthread_rwlock_init(&s->change_lock, NULL);
	pthread_mutex_init(&s->stop_lock, NULL);
	pthread_mutex_init(&s->meta_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->stop_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->cap = 1024;
	s->by_hash = xcalloc(s->cap, sizeof(*s->by_hash));
	s->by_id = xcalloc(s->cap, sizeof(*s->by_id));
	s->pcap = 1024;
	s->postings = xcalloc(s->pcap, sizeof(*s->postings));
	s->ncap = 64;
	s->names = xcalloc(s->ncap, sizeof(*s->names));
	s->mcap = 1024;
	s->meta = xcalloc(s->mcap, sizeof(*s->meta));
	s->next_id = SERIES_FIRST_ID;

	s->m_series = metric_series(metrics_gauge(m, "series_active",
	    "Metric series in the store's dictionary.", NULL));
	s->m_samples = metric_series(metrics_counter(m,
	    "series_samples_appended_total", "Samples appended to series.",
	    NULL));
	s->m_created = metric_series(metrics_counter(m,
	    "series_created_total", "Series made.", NULL));
	s->m_ooo = metric_series(metrics_counter(m,
	    "series_out_of_order_samples_total",
	    "Samples refused: older than their series' newest.", NULL));
	s->m_dup = metric_series(metrics_counter(m,
	    "series_duplicate_samples_total",
	    "Samples refused: at a time taken, with another value.", NULL));
	s->m_limit = metric_series(metrics_counter(m,
	    "series_limit_refused_total",
	    "Series not made: the store holds series_options.max_series.",
	    NULL));
	s->m_chunks = metric_series(metrics_counter(m,
	    "series_chunks_sealed_total", "Head chunks sealed and stored.",
	    NULL));
	s->m_loaded = metric_series(metrics_gauge(m, "series_head_series",
	    "Series whose head chunk is in memory.", NULL));

	/*
	 * A follower registers before it loads, and loads holding the
	 * dictionary, so that a series the writer makes meanwhile is
	 * either loaded or applied (engine_on_apply); adding one twice
	 * changes nothing.
	 */
	pthread_rwlock_wrlock(&s->dict);
	if (s->ro && (rc = engine_on_apply(e, series_apply, s)) != 0) {
		pthread_rwlock_unlock(&s->dict);
		rc = err_set(rc, "too many followers of one engine");
		goto fail;
	}
	rc = load_dictionary(s);
	if (rc == 0)
		rc = load_meta(s);
	if (rc == 0)
		rc = find_lates(s);
	pthread_rwlock_unlock(&s->dict);
	if (rc != 0)
		goto fail;
	buf_init(&val, 0);
	rc = engine_get(e, NULL, k, 3, &val);
	if (rc == 0 && val.len == 8 &&
	    get_be64((const unsigned char *)val.data) > s->next_id)
		s->next_id = get_be64((const unsigned char *)val.data);
	buf_release(&val);
	if (rc != 0 && rc != -ENOENT)
		goto fail;
	if (!s->ro) {
		if ((rc = pthread_create(&s->flusher, NULL, series_flusher,
		    s)) != 0) {
			rc = err_set(-rc, "cannot start the head flusher");
			goto fail;
		}
		s->flusher_started = 1;
	}
	*out = s;
	return 0;
fail:
	series_close(s);
	return rc;
}

int
series_read_only(const struct series *s)
{
	return s->ro;
}

void
series_close(struct series *s)
{
	if (s == NULL)
		return;
	if (s->ro)
		(void)engine_on_apply(s->e, NULL, s);
	if (s->flusher_started) {
		int rc;

		pthread_mutex_lock(&s->stop_lock);
		s->stopping = 1;
		pthread_cond_signal(&s->stop_cond);
		pthread_mutex_unlock(&s->stop_lock);
		pthread_join(s->flusher, NULL);
		/* what was appended lives in chunks, for the next start */
		if ((rc = series_flush_heads(s)) != 0)
			log_warn("series: cannot store head chunks: %s",
			    err_message(rc));
	}
	for (size_t i = 0; i < s->cap; i++) {
		struct sseries *ss, *next;

		for (ss = s->by_id[i]; ss != NULL; ss = next) {
			next = ss->id_next;
			labels_free(ss->ls);
			if (ss->head != NULL) {
				chunk_enc_release(ss->head);
				free(ss->head);
			}
			free(ss);
		}
	}
	for (size_t i = 0; i < s->pcap; i++) {
		struct posting *p, *next;

		for (p = s->postings[i]; p != NULL; p = next) {
			next = p->next;
			free(p->name);
			free(p->ids);
			free(p);
		}
	}
	for (size_t i = 0; i < s->ncap; i++) {
		struct lname *ln, *next;

		for (ln = s->names[i]; ln != NULL; ln = next) {
			next = ln->next;
			free(ln->name);
			free(ln->pairs);
			free(ln);
		}
	}
	for (size_t i = 0; i < s->mcap; i++) {
		struct meta_seen *m, *next;

		for (m = s->meta[i]; m != NULL; m = next) {
			next = m->next;
			free(m->metric);
			free(m);
		}
	}
	for (size_t i = 0; i < s->nfilters; i++)
		selector_free(s->filters[i].sel);
	free(s->filters);
	free(s->by_hash);
	free(s->by_id);
	free(s->postings);
	free(s->names);
	free(s->meta);
	pthread_mutex_destroy(&s->append);
	pthread_rwlock_destroy(&s->dict);
	pthread_mutex_destroy(&s->state);
	pthread_rwlock_destroy(&s->change_lock);
	pthread_mutex_destroy(&s->stop_lock);
	pthread_mutex_destroy(&s->meta_lock);
	pthread_cond_destroy(&s->stop_cond);
	free(s);
}
