#!/bin/bash
# bench-logql.sh - LogQL over stored access logs beside grep and awk over
# the same lines in plain files: 'shale bench logql' makes the lines
# (default 1 GiB over 24 h in 16 streams), pushes them into a file://
# store, compacted, and writes them to DIR/raw/HOST.log. Then, in one run:
#
#  - shale, in process (logql_eval over the store opened as a reader): a
#    new block cache a query and the page cache dropped before its cold
#    run, the median of RUNS more as the warm figure, and the object
#    store GETs of each;
#  - the shell's counterpart over DIR/raw/*.log, cold (the page cache
#    dropped: echo 3 > /proc/sys/vm/drop_caches) and warm (the median of
#    RUNS), with LC_ALL=C (grep's and awk's fastest):
#	1 filter-all	{job="nginx"} |= "/admin/export"	grep -F
#	2 count-all	sum(count_over_time(... |= "status=503" [24h]))
#							grep -cF (the counts summed)
#	3 filter-hour	query 1 over the last hour	grep -F over the whole
#							files (query 1's figures)
#	4 needle	|= "<the request id of one line>"	grep -F
#	5 status-5m	sum by (status) (count_over_time({job="nginx"}
#			| logfmt status [5m])) over 24 h at a 5 min step
#							awk: lines by status and
#							5-minute bucket of their times
#
# Prints one table with every figure in ms, both sides' counts (they must
# agree: the lines matched; for query 3 the shell's is grep's output cut
# to the hour by the lines' times; for query 5 the lines counted and the
# (status, 5 min) points that have any), the ratios against the goals
# LogQL was given (shell ms / shale ms: at least 0.5 for 1 and 2, 20 for 3, 10
# for 4 and 5), the bytes and records each query read, and the stored
# bytes per raw byte. Dropping the page cache needs root; without it,
# cold means only a new block cache for shale and nothing for the shell.
# Run by hand; not part of the suite.
#
#   tools/bench/bench-logql.sh [-b BYTES] [-s STREAMS] [-H HOURS] [-r RUNS] [-d DIR]
#
# -d keeps the data in DIR (made if missing) and uses what is there on
# another run. Uses build/rel/shale (SHALE= to change; a release build).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/rel/shale}
bytes=1G streams=16 hours=24 runs=5 keep=
while getopts b:s:H:r:d: o; do
	case $o in
	b) bytes=$OPTARG ;;
	s) streams=$OPTARG ;;
	H) hours=$OPTARG ;;
	r) runs=$OPTARG ;;
	d) keep=$OPTARG ;;
	*) echo "usage: $0 [-b BYTES] [-s STREAMS] [-H HOURS] [-r RUNS] [-d DIR]" >&2; exit 2 ;;
	esac
done
[ -x "$shale" ] || { echo "no shale at $shale (tools/build.sh build/rel)" >&2; exit 1; }

if [ -n "$keep" ]; then
	mkdir -p "$keep"
	work=$(cd "$keep" && pwd)
	rm -rf "$work/fig"
else
	work=$(mktemp -d /tmp/shale-bench-logql.XXXXXX)
fi
mkdir -p "$work/config" "$work/cache" "$work/fig"
# no user's shale.yaml, and the manifest mirror inside $work
export XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache
export LC_ALL=C

cleanup() {
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

drop=yes
drop_caches() {
	sync
	echo 3 2>/dev/null >/proc/sys/vm/drop_caches || drop=no
}

now_ns() {
	date +%s%N
}

# ---- the data ----
if [ -f "$work/meta" ] && [ -f "$work/load.txt" ]; then
	echo "data: what $work holds"
	cat "$work/load.txt"
else
	rm -rf "$work/store" "$work/raw" "$work/meta"
	"$shale" bench logql --load --bytes "$bytes" --streams "$streams" \
		--hours "$hours" "$work" | tee "$work/load.txt"
fi
meta() {
	awk -v k="$1" '$1 == k { print $2 }' "$work/meta"
}
rare=$(meta rare) common=$(meta common) needle=$(meta needle)
hour_from=$(meta hour_from) hour_to=$(meta hour_to)
raw_bytes=$(meta raw_bytes) table_bytes=$(meta table_bytes)

# ---- shale ----
"$shale" bench logql --query --runs "$runs" --drop-caches "$work" >"$work/fig/shale.txt" 2>&1 || true
for k in 1 2 3 4 5; do
	row=$(awk -v k="$k" '$1 == k && $3 != "error:" && NF == 12' "$work/fig/shale.txt")
	if [ -z "$row" ]; then
		echo "shale, query $k: $(awk -v k="$k" '$1 == k' "$work/fig/shale.txt" | cut -c17-)" >&2
		row="$k - - - - - - - - - - -"
	fi
	echo "$row" >"$work/fig/shale.$k"
done

# ---- the shell ----
# timed NAME CMD...: CMD cold then RUNS times warm, its output (the last
# run's) in $work/fig/NAME.out; "cold warm" ms in $work/fig/NAME
timed() {
	local name=$1 t0 t1 cold i
	shift
	drop_caches
	t0=$(now_ns)
	"$@" >"$work/fig/$name.out" || true
	t1=$(now_ns)
	cold=$(((t1 - t0) / 1000))
	: >"$work/fig/$name.warm"
	for i in $(seq "$runs"); do
		t0=$(now_ns)
		"$@" >"$work/fig/$name.out" || true
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000)) >>"$work/fig/$name.warm"
	done
	awk -v c="$cold" '{ v[NR] = $1 } END {
		n = asort_(v, NR)
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", c / 1000, m / 1000 }
		function asort_(a, n,  i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
					t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n }' "$work/fig/$name.warm" >"$work/fig/$name"
}

grep_lines() {	# NEEDLE
	grep -hF -- "$1" "$work"/raw/*.log
}
grep_count() {	# NEEDLE
	grep -cF -- "$1" "$work"/raw/*.log
}
# Lines by status and 5-minute bucket of their own times: the keys
# "YYYY-MM-DDTHH:M[05] status" and their counts. The time is the first
# field, ts=2026-12-07T18:15:42.123456789Z, the status the fourth.
awk_status() {
	awk '{ m = substr($1, 19, 1) < 5 ? "0" : "5"
		c[substr($1, 4, 15) m " " substr($4, 8)]++ }
		END { for (k in c) print k, c[k] }' "$work"/raw/*.log
}

timed grep_all grep_lines "$rare"
timed grep_c grep_count "$common"
timed grep_needle grep_lines "$needle"
timed awk_status awk_status

# the shell's answers
sh1=$(wc -l <"$work/fig/grep_all.out")
sh2=$(awk -F: '{ s += $NF } END { print s + 0 }' "$work/fig/grep_c.out")
sh3=$(awk -v a="$hour_from" -v b="$hour_to" '$1 >= a && $1 < b' "$work/fig/grep_all.out" | wc -l)
sh4=$(wc -l <"$work/fig/grep_needle.out")
sh5=$(awk '{ s += $3; st[$2] = 1; p++ } END { n = 0; for (k in st) n++; print s + 0, n, p + 0 }' "$work/fig/awk_status.out")

# ---- the figures ----
echo
echo "ms; cold: page cache dropped ($drop) and, for shale, a new block cache; warm: the median of $runs"
echo "ratio: shell ms / shale ms, cold and warm; the goal beside it"
fmt='%-2s %-11s | %9s %9s | %-8s %9s %9s | %8s %8s %5s | %11s %11s | %9s %12s %9s\n'
printf "$fmt" "#" query "shale" "" shell "" "" ratio "" goal "count" "" "records" "bytes read" "GETs"
printf "$fmt" "" "" cold warm "" cold warm cold warm "" shale shell "" "" "cold/warm"
row() {	# K SHELLNAME SHELLFIG GOAL SHELLCOUNT
	local k=$1 who=$2 fig=$3 goal=$4 scount=$5 name sc sw sgc sgw cnt ser pts rec lines rb
	local hc hw rc rw
	read -r _ name sc sw sgc sgw cnt ser pts rec lines rb <"$work/fig/shale.$k"
	read -r hc hw <"$work/fig/$fig"
	rc=$(awk -v a="$hc" -v b="$sc" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
	rw=$(awk -v a="$hw" -v b="$sw" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
	printf "$fmt" "$k" "$name" "$sc" "$sw" "$who" "$hc" "$hw" "$rc" "$rw" "$goal" "$cnt" "$scount" "$rec" "$rb" "$sgc/$sgw"
}
row 1 grep grep_all 0.5 "$sh1"
row 2 grep-c grep_c 0.5 "$sh2"
row 3 grep grep_all 20 "$sh3"
row 4 grep grep_needle 10 "$sh4"
row 5 awk awk_status 10 "${sh5%% *}"
grep -E '^[1-5]: ' "$work/fig/shale.txt" || true
echo "3: the shell's figure is grep over the whole files (query 1's), its count grep's lines of the hour"
echo "5: awk counts the lines by status and by 5-minute bucket of their own times,"
echo "   [b, b + 5m); LogQL the windows (T - 5m, T] at each step T (no line is on an edge)"

echo
echo "answers: shale / shell"
same() { [ "$1" = "$2" ] && echo same || echo DIFFERENT; }
read -r _ _ _ _ _ _ c1 _ _ _ _ _ <"$work/fig/shale.1"
read -r _ _ _ _ _ _ c2 _ _ _ _ _ <"$work/fig/shale.2"
read -r _ _ _ _ _ _ c3 _ _ _ _ _ <"$work/fig/shale.3"
read -r _ _ _ _ _ _ c4 _ _ _ _ _ <"$work/fig/shale.4"
read -r _ _ _ _ _ _ c5 s5 p5 _ _ _ <"$work/fig/shale.5"
read -r a5 n5 q5 <<<"$sh5"
echo "1 lines with $rare: $c1 / $sh1 $(same "$c1" "$sh1")"
echo "2 lines with $common: $c2 / $sh2 $(same "$c2" "$sh2")"
echo "3 lines with $rare in the last hour: $c3 / $sh3 $(same "$c3" "$sh3")"
echo "4 lines with the request id $needle: $c4 / $sh4 $(same "$c4" "$sh4")"
echo "5 lines counted: $c5 / $a5 $(same "$c5" "$a5"); statuses: $s5 / $n5 $(same "$s5" "$n5"); (status, 5 min) points: $p5 / $q5 $(same "$p5" "$q5")"
echo
awk -v r="$raw_bytes" -v t="$table_bytes" 'BEGIN {
	printf "stored: %d bytes of tables for %d raw bytes: %.3f stored bytes per raw byte\n", t, r, t / r }'
echo "raw files: $(du -sb "$work/raw" | cut -f1) bytes on local disk; awk is $(readlink -f "$(command -v awk)")"
grep '^peak RSS' "$work/fig/shale.txt" || true
