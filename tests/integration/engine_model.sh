# engine_model.sh - the engine against an in-memory model: thousands of
# random batches, gets, forward and reverse scans, seeks and floor lookups,
# snapshots and reopens, with L0 tables written throughout; on file:// and
# on RGW.
. "$top_srcdir/tests/lib/common.sh"

run() {
	out=$("$top_builddir/tests/integration/engine_model" "$@" 2>&1)
	rc=$?
	echo "$out" | tail -5
	expect_eq "model agrees: $1 seed $2" 0 "$rc"
}
for seed in 1 2 3; do
	run "file://$TEST_TMP/f$seed" "$seed" 12000
done
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	run "s3://$b/model" 7 1500
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
finish
