#!/bin/sh
# soak-follow.sh - a writer mount and a read-only follower mount of one
# store for a long run: a loop appends timestamped lines on the writer,
# 'tail -f' on the follower prints them; at the end every line must have
# arrived once and in order, and the delay from append to the follower's
# tail is reported (p50, p99, max). Run by hand; not part of the suite.
#
#   tools/bench/soak-follow.sh [-m MINUTES] [-r LINES_PER_SECOND] STORE
#
# STORE as for shale mount (s3://bucket/prefix needs AWS_* set). Uses
# build/shale. Everything it starts is stopped by PID at the end.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/shale}
minutes=10
rate=20
bulk=0
bpid=
while getopts m:r:b: o; do
	case $o in
	m) minutes=$OPTARG ;;
	r) rate=$OPTARG ;;
	b) bulk=$OPTARG ;;
	*) echo "usage: $0 [-m MINUTES] [-r LINES_PER_SECOND] STORE" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-m MINUTES] [-r LINES_PER_SECOND] STORE" >&2; exit 2; }
store=$1
work=$(mktemp -d /tmp/shale-soak.XXXXXX)
w=$work/w
r=$work/r
mkdir -p "$w" "$r"
tpid=
wpid=
cleanup() {
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null || true
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null || true
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null || true
	for m in "$r" "$w"; do
		p=$(sed -n 's/^pid: //p' "$m/.shale/status" 2>/dev/null || true)
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
		i=0
		while [ -n "$p" ] && [ -e "/proc/$p" ] &&
		    ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
}
trap cleanup EXIT INT TERM

"$shale" mount --log-file "$work/mount.log" "$store" "$w"
mkdir -p "$w/logs/soak"
echo "start $(date +%s%N)" >>"$w/logs/soak/s"
sync "$w/logs/soak/s"
"$shale" mount --log-file "$work/mount.log" --read-only "$store" "$r"

# the follower's tail: each line it prints, with the time it printed it
tail -n 0 -f "$r/logs/soak/s" | while IFS= read -r line; do
	echo "$(date +%s%N) $line"
done >"$work/seen" &
tpid=$!

# the writer: a line every 1/rate s, carrying its number and its time
total=$((minutes * 60 * rate))
awk -v n="$total" -v rate="$rate" 'BEGIN {
	for (i = 0; i < n; i++) {
		cmd = "date +%s%N"; cmd | getline now; close(cmd)
		printf "line %d %s\n", i, now
		fflush()
		system("sleep " 1 / rate)
	}
}' >>"$w/logs/soak/s" &
wpid=$!
if [ "$bulk" -gt 0 ]; then
	(i=0; while [ $i -lt "$minutes" ]; do
		yes "a bulk line of the soak, to make tables and manifests $i" |
			head -c $((bulk * 1048576)) >>"$w/logs/soak/bulk"
		sleep 60
		i=$((i + 1))
	done) &
	bpid=$!
fi
echo "soak: $total lines over $minutes min on $store; follower status every minute"
m=0
while [ -e "/proc/$wpid" ] && ! grep -q '^State:.*Z' "/proc/$wpid/status" 2>/dev/null; do
	sleep 60
	m=$((m + 1))
	echo "after $m min: $(wc -l <"$work/seen") lines seen; $(grep -E '^(follow_lag_ms|manifest|l0_tables)' "$r/.shale/status" | tr '\n' ' ')"
done
wpid=
[ -n "$bpid" ] && wait "$bpid" 2>/dev/null || true
bpid=
sleep 10
kill "$tpid" 2>/dev/null || true
tpid=
if [ "$bulk" -gt 0 ]; then
	a=$(md5sum <"$w/logs/soak/bulk")
	b=$(md5sum <"$r/logs/soak/bulk")
	echo "bulk stream: $(stat -c %s "$w/logs/soak/bulk") bytes on the writer, $(stat -c %s "$r/logs/soak/bulk") on the follower, $([ "$a" = "$b" ] && echo same || echo DIFFERENT)"
	[ "$a" = "$b" ] || bulkbad=1
fi
awk -v n="$total" '
	$2 == "line" {
		if ($3 != next_i) { bad++; printf "out of order or missing at %d (got %d)\n", next_i, $3 }
		next_i = $3 + 1
		d[cnt++] = ($1 - $4) / 1e6
	}
	END {
		printf "%d of %d lines arrived, %d out of order or missing\n", cnt, n, bad
		exit (cnt != n || bad > 0)
	}' next_i=0 "$work/seen" && status=0 || status=1
awk '$2 == "line" { print ($1 - $4) / 1e6 }' "$work/seen" | sort -n | awk '
	{ v[NR] = $1 }
	END { if (NR) printf "delay append -> follower tail: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
	    v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], v[NR] }'
grep -E ' (error|warn): ' "$work/mount.log" | head -5 || true
[ -n "${bulkbad:-}" ] && status=1
exit $status
