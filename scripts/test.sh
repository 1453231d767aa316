#!/usr/bin/env bash
# Builds and runs every test: installs dependencies, builds with warnings as errors and runs the whole
# ctest suite (unit, conformance, integration against the real broker, bench smoke), then rebuilds
# the broker-free tests with ASan+UBSan and runs them again, the fuzz targets, the Debian package test and
# the Docker image and compose stack test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
BUILD_DIR=build bash scripts/build.sh -DWARNINGS_AS_ERRORS=ON -DWITH_SANITIZERS=OFF
(cd build && ctest --output-on-failure --timeout 600 -j2)

# Sanitizers cover the logic libraries; the plugin modules run inside the uninstrumented broker binary.
# -O1 and line tables only (-g1): what ASan recommends, and about a third less compile time than -O2 -g.
BUILD_DIR=build-asan bash scripts/build.sh -DWARNINGS_AS_ERRORS=ON -DWITH_SANITIZERS=ON -DWITH_BENCH=OFF \
  -DWITH_INTEGRATION_TESTS=OFF '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG'
(cd build-asan && ctest --output-on-failure --timeout 600 -j2 -L 'unit|conformance')

# Every fuzz target (docs/fuzzing.md) built with clang-14 and libFuzzer, each run for 10 s (their corpora
# are replayed by ctest above; longer runs: docs/fuzzing.md).
bash scripts/fuzz.sh 10

# The Debian package: built, installed by apt into a Debian 12 root, its broker run with an example.
bash scripts/deb-test.sh

# The Docker image, alone and in the warehouse compose stack (VictoriaMetrics override), on a private dockerd.
bash scripts/docker-test.sh
