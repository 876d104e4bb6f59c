# loki_push.sh - Loki's push API (POST /loki/api/v1/push) of 'shale serve'
# on a file:// store:
#   pushes in JSON, gzip JSON and snappy protobuf (made by
#   tests/integration/loki_push_send), and the legacy /api/prom/push:
#   each answers 204 and its lines are in the stream that
#   logs_push_path() names for its labels, read back through the log
#   API, in the order pushed, and by a query at their own times with
#   their labels; entries out of order within the window;
#   an empty line stays an empty line;
#   bad pushes (bad JSON, gzip, snappy, labels, times, no entries, an
#   unknown Content-Encoding) answer 400 or 415 with a message, and one bad
#   stream keeps the good one of the same request out; an entry two
#   hours behind its stream's newest answers 400 ("too old"); nothing of
#   them is stored; a gzip bomb answers 413; a read-only follower answers
#   503; the loki_push_* metrics;
#   kill -9 of the server during pushes: after a restart every push
#   acknowledged is there once, and no push is there in part;
#   a real client: pino with the pino-loki transport from npm, run by
#   Debian's node, logs lines that land in the stream of its labels and
#   are counted by a LogQL metric query
#   (installed once into $top_srcdir/.cache/npm; without the registry,
#   that part fails saying so).
. "$top_srcdir/tests/lib/common.sh"
for t in curl jq base64 gzip; do
	command -v $t >/dev/null 2>&1 ||
		skip "$t not installed (apt-get install curl jq coreutils gzip)"
done
SEND="$top_builddir/tests/integration/loki_push_send"
cleanup() {
	stop_serves
}
trap cleanup EXIT

p=$(pick_port) || { fail "a free port"; finish; }
base="http://127.0.0.1:$p"
push="$base/loki/api/v1/push"
serve_shale "file://$TEST_TMP/store" "$p" || { fail "serve"; finish; }

now=$(date +%s%N)

# lines LABELS [BASE]: the stream of those labels, as text ("" if none),
# from the server at BASE ($base)
lines() {
	local path
	path=$("$SEND" path "$1") || { echo "(no path for $1)"; return; }
	curl -s -G "${2:-$base}/api/v1/log/scan" --data-urlencode "key=$path" \
		-o "$TEST_TMP/scan"
	jq -r '.values[]?.value' "$TEST_TMP/scan" | base64 -d
}

# entries TS LINE...: the JSON of a push of one stream {job="json"}
json_body() {
	local labels=$1 ts=$2 sep="" v=""
	shift 2
	for l in "$@"; do
		v="$v$sep[\"$ts\",\"$l\"]"
		sep=","
		ts=$((ts + 1))
	done
	printf '{"streams":[{"stream":%s,"values":[%s]}]}' "$labels" "$v"
}

# ---- JSON, gzip, deflate, protobuf ----
json_body '{"job":"json","env":"test"}' "$now" "one" "" "three" >"$TEST_TMP/j"
expect_eq "JSON push" 204 "$(code "$push" -H 'Content-Type: application/json' \
	--data-binary @"$TEST_TMP/j")"
# an entry a second behind the stream's newest is taken (out of order)
json_body '{"env":"test","job":"json"}' "$((now - 1000000000))" "late" >"$TEST_TMP/j"
gzip -c "$TEST_TMP/j" >"$TEST_TMP/j.gz"
expect_eq "gzip JSON push, out of order" 204 "$(code "$push" \
	-H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
	--data-binary @"$TEST_TMP/j.gz")"
expect_eq "JSON lines in the stream of their labels" \
	"$(printf 'one\n\nthree\nlate')" "$(lines '{job="json",env="test"}')"

# and in a query, each entry at its own time, the stream with its labels
q=$(curl -s -G "$base/loki/api/v1/query_range" --data-urlencode 'query={job="json"}' \
	--data-urlencode direction=forward | jq -c '.data.result[] |
	[(.stream | del(.stream)), [.values[] | .[0] + " " + .[1]]]')
expect_eq "JSON entries in a query, at their own times" \
	"[{\"env\":\"test\",\"job\":\"json\"},[\"$((now - 1000000000)) late\",\"$now one\",\"$((now + 1)) \",\"$((now + 2)) three\"]]" \
	"$q"

"$SEND" proto '{job="proto", host="h/1"}' "$now" "p one" "p two" >"$TEST_TMP/pb" ||
	fail "loki_push_send"
expect_eq "protobuf push" 204 "$(code "$push" \
	-H 'Content-Type: application/x-protobuf' --data-binary @"$TEST_TMP/pb")"
expect_eq "protobuf push, the legacy path" 204 "$(code "$base/api/prom/push" \
	--data-binary @"$TEST_TMP/pb")"
expect_eq "protobuf lines in the stream of their labels" \
	"$(printf 'p one\np two\np one\np two')" "$(lines '{host="h/1",job="proto"}')"

# ---- bad pushes: a status, a message, nothing stored ----
# refused BODY-FILE STATUS MESSAGE-REGEX WHAT [CURL-OPTIONS...]
refused() {
	local f=$1 want=$2 re=$3 what=$4
	shift 4
	expect_eq "$what: status" "$want" "$(code "$push" "$@" --data-binary @"$f")"
	expect_match "$what: message" "$re" "$(cat "$TEST_TMP/body")"
}
printf '{"streams":[' >"$TEST_TMP/b1"
refused "$TEST_TMP/b1" 400 "not JSON" "truncated JSON" -H 'Content-Type: application/json'
printf '{"streams":[{"stream":{"job":"bad"},"values":[["%s","kept out"]]},{"stream":{"job":"bad2"},"values":[["12x","y"]]}]}' \
	"$now" >"$TEST_TMP/b2"
refused "$TEST_TMP/b2" 400 'streams\[1\]\.values\[0\]: the time .12x. is not' \
	"a bad time in the second stream" -H 'Content-Type: application/json'
printf '{"streams":[{"stream":{"a-b":"c"},"values":[["%s","x"]]}]}' "$now" >"$TEST_TMP/b3"
refused "$TEST_TMP/b3" 400 'streams\[0\]' "a bad label name" -H 'Content-Type: application/json'
printf '{"streams":[]}' >"$TEST_TMP/b4"
refused "$TEST_TMP/b4" 400 "no entries" "no streams" -H 'Content-Type: application/json'
refused "$TEST_TMP/b1" 400 "not valid gzip" "not gzip" \
	-H 'Content-Type: application/json' -H 'Content-Encoding: gzip'
refused "$TEST_TMP/b1" 400 "snappy" "not snappy" -H 'Content-Type: application/x-protobuf'
"$SEND" proto '{job=~"x"}' "$now" "x" >"$TEST_TMP/b5"
refused "$TEST_TMP/b5" 400 "label 'job' is given with '=~'" "a matcher for labels"
refused "$TEST_TMP/j" 400 "snappy" "JSON sent as text/plain (read as protobuf)" \
	-H 'Content-Type: text/plain'
refused "$TEST_TMP/j" 415 "Content-Encoding 'br'" "br" -H 'Content-Type: application/json' \
	-H 'Content-Encoding: br'
# too old: two hours behind the newest entry of its stream (the window
# is an hour, behind the stream's newest, as Loki's)
json_body '{"job":"old"}' "$now" "new" >"$TEST_TMP/b6"
expect_eq "a stream's first entry" 204 "$(code "$push" \
	-H 'Content-Type: application/json' --data-binary @"$TEST_TMP/b6")"
json_body '{"job":"old"}' "$((now - 2 * 3600 * 1000000000))" "too old" >"$TEST_TMP/b6"
refused "$TEST_TMP/b6" 400 "too old" "an entry two hours behind it" \
	-H 'Content-Type: application/json'
expect_eq "the refused pushes stored nothing" "new" \
	"$(lines '{job="bad"}')$(lines '{job="bad2"}')$(lines '{job="old"}')"
# a megabyte of gzip that would be millions of entries: 413 at once
{ printf '{"streams":[{"stream":{"job":"bomb"},"values":['
  yes '["1",""],' | head -c 12000000
  printf '["1",""]]}]}'; } | gzip -c >"$TEST_TMP/bomb.gz"
refused "$TEST_TMP/bomb.gz" 413 "needs more than" "a gzip bomb" \
	-H 'Content-Type: application/json' -H 'Content-Encoding: gzip'
expect_eq "the server still takes pushes" 204 "$(code "$push" \
	-H 'Content-Type: application/json' --data-binary @"$TEST_TMP/j")"

# a follower takes no push: 503, which a client retries (elsewhere)
fp=$(pick_port) || fail "a free port"
if SERVE_LOG=follower.log serve_shale "file://$TEST_TMP/store" "$fp" --read-only; then
	expect_eq "a follower refuses a push" 503 "$(code "http://127.0.0.1:$fp/loki/api/v1/push" \
		-H 'Content-Type: application/json' --data-binary @"$TEST_TMP/j")"
	expect_match "its message" "read-only" "$(cat "$TEST_TMP/body")"
else
	fail "follower: serve --read-only"
fi

# ---- the metrics say what was stored and what was refused ----
curl -s "$base/metrics" >"$TEST_TMP/metrics"
metric() { awk -v m="$1" '$1 == m { print $2 }' "$TEST_TMP/metrics"; }
expect_eq "metrics: entries stored" 10 "$(metric loki_push_entries_ingested_total)"
expect_eq "metrics: pushes answered 204, 400, 413, 415" "6 9 1 1" \
	"$(metric 'loki_push_requests_total{code="204"}') $(metric 'loki_push_requests_total{code="400"}') $(metric 'loki_push_requests_total{code="413"}') $(metric 'loki_push_requests_total{code="415"}')"

# ---- kill -9 during pushes: every acknowledged entry there, once ----
crash() {
	local cp cu writer pusher n i want got
	cp=$(pick_port) || { fail "a free port"; return; }
	cu="http://127.0.0.1:$cp/loki/api/v1/push"
	SERVE_LOG=crash.log serve_shale "file://$TEST_TMP/cstore" "$cp" ||
		{ fail "crash: serve"; return; }
	writer=$SERVE_PID
	# pushes of three entries each, one after another, until one fails;
	# each one answered 204 is noted
	(
		i=0
		while :; do
			i=$((i + 1))
			t=$(date +%s%N)
			c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
				--data-binary "{\"streams\":[{\"stream\":{\"job\":\"crash\"},\"values\":[[\"$t\",\"c $i a\"],[\"$t\",\"c $i b\"],[\"$t\",\"c $i c\"]]}]}" "$cu")
			[ "$c" = 204 ] || break
			echo "$i" >>"$TEST_TMP/acked"
		done
	) &
	pusher=$!
	: >>"$TEST_TMP/acked"
	# killed once 20 pushes are acknowledged, in the middle of the next
	for i in $(seq 1 600); do
		[ "$(wc -l <"$TEST_TMP/acked")" -ge 20 ] && break
		pid_gone "$pusher" && break
		sleep 0.01
	done
	kill -KILL "$writer" 2>/dev/null
	wait_gone "$pusher" 30 || kill "$pusher"
	wait "$pusher" 2>/dev/null
	n=$(wc -l <"$TEST_TMP/acked")
	[ "$n" -ge 20 ] || fail "crash: only $n pushes acknowledged before the kill"
	cp=$(pick_port) || { fail "a free port"; return; }
	SERVE_LOG=crash2.log serve_shale "file://$TEST_TMP/cstore" "$cp" ||
		{ fail "crash: serve again"; return; }
	lines '{job="crash"}' "http://127.0.0.1:$cp" >"$TEST_TMP/crash.lines"
	# each push there whole or not at all, each acknowledged one once
	got=$(awk '{ n[$2]++ } END { for (i in n) if (n[i] != 3) print "push " i ": " n[i] " lines" }' \
		"$TEST_TMP/crash.lines")
	expect_eq "crash: every push there whole or not at all, once" "" "$got"
	got=0
	while read -r i; do
		grep -qx "c $i a" "$TEST_TMP/crash.lines" || got=$((got + 1))
	done <"$TEST_TMP/acked"
	expect_eq "crash: the $n acknowledged pushes are all there" 0 "$got"
}
crash

# ---- a real client: pino-loki, from npm, on Debian's node ----
pino_loki() {
	local dir="$top_srcdir/.cache/npm" host want got i
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		fail "pino-loki: node and npm are needed (tools/deps.sh test installs nodejs and npm)"
		return
	fi
	# once for every build that runs the tests, one at a time
	mkdir -p "$dir"
	if ! (
		flock 9
		[ -d "$dir/node_modules/pino-loki" ] && [ -d "$dir/node_modules/pino" ] ||
			npm install --no-audit --no-fund --prefix "$dir" pino pino-loki
	) 9>"$dir/.lock" >"$TEST_TMP/npm.log" 2>&1; then
		fail "pino-loki: npm cannot install pino and pino-loki (is the npm registry reachable?): $(tail -3 "$TEST_TMP/npm.log" | tr '\n' ' ')"
		return
	fi
	cat >"$TEST_TMP/pino.js" <<-'EOF'
	// log lines with pino through pino-loki, then close the transport,
	// which sends what it holds
	const pino = require('pino');
	const { pinoLoki } = require('pino-loki');
	const stream = pinoLoki({
		host: process.argv[2],
		labels: { application: 'shale-test' },
		batching: { interval: 60 },
		timeout: 10000,
	});
	stream.on('close', () => process.exit(0));
	const log = pino({ base: { hostname: 'tester' } }, stream);
	log.info('pino says hello');
	log.info({ meta: { trace_id: 't-1' } }, 'with structured metadata');
	log.warn('a warning');
	stream.end();
	EOF
	NODE_PATH="$dir/node_modules" timeout 30 node "$TEST_TMP/pino.js" "$base" \
		>"$TEST_TMP/pino.log" 2>&1 ||
		fail "pino-loki: node ended badly: $(tail -3 "$TEST_TMP/pino.log" | tr '\n' ' ')"
	got=$(lines '{application="shale-test",hostname="tester",level="info"}' |
		jq -r .msg 2>/dev/null | tr '\n' '|')
	expect_eq "pino-loki: info lines in the stream of their labels" \
		"pino says hello|with structured metadata|" "$got"
	got=$(lines '{application="shale-test",hostname="tester",level="warning"}' |
		jq -r .msg 2>/dev/null)
	expect_eq "pino-loki: the warning in its own stream" "a warning" "$got"
	got=$(curl -s -G "$base/loki/api/v1/query_range" \
		--data-urlencode 'query=sum by (level) (count_over_time({application="shale-test"}[1h]))' \
		--data-urlencode step=3600 | jq -c '[.data.result[] | [.metric.level, (.values | last | .[1])]] | sort')
	expect_eq "pino-loki: its lines counted by a query" '[["info","2"],["warning","1"]]' "$got"
}
pino_loki
finish
