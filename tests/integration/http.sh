# http.sh - the HTTP endpoint of a mount (--listen): /metrics passes
# promtool and a real Prometheus server scrapes it (up == 1); the
# http_* families count what was asked; /-/healthy and /-/ready, which
# says 503 "opening the store" while a slow store opens, 503 "fenced" once
# a second writer takes the store, and 503 "the object store has failed"
# during an outage, 200 again after it; the bearer token (401 without or
# with a wrong one, 200 with it, the probes free, the token in no log or
# metric); 404, 405 with Allow, a path with ../, a body over 1 MiB (413);
# 300 connections open at once all answered; a taken port is an error at
# start that fences nobody; the listener is gone once the daemon stops.
# On file://, and on RGW; the parts side by side.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
for t in curl promtool prometheus; do
	command -v $t >/dev/null 2>&1 ||
		skip "$t not installed (apt-get install curl prometheus)"
done
PROM_PID=""
cleanup() {
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait_gone "$PROM_PID" 10
	cleanup_mounts
}
trap cleanup EXIT

# wait_body WHAT SECONDS URL REGEX: until the URL's body matches
wait_body() {
	local i=0
	while ! curl -s "$3" 2>/dev/null | grep -Eq "$4"; do
		i=$((i + 1))
		if [ $i -gt $(($2 * 10)) ]; then
			fail "$1: not within $2 s (last: $(curl -s "$3"))"
			return 1
		fi
		sleep 0.1
	done
	ok "$1"
}

metric() {	# URL NAME{LABELS}: the value, 0 if absent
	curl -s "$1" | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}

endpoint() {	# STORE
	local store=$1 m="$TEST_TMP/m" p u out n i
	: >"$TEST_TMP/mount.log"
	p=$(pick_port 3) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p"
	mount_shale "$store" "$m" --listen "$p" || { fail "$store: mount"; return; }
	expect_eq "$store: /-/healthy" 200 "$(code "$u/-/healthy")"
	expect_eq "$store: /-/healthy says OK" OK "$(cat "$TEST_TMP/body")"
	expect_eq "$store: /-/ready once mounted" 200 "$(code "$u/-/ready")"

	expect_eq "$store: /metrics" 200 "$(code "$u/metrics")"
	expect_match "$store: /metrics is text format 0.0.4" \
		'Content-Type: text/plain; version=0.0.4; charset=utf-8' "$(cat "$TEST_TMP/headers")"
	if out=$(promtool check metrics <"$TEST_TMP/body" 2>&1); then
		ok "$store: promtool check metrics passes"
	else
		fail "$store: promtool check metrics: $out"
	fi
	[ -z "$out" ] && ok "$store: promtool has nothing to say" ||
		fail "$store: promtool warns: $out"
	for f in 'objstore_requests_total counter' 'http_requests_total counter' \
	    'http_request_duration_seconds histogram' 'http_requests_in_flight gauge' \
	    'process_cpu_seconds_total counter' 'process_resident_memory_bytes gauge' \
	    'process_virtual_memory_bytes gauge' 'process_open_fds gauge' \
	    'process_max_fds gauge' 'process_start_time_seconds gauge'; do
		grep -qx "# TYPE $f" "$TEST_TMP/body" && ok "$store: family $f" ||
			fail "$store: no '# TYPE $f' in /metrics"
	done
	n=$(awk '$1 == "process_start_time_seconds" { print int($2) }' "$TEST_TMP/body")
	[ "$((n - $(date +%s)))" -le 1 ] && [ "$(($(date +%s) - n))" -lt 120 ] &&
		ok "$store: process_start_time_seconds is about now" ||
		fail "$store: process_start_time_seconds is $n, now is $(date +%s)"

	n=$(metric "$u/metrics" 'http_requests_total{method="GET",endpoint="/metrics",status="200"}')
	for i in $(seq 1 20); do curl -s -o /dev/null "$u/metrics"; done
	i=$(metric "$u/metrics" 'http_requests_total{method="GET",endpoint="/metrics",status="200"}')
	[ "$((i - n))" -ge 20 ] && ok "$store: 20 scrapes counted ($n, then $i)" ||
		fail "$store: 20 scrapes but http_requests_total went from $n to $i"
	expect_eq "$store: one request in flight, the scrape itself" 1 \
		"$(metric "$u/metrics" http_requests_in_flight)"
	[ "$(metric "$u/metrics" 'http_request_duration_seconds_count{method="GET",endpoint="/metrics"}')" -ge 20 ] &&
		ok "$store: scrape latencies observed" || fail "$store: no scrape latencies observed"

	expect_eq "$store: an unknown route" 404 "$(code "$u/nope")"
	expect_eq "$store: errors are JSON" '{"status":"error","message":"no such route"}' \
		"$(cat "$TEST_TMP/body")"
	expect_eq "$store: POST /metrics" 405 "$(code "$u/metrics" -X POST)"
	expect_match "$store: 405 says what is allowed" 'Allow: GET, HEAD' "$(cat "$TEST_TMP/headers")"
	expect_eq "$store: a path with ../" 404 "$(code "$u/-/../metrics" --path-as-is)"
	expect_eq "$store: another path with ../" 404 "$(code "$u/metrics/../metrics" --path-as-is)"
	head -c 2M /dev/zero >"$TEST_TMP/big"
	expect_eq "$store: a body over 1 MiB" 413 "$(code "$u/metrics" -X POST --data-binary @"$TEST_TMP/big")"
	expect_eq "$store: HEAD /metrics" 200 "$(code "$u/metrics" -I)"
	expect_match "$store: unknown paths are one 'other' endpoint" \
		'endpoint="other",status="404"' "$(curl -s "$u/metrics")"

	# 300 connections open at once, then a request on each, in 60 s
	n=$(timeout 60 bash -c '
		n=0 fds=""
		for i in $(seq 1 300); do
			exec {fd}<>"/dev/tcp/127.0.0.1/$1" && fds="$fds $fd"
		done
		for fd in $fds; do
			printf "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >&"$fd"
		done
		for fd in $fds; do
			read -r -t 10 -u "$fd" line && case $line in "HTTP/1.1 200"*) n=$((n + 1)) ;; esac
			exec {fd}<&-
		done
		echo "$n"' conns "$p")
	expect_eq "$store: 300 connections at once, all answered" 300 "$n"
	expect_eq "$store: and it still serves" 200 "$(code "$u/metrics")"

	# a taken port: an error at start, before the store is opened
	mkdir -p "$TEST_TMP/b"
	out=$("$SHALE" mount --log-file "$TEST_TMP/bad.log" --listen "$p" "$store" "$TEST_TMP/b" 2>&1)
	expect_match "$store: a taken port is an error at start" "cannot listen on '$p'.*in use" "$out"
	echo "still the writer" >>"$m/logs/s" &&
		ok "$store: the failed mount fenced nobody" || fail "$store: fenced by a failed mount"
	expect_eq "$store: ready" 200 "$(code "$u/-/ready")"
	log_clean "$store"

	# a read-only mount: ready while following
	mount_shale "$store" "$TEST_TMP/r" --read-only --listen "127.0.0.1:$((p + 1))" ||
		fail "$store: read-only mount"
	expect_eq "$store: a follower is ready" 200 "$(code "http://127.0.0.1:$((p + 1))/-/ready")"
	umount_shale "$TEST_TMP/r" || fail "$store: unmount the follower"

	# a second writer fences the first
	mount_shale "$store" "$TEST_TMP/w2" --listen "127.0.0.1:$((p + 2))" ||
		fail "$store: second writer"
	echo probe >>"$m/logs/s" 2>/dev/null
	wait_body "$store: the first writer says it is fenced" 15 "$u/-/ready" '^fenced by another writer$'
	expect_eq "$store: fenced is 503" 503 "$(code "$u/-/ready")"
	expect_eq "$store: the new writer is ready" 200 "$(code "http://127.0.0.1:$((p + 2))/-/ready")"
	expect_eq "$store: the fenced one is still healthy" 200 "$(code "$u/-/healthy")"
	umount_shale "$TEST_TMP/w2" || fail "$store: unmount the second writer"
	umount_shale "$m" || fail "$store: unmount"
	port_free "$p" && ok "$store: the port is closed once stopped" ||
		fail "$store: something still listens on $p"
	: >"$TEST_TMP/mount.log"
}

# the bearer token: from a file, and from SHALE_HTTP_TOKEN
token() {
	local store="file://$TEST_TMP/tstore" m="$TEST_TMP/t" p u tok="tok-$$-$RANDOM"
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p"
	printf '%s\n' "$tok" >"$TEST_TMP/token"
	: >"$TEST_TMP/mount.log"
	SHALE_LOG_LEVEL=debug mount_shale "$store" "$m" --listen "$p" \
		--token-file "$TEST_TMP/token" || { fail "token: mount"; return; }
	expect_eq "token: none" 401 "$(code "$u/metrics")"
	expect_match "token: 401 asks for a bearer token" 'WWW-Authenticate: Bearer' \
		"$(cat "$TEST_TMP/headers")"
	expect_eq "token: a wrong one" 401 "$(code "$u/metrics" -H "Authorization: Bearer x$tok")"
	expect_eq "token: a prefix of it" 401 "$(code "$u/metrics" -H "Authorization: Bearer ${tok%?}")"
	expect_eq "token: not as Basic" 401 "$(code "$u/metrics" -H "Authorization: Basic $tok")"
	expect_eq "token: the right one" 200 "$(code "$u/metrics" -H "Authorization: Bearer $tok")"
	grep -q "$tok" "$TEST_TMP/body" && fail "token: it is in the metrics" ||
		ok "token: not in the metrics"
	expect_eq "token: /-/healthy needs none" 200 "$(code "$u/-/healthy")"
	expect_eq "token: /-/ready needs none" 200 "$(code "$u/-/ready")"
	expect_eq "token: 404 before 401" 404 "$(code "$u/nope")"
	umount_shale "$m" || fail "token: unmount"
	grep -q "$tok" "$TEST_TMP/mount.log" && fail "token: it is in the log" ||
		ok "token: not in the log (at debug level)"

	SHALE_HTTP_TOKEN=$tok mount_shale "$store" "$m" --listen "$p" ||
		{ fail "token: mount with SHALE_HTTP_TOKEN"; return; }
	expect_eq "token: SHALE_HTTP_TOKEN, none" 401 "$(code "$u/metrics")"
	expect_eq "token: SHALE_HTTP_TOKEN, the right one" 200 \
		"$(code "$u/metrics" -H "Authorization: Bearer $tok")"
	umount_shale "$m" || fail "token: unmount"
	out=$("$SHALE" mount --token-file "$TEST_TMP/token" "$store" "$m" 2>&1)
	expect_match "token: --token-file alone is a usage error" "needs --listen" "$out"
}

# /-/ready while a slow store opens, and through an outage
ready_states() {
	local m="$TEST_TMP/o" p u mpid seen=0 healthy=0 i
	p=$(pick_port) || { fail "a free port"; return; }
	u="http://127.0.0.1:$p"
	mount_shale "file://$TEST_TMP/ostore" "$m" && umount_shale "$m"
	"$SHALE" mount --log-file "$TEST_TMP/mount.log" --listen "$p" \
		"fault:latency=500:file://$TEST_TMP/ostore" "$m" &
	mpid=$!
	for i in $(seq 1 200); do
		case $(curl -s -w ' %{http_code}' "$u/-/ready" 2>/dev/null) in
		"opening the store"?" 503") seen=1 ;;
		"OK"?" 200") break ;;
		esac
		[ "$(code "$u/-/healthy")" = 200 ] && healthy=1
		sleep 0.05
	done
	wait "$mpid" || fail "the slow mount failed"
	MOUNT_PIDS="$MOUNT_PIDS $(mount_pid "$m")" MOUNT_DIRS="$MOUNT_DIRS $m"
	expect_eq "ready: 503 'opening the store' while it opens" 1 "$seen"
	expect_eq "ready: healthy while it opens" 1 "$healthy"
	expect_eq "ready: then 200" 200 "$(code "$u/-/ready")"
	umount_shale "$m" || fail "unmount the slow mount"

	mount_shale "fault:rate=1,errors=eio,while=$TEST_TMP/outage:file://$TEST_TMP/ostore" \
		"$m" --listen "$p" || { fail "mount over a fault: store"; return; }
	expect_eq "ready: before the outage" 200 "$(code "$u/-/ready")"
	touch "$TEST_TMP/outage"
	wait_body "ready: 503 during an outage" 10 "$u/-/ready" '^the object store has failed for [0-9]+ s$'
	expect_eq "ready: the outage is 503" 503 "$(code "$u/-/ready")"
	wait_body "ready: it counts the seconds" 10 "$u/-/ready" '^the object store has failed for [1-9][0-9]* s$'
	rm "$TEST_TMP/outage"
	wait_body "ready: 200 once the store answers again" 10 "$u/-/ready" '^OK$'
	umount_shale "$m" || fail "unmount the fault: mount"
}

# a real Prometheus server scrapes the mount every second
prometheus_scrape() {
	local m="$TEST_TMP/pm" p pp i up=""
	p=$(pick_port) && pp=$(pick_port) || { fail "free ports"; return; }
	mount_shale "file://$TEST_TMP/pstore" "$m" --listen "$p" || { fail "prometheus: mount"; return; }
	cat >"$TEST_TMP/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: shale
    static_configs:
      - targets: ['127.0.0.1:$p']
EOC
	prometheus --config.file="$TEST_TMP/prometheus.yml" \
		--storage.tsdb.path="$TEST_TMP/tsdb" \
		--web.listen-address="127.0.0.1:$pp" >"$TEST_TMP/prometheus.out" 2>&1 &
	PROM_PID=$!
	for i in $(seq 1 30); do
		up=$(curl -s "http://127.0.0.1:$pp/api/v1/query?query=up%7Bjob%3D%22shale%22%7D" 2>/dev/null)
		printf '%s' "$up" | grep -q '"value":\[[0-9.]*,"1"\]' && break
		sleep 0.5
	done
	expect_match "prometheus: up == 1 for the mount" '"value":\[[0-9.]*,"1"\]' "$up"
	i=$(curl -s "http://127.0.0.1:$pp/api/v1/query?query=scrape_samples_scraped%7Bjob%3D%22shale%22%7D")
	expect_match "prometheus: samples scraped" '"value":\[[0-9.]*,"[1-9][0-9]*"\]' "$i"
	kill "$PROM_PID" && wait_gone "$PROM_PID" 10 || fail "prometheus: stop"
	PROM_PID=""
	umount_shale "$m" || fail "prometheus: unmount"
}

# the parts side by side, each in a directory of its own
on_file() {
	endpoint "file://$TEST_TMP/store"
	token
}
on_rgw() {
	local bucket
	bucket=$(new_bucket) || { fail "create bucket"; return; }
	endpoint "s3://$bucket/http"
}
part -d file on_file
part -d ready ready_states
part -d prometheus prometheus_scrape
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	part -d rgw on_rgw
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
parts_wait
finish
