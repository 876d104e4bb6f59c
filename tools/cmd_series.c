/*
 * cmd_series.c - 'shale series STORE list|dump|stats|import': the metric
 * series of a store, from the command line, in the spirit of
 * 'promtool tsdb'.
 *
 * list, dump and stats open the store as a reader (ENGINE_READER), so
 * they work beside a running mount or server and never fence it; they
 * show the store as the writer had stored it when they opened. import
 * opens it as its writer (fencing a running one): it is for a store
 * nothing is mounted on, as 'shale compact' is.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series.h"
#include "tools/cmd.h"
#include "tools/daemon.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

struct dump {
	struct buf	 name;		/* metric{labels} */
	uint64_t	 samples;
};

/* metric{a="b",...}, or metric alone */
static void
series_name(const struct labels *ls, struct buf *b)
{
	const char *m = labels_metric(ls);

	buf_reset(b);
	if (m != NULL)
		buf_puts(b, m);
	/* up, not up{}: as Prometheus writes a series with no other label */
	if (m == NULL || labels_count(ls) > 1)
		labels_file_name(ls, b);
}

static int
list_one(void *arg, uint64_t id, const struct labels *ls)
{
	struct buf b;

	(void)arg;
	(void)id;
	buf_init(&b, 0);
	series_name(ls, &b);
	printf("%s\n", buf_str(&b));
	buf_release(&b);
	return 0;
}

static int
dump_sample(void *arg, int64_t t, double v)
{
	struct dump *d = arg;
	char line[SERIES_LINE_MAX];

	series_format_sample(t, v, line);
	printf("%s %s", buf_str(&d->name), line);
	d->samples++;
	return 0;
}

struct dump_ctx {
	struct series	*s;
	int64_t		 mint, maxt;
	uint64_t	 series, samples;
	int		 rc;
};

static int
dump_one(void *arg, uint64_t id, const struct labels *ls)
{
	struct dump_ctx *c = arg;
	struct dump d = { .samples = 0 };
	int rc;

	buf_init(&d.name, 0);
	series_name(ls, &d.name);
	rc = series_scan(c->s, id, c->mint, c->maxt, dump_sample, &d);
	buf_release(&d.name);
	c->series++;
	c->samples += d.samples;
	return rc;
}

/* Seconds since the epoch, with decimals, into ms. */
static int
parse_time(const char *s, int64_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    fabs(v) > 9e15)
		return -EINVAL;
	*ms = (int64_t)llround(v * 1000.0);
	return 0;
}

static int
selectors(int n, char **argv, struct selector ***out)
{
	struct selector **v = calloc((size_t)n + 1, sizeof(*v));
	int rc;

	for (int i = 0; i < n; i++) {
		if ((rc = selector_parse(argv[i], strlen(argv[i]), &v[i])) != 0) {
			cmd_fail("'%s': %s", argv[i], err_message(rc));
			while (i-- > 0)
				selector_free(v[i]);
			free(v);
			return 1;
		}
	}
	*out = v;
	return 0;
}

static void
print_top(const char *title, const struct series_top *v, size_t n)
{
	printf("\n%s:\n", title);
	for (size_t i = 0; i < n; i++)
		printf("  %10" PRIu64 "  %s\n", v[i].count, v[i].name);
}

static int
stats(struct series *s)
{
	struct series_stats st;
	struct series_tsdb_stats ts;

	series_stats(s, &st);
	printf("series: %" PRIu64 "\nlabel names: %" PRIu64
	    "\nlabel pairs: %" PRIu64 "\n", st.series, st.label_names,
	    st.label_pairs);
	if (series_tsdb_stats(s, 10, &ts) != 0)
		return 1;
	print_top("series by metric name", ts.by_metric, ts.n_metric);
	print_top("values by label name", ts.by_label_name, ts.n_label_name);
	print_top("series by label pair", ts.by_pair, ts.n_pair);
	print_top("bytes of values by label name", ts.memory_by_label_name,
	    ts.n_memory);
	series_tsdb_stats_free(&ts);
	return 0;
}

static int
import(struct series *s, const char *path, int openmetrics)
{
	struct series_import_result r;
	struct buf b;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char chunk[65536];
	size_t n;
	int rc;

	if (f == NULL)
		return cmd_fail("%s: %s", path, strerror(errno));
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f)) {
		rc = cmd_fail("%s: %s", path, strerror(errno));
		goto out;
	}
	rc = series_import(s, b.data ? b.data : "", b.len, openmetrics,
	    clock_wall_ns() / 1000000, &r);
	if (rc != 0 && r.counts.samples == 0) {
		rc = cmd_fail("%s: %s", path, err_message(rc));
		goto out;
	}
	printf("%" PRIu64 " samples in %" PRIu64 " lines, %" PRIu64
	    " new series, %" PRIu64 " metadata\n", r.counts.samples, r.lines,
	    r.counts.series_created, r.metadata);
	if (rc != 0)
		rc = cmd_fail("%s: some samples were refused: %s", path,
		    err_message(rc));
out:
	buf_release(&b);
	if (f != stdin)
		fclose(f);
	return rc != 0;
}

int
cmd_series(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "openmetrics", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	struct series_options so;
	struct engine *e = NULL;
	struct series *s = NULL;
	struct selector **sel = NULL;
	const char *config = NULL, *what;
	char *uri = NULL;
	int64_t mint = INT64_MIN, maxt = INT64_MAX;
	int c, rc, ret = 1, nsel = 0, openmetrics = 0, writer;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			if (parse_time(optarg, &mint) != 0)
				return cmd_usage("series", "--start: seconds "
				    "since the epoch, please");
			break;
		case 'e':
			if (parse_time(optarg, &maxt) != 0)
				return cmd_usage("series", "--end: seconds "
				    "since the epoch, please");
			break;
		case 'o':
			openmetrics = 1;
			break;
		case 'h':
			cmd_usage("series", NULL);
			return 0;
		default:
			return cmd_usage("series", NULL);
		}
	}
	if (optind + 2 > argc)
		return cmd_usage("series", "a store and what to do, please");
	what = argv[optind + 1];
	if (strcmp(what, "list") != 0 && strcmp(what, "dump") != 0 &&
	    strcmp(what, "stats") != 0 && strcmp(what, "import") != 0)
		return cmd_usage("series", "unknown action '%s'", what);
	if (strcmp(what, "stats") == 0 && optind + 2 != argc)
		return cmd_usage("series", "stats takes no more arguments");
	if (strcmp(what, "import") == 0 && optind + 3 != argc)
		return cmd_usage("series", "import takes one file (- for "
		    "standard input)");
	writer = strcmp(what, "import") == 0;
	if (!writer && (nsel = argc - optind - 2) > 0 &&
	    selectors(nsel, argv + optind + 2, &sel) != 0)
		return 1;
	if (cmd_store_uri(argv[optind], &uri) != 0)
		goto out_sel;
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	es.block_cache_prepopulate = 0;
	if ((rc = engine_open(uri, NULL, &es, writer ? ENGINE_WRITER :
	    ENGINE_READER, &e)) != 0) {
		cmd_fail("cannot open '%s': %s", uri, err_message(rc));
		goto out;
	}
	daemon_series_options(&es, &so);
	if ((rc = series_open(e, &so, &s)) != 0) {
		cmd_fail("cannot read the series of '%s': %s", uri,
		    err_message(rc));
		goto out;
	}
	if (strcmp(what, "list") == 0) {
		/* without --start or --end, every series, with samples or not */
		int timed = mint != INT64_MIN || maxt != INT64_MAX;

		rc = series_select(s, sel, (size_t)nsel, timed ? mint : 1,
		    timed ? maxt : 0, list_one, NULL);
		ret = rc != 0 ? cmd_fail("%s", err_message(rc)) : 0;
	} else if (strcmp(what, "dump") == 0) {
		struct dump_ctx d = { .s = s, .mint = mint, .maxt = maxt };

		rc = series_select(s, sel, (size_t)nsel, 1, 0, dump_one, &d);
		ret = rc != 0 ? cmd_fail("%s", err_message(rc)) : 0;
	} else if (strcmp(what, "stats") == 0)
		ret = stats(s);
	else
		ret = import(s, argv[optind + 2], openmetrics);
out:
	series_close(s);
	if (e != NULL && (rc = engine_close(e)) != 0) {
		cmd_fail("cannot close '%s': %s", uri, err_message(rc));
		ret = 1;
	}
	engine_settings_release(&es);
	free(uri);
out_sel:
	for (int i = 0; i < nsel && sel != NULL; i++)
		selector_free(sel[i]);
	free(sel);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}
