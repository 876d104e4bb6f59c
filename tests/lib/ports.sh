# ports.sh - sourced by tests/lib/rgw.sh and tests/lib/common.sh: free
# ports on 127.0.0.1 for the servers tests start.

# port_free PORT: nothing listens on it
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_port [N]: the first of N (default 2) consecutive free ports, below
# the kernel's range of ephemeral ports: one free of listeners there may
# still be the local end of a connection (to RGW, say), and bind() fails
pick_port() {
	local p i n=${1:-2} lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
	[ "$lo" -gt 12000 ] || lo=32768
	for _ in $(seq 1 50); do
		p=$((10000 + RANDOM % (lo - 10000 - n)))
		i=0
		while [ "$i" -lt "$n" ] && port_free $((p + i)); do
			i=$((i + 1))
		done
		[ "$i" -eq "$n" ] && { echo "$p"; return 0; }
	done
	echo "no free port found" >&2
	return 1
}
