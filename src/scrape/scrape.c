/*
 * scrape.c - the scraper (scrape.h): discovery, a thread a target, and
 * a scrape from the request to the appender's commit.
 *
 * A scrape, in scrape_once():
 *
 *	fetch()		GET with Prometheus 2.42's Accept header, the
 *			timeout, the job's auth; a status other than 200,
 *			a timeout or a body past SCRAPE_BODY_MAX fail it
 *	expfmt_parse()	the format the Content-Type names; on_sample puts
 *			the target's labels on each sample (honor_labels or
 *			exported_*), runs metric_relabel_configs and adds it
 *			to the appender, stamped with the scrape's start
 *			unless honor_timestamps and the sample has a time;
 *			a parse error fails the scrape and drops its samples
 *	stale markers	for every series of the last scrape that this one
 *			lacks (all of them when it failed): the value with
 *			CHUNK_STALE_NAN's bits, at this scrape's time
 *	report		up, scrape_duration_seconds, scrape_samples_scraped,
 *			scrape_samples_post_metric_relabeling,
 *			scrape_series_added
 *	commit		one series_appender_commit() for all of it
 *
 * Samples with their own timestamp are left out of the staleness
 * tracking, as Prometheus leaves them.
 *
 * Locks: sc->mu guards the list of targets and each target's removed
 * and done flags, and the scraper's stopping; sc->cond (on
 * CLOCK_MONOTONIC) wakes target threads waiting for their next scrape
 * and the discovery thread waiting for a refresh or a target's end.
 * Everything else of a target belongs to its thread. A scrape in flight
 * sees t->cancel through curl's progress callback.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/chunk.h"
#include "model/expfmt.h"
#include "model/labels.h"
#include "model/series.h"
#include "scrape/scrape_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

/* What Prometheus 2.42 asks for (scrape/scrape.go, scrapeAcceptHeader). */
#define ACCEPT_HEADER	"application/openmetrics-text;version=1.0.0," \
	"application/openmetrics-text;version=0.0.1;q=0.75," \
	"text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

#define NREPORT		5
static const char *const report_names[NREPORT] = {
	"up", "scrape_duration_seconds", "scrape_samples_scraped",
	"scrape_samples_post_metric_relabeling", "scrape_series_added",
};

/* A set of label sets, by their hash: the series of one scrape. */
struct lset {
	struct labels	**v;
	size_t		  n;
	size_t		  cap;		/* a power of two, or 0 */
};

struct meta_ent {
	char		*family;
	enum series_type type;
	char		*help;
	char		*unit;
};

struct target {
	struct target		*next;		/* sc->mu */
	struct scraper		*sc;
	const struct scrape_job	*job;
	struct scrape_target_def def;
	pthread_t		 thread;
	int			 removed;	/* sc->mu: discovery lost it */
	int			 done;		/* sc->mu: the thread ended */
	atomic_int		 cancel;	/* stop a scrape in flight */

	/* the thread's own */
	CURL			*curl;
	struct buf		 body;
	struct series_appender	*app;
	struct lset		 prev;		/* tracked for staleness */
	struct lset		 prev_ts;	/* samples with their own time */
	struct labels		*report[NREPORT];
	int			 up;		/* -1 before the first scrape */
	int64_t			 last_t;	/* of the last scrape, ms */
	uint64_t		 meta_hash;
	struct metric_series	*m_scraped, *m_failed, *m_scrapes,
				*m_scrapes_failed, *m_last_scraped, *m_last_failed;
};

struct job_state {
	int64_t			 next_refresh;	/* clock_mono_ns(); 0: now */
	struct scrape_group	*file_groups;	/* from file_sd, last good */
	size_t			 nfile_groups;
};

struct scraper {
	struct series		*s;
	struct scrape_config	*c;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cond;
	int			 stopping;	/* mu */
	struct target		*targets;	/* mu */
	pthread_t		 disc;
	int			 disc_started;
	struct job_state	*js;		/* the discovery thread's */
	uint64_t		 seed;
	struct metric		*m_scraped, *m_failed, *m_scrapes,
				*m_scrapes_failed, *m_last_scraped, *m_last_failed;
};

/* ---- sets of label sets ---- */

static void
lset_clear(struct lset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		labels_free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static size_t
lset_slot(const struct lset *s, const struct labels *ls)
{
	size_t i = (size_t)labels_hash(ls) & (s->cap - 1);

	while (s->v[i] != NULL && !labels_equal(s->v[i], ls))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int
lset_has(const struct lset *s, const struct labels *ls)
{
	return s->cap > 0 && s->v[lset_slot(s, ls)] != NULL;
}

/* Add ls, which the set takes: 1 if new, 0 if it was there (ls freed). */
static int
lset_add(struct lset *s, struct labels *ls)
{
	struct lset g;
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		memset(&g, 0, sizeof(g));
		g.cap = s->cap ? 2 * s->cap : 64;
		g.v = xcalloc(g.cap, sizeof(*g.v));
		for (i = 0; i < s->cap; i++)
			if (s->v[i] != NULL)
				g.v[lset_slot(&g, s->v[i])] = s->v[i];
		g.n = s->n;
		free(s->v);
		*s = g;
	}
	i = lset_slot(s, ls);
	if (s->v[i] != NULL) {
		labels_free(ls);
		return 0;
	}
	s->v[i] = ls;
	s->n++;
	return 1;
}

/* ---- fetching ---- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct target *t = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&t->cancel) != 0;
}

/* The first line of a file, without surrounding blanks (a secret). */
static int
read_secret(const char *path, char **out)
{
	char *d, *s, *e;
	size_t len;
	int rc;

	if ((rc = scrape_read_file(path, 65536, &d, &len)) != 0)
		return rc;
	for (s = d; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t' ||
	    e[-1] == '\n' || e[-1] == '\r'); e--)
		;
	*out = xstrndup(s, (size_t)(e - s));
	free(d);
	return 0;
}

/* GET the target into t->body: 0 and *ctype (curl's), or -errno with err_set(). */
static int
fetch(struct target *t, char **ctype)
{
	const struct scrape_job *j = t->job;
	struct curl_slist *h = NULL;
	char line[256], *secret = NULL, *ct = NULL;
	long status = 0;
	CURLcode cc;
	int rc = 0;

	*ctype = NULL;
	if (t->curl == NULL && (t->curl = curl_easy_init()) == NULL)
		return err_set(-ENOMEM, "cannot make a curl handle");
	curl_easy_reset(t->curl);
	buf_reset(&t->body);
	h = curl_slist_append(h, "Accept: " ACCEPT_HEADER);
	snprintf(line, sizeof(line), "X-Prometheus-Scrape-Timeout-Seconds: %g",
	    (double)t->def.timeout_ms / 1000);
	h = curl_slist_append(h, line);
	if (j->bearer_token_file != NULL) {
		if ((rc = read_secret(j->bearer_token_file, &secret)) != 0)
			goto out;
	} else if (j->bearer_token != NULL)
		secret = xstrdup(j->bearer_token);
	if (secret != NULL) {
		char *a = xasprintf("Authorization: Bearer %s", secret);

		h = curl_slist_append(h, a);
		free(a);
		free(secret);
		secret = NULL;
	}
	if (j->username != NULL) {
		if (j->password_file != NULL &&
		    (rc = read_secret(j->password_file, &secret)) != 0)
			goto out;
		curl_easy_setopt(t->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(t->curl, CURLOPT_USERNAME, j->username);
		curl_easy_setopt(t->curl, CURLOPT_PASSWORD, secret ? secret :
		    j->password ? j->password : "");
	}
	if (j->ca_file != NULL)
		curl_easy_setopt(t->curl, CURLOPT_CAINFO, j->ca_file);
	if (j->cert_file != NULL) {
		curl_easy_setopt(t->curl, CURLOPT_SSLCERT, j->cert_file);
		curl_easy_setopt(t->curl, CURLOPT_SSLKEY, j->key_file);
	}
	if (j->insecure_skip_verify) {
		curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(t->curl, CURLOPT_URL, t->def.url);
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(t->curl, CURLOPT_USERAGENT, "shale/" PACKAGE_VERSION);
	curl_easy_setopt(t->curl, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, (long)t->def.timeout_ms);
	curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(t->curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(t->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, &t->body);
	curl_easy_setopt(t->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(t->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(t->curl, CURLOPT_XFERINFODATA, t);
	t->body.max = SCRAPE_BODY_MAX;
	cc = curl_easy_perform(t->curl);
	if (cc != CURLE_OK) {
		rc = err_set(cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
		    cc == CURLE_WRITE_ERROR ? -EFBIG : -EIO, "%s",
		    cc == CURLE_WRITE_ERROR ? "body larger than the limit" :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		rc = err_set(-EIO, "server returned HTTP status %ld", status);
		goto out;
	}
	if (curl_easy_getinfo(t->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL)
		*ctype = xstrdup(ct);
out:
	free(secret);
	curl_slist_free_all(h);
	return rc;
}

/* ---- a sample's labels ---- */

struct scrape_ctx {
	struct target		*t;
	int64_t			 t0;		/* the scrape's time, ms */
	struct relabel_labels	 rl;
	struct lset		 cur;
	struct lset		 cur_ts;
	uint64_t		 total;
	uint64_t		 post;
	uint64_t		 bad;		/* samples whose labels fail */
	struct meta_ent		*meta;
	size_t			 nmeta;
	uint64_t		 meta_hash;
};

/* A label of the sample that a target label displaces. */
struct conflict {
	const char	*name;
	size_t		 len;
	char		*val;
	size_t		 vlen;
	char		*newname;
};

static int
target_has(const struct labels *tl, const char *name, size_t len)
{
	return labels_find(tl, name, len) != NULL;
}

/*
 * Put the target's labels on the sample in c->rl, as Prometheus's
 * mutateSampleLabels: with honor_labels the sample's win; without,
 * the target's win and a sample's own value moves to exported_NAME
 * (exported_exported_NAME ... while that is taken), shortest names
 * first.
 */
static void
put_target_labels(struct scrape_ctx *c, const struct expfmt_sample *s)
{
	const struct labels *tl = c->t->def.labels;
	const struct label *l;
	struct conflict conf[LABELS_COUNT_MAX], x;
	size_t i, k, n = 0, nlen;
	const char *v;
	size_t vlen;

	for (i = 0; i < labels_count(tl); i++) {
		l = labels_at(tl, i);
		v = relabel_labels_get(&c->rl, l->name, l->name_len, &vlen);
		if (c->t->job->honor_labels) {
			if (v == NULL)
				relabel_labels_set(&c->rl, l->name, l->name_len,
				    l->value, l->value_len);
			continue;
		}
		if (v != NULL && n < LABELS_COUNT_MAX) {
			conf[n].name = l->name;
			conf[n].len = l->name_len;
			conf[n].val = xstrndup(v, vlen);
			conf[n].vlen = vlen;
			conf[n].newname = NULL;
			n++;
		}
		relabel_labels_set(&c->rl, l->name, l->name_len, l->value,
		    l->value_len);
	}
	if (n == 0)
		return;
	/* a stable sort by the length of the name */
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && conf[k - 1].len > conf[k].len; k--) {
			x = conf[k];
			conf[k] = conf[k - 1];
			conf[k - 1] = x;
		}
	for (i = 0; i < n; i++) {
		char *name = xstrndup(conf[i].name, conf[i].len);
		int taken;

		do {
			char *p = xasprintf("exported_%s", name);

			free(name);
			name = p;
			nlen = strlen(name);
			taken = target_has(tl, name, nlen);
			for (k = 0; k < s->nlabels && !taken; k++)
				taken = s->labels[k].name_len == nlen &&
				    memcmp(s->labels[k].name, name, nlen) == 0;
			for (k = 0; k < i && !taken; k++)
				taken = strcmp(conf[k].newname, name) == 0;
		} while (taken && nlen < LABELS_NAME_MAX);
		conf[i].newname = name;
	}
	for (i = 0; i < n; i++) {
		relabel_labels_set(&c->rl, conf[i].newname,
		    strlen(conf[i].newname), conf[i].val, conf[i].vlen);
		free(conf[i].newname);
		free(conf[i].val);
	}
}

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0)
		h = (h ^ *b++) * UINT64_C(0x100000001b3);
	return h;
}

static enum series_type
series_type_of(enum expfmt_type t)
{
	switch (t) {
	case EXPFMT_COUNTER:		return SERIES_COUNTER;
	case EXPFMT_GAUGE:		return SERIES_GAUGE;
	case EXPFMT_HISTOGRAM:		return SERIES_HISTOGRAM;
	case EXPFMT_SUMMARY:		return SERIES_SUMMARY;
	case EXPFMT_INFO:		return SERIES_INFO;
	case EXPFMT_STATESET:		return SERIES_STATESET;
	case EXPFMT_GAUGEHISTOGRAM:	return SERIES_GAUGEHISTOGRAM;
	case EXPFMT_UNTYPED:		break;
	}
	return SERIES_UNKNOWN;
}

static int
on_meta(void *arg, const struct expfmt_meta *m)
{
	struct scrape_ctx *c = arg;
	struct meta_ent *e = c->nmeta ? &c->meta[c->nmeta - 1] : NULL;

	c->meta_hash = fnv1a(c->meta_hash, &m->kind, sizeof(m->kind));
	c->meta_hash = fnv1a(c->meta_hash, m->family, m->family_len + 1);
	c->meta_hash = fnv1a(c->meta_hash, &m->type, sizeof(m->type));
	c->meta_hash = fnv1a(c->meta_hash, m->text, m->text_len + 1);
	if (e == NULL || strlen(e->family) != m->family_len ||
	    memcmp(e->family, m->family, m->family_len) != 0) {
		c->meta = xrealloc(c->meta, (c->nmeta + 1) * sizeof(*c->meta));
		e = &c->meta[c->nmeta++];
		memset(e, 0, sizeof(*e));
		e->family = xstrndup(m->family, m->family_len);
	}
	switch (m->kind) {
	case EXPFMT_TYPE:
		e->type = series_type_of(m->type);
		break;
	case EXPFMT_HELP:
		free(e->help);
		e->help = xstrndup(m->text, m->text_len);
		break;
	case EXPFMT_UNIT:
		free(e->unit);
		e->unit = xstrndup(m->text, m->text_len);
		break;
	}
	return 0;
}

static int
on_sample(void *arg, const struct expfmt_sample *s)
{
	struct scrape_ctx *c = arg;
	struct target *t = c->t;
	struct series_sample v;
	struct labels *ls;
	size_t i;
	int rc;

	c->total++;
	relabel_labels_reset(&c->rl);
	relabel_labels_set(&c->rl, LABELS_METRIC_NAME, 8, s->name, s->name_len);
	for (i = 0; i < s->nlabels; i++)
		relabel_labels_set(&c->rl, s->labels[i].name,
		    s->labels[i].name_len, s->labels[i].value,
		    s->labels[i].value_len);
	put_target_labels(c, s);
	rc = relabel_process(t->job->metric_relabel, t->job->nmetric_relabel,
	    &c->rl);
	if (rc == 0)
		return 0;
	c->post++;
	if (rc < 0 || relabel_labels_build(&c->rl, 0, &ls) != 0) {
		c->bad++;
		return 0;
	}
	if (labels_metric(ls) == NULL) {
		labels_free(ls);
		c->bad++;
		return 0;
	}
	v.v = s->value;
	v.t = c->t0;
	if (t->job->honor_timestamps && s->has_timestamp)
		v.t = s->timestamp_ms;
	if ((rc = series_appender_add(t->app, ls, &v, 1)) != 0) {
		labels_free(ls);
		return rc;
	}
	if (!(t->job->honor_timestamps && s->has_timestamp))
		lset_add(&c->cur, ls);
	else
		lset_add(&c->cur_ts, ls);
	return 0;
}

/* ---- one scrape ---- */

static void
add_one(struct target *t, const struct labels *ls, int64_t at, double v)
{
	struct series_sample s = { at, v };

	(void)series_appender_add(t->app, ls, &s, 1);
}

/* Stale markers at `at` for every series of the last scrape not in cur. */
static void
add_stale(struct target *t, const struct lset *cur, int64_t at)
{
	size_t i;

	for (i = 0; i < t->prev.cap; i++)
		if (t->prev.v[i] != NULL && (cur == NULL ||
		    !lset_has(cur, t->prev.v[i])))
			add_one(t, t->prev.v[i], at,
			    bits_double(CHUNK_STALE_NAN));
}

static void
meta_free(struct scrape_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nmeta; i++) {
		free(c->meta[i].family);
		free(c->meta[i].help);
		free(c->meta[i].unit);
	}
	free(c->meta);
	c->meta = NULL;
	c->nmeta = 0;
}

static void
meta_store(struct target *t, struct scrape_ctx *c)
{
	struct series_meta m;
	size_t i;

	if (c->meta_hash == t->meta_hash)
		return;
	for (i = 0; i < c->nmeta; i++) {
		memset(&m, 0, sizeof(m));
		m.metric = c->meta[i].family;
		m.metric_len = strlen(m.metric);
		m.type = c->meta[i].type;
		m.help = c->meta[i].help ? c->meta[i].help : "";
		m.help_len = strlen(m.help);
		m.unit = c->meta[i].unit ? c->meta[i].unit : "";
		m.unit_len = strlen(m.unit);
		if (series_meta_put(t->sc->s, &m) != 0)
			return;
	}
	t->meta_hash = c->meta_hash;
}

static const char *
target_name(const struct target *t)
{
	return t->def.url;
}

static void
scrape_once(struct target *t)
{
	struct scrape_ctx c;
	struct expfmt_handler h;
	struct series_counts counts;
	enum expfmt_format fmt;
	struct expfmt_stats st;
	char *ctype = NULL, why[512];
	uint64_t added = 0;
	int64_t m0 = clock_mono_ns();
	double dur;
	size_t i;
	int rc, crc;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.t0 = clock_wall_ns() / 1000000;
	/* a step of the wall clock back must not put a scrape before the last */
	if (c.t0 <= t->last_t)
		c.t0 = t->last_t + 1;
	c.meta_hash = UINT64_C(0xcbf29ce484222325);
	relabel_labels_init(&c.rl);
	if ((rc = fetch(t, &ctype)) == 0 &&
	    (rc = expfmt_format_for(ctype, &fmt)) == 0) {
		h.on_meta = on_meta;
		h.on_sample = on_sample;
		h.arg = &c;
		rc = expfmt_parse(t->body.data ? t->body.data : "", t->body.len,
		    fmt, &h, &st);
	}
	free(ctype);
	if (rc != 0 && atomic_load(&t->cancel)) {
		/* stopping: not a failed scrape; end_stale() follows */
		series_appender_free(t->app);
		t->app = series_appender_new(t->sc->s);
		lset_clear(&c.cur);
		lset_clear(&c.cur_ts);
		relabel_labels_release(&c.rl);
		meta_free(&c);
		return;
	}
	t->last_t = c.t0;
	if (rc != 0) {
		snprintf(why, sizeof(why), "%s", err_message(rc));
		/* what was added is dropped: a failed scrape is an empty one */
		series_appender_free(t->app);
		t->app = series_appender_new(t->sc->s);
		lset_clear(&c.cur);
		lset_clear(&c.cur_ts);
		c.post = 0;
		c.bad = 0;
	}
	add_stale(t, &c.cur, c.t0);
	/* series_added as Prometheus counts it: new to the target's cache */
	for (i = 0; rc == 0 && i < c.cur.cap; i++)
		if (c.cur.v[i] != NULL && !lset_has(&t->prev, c.cur.v[i]))
			added++;
	for (i = 0; rc == 0 && i < c.cur_ts.cap; i++)
		if (c.cur_ts.v[i] != NULL && !lset_has(&t->prev_ts, c.cur_ts.v[i]))
			added++;
	dur = (double)(clock_mono_ns() - m0) / 1e9;
	add_one(t, t->report[0], c.t0, rc == 0 ? 1 : 0);
	add_one(t, t->report[1], c.t0, dur);
	add_one(t, t->report[2], c.t0, (double)c.total);
	add_one(t, t->report[3], c.t0, (double)c.post);
	add_one(t, t->report[4], c.t0, (double)added);
	memset(&counts, 0, sizeof(counts));
	/* -EINVAL: some samples refused (counted below), the rest stored */
	if ((crc = series_appender_commit(t->app, &counts, NULL)) != 0 &&
	    crc != -EINVAL)
		log_warn("scrape of '%s': cannot store its samples: %s",
		    target_name(t), err_message(crc));
	if (rc == 0)
		meta_store(t, &c);
	lset_clear(&t->prev);
	t->prev = c.cur;
	lset_clear(&t->prev_ts);
	t->prev_ts = c.cur_ts;
	relabel_labels_release(&c.rl);
	meta_free(&c);

	metric_add(t->m_scrapes, 1);
	metric_add(t->m_scraped, (double)c.total);
	metric_add(t->m_failed, (double)(c.bad + counts.out_of_order +
	    counts.conflicts + counts.over_limit));
	metric_set(t->m_last_scraped, (double)c.total);
	metric_set(t->m_last_failed, (double)(c.bad + counts.out_of_order +
	    counts.conflicts + counts.over_limit));
	if (rc != 0) {
		metric_add(t->m_scrapes_failed, 1);
		if (t->up != 0 && t->job->quiet)
			log_info("scrape of '%s' failed: %s", target_name(t), why);
		else if (t->up != 0)
			log_warn("scrape of '%s' failed: %s", target_name(t), why);
		t->up = 0;
	} else {
		if (t->up == 0)
			log_info("scrape of '%s' succeeds again", target_name(t));
		t->up = 1;
	}
}

/* Stale markers for every series of the last scrape and the report. */
static void
end_stale(struct target *t, int64_t at)
{
	size_t i;

	/* as Prometheus: a target never scraped has nothing to mark */
	if (t->last_t == 0)
		return;
	/* after the last scrape, even within its millisecond */
	if (at <= t->last_t)
		at = t->last_t + 1;
	add_stale(t, NULL, at);
	for (i = 0; i < NREPORT; i++)
		add_one(t, t->report[i], at, bits_double(CHUNK_STALE_NAN));
	/* a refused marker (the target came back, newer samples) is fine */
	(void)series_appender_commit(t->app, NULL, NULL);
	lset_clear(&t->prev);
}

/* ---- a target's thread ---- */

/* The first scrape's delay, as Prometheus's Target.offset computes it. */
static int64_t
first_offset(const struct target *t)
{
	uint64_t iv = (uint64_t)t->def.interval_ms * 1000000, h, off;
	int64_t now = clock_wall_ns(), base, next;

	h = labels_hash(t->def.full) ^ fnv1a(UINT64_C(0xcbf29ce484222325),
	    t->def.url, strlen(t->def.url));
	base = (int64_t)iv - now % (int64_t)iv;
	off = (h ^ t->sc->seed) % iv;
	next = base + (int64_t)off;
	if (next > (int64_t)iv)
		next -= (int64_t)iv;
	return next;
}

static void *
target_main(void *arg)
{
	struct target *t = arg;
	struct scraper *sc = t->sc;
	int64_t iv = t->def.interval_ms * 1000000, due, now, stale_at;
	int stopping = 0, removed = 0;

	t->app = series_appender_new(sc->s);
	due = clock_mono_ns() + first_offset(t);
	for (;;) {
		pthread_mutex_lock(&sc->mu);
		while (!sc->stopping && !t->removed &&
		    clock_mono_ns() < due)
			clock_cond_wait(&sc->cond, &sc->mu, due);
		stopping = sc->stopping;
		removed = t->removed;
		pthread_mutex_unlock(&sc->mu);
		if (stopping || removed)
			break;
		scrape_once(t);
		now = clock_mono_ns();
		due += iv;
		while (due <= now)
			due += iv;
	}
	stale_at = clock_wall_ns() / 1000000;
	if (removed && !stopping) {
		/*
		 * As Prometheus: the markers carry the time of the next scrape,
		 * and are written two intervals and a tenth later, so that a
		 * target that comes back meanwhile goes on without a gap.
		 */
		stale_at += (due - clock_mono_ns()) / 1000000;
		due += iv + iv / 10;
		pthread_mutex_lock(&sc->mu);
		while (!sc->stopping && clock_mono_ns() < due)
			clock_cond_wait(&sc->cond, &sc->mu, due);
		pthread_mutex_unlock(&sc->mu);
	}
	end_stale(t, stale_at);
	pthread_mutex_lock(&sc->mu);
	t->done = 1;
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

static void
target_free(struct target *t)
{
	size_t i;

	if (t->curl != NULL)
		curl_easy_cleanup(t->curl);
	buf_release(&t->body);
	series_appender_free(t->app);
	lset_clear(&t->prev);
	lset_clear(&t->prev_ts);
	for (i = 0; i < NREPORT; i++)
		labels_free(t->report[i]);
	scrape_target_def_release(&t->def);
	free(t);
}

/* A target's thread started, or NULL (logged); def is taken. */
static struct target *
target_start(struct scraper *sc, const struct scrape_job *j,
    struct scrape_target_def *def)
{
	struct relabel_labels rl;
	struct target *t = xcalloc(1, sizeof(*t));
	const char *inst;
	size_t i;
	int rc;

	t->sc = sc;
	t->job = j;
	t->def = *def;
	memset(def, 0, sizeof(*def));
	t->up = -1;
	atomic_init(&t->cancel, 0);
	buf_init(&t->body, SCRAPE_BODY_MAX);
	relabel_labels_init(&rl);
	for (i = 0; i < NREPORT; i++) {
		relabel_labels_reset(&rl);
		relabel_labels_add(&rl, t->def.labels);
		relabel_labels_set(&rl, LABELS_METRIC_NAME, 8, report_names[i],
		    strlen(report_names[i]));
		if (relabel_labels_build(&rl, 0, &t->report[i]) != 0)
			BUG("the labels of a target's report: %s", err_detail());
	}
	relabel_labels_release(&rl);
	inst = labels_get(t->def.labels, "instance");
	if (inst == NULL)
		inst = "";
	t->m_scraped = metric_series(sc->m_scraped, j->name, inst);
	t->m_failed = metric_series(sc->m_failed, j->name, inst);
	t->m_scrapes = metric_series(sc->m_scrapes, j->name, inst);
	t->m_scrapes_failed = metric_series(sc->m_scrapes_failed, j->name, inst);
	t->m_last_scraped = metric_series(sc->m_last_scraped, j->name, inst);
	t->m_last_failed = metric_series(sc->m_last_failed, j->name, inst);
	if ((rc = pthread_create(&t->thread, NULL, target_main, t)) != 0) {
		log_error("cannot start scraping '%s': %s", t->def.url,
		    strerror(rc));
		target_free(t);
		return NULL;
	}
	log_debug("scraping '%s' every %lld ms", t->def.url,
	    (long long)t->def.interval_ms);
	return t;
}

/* ---- discovery ---- */

/* Re-read the file_sd files of job j, keeping a file's last good groups. */
static void
refresh_files(const struct scrape_job *j, struct job_state *s)
{
	struct scrape_group *nv = NULL, *g;
	size_t nn = 0, i, k, m, ng;
	glob_t gl;
	int rc;

	for (i = 0; i < j->nfile_sd; i++) {
		for (k = 0; k < j->file_sd[i].nfiles; k++) {
			memset(&gl, 0, sizeof(gl));
			if (glob(j->file_sd[i].files[k], 0, NULL, &gl) != 0) {
				globfree(&gl);
				continue;
			}
			for (m = 0; m < gl.gl_pathc; m++) {
				const char *path = gl.gl_pathv[m];
				size_t q;

				if ((rc = scrape_sd_read_file(path, &g, &ng)) != 0) {
					log_error("job '%s': cannot read "
					    "targets from '%s': %s", j->name,
					    path, err_message(rc));
					/* the last good groups of that file */
					for (q = 0; q < s->nfile_groups; q++) {
						struct scrape_group *o =
						    &s->file_groups[q];

						if (o->source == NULL ||
						    strcmp(o->source, path) != 0)
							continue;
						nv = xrealloc(nv, (nn + 1) *
						    sizeof(*nv));
						nv[nn++] = *o;
						memset(o, 0, sizeof(*o));
					}
					continue;
				}
				if (ng > 0) {	/* an empty file has none */
					nv = xrealloc(nv, (nn + ng) *
					    sizeof(*nv));
					memcpy(nv + nn, g, ng * sizeof(*g));
					nn += ng;
				}
				free(g);
			}
			globfree(&gl);
		}
	}
	for (i = 0; i < s->nfile_groups; i++)
		scrape_group_release(&s->file_groups[i]);
	free(s->file_groups);
	s->file_groups = nv;
	s->nfile_groups = nn;
}

struct defs {
	struct scrape_target_def *v;
	const struct scrape_job	**job;
	size_t			  n;
};

static void
defs_add_group(struct defs *d, const struct scrape_job *j,
    const struct scrape_group *g)
{
	struct scrape_target_def t;
	size_t i, k;
	int rc;

	for (i = 0; i < g->ntargets; i++) {
		if ((rc = scrape_target_make(j, g->targets[i], g, &t)) < 0) {
			log_warn("%s", err_message(rc));
			continue;
		}
		if (rc == 0)
			continue;
		for (k = 0; k < d->n; k++)
			if (d->job[k] == j && labels_equal(d->v[k].full, t.full))
				break;
		if (k < d->n) {
			scrape_target_def_release(&t);
			continue;
		}
		d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
		d->job = xrealloc(d->job, (d->n + 1) * sizeof(*d->job));
		d->v[d->n] = t;
		d->job[d->n++] = j;
	}
}

/* Start what is new, mark what is gone, reap what ended. */
static void
sync_targets(struct scraper *sc, struct defs *d)
{
	struct target *t, **pp, *started = NULL, *next, *ended = NULL;
	size_t k;

	pthread_mutex_lock(&sc->mu);
	for (t = sc->targets; t != NULL; t = t->next) {
		if (t->removed)
			continue;
		for (k = 0; k < d->n; k++)
			if (d->job[k] == t->job && d->v[k].full != NULL &&
			    labels_equal(d->v[k].full, t->def.full))
				break;
		if (k < d->n)
			scrape_target_def_release(&d->v[k]);	/* running */
		else {
			t->removed = 1;
			log_info("target '%s' is gone", t->def.url);
		}
	}
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->mu);
	for (k = 0; k < d->n; k++) {
		if (d->v[k].full == NULL)
			continue;
		if ((t = target_start(sc, d->job[k], &d->v[k])) != NULL) {
			t->next = started;
			started = t;
		}
	}
	pthread_mutex_lock(&sc->mu);
	while (started != NULL) {
		next = started->next;
		started->next = sc->targets;
		sc->targets = started;
		started = next;
	}
	for (pp = &sc->targets; *pp != NULL;) {
		t = *pp;
		if (t->done) {
			*pp = t->next;
			t->next = ended;
			ended = t;
		} else
			pp = &t->next;
	}
	pthread_mutex_unlock(&sc->mu);
	for (t = ended; t != NULL; t = next) {
		next = t->next;
		pthread_join(t->thread, NULL);
		target_free(t);
	}
}

static void
discover(struct scraper *sc)
{
	struct defs d;
	const struct scrape_job *j;
	int64_t now = clock_mono_ns();
	size_t i, k;

	memset(&d, 0, sizeof(d));
	for (i = 0; i < sc->c->njobs; i++) {
		j = &sc->c->jobs[i];
		if (j->nfile_sd > 0 && now >= sc->js[i].next_refresh) {
			int64_t r = j->file_sd[0].refresh_ms;

			for (k = 1; k < j->nfile_sd; k++)
				if (j->file_sd[k].refresh_ms < r)
					r = j->file_sd[k].refresh_ms;
			refresh_files(j, &sc->js[i]);
			sc->js[i].next_refresh = now + r * 1000000;
		}
		for (k = 0; k < j->ngroups; k++)
			defs_add_group(&d, j, &j->groups[k]);
		for (k = 0; k < sc->js[i].nfile_groups; k++)
			defs_add_group(&d, j, &sc->js[i].file_groups[k]);
	}
	sync_targets(sc, &d);
	for (k = 0; k < d.n; k++)
		scrape_target_def_release(&d.v[k]);
	free(d.v);
	free(d.job);
}

static void *
discovery_main(void *arg)
{
	struct scraper *sc = arg;
	int64_t due;
	size_t i;
	int any_done;

	for (;;) {
		discover(sc);
		due = 0;
		for (i = 0; i < sc->c->njobs; i++)
			if (sc->c->jobs[i].nfile_sd > 0 &&
			    (due == 0 || sc->js[i].next_refresh < due))
				due = sc->js[i].next_refresh;
		pthread_mutex_lock(&sc->mu);
		for (;;) {
			struct target *t;

			any_done = 0;
			for (t = sc->targets; t != NULL; t = t->next)
				any_done |= t->done;
			if (sc->stopping || any_done ||
			    (due != 0 && clock_mono_ns() >= due))
				break;
			clock_cond_wait(&sc->cond, &sc->mu, due);
		}
		if (sc->stopping) {
			pthread_mutex_unlock(&sc->mu);
			break;
		}
		pthread_mutex_unlock(&sc->mu);
	}
	return NULL;
}

/* ---- start and stop ---- */

static void
curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
scrape_start(struct series *s, struct scrape_config *c, struct scraper **out)
{
	static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
	struct scraper *sc;
	struct metrics *m = metrics_global();
	pthread_condattr_t ca;
	char host[256];
	int rc;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	sc = xcalloc(1, sizeof(*sc));
	sc->s = s;
	sc->c = c;
	sc->js = xcalloc(c->njobs ? c->njobs : 1, sizeof(*sc->js));
	pthread_mutex_init(&sc->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sc->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	sc->seed = fnv1a(UINT64_C(0xcbf29ce484222325), host, strlen(host));
	sc->m_scraped = metrics_counter(m, "scrape_samples_scraped_total",
	    "Samples read from scrapes, before metric relabelling.",
	    "job,instance");
	sc->m_failed = metrics_counter(m, "scrape_samples_failed_total",
	    "Samples of scrapes that were not stored: labels not valid after "
	    "relabelling, out of order, a duplicate time, past max_series.",
	    "job,instance");
	/* the names OpenData Timeseries gives these: the last scrape's */
	sc->m_last_scraped = metrics_gauge(m, "scrape_samples_scraped",
	    "Samples read from the last scrape of a target.", "job,instance");
	sc->m_last_failed = metrics_gauge(m, "scrape_samples_failed",
	    "Samples of the last scrape of a target that were not stored.",
	    "job,instance");
	sc->m_scrapes = metrics_counter(m, "scrape_scrapes_total",
	    "Scrapes made.", "job,instance");
	sc->m_scrapes_failed = metrics_counter(m, "scrape_scrapes_failed_total",
	    "Scrapes that failed: no answer, not 200, a body that does not "
	    "parse.", "job,instance");
	if ((rc = pthread_create(&sc->disc, NULL, discovery_main, sc)) != 0) {
		rc = err_set(-rc, "cannot start the scraper: %s", strerror(rc));
		scrape_stop(sc);
		return rc;
	}
	sc->disc_started = 1;
	*out = sc;
	return 0;
}

void
scrape_stop(struct scraper *sc)
{
	struct target *t, *next;
	size_t i, k;

	if (sc == NULL)
		return;
	pthread_mutex_lock(&sc->mu);
	sc->stopping = 1;
	for (t = sc->targets; t != NULL; t = t->next)
		atomic_store(&t->cancel, 1);
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->mu);
	if (sc->disc_started)
		pthread_join(sc->disc, NULL);
	/* discovery has ended: nothing adds targets now */
	pthread_mutex_lock(&sc->mu);
	for (t = sc->targets; t != NULL; t = t->next)
		atomic_store(&t->cancel, 1);
	pthread_mutex_unlock(&sc->mu);
	for (t = sc->targets; t != NULL; t = next) {
		next = t->next;
		pthread_join(t->thread, NULL);
		target_free(t);
	}
	for (i = 0; i < sc->c->njobs; i++) {
		for (k = 0; k < sc->js[i].nfile_groups; k++)
			scrape_group_release(&sc->js[i].file_groups[k]);
		free(sc->js[i].file_groups);
	}
	free(sc->js);
	scrape_config_free(sc->c);
	pthread_cond_destroy(&sc->cond);
	pthread_mutex_destroy(&sc->mu);
	free(sc);
}
