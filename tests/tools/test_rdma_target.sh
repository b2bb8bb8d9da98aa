#!/usr/bin/env bash
# RDMA WRITEs into a region backed by a target (issue 13), TAP:
#   - 1 GiB of random data WRITEn by `sluice rdma write-bw --from` in
#     namespace A into `sluice rdma server --target file:` in namespace B
#     (a veth pair of their own): the file's sha256 is the source's, and
#     the server answers the client's "done" only once the bytes are on it;
#   - the same into a tmpfs of 4 MiB: the server names the target, the
#     offset and ENOSPC, exits 1 and does not confirm the end; the client
#     says so; nothing hangs;
#   - --target with a spec sluice does not know: exit 1, says what is known.
# Root (namespaces, mounts), else skipped with the reason.
#
#   test_rdma_target.sh PATH/TO/sluice
set -u
SLUICE=${1:?usage: test_rdma_target.sh PATH/TO/sluice}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1

if [ "$(id -u)" -ne 0 ]; then
	t_skip "1 GiB of RDMA WRITEs into a file target" "needs root (namespaces)"
	t_skip "a full target file system" "needs root (namespaces, tmpfs)"
	t_done
	exit
fi

NA=sl-rt$$-a
NB=sl-rt$$-b
V=$(mktemp -d /var/tmp/sl-rt-t.XXXXXX)
MNT=
rt_cleanup() {
	t_cleanup
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
		rmdir "$MNT" 2>/dev/null
	fi
	rm -rf "$V"
}
trap rt_cleanup EXIT

ip netns add "$NA" && ip netns add "$NB" &&
	ip link add "$NA" type veth peer name "$NB" &&
	ip link set "$NA" netns "$NA" && ip link set "$NB" netns "$NB" &&
	ip -n "$NA" addr add 10.89.0.1/24 dev "$NA" &&
	ip -n "$NB" addr add 10.89.0.2/24 dev "$NB" &&
	ip -n "$NA" link set "$NA" up && ip -n "$NB" link set "$NB" up || {
	t_fail "a veth pair between two namespaces" "ip failed"
	t_done
	exit
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# serve SIZE TARGET: the server in B, its JSON in $V/srv.json; T_LAST its pid
serve() {
	t_bg "$V/srv.json" ip netns exec "$NB" "$SLUICE" rdma server \
		udp:10.89.0.2:4791 --size "$1" --target "$2" --json
	local i
	for i in $(seq 50); do
		ip netns exec "$NB" ss -Hltn "sport = :4791" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# ---- 1 GiB into a file -----------------------------------------------------
head -c 1G /dev/urandom >"$V/src.bin"
if serve $((1 << 30)) "file:$V/dst.bin"; then
	SRV=$T_LAST
	ip netns exec "$NA" "$SLUICE" rdma write-bw udp:10.89.0.1:4792 \
		--to 10.89.0.2:4791 --from "$V/src.bin" --mtu 4096 --json \
		>"$V/cli.json" 2>"$V/cli.err"
	crc=$?
	t_wait "$SRV" 60
	src=$?
	if [ $crc -eq 0 ] && [ $src -eq 0 ] &&
		[ "$(sha "$V/src.bin")" = "$(sha "$V/dst.bin")" ]; then
		t_ok "1 GiB of RDMA WRITEs from another namespace into a file target: same sha256"
	else t_fail "1 GiB of RDMA WRITEs from another namespace into a file target: same sha256" \
		"client rc=$crc server rc=$src $(cat "$V/cli.err" "$V/srv.json.err")"; fi
	t_check "the server: done, every byte acked by the target, no error" t_json "$V/srv.json" \
		'j["done"] and j["target"]["acked_bytes"] == 1 << 30 and j["target"]["error"] is None'
	t_check "the client: 1 GiB in messages, the end confirmed" t_json "$V/cli.json" \
		'j["bytes"] == 1 << 30'
else
	t_fail "1 GiB of RDMA WRITEs from another namespace into a file target: same sha256" \
		"the server did not listen: $(cat "$V/srv.json.err")"
fi
rm -f "$V/dst.bin"

# ---- a full file system ------------------------------------------------------
MNT=$(mktemp -d /var/tmp/sl-rt-mnt.XXXXXX)
if mount -t tmpfs -o size=4m sl-rt-tmpfs "$MNT" 2>"$V/tmpfs.err"; then
	head -c 16M /dev/urandom >"$V/s16.bin"
	if serve $((16 << 20)) "file:$MNT/x.bin"; then
		SRV=$T_LAST
		ip netns exec "$NA" "$SLUICE" rdma write-bw udp:10.89.0.1:4792 \
			--to 10.89.0.2:4791 --from "$V/s16.bin" --json \
			>"$V/cli2.json" 2>"$V/cli2.err"
		t_wait "$SRV" 30
		src=$?
		if [ $src -eq 1 ] && grep -Eq "file:$MNT/x.bin: write at offset [0-9]+ .*No space left on device" "$V/srv.json.err"; then
			t_ok "a full target: the server exits 1 naming the target, the offset and ENOSPC"
		else t_fail "a full target: the server exits 1 naming the target, the offset and ENOSPC" \
			"rc=$src $(cat "$V/srv.json.err")"; fi
		t_check "a full target: not done, the JSON has the error" t_json "$V/srv.json" \
			'not j["done"] and "No space left" in j["target"]["error"] and j["target"]["acked_bytes"] < 16 << 20'
		if grep -q "did not confirm the end" "$V/cli2.err"; then
			t_ok "a full target: the client hears no confirmation and says so"
		else t_fail "a full target: the client hears no confirmation and says so" "$(cat "$V/cli2.err")"; fi
	else
		t_fail "a full target: the server listens" "$(cat "$V/srv.json.err")"
	fi
	umount "$MNT"
else
	t_skip "a full target file system" "cannot mount a tmpfs: $(cat "$V/tmpfs.err")"
fi
rmdir "$MNT"
MNT=

# ---- a target sluice does not know ---------------------------------------------
ip netns exec "$NB" "$SLUICE" rdma server udp:10.89.0.2:4791 --target nvme:0 \
	>/dev/null 2>"$V/bad.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "nvme:0: unknown target: give host, file:PATH or cuda:N" "$V/bad.err"; then
	t_ok "--target nvme:0: exit 1, says which targets there are"
else t_fail "--target nvme:0: exit 1, says which targets there are" "rc=$rc $(cat "$V/bad.err")"; fi

t_done
