#!/usr/bin/env bash
# The lab: a virtual machine with kernel drivers this host lacks (soft-RoCE,
# a virtio-net with AF_XDP zero-copy), booted in seconds under qemu, for
# tests, benchmarks and people.
#
#   scripts/lab.sh fetch
#       fetch a recent Debian kernel once (apt-get download through a
#       private apt configuration under the cache: the host's apt sources
#       are never touched), unpack it, index its modules, build the small
#       initramfs; prints the kernel version
#   scripts/lab.sh run [options] -- CMD [ARG...]
#       boot a guest, run CMD in it as root (through /bin/sh -c), print its
#       output, power off; exits with CMD's status (124: the guest did not
#       finish in time, 125: the lab could not start)
#     --netns NS      give the guest a virtio-net NIC on a tap device in the
#                     network namespace NS (the tap is made there and named
#                     by --tap; it is the test's end of the link)
#     --tap NAME      the tap's name (default sl-labtap)
#     --queues N      NIC queue pairs (mq), default 1
#     --addr A/P      the guest's eth0 address (IPv4 CIDR, or IPv6 as well
#                     with --addr6), default 10.78.0.2/24
#     --addr6 A/P     an IPv6 address for eth0
#     --mac MAC       the guest NIC's MAC (default 02:6c:61:62:00:02)
#     --nic-opts O    more NIC device properties (comma-separated)
#     --nic virtio|igb  the NIC: virtio-net (default) or an emulated Intel
#                     82576 (igb, with the emulated NIC's own RSS over its
#                     queues); igb needs qemu >= 8.0, fetched once from
#                     bookworm-backports when the host's is older
#     --no-dma-api    a NIC without iommu_platform=on: its virtio-net
#                     then cannot give AF_XDP zero-copy (the default NIC
#                     can: VIRTIO_F_ACCESS_PLATFORM gives its queues a DMA
#                     device, which the XSK pool needs)
#     --smp N         guest CPUs (default 2), --mem MiB (default 1024)
#     --timeout S     give up after S seconds (default 300)
#     --keep DIR      leave the guest's console log and output in DIR
#     --share DIR     also share the host folder DIR read-write, at the
#                     same path (the rest of / is read-only); repeatable
#   scripts/lab.sh fetch-qemu
#       a qemu with the igb NIC (see --nic igb); prints its path
#   scripts/lab.sh info
#       the cache folder, the kernel, qemu and the acceleration in use
#
# The guest's root file system is the host's own /, shared read-only over
# virtio-9p, so the guest runs the host's tools and the freshly built
# sluice at their host paths; a writable tmpfs holds /run, /var/tmp and
# $TMPDIR (/run/tmp), so /tmp stays the host's (a build may live there).
# The kernel's modules load from the cache with `modprobe -d`. KVM is used
# when it works, TCG (software emulation) otherwise: speeds under TCG are
# not performance figures.
#
# Environment: SL_LAB_CACHE (default <source root>/.cache/lab),
# SL_LAB_SUITE (default trixie-backports), SL_LAB_MIRROR
# (default http://deb.debian.org/debian).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SL_LAB_CACHE:-$ROOT/.cache/lab}
SUITE=${SL_LAB_SUITE:-trixie-backports}
QEMU_SUITE=${SL_LAB_QEMU_SUITE:-bookworm-backports}
MIRROR=${SL_LAB_MIRROR:-http://deb.debian.org/debian}

die() { echo "lab.sh: $*" >&2; exit 125; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0"; exit "${1:-0}"; }

# ---- fetch ---------------------------------------------------------------

apt_priv() { # apt-get/apt-cache with the lab's own configuration
	local tool=$1 d=${APT_DIR:-$CACHE/apt}
	shift
	"$tool" -o Dir::State="$d/state" \
		-o Dir::State::status="$d/state/status" \
		-o Dir::Cache="$d/cache" \
		-o Dir::Etc::SourceList="$d/sources.list" \
		-o Dir::Etc::SourceParts="$d/none" \
		-o Dir::Etc::Preferences="$d/none/prefs" \
		-o Dir::Etc::PreferencesParts="$d/none" \
		-o APT::Architecture=amd64 -o Debug::NoLocking=1 "$@"
}

apt_priv_init() { # DIR SUITE: a private configuration for one suite
	mkdir -p "$1/state/lists/partial" "$1/cache/archives/partial" "$1/none"
	: >"$1/state/status"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $2 main" \
		>"$1/sources.list"
	APT_DIR=$1 apt_priv apt-get -qq update >"$1/update.log" 2>&1 ||
		die "apt-get update of $2 failed: $(tail -n 2 "$1/update.log" | tr '\n' ' ')"
}

# The newest linux-binary-*-amd64 of the suite: the plain flavour, not
# cloud (no InfiniBand) or rt.
newest_kernel() {
	apt_priv apt-cache search --names-only '^linux-binary-[0-9.]+\+deb[0-9]+-amd64$' \
		2>/dev/null | awk '{ print $1 }' | sed 's/^linux-binary-//' |
		sort -V | tail -n 1
}

cmd_fetch() {
	local v kdir
	[ -f "$CACHE/kernel" ] && [ -f "$CACHE/initrd.img" ] &&
		[ -d "$CACHE/k/usr/lib/modules/$(cat "$CACHE/kernel")" ] &&
		{ cat "$CACHE/kernel"; return 0; }
	command -v apt-get >/dev/null || die "no apt-get: the lab fetches a Debian kernel"
	mkdir -p "$CACHE/debs"
	apt_priv_init "$CACHE/apt" "$SUITE"
	v=$(newest_kernel)
	[ -n "$v" ] || die "no linux-binary-*-amd64 package in $SUITE"
	(cd "$CACHE/debs" && apt_priv apt-get -qq download \
		"linux-binary-$v" "linux-modules-$v") >"$CACHE/debs/download.log" 2>&1 ||
		die "apt-get download of linux $v failed: $(tail -n 2 "$CACHE/debs/download.log" | tr '\n' ' ')"
	rm -rf "$CACHE/k"
	mkdir -p "$CACHE/k"
	for d in "$CACHE/debs"/linux-binary-"$v"_*.deb "$CACHE/debs"/linux-modules-"$v"_*.deb; do
		dpkg-deb -x "$d" "$CACHE/k"
	done
	kdir=$CACHE/k/usr/lib/modules/$v
	[ -f "$kdir/vmlinuz" ] || die "linux $v: no vmlinuz in the package"
	# modprobe -d DIR looks in DIR/lib/modules/VERSION
	mkdir -p "$CACHE/k/lib"
	ln -sfn ../usr/lib/modules "$CACHE/k/lib/modules"
	depmod -b "$CACHE/k" "$v" 2>"$CACHE/depmod.log" || die "depmod failed: $(head -n 2 "$CACHE/depmod.log")"
	build_initrd "$v"
	echo "$v" >"$CACHE/kernel"
	rm -f "$CACHE/debs"/*.deb # unpacked: 120 MB less
	echo "$v"
}

# A qemu that emulates igb (an Intel 82576 NIC, whose Linux driver has
# AF_XDP zero-copy: a second driver family beside virtio-net). qemu has it
# from 8.0; bookworm's is 7.2. The host's qemu when it has igb, else
# qemu-system-x86 from QEMU_SUITE (bookworm-backports: 10.0, built for
# this release's libraries) fetched once through a private apt
# configuration of its own and unpacked under the cache, run with its own
# modules and firmware. Prints the qemu binary.
cmd_fetch_qemu() {
	local q=$CACHE/qemu b d miss
	# (qemu 7.2 exits 0 for an unknown device's help: read what it says)
	if qemu-system-x86_64 -device igb,help 2>&1 | grep -q '^igb options'; then
		command -v qemu-system-x86_64
		return 0
	fi
	b=$q/root/usr/bin/qemu-system-x86_64
	if [ ! -x "$b" ]; then
		command -v apt-get >/dev/null || die "no apt-get to fetch a qemu with igb"
		apt_priv_init "$q/apt" "$QEMU_SUITE"
		rm -rf "$q/debs" "$q/root"
		mkdir -p "$q/debs" "$q/root"
		(cd "$q/debs" && APT_DIR=$q/apt apt_priv apt-get -qq download \
			qemu-system-x86 qemu-system-common qemu-system-data) \
			>"$q/download.log" 2>&1 ||
			die "apt-get download of qemu from $QEMU_SUITE failed: $(tail -n 2 "$q/download.log" | tr '\n' ' ')"
		for d in "$q/debs"/*.deb; do dpkg-deb -x "$d" "$q/root"; done
		rm -rf "$q/debs"
	fi
	miss=$(ldd "$b" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' ')
	[ -z "$miss" ] || die "qemu from $QEMU_SUITE lacks libraries here: $miss"
	qemu_prep "$b"
	"$b" "${QARGS[@]}" -device igb,help 2>&1 | grep -q '^igb options' ||
		die "qemu from $QEMU_SUITE has no igb device"
	echo "$b"
}

# QARGS: what a qemu binary needs for its own modules and firmware when it
# is not the host's (its modules' folder exported as QEMU_MODULE_DIR).
qemu_prep() {
	local r
	QARGS=()
	case $1 in
	"$CACHE"/*)
		r=${1%/usr/bin/qemu-system-x86_64}
		export QEMU_MODULE_DIR=$r/usr/lib/x86_64-linux-gnu/qemu
		QARGS=(-L "$r/usr/share/qemu" -L /usr/share/seabios)
		;;
	esac
}

# The initramfs: busybox, the 9p modules, an /init that mounts the host's
# root and hands over to scripts/lab_guest.sh there.
build_initrd() {
	local v=$1 d m f
	command -v cpio >/dev/null || die "cpio is missing (scripts/deps.sh installs it)"
	[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static ||
		[ -x /bin/busybox ] || die "busybox-static is missing (scripts/deps.sh installs it)"
	d=$(mktemp -d /tmp/sl-lab-initrd.XXXXXX)
	mkdir -p "$d/bin" "$d/lib" "$d/proc" "$d/sys" "$d/dev" "$d/newroot"
	cp /bin/busybox "$d/bin/busybox"
	for m in netfs 9pnet 9pnet_virtio 9p; do
		f=$(find "$CACHE/k/usr/lib/modules/$v" -name "$m.ko*" | head -n 1)
		[ -n "$f" ] || die "linux $v has no $m module"
		case $f in
		*.xz) xz -dc "$f" >"$d/lib/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$d/lib/$m.ko" ;;
		*) cp "$f" "$d/lib/$m.ko" ;;
		esac
	done
	cat >"$d/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in netfs 9pnet 9pnet_virtio 9p; do
	insmod /lib/$m.ko 2>/dev/null
done
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 root /newroot; then
	echo "lab: cannot mount the host's root"; echo o >/proc/sysrq-trigger
fi
work=$(arg sl_lab_work)
guest=$(arg sl_lab_guest)
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 work "/newroot$work" ||
	echo "lab: cannot mount the work folder"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/sh "$guest"
INIT
	chmod +x "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$CACHE/initrd.img.tmp"
	mv "$CACHE/initrd.img.tmp" "$CACHE/initrd.img"
	rm -rf "$d"
}

# ---- run -----------------------------------------------------------------

# kvm when it really boots a guest here, else tcg; found out once (a guest
# asked to run `true` under KVM, 20 s at most: it takes 3) and kept in the
# cache.
# SL_LAB_ACCEL=kvm|tcg decides instead.
accel() {
	local w pid i
	if [ -n "${SL_LAB_ACCEL:-}" ]; then
		echo "$SL_LAB_ACCEL"
		return
	fi
	if [ -f "$CACHE/accel" ]; then
		cat "$CACHE/accel"
		return
	fi
	if [ ! -w /dev/kvm ]; then
		echo tcg
		return
	fi
	w=$(mktemp -d /tmp/sl-lab.XXXXXX)
	echo true >"$w/cmd"
	echo "SL_LAB_KERNEL=$1" >"$w/env"
	boot kvm "$1" "$w" 1 512 >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 200); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	if [ "$(cat "$w/rc" 2>/dev/null)" = 0 ]; then echo kvm; else echo tcg; fi |
		tee "$CACHE/accel"
	rm -rf "$w"
}

# boot ACCEL VERSION WORK SMP MEM [QEMU ARGS...]: the guest, in the
# foreground, its serial console on stdout
boot() {
	local a=$1 v=$2 work=$3 smp=$4 mem=$5 cpu=max
	shift 5
	[ "$a" = kvm ] && cpu=host
	local q=${SL_LAB_QEMU:-qemu-system-x86_64}
	qemu_prep "$q"
	# exec: the caller's pid is qemu's, so that killing it stops the guest
	exec "$q" "${QARGS[@]}" -machine q35 -accel "$a" \
		-cpu "$cpu" -smp "$smp" -m "$mem" -display none -nodefaults \
		-no-user-config -no-reboot -serial stdio -monitor none \
		-kernel "$CACHE/k/usr/lib/modules/$v/vmlinuz" -initrd "$CACHE/initrd.img" \
		-append "console=ttyS0 panic=-1 quiet sl_lab_work=$work sl_lab_guest=$ROOT/scripts/lab_guest.sh" \
		-fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap" \
		-device virtio-9p-pci,fsdev=root,mount_tag=root \
		-fsdev "local,id=work,path=$work,security_model=none,multidevs=remap" \
		-device virtio-9p-pci,fsdev=work,mount_tag=work \
		"$@" </dev/null
}

lab_cleanup() {
	set +e
	[ -n "$qpid" ] && { kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; }
	[ -n "$ns" ] && ip -n "$ns" link del "$tap" 2>/dev/null
	[ -z "$keep" ] && [ -n "$work" ] && rm -rf "$work"
	return 0
}

cmd_run() {
	local queues=1 addr=10.78.0.2/24 addr6='' mac=02:6c:61:62:00:02 nicopts=''
	local dma=,iommu_platform=on,disable-legacy=on shares=() sh fs=() k=0
	local smp=2 mem=1024 tmo=300 v rc net=() i nic=virtio
	# globals: the EXIT trap uses them after this function returned
	ns='' tap=sl-labtap keep='' work='' qpid=
	while [ $# -gt 0 ]; do
		case $1 in
		--netns) ns=$2; shift 2 ;;
		--tap) tap=$2; shift 2 ;;
		--queues) queues=$2; shift 2 ;;
		--addr) addr=$2; shift 2 ;;
		--addr6) addr6=$2; shift 2 ;;
		--mac) mac=$2; shift 2 ;;
		--nic-opts) nicopts="$nicopts,$2"; shift 2 ;;
		--no-dma-api) dma=''; shift ;;
		--nic) nic=$2; shift 2 ;;
		--share) shares+=("$(cd "$2" && pwd)"); shift 2 ;;
		--smp) smp=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--timeout) tmo=$2; shift 2 ;;
		--keep) keep=$2; shift 2 ;;
		--) shift; break ;;
		*) die "run: unknown option $1 (scripts/lab.sh --help)" ;;
		esac
	done
	[ $# -gt 0 ] || die "run: no command (scripts/lab.sh run [options] -- CMD)"
	command -v qemu-system-x86_64 >/dev/null ||
		die "qemu-system-x86_64 is missing (scripts/deps.sh installs qemu-system-x86)"
	v=$(cmd_fetch) || exit 125
	case $nic in
	virtio) ;;
	igb)
		SL_LAB_QEMU=$(cmd_fetch_qemu) || exit 125
		export SL_LAB_QEMU
		;;
	*) die "run: --nic $nic: virtio or igb" ;;
	esac
	work=$(mktemp -d /tmp/sl-lab.XXXXXX)
	printf '%s\n' "$*" >"$work/cmd"
	for sh in "${shares[@]}"; do
		fs+=(-fsdev "local,id=s$k,path=$sh,security_model=none,multidevs=remap"
			-device "virtio-9p-pci,fsdev=s$k,mount_tag=s$k")
		k=$((k + 1))
	done
	cat >"$work/env" <<ENV
SL_LAB_KERNEL=$v
SL_LAB_MODULES=$CACHE/k
SL_LAB_ADDR=$addr
SL_LAB_ADDR6=$addr6
SL_LAB_NET=${ns:+1}
SL_LAB_NIC=$nic
SL_LAB_WORK=$work
SL_LAB_SHARES="${shares[*]}"
ENV
	if [ -n "$ns" ]; then
		# qemu asks for a multi-queue tap only with queues > 1, and
		# the kernel wants the tap made the same way
		if [ "$nic" = igb ]; then
			# one tap queue: the emulated 82576 spreads flows over
			# its own queues (RSS) itself
			ip -n "$ns" tuntap add dev "$tap" mode tap ||
				die "cannot make tap $tap in $ns"
			net=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
				-device "igb,netdev=n0,mac=$mac,romfile=$nicopts")
		elif [ "$queues" -gt 1 ]; then
			ip -n "$ns" tuntap add dev "$tap" mode tap multi_queue ||
				die "cannot make tap $tap in $ns"
			net=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off,queues=$queues"
				-device "virtio-net-pci,netdev=n0,mac=$mac,mq=on,vectors=$((2 * queues + 2))$dma$nicopts")
		else
			ip -n "$ns" tuntap add dev "$tap" mode tap ||
				die "cannot make tap $tap in $ns"
			net=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
				-device "virtio-net-pci,netdev=n0,mac=$mac$dma$nicopts")
		fi
		ip -n "$ns" link set "$tap" up
	fi
	local a
	a=$(accel "$v")
	echo "$a" >"$work/accel"
	trap 'lab_cleanup' EXIT
	trap 'exit 130' INT TERM
	local try end
	end=$(($(date +%s) + tmo))
	# A guest whose kernel dies while it boots, before the command ran,
	# is booted once more: under TCG with two vCPUs the kernel's text
	# patching can trip over a stale translation (an int3 oops in the
	# first seconds, seen here about once in 20 boots). A command that
	# started is never run twice.
	for try in 1 2; do
		# qemu runs in the namespace (it opens the tap there); its
		# stdout is the guest's serial console
		if [ -n "$ns" ]; then
			ip netns exec "$ns" "$0" _boot "$a" "$v" "$work" "$smp" \
				"$mem" "${net[@]}" "${fs[@]}" \
				>"$work/console.log" 2>&1 &
		else
			boot "$a" "$v" "$work" "$smp" "$mem" "${fs[@]}" \
				>"$work/console.log" 2>&1 &
		fi
		qpid=$!
		while [ "$(date +%s)" -lt "$end" ]; do
			kill -0 $qpid 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 $qpid 2>/dev/null; then
			kill $qpid
			rc=124
		fi
		wait $qpid 2>/dev/null || true
		qpid=
		[ -n "${rc:-}" ] || [ -e "$work/out" ] ||
			! grep -q "Kernel panic" "$work/console.log" || [ $try = 2 ] &&
			break
		echo "lab.sh: the guest's kernel died while booting; booting again" >&2
		cp "$work/console.log" "$work/console.1.log"
	done
	[ -f "$work/out" ] && cat "$work/out"
	if [ -z "${rc:-}" ]; then
		rc=$(cat "$work/rc" 2>/dev/null || echo 125)
	fi
	if [ "$rc" = 125 ] || [ "$rc" = 124 ]; then
		echo "lab.sh: the guest did not finish (rc $rc); its console:" >&2
		tail -n 30 "$work/console.log" >&2
	fi
	if [ -n "$keep" ]; then
		mkdir -p "$keep"
		cp "$work"/* "$keep/" 2>/dev/null
	fi
	return "$rc"
}

cmd_info() {
	echo "cache: $CACHE"
	echo "kernel: $(cat "$CACHE/kernel" 2>/dev/null || echo "not fetched (scripts/lab.sh fetch)")"
	echo "qemu: $(qemu-system-x86_64 --version 2>/dev/null | head -n 1 || echo missing)"
	echo "acceleration: $(accel "$(cat "$CACHE/kernel" 2>/dev/null)")"
}

[ $# -ge 1 ] || usage 1
c=$1
shift
case $c in
fetch) cmd_fetch ;;
fetch-qemu) cmd_fetch_qemu ;;
run) cmd_run "$@" ;;
info) cmd_info ;;
_boot) boot "$@" ;; # inside a namespace: see cmd_run
-h | --help | help) usage ;;
*) usage 1 ;;
esac
