#!/bin/sh
# check-layers.sh - hold every #include of the tree to tools/layers.txt.
#
#   tools/check-layers.sh [TOP]
#
# For each C file outside tests/, each #include "..." is found as the
# compiler finds it (beside the file, then under src/, then under TOP) and
# must be a header of the file's own folder, or a public header of a
# folder the file's folder uses; NAME.pb-c.h, which protoc-c writes into
# the build tree, stands where NAME.proto is. A C file in a folder that
# layers.txt does not name is an error too: a new folder is given its
# floor before it holds code. Prints one line per offence and exits 1 if
# there was any.
set -eu

top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
rules="$top/tools/layers.txt"
cd "$top"

files=$(find src engine fs tools -name '*.[ch]' | LC_ALL=C sort)
# shellcheck disable=SC2086
awk -v rules="$rules" '
function exists(p,	line, r) {
	if (p in seen)
		return seen[p]
	r = (getline line < p) >= 0
	if (r)
		close(p)
	return seen[p] = r
}
function dir(p) { sub(/\/[^\/]*$/, "", p); return p }
# a header protoc-c makes in the build tree from a .proto in this one
function generated(from, inc,	p) {
	if (inc !~ /\.pb-c\.h$/)
		return ""
	p = inc
	sub(/\.pb-c\.h$/, ".proto", p)
	if (exists(from "/" p))
		return from "/" inc
	if (exists("src/" p))
		return "src/" inc
	return ""
}
function base(p) { sub(/.*\//, "", p); return p }
BEGIN {
	while ((getline line < rules) > 0) {
		if (line ~ /^[ \t]*(#|$)/)
			continue
		n = split(line, w, /[ \t]+/)
		if (w[2] == "uses:") {
			known[w[1]] = 1
			for (i = 3; i <= n; i++)
				if (w[i] != "-")
					uses[w[1], w[i]] = 1
		} else if (w[2] == "public:") {
			for (i = 3; i <= n; i++)
				if (w[i] != "-")
					public[w[1], w[i]] = 1
		} else {
			printf "%s: cannot read: %s\n", rules, line
			bad = 1
		}
	}
}
FNR == 1 {
	from = dir(FILENAME)
	if (!(from in known)) {
		printf "%s: folder %s has no floor in tools/layers.txt\n", FILENAME, from
		bad = 1
	}
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
	inc = $0
	sub(/^[^"]*"/, "", inc)
	sub(/".*$/, "", inc)
	if (inc == "config.h")
		next
	if (exists(from "/" inc))
		path = from "/" inc
	else if (exists("src/" inc))
		path = "src/" inc
	else if (exists(inc))
		path = inc
	else if (generated(from, inc))
		path = generated(from, inc)
	else {
		printf "%s:%d: include \"%s\" is not in the tree\n", FILENAME, FNR, inc
		bad = 1
		next
	}
	to = dir(path)
	if (to == from)
		next
	if (!((from, to) in uses)) {
		printf "%s:%d: %s may not include %s (%s does not use %s)\n", \
		    FILENAME, FNR, from, path, from, to
		bad = 1
	} else if (!((to, "*") in public) && !((to, base(path)) in public)) {
		printf "%s:%d: %s is private to %s\n", FILENAME, FNR, path, to
		bad = 1
	}
}
END { exit bad }
' $files
