#include "CFuzzerDriver.h"

// Provided by libclang_rt.fuzzer, linked by -sanitize=fuzzer.
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int ash_fuzzer_run_driver(int argc, char **argv, int (*testOneInput)(const uint8_t *data, size_t size)) {
    return LLVMFuzzerRunDriver(&argc, &argv, testOneInput);
}
