#!/bin/sh
# In a guest of scripts/lab.sh: Linux's soft-RoCE on eth0 (rxe0), then the
# index of its RoCE v2 GID for the IPv4 address on stdout, which rdma-core's
# and perftest's tools take (ibv_rc_pingpong -g, ib_write_bw -x). Exit 1
# with the reason on stderr when there is none.
set -u
modprobe -d "$SL_LAB_MODULES" rdma_rxe &&
	modprobe -d "$SL_LAB_MODULES" ib_uverbs &&
	rdma link add rxe0 type rxe netdev "${1:-eth0}" || exit 1
g=/sys/class/infiniband/rxe0/ports/1
# the GID table fills in as the address is seen
for _ in 1 2 3 4 5 6 7 8 9 10; do
	for i in 0 1 2 3 4 5 6 7; do
		case "$(cat $g/gid_attrs/types/$i 2>/dev/null):$(cat $g/gids/$i 2>/dev/null)" in
		'RoCE v2:0000:0000:0000:0000:0000:ffff:'*)
			echo "$i"
			exit 0
			;;
		esac
	done
	sleep 0.2
done
echo "lab_rxe: rxe0 has no RoCE v2 GID for an IPv4 address" >&2
exit 1
