#!/usr/bin/env bash
# fuzz.sh TARGET SECONDS - builds the libFuzzer harness tests/fuzz/fuzz_TARGET.c
# in build-fuzz/ (clang, -DRSL_FUZZ=ON: libFuzzer + ASan + UBSan) and runs it
# for SECONDS. It starts from the seeds in tests/fuzz/corpus/TARGET/ (read,
# never written) and keeps what it learns in build-fuzz/corpus/TARGET/.
# Exits non-zero when the harness crashes, leaks or times out; the input that
# did it is in build-fuzz/artifacts/TARGET/. After the fix, copy it into
# tests/fuzz/corpus/TARGET/: every test build replays that corpus
# (ctest -R fuzz_TARGET_corpus), so the bug stays fixed.
#   scripts/fuzz.sh sftp_reply 300
# Env: FUZZ_ARGS (more libFuzzer flags, e.g. "-jobs=2 -workers=2").
set -euo pipefail
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
secs=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -f "tests/fuzz/fuzz_$target.c" ] || { echo "fuzz: no tests/fuzz/fuzz_$target.c" >&2; exit 2; }
command -v clang >/dev/null || { echo "fuzz: clang is needed (scripts/deps.sh)" >&2; exit 2; }
CC=clang cmake -S . -B build-fuzz -DRSL_FUZZ=ON -DRSL_TESTS=OFF -DRSL_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target "fuzz_$target" -j"$(nproc)"
work=build-fuzz/corpus/$target
art=build-fuzz/artifacts/$target
mkdir -p "$work" "$art" "tests/fuzz/corpus/$target"
dict=()
[ -f "tests/fuzz/fuzz_$target.dict" ] && dict=(-dict="tests/fuzz/fuzz_$target.dict")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
set +e
# shellcheck disable=SC2086
"build-fuzz/fuzz_$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$art/" -print_final_stats=1 "${dict[@]}" ${FUZZ_ARGS:-} \
  "$work" "tests/fuzz/corpus/$target"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "fuzz: fuzz_$target failed (exit $rc); the input is in $art/" >&2
  exit 1
fi
echo "fuzz: fuzz_$target ran ${secs}s without a finding; corpus in $work"
