#!/bin/bash
# rgw.sh - a throwaway one-node Ceph RGW (S3 server) on 127.0.0.1 for tests.
#
#   rgw.sh start DIR    start mon, memstore OSD and radosgw under DIR; write
#                       DIR/env (endpoint and keys) and DIR/{mon,osd,rgw}.pid
#   rgw.sh stop DIR     kill them by PID (rgw, then osd, then mon)
#
# Everything binds to 127.0.0.1, on ports picked free at start. cephx is off
# and the OSD keeps its data in memory: nothing survives stop.
# Needs root and the Debian packages ceph-mon, ceph-osd and radosgw.
set -eu

cmd=${1:?usage: rgw.sh start|stop DIR}
D=${2:?usage: rgw.sh start|stop DIR}

. "$(dirname "$0")/ports.sh"

# SIGKILL: each daemon takes 2 s to exit on SIGTERM, 6 s a run, and
# nothing they hold is kept (the OSD's store is in memory)
stop() {
	local n f p
	for n in rgw osd mon; do
		f="$D/$n.pid"
		[ -f "$f" ] || continue
		p=$(cat "$f")
		kill -9 "$p" 2>/dev/null || true
		# gone, or a zombie (its parent, not us, reaps it)
		for _ in $(seq 1 100); do
			[ -e "/proc/$p" ] || break
			grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && break
			sleep 0.05
		done
		rm -f "$f"
	done
}

start() {
	local mon rgw fsid osduuid C
	for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
		command -v "$b" >/dev/null || {
			echo "rgw.sh: '$b' not found (apt-get install ceph-mon ceph-osd radosgw)" >&2
			return 1
		}
	done
	stop
	rm -rf "$D"
	mkdir -p "$D"/mon "$D"/osd0 "$D"/rgw "$D"/run "$D"/log
	# one pick of three: two picks could give the same port, as nothing
	# listens on the first until the monitor starts
	mon=$(pick_port 3) || return 1
	rgw=$((mon + 2))
	fsid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$((mon + 1)),v1:127.0.0.1:$mon]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms mon client mode = crc
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
paxos propose interval = 0.05
paxos min wait = 0.01
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd crush chooseleaf type = 0
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
keyring = /dev/null
[mon]
mon data = $D/mon
mon cluster log file = $D/log/cluster.log
[osd]
osd data = $D/osd0
osd objectstore = memstore
memstore device bytes = 8589934592
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw tcp_nodelay=1
rgw data = $D/rgw
CONF
	C="-c $D/ceph.conf"
	monmaptool --create --fsid "$fsid" \
		--addv a "[v2:127.0.0.1:$((mon + 1)),v1:127.0.0.1:$mon]" \
		"$D/monmap" >"$D/log/monmap.out" 2>&1
	ceph-mon $C --mkfs -i a --monmap "$D/monmap" >"$D/log/mkfs-mon.out" 2>&1
	ceph-mon $C -i a -f >"$D/log/mon.out" 2>&1 &
	echo $! >"$D/mon.pid"
	osduuid=$(cat /proc/sys/kernel/random/uuid)
	timeout 60 ceph $C --connect-timeout 30 osd new "$osduuid" >"$D/log/osd-new.out" 2>&1
	ceph-osd $C -i 0 --mkfs --osd-uuid "$osduuid" >"$D/log/mkfs-osd.out" 2>&1
	ceph-osd $C -i 0 -f >"$D/log/osd.out" 2>&1 &
	echo $! >"$D/osd.pid"
	radosgw $C -n client.rgw -f >"$D/log/rgw.out" 2>&1 &
	echo $! >"$D/rgw.pid"
	for _ in $(seq 1 600); do
		curl -s -o /dev/null "http://127.0.0.1:$rgw/" && break
		kill -0 "$(cat "$D/rgw.pid")" 2>/dev/null || break
		sleep 0.1
	done
	if ! curl -s -o /dev/null "http://127.0.0.1:$rgw/"; then
		echo "rgw.sh: radosgw did not come up; see $D/log" >&2
		tail -5 "$D/log/rgw.out" >&2 || true
		stop
		return 1
	fi
	radosgw-admin $C user create --uid=shale-test --display-name=shale-test \
		--access-key=shaletestkey --secret-key=shaletestsecret \
		>"$D/log/user.json" 2>&1
	cat >"$D/env" <<ENV
export SHALE_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw
export SHALE_TEST_S3_ACCESS_KEY=shaletestkey
export SHALE_TEST_S3_SECRET_KEY=shaletestsecret
ENV
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) echo "usage: rgw.sh start|stop DIR" >&2; exit 2 ;;
esac
