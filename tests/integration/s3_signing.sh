# s3_signing.sh - SigV4 as RGW checks it: keys with spaces, '+', '%',
# unicode, '/', and other reserved characters through 'shale store'; list
# queries with several parameters (prefix, start-after, max-keys,
# encoding-type); a wrong secret gives a clear "SignatureDoesNotMatch"; a
# missing bucket says so.
. "$top_srcdir/tests/lib/common.sh"
need_rgw

b=$(new_bucket) || { fail "create bucket"; finish; }
keys=("a b" "a+b" "100%" "%2F" "ünïcödé/日本" "dir/sub/leaf" "x//y" "~tilde" "q?a=1&b=2" "semi;colon=eq" "brackets[]{}" "   ")
for k in "${keys[@]}"; do
	printf '%s' "$k" | "$SHALE" store put "s3://$b#$k" - || fail "put '$k'"
	expect_eq "round trip of key '$k'" "$k" "$("$SHALE" store get "s3://$b#$k")"
done
listed=$("$SHALE" store ls "s3://$b/")
expected=$(printf '%s\n' "${keys[@]}" | LC_ALL=C sort)
expect_eq "every key listed once, in byte order" "$expected" "$listed"
# small pages: prefix + start-after + max-keys + encoding-type in one query
expect_eq "paged listing equals the whole" "$expected" "$("$SHALE" store ls --page 2 "s3://$b/")"
expect_eq "prefix with a space" "a b" "$("$SHALE" store ls "s3://$b/a ")"
expect_eq "prefix with unicode" "ünïcödé/日本" "$("$SHALE" store ls "s3://$b/ün")"

err=$(AWS_SECRET_ACCESS_KEY=wrong "$SHALE" store get "s3://$b/a b" 2>&1 >/dev/null)
expect_eq "wrong secret: exit status" 1 "$(AWS_SECRET_ACCESS_KEY=wrong "$SHALE" store get "s3://$b/a b" >/dev/null 2>&1; echo $?)"
expect_match "wrong secret: clear message" "HTTP 403 SignatureDoesNotMatch" "$err"
expect_match "wrong secret: request id" "request id" "$err"
err=$(AWS_ACCESS_KEY_ID=nosuchkey "$SHALE" store ls "s3://$b/" 2>&1 >/dev/null)
expect_match "unknown access key" "HTTP 403 InvalidAccessKeyId" "$err"
err=$("$SHALE" store ls "s3://no-such-bucket-$$/" 2>&1 >/dev/null)
expect_match "missing bucket" "NoSuchBucket" "$err"
err=$("$SHALE" store put "s3://no-such-bucket-$$/k" /etc/hostname 2>&1 >/dev/null)
expect_match "put to a missing bucket" "NoSuchBucket" "$err"
# virtual-host addressing cannot resolve bucket.127.0.0.1: a clear error, not a hang
err=$("$SHALE" store --virtual-host --no-retry ls "s3://$b/" 2>&1 >/dev/null)
expect_match "virtual-host against an IP endpoint fails clearly" "s3://$b" "$err"
finish
