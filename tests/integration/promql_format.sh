# promql_format.sh - shale's /api/v1/format_query against a real
# Prometheus 2.42's on the same list of queries (literals, selectors and
# matchers, ranges, subqueries, offset and @, every operator with its
# precedence, bool, on/ignoring and group_left/right, aggregations,
# functions, comments, prettified long queries, and bad queries of every
# kind): a query both accept must print the same, byte for byte; a query
# one refuses the other must refuse with the same HTTP status and error
# type. Differences are printed. Also GET and form POST, the parameter
# missing, a form with a bad %-escape, and /api/v1/parse_query's tree
# (Prometheus 3's shape, which 2.42 has not: checked as written). Prometheus runs with an empty
# configuration and a TSDB of its own; both processes are stopped by
# PID. Skips without prometheus, curl or jq.
. "$top_srcdir/tests/lib/common.sh"
PROMETHEUS=$(command -v prometheus || echo /usr/bin/prometheus)
[ -x "$PROMETHEUS" ] || skip "prometheus not installed (apt-get install prometheus)"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done

PROM_PID=""
cleanup() {
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait_gone "$PROM_PID" 30
	stop_serves
}
trap cleanup EXIT

sp=$(pick_port) && pp=$(pick_port) || { fail "free ports"; finish; }
su="http://127.0.0.1:$sp"
pu="http://127.0.0.1:$pp"
serve_shale "file://$TEST_TMP/store" "$sp" || { fail "serve"; finish; }
printf 'global:\n  scrape_interval: 1m\n' >"$TEST_TMP/prometheus.yml"
"$PROMETHEUS" --config.file="$TEST_TMP/prometheus.yml" \
	--storage.tsdb.path="$TEST_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pp" >"$TEST_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
i=0
until curl -sf -o /dev/null "$pu/-/ready"; do
	i=$((i + 1))
	if [ "$i" -gt 600 ] || ! kill -0 "$PROM_PID" 2>/dev/null; then
		fail "prometheus is not ready within 60 s"
		tail -5 "$TEST_TMP/prometheus.log"
		finish
	fi
	sleep 0.1
done
ok "prometheus is ready"

# answers URL NAME: every query of $TEST_TMP/q/ asked of URL by one curl
# (a transfer each), then one jq: $TEST_TMP/NAME.txt, a line each,
# "STATUS<tab>success<tab>DATA" or "STATUS<tab>error<tab>TYPE", the data
# with its newlines as \n
answers() {
	local url=$1 name=$2 k
	mkdir -p "$TEST_TMP/$name"
	: >"$TEST_TMP/$name.cfg"
	for k in $(seq 1 "$n"); do
		printf 'url = "%s/api/v1/format_query"\ndata-urlencode = "query@%s"\noutput = "%s"\nwrite-out = "%%{http_code}\\n"\nnext\n' \
			"$url" "$TEST_TMP/q/$k" "$TEST_TMP/$name/$k" >>"$TEST_TMP/$name.cfg"
	done
	curl -s -K "$TEST_TMP/$name.cfg" >"$TEST_TMP/$name.codes"
	for k in $(seq 1 "$n"); do
		printf '%s\n' "$TEST_TMP/$name/$k"
	done | xargs jq -r '[.status, (.data // .errorType)] |
		map(gsub("\n"; "\\n")) | join("\t")' >"$TEST_TMP/$name.json.txt"
	paste "$TEST_TMP/$name.codes" "$TEST_TMP/$name.json.txt" >"$TEST_TMP/$name.txt"
}

# the queries, a file each (read by curl as they are, no quoting)
mkdir -p "$TEST_TMP/q"
n=0
while IFS= read -r q; do
	n=$((n + 1))
	printf '%s' "$q" >"$TEST_TMP/q/$n"
done <<'QUERIES'
1
1.5
.5
5.
1e3
1E-3
0x1F
0X1f
010
09
Inf
-Inf
+Inf
NaN
nan
INF
-1
- -1
+1
1e400
"foo"
'foo'
`foo\n`
"a\"b\\c"
"\u00e9\x41\101\n\t"
'it\'s'
foo
foo:bar
:foo
foo{}
{}
{a=""}
{a=~".*"}
{a=~".+"}
foo{a="b"}
foo{a="b",}
foo{b="c",a="d"}
foo{a!="b", c=~"d", e!~"f"}
{__name__="foo"}
{__name__="foo", a="b"}
foo{__name__="bar"}
{__name__=~"foo|bar"}
foo{a="b" c="d"}
foo{a}
foo{a=}
foo{,}
foo{a="b"
foo}
foo[5m]
foo[1h30m]
foo[90m]
foo[1d]
foo[7d]
foo[14d]
foo[365d]
foo[1y]
foo[1000ms]
foo[1500ms]
foo[5m
foo[]
foo[5m:]
foo[5m:1m]
foo[5m:1m:]
foo[5 1]
foo[0s]
foo[5x]
foo[1.5m]
foo[1h2h]
foo[1m1h]
rate(foo[5m])[30m:1m]
foo[5m][5m]
(foo)[5m]
foo offset 5m
foo offset -5m
foo offset 5m offset 1m
foo offset 5m[5m]
foo[5m] offset 5m
foo @ 100
foo @ 100.5
foo @ -100
foo @ 1.23456
foo @ start()
foo @ end()
foo @ start() @ end()
foo @ 100 offset 5m
foo offset 5m @ 100
foo[5m] @ 100 offset 1h
foo @ 100 [5m]
foo @ start() [5m]
sum(foo) offset 5m
sum(foo) @ 5
foo[5m:1m] offset 2m @ 5
1 offset 5m
foo offset x
foo @ x
foo + bar
foo+bar*baz
(foo + bar) * baz
foo - bar - baz
foo / bar / baz
2 ^ 3 ^ 2
(2 ^ 3) ^ 2
-2 ^ 2
-(2) ^ 2
-foo
-foo ^ 2
-foo offset 5m
- - foo
+foo
-"a"
-foo[5m]
1 + 2 * 3
1 + 2 > bool 3
1 < 2
1 < bool 2
foo > 1
foo == bool 1
foo and bar
foo or bar unless baz
foo and bar or baz
foo or bar and baz
foo unless on (a) bar
foo and 1
1 and foo
foo + bool bar
foo + on (a) bar
foo + on () bar
foo + ignoring (a) bar
foo + ignoring () bar
foo * on (a) group_left (b) bar
foo * on (a) group_left bar
foo * ignoring (a) group_right (b, c) bar
foo * on (a) group_left (a) bar
foo and on (a) group_left bar
1 + on (a) 2
foo + on (a) 1
foo atan2 bar
foo % bar
foo != bar
foo >= bar <= baz
sum(foo)
sum by (a) (foo)
sum by (a, b) (foo)
sum by (a,) (foo)
sum by () (foo)
sum without (a) (foo)
sum without () (foo)
sum(foo) by (a)
sum(foo) without (a)
SUM(foo)
Sum By (a) (foo)
avg(foo)
count(foo)
min(foo)
max(foo)
group(foo)
stddev(foo)
stdvar(foo)
topk(5, foo)
bottomk(5, foo)
quantile(0.9, foo)
count_values("v", foo)
count_values(1, foo)
topk(foo, bar)
topk(5)
sum()
sum(foo, bar)
sum x
sum by x (y)
sum by (a b) (x)
sum by (1) (x)
sum by (a:b) (x)
sum by (on, by, sum, bool) (x)
sum(x[5m])
sum
sum + 1
by
offset
and
start
end
rate(foo[5m])
rate(foo)
rate(foo[5m],)
rate()
rate(foo[5m], 1)
irate(foo[5m])
increase(foo[5m])
delta(foo[5m])
idelta(foo[5m])
deriv(foo[5m])
predict_linear(foo[5m], 3600)
resets(foo[5m])
changes(foo[5m])
avg_over_time(foo[5m])
quantile_over_time(0.5, foo[5m])
last_over_time(foo[5m])
present_over_time(foo[5m])
absent_over_time(foo[5m])
absent(foo)
histogram_quantile(0.9, sum by (le) (rate(foo_bucket[5m])))
label_replace(foo, "a", "$1", "b", "(.*)")
label_join(foo, "a", ",", "b", "c", "d")
label_join(foo, "a", ",")
sort(foo)
sort_desc(foo)
clamp(foo, 0, 1)
clamp_min(foo, 0)
clamp_max(foo, 1)
round(foo)
round(foo, 0.5)
round(foo, 0.5, 1)
abs(foo)
ceil(foo)
floor(foo)
exp(foo)
ln(foo)
log2(foo)
log10(foo)
sqrt(foo)
sgn(foo)
sin(foo) + cos(foo) + tan(foo)
time()
time(1)
pi()
vector(1)
scalar(foo)
timestamp(foo)
day_of_week()
day_of_week(foo)
day_of_week(foo, bar)
hour(foo)
minute()
month()
year()
days_in_month()
day_of_month()
day_of_year()
foo()
foo(1)
foo(1 2)
rate(foo[5m]
rate foo[5m])
(foo
foo)
((foo))
(((1 + 2)))
()
foo bar
1 +
+
# only a comment
foo # trailing comment
foo # a
+ bar
foo
 + bar
foo $
foo{a="b"} {c="d"}
foo{a=~"("}
"\z"
"abc
'abc
`abc
foo != ~ bar
foo =~ bar
foo = bar
foo == bar
foo !
sum(rate(http_requests_total{code=~"5.."}[5m])) by (job) / sum(rate(http_requests_total[5m])) by (job)
max_over_time(deriv(rate(distance_covered_total[5s])[30s:5s])[10m:])
1 - sum(rate(node_cpu_seconds_total{mode="idle"}[5m])) by (instance) / count(node_cpu_seconds_total{mode="idle"}) by (instance)
up == 0
up{job="prometheus"} offset 1w
(up)
-(up)
histogram_quantile(0.99, sum by (le, job, instance, handler) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))
sum(rate(http_requests_total{code=~"5.."}[5m])) by (job) / sum(rate(http_requests_total[5m])) by (job)
label_replace(rate(some_very_long_metric_name_total{job="api-server",instance=~"10.0.0.*"}[5m]), "dst", "$1", "src", "(.*)")
-sum(rate(some_very_long_metric_name_total{job="api-server",instance=~"10.0.0.*",code="500"}[5m])) by (job)
(sum(rate(some_very_long_metric_name_total{job="api-server",instance=~"10.0.0.*",code="500"}[5m])) by (job))
topk(5, max_over_time(rate(some_very_long_metric_name_total{job="api-server",instance=~"10.0.0.*"}[5m])[1h:1m]))
a_rather_long_metric_name_number_one > on (instance, job) group_left (version) a_rather_long_metric_name_number_two * 100
rate(some_very_long_metric_name_total{job="api-server",instance=~"10.0.0.*",code="500",method="GET"}[5m])[1h:5m] offset 1d
rate(x y)
sum by (a) x
sum by (a)
foo @ start
foo @ start(
foo @ - x
foo @ -1
foo @ +1
foo @ 1e3
a + on x
a + on(x) group_left x
a + on(x) group_right() x
a + ignoring(x) group_left(y) bool b
a > bool on(x) b
(1 2)
(1,2)
{a="b"
foo[5m:1m x]
foo[5m:1m
1 + bool 2
1 == bool
sum(x) by
sum(x) by (
count_values by (a) ("x", y)
quantile without () (0.5, x)
foo offset
foo offset -
foo offset -5m offset 1m
foo[5m] @ 1 @ 2
foo @ 1 offset 1m [5m]
"a" + 1
"a"
rate("a")
abs(1)
absent()
scalar(1)
time() + 1
vector(time())
day_of_week(x, y)
round(x, "a")
label_join(x, "a")
label_replace(x, "a", "b", "c")
histogram_fraction(0, 1, x)
sort_desc(x[5m])
foo{a="b"}[5m] offset -1h
-foo @ 5
foo and on() bar
foo or ignoring (a) bar
foo unless bar
1 ^ -2
-2 ^ -2
2 * -3 ^ 2
- 1 * 2
x != bool y
{a="b"} offset 1m @ end()
up{job=~"a|b", instance!~"c.*"} > 0 unless up offset 1d
count by (job) (up) > bool on (job) group_left count(up)
foo@1
foo offset 1m30s
foo offset 90s
foo[120s]
foo[3600000ms]
foo[1w]
foo[2w]
foo[52w]
foo[104w]
sum(x) without (a) + 1
topk by (a) (1, x)
1 atan2 2
x atan2 1
x % 2 == bool 1
foo 12345678901234
foo "a very long string here"
foo 1h30m15s10ms
foo bar:baz
foo sum
foo by
foo start
foo @
foo on
foo ,
foo ]
foo [
foo {
foo =
foo =~ "a"
foo !~ "a"
foo ! "a"
foo{a!b}
foo{a!}
foo{a=~}
foo{a==b}
foo{{}
foo{a="b"}}
1 $ 2
"\uD800"
"\U00110000"
"\x4"
"\400"
"\08"
`a
'\''
'\"'
"\'"
sum by (a) (x) by (b)
sum without (a) (x) by (b)
sum(x) by (a) (y)
0x
1e
1e+
.e
1..2
1.2.3
09.5
0xg
5m5
5mm
1ms5
quantile by (job, instance) (0.99, rate(some_very_long_metric_name_total{job="api-server",instance=~"10.0.0.*"}[5m]))
sum by (job) (rate(some_very_long_metric_name_total{job="api-server"}[5m])) / on (job) group_left () sum by (job) (rate(other_metric_total[5m])) > bool 0.5
(some_very_long_metric_name_total{job="api-server"} + some_very_long_metric_name_total{job="api-server-2"}) * 2
-(some_very_long_metric_name_total{job="api-server"} + some_very_long_metric_name_total{job="api-server-2"} + x)
count_values("some_very_long_label_name_for_values", some_very_long_metric_name_total{job="api-server",instance="a"})
label_join(some_very_long_metric_name_total{job="api-server",instance="a"}, "dst", ",", "src1", "src2", "src3")
some_very_long_metric_name_total{job="api-server",instance="a",very_long_label_name="very_long_label_value_x"}
some_very_long_metric_name_total{job="api-server",instance="a",very_long_label_name="very_long_label_value_x"}[5m] offset 1h
abs(-some_very_long_metric_name_total{job="api-server",instance="a",very_long_label_name="very_long_label_value"})
QUERIES
answers "$su" shale
answers "$pu" prometheus
same=0 refused=0 k=0
exec 3<"$TEST_TMP/shale.txt" 4<"$TEST_TMP/prometheus.txt"
while IFS= read -r a <&3 && IFS= read -r b <&4; do
	k=$((k + 1))
	if [ "$a" != "$b" ]; then
		fail "'$(cat "$TEST_TMP/q/$k")': shale answers '$a', prometheus '$b'"
		continue
	fi
	same=$((same + 1))
	case $a in
	*"	error	"*) refused=$((refused + 1)) ;;
	esac
done
exec 3<&- 4<&-
expect_eq "every query answered alike ($refused of them refused)" "$n" "$same"
[ "$n" -ge 100 ] || fail "only $n queries"

# both methods; a missing query; the error's words
expect_eq "GET" "200" "$(code "$su/api/v1/format_query" -G \
	--data-urlencode 'query=sum(rate(x[5m])) by (job)')"
expect_eq "GET's answer" '{"status":"success","data":"sum by (job) (rate(x[5m]))"}' \
	"$(cat "$TEST_TMP/body")"
expect_eq "form POST" "200" "$(code "$su/api/v1/format_query" \
	-H 'Content-Type: application/x-www-form-urlencoded' \
	--data 'query=foo%7Ba%3D%22b%22%7D+offset+5m')"
expect_eq "form POST's answer" '{"status":"success","data":"foo{a=\"b\"} offset 5m"}' \
	"$(cat "$TEST_TMP/body")"
expect_eq "no query" "400" "$(code "$su/api/v1/format_query")"
expect_eq "no query's error" \
	'{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: no expression found in input"}' \
	"$(cat "$TEST_TMP/body")"
expect_eq "a bad query's error, as Prometheus words it" "$(curl -s \
	--data-urlencode 'query=sum by (a b) (x)' "$pu/api/v1/format_query")" \
	"$(curl -s --data-urlencode 'query=sum by (a b) (x)' "$su/api/v1/format_query")"
expect_eq "a bad %-escape in the form" "400" "$(code "$su/api/v1/format_query" \
	--data 'query=%zz')"

# parse_query: the tree, in the JSON of Prometheus 3's translateAST
want='{"status":"success","data":{"expr":{"args":[{"matchers":[{"name":"b","type":"=","value":"c"},{"name":"__name__","type":"=","value":"x"}],"name":"x","offset":60000,"range":300000,"startOrEnd":null,"timestamp":100000,"type":"matrixSelector"}],"func":{"argTypes":["matrix"],"name":"rate","returnType":"vector","variadic":0},"type":"call"},"grouping":["a"],"op":"sum","param":null,"type":"aggregation","without":false}}'
expect_eq "parse_query" "200" "$(code "$su/api/v1/parse_query" \
	--data-urlencode 'query=sum by (a) (rate(x{b="c"}[5m] @ 100 offset 1m))')"
expect_eq "parse_query's tree" "$want" "$(cat "$TEST_TMP/body")"
want='{"status":"success","data":{"bool":true,"lhs":{"bool":false,"lhs":{"matchers":[{"name":"__name__","type":"=","value":"a"}],"name":"a","offset":0,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"matching":{"card":"many-to-one","include":["y"],"labels":["x"],"on":true},"op":"/","rhs":{"expr":{"matchers":[{"name":"__name__","type":"=","value":"b"}],"name":"b","offset":0,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"op":"-","type":"unaryExpr"},"type":"binaryExpr"},"matching":null,"op":"\u003e","rhs":{"type":"numberLiteral","val":"1"},"type":"binaryExpr"}}'
expect_eq "parse_query, GET" "200" "$(code "$su/api/v1/parse_query" -G \
	--data-urlencode 'query=a / on (x) group_left (y) -b > bool 1')"
expect_eq "parse_query's tree of a binary expression" "$want" "$(cat "$TEST_TMP/body")"
expect_eq "parse_query of a subquery" \
	'"start" 60000 3600000 300000 "subquery"' \
	"$(curl -s "$su/api/v1/parse_query" --data-urlencode \
	'query=rate(x[5m])[1h:1m] @ start() offset 5m' |
	jq -r '.data | [(.startOrEnd | tojson), .step, .range, .offset, (.type | tojson)] | join(" ")')"
expect_eq "parse_query of a bad query" "400" "$(code "$su/api/v1/parse_query" \
	--data-urlencode 'query=1 +')"
expect_eq "... its error" '{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unexpected end of input"}' \
	"$(cat "$TEST_TMP/body")"
finish
