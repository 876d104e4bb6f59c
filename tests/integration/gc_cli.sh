# gc_cli.sh - 'shale gc' from the shell, on a file:// store and on RGW.
# A store the engine wrote twice (old manifests, WAL objects below the
# replay point), a stray table and an object gc does not know: with the
# default min_ages nothing is old enough; with them at 0 (from a settings
# file, the default settings file or SHALE_* variables) --dry-run lists the
# garbage and changes nothing, the real run deletes exactly what the dry run
# listed, the current manifest and its tables stay, the store reads back
# whole and a writer opens it again, and a second run deletes nothing. On
# file:// also: gc running in a loop beside a writer loses none of its
# records; a latest manifest that cannot be read makes gc exit 1 and delete
# nothing; usage errors exit 2.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
zero="garbage_collector_options:
  manifest_options: { min_age: 0s }
  wal_options: { min_age: 0s }
  compacted_options: { min_age: 0s }"
printf '%s\n' "$zero" >"$TEST_TMP/zero.yaml"
export XDG_CONFIG_HOME="$TEST_TMP/xdg"	# no settings file of the user's
mkdir -p "$XDG_CONFIG_HOME"

# keys KEY-LIST: the keys of 'delete KEY SIZE WHY' lines
keys() {
	sed -n 's/^\(would \)*delete \([^ ]*\) [0-9]* .*/\2/p'
}

collect() {	# NAME STORE
	local name=$1 st=$2 before dry real after gone latest scanned out rc
	"$drv" fill "$st" 3000 >/dev/null && "$drv" fill "$st" 500 >/dev/null ||
		{ fail "$name: fill"; return; }
	echo stray >"$TEST_TMP/stray"
	"$SHALE" store put "$st#compacted/stray.sst" "$TEST_TMP/stray" &&
		"$SHALE" store put "$st#notes/readme" "$TEST_TMP/stray" ||
		{ fail "$name: put"; return; }
	scanned=$("$drv" scan "$st")
	before=$("$SHALE" store ls "$st#")

	out=$("$SHALE" gc "$st")
	expect_eq "$name: with the default min_ages gc succeeds" 0 $?
	expect_match "$name: and deletes nothing" \
		'^deleted 0 manifests, 0 WAL objects, 0 tables, 0 bytes; kept [1-9][0-9]* too young; 0 errors$' "$out"
	expect_eq "$name: the store is as it was" "$before" "$("$SHALE" store ls "$st#")"

	dry=$("$SHALE" gc --dry-run --config "$TEST_TMP/zero.yaml" "$st")
	expect_eq "$name: --dry-run succeeds" 0 $?
	expect_eq "$name: --dry-run deletes nothing" "$before" "$("$SHALE" store ls "$st#")"
	expect_match "$name: --dry-run lists the stray table" \
		"^would delete compacted/stray.sst 6 in no live manifest$" "$dry"
	expect_match "$name: --dry-run lists WAL objects below the replay point" \
		'^would delete wal/[0-9]{20}\.wal [0-9]+ below replay point [0-9]+$' "$dry"
	expect_match "$name: --dry-run lists old manifests" \
		'^would delete manifest/00000000000000000001 [0-9]+ superseded by manifest 2$' "$dry"
	expect_match "$name: --dry-run sums up" \
		'^would delete [1-9][0-9]* manifests, [1-9][0-9]* WAL objects, [1-9][0-9]* tables, [0-9]+ bytes; kept 0 too young; 0 errors$' "$dry"

	# the default settings file, as 'shale mount' reads it
	mkdir -p "$XDG_CONFIG_HOME/shale"
	cp "$TEST_TMP/zero.yaml" "$XDG_CONFIG_HOME/shale/shale.yaml"
	real=$("$SHALE" gc "$st")
	expect_eq "$name: gc succeeds" 0 $?
	rm "$XDG_CONFIG_HOME/shale/shale.yaml"
	expect_eq "$name: gc deletes what --dry-run listed" \
		"$(printf '%s\n' "$dry" | grep '^would delete [^ ]*/' | sed 's/^would //')" \
		"$(printf '%s\n' "$real" | grep '^delete ')"
	after=$("$SHALE" store ls "$st#")
	gone=$(comm -23 <(printf '%s\n' "$before" | sort) <(printf '%s\n' "$after" | sort))
	expect_eq "$name: exactly those objects are gone" \
		"$(printf '%s\n' "$real" | keys | sort)" "$gone"
	latest=$("$SHALE" inspect "$st" | sed -n 's/^manifest: *//p')
	expect_match "$name: the current manifest stays" \
		"^manifest/$(printf '%020d' "$latest")$" "$after"
	expect_eq "$name: only the current manifest stays" 1 \
		"$(printf '%s\n' "$after" | grep -c '^manifest/')"
	expect_match "$name: the unknown object stays" '^notes/readme$' "$after"
	out=$("$SHALE" inspect "$st" check)
	expect_eq "$name: every table and WAL object left reads back whole" 0 $?
	expect_eq "$name: every record reads back" "$scanned" "$("$drv" scan "$st")"

	out=$(SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE=0s \
		SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=0s \
		SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=0s \
		"$SHALE" gc "$st")
	expect_eq "$name: a second run succeeds" 0 $?
	expect_eq "$name: and deletes nothing" \
		"deleted 0 manifests, 0 WAL objects, 0 tables, 0 bytes; kept 0 too young; 0 errors" "$out"
	"$drv" fill "$st" 100 >/dev/null
	expect_eq "$name: a writer opens the store again" 0 $?
	expect_eq "$name: and it reads back" "$scanned" "$("$drv" scan "$st")"
}

collect file "file://$TEST_TMP/st"

# beside a writer: tables get 2 s to be committed, the rest goes at once
st="file://$TEST_TMP/busy"
"$drv" fill "$st" 10 >/dev/null || fail "busy: first fill"
"$drv" fill "$st" 12000 >"$TEST_TMP/fill.out" &
fill=$!
runs=0 deleted=0
while ! pid_gone "$fill"; do
	out=$(SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE=0s \
		SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=0s \
		SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=2s \
		"$SHALE" gc "$st") || fail "busy: gc failed: $out"
	runs=$((runs + 1))
	deleted=$((deleted + $(printf '%s\n' "$out" | grep -c '^delete ')))
done
wait "$fill"
expect_eq "busy: the writer wrote everything" 0 $?
echo "busy: $runs runs deleted $deleted objects"
[ "$runs" -ge 2 ] && [ "$deleted" -gt 0 ] && ok "busy: gc ran and deleted while the writer wrote" ||
	fail "busy: $runs runs deleted $deleted objects"
expect_eq "busy: every record reads back" "12000 records read" "$("$drv" scan "$st")"
"$SHALE" inspect "$st" check >/dev/null
expect_eq "busy: every table and WAL object left reads back whole" 0 $?

# a latest manifest that cannot be read: exit 1, nothing deleted
st="file://$TEST_TMP/bad"
"$drv" fill "$st" 10 >/dev/null && "$drv" fill "$st" 10 >/dev/null || fail "bad: fill"
"$SHALE" store put "$st#compacted/stray.sst" "$TEST_TMP/stray" || fail "bad: put"
echo '{"format":' | "$SHALE" store put "$st#manifest/00000000000000000099" - || fail "bad: put"
before=$("$SHALE" store ls "$st#")
out=$("$SHALE" gc --config "$TEST_TMP/zero.yaml" "$st" 2>"$TEST_TMP/err")
expect_eq "bad manifest: exit 1" 1 $?
expect_match "bad manifest: says which" "manifest 99.*not valid JSON" "$(cat "$TEST_TMP/err")"
expect_eq "bad manifest: one line of error" 1 "$(wc -l <"$TEST_TMP/err")"
expect_match "bad manifest: counts it" '^deleted 0 manifests, 0 WAL objects, 0 tables, 0 bytes; kept 0 too young; 1 errors$' "$out"
expect_eq "bad manifest: nothing deleted" "$before" "$("$SHALE" store ls "$st#")"
"$SHALE" store rm "$st#manifest/00000000000000000099" || fail "bad: rm"
out=$("$SHALE" gc --config "$TEST_TMP/zero.yaml" "$st")
expect_eq "bad manifest gone: gc succeeds" 0 $?
expect_match "bad manifest gone: the stray table goes" '^delete compacted/stray.sst ' "$out"

# usage and settings errors
"$SHALE" gc >/dev/null 2>&1
expect_eq "no store: exit 2" 2 $?
"$SHALE" gc "$st" "$st" >/dev/null 2>&1
expect_eq "two stores: exit 2" 2 $?
"$SHALE" gc --frob "$st" >/dev/null 2>&1
expect_eq "unknown option: exit 2" 2 $?
"$SHALE" gc --help >/dev/null 2>&1
expect_eq "--help: exit 0" 0 $?
printf 'garbage_collector_options:\n  wal_options: { min_age: 5 parsecs }\n' >"$TEST_TMP/bad.yaml"
out=$("$SHALE" gc --config "$TEST_TMP/bad.yaml" "$st" 2>&1)
expect_eq "bad settings: exit 1" 1 $?
expect_match "bad settings: names the file and key" "bad.yaml:2: garbage_collector_options.wal_options.min_age" "$out"
out=$(SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=-1 "$SHALE" gc "$st" 2>&1)
expect_eq "bad variable: exit 1" 1 $?
expect_match "bad variable: names it" "SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE" "$out"

# the same on RGW
if [ -n "${SHALE_TEST_RGW_MISSING:-}" ]; then
	echo "rgw: skipped ($SHALE_TEST_RGW_MISSING)"
else
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	collect rgw "s3://$b/gc"
fi
finish
