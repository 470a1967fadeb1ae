//! The offline reviewer's rules as a closed set: each rule's id (the finding's category), its
//! default severity, and whether it is on by default. A rule is on by default only when its
//! precision, measured by hand on the history of public projects (`BENCHMARKS.md`), is at least
//! 0.6; the others are opt-in (`[review.offline] enable`): `unwrap` and `missing-tests`.

use std::collections::BTreeSet;

use nectr_domain::review::Severity;

/// One offline rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Credentials committed in the clear.
    Secret,
    /// `<<<<<<<` / `=======` / `>>>>>>>` committed.
    MergeConflict,
    /// TLS certificate verification switched off.
    TlsDisabled,
    /// SQL text built by splicing values into strings.
    SqlInjection,
    /// `eval` / `exec` of a string built at run time.
    Eval,
    /// `dbg!`, `console.log`, `debugger`, breakpoints left in.
    DebugLeftover,
    /// A `TODO` / `FIXME` without an issue.
    Todo,
    /// `unwrap` / `expect` that can panic in non-test Rust.
    Unwrap,
    /// A new file of more than a thousand lines.
    LargeFile,
    /// A lockfile changed without its manifest.
    Lockfile,
    /// Behaviour-bearing source changed and no test did.
    MissingTests,
    /// A file many others import (the code graph's blast radius) changed and no test did.
    BlastRadius,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 12] = [
        Rule::Secret,
        Rule::MergeConflict,
        Rule::TlsDisabled,
        Rule::SqlInjection,
        Rule::Eval,
        Rule::DebugLeftover,
        Rule::Todo,
        Rule::Unwrap,
        Rule::LargeFile,
        Rule::Lockfile,
        Rule::MissingTests,
        Rule::BlastRadius,
    ];

    /// The rule's id: the category of its findings and its name in `[review.offline]`.
    pub const fn id(self) -> &'static str {
        match self {
            Rule::Secret => "secret",
            Rule::MergeConflict => "merge-conflict",
            Rule::TlsDisabled => "tls-disabled",
            Rule::SqlInjection => "sql-injection",
            Rule::Eval => "eval",
            Rule::DebugLeftover => "debug-leftover",
            Rule::Todo => "todo",
            Rule::Unwrap => "unwrap",
            Rule::LargeFile => "large-file",
            Rule::Lockfile => "lockfile",
            Rule::MissingTests => "missing-tests",
            Rule::BlastRadius => "untested-blast-radius",
        }
    }

    /// The rule named `id`, if there is one.
    pub fn parse(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.id() == id)
    }

    /// The severity of the rule's findings.
    pub const fn severity(self) -> Severity {
        match self {
            Rule::Secret
            | Rule::MergeConflict
            | Rule::TlsDisabled
            | Rule::SqlInjection
            | Rule::Eval => Severity::Critical,
            Rule::LargeFile | Rule::Lockfile | Rule::BlastRadius => Severity::Moderate,
            Rule::DebugLeftover | Rule::Todo | Rule::Unwrap | Rule::MissingTests => Severity::Minor,
        }
    }

    /// Whether the rule runs without being asked for: its precision measured by hand on 2,026
    /// commits of six public projects is at least 0.6 (`todo`: 0.88), or it never fired there
    /// and is exact on the labelled corpus (the critical rules, debug leftovers, large files,
    /// lockfiles). `unwrap` (0.40) and `missing-tests` (0.39) are opt-in. See `BENCHMARKS.md`,
    /// "The offline reviewer on real history". `untested-blast-radius` needs the code graph, which
    /// that history had not; it is on because it fires only on files the graph shows at least
    /// five others import, where a change without a test is the risk the graph exists to name.
    pub const fn enabled_by_default(self) -> bool {
        match self {
            Rule::Secret
            | Rule::MergeConflict
            | Rule::TlsDisabled
            | Rule::SqlInjection
            | Rule::Eval
            | Rule::DebugLeftover
            | Rule::Todo
            | Rule::LargeFile
            | Rule::Lockfile
            | Rule::BlastRadius => true,
            Rule::Unwrap | Rule::MissingTests => false,
        }
    }
}

/// Which rules run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    enabled: BTreeSet<Rule>,
}

impl Default for RuleSet {
    /// The rules that are on by default.
    fn default() -> Self {
        Self { enabled: Rule::ALL.into_iter().filter(|rule| rule.enabled_by_default()).collect() }
    }
}

impl RuleSet {
    /// Every rule, the opt-in ones too (the labelled corpus runs them all).
    pub fn all() -> Self {
        Self { enabled: Rule::ALL.into_iter().collect() }
    }

    /// The defaults, with `enable` switched on and then `disable` switched off.
    pub fn with(enable: &[Rule], disable: &[Rule]) -> Self {
        let mut set = Self::default();
        set.enabled.extend(enable.iter().copied());
        for rule in disable {
            set.enabled.remove(rule);
        }
        set
    }

    /// Whether `rule` runs.
    pub fn contains(&self, rule: Rule) -> bool {
        self.enabled.contains(&rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_opt_in_rules_can_be_switched_on_and_off() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(rule.id()), Some(rule));
        }
        assert_eq!(Rule::parse("nonsense"), None);
        assert!(!RuleSet::default().contains(Rule::MissingTests));
        assert!(
            !RuleSet::default().contains(Rule::Unwrap) && RuleSet::default().contains(Rule::Todo)
        );
        let set = RuleSet::with(&[Rule::MissingTests], &[Rule::Unwrap]);
        assert!(set.contains(Rule::MissingTests) && !set.contains(Rule::Unwrap));
        assert!(set.contains(Rule::Secret));
        assert!(Rule::ALL.into_iter().all(|rule| RuleSet::all().contains(rule)));
    }
}
