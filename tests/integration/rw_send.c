/*
 * rw_send - a Prometheus remote write client for the tests and the
 * benchmarks: it builds 1.0 or 2.0 requests (protobuf-c from
 * src/model/prompb.proto, snappy), sends them with libcurl as Prometheus
 * does, and can record which requests were acknowledged.
 *
 *	rw_send [OPTIONS] URL		send
 *	rw_send [OPTIONS] -o FILE	write the first request's body to FILE
 *
 * The requests are either read (-i FILE) or generated (-n REQUESTS):
 *
 *	-i FILE		"-" for stdin. One sample a line, a blank line ends a
 *			request:
 *			    metric{name="value",...} T V
 *			    {__name__="metric",...} T V
 *			T in milliseconds, V a float as strtod reads it, NaN,
 *			+Inf, -Inf or "stale" (Prometheus's stale marker).
 *			Label sets are sent as written, in their order, so an
 *			invalid one can be sent; consecutive lines of one set
 *			are one series. Metadata lines, "# TYPE m counter",
 *			"# HELP m text", "# UNIT m unit", go with the request
 *			(1.0: its metadata list; 2.0: the series of metric m,
 *			or a series {__name__="m"} without samples).
 *	-n REQUESTS	generated, per sender (-c SENDERS, each a thread of
 *			its own with a connection of its own): each request
 *			holds -s SERIES series, metric{instance="sN",series="I"}
 *			(metric from -m, default rw_send_test), each with -k
 *			SAMPLES samples; request r's sample j is at
 *			T = START + (r * SAMPLES + j) * STEP (-t START, -d
 *			STEP, ms) with value r * SAMPLES + j. Senders name
 *			other series, so they never send out of order.
 *
 * Other options:
 *	-v 1|2		the version (default 1)
 *	-E N, -H N	N exemplars, N histogram samples per series (opaque
 *			bytes, which the receiver only counts)
 *	-r FILE		the body is FILE's bytes, snappy-compressed (a bad
 *			protobuf message)
 *	-a FILE		the samples of each request answered 2xx, in the -i
 *			format (a blank line after each request)
 *	-u FILE		the same for every other request
 *	-l FILE		a line a request: sender, request, HTTP status (0: no
 *			answer), samples, the Samples-Written header ("-" if
 *			none), and the first line of the answer's body
 *	-x		a sender stops at its first request not answered 2xx
 *	-T MS		each request's timeout (default 60000)
 *
 * At the end a line on stderr counts the requests by outcome, with the
 * time taken and the acknowledged samples a second. SHALE_HTTP_TOKEN, if
 * set, is sent as a bearer token. Exit status: 0
 * when every request was answered 2xx, 2 when some were not, 1 on a
 * usage or local error.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <snappy-c.h>

#include "model/prompb.pb-c.h"

#define STALE_BITS	0x7ff0000000000002ULL	/* Prometheus's stale NaN */

struct lbl {
	char	*name, *value;
};

struct smp {
	int64_t	 t;
	double	 v;
};

struct ser {
	char		*text;		/* the label set as written */
	struct lbl	*l;
	size_t		 nl;
	struct smp	*s;
	size_t		 ns, cap;
};

struct meta {
	char	*name;
	int	 type;
	char	*help, *unit;
};

struct req {
	struct ser	*ser;
	size_t		 n, cap;
	struct meta	*meta;
	size_t		 nmeta, mcap;
};

static struct {
	const char	*url;
	int		 version;
	const char	*input, *out, *raw, *acked, *unacked, *log;
	long		 requests, senders, series, samples;
	int64_t		 start, step;
	const char	*metric;
	long		 exemplars, histograms;
	int		 stop_on_error;
	long		 timeout_ms;
} opt = {
	.version = 1, .senders = 1, .series = 10, .samples = 10,
	.start = 1700000000000LL, .step = 1000, .metric = "rw_send_test",
	.timeout_ms = 60000,
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *f_acked, *f_unacked, *f_log;
static long n_sent, n_ok, n_refused, n_failed, n_acked_samples;

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rw_send: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		die("out of memory (%zu bytes)", n);
	return p;
}

static void *
xgrow_(void *p, size_t *cap, size_t want, size_t size)
{
	if (want <= *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	if (*cap < want)
		*cap = want;
	if ((p = realloc(p, *cap * size)) == NULL)
		die("out of memory");
	return p;
}

static char *
xstrndup_(const char *s, size_t n)
{
	char *d = xalloc(n + 1);

	memcpy(d, s, n);
	return d;
}

/* ---- requests ---- */

static void
req_free(struct req *q)
{
	for (size_t i = 0; i < q->n; i++) {
		struct ser *s = &q->ser[i];
		for (size_t j = 0; j < s->nl; j++) {
			free(s->l[j].name);
			free(s->l[j].value);
		}
		free(s->l);
		free(s->s);
		free(s->text);
	}
	for (size_t i = 0; i < q->nmeta; i++) {
		free(q->meta[i].name);
		free(q->meta[i].help);
		free(q->meta[i].unit);
	}
	free(q->ser);
	free(q->meta);
	memset(q, 0, sizeof(*q));
}

static size_t
req_samples(const struct req *q)
{
	size_t n = 0;

	for (size_t i = 0; i < q->n; i++)
		n += q->ser[i].ns;
	return n;
}

static void
ser_add_label(struct ser *s, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	s->l = realloc(s->l, (s->nl + 1) * sizeof(*s->l));
	if (s->l == NULL)
		die("out of memory");
	s->l[s->nl].name = xstrndup_(name, nlen);
	s->l[s->nl].value = xstrndup_(value, vlen);
	s->nl++;
}

/* Parse a label set as written: metric{a="b",...} or {...}. */
static int
parse_set(const char *p, size_t n, struct ser *s)
{
	const char *e = p + n, *q, *name;
	char *val;
	size_t vlen, nlen;

	for (q = p; q < e && *q != '{'; q++)
		;
	if (q > p)
		ser_add_label(s, "__name__", 8, p, (size_t)(q - p));
	if (q == e)
		return 0;
	q++;
	while (q < e && *q != '}') {
		name = q;
		while (q < e && *q != '=')
			q++;
		nlen = (size_t)(q - name);
		if (q + 1 >= e || q[1] != '"')
			return -1;
		q += 2;
		val = xalloc((size_t)(e - q) + 1);
		vlen = 0;
		while (q < e && *q != '"') {
			if (*q == '\\' && q + 1 < e) {
				q++;
				val[vlen++] = *q == 'n' ? '\n' : *q;
			} else
				val[vlen++] = *q;
			q++;
		}
		if (q == e) {
			free(val);
			return -1;
		}
		ser_add_label(s, name, nlen, val, vlen);
		free(val);
		q++;
		if (q < e && *q == ',')
			q++;
	}
	return q < e && q + 1 == e ? 0 : -1;
}

static int
parse_value(const char *s, double *v)
{
	char *end;
	uint64_t bits = STALE_BITS;

	if (strcmp(s, "stale") == 0) {
		memcpy(v, &bits, sizeof(*v));
		return 0;
	}
	errno = 0;
	*v = strtod(s, &end);
	return *s == '\0' || *end != '\0' ? -1 : 0;
}

static const char *type_names[] = {
	"unknown", "counter", "gauge", "histogram", "gaugehistogram",
	"summary", "info", "stateset",
};

static struct meta *
meta_of(struct req *q, const char *name, size_t n)
{
	struct meta *m;

	for (size_t i = 0; i < q->nmeta; i++)
		if (strlen(q->meta[i].name) == n &&
		    memcmp(q->meta[i].name, name, n) == 0)
			return &q->meta[i];
	q->meta = xgrow_(q->meta, &q->mcap, q->nmeta + 1, sizeof(*q->meta));
	m = &q->meta[q->nmeta++];
	memset(m, 0, sizeof(*m));
	m->name = xstrndup_(name, n);
	return m;
}

/* "# TYPE m t", "# HELP m text", "# UNIT m u" */
static int
parse_meta(struct req *q, const char *line)
{
	const char *name, *rest;
	struct meta *m;
	size_t n;
	int i;

	if (strncmp(line, "# TYPE ", 7) && strncmp(line, "# HELP ", 7) &&
	    strncmp(line, "# UNIT ", 7))
		return 0;	/* a comment */
	name = line + 7;
	n = strcspn(name, " ");
	rest = name[n] == ' ' ? name + n + 1 : name + n;
	m = meta_of(q, name, n);
	if (line[2] == 'T') {
		for (i = 0; i < 8; i++)
			if (strcmp(rest, type_names[i]) == 0)
				break;
		if (i == 8)
			return -1;
		m->type = i;
	} else if (line[2] == 'H') {
		free(m->help);
		m->help = xstrndup_(rest, strlen(rest));
	} else {
		free(m->unit);
		m->unit = xstrndup_(rest, strlen(rest));
	}
	return 0;
}

/* The next request of f: 1, or 0 at the end. */
static int
read_request(FILE *f, struct req *q, long *lineno)
{
	char *line = NULL, *sp, *sp2;
	size_t cap = 0;
	ssize_t len;
	struct ser *s;
	struct smp x;
	int got = 0;

	memset(q, 0, sizeof(*q));
	while ((len = getline(&line, &cap, f)) >= 0) {
		(*lineno)++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0) {
			if (got)
				break;
			continue;
		}
		got = 1;
		if (line[0] == '#') {
			if (parse_meta(q, line) != 0)
				die("line %ld: bad metadata '%s'", *lineno, line);
			continue;
		}
		/* the set may hold spaces in values: T and V are the last two */
		if ((sp2 = strrchr(line, ' ')) == NULL || sp2 == line)
			die("line %ld: expected 'SERIES T V'", *lineno);
		*sp2 = '\0';
		if ((sp = strrchr(line, ' ')) == NULL)
			die("line %ld: expected 'SERIES T V'", *lineno);
		*sp = '\0';
		x.t = strtoll(sp + 1, NULL, 10);
		if (parse_value(sp2 + 1, &x.v) != 0)
			die("line %ld: bad value '%s'", *lineno, sp2 + 1);
		s = q->n > 0 ? &q->ser[q->n - 1] : NULL;
		if (s == NULL || strcmp(s->text, line) != 0) {
			q->ser = xgrow_(q->ser, &q->cap, q->n + 1,
			    sizeof(*q->ser));
			s = &q->ser[q->n++];
			memset(s, 0, sizeof(*s));
			s->text = xstrndup_(line, strlen(line));
			if (parse_set(line, strlen(line), s) != 0)
				die("line %ld: bad series '%s'", *lineno, line);
		}
		s->s = xgrow_(s->s, &s->cap, s->ns + 1, sizeof(*s->s));
		s->s[s->ns++] = x;
	}
	free(line);
	return got;
}

static void
generate(struct req *q, long sender, long r)
{
	char buf[64], text[512];

	memset(q, 0, sizeof(*q));
	q->ser = xalloc((size_t)opt.series * sizeof(*q->ser));
	q->n = (size_t)opt.series;
	for (long i = 0; i < opt.series; i++) {
		struct ser *s = &q->ser[i];
		snprintf(text, sizeof(text), "%s{instance=\"s%ld\",series=\"%ld\"}",
		    opt.metric, sender, i);
		s->text = xstrndup_(text, strlen(text));
		ser_add_label(s, "__name__", 8, opt.metric, strlen(opt.metric));
		snprintf(buf, sizeof(buf), "s%ld", sender);
		ser_add_label(s, "instance", 8, buf, strlen(buf));
		snprintf(buf, sizeof(buf), "%ld", i);
		ser_add_label(s, "series", 6, buf, strlen(buf));
		s->s = xalloc((size_t)opt.samples * sizeof(*s->s));
		s->ns = s->cap = (size_t)opt.samples;
		for (long j = 0; j < opt.samples; j++) {
			s->s[j].t = opt.start + (r * opt.samples + j) * opt.step;
			s->s[j].v = (double)(r * opt.samples + j);
		}
	}
}

/* ---- encoding ---- */

static ProtobufCBinaryData
bin(const char *s)
{
	ProtobufCBinaryData b = { strlen(s), (uint8_t *)s };

	return b;
}

static uint8_t opaque[] = { 0x08, 0x01 };	/* what an opaque entry holds */

static ProtobufCBinaryData *
opaques(long n)
{
	ProtobufCBinaryData *v = xalloc((size_t)n * sizeof(*v));

	for (long i = 0; i < n; i++) {
		v[i].len = sizeof(opaque);
		v[i].data = opaque;
	}
	return v;
}

static uint8_t *
encode_v1(const struct req *q, size_t *len)
{
	Prompb__WriteRequest w = PROMPB__WRITE_REQUEST__INIT;
	Prompb__TimeSeries *ts;
	Prompb__Label *lb;
	Prompb__Sample *sm;
	Prompb__MetricMetadata *md;
	size_t i, j, nl = 0, ns = 0;
	uint8_t *msg;

	for (i = 0; i < q->n; i++) {
		nl += q->ser[i].nl;
		ns += q->ser[i].ns;
	}
	ts = xalloc(q->n * sizeof(*ts));
	lb = xalloc(nl * sizeof(*lb));
	sm = xalloc(ns * sizeof(*sm));
	md = xalloc(q->nmeta * sizeof(*md));
	w.n_timeseries = q->n;
	w.timeseries = xalloc(q->n * sizeof(*w.timeseries));
	nl = ns = 0;
	for (i = 0; i < q->n; i++) {
		const struct ser *s = &q->ser[i];
		prompb__time_series__init(&ts[i]);
		w.timeseries[i] = &ts[i];
		ts[i].n_labels = s->nl;
		ts[i].labels = xalloc(s->nl * sizeof(*ts[i].labels));
		for (j = 0; j < s->nl; j++) {
			prompb__label__init(&lb[nl]);
			lb[nl].name = bin(s->l[j].name);
			lb[nl].value = bin(s->l[j].value);
			ts[i].labels[j] = &lb[nl++];
		}
		ts[i].n_samples = s->ns;
		ts[i].samples = xalloc(s->ns * sizeof(*ts[i].samples));
		for (j = 0; j < s->ns; j++) {
			prompb__sample__init(&sm[ns]);
			sm[ns].timestamp = s->s[j].t;
			sm[ns].value = s->s[j].v;
			ts[i].samples[j] = &sm[ns++];
		}
		ts[i].n_exemplars = (size_t)opt.exemplars;
		ts[i].exemplars = opaques(opt.exemplars);
		ts[i].n_histograms = (size_t)opt.histograms;
		ts[i].histograms = opaques(opt.histograms);
	}
	w.n_metadata = q->nmeta;
	w.metadata = xalloc(q->nmeta * sizeof(*w.metadata));
	for (i = 0; i < q->nmeta; i++) {
		prompb__metric_metadata__init(&md[i]);
		md[i].type = q->meta[i].type;
		md[i].metric_family_name = bin(q->meta[i].name);
		md[i].help = bin(q->meta[i].help ? q->meta[i].help : "");
		md[i].unit = bin(q->meta[i].unit ? q->meta[i].unit : "");
		w.metadata[i] = &md[i];
	}
	*len = prompb__write_request__get_packed_size(&w);
	msg = xalloc(*len);
	prompb__write_request__pack(&w, msg);
	for (i = 0; i < q->n; i++) {
		free(ts[i].labels);
		free(ts[i].samples);
		free(ts[i].exemplars);
		free(ts[i].histograms);
	}
	free(w.timeseries);
	free(w.metadata);
	free(ts);
	free(lb);
	free(sm);
	free(md);
	return msg;
}

/* The 2.0 symbol table: strings by first use, "" first. */
struct symtab {
	ProtobufCBinaryData *v;
	size_t		 n, cap;
};

static uint32_t
sym(struct symtab *t, const char *s)
{
	/* linear: the tests' requests are small; the last ones are likely */
	for (size_t i = t->n; i-- > 0;)
		if (t->v[i].len == strlen(s) && memcmp(t->v[i].data, s,
		    t->v[i].len) == 0)
			return (uint32_t)i;
	t->v = xgrow_(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n] = bin(s);
	return (uint32_t)t->n++;
}

static const char *
metric_of(const struct ser *s)
{
	for (size_t j = 0; j < s->nl; j++)
		if (strcmp(s->l[j].name, "__name__") == 0)
			return s->l[j].value;
	return NULL;
}

static uint8_t *
encode_v2(const struct req *q, size_t *len)
{
	Prompb__V2Request w = PROMPB__V2_REQUEST__INIT;
	struct symtab st = { NULL, 0, 0 };
	Prompb__V2TimeSeries *ts;
	Prompb__V2Metadata *md;
	Prompb__Sample *sm;
	struct ser *extra;
	size_t i, j, k, ns = 0, n, nextra = 0;
	const struct ser *s;
	uint8_t *msg;

	/* metadata for a metric no series of the request has: a series of its own */
	extra = xalloc((q->nmeta + 1) * sizeof(*extra));
	for (k = 0; k < q->nmeta; k++) {
		for (i = 0; i < q->n; i++)
			if (metric_of(&q->ser[i]) != NULL &&
			    strcmp(metric_of(&q->ser[i]), q->meta[k].name) == 0)
				break;
		if (i < q->n)
			continue;
		extra[nextra].l = xalloc(sizeof(struct lbl));
		extra[nextra].l[0].name = (char *)"__name__";
		extra[nextra].l[0].value = q->meta[k].name;
		extra[nextra].nl = 1;
		nextra++;
	}
	n = q->n + nextra;
	sym(&st, "");
	for (i = 0; i < q->n; i++)
		ns += q->ser[i].ns;
	ts = xalloc(n * sizeof(*ts));
	md = xalloc(n * sizeof(*md));
	sm = xalloc(ns * sizeof(*sm));
	w.n_timeseries = n;
	w.timeseries = xalloc(n * sizeof(*w.timeseries));
	ns = 0;
	for (i = 0; i < n; i++) {
		s = i < q->n ? &q->ser[i] : &extra[i - q->n];
		prompb__v2_time_series__init(&ts[i]);
		w.timeseries[i] = &ts[i];
		ts[i].n_labels_refs = 2 * s->nl;
		ts[i].labels_refs = xalloc(2 * s->nl * sizeof(uint32_t));
		for (j = 0; j < s->nl; j++) {
			ts[i].labels_refs[2 * j] = sym(&st, s->l[j].name);
			ts[i].labels_refs[2 * j + 1] = sym(&st, s->l[j].value);
		}
		ts[i].n_samples = s->ns;
		ts[i].samples = xalloc(s->ns * sizeof(*ts[i].samples));
		for (j = 0; j < s->ns; j++) {
			prompb__sample__init(&sm[ns]);
			sm[ns].timestamp = s->s[j].t;
			sm[ns].value = s->s[j].v;
			ts[i].samples[j] = &sm[ns++];
		}
		if (i < q->n) {
			ts[i].n_exemplars = (size_t)opt.exemplars;
			ts[i].exemplars = opaques(opt.exemplars);
			ts[i].n_histograms = (size_t)opt.histograms;
			ts[i].histograms = opaques(opt.histograms);
		}
		for (k = 0; k < q->nmeta; k++)
			if (metric_of(s) != NULL &&
			    strcmp(metric_of(s), q->meta[k].name) == 0)
				break;
		if (k < q->nmeta) {
			prompb__v2_metadata__init(&md[i]);
			md[i].type = q->meta[k].type;
			md[i].help_ref = q->meta[k].help ?
			    sym(&st, q->meta[k].help) : 0;
			md[i].unit_ref = q->meta[k].unit ?
			    sym(&st, q->meta[k].unit) : 0;
			ts[i].metadata = &md[i];
		}
	}
	w.n_symbols = st.n;
	w.symbols = st.v;
	*len = prompb__v2_request__get_packed_size(&w);
	msg = xalloc(*len);
	prompb__v2_request__pack(&w, msg);
	for (i = 0; i < n; i++) {
		free(ts[i].labels_refs);
		free(ts[i].samples);
		free(ts[i].exemplars);
		free(ts[i].histograms);
	}
	for (i = 0; i < nextra; i++)
		free(extra[i].l);
	free(extra);
	free(w.timeseries);
	free(st.v);
	free(ts);
	free(md);
	free(sm);
	return msg;
}

static uint8_t *
compress(const uint8_t *msg, size_t n, size_t *len)
{
	uint8_t *body;

	*len = snappy_max_compressed_length(n);
	body = xalloc(*len);
	if (snappy_compress((const char *)msg, n, (char *)body, len) !=
	    SNAPPY_OK)
		die("snappy_compress failed");
	return body;
}

static uint8_t *
encode(const struct req *q, size_t *len)
{
	uint8_t *msg, *body;
	size_t n;

	msg = opt.version == 2 ? encode_v2(q, &n) : encode_v1(q, &n);
	body = compress(msg, n, len);
	free(msg);
	return body;
}

/* ---- sending ---- */

struct answer {
	char	 first[256];	/* the body's first line */
	size_t	 n;
	char	 written[32];	/* the Samples-Written header, or "-" */
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb;

	for (size_t i = 0; i < n && a->n + 1 < sizeof(a->first); i++) {
		if (p[i] == '\n' || p[i] == '\r') {
			a->n = sizeof(a->first);	/* the first line only */
			break;
		}
		a->first[a->n++] = p[i];
		a->first[a->n] = '\0';
	}
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	static const char h[] = "x-prometheus-remote-write-samples-written:";
	struct answer *a = arg;
	size_t n = size * nmemb, k;

	if (n > sizeof(h) - 1 && strncasecmp(p, h, sizeof(h) - 1) == 0) {
		p += sizeof(h) - 1;
		k = n - (sizeof(h) - 1);
		while (k > 0 && *p == ' ')
			p++, k--;
		while (k > 0 && (p[k - 1] == '\n' || p[k - 1] == '\r' ||
		    p[k - 1] == ' '))
			k--;
		if (k >= sizeof(a->written))
			k = sizeof(a->written) - 1;
		memcpy(a->written, p, k);
		a->written[k] = '\0';
	}
	return n;
}

static long
post(CURL *c, struct curl_slist *hd, const uint8_t *body, size_t len,
    struct answer *a)
{
	long status = 0;

	memset(a, 0, sizeof(*a));
	snprintf(a->written, sizeof(a->written), "-");
	curl_easy_setopt(c, CURLOPT_URL, opt.url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, opt.timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) != CURLE_OK)
		return 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static void
fmt_value(double v, char *out, size_t n)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	if (bits == STALE_BITS)
		snprintf(out, n, "stale");
	else if (isnan(v))
		snprintf(out, n, "NaN");
	else if (isinf(v))
		snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
	else {
		/* the shortest of 15, 16, 17 digits, as the server writes it */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(out, n, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

static void
write_samples(FILE *f, const struct req *q)
{
	char v[64];

	for (size_t i = 0; i < q->n; i++)
		for (size_t j = 0; j < q->ser[i].ns; j++) {
			fmt_value(q->ser[i].s[j].v, v, sizeof(v));
			fprintf(f, "%s %" PRId64 " %s\n", q->ser[i].text,
			    q->ser[i].s[j].t, v);
		}
	fputc('\n', f);
}

/* Note what became of one request; 1 when it was answered 2xx. */
static int
record(long sender, long r, const struct req *q, long status,
    const struct answer *a)
{
	int ok = status >= 200 && status < 300;
	FILE *f = ok ? f_acked : f_unacked;

	pthread_mutex_lock(&out_lock);
	n_sent++;
	if (ok) {
		n_ok++;
		n_acked_samples += (long)req_samples(q);
	} else if (status >= 400 && status < 500 && status != 429)
		n_refused++;
	else
		n_failed++;
	if (f != NULL) {
		write_samples(f, q);
		fflush(f);
	}
	if (f_log != NULL) {
		fprintf(f_log, "%ld %ld %ld %zu %s %s\n", sender, r, status,
		    req_samples(q), a->written, a->first);
		fflush(f_log);
	}
	pthread_mutex_unlock(&out_lock);
	return ok;
}

static struct curl_slist *
headers(void)
{
	struct curl_slist *hd = NULL;
	const char *token = getenv("SHALE_HTTP_TOKEN");
	char auth[4200];

	hd = curl_slist_append(hd, opt.version == 2 ?
	    "Content-Type: application/x-protobuf;"
	    "proto=io.prometheus.write.v2.Request" :
	    "Content-Type: application/x-protobuf");
	hd = curl_slist_append(hd, "Content-Encoding: snappy");
	hd = curl_slist_append(hd, opt.version == 2 ?
	    "X-Prometheus-Remote-Write-Version: 2.0.0" :
	    "X-Prometheus-Remote-Write-Version: 0.1.0");
	hd = curl_slist_append(hd, "User-Agent: rw_send");
	hd = curl_slist_append(hd, "Expect:");
	if (token != NULL && *token != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hd = curl_slist_append(hd, auth);
	}
	return hd;
}

struct sender {
	pthread_t	 t;
	long		 id;
	int		 all_ok;
};

static void *
sender_main(void *arg)
{
	struct sender *sd = arg;
	struct curl_slist *hd = headers();
	CURL *c = curl_easy_init();
	struct answer a;
	struct req q;
	uint8_t *body;
	size_t len;
	long status;

	if (c == NULL)
		die("curl_easy_init failed");
	sd->all_ok = 1;
	for (long r = 0; r < opt.requests; r++) {
		generate(&q, sd->id, r);
		body = encode(&q, &len);
		status = post(c, hd, body, len, &a);
		free(body);
		if (!record(sd->id, r, &q, status, &a)) {
			sd->all_ok = 0;
			if (opt.stop_on_error) {
				req_free(&q);
				break;
			}
		}
		req_free(&q);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(hd);
	return NULL;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0, n = 0, k;

	if (f == NULL)
		die("cannot open '%s': %s", path, strerror(errno));
	do {
		p = xgrow_(p, &cap, n + 65536, 1);
		k = fread(p + n, 1, cap - n, f);
		n += k;
	} while (k > 0);
	fclose(f);
	*len = n;
	return p;
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("cannot write '%s'", path);
}

static FILE *
open_out(const char *path)
{
	FILE *f;

	if (path == NULL)
		return NULL;
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write '%s': %s", path, strerror(errno));
	return f;
}

static void
usage(void)
{
	fprintf(stderr, "usage: rw_send [-v 1|2] [-i FILE | -n REQUESTS "
	    "[-c SENDERS] [-s SERIES] [-k SAMPLES] [-t START] [-d STEP] "
	    "[-m METRIC] | -r FILE] [-E N] [-H N] [-a FILE] [-u FILE] "
	    "[-l FILE] [-x] [-T MS] (URL | -o FILE)\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct sender *sd;
	struct curl_slist *hd;
	struct answer a;
	struct req q;
	uint8_t *body, *raw;
	size_t len, rlen;
	long lineno = 0, r = 0, status;
	int ch, all_ok = 1;
	struct timespec t0, t1;
	double secs;
	FILE *in;

	while ((ch = getopt(argc, argv,
	    "v:i:n:c:s:k:t:d:m:r:E:H:a:u:l:xT:o:")) != -1) {
		switch (ch) {
		case 'v': opt.version = atoi(optarg); break;
		case 'i': opt.input = optarg; break;
		case 'n': opt.requests = atol(optarg); break;
		case 'c': opt.senders = atol(optarg); break;
		case 's': opt.series = atol(optarg); break;
		case 'k': opt.samples = atol(optarg); break;
		case 't': opt.start = strtoll(optarg, NULL, 10); break;
		case 'd': opt.step = strtoll(optarg, NULL, 10); break;
		case 'm': opt.metric = optarg; break;
		case 'r': opt.raw = optarg; break;
		case 'E': opt.exemplars = atol(optarg); break;
		case 'H': opt.histograms = atol(optarg); break;
		case 'a': opt.acked = optarg; break;
		case 'u': opt.unacked = optarg; break;
		case 'l': opt.log = optarg; break;
		case 'x': opt.stop_on_error = 1; break;
		case 'T': opt.timeout_ms = atol(optarg); break;
		case 'o': opt.out = optarg; break;
		default: usage();
		}
	}
	if ((opt.version != 1 && opt.version != 2) || opt.senders < 1 ||
	    opt.series < 0 || opt.samples < 0 || opt.exemplars < 0 ||
	    opt.histograms < 0 || (!!opt.input + !!opt.requests + !!opt.raw) != 1)
		usage();
	if (opt.out == NULL) {
		if (optind + 1 != argc)
			usage();
		opt.url = argv[optind];
	} else if (optind != argc)
		usage();

	if (opt.out != NULL) {
		/* one body to a file, for curl to send as the test likes */
		if (opt.raw != NULL) {
			raw = read_file(opt.raw, &rlen);
			body = compress(raw, rlen, &len);
			free(raw);
		} else {
			if (opt.input != NULL) {
				in = strcmp(opt.input, "-") ? fopen(opt.input,
				    "r") : stdin;
				if (in == NULL)
					die("cannot open '%s'", opt.input);
				if (!read_request(in, &q, &lineno))
					die("'%s' holds no request", opt.input);
			} else
				generate(&q, 0, 0);
			body = encode(&q, &len);
			req_free(&q);
		}
		write_file(opt.out, body, len);
		free(body);
		return 0;
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	f_acked = open_out(opt.acked);
	f_unacked = open_out(opt.unacked);
	f_log = open_out(opt.log);
	if (opt.requests > 0) {
		sd = xalloc((size_t)opt.senders * sizeof(*sd));
		for (long i = 0; i < opt.senders; i++) {
			sd[i].id = i;
			if (pthread_create(&sd[i].t, NULL, sender_main, &sd[i]))
				die("cannot start a sender thread");
		}
		for (long i = 0; i < opt.senders; i++) {
			pthread_join(sd[i].t, NULL);
			all_ok &= sd[i].all_ok;
		}
		free(sd);
	} else {
		CURL *c = curl_easy_init();

		hd = headers();
		if (opt.raw != NULL) {
			memset(&q, 0, sizeof(q));
			raw = read_file(opt.raw, &rlen);
			body = compress(raw, rlen, &len);
			free(raw);
			status = post(c, hd, body, len, &a);
			all_ok = record(0, 0, &q, status, &a);
			free(body);
		} else {
			in = strcmp(opt.input, "-") ? fopen(opt.input, "r") :
			    stdin;
			if (in == NULL)
				die("cannot open '%s'", opt.input);
			while (read_request(in, &q, &lineno)) {
				body = encode(&q, &len);
				status = post(c, hd, body, len, &a);
				free(body);
				if (!record(0, r++, &q, status, &a)) {
					all_ok = 0;
					if (opt.stop_on_error) {
						req_free(&q);
						break;
					}
				}
				req_free(&q);
			}
		}
		curl_easy_cleanup(c);
		curl_slist_free_all(hd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec -
	    t0.tv_nsec) / 1e9;
	fprintf(stderr, "rw_send: %ld requests: %ld answered 2xx (%ld samples), "
	    "%ld refused (4xx), %ld failed (5xx, 429 or no answer); %.3f s, "
	    "%.0f acknowledged samples/s\n", n_sent, n_ok, n_acked_samples,
	    n_refused, n_failed, secs, secs > 0 ? (double)n_acked_samples /
	    secs : 0.0);
	if ((f_acked && fclose(f_acked)) || (f_unacked && fclose(f_unacked)) ||
	    (f_log && fclose(f_log)))
		die("cannot write the records");
	curl_global_cleanup();
	return all_ok ? 0 : 2;
}
