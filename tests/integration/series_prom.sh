# series_prom.sh - end to end against a real Prometheus: Prometheus 2.42
# scrapes a real prometheus-node-exporter every second and remote-writes
# everything it stores to 'shale serve' (/api/v1/write); then scraping
# stops (the exporter is stopped, then the scrape job reloaded away over
# /-/reload), and once Prometheus's remote-write queue has sent all it
# holds, every sample of Prometheus's TSDB, read as raw samples through
# its API (a range-vector query {__name__=~".+"}[R], not query_range,
# which evaluates at steps), must be in shale's /api/v1/export and the
# other way round: the same series (node's and Prometheus's own up and
# scrape_*), the same timestamps, the same values (NaN and infinities
# included); the differences are printed on failure. Stale markers are
# left out on both sides (and shale is seen to hold them). Then shale's
# /api/v1/series, /api/v1/labels and /api/v1/label/NAME/values, with and
# without match[] and a range, the errors' types and the figures of
# /api/v1/status/tsdb agree with Prometheus's own answers, and the
# metadata Prometheus sends is served by /api/v1/metadata.
#
# The run lasts SHALE_PROM_SECONDS scrapes (default 12, 10 in a
# sanitizer build; minutes for a soak): 12 seconds of node's series,
# some 6,000 samples, NaN and infinities among them, go through every
# path the comparison covers (a series' head seals a chunk only at 120
# samples, which a run of minutes, not of 30 s, would reach). Every process
# (serve, exporter, Prometheus) is stopped by PID. Skips without
# prometheus, the exporter, curl or jq.
. "$top_srcdir/tests/lib/common.sh"
PROMETHEUS=$(command -v prometheus || echo /usr/bin/prometheus)
EXPORTER=/usr/bin/prometheus-node-exporter
[ -x "$PROMETHEUS" ] || skip "prometheus not installed (apt-get install prometheus)"
[ -x "$EXPORTER" ] ||
	skip "prometheus-node-exporter not installed (apt-get install prometheus-node-exporter)"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done
if [ "${SHALE_TEST_SANITIZED:-0}" = 1 ]; then
	SECONDS_RUN=${SHALE_PROM_SECONDS:-10}
else
	SECONDS_RUN=${SHALE_PROM_SECONDS:-12}
fi

NE_PID=""
PROM_PID=""
cleanup() {
	[ -n "$NE_PID" ] && kill "$NE_PID" 2>/dev/null && wait_gone "$NE_PID" 10
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait_gone "$PROM_PID" 30
	stop_serves
}
trap cleanup EXIT

sp=$(pick_port) && pp=$(pick_port) && np=$(pick_port) || { fail "free ports"; finish; }
su="http://127.0.0.1:$sp"
pu="http://127.0.0.1:$pp"
serve_shale "file://$TEST_TMP/store" "$sp" || { fail "serve"; finish; }
[ "$(code "$su/api/v1/write" -X POST)" = 404 ] &&
	skip "this build has no remote write route (/api/v1/write)"

"$EXPORTER" --web.listen-address="127.0.0.1:$np" >"$TEST_TMP/node.log" 2>&1 &
NE_PID=$!

# wait_for WHAT SECONDS COMMAND...: until the command succeeds
wait_for() {
	local what=$1 n=$(($2 * 10)) i=0
	shift 2
	until "$@"; do
		i=$((i + 1))
		if [ "$i" -gt "$n" ]; then
			fail "$what: not within $((n / 10)) s"
			return 1
		fi
		sleep 0.1
	done
	ok "$what"
}
wait_for "the exporter answers" 10 curl -sf -o "$TEST_TMP/node.txt" "http://127.0.0.1:$np/metrics" ||
	finish
help=$(sed -n 's/^# HELP node_boot_time_seconds //p' "$TEST_TMP/node.txt")

# the remote write queue sends within 100 ms, and retries quickly
remote_write="remote_write:
  - url: $su/api/v1/write
    queue_config:
      batch_send_deadline: 100ms
      min_backoff: 50ms
      max_backoff: 1s
    metadata_config:
      send_interval: 1s"
cat >"$TEST_TMP/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$np']
$remote_write
EOC
cat >"$TEST_TMP/prometheus-idle.yml" <<EOC
global:
  scrape_interval: 1s
$remote_write
EOC
cp "$TEST_TMP/prometheus.yml" "$TEST_TMP/prometheus-run.yml"
t_start=$(date +%s)
"$PROMETHEUS" --config.file="$TEST_TMP/prometheus-run.yml" \
	--storage.tsdb.path="$TEST_TMP/tsdb" --web.enable-lifecycle \
	--web.listen-address="127.0.0.1:$pp" >"$TEST_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
wait_for "prometheus is ready" 60 curl -sf -o /dev/null "$pu/-/ready" || finish

# pquery QUERY: Prometheus's /api/v1/query answer
pquery() {
	curl -s -G "$pu/api/v1/query" --data-urlencode "query=$1" ${2:+--data-urlencode "time=$2"}
}

# scrapes: how many scrapes of the exporter Prometheus has stored
scrapes() {
	pquery 'count_over_time(up{job="node"}[1h])' | jq -r '.data.result[0].value[1] // 0'
}
scraped_enough() { [ "$(scrapes)" -ge "$SECONDS_RUN" ]; }
wait_for "$SECONDS_RUN scrapes" $((SECONDS_RUN * 3 + 30)) scraped_enough || finish

# stop scraping: the exporter goes (a failed scrape: up 0, stale
# markers), then the job itself
kill "$NE_PID" && wait_gone "$NE_PID" 10 || fail "stop the exporter"
NE_PID=""
node_down() {
	pquery 'up{job="node"} == 0' | jq -e '.data.result | length > 0' >/dev/null
}
wait_for "prometheus sees the exporter down" 30 node_down
cp "$TEST_TMP/prometheus-idle.yml" "$TEST_TMP/prometheus-run.yml"
expect_eq "prometheus reloads without the scrape job" 200 \
	"$(curl -s -o "$TEST_TMP/reload" -w '%{http_code}' -X POST "$pu/-/reload")"

# pmetric NAME: the sum of a family on Prometheus's own /metrics
pmetric() {
	curl -s "$pu/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 }
		END { printf "%.3f\n", s }'
}
# drained: nothing pending, everything appended sent, and nothing
# appended for 3 s (the end-of-run stale markers come after the reload)
last_appended=""
still=0
drained() {
	local a pending sent high
	a=$(pmetric prometheus_tsdb_head_samples_appended_total)
	pending=$(pmetric prometheus_remote_storage_samples_pending)
	high=$(pmetric prometheus_remote_storage_highest_timestamp_in_seconds)
	sent=$(pmetric prometheus_remote_storage_queue_highest_sent_timestamp_seconds)
	if [ "$a" = "$last_appended" ]; then
		still=$((still + 1))
	else
		still=0
		last_appended=$a
	fi
	sleep 0.9	# the check is 1 s apart (with wait_for's 0.1 s)
	[ "$still" -ge 3 ] && [ "$pending" = 0.000 ] &&
		awk -v s="$sent" -v h="$high" 'BEGIN { exit !(s >= h && h > 0) }'
}
wait_for "prometheus's remote write queue is drained" 120 drained || {
	curl -s "$pu/metrics" | grep '^prometheus_remote_storage' | head -40
	finish
}
for m in prometheus_remote_storage_samples_failed_total \
    prometheus_remote_storage_samples_dropped_total; do
	expect_eq "prometheus: $m" 0.000 "$(pmetric $m)"
done

# every raw sample of Prometheus's TSDB, as "labels time value" lines
t_end=$(date +%s.%3N)
range=$(($(date +%s) - t_start + 120))
pquery "{__name__=~\".+\"}[${range}s]" "$t_end" >"$TEST_TMP/prom.json"
expect_eq "prometheus: the range query" success "$(jq -r .status "$TEST_TMP/prom.json")"
expect_eq "prometheus: raw samples (a matrix)" matrix "$(jq -r .data.resultType "$TEST_TMP/prom.json")"
norm_labels='to_entries | sort_by(.key) | map("\(.key)=\(.value | tojson)") | join(",")'
jq -r ".data.result[] | (.metric | $norm_labels) as \$m |
	.values[] | \"\(\$m) \(.[0] * 1000 | round) \(.[1] |
	if . == \"NaN\" or . == \"+Inf\" or . == \"-Inf\" then . else tonumber end)\"" \
	"$TEST_TMP/prom.json" | LC_ALL=C sort >"$TEST_TMP/prom.txt"

c=$(curl -s -o "$TEST_TMP/shale.jsonl" -w '%{http_code}' -G "$su/api/v1/export" \
	--data-urlencode 'match[]={__name__=~".+"}')
expect_eq "shale: the export" 200 "$c"
jq -r "(.metric | $norm_labels) as \$m | . as \$l | range(0; .values | length) |
	\"\(\$m) \(\$l.timestamps[.]) \(\$l.values[.])\"" \
	"$TEST_TMP/shale.jsonl" | LC_ALL=C sort >"$TEST_TMP/shale.txt"

pseries=$(awk '{ print $1 }' "$TEST_TMP/prom.txt" | uniq | wc -l)
sseries=$(awk '{ print $1 }' "$TEST_TMP/shale.txt" | uniq | wc -l)
echo "prometheus: $pseries series, $(wc -l <"$TEST_TMP/prom.txt") samples; shale: $sseries series, $(wc -l <"$TEST_TMP/shale.txt") samples"
[ "$pseries" -gt 100 ] || fail "only $pseries series in Prometheus"
[ "$(wc -l <"$TEST_TMP/prom.txt")" -gt $((pseries * SECONDS_RUN / 2)) ] ||
	fail "too few samples in Prometheus"
expect_eq "the same series" "" "$(diff <(awk '{ print $1 }' "$TEST_TMP/prom.txt" | uniq) \
	<(awk '{ print $1 }' "$TEST_TMP/shale.txt" | uniq) | head -20)"
if cmp -s "$TEST_TMP/prom.txt" "$TEST_TMP/shale.txt"; then
	ok "every sample the same, none missing, none extra"
else
	fail "the samples differ (< Prometheus only, > shale only):"
	diff "$TEST_TMP/prom.txt" "$TEST_TMP/shale.txt" | head -40
fi
grep -q '^__name__="up",' "$TEST_TMP/shale.txt" && ok "Prometheus's own up is there" ||
	fail "no up series in shale"
# the stale markers Prometheus wrote when the exporter went are stored,
# and were left out of the export as Prometheus leaves them out
stale=$("$SHALE" series "file://$TEST_TMP/store" dump '{job="node"}' 2>&1 | grep -c ' stale$')
[ "$stale" -gt 0 ] && ok "$stale stale markers stored, none exported" ||
	fail "no stale marker stored: the comparison left nothing out"

# the metadata API over the same series
# q SELECTOR: URL-encoded
q() {
	jq -rn --arg s "$1" '$s | @uri'
}
ans() {	# URL: .data, its arrays sorted, compact
	curl -s "$1" | jq -c '.data | if type == "array" then sort else . end'
}
expect_eq "label names agree" "$(ans "$pu/api/v1/labels")" "$(ans "$su/api/v1/labels")"
expect_eq "metric names agree" "$(ans "$pu/api/v1/label/__name__/values")" \
	"$(ans "$su/api/v1/label/__name__/values")"
expect_eq "the values of job agree" "$(ans "$pu/api/v1/label/job/values")" \
	"$(ans "$su/api/v1/label/job/values")"
m='match[]=%7B__name__%3D~%22node_cpu.*%22%7D'
expect_eq "the series of node_cpu.* agree" \
	"$(curl -s "$pu/api/v1/series?$m" | jq -c '.data | sort')" \
	"$(curl -s "$su/api/v1/series?$m" | jq -c '.data | sort')"
# agree QUERY [JQ-FILTER]: Prometheus's answer and shale's are the same
agree() {
	local f=${2:-'.data | if type == "array" then sort else . end'}
	expect_eq "agree: $1" "$(curl -s "$pu$1" | jq -c "$f")" "$(curl -s "$su$1" | jq -c "$f")"
}
mid=$(( (t_start + ${t_end%.*}) / 2 ))
agree "/api/v1/labels?match[]=up"
agree "/api/v1/labels?match[]=up&match[]=$(q '{__name__=~"node_(cpu|disk).*"}')"
agree "/api/v1/label/mode/values?match[]=$(q '{__name__=~"node_cpu.*",mode!~"i.*"}')"
# (a range holding samples: Prometheus answers by chunk, shale by sample)
agree "/api/v1/series?match[]=$(q '{job="node",__name__=~"node_load.*"}')&start=$((mid - 5))&end=$((mid + 5))"
agree "/api/v1/series?match[]=$(q '{__name__="up"}')&start=$((t_start - 3600))&end=$((t_start - 1800))"
agree "/api/v1/label/__name__/values?match[]=$(q '{__name__=~"scrape_.+"}')&end=$mid"
agree "/api/v1/series?match[]=$(q 'up{')" '[.status, .errorType]'
agree "/api/v1/series?match[]=up&start=never" '[.status, .errorType]'
agree "/api/v1/status/tsdb" '.data.headStats | [.numSeries, .numLabelPairs]'
agree "/api/v1/status/tsdb" '[.data.seriesCountByMetricName[].value]'
expect_eq "metadata of a node metric, as Prometheus sent it" \
	"$(jq -cn --arg h "$help" '[{type: "gauge", help: $h, unit: ""}]')" \
	"$(curl -s "$su/api/v1/metadata?metric=node_boot_time_seconds" | jq -c '.data.node_boot_time_seconds')"

kill "$PROM_PID" && wait_gone "$PROM_PID" 30 || fail "stop prometheus"
PROM_PID=""
finish
