# bench_query.sh - 'shale bench query' runs on a small shape (300
# series, one hour at 15 s): it loads the store and its OpenMetrics
# twin, answers every query of its table in process (cold and warm
# figures, the store's GETs), the same through 'shale serve --read-only'
# (--url, the GETs from its /metrics), and its answers agree with
# Prometheus 2.42's on the same samples (promtool's blocks, asked
# through the HTTP API with --url): the same number of series and the
# same sum of their values for each query. The figures themselves are
# for people: speed is never asserted here. The server and Prometheus
# are stopped by PID. Skips without curl; the comparison with Prometheus
# is left out without promtool or prometheus.
. "$top_srcdir/tests/lib/common.sh"
command -v curl >/dev/null 2>&1 || skip "curl not installed (apt-get install curl)"
PROMETHEUS=$(command -v prometheus || echo /usr/bin/prometheus)
PROM_PID=""
cleanup() {
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait_gone "$PROM_PID" 30
	stop_serves
}

# compare WHO ROWS OTHER-ROWS: each query's series and sum agree
compare() {
	local k a b same
	for k in 1 2 3 4 5 6; do
		a=$(echo "$2" | awk -v k="$k" '$1 == k { print $2, $7, $9 }')
		b=$(echo "$3" | awk -v k="$k" '$1 == k { print $2, $7, $9 }')
		same=$(echo "$a $b" | awk 'NF == 6 { d = $3 - $6; if (d < 0) d = -d
			m = ($3 < 0 ? -$3 : $3) + ($6 < 0 ? -$6 : $6)
			print ($2 == $5 && $2 > 0 && d <= 1e-9 * m) ? "same" : "differs" }')
		expect_eq "query $k: shale's answer (series, sum) is $1's: '$a' against '$b'" same "$same"
	done
}
trap cleanup EXIT
export XDG_CONFIG_HOME="$TEST_TMP/config" XDG_CACHE_HOME="$TEST_TMP/cache"
dir="$TEST_TMP/bq"
mkdir -p "$dir"

out=$("$SHALE" bench query --load --series 300 --hours 1 --openmetrics "$TEST_TMP/om.txt" "$dir" 2>&1)
expect_eq "load exits 0" 0 $?
echo "$out"
expect_match "the data's shape" "^data: 300 series, 4 jobs, 240 scrapes every 15 s = 72000 samples" "$out"
expect_match "the load's figures" "^shale load: 72000 samples appended" "$out"
expect_eq "the OpenMetrics twin" "72001" "$(wc -l <"$TEST_TMP/om.txt")"

out=$("$SHALE" bench query --runs 2 "$dir" 2>&1)
expect_eq "in process exits 0" 0 $?
echo "$out"
# row: K NAME COLD WARM GETS-COLD GETS-WARM SERIES SAMPLES SUM
rows=$(echo "$out" | awk '$1 ~ /^[0-9]$/ && NF == 9 && $3 + 0 > 0 && $4 + 0 > 0')
expect_eq "six queries answered" 6 "$(echo "$rows" | grep -c .)"
expect_eq "every cold run reads the store" 6 "$(echo "$rows" | awk '$5 > 0' | grep -c .)"
expect_match "the peak RSS" "^peak RSS in process: [0-9.]+ MiB" "$out"
"$SHALE" bench query --query 7 "$dir" >/dev/null 2>&1
expect_eq "an unknown query is a usage error" 2 $?

sp=$(pick_port) || { fail "a free port"; finish; }
serve_shale "file://$dir/store" "$sp" --read-only || { fail "shale serve"; finish; }
sout=$("$SHALE" bench query --runs 2 --url "http://127.0.0.1:$sp" "$dir" 2>&1)
expect_eq "through shale serve exits 0" 0 $?
echo "$sout"
srows=$(echo "$sout" | awk '$1 ~ /^[0-9]$/ && NF == 9')
expect_eq "the server's GETs counted" 6 "$(echo "$srows" | awk '$5 ~ /^[0-9]+$/ && $6 ~ /^[0-9]+$/' | grep -c .)"
compare "shale serve" "$rows" "$srows"
stop_serves

if ! command -v promtool >/dev/null 2>&1 || [ ! -x "$PROMETHEUS" ]; then
	echo "no promtool or prometheus: the answers are not compared with Prometheus's"
	finish
fi
promtool tsdb create-blocks-from openmetrics --max-block-duration=24h \
	"$TEST_TMP/om.txt" "$TEST_TMP/prom" >"$TEST_TMP/promtool.log" 2>&1 ||
	{ fail "promtool: $(tail -3 "$TEST_TMP/promtool.log")"; finish; }
echo 'global: {}' >"$TEST_TMP/prom.yml"
pp=$(pick_port) || { fail "a free port"; finish; }
"$PROMETHEUS" --config.file="$TEST_TMP/prom.yml" --storage.tsdb.path="$TEST_TMP/prom" \
	--storage.tsdb.retention.time=10y --web.listen-address="127.0.0.1:$pp" \
	>"$TEST_TMP/prom.log" 2>&1 &
PROM_PID=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$pp/-/ready"; do
	i=$((i + 1))
	if [ "$i" -gt 600 ] || pid_gone "$PROM_PID"; then
		fail "prometheus not ready within 60 s: $(tail -3 "$TEST_TMP/prom.log")"
		finish
	fi
	sleep 0.1
done
pout=$("$SHALE" bench query --runs 1 --url "http://127.0.0.1:$pp" "$dir" 2>&1)
expect_eq "through Prometheus's API exits 0" 0 $?
echo "$pout"
prows=$(echo "$pout" | awk '$1 ~ /^[0-9]$/ && NF == 9')
compare "Prometheus" "$rows" "$prows"
finish
