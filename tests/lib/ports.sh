# ports.sh - sourced by tests/lib/rgw.sh and tests/lib/common.sh: free
# ports on 127.0.0.1 for the servers tests start.

# port_free PORT: nothing listens on it
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_port [N]: the first of N (default 2) consecutive free ports
pick_port() {
	local p i n=${1:-2}
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		i=0
		while [ "$i" -lt "$n" ] && port_free $((p + i)); do
			i=$((i + 1))
		done
		[ "$i" -eq "$n" ] && { echo "$p"; return 0; }
	done
	echo "no free port found" >&2
	return 1
}
