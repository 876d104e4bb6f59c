/*
 * fuzz_logql_pipe.c - libFuzzer harness for LogQL's pipeline
 * (logql.h): the parser, the printer and the stages run over lines.
 *
 * The input is a pipeline. What parses is printed, and the print must
 * parse again to a pipeline that prints the same bytes; then it runs
 * over a few fixed lines (JSON, logfmt, an access log line, colours,
 * bytes that are not UTF-8) of a stream with labels, twice each so the
 * label cache is used, and whatever it keeps must have a line and a set
 * of labels; then once more keeping only two labels, as a grouped
 * range aggregation asks. An error must read as Loki's ("parse error at line L, col
 * C: ...") and leave no pipeline.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "query/logql.h"
#include "query/logql_pipe_int.h"
#include "util/buf.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a line with a NUL inside: its length is the array's, not strlen's */
static const char nul_line[] = "bad \xff\xfe utf8 \xc3 and a NUL \0 inside";
static const char *const lines[] = {
	"{\"level\":\"error\",\"status\":500,\"req\":{\"path\":\"/a b\","
	    "\"ms\":1.25},\"arr\":[1,{\"x\":2}],\"_entry\":\"inner\"}",
	"level=info status=200 took=15ms size=2KiB msg=\"a \\\"quoted\\\" one\"",
	"10.0.0.1 - - [10/Jun/2021:09:14:29 +0000] \"GET /x HTTP/1.1\" 404 12",
	"\x1b[31mred\x1b[0m and \x1b]0;title\a plain",
	nul_line,
	"",
};
static const size_t lens[] = { 0, 0, 0, 0, sizeof(nul_line) - 1, 0 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logql_pipeline *p, *back;
	struct logql_run *r;
	struct labels *ls;
	struct label l[2];
	struct buf a, b;
	size_t pos = 0, i;
	char *q;
	int k;

	q = malloc(size ? size : 1);
	memcpy(q, data, size);
	if (logql_pipeline_parse(q, size, &pos, &p) != 0) {
		if (p != NULL || (strncmp(err_detail(), "parse error at line ",
		    20) != 0 && strstr(err_detail(), "longer than") == NULL))
			abort();
		free(q);
		return 0;
	}
	if (pos > size)
		abort();
	buf_init(&a, 0);
	buf_init(&b, 0);
	if (logql_pipeline_format(p, &a) != 0)
		abort();
	pos = 0;
	if (logql_pipeline_parse(a.data, a.len, &pos, &back) != 0 ||
	    pos != a.len || logql_pipeline_format(back, &b) != 0 ||
	    a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
		fprintf(stderr, "printed\n\t%.*s\nread back at %zu: %s\n\t%.*s\n",
		    (int)a.len, a.data, pos, err_detail(), (int)b.len,
		    b.data != NULL ? b.data : "");
		abort();
	}
	logql_pipeline_free(back);

	l[0] = label_str("app", "api");
	l[1] = label_str("level", "warn");
	if (labels_new(l, 2, 0, &ls) != 0)
		abort();
	r = logql_run_new(p);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t n = lens[i] ? lens[i] : strlen(lines[i]);

		for (k = 0; k < 2; k++) {
			struct logql_out out;
			int rc;

			rc = logql_run_line(r, ls, lines[i], n,
			    1623316469000000000LL, &out);
			if (rc == 1 && (out.ls == NULL || (out.line == NULL &&
			    out.len > 0)))
				abort();
		}
	}
	logql_run_free(r);

	/* and as a range aggregation grouped by a label runs it */
	{
		static const char *const by[] = { "level", "status" };

		r = logql_run_new(p);
		if (logql_run_want(r, by, 2, size % 2) != 0)
			abort();
		for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			struct logql_out out;
			size_t n = lens[i] ? lens[i] : strlen(lines[i]);

			if (logql_run_line(r, ls, lines[i], n, 0, &out) == 1 &&
			    out.ls == NULL)
				abort();
		}
		logql_run_free(r);
	}
	labels_free(ls);
	logql_pipeline_free(p);
	buf_release(&a);
	buf_release(&b);
	free(q);
	return 0;
}
