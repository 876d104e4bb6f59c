# cache.sh - the disk cache (object_store_cache_options.root_folder) under
# the engine, on file:// and on RGW: a store of tables that span many
# 64 KiB pages is scanned twice in one process and again after a restart;
# the store's GET count (objstore_requests_total) shows the first scan
# fetching tables and the second, and both scans after the restart, making
# no GET; with every table taken out of the store the restarted reader
# still opens and reads everything (no table byte came from the store); a
# page file with a flipped byte is found, fetched again, and the scan reads
# the same records; tables written by a cached writer (fill on put) are
# read without a GET; a 2 MiB bound holds.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
# tables of up to 1 MiB; the reader polls no manifest while it scans
export SHALE_COMPACTOR_OPTIONS_MAX_SST_SIZE=1MiB SHALE_L0_SST_SIZE_BYTES=512KiB
export SHALE_MANIFEST_POLL_INTERVAL=1h
# the disk cache alone: no block cache above it to answer a second scan
export SHALE_BLOCK_CACHE_BYTES=0
unset SHALE_OBJECT_STORE_CACHE_OPTIONS_ROOT_FOLDER || true

# field OUT WHAT: from scanstat's output, "open" gets, "scan1"/"scan2"
# gets, "crc", "records", "errors" (the disk cache's)
field() {
	case $2 in
	open)	echo "$1" | sed -n 's/^open: \([0-9]*\) gets$/\1/p' ;;
	scan1)	echo "$1" | sed -n 's/^scan 1: .*, \([0-9]*\) gets$/\1/p' ;;
	scan2)	echo "$1" | sed -n 's/^scan 2: .*, \([0-9]*\) gets$/\1/p' ;;
	crc)	echo "$1" | sed -n 's/^scan 2: .* crc \([0-9a-f]*\),.*/\1/p' ;;
	records) echo "$1" | sed -n 's/^scan 2: \([0-9]*\) records.*/\1/p' ;;
	errors)	echo "$1" | sed -n 's/^disk cache: .* \([0-9]*\) errors.*/\1/p' ;;
	esac
}

# scanstat LABEL STORE [CACHE]: run it, with the cache in CACHE if given;
# its output in $out
scanstat() {
	local rc
	if [ -n "${3:-}" ]; then
		out=$(SHALE_OBJECT_STORE_CACHE_OPTIONS_ROOT_FOLDER=$3 "$drv" scanstat "$2" 2>&1)
	else
		out=$("$drv" scanstat "$2" 2>&1)
	fi
	rc=$?
	echo "$out" | sed "s/^/$1: /"
	[ $rc -eq 0 ] || fail "$1: scanstat exit $rc"
}

run() {	# STORE LABEL
	local st=$1 label=$2 cache="$TEST_TMP/cache-$2" aside="$TEST_TMP/aside-$2"
	local crc open1 k n page
	"$drv" fillrand "$st" 6000 >/dev/null || { fail "$label: fill"; return; }

	scanstat "$label, no cache" "$st"
	crc=$(field "$out" crc)
	expect_eq "$label: the store holds every record" 6000 "$(field "$out" records)"
	[ "$(field "$out" scan2)" -gt 0 ] && ok "$label: without a cache every scan GETs tables" ||
		fail "$label: no GETs without a cache"

	scanstat "$label, cold cache" "$st" "$cache"
	open1=$(field "$out" open)
	[ "$(field "$out" scan1)" -gt 0 ] && ok "$label: the first scan fetches pages" ||
		fail "$label: the first scan made no GET"
	expect_eq "$label: the second scan makes no GET" 0 "$(field "$out" scan2)"
	expect_eq "$label: and reads the same" "$crc" "$(field "$out" crc)"

	scanstat "$label, restarted" "$st" "$cache"
	expect_eq "$label: after a restart, the first scan makes no GET" 0 "$(field "$out" scan1)"
	expect_eq "$label: nor the second" 0 "$(field "$out" scan2)"
	expect_eq "$label: and they read the same" "$crc" "$(field "$out" crc)"
	[ "$(field "$out" open)" -lt "$open1" ] && ok "$label: opening the tables makes fewer GETs" ||
		fail "$label: opening made $(field "$out" open) GETs, the first time $open1"

	# without a single table in the store, all comes from the cache
	mkdir -p "$aside"
	"$SHALE" store ls "$st#compacted/" >"$aside.list" || fail "$label: ls"
	n=0
	while read -r k; do
		"$SHALE" store get "$st#$k" "$aside/${k#compacted/}" || fail "$label: get $k"
		n=$((n + 1))
	done <"$aside.list"
	"$SHALE" store rm -r "$st#compacted/" || fail "$label: rm"
	expect_eq "$label: the store has no table left" "" "$("$SHALE" store ls "$st#compacted/")"
	scanstat "$label, no tables in the store" "$st" "$cache"
	expect_eq "$label: without its $n tables the store reads the same from the cache" \
		"$crc" "$(field "$out" crc)"
	expect_eq "$label: and scans with no GET" "0 0" "$(field "$out" scan1) $(field "$out" scan2)"
	while read -r k; do
		"$SHALE" store put "$st#$k" "$aside/${k#compacted/}" || fail "$label: put $k back"
	done <"$aside.list"

	# a damaged page is found and fetched again
	page=$(find "$cache/objects" -type f -name '0000000[1-9]' | sort | head -n 1)
	[ -n "$page" ] || { fail "$label: no page file"; return; }
	printf '\377' | dd of="$page" bs=1 seek=1000 conv=notrunc status=none
	scanstat "$label, a damaged page" "$st" "$cache"
	expect_eq "$label: the damaged page is counted" 1 "$(field "$out" errors)"
	expect_eq "$label: and the scan reads the same" "$crc" "$(field "$out" crc)"
	scanstat "$label, page fetched again" "$st" "$cache"
	expect_eq "$label: the page is whole again" "0 0 0" \
		"$(field "$out" errors) $(field "$out" scan1) $(field "$out" scan2)"

	# a writer with the cache keeps the tables it writes
	SHALE_OBJECT_STORE_CACHE_OPTIONS_ROOT_FOLDER="$TEST_TMP/wcache-$label" \
		"$drv" fillrand "$st-w" 6000 >/dev/null || fail "$label: fill with a cache"
	scanstat "$label, written through the cache" "$st-w" "$TEST_TMP/wcache-$label"
	expect_eq "$label: tables written through the cache are read with no GET" \
		"0 0" "$(field "$out" scan1) $(field "$out" scan2)"
	expect_eq "$label: the same records" "$crc" "$(field "$out" crc)"

	# a bound of 2 MiB, below the 6 MiB the tables hold
	export SHALE_OBJECT_STORE_CACHE_OPTIONS_MAX_CACHE_SIZE_BYTES=2MiB
	scanstat "$label, 2 MiB" "$st" "$TEST_TMP/small-$label"
	unset SHALE_OBJECT_STORE_CACHE_OPTIONS_MAX_CACHE_SIZE_BYTES
	expect_eq "$label: a small cache reads the same" "$crc" "$(field "$out" crc)"
	n=$(find "$TEST_TMP/small-$label/objects" -type f -printf '%s\n' |
		awk '{ n += $1 } END { print n + 0 }')
	[ "$n" -gt 0 ] && [ "$n" -le $((2 * 1024 * 1024)) ] &&
		ok "$label: the cache's files keep within its bound ($n bytes)" ||
		fail "$label: the cache holds $n bytes"
}

run "file://$TEST_TMP/store" file
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	run "s3://$b/cache" rgw
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
finish
