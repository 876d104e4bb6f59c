# expfmt_node.sh - the exposition parser on a real exporter's output:
# prometheus-node-exporter is started on a free port, its /metrics (text
# format 0.0.4) is parsed by tests/integration/expfmt_check, and the
# counts are held against a count of the text itself (sample lines, TYPE
# lines) and against promtool, which must accept the same text. A copy
# with a broken label, one without its last line feed, and one read as
# OpenMetrics (where a counter's family does not end in _total) are
# refused with the line they break. The exporter is stopped by PID.
# Skips without the exporter or curl.
. "$top_srcdir/tests/lib/common.sh"

EXPORTER=/usr/bin/prometheus-node-exporter
[ -x "$EXPORTER" ] ||
	skip "prometheus-node-exporter not installed (apt-get install prometheus-node-exporter)"
command -v curl >/dev/null 2>&1 || skip "curl not installed (apt-get install curl)"
CHECK="$top_builddir/tests/integration/expfmt_check"

NE_PID=""
cleanup() {
	[ -n "$NE_PID" ] && kill "$NE_PID" 2>/dev/null && wait_gone "$NE_PID" 10
}
trap cleanup EXIT

port=$(pick_port 1) || { fail "a free port"; finish; }
"$EXPORTER" --web.listen-address="127.0.0.1:$port" >"$TEST_TMP/node.log" 2>&1 &
NE_PID=$!
body="$TEST_TMP/metrics"
i=0
until curl -sf -D "$TEST_TMP/headers" -o "$body" "http://127.0.0.1:$port/metrics"; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$NE_PID" 2>/dev/null; then
		fail "node exporter did not answer on port $port: $(tail -3 "$TEST_TMP/node.log")"
		finish
	fi
	sleep 0.1
done
ctype=$(tr -d '\r' <"$TEST_TMP/headers" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p')
expect_match "the exporter speaks the text format" '^text/plain' "$ctype"

if out=$("$CHECK" "$ctype" "$body" 2>&1); then
	ok "parsed: $out"
else
	fail "expfmt_check: $out"
	finish
fi
samples=$(printf '%s' "$out" | awk '{ print $2 }')
families=$(printf '%s' "$out" | awk '{ print $4 }')
metas=$(printf '%s' "$out" | awk '{ print $6 }')
expect_eq "samples: every line that is not a comment or blank" \
	"$(awk '!/^[ \t]*(#|$)/ { n++ } END { print n + 0 }' "$body")" "$samples"
expect_eq "families: one a TYPE line (the exporter types all)" \
	"$(grep -c '^# TYPE ' "$body")" "$families"
expect_eq "metadata: the HELP and TYPE lines" \
	"$(grep -Ec '^# (HELP|TYPE) ' "$body")" "$metas"
[ "$samples" -gt 100 ] || fail "only $samples samples"

if command -v promtool >/dev/null 2>&1; then
	# exit 3 is lint advice only; a parse error is "error while linting"
	pt=$(promtool check metrics <"$body" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] || { [ $rc -eq 3 ] && ! printf '%s' "$pt" | grep -q 'error while linting'; }; then
		ok "promtool accepts the same text"
	else
		fail "promtool refuses what we accept: $pt"
	fi
else
	echo "note: promtool not installed, comparison skipped"
fi

# a broken copy is refused with the line it breaks
n=$(awk '/^[a-z].*\{/ { print NR; exit }' "$body")
sed "${n}s/{/{=/" "$body" >"$TEST_TMP/broken"
out=$("$CHECK" text "$TEST_TMP/broken" 2>&1) && fail "a broken line $n accepted"
expect_match "a broken line is named" "line $n, column [0-9]+: expected a label name or '\\}', found '='" "$out"
head -c 200 "$body" | tr -d '\n' >"$TEST_TMP/noeol"
out=$("$CHECK" text "$TEST_TMP/noeol" 2>&1) && fail "data without a line feed accepted"
expect_match "data without a line feed refused" "expected a line feed at the end" "$out"

# as OpenMetrics: a text counter is named with its _total, which OpenMetrics
# puts in the sample's name and not the family's
{ cat "$body"; echo "# EOF"; } >"$TEST_TMP/om"
out=$("$CHECK" openmetrics "$TEST_TMP/om" 2>&1) && fail "text counters accepted as OpenMetrics"
expect_match "as OpenMetrics, a counter family named _total is refused" \
	'line [0-9]+, column 1: a sample of counter "[a-z_]+_total" must be named with the suffix _total or _created' "$out"
finish
