# logs_labels.sh - user.shale.labels on a stream file (shale-mount(1)):
# setfattr then getfattr gives the labels back sorted, in PromQL
# label-set syntax, whatever spacing and quoting they were set with;
# getfattr -d lists the attribute once set and not before; a bad value
# (a regex matcher, a name twice, bad syntax) is refused with EINVAL and
# changes nothing; "{}" and removal clear; a directory takes none; a
# read-only follower mount of the same store sees the labels the writer
# set and refuses to set them (EROFS); a remount keeps them. On file://.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
command -v setfattr >/dev/null && command -v getfattr >/dev/null ||
	skip "no setfattr/getfattr (Debian package attr)"
trap cleanup_mounts EXIT

# wait_for WHAT SECONDS COMMAND...: until the command succeeds
wait_for() {
	local what=$1 limit=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt $((limit * 10)) ]; then
			fail "$what: not within $limit s"
			return 1
		fi
		sleep 0.1
	done
	ok "$what"
}

labels() {	# FILE: the value of user.shale.labels, or nothing
	getfattr --only-values -n user.shale.labels "$1" 2>/dev/null
}

has_labels() {	# FILE TEXT
	[ "$(labels "$1")" = "$2" ]
}

store="file://$TEST_TMP/store"
w="$TEST_TMP/w"
r="$TEST_TMP/r"
mount_shale "$store" "$w" || { fail "mount"; finish; }
mkdir -p "$w/logs/app" || fail "mkdir"
f="$w/logs/app/s"
echo "a line" >"$f" || fail "create a stream"

expect_eq "no labels at first" "" "$(labels "$f")"
expect_eq "none listed" "" "$(getfattr -d -m - "$f" 2>/dev/null)"
setfattr -n user.shale.labels -v '{env = "prod",app="api" }' "$f" ||
	fail "setfattr"
expect_eq "read back sorted" '{app="api", env="prod"}' "$(labels "$f")"
expect_match "listed once set" 'user.shale.labels=' \
	"$(getfattr -d -m - "$f" 2>/dev/null)"
setfattr -n user.shale.labels -v "{msg='say \"hi\"\\n', env=\`a/b\`}" "$f" ||
	fail "setfattr with quotes and escapes"
expect_eq "escapes as PromQL strings" '{env="a/b", msg="say \"hi\"\n"}' \
	"$(labels "$f")"

for bad in '{app=~"a.*"}' '{a="1", a="2"}' '{app="api"' 'app=api' \
	'{__bad_name x="1"}'; do
	if out=$(setfattr -n user.shale.labels -v "$bad" "$f" 2>&1); then
		fail "'$bad' taken"
	else
		expect_match "'$bad' refused with EINVAL" 'Invalid argument' "$out"
	fi
done
expect_eq "a refused value changes nothing" '{env="a/b", msg="say \"hi\"\n"}' \
	"$(labels "$f")"
setfattr -n user.other -v x "$f" 2>/dev/null && fail "another name taken"
if setfattr -n user.shale.labels -v '{a="b"}' "$w/logs/app" 2>/dev/null; then
	fail "a directory took labels"
else
	ok "a directory takes no labels"
fi

setfattr -n user.shale.labels -v '{}' "$f" || fail "setfattr {}"
expect_eq "{} clears" "" "$(labels "$f")"
setfattr -n user.shale.labels -v '{job="j", app="api"}' "$f" || fail "setfattr"
setfattr -x user.shale.labels "$f" || fail "setfattr -x"
expect_eq "removal clears" "" "$(labels "$f")"
setfattr -x user.shale.labels "$f" 2>/dev/null && fail "removing none succeeded"

setfattr -n user.shale.labels -v '{job="j", app="api"}' "$f" || fail "setfattr"
sync "$f"
mount_shale "$store" "$r" --read-only || { fail "read-only mount"; finish; }
wait_for "the follower sees the labels" 20 \
	has_labels "$r/logs/app/s" '{app="api", job="j"}'
if out=$(setfattr -n user.shale.labels -v '{x="1"}' "$r/logs/app/s" 2>&1); then
	fail "the follower took labels"
else
	expect_match "the follower refuses with EROFS" 'Read-only' "$out"
fi
setfattr -n user.shale.labels -v '{job="k"}' "$f" || fail "setfattr again"
sync "$f"
wait_for "the follower follows a change" 20 \
	has_labels "$r/logs/app/s" '{job="k"}'

umount_shale "$r" || fail "unmount the follower"
umount_shale "$w" || fail "unmount"
mount_shale "$store" "$w" || { fail "remount"; finish; }
expect_eq "kept across a remount" '{job="k"}' "$(labels "$f")"
expect_eq "the stream's bytes are as they were" "a line" "$(cat "$f")"
log_clean "labels"
finish
