/*
 * test_relabel.c - relabelling rules (relabel.h), with cases taken from
 * Prometheus's model/relabel tests: replace with groups and several
 * sources, an empty result deleting the target, a target that expands
 * to no label name, keep and drop (anchored regexes), hashmod's value,
 * labelmap, labeldrop and labelkeep, lowercase and uppercase, keepequal
 * and dropequal, Go's template rules ($1x, ${1}x, $$, a named group),
 * and the rules a config is checked against; and the set itself
 * (sorted, empty values delete, building with and without "__" names).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "scrape/relabel.h"
#include "util/buf.h"
#include "util/error.h"

/* A set from "name", "value", ... pairs, NULL-terminated. */
static void
set_of(struct relabel_labels *rl, ...)
{
	const char *k, *v;
	va_list ap;

	relabel_labels_init(rl);
	va_start(ap, rl);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		relabel_labels_set(rl, k, strlen(k), v, strlen(v));
	}
	va_end(ap);
}

/* "a=1,b=2": the set in order, for comparing. */
static const char *
show(const struct relabel_labels *rl)
{
	static char out[1024];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < rl->n; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s=%s",
		    i ? "," : "", rl->v[i].name, rl->v[i].value);
	return out;
}

static struct relabel *
rule(enum relabel_action a, const char *src, const char *regex,
    const char *target, const char *repl, uint64_t mod)
{
	const char *srcs[8];
	char copy[256], *p, *save = NULL;
	struct relabel_config c;
	struct relabel *r;
	size_t n = 0;

	memset(&c, 0, sizeof(c));
	if (src != NULL) {
		snprintf(copy, sizeof(copy), "%s", src);
		for (p = strtok_r(copy, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save))
			srcs[n++] = p;
	}
	c.action = a;
	c.source_labels = srcs;
	c.nsource = n;
	c.regex = regex;
	c.target_label = target;
	c.replacement = repl;
	c.modulus = mod;
	if (relabel_new(&c, &r) != 0)
		fail_msg("relabel_new: %s", err_detail());
	return r;
}

/* Run one rule: the result, or "DROPPED". */
static const char *
run1(struct relabel *r, struct relabel_labels *rl)
{
	int rc = relabel_process(&r, 1, rl);

	relabel_free(r);
	assert_true(rc >= 0);
	return rc == 0 ? "DROPPED" : show(rl);
}

static void
test_replace(void **state)
{
	struct relabel_labels rl;

	(void)state;
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a", "f(.*)", "d",
	    "ch${1}-ch${1}", 0), &rl), "a=foo,d=choo-choo");
	relabel_labels_release(&rl);

	set_of(&rl, "a", "foo", "b", "bar", "c", "baz", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a,b", "f(.*);(.*)r",
	    "a", "b${1}${2}m", 0), &rl), "a=boobam,b=bar,c=baz");
	relabel_labels_release(&rl);

	/* no match: nothing changes; the regex is anchored */
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a", "o", "d", "x", 0),
	    &rl), "a=foo");
	relabel_labels_release(&rl);

	/* the defaults: regex (.*), replacement $1 */
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a", NULL, "b", NULL, 0),
	    &rl), "a=foo,b=foo");
	relabel_labels_release(&rl);

	/* an empty result deletes the target */
	set_of(&rl, "a", "foo", "b", "x", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "c", NULL, "b", NULL, 0),
	    &rl), "a=foo");
	relabel_labels_release(&rl);

	/* a target from groups; one that is no label name changes nothing */
	set_of(&rl, "a", "some-name-value", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a",
	    "some-([^-]+)-([^,]+)", "${1}", "${2}", 0), &rl),
	    "a=some-name-value,name=value");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "some-1-value", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a",
	    "some-([^-]+)-([^,]+)", "${1}", "${2}", 0), &rl),
	    "a=some-1-value");
	relabel_labels_release(&rl);

	/* Go's templates: $1x is group "1x" (none), ${1}x is not; $$ */
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a", "(f)(o+)", "b",
	    "$1x|${1}x|$$|$2|${3}|$", 0), &rl), "a=foo,b=|fx|$|oo||$");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_REPLACE, "a", "(?P<first>f)(.*)",
	    "b", "$first-${first}", 0), &rl), "a=foo,b=f-f");
	relabel_labels_release(&rl);
}

static void
test_keep_drop(void **state)
{
	struct relabel_labels rl;

	(void)state;
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_DROP, "a", ".*o.*", NULL, NULL,
	    0), &rl), "DROPPED");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_DROP, "a", "o", NULL, NULL, 0),
	    &rl), "a=foo");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_KEEP, "a", "no-match", NULL,
	    NULL, 0), &rl), "DROPPED");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_KEEP, "a", "f.*", NULL, NULL, 0),
	    &rl), "a=foo");
	relabel_labels_release(&rl);
	/* a missing label is "": keep "" keeps the set */
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_KEEP, "z", "", NULL, NULL, 0),
	    &rl), "a=foo");
	relabel_labels_release(&rl);
	/* keepequal, dropequal */
	set_of(&rl, "a", "foo", "b", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_KEEPEQUAL, "a", NULL, "b", NULL,
	    0), &rl), "a=foo,b=foo");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", "b", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_DROPEQUAL, "a", NULL, "b", NULL,
	    0), &rl), "DROPPED");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", "b", "bar", NULL);
	assert_string_equal(run1(rule(RELABEL_KEEPEQUAL, "a", NULL, "b", NULL,
	    0), &rl), "DROPPED");
	relabel_labels_release(&rl);
}

static void
test_hashmod_case(void **state)
{
	struct relabel_labels rl;

	(void)state;
	/* Prometheus's test: md5("baz") % 1000 = 976 */
	set_of(&rl, "a", "foo", "b", "bar", "c", "baz", NULL);
	assert_string_equal(run1(rule(RELABEL_HASHMOD, "c", NULL, "d", NULL,
	    1000), &rl), "a=foo,b=bar,c=baz,d=976");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "FoO-bär", NULL);
	assert_string_equal(run1(rule(RELABEL_LOWERCASE, "a", NULL, "b", NULL,
	    0), &rl), "a=FoO-bär,b=foo-bär");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_UPPERCASE, "a", NULL, "a", NULL,
	    0), &rl), "a=FOO");
	relabel_labels_release(&rl);
}

static void
test_label_actions(void **state)
{
	struct relabel_labels rl;

	(void)state;
	set_of(&rl, "a", "foo", "b1", "bar", "b2", "baz", NULL);
	assert_string_equal(run1(rule(RELABEL_LABELMAP, NULL, "(b.*)", NULL,
	    "bar_${1}", 0), &rl), "a=foo,b1=bar,b2=baz,bar_b1=bar,bar_b2=baz");
	relabel_labels_release(&rl);
	/* the usual: __meta_x_NAME to NAME */
	set_of(&rl, "__meta_x_zone", "z1", "a", "foo", NULL);
	assert_string_equal(run1(rule(RELABEL_LABELMAP, NULL, "__meta_x_(.+)",
	    NULL, NULL, 0), &rl), "__meta_x_zone=z1,a=foo,zone=z1");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", "b1", "bar", "b2", "baz", NULL);
	assert_string_equal(run1(rule(RELABEL_LABELDROP, NULL, "b.*", NULL,
	    NULL, 0), &rl), "a=foo");
	relabel_labels_release(&rl);
	set_of(&rl, "a", "foo", "b1", "bar", "b2", "baz", NULL);
	assert_string_equal(run1(rule(RELABEL_LABELKEEP, NULL, "b.*", NULL,
	    NULL, 0), &rl), "b1=bar,b2=baz");
	relabel_labels_release(&rl);
}

static void
test_chain(void **state)
{
	struct relabel_labels rl;
	struct relabel *r[3];
	struct labels *ls;

	(void)state;
	set_of(&rl, "__address__", "h:9100", "__meta_dc", "eu", "job", "n",
	    NULL);
	r[0] = rule(RELABEL_REPLACE, "__meta_dc", NULL, "dc", NULL, 0);
	r[1] = rule(RELABEL_REPLACE, "__address__", "([^:]+):.*", "host",
	    NULL, 0);
	r[2] = rule(RELABEL_KEEP, "dc", "eu|us", NULL, NULL, 0);
	assert_int_equal(relabel_process(r, 3, &rl), 1);
	assert_string_equal(show(&rl),
	    "__address__=h:9100,__meta_dc=eu,dc=eu,host=h,job=n");
	assert_int_equal(relabel_labels_build(&rl, 0, &ls), 0);
	assert_int_equal(labels_count(ls), 3);
	assert_null(labels_get(ls, "__address__"));
	labels_free(ls);
	assert_int_equal(relabel_labels_build(&rl, 1, &ls), 0);
	assert_int_equal(labels_count(ls), 5);
	labels_free(ls);
	relabel_free(r[0]);
	relabel_free(r[1]);
	relabel_free(r[2]);
	relabel_labels_release(&rl);
}

/* A rule that relabel_new() refuses, with a word of its reason. */
static void
refused(enum relabel_action a, const char *src, const char *regex,
    const char *target, const char *repl, uint64_t mod, const char *why)
{
	const char *srcs[1] = { src };
	struct relabel_config c;
	struct relabel *r;

	memset(&c, 0, sizeof(c));
	c.action = a;
	c.source_labels = srcs;
	c.nsource = src ? 1 : 0;
	c.regex = regex;
	c.target_label = target;
	c.replacement = repl;
	c.modulus = mod;
	assert_int_equal(relabel_new(&c, &r), -EINVAL);
	if (strstr(err_detail(), why) == NULL)
		fail_msg("detail '%s' lacks '%s'", err_detail(), why);
}

static void
test_checks(void **state)
{
	enum relabel_action a;

	(void)state;
	refused(RELABEL_HASHMOD, "a", NULL, "b", NULL, 0, "non-zero modulus");
	refused(RELABEL_REPLACE, "a", NULL, NULL, NULL, 0, "requires 'target_label'");
	refused(RELABEL_REPLACE, "a", NULL, "1bad", NULL, 0, "invalid 'target_label'");
	refused(RELABEL_REPLACE, "a", NULL, "a$", NULL, 0, "invalid 'target_label'");
	refused(RELABEL_LABELDROP, "a", "x", NULL, NULL, 0, "requires only 'regex'");
	refused(RELABEL_LABELMAP, NULL, "(.*)", NULL, "bad-name", 0,
	    "invalid 'replacement'");
	refused(RELABEL_KEEPEQUAL, "a", "x", "b", NULL, 0, "no other fields");
	refused(RELABEL_KEEP, "a", "a(?=b)", NULL, NULL, 0, "are supported after (?");
	refused(RELABEL_KEEP, "a", "(unclosed", NULL, NULL, 0, "regex");
	refused(RELABEL_KEEP, "bad-name", NULL, NULL, NULL, 0, "source_labels");
	assert_int_equal(relabel_action_parse("LabelMap", 8, &a), 0);
	assert_int_equal(a, RELABEL_LABELMAP);
	assert_int_equal(relabel_action_parse("nope", 4, &a), -EINVAL);
	assert_string_equal(relabel_action_name(RELABEL_HASHMOD), "hashmod");
}

static void
test_set(void **state)
{
	struct relabel_labels rl;
	size_t len;

	(void)state;
	set_of(&rl, "b", "2", "a", "1", "c", "3", NULL);
	assert_string_equal(show(&rl), "a=1,b=2,c=3");
	relabel_labels_set(&rl, "b", 1, "", 0);
	assert_string_equal(show(&rl), "a=1,c=3");
	relabel_labels_set(&rl, "a", 1, "x", 1);
	assert_string_equal(relabel_labels_get(&rl, "a", 1, &len), "x");
	assert_int_equal(len, 1);
	assert_null(relabel_labels_get(&rl, "b", 1, NULL));
	relabel_labels_reset(&rl);
	assert_int_equal(rl.n, 0);
	relabel_labels_release(&rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_keep_drop),
		cmocka_unit_test(test_hashmod_case),
		cmocka_unit_test(test_label_actions),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
