# engine_faults.sh - the engine over a failing object store: with 10% of
# calls failing (503, resets and timeouts, which the retry layer retries;
# then EIO on table uploads, which the engine itself must retry), a write
# and flush loop loses nothing and the process stays up; with the store
# gone, writers block at max_unflushed_bytes, and resume when it comes
# back, with everything durable; also when the store kept what it said
# it failed to store (commits whose answer was lost).
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
out=$("$drv" faulty "fault:rate=0.1,seed=5,errors=503+reset+timeout:file://$TEST_TMP/faulty" 2000 2>&1)
rc=$?
echo "$out" | grep -v 'retrying)$' | tail -3
expect_eq "2000 batches through 10% retried faults, all there" 0 "$rc"
out=$("$drv" faulty "fault:rate=0.3,seed=6,errors=eio,ops=put:file://$TEST_TMP/faulty-eio" 2000 2>&1)
rc=$?
echo "$out" | grep -v 'retrying)$' | tail -3
expect_eq "2000 batches through 30% failed table uploads, all there" 0 "$rc"

out=$("$drv" outage "fault:rate=1,errors=eio,while=$TEST_TMP/down:file://$TEST_TMP/outage" "$TEST_TMP/down" 2>&1)
rc=$?
echo "$out" | grep -v 'retrying)$' | tail -5
expect_eq "writers block during an outage and resume after it" 0 "$rc"
# the same where every put lands though the store answers with an error:
# commits whose answer was lost are found again, not made twice
out=$("$drv" outage "fault:rate=1,errors=eio,when=after,while=$TEST_TMP/down2:file://$TEST_TMP/outage2" "$TEST_TMP/down2" 2>&1)
rc=$?
echo "$out" | grep -v 'retrying)$' | tail -5
expect_eq "... also when the store stored what it said it did not" 0 "$rc"
finish
