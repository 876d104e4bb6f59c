# loki_api.sh - the Loki query API of 'shale serve' (file://), asked what
# Grafana's Loki data source asks:
#   /ready and the build info; its health check (an instant
#   vector(1)+vector(1), GET and form POST, answering 2); label names and
#   values with start/end in nanoseconds and a query; series with
#   match[]; a log query with start/end in nanoseconds, limit and both
#   directions, and with a line filter; a metric range query with step
#   "<n>ms"; the logs-volume query sum by (level) (count_over_time(...));
#   index/stats; index/volume (Grafana's Logs Drilldown) over streams
#   pushed with labels, by the selector's labels and by targetLabels;
#   the errors as Loki writes them (text, status 400): a query that does
#   not parse (with its line and column), a log query at an instant, a
#   limit past 5000, a bad limit, step, direction and time, end before
#   start, too many points;
#   live tail: a WebSocket on /loki/api/v1/tail (a small client in
#   python3; not tried without it) gets the entries since start, then an
#   entry appended after it connected, and its close is answered; a
#   request without the handshake is 400; /loki/api/v2alpha/tail is 404.
# Streams are appended through the log API, so their entries carry the
# time of the append. shale is stopped by PID. Skips without curl or jq.
. "$top_srcdir/tests/lib/common.sh"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done
trap stop_serves EXIT

port=$(pick_port) || { fail "a free port"; finish; }
u="http://127.0.0.1:$port"
l="$u/loki/api/v1"
serve_shale "file://$TEST_TMP/store" "$port" || { fail "serve"; finish; }

t0=$(date +%s%N)
i=1
: >"$TEST_TMP/api"
while [ $i -le 10 ]; do
	lvl=info
	[ $((i % 4)) -eq 0 ] && lvl=error
	echo "level=$lvl msg=\"request $i\" status=$((i % 4 == 0 ? 500 : 200))" >>"$TEST_TMP/api"
	i=$((i + 1))
done
expect_eq "append app/api" 200 \
	"$(code "$u/api/v1/log/append?key=app/api" -X POST --data-binary @"$TEST_TMP/api")"
printf 'level=info msg="GET /"\nlevel=info msg="GET /x"\n' >"$TEST_TMP/web"
expect_eq "append app/web" 200 \
	"$(code "$u/api/v1/log/append?key=app/web" -X POST --data-binary @"$TEST_TMP/web")"
expect_eq "append other/db" 200 \
	"$(code "$u/api/v1/log/append?key=other/db" -X POST --data-binary 'checkpoint')"
start=$((t0 - 300000000000))
end=$(( $(date +%s%N) + 60000000000 ))

# ---- readiness and build info ----
expect_eq "/ready" 200 "$(code "$u/ready")"
expect_eq "/ready's body" ready "$(cat "$TEST_TMP/body")"
expect_eq "buildinfo" 200 "$(code "$l/status/buildinfo")"
expect_match "buildinfo's version" '^3\.' "$(jq -r .version "$TEST_TMP/body")"

# ---- Grafana's health check ----
expect_eq "health check" 200 "$(code "$l/query" -G --data-urlencode 'query=vector(1)+vector(1)' \
	--data-urlencode "time=$end")"
expect_eq "health check: 2" "success vector 2" \
	"$(jq -r '[.status, .data.resultType, .data.result[0].value[1]] | join(" ")' "$TEST_TMP/body")"
expect_eq "health check, form POST" 200 "$(code "$l/query" --data-urlencode 'query=vector(1)+vector(1)')"
expect_eq "health check, form POST: 2" 2 "$(jq -r '.data.result[0].value[1]' "$TEST_TMP/body")"
expect_match "its time is float seconds" '^[0-9]+(\.[0-9]+)?$' \
	"$(jq -r '.data.result[0].value[0]' "$TEST_TMP/body")"

# ---- labels, label values, series ----
expect_eq "labels" 200 "$(code "$l/labels?start=$start&end=$end")"
expect_eq "labels holds stream" stream "$(jq -r '.data[] | select(. == "stream")' "$TEST_TMP/body")"
expect_eq "stream's values" 200 "$(code "$l/label/stream/values?start=$start&end=$end")"
expect_eq "stream's values: the three streams" "app/api app/web other/db" \
	"$(jq -r '.data | join(" ")' "$TEST_TMP/body")"
expect_eq "values with a query" 200 "$(code "$l/label/stream/values" -G \
	--data-urlencode 'query={stream=~"app/.+"}' --data-urlencode "start=$start" \
	--data-urlencode "end=$end")"
expect_eq "values with a query: two" "app/api app/web" "$(jq -r '.data | join(" ")' "$TEST_TMP/body")"
expect_eq "values of a label no stream has" '{"status":"success"}' \
	"$(curl -s "$l/label/nosuch/values?start=$start&end=$end")"
expect_eq "values of a range before every append" '{"status":"success"}' \
	"$(curl -s "$l/label/stream/values?start=1000000000&end=1100000000")"
expect_eq "series" 200 "$(code "$l/series" -G --data-urlencode 'match[]={stream="app/api"}' \
	--data-urlencode "start=$start" --data-urlencode "end=$end")"
expect_eq "series: app/api" "app/api" "$(jq -r '[.data[].stream] | join(" ")' "$TEST_TMP/body")"
expect_eq "series, two match[], form POST" "app/web other/db" \
	"$(curl -s "$l/series" --data-urlencode 'match[]={stream="app/web"}' \
	--data-urlencode 'match[]={stream="other/db"}' | jq -r '[.data[].stream] | join(" ")')"

# ---- log queries ----
expect_eq "log query, backward" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query={stream="app/api"}' --data-urlencode "start=$start" \
	--data-urlencode "end=$end" --data-urlencode limit=3 --data-urlencode direction=backward)"
expect_eq "backward: streams" streams "$(jq -r .data.resultType "$TEST_TMP/body")"
expect_eq "backward: the newest three" 'request 10|request 9|request 8' \
	"$(jq -r '[.data.result[].values[][1] | capture("msg=\"(?<m>[^\"]*)\"").m] | join("|")' "$TEST_TMP/body")"
expect_match "times are nanosecond strings" '^[0-9]{19}$' \
	"$(jq -r '.data.result[0].values[0][0]' "$TEST_TMP/body")"
expect_eq "stats: entries returned" 3 "$(jq -r .data.stats.summary.totalEntriesReturned "$TEST_TMP/body")"
expect_eq "log query, forward" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query={stream="app/api"}' --data-urlencode "start=$start" \
	--data-urlencode "end=$end" --data-urlencode limit=2 --data-urlencode direction=FORWARD)"
expect_eq "forward: the oldest two" 'request 1|request 2' \
	"$(jq -r '[.data.result[].values[][1] | capture("msg=\"(?<m>[^\"]*)\"").m] | join("|")' "$TEST_TMP/body")"
expect_eq "a line filter" 200 "$(code "$l/query_range" --data-urlencode \
	'query={stream=~"app/.+"} |= "level=error"' --data-urlencode "start=$start" \
	--data-urlencode "end=$end")"
expect_eq "the error lines" 2 "$(jq -r '[.data.result[].values[]] | length' "$TEST_TMP/body")"

# ---- metric queries ----
expect_eq "a metric range query, step in ms" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query=count_over_time({stream="app/api"}[10m])' \
	--data-urlencode "start=$start" --data-urlencode "end=$end" --data-urlencode step=60000ms)"
expect_eq "matrix" matrix "$(jq -r .data.resultType "$TEST_TMP/body")"
expect_eq "its series" app/api "$(jq -r '.data.result[0].metric.stream' "$TEST_TMP/body")"
expect_eq "its last count" 10 "$(jq -r '.data.result[0].values[-1][1]' "$TEST_TMP/body")"
expect_eq "logs volume" 200 "$(code "$l/query_range" -G \
	--data-urlencode 'query=sum by (level) (count_over_time({stream=~"app/.+"} | drop __error__[1m]))' \
	--data-urlencode "start=$start" --data-urlencode "end=$end" --data-urlencode step=60000ms)"
expect_eq "logs volume: matrix" matrix "$(jq -r .data.resultType "$TEST_TMP/body")"
expect_eq "logs volume by a parsed level" "error info" "$(curl -s "$l/query_range" -G \
	--data-urlencode 'query=sum by (level) (count_over_time({stream=~"app/.+"} | logfmt [10m]))' \
	--data-urlencode "start=$start" --data-urlencode "end=$end" --data-urlencode step=60000ms |
	jq -r '[.data.result[].metric.level] | sort | join(" ")')"

# ---- index stats ----
expect_eq "index/stats" 200 "$(code "$l/index/stats" -G --data-urlencode 'query={stream=~"app/.+"} |= "x"' \
	--data-urlencode "start=$start" --data-urlencode "end=$end")"
expect_eq "index/stats: two streams" 2 "$(jq -r .streams "$TEST_TMP/body")"
expect_eq "index/stats: their bytes" "$(cat "$TEST_TMP/api" "$TEST_TMP/web" | wc -c)" \
	"$(jq -r .bytes "$TEST_TMP/body")"

# ---- pushed streams: the volume Grafana's Logs Drilldown asks ----
now=$(date +%s%N)
expect_eq "a Loki push" 204 "$(code "$l/push" -H 'Content-Type: application/json' --data \
	"{\"streams\":[{\"stream\":{\"service_name\":\"api\",\"level\":\"info\"},\"values\":[[\"$now\",\"aaaa\"]]},
	{\"stream\":{\"service_name\":\"api\",\"level\":\"error\"},\"values\":[[\"$now\",\"bb\"]]},
	{\"stream\":{\"service_name\":\"web\"},\"values\":[[\"$now\",\"c\"]]}]}")"
expect_eq "index/volume by the selector's label" "api=8 web=2" "$(curl -s "$l/index/volume" -G \
	--data-urlencode 'query={service_name=~".+"}' --data-urlencode "start=$start" --data-urlencode "end=$end" |
	jq -r '[.data.result[] | "\(.metric.service_name)=\(.value[1])"] | join(" ")')"
expect_eq "index/volume by targetLabels, limit 2" "api/info=5 api/error=3" "$(curl -s "$l/index/volume" -G \
	--data-urlencode 'query={service_name=~".+"}' --data-urlencode targetLabels=service_name,level \
	--data-urlencode limit=2 | jq -r '[.data.result[] | "\(.metric.service_name)/\(.metric.level)=\(.value[1])"] | join(" ")')"

# ---- errors, as Loki words them ----
expect_eq "a bad query" 400 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"} |= ')"
expect_match "its message" '^parse error at line 1, col [0-9]+: ' "$(cat "$TEST_TMP/body")"
expect_match "as text" '^Content-Type: text/plain' "$(tr -d '\r' <"$TEST_TMP/headers" | grep -i '^content-type')"
expect_eq "a log query at an instant" 400 "$(code "$l/query" -G --data-urlencode 'query={stream="app/api"}')"
expect_eq "its message" "log queries are not supported as an instant query type, please change your query to a range query type" \
	"$(cat "$TEST_TMP/body")"
expect_eq "limit past 5000" 400 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"}' \
	--data-urlencode limit=5001)"
expect_eq "its message" "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)" \
	"$(cat "$TEST_TMP/body")"
expect_eq "a bad limit" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&limit=abc")"
expect_eq "its message" 'strconv.Atoi: parsing "abc": invalid syntax' "$(cat "$TEST_TMP/body")"
expect_eq "a zero step" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&step=0")"
expect_eq "its message" "zero or negative query resolution step widths are not accepted. Try a positive integer" \
	"$(cat "$TEST_TMP/body")"
expect_eq "a bad step" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&step=1x")"
expect_eq "its message" 'cannot parse "1x" to a valid duration' "$(cat "$TEST_TMP/body")"
expect_eq "too many points" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&start=0&end=100000&step=1")"
expect_match "its message" '^exceeded maximum resolution of 11,000 points' "$(cat "$TEST_TMP/body")"
expect_eq "end before start" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&start=20&end=10")"
expect_eq "its message" "end timestamp must not be before start time" "$(cat "$TEST_TMP/body")"
expect_eq "a bad direction" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&direction=up")"
expect_eq "its message" "invalid direction 'up'" "$(cat "$TEST_TMP/body")"
expect_eq "a bad time" 400 "$(code "$l/query_range?query=%7Bstream%3D%22a%22%7D&end=soon")"
expect_eq "its message" "could not parse 'end' parameter: strconv.ParseInt: parsing \"soon\": invalid syntax" \
	"$(cat "$TEST_TMP/body")"
expect_eq "an RFC 3339 time" 200 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"}' \
	--data-urlencode "start=2023-11-14T22:13:20.5Z" --data-urlencode "end=2023-11-14T23:13:20Z")"
expect_eq "a float time" 200 "$(code "$l/query_range" -G --data-urlencode 'query={stream="app/api"}' \
	--data-urlencode "start=1700000000.5" --data-urlencode "end=1700003600")"

# ---- live tail over a WebSocket ----
expect_eq "v2alpha tail (Grafana's probe)" 404 "$(code "$u/loki/api/v2alpha/tail")"
expect_eq "tail without the handshake" 400 "$(code "$l/tail" -G --data-urlencode 'query={stream="app/api"}')"
if command -v python3 >/dev/null 2>&1; then
	cat >"$TEST_TMP/ws.py" <<'EOF'
# ws.py HOST PORT PATH N: a WebSocket client printing the lines of Loki's
# tail messages until N, then closing
import base64, os, socket, sys, json
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: %s\r\n\r\n" % (sys.argv[3],
           base64.b64encode(os.urandom(16)).decode())).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        sys.exit("closed in the handshake")
    buf += d
head, buf = buf.split(b"\r\n\r\n", 1)
print(head.split(b"\r\n")[0].decode().strip(), flush=True)
def frame():
    global buf
    while True:
        if len(buf) >= 2:
            n, hl = buf[1] & 0x7f, 2
            if n == 126:
                n, hl = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                n, hl = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) >= hl + n:
                op, pl, buf = buf[0] & 0xf, buf[hl:hl + n], buf[hl + n:]
                return op, pl
        d = s.recv(65536)
        if not d:
            return None, b""
        buf += d
got = 0
while got < int(sys.argv[4]):
    op, pl = frame()
    if op != 1:
        print("unexpected frame", op, pl, flush=True)
        sys.exit(1)
    for st in json.loads(pl)["streams"]:
        for ts, line in st["values"]:
            print(line, flush=True)
            got += 1
mask = os.urandom(4)
s.sendall(bytes([0x88, 0x82]) + mask +
          bytes(b ^ mask[i] for i, b in enumerate((1000).to_bytes(2, "big"))))
op, pl = frame()
print("closed", op, int.from_bytes(pl[:2], "big"), flush=True)
EOF
	q=$(jq -rn --arg q '{stream="app/web"}' '$q | @uri')
	python3 "$TEST_TMP/ws.py" 127.0.0.1 "$port" "/loki/api/v1/tail?query=$q&start=$start" 3 \
		>"$TEST_TMP/tail.out" 2>&1 &
	ws_pid=$!
	i=0
	until [ "$(grep -c 'msg="GET' "$TEST_TMP/tail.out")" -ge 2 ] || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	expect_eq "tail: 101, then the entries since start" \
		"HTTP/1.1 101 Switching Protocols|level=info msg=\"GET /\"|level=info msg=\"GET /x\"" \
		"$(paste -sd'|' "$TEST_TMP/tail.out")"
	curl -s -o /dev/null "$u/api/v1/log/append?key=app/web" -X POST --data-binary 'tailed line'
	wait_gone "$ws_pid" 10 || { kill "$ws_pid" 2>/dev/null; fail "the tail client did not end"; }
	expect_eq "tail: the new entry, then the close answered" "tailed line|closed 8 1000" \
		"$(tail -n 2 "$TEST_TMP/tail.out" | paste -sd'|')"
else
	ok "tail over a WebSocket not tried: python3 not installed"
fi

stop_serves
finish
