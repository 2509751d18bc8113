# modelbay — the two commands a new user needs:
#   make demo   installs what it needs, builds, and runs the main job on local folders
#   make test   installs what it needs, builds, and runs every test suite
JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build test unit e2e demo bench asan asan-test clean format

all: build

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

e2e: build
	MODELBAY_BIN=$(CURDIR)/$(BUILD)/src/modelbay .venv/bin/pytest tests/e2e -q

test: unit e2e

demo: build
	./scripts/demo.sh $(BUILD)/src/modelbay

bench: build
	./benchmarks/run.sh

# AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/.
asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMODELBAY_SANITIZE=ON >/dev/null
	cmake --build build-asan -j $(JOBS)

asan-test: asan
	cd build-asan && ctest --output-on-failure -j $(JOBS)

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp')

clean:
	rm -rf $(BUILD) build-asan
