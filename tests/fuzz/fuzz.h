/*
 * fuzz.h - the one function every harness tests/fuzz/fuzz_<target>.c
 * defines (libFuzzer's entry point). Built two ways: with -DRSL_FUZZ=ON
 * (clang) into fuzz_<target> linked with -fsanitize=fuzzer, and in every
 * test build into fuzz_<target>_replay with replay.c, which runs it over
 * tests/fuzz/corpus/<target>/ (ctest: fuzz_<target>_corpus).
 * A harness must be deterministic, must not print, and must not take more
 * than a few milliseconds per input.
 */
#ifndef RSL_FUZZ_H
#define RSL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
