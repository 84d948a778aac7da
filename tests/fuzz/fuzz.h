/*
 * fuzz.h - the libFuzzer entry point every harness in tests/fuzz/ defines.
 *
 * Each fuzz_<name>.c is linked two ways: with clang's -fsanitize=fuzzer
 * (libFuzzer supplies main, `make fuzz`), or with replay_main.c (gcc,
 * ASan/UBSan) which feeds it every saved input of corpus/<name>/ and
 * regress/<name>/ (`make check`). A harness must not keep state between
 * inputs that changes what the next input does, must not print, and must
 * return 0.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Harness check that must hold for any input: abort (a crash the fuzzer
 * saves) rather than assert (compiled out with NDEBUG). */
#define FUZZ_CHECK(cond) do { if (!(cond)) fuzz_fail(#cond, __FILE__, __LINE__); } while (0)

void fuzz_fail(const char *what, const char *file, int line) __attribute__((noreturn));

#endif
