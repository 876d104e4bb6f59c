# http_hostile.sh - the HTTP endpoint against hostile input, on file://:
#   a tree 5,000 directories deep: /keys answers (no stack overflow) and
#   lists only keys scan can name (at most 4,096 bytes), each of which
#   scan finds;
#   "%00" in a query value or in the path is 400, and appends nothing;
#   a key that is not UTF-8 is listed as keyBase64, a page that ends on
#   one gives nextBase64, and after_base64 takes it back: paging with
#   limit=1 lists every key once and ends;
#   with a token, a request without it is refused (401) as soon as its
#   head is in, before its body is sent; a body is read no further than
#   4 MiB;
#   two different Content-Lengths, or Content-Length with
#   Transfer-Encoding, are 400 and the bytes after are not read as a
#   request;
#   a request head that trickles in is closed at the head deadline, and
#   with the connections all taken by such heads a probe still answers;
#   an append through a stream is 400; sequences up to 2^64-1.
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

# raw PORT BYTES: send the bytes (printf escapes) on one connection, in
# one write (a shell's printf writes line by line, and a server that
# closes after the head would have the rest reset the connection), then
# print what comes back until the server closes it (10 s at most)
raw() {
	printf "$2" >"$TEST_TMP/raw"
	timeout 10 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		cat "$2" >&3
		cat <&3' raw "$1" "$TEST_TMP/raw" 2>/dev/null
}

# ---- a tree deeper than any stack, through the mount ----
deep() {
	local m="$TEST_TMP/m" p u i d n k bad=0
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p/api/v1/log"
	mount_shale "file://$TEST_TMP/dstore" "$m" --port "$p" || { fail "deep: mount"; return; }
	echo top >"$m/logs/top"
	# 5,000 levels: each mkdir relative to the last, as no path may be that
	# long (perl, as a shell's cd checks the whole path each time)
	perl -e 'chdir $ARGV[0] or die "$!\n";
		for my $i (1 .. 5000) {
			mkdir "d" and chdir "d" or die "level $i: $!\n";
			if ($i == 2000) { open(my $f, ">", "s") or die; print $f "mid\n"; close $f }
		}
		open(my $f, ">", "s") or die; print $f "bottom\n"; close $f or die' "$m/logs" ||
		fail "deep: make 5,000 directories"
	expect_eq "deep: /keys answers" 200 "$(code "$u/keys")"
	pid_gone "$(mount_pid "$m")" && fail "deep: the daemon died"
	jq -r '.keys[].key' "$TEST_TMP/body" >"$TEST_TMP/keys"
	n=$(wc -l <"$TEST_TMP/keys")
	expect_eq "deep: the two streams a key can name" 2 "$n"
	k=$(printf 'd/%.0s' $(seq 1 2000))s
	grep -qxF "$k" "$TEST_TMP/keys" && ok "deep: the stream 2,000 deep is listed" ||
		fail "deep: keys are $(cut -c1-40 "$TEST_TMP/keys")"
	while read -r k; do
		[ "$(code "$u/scan?key=$k")" = 200 ] || bad=$((bad + 1))
	done <"$TEST_TMP/keys"
	expect_eq "deep: every key listed can be scanned" 0 "$bad"
	expect_eq "deep: /keys again" 200 "$(code "$u/keys?prefix=d/d/")"
	expect_eq "deep: ... with a prefix" 1 "$(jq '.keys | length' "$TEST_TMP/body")"
	expect_eq "deep: the daemon still serves" 200 "$(code "http://127.0.0.1:$p/-/healthy")"
	umount_shale "$m" || fail "deep: unmount"
}

# ---- what serve refuses, and what it accepts at the edges ----
inputs() {
	local p u tok="tok-$RANDOM$RANDOM" out i k next page n
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p/api/v1/log"
	serve_shale "file://$TEST_TMP/istore" "$p" || { fail "serve"; return; }

	# NUL, decoded from %00, in a value or the path
	expect_eq "nul: append?key=nulk%00evil" 400 "$(code "$u/append?key=nulk%00evil" -X POST -d x)"
	expect_match "nul: ... says why" 'NUL' "$(jq -r .message "$TEST_TMP/body")"
	expect_eq "nul: nothing made" 404 "$(code "$u/scan?key=nulk")"
	curl -s -o /dev/null -X POST -d one "$u/append?key=nulk"
	expect_eq "nul: start_seq=5%00junk" 400 "$(code "$u/scan?key=nulk&start_seq=5%00junk")"
	expect_eq "nul: a name with %00" 400 "$(code "$u/scan?key=nulk&x%00y=1")"
	expect_eq "nul: /-/healthy%00x" 400 "$(code "http://127.0.0.1:$p/-/healthy%00x")"
	expect_eq "nul: the stream holds only the good append" "one" \
		"$(curl -s "$u/scan?key=nulk" | jq -r '.values[].value' | base64 -d)"

	# item 9: through a stream; the whole range of sequences
	expect_eq "a key through a stream" 400 "$(code "$u/append?key=nulk/sub" -X POST -d x)"
	expect_match "... says so" "is a stream, not a directory" "$(jq -r .message "$TEST_TMP/body")"
	expect_eq "start_seq 2^64-1" 200 "$(code "$u/scan?key=nulk&start_seq=18446744073709551615")"
	expect_eq "end_seq 2^64-6" 200 "$(code "$u/scan?key=nulk&end_seq=18446744073709551610")"
	expect_eq "start_seq 2^64" 400 "$(code "$u/scan?key=nulk&start_seq=18446744073709551616")"

	# keys that are not UTF-8, and paging that always moves on
	for k in 'a%FF' 'b%C3' 'b%C3%A9' 'c%80%80/x' 'z'; do
		curl -s -o /dev/null -X POST -d x "$u/append?key=$k"
	done
	curl -s "$u/keys" >"$TEST_TMP/all"
	expect_eq "utf-8: a byte key as keyBase64" "$(printf 'a\377' | base64)" \
		"$(jq -r '.keys[] | select(.keyBase64) | .keyBase64' "$TEST_TMP/all" | head -1)"
	expect_eq "utf-8: an UTF-8 key as key" "bé" "$(jq -r '.keys[].key // empty' "$TEST_TMP/all" | grep '^b' )"
	n=$(jq '.keys | length' "$TEST_TMP/all")
	next=""
	: >"$TEST_TMP/paged"
	for i in $(seq 1 20); do
		page=$(curl -s -G "$u/keys" --data-urlencode limit=1 ${next:+--data-urlencode "$next"})
		echo "$page" | jq -c '.keys[0]' >>"$TEST_TMP/paged"
		if k=$(echo "$page" | jq -er .next); then
			next="after=$k"
		elif k=$(echo "$page" | jq -er .nextBase64); then
			next="after_base64=$k"
		else
			break
		fi
	done
	expect_eq "utf-8: pages of one list every key once, then end" \
		"$(jq -c '.keys[]' "$TEST_TMP/all")" "$(cat "$TEST_TMP/paged")"
	expect_eq "utf-8: a scan by the bytes" 200 "$(code "$u/scan?key=a%FF")"
	expect_eq "utf-8: ... names its key in base64" "$(printf 'a\377' | base64)" \
		"$(jq -r .keyBase64 "$TEST_TMP/body")"
	expect_eq "utf-8: a bad after_base64" 400 "$(code "$u/keys?after_base64=*")"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "stop serve"

	# framing: bytes after a refused head are not a request
	printf '%s\n' "$tok" >"$TEST_TMP/token"
	serve_shale "file://$TEST_TMP/istore" "$p" --token-file "$TEST_TMP/token" ||
		{ fail "serve with a token"; return; }
	out=$(raw "$p" "POST /api/v1/log/append?key=smug HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $tok\r\nContent-Length: 3\r\nContent-Length: 60\r\n\r\nabcGET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
	expect_eq "framing: two Content-Lengths" "HTTP/1.1 400 Bad Request" "$(echo "$out" | grep '^HTTP/' | tr -d '\r')"
	out=$(raw "$p" "POST /api/v1/log/append?key=smug HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $tok\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
	expect_eq "framing: Content-Length and Transfer-Encoding" "HTTP/1.1 400 Bad Request" \
		"$(echo "$out" | grep '^HTTP/' | tr -d '\r')"
	out=$(raw "$p" "POST /api/v1/log/append?key=smug HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $tok\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
	expect_eq "framing: the same Content-Length twice is one" "HTTP/1.1 200 OK" \
		"$(echo "$out" | grep '^HTTP/' | tr -d '\r')"

	# the token, before the body: a head alone gets its 401
	n=$(timeout 30 bash -c '
		n=0 fds=""
		for i in $(seq 1 50); do
			exec {fd}<>"/dev/tcp/127.0.0.1/$1" && fds="$fds $fd"
			printf "POST /api/v1/log/append?key=x HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" >&"$fd"
		done
		for fd in $fds; do
			read -r -t 10 -u "$fd" line && case $line in "HTTP/1.1 401"*) n=$((n + 1)) ;; esac
			exec {fd}<&-
		done
		echo "$n"' heads "$p")
	expect_eq "token: 50 heads without it get 401 before any body" 50 "$n"
	expect_eq "token: with it, the append" 200 \
		"$(code "$u/append?key=x" -X POST -d ok -H "Authorization: Bearer $tok")"

	# a body that goes on: read no further than 4 MiB
	head -c 6M /dev/zero >"$TEST_TMP/big"
	# (curl says 000, or 100 for the Continue it had before the end)
	n=$(code "http://127.0.0.1:$p/-/healthy" -X GET -H 'Transfer-Encoding: chunked' \
		--data-binary @"$TEST_TMP/big")
	case $n in
	000 | 100) ok "body: a chunked 6 MiB to a probe is cut off" ;;
	*) fail "body: a chunked 6 MiB to a probe got $n" ;;
	esac
	head -c 2M /dev/zero >"$TEST_TMP/big"
	expect_eq "body: a chunked 2 MiB append is still 413" 413 \
		"$(code "$u/append?key=x" -X POST -H 'Transfer-Encoding: chunked' \
		-H "Authorization: Bearer $tok" --data-binary @"$TEST_TMP/big")"
	expect_eq "body: and it serves on" 200 "$(code "http://127.0.0.1:$p/-/healthy")"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "stop serve"
	grep -q "$tok" "$TEST_TMP/serve.log" && fail "token: in the log" || ok "token: not in the log"
}

# ---- slow heads: a deadline, and room for probes when all are taken ----
slow() {
	local p i n rc fds="" closed
	p=$(pick_port) || { fail "a free port"; return; }
	SHALE_HTTP_MAX_CONNECTIONS=16 SHALE_HTTP_HEAD_TIMEOUT_MS=2000 \
		serve_shale "file://$TEST_TMP/sstore" "$p" || { fail "serve"; return; }

	# 24 heads begun and left hanging, more than the 16 allowed
	for i in $(seq 1 24); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$p" && fds="$fds $fd"
		printf 'GET /-/healthy HTTP/1.1\r\nHost: x\r\n' >&"$fd" 2>/dev/null
	done
	n=0
	for i in 1 2 3; do
		[ "$(code "http://127.0.0.1:$p/-/healthy" -m 5)" = 200 ] && n=$((n + 1))
	done
	expect_eq "slow: probes answer with the connections all taken" 3 "$n"
	for fd in $fds; do exec {fd}<&-; done
	n=$(curl -s "http://127.0.0.1:$p/metrics" |
		awk '$1 == "http_connections_closed_total{reason=\"full\"}" { print $2 }')
	[ "${n:-0}" -ge 8 ] && ok "slow: the oldest heads were closed to make room ($n)" ||
		fail "slow: http_connections_closed_total{reason=\"full\"} is '$n'"

	# one head that trickles a line every 0.2 s: closed at the deadline
	closed=$(timeout 30 bash -c '
		trap "" PIPE
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /-/healthy HTTP/1.1\r\nHost: x\r\n" >&3
		t0=$(date +%s%N)
		for i in $(seq 1 100); do
			printf "X-Slow-$i: y\r\n" >&3 2>/dev/null || break
			read -r -t 0.2 -u 3 line
			[ $? -gt 128 ] || break	# not a timeout: the end
		done
		echo $((($(date +%s%N) - t0) / 1000000))' slow "$p")
	[ -n "$closed" ] && [ "$closed" -ge 1500 ] && [ "$closed" -lt 15000 ] &&
		ok "slow: a trickling head is closed at its deadline (after $closed ms)" ||
		fail "slow: a trickling head was closed after '$closed' ms (deadline 2000)"
	expect_eq "slow: and it still serves" 200 "$(code "http://127.0.0.1:$p/-/healthy")"
	kill -TERM "$SERVE_PID" && wait_gone "$SERVE_PID" 30 || fail "stop serve"
}

deep
inputs
slow
grep -E ' shale (error|warn): ' "$TEST_TMP/serve.log" && fail "serve logged errors or warnings (above)"
finish
