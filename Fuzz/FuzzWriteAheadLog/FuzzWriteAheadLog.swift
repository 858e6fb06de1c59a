import AshFuzzing
import CFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libFuzzer's callback; the harness is `fuzzWriteAheadLog` in AshFuzzing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzWriteAheadLog(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Hands the process to libFuzzer (see CFuzzerDriver.h for why not its `main`).
@main
enum FuzzWriteAheadLog {
    static func main() {
        exit(ash_fuzzer_run_driver(CommandLine.argc, CommandLine.unsafeArgv, fuzzTestOneInput))
    }
}
