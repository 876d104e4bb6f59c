# engine_inspect.sh - 'shale inspect' on a store the engine wrote: the
# manifest and table views agree with the mirror's SQL, a write statement
# is refused, and deleting the mirror database then asking again rebuilds
# it from the store with identical answers.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
st="file://$TEST_TMP/store"
cache="$TEST_TMP/mycache"
"$drv" fill "$st" 3000 >/dev/null || { fail "fill"; finish; }
"$drv" fill "$st" 500 >/dev/null || { fail "second fill"; finish; }

summary=$("$SHALE" inspect --cache-dir "$cache" "$st")
echo "$summary"
l0=$(echo "$summary" | sed -n 's/^l0 tables: *//p')
id=$(echo "$summary" | sed -n 's/^manifest: *//p')
expect_eq "tables view lists every L0 table" "$l0" "$("$SHALE" inspect --cache-dir "$cache" "$st" tables | grep -c '^l0 ')"
q() { "$SHALE" inspect --cache-dir "$cache" "$st" sql "$1"; }
expect_eq "sql: the current manifest" "$(printf 'id\n%s' "$id")" "$(q 'SELECT id FROM manifest')"
expect_eq "sql: its tables" "$(printf 'n\n%s' "$l0")" "$(q "SELECT count(*) AS n FROM tables WHERE level = 'l0'")"
hist=$(q 'SELECT id, epoch, wal_replay_from, last_seq, l0_count FROM manifest_history ORDER BY id')
expect_eq "sql: every version in the history" "$id" "$(echo "$hist" | tail -n +2 | wc -l)"
expect_eq "sql: two writers' epochs" "2" "$(q 'SELECT max(epoch) FROM manifest_history' | tail -n 1)"
out=$(q 'DELETE FROM tables' 2>&1)
expect_eq "sql: a write is refused" 1 $?
expect_match "sql: and says why" "read-only|refused|not allowed" "$out"
out=$(q 'SELEKT 1' 2>&1)
expect_match "sql: a syntax error is reported" "syntax error" "$out"

before=$(q 'SELECT * FROM manifest_history ORDER BY id'; q 'SELECT * FROM tables ORDER BY level, position'; q 'SELECT id, json FROM manifest')
rm -rf "$cache"
after=$(q 'SELECT * FROM manifest_history ORDER BY id'; q 'SELECT * FROM tables ORDER BY level, position'; q 'SELECT id, json FROM manifest')
[ -n "$before" ] && [ "$before" = "$after" ] && ok "a deleted mirror is rebuilt with identical contents" ||
	fail "mirror rebuilt differently"
out=$("$SHALE" inspect "file://$TEST_TMP/empty" 2>&1)
expect_eq "an empty store: exit 1" 1 $?
expect_match "an empty store: says so" "holds no manifest" "$out"
finish
