/*
 * test_expfmt.c - the exposition formats' parser (expfmt.h).
 *
 * Exercises: the examples of the text format 0.0.4's and OpenMetrics 1.0's
 * specifications, parsed and written back event by event (HELP, TYPE,
 * UNIT, samples with their family, labels unescaped, values, timestamps
 * in milliseconds, exemplars); escapes; NaN, +Inf, -Inf and their other
 * spellings; hexadecimal floats in text only; blank lines and comments;
 * the families of _bucket, _count, _sum, _total, _created and the rest;
 * "# EOF"; the error messages, with their line and column, for bad names,
 * labels, values, timestamps, types, metadata and layout; the limits; a
 * callback stopping the parse; and expfmt_format_for().
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/expfmt.h"
#include "util/buf.h"
#include "util/error.h"

/* ---- events written back as text, one a line ---- */

static void
put_escaped(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			buf_puts(b, "\\n");
		else if (s[i] == '"' || s[i] == '\\')
			buf_printf(b, "\\%c", s[i]);
		else
			buf_putc(b, s[i]);
	}
}

static void
put_labels(struct buf *b, const struct expfmt_label *v, size_t n)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].name[v[i].name_len], '\0');
		assert_int_equal(v[i].value[v[i].value_len], '\0');
		buf_printf(b, "%s%s=\"", i ? "," : "", v[i].name);
		put_escaped(b, v[i].value, v[i].value_len);
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

static void
put_double(struct buf *b, double d)
{
	if (isnan(d))
		buf_puts(b, "NaN");
	else if (isinf(d))
		buf_puts(b, d > 0 ? "+Inf" : "-Inf");
	else
		buf_printf(b, "%.17g", d);
}

static int
on_meta(void *arg, const struct expfmt_meta *m)
{
	struct buf *b = arg;

	switch (m->kind) {
	case EXPFMT_HELP:
		buf_printf(b, "HELP %s \"", m->family);
		put_escaped(b, m->text, m->text_len);
		buf_puts(b, "\"\n");
		break;
	case EXPFMT_TYPE:
		buf_printf(b, "TYPE %s %s\n", m->family,
		    expfmt_type_name(m->type, EXPFMT_OPENMETRICS));
		break;
	case EXPFMT_UNIT:
		buf_printf(b, "UNIT %s %s\n", m->family, m->text);
		break;
	}
	return 0;
}

static int
on_sample(void *arg, const struct expfmt_sample *s)
{
	struct buf *b = arg;

	buf_puts(b, s->name);
	if (s->nlabels > 0)
		put_labels(b, s->labels, s->nlabels);
	buf_putc(b, ' ');
	put_double(b, s->value);
	if (s->has_timestamp)
		buf_printf(b, " @%lld", (long long)s->timestamp_ms);
	if (s->exemplar != NULL) {
		buf_puts(b, " # ");
		put_labels(b, s->exemplar->labels, s->exemplar->nlabels);
		buf_putc(b, ' ');
		put_double(b, s->exemplar->value);
		if (s->exemplar->has_timestamp)
			buf_printf(b, " @%lld",
			    (long long)s->exemplar->timestamp_ms);
	}
	buf_printf(b, " (%s %s)\n", s->family,
	    expfmt_type_name(s->type, EXPFMT_OPENMETRICS));
	return 0;
}

/* Parse `in` and compare the events with `want`. */
static void
parses(enum expfmt_format fmt, const char *in, const char *want)
{
	struct expfmt_handler h = { on_meta, on_sample, NULL };
	struct buf b;
	int rc;

	buf_init(&b, 0);
	h.arg = &b;
	err_clear();
	rc = expfmt_parse(in, strlen(in), fmt, &h, NULL);
	if (rc != 0)
		fail_msg("parse failed: %s", err_detail());
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

/* Parse `in` and expect -EINVAL with exactly `msg`. */
static void
refuses(enum expfmt_format fmt, const char *in, const char *msg)
{
	err_clear();
	if (expfmt_parse(in, strlen(in), fmt, NULL, NULL) != -EINVAL)
		fail_msg("accepted: %s", in);
	assert_string_equal(err_detail(), msg);
}

#define TEXT	EXPFMT_TEXT_004
#define OM	EXPFMT_OPENMETRICS
#define X16	"xxxxxxxxxxxxxxxx"

/* ---- the text format 0.0.4 ---- */

/* The example of the exposition formats' page, whole. */
static void
test_text_spec_example(void **state)
{
	(void)state;
	parses(TEXT,
	    "# HELP http_requests_total The total number of HTTP requests.\n"
	    "# TYPE http_requests_total counter\n"
	    "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
	    "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
	    "\n"
	    "# Escaping in label values:\n"
	    "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\","
	    "error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
	    "\n"
	    "# Minimalistic line:\n"
	    "metric_without_timestamp_and_labels 12.47\n"
	    "\n"
	    "# A weird metric from before the epoch:\n"
	    "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
	    "\n"
	    "# A histogram, which has a pretty complex representation in the text format:\n"
	    "# HELP http_request_duration_seconds A histogram of the request duration.\n"
	    "# TYPE http_request_duration_seconds histogram\n"
	    "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
	    "http_request_duration_seconds_bucket{le=\"0.1\"} 33444\n"
	    "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
	    "http_request_duration_seconds_sum 53423\n"
	    "http_request_duration_seconds_count 144320\n"
	    "\n"
	    "# Finally a summary, which has a complex representation, too:\n"
	    "# HELP telemetry_requests_metrics_latency_microseconds A summary of the response latency.\n"
	    "# TYPE telemetry_requests_metrics_latency_microseconds summary\n"
	    "telemetry_requests_metrics_latency_microseconds{quantile=\"0.01\"} 3102\n"
	    "telemetry_requests_metrics_latency_microseconds{quantile=\"0.99\"} 76656\n"
	    "telemetry_requests_metrics_latency_microseconds_sum 1.7560473e+07\n"
	    "telemetry_requests_metrics_latency_microseconds_count 2693\n",

	    "HELP http_requests_total \"The total number of HTTP requests.\"\n"
	    "TYPE http_requests_total counter\n"
	    "http_requests_total{method=\"post\",code=\"200\"} 1027 @1395066363000 (http_requests_total counter)\n"
	    "http_requests_total{method=\"post\",code=\"400\"} 3 @1395066363000 (http_requests_total counter)\n"
	    "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\","
	    "error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1458255915 (msdos_file_access_time_seconds unknown)\n"
	    "metric_without_timestamp_and_labels 12.470000000000001 (metric_without_timestamp_and_labels unknown)\n"
	    "something_weird{problem=\"division by zero\"} +Inf @-3982045 (something_weird unknown)\n"
	    "HELP http_request_duration_seconds \"A histogram of the request duration.\"\n"
	    "TYPE http_request_duration_seconds histogram\n"
	    "http_request_duration_seconds_bucket{le=\"0.05\"} 24054 (http_request_duration_seconds histogram)\n"
	    "http_request_duration_seconds_bucket{le=\"0.1\"} 33444 (http_request_duration_seconds histogram)\n"
	    "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320 (http_request_duration_seconds histogram)\n"
	    "http_request_duration_seconds_sum 53423 (http_request_duration_seconds histogram)\n"
	    "http_request_duration_seconds_count 144320 (http_request_duration_seconds histogram)\n"
	    "HELP telemetry_requests_metrics_latency_microseconds \"A summary of the response latency.\"\n"
	    "TYPE telemetry_requests_metrics_latency_microseconds summary\n"
	    "telemetry_requests_metrics_latency_microseconds{quantile=\"0.01\"} 3102 (telemetry_requests_metrics_latency_microseconds summary)\n"
	    "telemetry_requests_metrics_latency_microseconds{quantile=\"0.99\"} 76656 (telemetry_requests_metrics_latency_microseconds summary)\n"
	    "telemetry_requests_metrics_latency_microseconds_sum 17560473 (telemetry_requests_metrics_latency_microseconds summary)\n"
	    "telemetry_requests_metrics_latency_microseconds_count 2693 (telemetry_requests_metrics_latency_microseconds summary)\n");
}

/* Values as Go's ParseFloat reads them; timestamps as ParseInt. */
static void
test_text_values(void **state)
{
	(void)state;
	parses(TEXT,
	    "a NaN\nb Nan\nc +Inf\nd -Inf\ne inf\nf -Infinity\ng 1e3\n"
	    "h .5\ni 5.\nj -0.25E-2\nk 0x1p-2\nl 0X1.8P1\nm 007\n"
	    "n 1 +42\no 1 -9223372036854775808\np 1 9223372036854775807\n",
	    "a NaN (a unknown)\nb NaN (b unknown)\nc +Inf (c unknown)\n"
	    "d -Inf (d unknown)\ne +Inf (e unknown)\nf -Inf (f unknown)\n"
	    "g 1000 (g unknown)\nh 0.5 (h unknown)\ni 5 (i unknown)\n"
	    "j -0.0025000000000000001 (j unknown)\nk 0.25 (k unknown)\n"
	    "l 3 (l unknown)\nm 7 (m unknown)\nn 1 @42 (n unknown)\n"
	    "o 1 @-9223372036854775808 (o unknown)\n"
	    "p 1 @9223372036854775807 (p unknown)\n");
	refuses(TEXT, "a 1e400\n",
	    "line 1, column 3: value \"1e400\" is out of range");
	refuses(TEXT, "a +NaN\n", "line 1, column 3: invalid value \"+NaN\": "
	    "expected a number, NaN, +Inf or -Inf");
	refuses(TEXT, "a 0x10\n", "line 1, column 3: invalid value \"0x10\": "
	    "expected a number, NaN, +Inf or -Inf");
	refuses(TEXT, "a 1_000\n", "line 1, column 3: invalid value \"1_000\": "
	    "expected a number, NaN, +Inf or -Inf");
	refuses(TEXT, "a 1 1.5\n", "line 1, column 5: invalid timestamp "
	    "\"1.5\": expected integer milliseconds since the epoch");
	refuses(TEXT, "a 1 9223372036854775808\n", "line 1, column 5: "
	    "timestamp \"9223372036854775808\" is out of range");
	refuses(TEXT, "a 1 2 3\n",
	    "line 1, column 7: unexpected \"3\" after the timestamp");
	refuses(TEXT, "a\n", "line 1, column 2: expected a value for \"a\", "
	    "found the end of the line");
	refuses(TEXT, "a{b=\"c\"}\n", "line 1, column 9: expected a value for "
	    "\"a\", found the end of the line");
}

/* Blanks, tabs, blank lines, comments, and what text allows in braces. */
static void
test_text_layout(void **state)
{
	(void)state;
	parses(TEXT,
	    "\n   \n\t# just a comment\n#HELP x help without a space\n"
	    "# TYPE\tx\tgauge  \n  x { a = \"1\" , b=\"2\", } \t 3\t 4  \n"
	    "x{} 5\nx{a=\"\"}6\n# HELP y\n# HELP z  two  words  \n"
	    "#\n# other words\n",
	    "HELP x \"help without a space\"\n"
	    "TYPE x gauge\n"
	    "x{a=\"1\",b=\"2\"} 3 @4 (x gauge)\n"
	    "x 5 (x gauge)\n"
	    "x{a=\"\"} 6 (x gauge)\n"
	    "HELP y \"\"\n"
	    "HELP z \"two  words\"\n");
	parses(TEXT, "", "");
	refuses(TEXT, "a 1", "line 1, column 4: expected a line feed at the "
	    "end of the data");
	refuses(TEXT, "a 1\r\n", "line 1, column 4: a carriage return: lines "
	    "must end with \"\\n\" alone");
}

/* Label values' escapes: \\ \" \n and nothing else; HELP: \\ \n. */
static void
test_text_escapes(void **state)
{
	(void)state;
	parses(TEXT,
	    "# HELP a back\\\\slash and\\nnewline, \"quotes\" as they are\n"
	    "a{v=\"x\\\\y\\\"z\\n\",w=\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 {,}=\"} 1\n",
	    "HELP a \"back\\\\slash and\\nnewline, \\\"quotes\\\" as they are\"\n"
	    "a{v=\"x\\\\y\\\"z\\n\",w=\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 {,}=\"} 1 (a unknown)\n");
	refuses(TEXT, "a{v=\"x\\ty\"} 1\n", "line 1, column 7: invalid escape "
	    "sequence \"\\\\t\" in the value of label \"v\" (known: \\\\, \\\" "
	    "and \\n)");
	refuses(TEXT, "# HELP a say \\\"hi\\\"\n", "line 1, column 14: invalid "
	    "escape sequence \"\\\\\\\"\" in the help text (known: \\\\ and \\n)");
	refuses(TEXT, "# HELP a ends in \\\n", "line 1, column 18: a lone '\\' "
	    "at the end of the help text");
	refuses(TEXT, "a{v=\"\xc3\xa9\xff\"} 1\n", "line 1, column 7: the value "
	    "of label \"v\" is not valid UTF-8");
	refuses(TEXT, "a{v=\"\xed\xa0\x80\"} 1\n", "line 1, column 6: the value "
	    "of label \"v\" is not valid UTF-8");	/* a surrogate */
	refuses(TEXT, "a{v=\"\xc0\xaf\"} 1\n", "line 1, column 6: the value "
	    "of label \"v\" is not valid UTF-8");	/* overlong '/' */
	refuses(TEXT, "# HELP a \xff\n", "line 1, column 10: the help text is "
	    "not valid UTF-8");
	refuses(TEXT, "a{v=\"open} 1\n",
	    "line 1, column 5: the value of label \"v\" has no closing '\"'");
}

/* Names, labels, and the messages that say what was expected. */
static void
test_text_syntax_errors(void **state)
{
	(void)state;
	refuses(TEXT, "ok 1\n\n# TYPE ok counter\n",
	    "line 3, column 8: TYPE line for metric \"ok\" after its samples");
	refuses(TEXT, "x 1\nhttp_requests_total{method=\"post\",code:\"200\"} 1\n",
	    "line 2, column 39: expected '=' after label name \"code\", "
	    "found ':'");
	refuses(TEXT, "0abc 1\n", "line 1, column 1: invalid metric name "
	    "\"0abc\": it must not start with a digit");
	refuses(TEXT, "{a=\"b\"} 1\n", "line 1, column 1: expected a metric "
	    "name, found '{'");
	refuses(TEXT, "foo-bar 1\n", "line 1, column 4: invalid character "
	    "'-' in metric name \"foo\"");
	refuses(TEXT, "\xc3\xa9t\xc3\xa9 1\n", "line 1, column 1: expected a "
	    "metric name, found byte 0xc3");
	refuses(TEXT, "a{1b=\"c\"} 1\n", "line 1, column 3: invalid label name "
	    "\"1b\": it must not start with a digit");
	refuses(TEXT, "a{b:c=\"d\"} 1\n", "line 1, column 4: expected '=' after "
	    "label name \"b\", found ':'");
	refuses(TEXT, "a{,} 1\n", "line 1, column 3: expected a label name or "
	    "'}', found ','");
	refuses(TEXT, "a{b=c} 1\n", "line 1, column 5: expected '\"' to open "
	    "the value of label \"b\", found 'c'");
	refuses(TEXT, "a{b=\"c\" d=\"e\"} 1\n", "line 1, column 9: expected "
	    "',' or '}' after the value of label \"b\", found 'd'");
	refuses(TEXT, "a{b=\"c\",\n", "line 1, column 2: the labels have no "
	    "closing '}'");
	refuses(TEXT, "a{code=\"1\",x=\"2\",code=\"3\"} 1\n",
	    "line 1, column 18: duplicate label name \"code\"");
	refuses(TEXT, "a{__name__=\"b\"} 1\n",
	    "line 1, column 3: label name \"__name__\" is reserved");
	refuses(TEXT, "a 1\n\n# TYPE b counter\n# TYPE b gauge\n",
	    "line 4, column 8: second TYPE line for metric \"b\"");
	refuses(TEXT, "# HELP b one\n# HELP b two\n",
	    "line 2, column 8: second HELP line for metric \"b\"");
	refuses(TEXT, "# TYPE b gauges\n", "line 1, column 10: unknown metric "
	    "type \"gauges\": expected counter, gauge, histogram, summary or "
	    "untyped");
	refuses(TEXT, "# TYPE b info\n", "line 1, column 10: unknown metric "
	    "type \"info\": expected counter, gauge, histogram, summary or "
	    "untyped");
	refuses(TEXT, "# TYPE b\n", "line 1, column 9: expected a metric type "
	    "after \"b\", found the end of the line");
	refuses(TEXT, "# TYPE b gauge extra\n",
	    "line 1, column 16: unexpected \"extra\" after the type");
	refuses(TEXT, "# HELP\n", "line 1, column 7: expected a metric name "
	    "after HELP, found the end of the line");
	refuses(TEXT, "# TYPE 9 gauge\n", "line 1, column 8: invalid metric "
	    "name \"9\": it must not start with a digit");
	refuses(TEXT, "# TYPE a-b gauge\n", "line 1, column 9: invalid "
	    "character '-' in metric name \"a\"");
	refuses(TEXT, "a{b'} 1\n", "line 1, column 4: expected '=' after label "
	    "name \"b\", found \"'\"");
	refuses(TEXT, "# TYPE a \x80\x80\xc3\xa9\x01\"\n", "line 1, column 10: "
	    "unknown metric type \"\\x80\\x80\xc3\xa9\\x01\\\"\": expected "
	    "counter, gauge, histogram, summary or untyped");
	/* a long name is cut short in the message */
	refuses(TEXT, "a{v=\"\xff\"} 1 2\n",
	    "line 1, column 6: the value of label \"v\" is not valid UTF-8");
	refuses(TEXT, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "line 1, column 57: expected a value for \"aaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaa...\", found the end of the line");
}

/* Histograms and summaries: which family, "le" and "quantile". */
static void
test_text_families(void **state)
{
	(void)state;
	parses(TEXT,
	    "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
	    "h_sum 3\nh_count 2\n# TYPE s summary\ns{quantile=\"0.5\"} 1\n"
	    "s_sum 1\ns_count 1\ns_bucket 7\n# TYPE g gauge\ng_sum 1\n"
	    "h_count 3\n",
	    "TYPE h histogram\n"
	    "h_bucket{le=\"1\"} 1 (h histogram)\n"
	    "h_bucket{le=\"+Inf\"} 2 (h histogram)\n"
	    "h_sum 3 (h histogram)\n"
	    "h_count 2 (h histogram)\n"
	    "TYPE s summary\n"
	    "s{quantile=\"0.5\"} 1 (s summary)\n"
	    "s_sum 1 (s summary)\n"
	    "s_count 1 (s summary)\n"
	    "s_bucket 7 (s_bucket unknown)\n"
	    "TYPE g gauge\n"
	    "g_sum 1 (g_sum unknown)\n"
	    "h_count 3 (h histogram)\n");
	refuses(TEXT, "# TYPE h histogram\nh_bucket 1\n", "line 2, column 1: "
	    "histogram bucket \"h_bucket\" has no \"le\" label");
	refuses(TEXT, "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
	    "line 2, column 10: the value \"x\" of label \"le\" is not a number");
	refuses(TEXT, "# TYPE s summary\ns{quantile=\"high\"} 1\n",
	    "line 2, column 3: the value \"high\" of label \"quantile\" is not a "
	    "number");
}

/* ---- OpenMetrics 1.0 ---- */

/* The complete exposition of the specification. */
static void
test_om_spec_example(void **state)
{
	(void)state;
	parses(OM,
	    "# TYPE acme_http_router_request_seconds summary\n"
	    "# UNIT acme_http_router_request_seconds seconds\n"
	    "# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.\n"
	    "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n"
	    "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n"
	    "acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0\n"
	    "acme_http_router_request_seconds_sum{path=\"/api/v2\",method=\"POST\"} 479.3\n"
	    "acme_http_router_request_seconds_count{path=\"/api/v2\",method=\"POST\"} 34.0\n"
	    "acme_http_router_request_seconds_created{path=\"/api/v2\",method=\"POST\"} 1605281325.0\n"
	    "# TYPE go_goroutines gauge\n"
	    "# HELP go_goroutines Number of goroutines that currently exist.\n"
	    "go_goroutines 69\n"
	    "# TYPE process_cpu_seconds counter\n"
	    "# UNIT process_cpu_seconds seconds\n"
	    "# HELP process_cpu_seconds Total user and system CPU time spent in seconds.\n"
	    "process_cpu_seconds_total 4.20072246e+06\n"
	    "# EOF\n",

	    "TYPE acme_http_router_request_seconds summary\n"
	    "UNIT acme_http_router_request_seconds seconds\n"
	    "HELP acme_http_router_request_seconds \"Latency though all of ACME's HTTP request router.\"\n"
	    "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.3199999999997 (acme_http_router_request_seconds summary)\n"
	    "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283 (acme_http_router_request_seconds summary)\n"
	    "acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325 (acme_http_router_request_seconds summary)\n"
	    "acme_http_router_request_seconds_sum{path=\"/api/v2\",method=\"POST\"} 479.30000000000001 (acme_http_router_request_seconds summary)\n"
	    "acme_http_router_request_seconds_count{path=\"/api/v2\",method=\"POST\"} 34 (acme_http_router_request_seconds summary)\n"
	    "acme_http_router_request_seconds_created{path=\"/api/v2\",method=\"POST\"} 1605281325 (acme_http_router_request_seconds summary)\n"
	    "TYPE go_goroutines gauge\n"
	    "HELP go_goroutines \"Number of goroutines that currently exist.\"\n"
	    "go_goroutines 69 (go_goroutines gauge)\n"
	    "TYPE process_cpu_seconds counter\n"
	    "UNIT process_cpu_seconds seconds\n"
	    "HELP process_cpu_seconds \"Total user and system CPU time spent in seconds.\"\n"
	    "process_cpu_seconds_total 4200722.46 (process_cpu_seconds counter)\n");
}

/* The specification's examples of each type, with timestamps in seconds. */
static void
test_om_types(void **state)
{
	(void)state;
	parses(OM,
	    "# TYPE foo_seconds summary\n# UNIT foo_seconds seconds\n"
	    "foo_seconds_count{a=\"bb\"} 0 123\nfoo_seconds_sum{a=\"bb\"} 0 123\n"
	    "foo_seconds_count{a=\"bb\"} 0 456\n"
	    "# TYPE foo gauge\nfoo{a=\"b\"} 17.0 1520879607.789\n"
	    "# TYPE c counter\nc_total 17.0 1520879607.789\n"
	    "c_created 1520430000.123 1520879607.789\n"
	    "# TYPE st stateset\nst{st=\"a\"} 0\nst{st=\"bb\"} 1\n"
	    "# TYPE i info\ni_info{name=\"pretty name\",version=\"8.2.7\"} 1\n"
	    "# TYPE gh gaugehistogram\ngh_bucket{le=\"0.01\"} 20.0\n"
	    "gh_bucket{le=\"+Inf\"} 42.0\ngh_gcount 42.0\ngh_gsum 3289.3\n"
	    "# TYPE u unknown\nu 42.23\n"
	    "# HELP esc Some text and \\n some \\\" escaping \\a\n"
	    "esc{a=\"x\",b=\"escaping\\\" example \\n \"} 0\n"
	    "untyped_total{} 1\n"
	    "# EOF",
	    "TYPE foo_seconds summary\nUNIT foo_seconds seconds\n"
	    "foo_seconds_count{a=\"bb\"} 0 @123000 (foo_seconds summary)\n"
	    "foo_seconds_sum{a=\"bb\"} 0 @123000 (foo_seconds summary)\n"
	    "foo_seconds_count{a=\"bb\"} 0 @456000 (foo_seconds summary)\n"
	    "TYPE foo gauge\nfoo{a=\"b\"} 17 @1520879607789 (foo gauge)\n"
	    "TYPE c counter\nc_total 17 @1520879607789 (c counter)\n"
	    "c_created 1520430000.1229999 @1520879607789 (c counter)\n"
	    "TYPE st stateset\nst{st=\"a\"} 0 (st stateset)\n"
	    "st{st=\"bb\"} 1 (st stateset)\n"
	    "TYPE i info\ni_info{name=\"pretty name\",version=\"8.2.7\"} 1 (i info)\n"
	    "TYPE gh gaugehistogram\ngh_bucket{le=\"0.01\"} 20 (gh gaugehistogram)\n"
	    "gh_bucket{le=\"+Inf\"} 42 (gh gaugehistogram)\n"
	    "gh_gcount 42 (gh gaugehistogram)\n"
	    "gh_gsum 3289.3000000000002 (gh gaugehistogram)\n"
	    "TYPE u unknown\nu 42.229999999999997 (u unknown)\n"
	    "HELP esc \"Some text and \\n some \\\" escaping \\\\a\"\n"
	    "esc{a=\"x\",b=\"escaping\\\" example \\n \"} 0 (esc unknown)\n"
	    "untyped_total 1 (untyped_total unknown)\n");
}

/* The histogram of the specification, with its exemplars. */
static void
test_om_exemplars(void **state)
{
	(void)state;
	parses(OM,
	    "# TYPE foo histogram\n"
	    "foo_bucket{le=\"0.01\"} 0\n"
	    "foo_bucket{le=\"0.1\"} 8 # {} 0.054\n"
	    "foo_bucket{le=\"1\"} 11 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
	    "foo_bucket{le=\"10\"} 17 # {trace_id=\"oHg5SJYRHA0\"} 9.8 1520879607.789\n"
	    "foo_bucket{le=\"+Inf\"} 17\n"
	    "foo_count 17\n"
	    "foo_sum 324789.3\n"
	    "foo_created 1520430000.123\n"
	    "# TYPE c counter\n"
	    "c_total 3 1.5 # {a=\"b\"} 1\n"
	    "# EOF\n",
	    "TYPE foo histogram\n"
	    "foo_bucket{le=\"0.01\"} 0 (foo histogram)\n"
	    "foo_bucket{le=\"0.1\"} 8 # {} 0.053999999999999999 (foo histogram)\n"
	    "foo_bucket{le=\"1\"} 11 # {trace_id=\"KOO5S4vxi0o\"} 0.67000000000000004 (foo histogram)\n"
	    "foo_bucket{le=\"10\"} 17 # {trace_id=\"oHg5SJYRHA0\"} 9.8000000000000007 @1520879607789 (foo histogram)\n"
	    "foo_bucket{le=\"+Inf\"} 17 (foo histogram)\n"
	    "foo_count 17 (foo histogram)\n"
	    "foo_sum 324789.29999999999 (foo histogram)\n"
	    "foo_created 1520430000.1229999 (foo histogram)\n"
	    "TYPE c counter\n"
	    "c_total 3 @1500 # {a=\"b\"} 1 (c counter)\n");
}

/* Seconds to milliseconds, exactly, sub-millisecond digits dropped. */
static void
test_om_timestamps(void **state)
{
	(void)state;
	parses(OM,
	    "a 1 1604676851.123456789\nb 1 -1.5\nc 1 1e3\nd 1 1.5E-3\n"
	    "e 1 0.0009\nf 1 00042\ng 1 .25\nh 1 9223372036854775.807\n"
	    "i 1 -9223372036854775.808\nj 1 1e-400\n# EOF\n",
	    "a 1 @1604676851123 (a unknown)\nb 1 @-1500 (b unknown)\n"
	    "c 1 @1000000 (c unknown)\nd 1 @1 (d unknown)\n"
	    "e 1 @0 (e unknown)\nf 1 @42000 (f unknown)\n"
	    "g 1 @250 (g unknown)\nh 1 @9223372036854775807 (h unknown)\n"
	    "i 1 @-9223372036854775808 (i unknown)\nj 1 @0 (j unknown)\n");
	refuses(OM, "a 1 9223372036854775.808\n# EOF\n", "line 1, column 5: "
	    "timestamp \"9223372036854775.808\" is out of range");
	refuses(OM, "a 1 1e20\n# EOF\n",
	    "line 1, column 5: timestamp \"1e20\" is out of range");
	refuses(OM, "a 1 +Inf\n# EOF\n", "line 1, column 5: invalid timestamp "
	    "\"+Inf\": expected seconds since the epoch");
	refuses(OM, "a 0x1p1\n# EOF\n", "line 1, column 3: invalid value "
	    "\"0x1p1\": expected a number, NaN, +Inf or -Inf");
	parses(OM, "a +inf\nb -INFINITY\nc nan\n# EOF\n",
	    "a +Inf (a unknown)\nb -Inf (b unknown)\nc NaN (c unknown)\n");
}

/* "# EOF", and what OpenMetrics forbids of the layout. */
static void
test_om_layout(void **state)
{
	(void)state;
	parses(OM, "# EOF", "");
	parses(OM, "# EOF\n", "");
	refuses(OM, "", "line 1, column 1: expected \"# EOF\" at the end of the "
	    "data");
	refuses(OM, "a 1\n", "line 2, column 1: expected \"# EOF\" at the end "
	    "of the data");
	refuses(OM, "a 1", "line 1, column 4: expected a line feed and \"# EOF\" "
	    "at the end of the data");
	refuses(OM, "# EOF\n\n", "line 2, column 1: unexpected data after "
	    "\"# EOF\"");
	refuses(OM, "# EOF\na 1\n", "line 2, column 1: unexpected data after "
	    "\"# EOF\"");
	refuses(OM, "# EOF \n", "line 1, column 1: expected \"# HELP\", \"# TYPE\", "
	    "\"# UNIT\" or \"# EOF\" (OpenMetrics has no other comments)");
	refuses(OM, "a 1\n\nb 1\n# EOF\n", "line 2, column 1: an empty line "
	    "(OpenMetrics has none)");
	refuses(OM, "# a comment\n# EOF\n", "line 1, column 1: expected "
	    "\"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\" (OpenMetrics has no "
	    "other comments)");
	/* the specification's own example has two spaces here */
	refuses(OM, "# TYPE foo histogram\nfoo_created  1520430000.123\n# EOF\n",
	    "line 2, column 13: expected a value for \"foo_created\", found ' '");
	refuses(OM, "a  1\n# EOF\n",
	    "line 1, column 3: expected a value for \"a\", found ' '");
	refuses(OM, "a 1 \n# EOF\n", "line 1, column 4: unexpected space after "
	    "the value (OpenMetrics separates tokens with one space and has "
	    "none at the end of a line)");
	refuses(OM, " a 1\n# EOF\n",
	    "line 1, column 1: expected a metric name, found ' '");
	refuses(OM, "a{b=\"c\"}1\n# EOF\n", "line 1, column 9: expected a space "
	    "and a value after the labels of \"a\", found '1'");
	refuses(OM, "a{b=\"c\",} 1\n# EOF\n", "line 1, column 9: expected a label "
	    "name after ',' (OpenMetrics allows no ',' before '}')");
	refuses(OM, "a{b = \"c\"} 1\n# EOF\n", "line 1, column 4: expected '=' "
	    "after label name \"b\", found ' '");
	refuses(OM, "a 1\ta\n# EOF\n", "line 1, column 3: invalid value "
	    "\"1\\x09a\": expected a number, NaN, +Inf or -Inf");
}

/* Metadata: types, units, the order of families. */
static void
test_om_metadata(void **state)
{
	(void)state;
	parses(OM, "# HELP a\n# UNIT a\n# HELP a \n# TYPE a gauge\na 1\n# EOF\n",
	    "TYPE a gauge\na 1 (a gauge)\n");
	refuses(OM, "# TYPE foo counter\n# UNIT foo seconds\n# EOF\n",
	    "line 2, column 12: unit \"seconds\" is not the suffix of metric "
	    "family \"foo\" (the name must end in \"_seconds\")");
	refuses(OM, "# TYPE a untyped\n# EOF\n", "line 1, column 10: unknown "
	    "metric type \"untyped\": expected counter, gauge, histogram, "
	    "gaugehistogram, summary, info, stateset or unknown");
	refuses(OM, "# TYPE a gauge\n# TYPE a gauge\n# EOF\n",
	    "line 2, column 8: second TYPE line for metric \"a\"");
	refuses(OM, "# TYPE a gauge\na 1\n# HELP a late\n# EOF\n",
	    "line 3, column 8: HELP line for metric \"a\" after its samples");
	refuses(OM, "# TYPE a gauge\n# TYPE b gauge\n# HELP a x\n# EOF\n",
	    "line 3, column 8: metric family \"a\" appears again after other "
	    "families (OpenMetrics families must not be interleaved)");
	refuses(OM, "a 1\nb 1\na 2\n# EOF\n", "line 3, column 1: metric family "
	    "\"a\" appears again after other families (OpenMetrics families "
	    "must not be interleaved)");
	refuses(OM, "# TYPE h histogram\nh_count 1\nb 1\nh_sum 2\n# EOF\n",
	    "line 4, column 1: metric family \"h\" appears again after other "
	    "families (OpenMetrics families must not be interleaved)");
	refuses(OM, "# TYPE c counter\nc 1\n# EOF\n", "line 2, column 1: a sample "
	    "of counter \"c\" must be named with the suffix _total or _created");
	refuses(OM, "# TYPE h histogram\nh 1\n# EOF\n", "line 2, column 1: a "
	    "sample of histogram \"h\" must be named with the suffix _bucket, "
	    "_count, _sum or _created");
	refuses(OM, "# TYPE i info\ni 1\n# EOF\n", "line 2, column 1: a sample of "
	    "info \"i\" must be named with the suffix _info");
	refuses(OM, "# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n", "line 2, "
	    "column 5: an exemplar on \"g\": only a counter's _total and a "
	    "histogram's _bucket samples may have one");
	parses(OM, "# TYPE c counter\nc_total 1 # {a=\"" X16 X16 X16 X16 X16 X16
	    X16 "xxxxxxxxxxxxxxx\"} 1\n# EOF\n", "TYPE c counter\n"
	    "c_total 1 # {a=\"" X16 X16 X16 X16 X16 X16 X16 "xxxxxxxxxxxxxxx\"} 1 "
	    "(c counter)\n");
	refuses(OM, "# TYPE c counter\nc_total 1 # {a=\"" X16 X16 X16 X16 X16 X16
	    X16 X16 "\"} 1\n# EOF\n", "line 2, column 13: the exemplar's labels "
	    "have more than 128 characters");
	refuses(OM, "# TYPE c counter\nc_total 1 # {} 1 \n# EOF\n", "line 2, "
	    "column 17: unexpected space after the exemplar (OpenMetrics "
	    "separates tokens with one space and has none at the end of a "
	    "line)");
	refuses(OM, "# TYPE c counter\nc_total 1 2 \n# EOF\n", "line 2, "
	    "column 12: unexpected space after the timestamp (OpenMetrics "
	    "separates tokens with one space and has none at the end of a "
	    "line)");
	refuses(OM, "# TYPE c counter\nc_total 1 # 1\n# EOF\n", "line 2, column "
	    "13: expected '{' to open an exemplar's labels after \" # \", found "
	    "'1'");
	refuses(OM, "# TYPE c counter\nc_total 1 # {} x\n# EOF\n", "line 2, column "
	    "16: invalid exemplar value \"x\": expected a number, NaN, +Inf or "
	    "-Inf");
	refuses(TEXT, "c_total 1 # {} 1\n", "line 1, column 11: invalid timestamp "
	    "\"#\": expected integer milliseconds since the epoch");
}

/* ---- limits, callbacks, Content-Type ---- */

static int
stop_at_second(void *arg, const struct expfmt_sample *s)
{
	int *n = arg;

	(void)s;
	return ++*n == 2 ? -ECANCELED : 0;
}

static void
test_limits_and_callbacks(void **state)
{
	struct expfmt_handler h = { NULL, stop_at_second, NULL };
	struct expfmt_stats st;
	struct buf b;
	int n = 0;

	(void)state;
	h.arg = &n;
	assert_int_equal(expfmt_parse("a 1\nb 2\nc 3\n", 12, TEXT, &h, &st),
	    -ECANCELED);
	assert_int_equal(n, 2);
	assert_int_equal(st.samples, 2);

	/* a line one byte too long, then exactly long enough */
	buf_init(&b, 0);
	buf_puts(&b, "# ");
	while (b.len < EXPFMT_LINE_MAX + 1)
		buf_putc(&b, 'x');
	buf_putc(&b, '\n');
	refuses(TEXT, buf_str(&b), "line 1, column 1: the line is longer than "
	    "1048576 bytes");
	b.len -= 2;
	buf_putc(&b, '\n');
	assert_int_equal(expfmt_parse(b.data, b.len, TEXT, NULL, &st), 0);
	assert_int_equal(st.comments, 1);

	/* EXPFMT_LABELS_MAX labels, then one more */
	buf_reset(&b);
	buf_puts(&b, "a{");
	for (int i = 0; i < EXPFMT_LABELS_MAX; i++)
		buf_printf(&b, "l%d=\"%d\",", i, i);
	buf_puts(&b, "} 1\n");
	assert_int_equal(expfmt_parse(b.data, b.len, TEXT, NULL, &st), 0);
	buf_reset(&b);
	buf_puts(&b, "a{");
	for (int i = 0; i <= EXPFMT_LABELS_MAX; i++)
		buf_printf(&b, "l%d=\"\",", i);
	buf_puts(&b, "} 1\n");
	err_clear();
	assert_int_equal(expfmt_parse(b.data, b.len, TEXT, NULL, &st), -EINVAL);
	assert_string_equal(err_detail(), "line 1, column 1941: more than 256 "
	    "labels");

	/* many families, and their counts */
	buf_reset(&b);
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "# TYPE f%d gauge\nf%d %d\n", i, i, i);
	buf_puts(&b, "# EOF\n");
	assert_int_equal(expfmt_parse(b.data, b.len, OM, NULL, &st), 0);
	assert_int_equal(st.families, 5000);
	assert_int_equal(st.samples, 5000);
	assert_int_equal(st.metas, 5000);
	assert_int_equal(st.lines, 10001);
	buf_release(&b);
}

static void
test_format_for(void **state)
{
	enum expfmt_format f;

	(void)state;
	assert_int_equal(expfmt_format_for(NULL, &f), 0);
	assert_int_equal(f, EXPFMT_TEXT_004);
	assert_int_equal(expfmt_format_for("text/plain; version=0.0.4; "
	    "charset=utf-8", &f), 0);
	assert_int_equal(f, EXPFMT_TEXT_004);
	assert_int_equal(expfmt_format_for(" Application/OpenMetrics-Text; "
	    "version=1.0.0; charset=utf-8", &f), 0);
	assert_int_equal(f, EXPFMT_OPENMETRICS);
	assert_int_equal(expfmt_format_for("application/openmetrics-text", &f), 0);
	assert_int_equal(f, EXPFMT_OPENMETRICS);
	assert_int_equal(expfmt_format_for("application/json", &f), 0);
	assert_int_equal(f, EXPFMT_TEXT_004);
	assert_int_equal(expfmt_format_for("", &f), 0);
	assert_int_equal(f, EXPFMT_TEXT_004);
	assert_int_equal(expfmt_format_for("application/vnd.google.protobuf; "
	    "proto=io.prometheus.client.MetricFamily; encoding=delimited", &f),
	    -EPROTONOSUPPORT);
	assert_string_equal(err_detail(), "the protobuf exposition format "
	    "('application/vnd.google.protobuf') is not supported: send the "
	    "text format or OpenMetrics");
	assert_string_equal(expfmt_type_name(EXPFMT_UNTYPED, TEXT), "untyped");
	assert_string_equal(expfmt_type_name(EXPFMT_GAUGEHISTOGRAM, OM),
	    "gaugehistogram");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_spec_example),
		cmocka_unit_test(test_text_values),
		cmocka_unit_test(test_text_layout),
		cmocka_unit_test(test_text_escapes),
		cmocka_unit_test(test_text_syntax_errors),
		cmocka_unit_test(test_text_families),
		cmocka_unit_test(test_om_spec_example),
		cmocka_unit_test(test_om_types),
		cmocka_unit_test(test_om_exemplars),
		cmocka_unit_test(test_om_timestamps),
		cmocka_unit_test(test_om_layout),
		cmocka_unit_test(test_om_metadata),
		cmocka_unit_test(test_limits_and_callbacks),
		cmocka_unit_test(test_format_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
