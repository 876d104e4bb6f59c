/*
 * test_promql_parse.c - the PromQL parser and printer (promql.h): a
 * table of queries with the text Prometheus 2.42's format_query gives
 * for them, and one of bad queries with its exact error (both checked
 * against a running Prometheus); what Prometheus 3 added (durations as
 * numbers, numbers as durations, quoted names); the trees themselves
 * (precedence and associativity, unary minus, the metric name as the
 * last matcher, modifiers, vector matching, aggregations, calls); the
 * prettified form; durations and numbers printed as Go prints them; the
 * limits; and that every print parses back to the same print.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/matcher.h"
#include "query/promql.h"
#include "util/buf.h"
#include "util/error.h"

/* checked against Prometheus 2.42's /api/v1/format_query */
static const struct { const char *q, *want; } formats[] = {
	{ "1",
	    "1" },
	{ "1.5",
	    "1.5" },
	{ ".5",
	    "0.5" },
	{ "5.",
	    "5" },
	{ "1e3",
	    "1000" },
	{ "1E-3",
	    "0.001" },
	{ "0x1F",
	    "31" },
	{ "0X1f",
	    "31" },
	{ "010",
	    "8" },
	{ "09",
	    "9" },
	{ "Inf",
	    "+Inf" },
	{ "-Inf",
	    "-Inf" },
	{ "+Inf",
	    "+Inf" },
	{ "NaN",
	    "NaN" },
	{ "nan",
	    "NaN" },
	{ "INF",
	    "+Inf" },
	{ "-1",
	    "-1" },
	{ "- -1",
	    "1" },
	{ "+1",
	    "1" },
	{ "\"foo\"",
	    "\"foo\"" },
	{ "'foo'",
	    "\"foo\"" },
	{ "`foo\\n`",
	    "\"foo\\\\n\"" },
	{ "\"a\\\"b\\\\c\"",
	    "\"a\\\"b\\\\c\"" },
	{ "\"\\u00e9\\x41\\101\\n\\t\"",
	    "\"éAA\\n\\t\"" },
	{ "'it\\'s'",
	    "\"it's\"" },
	{ "foo",
	    "foo" },
	{ "foo:bar",
	    "foo:bar" },
	{ ":foo",
	    ":foo" },
	{ "foo{}",
	    "foo" },
	{ "{a=~\".+\"}",
	    "{a=~\".+\"}" },
	{ "foo{a=\"b\"}",
	    "foo{a=\"b\"}" },
	{ "foo{a=\"b\",}",
	    "foo{a=\"b\"}" },
	{ "foo{b=\"c\",a=\"d\"}",
	    "foo{a=\"d\",b=\"c\"}" },
	{ "foo{a!=\"b\", c=~\"d\", e!~\"f\"}",
	    "foo{a!=\"b\",c=~\"d\",e!~\"f\"}" },
	{ "{__name__=\"foo\"}",
	    "{__name__=\"foo\"}" },
	{ "{__name__=\"foo\", a=\"b\"}",
	    "{__name__=\"foo\",a=\"b\"}" },
	{ "{__name__=~\"foo|bar\"}",
	    "{__name__=~\"foo|bar\"}" },
	{ "foo[5m]",
	    "foo[5m]" },
	{ "foo[1h30m]",
	    "foo[1h30m]" },
	{ "foo[90m]",
	    "foo[1h30m]" },
	{ "foo[1d]",
	    "foo[1d]" },
	{ "foo[7d]",
	    "foo[1w]" },
	{ "foo[14d]",
	    "foo[2w]" },
	{ "foo[365d]",
	    "foo[1y]" },
	{ "foo[1y]",
	    "foo[1y]" },
	{ "foo[1000ms]",
	    "foo[1s]" },
	{ "foo[1500ms]",
	    "foo[1s500ms]" },
	{ "foo[5m:]",
	    "foo[5m:]" },
	{ "foo[5m:1m]",
	    "foo[5m:1m]" },
	{ "rate(foo[5m])[30m:1m]",
	    "rate(foo[5m])[30m:1m]" },
	{ "foo offset 5m",
	    "foo offset 5m" },
	{ "foo offset -5m",
	    "foo offset -5m" },
	{ "foo[5m] offset 5m",
	    "foo[5m] offset 5m" },
	{ "foo @ 100",
	    "foo @ 100.000" },
	{ "foo @ 100.5",
	    "foo @ 100.500" },
	{ "foo @ -100",
	    "foo @ -100.000" },
	{ "foo @ 1.23456",
	    "foo @ 1.235" },
	{ "foo @ start()",
	    "foo @ start()" },
	{ "foo @ end()",
	    "foo @ end()" },
	{ "foo @ 100 offset 5m",
	    "foo @ 100.000 offset 5m" },
	{ "foo offset 5m @ 100",
	    "foo @ 100.000 offset 5m" },
	{ "foo[5m] @ 100 offset 1h",
	    "foo[5m] @ 100.000 offset 1h" },
	{ "foo @ start() [5m]",
	    "foo[5m] @ start()" },
	{ "foo[5m:1m] offset 2m @ 5",
	    "foo[5m:1m] @ 5.000 offset 2m" },
	{ "foo + bar",
	    "foo + bar" },
	{ "foo+bar*baz",
	    "foo + bar * baz" },
	{ "(foo + bar) * baz",
	    "(foo + bar) * baz" },
	{ "foo - bar - baz",
	    "foo - bar - baz" },
	{ "foo / bar / baz",
	    "foo / bar / baz" },
	{ "2 ^ 3 ^ 2",
	    "2 ^ 3 ^ 2" },
	{ "(2 ^ 3) ^ 2",
	    "(2 ^ 3) ^ 2" },
	{ "-2 ^ 2",
	    "-2 ^ 2" },
	{ "-(2) ^ 2",
	    "-(2) ^ 2" },
	{ "-foo",
	    "-foo" },
	{ "-foo ^ 2",
	    "-foo ^ 2" },
	{ "-foo offset 5m",
	    "-foo offset 5m" },
	{ "- - foo",
	    "--foo" },
	{ "+foo",
	    "+foo" },
	{ "1 + 2 * 3",
	    "1 + 2 * 3" },
	{ "1 + 2 > bool 3",
	    "1 + 2 > bool 3" },
	{ "1 < bool 2",
	    "1 < bool 2" },
	{ "foo > 1",
	    "foo > 1" },
	{ "foo == bool 1",
	    "foo == bool 1" },
	{ "foo and bar",
	    "foo and bar" },
	{ "foo or bar unless baz",
	    "foo or bar unless baz" },
	{ "foo and bar or baz",
	    "foo and bar or baz" },
	{ "foo or bar and baz",
	    "foo or bar and baz" },
	{ "foo unless on (a) bar",
	    "foo unless on (a) bar" },
	{ "foo + on (a) bar",
	    "foo + on (a) bar" },
	{ "foo + on () bar",
	    "foo + on () bar" },
	{ "foo + ignoring (a) bar",
	    "foo + ignoring (a) bar" },
	{ "foo + ignoring () bar",
	    "foo + bar" },
	{ "foo * on (a) group_left (b) bar",
	    "foo * on (a) group_left (b) bar" },
	{ "foo * on (a) group_left bar",
	    "foo * on (a) group_left () bar" },
	{ "foo * ignoring (a) group_right (b, c) bar",
	    "foo * ignoring (a) group_right (b, c) bar" },
	{ "foo atan2 bar",
	    "foo atan2 bar" },
	{ "foo % bar",
	    "foo % bar" },
	{ "foo != bar",
	    "foo != bar" },
	{ "foo >= bar <= baz",
	    "foo >= bar <= baz" },
	{ "sum(foo)",
	    "sum(foo)" },
	{ "sum by (a) (foo)",
	    "sum by (a) (foo)" },
	{ "sum by (a, b) (foo)",
	    "sum by (a, b) (foo)" },
	{ "sum by (a,) (foo)",
	    "sum by (a) (foo)" },
	{ "sum by () (foo)",
	    "sum(foo)" },
	{ "sum without (a) (foo)",
	    "sum without (a) (foo)" },
	{ "sum without () (foo)",
	    "sum without () (foo)" },
	{ "sum(foo) by (a)",
	    "sum by (a) (foo)" },
	{ "sum(foo) without (a)",
	    "sum without (a) (foo)" },
	{ "SUM(foo)",
	    "sum(foo)" },
	{ "Sum By (a) (foo)",
	    "sum by (a) (foo)" },
	{ "avg(foo)",
	    "avg(foo)" },
	{ "count(foo)",
	    "count(foo)" },
	{ "min(foo)",
	    "min(foo)" },
	{ "max(foo)",
	    "max(foo)" },
	{ "group(foo)",
	    "group(foo)" },
	{ "stddev(foo)",
	    "stddev(foo)" },
	{ "stdvar(foo)",
	    "stdvar(foo)" },
	{ "topk(5, foo)",
	    "topk(5, foo)" },
	{ "bottomk(5, foo)",
	    "bottomk(5, foo)" },
	{ "quantile(0.9, foo)",
	    "quantile(0.9, foo)" },
	{ "count_values(\"v\", foo)",
	    "count_values(\"v\", foo)" },
	{ "sum by (on, by, sum, bool) (x)",
	    "sum by (on, by, sum, bool) (x)" },
	{ "sum",
	    "sum" },
	{ "sum + 1",
	    "sum + 1" },
	{ "by",
	    "by" },
	{ "offset",
	    "offset" },
	{ "and",
	    "and" },
	{ "start",
	    "start" },
	{ "end",
	    "end" },
	{ "rate(foo[5m])",
	    "rate(foo[5m])" },
	{ "irate(foo[5m])",
	    "irate(foo[5m])" },
	{ "increase(foo[5m])",
	    "increase(foo[5m])" },
	{ "delta(foo[5m])",
	    "delta(foo[5m])" },
	{ "idelta(foo[5m])",
	    "idelta(foo[5m])" },
	{ "deriv(foo[5m])",
	    "deriv(foo[5m])" },
	{ "predict_linear(foo[5m], 3600)",
	    "predict_linear(foo[5m], 3600)" },
	{ "resets(foo[5m])",
	    "resets(foo[5m])" },
	{ "changes(foo[5m])",
	    "changes(foo[5m])" },
	{ "avg_over_time(foo[5m])",
	    "avg_over_time(foo[5m])" },
	{ "quantile_over_time(0.5, foo[5m])",
	    "quantile_over_time(0.5, foo[5m])" },
	{ "last_over_time(foo[5m])",
	    "last_over_time(foo[5m])" },
	{ "present_over_time(foo[5m])",
	    "present_over_time(foo[5m])" },
	{ "absent_over_time(foo[5m])",
	    "absent_over_time(foo[5m])" },
	{ "absent(foo)",
	    "absent(foo)" },
	{ "histogram_quantile(0.9, sum by (le) (rate(foo_bucket[5m])))",
	    "histogram_quantile(0.9, sum by (le) (rate(foo_bucket[5m])))" },
	{ "label_replace(foo, \"a\", \"$1\", \"b\", \"(.*)\")",
	    "label_replace(foo, \"a\", \"$1\", \"b\", \"(.*)\")" },
	{ "label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")",
	    "label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")" },
	{ "label_join(foo, \"a\", \",\")",
	    "label_join(foo, \"a\", \",\")" },
	{ "sort(foo)",
	    "sort(foo)" },
	{ "sort_desc(foo)",
	    "sort_desc(foo)" },
	{ "clamp(foo, 0, 1)",
	    "clamp(foo, 0, 1)" },
	{ "clamp_min(foo, 0)",
	    "clamp_min(foo, 0)" },
	{ "clamp_max(foo, 1)",
	    "clamp_max(foo, 1)" },
	{ "round(foo)",
	    "round(foo)" },
	{ "round(foo, 0.5)",
	    "round(foo, 0.5)" },
	{ "abs(foo)",
	    "abs(foo)" },
	{ "ceil(foo)",
	    "ceil(foo)" },
	{ "floor(foo)",
	    "floor(foo)" },
	{ "exp(foo)",
	    "exp(foo)" },
	{ "ln(foo)",
	    "ln(foo)" },
	{ "log2(foo)",
	    "log2(foo)" },
	{ "log10(foo)",
	    "log10(foo)" },
	{ "sqrt(foo)",
	    "sqrt(foo)" },
	{ "sgn(foo)",
	    "sgn(foo)" },
	{ "sin(foo) + cos(foo) + tan(foo)",
	    "sin(foo) + cos(foo) + tan(foo)" },
	{ "time()",
	    "time()" },
	{ "pi()",
	    "pi()" },
	{ "vector(1)",
	    "vector(1)" },
	{ "scalar(foo)",
	    "scalar(foo)" },
	{ "timestamp(foo)",
	    "timestamp(foo)" },
	{ "day_of_week()",
	    "day_of_week()" },
	{ "day_of_week(foo)",
	    "day_of_week(foo)" },
	{ "hour(foo)",
	    "hour(foo)" },
	{ "minute()",
	    "minute()" },
	{ "month()",
	    "month()" },
	{ "year()",
	    "year()" },
	{ "days_in_month()",
	    "days_in_month()" },
	{ "day_of_month()",
	    "day_of_month()" },
	{ "day_of_year()",
	    "day_of_year()" },
	{ "((foo))",
	    "((foo))" },
	{ "(((1 + 2)))",
	    "(((1 + 2)))" },
	{ "foo # trailing comment",
	    "foo" },
	{ "foo # a",
	    "foo" },
	{ "+ bar",
	    "+bar" },
	{ "foo",
	    "foo" },
	{ " + bar",
	    "+bar" },
	{ "foo == bar",
	    "foo == bar" },
	{ "max_over_time(deriv(rate(distance_covered_total[5s])[30s:5s])[10m:])",
	    "max_over_time(deriv(rate(distance_covered_total[5s])[30s:5s])[10m:])" },
	{ "up == 0",
	    "up == 0" },
	{ "up{job=\"prometheus\"} offset 1w",
	    "up{job=\"prometheus\"} offset 1w" },
	{ "(up)",
	    "(up)" },
	{ "-(up)",
	    "-(up)" },
	{ "foo @ -1",
	    "foo @ -1.000" },
	{ "foo @ +1",
	    "foo @ 1.000" },
	{ "foo @ 1e3",
	    "foo @ 1000.000" },
	{ "a + on(x) group_left x",
	    "a + on (x) group_left () x" },
	{ "a + on(x) group_right() x",
	    "a + on (x) group_right () x" },
	{ "a > bool on(x) b",
	    "a > bool on (x) b" },
	{ "count_values by (a) (\"x\", y)",
	    "count_values by (a) (\"x\", y)" },
	{ "quantile without () (0.5, x)",
	    "quantile without () (0.5, x)" },
	{ "\"a\"",
	    "\"a\"" },
	{ "time() + 1",
	    "time() + 1" },
	{ "vector(time())",
	    "vector(time())" },
	{ "histogram_fraction(0, 1, x)",
	    "histogram_fraction(0, 1, x)" },
	{ "foo{a=\"b\"}[5m] offset -1h",
	    "foo{a=\"b\"}[5m] offset -1h" },
	{ "-foo @ 5",
	    "-foo @ 5.000" },
	{ "foo and on() bar",
	    "foo and on () bar" },
	{ "foo or ignoring (a) bar",
	    "foo or ignoring (a) bar" },
	{ "foo unless bar",
	    "foo unless bar" },
	{ "1 ^ -2",
	    "1 ^ -2" },
	{ "-2 ^ -2",
	    "-2 ^ -2" },
	{ "2 * -3 ^ 2",
	    "2 * -3 ^ 2" },
	{ "- 1 * 2",
	    "-1 * 2" },
	{ "x != bool y",
	    "x != bool y" },
	{ "{a=\"b\"} offset 1m @ end()",
	    "{a=\"b\"} @ end() offset 1m" },
	{ "up{job=~\"a|b\", instance!~\"c.*\"} > 0 unless up offset 1d",
	    "up{instance!~\"c.*\",job=~\"a|b\"} > 0 unless up offset 1d" },
	{ "count by (job) (up) > bool on (job) group_left count(up)",
	    "count by (job) (up) > bool on (job) group_left () count(up)" },
	{ "foo@1",
	    "foo @ 1.000" },
	{ "foo offset 1m30s",
	    "foo offset 1m30s" },
	{ "foo offset 90s",
	    "foo offset 1m30s" },
	{ "foo[120s]",
	    "foo[2m]" },
	{ "foo[3600000ms]",
	    "foo[1h]" },
	{ "foo[1w]",
	    "foo[1w]" },
	{ "foo[2w]",
	    "foo[2w]" },
	{ "foo[52w]",
	    "foo[52w]" },
	{ "foo[104w]",
	    "foo[104w]" },
	{ "sum(x) without (a) + 1",
	    "sum without (a) (x) + 1" },
	{ "topk by (a) (1, x)",
	    "topk by (a) (1, x)" },
	{ "1 atan2 2",
	    "1 atan2 2" },
	{ "x atan2 1",
	    "x atan2 1" },
	{ "x % 2 == bool 1",
	    "x % 2 == bool 1" },
	{ "'\\''",
	    "\"'\"" },
	{ "09.5",
	    "9.5" },
};

static const struct { const char *q, *err; } errors[] = {
	{ "1e400",
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of range" },
	{ "{}",
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a=\"\"}",
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a=~\".*\"}",
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "foo{__name__=\"bar\"}",
	    "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"" },
	{ "foo{a=\"b\" c=\"d\"}",
	    "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\"" },
	{ "foo{a}",
	    "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator" },
	{ "foo{a=}",
	    "1:7: parse error: unexpected \"}\" in label matching, expected string" },
	{ "foo{,}",
	    "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\"" },
	{ "foo{a=\"b\"",
	    "1:10: parse error: unexpected end of input inside braces" },
	{ "foo}",
	    "1:4: parse error: unexpected character: '}'" },
	{ "foo[5m",
	    "1:7: parse error: unclosed left bracket" },
	{ "foo[5m:1m:]",
	    "1:10: parse error: unexpected colon ':'" },
	{ "foo[0s]",
	    "1:5: parse error: duration must be greater than 0" },
	{ "foo[1h2h]",
	    "1:5: parse error: not a valid duration string: \"1h2h\"" },
	{ "foo[1m1h]",
	    "1:5: parse error: not a valid duration string: \"1m1h\"" },
	{ "foo[5m][5m]",
	    "1:8: parse error: ranges only allowed for vector selectors" },
	{ "(foo)[5m]",
	    "1:6: parse error: ranges only allowed for vector selectors" },
	{ "foo offset 5m offset 1m",
	    "1:1: parse error: offset may not be set multiple times" },
	{ "foo offset 5m[5m]",
	    "1:14: parse error: no offset modifiers allowed before range" },
	{ "foo @ start() @ end()",
	    "1:1: parse error: @ <timestamp> may not be set multiple times" },
	{ "foo @ 100 [5m]",
	    "1:11: parse error: no @ modifiers allowed before range" },
	{ "sum(foo) offset 5m",
	    "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "sum(foo) @ 5",
	    "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "1 offset 5m",
	    "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "foo @ x",
	    "1:7: parse error: unexpected identifier \"x\" in @, expected timestamp" },
	{ "-\"a\"",
	    "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\"" },
	{ "-foo[5m]",
	    "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\"" },
	{ "1 < 2",
	    "1:3: parse error: comparisons between scalars must use BOOL modifier" },
	{ "foo and 1",
	    "1:1: parse error: set operator \"and\" not allowed in binary scalar expression" },
	{ "1 and foo",
	    "1:1: parse error: set operator \"and\" not allowed in binary scalar expression" },
	{ "foo + bool bar",
	    "1:5: parse error: bool modifier can only be used on comparison operators" },
	{ "foo * on (a) group_left (a) bar",
	    "1:5: parse error: label \"a\" must not occur in ON and GROUP clause at once" },
	{ "foo and on (a) group_left bar",
	    "1:1: parse error: no grouping allowed for \"and\" operation" },
	{ "1 + on (a) 2",
	    "1:1: parse error: vector matching only allowed between instant vectors" },
	{ "foo + on (a) 1",
	    "1:1: parse error: vector matching only allowed between instant vectors" },
	{ "count_values(1, foo)",
	    "1:14: parse error: expected type string in aggregation parameter, got scalar" },
	{ "topk(foo, bar)",
	    "1:6: parse error: expected type scalar in aggregation parameter, got instant vector" },
	{ "topk(5)",
	    "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1" },
	{ "sum()",
	    "1:1: parse error: no arguments for aggregate expression provided" },
	{ "sum(foo, bar)",
	    "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2" },
	{ "sum x",
	    "1:5: parse error: unexpected identifier \"x\"" },
	{ "sum by x (y)",
	    "1:8: parse error: unexpected identifier \"x\" in grouping opts, expected \"(\"" },
	{ "sum by (a b) (x)",
	    "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\"" },
	{ "sum by (1) (x)",
	    "1:9: parse error: unexpected number \"1\" in grouping opts, expected label" },
	{ "sum(x[5m])",
	    "1:5: parse error: expected type instant vector in aggregation expression, got range vector" },
	{ "rate(foo)",
	    "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector" },
	{ "rate(foo[5m],)",
	    "1:13: parse error: trailing commas not allowed in function call args" },
	{ "rate()",
	    "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 0" },
	{ "rate(foo[5m], 1)",
	    "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2" },
	{ "round(foo, 0.5, 1)",
	    "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3" },
	{ "time(1)",
	    "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1" },
	{ "day_of_week(foo, bar)",
	    "1:1: parse error: expected at most 1 argument(s) in call to \"day_of_week\", got 2" },
	{ "foo()",
	    "1:1: parse error: unknown function with name \"foo\"" },
	{ "foo(1)",
	    "1:1: parse error: unknown function with name \"foo\"" },
	{ "foo(1 2)",
	    "1:7: parse error: unexpected number \"2\"" },
	{ "rate(foo[5m]",
	    "1:13: parse error: unclosed left parenthesis" },
	{ "rate foo[5m])",
	    "1:6: parse error: unexpected identifier \"foo\"" },
	{ "(foo",
	    "1:5: parse error: unclosed left parenthesis" },
	{ "foo)",
	    "1:5: parse error: unexpected right parenthesis ')'" },
	{ "()",
	    "1:2: parse error: unexpected \")\"" },
	{ "foo bar",
	    "1:5: parse error: unexpected identifier \"bar\"" },
	{ "1 +",
	    "1:4: parse error: unexpected end of input" },
	{ "+",
	    "1:2: parse error: unexpected end of input" },
	{ "# only a comment",
	    "1:1: parse error: no expression found in input" },
	{ "foo $",
	    "1:5: parse error: unexpected character: '$'" },
	{ "foo{a=\"b\"} {c=\"d\"}",
	    "1:12: parse error: unexpected \"{\"" },
	{ "\"\\z\"",
	    "1:1: parse error: unknown escape sequence U+007A 'z'" },
	{ "\"abc",
	    "1:1: parse error: unterminated quoted string" },
	{ "'abc",
	    "1:1: parse error: unterminated quoted string" },
	{ "`abc",
	    "1:1: parse error: unterminated raw string" },
	{ "foo != ~ bar",
	    "1:8: parse error: unexpected character: '~'" },
	{ "foo =~ bar",
	    "1:5: parse error: unexpected character after '=': '~'" },
	{ "foo = bar",
	    "1:5: parse error: unexpected \"=\"" },
	{ "foo !",
	    "1:5: parse error: unexpected character after '!': '�'" },
	{ "rate(x y)",
	    "1:8: parse error: unexpected identifier \"y\"" },
	{ "sum by (a) x",
	    "1:12: parse error: unexpected identifier \"x\" in aggregation" },
	{ "sum by (a)",
	    "1:11: parse error: unexpected end of input in aggregation" },
	{ "foo @ start",
	    "1:12: parse error: unexpected end of input in @, expected timestamp" },
	{ "foo @ start(",
	    "1:13: parse error: unclosed left parenthesis" },
	{ "foo @ - x",
	    "1:9: parse error: unexpected identifier \"x\" in @, expected timestamp" },
	{ "a + on x",
	    "1:8: parse error: unexpected identifier \"x\" in grouping opts, expected \"(\"" },
	{ "a + ignoring(x) group_left(y) bool b",
	    "1:31: parse error: unexpected <bool>" },
	{ "(1 2)",
	    "1:4: parse error: unexpected number \"2\"" },
	{ "(1,2)",
	    "1:3: parse error: unexpected \",\"" },
	{ "{a=\"b\"",
	    "1:7: parse error: unexpected end of input inside braces" },
	{ "foo[5m:1m x]",
	    "1:11: parse error: unexpected colon 'x'" },
	{ "foo[5m:1m",
	    "1:10: parse error: unclosed left bracket" },
	{ "1 + bool 2",
	    "1:3: parse error: bool modifier can only be used on comparison operators" },
	{ "1 == bool",
	    "1:10: parse error: unexpected end of input" },
	{ "sum(x) by",
	    "1:10: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ "sum(x) by (",
	    "1:12: parse error: unclosed left parenthesis" },
	{ "foo offset -5m offset 1m",
	    "1:1: parse error: offset may not be set multiple times" },
	{ "foo[5m] @ 1 @ 2",
	    "1:1: parse error: @ <timestamp> may not be set multiple times" },
	{ "foo @ 1 offset 1m [5m]",
	    "1:19: parse error: no offset modifiers allowed before range" },
	{ "\"a\" + 1",
	    "1:1: parse error: binary expression must contain only scalar and instant vector types" },
	{ "rate(\"a\")",
	    "1:6: parse error: expected type range vector in call to function \"rate\", got string" },
	{ "abs(1)",
	    "1:5: parse error: expected type instant vector in call to function \"abs\", got scalar" },
	{ "absent()",
	    "1:1: parse error: expected 1 argument(s) in call to \"absent\", got 0" },
	{ "scalar(1)",
	    "1:8: parse error: expected type instant vector in call to function \"scalar\", got scalar" },
	{ "day_of_week(x, y)",
	    "1:1: parse error: expected at most 1 argument(s) in call to \"day_of_week\", got 2" },
	{ "round(x, \"a\")",
	    "1:10: parse error: expected type scalar in call to function \"round\", got string" },
	{ "label_join(x, \"a\")",
	    "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2" },
	{ "label_replace(x, \"a\", \"b\", \"c\")",
	    "1:1: parse error: expected 5 argument(s) in call to \"label_replace\", got 4" },
	{ "sort_desc(x[5m])",
	    "1:11: parse error: expected type instant vector in call to function \"sort_desc\", got range vector" },
	{ "foo 12345678901234",
	    "1:5: parse error: unexpected number \"1234567890\"..." },
	{ "foo \"a very long string here\"",
	    "1:5: parse error: unexpected string \"\\\"a very lo\"..." },
	{ "foo 1h30m15s10ms",
	    "1:5: parse error: unexpected duration \"1h30m15s10\"..." },
	{ "foo bar:baz",
	    "1:5: parse error: unexpected metric identifier \"bar:baz\"" },
	{ "foo sum",
	    "1:5: parse error: unexpected <aggr:sum>" },
	{ "foo by",
	    "1:5: parse error: unexpected <by>" },
	{ "foo start",
	    "1:5: parse error: unexpected \"start\"" },
	{ "foo @",
	    "1:6: parse error: unexpected end of input in @, expected timestamp" },
	{ "foo on",
	    "1:5: parse error: unexpected <on>" },
	{ "foo ,",
	    "1:5: parse error: unexpected \",\"" },
	{ "foo ]",
	    "1:5: parse error: unexpected right bracket ']'" },
	{ "foo {",
	    "1:6: parse error: unexpected end of input inside braces" },
	{ "foo =",
	    "1:5: parse error: unexpected \"=\"" },
	{ "foo =~ \"a\"",
	    "1:5: parse error: unexpected character after '=': '~'" },
	{ "foo !~ \"a\"",
	    "1:5: parse error: unexpected character after '!': '~'" },
	{ "foo ! \"a\"",
	    "1:5: parse error: unexpected character after '!': ' '" },
	{ "foo{a!b}",
	    "1:6: parse error: unexpected character after '!' inside braces: 'b'" },
	{ "foo{a!}",
	    "1:6: parse error: unexpected character after '!' inside braces: '}'" },
	{ "foo{a=~}",
	    "1:8: parse error: unexpected \"}\" in label matching, expected string" },
	{ "foo{a==b}",
	    "1:7: parse error: unexpected \"=\" in label matching, expected string" },
	{ "foo{{}",
	    "1:5: parse error: unexpected left brace '{'" },
	{ "foo{a=\"b\"}}",
	    "1:11: parse error: unexpected character: '}'" },
	{ "1 $ 2",
	    "1:3: parse error: unexpected character: '$'" },
	{ "\"\\uD800\"",
	    "1:1: parse error: escape sequence is an invalid Unicode code point" },
	{ "\"\\U00110000\"",
	    "1:1: parse error: escape sequence is an invalid Unicode code point" },
	{ "\"\\x4\"",
	    "1:1: parse error: illegal character U+0022 '\"' in escape sequence" },
	{ "\"\\400\"",
	    "1:1: parse error: escape sequence is an invalid Unicode code point" },
	{ "\"\\08\"",
	    "1:1: parse error: illegal character U+0038 '8' in escape sequence" },
	{ "`a",
	    "1:1: parse error: unterminated raw string" },
	{ "'\\\"'",
	    "1:1: parse error: unknown escape sequence U+0022 '\"'" },
	{ "\"\\'\"",
	    "1:1: parse error: unknown escape sequence U+0027 '''" },
	{ "sum by (a) (x) by (b)",
	    "1:16: parse error: unexpected <by>" },
	{ "sum without (a) (x) by (b)",
	    "1:21: parse error: unexpected <by>" },
	{ "sum(x) by (a) (y)",
	    "1:15: parse error: unexpected \"(\"" },
	{ "0x",
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x\": invalid syntax" },
	{ "1e",
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax" },
	{ "1e+",
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e+\": invalid syntax" },
	{ ".e",
	    "1:1: parse error: unexpected character: '.'" },
	{ "1..2",
	    "1:3: parse error: unexpected number \".2\"" },
	{ "1.2.3",
	    "1:4: parse error: unexpected number \".3\"" },
	{ "0xg",
	    "1:1: parse error: bad number or duration syntax: \"0x\"" },
	{ "5m5",
	    "1:1: parse error: bad number or duration syntax: \"5m5\"" },
	{ "5mm",
	    "1:1: parse error: bad number or duration syntax: \"5mm\"" },
	{ "1ms5",
	    "1:1: parse error: bad number or duration syntax: \"1ms5\"" },
};

/* Parse q (which must parse) and print it, one line or pretty. */
static char *
print(const char *q, int pretty)
{
	struct promql_node *e;
	struct buf b;
	int rc = promql_parse(q, strlen(q), &e);

	if (rc != 0)
		fail_msg("'%s' did not parse: %s", q, err_detail());
	buf_init(&b, 0);
	assert_int_equal(pretty ? promql_format_pretty(e, &b) :
	    promql_format(e, &b), 0);
	promql_free(e);
	return buf_detach(&b, NULL);
}

/* Parse q, which must fail with the error want. */
static void
refused(const char *q, const char *want)
{
	struct promql_node *e = (void *)1;

	if (promql_parse(q, strlen(q), &e) == 0)
		fail_msg("'%s' parsed", q);
	assert_null(e);
	if (strcmp(err_detail(), want) != 0)
		fail_msg("'%s': got '%s', want '%s'", q, err_detail(), want);
}

/* The one-line print parses back to a tree that prints the same. */
static void
round_trip(const char *q)
{
	char *a = print(q, 0), *b = print(a, 0), *p = print(q, 1),
	    *c = print(p, 0);

	assert_string_equal(a, b);
	assert_string_equal(a, c);
	free(a);
	free(b);
	free(p);
	free(c);
}

static void
test_formats(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char *got = print(formats[i].q, 1);

		if (strcmp(got, formats[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", formats[i].q, got,
			    formats[i].want);
		free(got);
		round_trip(formats[i].q);
	}
}

static void
test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		refused(errors[i].q, errors[i].err);
}

/* What Prometheus 3 reads that 2.42 did not, and where shale's words differ. */
static void
test_prometheus3(void **state)
{
	static const struct { const char *q, *want; } ok[] = {
		/* durations as numbers, numbers of seconds as durations */
		{ "1h", "1h" },
		{ "-1h30m", "-1h30m" },
		{ "time() - 5m", "time() - 5m" },
		{ "foo[300]", "foo[5m]" },
		{ "foo[1.5]", "foo[1s500ms]" },
		{ "16665209ms", "4h37m45s209ms" },
		{ "foo[5m:30]", "foo[5m:30s]" },
		{ "foo offset 90", "foo offset 1m30s" },
		{ "foo offset -1.5", "foo offset -1s500ms" },
		/* the metric name quoted in the braces */
		{ "{\"foo\"}", "{__name__=\"foo\"}" },
		{ "{\"foo\", a=\"b\"}", "{__name__=\"foo\",a=\"b\"}" },
		{ "{\"a\"=\"b\", c=\"d\"}", "{a=\"b\",c=\"d\"}" },
		{ "sum by (\"a\") (x)", "sum by (a) (x)" },
		{ "sum by (\"nan\", \"Inf\") (x)", "sum by (\"nan\", \"Inf\") (x)" },
		/* the experimental functions and aggregations, always on */
		{ "limitk(2, foo)", "limitk(2, foo)" },
		{ "limit_ratio(0.5, foo)", "limit_ratio(0.5, foo)" },
		{ "sort_by_label(foo, \"a\", \"b\")",
		    "sort_by_label(foo, \"a\", \"b\")" },
		{ "mad_over_time(foo[5m])", "mad_over_time(foo[5m])" },
		{ "double_exponential_smoothing(foo[5m], 0.5, 0.5)",
		    "double_exponential_smoothing(foo[5m], 0.5, 0.5)" },
		{ "histogram_avg(foo)", "histogram_avg(foo)" },
		{ "info(foo)", "info(foo)" },
		/* ignoring () with a group modifier keeps both */
		{ "a + ignoring () group_left b",
		    "a + ignoring () group_left () b" },
		{ "1 == bool 1 # a comment", "1 == bool 1" },
		{ "a\n# line\n+ b", "a + b" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *got = print(ok[i].q, 1);

		if (strcmp(got, ok[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", ok[i].q, got,
			    ok[i].want);
		free(got);
		round_trip(ok[i].q);
	}
	refused("foo[]", "1:5: parse error: unexpected \"]\" in subquery "
	    "selector, expected number or duration");
	refused("foo[5 1]", "1:7: parse error: unexpected number \"1\" in "
	    "subquery or range, expected \":\" or \"]\"");
	refused("foo offset x", "1:12: parse error: unexpected identifier "
	    "\"x\" in offset, expected number or duration");
	refused("foo[5m:]]", "1:9: parse error: unexpected right bracket "
	    "']'");
	refused("foo[5m:1m 1]", "1:11: parse error: unexpected number \"1\" in "
	    "subquery selector, expected \"]\"");
	refused("foo[5m:(]", "1:8: parse error: unexpected \"(\" in subquery "
	    "selector, expected number or duration or \"]\"");
	refused("foo[0s]", "1:5: parse error: duration must be greater than 0");
	refused("foo[0]", "1:5: parse error: duration must be greater than 0");
	refused("foo[0.0001:]", "1:5: parse error: duration must be greater "
	    "than 0");
	refused("foo[1y1y]", "1:5: parse error: not a valid duration string: "
	    "\"1y1y\"");
	refused("foo[300y]", "1:5: parse error: duration out of range");
	refused("foo offset 9223372037", "1:12: parse error: duration out of "
	    "range");
	refused("foo{\"a\"=\"b\", \"a\"}", "1:1: parse error: metric name "
	    "must not be set twice: \"foo\" or \"a\"");
	refused("sum by (a:b) (x)", "1:9: parse error: invalid label name "
	    "for grouping: \"a:b\"");
	refused("sum by (\"a.b\") (x)", "1:10: parse error: invalid label "
	    "name for grouping: \"a.b\"");
	refused("foo bar", "1:5: parse error: unexpected identifier \"bar\"");
	refused("sum by (a) x", "1:12: parse error: unexpected identifier "
	    "\"x\" in aggregation");
	refused("rate(foo[5m], )", "1:13: parse error: trailing commas not "
	    "allowed in function call args");
	refused("label_join(foo)", "1:1: parse error: expected at least 3 "
	    "argument(s) in call to \"label_join\", got 1");
	refused("vector(\"a\")", "1:8: parse error: expected type scalar in "
	    "call to function \"vector\", got string");
	refused("histogram_quantile(0.9, foo[5m])", "1:25: parse error: "
	    "expected type instant vector in call to function "
	    "\"histogram_quantile\", got range vector");
	refused("foo @ 1e19", "1:1: parse error: timestamp out of bounds for "
	    "@ modifier: 10000000000000000000.000000");
	refused("a + b offset 5m x", "1:17: parse error: unexpected "
	    "identifier \"x\"");
	refused("\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 "
	    "'q'");
	refused("\"\\xZZ\"", "1:1: parse error: illegal character U+005A 'Z' "
	    "in escape sequence");
	refused("\"\\ud800\"", "1:1: parse error: escape sequence is an "
	    "invalid Unicode code point");
	refused("a\n  + ", "2:5: parse error: unexpected end of input");
	refused("", "1:1: parse error: no expression found in input");
	refused(" # nothing", "1:1: parse error: no expression found in input");
}

static const struct promql_node *
parsed(const char *q, struct promql_node **keep)
{
	if (promql_parse(q, strlen(q), keep) != 0)
		fail_msg("'%s' did not parse: %s", q, err_detail());
	return *keep;
}

static void
test_tree(void **state)
{
	struct promql_node *t;
	const struct promql_node *e, *l;
	const struct matcher *m;
	size_t len;

	(void)state;
	/* ^ is right-associative, the rest left; * over +; and over or */
	e = parsed("2 ^ 3 ^ 2", &t);
	assert_int_equal(e->kind, PROMQL_BINARY);
	assert_int_equal(e->bin.op, PROMQL_POW);
	assert_int_equal(e->bin.lhs->kind, PROMQL_NUMBER);
	assert_int_equal(e->bin.rhs->kind, PROMQL_BINARY);
	promql_free(t);
	e = parsed("a - b - c", &t);
	assert_int_equal(e->bin.lhs->kind, PROMQL_BINARY);
	assert_int_equal(e->bin.rhs->kind, PROMQL_VECTOR_SELECTOR);
	promql_free(t);
	e = parsed("a or b and c + d * e", &t);
	assert_int_equal(e->bin.op, PROMQL_OR);
	assert_int_equal(e->bin.card, PROMQL_MANY_TO_MANY);
	l = e->bin.rhs;
	assert_int_equal(l->bin.op, PROMQL_AND);
	assert_int_equal(l->bin.rhs->bin.op, PROMQL_ADD);
	assert_int_equal(l->bin.rhs->bin.rhs->bin.op, PROMQL_MUL);
	promql_free(t);

	/* unary minus: folded into a number, under ^, over * */
	e = parsed("-2 ^ 2", &t);
	assert_int_equal(e->kind, PROMQL_UNARY);
	assert_int_equal(e->un.op, PROMQL_SUB);
	assert_int_equal(e->un.expr->bin.op, PROMQL_POW);
	promql_free(t);
	e = parsed("-1", &t);
	assert_int_equal(e->kind, PROMQL_NUMBER);
	assert_true(e->num.value == -1);
	promql_free(t);
	e = parsed("-a * b", &t);
	assert_int_equal(e->bin.op, PROMQL_MUL);
	assert_int_equal(e->bin.lhs->kind, PROMQL_UNARY);
	promql_free(t);

	/* the metric name is the last matcher, as Prometheus appends it */
	e = parsed("foo{b=~\"x.*\", a!=\"y\"} offset -5m @ 1.5", &t);
	assert_int_equal(e->kind, PROMQL_VECTOR_SELECTOR);
	assert_string_equal(e->vs.name, "foo");
	assert_int_equal(selector_count(e->vs.sel), 3);
	m = selector_at(e->vs.sel, 2);
	assert_string_equal(matcher_name(m), "__name__");
	assert_string_equal(matcher_value(m, &len), "foo");
	assert_int_equal(matcher_op(selector_at(e->vs.sel, 0)), MATCHER_RE);
	assert_int_equal(e->vs.offset_ms, -300000);
	assert_int_equal(e->vs.at, PROMQL_AT_TIME);
	assert_int_equal(e->vs.at_ms, 1500);
	assert_int_equal(promql_type_of(e), PROMQL_TYPE_VECTOR);
	promql_free(t);

	e = parsed("rate(foo[5m] @ end())[1h:1m] offset 1d", &t);
	assert_int_equal(e->kind, PROMQL_SUBQUERY);
	assert_int_equal(e->sq.range_ms, 3600000);
	assert_int_equal(e->sq.step_ms, 60000);
	assert_int_equal(e->sq.offset_ms, 86400000);
	assert_int_equal(promql_type_of(e), PROMQL_TYPE_MATRIX);
	l = e->sq.expr;
	assert_int_equal(l->kind, PROMQL_CALL);
	assert_string_equal(l->call.func->name, "rate");
	assert_int_equal(l->call.nargs, 1);
	assert_int_equal(l->call.args[0]->kind, PROMQL_MATRIX_SELECTOR);
	assert_int_equal(l->call.args[0]->ms.range_ms, 300000);
	assert_int_equal(l->call.args[0]->ms.vs->vs.at, PROMQL_AT_END);
	promql_free(t);

	e = parsed("a / on (x, y) group_right (z) b", &t);
	assert_int_equal(e->bin.card, PROMQL_ONE_TO_MANY);
	assert_true(e->bin.on && e->bin.matching);
	assert_int_equal(e->bin.labels.n, 2);
	assert_string_equal(e->bin.labels.names[1], "y");
	assert_int_equal(e->bin.include.n, 1);
	promql_free(t);
	e = parsed("a > bool 1", &t);
	assert_true(e->bin.return_bool);
	assert_false(e->bin.matching);	/* a scalar side: no matching */
	promql_free(t);

	e = parsed("count_values without (a) (\"v\", x)", &t);
	assert_int_equal(e->kind, PROMQL_AGGREGATE);
	assert_int_equal(e->agg.op, PROMQL_COUNT_VALUES);
	assert_true(e->agg.without);
	assert_int_equal(e->agg.param->kind, PROMQL_STRING);
	assert_string_equal(e->agg.param->str.s, "v");
	promql_free(t);
	e = parsed("sum(x) by (a, b)", &t);
	assert_false(e->agg.without);
	assert_int_equal(e->agg.grouping.n, 2);
	assert_null(e->agg.param);
	promql_free(t);

	/* keywords as metric names; aggregations without '(' are names */
	e = parsed("sum + by * offset", &t);
	assert_string_equal(e->bin.lhs->vs.name, "sum");
	promql_free(t);

	e = parsed("\"a\\u00e9\\x41\\101\\n\"", &t);
	assert_int_equal(e->str.len, 6);
	assert_memory_equal(e->str.s, "a\xc3\xa9" "AA\n", 6);
	assert_int_equal(promql_type_of(e), PROMQL_TYPE_STRING);
	promql_free(t);
}

/* split past 100 bytes, as Prometheus 2.42's format_query */
static const struct { const char *q, *want; } pretties[] = {
	{ "histogram_quantile(0.99, sum by (le, job, instance, handler) (rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])))",
	    "histogram_quantile(\n  0.99,\n  sum by (le, job, instance, handler) (rate(http_request_duration_seconds_bucket{job=\"api\"}[5m]))\n)" },
	{ "sum(rate(http_requests_total{code=~\"5..\"}[5m])) by (job) / sum(rate(http_requests_total[5m])) by (job)",
	    "  sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))\n/\n  sum by (job) (rate(http_requests_total[5m]))" },
	{ "label_replace(rate(some_very_long_metric_name_total{job=\"api-server\",instance=~\"10.0.0.*\"}[5m]), \"dst\", \"$1\", \"src\", \"(.*)\")",
	    "label_replace(\n  rate(some_very_long_metric_name_total{instance=~\"10.0.0.*\",job=\"api-server\"}[5m]),\n  \"dst\",\n  \"$1\",\n  \"src\",\n  \"(.*)\"\n)" },
	{ "-sum(rate(some_very_long_metric_name_total{job=\"api-server\",instance=~\"10.0.0.*\",code=\"500\"}[5m])) by (job)",
	    "-sum by (job) (\n  rate(some_very_long_metric_name_total{code=\"500\",instance=~\"10.0.0.*\",job=\"api-server\"}[5m])\n)" },
	{ "(sum(rate(some_very_long_metric_name_total{job=\"api-server\",instance=~\"10.0.0.*\",code=\"500\"}[5m])) by (job))",
	    "(\n  sum by (job) (\n    rate(some_very_long_metric_name_total{code=\"500\",instance=~\"10.0.0.*\",job=\"api-server\"}[5m])\n  )\n)" },
	{ "topk(5, max_over_time(rate(some_very_long_metric_name_total{job=\"api-server\",instance=~\"10.0.0.*\"}[5m])[1h:1m]))",
	    "topk(\n  5,\n  max_over_time(\nrate(some_very_long_metric_name_total{instance=~\"10.0.0.*\",job=\"api-server\"}[5m])[1h:1m]\n  )\n)" },
	{ "a_rather_long_metric_name_number_one > on (instance, job) group_left (version) a_rather_long_metric_name_number_two * 100",
	    "  a_rather_long_metric_name_number_one\n> on (instance, job) group_left (version)\n  a_rather_long_metric_name_number_two * 100" },
	{ "rate(some_very_long_metric_name_total{job=\"api-server\",instance=~\"10.0.0.*\",code=\"500\",method=\"GET\"}[5m])[1h:5m] offset 1d",
	    "rate(\n  some_very_long_metric_name_total{code=\"500\",instance=~\"10.0.0.*\",job=\"api-server\",method=\"GET\"}[5m]\n)[1h:5m] offset 1d" },
};

static void
test_pretty(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pretties) / sizeof(pretties[0]); i++) {
		char *got = print(pretties[i].q, 1);

		if (strcmp(got, pretties[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", pretties[i].q, got,
			    pretties[i].want);
		free(got);
		round_trip(pretties[i].q);
	}
}

static void
test_durations_numbers(void **state)
{
	static const struct { int64_t ms; const char *s; } d[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 1500, "1s500ms" },
		{ 90 * 60000, "1h30m" }, { 86400000, "1d" },
		{ 7 * 86400000LL, "1w" }, { 8 * 86400000LL, "8d" },
		{ 365 * 86400000LL, "1y" }, { 366 * 86400000LL, "366d" },
		{ 14 * 86400000LL + 1, "14d1ms" },
	};
	static const struct { double v; const char *s; } n[] = {
		{ 0, "0" }, { 1, "1" }, { -1.5, "-1.5" }, { 0.1, "0.1" },
		{ 1e21, "1000000000000000000000" }, { 1e-7, "0.0000001" },
		{ 123456789.125, "123456789.125" }, { 1.0 / 3, "0.3333333333333333" },
		{ 1e-20, "0.00000000000000000001" }, { 5e-324, NULL },
	};
	struct buf b;
	int64_t ms;

	(void)state;
	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		buf_reset(&b);
		promql_duration_format(d[i].ms, &b);
		assert_string_equal(buf_str(&b), d[i].s);
		assert_int_equal(promql_duration_parse(d[i].s, strlen(d[i].s),
		    &ms), 0);
		assert_int_equal(ms, d[i].ms);
	}
	assert_int_equal(promql_duration_parse("1h1d", 4, &ms), -EINVAL);
	assert_int_equal(promql_duration_parse("", 0, &ms), -EINVAL);
	assert_int_equal(promql_duration_parse("5", 1, &ms), -EINVAL);
	assert_int_equal(promql_duration_parse("1q", 2, &ms), -EINVAL);
	assert_int_equal(promql_duration_parse("0", 1, &ms), 0);
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		buf_reset(&b);
		promql_number_format(n[i].v, &b);
		if (n[i].s != NULL)
			assert_string_equal(buf_str(&b), n[i].s);
		else	/* "0." then 323 zeros and the 5 */
			assert_true(b.len == 326 && b.data[325] == '5');
	}
	buf_reset(&b);
	promql_number_format(-0.0, &b);
	assert_string_equal(buf_str(&b), "-0");
	buf_release(&b);
}

static void
test_limits(void **state)
{
	struct buf b;
	struct promql_node *e;
	char want[128];

	(void)state;
	buf_init(&b, 0);
	for (int i = 0; i < PROMQL_DEPTH_MAX - 2; i++)
		buf_putc(&b, '(');
	buf_putc(&b, '1');
	for (int i = 0; i < PROMQL_DEPTH_MAX - 2; i++)
		buf_putc(&b, ')');
	assert_int_equal(promql_parse(b.data, b.len, &e), 0);
	promql_free(e);
	buf_reset(&b);
	for (int i = 0; i < PROMQL_DEPTH_MAX + 1; i++)
		buf_puts(&b, "-(");
	snprintf(want, sizeof(want), "the expression nests deeper than %d "
	    "levels", PROMQL_DEPTH_MAX);
	assert_int_equal(promql_parse(b.data, b.len, &e), -EINVAL);
	assert_non_null(strstr(err_detail(), want));
	/* chains grow the tree without the parser's recursion */
	buf_reset(&b);
	for (int i = 0; i < PROMQL_DEPTH_MAX + 5; i++)
		buf_puts(&b, "1 + ");
	buf_puts(&b, "1");
	assert_int_equal(promql_parse(b.data, b.len, &e), -EINVAL);
	assert_non_null(strstr(err_detail(), want));
	buf_reset(&b);
	buf_puts(&b, "foo");
	for (int i = 0; i < PROMQL_DEPTH_MAX + 5; i++)
		buf_puts(&b, "[1h:]");
	assert_int_equal(promql_parse(b.data, b.len, &e), -EINVAL);
	assert_non_null(strstr(err_detail(), want));
	buf_reset(&b);
	for (int i = 0; i < PROMQL_DEPTH_MAX / 2 - 1; i++)
		buf_puts(&b, "1 + ");
	buf_puts(&b, "1");
	assert_int_equal(promql_parse(b.data, b.len, &e), 0);
	assert_true(e->height < PROMQL_DEPTH_MAX);
	promql_free(e);
	buf_reset(&b);
	for (int i = 0; i < PROMQL_QUERY_MAX; i += 4)
		buf_puts(&b, "1 + ");
	buf_puts(&b, "1");
	assert_int_equal(promql_parse(b.data, b.len, &e), -EINVAL);
	assert_null(e);
	buf_release(&b);
	assert_non_null(promql_func_find("rate", 4));
	assert_non_null(promql_func_find("year", 4));
	assert_null(promql_func_find("rat", 3));
	assert_null(promql_func_find("holt_winters", 12));
	for (size_t i = 1; i < promql_nfuncs; i++)
		assert_true(strcmp(promql_funcs[i - 1].name,
		    promql_funcs[i].name) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_prometheus3),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_durations_numbers),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
