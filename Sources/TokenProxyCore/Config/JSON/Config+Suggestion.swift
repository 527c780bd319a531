/// "Did you mean …?" for unknown keys and enum values.
package enum ConfigSuggestion {
    /// The candidate closest to `word`, if it is close enough to be a plausible typo.
    ///
    /// Comparison ignores case, `_` and `-` first (so `clientId` finds `client_id`, `es256`
    /// finds `ES256`), then falls back to the optimal-string-alignment distance, where swapping
    /// two neighbouring letters (`grnat` → `grant`) counts as one edit. Ties go to the earlier
    /// candidate. A word must keep at least one letter of its own: `x` never suggests `tcp`.
    /// Last, an abbreviation of three letters or more finds the word it starts (`warn` finds
    /// `warning`).
    package static func closest(to word: String, among candidates: [String]) -> String? {
        let normalizedWord = normalize(word)
        if let same = candidates.first(where: { normalize($0) == normalizedWord }) { return same }
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            guard distance <= Limits.Config.maxSuggestionDistance, distance < word.count else {
                continue
            }
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        if let best { return best.candidate }
        guard normalizedWord.count >= 3 else { return nil }
        return candidates.first { normalize($0).hasPrefix(normalizedWord) }
    }

    /// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one
    /// substring) over Unicode scalars.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    private static func normalize(_ word: String) -> String {
        String(word.lowercased().unicodeScalars.filter { $0 != "_" && $0 != "-" })
    }
}
