#!/bin/bash
# bench-query.sh - PromQL query latency, shale beside Prometheus 2.42 on
# the same samples: 'shale bench query' makes node-like series (default
# 10,000 series, 24 h at 15 s) into a file:// store, compacted, and the
# same samples as OpenMetrics, which 'promtool tsdb create-blocks-from
# openmetrics --max-block-duration=24h' makes into Prometheus's blocks
# (the head left empty, so both read stored data). Then, for each query
# of 'shale bench query' (the rate of a counter summed by job,
# histogram_quantile of bucket rates, topk of rates, a sum over every
# series, a ratio of two selectors, and a range query of 24 h at a 60 s
# step):
#
#  - Prometheus: stopped, the kernel's page cache dropped (echo 3 >
#    /proc/sys/vm/drop_caches), started again, then the query asked once
#    (cold) and RUNS times more (warm: the median), through its HTTP API;
#  - shale serve --read-only on the store, the same way, when it answers
#    /api/v1/query (else its columns say "-");
#  - shale in process (promql_eval_* over the store opened as a reader,
#    no HTTP): a new block cache a query and the page cache dropped
#    before the cold run; the object store GETs of the cold and the warm
#    runs.
#
# Prints one table with every figure in ms, the answers' series counts
# (shale's and Prometheus's must agree), the servers' peak RSS, and how
# long each side took to load the samples. Dropping the page cache needs
# root; without it, cold means only a new process or block cache. Run by
# hand; not part of the suite.
#
#   tools/bench/bench-query.sh [-n SERIES] [-H HOURS] [-i SECONDS] [-r RUNS] [-d DIR]
#
# -d keeps the data in DIR (made if missing) and uses what is there on
# another run, so the queries can be measured again without loading.
#
# Uses build/rel/shale (SHALE= to change; a release build), promtool,
# /usr/bin/prometheus and curl. Everything it starts is stopped by PID,
# and its directory removed, at the end (unless -d).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/rel/shale}
. "$top/tests/lib/ports.sh"
series=10000 hours=24 interval=15 runs=10 keep=
while getopts n:H:i:r:d: o; do
	case $o in
	n) series=$OPTARG ;;
	H) hours=$OPTARG ;;
	i) interval=$OPTARG ;;
	r) runs=$OPTARG ;;
	d) keep=$OPTARG ;;
	*) echo "usage: $0 [-n SERIES] [-H HOURS] [-i SECONDS] [-r RUNS] [-d DIR]" >&2; exit 2 ;;
	esac
done
for c in promtool /usr/bin/prometheus curl; do
	command -v "$c" >/dev/null || { echo "$c missing" >&2; exit 1; }
done
[ -x "$shale" ] || { echo "no shale at $shale (tools/build.sh build/rel)" >&2; exit 1; }

if [ -n "$keep" ]; then
	mkdir -p "$keep"
	work=$(cd "$keep" && pwd)
	rm -rf "$work/fig"
else
	work=$(mktemp -d /tmp/shale-bench-query.XXXXXX)
fi
mkdir -p "$work/config" "$work/cache" "$work/fig"
# no user's shale.yaml, and the manifest mirror inside $work
export XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache
prom= serve= port=
nq=6

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

stop_servers() {
	[ -n "$prom" ] && stop "$prom"
	[ -n "$serve" ] && stop "$serve"
	prom= serve=
}

cleanup() {
	stop_servers
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

now_ns() {
	date +%s%N
}

secs_since() {	# NS
	awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'
}

drop=yes
drop_caches() {
	sync
	echo 3 2>/dev/null >/proc/sys/vm/drop_caches || drop=no
}

# hwm PID NAME: keep the larger of NAME's figure and PID's peak RSS (MiB)
hwm() {
	local kb
	kb=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
	awk -v k="${kb:-0}" -v f="$(cat "$work/fig/$2" 2>/dev/null || echo 0)" \
		'BEGIN { m = k / 1024; printf "%.1f\n", (m > f ? m : f) }' >"$work/fig/$2.new"
	mv "$work/fig/$2.new" "$work/fig/$2"
}

# wait_ready URL PID LOG
wait_ready() {
	local i
	for i in $(seq 1200); do
		curl -sf -o /dev/null "$1/-/ready" && return 0
		pid_gone "$2" && break
		sleep 0.05
	done
	echo "$1 did not get ready; the end of its log:" >&2
	tail -20 "$3" >&2
	exit 1
}

start_prom() {
	port=$(pick_port 1)
	/usr/bin/prometheus --config.file="$work/prom.yml" \
		--storage.tsdb.path="$work/prom" --storage.tsdb.retention.time=10y \
		--web.listen-address="127.0.0.1:$port" >>"$work/prom.log" 2>&1 &
	prom=$!
	wait_ready "http://127.0.0.1:$port" "$prom" "$work/prom.log"
}

start_serve() {
	port=$(pick_port 1)
	"$shale" serve --read-only --port "$port" "file://$work/store" >>"$work/serve.log" 2>&1 &
	serve=$!
	wait_ready "http://127.0.0.1:$port" "$serve" "$work/serve.log"
}

# bench WHO K [OPTIONS...]: 'shale bench query' for query K, its row kept
# in $work/fig/WHO.K ("-" columns on an error, which is shown)
bench() {
	local who=$1 k=$2 row
	shift 2
	"$shale" bench query --runs "$runs" --query "$k" "$@" "$work" >"$work/out.txt" 2>&1 || true
	row=$(awk -v k="$k" '$1 == k && $3 != "error:" && NF == 9' "$work/out.txt")
	if [ -z "$row" ]; then
		echo "$who, query $k: $(awk -v k="$k" '$1 == k' "$work/out.txt" | cut -c19-)" >&2
		row="$k - - - - - - - -"
	fi
	echo "$row" >"$work/fig/$who.$k"
	grep -E "^$k: " "$work/out.txt" >"$work/fig/expr.$k" || true
}

# ---- the data ----
load_data() {
	local t0
	rm -rf "$work/store" "$work/prom" "$work/end"
	echo "data: $series series, $hours h at $interval s"
	"$shale" bench query --load --series "$series" --hours "$hours" --interval "$interval" \
		--openmetrics "$work/om.txt" "$work" | tee "$work/load.txt"
	t0=$(now_ns)
	promtool tsdb create-blocks-from openmetrics --max-block-duration=24h \
		"$work/om.txt" "$work/prom" >/dev/null
	echo "prometheus load: blocks made by promtool in $(secs_since "$t0") s from $(du -sb "$work/om.txt" | cut -f1) bytes of OpenMetrics: $(find "$work/prom" -mindepth 1 -maxdepth 1 -type d -name '01*' | wc -l) blocks, $(du -sb "$work/prom" | cut -f1) bytes" | tee -a "$work/load.txt"
	rm -f "$work/om.txt"
}
if [ -f "$work/end" ] && [ -d "$work/prom" ] && [ ! -f "$work/om.txt" ]; then
	echo "data: what $work holds"
	cat "$work/load.txt"
else
	load_data
fi
echo 'global: {}' >"$work/prom.yml"

# ---- Prometheus ----
for k in $(seq $nq); do
	stop_servers
	drop_caches
	start_prom
	bench prom "$k" --url "http://127.0.0.1:$port"
	hwm "$prom" prom_hwm
done
stop_servers

# ---- shale serve ----
start_serve
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/query?query=1")
if [ "$code" = 200 ]; then
	for k in $(seq $nq); do
		stop_servers
		drop_caches
		start_serve
		bench serve "$k" --url "http://127.0.0.1:$port"
		hwm "$serve" serve_hwm
	done
else
	echo "shale serve answers /api/v1/query with $code: no HTTP figures for shale" >&2
	for k in $(seq $nq); do echo "$k - - - - - - - -" >"$work/fig/serve.$k"; done
fi
stop_servers

# ---- shale in process ----
for k in $(seq $nq); do
	bench local "$k" --drop-caches
	awk '/^peak RSS/ { print $(NF - 1) }' "$work/out.txt" >"$work/fig/local_hwm.$k"
done
local_hwm=$(cat "$work/fig"/local_hwm.* | sort -g | tail -1)

# ---- the figures ----
echo
echo "ms; cold: the first query after a start (page cache dropped: $drop), warm: median of $runs;"
echo "GETs: the object store's, cold/warm (the median)"
fmt='%-2s %-14s | %9s %9s %11s | %9s %9s %11s | %9s %9s | %7s\n'
printf "$fmt" "#" query "serve" "" "" "in proc" "" "" "prom" "" ""
printf "$fmt" "" "" cold warm GETs cold warm GETs cold warm series
for k in $(seq $nq); do
	read -r _ name sc sw sgc sgw _ _ _ <"$work/fig/serve.$k"
	read -r _ lname lc lw lgc lgw ln _ _ <"$work/fig/local.$k"
	read -r _ pname pc pw _ _ pn _ _ <"$work/fig/prom.$k"
	[ "$name" != - ] || name=$lname
	[ "$name" != - ] || name=$pname
	printf "$fmt" "$k" "$name" "$sc" "$sw" "$sgc/$sgw" "$lc" "$lw" "$lgc/$lgw" "$pc" "$pw" "$pn"
done
cat "$work/fig"/expr.*
echo
echo "answers: series and the sum of their values, shale in process / shale serve / prometheus"
for k in $(seq $nq); do
	read -r _ _ _ _ _ _ sn _ ss <"$work/fig/serve.$k"
	read -r _ _ _ _ _ _ ln _ ls <"$work/fig/local.$k"
	read -r _ _ _ _ _ _ pn _ ps <"$work/fig/prom.$k"
	same=$(awk -v a="$ls" -v b="$ps" -v c="$ss" -v n="$ln" -v m="$pn" -v o="$sn" '
		function near(x, y,  d, s) { d = x - y; if (d < 0) d = -d
			s = (x < 0 ? -x : x) + (y < 0 ? -y : y); return d <= 1e-9 * s }
		BEGIN { if (a == "-" || b == "-") { print "?"; exit }
		if (n != m || !near(a, b)) { print "DIFFERENT"; exit }
		if (c != "-" && (o != m || !near(c, b))) { print "DIFFERENT"; exit }
		print "same" }')
	printf '%-2s %7s %-18s %7s %-18s %7s %-18s %s\n' "$k" "$ln" "$ls" "$sn" "$ss" "$pn" "$ps" "$same"
done
echo
echo "peak RSS, MiB: prometheus $(cat "$work/fig/prom_hwm"), shale serve $(cat "$work/fig/serve_hwm" 2>/dev/null || echo -), shale in process $local_hwm"
