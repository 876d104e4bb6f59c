#!/bin/bash
# bench-store.sh - object store throughput: 'shale store bench' side by side
# with curl and the AWS CLI, on the same Ceph RGW, in one run.
#
#   tools/bench/bench-store.sh [SHALE]    SHALE defaults to build/shale
#
# Uses the RGW named by SHALE_TEST_S3_ENDPOINT (and _ACCESS_KEY, _SECRET_KEY)
# or starts a throwaway one (tests/lib/rgw.sh) and stops it at the end.
# Workloads: 1000 x 4 KiB puts and gets with 8 in parallel; 8 x 64 MiB puts
# and gets one at a time. curl runs as one process with --parallel (its own
# SigV4 signs these simple requests right); aws is /usr/bin/aws s3 cp.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
SHALE=${1:-$top/build/shale}
N=${BENCH_COUNT:-1000}
BIG=${BENCH_BIG:-8}
tmp=$(mktemp -d)
started=""
cleanup() {
	[ -n "$started" ] && "$top/tests/lib/rgw.sh" stop "$tmp/rgw"
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "${SHALE_TEST_S3_ENDPOINT:-}" ]; then
	"$top/tests/lib/rgw.sh" start "$tmp/rgw" >/dev/null
	started=1
	. "$tmp/rgw/env"
fi
export AWS_ACCESS_KEY_ID=$SHALE_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SHALE_TEST_S3_SECRET_KEY
export AWS_ENDPOINT_URL=$SHALE_TEST_S3_ENDPOINT AWS_REGION=us-east-1 AWS_PAGER=
EP=$SHALE_TEST_S3_ENDPOINT
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
UNSIGNED=(-H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
B=bench-$$
curl -sf -X PUT "${SIG[@]}" "${UNSIGNED[@]}" "$EP/$B" >/dev/null

now() { date +%s%N; }
rate() {	# NAME START END COUNT BYTES
	awk -v n="$1" -v s="$2" -v e="$3" -v c="$4" -v b="$5" 'BEGIN {
		t = (e - s) / 1e9
		printf "%-34s %8.3f s  %9.1f obj/s  %8.1f MB/s\n", n, t, c / t, c * b / t / 1e6 }'
}

echo "== shale store bench (parallel 8, then 1)"
"$SHALE" store bench --size 4k --count "$N" --parallel 8 "s3://$B/shale-small/"
"$SHALE" store bench --size 64m --count "$BIG" --parallel 1 "s3://$B/shale-big/"

echo "== curl $(curl --version | head -1 | cut -d' ' -f2), one process, --parallel-max 8"
head -c 4096 /dev/urandom >"$tmp/small"
: >"$tmp/put.cfg"
: >"$tmp/get.cfg"
for i in $(seq 1 "$N"); do
	printf 'upload-file = "%s"\nurl = "%s/%s/curl-small/%08d"\n' "$tmp/small" "$EP" "$B" "$i" >>"$tmp/put.cfg"
	printf 'output = "/dev/null"\nurl = "%s/%s/curl-small/%08d"\n' "$EP" "$B" "$i" >>"$tmp/get.cfg"
done
s=$(now); curl -sf --no-progress-meter --parallel --parallel-max 8 "${SIG[@]}" "${UNSIGNED[@]}" -K "$tmp/put.cfg"; e=$(now)
rate "put 4 KiB x $N" "$s" "$e" "$N" 4096
s=$(now); curl -sf --no-progress-meter --parallel --parallel-max 8 "${SIG[@]}" "${UNSIGNED[@]}" -K "$tmp/get.cfg"; e=$(now)
rate "get 4 KiB x $N" "$s" "$e" "$N" 4096
head -c $((64 << 20)) /dev/urandom >"$tmp/big"
s=$(now)
for i in $(seq 1 "$BIG"); do curl -sf "${SIG[@]}" "${UNSIGNED[@]}" -T "$tmp/big" "$EP/$B/curl-big/$i"; done
e=$(now); rate "put 64 MiB x $BIG" "$s" "$e" "$BIG" $((64 << 20))
s=$(now)
for i in $(seq 1 "$BIG"); do curl -sf "${SIG[@]}" "${UNSIGNED[@]}" -o /dev/null "$EP/$B/curl-big/$i"; done
e=$(now); rate "get 64 MiB x $BIG" "$s" "$e" "$BIG" $((64 << 20))

if command -v aws >/dev/null; then
	echo "== aws $(aws --version 2>&1 | cut -d' ' -f1) s3 cp (its default: 10 concurrent requests)"
	mkdir -p "$tmp/many"
	for i in $(seq 1 "$N"); do cp "$tmp/small" "$tmp/many/$i"; done
	s=$(now); aws s3 cp --quiet --recursive "$tmp/many" "s3://$B/aws-small/"; e=$(now)
	rate "put 4 KiB x $N" "$s" "$e" "$N" 4096
	s=$(now); aws s3 cp --quiet --recursive "s3://$B/aws-small/" "$tmp/back"; e=$(now)
	rate "get 4 KiB x $N" "$s" "$e" "$N" 4096
	s=$(now)
	for i in $(seq 1 "$BIG"); do aws s3 cp --quiet "$tmp/big" "s3://$B/aws-big/$i"; done
	e=$(now); rate "put 64 MiB x $BIG" "$s" "$e" "$BIG" $((64 << 20))
	s=$(now)
	for i in $(seq 1 "$BIG"); do aws s3 cp --quiet "s3://$B/aws-big/$i" /dev/null; done
	e=$(now); rate "get 64 MiB x $BIG" "$s" "$e" "$BIG" $((64 << 20))
fi
"$SHALE" store rm -r "s3://$B/" >/dev/null 2>&1 || true
