# engine_bench.sh - 'shale bench engine' runs and reports both value sizes,
# and an idle engine makes no PUTs (the figures themselves are for people:
# speed is never asserted here).
. "$top_srcdir/tests/lib/common.sh"

out=$("$SHALE" bench engine --seconds 0.5 --idle 1 "file://$TEST_TMP/b" 2>&1)
rc=$?
echo "$out"
expect_eq "bench exits 0" 0 "$rc"
expect_eq "one line per value size" 2 "$(echo "$out" | grep -c 'puts/s')"
expect_eq "an idle engine makes no PUTs" 2 "$(echo "$out" | grep -c ' 0.0 idle')"
out=$("$SHALE" bench engine --seconds 0 "file://$TEST_TMP/b" 2>&1)
expect_eq "bad --seconds is a usage error" 2 $?
finish
