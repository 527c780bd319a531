extension ConfigurationParser {
    static let sinkKeys = [
        "path", "format", "mode", "owner", "group", "variable", "command", "command_timeout",
        "remove_on_exit",
    ]

    /// `credentials.NAME.sinks`: an array of sink objects; paths must be absolute and unique
    /// across all credentials (two writers on one file would take turns).
    static func parseSinks(_ object: ConfigObject, decoder: inout ConfigDecoder)
        -> [SinkConfiguration]
    {
        let path = object.path.appending("sinks")
        guard let (value, _) = decoder.member(object, "sinks", required: false) else { return [] }
        guard case .array(let elements) = value else {
            decoder.reportType(path, expected: "an array of sinks", got: value)
            return []
        }
        var sinks: [SinkConfiguration] = []
        for (index, element) in elements.enumerated() {
            let sinkPath = path.appending(index: index)
            guard let sink = parseSink(element, at: sinkPath, decoder: &decoder) else { continue }
            if sinks.contains(where: { $0.path == sink.path }) {
                decoder.report(sinkPath.appending("path"), "the same file as an earlier sink")
                continue
            }
            sinks.append(sink)
        }
        return sinks
    }

    private static func parseSink(
        _ value: ConfigJSON, at path: ConfigPath, decoder: inout ConfigDecoder
    ) -> SinkConfiguration? {
        let problemsBefore = decoder.problems.count
        guard let object = decoder.object(value, at: path, keys: sinkKeys) else { return nil }
        let file = decoder.string(object, "path", required: true).flatMap {
            checkAbsolutePath($0, at: path.appending("path"), decoder: &decoder)
        }
        var sink = SinkConfiguration(path: file ?? "/")
        sink.format = decoder.choice(object, "format") ?? sink.format
        if let (value, modePath) = decoder.member(object, "mode", required: false) {
            sink.mode = parseSocketMode(value, at: modePath, decoder: &decoder) ?? sink.mode
        }
        sink.owner = decoder.string(object, "owner").flatMap {
            checkUserOrGroup($0, at: path.appending("owner"), decoder: &decoder)
        }
        sink.group = decoder.string(object, "group").flatMap {
            checkUserOrGroup($0, at: path.appending("group"), decoder: &decoder)
        }
        if let variable = decoder.string(object, "variable") {
            if isShellVariableName(variable) {
                sink.variable = variable
            } else {
                decoder.report(
                    path.appending("variable"),
                    "must be a shell variable name ([A-Za-z_][A-Za-z0-9_]*), got \"\(variable)\"")
            }
        }
        if let command = decoder.stringArray(object, "command") {
            if let program = command.first, program.hasPrefix("/") {
                sink.command = command
            } else {
                decoder.report(
                    path.appending("command"),
                    "must start with an absolute program path (argv, no shell), e.g. [\"/usr/bin/systemctl\", \"reload\", \"app\"]"
                )
            }
        }
        if let seconds = decoder.number(
            object, "command_timeout",
            in: 0.1...Double(Limits.Sink.maxCommandTimeout.components.seconds),
            unit: "seconds")
        {
            sink.commandTimeout = .seconds(seconds)
        }
        sink.removeOnExit = decoder.bool(object, "remove_on_exit") ?? false
        guard decoder.problems.count == problemsBefore, file != nil else { return nil }
        return sink
    }

    /// A user or group: a numeric id, or a name as `useradd`/`groupadd` accept by default.
    private static func checkUserOrGroup(
        _ text: String, at path: ConfigPath, decoder: inout ConfigDecoder
    ) -> String? {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
            let id = Double(text), id <= Limits.Config.maxUserOrGroupID
        {
            return text
        }
        return checkGroupName(text, at: path, decoder: &decoder)
    }

    /// A POSIX shell variable name: what `env` files, `export` and `tokenproxy exec` accept.
    package static func isShellVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return name.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                || $0 == 0x5F
        }
    }
}
