/*
 * fuzz_expfmt.c - libFuzzer harness for the exposition formats' parser
 * (expfmt_parse). The first byte picks the format (even: text 0.0.4,
 * odd: OpenMetrics); the rest is the exposition, in a buffer of exactly
 * its size.
 *
 * Beyond not crashing, what is checked: the result is 0 or -EINVAL, and
 * -EINVAL comes with a detail "line N, column M: ..." whose line is one
 * the input has; every string handed to a callback is NUL-terminated at
 * its length; a metric and label name matches its syntax; a label name
 * is not repeated in a sample; a sample's name starts with its family's;
 * the counts in the stats are those of the callbacks; with no callbacks
 * the result is the same; a success in OpenMetrics means the input ends
 * in "# EOF" or "# EOF\n".
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/expfmt.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t	 samples;
	size_t	 metas;
	size_t	 exemplars;
	size_t	 lines;		/* of the input */
};

static void
check_str(const char *s, size_t n)
{
	if (s == NULL || s[n] != '\0')
		abort();
}

static void
check_name(const char *s, size_t n, int metric)
{
	check_str(s, n);
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || (metric && c == ':')))
			abort();
	}
}

static void
check_labels(const struct expfmt_label *v, size_t n)
{
	if (n > EXPFMT_LABELS_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		check_name(v[i].name, v[i].name_len, 0);
		check_str(v[i].value, v[i].value_len);
		for (size_t j = 0; j < i; j++)
			if (v[j].name_len == v[i].name_len &&
			    memcmp(v[j].name, v[i].name, v[i].name_len) == 0)
				abort();
	}
}

static int
on_meta(void *arg, const struct expfmt_meta *m)
{
	struct seen *s = arg;

	check_name(m->family, m->family_len, 1);
	check_str(m->text, m->text_len);
	if (m->line == 0 || m->line > s->lines)
		abort();
	s->metas++;
	return 0;
}

static int
on_sample(void *arg, const struct expfmt_sample *x)
{
	struct seen *s = arg;

	check_name(x->name, x->name_len, 1);
	check_name(x->family, x->family_len, 1);
	if (x->family_len > x->name_len ||
	    memcmp(x->name, x->family, x->family_len) != 0)
		abort();
	check_labels(x->labels, x->nlabels);
	if (x->exemplar != NULL) {
		check_labels(x->exemplar->labels, x->exemplar->nlabels);
		s->exemplars++;
	}
	if (x->line == 0 || x->line > s->lines)
		abort();
	s->samples++;
	return 0;
}

static void
one(const char *p, size_t n, enum expfmt_format fmt)
{
	struct expfmt_handler h = { on_meta, on_sample, NULL };
	struct expfmt_stats st, st2;
	struct seen s;
	size_t line;
	int rc, rc2;

	memset(&s, 0, sizeof(s));
	s.lines = 1;
	for (size_t i = 0; i < n; i++)
		s.lines += p[i] == '\n';
	h.arg = &s;
	err_clear();
	rc = expfmt_parse(p, n, fmt, &h, &st);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc == -EINVAL) {
		if (sscanf(err_detail(), "line %zu, column", &line) != 1 ||
		    line == 0 || line > s.lines + 1)
			abort();
	}
	if (st.samples != s.samples || st.metas != s.metas ||
	    st.exemplars != s.exemplars || st.lines > s.lines)
		abort();
	if (rc == 0 && fmt == EXPFMT_OPENMETRICS && !(n >= 5 &&
	    (memcmp(p + n - 5, "# EOF", 5) == 0 ||
	    (n >= 6 && memcmp(p + n - 6, "# EOF\n", 6) == 0))))
		abort();
	rc2 = expfmt_parse(p, n, fmt, NULL, &st2);
	if (rc2 != rc || st2.samples != st.samples || st2.families != st.families)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum expfmt_format fmt;
	char *copy;

	if (size == 0)
		return 0;
	fmt = data[0] & 1 ? EXPFMT_OPENMETRICS : EXPFMT_TEXT_004;
	copy = malloc(size - 1 > 0 ? size - 1 : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data + 1, size - 1);
	one(copy, size - 1, fmt);
	free(copy);
	return 0;
}
