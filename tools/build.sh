#!/bin/sh
# build.sh - configure and build shale out of tree, only as far as needed.
#
#   tools/build.sh DIR [CONFIGURE-OPTIONS...]
#
# Runs autoreconf when configure is missing or older than configure.ac or
# Makefile.am, configure when DIR has no Makefile or was configured with
# other options, then make (the targets in $BUILD_TARGETS, default "all").
# Quiet unless something fails.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: tools/build.sh DIR [CONFIGURE-OPTIONS...]}
shift
log="$dir.log"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
log="$dir/build.log"
: >"$log"

run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "build failed: $*; the end of $log:" >&2
		tail -30 "$log" >&2
		exit 1
	fi
}

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	run autoreconf -fi
fi
cd "$dir"
opts="$*"
if [ ! -f Makefile ] || [ "$(cat .configure-opts 2>/dev/null)" != "$opts" ] ||
	[ "$top/configure" -nt Makefile ]; then
	run "$top/configure" "$@"
	echo "$opts" >.configure-opts
fi
# one goal at a time: 'all' recurses into make, and two goals at once
# would build libshale.a twice side by side
for goal in ${BUILD_TARGETS:-all}; do
	run make -j"$(nproc)" "$goal"
done
