/*
 * expfmt_check.c - parse an exposition and count it, for
 * tests/integration/expfmt_node.sh.
 *
 * usage: expfmt_check text|openmetrics|CONTENT-TYPE FILE
 *
 * Prints "samples N families N metas N exemplars N" and exits 0, or
 * prints the parser's message and exits 1; 2 for a usage error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/expfmt.h"
#include "util/buf.h"
#include "util/error.h"

int
main(int argc, char **argv)
{
	enum expfmt_format fmt;
	struct expfmt_stats st;
	struct buf b;
	char chunk[65536];
	size_t n;
	FILE *f;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: expfmt_check text|openmetrics|CONTENT-TYPE "
		    "FILE\n");
		return 2;
	}
	if (strcmp(argv[1], "text") == 0)
		fmt = EXPFMT_TEXT_004;
	else if (strcmp(argv[1], "openmetrics") == 0)
		fmt = EXPFMT_OPENMETRICS;
	else if ((rc = expfmt_format_for(argv[1], &fmt)) != 0) {
		fprintf(stderr, "expfmt_check: %s\n", err_message(rc));
		return 1;
	}
	if ((f = fopen(argv[2], "rb")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	rc = expfmt_parse(b.data != NULL ? b.data : "", b.len, fmt, NULL, &st);
	buf_release(&b);
	if (rc != 0) {
		fprintf(stderr, "expfmt_check: %s: %s\n", argv[2], err_message(rc));
		return 1;
	}
	printf("samples %zu families %zu metas %zu exemplars %zu\n", st.samples,
	    st.families, st.metas, st.exemplars);
	return 0;
}
