#!/bin/bash
# bench-remote-write.sh - remote write ingest, shale beside Prometheus:
# the same generated requests (rw_send, remote write 1.0) are sent by 1
# and by 8 concurrent senders to 'shale serve' on a file:// store and to
# Prometheus's own receiver (prometheus --web.enable-remote-write-receiver),
# each a fresh server. A request holds SAMPLES series with one sample each,
# as Prometheus's shards send them (max_samples_per_send, 2000 by default,
# 500 before 2.25); every request of a sender names the same series, one
# scrape interval later. Each sender first sends one request (the series
# are made), then REQUESTS / SENDERS requests, timed. Prints samples/s of
# each and the RSS of each server at the end. Run by hand; not part of
# the suite.
#
#   tools/bench/bench-remote-write.sh [SENDERS ...]	(default: 1 8)
#
# REQUESTS (default 1000), SAMPLES (default 2000), VERSION (1 or 2;
# Prometheus 2.42 takes only 1, so with 2 its column is "-"). Uses build/rel/shale and
# build/rel/tests/integration/rw_send (SHALE=, RW_SEND= to change; build
# them with 'tools/build.sh build/rel' and 'make -C build/rel
# tests/integration/rw_send'), and /usr/bin/prometheus (PROMETHEUS=).
# Everything it starts is stopped by PID at the end.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/rel/shale}
rw=${RW_SEND:-$top/build/rel/tests/integration/rw_send}
prom=${PROMETHEUS:-/usr/bin/prometheus}
requests=${REQUESTS:-1000}
samples=${SAMPLES:-2000}
version=${VERSION:-1}
. "$top/tests/lib/ports.sh"
[ $# -gt 0 ] || set -- 1 8
for x in "$shale" "$rw" "$prom"; do
	[ -x "$x" ] || { echo "$x missing (see the top of $0)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/shale-bench-rw.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && stop "$pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# stop PID: TERM, then KILL after 60 s
stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 600); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# rss PID: resident set in MiB
rss() {
	awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# start shale|prometheus PORT: a fresh server in $pid, ready
start() {
	local what=$1 port=$2 d="$work/$1"
	rm -rf "$d"
	mkdir -p "$d"
	case $what in
	shale)
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

# run WHAT SENDERS: samples/s ($rate) and RSS ($mib) of one fresh server
run() {
	local what=$1 c=$2 port u t0 n
	port=$(pick_port 1)
	u="http://127.0.0.1:$port/api/v1/write"
	start "$what" "$port"
	t0=$(( $(date +%s) * 1000 ))
	n=$(( (requests + c - 1) / c ))
	# the series made, then the timed requests, a scrape interval apart
	"$rw" -v "$version" -n 1 -c "$c" -s "$samples" -k 1 -t "$t0" \
		-d 15000 "$u" 2>"$work/warm.err" ||
		{ echo "$what: $(cat "$work/warm.err")" >&2; exit 1; }
	"$rw" -v "$version" -n "$n" -c "$c" -s "$samples" -k 1 \
		-t $((t0 + 15000)) -d 15000 "$u" 2>"$work/rw.err" ||
		{ echo "$what: $(cat "$work/rw.err")" >&2; exit 1; }
	rate=$(sed -n 's/.* \([0-9]*\) acknowledged samples\/s$/\1/p' "$work/rw.err")
	mib=$(rss "$pid")
	stop "$pid"
	pid=
}

echo "remote write $version.0, $samples samples a request (one a series)," \
	"$requests requests; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %14s %14s %12s %12s\n' senders "shale s/s" "prom s/s" \
	"shale MiB" "prom MiB"
for c in "$@"; do
	run shale "$c"
	s_rate=$rate s_rss=$mib
	p_rate=- p_rss=-
	if [ "$version" = 1 ]; then
		run prometheus "$c"
		p_rate=$rate p_rss=$mib
	fi
	printf '%-8s %14s %14s %12s %12s\n' "$c" "$s_rate" "$p_rate" \
		"$s_rss" "$p_rss"
done
