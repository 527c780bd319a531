// Two leaks of swift-corelibs-foundation (toolchain 6.3.1) that LeakSanitizer reports, shown
// without any tokenproxy code; Tests/sanitizers/lsan.supp cites this file.
//
//   swiftc -sanitize=address -g foundation-leaks.swift -o leaks
//   ASAN_OPTIONS=detect_leaks=1 ./leaks regex 300   # 3 x 600 bytes leaked
//   ASAN_OPTIONS=detect_leaks=1 ./leaks regex 256   # clean
//   ASAN_OPTIONS=detect_leaks=1 ./leaks process     # 32 bytes leaked
//
// regex: NSRegularExpression(pattern:) copies a pattern longer than 256 UTF-16 units into a
// malloc'd buffer in _CFRegularExpressionCreate and never frees it (2 bytes per unit; shorter
// patterns use a stack buffer). SyscallScanner's pattern is ~640 units: 1282 bytes.
// process: Foundation.Process forms a weak reference (swift_weakAssign in run() or
// waitUntilExit()) whose 32-byte side table LeakSanitizer finds no pointer to.
import Foundation

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first ?? "regex" {
case "process":
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try! process.run()
    process.waitUntilExit()
default:
    let length = Int(arguments.dropFirst().first ?? "300")!
    let pattern = "(" + String(repeating: "a", count: length - 2) + ")"
    for _ in 0..<3 {
        let regex = try! NSRegularExpression(pattern: pattern)
        _ = regex.numberOfMatches(in: "aaa", range: NSRange(location: 0, length: 3))
    }
}
