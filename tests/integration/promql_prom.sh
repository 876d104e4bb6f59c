# promql_prom.sh - the same PromQL queries put to shale and to a real
# Prometheus 2.42 loaded with the same data, compared value for value.
#
# The data, made here with awk: two hours at 15 s of counters (with a
# reset), gauges, a classic histogram and a series that stops, written
# as OpenMetrics; 'promtool tsdb create-blocks-from openmetrics' makes
# Prometheus's blocks of it and 'shale series STORE import --openmetrics'
# puts it into a file:// store. Then each query is asked of both APIs
# (instant at two times, and a range), and the answers, as lines of
# labels, time and value, must be the same series with values within a
# relative 1e-9 (NaN equal to NaN).
#
# Prometheus 2.42 reads ranges and the lookback as closed at their start
# ([t - 5m, t]) where Prometheus 3 and shale read them open ((t - 5m, t]);
# the query times here fall between samples (7 s past one), and the
# samples are 2 s past a multiple of 15 s so that a subquery's steps (on
# whole minutes) fall between them too: no sample sits on a window's edge
# and both rules agree. Prometheus runs
# with a retention of 100 years so that it keeps the old blocks. Both
# servers are stopped by PID. Skips without prometheus, promtool, curl
# or jq.
. "$top_srcdir/tests/lib/common.sh"
PROMETHEUS=$(command -v prometheus || echo /usr/bin/prometheus)
[ -x "$PROMETHEUS" ] || skip "prometheus not installed (apt-get install prometheus)"
for t in promtool curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install prometheus curl jq)"
done

PROM_PID=""
stop_all() {
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait_gone "$PROM_PID" 30
	stop_serves
}
trap stop_all EXIT

# wait_for WHAT SECONDS COMMAND...: until the command succeeds
wait_for() {
	local what=$1 secs=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt $((secs * 10)) ]; then
			fail "$what: not within ${secs}s"
			return 1
		fi
		sleep 0.1
	done
}

T0=1733500007			# the first sample, seconds (not on a minute: see below)
N=480				# samples a series: two hours at 15 s
om="$TEST_TMP/data.om"
awk -v t0=$T0 -v n=$N '
function fam(name, type) { printf "# TYPE %s %s\n", name, type }
BEGIN {
	fam("http_requests", "counter")
	split("api web", jobs, " ")
	for (j = 1; j <= 2; j++) for (i = 0; i < 3; i++) for (c = 0; c < 2; c++) {
		code = c ? "500" : "200"
		v = 0
		for (k = 0; k < n; k++) {
			v += (j * 3 + i + 1) * (c ? 0.25 : 2) + (k % 7) * 0.5
			if (j == 2 && i == 1 && c == 0 && k == 200)
				v = 3		# a counter reset
			printf "http_requests_total{job=\"%s\",instance=\"h%d\",code=\"%s\"} %.6g %d\n",
			    jobs[j], i, code, v, t0 + 15 * k
		}
	}
	fam("cpu_temp", "gauge")
	for (i = 0; i < 4; i++)
		for (k = 0; k < n; k++)
			printf "cpu_temp{instance=\"h%d\",zone=\"z%d\"} %.6g %d\n",
			    i, i % 2, 40 + 10 * sin(k / 30 + i) + i, t0 + 15 * k
	fam("request_duration_seconds", "histogram")
	split("0.1 0.5 1 +Inf", les, " ")
	for (j = 1; j <= 2; j++) {
		for (b = 1; b <= 4; b++) {
			v = 0
			for (k = 0; k < n; k++) {
				v += b * (j + (k % 5)) * 1.5
				printf "request_duration_seconds_bucket{job=\"%s\",le=\"%s\"} %.6g %d\n",
				    jobs[j], les[b], v, t0 + 15 * k
			}
		}
	}
	fam("batch_last_run", "gauge")
	for (k = 0; k < n / 2; k++)	# stops after an hour
		printf "batch_last_run{job=\"batch\"} %d %d\n", k * 3, t0 + 15 * k
	print "# EOF"
}' >"$om"

store="file://$TEST_TMP/store"
"$SHALE" series "$store" import --openmetrics "$om" >"$TEST_TMP/import.log" 2>&1 ||
	{ fail "shale import: $(tail -3 "$TEST_TMP/import.log")"; finish; }
promtool tsdb create-blocks-from openmetrics "$om" "$TEST_TMP/tsdb" \
	>"$TEST_TMP/promtool.log" 2>&1 ||
	{ fail "promtool: $(tail -3 "$TEST_TMP/promtool.log")"; finish; }

port=$(pick_port) || { fail "a free port"; finish; }
serve_shale "$store" "$port" || { fail "serve"; finish; }
su="http://127.0.0.1:$port"
pp=$(pick_port) || { fail "a free port"; finish; }
pu="http://127.0.0.1:$pp"
printf 'global:\n  scrape_interval: 1h\n' >"$TEST_TMP/prometheus.yml"
"$PROMETHEUS" --config.file="$TEST_TMP/prometheus.yml" \
	--storage.tsdb.path="$TEST_TMP/tsdb" --storage.tsdb.retention.time=100y \
	--web.listen-address="127.0.0.1:$pp" >"$TEST_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
wait_for "prometheus is ready" 60 curl -sf -o /dev/null "$pu/-/ready" || finish

# lines FILE: an answer as sorted lines "labels<TAB>time<TAB>value", or
# "error<TAB>type"
lines() {
	jq -r '
	  if .status != "success" then "error\t\(.errorType)"
	  elif .data.resultType == "scalar" or .data.resultType == "string" then
	    "\(.data.resultType)\t\(.data.result[0])\t\(.data.result[1])"
	  elif .data.resultType == "vector" then
	    .data.result[] | "\(.metric | tojson)\t\(.value[0])\t\(.value[1])"
	  else
	    .data.result[] | .metric as $m | .values[] | "\($m | tojson)\t\(.[0])\t\(.[1])"
	  end' "$1" | LC_ALL=C sort
}

# same WHAT: the two answers' lines agree (values within 1e-9 relative)
same() {
	lines "$TEST_TMP/s.json" >"$TEST_TMP/s.txt"
	lines "$TEST_TMP/p.json" >"$TEST_TMP/p.txt"
	if [ ! -s "$TEST_TMP/p.txt" ] && [ ! -s "$TEST_TMP/s.txt" ]; then
		ok "$1 (both empty)"
		return
	fi
	if diff=$(paste "$TEST_TMP/s.txt" "$TEST_TMP/p.txt" | awk -F'\t' '
	    function num(s) { return s == "NaN" ? "nan" : s == "+Inf" ? "inf" : s == "-Inf" ? "-inf" : s + 0 }
	    NF != 6 || $1 != $4 || $2 != $5 { print "line " NR ": " $0; bad = 1; exit }
	    {
		a = $3; b = $6
		if (a == b) next
		if (a == "NaN" || b == "NaN" || a ~ /Inf/ || b ~ /Inf/) { print "line " NR ": " $0; bad = 1; exit }
		d = a - b; if (d < 0) d = -d
		m = (a < 0 ? -a : a) + (b < 0 ? -b : b)
		if (d > 1e-9 * m && d > 1e-12) { print "line " NR ": " $0; bad = 1; exit }
	    }
	    END { exit bad }') &&
	    [ "$(wc -l <"$TEST_TMP/s.txt")" = "$(wc -l <"$TEST_TMP/p.txt")" ]; then
		ok "$1 ($(wc -l <"$TEST_TMP/s.txt") values)"
		nonempty=$((nonempty + 1))
	else
		fail "$1: shale and prometheus differ: ${diff:-$(wc -l <"$TEST_TMP/s.txt") against $(wc -l <"$TEST_TMP/p.txt") lines}"
	fi
}

# instant Q TIME, range Q START END STEP: ask both
instant() {
	curl -s -o "$TEST_TMP/s.json" --data-urlencode "query=$1" --data-urlencode "time=$2" "$su/api/v1/query"
	curl -s -o "$TEST_TMP/p.json" --data-urlencode "query=$1" --data-urlencode "time=$2" "$pu/api/v1/query"
	same "instant at $2: $1"
}
range() {
	curl -s -o "$TEST_TMP/s.json" --data-urlencode "query=$1" --data-urlencode "start=$2" \
		--data-urlencode "end=$3" --data-urlencode "step=$4" "$su/api/v1/query_range"
	curl -s -o "$TEST_TMP/p.json" --data-urlencode "query=$1" --data-urlencode "start=$2" \
		--data-urlencode "end=$3" --data-urlencode "step=$4" "$pu/api/v1/query_range"
	same "range $2..$3/$4: $1"
}

nonempty=0			# comparisons with values in both
TA=$((T0 + 3600 + 7))		# an hour in, between samples
TB=$((T0 + 5400 + 7))		# after batch_last_run stopped
while read -r q; do
	[ -z "$q" ] && continue
	instant "$q" $TA
	instant "$q" $TB
done <<'EOQ'
http_requests_total
http_requests_total{code="500",job=~"a.*"}
http_requests_total offset 10m
http_requests_total @ 1733501000
rate(http_requests_total[5m])
irate(http_requests_total[5m])
increase(http_requests_total[10m])
resets(http_requests_total[30m])
changes(cpu_temp[10m])
sum by (job) (rate(http_requests_total[5m]))
sum without (instance) (rate(http_requests_total[5m]))
avg by (code) (rate(http_requests_total[5m]))
count(http_requests_total)
min(cpu_temp)
max by (zone) (cpu_temp)
stddev(cpu_temp)
stdvar by (zone) (cpu_temp)
quantile(0.75, cpu_temp)
group by (job) (http_requests_total)
count_values("value", round(cpu_temp))
topk(3, rate(http_requests_total[5m]))
bottomk(2, cpu_temp)
histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))
histogram_quantile(0.5, rate(request_duration_seconds_bucket[10m]))
delta(cpu_temp[10m])
idelta(cpu_temp[5m])
deriv(cpu_temp[10m])
predict_linear(cpu_temp[15m], 600)
avg_over_time(cpu_temp[10m])
min_over_time(cpu_temp[10m])
max_over_time(cpu_temp[10m])
sum_over_time(cpu_temp[10m])
count_over_time(cpu_temp[10m])
stddev_over_time(cpu_temp[10m])
stdvar_over_time(cpu_temp[10m])
quantile_over_time(0.9, cpu_temp[20m])
last_over_time(batch_last_run[10m])
present_over_time(batch_last_run[10m])
absent_over_time(batch_last_run[10m])
absent(nonexistent{job="x"})
batch_last_run
rate(http_requests_total[5m]) / on (job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))
http_requests_total / ignoring (code) group_left http_requests_total{code="200"}
cpu_temp > 45
cpu_temp > bool 45
45 < cpu_temp
cpu_temp and on (instance) cpu_temp{zone="z0"}
cpu_temp unless on (instance) cpu_temp{zone="z0"}
cpu_temp{zone="z0"} or cpu_temp
-cpu_temp + 2 * cpu_temp ^ 2 % 7
abs(-cpu_temp)
clamp(cpu_temp, 38, 48)
clamp_min(cpu_temp, 45)
clamp_max(cpu_temp, 45)
round(cpu_temp, 0.5)
sqrt(cpu_temp)
ln(cpu_temp)
exp(cpu_temp / 10)
floor(cpu_temp) + ceil(cpu_temp)
label_replace(cpu_temp, "host", "node-$1", "instance", "h(.*)")
label_join(cpu_temp, "both", "/", "instance", "zone")
sort_desc(cpu_temp)
scalar(sum(cpu_temp))
vector(1) + 1
time()
hour(vector(time()))
day_of_week(vector(time()))
timestamp(cpu_temp)
max_over_time(rate(http_requests_total[5m])[30m:1m])
avg_over_time(cpu_temp[30m:2m] offset 5m)
EOQ

for q in 'sum by (job) (rate(http_requests_total[5m]))' 'cpu_temp' \
    'histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))' \
    'topk(2, cpu_temp)' 'batch_last_run' 'max_over_time(cpu_temp[10m:1m])'; do
	range "$q" $((T0 + 607)) $((T0 + 7200 + 7)) 60
done
# answers that are empty on both sides prove nothing: most must have values
[ "$nonempty" -ge 140 ] || fail "only $nonempty comparisons had values"

finish
