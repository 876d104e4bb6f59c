# http_log.sh - the log API (/api/v1/log/*) of a mount and of
# 'shale serve', on file:// and on RGW:
#   round trips, byte for byte: JSON and text appends over HTTP read back
#   through the mount, and lines written through the mount (whole and
#   partial) scanned back over HTTP; start_seq in the middle of a record,
#   limit and nextSequence as a cursor, count;
#   follow: a long poll answers within 100 ms of an append made 50 ms
#   after it began (best of 5), also for an append made through the
#   mount; an open tail -f on the mount shows an HTTP append; a
#   follower ('serve --read-only') sees the writer's appends by long poll;
#   keys: every stream once, depth first, in pages;
#   bad input (on file:// only: the HTTP layer's refusals do not depend
#   on the store): each refusal has its status and message, stores
#   nothing, and the daemon serves on; 1,000 connections at once, each
#   answered;
#   the token guards the log routes; 503 while the store opens;
#   shutdown: SIGTERM while 16 clients append with awaitDurable, and
#   every append that got a 200 is there after a restart.
# The parts (file://, RGW, the states) run side by side.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
for t in curl jq base64; do
	command -v $t >/dev/null 2>&1 ||
		skip "$t not installed (apt-get install curl jq coreutils)"
done
cleanup() {
	stop_serves
	cleanup_mounts
}
trap cleanup EXIT

b64() { printf '%s' "$1" | base64 -w0; }

# values FILE: the values of a scan answer, decoded and joined (base64
# decodes padded pieces one after another)
values() {
	jq -r '.values[].value' "$1" | base64 -d
}

# follow_ms URL APPEND-COMMAND: a long poll begun now, an append 50 ms
# later; prints how long after the append's end the poll answered (ms)
follow_ms() {
	local u=$1 t_app t_got
	shift
	curl -s -o "$TEST_TMP/follow" "$u" &
	local cpid=$!
	sleep 0.05
	"$@" >/dev/null
	t_app=$(date +%s%N)
	wait "$cpid"
	t_got=$(date +%s%N)
	echo $(((t_got - t_app) / 1000000))
}

roundtrip() {	# STORE
	local store=$1 m="$TEST_TMP/m" p u n i best ms all body k
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p/api/v1/log"
	: >"$TEST_TMP/mount.log"
	mount_shale "$store" "$m" --port "$p" || { fail "$store: mount"; return; }

	# JSON: two streams, values with and without a newline, UTF-8, bytes
	printf 'first line\n' >"$TEST_TMP/want.a"
	printf 'no newline' >>"$TEST_TMP/want.a"
	printf '\n' >>"$TEST_TMP/want.a"
	printf 'caf\303\251 \342\202\254 \001\002\377\n' >>"$TEST_TMP/want.a"
	body=$(printf '{"records":[{"key":"app/a","value":"%s"},{"key":"app/a","value":"%s"},{"key":"b","value":"%s"},{"key":"app/a","value":"%s"}],"awaitDurable":true}' \
		"$(b64 'first line
')" "$(b64 'no newline')" "$(b64 'to b
')" "$(printf 'caf\303\251 \342\202\254 \001\002\377\n' | base64 -w0)")
	expect_eq "$store: JSON append" 200 "$(code "$u/append" -X POST -d "$body")"
	expect_eq "$store: its answer" '{"status":"success","recordsAppended":4,"startSequence":0}' \
		"$(cat "$TEST_TMP/body")"
	cmp -s "$TEST_TMP/want.a" "$m/logs/app/a" &&
		ok "$store: the mount reads the JSON appends byte for byte" ||
		fail "$store: the mount reads '$(od -c "$m/logs/app/a" | head -5)'"
	expect_eq "$store: the other stream" "to b" "$(cat "$m/logs/b")"

	# text: the lines of a body, the last one without a newline
	printf 'one\ntwo\nthree' >"$TEST_TMP/text"
	expect_eq "$store: text append" 200 \
		"$(code "$u/append?key=app/a" -X POST --data-binary @"$TEST_TMP/text")"
	n=$(wc -c <"$TEST_TMP/want.a")
	expect_eq "$store: its startSequence is the stream's length before" "$n" \
		"$(jq -r .startSequence "$TEST_TMP/body")"
	printf 'one\ntwo\nthree\n' >>"$TEST_TMP/want.a"
	cmp -s "$TEST_TMP/want.a" "$m/logs/app/a" &&
		ok "$store: the text append reads back in the mount" ||
		fail "$store: after the text append the mount reads '$(cat "$m/logs/app/a")'"

	# through the mount, scanned over HTTP
	mkdir -p "$m/logs/srv/web"
	for i in $(seq 1 200); do echo "GET /page/$i 200 $((i * 7))"; done >"$m/logs/srv/web/access"
	printf 'partial ' >>"$m/logs/srv/web/access"
	printf 'line\n' >>"$m/logs/srv/web/access"
	echo "last line" >>"$m/logs/srv/web/access"
	expect_eq "$store: scan" 200 "$(code "$u/scan?key=srv/web/access&limit=100000")"
	values "$TEST_TMP/body" >"$TEST_TMP/scanned"
	cmp -s "$TEST_TMP/scanned" "$m/logs/srv/web/access" &&
		ok "$store: a scan gives the mount's bytes" ||
		fail "$store: the scan differs from the file: $(cmp "$TEST_TMP/scanned" "$m/logs/srv/web/access")"
	n=$(stat -c %s "$m/logs/srv/web/access")
	expect_eq "$store: nextSequence is the length" "$n" "$(jq -r .nextSequence "$TEST_TMP/body")"

	# a cursor: pages of 16 records from the middle of one (13 pages)
	: >"$TEST_TMP/paged"
	k=5
	for i in $(seq 1 1000); do
		[ "$k" -ge "$n" ] && break
		curl -s "$u/scan?key=srv/web/access&start_seq=$k&limit=16" >"$TEST_TMP/page"
		values "$TEST_TMP/page" >>"$TEST_TMP/paged"
		k=$(jq -r .nextSequence "$TEST_TMP/page")
	done
	tail -c +6 "$m/logs/srv/web/access" | cmp -s - "$TEST_TMP/paged" &&
		ok "$store: pages of 16 from offset 5, by nextSequence, give the rest" ||
		fail "$store: the pages differ from the file after offset 5"
	curl -s "$u/scan?key=srv/web/access&start_seq=10&end_seq=20" >"$TEST_TMP/page"
	expect_eq "$store: start_seq and end_seq cut records" \
		"$(tail -c +11 "$m/logs/srv/web/access" | head -c 10)" "$(values "$TEST_TMP/page")"
	expect_eq "$store: count" 200 "$(code "$u/count?key=app/a")"
	expect_eq "$store: count's records and bytes" "4 $(stat -c %s "$m/logs/app/a")" \
		"$(jq -r '"\(.count) \(.bytes)"' "$TEST_TMP/body")"

	# follow: a long poll that an append 50 ms in answers
	best=100000 all=""
	for i in 1 2 3 4 5; do
		n=$(stat -c %s "$m/logs/b")
		ms=$(follow_ms "$u/scan?key=b&start_seq=$n&follow=true&timeout_ms=5000" \
			curl -s -X POST --data-binary "f$i" "$u/append?key=b")
		all="$all $ms"
		[ "$ms" -lt "$best" ] && best=$ms
		expect_eq "$store: follow $i returns the appended record" "f$i" \
			"$(values "$TEST_TMP/follow")"
	done
	echo "follow over HTTP, ms from append to answer:$all"
	[ "$best" -le 100 ] && ok "$store: a long poll answers within 100 ms of an append (best $best ms)" ||
		fail "$store: a long poll answers $best ms after an append at best ($all)"
	n=$(stat -c %s "$m/logs/b")
	ms=$(follow_ms "$u/scan?key=b&start_seq=$n&follow=true&timeout_ms=5000" \
		sh -c "echo mounted >>'$m/logs/b'")
	expect_eq "$store: follow sees an append through the mount" mounted \
		"$(values "$TEST_TMP/follow")"
	echo "follow of a mount append: $ms ms"
	n=$(stat -c %s "$m/logs/b")
	i=$(date +%s%N)
	expect_eq "$store: follow with nothing new" 200 \
		"$(code "$u/scan?key=b&start_seq=$n&follow=true&timeout_ms=300")"
	expect_eq "$store: ... answers empty at its timeout" "[] $n" \
		"$(jq -c -r '"\(.values) \(.nextSequence)"' "$TEST_TMP/body")"
	[ $((($(date +%s%N) - i) / 1000000)) -ge 300 ] && ok "$store: ... having waited" ||
		fail "$store: an empty follow answered before its timeout"

	# tail -f on the mount shows an HTTP append
	tail -n 0 -f "$m/logs/b" >"$TEST_TMP/tail" 2>/dev/null &
	local tpid=$!
	sleep 0.5
	curl -s -o /dev/null -X POST --data-binary "seen by tail" "$u/append?key=b"
	for i in $(seq 1 100); do
		grep -q "seen by tail" "$TEST_TMP/tail" && break
		sleep 0.1
	done
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	expect_eq "$store: tail -f on the mount shows an HTTP append" "seen by tail" "$(cat "$TEST_TMP/tail")"

	# keys: every stream once, depth first, in pages of 4
	for k in x/y/z1 x/y/z2 x/w a.b a/x q/r/s/t u; do
		mkdir -p "$(dirname "$m/logs/$k")"
		echo k >>"$m/logs/$k"
	done
	(cd "$m/logs" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$TEST_TMP/all"
	# depth first: a directory's streams before a longer name ("a/x" < "a.b")
	awk '{ k = $0; gsub("/", "\001", k); print k "\t" $0 }' "$TEST_TMP/all" |
		LC_ALL=C sort | cut -f2 >"$TEST_TMP/want.keys"
	: >"$TEST_TMP/keys"
	k=""
	for i in $(seq 1 50); do
		curl -s -G "$u/keys" --data-urlencode "limit=4" ${k:+--data-urlencode "after=$k"} >"$TEST_TMP/page"
		jq -r '.keys[].key' "$TEST_TMP/page" >>"$TEST_TMP/keys"
		k=$(jq -r '.next // empty' "$TEST_TMP/page")
		[ -z "$k" ] && break
	done
	cmp -s "$TEST_TMP/want.keys" "$TEST_TMP/keys" &&
		ok "$store: keys lists every stream once, depth first, in pages ($(wc -l <"$TEST_TMP/keys"))" ||
		fail "$store: keys gave $(tr '\n' ' ' <"$TEST_TMP/keys"), wanted $(tr '\n' ' ' <"$TEST_TMP/want.keys")"
	expect_eq "$store: a/x comes before a.b" "a/x a.b" \
		"$(grep -x -e a/x -e a.b "$TEST_TMP/keys" | tr '\n' ' ' | sed 's/ $//')"
	curl -s "$u/keys?prefix=x/" | jq -r '.keys[].key' | tr '\n' ' ' >"$TEST_TMP/px"
	expect_eq "$store: keys with a prefix" "x/w x/y/z1 x/y/z2 " "$(cat "$TEST_TMP/px")"

	# the refusals are the HTTP layer's, the same whatever the store
	case $store in
	file://*) bad_input "$store" "$u" "$m" "$p" ;;
	esac
	umount_shale "$m" || fail "$store: unmount"
	log_clean "$store"
}

# bad_input STORE URL MNT PORT: each refusal, then nothing changed and all serves
bad_input() {
	local store=$1 u=$2 m=$3 p=$4 before after n
	before=$(cd "$m/logs" && find . -type f | LC_ALL=C sort | xargs cat | md5sum)
	expect_eq "$store: malformed JSON" 400 "$(code "$u/append" -X POST -d '{"records":[')"
	expect_match "$store: ... says where" 'malformed JSON at line 1' "$(jq -r .message "$TEST_TMP/body")"
	expect_eq "$store: not an object" 400 "$(code "$u/append" -X POST -d '[1,2]')"
	expect_eq "$store: no records" 400 "$(code "$u/append" -X POST -d '{"records":[]}')"
	expect_eq "$store: a key that is a number" 400 \
		"$(code "$u/append" -X POST -d '{"records":[{"key":1,"value":"eA=="}]}')"
	expect_eq "$store: awaitDurable a string" 400 \
		"$(code "$u/append" -X POST -d '{"records":[{"key":"b","value":"eA=="}],"awaitDurable":"yes"}')"
	expect_eq "$store: bad base64" 400 \
		"$(code "$u/append" -X POST -d '{"records":[{"key":"b","value":"eA=="},{"key":"b","value":"*not*"}]}')"
	expect_eq "$store: ... says which record" 'record 1: "value" is not base64' \
		"$(jq -r .message "$TEST_TMP/body")"
	expect_eq "$store: a duplicate member" 400 \
		"$(code "$u/append" -X POST -d '{"records":[{"key":"b","key":"c","value":"eA=="}]}')"
	for k in '../etc' '/abs' 'a//b' 'a/./b' 'a/' '.' '' "$(head -c 300 /dev/zero | tr '\0' n)"; do
		expect_eq "$store: key '${k:0:20}' over JSON" 400 \
			"$(code "$u/append" -X POST -d "{\"records\":[{\"key\":\"$k\",\"value\":\"eA==\"}]}")"
	done
	expect_eq "$store: a key with NUL over JSON" 400 \
		"$(code "$u/append" -X POST -d '{"records":[{"key":"a\u0000b","value":"eA=="}]}')"
	expect_eq "$store: a key with NUL in a query" 400 "$(code "$u/append?key=a%00b" -X POST -d x)"
	expect_eq "$store: ../ in a query key" 400 "$(code "$u/append?key=..%2Fx" -X POST -d x)"
	expect_eq "$store: an empty text body" 400 "$(code "$u/append?key=b" -X POST)"
	expect_eq "$store: a directory as a key" 400 "$(code "$u/append?key=app" -X POST -d x)"
	expect_eq "$store: a stream as a directory" 404 "$(code "$u/scan?key=b/c")"
	expect_eq "$store: scan of no stream" 404 "$(code "$u/scan?key=nope")"
	expect_eq "$store: ... says so" 'no such stream: nope' "$(jq -r .message "$TEST_TMP/body")"
	expect_eq "$store: count of no stream" 404 "$(code "$u/count?key=nope/x")"
	expect_eq "$store: scan without key" 400 "$(code "$u/scan")"
	expect_eq "$store: start_seq not a number" 400 "$(code "$u/scan?key=b&start_seq=-1")"
	expect_eq "$store: start_seq overflows" 400 "$(code "$u/scan?key=b&start_seq=99999999999999999999")"
	expect_eq "$store: end before start" 400 "$(code "$u/scan?key=b&start_seq=9&end_seq=3")"
	expect_eq "$store: limit 0" 400 "$(code "$u/scan?key=b&limit=0")"
	expect_eq "$store: follow=maybe" 400 "$(code "$u/scan?key=b&follow=maybe")"
	expect_eq "$store: timeout_ms too long" 400 "$(code "$u/scan?key=b&follow=1&timeout_ms=999999999")"
	expect_eq "$store: keys limit" 400 "$(code "$u/keys?limit=x")"
	expect_eq "$store: GET append" 405 "$(code "$u/append")"
	expect_eq "$store: POST scan" 405 "$(code "$u/scan?key=b" -X POST -d x)"
	expect_eq "$store: PUT keys" 405 "$(code "$u/keys" -X PUT)"
	expect_eq "$store: an unknown route" 404 "$(code "$u/nope")"
	expect_eq "$store: 17 query parameters" 400 \
		"$(code "$u/scan?key=b$(for i in $(seq 1 16); do printf '&p%d=1' "$i"; done)")"
	head -c 1100000 /dev/zero | tr '\0' x >"$TEST_TMP/big"
	expect_eq "$store: a body over 1 MiB" 413 "$(code "$u/append?key=b" -X POST --data-binary @"$TEST_TMP/big")"
	expect_eq "$store: ... sent chunked" 413 "$(code "$u/append?key=b" -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$TEST_TMP/big")"
	after=$(cd "$m/logs" && find . -type f | LC_ALL=C sort | xargs cat | md5sum)
	expect_eq "$store: the refused requests changed nothing" "$before" "$after"

	# 1,000 connections at once, a request on each: valid, refused, unknown
	n=$(timeout 120 bash -c '
		ulimit -n 4096 2>/dev/null
		n=0 fds="" reqs=(
		"GET /api/v1/log/scan?key=b&limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		"POST /api/v1/log/append HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{x}"
		"GET /api/v1/log/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		for i in $(seq 1 1000); do
			exec {fd}<>"/dev/tcp/127.0.0.1/$1" && fds="$fds $fd"
		done
		i=0
		for fd in $fds; do
			printf "${reqs[$((i % 3))]}" >&"$fd"
			i=$((i + 1))
		done
		i=0
		for fd in $fds; do
			want=$(case $((i % 3)) in 0) echo 200;; 1) echo 400;; 2) echo 404;; esac)
			read -r -t 20 -u "$fd" line && case $line in "HTTP/1.1 $want"*) n=$((n + 1)) ;; esac
			exec {fd}<&-
			i=$((i + 1))
		done
		echo "$n"' conns "$p" | tail -1)
	expect_eq "$store: 1,000 connections at once, each with its status" 1000 "$n"
	after=$(cd "$m/logs" && find . -type f | LC_ALL=C sort | xargs cat | md5sum)
	expect_eq "$store: ... and nothing changed" "$before" "$after"
	expect_eq "$store: it still serves" 200 "$(code "$u/scan?key=b")"
}

# a follower over HTTP: 'serve --read-only' on the writer mount's store
follower() {
	local store=$1 m="$TEST_TMP/fm" p u ms n
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p/api/v1/log"
	mount_shale "$store" "$m" || { fail "follower: mount"; return; }
	echo "before" >>"$m/logs/f"
	serve_shale "$store" "$p" --read-only || { fail "follower: serve --read-only"; return; }
	for i in $(seq 1 100); do
		[ "$(curl -s "$u/scan?key=f" | jq -r '.values | length')" = 1 ] && break
		sleep 0.1
	done
	expect_eq "follower: reads the writer's stream" "before" "$(curl -s "$u/scan?key=f" >"$TEST_TMP/fb"; values "$TEST_TMP/fb")"
	expect_eq "follower: refuses an append" 403 "$(code "$u/append?key=f" -X POST -d x)"
	n=$(stat -c %s "$m/logs/f")
	ms=$(follow_ms "$u/scan?key=f&start_seq=$n&follow=true&timeout_ms=20000" \
		sh -c "echo after >>'$m/logs/f' && sync '$m/logs/f'")
	expect_eq "follower: a long poll sees the writer's append" "after" "$(values "$TEST_TMP/follow")"
	echo "follower: the writer's fsynced append reached a long poll in $ms ms"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 && ok "follower: stops on SIGTERM" ||
		fail "follower: did not stop"
	umount_shale "$m" || fail "follower: unmount"
}

# 503 while the store opens; the token guards the log routes
states() {
	local store="file://$TEST_TMP/sstore" p u tok="tok-$RANDOM$RANDOM" pid i seen=0
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p/api/v1/log"
	printf '%s\n' "$tok" >"$TEST_TMP/token"
	serve_shale "$store" "$p" --token-file "$TEST_TMP/token" || { fail "states: serve"; return; }
	expect_eq "token: append without it" 401 "$(code "$u/append?key=t" -X POST -d x)"
	expect_eq "token: scan with a wrong one" 401 "$(code "$u/scan?key=t" -H "Authorization: Bearer no$tok")"
	expect_eq "token: append with it" 200 "$(code "$u/append?key=t" -X POST -d x -H "Authorization: Bearer $tok")"
	expect_eq "token: keys with it" '["t"]' "$(curl -s -H "Authorization: Bearer $tok" "$u/keys" | jq -c '[.keys[].key]')"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "states: stop"
	grep -q "$tok" "$TEST_TMP/serve.log" && fail "token: in the log" || ok "token: not in the log"

	"$SHALE" serve --port "$p" "fault:latency=400:$store" >>"$TEST_TMP/serve.log" 2>&1 &
	pid=$!
	SERVE_PIDS="$SERVE_PIDS $pid"
	for i in $(seq 1 300); do
		case $(curl -s -w ' %{http_code}' "$u/scan?key=t" 2>/dev/null) in
		*'"opening the store"}'?" 503") seen=1 ;;
		*'"success"'*" 200") break ;;
		esac
		sleep 0.05
	done
	[ "$seen" = 1 ] && ok "states: the log routes answer 503 'opening the store' meanwhile" ||
		fail "states: never saw 503 while the store opened"
	expect_eq "states: then they serve" 200 "$(code "$u/scan?key=t")"
	kill -TERM "$pid" && wait_gone "$pid" 30 || fail "states: stop the slow one"

	# a stop while an awaitDurable append waits on a store that is down
	SERVE_LOG=dead.log serve_shale "fault:rate=1,errors=eio,while=$TEST_TMP/down:$store" "$p" \
		--shutdown-timeout 2 || { fail "states: serve on a fault store"; return; }
	touch "$TEST_TMP/down"
	curl -s -o "$TEST_TMP/stuck" -w '%{http_code}' -X POST -d stuck \
		"$u/append?key=t&awaitDurable=true" >"$TEST_TMP/stuck.code" &
	i=$!
	sleep 1
	kill -TERM "$SERVE_PID"
	wait_gone "$SERVE_PID" 20 && ok "states: a stop does not wait for ever on a dead store" ||
		fail "states: still running 20 s after SIGTERM with the store down"
	wait "$i"
	expect_eq "states: the waiting append is told it is not stored" \
		"503 appended, but not yet stored: shutting down" \
		"$(cat "$TEST_TMP/stuck.code") $(jq -r .message "$TEST_TMP/stuck")"
	rm -f "$TEST_TMP/down"
	grep -q 'not everything written was stored' "$TEST_TMP/dead.log" &&
		ok "states: the loss is logged" || fail "states: the loss is not logged"
}

# SIGTERM while 16 clients append with awaitDurable (the text form, one
# curl each): every append that got a 200 is stored
shutdown_load() {	# STORE
	local store=$1 p u pid c n got acked cpids i
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p/api/v1/log"
	serve_shale "$store" "$p" || { fail "$store: serve"; return; }
	pid=$SERVE_PID
	# each client is one curl, its appends in turn on one connection
	cpids=""
	for c in $(seq 1 16); do
		awk -v u="$u" -v c="$c" 'BEGIN { for (i = 1; i <= 3000; i++)
			printf "url = \"%s/append?key=load/c%d&awaitDurable=true\"\n" \
			    "data = \"client %d record %d\"\noutput = \"/dev/null\"\n" \
			    "write-out = \"%%{http_code}\\n\"\nnext\n", u, c, c, i }' >"$TEST_TMP/curl.$c"
		# (--fail-early: done at the first refused connection, once it stopped)
		curl -s --fail-early -K "$TEST_TMP/curl.$c" >"$TEST_TMP/codes.$c" 2>/dev/null &
		cpids="$cpids $!"
	done
	# SIGTERM once the last client started has appended 10 times
	loaded() {
		[ "$(curl -s "$u/count?key=load/c16" | jq -r '.count // 0')" -ge 10 ]
	}
	for i in $(seq 1 300); do
		loaded && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait_gone "$pid" 60 && ok "$store: stops under load" || fail "$store: did not stop under load"
	wait $cpids
	serve_shale "$store" "$p" || { fail "$store: serve again"; return; }
	acked=0 got=0
	for c in $(seq 1 16); do
		# the 200s come first, then the refusals once it stopped
		n=$(grep -c '^200$' "$TEST_TMP/codes.$c")
		[ "$(head -n "$n" "$TEST_TMP/codes.$c" | grep -c '^200$')" = "$n" ] ||
			fail "$store: client $c had a 200 after a failure"
		acked=$((acked + n))
		[ "$n" -eq 0 ] && continue
		seq 1 "$n" | sed "s/^/client $c record /" >"$TEST_TMP/acked.$c"
		curl -s "$u/scan?key=load/c$c&limit=100000" >"$TEST_TMP/sc"
		values "$TEST_TMP/sc" >"$TEST_TMP/stored.$c"
		head -n "$n" "$TEST_TMP/stored.$c" | cmp -s - "$TEST_TMP/acked.$c" &&
			got=$((got + n))
	done
	echo "$store: $acked appends acknowledged before SIGTERM"
	[ "$acked" -gt 16 ] && ok "$store: appends were acknowledged under load ($acked)" ||
		fail "$store: only $acked appends acknowledged"
	[ "$acked" -lt $((16 * 3000)) ] && ok "$store: SIGTERM came while they appended" ||
		fail "$store: every append was done before SIGTERM"
	expect_eq "$store: every acknowledged append is stored, in order" "$acked" "$got"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "$store: stop"
}

# file:// and RGW side by side, each in a directory of its own
on_file() {
	roundtrip "file://$TEST_TMP/store"
	follower "file://$TEST_TMP/store"
	shutdown_load "file://$TEST_TMP/lstore"
}
on_rgw() {
	local bucket
	bucket=$(new_bucket) || { fail "create bucket"; return; }
	roundtrip "s3://$bucket/log"
	follower "s3://$bucket/log"
	shutdown_load "s3://$bucket/load"
}
part -d file on_file
part -d states states
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	part -d rgw on_rgw
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
parts_wait
for f in "$TEST_TMP"/*/serve.log; do
	grep -E ' shale (error|warn): ' "$f" && fail "serve logged errors or warnings (above, $f)"
done
finish
