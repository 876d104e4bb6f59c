# engine_model.sh - the engine against an in-memory model: thousands of
# random batches, gets, forward and reverse scans, seeks and floor lookups,
# snapshots and reopens, with L0 tables written throughout; on file:// and
# on RGW. Seeds 1 and 3 (odd) write a table per batch, 2 a few dozen
# batches per table. On a sanitizer build (SHALE_TEST_SANITIZED=1, from
# the harness) each file:// seed makes 6000 operations instead of 12000:
# with 400 keys the store is at its full shape after a few hundred, and
# 6000 still make some 45 reopens, 15 full compactions and 180 flushes a
# seed, and (odd seeds) thousands of tables merged and collected in the
# background: every path the model drives, which is what the sanitizers
# watch; the debug build makes all 12000, for the rarer interleavings
# that only the model's checks find. The file:// stores are in memory
# ($TEST_SHM): the model checks the engine, not the disk, and a run makes
# and deletes thousands of tables. The runs, each on its own store, go
# side by side: a run keeps less than one core busy (its main thread
# and the engine's, waiting on each other and on its expiry instants).
. "$top_srcdir/tests/lib/common.sh"

run() {
	out=$("$top_builddir/tests/integration/engine_model" "$@" 2>&1)
	rc=$?
	echo "$out" | tail -5
	expect_eq "model agrees: $1 seed $2" 0 "$rc"
}
ops=12000
[ "${SHALE_TEST_SANITIZED:-0}" = 1 ] && ops=6000
echo "$ops operations on each file:// seed"
for seed in 1 2 3; do
	part "f$seed" run "file://$TEST_SHM/f$seed" "$seed" "$ops"
done
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	part rgw run "s3://$b/model" 7 1500
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
parts_wait
finish
