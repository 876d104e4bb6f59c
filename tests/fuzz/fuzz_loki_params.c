/*
 * fuzz_loki_params.c - libFuzzer harness for the parameters of Loki's
 * query API as http_loki.c reads them: a time (http_loki_time), a step
 * or interval (http_loki_duration) and the stream selectors found in
 * LogQL text (http_loki_selectors).
 *
 * The input is the parameter's text (cut at a NUL, as a decoded query
 * parameter is). Beyond not crashing, what is checked: a time refused
 * has a message and one taken has none; ten digits or fewer with no '.'
 * are whole seconds; every selector found matches or not the empty
 * label set without an error; there are no more selectors than '{'.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct selector **sel;
	struct labels *empty;
	struct buf msg;
	size_t n, braces = 0, len;
	int64_t ns;
	char *s;

	s = xstrndup((const char *)data, size);
	len = strlen(s);
	buf_init(&msg, 0);
	if (http_loki_time(s, 0, &ns, &msg) == 0) {
		if (msg.len != 0)
			abort();
		if (len > 0 && len <= 10 && strspn(s, "0123456789") == len &&
		    ns % 1000000000 != 0)
			abort();
	} else if (msg.len == 0)
		abort();
	buf_reset(&msg);
	if (http_loki_duration(s, &ns, &msg) != 0 && msg.len == 0)
		abort();
	buf_release(&msg);
	for (size_t i = 0; i < len; i++)
		braces += s[i] == '{';
	if (http_loki_selectors(s, &sel, &n) == 0) {
		if (n > braces || labels_new(NULL, 0, 0, &empty) != 0)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (selector_matches(sel[i], empty) < 0)
				abort();
			selector_free(sel[i]);
		}
		labels_free(empty);
		free(sel);
	}
	free(s);
	return 0;
}
