# promql_limits.sh - a PromQL query past a limit gets the limit's error,
# worded and typed as Prometheus's, from 'shale query' and from the HTTP
# API of 'shale serve', and the settings that set the limits
# (query_options in shale-settings(5)) are the ones that count:
#   max_samples: a range query holding more samples than that fails
#     (execution; 422 over HTTP), a smaller one over the same data passes;
#   timeout: a query that runs longer fails (timeout; 503), and a
#     client's timeout parameter may shorten the server's;
#   11,000 points: a range query with more steps is bad_data (400);
#   lookback_delta: a sample older than the lookback is not seen.
# The server is stopped by PID. Skips without curl or jq.
. "$top_srcdir/tests/lib/common.sh"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done
trap stop_serves EXIT

store="file://$TEST_TMP/store"
T0=1700000000			# seconds
# 20 series, an hour at 15 s: 4,800 samples
awk -v t0=$T0 'BEGIN {
	for (i = 0; i < 20; i++)
		for (k = 0; k < 240; k++)
			printf "load_total{i=\"%d\"} %d %d000\n", i, k * (i + 1), t0 + 15 * k
}' >"$TEST_TMP/data.prom"
"$SHALE" series "$store" import "$TEST_TMP/data.prom" >"$TEST_TMP/import.log" 2>&1 ||
	{ fail "import: $(tail -3 "$TEST_TMP/import.log")"; finish; }

conf="$TEST_TMP/settings.yaml"
# query STDOUT-FILE ARGS...: shale query with the settings; its status
query() {
	local out=$1
	shift
	"$SHALE" query --config "$conf" "$@" >"$out" 2>&1
}

# ---- max_samples ----
printf 'query_options:\n  max_samples: 1000\n' >"$conf"
END=$((T0 + 3600))
if query "$TEST_TMP/q1" --start $T0 --end $END --step 15 "$store" 'load_total'; then
	fail "20 series x 241 steps under max_samples 1000 answered"
else
	expect_eq "max_samples: the error" \
		"shale: execution: query processing would load too many samples into memory in query execution" \
		"$(cat "$TEST_TMP/q1")"
fi
query "$TEST_TMP/q2" --start $T0 --end $END --step 600 "$store" 'sum(load_total)' ||
	fail "a range of 7 steps under max_samples 1000: $(cat "$TEST_TMP/q2")"
expect_eq "max_samples: a smaller query answers" 7 "$(wc -l <"$TEST_TMP/q2")"

# ---- timeout ----
printf 'query_options:\n  timeout: 1ms\n' >"$conf"
HEAVY='max_over_time(sum(rate(load_total[5m]))[1h:1s])'
if query "$TEST_TMP/q3" --start $T0 --end $END --step 15 "$store" "$HEAVY"; then
	fail "a heavy query under a 1 ms timeout answered"
else
	expect_eq "timeout: the error" \
		"shale: timeout: query timed out in expression evaluation" "$(cat "$TEST_TMP/q3")"
fi

# ---- 11,000 points ----
printf 'query_options:\n  lookback_delta: 1m\n' >"$conf"
if query "$TEST_TMP/q4" --start $T0 --end $((T0 + 11000)) --step 1 "$store" 'load_total'; then
	fail "11,001 steps answered"
else
	expect_match "points: the error" \
		"^shale: bad_data: exceeded maximum resolution of 11,000 points per timeseries" \
		"$(cat "$TEST_TMP/q4")"
fi

# ---- lookback_delta: the last sample is at T0 + 3585 ----
query "$TEST_TMP/q5" --time $((T0 + 3585 + 50)) "$store" 'count(load_total)'
expect_eq "lookback 1m: a sample 50 s old is seen" 20 "$(awk '{ print $NF }' "$TEST_TMP/q5")"
query "$TEST_TMP/q6" --time $((T0 + 3585 + 90)) "$store" 'count(load_total)'
expect_eq "lookback 1m: a sample 90 s old is not" "" "$(cat "$TEST_TMP/q6")"

# ---- the same over HTTP, the settings from the environment ----
port=$(pick_port) || { fail "a free port"; finish; }
u="http://127.0.0.1:$port"
serve_shale "$store" "$port" || { fail "serve"; finish; }

# api WHAT STATUS TYPE PATH ARGS...: the answer's status and errorType
api() {
	local what=$1 want=$2 type=$3 path=$4 c
	shift 4
	c=$(curl -s -o "$TEST_TMP/body" -w '%{http_code}' "$@" "$u$path")
	expect_eq "$what: HTTP status" "$want" "$c"
	expect_eq "$what: errorType" "$type" "$(jq -r '.errorType // "none"' "$TEST_TMP/body")"
}
api "a client's timeout" 503 timeout /api/v1/query_range \
	--data-urlencode query="$HEAVY" --data-urlencode start=$T0 \
	--data-urlencode end=$END --data-urlencode step=15 --data-urlencode timeout=1ms
api "too many points" 400 bad_data /api/v1/query_range \
	--data-urlencode query=load_total --data-urlencode start=$T0 \
	--data-urlencode end=$((T0 + 11000)) --data-urlencode step=1
api "the lookback by parameter" 200 none /api/v1/query \
	--data-urlencode query='count(load_total)' --data-urlencode time=$((T0 + 3585 + 400)) \
	--data-urlencode lookback_delta=10m
expect_eq "lookback_delta=10m sees a sample 400 s old" 20 \
	"$(jq -r '.data.result[0].value[1]' "$TEST_TMP/body")"
kill -0 "$SERVE_PID" 2>/dev/null || fail "the server survived its queries"
stop_serves

port=$(pick_port) || { fail "a free port"; finish; }
u="http://127.0.0.1:$port"
SHALE_QUERY_OPTIONS_MAX_SAMPLES=1000 serve_shale "$store" "$port" ||
	{ fail "serve with max_samples 1000"; finish; }
api "max_samples over HTTP" 422 execution /api/v1/query_range \
	--data-urlencode query=load_total --data-urlencode start=$T0 \
	--data-urlencode end=$END --data-urlencode step=15
expect_eq "max_samples over HTTP: the words" \
	"query processing would load too many samples into memory in query execution" \
	"$(jq -r .error "$TEST_TMP/body")"
api "a query under the limit" 200 none /api/v1/query_range \
	--data-urlencode query='sum(load_total)' --data-urlencode start=$T0 \
	--data-urlencode end=$END --data-urlencode step=600
finish
