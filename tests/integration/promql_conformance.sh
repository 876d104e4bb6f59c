# promql_conformance.sh - Prometheus's own PromQL test scripts
# (promql_conformance.c): the files of the float-only PromQL that shale
# reads (selectors, literals, staleness, collision, name_label_dropping,
# range_queries, aggregators, operators, functions, histograms,
# trig_functions) and subquery and at_modifier, from
# ../shared/conformance/promql beside the source tree (or
# $SHALE_PROMQL_CONFORMANCE_DIR), loaded into file:// stores and
# evaluated in one process, each instant eval also in the variants
# Prometheus's runner asks (as a range around its time, and with every
# selector pinned @ its time, asked at other times). The share of evals
# passed, as written and with the variants, must stay at or above the
# floor below (SHALE_PROMQL_CONFORMANCE_FLOOR overrides it),
# and the evals in scope must not fall below INSCOPE (a skip rule that
# grew would hide failures), so that a regression fails; the log lists
# each failing eval and the most common causes. Skips when the scripts
# are not there.
. "$top_srcdir/tests/lib/common.sh"

FLOOR=${SHALE_PROMQL_CONFORMANCE_FLOOR:-100}
INSCOPE=900
FILES="selectors literals staleness collision name_label_dropping
range_queries aggregators operators functions histograms trig_functions
subquery at_modifier"

dir=${SHALE_PROMQL_CONFORMANCE_DIR:-}
if [ -z "$dir" ]; then
	dir="$top_srcdir/../shared/conformance/promql"
	# a git worktree elsewhere: beside the main checkout
	if [ ! -d "$dir" ] && common=$(git -C "$top_srcdir" rev-parse \
	    --path-format=absolute --git-common-dir 2>/dev/null); then
		dir="$(dirname "$common")/../shared/conformance/promql"
	fi
fi
[ -d "$dir" ] || skip "no PromQL test scripts in $dir"
set --
for f in $FILES; do
	[ -f "$dir/$f.test" ] || skip "$dir/$f.test missing"
	set -- "$@" "$dir/$f.test"
done

mkdir -p "$TEST_TMP/stores"
"$top_builddir/tests/integration/promql_conformance" -v --causes 20 \
	--variants --tmp "$TEST_TMP/stores" --min-percent "$FLOOR" \
	--min-variants-percent "$FLOOR" "$@" >"$TEST_TMP/out" 2>&1
rc=$?
cat "$TEST_TMP/out"
echo "----"
grep -E '^[A-Za-z0-9_.-]+\.test: |^total:' "$TEST_TMP/out"
total=$(grep '^total:' "$TEST_TMP/out")
expect_match "a total line" '^total: [0-9]+/[0-9]+ evals' "$total"
inscope=$(echo "$total" | sed -n 's|^total: [0-9]*/\([0-9]*\) evals.*|\1|p')
if [ "${inscope:-0}" -ge "$INSCOPE" ]; then
	ok "$inscope evals in scope"
else
	fail "${inscope:-no} evals in scope, fewer than $INSCOPE"
fi
expect_match "a total with the variants" '^total with variants: [0-9]+/' \
	"$(grep '^total with variants:' "$TEST_TMP/out")"
expect_eq "at least $FLOOR% of the evals pass, with their variants too" 0 "$rc"
left=$(find "$TEST_TMP/stores" -mindepth 1 | head -1)
expect_eq "every store removed" "" "$left"
finish
