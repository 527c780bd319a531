import Foundation

/// The libFuzzer entry points. One binary holds every target (one build, shared modules);
/// `TOKENPROXY_FUZZ_TARGET` picks which one runs, so each gets its own corpus and coverage.
/// A target traps (`preconditionFailure`) on a broken invariant; libFuzzer records the input.
enum FuzzEntry {
    /// Every target by name: a parser fed the raw bytes, checking its own invariants.
    static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "http-request": HTTPRequestTarget.run,
        "http-response": HTTPResponseTarget.run,
        "http-differential": HTTPDifferentialTarget.run,
        "config": ConfigTarget.run,
        "key-file": KeyFileTarget.run,
        "token-response": TokenResponseTarget.run,
        "introspection-response": IntrospectionTarget.run,
        "jws": JWSTarget.run,
    ]

    nonisolated(unsafe) static var selected: (([UInt8]) -> Void)?
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> CInt {
    let name = ProcessInfo.processInfo.environment["TOKENPROXY_FUZZ_TARGET"] ?? ""
    guard let target = FuzzEntry.targets[name] else {
        let known = FuzzEntry.targets.keys.sorted().joined(separator: ", ")
        FileHandle.standardError.write(
            Data("set TOKENPROXY_FUZZ_TARGET to one of: \(known) (got \"\(name)\")\n".utf8))
        exit(2)
    }
    FuzzEntry.selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzEntry.selected?(bytes)
    return 0
}

/// libFuzzer's driver (compiler-rt, LLVM ≥ 11): parses the libFuzzer flags and runs the loop.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable target's entry point as `<module>_main` (so tests can link the
/// module); libFuzzer's own `main` is therefore never used, and this one starts its driver.
@_cdecl("tokenproxy_fuzz_main")
public func fuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzerTestOneInput(data, size)
    }
}
