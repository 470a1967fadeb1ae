//! Which files are not reviewed line by line: lockfiles, vendored, generated and minified files,
//! and the patterns a repository adds (`.gitignore`-like globs).

/// `*` (any characters but `/`), `**` (any characters), `?` (one character but `/`); a pattern
/// without `/` matches a file name in any folder, as in `.gitignore`.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) if rest.first() == Some(&b'*') => {
                let rest = rest.get(1..).unwrap_or_default();
                match rest.strip_prefix(b"/") {
                    // `**/x`: x at the start or just after a `/`, never inside a name.
                    Some(after) => (0..=text.len())
                        .filter(|skip| *skip == 0 || text[skip - 1] == b'/')
                        .any(|skip| matches(after, &text[skip..])),
                    None => (0..=text.len()).any(|skip| matches(rest, &text[skip..])),
                }
            }
            Some((b'*', rest)) => {
                let limit = text.iter().position(|byte| *byte == b'/').unwrap_or(text.len());
                (0..=limit).any(|skip| matches(rest, &text[skip..]))
            }
            Some((b'?', rest)) => {
                text.first().is_some_and(|byte| *byte != b'/') && matches(rest, &text[1..])
            }
            Some((byte, rest)) => text.first() == Some(byte) && matches(rest, &text[1..]),
        }
    }
    if let Some(folder) = pattern.strip_suffix('/') {
        // `vendor/`: everything below a folder of that name.
        let folder = folder.trim_start_matches('/');
        let anywhere = if folder.contains('/') { String::new() } else { "**/".to_owned() };
        return glob_match(&format!("{anywhere}{folder}/**"), path);
    }
    if pattern.contains('/') {
        matches(pattern.trim_start_matches('/').as_bytes(), path.as_bytes())
    } else {
        let name = path.rsplit('/').next().unwrap_or(path);
        matches(pattern.as_bytes(), name.as_bytes())
    }
}

/// Which files are not reviewed line by line.
#[derive(Clone, Debug)]
pub struct Exclusions {
    /// Skip lockfiles, vendored, generated and minified files.
    pub defaults: bool,
    /// More patterns to skip ([`glob_match`]).
    pub globs: Vec<String>,
}

impl Default for Exclusions {
    fn default() -> Self {
        Self { defaults: true, globs: Vec::new() }
    }
}

impl Exclusions {
    /// Why `path` is skipped, when it is.
    pub fn reason(&self, path: &str) -> Option<String> {
        if self.defaults
            && let Some(reason) = skip_reason(path)
        {
            return Some(reason.to_owned());
        }
        self.globs
            .iter()
            .find(|glob| glob_match(glob, path))
            .map(|glob| format!("excluded by the pattern `{glob}`"))
    }
}

/// Files nobody reviews line by line, and why.
pub fn skip_reason(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    const LOCKFILES: [&str; 9] = [
        "Cargo.lock",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Gemfile.lock",
        "go.sum",
        "composer.lock",
        "Pipfile.lock",
    ];
    if LOCKFILES.contains(&name) {
        return Some("lockfile");
    }
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("vendor/")
        || lower.contains("/vendor/")
        || lower.contains("node_modules/")
        || lower.starts_with("third_party/")
    {
        return Some("vendored code");
    }
    if name.ends_with(".min.js") || name.ends_with(".min.css") || name.ends_with(".map") {
        return Some("minified");
    }
    if lower.contains("/generated/")
        || lower.starts_with("generated/")
        || name.ends_with(".pb.go")
        || name.ends_with("_pb2.py")
        || name.ends_with(".g.dart")
    {
        return Some("generated");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Exclusions, glob_match, skip_reason};

    #[test]
    fn globs_match_like_gitignore() {
        assert!(glob_match("*.snap", "tests/snapshots/a.snap"));
        assert!(glob_match("docs/**", "docs/guide/intro.md"));
        assert!(glob_match("**/fixtures/*.json", "crates/x/fixtures/a.json"));
        assert!(!glob_match("**/fixtures/*.json", "crates/x/fixtures/deep/a.json"));
        assert!(glob_match("src/?.rs", "src/a.rs"));
        assert!(!glob_match("src/*.rs", "src/a/b.rs"));
        assert!(!glob_match("*.snap", "src/snap.rs"));
        assert!(!glob_match("**/fixtures/*.json", "myfixtures/a.json"));
        assert!(!glob_match("a/**/b", "a/xb"));
        assert!(glob_match("a/**/b", "a/b"));
        assert!(glob_match("vendor/", "third/vendor/lib.go"));
        assert!(glob_match("vendor/", "vendor/lib.go"));
        assert!(!glob_match("vendor/", "vendors/lib.go"));
        let exclusions = Exclusions { defaults: true, globs: vec!["*.snap".to_owned()] };
        assert_eq!(
            exclusions.reason("a/b.snap").as_deref(),
            Some("excluded by the pattern `*.snap`")
        );
        assert_eq!(exclusions.reason("Cargo.lock").as_deref(), Some("lockfile"));
        let none = Exclusions { defaults: false, globs: Vec::new() };
        assert_eq!(none.reason("Cargo.lock"), None);
    }

    #[test]
    fn lockfiles_vendored_generated_and_minified_files_are_skipped() {
        assert_eq!(skip_reason("Cargo.lock"), Some("lockfile"));
        assert_eq!(skip_reason("web/yarn.lock"), Some("lockfile"));
        assert_eq!(skip_reason("vendor/github.com/x/y.go"), Some("vendored code"));
        assert_eq!(skip_reason("static/app.min.js"), Some("minified"));
        assert_eq!(skip_reason("api/user.pb.go"), Some("generated"));
        assert_eq!(skip_reason("src/main.rs"), None);
    }
}
