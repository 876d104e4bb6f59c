#!/bin/bash
# bench-series-reads.sh - reading one long metric series, shale beside
# Prometheus: a counter of N samples at 15 s (default 1,000,000, about
# 174 days, ending now) is appended through a mount in 1 MiB writes of
# "SECONDS VALUE" lines, the store compacted into one sorted run
# ('shale compact', then 'shale gc' with no minimum age), and the same
# samples, as OpenMetrics, made into Prometheus blocks by 'promtool tsdb
# create-blocks-from openmetrics' (blocks of 486 h, what Prometheus's
# own compaction makes of a long retention). Then, RUNS times each
# (default 3), the median printed:
#
#  - tail -n 100 of the series file right after a mount (cold) and again
#    (warm), against /api/v1/query of x[1500s] at the last sample's time,
#    the first query after Prometheus started and again;
#  - cat of the whole file the same way, against x[<the whole span>];
#  - the object store GETs and bytes of shale's cold reads, from the
#    mount's .shale/metrics.
#
# Cold means a new process with empty caches: before each mount or start,
# the store's files and Prometheus's blocks are dropped from the kernel's
# page cache (dd iflag=nocache, file by file). Times are wall clock
# around the command (tail, cat, curl), process start included; curl's
# own time_total is printed beside. Run by hand; not part of the suite.
#
#   tools/bench/bench-series-reads.sh [-n SAMPLES] [-r RUNS] [-s STORE]
#
# -s puts shale's store elsewhere than file://TMPDIR/store, s3://BUCKET/
# PREFIX say (an empty one; the AWS_* variables as for shale-mount(1)),
# where cold means a new mount, the store's own caches left as they are.
#
# Uses build/rel/shale (SHALE= to change; a release build), promtool,
# /usr/bin/prometheus, curl and jq. Everything it starts is stopped by
# PID, and its directory removed, at the end.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/rel/shale}
. "$top/tests/lib/ports.sh"
n=1000000 runs=3 store=
while getopts n:r:s: o; do
	case $o in
	n) n=$OPTARG ;;
	r) runs=$OPTARG ;;
	s) store=$OPTARG ;;
	*) echo "usage: $0 [-n SAMPLES] [-r RUNS] [-s STORE]" >&2; exit 2 ;;
	esac
done
for c in promtool /usr/bin/prometheus curl jq fusermount3; do
	command -v "$c" >/dev/null || { echo "$c missing" >&2; exit 1; }
done
[ -x "$shale" ] || { echo "no shale at $shale (tools/build.sh build/rel)" >&2; exit 1; }

work=$(mktemp -d /tmp/shale-bench-reads.XXXXXX)
mnt=$work/mnt
[ -n "$store" ] || store=file://$work/store
mkdir -p "$mnt" "$work/config" "$work/cache"
# no user's shale.yaml, and the manifest mirror inside $work
export XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache
metric=http_requests_total
labels='{instance="api-1:8080",job="api"}'
file="$mnt/series/$metric/$labels"
prom= port=

pid_gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# stop PID: SIGTERM, then wait up to 60 s, then SIGKILL
stop() {
	local i=0
	kill -TERM "$1" 2>/dev/null || return 0
	while ! pid_gone "$1"; do
		i=$((i + 1))
		if [ "$i" -gt 1200 ]; then
			kill -KILL "$1" 2>/dev/null
			break
		fi
		sleep 0.05
	done
}

mounted() {
	grep -q " $mnt fuse" /proc/self/mounts
}

umount_shale() {
	local pid
	pid=$(sed -n 's/^pid: //p' "$mnt/.shale/status" 2>/dev/null || true)
	[ -n "$pid" ] && stop "$pid"
	mounted && { fusermount3 -u -z "$mnt" 2>/dev/null || true; }
	return 0
}

stop_prom() {
	[ -n "$prom" ] && stop "$prom"
	prom=
}

cleanup() {
	stop_prom
	umount_shale
	rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

now_ns() {
	date +%s%N
}

# ms T0 T1: milliseconds between two now_ns, three decimals
ms() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'
}

# evict DIR: drop the files under DIR from the kernel's page cache (only
# clean pages go: they are written out first)
evict() {
	[ -d "$1" ] || return 0
	find "$1" -type f -exec sync {} +
	find "$1" -type f -exec dd if={} iflag=nocache count=0 status=none \;
}

# cpu PID: the process's CPU time so far, user and system, in ms
hz=$(getconf CLK_TCK)
cpu() {
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}

# gets: the mount's object store GETs and bytes read so far
gets() {
	awk '$1 == "objstore_requests_total{op=\"get\"}" { g = $2 }
	     $1 == "objstore_read_bytes_total" { b = $2 }
	     END { printf "%d %d\n", g, b }' "$mnt/.shale/metrics"
}

mount_shale() {
	"$shale" mount --log-file "$work/mount.log" "$store" "$mnt"
}

start_prom() {
	local i
	port=$(pick_port 1)
	/usr/bin/prometheus --config.file="$work/prom.yml" \
		--storage.tsdb.path="$work/prom" --storage.tsdb.retention.time=10y \
		--web.listen-address="127.0.0.1:$port" >>"$work/prom.log" 2>&1 &
	prom=$!
	for i in $(seq 600); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready" && return 0
		pid_gone "$prom" && break
		sleep 0.05
	done
	echo "prometheus did not get ready; the end of its log:" >&2
	tail -20 "$work/prom.log" >&2
	exit 1
}

# query EXPR: an instant query at the last sample's time; prints the wall
# ms and curl's ms, leaves the answer in $work/q.json
query() {
	local t0 t1 c
	t0=$(now_ns)
	c=$(curl -s -o "$work/q.json" -w '%{time_total}' \
		--data-urlencode "query=$1" --data-urlencode "time=$last" \
		"http://127.0.0.1:$port/api/v1/query")
	t1=$(now_ns)
	echo "$(ms "$t0" "$t1") $(awk -v c="$c" 'BEGIN { printf "%.3f", c * 1000 }')"
}

# samples_in: the samples of the answer in $work/q.json, or its error
samples_in() {
	jq -r 'if .status == "success" then (.data.result | map(.values | length) | add // 0)
	       else "error: " + .error end' "$work/q.json"
}

# timed COMMAND...: run it, output to $work/out; prints the wall ms
timed() {
	local t0 t1
	t0=$(now_ns)
	"$@" >"$work/out"
	t1=$(now_ns)
	ms "$t0" "$t1"
}

# record NAME VALUE: one figure of one run, in $work/fig/NAME
record() {
	mkdir -p "$work/fig"
	echo "$2" >>"$work/fig/$1"
}

# median NAME
median() {
	sort -g "$work/fig/$1" | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

range() {
	sort -g "$work/fig/$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'
}

# ---- the samples ----
# A request counter: about 40 requests a second, twice as many at the
# day's peak as at its trough, random within 20% each scrape, integers,
# reset by a restart every 30 days. Ends at the last 15 s before now.
last=$(( $(date +%s) / 15 * 15 ))
first=$(( last - (n - 1) * 15 ))
span=$(( n * 15 ))
awk -v n="$n" -v first="$first" 'BEGIN { srand(7); v = 0
	for (i = 0; i < n; i++) {
		t = first + i * 15
		if (i > 0 && i % 172800 == 0) v = 0
		f = 1 + 0.5 * sin(6.283185307 * (t % 86400) / 86400)
		v += int(600 * f * (0.8 + 0.4 * rand()))
		printf "%d %d\n", t, v
	} }' >"$work/samples.txt"
echo "one series, $metric$labels: $n samples every 15 s, $(date -u -d "@$first" '+%F %T') to $(date -u -d "@$last" '+%F %T') UTC"

# ---- into shale ----
mount_shale
t0=$(now_ns)
dd if="$work/samples.txt" of="$file" bs=1M iflag=fullblock oflag=append conv=notrunc status=none
t1=$(now_ns)
load=$(ms "$t0" "$t1")
umount_shale
t0=$(now_ns)
"$shale" compact "$store" >"$work/compact.txt"
t1=$(now_ns)
SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE=0 \
SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=0 \
SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=0 \
	"$shale" gc "$store" >/dev/null
sbytes=
[ -d "$work/store" ] && sbytes="; the store's directory $(du -sb "$work/store" | cut -f1) bytes"
printf 'shale: appended in %.2f s (dd, 1 MiB writes), compacted in %.2f s: %s%s\n' \
	"$(awk -v a="$load" 'BEGIN { print a / 1000 }')" "$(awk -v a="$(ms "$t0" "$t1")" 'BEGIN { print a / 1000 }')" \
	"$(sed -n 's/^after: //p' "$work/compact.txt")" "$sbytes"

# ---- into Prometheus ----
awk -v m="$metric" -v l="$labels" 'BEGIN { sub(/_total$/, "", m); print "# TYPE " m " counter" }
	{ printf "%s%s %s %s\n", m "_total", l, $2, $1 } END { print "# EOF" }' \
	"$work/samples.txt" >"$work/om.txt"
t0=$(now_ns)
promtool tsdb create-blocks-from openmetrics --max-block-duration=486h \
	"$work/om.txt" "$work/prom" >/dev/null
t1=$(now_ns)
rm -f "$work/om.txt"
echo 'global: {}' >"$work/prom.yml"
printf 'prometheus: blocks made in %.2f s: %d blocks, %d bytes\n' \
	"$(awk -v a="$(ms "$t0" "$t1")" 'BEGIN { print a / 1000 }')" \
	"$(find "$work/prom" -mindepth 1 -maxdepth 1 -type d -name '01*' | wc -l)" "$(du -sb "$work/prom" | cut -f1)"

want_tail=$(tail -n 100 "$work/samples.txt" | awk '{ printf "%d.000 %d\n", $1, $2 }')
bytes=

# ---- the runs ----
for r in $(seq "$runs"); do
	# shale, tail -n 100
	evict "$work/store"
	t0=$(now_ns); mount_shale; t1=$(now_ns)
	record mount "$(ms "$t0" "$t1")"
	read -r g0 b0 < <(gets)
	record tail_cold "$(timed tail -n 100 "$file")"
	read -r g1 b1 < <(gets)
	[ "$(cat "$work/out")" = "$want_tail" ] || { echo "tail -n 100 read other samples" >&2; exit 1; }
	record tail_warm "$(timed tail -n 100 "$file")"
	read -r g2 _ < <(gets)
	record tail_gets $((g1 - g0)); record tail_getbytes $((b1 - b0)); record tail_warm_gets $((g2 - g1))
	[ -n "$bytes" ] || bytes=$(stat -c %s "$file")
	umount_shale

	# shale, cat
	evict "$work/store"
	mount_shale
	spid=$(sed -n 's/^pid: //p' "$mnt/.shale/status")
	read -r g0 b0 < <(gets)
	c0=$(cpu "$spid")
	record cat_cold "$(timed cat "$file")"
	c1=$(cpu "$spid")
	read -r g1 b1 < <(gets)
	[ "$(stat -c %s "$work/out")" = "$bytes" ] && [ "$(wc -l <"$work/out")" = "$n" ] ||
		{ echo "cat read $(stat -c %s "$work/out") bytes, not $bytes" >&2; exit 1; }
	c2=$(cpu "$spid")
	record cat_warm "$(timed cat "$file")"
	c3=$(cpu "$spid")
	read -r g2 _ < <(gets)
	record cat_cold_cpu $((c1 - c0)); record cat_warm_cpu $((c3 - c2))
	record cat_gets $((g1 - g0)); record cat_getbytes $((b1 - b0)); record cat_warm_gets $((g2 - g1))
	umount_shale

	# Prometheus, the last 100 samples
	evict "$work/prom"
	t0=$(now_ns); start_prom; t1=$(now_ns)
	record ready "$(ms "$t0" "$t1")"
	read -r w c < <(query "$metric[1500s]")
	record q100_cold "$w"; record q100_cold_curl "$c"
	q100_n=$(samples_in)
	read -r w c < <(query "$metric[1500s]")
	record q100_warm "$w"; record q100_warm_curl "$c"
	stop_prom

	# Prometheus, every sample
	evict "$work/prom"
	start_prom
	c0=$(cpu "$prom")
	read -r w c < <(query "$metric[${span}s]")
	c1=$(cpu "$prom")
	record qall_cold "$w"; record qall_cold_curl "$c"
	qall_n=$(samples_in)
	qall_bytes=$(stat -c %s "$work/q.json")
	c2=$(cpu "$prom")
	read -r w c < <(query "$metric[${span}s]")
	c3=$(cpu "$prom")
	record qall_warm "$w"; record qall_warm_curl "$c"
	record qall_cold_cpu $((c1 - c0)); record qall_warm_cpu $((c3 - c2))
	if [ "$r" = 1 ]; then
		curl -s -o "$work/q.json" --data-urlencode "query=$metric" \
			--data-urlencode "start=$first" --data-urlencode "end=$last" --data-urlencode step=15 \
			"http://127.0.0.1:$port/api/v1/query_range"
		range_answer=$(samples_in)
	fi
	stop_prom
	echo "run $r of $runs done" >&2
done

# ---- the figures ----
mbs() {	# BYTES MS
	awk -v b="$1" -v m="$2" 'BEGIN { printf "%.1f", b / 1e6 / (m / 1000) }'
}
echo
echo "medians of $runs runs, ms, (lowest-highest); Prometheus: wall, and curl's time_total"
row() {	# TITLE SHALE-NAME PROM-NAME
	printf '%-22s %10s %-19s %10s %-19s %10s\n' "$1" "$(median "$2")" "($(range "$2"))" \
		"$(median "$3")" "($(range "$3"))" "$( [ -f "$work/fig/${3}_curl" ] && median "${3}_curl")"
}
printf '%-22s %-30s %-30s %s\n' "" "shale (mount)" "prometheus 2.42" "(curl)"
row "start (mount, ready)" mount ready
row "last 100, cold" tail_cold q100_cold
row "last 100, warm" tail_warm q100_warm
row "all, cold" cat_cold qall_cold
row "all, warm" cat_warm qall_warm
row "all, cold: server CPU" cat_cold_cpu qall_cold_cpu
row "all, warm: server CPU" cat_warm_cpu qall_warm_cpu
printf '%-22s %10s %-19s %10s\n' "all, cold MB/s" "$(mbs "$bytes" "$(median cat_cold)")" "" "$(mbs "$qall_bytes" "$(median qall_cold)")"
printf '%-22s %10s %-19s %10s\n' "all, warm MB/s" "$(mbs "$bytes" "$(median cat_warm)")" "" "$(mbs "$qall_bytes" "$(median qall_warm)")"
echo
echo "shale: tail -n 100 reads 100 lines; cat reads $bytes bytes ($n lines)"
echo "shale: object store GETs (bytes) of the cold reads: tail $(median tail_gets) ($(median tail_getbytes)), cat $(median cat_gets) ($(median cat_getbytes)); warm: tail $(median tail_warm_gets), cat $(median cat_warm_gets) (the writer polls for a newer manifest with a GET a second, counted too)"
echo "prometheus: x[1500s] answered $q100_n samples; x[${span}s] answered $qall_n samples in $qall_bytes bytes of JSON"
echo "prometheus: query_range of x, step 15 s, over the whole span: $range_answer"
