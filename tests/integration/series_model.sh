# series_model.sh - metric series against an in-memory model
# (series_model.c): random samples into 240 series, with duplicates,
# conflicts and out-of-order samples mixed in, across reopens as writer,
# compactions, series_flush_heads, readers opened on the same store and
# one that follows the writer from the start,
# every other round from 4 appending threads with a reading one beside;
# every series' samples (series_scan, whole and windows), its text view
# (series_read at random offsets, st_size) and the dictionary (select,
# label names and values) checked after each round. Two seeds on file://,
# one on RGW. SHALE_SERIES_MODEL_ROUNDS (default 25 on file://, 15 on
# RGW; 12 and 8 in a sanitizer build) makes longer runs: 40 commits,
# about 2,500 samples, a round.
. "$top_srcdir/tests/lib/common.sh"

run() {	# URI SEED ROUNDS
	out=$("$top_builddir/tests/integration/series_model" "$@" 2>&1)
	rc=$?
	echo "$out" | grep -v '^round' | tail -8
	echo "$out" | grep '^round' | tail -1
	expect_eq "model agrees: $1 seed $2, $3 rounds" 0 "$rc"
}
if [ "${SHALE_TEST_SANITIZED:-0}" = 1 ]; then
	file_rounds=12 rgw_rounds=8
else
	file_rounds=25 rgw_rounds=15
fi
rounds=${SHALE_SERIES_MODEL_ROUNDS:-$file_rounds}
# the runs side by side, each on its own store; the file:// ones in
# memory ($TEST_SHM): the model checks the series, not the disk
for seed in 1 2; do
	part "f$seed" run "file://$TEST_SHM/f$seed" "$seed" "$rounds"
done
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	part rgw run "s3://$b/model" 7 "${SHALE_SERIES_MODEL_ROUNDS:-$rgw_rounds}"
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
parts_wait
finish
