#!/bin/bash
# bench-series.sh - bytes a sample after compaction, shale beside
# Prometheus, on the same node_exporter-like data: a scrape of a live
# prometheus-node-exporter is recorded and replayed by 'shale bench
# series' (which also reports its ingest rate and RSS) for each shape
# given, and the same samples, written as OpenMetrics, are made into
# Prometheus 2.x blocks by 'promtool tsdb create-blocks-from
# openmetrics'. Run by hand; not part of the suite.
#
#   tools/bench/bench-series.sh [-j JITTER_MS] [SERIESxHOURS ...]
#					(default: 1000x24 10000x2)
#
# Timestamps are on the interval, as Prometheus aligns them within 2 ms
# by default; -j adds up to JITTER_MS of random lateness to each scrape.
#
# Uses build/shale (SHALE= to change), /usr/bin/prometheus-node-exporter
# and promtool. Everything it starts is stopped by PID at the end.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/shale}
. "$top/tests/lib/ports.sh"
jitter=0
while getopts j: o; do
	case $o in
	j) jitter=$OPTARG ;;
	*) echo "usage: $0 [-j JITTER_MS] [SERIESxHOURS ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- 1000x24 10000x2
command -v promtool >/dev/null || { echo "promtool missing (apt-get install prometheus)" >&2; exit 1; }
work=$(mktemp -d /tmp/shale-bench-series.XXXXXX)
ne=
cleanup() {
	[ -n "$ne" ] && kill "$ne" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(pick_port 1)
/usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$port" \
	>"$work/ne.log" 2>&1 &
ne=$!
for _ in $(seq 100); do
	curl -sf -o "$work/scrape.txt" "http://127.0.0.1:$port/metrics" && break
	sleep 0.1
done
[ -s "$work/scrape.txt" ] || { echo "node exporter did not answer" >&2; exit 1; }
kill "$ne"; ne=
echo "template: a scrape of prometheus-node-exporter, $(grep -vc '^#' "$work/scrape.txt") samples"

for shape in "$@"; do
	n=${shape%x*} h=${shape#*x}
	echo
	echo "== $n series x ${h} h, every 15 s, jitter up to $jitter ms"
	rm -rf "$work/s" "$work/om.txt" "$work/prom"
	mkdir "$work/s"
	"$shale" bench series --series "$n" --hours "$h" --interval 15 --jitter "$jitter" \
		--template "$work/scrape.txt" --openmetrics "$work/om.txt" "$work/s" |
		tee "$work/out.txt" | sed 's/^/shale      /'
	samples=$(sed -n 's/^ingest: \([0-9]*\) samples.*/\1/p' "$work/out.txt")
	t0=$(date +%s%N)
	promtool tsdb create-blocks-from openmetrics "$work/om.txt" "$work/prom" >/dev/null
	t1=$(date +%s%N)
	bytes=$(du -sb "$work/prom" | cut -f1)
	chunks=$(find "$work/prom" -path '*/chunks/*' -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	awk -v b="$bytes" -v c="$chunks" -v n="$samples" -v s="$(( (t1 - t0) / 1000000 ))" 'BEGIN {
		printf "prometheus blocks: %d bytes (chunks %d): %.3f bytes a sample (chunks %.3f); made in %.1f s\n",
			b, c, b / n, c / n, s / 1000 }' | sed 's/^/promtool   /'
done
