# The two commands of the README. Meson and ninja do the work underneath.
#   make test    install what is missing, build, run every test
#   make bench   install what is missing, build, run the benchmarks
#                (core rows next to DPDK, then `sluice bench`: the
#                capability-versus-risk table of every receive path on a
#                veth test bed as root, pair and loopback udp without;
#                then, as root, round trips against kernel peers:
#                bench/peers_rtt.sh; RDMA bandwidth over udp and xdp
#                ports next to TCP's (sluice bench --rdma); sockperf
#                with and without `sluice run` (sluice bench --run); last,
#                the DMA
#                staging engine against
#                fio's raw O_DIRECT rate: bench/dma_bench)
.PHONY: test bench build clean

test:
	@scripts/deps.sh
	@scripts/test.sh

bench:
	@scripts/deps.sh bench
	@scripts/bench.sh
	@echo
	@[ -f build-bench/build.ninja ] || meson setup build-bench \
		--buildtype=release -Dtests=disabled >/dev/null
	@ninja -C build-bench tools/sluice >build-bench.sluice.log 2>&1 || \
		{ cat build-bench.sluice.log; exit 1; }
	@env -u SLUICE_DEBUG build-bench/tools/sluice bench --peers \
		--json build-bench/sluice-bench.json \
		--svg build-bench/sluice-bench.svg
	@echo
	@bench/peers_rtt.sh build-bench/tools/sluice
	@echo
	@env -u SLUICE_DEBUG build-bench/tools/sluice bench --rdma \
		--json build-bench/sluice-bench-rdma.json
	@echo
	@ninja -C build-bench preload/libsluice-preload.so \
		>build-bench.preload.log 2>&1 || \
		{ cat build-bench.preload.log; exit 1; }
	@env -u SLUICE_DEBUG build-bench/tools/sluice bench --run \
		--json build-bench/sluice-bench-run.json
	@echo
	@ninja -C build-bench bench/dma_bench >build-bench.dma.log 2>&1 || \
		{ cat build-bench.dma.log; exit 1; }
	@build-bench/bench/dma_bench --size 256 --reps 3

build:
	@scripts/deps.sh
	@[ -d build ] || meson setup build >/dev/null
	@ninja -C build

clean:
	rm -rf build build-asan build-tsan build-fuzz build-bench
