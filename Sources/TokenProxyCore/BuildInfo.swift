/// What `tokenproxy --version` prints and `tokenproxy_build_info` labels.
package enum BuildInfo {
    /// The release version; bumped with each release.
    package static let version = "0.9.0"

    /// The compiler that built this binary.
    package static var swiftVersion: String {
        #if compiler(>=6.3)
            "6.3"
        #elseif compiler(>=6.2)
            "6.2"
        #elseif compiler(>=6.1)
            "6.1"
        #else
            "6.0"
        #endif
    }
}
