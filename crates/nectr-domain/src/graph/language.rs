//! Languages by file extension (the original's map, with its names), and the vendored, generated
//! and build folders a scan ignores.

/// A file's language, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// `.py`.
    Python,
    /// `.js`, `.jsx`, `.mjs`, `.cjs`.
    JavaScript,
    /// `.ts`, `.tsx`, `.mts`, `.cts`.
    TypeScript,
    /// `.java`.
    Java,
    /// `.go`.
    Go,
    /// `.rb`.
    Ruby,
    /// `.rs`.
    Rust,
    /// `.cpp`, `.cc`, `.hpp`.
    Cpp,
    /// `.c`, `.h`.
    C,
    /// `.cs`.
    CSharp,
    /// `.php`.
    Php,
    /// `.swift`.
    Swift,
    /// `.kt`.
    Kotlin,
    /// `.scala`.
    Scala,
    /// `.sh`.
    Shell,
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.json`.
    Json,
    /// `.md`.
    Markdown,
    /// `.html`.
    Html,
    /// `.css`.
    Css,
    /// `.sql`.
    Sql,
    /// `.tf`.
    Terraform,
    /// Anything else.
    Other,
}

impl Language {
    /// Every language.
    pub const ALL: [Self; 23] = [
        Self::Python,
        Self::JavaScript,
        Self::TypeScript,
        Self::Java,
        Self::Go,
        Self::Ruby,
        Self::Rust,
        Self::Cpp,
        Self::C,
        Self::CSharp,
        Self::Php,
        Self::Swift,
        Self::Kotlin,
        Self::Scala,
        Self::Shell,
        Self::Yaml,
        Self::Json,
        Self::Markdown,
        Self::Html,
        Self::Css,
        Self::Sql,
        Self::Terraform,
        Self::Other,
    ];

    /// The language of `path`, by its extension.
    pub fn of_path(path: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        let Some((_, extension)) = name.rsplit_once('.') else { return Self::Other };
        match extension.to_ascii_lowercase().as_str() {
            "py" => Self::Python,
            "js" | "jsx" | "mjs" | "cjs" => Self::JavaScript,
            "ts" | "tsx" | "mts" | "cts" => Self::TypeScript,
            "java" => Self::Java,
            "go" => Self::Go,
            "rb" => Self::Ruby,
            "rs" => Self::Rust,
            "cpp" | "cc" | "hpp" => Self::Cpp,
            "c" | "h" => Self::C,
            "cs" => Self::CSharp,
            "php" => Self::Php,
            "swift" => Self::Swift,
            "kt" => Self::Kotlin,
            "scala" => Self::Scala,
            "sh" => Self::Shell,
            "yaml" | "yml" => Self::Yaml,
            "json" => Self::Json,
            "md" => Self::Markdown,
            "html" => Self::Html,
            "css" => Self::Css,
            "sql" => Self::Sql,
            "tf" => Self::Terraform,
            _ => Self::Other,
        }
    }

    /// The original's display name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Python => "Python",
            Self::JavaScript => "JavaScript",
            Self::TypeScript => "TypeScript",
            Self::Java => "Java",
            Self::Go => "Go",
            Self::Ruby => "Ruby",
            Self::Rust => "Rust",
            Self::Cpp => "C++",
            Self::C => "C",
            Self::CSharp => "C#",
            Self::Php => "PHP",
            Self::Swift => "Swift",
            Self::Kotlin => "Kotlin",
            Self::Scala => "Scala",
            Self::Shell => "Shell",
            Self::Yaml => "YAML",
            Self::Json => "JSON",
            Self::Markdown => "Markdown",
            Self::Html => "HTML",
            Self::Css => "CSS",
            Self::Sql => "SQL",
            Self::Terraform => "Terraform",
            Self::Other => "Other",
        }
    }

    /// The language with display name `text`; unknown names are [`Language::Other`].
    pub fn parse(text: &str) -> Self {
        Self::ALL.into_iter().find(|language| language.as_str() == text).unwrap_or(Self::Other)
    }
}

/// Folders a scan never indexes: dependencies, build output, caches and generated code.
pub const IGNORED_FOLDERS: &[&str] = &[
    "node_modules",
    ".git",
    "dist",
    "build",
    "target",
    "out",
    "__pycache__",
    ".next",
    ".nuxt",
    "vendor",
    "third_party",
    ".venv",
    "venv",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    "coverage",
    ".gradle",
    "bower_components",
    "generated",
    "__generated__",
];

/// Whether a scan ignores `path`: a segment is an ignored folder, or the file is minified.
pub fn is_ignored_path(path: &str) -> bool {
    let mut segments = path.split('/').peekable();
    while let Some(segment) = segments.next() {
        let is_folder = segments.peek().is_some();
        match is_folder {
            true if IGNORED_FOLDERS.contains(&segment) => return true,
            false if segment.ends_with(".min.js") || segment.ends_with(".min.css") => return true,
            _ => {}
        }
    }
    false
}
