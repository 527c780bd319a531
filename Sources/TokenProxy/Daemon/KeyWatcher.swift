import Dispatch
import FoundationEssentials
import Synchronization
import TokenProxyCore
import TokenProxyPosix

/// Notices that a credential's key file changed on disk, so that a rotated key is used without
/// a SIGHUP. Two sources, one check: inotify on the keys' directories wakes the check at once;
/// a periodic `stat` (every `Limits.Reload.keyPollInterval`) is the fallback where inotify
/// cannot see the change (network file systems, a watch limit reached). The check compares
/// each file's device, inode, size and modification time (following symbolic links) with what
/// it saw last, and calls `onChange` with the paths that differ.
///
/// What happens then is the daemon's reload: a key that fails to parse refuses the reload (the
/// old key stays in service and the log says why); a good one replaces the credential's token.
// @unchecked: `timer` is set once in `init` and only cancelled in `deinit`; everything that
// changes is in the `Mutex`.
final class KeyWatcher: @unchecked Sendable {
    private struct State {
        var seen: [String: FileStatus?] = [:]
    }

    private let state = Mutex(State())
    private let onChange: @Sendable ([String]) -> Void
    private let directories: DirectoryWatch?
    private let timer: any DispatchSourceTimer

    /// Starts the periodic check and, if inotify is available, the watch thread.
    init(interval: Duration, onChange: @escaping @Sendable ([String]) -> Void) {
        self.onChange = onChange
        directories = try? DirectoryWatch()
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "tokenproxy.keys"))
        let seconds =
            Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        timer.schedule(deadline: .now() + seconds, repeating: seconds, leeway: .milliseconds(100))
        timer.setEventHandler { [weak self] in self?.check() }
        timer.resume()
        if let directories {
            // Without the thread the periodic check still notices changes, only later.
            try? Posix.startThread(name: "tokenproxy.keywatch") { [weak self] in
                while directories.waitForChange() {
                    guard let self else { return }
                    self.check()
                }
            }
        }
    }

    deinit { timer.cancel() }

    /// Watches `paths` from now on, taking their current state as the baseline.
    func watch(_ paths: [String]) {
        var seen: [String: FileStatus?] = [:]
        for path in paths { seen[path] = try? Posix.pathStatus(path) }
        state.withLock { $0.seen = seen }
        for directory in Set(paths.map(Self.directory(of:))) {
            try? directories?.add(directory: directory)
        }
    }

    /// Compares every watched file with what was seen last; reports the ones that changed.
    func check() {
        let changed = state.withLock { state -> [String] in
            var changed: [String] = []
            for (path, before) in state.seen {
                let now = try? Posix.pathStatus(path)
                guard now != before else { continue }
                state.seen[path] = now
                // A key that disappeared is not a rotation yet: wait for the new one.
                if now != nil { changed.append(path) }
            }
            return changed.sorted()
        }
        if !changed.isEmpty { onChange(changed) }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
