# logql_grep.sh - LogQL's filters against the shell's tools on the same
# bytes. A generated corpus of access-log lines (four streams, a few
# thousand lines each, logfmt fields, quotes, brackets, a non-ASCII
# word, one request id that occurs once) is appended through the mount;
# then each query, read as an ad hoc query view, must give exactly what
# grep -F, grep -v, grep -E, grep -i, a pipe of greps or awk give over the
# raw file, line for line and in order; a selector over several streams
# the same lines as grep over their files (sorted: their order across
# streams is by time); a metric query the counts awk makes; and
# 'shale query' over the store, as a reader beside the mount, the same
# lines as the view. Then following: tail -f of a saved LogQL view's live
# file and 'shale query --tail' print a line from before they started
# once and then the lines appended afterwards to any stream the selector
# picks (one made meanwhile too), each once.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
PIDS=""
cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null && wait_gone "$p" 10
	done
	cleanup_mounts
}
trap cleanup EXIT

lines_in() {	# SECONDS FILE LINES: wait until FILE has LINES lines
	local i=0
	while [ "$(grep -c '' "$2" 2>/dev/null)" -lt "$3" ]; do
		i=$((i + 1))
		[ $i -gt $(($1 * 10)) ] && return 1
		sleep 0.1
	done
}

store="file://$TEST_TMP/store"
mnt="$TEST_TMP/mnt"
raw="$TEST_TMP/raw"
mkdir -p "$raw"
lines=3000
[ "${SHALE_TEST_SANITIZED:-0}" = 1 ] && lines=1000

# the corpus: deterministic, one file a stream
for s in web-a web-b api-a api-b; do
	awk -v seed="${#s}$s" -v n=$lines -v name="$s" 'BEGIN {
		srand(length(seed) * 7 + (name ~ /api/) * 3 + (name ~ /-b/));
		split("GET GET GET POST PUT DELETE", m, " ");
		split("200 200 200 200 201 204 301 404 404 500 503", st, " ");
		split("/api/v1/users /api/v2/users /api/v1/orders /static/app.js /health /login", p, " ");
		for (i = 0; i < n; i++) {
			status = st[int(rand() * 11) + 1];
			level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
			if (rand() < 0.02) level = "ERROR";
			printf "ts=2026-12-07T10:%02d:%02d.%03dZ level=%s method=%s path=%s/%d status=%d latency=%dms bytes=%d req=%s-%06d",
			    int(i / 60) % 60, i % 60, int(rand() * 1000), level,
			    m[int(rand() * 6) + 1], p[int(rand() * 6) + 1],
			    int(rand() * 100), status, int(rand() * 900) + 1,
			    int(rand() * 65536), name, i;
			r = rand();
			if (r < 0.05) printf " msg=\"caf\303\251 [cache] miss\"";
			else if (r < 0.10) printf " msg=\"a.b*c (x)\"";
			printf "\n";
		}
	}' >"$raw/$s"
done
expect_eq "the corpus: four streams of $lines lines" $((4 * lines)) \
	"$(cat "$raw"/* | wc -l)"

mount_shale "$store" "$mnt" || { fail "mount"; finish; }
mkdir -p "$mnt/logs/web" "$mnt/logs/api" || fail "mkdir"
for s in web-a web-b api-a api-b; do
	cat "$raw/$s" >>"$mnt/logs/${s%-*}/${s#*-}" || fail "append $s"
done

# view QUERY: the ad hoc view's text ('/' and '%' escaped in its name)
view() {
	local name
	name=$(printf '%s' "$1" | sed -e 's/%/%25/g' -e 's|/|%2F|g')
	cat "$mnt/query/$name"
}

# same WHAT QUERY SHELL-COMMAND: the view gives what the command does
same() {
	local want got
	want=$(sh -c "$3")
	got=$(view "$2")
	if [ "$want" = "$got" ]; then
		ok "$1 ($(printf '%s' "$want" | grep -c '') lines)"
	else
		fail "$1: $(printf '%s\n' "$want" | wc -l) lines from the shell, $(printf '%s\n' "$got" | wc -l) from the view"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -5
	fi
}

W="$raw/web-a"
S='{stream="web/a"}'
same "the whole stream is the file" "$S" "cat '$W'"
same "|= is grep -F" "$S |= \"status=500\"" "grep -F 'status=500' '$W'"
same "!= is grep -vF" "$S != \"GET\"" "grep -vF 'GET' '$W'"
same "|~ is grep -E" "$S |~ \"path=/api/v[12]/users/[0-9]+ \"" \
	"grep -E 'path=/api/v[12]/users/[0-9]+ ' '$W'"
same "!~ is grep -vE" "$S !~ \"status=(2|3)[0-9]{2}\"" \
	"grep -vE 'status=(2|3)[0-9]{2}' '$W'"
same "a chain is a pipe of greps" "$S |= \"method=POST\" != \"status=200\" |~ \"latency=[0-9]{3}ms\"" \
	"grep -F method=POST '$W' | grep -vF status=200 | grep -E 'latency=[0-9]{3}ms'"
same "or is grep -e -e" "$S |= \"status=503\" or \"status=301\"" \
	"grep -F -e status=503 -e status=301 '$W'"
same "(?i) is grep -i" "$S |~ \"(?i)level=error\"" "grep -i 'level=error' '$W'"
same "regex metacharacters are literal to |=" "$S |= \"a.b*c (x)\"" \
	"grep -F 'a.b*c (x)' '$W'"
same "a non-ASCII word" "$S |= \"café\"" "grep -F 'café' '$W'"
same "brackets" "$S |= \"[cache]\"" "grep -F '[cache]' '$W'"
same "a needle that occurs once" "$S |= \"req=web-a-001234\"" \
	"grep -F 'req=web-a-001234' '$W'"
same "logfmt and a numeric filter is awk" "$S | logfmt | status >= 500" \
	"awk '{ for (i = 1; i <= NF; i++) if (\$i ~ /^status=/ && substr(\$i, 8) + 0 >= 500) { print; break } }' '$W'"
same "a duration filter is awk" "$S | logfmt | latency > 500ms" \
	"awk '{ for (i = 1; i <= NF; i++) if (\$i ~ /^latency=/ && substr(\$i, 9) + 0 > 500) { print; break } }' '$W'"
same "line_format is awk's print" \
	"$S | logfmt | line_format \"{{.method}} {{.status}}\"" \
	"awk '{ for (i = 1; i <= NF; i++) { split(\$i, kv, \"=\"); f[kv[1]] = kv[2] } print f[\"method\"], f[\"status\"] }' '$W'"

# several streams: the same lines, in time order, so compared sorted
want=$(cat "$raw/web-a" "$raw/web-b" | grep -F 'status=404' | sort)
got=$(view '{stream=~"web/.*"} |= "status=404"' | sort)
expect_eq "two streams: the lines of both files" "$want" "$got"
want=$(cat "$raw"/* | grep -E 'level=error' | wc -l)
expect_eq "all four, counted by wc" "$want" \
	"$(view '{stream=~".+"} |~ "level=error"' | wc -l)"

# a metric query: counts by status, as awk counts them
want=$(cat "$raw"/* | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^status=/) n[substr($i, 8)]++ }
	END { for (s in n) printf "{status=\"%s\"} %d\n", s, n[s] }' | sort)
got=$(view 'sum by (status) (count_over_time({stream=~".+"} | logfmt [1h]))' | sort)
expect_eq "sum by (status) of count_over_time is awk's counts" "$want" "$got"

# the command line reads the store as a reader: once the writer has
# stored everything, the same lines
want=$(view "$S |= \"status=404\"")
i=0
while [ "$("$SHALE" query --logql "$store" "$S |= \"status=404\"" 2>&1)" != "$want" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { fail "shale query: not the view's lines within 10 s"; break; }
	sleep 0.1
done
[ $i -le 100 ] && ok "shale query gives the view's lines"

# following: a saved view's live file and the command line's --tail; each
# starts with the newest lines there are (the marker), then follows
echo "FOLLOW status=500 n=0 before" >>"$mnt/logs/web/a"
mkdir "$mnt/query/errors" || fail "mkdir a view"
echo '{stream=~"(web|api)/.*"} |= "FOLLOW status=500"' >"$mnt/query/errors/expr" ||
	fail "write the view's expression"
tail -n +1 -f "$mnt/query/errors/live" >"$TEST_TMP/live.out" 2>&1 &
PIDS="$!"
"$SHALE" query --tail "$store" '{stream=~".+"} |= "FOLLOW"' \
	>"$TEST_TMP/tail.out" 2>"$TEST_TMP/tail.err" &
PIDS="$PIDS $!"
lines_in 15 "$TEST_TMP/live.out" 1 || fail "live: no first line within 15 s"
lines_in 15 "$TEST_TMP/tail.out" 1 || fail "--tail: no first line within 15 s"
for n in 1 2 3; do
	echo "FOLLOW status=500 n=$n" >>"$mnt/logs/web/a"
	echo "FOLLOW status=200 n=$n" >>"$mnt/logs/api/b"
done
echo "FOLLOW status=500 n=4 new stream" >>"$mnt/logs/api/c"
lines_in 15 "$TEST_TMP/live.out" 5 ||
	fail "live: $(grep -c '' "$TEST_TMP/live.out") lines within 15 s"
expect_eq "tail -f of a LogQL view's live: the matching lines, once" \
	"$(printf 'FOLLOW status=500 n=0 before\nFOLLOW status=500 n=1\nFOLLOW status=500 n=2\nFOLLOW status=500 n=3\nFOLLOW status=500 n=4 new stream')" \
	"$(cat "$TEST_TMP/live.out")"
lines_in 15 "$TEST_TMP/tail.out" 8 ||
	fail "--tail: $(grep -c '' "$TEST_TMP/tail.out") lines within 15 s"
expect_eq "shale query --tail: every line, once" 8 \
	"$(sort -u "$TEST_TMP/tail.out" | grep -c FOLLOW)"
expect_eq "... and nothing else" 8 "$(grep -c '' "$TEST_TMP/tail.out")"
expect_eq "... from the marker on" "FOLLOW status=500 n=0 before" \
	"$(head -n 1 "$TEST_TMP/tail.out")"

umount_shale "$mnt" || fail "unmount"
finish
