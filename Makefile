# SPDX-License-Identifier: MIT
# The two commands of the README: `make demo` and `make test`.
# Both install what is missing, configure, build, and run.

BUILD      ?= build
ASAN_BUILD ?= build-asan
CC         ?= cc
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
FUZZ_SECONDS ?= 60
DURATION   ?= 600
TSAN_BUILD ?= build-tsan

.PHONY: all deps deps-test build build-asan build-clang test test-plain test-asan \
        test-clang demo fuzz fuzz-replay bench package test-package clean soak build-tsan \
        test-tsan

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh build test

# Configuring every time is cheap and never leaves a half-made cache behind.
build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps-test
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	  -DSHMCHOP_SANITIZE=address,undefined -DSHMCHOP_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The whole suite: conformance, corpus replay and the tools under gcc, the
# same again under ASan+UBSan, then a warning-free build with clang.
test: deps-test
	$(MAKE) test-plain
	$(MAKE) test-asan
	$(MAKE) test-clang
	$(MAKE) test-package
	@echo "make test: all suites passed"

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 -LE no-asan

test-clang: deps-test
	cmake -S . -B build-clang -DCMAKE_C_COMPILER=clang -DSHMCHOP_BUILD_TESTS=OFF $(CMAKE_ARGS)
	cmake --build build-clang -j $(JOBS)

# The Debian package, built for prefix /usr in build-deb/ and copied into
# $(BUILD)/: apt-get install ./$(BUILD)/shmchop_*.deb
package: deps-test
	cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	  -DSHMCHOP_BUILD_TESTS=OFF -DSHMCHOP_BUILD_BENCH=OFF -DSHMCHOP_BUILD_FUZZ=OFF $(CMAKE_ARGS)
	cmake --build build-deb -j $(JOBS)
	cd build-deb && cpack -G DEB
	mkdir -p $(BUILD) && cp build-deb/shmchop_*_amd64.deb $(BUILD)/

test-package: package
	cmake/check-package.sh $(BUILD)/shmchop_$$(sed -n 's/^project(shmchop VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)_amd64.deb

# Chaos at full scale (10,000 writer kills, 100,000 adversary actions,
# DURATION seconds shared among the scenarios), its report into
# $(BUILD)/soak-report.txt, then the concurrency suites under ThreadSanitizer.
# Both halves always run; the target fails when either did.
soak: build
	@status=0; \
	{ $(BUILD)/bin/shmchop-chaos --soak --duration $(DURATION) all; echo $$? > $(BUILD)/soak-status; } \
	  | tee $(BUILD)/soak-report.txt; \
	[ "$$(cat $(BUILD)/soak-status)" = 0 ] || status=1; \
	$(MAKE) test-tsan || status=1; \
	echo "make soak: report in $(BUILD)/soak-report.txt"; \
	grep '^chaos report:' $(BUILD)/soak-report.txt; \
	exit $$status

build-tsan: deps-test
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMCHOP_SANITIZE=thread \
	  -DSHMCHOP_BUILD_BENCH=OFF -DSHMCHOP_BUILD_FUZZ=OFF $(CMAKE_ARGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS)

# The concurrency suites and the two-thread harness under ThreadSanitizer.
test-tsan: build-tsan
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 \
	  -R '^(check_segment|check_segment_stress|check_contention|check_writer_semantics|check_leaks|tsan_threads_.*)$$'

demo: build
	@scripts/demo.sh $(BUILD)/bin

# AFL++ with ASan+UBSan on every harness for FUZZ_SECONDS each, in build-fuzz/.
fuzz:
	@scripts/fuzz.sh run --seconds $(FUZZ_SECONDS)

# Replay every fuzz corpus and saved crash with the plain build.
fuzz-replay:
	@scripts/fuzz.sh replay --build-dir $(BUILD)

# Benchmarks against memcpy, the cache-line floor and the peers (bench/README.md):
# text, JSON and PNG plots into $(BUILD)/bench/; BENCH_SAVE=1 copies them into
# bench/results/, BENCH_QUICK=1 is the ~1 minute run (--quick), BENCH_SECONDS=S
# sets the time per row (default: 1 s, less if a full run would pass ~10 min).
BENCH_SAVE    ?=
BENCH_QUICK   ?=
BENCH_SECONDS ?=
bench:
	@scripts/install-deps.sh build bench
	@scripts/bench.sh --build-dir $(BUILD) --jobs $(JOBS) \
	  $(if $(filter 1,$(BENCH_SAVE)),--save) $(if $(filter 1,$(BENCH_QUICK)),--quick) \
	  $(if $(BENCH_SECONDS),--seconds $(BENCH_SECONDS))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-clang build-deb build-fuzz build-libfuzzer
