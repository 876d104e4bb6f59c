# series_crash.sh - remote write through a crash: 'shale serve' killed
# with SIGKILL while 4 rw_send senders post requests (10 series of 10
# samples each, series of their own per sender), each recording the
# requests answered 2xx and the others. After a restart every sample of
# an acknowledged request is there exactly once, and nothing is there
# that was not sent. Then each sender's last acknowledged requests and
# its unacknowledged one are sent again: each is answered 204 (what was
# stored is ignored as a duplicate) or 400 out of order, every sample
# acknowledged either time is there, and still no sample is there twice. 5 kills on file://, 3 on RGW when it runs.
# Rounds alternate remote write 1.0 and 2.0.
. "$top_srcdir/tests/lib/common.sh"
command -v curl >/dev/null 2>&1 || skip "curl not installed (apt-get install curl)"
RW="$top_builddir/tests/integration/rw_send"
SEND_PID=""
cleanup() {
	[ -n "$SEND_PID" ] && ! pid_gone "$SEND_PID" && kill "$SEND_PID" 2>/dev/null
	stop_serves
}
trap cleanup EXIT

# samples STORE METRIC: every sample of its series, 'SERIES T V' with T
# in milliseconds as rw_send writes it, sorted
samples() {
	"$SHALE" series "$1" dump "{__name__=\"$2\"}" 2>"$TEST_TMP/dump.err" |
		awk '{ t = $(NF - 1); neg = sub(/^-/, "", t); split(t, p, ".")
		    ms = p[1] * 1000 + p[2]; $(NF - 1) = sprintf("%.0f", neg ? -ms : ms)
		    print }' | sort
}

# acked_lines FILE: the sample lines of an rw_send record, sorted
acked_lines() {
	grep -v '^$' "$1" | sort
}

# requests_of FILE SENDER: the requests of one sender in an rw_send
# record, as -i reads them (a blank line after each), in order
requests_of() {
	awk -v s="instance=\"s$2\"" 'BEGIN { RS = ""; ORS = "\n\n" } index($0, s)' "$1"
}

# wait_acked LOG N: until N requests were answered 2xx (60 s at most)
wait_acked() {
	local i
	for i in $(seq 1 600); do
		[ "$(awk '$3 >= 200 && $3 < 300' "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		pid_gone "$SEND_PID" && return 1
		sleep 0.1
	done
	return 1
}

crash_round() {	# STORE ROUND
	local store=$1 r=$2 port d="$TEST_TMP/r$2" s n dup extra m="rw_crash_$2"
	mkdir -p "$d"
	port=$(pick_port 1) || { fail "a free port"; return; }
	u="http://127.0.0.1:$port/api/v1/write"
	SERVE_LOG=serve-$r.log serve_shale "$store" "$port" || { fail "round $r: serve"; return; }
	# each round a metric of its own, its samples after the last round's
	"$RW" -v $((r % 2 + 1)) -n 100000 -c 4 -s 10 -k 10 -m "$m" \
		-t $((1700000000000 + r * 100000000000)) -d 10 -x -T 30000 \
		-a "$d/acked" -u "$d/unacked" -l "$d/log" "$u" 2>"$d/rw.err" &
	SEND_PID=$!
	if ! wait_acked "$d/log" $((20 + RANDOM % 60)); then
		fail "round $r: the senders got no answers: $(cat "$d/rw.err") $(tail -3 "$TEST_TMP/serve-$r.log")"
		return
	fi
	kill -KILL "$SERVE_PID"
	wait_gone "$SERVE_PID" 10
	wait "$SEND_PID"
	SEND_PID=""
	n=$(grep -vc '^$' "$d/acked")
	SERVE_LOG=serve-$r.log serve_shale "$store" "$port" || { fail "round $r: restart"; return; }

	samples "$store" "$m" >"$d/have"
	acked_lines "$d/acked" >"$d/want"
	cat "$d/acked" "$d/unacked" | grep -v '^$' | sort -u >"$d/sent"
	dup=$(awk '{ print $1, $2 }' "$d/have" | uniq -d | wc -l)
	comm -23 "$d/want" "$d/have" >"$d/missing"
	extra=$(comm -13 "$d/sent" "$d/have" | wc -l)
	if [ ! -s "$d/missing" ] && [ "$dup" -eq 0 ] && [ "$extra" -eq 0 ]; then
		ok "round $r on $store: the $n acknowledged samples are there once, nothing else ($(grep -vc '^$' "$d/unacked") sent without an answer)"
	else
		fail "round $r on $store: $(wc -l <"$d/missing") acknowledged samples missing ($(head -3 "$d/missing")), $dup at a time twice, $extra never sent; $(cat "$TEST_TMP/dump.err")"
	fi

	# again: each sender's last 3 acknowledged requests and the one after
	: >"$d/again.log"
	: >"$d/again.acked"
	for s in 0 1 2 3; do
		{ requests_of "$d/acked" "$s" | awk 'BEGIN { RS = ""; ORS = "\n\n" } { r[NR] = $0 } END { for (i = NR - 2; i <= NR; i++) if (i > 0) print r[i] }'
		  requests_of "$d/unacked" "$s"; } >"$d/again.$s"
		"$RW" -v $((r % 2 + 1)) -i "$d/again.$s" -l "$d/again.$s.log" \
			-a "$d/again.$s.acked" "$u" 2>/dev/null
		cat "$d/again.$s.log" >>"$d/again.log"
		cat "$d/again.$s.acked" >>"$d/again.acked"
	done
	bad=$(awk '!($3 == 204 || ($3 == 400 && /out of order/))' "$d/again.log")
	[ -z "$bad" ] && ok "round $r: $(wc -l <"$d/again.log") requests sent again: $(awk '{ print $3 }' "$d/again.log" | sort | uniq -c | awk '{ printf "%s%s answered %s", (NR > 1 ? ", " : ""), $1, $2 }')" ||
		fail "round $r: requests sent again were answered: $bad"
	# now what was acknowledged either time
	cat "$d/acked" "$d/again.acked" | grep -v '^$' | sort -u >"$d/want"
	samples "$store" "$m" >"$d/have2"
	dup=$(awk '{ print $1, $2 }' "$d/have2" | uniq -d | wc -l)
	comm -23 "$d/want" "$d/have2" >"$d/missing"
	extra=$(comm -13 "$d/sent" "$d/have2" | wc -l)
	[ ! -s "$d/missing" ] && [ "$dup" -eq 0 ] && [ "$extra" -eq 0 ] &&
		ok "round $r: after sending again, every sample acknowledged either time there once ($(wc -l <"$d/want"))" ||
		fail "round $r: after sending again $(wc -l <"$d/missing") missing, $dup twice, $extra never sent"
	stop_serves
	SERVE_PIDS=""
}

for r in 1 2 3 4 5; do
	crash_round "file://$TEST_TMP/store" "$r"
done
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	for r in 6 7 8; do
		crash_round "s3://$b/series" "$r"
	done
fi
grep -E ' shale error: ' "$TEST_TMP"/serve-*.log && fail "the daemons logged errors (above)"
finish
