# engine_threads.sh - one engine, four writer threads and two reader
# threads at once: readers see each writer's keys in order and never miss
# one written before they looked; everything is there after a reopen.
. "$top_srcdir/tests/lib/common.sh"

out=$("$top_builddir/tests/integration/engine_driver" threads "file://$TEST_TMP/store" 2>&1)
rc=$?
echo "$out" | tail -5
expect_eq "concurrent writers and readers agree" 0 "$rc"
finish
