#!/bin/bash
# bench-series-mem.sh - resident memory a active series, shale beside
# Prometheus: a fresh 'shale serve' on a file:// store and a fresh
# Prometheus (its remote write receiver) are each fed the same N series
# by remote write 1.0 (rw_send: metric names mem_0, mem_1, ..., each with
# 10,000 series {instance="sS",series="I"}, 2,000 samples a request, 5
# senders), SAMPLES samples a series, a scrape interval apart. RSS is
# read when the server is idle (it has not changed by more than 1% in 2
# s): once empty, once after the feed. Per series: (RSS after - RSS
# empty) / N. Run by hand; not part of the suite.
#
#   tools/bench/bench-series-mem.sh [N ...]	(default: 100000 1000000)
#
# N a multiple of 10,000. SAMPLES (default 4). Uses build/rel/shale and
# build/rel/tests/integration/rw_send (SHALE=, RW_SEND=; see
# bench-remote-write.sh), /usr/bin/prometheus (PROMETHEUS=). shale runs
# with series_options.max_series 4,000,000. Everything it starts is
# stopped by PID at the end.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/rel/shale}
rw=${RW_SEND:-$top/build/rel/tests/integration/rw_send}
prom=${PROMETHEUS:-/usr/bin/prometheus}
samples=${SAMPLES:-4}
. "$top/tests/lib/ports.sh"
[ $# -gt 0 ] || set -- 100000 1000000
for x in "$shale" "$rw" "$prom"; do
	[ -x "$x" ] || { echo "$x missing (see the top of $0)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/shale-bench-mem.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && stop "$pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

stop() {	# PID: TERM, then KILL after 120 s
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 1200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

rss_kib() {	# PID
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# idle_rss PID: KiB, once two readings 2 s apart are within 1% (120 s at most)
idle_rss() {
	local a b
	a=$(rss_kib "$1")
	for _ in $(seq 60); do
		sleep 2
		b=$(rss_kib "$1")
		[ $(( (a > b ? a - b : b - a) * 100 )) -le "$b" ] && break
		a=$b
	done
	echo "$b"
}

start() {	# shale|prometheus PORT
	local what=$1 port=$2 d="$work/$1"
	rm -rf "$d"
	mkdir -p "$d"
	case $what in
	shale)
		SHALE_SERIES_OPTIONS_MAX_SERIES=4000000 \
			"$shale" serve --port "$port" "file://$d/store" >"$d/log" 2>&1 &
		;;
	prometheus)
		printf 'global:\n  scrape_interval: 15s\n' >"$d/prometheus.yml"
		"$prom" --config.file="$d/prometheus.yml" \
			--storage.tsdb.path="$d/tsdb" \
			--web.listen-address="127.0.0.1:$port" \
			--web.enable-remote-write-receiver >"$d/log" 2>&1 &
		;;
	esac
	pid=$!
	for _ in $(seq 600); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' \
			"http://127.0.0.1:$port/-/ready")" = 200 ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "$what did not become ready; its log ends:" >&2
	tail -5 "$d/log" >&2
	exit 1
}

# measure WHAT N: sets $empty and $full (KiB), $secs (the feed), $part
measure() {
	local what=$1 n=$2 port u t0 k s0 s1
	port=$(pick_port 1)
	u="http://127.0.0.1:$port/api/v1/write"
	start "$what" "$port"
	empty=$(idle_rss "$pid")
	t0=$(( $(date +%s) * 1000 - samples * 15000 ))
	s0=$(date +%s%N)
	for k in $(seq 0 $((n / 10000 - 1))); do
		"$rw" -n "$samples" -c 5 -s 2000 -k 1 -m "mem_$k" -t "$t0" \
			-d 15000 "$u" 2>"$work/rw.err" ||
			{ echo "$what: $(cat "$work/rw.err")" >&2; exit 1; }
	done
	s1=$(date +%s%N)
	secs=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	full=$(idle_rss "$pid")
	# what the RSS holds besides the series: shale's block cache (the
	# tables' blocks, put there as they are written), Prometheus's heap
	# in use (Go's collector leaves the rest of the RSS)
	part=$(curl -s "http://127.0.0.1:$port/metrics" | awk '
	    /^engine_cache_bytes\{cache="block"\}/ { printf "block cache %.1f MiB", $2 / 1048576 }
	    /^go_memstats_heap_inuse_bytes / { printf "heap in use %.1f MiB", $2 / 1048576 }')
	stop "$pid"
	pid=
}

echo "$samples samples a series, remote write 1.0; $(nproc) cores," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-11s %10s %10s %12s %8s  %s\n' series server "empty MiB" \
	"fed MiB" "bytes/series" "feed s" "of which"
for n in "$@"; do
	for what in shale prometheus; do
		measure "$what" "$n"
		awk -v n="$n" -v w="$what" -v e="$empty" -v f="$full" -v s="$secs" \
		    -v p="$part" 'BEGIN { printf "%-9s %-11s %10.1f %10.1f %12.0f %8s  %s\n",
			    n, w, e / 1024, f / 1024, (f - e) * 1024 / n, s, p }'
	done
done
