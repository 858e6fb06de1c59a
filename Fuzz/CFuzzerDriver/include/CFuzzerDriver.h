#ifndef C_FUZZER_DRIVER_H
#define C_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver with the process's arguments and `testOneInput`,
/// through `LLVMFuzzerRunDriver` (libFuzzer's public API for programs that
/// keep their own `main`).
///
/// SwiftPM links a Swift executable with its entry point renamed to
/// `<Module>_main` and aliased to `main`; with `-parse-as-library` and no
/// `@main` that symbol does not exist and the link fails. So each fuzz
/// executable keeps a `@main` that calls this, and libFuzzer's own `main` is
/// not linked.
int ash_fuzzer_run_driver(int argc, char **argv, int (*testOneInput)(const uint8_t *data, size_t size));

#endif
