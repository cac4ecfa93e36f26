#!/usr/bin/env bash
# Builds the project (library, binary and, for some, tests; no test run) the ways users
# and packagers build it: every CMake build type with gcc (RelWithDebInfo,
# the default, is scripts/test.sh's build), and clang. CI runs
# this with warnings as errors so a warning that only -O3 or clang shows is
# caught here, while a user's own build never stops on one (RSL_WERROR is off
# by default).
#   scripts/build-matrix.sh           all of them, -Werror
#   scripts/build-matrix.sh --no-werror
#   scripts/build-matrix.sh --clean  remove each build once it built (CI:
#                                    five builds need not share a small disk)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
werror=ON clean=0
for a in "$@"; do
  case "$a" in
  --no-werror) werror=OFF ;;
  --clean) clean=1 ;;
  *)
    echo "usage: scripts/build-matrix.sh [--no-werror] [--clean]" >&2
    exit 2
    ;;
  esac
done
base=${RSL_MATRIX_DIR:-$top/build-matrix}
# RelWithDebInfo with gcc, the default build type, is scripts/test.sh's own
# build (-Werror); it is not built a second time here. The tests are built
# with the optimising builds (-O3 with gcc and clang), where new warnings
# appear; MinSizeRel and Debug build the library and the binary, what users
# and packagers build that way (the test code's Debug build is the ASan and
# TSan builds of scripts/test.sh, also -Werror).
configs=("Release gcc ON" "MinSizeRel gcc OFF" "Debug gcc OFF" "Release clang ON")
for c in "${configs[@]}"; do
  set -- $c
  type=$1 cc=$2 tests=$3
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build-matrix: $cc not installed (scripts/deps.sh installs it)" >&2
    exit 1
  fi
  dir=$base/$type-$cc
  echo "== $type with $cc (tests: $tests)"
  CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DRSL_TESTS="$tests" \
    -DRSL_WERROR=$werror >/dev/null
  cmake --build "$dir" -j"$(nproc)" >"$dir.log" 2>&1 || { tail -40 "$dir.log"; exit 1; }
  [ "$clean" = 1 ] && rm -rf "$dir" "$dir.log"
done
echo "build-matrix: ok (${#configs[@]} builds)"
