# loki_api.sh - the Loki query API of 'shale serve' (file://), asked what
# Grafana's Loki data source asks:
#   /ready and the build info; its health check (an instant
#   vector(1)+vector(1), GET and form POST, answering 2); label names and
#   values with start/end in nanoseconds and a query; series with
#   match[]; a log query with start/end in nanoseconds, limit and both
#   directions, and with a line filter; a metric range query with step
#   "<n>ms"; the logs-volume query sum by (level) (count_over_time(...));
#   index/stats;
#   the errors as Loki writes them (text, status 400): a query that does
#   not parse (with its line and column), a log query at an instant, a
#   limit past 5000, a bad limit, step, direction and time, end before
#   start, too many points.
# Streams are appended through the log API, so their entries carry the
# time of the append. shale is stopped by PID. Skips without curl or jq.
. "$top_srcdir/tests/lib/common.sh"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done
trap stop_serves EXIT

port=$(pick_port) || { fail "a free port"; finish; }
u="http://127.0.0.1:$port"
l="$u/loki/api/v1"
serve_shale "file://$TEST_TMP/store" "$port" || { fail "serve"; finish; }

t0=$(date +%s%N)
i=1
: >"$TEST_TMP/api"
while [ $i -le 10 ]; do
	lvl=info
	[ $((i % 4)) -eq 0 ] && lvl=error
	echo "level=$lvl msg=\"request $i\" status=$((i % 4 == 0 ? 500 : 200))" >>"$TEST_TMP/api"
	i=$((i + 1))
done
expect_eq "append app/api" 200 \
	"$(code "$u/api/v1/log/append?key=app/api" -X POST --data-binary @"$TEST_TMP/api")"
printf 'level=info msg="GET /"\nlevel=info msg="GET /x"\n' >"$TEST_TMP/web"
expect_eq "append app/web" 200 \
	"$(code "$u/api/v1/log/append?key=app/web" -X POST --data-binary @"$TEST_TMP/web")"
expect_eq "append other/db" 200 \
	"$(code "$u/api/v1/log/append?key=other/db" -X POST --data-binary 'checkpoint')"
start=$((t0 - 300000000000))
end=$(( $(date +%s%N) + 60000000000 ))

# ---- readiness and build info ----
expect_eq "/ready" 200 "$(code "$u/ready")"
expect_eq "/ready's body" ready "$(cat "$TEST_TMP/body")"
expect_eq "buildinfo" 200 "$(code "$l/status/buildinfo")"
expect_match "buildinfo's version" '^3\.' "$(jq -r .version "$TEST_TMP/body")"

# ---- Grafana's health check ----
expect_eq "health check" 200 "$(code "$l/query" -G --data-urlencode 'query=vector(1)+vector(1)' \
	--data-urlencode "time=$end")"
expect_eq "health check: 2" "success vector 2" \
	"$(jq -r '[.status, .data.resultType, .data.result[0].value[1]] | join(" ")' "$TEST_TMP/body")"
expect_eq "health check, form POST" 200 "$(code "$l/query" --data-urlencode 'query=vector(1)+vector(1)')"
expect_eq "health check, form POST: 2" 2 "$(jq -r '.data.result[0].value[1]' "$TEST_TMP/body")"
expect_match "its time is float seconds" '^[0-9]+(\.[0-9]+)?$' \
	"$(jq -r '.data.result[0].value[0]' "$TEST_TMP/body")"

# ---- labels, label values, series ----
expect_eq "labels" 200 "$(code "$l/labels?start=$start&end=$end")"
expect_eq "labels holds stream" stream "$(jq -r '.data[] | select(. == "stream")' "$TEST_TMP/body")"
expect_eq "stream's values" 200 "$(code "$l/label/stream/values?start=$start&end=$end")"
expect_eq "stream's values: the three streams" "app/api app/web other/db" \
	"$(jq -r '.data | join(" ")' "$TEST_TMP/body")"
expect_eq "values with a query" 200 "$(code "$l/label/stream/values" -G \
	--data-urlencode 'query={stream=~"app/.+"}' --data-urlencode "start=$start" \
	--data-urlencode "end=$end")"
expect_eq "values with a query: two" "app/api app/web" "$(jq -r '.data | join(" ")' "$TEST_TMP/body")"
expect_eq "values of a label no stream has" '{"status":"success"}' \
	"$(curl -s "$l/label/nosuch/values?start=$start&end=$end")"
expect_eq "values of a range before every append" '{"status":"success"}' \
	"$(curl -s "$l/label/stream/values?start=1000000000&end=1100000000")"
expect_eq "series" 200 "$(code "$l/series" -G --data-urlencode 'match[]={stream="app/api"}' \
	--data-urlencode "start=$start" --data-urlencode "end=$end")"
expect_eq "series: app/api" "app/api" "$(jq -r '[.data[].stream] | join(" ")' "$TEST_TMP/body")"
expect_eq "series, two match[], form POST" "app/web other/db" \
	"$(curl -s "$l/series" --data-urlencode 'match[]={stream="app/web"}' \
	--data-urlencode 'match[]={stream="other/db"}' | jq -r '[.data[].stream] | join(" ")')"

# ---- log queries ----
expect_eq "log query, backward" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query={stream="app/api"}' --data-urlencode "start=$start" \
	--data-urlencode "end=$end" --data-urlencode limit=3 --data-urlencode direction=backward)"
expect_eq "backward: streams" streams "$(jq -r .data.resultType "$TEST_TMP/body")"
expect_eq "backward: the newest three" 'request 10|request 9|request 8' \
	"$(jq -r '[.data.result[].values[][1] | capture("msg=\"(?<m>[^\"]*)\"").m] | join("|")' "$TEST_TMP/body")"
expect_match "times are nanosecond strings" '^[0-9]{19}$' \
	"$(jq -r '.data.result[0].values[0][0]' "$TEST_TMP/body")"
expect_eq "stats: entries returned" 3 "$(jq -r .data.stats.summary.totalEntriesReturned "$TEST_TMP/body")"
expect_eq "log query, forward" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query={stream="app/api"}' --data-urlencode "start=$start" \
	--data-urlencode "end=$end" --data-urlencode limit=2 --data-urlencode direction=FORWARD)"
expect_eq "forward: the oldest two" 'request 1|request 2' \
	"$(jq -r '[.data.result[].values[][1] | capture("msg=\"(?<m>[^\"]*)\"").m] | join("|")' "$TEST_TMP/body")"
expect_eq "a line filter" 200 "$(code "$l/query_range" --data-urlencode \
	'query={stream=~"app/.+"} |= "level=error"' --data-urlencode "start=$start" \
	--data-urlencode "end=$end")"
expect_eq "the error lines" 2 "$(jq -r '[.data.result[].values[]] | length' "$TEST_TMP/body")"

# ---- metric queries ----
expect_eq "a metric range query, step in ms" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query=count_over_time({stream="app/api"}[10m])' \
	--data-urlencode "start=$start" --data-urlencode "end=$end" --data-urlencode step=60000ms)"
expect_eq "matrix" matrix "$(jq -r .data.resultType "$TEST_TMP/body")"
expect_eq "its series" app/api "$(jq -r '.data.result[0].metric.stream' "$TEST_TMP/body")"
expect_eq "its last count" 10 "$(jq -r '.data.result[0].values[-1][1]' "$TEST_TMP/body")"
expect_eq "logs volume" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query=sum by (level) (count_over_time({stream=~"app/.+"} | drop __error__[1m]))' \
	--data-urlencode "start=$start" --data-urlencode "end=$end" --data-urlencode step=60000ms)"
expect_eq "logs volume: matrix" matrix "$(jq -r .data.resultType "$TEST_TMP/body")"
expect_eq "logs volume by a parsed level" "error info" "$(curl -s "$l/query_range" -G \
	--data-urlencode 'query=sum by (level) (count_over_time({stream=~"app/.+"} | logfmt [10m]))' \
	--data-urlencode "start=$start" --data-urlencode "end=$end" --data-urlencode step=60000ms |
	jq -r '[.data.result[].metric.level] | sort | join(" ")')"

# ---- index stats ----
expect_eq "index/stats" 200 "$(code "$l/index/stats" -G --data-urlencode 'query={stream=~"app/.+"} |= "x"' \
	--data-urlencode "start=$start" --data-urlencode "end=$end")"
expect_eq "index/stats: two streams" 2 "$(jq -r .streams "$TEST_TMP/body")"
expect_eq "index/stats: their bytes" "$(cat "$TEST_TMP/api" "$TEST_TMP/web" | wc -c)" \
	"$(jq -r .bytes "$TEST_TMP/body")"

# ---- errors, as Loki words them ----
expect_eq "a bad query" 400 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"} |= ')"
expect_match "its message" '^parse error at line 1, col [0-9]+: ' "$(cat "$TEST_TMP/body")"
expect_match "as text" '^Content-Type: text/plain' "$(tr -d '\r' <"$TEST_TMP/headers" | grep -i '^content-type')"
expect_eq "a log query at an instant" 400 "$(code "$l/query" -G --data-urlencode 'query={stream="app/api"}')"
expect_eq "its message" "log queries are not supported as an instant query type, please change your query to a range query type" \
	"$(cat "$TEST_TMP/body")"
expect_eq "limit past 5000" 400 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"}' \
	--data-urlencode limit=5001)"
expect_eq "its message" "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)" \
	"$(cat "$TEST_TMP/body")"
expect_eq "a bad limit" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&limit=abc")"
expect_eq "its message" 'strconv.Atoi: parsing "abc": invalid syntax' "$(cat "$TEST_TMP/body")"
expect_eq "a zero step" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&step=0")"
expect_eq "its message" "zero or negative query resolution step widths are not accepted. Try a positive integer" \
	"$(cat "$TEST_TMP/body")"
expect_eq "a bad step" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&step=1x")"
expect_eq "its message" 'cannot parse "1x" to a valid duration' "$(cat "$TEST_TMP/body")"
expect_eq "too many points" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&start=0&end=100000&step=1")"
expect_match "its message" '^exceeded maximum resolution of 11,000 points' "$(cat "$TEST_TMP/body")"
expect_eq "end before start" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&start=20&end=10")"
expect_eq "its message" "end timestamp must not be before start time" "$(cat "$TEST_TMP/body")"
expect_eq "a bad direction" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&direction=up")"
expect_eq "its message" "invalid direction 'up'" "$(cat "$TEST_TMP/body")"
expect_eq "a bad time" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&end=soon")"
expect_eq "its message" "could not parse 'end' parameter: strconv.ParseInt: parsing \"soon\": invalid syntax" \
	"$(cat "$TEST_TMP/body")"
expect_eq "an RFC 3339 time" 200 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"}' \
	--data-urlencode "start=2023-11-14T22:13:20.5Z" --data-urlencode "end=2023-11-14T23:13:20Z")"
expect_eq "a float time" 200 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"}' \
	--data-urlencode "start=1700000000.5" --data-urlencode "end=1700003600")"

stop_serves
finish
