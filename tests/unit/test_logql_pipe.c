/*
 * test_logql_pipe.c - LogQL's pipeline (query/logql.h): a table of
 * pipelines run over one line of a stream, each with what must come out
 * (kept or not, the line, the labels), taken from Loki's documented
 * examples and its tests' cases, for every stage; parse errors with the
 * line and column Loki gives; the format read back to the same text;
 * the needles of the leading filters; and a run that reuses its label
 * sets across lines.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "query/logql.h"
#include "query/logql_pipe_int.h"
#include "util/buf.h"
#include "util/error.h"

/* "a=x,b=y" into a set (values without commas). */
static struct labels *
mk_labels(const char *s)
{
	struct label v[32];
	char *copy = strdup(s), *tok, *save = NULL, *eq;
	struct labels *ls;
	size_t n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		*eq = '\0';
		v[n++] = label_str(tok, eq + 1);
	}
	assert_int_equal(labels_new(v, n, LABELS_RESERVED, &ls), 0);
	free(copy);
	return ls;
}

/* A set as "a=x,b=y", sorted. */
static void
show(const struct labels *ls, struct buf *b)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);

		if (i)
			buf_putc(b, ',');
		buf_printf(b, "%s=%s", l->name, l->value);
	}
	buf_puts(b, "");
}

struct rcase {
	const char	*pipe;
	const char	*stream;
	const char	*line;
	int		 kept;
	const char	*line_out;	/* NULL: the line as it was */
	const char	*labels_out;	/* NULL: the stream's */
	double		 value;		/* unwrap's, NAN for none */
};

#define NOV	NAN

static const char JSON_LINE[] =
    "{\"protocol\":\"HTTP/2.0\",\"servers\":[\"129.0.1.1\",\"10.2.1.3\"],"
    "\"request\":{\"time\":\"6.032\",\"method\":\"GET\",\"host\":"
    "\"foo.grafana.net\",\"size\":\"55\",\"headers\":{\"Accept\":\"*/*\","
    "\"User-Agent\":\"curl/7.68.0\"}},\"response\":{\"status\":401,"
    "\"size\":\"228\",\"latency_seconds\":\"6.031\"}}";

static const char LOGFMT_LINE[] =
    "at=info method=GET path=/ host=grafana.net fwd=\"124.133.124.161\" "
    "service=8ms status=200";

static const char NGINX_LINE[] =
    "0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] \"GET "
    "/api/plugins/versioncheck HTTP/1.1\" 200 2 \"-\" "
    "\"Go-http-client/2.0\" \"13.76.247.102, 34.120.177.193\" \"TLSv1.2\" "
    "\"US\" \"\"";

static const struct rcase cases[] = {
	/* line filters */
	{ "|= \"error\"", "app=a", "an error here", 1, NULL, NULL, NOV },
	{ "|= \"Error\"", "app=a", "an error here", 0, NULL, NULL, NOV },
	{ "!= \"error\"", "app=a", "an error here", 0, NULL, NULL, NOV },
	{ "!= \"debug\" |= \"here\"", "app=a", "an error here", 1, NULL, NULL,
	    NOV },
	{ "|~ \"err(or)?\\\\s\"", "app=a", "an error here", 1, NULL, NULL, NOV },
	{ "|~ `(?i)ERROR`", "app=a", "an error here", 1, NULL, NULL, NOV },
	{ "!~ `\\d{3}`", "app=a", "code 500", 0, NULL, NULL, NOV },
	{ "|~ \"here\"", "app=a", "an error here", 1, NULL, NULL, NOV },
	{ "|= \"x\" or \"here\"", "app=a", "an error here", 1, NULL, NULL, NOV },
	{ "!= \"x\" or \"here\"", "app=a", "an error here", 0, NULL, NULL, NOV },
	{ "|> \"<_> error <_>\"", "app=a", "an error here", 1, NULL, NULL, NOV },
	{ "!> \"<_> error <_>\"", "app=a", "an error here", 0, NULL, NULL, NOV },
	{ "|> \"an <_>\"", "app=a", "the error", 0, NULL, NULL, NOV },
	{ "|= ip(\"192.168.4.5/16\")", "app=a", "from 10.0.0.1 and 192.168.9.9:80",
	    1, NULL, NULL, NOV },
	{ "|= ip(\"192.168.4.5-192.168.4.10\")", "app=a", "from 192.168.4.11", 0,
	    NULL, NULL, NOV },
	{ "!= ip(\"::1\")", "app=a", "addr ::1 here", 0, NULL, NULL, NOV },
	{ "|= ip(\"2001:db8::/32\")", "app=a", "c=2001:db8:1::5 x", 1, NULL,
	    NULL, NOV },
	{ "| logfmt | addr = ip(\"10.0.0.0/8\")", "app=a", "addr=10.1.2.3", 1,
	    NULL, "*", NOV },
	{ "| logfmt | addr != ip(\"10.0.0.0/8\")", "app=a", "addr=10.1.2.3", 0,
	    NULL, NULL, NOV },
	{ "| logfmt | addr = ip(\"10.0.0.0/8\")", "app=a", "other=1", 0, NULL,
	    NULL, NOV },
	/* json */
	{ "| json", "app=a", JSON_LINE, 1, NULL,
	    "app=a,protocol=HTTP/2.0,request_headers_Accept=*/*,"
	    "request_headers_User_Agent=curl/7.68.0,request_host=foo.grafana.net,"
	    "request_method=GET,request_size=55,request_time=6.032,"
	    "response_latency_seconds=6.031,response_size=228,"
	    "response_status=401", NOV },
	{ "| json first_server=\"servers[0]\", ua=\"request.headers[\\\"User-Agent\\\"]\"",
	    "app=a", JSON_LINE, 1, NULL,
	    "app=a,first_server=129.0.1.1,ua=curl/7.68.0", NOV },
	{ "| json headers=\"request.headers\"", "app=a", JSON_LINE, 1, NULL,
	    "app=a,headers={\"Accept\":\"*/*\",\"User-Agent\":\"curl/7.68.0\"}",
	    NOV },
	{ "| json protocol", "app=a", JSON_LINE, 1, NULL,
	    "app=a,protocol=HTTP/2.0", NOV },
	{ "| json", "app=a", "{\"app\":\"b\",\"n\":1.5,\"ok\":true,\"1x\":\"y\"}",
	    1, NULL, "_1x=y,app=a,app_extracted=b,n=1.5,ok=true", NOV },
	{ "| json", "app=a", "{\"i\":-9007199254740993,\"f\":0.1,\"n\":null}",
	    1, NULL, "app=a,f=0.1,i=-9007199254740993", NOV },
	{ "| json", "app=a", "{\"big\":123456789012345678901}", 1, NULL,
	    "app=a,big=1.2345678901234568e+20", NOV },
	{ "| json", "app=a", "not json", 1, NULL,
	    "__error__=JSONParserErr,__error_details__=*,app=a", NOV },
	{ "| json | __error__=\"\"", "app=a", "not json", 0, NULL, NULL, NOV },
	{ "| json | __error__!=\"JSONParserErr\"", "app=a", "[1]", 0, NULL,
	    NULL, NOV },
	/* logfmt */
	{ "| logfmt", "app=a", LOGFMT_LINE, 1, NULL,
	    "app=a,at=info,fwd=124.133.124.161,host=grafana.net,method=GET,"
	    "path=/,service=8ms,status=200", NOV },
	{ "| logfmt m=\"method\", status", "app=a", LOGFMT_LINE, 1, NULL,
	    "app=a,m=GET,status=200", NOV },
	{ "| logfmt", "app=a", "app=b a.b=c msg=\"say \\\"hi\\\"\"", 1, NULL,
	    "a_b=c,app=a,app_extracted=b,msg=say \"hi\"", NOV },
	{ "| logfmt --strict", "app=a", "a=1 b==2 c=3", 1, NULL,
	    "__error__=LogfmtParserErr,__error_details__=*,a=1,app=a", NOV },
	{ "| logfmt", "app=a", "a=1 b==2 c=3", 1, NULL, "a=1,app=a,c=3", NOV },
	{ "| logfmt", "app=a", "u=\"\\u00e9\\t\\/\" bad=\"\\q\" k\x01v=1 =x", 1,
	    NULL, "app=a,u=\xc3\xa9\t/,v=1", NOV },
	{ "| logfmt --strict | line_format `{{.__error_details__}}`", "app=a",
	    "a=1 b=\"open", 1, "logfmt syntax error at pos 12 : unterminated "
	    "quoted value", "*", NOV },
	/* regexp and pattern */
	{ "| regexp \"(?P<method>\\\\w+) (?P<path>[\\\\w|/]+) \\\\((?P<status>\\\\d+?)\\\\) (?P<duration>.*)\"",
	    "app=a", "POST /api/prom/api/v1/query_range (200) 1.5s", 1, NULL,
	    "app=a,duration=1.5s,method=POST,path=/api/prom/api/v1/query_range,"
	    "status=200", NOV },
	{ "| regexp \"(?P<x>nomatch)\"", "app=a", "abc", 1, NULL, NULL, NOV },
	{ "| pattern \"<ip> - - <_> \\\"<method> <uri> <_>\\\" <status> <size> <_> \\\"<agent>\\\" <_>\"",
	    "app=a", NGINX_LINE, 1, NULL,
	    "agent=Go-http-client/2.0,app=a,ip=0.191.12.2,method=GET,size=2,"
	    "status=200,uri=/api/plugins/versioncheck", NOV },
	{ "| pattern \"<a> <b>\"", "app=a", "one", 1, NULL, "a=one,app=a", NOV },
	/* unpack */
	{ "| unpack", "app=a", "{\"_entry\":\"the line\",\"pod\":\"p1\",\"n\":3}",
	    1, "the line", "app=a,pod=p1", NOV },
	/* label filters */
	{ "| logfmt | status >= 400", "app=a", LOGFMT_LINE, 0, NULL, NULL, NOV },
	{ "| logfmt | status == 200 and method=\"GET\"", "app=a", LOGFMT_LINE,
	    1, NULL, "*", NOV },
	{ "| logfmt | status = 200, method!=\"GET\"", "app=a", LOGFMT_LINE, 0,
	    NULL, NULL, NOV },
	{ "| logfmt | status > 300 or method=~\"G.*\"", "app=a", LOGFMT_LINE, 1,
	    NULL, "*", NOV },
	{ "| logfmt | (status > 300 or method=\"POST\") and at=\"info\"",
	    "app=a", LOGFMT_LINE, 0, NULL, NULL, NOV },
	{ "| logfmt | service > 5ms", "app=a", LOGFMT_LINE, 1, NULL, "*", NOV },
	{ "| logfmt | service >= 1m30s", "app=a", LOGFMT_LINE, 0, NULL, NULL,
	    NOV },
	{ "| logfmt | size > 1KB", "app=a", "size=2KiB", 1, NULL, "*", NOV },
	{ "| logfmt | size < 1KB", "app=a", "size=2KiB", 0, NULL, NULL, NOV },
	{ "| logfmt | status > 10", "app=a", "status=abc", 1, NULL,
	    "__error__=LabelFilterErr,__error_details__=*,app=a,status=abc",
	    NOV },
	{ "| logfmt | status > 10 | __error__=\"\"", "app=a", "status=abc", 0,
	    NULL, NULL, NOV },
	{ "| missing > 1", "app=a", "x", 0, NULL, NULL, NOV },
	{ "| missing = \"\"", "app=a", "x", 1, NULL, NULL, NOV },
	{ "| app = \"a\" app != \"b\"", "app=a", "x", 1, NULL, NULL, NOV },
	/* line_format */
	{ "| logfmt | line_format \"{{.method}} {{.path | ToUpper}} {{ .status }}\"",
	    "app=a", LOGFMT_LINE, 1, "GET / 200", "*", NOV },
	{ "| logfmt | line_format \"{{ if eq .status \\\"200\\\" }}ok{{ else }}bad{{ end }}\"",
	    "app=a", LOGFMT_LINE, 1, "ok", "*", NOV },
	{ "| logfmt | line_format `{{ printf \"%5s|%-4s|\" .method .at }}`",
	    "app=a", LOGFMT_LINE, 1, "  GET|info|", "*", NOV },
	{ "| line_format `{{ .nope | default \"none\" }} {{ __line__ | ToLower }}`",
	    "app=a", "ABC", 1, "none abc", NULL, NOV },
	{ "| line_format `{{ Replace .app \"a\" \"b\" -1 }}{{ \"x\" | replace \"x\" \"y\" }}`",
	    "app=aaa", "ABC", 1, "bbby", NULL, NOV },
	{ "| line_format `{{ TrimPrefix .app \"a\" }}{{ trim \"  y \" }}{{ if .nope }}1{{ else if .app }}2{{ end }}`",
	    "app=aab", "ABC", 1, "aby2", NULL, NOV },
	{ "| line_format `{{ __timestamp__ }}`", "app=a", "ABC", 1,
	    "2021-06-10 09:14:29.5 +0000 UTC", NULL, NOV },
	{ "| line_format `{{- \" a \" -}}  {{ .app }}`", "app=a", "ABC", 1,
	    " a a", NULL, NOV },
	{ "| line_format `{{ div .app 0 }}`", "app=5", "ABC", 1, "ABC",
	    "__error__=TemplateFormatErr,__error_details__=*,app=5", NOV },
	{ "| line_format `{{ __timestamp__ | date \"2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM\" }}`",
	    "app=a", "x", 1, "2021-06-10T09:14:29.500Z Thu Jun 10 9AM", NULL,
	    NOV },
	{ "| line_format `{{ substr 1 3 .app }}|{{ trunc -2 .app }}|{{ trunc 2 .app }}|{{ substr -1 2 .app }}`",
	    "app=h\xc3\xa9llo", "x", 1, "\xc3\xa9l|lo|h\xc3\xa9|h\xc3\xa9", NULL,
	    NOV },
	{ "| line_format `{{ count \"l\" .app }} {{ max 3 9 4 }} {{ urldecode \"a%20b+c\" }} {{ bytes \"2KiB\" }} {{ duration \"1m30s\" }}`",
	    "app=hello", "x", 1, "2 9 a b c 2048 90", NULL, NOV },
	{ "| line_format `{{ regexReplaceAll \"(l+)\" .app \"<${1}>\" }} {{ __timestamp__ | unixEpoch }}`",
	    "app=hello", "x", 1, "he<ll>o 1623316469", NULL, NOV },
	/* label_format */
	{ "| label_format app=\"x\", b=\"{{.app}}\"", "app=a", "x", 1, NULL,
	    "app=x,b=a", NOV },
	{ "| logfmt | label_format verb=method", "app=a", "method=GET", 1,
	    NULL, "app=a,verb=GET", NOV },
	{ "| logfmt | label_format x=\"{{.method}}-{{.app}}\", app=\"z\"",
	    "app=a", "method=GET", 1, NULL, "app=z,method=GET,x=GET-a", NOV },
	{ "| label_format __name__=\"not a name\", ok=\"1\"", "app=a", "x", 1,
	    NULL, "app=a,ok=1", NOV },
	{ "| json", "app=a", "{\"__name__\":\"up\"}", 1, NULL,
	    "__name__=up,app=a", NOV },
	/* drop, keep */
	{ "| logfmt | drop method, at", "app=a", LOGFMT_LINE, 1, NULL,
	    "app=a,fwd=124.133.124.161,host=grafana.net,path=/,service=8ms,"
	    "status=200", NOV },
	{ "| logfmt | keep method, status=\"500\"", "app=a", LOGFMT_LINE, 1,
	    NULL, "method=GET", NOV },
	{ "| logfmt | drop status=~\"2..\"", "app=a", "status=200 a=b", 1, NULL,
	    "a=b,app=a", NOV },
	{ "| json | drop __error__, __error_details__", "app=a", "oops", 1,
	    NULL, "app=a", NOV },
	{ "| json | keep x", "app=a", "oops", 1, NULL,
	    "__error__=JSONParserErr,__error_details__=*", NOV },
	/* decolorize */
	{ "| decolorize", "app=a", "\x1b[31mred\x1b[0m plain", 1, "red plain",
	    NULL, NOV },
	{ "| decolorize", "app=a", "\x1b[1;32mok\x1b[K \x1b]0;title\x07t \x1b[?25l", 1,
	    "ok t ", NULL, NOV },
	/* unwrap */
	{ "| logfmt | unwrap status", "app=a", LOGFMT_LINE, 1, NULL, "*",
	    200 },
	{ "| logfmt | unwrap duration(service)", "app=a", LOGFMT_LINE, 1, NULL,
	    "*", 0.008 },
	{ "| logfmt | unwrap bytes(size) | size != \"\"", "app=a", "size=1.5MiB",
	    1, NULL, "app=a", 1572864 },
	{ "| logfmt | unwrap bytes(size)", "app=a", "size=1.5MiB", 1, NULL,
	    "app=a", 1572864 },
	{ "| logfmt | unwrap bytes(size) | size > 1MB", "app=a", "size=1.5MiB",
	    1, NULL, "app=a", 1572864 },
	{ "| logfmt | unwrap bytes(size) | size > 1MB", "app=a", "size=1KiB",
	    0, NULL, NULL, NOV },
	{ "| logfmt | unwrap latency", "app=a", "latency=fast", 1, NULL,
	    "__error__=SampleExtractionErr,__error_details__=*,app=a", 0 },
	{ "| logfmt | unwrap latency", "app=a", "other=1", 0, NULL, NULL, NOV },
	{ "| logfmt | unwrap latency | __error__=\"\"", "app=a", "latency=x", 0,
	    NULL, NULL, NOV },
};

/* Whether got matches want, where a value "*" in want is any value. */
static int
labels_like(const char *want, const char *got)
{
	while (*want && *got) {
		if (want[0] == '*' && (want[1] == ',' || want[1] == '\0')) {
			want++;
			while (*got && *got != ',')
				got++;
			continue;
		}
		if (*want++ != *got++)
			return 0;
	}
	return *want == '\0' && *got == '\0';
}

static void
test_run_table(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rcase *c = &cases[i];
		struct logql_pipeline *p;
		struct logql_run *r;
		struct logql_out out;
		struct labels *ls = mk_labels(c->stream);
		size_t pos = 0;
		int rc;

		rc = logql_pipeline_parse(c->pipe, strlen(c->pipe), &pos, &p);
		if (rc != 0)
			fail_msg("case %zu %s: %s", i, c->pipe, err_detail());
		assert_int_equal(pos, strlen(c->pipe));
		r = logql_run_new(p);
		memset(&out, 0, sizeof(out));
		rc = logql_run_line(r, ls, c->line, strlen(c->line),
		    1623316469500000000LL, &out);
		if (rc != c->kept)
			fail_msg("case %zu %s: kept %d", i, c->pipe, rc);
		if (rc == 1) {
			const char *want = c->line_out ? c->line_out : c->line;

			if (out.len != strlen(want) ||
			    memcmp(out.line, want, out.len) != 0)
				fail_msg("case %zu %s: line '%.*s'", i, c->pipe,
				    (int)out.len, out.line);
			show(out.ls, &b);
			if (c->labels_out == NULL ? !labels_equal(out.ls, ls) :
			    strcmp(c->labels_out, "*") != 0 &&
			    !labels_like(c->labels_out, b.data))
				fail_msg("case %zu %s: labels %s", i, c->pipe,
				    b.data);
			if (isnan(c->value))
				assert_int_equal(out.has_value, 0);
			else if (!out.has_value ||
			    fabs(out.value - c->value) > 1e-9)
				fail_msg("case %zu %s: value %g (%d)", i,
				    c->pipe, out.value, out.has_value);
		}
		logql_run_free(r);
		logql_pipeline_free(p);
		labels_free(ls);
	}
	buf_release(&b);
}

struct ecase {
	const char	*pipe;
	const char	*err;		/* a part of the message */
};

static const struct ecase errors[] = {
	{ "|= 5", "parse error at line 1, col 4: syntax error: unexpected "
	    "NUMBER, expecting STRING" },
	{ "| json |", "parse error at line 1, col 9: syntax error: unexpected "
	    "$end" },
	{ "|= \"a\"\n| foo >", "parse error at line 2, col 8: syntax error: "
	    "unexpected $end" },
	{ "| line_format \"{{ .a | nofunc }}\"", "col 15: invalid line "
	    "template: template: line:1: function \"nofunc\" not defined" },
	{ "| regexp \"(?P<x>a\"", "col 10: error parsing regexp" },
	{ "| regexp \"abc\"", "at least one named capture" },
	{ "|~ \"a(?=b)\"", "col 4: error parsing regexp" },
	{ "| label_format a=b, a=\"c\"", "col 21: multiple label name 'a'" },
	{ "| pattern \"<a><b>\"", "consecutive capture" },
	{ "| pattern \"abc\"", "at least one capture is required" },
	{ "| logfmt --nope", "invalid logfmt flag" },
	{ "| unwrap x | json", "syntax error: unexpected JSON" },
	{ "| a > \"x\"", "col 7: syntax error: unexpected STRING" },
	{ "| json a=\"b[\"", "cannot parse JSON expression" },
	{ "|= \"unterminated", "col 4: unterminated quoted string" },
	{ "| a =~ \"(\"", "col 8:" },
	{ "| a > 1e999", "col 7: syntax error: number out of range" },
	{ "|~ ip(\"1.2.3.4\")", "col 4: ip: invalid operation" },
	{ "|= ip(\"1.2.3\")", "col 7: ip: invalid pattern: \"1.2.3\"" },
	{ "| a > ip(\"1.2.3.4\")", "col 7: ip: invalid operation" },
	{ "| label_format __error__=\"x\"", "col 16: __error__ cannot be "
	    "formatted" },
	{ "| label_format a=\"{{ end }}\"", "col 18: invalid template for "
	    "label 'a': template: line:1: unexpected {{end}}" },
};

static void
test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct logql_pipeline *p = NULL;
		size_t pos = 0;

		err_clear();
		if (logql_pipeline_parse(errors[i].pipe, strlen(errors[i].pipe),
		    &pos, &p) != -EINVAL)
			fail_msg("%s parsed", errors[i].pipe);
		assert_null(p);
		if (strstr(err_detail(), errors[i].err) == NULL)
			fail_msg("%s: '%s', want '%s'", errors[i].pipe,
			    err_detail(), errors[i].err);
	}
}

/* The pipeline stops before what cannot begin a stage. */
static void
test_stops(void **state)
{
	static const char q[] = "{a=\"b\"} |= \"x\" | json [5m]) by (a)";
	struct logql_pipeline *p;
	size_t pos = 7;

	(void)state;
	assert_int_equal(logql_pipeline_parse(q, strlen(q), &pos, &p), 0);
	assert_int_equal(pos, strchr(q, '[') - q);
	logql_pipeline_free(p);
	pos = strlen(q);
	assert_int_equal(logql_pipeline_parse(q, strlen(q), &pos, &p), 0);
	logql_pipeline_free(p);
}

static const char *const formats[][2] = {
	{ "|= \"a\"  or `b` != \"c\"", " |= \"a\" or \"b\" != \"c\"" },
	{ "|~ \"x.*\" !~ \"y\" |> \"<_> z\" !> \"<a>\"",
	    " |~ \"x.*\" !~ \"y\" |> \"<_> z\" !> \"<a>\"" },
	{ "| json | logfmt --strict a, b=\"c\" | json x=\"y.z[0]\"",
	    " | json | logfmt --strict a=\"a\",b=\"c\" | json x=\"y.z[0]\"" },
	{ "| regexp `(?P<a>\\d)` | pattern \"<a> <_>\" | unpack | decolorize",
	    " | regexp \"(?P<a>\\\\d)\" | pattern \"<a> <_>\" | unpack | "
	    "decolorize" },
	{ "| a=\"b\" and c > 1 or d <= 5s, e != 1KB",
	    " | ( ( a=\"b\" , c>1 ) or ( d<=5s , e!=1KB ) )" },
	{ "| a > 1.000888E77 | b < 1e-7 | c == -12.5e2",
	    " | a>100088800000000000000000000000000000000000000000000000000000000000000000000000"
	    " | b<0.0000001 | c==-1250" },
	{ "| a > 1e3 | b < -0.25 | c >= 90s | d == 1.5ms | e != 1d | f < 250us | g > 3h0m0.1s",
	    " | a>1000 | b<-0.25 | c>=1m30s | d==1.5ms | e!=24h0m0s | "
	    "f<250\xc2\xb5s | g>3h0m0.1s" },
	{ "| line_format \"{{.a}}\" | label_format a=b,c=\"{{.d}}\"",
	    " | line_format \"{{.a}}\" | label_format a=b,c=\"{{.d}}\"" },
	{ "| drop a, b=\"c\" | keep d=~\"e\"",
	    " | drop a,b=\"c\" | keep d=~\"e\"" },
	{ "|= ip(\"1.2.3.4\") != ip(`::/0`) | a=ip(\"10.0.0.0/8\") | b != ip(\"1.1.1.1-1.1.1.9\")",
	    " |= ip(\"1.2.3.4\") != ip(\"::/0\") | a=ip(\"10.0.0.0/8\") | "
	    "b!=ip(\"1.1.1.1-1.1.1.9\")" },
	{ "| unwrap duration_seconds(x) | __error__=\"\"",
	    " | unwrap duration_seconds(x) | __error__=\"\"" },
	{ "", "" },
};

static void
test_format(void **state)
{
	struct buf a, b;
	size_t i;

	(void)state;
	buf_init(&a, 0);
	buf_init(&b, 0);
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct logql_pipeline *p, *back;
		size_t pos = 0;

		if (logql_pipeline_parse(formats[i][0], strlen(formats[i][0]),
		    &pos, &p) != 0)
			fail_msg("%s: %s", formats[i][0], err_detail());
		buf_reset(&a);
		assert_int_equal(logql_pipeline_format(p, &a), 0);
		if (strcmp(a.data, formats[i][1]) != 0)
			fail_msg("%s: '%s'", formats[i][0], a.data);
		pos = 0;
		assert_int_equal(logql_pipeline_parse(a.data, a.len, &pos,
		    &back), 0);
		buf_reset(&b);
		assert_int_equal(logql_pipeline_format(back, &b), 0);
		assert_string_equal(a.data, b.data);
		logql_pipeline_free(p);
		logql_pipeline_free(back);
	}
	buf_release(&a);
	buf_release(&b);
}

static void
test_needles(void **state)
{
	static const char q[] = "|= \"a\" |~ \"b\" |~ \"c.\" |= \"d\" or \"e\" "
	    "| json |= \"f\" | line_format \"x\" |= \"g\"";
	struct logql_pipeline *p;
	const char *const *nd;
	size_t pos = 0, n;

	(void)state;
	assert_int_equal(logql_pipeline_parse(q, strlen(q), &pos, &p), 0);
	logql_pipeline_needles(p, &nd, &n);
	assert_int_equal(n, 3);
	assert_string_equal(nd[0], "a");
	assert_string_equal(nd[1], "b");
	assert_string_equal(nd[2], "f");
	assert_int_equal(logql_pipeline_unwraps(p), 0);
	logql_pipeline_free(p);
}

/* Lines that give the same labels share one set; filters alone give the stream's. */
static void
test_label_cache(void **state)
{
	static const char q[] = "| logfmt";
	struct logql_pipeline *p, *f;
	struct logql_run *r, *rf;
	struct logql_out o1, o2;
	struct labels *ls = mk_labels("app=a");
	size_t pos = 0;

	(void)state;
	assert_int_equal(logql_pipeline_parse(q, strlen(q), &pos, &p), 0);
	r = logql_run_new(p);
	assert_int_equal(logql_run_line(r, ls, "x=1", 3, 0, &o1), 1);
	assert_int_equal(logql_run_line(r, ls, "x=2", 3, 0, &o2), 1);
	assert_int_equal(logql_run_line(r, ls, "x=1", 3, 0, &o2), 1);
	assert_ptr_equal(o1.ls, o2.ls);
	assert_int_equal(logql_run_line(r, ls, "nothing", 7, 0, &o2), 1);
	pos = 0;
	assert_int_equal(logql_pipeline_parse("|= \"a\"", 6, &pos, &f), 0);
	rf = logql_run_new(f);
	assert_int_equal(logql_run_line(rf, ls, "a", 1, 0, &o1), 1);
	assert_ptr_equal(o1.ls, ls);
	logql_run_free(rf);
	logql_pipeline_free(f);
	logql_run_free(r);
	logql_pipeline_free(p);
	labels_free(ls);
}

/* logql_run_want(): the caller's labels only, parsers skip the rest. */
static void
test_want(void **state)
{
	static const struct {
		const char	*pipe;
		const char	*line;
		const char	*names[2];
		size_t		 n;
		int		 without;
		const char	*line_out;
		const char	*labels_out;
	} w[] = {
		{ "| logfmt", "status=200 method=GET", { "status" }, 1, 0, NULL,
		    "status=200" },
		{ "| logfmt | method=\"GET\"", "status=200 method=GET",
		    { "status" }, 1, 0, NULL, "status=200" },
		{ "| logfmt | line_format `{{.method}}`", "status=200 method=GET",
		    { NULL }, 0, 0, "GET", "" },
		{ "| json", "nope", { "app" }, 1, 0, NULL,
		    "__error__=JSONParserErr,__error_details__=*,app=a" },
		{ "| logfmt | unwrap took", "took=5 x=1", { "x" }, 1, 0, NULL,
		    "x=1" },
		{ "|= \"s\"", "status=200", { "app" }, 1, 1, NULL, "env=p" },
		{ "| logfmt | label_format m=method", "method=GET z=1",
		    { "m", "z" }, 2, 0, NULL, "m=GET,z=1" },
	};
	struct labels *ls = mk_labels("app=a,env=p");
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		struct logql_pipeline *p;
		struct logql_run *r;
		struct logql_out o, o2;
		size_t pos = 0;

		assert_int_equal(logql_pipeline_parse(w[i].pipe,
		    strlen(w[i].pipe), &pos, &p), 0);
		r = logql_run_new(p);
		assert_int_equal(logql_run_want(r, w[i].names, w[i].n,
		    w[i].without), 0);
		assert_int_equal(logql_run_line(r, ls, w[i].line,
		    strlen(w[i].line), 0, &o), 1);
		show(o.ls, &b);
		if (!labels_like(w[i].labels_out, b.data))
			fail_msg("%s: labels %s", w[i].pipe, b.data);
		if (w[i].line_out != NULL && (o.len != strlen(w[i].line_out) ||
		    memcmp(o.line, w[i].line_out, o.len) != 0))
			fail_msg("%s: line %.*s", w[i].pipe, (int)o.len, o.line);
		/* the same line again: the same set */
		assert_int_equal(logql_run_line(r, ls, w[i].line,
		    strlen(w[i].line), 0, &o2), 1);
		assert_ptr_equal(o.ls, o2.ls);
		logql_run_free(r);
		logql_pipeline_free(p);
	}
	buf_release(&b);
	labels_free(ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_table),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stops),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_needles),
		cmocka_unit_test(test_label_cache),
		cmocka_unit_test(test_want),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
