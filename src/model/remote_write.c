/*
 * remote_write.c - Prometheus remote write bodies to series and samples
 * (remote_write.h).
 *
 * A body goes through four steps, each refusing before the next:
 *
 *	rw_decode		snappy's length header against max_size,
 *				then snappy_uncompress into one buffer
 *	rw_decode_message	protobuf-c unpacks the message, allocating
 *				from an arena held to a budget (max_memory)
 *	decode_v1/decode_v2	pass 1: count samples (max_samples), build
 *				and check every label set and metadata entry
 *				pass 2: the callbacks, series then metadata
 *
 * The two passes are what make a refusal all or nothing. The label sets
 * of pass 1 are kept for pass 2: a request holds at most as many series
 * as its size allows, and they are freed before returning.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <snappy-c.h>

#include "model/labels.h"
#include "model/labels_int.h"
#include "model/prompb.pb-c.h"
#include "model/remote_write.h"
#include "util/error.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define RW_V1_MESSAGE	"prometheus.WriteRequest"
#define RW_V2_MESSAGE	"io.prometheus.write.v2.Request"
#define RW_MEDIA_TYPE	"application/x-protobuf"

/*
 * The parser's allocations, held to a budget, from an arena: a request
 * unpacks into thousands of small pieces (a string a label, an array a
 * series) that all go at once, so they are cut from blocks and freed
 * with them, sparing malloc a call each.
 */

#define ARENA_BLOCK	(64 * 1024)

struct arena_blk {
	struct arena_blk *next;
	size_t		 used, cap;
	max_align_t	 data[];
};

struct budget {
	size_t		 used;	/* bytes handed out; never past max */
	size_t		 max;
	int		 over;	/* an allocation was refused */
	struct arena_blk *blk;	/* the newest first */
};

static void *
budget_alloc(void *data, size_t n)
{
	struct budget *b = data;
	struct arena_blk *k = b->blk;
	size_t room = b->max - b->used, cap;
	void *p;

	/* rounded up to the alignment of anything; 0 bytes are a piece too */
	if (n > room) {
		b->over = 1;
		return NULL;
	}
	n = n == 0 ? sizeof(max_align_t) : (n + sizeof(max_align_t) - 1) /
	    sizeof(max_align_t) * sizeof(max_align_t);
	if (n > room) {
		b->over = 1;
		return NULL;
	}
	if (k == NULL || k->cap - k->used < n) {
		cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		k = xmalloc(sizeof(*k) + cap);
		k->used = 0;
		k->cap = cap;
		k->next = b->blk;
		b->blk = k;
	}
	p = (char *)k->data + k->used;
	k->used += n;
	b->used += n;
	return p;
}

/* Pieces go with their blocks (budget_release). */
static void
budget_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

static void
budget_release(struct budget *b)
{
	struct arena_blk *k, *next;

	for (k = b->blk; k != NULL; k = next) {
		next = k->next;
		free(k);
	}
	b->blk = NULL;
}

/* ---- errors ---- */

/* The parser's NULL: over the budget, or not the message. */
static int
unpack_failed(const struct budget *b, const char *message)
{
	if (b->over)
		return err_set(-EFBIG, "decoding the %s needs more than %zu "
		    "bytes of memory", message, b->max);
	return err_set(-EINVAL, "request is not a valid %s protobuf message",
	    message);
}

/*
 * Put "timeseries[i]" and, if the pairs name one, " (metric)" in front
 * of the detail labels.h left for code.
 */
static int
series_error(int code, size_t i, const struct label *pairs, size_t n)
{
	char detail[512], name[LABELS_NAME_MAX + 16];

	snprintf(detail, sizeof(detail), "%s", err_detail());
	name[0] = '\0';
	for (size_t j = 0; j < n; j++) {
		char show[LABELS_NAME_MAX + 8];

		if (pairs[j].name_len != strlen(LABELS_METRIC_NAME) ||
		    memcmp(pairs[j].name, LABELS_METRIC_NAME,
		    pairs[j].name_len) != 0 || pairs[j].value_len == 0)
			continue;
		snprintf(name, sizeof(name), " (%s)", labels_show(show,
		    sizeof(show), pairs[j].value, pairs[j].value_len));
		break;
	}
	return err_set(code, "timeseries[%zu]%s: %s", i, name, detail);
}

/* ---- the checks of pass 1 ---- */

static struct label
pair_of(const ProtobufCBinaryData *name, const ProtobufCBinaryData *value)
{
	struct label l;

	/* an empty bytes field may have no data */
	l.name = name->data ? (const char *)name->data : "";
	l.name_len = name->data ? name->len : 0;
	l.value = value->data ? (const char *)value->data : "";
	l.value_len = value->data ? value->len : 0;
	return l;
}

static int
make_set(size_t i, const struct label *pairs, size_t n, struct labels **out)
{
	int rc;

	if ((rc = labels_new(pairs, n, LABELS_RESERVED, out)) != 0)
		return series_error(rc, i, pairs, n);
	if (labels_metric(*out) == NULL) {
		labels_free(*out);
		*out = NULL;
		return err_set(-EINVAL, "timeseries[%zu]: no metric name "
		    "(label " LABELS_METRIC_NAME ")", i);
	}
	return 0;
}

static enum rw_metric_type
metric_type(int type)
{
	return type >= RW_TYPE_UNKNOWN && type <= RW_TYPE_STATESET ?
	    (enum rw_metric_type)type : RW_TYPE_UNKNOWN;
}

/* Help and unit: UTF-8 (bytes counted from 1, as labels.h counts). */
static int
check_text(const char *where, const char *what, const char *s, size_t n)
{
	size_t bad = utf8_valid(s, n);

	if (bad != n)
		return err_set(-EINVAL, "%s: %s is not UTF-8 at byte %zu",
		    where, what, bad + 1);
	return 0;
}

static int
check_metadata(const char *where, const struct rw_metadata *md)
{
	int rc;

	if ((rc = check_text(where, "help", md->help, md->help_len)) != 0)
		return rc;
	return check_text(where, "unit", md->unit, md->unit_len);
}

static const char *
bytes_of(const ProtobufCBinaryData *d, size_t *len)
{
	*len = d->data ? d->len : 0;
	return d->data ? (const char *)d->data : "";
}

/* ---- pass 2 ---- */

/* Copy a series' samples into *buf (grown to *cap) and give them. */
static int
give_series(const struct rw_handler *h, const struct labels *ls,
    Prompb__Sample *const *samples, size_t n, struct rw_sample **buf,
    size_t *cap, struct rw_counts *counts)
{
	int rc;

	if (n == 0)
		return 0;
	*buf = xgrow(*buf, cap, n, sizeof(**buf));
	for (size_t k = 0; k < n; k++) {
		(*buf)[k].t = samples[k]->timestamp;
		(*buf)[k].v = samples[k]->value;
	}
	if (h->on_series != NULL && (rc = h->on_series(h->arg, ls, *buf,
	    n)) != 0)
		return rc;
	counts->series++;
	counts->samples += n;
	return 0;
}

static int
give_metadata(const struct rw_handler *h, const struct rw_metadata *md,
    struct rw_counts *counts)
{
	int rc;

	if (h->on_metadata != NULL && (rc = h->on_metadata(h->arg, md)) != 0)
		return rc;
	counts->metadata++;
	return 0;
}

static int
too_many_samples(size_t total, const struct rw_limits *lim)
{
	return err_set(-EFBIG, "request holds %zu samples, more than the "
	    "limit of %zu", total, lim->max_samples);
}

/* ---- remote write 1.0 ---- */

static int
decode_v1(const Prompb__WriteRequest *req, const struct rw_limits *lim,
    const struct rw_handler *h, struct rw_counts *counts)
{
	struct labels **sets = NULL;
	struct rw_metadata *mds = NULL;
	struct label *pairs = NULL;
	struct rw_sample *buf = NULL;
	size_t npairs = 0, nbuf = 0, total = 0;
	int rc = 0;

	for (size_t i = 0; i < req->n_timeseries; i++) {
		total += req->timeseries[i]->n_samples;
		counts->exemplars += req->timeseries[i]->n_exemplars;
		counts->histograms += req->timeseries[i]->n_histograms;
	}
	if (total > lim->max_samples)
		return too_many_samples(total, lim);

	sets = xcalloc(req->n_timeseries ? req->n_timeseries : 1,
	    sizeof(*sets));
	for (size_t i = 0; i < req->n_timeseries; i++) {
		const Prompb__TimeSeries *ts = req->timeseries[i];

		pairs = xgrow(pairs, &npairs, ts->n_labels, sizeof(*pairs));
		for (size_t j = 0; j < ts->n_labels; j++)
			pairs[j] = pair_of(&ts->labels[j]->name,
			    &ts->labels[j]->value);
		if ((rc = make_set(i, pairs, ts->n_labels, &sets[i])) != 0)
			goto done;
	}
	mds = xcalloc(req->n_metadata ? req->n_metadata : 1, sizeof(*mds));
	for (size_t k = 0; k < req->n_metadata; k++) {
		const Prompb__MetricMetadata *m = req->metadata[k];
		struct rw_metadata *md = &mds[k];
		char where[64], detail[512];

		md->name = bytes_of(&m->metric_family_name, &md->name_len);
		md->type = metric_type(m->type);
		md->help = bytes_of(&m->help, &md->help_len);
		md->unit = bytes_of(&m->unit, &md->unit_len);
		snprintf(where, sizeof(where), "metadata[%zu]", k);
		if ((rc = labels_check_metric_name(md->name,
		    md->name_len)) != 0) {
			snprintf(detail, sizeof(detail), "%s", err_detail());
			rc = err_set(rc, "%s: %s", where, detail);
			goto done;
		}
		if ((rc = check_metadata(where, md)) != 0)
			goto done;
	}

	for (size_t i = 0; i < req->n_timeseries; i++)
		if ((rc = give_series(h, sets[i], req->timeseries[i]->samples,
		    req->timeseries[i]->n_samples, &buf, &nbuf, counts)) != 0)
			goto done;
	for (size_t k = 0; k < req->n_metadata; k++)
		if ((rc = give_metadata(h, &mds[k], counts)) != 0)
			goto done;
done:
	for (size_t i = 0; i < req->n_timeseries; i++)
		labels_free(sets[i]);
	free(sets);
	free(mds);
	free(pairs);
	free(buf);
	return rc;
}

/* ---- remote write 2.0 ---- */

static int
symbol(const Prompb__V2Request *req, size_t i, const char *what,
    uint32_t ref, const char **s, size_t *len)
{
	if (ref >= req->n_symbols)
		return err_set(-EINVAL, "timeseries[%zu]: %s ref %u is past "
		    "the symbol table of %zu symbols", i, what, ref,
		    req->n_symbols);
	*s = bytes_of(&req->symbols[ref], len);
	return 0;
}

static int
series_v2(const Prompb__V2Request *req, size_t i, struct label **pairs,
    size_t *npairs, struct labels **set)
{
	const Prompb__V2TimeSeries *ts = req->timeseries[i];
	size_t n = ts->n_labels_refs / 2;
	int rc;

	if (ts->n_labels_refs % 2 != 0)
		return err_set(-EINVAL, "timeseries[%zu]: %zu label refs, "
		    "not name and value pairs", i, ts->n_labels_refs);
	*pairs = xgrow(*pairs, npairs, n, sizeof(**pairs));
	for (size_t j = 0; j < n; j++) {
		struct label *l = &(*pairs)[j];

		if ((rc = symbol(req, i, "label name", ts->labels_refs[2 * j],
		    &l->name, &l->name_len)) != 0 ||
		    (rc = symbol(req, i, "label value",
		    ts->labels_refs[2 * j + 1], &l->value,
		    &l->value_len)) != 0)
			return rc;
	}
	return make_set(i, *pairs, n, set);
}

/* A series' metadata, if it says anything: *has 1 and md filled. */
static int
metadata_v2(const Prompb__V2Request *req, size_t i,
    const struct labels *ls, struct rw_metadata *md, int *has)
{
	const Prompb__V2Metadata *m = req->timeseries[i]->metadata;
	char where[64 + LABELS_NAME_MAX];
	int rc;

	*has = 0;
	if (m == NULL || (m->type == 0 && m->help_ref == 0 &&
	    m->unit_ref == 0))
		return 0;
	md->name = labels_metric(ls);
	md->name_len = strlen(md->name);
	md->type = metric_type(m->type);
	if ((rc = symbol(req, i, "help", m->help_ref, &md->help,
	    &md->help_len)) != 0 || (rc = symbol(req, i, "unit", m->unit_ref,
	    &md->unit, &md->unit_len)) != 0)
		return rc;
	snprintf(where, sizeof(where), "timeseries[%zu] (%s) metadata", i,
	    md->name);
	if ((rc = check_metadata(where, md)) != 0)
		return rc;
	*has = 1;
	return 0;
}

static int
decode_v2(const Prompb__V2Request *req, const struct rw_limits *lim,
    const struct rw_handler *h, struct rw_counts *counts)
{
	struct labels **sets = NULL;
	struct rw_metadata *mds = NULL;
	int *has = NULL;
	struct label *pairs = NULL;
	struct rw_sample *buf = NULL;
	size_t n = req->n_timeseries, npairs = 0, nbuf = 0, total = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		total += req->timeseries[i]->n_samples;
		counts->exemplars += req->timeseries[i]->n_exemplars;
		counts->histograms += req->timeseries[i]->n_histograms;
	}
	if (total > lim->max_samples)
		return too_many_samples(total, lim);

	sets = xcalloc(n ? n : 1, sizeof(*sets));
	mds = xcalloc(n ? n : 1, sizeof(*mds));
	has = xcalloc(n ? n : 1, sizeof(*has));
	for (size_t i = 0; i < n; i++)
		if ((rc = series_v2(req, i, &pairs, &npairs, &sets[i])) != 0 ||
		    (rc = metadata_v2(req, i, sets[i], &mds[i], &has[i])) != 0)
			goto done;

	for (size_t i = 0; i < n; i++)
		if ((rc = give_series(h, sets[i], req->timeseries[i]->samples,
		    req->timeseries[i]->n_samples, &buf, &nbuf, counts)) != 0)
			goto done;
	for (size_t i = 0; i < n; i++)
		if (has[i] && (rc = give_metadata(h, &mds[i], counts)) != 0)
			goto done;
done:
	for (size_t i = 0; i < n; i++)
		labels_free(sets[i]);
	free(sets);
	free(mds);
	free(has);
	free(pairs);
	free(buf);
	return rc;
}

/* ---- entry points ---- */

int
rw_decode_message(enum rw_version version, const void *msg, size_t len,
    const struct rw_limits *lim, const struct rw_handler *h,
    struct rw_counts *counts)
{
	struct budget b = { 0, lim->max_memory, 0, NULL };
	ProtobufCAllocator a = { budget_alloc, budget_free, &b };
	struct rw_counts ignored;
	int rc;

	if (counts == NULL)
		counts = &ignored;
	memset(counts, 0, sizeof(*counts));
	if (len > lim->max_size)
		return err_set(-EFBIG, "request message of %zu bytes, more "
		    "than the limit of %zu", len, lim->max_size);
	switch (version) {
	case RW_V1: {
		Prompb__WriteRequest *req;

		req = prompb__write_request__unpack(&a, len, msg);
		if (req == NULL) {
			budget_release(&b);
			return unpack_failed(&b, RW_V1_MESSAGE);
		}
		rc = decode_v1(req, lim, h, counts);
		prompb__write_request__free_unpacked(req, &a);
		break;
	}
	case RW_V2: {
		Prompb__V2Request *req;

		req = prompb__v2_request__unpack(&a, len, msg);
		if (req == NULL) {
			budget_release(&b);
			return unpack_failed(&b, RW_V2_MESSAGE);
		}
		rc = decode_v2(req, lim, h, counts);
		prompb__v2_request__free_unpacked(req, &a);
		break;
	}
	default:
		return err_set(-EINVAL, "remote write version %d is not 1 or 2",
		    (int)version);
	}
	budget_release(&b);
	return rc;
}

int
rw_decode(enum rw_version version, const void *body, size_t len,
    const struct rw_limits *lim, const struct rw_handler *h,
    struct rw_counts *counts)
{
	size_t n;
	char *msg;
	int rc;

	if (counts != NULL)
		memset(counts, 0, sizeof(*counts));
	if (snappy_uncompressed_length(body, len, &n) != SNAPPY_OK)
		return err_set(-EINVAL, "request body of %zu bytes is not "
		    "snappy block format: no valid length header", len);
	if (n > lim->max_size)
		return err_set(-EFBIG, "request body uncompresses to %zu "
		    "bytes, more than the limit of %zu", n, lim->max_size);
	msg = xmalloc(n ? n : 1);
	if (snappy_uncompress(body, len, msg, &n) != SNAPPY_OK)
		rc = err_set(-EINVAL, "request body of %zu bytes is not valid "
		    "snappy block format", len);
	else
		rc = rw_decode_message(version, msg, n, lim, h, counts);
	free(msg);
	return rc;
}

/* ---- Content-Type ---- */

static int
token_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

/* [s, *end) without blanks at either end; *end moved back. */
static const char *
trim(const char *s, const char **end)
{
	while (s < *end && (*s == ' ' || *s == '\t'))
		s++;
	while (*end > s && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
	return s;
}

int
rw_version(const char *ct)
{
	const char *p, *end;
	char show[128];
	int version = RW_V1;

	if (ct == NULL)
		return RW_V1;
	end = ct + strcspn(ct, ";");
	p = trim(ct, &end);
	if (p == end && ct[strcspn(ct, ";")] == '\0')
		return RW_V1;
	if (!token_is(p, (size_t)(end - p), RW_MEDIA_TYPE))
		return err_set(-EINVAL, "content type '%s' is not "
		    RW_MEDIA_TYPE, labels_show(show, sizeof(show), ct,
		    strlen(ct)));
	/* parameters: ; key=value, the value maybe quoted */
	for (p = ct + strcspn(ct, ";"); *p == ';'; p = end) {
		const char *key = p + 1, *eq, *kend, *v, *vend;

		end = key + strcspn(key, ";");
		eq = memchr(key, '=', (size_t)(end - key));
		if (eq == NULL)
			continue;
		kend = eq;
		key = trim(key, &kend);
		if (!token_is(key, (size_t)(kend - key), "proto"))
			continue;
		vend = end;
		v = trim(eq + 1, &vend);
		if (vend - v >= 2 && *v == '"' && vend[-1] == '"') {
			v++;
			vend--;
		}
		if ((size_t)(vend - v) == strlen(RW_V1_MESSAGE) &&
		    memcmp(v, RW_V1_MESSAGE, strlen(RW_V1_MESSAGE)) == 0)
			version = RW_V1;
		else if ((size_t)(vend - v) == strlen(RW_V2_MESSAGE) &&
		    memcmp(v, RW_V2_MESSAGE, strlen(RW_V2_MESSAGE)) == 0)
			version = RW_V2;
		else
			return err_set(-EINVAL, "content type '%s': proto is "
			    "not " RW_V1_MESSAGE " or " RW_V2_MESSAGE,
			    labels_show(show, sizeof(show), ct, strlen(ct)));
	}
	return version;
}
