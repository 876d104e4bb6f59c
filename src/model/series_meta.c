/*
 * series_meta.c - what is said about metrics (# HELP, # TYPE, # UNIT, and
 * remote write metadata), and importing an exposition in Prometheus's
 * text format or OpenMetrics (series.h, series_int.h).
 *
 * Metadata is one record a metric name, the newest said winning, kept
 * for ever: it is a few bytes a metric, and Prometheus keeps it as long
 * as the metric is scraped. A cache of each metric's stored value (by
 * hash) spares the engine a write when the same is said again, as every
 * scrape and every minute's remote write metadata does.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "engine/lsm/engine.h"
#include "model/expfmt.h"
#include "model/labels.h"
#include "model/series_int.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/xmalloc.h"

static const char *const type_names[] = {
	[SERIES_UNKNOWN] = "unknown",
	[SERIES_COUNTER] = "counter",
	[SERIES_GAUGE] = "gauge",
	[SERIES_HISTOGRAM] = "histogram",
	[SERIES_GAUGEHISTOGRAM] = "gaugehistogram",
	[SERIES_SUMMARY] = "summary",
	[SERIES_INFO] = "info",
	[SERIES_STATESET] = "stateset",
};

const char *
series_type_name(enum series_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[t];
}

#define META_MAX	(64 * 1024)	/* bytes of help and unit */

static int meta_put(struct series *s, const struct series_meta *m);

/*
 * One at a time: the cache says what the store holds only if the write
 * and the cache's update are not crossed by another's.
 */
int
series_meta_put(struct series *s, const struct series_meta *m)
{
	int rc;

	pthread_mutex_lock(&s->meta_lock);
	rc = meta_put(s, m);
	pthread_mutex_unlock(&s->meta_lock);
	return rc;
}

static int
meta_put(struct series *s, const struct series_meta *m)
{
	unsigned char *k;
	struct engine_batch *b;
	struct meta_seen *ms;
	struct buf v;
	uint64_t h, mh;
	uint8_t hdr[5];
	int rc;

	if (s->ro)
		return err_set(-EROFS, "a read-only follower takes no metadata");
	if ((rc = labels_check_metric_name(m->metric, m->metric_len)) != 0)
		return rc;
	if (m->help_len + m->unit_len > META_MAX)
		return err_set(-EINVAL, "metadata of %.*s: help and unit past "
		    "%d bytes", (int)m->metric_len, m->metric, META_MAX);
	buf_init(&v, 0);
	hdr[0] = (uint8_t)m->type;
	put_le32(hdr + 1, (uint32_t)m->help_len);
	buf_append(&v, hdr, 5);
	buf_append(&v, m->help, m->help_len);
	buf_append(&v, m->unit, m->unit_len);
	h = XXH3_64bits(v.data, v.len);
	mh = XXH3_64bits(m->metric, m->metric_len);

	pthread_rwlock_rdlock(&s->dict);
	for (ms = s->meta[mh & (s->mcap - 1)]; ms != NULL; ms = ms->next)
		if (strlen(ms->metric) == m->metric_len &&
		    memcmp(ms->metric, m->metric, m->metric_len) == 0)
			break;
	rc = ms != NULL && ms->hash == h;
	pthread_rwlock_unlock(&s->dict);
	if (rc) {
		buf_release(&v);
		return 0;
	}
	k = xmalloc(3 + m->metric_len);
	k[0] = KEY_SERIES;
	k[1] = SKEY_VERSION;
	k[2] = SK_META;
	memcpy(k + 3, m->metric, m->metric_len);
	b = engine_batch_new();
	engine_batch_put(b, k, 3 + m->metric_len, v.data, v.len,
	    ENGINE_NO_EXPIRY);
	rc = series_errno(s, engine_write(s->e, b, NULL));
	engine_batch_free(b);
	free(k);
	buf_release(&v);
	if (rc != 0)
		return rc;
	pthread_rwlock_wrlock(&s->dict);
	for (ms = s->meta[mh & (s->mcap - 1)]; ms != NULL; ms = ms->next)
		if (strlen(ms->metric) == m->metric_len &&
		    memcmp(ms->metric, m->metric, m->metric_len) == 0)
			break;
	if (ms == NULL) {
		ms = xcalloc(1, sizeof(*ms));
		ms->metric = xstrndup(m->metric, m->metric_len);
		ms->next = s->meta[mh & (s->mcap - 1)];
		s->meta[mh & (s->mcap - 1)] = ms;
	}
	ms->hash = h;
	pthread_rwlock_unlock(&s->dict);
	return 0;
}

int
series_meta_each(struct series *s, const char *metric, series_meta_fn fn,
    void *arg)
{
	unsigned char lo[3 + LABELS_NAME_MAX + 1], hi[3];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t kl, vl, lolen = 3;
	int rc = 0;

	lo[0] = hi[0] = KEY_SERIES;
	lo[1] = hi[1] = SKEY_VERSION;
	lo[2] = SK_META;
	hi[2] = SK_META + 1;
	if (metric != NULL) {
		size_t n = strlen(metric);

		if (n > LABELS_NAME_MAX)
			return 0;
		memcpy(lo + 3, metric, n);
		lolen = 3 + n;
	}
	it = engine_iter_new(s->e, NULL, lo, lolen, hi, 3);
	for (engine_iter_seek_first(it); rc == 0 && engine_iter_valid(it);
	    engine_iter_next(it)) {
		struct series_meta m;
		uint32_t hl;

		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (metric != NULL && (kl != lolen || memcmp(k, lo, lolen) != 0))
			break;
		if (kl <= 3 || vl < 5)
			continue;
		hl = get_le32(v + 1);
		if (hl > vl - 5)
			continue;
		m.metric = (const char *)k + 3;
		m.metric_len = kl - 3;
		m.type = v[0] <= SERIES_STATESET ? v[0] : SERIES_UNKNOWN;
		m.help = (const char *)v + 5;
		m.help_len = hl;
		m.unit = (const char *)v + 5 + hl;
		m.unit_len = vl - 5 - hl;
		rc = fn(arg, &m);
	}
	if (rc == 0)
		rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

/* ---- import ---- */

struct family {
	char		*name;
	enum series_type type;
	char		*help, *unit;
	size_t		 help_len, unit_len;
	int		 said;
};

struct import {
	struct series_appender *a;
	int64_t		 now_ms;
	struct family	*f;
	size_t		 nf, fcap;
	struct label	*pairs;
	size_t		 pcap;
};

static enum series_type
from_expfmt(enum expfmt_type t)
{
	switch (t) {
	case EXPFMT_COUNTER:		return SERIES_COUNTER;
	case EXPFMT_GAUGE:		return SERIES_GAUGE;
	case EXPFMT_HISTOGRAM:		return SERIES_HISTOGRAM;
	case EXPFMT_SUMMARY:		return SERIES_SUMMARY;
	case EXPFMT_INFO:		return SERIES_INFO;
	case EXPFMT_STATESET:		return SERIES_STATESET;
	case EXPFMT_GAUGEHISTOGRAM:	return SERIES_GAUGEHISTOGRAM;
	default:			return SERIES_UNKNOWN;
	}
}

static struct family *
family(struct import *im, const char *name, size_t len)
{
	for (size_t i = im->nf; i > 0; i--)
		if (strlen(im->f[i - 1].name) == len &&
		    memcmp(im->f[i - 1].name, name, len) == 0)
			return &im->f[i - 1];
	im->f = xgrow(im->f, &im->fcap, im->nf + 1, sizeof(*im->f));
	memset(&im->f[im->nf], 0, sizeof(im->f[0]));
	im->f[im->nf].name = xstrndup(name, len);
	return &im->f[im->nf++];
}

static int
on_meta(void *arg, const struct expfmt_meta *m)
{
	struct import *im = arg;
	struct family *f = family(im, m->family, m->family_len);

	f->said = 1;
	switch (m->kind) {
	case EXPFMT_TYPE:
		f->type = from_expfmt(m->type);
		break;
	case EXPFMT_HELP:
		free(f->help);
		f->help = xstrndup(m->text, m->text_len);
		f->help_len = m->text_len;
		break;
	case EXPFMT_UNIT:
		free(f->unit);
		f->unit = xstrndup(m->text, m->text_len);
		f->unit_len = m->text_len;
		break;
	}
	return 0;
}

static int
on_sample(void *arg, const struct expfmt_sample *x)
{
	struct import *im = arg;
	struct series_sample v;
	struct labels *ls;
	size_t n = x->nlabels + 1;
	int rc;

	if (n > im->pcap)
		im->pairs = xgrow(im->pairs, &im->pcap, n, sizeof(*im->pairs));
	im->pairs[0].name = LABELS_METRIC_NAME;
	im->pairs[0].name_len = 8;
	im->pairs[0].value = x->name;
	im->pairs[0].value_len = x->name_len;
	for (size_t i = 0; i < x->nlabels; i++) {
		im->pairs[i + 1].name = x->labels[i].name;
		im->pairs[i + 1].name_len = x->labels[i].name_len;
		im->pairs[i + 1].value = x->labels[i].value;
		im->pairs[i + 1].value_len = x->labels[i].value_len;
	}
	if ((rc = labels_new(im->pairs, n, 0, &ls)) != 0)
		return err_set(rc, "line %zu: %s", x->line, err_detail());
	v.t = x->has_timestamp ? x->timestamp_ms : im->now_ms;
	v.v = x->value;
	rc = series_appender_add(im->a, ls, &v, 1);
	labels_free(ls);
	return rc;
}

int
series_import(struct series *s, const char *data, size_t len,
    int openmetrics, int64_t now_ms, struct series_import_result *r)
{
	struct expfmt_handler h = { on_meta, on_sample, NULL };
	struct expfmt_stats st;
	struct import im;
	int rc, meta_rc = 0;

	memset(r, 0, sizeof(*r));
	memset(&im, 0, sizeof(im));
	if (s->ro)
		return err_set(-EROFS, "a read-only follower takes no samples");
	im.a = series_appender_new(s);
	im.now_ms = now_ms;
	h.arg = &im;
	rc = expfmt_parse(data, len, openmetrics ? EXPFMT_OPENMETRICS :
	    EXPFMT_TEXT_004, &h, &st);
	r->lines = st.lines;
	if (rc != 0)
		goto done;	/* the parse failed: nothing is kept */
	/*
	 * Metadata first, then the samples: a wait for the samples' batch
	 * (r->seq) then covers the metadata too, stored in order before it
	 */
	{
		for (size_t i = 0; i < im.nf; i++) {
			struct family *f = &im.f[i];
			struct series_meta m = {
				.metric = f->name, .metric_len = strlen(f->name),
				.type = f->type,
				.help = f->help ? f->help : "",
				.help_len = f->help_len,
				.unit = f->unit ? f->unit : "",
				.unit_len = f->unit_len,
			};

			if (!f->said)
				continue;
			if ((meta_rc = series_meta_put(s, &m)) != 0)
				break;
			r->metadata++;
		}
		if (meta_rc != 0) {
			rc = meta_rc;
			goto done;
		}
	}
	rc = series_appender_commit(im.a, &r->counts, &r->seq);
done:
	for (size_t i = 0; i < im.nf; i++) {
		free(im.f[i].name);
		free(im.f[i].help);
		free(im.f[i].unit);
	}
	free(im.f);
	free(im.pairs);
	series_appender_free(im.a);
	return rc;
}
