/// One thing wrong with a configuration file: where, and what to do about it.
package struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    /// A JSON path like `credentials.gateway.grant`, `line 3, column 7` for a syntax error, or
    /// empty when the problem concerns the whole file (it cannot be read, it is not an object).
    package var path: String
    /// What is wrong and, where it is not obvious, how to fix it. Never contains a secret.
    package var message: String

    package init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    package init(_ path: ConfigPath, _ message: String) {
        self.init(path: path.description, message: message)
    }

    package var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A configuration file that cannot be used, with every problem found in it, not just the
/// first: an operator fixing a file should not have to run `tokenproxy check` once per typo.
package struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the operator named it, for the start of each line.
    package var file: String
    /// In the order they were found, which follows the file.
    package var problems: [ConfigurationProblem]

    package init(file: String, problems: [ConfigurationProblem]) {
        self.file = file
        self.problems = problems
    }

    /// One line per problem, each starting with the file like a compiler diagnostic:
    /// `/etc/tokenproxy/config.json: credentials.gateway.grnat: unknown key; did you mean 'grant'?`
    package var description: String {
        problems.map { "\(file): \($0)" }.joined(separator: "\n")
    }
}
