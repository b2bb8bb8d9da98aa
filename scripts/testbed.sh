#!/usr/bin/env bash
# The veth test bed by hand: two network namespaces NAME-a and NAME-b joined
# by a veth pair (NAME-a in NAME-a, NAME-b in NAME-b), IPv4 10.77.X.1/.2 and
# IPv6 fd77:X::1/::2, neighbours pinned both ways. The same bed as
# bed/testbed.c makes for the integration tests.
#
#   scripts/testbed.sh up [NAME] [--queues N] [--subnet X] [--json]
#   scripts/testbed.sh down [NAME]
#   scripts/testbed.sh down --stale | --all | --all --force
#   scripts/testbed.sh list
#
# NAME starts with sl- and has at most 13 characters (default sl-bed).
# After a crash: `down --stale` removes the beds of test processes that are
# gone (namespaces sl-PID-N-a|b whose PID is dead); `down --all` also the
# beds this script made; `down --all --force` every sl-* namespace, whoever
# made it and whether or not it is in use.
# Then e.g. `ip netns exec sl-bed-b tcpdump -ni sl-bed-b`.
set -euo pipefail

die() { echo "testbed.sh: $*" >&2; exit 1; }
usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }

need_root() {
	[ "$(id -u)" -eq 0 ] ||
		die "needs root (network namespaces and veth): sudo $0 $*"
	command -v ip >/dev/null || die "the ip command (iproute2) is missing"
}

check_name() {
	case $1 in
	sl-*) ;;
	*) die "name '$1' must start with sl-" ;;
	esac
	[ ${#1} -le 13 ] || die "name '$1' longer than 13 characters (interface names hold 15)"
	[[ $1 =~ ^[A-Za-z0-9_.-]+$ ]] || die "name '$1': letters, digits, - _ . only"
}

ns_exists() { [ -e "/var/run/netns/$1" ]; }

# beds made by this script, so `down --all` knows them from other people's
# sl- namespaces
STATE=/run/sl-testbed

bed_down() { # NAME
	local n=$1 gone=0
	for s in a b; do
		if ns_exists "$n-$s"; then
			ip netns del "$n-$s" && gone=1
		fi
	done
	rm -f "$STATE/$n"
	[ $gone -eq 1 ] || echo "testbed.sh: no bed named $n" >&2
}

cmd_up() {
	local name=sl-bed queues=1 subnet='' json=0
	while [ $# -gt 0 ]; do
		case $1 in
		--queues) queues=${2:?--queues needs N}; shift 2 ;;
		--subnet) subnet=${2:?--subnet needs X}; shift 2 ;;
		--json) json=1; shift ;;
		-h | --help) usage ;;
		-*) die "unknown option $1" ;;
		*) name=$1; shift ;;
		esac
	done
	need_root up
	check_name "$name"
	if ! [[ $queues =~ ^[0-9]+$ ]] || [ "$queues" -lt 1 ] || [ "$queues" -gt 64 ]; then
		die "--queues: 1..64"
	fi
	if [ -z "$subnet" ]; then
		# a /24 of its own per bed, derived from the name
		subnet=$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % 254 + 1 ))
	fi
	if ! [[ $subnet =~ ^[0-9]+$ ]] || [ "$subnet" -lt 1 ] || [ "$subnet" -gt 254 ]; then
		die "--subnet: 1..254"
	fi
	if ns_exists "$name-a" || ns_exists "$name-b"; then
		die "a bed named $name exists (scripts/testbed.sh down $name)"
	fi

	mkdir -p "$STATE"
	: >"$STATE/$name"
	local a=$name-a b=$name-b
	local mac_a mac_b ip4_a=10.77.$subnet.1 ip4_b=10.77.$subnet.2
	local ip6_a ip6_b
	mac_a=$(printf '02:73:6c:%02x:ff:01' "$subnet")
	mac_b=$(printf '02:73:6c:%02x:ff:02' "$subnet")
	ip6_a=$(printf 'fd77:%x::1' "$subnet")
	ip6_b=$(printf 'fd77:%x::2' "$subnet")

	# remove whatever was made if any step fails or we are interrupted
	trap 'echo "testbed.sh: set-up failed, removing $name" >&2; bed_down "$name" 2>/dev/null' ERR INT TERM
	ip netns add "$a"
	ip netns add "$b"
	ip link add "$a" netns "$a" address "$mac_a" numtxqueues "$queues" \
		numrxqueues "$queues" type veth peer name "$b" netns "$b" \
		address "$mac_b" numtxqueues "$queues" numrxqueues "$queues"
	local me ip4 ip6 pip4 pip6 pmac
	for side in a b; do
		if [ $side = a ]; then
			me=$a ip4=$ip4_a ip6=$ip6_a pip4=$ip4_b pip6=$ip6_b pmac=$mac_b
		else
			me=$b ip4=$ip4_b ip6=$ip6_b pip4=$ip4_a pip6=$ip6_a pmac=$mac_a
		fi
		# no link-local address: no DAD, no router solicitations
		ip -n "$me" link set "$me" addrgenmode none
		ip netns exec "$me" sysctl -qw "net.ipv6.conf.$me.accept_ra=0" \
			"net.ipv6.conf.$me.router_solicitations=0" >/dev/null
		ip -n "$me" addr add "$ip4/24" dev "$me"
		ip -n "$me" -6 addr add "$ip6/64" dev "$me" nodad
		ip -n "$me" link set lo up
		ip -n "$me" link set "$me" up
		ip -n "$me" neigh replace "$pip4" lladdr "$pmac" dev "$me" nud permanent
		ip -n "$me" -6 neigh replace "$pip6" lladdr "$pmac" dev "$me" nud permanent
	done
	trap - ERR INT TERM

	if [ $json -eq 1 ]; then
		cat <<JSON
{"name": "$name", "queues": $queues, "subnet": $subnet,
 "a": {"netns": "$a", "ifname": "$a", "mac": "$mac_a", "ipv4": "$ip4_a", "ipv6": "$ip6_a"},
 "b": {"netns": "$b", "ifname": "$b", "mac": "$mac_b", "ipv4": "$ip4_b", "ipv6": "$ip6_b"}}
JSON
	else
		echo "bed $name: $queues queue(s) per end"
		echo "  A: netns $a  dev $a  $mac_a  $ip4_a/24  $ip6_a/64"
		echo "  B: netns $b  dev $b  $mac_b  $ip4_b/24  $ip6_b/64"
		echo "  try: ip netns exec $a ping -c1 $ip4_b"
		echo "  remove: $0 down $name"
	fi
}

stale() { # netns name: 0 when a test process made it and is gone
	[[ $1 =~ ^sl-([0-9]+)-[0-9]+-[ab]$ ]] &&
		! kill -0 "${BASH_REMATCH[1]}" 2>/dev/null
}

ours() { # netns name: 0 when this script made it
	[[ $1 =~ ^(.*)-[ab]$ ]] && [ -e "$STATE/${BASH_REMATCH[1]}" ]
}

cmd_down() {
	local all=0 force=0 name=sl-bed
	while [ $# -gt 0 ]; do
		case $1 in
		--stale) all=1; shift ;;
		--all) all=2; shift ;;
		--force) force=1; shift ;;
		-h | --help) usage ;;
		-*) die "unknown option $1" ;;
		*) name=$1; shift ;;
		esac
	done
	need_root down
	if [ $all -eq 0 ]; then
		check_name "$name"
		bed_down "$name"
		return
	fi
	[ $force -eq 0 ] || [ $all -eq 2 ] || die "--force goes with --all"
	local n=0 kept=0 path ns
	for path in /var/run/netns/sl-*; do
		[ -e "$path" ] || continue
		ns=${path##*/}
		if [ $force -eq 1 ] || stale "$ns" ||
			{ [ $all -eq 2 ] && ours "$ns"; }; then
			ip netns del "$ns" && n=$((n + 1))
			[[ $ns =~ ^(.*)-[ab]$ ]] && rm -f "$STATE/${BASH_REMATCH[1]}"
		else
			kept=$((kept + 1))
		fi
	done
	if [ $kept -gt 0 ]; then
		echo "testbed.sh: removed $n sl- namespace(s), kept $kept in use or" \
			"not made by sluice's test bed (--all --force removes them)"
	else
		echo "testbed.sh: removed $n sl- namespace(s)"
	fi
}

cmd_list() {
	local path
	for path in /var/run/netns/sl-*; do
		[ -e "$path" ] && echo "${path##*/}"
	done
	return 0
}

[ $# -ge 1 ] || usage 1
cmd=$1
shift
case $cmd in
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
list) cmd_list ;;
-h | --help | help) usage ;;
*) usage 1 ;;
esac
