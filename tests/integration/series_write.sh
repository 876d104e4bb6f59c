# series_write.sh - the ingest routes of 'shale serve' on file://:
#   POST /api/v1/write: remote write 1.0 and 2.0 requests from rw_send
#   taken (204), what they held read back by 'shale series' as a reader
#   of the live store; 2.0 answers with the X-Prometheus-Remote-Write-*
#   headers, exemplars and histograms counted as written 0 times and in
#   the remote_write_*_dropped_total metrics, logged once; metadata-only
#   requests (1.0 and 2.0) 204; an exact retry 204 adding nothing;
#   refusals, each with its status and one-line message, after which the
#   store holds what it held: bad snappy, bad protobuf, an invalid metric
#   or label name (400), a snappy header claiming 4 GiB (413), a wrong
#   Content-Type or Content-Encoding (415), a sample
#   out of order and a conflicting duplicate (400, the other samples of
#   the request taken), a new series past series_options.max_series
#   (400); a store that refuses writes (fault:) makes it 503, and the
#   request sent again once the store is back is taken, its samples
#   there once; a read-only follower refuses with 503;
#   POST /api/v1/import/prometheus: a real node exporter's text (or a
#   fixed one without it) and OpenMetrics taken, samples without a
#   timestamp at the time of the import; a malformed text refused with
#   400 naming its line and column.
. "$top_srcdir/tests/lib/common.sh"
command -v curl >/dev/null 2>&1 || skip "curl not installed (apt-get install curl)"
RW="$top_builddir/tests/integration/rw_send"
EXPORTER=/usr/bin/prometheus-node-exporter
NE_PID=""
cleanup() {
	stop_serves
	[ -n "$NE_PID" ] && kill "$NE_PID" 2>/dev/null && wait_gone "$NE_PID" 10
}
trap cleanup EXIT

CT1="Content-Type: application/x-protobuf"
CT2="Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request"
CE="Content-Encoding: snappy"

# samples STORE [SELECTOR]: every sample of the store's series (that
# match), one 'SERIES T V' line each, T in milliseconds as rw_send writes
# it, sorted
ALL='{__name__=~".+"}'
samples() {
	"$SHALE" series "$1" dump "${2:-$ALL}" 2>"$TEST_TMP/dump.err" |
		awk '{ t = $(NF - 1); neg = sub(/^-/, "", t); split(t, p, ".")
		    ms = p[1] * 1000 + p[2]; $(NF - 1) = sprintf("%.0f", neg ? -ms : ms)
		    print }' | sort
}

# post FILE VERSION: send a body rw_send wrote, as Prometheus does
post() {
	local ct=$CT1
	[ "$2" = 2 ] && ct=$CT2
	code "$u/api/v1/write" -X POST --data-binary @"$1" -H "$ct" -H "$CE"
}

# header NAME: its value in the last answer's head
header() {
	tr -d '\r' <"$TEST_TMP/headers" | sed -n "s/^$1: //Ip"
}

message() {
	sed -n 's/.*"message":"\(.*\)"}$/\1/p' "$TEST_TMP/body"
}

# metric NAME: its value on /metrics
metric() {
	curl -s "$u/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

store="file://$TEST_TMP/store"
port=$(pick_port) || { fail "a free port"; finish; }
u="http://127.0.0.1:$port"
serve_shale "$store" "$port" || { fail "serve"; finish; }

# ---- taken ----
cat >"$TEST_TMP/v1.txt" <<'EOF'
# TYPE http_requests_total counter
# HELP http_requests_total Requests served.
http_requests_total{code="200",job="web"} 1700000000000 10
http_requests_total{code="200",job="web"} 1700000015000 12
http_requests_total{code="500",job="web"} 1700000000000 1
{__name__="temperature",room="kitchen"} 1700000000000 21.5
EOF
"$RW" -v 1 -i "$TEST_TMP/v1.txt" -o "$TEST_TMP/v1.body"
expect_eq "1.0: taken" 204 "$(post "$TEST_TMP/v1.body" 1)"
expect_eq "1.0: no 2.0 headers" "" "$(header X-Prometheus-Remote-Write-Samples-Written)"
cat >"$TEST_TMP/want" <<'EOF'
http_requests_total{code="200",job="web"} 1700000000000 10
http_requests_total{code="200",job="web"} 1700000015000 12
http_requests_total{code="500",job="web"} 1700000000000 1
temperature{room="kitchen"} 1700000000000 21.5
EOF

cat >"$TEST_TMP/v2.txt" <<'EOF'
# TYPE temperature gauge
# UNIT temperature celsius
{__name__="temperature",room="kitchen"} 1700000015000 21.75
{__name__="temperature",room="hall"} 1700000015000 19
{__name__="temperature",room="hall"} 1700000030000 stale
EOF
"$RW" -v 2 -E 2 -H 3 -i "$TEST_TMP/v2.txt" -o "$TEST_TMP/v2.body"
ex0=$(metric remote_write_exemplars_dropped_total)
expect_eq "2.0: taken" 204 "$(post "$TEST_TMP/v2.body" 2)"
expect_eq "2.0: samples written" 3 "$(header X-Prometheus-Remote-Write-Samples-Written)"
expect_eq "2.0: histograms written" 0 "$(header X-Prometheus-Remote-Write-Histograms-Written)"
expect_eq "2.0: exemplars written" 0 "$(header X-Prometheus-Remote-Write-Exemplars-Written)"
expect_eq "exemplars left out are counted" $((${ex0:-0} + 4)) \
	"$(metric remote_write_exemplars_dropped_total)"
expect_eq "histogram samples left out are counted" 6 \
	"$(metric remote_write_histograms_dropped_total)"
cat >>"$TEST_TMP/want" <<'EOF'
temperature{room="kitchen"} 1700000015000 21.75
temperature{room="hall"} 1700000015000 19
temperature{room="hall"} 1700000030000 stale
EOF
"$RW" -v 2 -E 1 -i "$TEST_TMP/v2.txt" -o "$TEST_TMP/v2b.body"
post "$TEST_TMP/v2b.body" 2 >/dev/null
expect_eq "what is left out is logged once a minute at most" 1 \
	"$(grep -c 'left out' "$TEST_TMP/serve.log")"

# metadata only
printf '# TYPE node_load1 gauge\n# HELP node_load1 1m load average.\n' >"$TEST_TMP/meta.txt"
"$RW" -v 1 -i "$TEST_TMP/meta.txt" -o "$TEST_TMP/meta1.body"
expect_eq "1.0 metadata only: taken" 204 "$(post "$TEST_TMP/meta1.body" 1)"
printf '# TYPE node_load5 gauge\n# HELP node_load5 5m load average.\n' >"$TEST_TMP/meta.txt"
"$RW" -v 2 -i "$TEST_TMP/meta.txt" -o "$TEST_TMP/meta2.body"
expect_eq "2.0 metadata only: taken" 204 "$(post "$TEST_TMP/meta2.body" 2)"
expect_eq "2.0 metadata only: no samples written" 0 \
	"$(header X-Prometheus-Remote-Write-Samples-Written)"

sort "$TEST_TMP/want" >"$TEST_TMP/want.sorted"
samples "$store" >"$TEST_TMP/have"
if cmp -s "$TEST_TMP/want.sorted" "$TEST_TMP/have"; then
	ok "the store holds what was sent, read by a reader of the live store"
else
	fail "the store holds other samples: $(diff "$TEST_TMP/want.sorted" "$TEST_TMP/have" | head -20) $(cat "$TEST_TMP/dump.err")"
fi

# an exact retry: taken, and nothing added
expect_eq "1.0 retried: taken" 204 "$(post "$TEST_TMP/v1.body" 1)"
expect_eq "2.0 retried: taken" 204 "$(post "$TEST_TMP/v2.body" 2)"
expect_eq "2.0 retried: its samples count as written" 3 \
	"$(header X-Prometheus-Remote-Write-Samples-Written)"
samples "$store" >"$TEST_TMP/have"
cmp -s "$TEST_TMP/want.sorted" "$TEST_TMP/have" &&
	ok "a retry adds nothing" ||
	fail "after a retry: $(diff "$TEST_TMP/want.sorted" "$TEST_TMP/have" | head -10)"

# ---- refused: nothing changes ----
ok0=$(metric remote_write_samples_ingested_total)
# a length of 10, then a copy from before the start
printf '\012\377\377\377\377\377garbage' >"$TEST_TMP/bad.snappy"
expect_eq "bad snappy: 400" 400 "$(post "$TEST_TMP/bad.snappy" 1)"
expect_match "bad snappy: says so" "snappy" "$(message)"
# a header that claims 4 GiB: refused before anything is allocated
printf '\377\377\377\377\017garbage' >"$TEST_TMP/bomb.snappy"
expect_eq "a snappy bomb: 413" 413 "$(post "$TEST_TMP/bomb.snappy" 1)"
expect_match "a snappy bomb: says so" "limit" "$(message)"
printf '\012\005\012\003\012\001' >"$TEST_TMP/bad.proto"
"$RW" -r "$TEST_TMP/bad.proto" -o "$TEST_TMP/bad.proto.body"
expect_eq "bad protobuf: 400" 400 "$(post "$TEST_TMP/bad.proto.body" 1)"
expect_match "bad protobuf: says so" "WriteRequest|protobuf" "$(message)"
expect_eq "bad protobuf (2.0): 400" 400 "$(post "$TEST_TMP/bad.proto.body" 2)"

cat >"$TEST_TMP/badname.txt" <<'EOF'
temperature{room="garage"} 1700000045000 3
1temperature{room="kitchen"} 1700000045000 22
EOF
"$RW" -i "$TEST_TMP/badname.txt" -o "$TEST_TMP/badname.body"
expect_eq "an invalid metric name: 400" 400 "$(post "$TEST_TMP/badname.body" 1)"
expect_match "an invalid metric name: named" "1temperature" "$(message)"
printf 'x{bad-label="1"} 1700000045000 1\n' >"$TEST_TMP/badlabel.txt"
"$RW" -i "$TEST_TMP/badlabel.txt" -o "$TEST_TMP/badlabel.body"
expect_eq "an invalid label name: 400" 400 "$(post "$TEST_TMP/badlabel.body" 1)"
expect_match "an invalid label name: named" "bad-label" "$(message)"

expect_eq "a wrong Content-Type: 415" 415 "$(code "$u/api/v1/write" -X POST \
	--data-binary @"$TEST_TMP/v1.body" -H 'Content-Type: application/json')"
expect_eq "an unknown protobuf message: 415" 415 "$(code "$u/api/v1/write" -X POST \
	--data-binary @"$TEST_TMP/v1.body" -H 'Content-Type: application/x-protobuf;proto=x.Y')"
expect_eq "a wrong Content-Encoding: 415" 415 "$(code "$u/api/v1/write" -X POST \
	--data-binary @"$TEST_TMP/v1.body" -H "$CT1" -H 'Content-Encoding: gzip')"
expect_match "a wrong Content-Encoding: says so" "snappy" "$(message)"
expect_eq "GET: 405" 405 "$(code "$u/api/v1/write")"

samples "$store" >"$TEST_TMP/have"
cmp -s "$TEST_TMP/want.sorted" "$TEST_TMP/have" &&
	ok "the refused requests changed nothing" ||
	fail "after refusals: $(diff "$TEST_TMP/want.sorted" "$TEST_TMP/have" | head -10)"
expect_eq "and ingested nothing" "$ok0" "$(metric remote_write_samples_ingested_total)"
expect_eq "the 415s are counted by code" 3 "$(metric 'remote_write_requests_total{code="415"}')"
expect_eq "the 413 is counted by code" 1 "$(metric 'remote_write_requests_total{code="413"}')"

# out of order and conflicts: refused samples, the rest of the request taken
cat >"$TEST_TMP/ooo.txt" <<'EOF'
http_requests_total{code="200",job="web"} 1700000010000 11
temperature{room="kitchen"} 1700000060000 22
EOF
"$RW" -v 2 -i "$TEST_TMP/ooo.txt" -o "$TEST_TMP/ooo.body"
expect_eq "a sample out of order: 400" 400 "$(post "$TEST_TMP/ooo.body" 2)"
expect_match "out of order: says so" "out of order" "$(message)"
expect_eq "out of order: the other sample is written" 1 \
	"$(header X-Prometheus-Remote-Write-Samples-Written)"
echo 'temperature{room="kitchen"} 1700000060000 22' >>"$TEST_TMP/want"
cat >"$TEST_TMP/dup.txt" <<'EOF'
http_requests_total{code="200",job="web"} 1700000015000 13
temperature{room="kitchen"} 1700000075000 22.5
EOF
"$RW" -v 1 -i "$TEST_TMP/dup.txt" -o "$TEST_TMP/dup.body"
expect_eq "a conflicting duplicate: 400" 400 "$(post "$TEST_TMP/dup.body" 1)"
expect_match "a conflicting duplicate: says so" "duplicate sample for timestamp" "$(message)"
echo 'temperature{room="kitchen"} 1700000075000 22.5' >>"$TEST_TMP/want"
sort "$TEST_TMP/want" >"$TEST_TMP/want.sorted"
samples "$store" >"$TEST_TMP/have"
cmp -s "$TEST_TMP/want.sorted" "$TEST_TMP/have" &&
	ok "only the samples in order were taken" ||
	fail "after out of order and conflicts: $(diff "$TEST_TMP/want.sorted" "$TEST_TMP/have" | head -10)"

# ---- text import ----
now=$(date +%s)
cat >"$TEST_TMP/node.txt" <<'EOF'
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 12345.67
node_cpu_seconds_total{cpu="0",mode="user"} 234.5
# HELP node_filesystem_avail_bytes Filesystem space available.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1.2345e+10
node_boot_time_seconds 1.7e+09 1700000000000
EOF
expect_eq "import: taken" 204 "$(code "$u/api/v1/import/prometheus" -X POST \
	--data-binary @"$TEST_TMP/node.txt" -H 'Content-Type: text/plain; version=0.0.4')"
samples "$store" '{__name__=~"node_.+"}' >"$TEST_TMP/have"
expect_eq "import: every sample" 4 "$(wc -l <"$TEST_TMP/have")"
expect_match "import: a timestamp given is kept" \
	'^node_boot_time_seconds 1700000000000 1700000000$' "$(grep boot "$TEST_TMP/have")"
t=$(awk '/mode="idle"/ { print $2 }' "$TEST_TMP/have")
[ -n "$t" ] && [ $((t / 1000)) -ge "$now" ] && [ $((t / 1000)) -le $(($(date +%s) + 1)) ] &&
	ok "import: a sample without a timestamp is at the time of the import" ||
	fail "import: the idle sample is at '$t', the import at $now"

printf '# TYPE om_requests counter\nom_requests_total{code="200"} 5 1700000000.5\n# EOF\n' \
	>"$TEST_TMP/om.txt"
expect_eq "import OpenMetrics: taken" 204 "$(code "$u/api/v1/import/prometheus" -X POST \
	--data-binary @"$TEST_TMP/om.txt" \
	-H 'Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8')"
expect_eq "import OpenMetrics: seconds as milliseconds" \
	'om_requests_total{code="200"} 1700000000500 5' \
	"$(samples "$store" '{__name__="om_requests_total"}')"

printf 'ok_metric 1\nbroken{a="1" 2\n' >"$TEST_TMP/broken.txt"
samples "$store" >"$TEST_TMP/before"
expect_eq "import of a malformed text: 400" 400 "$(code "$u/api/v1/import/prometheus" \
	-X POST --data-binary @"$TEST_TMP/broken.txt")"
expect_match "it names the line and column" "line 2.*column|2:[0-9]+" "$(message)"
samples "$store" >"$TEST_TMP/have"
cmp -s "$TEST_TMP/before" "$TEST_TMP/have" &&
	ok "a malformed text imports nothing" ||
	fail "a malformed text imported: $(diff "$TEST_TMP/before" "$TEST_TMP/have" | head)"

if [ -x "$EXPORTER" ]; then
	np=$(pick_port 1) || { fail "a free port"; finish; }
	"$EXPORTER" --web.listen-address="127.0.0.1:$np" >"$TEST_TMP/node.log" 2>&1 &
	NE_PID=$!
	i=0
	until curl -sf -o "$TEST_TMP/node.metrics" "http://127.0.0.1:$np/metrics"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$NE_PID" 2>/dev/null; then
			fail "node exporter did not answer: $(tail -3 "$TEST_TMP/node.log")"
			break
		fi
		sleep 0.1
	done
	n=$(awk '!/^[ \t]*(#|$)/ { n++ } END { print n + 0 }' "$TEST_TMP/node.metrics")
	expect_eq "a node exporter's text: taken" 204 "$(code "$u/api/v1/import/prometheus" \
		-X POST --data-binary @"$TEST_TMP/node.metrics" -H 'Content-Type: text/plain; version=0.0.4')"
	samples "$store" '{__name__=~"node_.+|go_.+|process_.+|promhttp_.+"}' >"$TEST_TMP/have"
	[ "$(wc -l <"$TEST_TMP/have")" -ge "$n" ] &&
		ok "a node exporter's $n samples are there" ||
		fail "of the node exporter's $n samples, $(wc -l <"$TEST_TMP/have") are there"
else
	echo "(prometheus-node-exporter not installed: its text is not imported)"
fi

# ---- series_options.max_series ----
stop_serves
SERVE_PIDS=""
SHALE_SERIES_OPTIONS_MAX_SERIES=3 SERVE_LOG=limit.log serve_shale "file://$TEST_TMP/limit" "$port" ||
	{ fail "serve with max_series 3"; finish; }
printf 'a{i="1"} 1000 1\na{i="2"} 1000 1\na{i="3"} 1000 1\n' >"$TEST_TMP/three.txt"
"$RW" -i "$TEST_TMP/three.txt" -o "$TEST_TMP/three.body"
expect_eq "3 series of 3: taken" 204 "$(post "$TEST_TMP/three.body" 1)"
printf 'a{i="1"} 2000 2\na{i="4"} 2000 2\n' >"$TEST_TMP/four.txt"
"$RW" -v 2 -i "$TEST_TMP/four.txt" -o "$TEST_TMP/four.body"
expect_eq "a 4th series: 400" 400 "$(post "$TEST_TMP/four.body" 2)"
expect_match "a 4th series: says why" "max_series|limit" "$(message)"
expect_eq "a 4th series: the known series' sample written" 1 \
	"$(header X-Prometheus-Remote-Write-Samples-Written)"
printf 'a{i="1"} 1000 1\na{i="1"} 2000 2\na{i="2"} 1000 1\na{i="3"} 1000 1\n' |
	sort >"$TEST_TMP/want.sorted"
samples "file://$TEST_TMP/limit" >"$TEST_TMP/have"
cmp -s "$TEST_TMP/want.sorted" "$TEST_TMP/have" &&
	ok "no 4th series, the others' samples taken" ||
	fail "with max_series 3: $(diff "$TEST_TMP/want.sorted" "$TEST_TMP/have" | head)"

# ---- the object store refusing writes: 503, then taken once it is back ----
stop_serves
SERVE_PIDS=""
down="$TEST_TMP/down"
faulty="fault:while=$down,rate=1,errors=eio,ops=put+put_if_absent+delete+delete_batch:file://$TEST_TMP/down-store"
SHALE_STORE_FAILURE_TIMEOUT=2s SERVE_LOG=down.log serve_shale "$faulty" "$port" ||
	{ fail "serve on a faulty store"; finish; }
: >"$down"
printf 'b{i="1"} 1000 1
b{i="1"} 2000 2
' >"$TEST_TMP/down.txt"
"$RW" -i "$TEST_TMP/down.txt" -o "$TEST_TMP/down.body"
expect_eq "the store refusing writes: 503" 503 "$(post "$TEST_TMP/down.body" 1)"
expect_match "the store refusing writes: says so" "object store" "$(message)"
rm -f "$down"
for i in $(seq 1 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$u/-/ready")" = 200 ] && break
	sleep 0.1
done
expect_eq "the store back: the retry is taken" 204 "$(post "$TEST_TMP/down.body" 1)"
stop_serves
SERVE_PIDS=""
printf 'b{i="1"} 1000 1
b{i="1"} 2000 2
' >"$TEST_TMP/want.sorted"
samples "file://$TEST_TMP/down-store" >"$TEST_TMP/have"
cmp -s "$TEST_TMP/want.sorted" "$TEST_TMP/have" &&
	ok "the store back: the samples are there once" ||
	fail "after the store came back: $(diff "$TEST_TMP/want.sorted" "$TEST_TMP/have" | head)"

# ---- a read-only follower ----
fport=$(pick_port 1) || { fail "a free port"; finish; }
SERVE_LOG=follower.log serve_shale "file://$TEST_TMP/limit" "$fport" --read-only ||
	{ fail "serve --read-only"; finish; }
expect_eq "a follower: 503" 503 "$(code "http://127.0.0.1:$fport/api/v1/write" -X POST \
	--data-binary @"$TEST_TMP/three.body" -H "$CT1" -H "$CE")"
expect_match "a follower: says so" "read-only" "$(message)"
expect_eq "a follower's import: 503" 503 "$(code "http://127.0.0.1:$fport/api/v1/import/prometheus" \
	-X POST --data-binary @"$TEST_TMP/node.txt")"

stop_serves
grep -E ' shale (error|warn): ' "$TEST_TMP"/*.log | grep -v 'left out\|down.log' &&
	fail "the daemons logged errors or warnings (above)"
finish
