# The two commands of the README. Meson and ninja do the work underneath.
#   make test    install what is missing, build, run every test
#   make bench   install what is missing, build, run the benchmarks
#                (core rows next to DPDK, then receive rates on a veth
#                test bed, which needs root)
.PHONY: test bench build clean

test:
	@scripts/deps.sh
	@scripts/test.sh

bench:
	@scripts/deps.sh bench
	@scripts/bench.sh
	@echo
	@scripts/bench_rx.sh

build:
	@scripts/deps.sh
	@[ -d build ] || meson setup build >/dev/null
	@ninja -C build

clean:
	rm -rf build build-asan build-fuzz build-bench
