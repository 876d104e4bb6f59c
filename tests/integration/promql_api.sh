# promql_api.sh - the PromQL query API of 'shale serve' (file://) as
# Grafana's Prometheus data source uses it, against a real Prometheus
# 2.42 holding the same samples.
#
# One OpenMetrics file is the data: 'promtool tsdb create-blocks-from
# openmetrics' loads it into a TSDB for Prometheus, and a form POST to
# shale's /api/v1/import/prometheus into shale. Then, byte for byte the
# same answer from both:
#   what Grafana sends: the health check (1+1 at a time, GET and form
#   POST), /api/v1/status/buildinfo, label names and values with match[]
#   and start/end (GET and POST), /api/v1/series, /api/v1/metadata, a
#   form-POSTed /api/v1/query_range, /api/v1/query_exemplars;
#   instant queries (selectors, offset, @, arithmetic, comparisons, set
#   operators, vector matching, a range vector and a subquery at an
#   instant, scalars, strings, NaN, infinities, 1e-07 and 1e+21, an
#   empty result, a time with milliseconds) and range queries (steps of
#   15 s, 37.5 s, 1m), and the functions and aggregations Grafana's
#   panels use once the store has them (until then: counted, not
#   compared);
#   the errors both word alike: a query that does not parse, a bad or
#   zero step, too many points, end before start, a bad time.
# A slow query stops at its timeout (503), and is canceled (a 499 in
# the server's metrics) when its client goes away.
# Then what Prometheus 3 answers and 2.42 does not, as written: a range
# query's parse error and a range vector in a range query (both
# 'invalid parameter "query"'), limit and its warning, stats, lookback_
# delta, label values with < and & unescaped, 204 for exemplars of a
# query without a selector; and 'shale query' printing the same JSON as
# the API, and its text and CSV.
# Times are 7 s off the 15 s grid of the samples, so that no sample sits
# on the edge of a lookback or a range, where Prometheus 3 (left-open)
# and 2.42 (closed) differ. Prometheus and shale are stopped by PID.
# Skips without prometheus, promtool, curl or jq.
. "$top_srcdir/tests/lib/common.sh"
PROMETHEUS=$(command -v prometheus || echo /usr/bin/prometheus)
PROMTOOL=$(command -v promtool || echo /usr/bin/promtool)
[ -x "$PROMETHEUS" ] || skip "prometheus not installed (apt-get install prometheus)"
[ -x "$PROMTOOL" ] || skip "promtool not installed (apt-get install prometheus)"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done

PROM_PID=""
cleanup() {
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait_gone "$PROM_PID" 30
	stop_serves
}
trap cleanup EXIT

T0=1700000000		# 2023-11-14T22:13:20Z; samples every 15 s for 10 min
data="$TEST_TMP/data.om"
awk -v t0=$T0 'BEGIN {
	# OpenMetrics keeps a family together: a series at a time
	for (i = 0; i <= 40; i++)
		s("http_requests_total{job=\"api\",code=\"200\"}", 10 * i, i)
	for (i = 0; i <= 40; i++)
		s("http_requests_total{job=\"api\",code=\"500\"}", i < 20 ? i : i - 20, i)
	for (i = 0; i <= 40; i++)
		s("http_requests_total{job=\"web\",code=\"200\"}", 3 * i + 0.5, i)
	for (i = 0; i <= 40; i++)
		s("temperature{room=\"h\\\"all\\\\ été\"}",
		    sprintf("%.2f", 20 + (i % 7) * 0.25 - (i % 3) * 1.5), i)
	for (i = 0; i <= 20; i++)	# up goes at T0+5m
		s("up{job=\"api\",instance=\"h1:9100\"}", 1, i)
	for (i = 0; i <= 40; i += 4) {
		s("odd{kind=\"tiny\"}", "0.0000001", i)
		s("odd{kind=\"huge\"}", "1e+21", i)
		s("odd{kind=\"nan\"}", "NaN", i)
		s("odd{kind=\"inf\"}", "+Inf", i)
		s("odd{kind=\"neg\"}", "-0.25", i)
	}
	print "# EOF"
}
function s(name, v, i) { print name " " v " " (t0 + 15 * i) }' >"$data"

"$PROMTOOL" tsdb create-blocks-from openmetrics "$data" "$TEST_TMP/tsdb" \
	>"$TEST_TMP/promtool.log" 2>&1 || { fail "promtool: $(tail -3 "$TEST_TMP/promtool.log")"; finish; }

sp=$(pick_port) && pp=$(pick_port) || { fail "free ports"; finish; }
su="http://127.0.0.1:$sp"
pu="http://127.0.0.1:$pp"
printf 'global:\n  scrape_interval: 1m\n' >"$TEST_TMP/prometheus.yml"
"$PROMETHEUS" --config.file="$TEST_TMP/prometheus.yml" \
	--storage.tsdb.path="$TEST_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pp" >"$TEST_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
store="file://$TEST_TMP/store"
serve_shale "$store" "$sp" || { fail "serve"; finish; }
expect_eq "import the OpenMetrics file" 204 "$(code "$su/api/v1/import/prometheus" \
	-H 'Content-Type: application/openmetrics-text' --data-binary @"$data")"
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

# same WHAT PATH [CURL-ARGS...]: shale and Prometheus answer alike, the
# status and the body byte for byte
n_same=0
same() {
	local what=$1 path=$2 a b ca cb
	shift 2
	ca=$(curl -s -g -o "$TEST_TMP/p.body" -w '%{http_code}' "$@" "$pu$path")
	cb=$(curl -s -g -o "$TEST_TMP/s.body" -w '%{http_code}' "$@" "$su$path")
	a=$(cat "$TEST_TMP/p.body")
	b=$(cat "$TEST_TMP/s.body")
	if [ "$ca" = "$cb" ] && [ "$a" = "$b" ]; then
		n_same=$((n_same + 1))
	else
		fail "$what: Prometheus $ca, shale $cb"
		printf '  prometheus: %.600s\n  shale:      %.600s\n' "$a" "$b"
	fi
}

# The data source's health check, and what it asks to fill its editor.
same "health check" "/api/v1/query?query=1%2B1&time=1700000000.123"
same "health check, form POST" /api/v1/query \
	--data-urlencode 'query=1+1' --data-urlencode "time=$T0"
all='match[]={__name__=~".+"}'
for q in "match[]=http_requests_total" "match[]={job=\"api\"}" ""; do
	for m in GET POST; do
		if [ $m = GET ]; then set -- -G; else set -- -X POST; fi
		same "$m labels $q" /api/v1/labels "$@" ${q:+--data-urlencode "$q"} \
			--data-urlencode "start=$((T0 - 3600))" --data-urlencode "end=$((T0 + 3600))"
		same "$m series $q" /api/v1/series "$@" \
			--data-urlencode "${q:-$all}" \
			--data-urlencode "start=$((T0 - 3600))" --data-urlencode "end=$((T0 + 3600))"
	done
	same "label values $q" /api/v1/label/__name__/values -G ${q:+--data-urlencode "$q"} \
		--data-urlencode "start=$((T0 - 3600))" --data-urlencode "end=$((T0 + 3600))"
	same "job values $q" /api/v1/label/job/values -G ${q:+--data-urlencode "$q"}
done
same "metadata" "/api/v1/metadata?limit=10"
same "query_range, form POST" /api/v1/query_range \
	-H 'Content-Type: application/x-www-form-urlencoded' \
	--data-urlencode 'query=http_requests_total{job="api"}' \
	--data-urlencode "start=$((T0 - 93))" --data-urlencode "end=$((T0 + 907))" \
	--data-urlencode 'step=30'
same "query_exemplars, form POST" /api/v1/query_exemplars \
	--data-urlencode 'query=http_requests_total' \
	--data-urlencode "start=$T0" --data-urlencode "end=$((T0 + 600))"
c=$(code "$su/api/v1/status/buildinfo")
expect_eq "buildinfo" "200 $("$SHALE" version | awk '{ print $NF; exit }')" \
	"$c $(jq -r .data.version "$TEST_TMP/body")"

# Instant and range queries.
instant='up
http_requests_total
http_requests_total{code="200"}
odd
temperature
esc_absent
1+1
-2.5
"a string"
http_requests_total[1m]
temperature[2m:30s]
http_requests_total offset 1m
http_requests_total @ 1700000300
http_requests_total - 1
http_requests_total / 2 > 30
http_requests_total > bool 100
-odd
odd * 2
2 ^ 0.5
http_requests_total{code="200"} / on(job) group_left http_requests_total{code="500"}
http_requests_total and on(job) up
http_requests_total unless on(job) up
http_requests_total or up
up == 1'
ranged='up
http_requests_total
odd
temperature
1+1
http_requests_total - 1
http_requests_total offset 1m
temperature > 19
http_requests_total or up'
# needing functions or aggregations; compared once the store has them
later='sum by (job) (rate(http_requests_total[5m]))
rate(http_requests_total[1m])
sum(http_requests_total)
count by (code) (http_requests_total)
topk(2, http_requests_total)
max_over_time(temperature[3m])
time()'
n_later=0
for t in $((T0 + 607)) $((T0 + 307)).5 $((T0 + 7)) $((T0 - 3)) $((T0 + 907)) 1700001000.123; do
	while IFS= read -r q; do
		same "$q at $t" /api/v1/query --data-urlencode "query=$q" --data-urlencode "time=$t"
	done <<EOQ
$instant
EOQ
done
for st in 15 37.5 1m; do
	while IFS= read -r q; do
		same "$q, step $st" /api/v1/query_range --data-urlencode "query=$q" \
			--data-urlencode "start=$((T0 - 93))" --data-urlencode "end=$((T0 + 1007))" \
			--data-urlencode "step=$st"
	done <<EOQ
$ranged
EOQ
done
while IFS= read -r q; do
	c=$(code "$su/api/v1/query" --data-urlencode "query=$q" --data-urlencode "time=$((T0 + 607))")
	if [ "$c" = 422 ] && grep -Eq 'not implemented|not here' "$TEST_TMP/body"; then
		n_later=$((n_later + 1))
		continue
	fi
	same "$q" /api/v1/query --data-urlencode "query=$q" --data-urlencode "time=$((T0 + 607))"
	same "$q, range" /api/v1/query_range --data-urlencode "query=$q" \
		--data-urlencode "start=$((T0 - 93))" --data-urlencode "end=$((T0 + 1007))" \
		--data-urlencode "step=60"
done <<EOQ
$later
EOQ

# Errors both word alike.
same "a query that does not parse" "/api/v1/query?query=sum(up"
same "an empty query" "/api/v1/query?query="
same "a bad time" "/api/v1/query?query=up&time=yesterday"
same "a bad timeout" "/api/v1/query?query=up&timeout=soon"
same "a zero step" "/api/v1/query_range?query=up&start=$T0&end=$((T0 + 60))&step=0"
same "a negative step" "/api/v1/query_range?query=up&start=$T0&end=$((T0 + 60))&step=-15"
same "a bad step" "/api/v1/query_range?query=up&start=$T0&end=$((T0 + 60))&step=1x"
same "no step" "/api/v1/query_range?query=up&start=$T0&end=$((T0 + 60))"
same "too many points" "/api/v1/query_range?query=up&start=$T0&end=$((T0 + 11001))&step=1"
same "end before start" "/api/v1/query_range?query=up&start=$T0&end=$((T0 - 1))&step=1"
same "a bad start" "/api/v1/query_range?query=up&start=x&end=$T0&step=1"
same "exemplars: end before start" "/api/v1/query_exemplars?query=up&start=$T0&end=$((T0 - 1))"
same "exemplars: a bad query" "/api/v1/query_exemplars?query=up("
echo "$n_same answers the same as Prometheus's; $n_later queries wait for functions or aggregations"

# Prometheus 3, as it answers.
# a label value Prometheus 3 writes unescaped, where 2.42 writes \u003c
expect_eq "import a series with < and & in a value" 204 "$(printf 'esc{v="a<b&c"} 1 %s000\n' $T0 |
	code "$su/api/v1/import/prometheus" --data-binary @-)"
# want WHAT STATUS BODY CURL-ARGS...: shale's answer, byte for byte
want() {
	local what=$1 st=$2 body=$3 c
	shift 3
	c=$(curl -s -g -o "$TEST_TMP/body" -w '%{http_code}' "$@")
	expect_eq "$what" "$st $body" "$c $(cat "$TEST_TMP/body")"
}
want "a range query that does not parse" 400 \
	'{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:7: parse error: unclosed left parenthesis"}' \
	"$su/api/v1/query_range?query=sum(up&start=$T0&end=$((T0 + 60))&step=15"
want "a range vector in a range query" 400 \
	'{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"}' \
	"$su/api/v1/query_range?query=up[5m]&start=$T0&end=$((T0 + 60))&step=15"
want "a string in a range query" 400 \
	'{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": invalid expression type \"string\" for range query, must be Scalar or instant Vector"}' \
	"$su/api/v1/query_range?query=%22a%22&start=$T0&end=$((T0 + 60))&step=15"
want "label values unescaped" 200 \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"esc\",\"v\":\"a<b&c\"},\"value\":[$((T0 + 7)),\"1\"]}]}}" \
	"$su/api/v1/query?query=esc&time=$((T0 + 7))"
want "limit" 200 \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"odd\",\"kind\":\"huge\"},\"value\":[$((T0 + 7)),\"1e+21\"]},{\"metric\":{\"__name__\":\"odd\",\"kind\":\"inf\"},\"value\":[$((T0 + 7)),\"+Inf\"]}]},\"warnings\":[\"results truncated due to limit\"]}" \
	"$su/api/v1/query?query=odd&time=$((T0 + 7))&limit=2"
want "limit, range" 200 \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":\"odd\",\"kind\":\"huge\"},\"values\":[[$((T0 + 7)),\"1e+21\"]]}]},\"warnings\":[\"results truncated due to limit\"]}" \
	"$su/api/v1/query_range?query=odd&start=$((T0 + 7))&end=$((T0 + 7))&step=1&limit=1"
want "limit not reached" 200 \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"instance\":\"h1:9100\",\"job\":\"api\"},\"value\":[$((T0 + 7)),\"1\"]}]}}" \
	"$su/api/v1/query?query=up&time=$((T0 + 7))&limit=1"
want "a negative limit" 400 \
	'{"status":"error","errorType":"bad_data","error":"invalid parameter \"limit\": limit must be non-negative"}' \
	"$su/api/v1/query?query=up&limit=-1"
want "a bad limit" 400 \
	'{"status":"error","errorType":"bad_data","error":"invalid parameter \"limit\": strconv.Atoi: parsing \"ten\": invalid syntax"}' \
	"$su/api/v1/query?query=up&limit=ten"
want "lookback_delta" 200 \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}" \
	"$su/api/v1/query?query=up&time=$((T0 + 367))&lookback_delta=1m"
want "the default lookback" 200 \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"instance\":\"h1:9100\",\"job\":\"api\"},\"value\":[$((T0 + 367)),\"1\"]}]}}" \
	"$su/api/v1/query?query=up&time=$((T0 + 367))"
want "a bad lookback_delta" 400 \
	'{"status":"error","errorType":"bad_data","error":"error parsing lookback delta duration: cannot parse \"x\" to a valid duration"}' \
	"$su/api/v1/query?query=up&lookback_delta=x"
want "exemplars of a query without a selector" 204 "" "$su/api/v1/query_exemplars?query=1%2B1"
c=$(code "$su/api/v1/query" --data-urlencode 'query=http_requests_total' \
	--data-urlencode "time=$((T0 + 307))" --data-urlencode 'stats=all')
expect_eq "stats: the shape" "200 timings,samples evalTotalTime,resultSortTime,queryPreparationTime,innerEvalTime,execQueueTime,execTotalTime totalQueryableSamples,peakSamples 3" \
	"$c $(jq -r '.data.stats | [(keys_unsorted | join(",")),
		(.timings | keys_unsorted | join(",")), (.samples | keys_unsorted | join(","))] |
		join(" ")' "$TEST_TMP/body") $(jq '.data.result | length' "$TEST_TMP/body")"
expect_eq "stats: the figures are numbers" true \
	"$(jq '[.data.stats.timings[], .data.stats.samples[]] | all(type == "number")' "$TEST_TMP/body")"

# A slow query (a subquery of 864 million steps) stops at its timeout,
# and when its client goes away: the server counts a 499 for it.
slow='count_over_time(http_requests_total[10d:1ms])'
c=$(code "$su/api/v1/query" --data-urlencode "query=count_over_time(up[1m])")
if [ "$c" = 422 ] && grep -Eq 'not implemented' "$TEST_TMP/body"; then
	echo "no count_over_time yet: the timeout and the cancel are not tried"
else
	want "a timeout" 503 \
		'{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}' \
		"$su/api/v1/query" --data-urlencode "query=$slow" --data-urlencode "time=$((T0 + 607))" \
		--data-urlencode 'timeout=100ms'
	curl -s -o /dev/null --max-time 0.3 "$su/api/v1/query" \
		--data-urlencode "query=$slow" --data-urlencode "time=$((T0 + 607))"
	canceled() {
		curl -s "$su/metrics" | grep -q \
			'^http_requests_total{method="POST",endpoint="/api/v1/query",status="499"} 1$'
	}
	i=0
	until canceled; do
		i=$((i + 1))
		[ "$i" -gt 600 ] && break
		sleep 0.1
	done
	canceled && ok "a query whose client went away is canceled (499)" ||
		fail "no 499 for the query whose client went away"
fi

# shale query: the same JSON as the API, and its text and CSV
api=$(curl -s -g "$su/api/v1/query?query=http_requests_total%20or%20odd&time=$((T0 + 307)).5")
cli=$("$SHALE" query --format json --time $((T0 + 307)).5 "$store" 'http_requests_total or odd' 2>&1)
expect_eq "shale query --format json: the API's answer" "$api" "$cli"
api=$(curl -s -g "$su/api/v1/query_range?query=temperature&start=$((T0 - 93))&end=$((T0 + 1007))&step=37.5")
cli=$("$SHALE" query --format json --start $((T0 - 93)) --end $((T0 + 1007)) --step 37.5 \
	"$store" 'temperature' 2>&1)
expect_eq "shale query --format json, a range: the API's answer" "$api" "$cli"
expect_eq "shale query, text" 'http_requests_total{code="200",job="api"} 200
http_requests_total{code="200",job="web"} 60.5
http_requests_total{code="500",job="api"} 0
temperature{room="h\"all\\ été"} 18.5' \
	"$("$SHALE" query --time 2023-11-14T22:18:27Z "$store" 'http_requests_total or temperature' 2>&1)"
expect_eq "shale query, csv" 'time,series,value
1700000307,"up{instance=""h1:9100"",job=""api""}",1
1700000337,"up{instance=""h1:9100"",job=""api""}",1
1700000367,"up{instance=""h1:9100"",job=""api""}",1
1700000397,"up{instance=""h1:9100"",job=""api""}",1' \
	"$("$SHALE" query --format csv --start $((T0 + 307)) --end $((T0 + 397)) --step 30s "$store" up 2>&1)"
expect_eq "shale query, a scalar" "2" "$("$SHALE" query "$store" '1+1' 2>&1)"
out=$("$SHALE" query "$store" 'sum(up' 2>&1)
expect_eq "shale query, a bad query: 1 and the API's words" \
	"1 shale: bad_data: 1:7: parse error: unclosed left parenthesis" "$? $out"
finish
