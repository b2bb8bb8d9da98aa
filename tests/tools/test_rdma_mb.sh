#!/usr/bin/env bash
# RDMA with a 4096-byte path MTU over xdp: ports (issue 16), TAP: two
# namespaces joined by a veth pair of their own at MTU 9000,
#   - `sluice rdma write-bw --mtu 4096` from an xdp port in A into
#     `sluice rdma server --target file:` on an xdp port in B: the path MTU
#     is 4096 (RoCE frames of two or three UMEM chunks, multi-buffer), and
#     the file's sha256 is the source's;
#   - the same with mb=off on both ports: a chunk per frame, so the server
#     offers 2048, and the data still arrives intact;
#   - at link MTU 3000 the client is told the path carries 2048 and uses it.
# Root (namespaces, XDP), else skipped with the reason.
#
#   test_rdma_mb.sh PATH/TO/sluice
set -u
SLUICE=${1:?usage: test_rdma_mb.sh PATH/TO/sluice}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1

NAMES=("write-bw --mtu 4096 over xdp: ports: path MTU 4096, same sha256"
	"mb=off: path MTU 2048, same sha256"
	"link MTU 3000: path MTU 2048, same sha256")
if [ "$(id -u)" -ne 0 ]; then
	for n in "${NAMES[@]}"; do t_skip "$n" "needs root (namespaces, XDP)"; done
	t_done
	exit
fi

NA=sl-rm$$-a
NB=sl-rm$$-b
V=$(mktemp -d /var/tmp/sl-rm-t.XXXXXX)
rm_cleanup() {
	t_cleanup
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$V"
}
trap rm_cleanup EXIT

ip netns add "$NA" && ip netns add "$NB" &&
	ip link add "$NA" type veth peer name "$NB" &&
	ip link set "$NA" netns "$NA" && ip link set "$NB" netns "$NB" &&
	ip -n "$NA" addr add 10.90.0.1/24 dev "$NA" &&
	ip -n "$NB" addr add 10.90.0.2/24 dev "$NB" &&
	ip -n "$NA" link set "$NA" mtu 9000 up &&
	ip -n "$NB" link set "$NB" mtu 9000 up || {
	t_fail "a veth pair between two namespaces at MTU 9000" "ip failed"
	t_done
	exit
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
head -c 32M /dev/urandom >"$V/src.bin"

# run NAME MTU OPTS WANT: a write-bw of src.bin asking for --mtu MTU, the
# ports opened with OPTS; passes when the path MTU is WANT and the target
# file is the source byte for byte
run() {
	local name=$1 mtu=$2 opts=$3 want=$4 i crc src
	rm -f "$V/dst.bin"
	t_bg "$V/srv.json" ip netns exec "$NB" "$SLUICE" rdma server \
		"xdp:$NB,match=udp:4791$opts" --listen 10.90.0.2:4791 \
		--size $((32 << 20)) --target "file:$V/dst.bin" --json
	SRV=$T_LAST
	for i in $(seq 100); do
		ip netns exec "$NB" ss -Hltn "sport = :4791" | grep -q . && break
		sleep 0.05
	done
	ip netns exec "$NA" "$SLUICE" rdma write-bw "xdp:$NA,match=udp:4791$opts" \
		--to 10.90.0.2:4791 --from "$V/src.bin" --mtu "$mtu" --json \
		>"$V/cli.json" 2>"$V/cli.err"
	crc=$?
	t_wait "$SRV" 60
	src=$?
	if [ $crc -eq 0 ] && [ $src -eq 0 ] &&
		[ "$(sha "$V/src.bin")" = "$(sha "$V/dst.bin")" ] &&
		t_json "$V/cli.json" "j['mtu'] == $want and j['bytes'] == 32 << 20" \
			>"$V/why" 2>&1; then
		t_ok "$name"
	else
		t_fail "$name" "client rc=$crc server rc=$src $(cat "$V/why" "$V/cli.err" "$V/srv.json.err" 2>/dev/null | head -5)"
	fi
}

run "${NAMES[0]}" 4096 "" 4096
run "${NAMES[1]}" 4096 ",mb=off" 2048
ip -n "$NA" link set "$NA" mtu 3000 && ip -n "$NB" link set "$NB" mtu 3000
run "${NAMES[2]}" 4096 "" 2048
t_done
