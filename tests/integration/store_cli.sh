# store_cli.sh - 'shale store' from the shell on a file:// store, and its
# answers to bad input: malformed and unknown URIs, a missing object, missing
# credentials, an unreachable endpoint. Every failure is one clear line on
# stderr and exit status 1 (2 for usage), never a crash.
. "$top_srcdir/tests/lib/common.sh"

st="file://$TEST_TMP/st"
printf 'hello\n' >"$TEST_TMP/in"
"$SHALE" store put "$st#greeting" "$TEST_TMP/in" || fail "put"
expect_eq "get to stdout" "hello" "$("$SHALE" store get "$st#greeting")"
printf 'from stdin' | "$SHALE" store put "$st#dir/stdin" - || fail "put from stdin"
expect_eq "get of stdin object" "from stdin" "$("$SHALE" store get "$st#dir/stdin")"
expect_eq "ranged get" "ll" "$("$SHALE" store get --offset 2 --length 2 "$st#greeting")"
expect_eq "ls" "$(printf 'dir/stdin\ngreeting')" "$("$SHALE" store ls "$st")"
expect_eq "ls with prefix" "dir/stdin" "$("$SHALE" store ls "$st#dir/")"
expect_match "ls -l shows sizes" '^ +10  [0-9TZ:-]+  dir/stdin$' "$("$SHALE" store ls -l "$st#dir/")"
expect_match "stat" 'size: 6' "$("$SHALE" store stat "$st#greeting")"
"$SHALE" store put --if-absent "$st#greeting" "$TEST_TMP/in" 2>"$TEST_TMP/err"
expect_eq "put --if-absent on an existing key exits 1" 1 $?
expect_match "and says it exists" "exists" "$(cat "$TEST_TMP/err")"
"$SHALE" store rm "$st#greeting" || fail "rm"
"$SHALE" store rm "$st#greeting" || fail "rm of a missing key succeeds"
dd if=/dev/urandom of="$TEST_TMP/big" bs=1M count=3 status=none
"$SHALE" store put "$st#big" "$TEST_TMP/big" && "$SHALE" store get "$st#big" "$TEST_TMP/big.out" &&
	cmp -s "$TEST_TMP/big" "$TEST_TMP/big.out" && ok "3 MiB round trip" || fail "3 MiB round trip"
"$SHALE" store rm -r "$st#dir/" || fail "rm -r"
expect_eq "rm -r removed the prefix" "big" "$("$SHALE" store ls "$st")"

# bad input: status and message
check_err() {	# WHAT STATUS REGEX CMD...
	local what=$1 want=$2 re=$3
	shift 3
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
	local rc=$?
	expect_eq "$what: exit status" "$want" "$rc"
	expect_match "$what: message" "$re" "$(cat "$TEST_TMP/err")"
	[ "$(wc -l <"$TEST_TMP/err")" -le 2 ] || fail "$what: more than one line of error"
}
check_err "unknown scheme" 1 "unknown scheme 'gs'" "$SHALE" store ls gs://bucket/x
check_err "not a URI" 1 "not a store URI" "$SHALE" store ls bucket/x
check_err "bad bucket" 1 "invalid bucket name" "$SHALE" store ls s3://B_ad/
check_err "empty prefix segment" 1 "empty path segment" "$SHALE" store ls "s3://bucket//x/#k"
check_err "missing object" 1 "not found" "$SHALE" store get "$st#nope"
check_err "no key" 1 "names no object" "$SHALE" store get "$st"
check_err "unknown action" 2 "unknown action" "$SHALE" store frob "$st"
check_err "unknown command" 2 "unknown command" "$SHALE" frob
check_err "bad fault option" 1 "unknown option 'bogus'" "$SHALE" store ls "fault:bogus=1:$st"
check_err "unreadable input" 1 "cannot open" "$SHALE" store put "$st#k" "$TEST_TMP/does-not-exist"
check_err "store on a file" 1 "store directory|cannot create" "$SHALE" store ls "file://$TEST_TMP/in"
(
	failures=0
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE
	export HOME="$TEST_TMP/nohome" AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/none"
	check_err "missing credentials" 1 "no S3 credentials" "$SHALE" store ls s3://bucket/
	finish
) || failures=$((failures + 1))
(
	failures=0
	export AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s
	check_err "unreachable endpoint" 1 "127.0.0.1:1.*(refused|connect)" \
		"$SHALE" store --endpoint http://127.0.0.1:1 --max-parallel 1 ls s3://bucket/
	check_err "bad endpoint" 1 "expected http" "$SHALE" store --endpoint ftp://x ls s3://bucket/
	finish
) || failures=$((failures + 1))
# credentials from a profile file
(
	failures=0
	mkdir -p "$TEST_TMP/home/.aws"
	printf '[default]\naws_access_key_id = a\n[other]\naws_access_key_id = b\naws_secret_access_key = c\n' \
		>"$TEST_TMP/home/.aws/credentials"
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE
	export HOME="$TEST_TMP/home"
	check_err "incomplete default profile" 1 "no S3 credentials.*'default'" "$SHALE" store ls s3://bucket/
	check_err "named profile is read" 1 "127.0.0.1:1" \
		"$SHALE" store --profile other --endpoint http://127.0.0.1:1 --no-retry ls s3://bucket/
	finish
) || failures=$((failures + 1))
finish
