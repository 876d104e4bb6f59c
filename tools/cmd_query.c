/*
 * cmd_query.c - 'shale query STORE EXPR': a PromQL query from the command
 * line, evaluated as /api/v1/query and /api/v1/query_range evaluate it,
 * at an instant (--time, default now) or over a range (--start, --end,
 * --step); or a LogQL one (logql_detect() tells, --logql and --promql
 * say), as /loki/api/v1/query_range evaluates it: a log query over
 * [--start or now - --since, --end or now], its lines oldest first, all
 * of them or the newest --limit; a metric query at --time or over the
 * range at --step. The store is opened as a reader (ENGINE_READER), as
 * 'shale series list' opens it: beside a running mount or server, never
 * fencing it, it sees the store as the writer had stored it at the open.
 *
 * The answer is printed with promql_result_text() (the default),
 * promql_result_csv(), or as JSON in the API's envelope,
 * {"status":"success","data":...,"warnings":[...]}, byte for byte what
 * the HTTP API answers for the same query and times. Warnings and infos
 * go to standard error in the other formats. An error says its type as
 * the API names it ("bad_data", "execution" ...) and exits with 1.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/logs.h"
#include "model/series.h"
#include "query/logql.h"
#include "query/promql.h"
#include "tools/cmd.h"
#include "tools/daemon.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/jsonw.h"

enum { FMT_TEXT, FMT_JSON, FMT_CSV };

/*
 * A time: seconds since the epoch with decimals, or RFC 3339
 * (2024-01-02T15:04:05.123Z, or an offset for Z). 0 and *ms, or -EINVAL.
 */
static int
parse_time(const char *s, int64_t *ms)
{
	struct tm tm;
	const char *p;
	char *end;
	double v;
	int64_t frac = 0, off = 0;
	int n = 0, oh, om;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && strpbrk(s, "xX") == NULL) {
		if (errno != 0 || !isfinite(v) || fabs(v) > 9e15)
			return -EINVAL;
		*ms = (int64_t)llround(v * 1000.0);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return -EINVAL;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' && p[1] == '\0')
		off = 0;
	else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh,
	    &om) == 2 && strlen(p) == 6)
		off = (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
	else
		return -EINVAL;
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return 0;
}

/* A duration: a PromQL one (1m30s) or seconds with decimals; into ms. */
static int
parse_duration(const char *s, int64_t *ms)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end != s && *end == '\0' && strpbrk(s, "xX") == NULL) {
		if (!isfinite(v) || v * 1000.0 >= 9.2e18 || v < 0)
			return -EINVAL;
		*ms = (int64_t)(v * 1000.0);
		return 0;
	}
	return promql_duration_parse(s, strlen(s), ms);
}

static void
print_notes(struct buf *b, const char *field, char **v, size_t n)
{
	if (n == 0)
		return;
	buf_printf(b, ",\"%s\":[", field);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		jw_string(b, v[i], strlen(v[i]));
	}
	buf_putc(b, ']');
}

static int
run(struct series *s, const struct promql_node *e, int range, int64_t t,
    int64_t start, int64_t end, int64_t step, const struct promql_opts *o,
    int format)
{
	struct promql_result *r = NULL;
	struct buf b;
	int rc;

	if (range)
		rc = promql_eval_range(s, e, start, end, step, o, &r);
	else
		rc = promql_eval_instant(s, e, t, o, &r);
	if (rc != 0)
		return cmd_fail("%s: %s", promql_error_type(rc),
		    err_message(rc));
	buf_init(&b, 0);
	switch (format) {
	case FMT_JSON:
		buf_puts(&b, "{\"status\":\"success\",\"data\":");
		promql_result_json(r, &b);
		print_notes(&b, "warnings", r->warnings, r->nwarnings);
		print_notes(&b, "infos", r->infos, r->ninfos);
		buf_puts(&b, "}\n");
		break;
	case FMT_CSV:
		promql_result_csv(r, &b);
		break;
	default:
		promql_result_text(r, &b);
		break;
	}
	if (format != FMT_JSON) {
		for (size_t i = 0; i < r->nwarnings; i++)
			fprintf(stderr, "shale: %s\n", r->warnings[i]);
		for (size_t i = 0; i < r->ninfos; i++)
			fprintf(stderr, "shale: %s\n", r->infos[i]);
	}
	fwrite(b.data != NULL ? b.data : "", 1, b.len, stdout);
	buf_release(&b);
	promql_result_free(r);
	return 0;
}

/* The LogQL side: 0 or 1, the exit status. */
static int
run_logql(struct logs *l, const struct logql_expr *e,
    const struct logql_opts *o, int format)
{
	struct logql_result *r = NULL;
	struct buf b;
	int rc;

	if ((rc = logql_eval(l, e, o, &r)) != 0)
		return cmd_fail("%s: %s", promql_error_type(rc),
		    err_message(rc));
	buf_init(&b, 0);
	switch (format) {
	case FMT_JSON:
		buf_puts(&b, "{\"status\":\"success\",\"data\":");
		logql_result_json(r, &b);
		buf_puts(&b, "}\n");
		break;
	case FMT_CSV:
		logql_result_csv(r, &b);
		break;
	default:
		logql_result_text(r, &b);
		break;
	}
	fwrite(b.data != NULL ? b.data : "", 1, b.len, stdout);
	buf_release(&b);
	logql_result_free(r);
	return 0;
}

static volatile sig_atomic_t tail_stop;

static void
on_tail_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

/*
 * --tail: the newest lines of the range as without it, then, every
 * second until SIGINT or SIGTERM, the lines appended since (the store
 * followed as a reader follows it, a manifest poll behind the writer).
 */
static int
tail_logql(struct logs *l, const struct logql_expr *e,
    const struct logql_opts *o)
{
	struct logql_result *r = NULL;
	struct logql_tail *t = NULL;
	struct sigaction sa;
	struct buf b;
	int rc;

	if ((rc = logql_tail_new(l, e, &t)) != 0 ||
	    (rc = logql_eval(l, e, o, &r)) != 0) {
		logql_tail_free(t);
		return cmd_fail("%s: %s", promql_error_type(rc),
		    err_message(rc));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tail_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	buf_init(&b, 0);
	for (;;) {
		buf_reset(&b);
		logql_result_text(r, &b);
		logql_result_free(r);
		r = NULL;
		if (b.len > 0 && (fwrite(b.data, 1, b.len, stdout) != b.len ||
		    fflush(stdout) != 0))
			break;		/* the reader went away */
		for (int i = 0; i < 10 && !tail_stop; i++)
			clock_sleep_ms(100);
		if (tail_stop)
			break;
		if ((rc = logql_tail_poll(t, 0, &r)) != 0) {
			cmd_fail("%s: %s", promql_error_type(rc),
			    err_message(rc));
			break;
		}
	}
	buf_release(&b);
	logql_tail_free(t);
	return rc != 0 ? 1 : 0;
}

/*
 * A LogQL query, its times in ms or -1 when not given: a log query over
 * [start or end - since (an hour), end or now], every line (or the
 * newest limit, or with forward the oldest limit), printed oldest first;
 * a metric query at time (or end, or now), or over [start, end] at step.
 */
static int
cmd_query_logql(const char *store, const char *q, const char *config,
    int64_t t, int64_t start, int64_t end, int64_t step, int64_t since,
    unsigned long long limit, int forward, int tail,
    const struct promql_opts *po, int format)
{
	struct engine_settings es;
	struct logql_opts o;
	struct logql_expr *e = NULL;
	struct engine *eng = NULL;
	struct logs *l = NULL;
	int64_t now = clock_wall_ns() / 1000000;
	char *uri = NULL;
	int rc, ret = 1;

	if ((rc = logql_parse(q, strlen(q), &e)) != 0)
		return cmd_fail("bad_data: %s", err_message(rc));
	if (tail && (!logql_is_log(e) || format != FMT_TEXT || end >= 0)) {
		logql_free(e);
		return cmd_usage("query", "--tail follows a log query, as "
		    "text, from now on (no --end)");
	}
	memset(&o, 0, sizeof(o));
	o.timeout_ms = po->timeout_ms;
	if (logql_is_log(e)) {
		if (t >= 0 || step != 0) {
			logql_free(e);
			return cmd_usage("query", "a log query takes --start, "
			    "--end, --since and --limit, no --time or --step");
		}
		o.end_ns = (end >= 0 ? end : now) * 1000000 + 1;
		o.start_ns = start >= 0 ? start * 1000000 : o.end_ns - 1 -
		    (since > 0 ? since : 3600 * 1000) * 1000000;
		o.limit = limit == 0 ? SIZE_MAX : (size_t)limit;
		o.dir = forward || limit == 0 ? LOGQL_FORWARD : LOGQL_BACKWARD;
		if (tail && limit == 0) {
			o.limit = 10;	/* as tail -f starts */
			o.dir = LOGQL_BACKWARD;
		}
	} else if (step != 0 || start >= 0 || since > 0) {
		if (step == 0 || t >= 0) {
			logql_free(e);
			return cmd_usage("query", "a range query takes --start "
			    "or --since, --end and --step, and no --time");
		}
		o.end_ns = (end >= 0 ? end : now) * 1000000;
		o.start_ns = start >= 0 ? start * 1000000 : o.end_ns -
		    since * 1000000;
		o.step_ns = step * 1000000;
	} else
		o.end_ns = (t >= 0 ? t : end >= 0 ? end : now) * 1000000;
	if (o.end_ns < o.start_ns) {
		logql_free(e);
		return cmd_usage("query", "--end is before --start");
	}
	if (cmd_store_uri(store, &uri) != 0)
		goto out_expr;
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	es.block_cache_prepopulate = 0;
	if ((rc = engine_open(uri, NULL, &es, ENGINE_READER, &eng)) != 0) {
		cmd_fail("cannot open '%s': %s", uri, err_message(rc));
		goto out;
	}
	if ((rc = logs_open(eng, &l)) != 0) {
		cmd_fail("cannot read the streams of '%s': %s", uri,
		    err_message(rc));
		goto out;
	}
	if ((rc = daemon_logs_options(&es, l)) != 0) {	/* what expired is skipped */
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	ret = tail ? tail_logql(l, e, &o) : run_logql(l, e, &o, format);
out:
	if (l != NULL)
		logs_close(l);
	if (eng != NULL && (rc = engine_close(eng)) != 0) {
		cmd_fail("cannot close '%s': %s", uri, err_message(rc));
		ret = 1;
	}
	engine_settings_release(&es);
	free(uri);
out_expr:
	logql_free(e);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}

int
cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "time", required_argument, NULL, 't' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "step", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'l' },
		{ "forward", no_argument, NULL, 'F' },
		{ "tail", no_argument, NULL, 'T' },
		{ "logql", no_argument, NULL, 'L' },
		{ "promql", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	struct series_options so;
	struct promql_opts o;
	struct engine *e = NULL;
	struct series *s = NULL;
	struct promql_node *expr = NULL;
	const char *config = NULL, *q;
	char *uri = NULL, *end_p;
	int64_t t = clock_wall_ns() / 1000000, start = 0, end = 0, step = 0;
	int64_t since = 3600 * 1000;
	unsigned long long limit = 0;
	int c, rc, ret = 1, format = FMT_TEXT, has_time = 0;
	int has_start = 0, has_end = 0, lang = -1, forward = 0, has_since = 0;
	int tail = 0;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 't':
			if (parse_time(optarg, &t) != 0)
				return cmd_usage("query", "--time: seconds since "
				    "the epoch or RFC 3339, please");
			has_time = 1;
			break;
		case 's':
			if (parse_time(optarg, &start) != 0)
				return cmd_usage("query", "--start: seconds "
				    "since the epoch or RFC 3339, please");
			has_start = 1;
			break;
		case 'e':
			if (parse_time(optarg, &end) != 0)
				return cmd_usage("query", "--end: seconds since "
				    "the epoch or RFC 3339, please");
			has_end = 1;
			break;
		case 'p':
			if (parse_duration(optarg, &step) != 0 || step <= 0)
				return cmd_usage("query", "--step: a positive "
				    "duration (15s, 1m) or seconds, please");
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				format = FMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				format = FMT_JSON;
			else if (strcmp(optarg, "csv") == 0)
				format = FMT_CSV;
			else
				return cmd_usage("query", "--format: text, json "
				    "or csv, please");
			break;
		case 'o':
			if (parse_duration(optarg, &o.timeout_ms) != 0 ||
			    o.timeout_ms <= 0)
				return cmd_usage("query", "--timeout: a positive "
				    "duration, please");
			break;
		case 'S':
			if (parse_duration(optarg, &since) != 0 || since <= 0)
				return cmd_usage("query", "--since: a positive "
				    "duration, please");
			has_since = 1;
			break;
		case 'l':
			errno = 0;
			limit = strtoull(optarg, &end_p, 10);
			if (errno != 0 || *end_p != '\0' || end_p == optarg ||
			    optarg[0] == '-')
				return cmd_usage("query", "--limit: a number of "
				    "lines, please");
			break;
		case 'F':
			forward = 1;
			break;
		case 'T':
			tail = 1;
			break;
		case 'L':
			lang = 1;
			break;
		case 'P':
			lang = 0;
			break;
		case 'h':
			cmd_usage("query", NULL);
			return 0;
		default:
			return cmd_usage("query", NULL);
		}
	}
	if (optind + 2 != argc)
		return cmd_usage("query", "a store and a query, please");
	q = argv[optind + 1];
	if (lang < 0)
		lang = logql_detect(q, strlen(q));
	if (lang == 1)
		return cmd_query_logql(argv[optind], q, config, has_time ? t :
		    -1, has_start ? start : -1, has_end ? end : -1, step,
		    has_since ? since : -1, limit, forward, tail, &o, format);
	if (has_since || limit != 0 || forward || tail)
		return cmd_usage("query", "--since, --limit, --forward and "
		    "--tail are for LogQL queries");
	if ((has_start || has_end || step != 0) &&
	    (!has_start || !has_end || step == 0 || has_time))
		return cmd_usage("query", "a range query takes --start, --end "
		    "and --step, and no --time");
	if (has_start && end < start)
		return cmd_usage("query", "--end is before --start");
	if (has_start && (end - start) / step > PROMQL_MAX_POINTS)
		return cmd_usage("query", "more than %d steps: a longer --step, "
		    "please", PROMQL_MAX_POINTS);
	if ((rc = promql_parse(q, strlen(q), &expr)) != 0)
		return cmd_fail("bad_data: %s", err_message(rc));
	if (cmd_store_uri(argv[optind], &uri) != 0)
		goto out_expr;
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	es.block_cache_prepopulate = 0;
	daemon_query_options(&es);
	if ((rc = engine_open(uri, NULL, &es, ENGINE_READER, &e)) != 0) {
		cmd_fail("cannot open '%s': %s", uri, err_message(rc));
		goto out;
	}
	daemon_series_options(&es, &so);
	if ((rc = series_open(e, &so, &s)) != 0) {
		cmd_fail("cannot read the series of '%s': %s", uri,
		    err_message(rc));
		goto out;
	}
	ret = run(s, expr, has_start, t, start, end, step, &o, format);
out:
	series_close(s);
	if (e != NULL && (rc = engine_close(e)) != 0) {
		cmd_fail("cannot close '%s': %s", uri, err_message(rc));
		ret = 1;
	}
	engine_settings_release(&es);
	free(uri);
out_expr:
	promql_free(expr);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}
