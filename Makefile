# The two commands of the README. Meson and ninja do the work underneath.
#   make test    install what is missing, build, run every test
#   make bench   install what is missing, build, run the benchmarks
.PHONY: test bench build clean

test:
	@scripts/deps.sh
	@scripts/test.sh

bench:
	@scripts/deps.sh bench
	@scripts/bench.sh

build:
	@scripts/deps.sh
	@[ -d build ] || meson setup build >/dev/null
	@ninja -C build

clean:
	rm -rf build build-asan build-fuzz build-bench
