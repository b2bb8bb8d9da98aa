#!/bin/sh
# PID 1 of a lab guest (scripts/lab.sh), on the host's root shared
# read-only: a writable tmpfs for /run and $TMPDIR, loopback and (with a
# NIC) eth0 up with its address, then the command the host asked for, its
# output and status written to the work folder, then power off.
#
# The command sees SL_LAB_KERNEL (the guest kernel's version),
# SL_LAB_MODULES (give it to modprobe -d: `modprobe -d "$SL_LAB_MODULES"
# rdma_rxe`), SL_LAB_WORK (its own writable folder) and SL_LAB_SHARES
# (the host folders shared read-write).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
work=$(sed -n 's/.*sl_lab_work=\([^ ]*\).*/\1/p' /proc/cmdline)

off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 10
}

mount -t tmpfs -o mode=755 run /run
mkdir -p /run/tmp /run/lock && chmod 1777 /run/tmp
mount -t tmpfs tmp /var/tmp 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs shm /dev/shm 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
TMPDIR=/run/tmp HOME=/run/tmp
export TMPDIR HOME
set -a
. "$work/env"
set +a
ulimit -l unlimited 2>/dev/null
# the host folders shared read-write (lab.sh --share), at their paths
k=0
for d in $SL_LAB_SHARES; do
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "s$k" "$d" ||
		echo "lab: cannot mount $d" >>"$work/out"
	k=$((k + 1))
done

ip link set lo up
if [ -n "$SL_LAB_NET" ]; then
	case ${SL_LAB_NIC:-virtio} in
	igb) modprobe -d "$SL_LAB_MODULES" igb ;;
	*) modprobe -d "$SL_LAB_MODULES" virtio_net ;;
	esac
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# no link-local address: no duplicate address detection to wait for
	sysctl -qw net.ipv6.conf.eth0.addr_gen_mode=1 2>/dev/null
	sysctl -qw net.ipv6.conf.eth0.accept_ra=0 2>/dev/null
	ip addr add "$SL_LAB_ADDR" dev eth0
	[ -n "$SL_LAB_ADDR6" ] && ip -6 addr add "$SL_LAB_ADDR6" dev eth0 nodad
	ip link set eth0 up
fi

sh -c "$(cat "$work/cmd")" >"$work/out" 2>&1 </dev/null
echo $? >"$work/rc"
off
