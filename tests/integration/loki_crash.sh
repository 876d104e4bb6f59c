# loki_crash.sh - Loki pushes through a crash: 'shale serve' on a file://
# store takes JSON pushes (POST /loki/api/v1/push) from three pushers,
# one a label set, each push four numbered lines; each pusher notes a
# push before sending it and again once it is answered 204. The server
# is killed with SIGKILL while they push. The store is read by 'shale
# query --logql' as a reader, as the kill left it; then the server is
# started again on it and the store read back through
# /loki/api/v1/query_range (forward, a high limit) and by a reader beside
# the server. Each time every acknowledged push is there exactly once,
# each stream's lines are in the order pushed, no push is there that was
# not sent, and a push that was not acknowledged is there whole or not
# at all (logs_push stores a push in one batch). Three kills in a row on
# the same store (one under SHALE_TEST_SANITIZED).
. "$top_srcdir/tests/lib/common.sh"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done
PUSHERS=""
cleanup() {
	local p
	for p in $PUSHERS; do
		pid_gone "$p" || kill "$p" 2>/dev/null
	done
	stop_serves
}
trap cleanup EXIT

streams="a b c"
K=4			# lines a push
rounds=3
[ "${SHALE_TEST_SANITIZED:-0}" = 1 ] && rounds=1
store="file://$TEST_TMP/store"
port=$(pick_port 1) || { fail "a free port"; finish; }
u="http://127.0.0.1:$port"
base=$(date +%s%N)

# pusher S N: push N, N+1, ... to the stream {job="crash",s="S"} until a
# push is not answered 204; 'sent N' in $TEST_TMP/S.sent before each,
# N in $TEST_TMP/S.acked after each 204
pusher() {
	local s=$1 n=$2 k v sep c
	while :; do
		v="" sep=""
		for k in $(seq 1 $K); do
			v="$v$sep[\"$((base + n * 1000 + k))\",\"s=$s n=$n k=$k\"]"
			sep=","
		done
		printf '{"streams":[{"stream":{"job":"crash","s":"%s"},"values":[%s]}]}' \
			"$s" "$v" >"$TEST_TMP/$s.body"
		echo "$n" >>"$TEST_TMP/$s.sent"
		c=$(curl -s -o /dev/null -w '%{http_code}' -m 10 \
			-H 'Content-Type: application/json' \
			--data-binary @"$TEST_TMP/$s.body" "$u/loki/api/v1/push")
		[ "$c" = 204 ] || { echo "$n $c" >>"$TEST_TMP/$s.other"; return; }
		echo "$n" >>"$TEST_TMP/$s.acked"
		n=$((n + 1))
	done
}

# acked S: how many pushes of S were acknowledged
acked() {
	if [ -f "$TEST_TMP/$1.acked" ]; then
		wc -l <"$TEST_TMP/$1.acked"
	else
		echo 0
	fi
}

# check WHAT JSON-FILE: the streams of a query_range answer against what
# the pushers noted
check() {
	local what=$1 f=$2 s out
	if [ "$(jq -r .status "$f")" != success ]; then
		fail "$what: the query failed: $(head -c 300 "$f")"
		return
	fi
	for s in $streams; do
		sed "s/^/$s /" "$TEST_TMP/$s.acked"
	done >"$TEST_TMP/acked"
	for s in $streams; do
		sed "s/^/$s /" "$TEST_TMP/$s.sent"
	done >"$TEST_TMP/sent"
	# 'S LINE' for every line answered, in the order answered
	jq -r '.data.result[] | .stream.s as $s | .values[] | "\($s) \(.[1])"' \
		"$f" >"$TEST_TMP/got"
	if out=$(awk -v K=$K '
	FNR == 1 { f++ }
	f == 1 { acked[$1 " " $2] = 1; next }
	f == 2 { sent[$1 " " $2] = 1; next }
	{
		if ($0 !~ /^[a-z] s=[a-z] n=[0-9]+ k=[0-9]+$/ || $2 != "s=" $1) {
			print "a line that was not pushed so: " $0; bad = 1; next
		}
		s = $1; n = substr($3, 3) + 0; k = substr($4, 3) + 0
		if ((s in ln) && (n < ln[s] || (n == ln[s] && k <= lk[s]))) {
			print "out of order or twice in " s ": " $0; bad = 1
		}
		ln[s] = n; lk[s] = k; cnt[s " " n]++; lines[s]++
	}
	END {
		for (x in cnt) {
			if (cnt[x] != K) { print "push " x " is there " cnt[x] " times of " K; bad = 1 }
			if (!(x in sent)) { print "push " x " was never sent"; bad = 1 }
			if (!(x in acked)) { split(x, p, " "); extra[p[1]]++ }
		}
		for (x in acked) {
			split(x, p, " "); nacked[p[1]]++
			if (!(x in cnt)) { print "acknowledged push " x " is missing"; bad = 1 }
		}
		for (s in lines)
			printf "stream %s: %d lines, %d pushes acknowledged, %d more there\n",
			    s, lines[s], nacked[s], extra[s]
		exit bad
	}' "$TEST_TMP/acked" "$TEST_TMP/sent" "$TEST_TMP/got"); then
		echo "$out" | sed "s/^/$what: /"
		ok "$what: every acknowledged push once, in order, nothing in part"
	else
		fail "$what: $(echo "$out" | head -8)"
	fi
}

# reader FILE: every line of the streams pushed, through 'shale query'
# opening the store as a reader, in FILE
reader() {
	"$SHALE" query --logql --limit 0 --format json \
		--start "$(((base - 1000000000) / 1000000000))" "$store" \
		'{job="crash"}' >"$1" 2>"$TEST_TMP/cli.err" && return 0
	fail "shale query: $(cat "$TEST_TMP/cli.err")"
	return 1
}

next=1
serve_shale "$store" "$port" || { fail "serve"; finish; }
for r in $(seq 1 $rounds); do
	PUSHERS=""
	echo "round $r: pushing at $(date +%T.%N)"
	for s in $streams; do
		pusher "$s" "$next" &
		PUSHERS="$PUSHERS $!"
		next=$((next + 100000))
	done
	# killed at a random point, once every pusher was answered a few
	# more times
	want=$((3 + RANDOM % 20 + $(acked a)))
	for i in $(seq 1 600); do
		ready=1
		for s in $streams; do
			[ "$(acked "$s")" -ge "$want" ] || ready=0
		done
		[ $ready = 1 ] && break
		sleep 0.02
	done
	[ $ready = 1 ] || fail "round $r: the pushers were not answered: $(cat "$TEST_TMP"/*.other 2>/dev/null | head -3)"
	echo "round $r: killed at $(date +%T.%N)"
	kill -KILL "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null
	for p in $PUSHERS; do
		wait_gone "$p" 15 || fail "round $r: a pusher did not stop"
	done
	PUSHERS=""
	echo "round $r: pushers stopped at $(date +%T.%N)"
	# a reader of the store as the kill left it, before any writer
	# opened it again
	reader "$TEST_TMP/dead-$r.json" &&
		check "round $r, shale query as a reader of the killed store" \
			"$TEST_TMP/dead-$r.json"
	serve_shale "$store" "$port" || { fail "round $r: restart"; finish; }
	end=$(( $(date +%s%N) + 60000000000 ))
	expect_eq "round $r: query_range" 200 "$(code "$u/loki/api/v1/query_range" -G \
		--data-urlencode 'query={job="crash"}' --data-urlencode direction=forward \
		--data-urlencode limit=5000 --data-urlencode "start=$((base - 1000000000))" \
		--data-urlencode "end=$end")"
	echo "round $r: restarted and read at $(date +%T.%N)"
	cp "$TEST_TMP/body" "$TEST_TMP/api-$r.json"
	check "round $r, the API" "$TEST_TMP/api-$r.json"
	# a reader opening the store beside the restarted server
	reader "$TEST_TMP/cli-$r.json" &&
		check "round $r, shale query as a reader" "$TEST_TMP/cli-$r.json"
done
finish
