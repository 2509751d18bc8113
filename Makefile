# modelbay — the two commands a new user needs:
#   make demo   installs what it needs, builds, and runs the main job on local folders
#   make test   installs what it needs, builds, and runs every test suite
JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
# ccache keys on paths relative to the checkout, so another clone (CI's, a worktree) reuses the
# cache; with -g it would also hash the working directory unless told not to.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= true

# Where `make install` puts modelbay (DESTDIR is honoured for packaging).
PREFIX ?= /usr/local

.PHONY: all deps deps-build build install test unit e2e fuzz fuzz-short demo bench soak docker-up asan asan-test clean format

all: build

deps:
	./scripts/install-deps.sh

define compile
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
endef

build: deps
	$(compile)

# The demo needs only the compiler and libraries, not the test tools.
deps-build:
	./scripts/install-deps.sh --build-only

# The binary, its man page (modelbay.1) and bash/zsh completions.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The image tests need a Docker daemon: started here when possible (root,
# docker.io); where none can start they skip and say why.
e2e: build docker-up
	MODELBAY_BIN=$(CURDIR)/$(BUILD)/src/modelbay .venv/bin/pytest tests/e2e -q

docker-up:
	-./scripts/docker-up.sh

test: unit fuzz-short e2e

# The model-loader fuzzer (tests/fuzz, clang + libFuzzer, in build-fuzz/):
# a short run inside `make test`, a long one on its own.
FUZZ_SECONDS ?= 1800
fuzz: deps
	./tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-short: deps
	./tests/fuzz/run.sh 45

demo: deps-build
	$(compile)
	./scripts/demo.sh $(BUILD)/src/modelbay

bench: build
	./benchmarks/run.sh

# 10 minutes of steady load with alias flips and imports (not in `make test`).
soak: build
	MODELBAY_BIN=$(CURDIR)/$(BUILD)/src/modelbay .venv/bin/python benchmarks/soak/soak.py \
	  --out benchmarks/soak/last-run.json

# AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/.
asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMODELBAY_SANITIZE=ON >/dev/null
	cmake --build build-asan -j $(JOBS)

asan-test: asan
	cd build-asan && ctest --output-on-failure -j $(JOBS)

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
