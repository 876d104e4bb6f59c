# query_views.sh - PromQL in the mount, MNT/query, on file://. Series are
# put in through MNT/series/.import (timestamps a few seconds old), then:
#   ad hoc queries: cat of a file named by a query's text (an aggregation
#   by a label, a division written with %2F, a modulo written with %25, a
#   range vector), one line a series sorted by labels; a bare metric name
#   is a view's name (ENOENT), written up{} it is a query; a query that
#   does not parse is EINVAL, its words in query/.error and the log;
#   saved views: mkdir, expr written by echo (a bad one refused by its
#   write with EINVAL and the old one kept), result, result.json and
#   result.csv agreeing with each other and, when the endpoint answers
#   /api/v1/query, byte for byte with its answer at the same time; range
#   and step making a range query (a matrix); a view's name that is none
#   (EINVAL); tail -f of live showing two evaluations and then a value
#   imported while it runs; ls of query/ listing the views; rmdir;
#   after a remount the view is there and answers the same; a
#   --read-only follower answers the same view, sees a view made after it
#   started, and refuses mkdir and writes with EROFS.
# Every daemon and tail is stopped by PID. Skips without jq.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
command -v jq >/dev/null 2>&1 || skip "jq not installed (apt-get install jq)"
TAIL_PID=""
cleanup() {
	[ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null && wait_gone "$TAIL_PID" 10
	cleanup_mounts
}
trap cleanup EXIT

# wait_for WHAT SECONDS COMMAND...: until the command succeeds
wait_for() {
	local what=$1 limit=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt $((limit * 10)) ]; then
			fail "$what: not within $limit s"
			return 1
		fi
		sleep 0.1
	done
	ok "$what"
}

# fails WHAT ERRNO-TEXT COMMAND...: the command fails saying ERRNO-TEXT
fails() {
	local what=$1 want=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$what: succeeded"
	else
		expect_match "$what" "$want" "$out"
	fi
}

logged() {	# TEXT: the daemons' log holds it
	grep -qF -- "$1" "$TEST_TMP/mount.log"
}

same() {	# FILE EXPECTED-TEXT
	[ "$(cat "$1" 2>/dev/null)" = "$2" ]
}

# evaluations FILE N: FILE holds lines of at least N evaluation times
evaluations() {
	[ "$(awk '{ print $NF }' "$1" | sort -u | wc -l)" -ge "$2" ]
}

export SHALE_LOG_LEVEL=info
store="file://$TEST_TMP/store"
mnt="$TEST_TMP/mnt"
port=$(pick_port) || { fail "a free port"; finish; }
mount_shale "$store" "$mnt" --port "$port" || { fail "mount"; finish; }
Q="$mnt/query"

now=$(date +%s%3N)
t0=$((now - 20000))
t1=$((now - 10000))
cat >"$mnt/series/.import" <<EOF || fail "import the series"
# TYPE http_requests_total counter
http_requests_total{job="api",code="200"} 10 $t0
http_requests_total{job="api",code="200"} 20 $t1
http_requests_total{job="api",code="500"} 1 $t0
http_requests_total{job="api",code="500"} 3 $t1
http_requests_total{job="web",code="200"} 5 $t0
http_requests_total{job="web",code="200"} 7 $t1
http_requests_total{job="web",code="503"} 2 $t0
http_requests_total{job="web",code="503"} 4 $t1
EOF
expect_match "the import took 8 samples" '^samples: 8$' "$(cat "$mnt/series/.import")"

# ---- ad hoc queries ----
expect_eq "the root holds query" "$(printf '.shale\nlogs\nquery\nseries')" "$(ls -A "$mnt")"
expect_eq "query/ starts with .error alone" ".error" "$(ls -A "$Q")"
expect_eq "no error yet" "errors: 0" "$(cat "$Q/.error")"
expect_eq "an aggregation by job, sorted by labels" \
	"$(printf '{job="api"} 23\n{job="web"} 11')" \
	"$(cat "$Q/sum by (job) (http_requests_total)")"
expect_eq "a division written with %2F" \
	"$(printf '{job="api"} 11.5\n{job="web"} 5.5')" \
	"$(cat "$Q/sum by (job) (http_requests_total) %2F 2")"
expect_eq "a modulo written with %25" \
	"$(printf '{code="200",job="api"} 6\n{code="200",job="web"} 0\n{code="500",job="api"} 3\n{code="503",job="web"} 4')" \
	"$(cat "$Q/http_requests_total %25 7")"
expect_eq "a range vector: a line a sample, with its time" \
	"$(printf 'http_requests_total{code="500",job="api"} 1 %d.%03d\nhttp_requests_total{code="500",job="api"} 3 %d.%03d' \
		$((t0 / 1000)) $((t0 % 1000)) $((t1 / 1000)) $((t1 % 1000)))" \
	"$(cat "$Q/http_requests_total{code=\"500\"}[1m]")"
fails "a bare metric name is a view's name" "No such file" cat "$Q/http_requests_total"
expect_eq "... and a query written with {}" 4 "$(wc -l <"$Q/http_requests_total{}")"
fails "a query that does not parse" "Invalid argument" cat "$Q/sum(rate(x[5m])"
expect_match ".error has Prometheus's words" \
	'error: 1:[0-9]+: parse error: unclosed left parenthesis' "$(cat "$Q/.error")"
expect_match ".error has the query" '^query: sum\(rate\(x\[5m\]\)$' \
	"$(grep '^query: ' "$Q/.error")"
expect_match ".error has the type" '^type: bad_data$' "$(grep '^type: ' "$Q/.error")"
logged "unclosed left parenthesis" && ok "the log says why" ||
	fail "no message for the bad query in the log"
fails "an execution error" "Invalid argument" \
	cat "$Q/http_requests_total + on() http_requests_total"
expect_match ".error has the execution error" '^type: execution$' \
	"$(grep '^type: ' "$Q/.error")"
expect_eq "ad hoc queries are not listed" ".error" "$(ls -A "$Q")"

# ---- a saved view ----
V="$Q/errors"
mkdir "$V" || fail "mkdir of a view"
expect_eq "a view's files" "$(printf 'expr\nlive\nrange\nresult\nresult.csv\nresult.json\nstep')" \
	"$(ls "$V")"
fails "a view without an expression" "Invalid argument" cat "$V/result"
fails "mkdir of a name that is no view's" "Invalid argument" mkdir "$Q/my view"
fails "mkdir of a view there is" "File exists" mkdir "$V"
echo 'sum by (job) (http_requests_total{code=~"5.."})' >"$V/expr" || fail "echo > expr"
expect_eq "expr reads back" 'sum by (job) (http_requests_total{code=~"5.."})' "$(cat "$V/expr")"
expect_eq "expr's size is honest (with its newline)" 48 "$(stat -c %s "$V/expr")"
fails "a bad expression refused by its write" "Invalid argument" \
	bash -c "echo 'sum(' >'$V/expr'"
expect_eq "the old expression is kept" 'sum by (job) (http_requests_total{code=~"5.."})' \
	"$(cat "$V/expr")"
logged "view 'errors' expr 'sum(': 1:5: parse error" && ok "the log names the view" ||
	fail "no message for the bad expression"
expect_eq "result" "$(printf '{job="api"} 3\n{job="web"} 4')" "$(cat "$V/result")"
cp "$V/result.json" "$TEST_TMP/view.json"
expect_eq "result.json: a vector" "success vector" \
	"$(jq -r '.status + " " + .data.resultType' "$TEST_TMP/view.json")"
expect_eq "result.json agrees with result" "$(cat "$V/result")" \
	"$(jq -r '.data.result[] | "{job=\"" + .metric.job + "\"} " + .value[1]' "$TEST_TMP/view.json")"
expect_eq "result.csv agrees with result" \
	"$(printf 'time,series,value\n"{job=""api""}",3\n"{job=""web""}",4')" \
	"$(cut -d, -f2- "$V/result.csv" | sed '1s/^/time,/')"
# the HTTP API, when it has /api/v1/query, at the same time, byte for byte
# (the time as written, not as jq would print a double)
t=$(grep -o '"value":\[[0-9.]*' "$TEST_TMP/view.json" | head -n 1 | cut -d[ -f2)
c=$(code "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$(cat "$V/expr")" \
	--data-urlencode "time=$t" -G)
if [ "$c" = 404 ]; then
	ok "no /api/v1/query on this endpoint: result.json not compared with it"
else
	expect_eq "result.json is the API's answer at its time" "$(cat "$TEST_TMP/body")" \
		"$(cat "$TEST_TMP/view.json")"
fi

# a range query
echo 1m >"$V/range" || fail "echo > range"
echo 20s >"$V/step" || fail "echo > step"
expect_eq "range reads back" 1m "$(cat "$V/range")"
expect_eq "step reads back" 20s "$(cat "$V/step")"
expect_eq "result.json: a matrix with a range" matrix \
	"$(jq -r .data.resultType "$V/result.json")"
expect_eq "result: a line a point" 4 "$(wc -l <"$V/result")"
fails "a bad duration" "Invalid argument" bash -c "echo 5x >'$V/step'"
echo >"$V/range" || fail "echo > range of nothing"
expect_eq "an empty range: an instant query again" vector \
	"$(jq -r .data.resultType "$V/result.json")"

# live: every step (1 s), and a value imported meanwhile
echo 1 >"$V/step" || fail "echo 1 > step"
tail -f "$V/live" >"$TEST_TMP/live.out" 2>"$TEST_TMP/live.err" &
TAIL_PID=$!
wait_for "tail -f live shows two evaluations" 20 evaluations "$TEST_TMP/live.out" 2
expect_match "live's lines: labels, value, time" '^\{job="api"\} 3 [0-9]+\.[0-9]{3}$' \
	"$(head -n 1 "$TEST_TMP/live.out")"
printf 'http_requests_total{job="api",code="500"} 9 %s\n' "$(date +%s%3N)" \
	>"$mnt/series/.import" || fail "import a new sample"
wait_for "tail -f live shows the new value" 20 grep -q '^{job="api"} 9 ' "$TEST_TMP/live.out"
kill "$TAIL_PID" && wait_gone "$TAIL_PID" 10
TAIL_PID=""
grep -q 'truncated' "$TEST_TMP/live.err" && fail "tail saw live truncated: $(cat "$TEST_TMP/live.err")"

mkdir "$Q/gone" && rmdir "$Q/gone" || fail "mkdir and rmdir of a view"
expect_eq "ls query/ lists the views" errors "$(ls "$Q")"
want=$(cat "$V/result")
sync "$V/expr" || fail "sync of a view's file"

# ---- a remount ----
umount_shale "$mnt" || fail "unmount"
mount_shale "$store" "$mnt" || { fail "mount again"; finish; }
expect_eq "the view is kept" 'sum by (job) (http_requests_total{code=~"5.."})' \
	"$(cat "$V/expr")"
expect_eq "its step too" 1s "$(cat "$V/step")"
expect_eq "it answers the same" "$want" "$(cat "$V/result")"

# ---- a follower ----
r="$TEST_TMP/follower"
mount_shale "$store" "$r" --read-only || { fail "read-only mount"; finish; }
expect_eq "the follower answers the view" "$want" "$(cat "$r/query/errors/result")"
mkdir "$Q/later" && echo 'count(http_requests_total)' >"$Q/later/expr" ||
	fail "a view made while followed"
wait_for "the follower sees a view made after it started" 30 \
	same "$r/query/later/result" "{} 4"
fails "the follower refuses mkdir" "Read-only file system" mkdir "$r/query/mine"
fails "the follower refuses writes" "Read-only file system" \
	bash -c "echo 'up{}' >'$r/query/errors/expr'"
umount_shale "$r" || fail "unmount the follower"
umount_shale "$mnt" || fail "unmount"
finish
