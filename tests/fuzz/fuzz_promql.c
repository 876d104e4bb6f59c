/*
 * fuzz_promql.c - libFuzzer harness for the PromQL parser and printer
 * (promql.h).
 *
 * The input is a query. What parses is printed; the print must parse
 * again, to a tree that prints the same bytes, of the same type. An
 * error must leave a message that reads as Prometheus's ("L:C: parse
 * error: ...") and no tree.
 *
 * One exception, Prometheus's own: it prints +Inf with its sign, so
 * "Inf ^ 2" prints "+Inf ^ 2", which reads back as +(Inf ^ 2), the same
 * value printed "++Inf ^ 2". format_query answers as Prometheus does;
 * a print holding "Inf ^" need only parse again.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/promql.h"
#include "util/buf.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promql_node *e, *back;
	struct buf a, b;
	char *p;

	/* a copy of exactly the input, so a read past it is caught */
	p = malloc(size ? size : 1);
	memcpy(p, data, size);
	if (promql_parse(p, size, &e) != 0) {
		if (e != NULL || (strstr(err_detail(), "parse error: ") == NULL &&
		    strstr(err_detail(), "longer than") == NULL))
			abort();
		free(p);
		return 0;
	}
	buf_init(&a, 0);
	buf_init(&b, 0);
	if (promql_format(e, &a) != 0 ||
	    promql_parse(a.data ? a.data : "", a.len, &back) != 0 ||
	    promql_format(back, &b) != 0 ||
	    promql_type_of(e) != promql_type_of(back))
		abort();
	if ((a.len != b.len || memcmp(a.data, b.data, a.len) != 0) &&
	    strstr(a.data, "Inf ^") == NULL)
		abort();
	/* the prettified form reads back to the same tree too */
	buf_reset(&b);
	promql_free(back);
	if (promql_format_pretty(e, &b) != 0 ||
	    promql_parse(b.data ? b.data : "", b.len, &back) != 0)
		abort();
	buf_reset(&b);
	if (promql_format(back, &b) != 0 || ((a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0) && strstr(a.data, "Inf ^") ==
	    NULL))
		abort();
	promql_free(back);
	promql_free(e);
	buf_release(&a);
	buf_release(&b);
	free(p);
	return 0;
}
