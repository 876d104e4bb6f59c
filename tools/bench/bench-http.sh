#!/bin/bash
# bench-http.sh - the log API under load, with ab (apache2-utils): for
# each store, 'shale serve' with a thread per connection (what shale
# runs) and, beside it in the same run, with a pool of 4 threads on epoll
# (SHALE_HTTP_POOL=4), measures
#   append requests/s and MB/s, 1 and 16 clients on kept-alive
#   connections: small JSON records (one 100-byte value each), and 64 KiB
#   text bodies (lines of log text);
#   the same small appends with awaitDurable (each answered once stored);
#   /metrics latency p50/p99 while 16 clients append;
#   scan MB/s: a stream read from its start by pages (limit=1000,
#   following nextSequence), one client;
#   /metrics latency while 8 long polls wait (what a pool's threads do
#   when each is held by one);
#   the server's peak RSS.
# Run by hand; not part of the suite.
#
#   tools/bench/bench-http.sh [-n REQUESTS] STORE...
#
# Each STORE is a file:// or s3:// URI with an empty prefix (s3 needs
# AWS_* set). Uses build/shale. Everything it starts is stopped by PID.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/shale}
n=20000
while getopts n: o; do
	case $o in
	n) n=$OPTARG ;;
	*) echo "usage: $0 [-n REQUESTS] STORE..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n REQUESTS] STORE..." >&2; exit 2; }
for t in ab curl jq; do
	command -v $t >/dev/null || { echo "$t is needed (apt-get install apache2-utils curl jq)" >&2; exit 1; }
done
. "$top/tests/lib/ports.sh"
work=$(mktemp -d /tmp/shale-bench-http.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# the bodies: one 100-byte record as JSON; 64 KiB of log lines as text
v=$(printf 'GET /api/items/%06d 200 0.0%02d "Mozilla/5.0 (X11; Linux x86_64)" bench-line-%s' 1 7 abcdefghij | head -c 99)
printf '{"records":[{"key":"bench/json","value":"%s"}]}' "$(printf '%s\n' "$v" | base64 -w0)" >"$work/small.json"
i=0
while [ "$(stat -c %s "$work/text" 2>/dev/null || echo 0)" -lt 65536 ]; do
	printf '%s %06d\n' "$v" "$i"
	i=$((i + 1))
done >"$work/text"
head -c 65536 "$work/text" >"$work/text64k"

# ab_run NAME AB-ARGS...: "req/s MB/s p50 p99" (MB/s of request bodies)
ab_run() {
	local out body
	body=$1
	shift
	out=$(ab -q -k -r "$@" 2>&1) || { echo "ab failed: $out" >&2; echo "- - - -"; return; }
	echo "$out" | awk -v body="$body" '
		/^Requests per second:/ { rps = $4 }
		/^Failed requests:/ { failed = $3 }
		/^Non-2xx responses:/ { non2xx = $3 }
		$1 == "50%" { p50 = $2 }
		$1 == "99%" { p99 = $2 }
		END {
			if (non2xx > 0) printf "(%d non-2xx) ", non2xx
			printf "%.0f %.1f %s %s\n", rps, rps * body / 1e6, p50, p99
		}'
}

rss_peak() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

bench() {	# STORE MODE
	local store=$1 mode=$2 p u r small text
	p=$(pick_port 1)
	u="http://127.0.0.1:$p"
	if [ "$mode" = pool4 ]; then
		SHALE_HTTP_POOL=4 "$shale" serve --port "$p" "$store" 2>>"$work/serve.log" &
	else
		"$shale" serve --port "$p" "$store" 2>>"$work/serve.log" &
	fi
	pid=$!
	for _ in $(seq 1 300); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$u/-/ready")" = 200 ] && break
		sleep 0.1
	done
	small=$(stat -c %s "$work/small.json")
	text=$(stat -c %s "$work/text64k")
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "append JSON 100 B, 1 client" \
		"$(ab_run "$small" -n "$n" -c 1 -p "$work/small.json" -T application/json "$u/api/v1/log/append")"
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "append JSON 100 B, 16 clients" \
		"$(ab_run "$small" -n "$n" -c 16 -p "$work/small.json" -T application/json "$u/api/v1/log/append")"
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "append text 64 KiB, 1 client" \
		"$(ab_run "$text" -n $((n / 20)) -c 1 -p "$work/text64k" -T text/plain "$u/api/v1/log/append?key=bench/text")"
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "append text 64 KiB, 16 clients" \
		"$(ab_run "$text" -n $((n / 10)) -c 16 -p "$work/text64k" -T text/plain "$u/api/v1/log/append?key=bench/text")"
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "append 100 B awaitDurable, 1 cl." \
		"$(ab_run "$small" -n $((n / 20)) -c 1 -p "$work/small.json" -T application/json "$u/api/v1/log/append?awaitDurable=true")"
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "append 100 B awaitDurable, 16 cl." \
		"$(ab_run "$small" -n $((n / 4)) -c 16 -p "$work/small.json" -T application/json "$u/api/v1/log/append?awaitDurable=true")"
	# /metrics while 16 clients append
	ab -q -k -r -n $((n * 4)) -c 16 -p "$work/small.json" -T application/json \
		"$u/api/v1/log/append" >/dev/null 2>&1 &
	local load=$!
	sleep 1
	r=$(ab_run 0 -n 500 -c 1 "$u/metrics")
	kill "$load" 2>/dev/null; wait "$load" 2>/dev/null || true
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "/metrics under 16-client load" "$r"
	# a scan of the text stream from its start, by pages
	local seq=0 bytes=0 t0 t1 total
	total=$(curl -s "$u/api/v1/log/count?key=bench/text" | jq .bytes)
	t0=$(date +%s%N)
	while [ "$seq" -lt "$total" ]; do
		curl -s "$u/api/v1/log/scan?key=bench/text&start_seq=$seq&limit=1000" >"$work/page"
		seq=$(tail -c 40 "$work/page" | sed -n 's/.*"nextSequence":\([0-9]*\)}/\1/p')
	done
	t1=$(date +%s%N)
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "scan by pages, 1 client" \
		"$(awk -v b="$total" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f MB/s (%.0f MB in %.2f s)", b / ns * 1e3, b / 1e6, ns / 1e9 }')"
	# /metrics while 8 long polls wait (5 s) on a stream nobody appends to
	curl -s -o /dev/null -X POST -d idle "$u/api/v1/log/append?key=bench/idle"
	local polls=""
	for _ in 1 2 3 4 5 6 7 8; do
		curl -s -o /dev/null "$u/api/v1/log/scan?key=bench/idle&start_seq=5&follow=true&timeout_ms=5000" &
		polls="$polls $!"
	done
	sleep 0.5
	r=$(ab_run 0 -n 20 -c 1 -s 30 "$u/metrics")
	wait $polls
	printf '%-28s %-7s %-34s %s\n' "$store" "$mode" "/metrics beside 8 long polls" "$r"
	printf '%-28s %-7s %-34s %s MiB\n' "$store" "$mode" "server peak RSS" "$(rss_peak "$pid")"
	kill -TERM "$pid"
	wait "$pid" || echo "serve exited $?" >&2
	pid=
}

printf '%-28s %-7s %-34s %s\n' STORE MODE WORKLOAD "REQ/S MB/S P50_MS P99_MS"
for store in "$@"; do
	for mode in thread pool4; do
		bench "$store-$mode" "$mode"	# a fresh prefix for each
	done
done
