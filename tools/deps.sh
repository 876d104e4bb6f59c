#!/bin/sh
# deps.sh - install the Debian packages shale needs, if any are missing.
#
#   tools/deps.sh build     to build shale
#   tools/deps.sh test      to build it and run the whole test suite
#
# Idempotent and quiet: it asks apt only for what is not installed yet.
set -eu

build="autoconf automake make gcc pkg-config libcurl4-openssl-dev libssl-dev
libxml2-dev libinih-dev libzstd-dev libxxhash-dev libjansson-dev libyaml-dev
libsqlite3-dev libfuse3-dev fuse3 libmicrohttpd-dev libpcre2-dev libsnappy-dev
libprotobuf-c-dev protobuf-c-compiler"
test="$build libcmocka-dev mandoc curl jq ceph-mon ceph-osd radosgw prometheus
prometheus-node-exporter attr"

# Loki push bodies (gzip, deflate)
build="$build zlib1g-dev"
test="$test zlib1g-dev"
# node and npm run pino-loki in loki_push.sh: the machine's own when it
# has them (a Node.js that bundles npm conflicts with Debian's npm), else
# Debian's
if ! { command -v node && command -v npm; } >/dev/null 2>&1; then
	test="$test nodejs npm"
fi

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: tools/deps.sh build|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends $missing >/tmp/shale-apt.log 2>&1; then
	$SUDO apt-get update -q >>/tmp/shale-apt.log 2>&1 || true
	$SUDO apt-get install -y -q --no-install-recommends $missing >>/tmp/shale-apt.log 2>&1 || {
		echo "apt-get install failed; see /tmp/shale-apt.log" >&2
		tail -5 /tmp/shale-apt.log >&2
		exit 1
	}
fi
