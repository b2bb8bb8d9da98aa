#!/usr/bin/env bash
# Install into a scratch root, then build a program against the installed
# library through pkg-config alone (as a user would) and run it. Also checks
# that the shared library exports nothing but sl_ symbols.
set -euo pipefail
build=$1
src=$2
root=$(mktemp -d /tmp/sl-install.XXXXXX)
trap 'rm -rf "$root"' EXIT

meson install -C "$build" --destdir "$root" --no-rebuild --quiet
pc=$(find "$root" -name sluice.pc | head -n1)
[ -n "$pc" ] || { echo "sluice.pc not installed"; exit 1; }
for h in sluice.h core.h pkt.h mem.h ring.h net.h port.h udp.h rdma.h probe.h auto.h privs.h live.h dma.h dma_topo.h telemetry.h lcore.h; do
	[ -n "$(find "$root" -path "*/include/sluice/$h")" ] ||
		{ echo "include/sluice/$h not installed"; exit 1; }
done
so=$(find "$root" -name 'libsluice.so.*.*' | head -n1)
[ -n "$(find "$root" -name libsluice.a)" ] || { echo "libsluice.a missing"; exit 1; }

# only sl_ symbols leave the shared library
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' |
	grep -v '^sl_' || true)
if [ -n "$bad" ]; then
	echo "exported symbols without the sl_ prefix:"
	echo "$bad"
	exit 1
fi

export PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs sluice)
cc -std=c11 -Wall -Wextra -Werror -o "$root/hello" "$src/tests/install/hello.c" $flags
LD_LIBRARY_PATH=$(dirname "$so") "$root/hello"

# loaded at run time by a program not linked with it, and used from a
# plugin's code on two threads: the library must not need static TLS
cc -std=c11 -Wall -Wextra -Werror -fPIC -shared -o "$root/plugin.so" \
	"$src/tests/install/dlopen_plugin.c" $flags -pthread
cc -std=c11 -Wall -Wextra -Werror -o "$root/dlopen_host" \
	"$src/tests/install/dlopen_host.c" -ldl
if readelf -d "$so" | grep -q STATIC_TLS; then
	echo "libsluice.so needs static TLS (an initial-exec TLS variable):" \
		"dlopen fails once the startup surplus is used up"
	exit 1
fi
"$root/dlopen_host" "$so" "$root/plugin.so"
