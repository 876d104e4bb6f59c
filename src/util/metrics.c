/* metrics.c - counters, gauges and histograms in Prometheus text form. */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "coding.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define MAX_LABELS 8

const double metrics_latency_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};
const size_t metrics_latency_nbounds =
    sizeof(metrics_latency_bounds) / sizeof(metrics_latency_bounds[0]);

struct metric_series {
	struct metric_series	*next;
	struct metric		*family;
	char			*values[MAX_LABELS];
	_Atomic uint64_t	 bits;		/* double: value, or histogram sum */
	_Atomic uint64_t	 count;		/* histogram observations */
	_Atomic uint64_t	*buckets;	/* histogram: nbounds + 1 (+Inf) */
};

struct metric {
	struct metric		*next;		/* registry list; registry lock */
	enum metric_type	 type;
	char			*name;
	char			*help;
	char			*labels[MAX_LABELS];
	size_t			 nlabels;
	double			*bounds;
	size_t			 nbounds;
	pthread_mutex_t		 lock;		/* protects series list */
	struct metric_series	*series;	/* newest last; family lock */
	struct metric_series	**tail;
};

struct metrics {
	pthread_mutex_t		 lock;		/* protects families list */
	struct metric		*families;
	struct metric		**tail;
};

static struct metrics *global;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	global = metrics_new();
}

struct metrics *
metrics_global(void)
{
	pthread_once(&global_once, global_init);
	return global;
}

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->tail = &m->families;
	return m;
}

void
metrics_free(struct metrics *m)
{
	struct metric *f, *fn;
	struct metric_series *s, *sn;

	if (m == NULL)
		return;
	for (f = m->families; f != NULL; f = fn) {
		fn = f->next;
		for (s = f->series; s != NULL; s = sn) {
			sn = s->next;
			for (size_t i = 0; i < f->nlabels; i++)
				free(s->values[i]);
			free(s->buckets);
			free(s);
		}
		for (size_t i = 0; i < f->nlabels; i++)
			free(f->labels[i]);
		pthread_mutex_destroy(&f->lock);
		free(f->bounds);
		free(f->name);
		free(f->help);
		free(f);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static size_t
split_labels(const char *labels, char **out)
{
	const char *p = labels, *e;
	size_t n = 0;

	if (labels == NULL || *labels == '\0')
		return 0;
	for (;;) {
		e = strchr(p, ',');
		if (n == MAX_LABELS)
			BUG("too many labels in '%s'", labels);
		out[n++] = e ? xstrndup(p, (size_t)(e - p)) : xstrdup(p);
		if (e == NULL)
			break;
		p = e + 1;
	}
	return n;
}

static struct metric *
family(struct metrics *m, enum metric_type type, const char *name,
    const char *help, const char *labels, const double *bounds, size_t nb)
{
	struct metric *f;

	pthread_mutex_lock(&m->lock);
	for (f = m->families; f != NULL; f = f->next) {
		if (strcmp(f->name, name) == 0) {
			char *l[MAX_LABELS];
			size_t n = split_labels(labels, l), same = n == f->nlabels;

			for (size_t i = 0; i < n; i++) {
				same = same && strcmp(l[i], f->labels[i]) == 0;
				free(l[i]);
			}
			if (f->type != type || !same)
				BUG("metric '%s' registered twice, differently", name);
			pthread_mutex_unlock(&m->lock);
			return f;
		}
	}
	f = xcalloc(1, sizeof(*f));
	f->type = type;
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->nlabels = split_labels(labels, f->labels);
	if (type == METRIC_HISTOGRAM) {
		f->bounds = xmalloc(nb * sizeof(double));
		memcpy(f->bounds, bounds, nb * sizeof(double));
		f->nbounds = nb;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->tail = &f->series;
	*m->tail = f;
	m->tail = &f->next;
	pthread_mutex_unlock(&m->lock);
	return f;
}

struct metric *
metrics_find(struct metrics *m, const char *name)
{
	struct metric *f;

	pthread_mutex_lock(&m->lock);
	for (f = m->families; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			break;
	pthread_mutex_unlock(&m->lock);
	return f;
}

struct metric *
metrics_counter(struct metrics *m, const char *name, const char *help,
    const char *labels)
{
	return family(m, METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct metric *
metrics_gauge(struct metrics *m, const char *name, const char *help,
    const char *labels)
{
	return family(m, METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct metric *
metrics_histogram(struct metrics *m, const char *name, const char *help,
    const char *labels, const double *bounds, size_t nbounds)
{
	return family(m, METRIC_HISTOGRAM, name, help, labels, bounds, nbounds);
}

struct metric_series *
metric_seriesv(struct metric *f, const char *const *values)
{
	struct metric_series *s;
	size_t i;

	pthread_mutex_lock(&f->lock);
	for (s = f->series; s != NULL; s = s->next) {
		for (i = 0; i < f->nlabels; i++)
			if (strcmp(s->values[i], values[i]) != 0)
				break;
		if (i == f->nlabels)
			goto out;
	}
	s = xcalloc(1, sizeof(*s));
	s->family = f;
	for (i = 0; i < f->nlabels; i++)
		s->values[i] = xstrdup(values[i]);
	if (f->type == METRIC_HISTOGRAM)
		s->buckets = xcalloc(f->nbounds + 1, sizeof(*s->buckets));
	*f->tail = s;
	f->tail = &s->next;
out:
	pthread_mutex_unlock(&f->lock);
	return s;
}

struct metric_series *
metric_series(struct metric *f, ...)
{
	const char *v[MAX_LABELS];
	va_list ap;

	va_start(ap, f);
	for (size_t i = 0; i < f->nlabels; i++)
		v[i] = va_arg(ap, const char *);
	va_end(ap);
	return metric_seriesv(f, v);
}

void
metric_add(struct metric_series *s, double v)
{
	uint64_t old = atomic_load(&s->bits), new;

	do {
		new = double_bits(bits_double(old) + v);
	} while (!atomic_compare_exchange_weak(&s->bits, &old, new));
}

void
metric_set(struct metric_series *s, double v)
{
	atomic_store(&s->bits, double_bits(v));
}

double
metric_value(struct metric_series *s)
{
	return bits_double(atomic_load(&s->bits));
}

uint64_t
metric_count(struct metric_series *s)
{
	return atomic_load(&s->count);
}

void
metric_observe(struct metric_series *s, double v)
{
	struct metric *f = s->family;
	size_t i;

	/* buckets[i] counts observations in (bounds[i-1], bounds[i]]. */
	for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
		;
	atomic_fetch_add(&s->buckets[i], 1);
	metric_add(s, v);
	atomic_fetch_add(&s->count, 1);
}

static void
put_escaped(struct buf *out, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(out, "\\\\");
		else if (*s == '\n')
			buf_puts(out, "\\n");
		else if (quote && *s == '"')
			buf_puts(out, "\\\"");
		else
			buf_putc(out, *s);
	}
}

static void
put_number(struct buf *out, double v)
{
	if (isnan(v))
		buf_puts(out, "NaN");
	else if (isinf(v))
		buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(out, "%.0f", v);
	else
		buf_printf(out, "%.17g", v);
}

/* name{l1="v1",...,extra} value */
static void
put_sample(struct buf *out, const struct metric *f, const char *suffix,
    const struct metric_series *s, const char *extra, double v)
{
	size_t i;

	buf_puts(out, f->name);
	buf_puts(out, suffix);
	if (f->nlabels || extra) {
		buf_putc(out, '{');
		for (i = 0; i < f->nlabels; i++) {
			if (i)
				buf_putc(out, ',');
			buf_printf(out, "%s=\"", f->labels[i]);
			put_escaped(out, s->values[i], 1);
			buf_putc(out, '"');
		}
		if (extra) {
			if (f->nlabels)
				buf_putc(out, ',');
			buf_puts(out, extra);
		}
		buf_putc(out, '}');
	}
	buf_putc(out, ' ');
	put_number(out, v);
	buf_putc(out, '\n');
}

static const char *type_names[] = { "counter", "gauge", "histogram" };

int
metrics_render(struct metrics *m, struct buf *out)
{
	struct metric *f;
	struct metric_series *s;
	char le[64];
	uint64_t cum;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (f = m->families; f != NULL; f = f->next) {
		buf_printf(out, "# HELP %s ", f->name);
		put_escaped(out, f->help, 0);
		buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
		pthread_mutex_lock(&f->lock);
		for (s = f->series; s != NULL; s = s->next) {
			if (f->type != METRIC_HISTOGRAM) {
				put_sample(out, f, "", s, NULL, metric_value(s));
				continue;
			}
			cum = 0;
			for (i = 0; i <= f->nbounds; i++) {
				cum += atomic_load(&s->buckets[i]);
				if (i < f->nbounds)
					snprintf(le, sizeof(le), "le=\"%g\"", f->bounds[i]);
				else
					snprintf(le, sizeof(le), "le=\"+Inf\"");
				put_sample(out, f, "_bucket", s, le, (double)cum);
			}
			put_sample(out, f, "_sum", s, NULL, metric_value(s));
			put_sample(out, f, "_count", s, NULL, (double)cum);
		}
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}
