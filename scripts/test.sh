#!/usr/bin/env bash
# Builds rsyncd-lite and runs the whole test suite (unit, end-to-end, and the
# transport tests against real servers started on 127.0.0.1).
#   scripts/test.sh              normal build in build/
#   scripts/test.sh --sanitize   ASan+UBSan build in build-asan/
#   scripts/test.sh --tsan       ThreadSanitizer build in build-tsan/: the
#                                tests that run the engine's worker threads
# These are the project's own builds: warnings are errors here (RSL_WERROR).
# A plain `cmake -DCMAKE_BUILD_TYPE=Release` build never uses -Werror.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=build
extra=(-DRSL_WERROR=ON)
tests=()
case "${1:-}" in
--sanitize)
  build=build-asan
  extra+=(-DRSL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0:exitcode=66}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  ;;
--tsan)
  build=build-tsan
  extra+=(-DRSL_TSAN=ON -DCMAKE_BUILD_TYPE=Debug)
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:exitcode=66:suppressions=$top/tests/tsan.supp}
  # the tests whose code runs threads: the engine (fake transport), the
  # end-to-end runs and the daemon
  tests=(-R '^(engine|e2e|daemon)_')
  ;;
"") ;;
*)
  echo "usage: scripts/test.sh [--sanitize|--tsan]" >&2
  exit 2
  ;;
esac
scripts/lint.sh
cmake -S . -B "$build" "${extra[@]}" >/dev/null
targets=()
if [ ${#tests[@]} -gt 0 ]; then
  # a subset of the suite: only its executables are built (each depends on
  # the binary and rsl-delayproxy); the fixtures' scripts need no build
  mapfile -t targets < <(ctest --test-dir "$build" -N "${tests[@]}" |
    sed -n 's/^ *Test *#[0-9]*: \([A-Za-z0-9_]*\)$/\1/p' | grep -v '_fixture_')
  [ ${#targets[@]} -gt 0 ] || { echo "test.sh: no test matches ${tests[*]}" >&2; exit 1; }
  targets=(--target rsyncd-lite "${targets[@]}")
fi
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
repeat=()
if [ "$build" != build ]; then
  # Under a sanitizer every process runs several times slower, and the
  # transport tests run real servers, delay proxies and killed runs on a
  # machine that may have only two cores: a test executable that fails is
  # run once more, and the stage passes only if that second run passes
  # (ctest prints both). The plain suite, the README's command, never
  # retries.
  repeat=(--repeat until-pass:2)
fi
ctest --test-dir "$build" --output-on-failure -j2 "${repeat[@]}" "${tests[@]}"
