# block_cache.sh - the engine's block cache, through engine_driver scanstat
# (a reader that scans every record twice and counts the store's GETs):
# with the tables' blocks within block_cache_bytes the second scan makes no
# GET and the cache answers; with block_cache_bytes 0 the second scan makes
# as many GETs as the first; with a budget far smaller than the tables,
# some. Both scans read every record. On file:// and RGW.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
# no manifest poll of the reader between the scans
export SHALE_MANIFEST_POLL_INTERVAL=1h

gets() {	# SCAN: the GETs of scan SCAN in $out
	printf '%s\n' "$out" | sed -n "s/^scan $1: [0-9]* records, .*, \([0-9]*\) gets\$/\1/p"
}

# scan BUDGET LABEL: engine_driver scanstat with that block_cache_bytes, into
# $out; both scans must read every record
scan() {
	out=$(SHALE_BLOCK_CACHE_BYTES=$1 "$drv" scanstat "$st" 2>&1)
	expect_eq "$2: scanstat succeeds" 0 $?
	echo "$out"
	expect_eq "$2: both scans read every record" 2 \
		"$(printf '%s\n' "$out" | grep -c '^scan [12]: 3000 records, ')"
}

run() {	# STORE LABEL
	local st=$1 label=$2 out g1 g2
	"$drv" fill "$st" 3000 >/dev/null || { fail "$label: fill"; return; }

	scan 16MiB "$label, 16 MiB cache"
	g1=$(gets 1)
	[ -n "$g1" ] && [ "$g1" -gt 0 ] && ok "$label: the first scan makes GETs ($g1)" ||
		fail "$label: the first scan made '$g1' GETs"
	expect_eq "$label: the second scan makes no GET" 0 "$(gets 2)"
	expect_match "$label: the cache answers" "block cache: [1-9][0-9]* hits" "$out"

	scan 0 "$label, no cache"
	g1=$(gets 1)
	g2=$(gets 2)
	[ -n "$g2" ] && [ "$g2" -gt 0 ] && [ "$g2" = "$g1" ] &&
		ok "$label: without a cache the second scan makes as many GETs ($g2)" ||
		fail "$label: without a cache the scans made '$g1' and '$g2' GETs"

	scan 256KiB "$label, 256 KiB cache"
	g2=$(gets 2)
	[ -n "$g2" ] && [ "$g2" -gt 0 ] &&
		ok "$label: with a cache smaller than the tables the second scan makes GETs ($g2)" ||
		fail "$label: with a small cache the second scan made '$g2' GETs"
}

run "file://$TEST_TMP/store" file
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	run "s3://$b/block-cache" rgw
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
finish
