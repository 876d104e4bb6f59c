/*
 * fuzz_labels.c - libFuzzer harness for the parsers of labels.h and
 * matcher.h.
 *
 * The first byte picks what reads the rest: 0 the canonical decoder
 * (labels_decode), 1 the file-name form (labels_parse_file_name), 2 the
 * selector parser (selector_parse). What parses is written out again
 * and must read back equal: a set's encoding and file name byte for
 * byte (each has one spelling), a selector to an equal selector. A
 * parsed selector is also matched against the set the input's own =
 * matchers describe.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/matcher.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_set(const struct labels *ls)
{
	struct labels *back = NULL;
	struct buf b;

	buf_init(&b, 0);
	if (labels_encode(ls, &b) != 0 || labels_decode(b.data, b.len, NULL,
	    &back) != 0 || !labels_equal(ls, back) ||
	    labels_compare(ls, back) != 0 || labels_hash(ls) != labels_hash(back))
		abort();
	labels_free(back);
	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *l = labels_at(ls, i);

		if (labels_get(ls, l->name) != l->value)
			abort();
	}
	buf_release(&b);
}

static void
decoder(const char *p, size_t n)
{
	struct labels *ls;
	size_t used;
	const void *enc;
	size_t len;

	if (labels_decode(p, n, &used, &ls) != 0)
		return;
	enc = labels_encoding(ls, &len);
	if (len != used || memcmp(enc, p, len) != 0)
		abort();
	check_set(ls);
	labels_free(ls);
}

static void
file_name(const char *p, size_t n)
{
	struct labels *ls, *back;
	struct buf b;

	if (labels_parse_file_name(NULL, p, n, LABELS_RESERVED, &ls) != 0)
		return;
	buf_init(&b, 0);
	if (labels_file_name(ls, &b) != 0 || b.len != n ||
	    memcmp(b.data, p, n) != 0)
		abort();
	if (labels_parse_file_name("m", b.data, b.len, LABELS_RESERVED,
	    &back) != 0 || labels_count(back) != labels_count(ls) + 1 ||
	    strcmp(labels_metric(back), "m") != 0)
		abort();
	check_set(ls);
	labels_free(back);
	labels_free(ls);
	buf_release(&b);
}

static void
selector(const char *p, size_t n)
{
	struct selector *s, *back;
	struct labels *ls = NULL;
	struct label *pairs;
	struct buf b, again;
	size_t k = 0;

	if (selector_parse(p, n, &s) != 0)
		return;
	buf_init(&b, 0);
	buf_init(&again, 0);
	if (selector_format(s, &b) != 0 || selector_parse(b.data, b.len,
	    &back) != 0 || !selector_equal(s, back) ||
	    selector_format(back, &again) != 0 || again.len != b.len ||
	    memcmp(again.data, b.data, b.len) != 0)
		abort();

	pairs = calloc(selector_count(s) + 1, sizeof(*pairs));
	for (size_t i = 0; i < selector_count(s); i++) {
		const struct matcher *m = selector_at(s, i);

		if (matcher_op(m) != MATCHER_EQ)
			continue;
		pairs[k].name = matcher_name(m);
		pairs[k].name_len = strlen(pairs[k].name);
		pairs[k].value = matcher_value(m, &pairs[k].value_len);
		k++;
	}
	if (labels_new(pairs, k, LABELS_RESERVED, &ls) == 0) {
		(void)selector_matches(s, ls);
		labels_free(ls);
	}
	free(pairs);
	selector_free(back);
	selector_free(s);
	buf_release(&again);
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p;

	if (size == 0)
		return 0;
	/* a copy of exactly the rest, so a read past it is caught */
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		decoder(p, size - 1);
		break;
	case 1:
		file_name(p, size - 1);
		break;
	default:
		selector(p, size - 1);
		break;
	}
	free(p);
	return 0;
}
