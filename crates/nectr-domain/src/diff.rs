//! Unified diffs: parsing (of a whole `git diff`, or of the per-file patches GitHub lists) into
//! files, hunks and lines with their old and new line numbers, and the line map that says where an
//! inline comment may be anchored.

/// What happened to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// New file.
    Added,
    /// Removed file.
    Deleted,
    /// Changed in place.
    Modified,
    /// Moved, perhaps changed too.
    Renamed,
}

/// The kind of a diff line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// `+`: only in the new file.
    Added,
    /// `-`: only in the old file.
    Removed,
    /// ` `: in both.
    Context,
}

/// One line of a hunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    /// Added, removed or context.
    pub kind: LineKind,
    /// Its number in the old file (none for added lines).
    pub old_line: Option<u64>,
    /// Its number in the new file (none for removed lines).
    pub new_line: Option<u64>,
    /// The text, without the leading marker.
    pub text: String,
}

/// A hunk: `@@ -old_start,old_len +new_start,new_len @@ section`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    /// First old line.
    pub old_start: u64,
    /// First new line.
    pub new_start: u64,
    /// The header's trailing context: the nearest enclosing line git found above the hunk
    /// (`mod tests {`, `def test_x():`), empty when there is none.
    pub section: String,
    /// Its lines.
    pub lines: Vec<DiffLine>,
}

/// One file of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiff {
    /// Path in the new tree (the old path for deletions).
    pub path: String,
    /// The old path of a rename.
    pub old_path: Option<String>,
    /// What happened to it.
    pub change: FileChange,
    /// Git reported a binary change (no hunks).
    pub binary: bool,
    /// Its hunks.
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// Lines added, with their new-file numbers.
    pub fn added_lines(&self) -> impl Iterator<Item = (u64, &str)> {
        self.hunks.iter().flat_map(|hunk| hunk.lines.iter()).filter_map(|line| {
            match (line.kind, line.new_line) {
                (LineKind::Added, Some(number)) => Some((number, line.text.as_str())),
                _ => None,
            }
        })
    }

    /// Number of added lines.
    pub fn additions(&self) -> usize {
        self.added_lines().count()
    }

    /// Number of removed lines.
    pub fn deletions(&self) -> usize {
        self.hunks
            .iter()
            .flat_map(|hunk| hunk.lines.iter())
            .filter(|line| line.kind == LineKind::Removed)
            .count()
    }

    /// Whether a comment on new-file `line` (right side) anchors: the line is inside a hunk.
    pub fn anchors_right(&self, line: u64) -> bool {
        self.hunks
            .iter()
            .flat_map(|hunk| hunk.lines.iter())
            .any(|diff_line| diff_line.new_line == Some(line))
    }

    /// The patch text of this file, hunks only, as GitHub lists it.
    pub fn patch(&self) -> String {
        let mut text = String::new();
        for hunk in &self.hunks {
            let old_len = hunk.lines.iter().filter(|line| line.kind != LineKind::Added).count();
            let new_len = hunk.lines.iter().filter(|line| line.kind != LineKind::Removed).count();
            text.push_str(&format!(
                "@@ -{},{old_len} +{},{new_len} @@{}{}\n",
                hunk.old_start,
                hunk.new_start,
                if hunk.section.is_empty() { "" } else { " " },
                hunk.section
            ));
            for line in &hunk.lines {
                let marker = match line.kind {
                    LineKind::Added => '+',
                    LineKind::Removed => '-',
                    LineKind::Context => ' ',
                };
                text.push(marker);
                text.push_str(&line.text);
                text.push('\n');
            }
        }
        text
    }
}

/// Why a diff could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// A hunk header is malformed.
    #[error("line {line}: malformed hunk header {text:?}")]
    BadHunkHeader {
        /// 1-based line in the input.
        line: usize,
        /// The header.
        text: String,
    },
}

/// The text after a hunk header's closing `@@`.
fn hunk_section(header: &str) -> String {
    header
        .strip_prefix("@@ ")
        .and_then(|inner| inner.split_once(" @@"))
        .map_or_else(String::new, |(_, section)| section.trim().to_owned())
}

/// `-a,b +c,d` → (a, c).
fn hunk_starts(header: &str) -> Option<(u64, u64)> {
    let inner = header.strip_prefix("@@ ")?;
    let inner = &inner[..inner.find(" @@")?];
    let (old, new) = inner.split_once(' ')?;
    let start = |range: &str, sign: char| -> Option<u64> {
        range.strip_prefix(sign)?.split(',').next()?.parse().ok()
    };
    Some((start(old, '-')?, start(new, '+')?))
}

/// Strips git's `a/` or `b/` prefix; `/dev/null` is none.
fn diff_path(text: &str) -> Option<String> {
    let text = text.trim_end();
    let text = text.split('\t').next().unwrap_or(text);
    if text == "/dev/null" {
        return None;
    }
    Some(text.strip_prefix("a/").or_else(|| text.strip_prefix("b/")).unwrap_or(text).to_owned())
}

struct Builder {
    files: Vec<FileDiff>,
    old_line: u64,
    new_line: u64,
}

impl Builder {
    fn current(&mut self) -> Option<&mut FileDiff> {
        self.files.last_mut()
    }

    fn start_file(&mut self, path: String) {
        self.files.push(FileDiff {
            path,
            old_path: None,
            change: FileChange::Modified,
            binary: false,
            hunks: Vec::new(),
        });
    }

    fn line(&mut self, kind: LineKind, text: &str) {
        let (old_line, new_line) = match kind {
            LineKind::Added => (None, Some(self.new_line)),
            LineKind::Removed => (Some(self.old_line), None),
            LineKind::Context => (Some(self.old_line), Some(self.new_line)),
        };
        if kind != LineKind::Added {
            self.old_line += 1;
        }
        if kind != LineKind::Removed {
            self.new_line += 1;
        }
        if let Some(hunk) = self.files.last_mut().and_then(|file| file.hunks.last_mut()) {
            hunk.lines.push(DiffLine { kind, old_line, new_line, text: text.to_owned() });
        }
    }
}

/// Parses a `git diff` / GitHub `.diff` text.
///
/// # Errors
/// [`DiffError::BadHunkHeader`] for a malformed `@@` line.
pub fn parse_unified_diff(text: &str) -> Result<Vec<FileDiff>, DiffError> {
    let mut builder = Builder { files: Vec::new(), old_line: 0, new_line: 0 };
    let mut in_hunk = false;
    for (index, raw) in text.lines().enumerate() {
        if let Some(rest) = raw.strip_prefix("diff --git ") {
            // `a/x b/x`: the new path is after the last ` b/`.
            let path = rest.rsplit_once(" b/").map_or(rest, |(_, new)| new).to_owned();
            builder.start_file(path);
            in_hunk = false;
            continue;
        }
        if raw.starts_with("@@") {
            let (old, new) = hunk_starts(raw).ok_or_else(|| DiffError::BadHunkHeader {
                line: index + 1,
                text: raw.to_owned(),
            })?;
            if builder.files.is_empty() {
                builder.start_file(String::new());
            }
            builder.old_line = old.max(1);
            builder.new_line = new.max(1);
            if let Some(file) = builder.current() {
                file.hunks.push(Hunk {
                    old_start: old,
                    new_start: new,
                    section: hunk_section(raw),
                    lines: Vec::new(),
                });
            }
            in_hunk = true;
            continue;
        }
        if in_hunk {
            match raw.chars().next() {
                Some('+') => builder.line(LineKind::Added, &raw[1..]),
                Some('-') => builder.line(LineKind::Removed, &raw[1..]),
                Some(' ') => builder.line(LineKind::Context, &raw[1..]),
                // `\ No newline at end of file` belongs to the previous line; it is no line.
                Some('\\') => {}
                None => builder.line(LineKind::Context, ""),
                Some(_) => in_hunk = false,
            }
            if in_hunk {
                continue;
            }
        }
        let Some(file) = builder.current() else { continue };
        if let Some(old) = raw.strip_prefix("--- ") {
            if diff_path(old).is_none() {
                file.change = FileChange::Added;
            }
        } else if let Some(new) = raw.strip_prefix("+++ ") {
            match diff_path(new) {
                Some(path) => file.path = path,
                None => file.change = FileChange::Deleted,
            }
        } else if raw.starts_with("new file mode") {
            file.change = FileChange::Added;
        } else if raw.starts_with("deleted file mode") {
            file.change = FileChange::Deleted;
        } else if let Some(from) = raw.strip_prefix("rename from ") {
            file.old_path = Some(from.to_owned());
            file.change = FileChange::Renamed;
        } else if raw.starts_with("Binary files ") || raw.starts_with("GIT binary patch") {
            file.binary = true;
        }
    }
    Ok(builder.files)
}

/// Parses one file's patch as GitHub lists it (hunks only).
///
/// # Errors
/// [`DiffError::BadHunkHeader`].
pub fn parse_patch(path: &str, patch: &str) -> Result<FileDiff, DiffError> {
    let mut files = parse_unified_diff(patch)?;
    let mut file = files.pop().unwrap_or(FileDiff {
        path: String::new(),
        old_path: None,
        change: FileChange::Modified,
        binary: false,
        hunks: Vec::new(),
    });
    path.clone_into(&mut file.path);
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "diff --git a/src/lib.rs b/src/lib.rs
index 1111111..2222222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,4 +1,5 @@
 fn one() {}
-fn two() {}
+fn two() -> u8 { 2 }
+fn three() {}
 fn four() {}
 fn five() {}
@@ -10,2 +11,2 @@ impl X {
-old
+new
\\ No newline at end of file
diff --git a/new.txt b/new.txt
new file mode 100644
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+hello
+world
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/old/name.rs b/new/name.rs
similarity index 90%
rename from old/name.rs
rename to new/name.rs
diff --git a/logo.png b/logo.png
Binary files a/logo.png and b/logo.png differ
";

    #[test]
    fn parses_files_hunks_and_line_numbers() {
        let files = parse_unified_diff(DIFF).unwrap();
        assert_eq!(files.len(), 5);
        let lib = &files[0];
        assert_eq!(
            (lib.path.as_str(), lib.change, lib.hunks.len()),
            ("src/lib.rs", FileChange::Modified, 2)
        );
        let added: Vec<(u64, &str)> = lib.added_lines().collect();
        assert_eq!(added, vec![(2, "fn two() -> u8 { 2 }"), (3, "fn three() {}"), (11, "new")]);
        assert_eq!((lib.additions(), lib.deletions()), (3, 2));
        assert!(lib.anchors_right(1) && lib.anchors_right(5) && lib.anchors_right(11));
        assert!(!lib.anchors_right(6) && !lib.anchors_right(12), "\\\\ No newline is not a line");
        assert_eq!((files[1].path.as_str(), files[1].change), ("new.txt", FileChange::Added));
        assert_eq!(files[1].added_lines().map(|(line, _)| line).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!((files[2].path.as_str(), files[2].change), ("gone.txt", FileChange::Deleted));
        assert_eq!(
            (files[3].path.as_str(), files[3].old_path.as_deref(), files[3].change),
            ("new/name.rs", Some("old/name.rs"), FileChange::Renamed)
        );
        assert!(files[4].binary);
        assert_eq!(
            (lib.hunks[0].section.as_str(), lib.hunks[1].section.as_str()),
            ("", "impl X {")
        );
    }

    #[test]
    fn duplicate_lines_keep_their_own_numbers() {
        let file = parse_patch("a.rs", "@@ -0,0 +1,3 @@\n+x\n+x\n+x").unwrap();
        assert_eq!(file.added_lines().map(|(line, _)| line).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(file.path, "a.rs");
    }

    #[test]
    fn patches_round_trip() {
        let file = parse_patch("a.rs", "@@ -3,2 +3,3 @@\n keep\n-drop\n+add\n+more\n").unwrap();
        assert_eq!(file.patch(), "@@ -3,2 +3,3 @@\n keep\n-drop\n+add\n+more\n");
        assert_eq!(parse_patch("a.rs", &file.patch()).unwrap(), file);
        let sectioned = parse_patch("a.rs", "@@ -3 +3 @@ mod tests {\n-a\n+b\n").unwrap();
        assert_eq!(sectioned.hunks[0].section, "mod tests {");
        assert_eq!(sectioned.patch(), "@@ -3,1 +3,1 @@ mod tests {\n-a\n+b\n");
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        assert!(matches!(
            parse_unified_diff("@@ nonsense @@\n+x"),
            Err(DiffError::BadHunkHeader { line: 1, .. })
        ));
        assert!(parse_unified_diff("").unwrap().is_empty());
        assert!(parse_unified_diff("random text\nwithout a diff").unwrap().is_empty());
    }
}
