internal import CLinuxShims

/// Handing memory the process no longer uses back to the kernel.
extension Posix {
    /// Returns the free memory at the top of every malloc arena, and whole free pages inside
    /// them, to the kernel. Start-up (configuration and key parsing, the first token fetch)
    /// leaves freed heap behind that a long-running daemon would otherwise keep resident.
    /// Returns whether any memory was released.
    ///
    /// The corresponding C function is `malloc_trim`.
    @discardableResult
    package static func releaseFreeMemory() -> Bool {
        CLinuxShims_malloc_trim() != 0
    }
}
