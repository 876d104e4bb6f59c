# scrape.sh - scraping as Prometheus does (shale-scrape(5)), against a
# real Prometheus 2.42 scraping the same exporter with the same file:
#   one prometheus.yml for both: a real prometheus-node-exporter scraped
#   every second by 'shale serve --scrape-config' and by prometheus, with
#   static labels and relabel rules of every common kind (replace, keep,
#   drop, labelmap, labeldrop on targets; drop and replace on samples);
#   a second target that relabelling drops;
#   the series label sets in shale ('shale series list', a reader beside
#   the live server) equal Prometheus's (/api/v1/series), over the time
#   both were scraping;
#   up is 1, scrape_samples_scraped > 0, the relabel rules show;
#   the exporter stopped: up becomes 0 and every node_ series gets a
#   stale marker; the server stopped: up gets one too;
#   a config with a mistake is refused, naming file, line and key;
#   file_sd_configs: a target from a file (the server itself, its own
#   job and instance labels becoming exported_*), kept while its file is
#   broken, marked stale once its file no longer has it; honor_labels
#   keeping them instead;
#   the self-scrape: 'shale serve --port' without a config stores its
#   own metrics as job "shale", and --no-self-scrape does not;
#   'shale mount --scrape-config' (where FUSE works) scrapes, and its
#   unmount marks its series stale.
# The file_sd and self-scrape parts run beside the comparison with
# Prometheus. Every process is stopped by PID. Skips without the exporter,
# prometheus, curl or jq.
. "$top_srcdir/tests/lib/common.sh"

EXPORTER=/usr/bin/prometheus-node-exporter
PROMETHEUS=/usr/bin/prometheus
[ -x "$EXPORTER" ] ||
	skip "prometheus-node-exporter not installed (apt-get install prometheus-node-exporter)"
[ -x "$PROMETHEUS" ] || skip "prometheus not installed (apt-get install prometheus)"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install $t)"
done

NE_PID="" PROM_PID=""
cleanup() {
	[ -n "$NE_PID" ] && kill "$NE_PID" 2>/dev/null && wait_gone "$NE_PID" 10
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait_gone "$PROM_PID" 30
	stop_serves
	cleanup_mounts
}
trap cleanup EXIT

# wait_for SECONDS COMMAND...: until the command succeeds; false if never
wait_for() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

ports=$(pick_port 5) || { fail "free ports"; finish; }
ne=$ports sp=$((ports + 1)) pp=$((ports + 2)) fp=$((ports + 3)) xp=$((ports + 4))
store="file://$TEST_TMP/store"
S="$SHALE"

# Mounts come and go as other tests run: their file systems would be
# series that one scraper saw and the other did not, so they are left
# out (the fuse ones and everything under /tmp).
"$EXPORTER" --web.listen-address="127.0.0.1:$ne" \
	--collector.filesystem.fs-types-exclude='^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fuse.*|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tmpfs|tracefs)$' \
	--collector.filesystem.mount-points-exclude='^/(dev|proc|run|sys|mnt|media|tmp|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)' \
	>"$TEST_TMP/node.log" 2>&1 &
NE_PID=$!
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$ne/metrics" ||
	{ fail "node exporter did not answer: $(tail -3 "$TEST_TMP/node.log")"; finish; }

cat >"$TEST_TMP/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$ne']
        labels: {env: test, team: infra}
      - targets: ['127.0.0.1:1']
        labels: {env: retired}
    relabel_configs:
      - source_labels: [env]
        regex: retired
        action: drop
      - source_labels: [__address__]
        regex: '127\.0\.0\.1:[0-9]+'
        action: keep
      - source_labels: [__address__]
        regex: '([^:]+):.*'
        target_label: host
        replacement: 'h-\${1}'
      - regex: '(te.*)'
        replacement: 'copy_\${1}'
        action: labelmap
      - regex: team
        action: labeldrop
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*|node_scrape_collector_duration_seconds'
        action: drop
      - source_labels: [__name__, mode]
        regex: 'node_cpu_seconds_total;(.*)'
        target_label: cpu_mode
EOC

# a mistake is refused before the store is opened, naming file, line, key
sed 's/^    static_configs:/    static_config:/' "$TEST_TMP/prometheus.yml" >"$TEST_TMP/bad.yml"
out=$("$S" serve --port "$sp" --scrape-config "$TEST_TMP/bad.yml" "file://$TEST_TMP/bad" 2>&1) &&
	fail "a bad config accepted"
expect_match "a bad config names file, line and key" \
	"bad.yml:7: unknown key 'static_config' in scrape config 'node'" "$out"

# file_sd: the server scrapes itself through a target file, refreshed
# every second; __meta_filepath is there for relabelling; a target's
# own job and instance labels become exported_*; a broken file keeps
# its targets; an emptied one ends its target, which writes its stale
# markers two intervals and a tenth later
file_sd() {	# PORT
	local sp=$1
	sd="file://$TEST_TMP/sd"
	mkdir -p "$TEST_TMP/sdfiles"
	cat >"$TEST_TMP/sd.yml" <<EOC
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: files
    file_sd_configs:
      - files: ['$TEST_TMP/sdfiles/*.json']
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [__meta_filepath]
        regex: '.*/([^/]+)\.json'
        target_label: from
  - job_name: honor
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$sp']
        labels: {honor: 'yes'}
EOC
	printf '[{"targets": ["127.0.0.1:%s"], "labels": {"role": "self"}}]\n' "$sp" \
		>"$TEST_TMP/sdfiles/a.json"
	SHALE_LOG_LEVEL=info SERVE_LOG=sd.log serve_shale "$sd" "$sp" \
		--scrape-config "$TEST_TMP/sd.yml" || { fail "serve (file_sd)"; return; }
	sd_up() { "$S" series "$sd" dump '{job="files",__name__="up"}' 2>/dev/null; }
	sd_up_n() { sd_up | awk '$NF == "1" { n++ } END { print n + 0 }'; }
	sd_scraped() { [ "$(sd_up_n)" -ge 1 ]; }
	wait_for 20 sd_scraped || fail "the file_sd target is not scraped: $(tail -3 "$TEST_TMP/sd.log")"
	expect_eq "the file_sd target's labels" \
		"up{from=\"a\",instance=\"127.0.0.1:$sp\",job=\"files\",role=\"self\"}" \
		"$("$S" series "$sd" list '{job="files",__name__="up"}')"
	expect_eq "its own job and instance labels as exported_*" \
		"scrape_scrapes_total{exported_instance=\"127.0.0.1:$sp\",exported_job=\"files\",from=\"a\",instance=\"127.0.0.1:$sp\",job=\"files\",role=\"self\"}" \
		"$("$S" series "$sd" list '{job="files",from="a",exported_job="files",__name__="scrape_scrapes_total"}')"
	honor_seen() {
		"$S" series "$sd" list '{honor="yes",__name__="scrape_scrapes_total"}' |
			grep -q "^scrape_scrapes_total{honor=\"yes\",instance=\"127.0.0.1:$sp\",job=\"files\"}$"
	}
	wait_for 20 honor_seen && ok "honor_labels: the exposed job and instance are kept" ||
		fail "honor_labels: $("$S" series "$sd" list '{honor="yes",__name__="scrape_scrapes_total"}')"
	echo '[{"targets": [' >"$TEST_TMP/sdfiles/a.json.tmp"
	mv "$TEST_TMP/sdfiles/a.json.tmp" "$TEST_TMP/sdfiles/a.json"
	sd_broken() { grep -q "cannot read targets from '.*a.json'" "$TEST_TMP/sd.log"; }
	wait_for 10 sd_broken || fail "a broken target file is not reported"
	n0=$(sd_up_n)
	sd_more() { [ "$(sd_up_n)" -ge $((n0 + 2)) ]; }
	wait_for 10 sd_more && ok "a broken target file keeps its targets" ||
		fail "scrapes stopped with a broken target file: $(sd_up | tail -2)"
	echo '[]' >"$TEST_TMP/sdfiles/a.json.tmp"
	mv "$TEST_TMP/sdfiles/a.json.tmp" "$TEST_TMP/sdfiles/a.json"
	sd_stale() { sd_up | tail -1 | grep -q ' stale$'; }
	wait_for 15 sd_stale && ok "a target gone from its file is marked stale" ||
		fail "no stale marker for a target gone: $(sd_up | tail -2)"
	expect_match "and so are its series" ' stale$' \
		"$("$S" series "$sd" dump '{job="files",from="a",exported_job="files",__name__="scrape_scrapes_total"}' | tail -1)"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "stop serve (file_sd)"
}

# the self-scrape: no config, an endpoint: our own metrics as job shale
self_scrape() {	# PORT
	local sp=$1
	self="file://$TEST_TMP/self"
	SELF_SCRAPE=1 SHALE_LOG_LEVEL=info SERVE_LOG=self.log serve_shale "$self" "$sp" || { fail "serve (self-scrape)"; return; }
	self_up() { "$S" series "$self" list '{job="shale"}' 2>/dev/null | grep -q '^up{'; }
	# its first scrape is at an offset within its 15 s interval
	wait_for 40 self_up && ok "the self-scrape stores job shale" ||
		fail "no job=\"shale\" series after 40 s: $(tail -3 "$TEST_TMP/self.log")"
	expect_eq "its up" "up{instance=\"127.0.0.1:$sp\",job=\"shale\"}" \
		"$("$S" series "$self" list '{job="shale",__name__="up"}')"
	expect_match "shale's own metrics among them" '^http_requests_total\{' \
		"$("$S" series "$self" list '{job="shale"}' | grep '^http_requests_total' | head -1)"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "stop serve (self)"
	SHALE_LOG_LEVEL=info SERVE_LOG=noself.log serve_shale "file://$TEST_TMP/noself" "$sp" --no-self-scrape ||
		fail "serve --no-self-scrape"
	grep -q 'scraping our own metrics' "$TEST_TMP/self.log" ||
		fail "the self-scrape is not logged"
	grep -q 'scraping' "$TEST_TMP/noself.log" &&
		fail "--no-self-scrape scrapes: $(grep scraping "$TEST_TMP/noself.log")"
}

# Those two wait on scrape intervals (the self-scrape's first comes
# at a random offset within 15 s): they run beside the comparison with
# Prometheus, each on its own store and port.
part file_sd file_sd "$fp"
part self self_scrape "$xp"

SHALE_LOG_LEVEL=info serve_shale "$store" "$sp" --scrape-config "$TEST_TMP/prometheus.yml" ||
	{ fail "serve"; finish; }
"$PROMETHEUS" --config.file="$TEST_TMP/prometheus.yml" \
	--storage.tsdb.path="$TEST_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pp" >"$TEST_TMP/prometheus.out" 2>&1 &
PROM_PID=$!
papi="http://127.0.0.1:$pp/api/v1"

# times (ms) of the up samples each has, and the window both scraped
shale_up_times() {
	"$S" series "$store" dump up 2>/dev/null |
		awk '$NF != "stale" { sub(/\./, "", $2); print $2 }'
}
prom_up_times() {
	curl -s "$papi/query" --data-urlencode 'query=up{job="node"}[1m]' |
		jq -r '.data.result[0].values[]?[0] * 1000 | floor' 2>/dev/null
}
window() {
	local s p
	s=$(shale_up_times | sort -n)
	p=$(prom_up_times | sort -n)
	[ -n "$s" ] && [ -n "$p" ] || return 1
	lo=$(printf '%s\n%s\n' "$(echo "$s" | head -1)" "$(echo "$p" | head -1)" | sort -n | tail -1)
	hi=$(printf '%s\n%s\n' "$(echo "$s" | tail -1)" "$(echo "$p" | tail -1)" | sort -n | head -1)
	# at least four scrapes of each within the window
	[ $((hi - lo)) -ge 4000 ]
}
wait_for 60 window || { fail "no common window of scrapes: shale '$(shale_up_times | tr '\n' ' ')', prometheus '$(prom_up_times | tr '\n' ' ')'"; finish; }
ok "both scraped for $(((hi - lo) / 1000)) s together"

# The label sets of the series with a sample in [lo, hi], from each. A
# series that one saw and the other did not, because it was exposed
# only before or after the common window (a collector that comes and
# goes), is left out on both sides by the window; Prometheus's /series
# and 'shale series list --start --end' both mean "has a sample in the
# range". Prometheus's range is in seconds: the window is trimmed to
# whole seconds inside it. 'shale series list' writes a value's / and %
# as %2F and %25, as series file names have them: they are read back.
slo=$(((lo + 999) / 1000)) shi=$((hi / 1000))
"$S" series --start "$slo" --end "$shi" "$store" list '{job="node"}' |
	sed 's/%2F/\//g; s/%25/%/g' | LC_ALL=C sort >"$TEST_TMP/shale.series"
curl -s "$papi/series" --data-urlencode 'match[]={job="node"}' \
	--data-urlencode "start=$slo" --data-urlencode "end=$shi" |
	jq -r '.data[] | .__name__ as $n | [to_entries[] | select(.key != "__name__")] |
		sort_by(.key) | map("\(.key)=\(.value | tojson)") | join(",") |
		if . == "" then $n else "\($n){\(.)}" end' |
	LC_ALL=C sort >"$TEST_TMP/prom.series"
n=$(wc -l <"$TEST_TMP/prom.series")
[ "$n" -gt 50 ] || fail "prometheus has only $n series of job node"
if cmp -s "$TEST_TMP/shale.series" "$TEST_TMP/prom.series"; then
	ok "the $n series of job node are the same label sets as Prometheus's"
else
	fail "series differ from Prometheus's (< shale, > prometheus):"
	diff "$TEST_TMP/shale.series" "$TEST_TMP/prom.series" | head -20
fi

# what the rules did, and the synthetic series
up_line=$("$S" series "$store" list up)
expect_eq "up's labels: static, relabelled, labelmapped; team dropped" \
	'up{copy_team="infra",env="test",host="h-127.0.0.1",instance="127.0.0.1:'"$ne"'",job="node"}' \
	"$up_line"
expect_eq "the dropped target is not scraped" "" \
	"$(grep 'instance="127.0.0.1:1"' "$TEST_TMP/shale.series")"
expect_eq "go_ series dropped by metric_relabel_configs" "" \
	"$(grep -E '^(go_|node_scrape_collector_duration)' "$TEST_TMP/shale.series")"
expect_match "cpu_mode set from mode by metric_relabel_configs" \
	'^node_cpu_seconds_total\{copy_team="infra",cpu="[0-9]+",cpu_mode="idle",' \
	"$(grep 'mode="idle"' "$TEST_TMP/shale.series" | head -1)"
expect_match "up is 1" ' 1$' "$("$S" series "$store" dump up | tail -1)"
expect_match "scrape_samples_scraped > 0" ' [1-9][0-9]*$' \
	"$("$S" series "$store" dump scrape_samples_scraped | tail -1)"
for m in scrape_duration_seconds scrape_samples_post_metric_relabeling scrape_series_added; do
	expect_eq "$m is stored" 1 "$("$S" series "$store" list "$m" | wc -l)"
done
curl -s -o "$TEST_TMP/metrics" "http://127.0.0.1:$sp/metrics"
expect_match "the scraper's own counters" \
	'scrape_samples_scraped_total\{job="node",instance="127.0.0.1:[0-9]+"\} [1-9]' \
	"$(cat "$TEST_TMP/metrics")"
expect_match "the last scrape's samples, by OpenData Timeseries's name" \
	'scrape_samples_scraped\{job="node",instance="127.0.0.1:[0-9]+"\} [1-9]' \
	"$(cat "$TEST_TMP/metrics")"
if out=$(promtool check metrics <"$TEST_TMP/metrics" 2>&1); then
	ok "promtool check metrics passes with the scraper's metrics"
else
	fail "promtool check metrics: $out"
fi

# the exporter stops: up 0, and every node_ series is marked stale
kill "$NE_PID" && wait_gone "$NE_PID" 10 || fail "stop the exporter"
NE_PID=""
up_zero() { "$S" series "$store" dump up | tail -1 | grep -q ' 0$'; }
wait_for 20 up_zero && ok "up becomes 0 when the exporter is gone" ||
	fail "up is still '$("$S" series "$store" dump up | tail -1)'"
nodes=$(grep -c '^node_' "$TEST_TMP/shale.series")
stale_count() {
	"$S" series "$store" dump '{job="node",__name__=~"node_.*"}' |
		awk '$NF == "stale" { n++ } END { print n + 0 }'
}
stale_enough() { [ "$(stale_count)" -ge "$nodes" ]; }
wait_for 10 stale_enough
expect_eq "each of the $nodes node_ series got a stale marker" "$nodes" "$(stale_count)"

# the server stops: the synthetic series get their markers too
kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "stop serve"
expect_match "up is stale once the scraper stops" ' stale$' \
	"$("$S" series "$store" dump up | tail -1)"
grep -q 'everything written is stored' "$TEST_TMP/serve.log" ||
	fail "serve did not store everything: $(tail -3 "$TEST_TMP/serve.log")"
kill "$PROM_PID" && wait_gone "$PROM_PID" 30 || fail "stop prometheus"
PROM_PID=""

parts_wait
stop_serves

# a mount takes --scrape-config too, and its stop marks its series stale
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1; then
	mstore="file://$TEST_TMP/mstore"
	cat >"$TEST_TMP/m.yml" <<EOC
scrape_configs:
  - job_name: mounted
    scrape_interval: 1s
    static_configs:
      - targets: ['127.0.0.1:$sp']
EOC
	if mount_shale "$mstore" "$TEST_TMP/mnt" --port "$sp" \
		--scrape-config "$TEST_TMP/m.yml"; then
		m_up() { "$S" series "$mstore" dump '{job="mounted",__name__="up"}' 2>/dev/null; }
		m_scraped() { m_up | grep -q ' 1$'; }
		wait_for 20 m_scraped && ok "a mount scrapes" ||
			fail "a mount does not scrape: $(tail -3 "$TEST_TMP/mount.log")"
		umount_shale "$TEST_TMP/mnt" || fail "unmount"
		expect_match "its series are stale once unmounted" ' stale$' "$(m_up | tail -1)"
	else
		fail "mount with --scrape-config"
	fi
	cleanup_mounts
else
	echo "note: no FUSE here, the mount part is skipped"
fi
finish
