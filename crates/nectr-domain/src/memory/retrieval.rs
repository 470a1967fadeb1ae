//! The retrieval rule: which memories go into a review. Project rules always go in, in a fixed
//! order, so that what the team wrote reaches the model whatever it decides to look up; the other
//! memories are searched by relevance to the changed files and the author, within a budget that
//! the rules use first and never leave.

use std::sync::Arc;

use crate::RepoFullName;

use super::{
    Memory, MemoryFilter, MemoryId, MemoryScope, MemorySearch, MemoryStore, MemoryStoreError,
    MemoryType, list_all, search_words,
};

/// How much memory a review takes in, besides its project rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryBudget {
    /// At most this many project memories (patterns, decisions, risky modules, the map).
    pub project: u32,
    /// At most this many memories about the author.
    pub developer: u32,
    /// At most this many characters of memories in all (rules first; rules are never cut).
    pub chars: usize,
}

impl Default for MemoryBudget {
    fn default() -> Self {
        Self { project: 10, developer: 5, chars: 8_000 }
    }
}

/// What a review is told from memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReviewMemories {
    /// Every project rule, oldest first.
    pub rules: Vec<Memory>,
    /// Project memories relevant to the changed files, best first.
    pub project: Vec<Memory>,
    /// Memories about the author, best first (their profile first when there is one).
    pub developer: Vec<Memory>,
}

impl ReviewMemories {
    /// Whether there is nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.project.is_empty() && self.developer.is_empty()
    }

    /// The ids of every memory put into the review (to count their hits).
    pub fn ids(&self) -> Vec<MemoryId> {
        self.rules
            .iter()
            .chain(&self.project)
            .chain(&self.developer)
            .map(|memory| memory.id.clone())
            .collect()
    }
}

/// The project memory types searched by relevance.
const PROJECT_TYPES: [MemoryType; 4] = [
    MemoryType::RiskModule,
    MemoryType::Decision,
    MemoryType::ProjectPattern,
    MemoryType::ProjectMap,
];

/// The developer memory types searched by relevance (the profile is read directly).
const DEVELOPER_TYPES: [MemoryType; 2] =
    [MemoryType::DeveloperPattern, MemoryType::DeveloperStrength];

/// Path words that say nothing about what a change touches (source folders, file extensions):
/// they would match nearly every memory that names a path, and make every search rank them all.
const PATH_NOISE: [&str; 24] = [
    "src", "lib", "app", "main", "mod", "index", "pkg", "internal", "cmd", "rs", "py", "js", "ts",
    "tsx", "jsx", "go", "rb", "java", "kt", "md", "json", "toml", "yaml", "yml",
];

/// The most words of the changed paths a search uses.
const QUERY_WORDS: usize = 32;

/// The telling words of `text` (no path noise), at most `QUERY_WORDS`, none of `except`.
fn telling_words(text: &str, except: &[String]) -> Vec<String> {
    let words = search_words(text, QUERY_WORDS * 2);
    let mut telling: Vec<String> = words
        .into_iter()
        .filter(|word| !PATH_NOISE.contains(&word.as_str()) && !except.contains(word))
        .collect();
    telling.truncate(QUERY_WORDS);
    telling
}

/// The searches for changed paths, most specific first: the files' own names, then their
/// folders. A memory that names a changed file is more relevant than one that names only its
/// folder, and the narrow search ranks a few hundred matches where the broad one would rank
/// most of the repository's memories (every memory of a touched folder).
#[derive(Clone, Debug, PartialEq, Eq)]
struct PathQuery {
    files: String,
    folders: String,
}

impl PathQuery {
    fn new(paths: &[String]) -> Self {
        let names: Vec<&str> =
            paths.iter().map(|path| path.rsplit('/').next().unwrap_or(path)).collect();
        let files = telling_words(&names.join(" "), &[]);
        let folders: Vec<&str> = paths
            .iter()
            .map(|path| path.rsplit_once('/').map_or("", |(folder, _)| folder))
            .collect();
        let folders = telling_words(&folders.join(" "), &files);
        Self { files: files.join(" "), folders: folders.join(" ") }
    }
}
/// Picks a review's memories.
#[derive(Clone)]
pub struct MemoryRetrieval {
    store: Arc<dyn MemoryStore>,
    budget: MemoryBudget,
}

impl MemoryRetrieval {
    /// Retrieval from `store` within `budget`.
    pub fn new(store: Arc<dyn MemoryStore>, budget: MemoryBudget) -> Self {
        Self { store, budget }
    }

    /// The memories for a review of `changed_paths` by `author` in `repo`.
    ///
    /// # Errors
    /// The store's [`MemoryStoreError`].
    pub async fn for_review(
        &self,
        repo: &RepoFullName,
        changed_paths: &[String],
        author: &str,
    ) -> Result<ReviewMemories, MemoryStoreError> {
        let query = PathQuery::new(changed_paths);
        let author_scope = MemoryScope::developer(author);
        // Independent reads: at once.
        let (rules, project, profile, patterns) = futures_util::join!(
            self.rules(repo),
            self.search(repo, &query, &PROJECT_TYPES, &MemoryScope::Project, self.budget.project),
            self.profile(repo, &author_scope),
            self.search(repo, &query, &DEVELOPER_TYPES, &author_scope, self.budget.developer),
        );
        let mut developer = profile?;
        developer.extend(patterns?);
        developer.truncate(usize::try_from(self.budget.developer).unwrap_or(usize::MAX));
        Ok(fit(self.budget, rules?, project?, developer))
    }

    /// What applies to `paths` in `repo` whoever changes them: every project rule and the
    /// project memories relevant to the paths, chosen and fitted as for a review (no memories
    /// about a developer).
    ///
    /// # Errors
    /// The store's [`MemoryStoreError`].
    pub async fn for_paths(
        &self,
        repo: &RepoFullName,
        paths: &[String],
    ) -> Result<ReviewMemories, MemoryStoreError> {
        let query = PathQuery::new(paths);
        let (rules, project) = futures_util::join!(
            self.rules(repo),
            self.search(repo, &query, &PROJECT_TYPES, &MemoryScope::Project, self.budget.project),
        );
        Ok(fit(self.budget, rules?, project?, Vec::new()))
    }

    /// Every project rule of `repo`, oldest first.
    ///
    /// # Errors
    /// The store's [`MemoryStoreError`].
    pub async fn rules(&self, repo: &RepoFullName) -> Result<Vec<Memory>, MemoryStoreError> {
        let mut rules = list_all(
            self.store.as_ref(),
            repo,
            &[MemoryType::ProjectRule],
            Some(&MemoryScope::Project),
        )
        .await?;
        rules
            .sort_by(|left, right| (left.created_at, &left.id).cmp(&(right.created_at, &right.id)));
        Ok(rules)
    }

    async fn profile(
        &self,
        repo: &RepoFullName,
        scope: &MemoryScope,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        let filter = MemoryFilter {
            types: vec![MemoryType::ContributorProfile],
            scope: Some(scope.clone()),
            offset: 0,
            limit: 1,
        };
        Ok(self.store.list(repo, &filter).await?.memories)
    }

    /// The memories matching the files' names, then, while the limit is not reached, those
    /// matching only their folders.
    async fn search(
        &self,
        repo: &RepoFullName,
        query: &PathQuery,
        types: &[MemoryType],
        scope: &MemoryScope,
        limit: u32,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        let mut found = self.search_words(repo, &query.files, types, scope, limit).await?;
        let missing = limit.saturating_sub(u32::try_from(found.len()).unwrap_or(u32::MAX));
        if missing > 0 {
            let broader = self.search_words(repo, &query.folders, types, scope, limit).await?;
            let known: Vec<MemoryId> = found.iter().map(|memory| memory.id.clone()).collect();
            found.extend(
                broader
                    .into_iter()
                    .filter(|memory| !known.contains(&memory.id))
                    .take(missing as usize),
            );
        }
        Ok(found)
    }

    async fn search_words(
        &self,
        repo: &RepoFullName,
        words: &str,
        types: &[MemoryType],
        scope: &MemoryScope,
        limit: u32,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let search = MemorySearch {
            query: words.to_owned(),
            types: types.to_vec(),
            scope: Some(scope.clone()),
            limit,
        };
        self.store.search(repo, &search).await
    }
}

/// Fits the memories to the character budget: every rule (the team's rules always apply), then
/// the project's and the developer's that fit in what the rules left, dropping the least
/// relevant first.
fn fit(
    budget: MemoryBudget,
    rules: Vec<Memory>,
    project: Vec<Memory>,
    developer: Vec<Memory>,
) -> ReviewMemories {
    let mut used: usize = rules.iter().map(|memory| memory.content.len()).sum();
    let mut keep = |candidates: Vec<Memory>| -> Vec<Memory> {
        candidates
            .into_iter()
            .take_while(|memory| {
                let fits = used + memory.content.len() <= budget.chars;
                used += if fits { memory.content.len() } else { 0 };
                fits
            })
            .collect()
    };
    let project = keep(project);
    let developer = keep(developer);
    ReviewMemories { rules, project, developer }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::memory::Provenance;

    fn memory(id: &str, memory_type: MemoryType, chars: usize) -> Memory {
        Memory {
            id: MemoryId::new(id),
            repo: RepoFullName::parse("octo/shop").unwrap(),
            scope: MemoryScope::Project,
            memory_type,
            content: "m".repeat(chars),
            provenance: Provenance::Scan,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            hits: 0,
            last_hit_at: None,
        }
    }

    fn ids(memories: &[Memory]) -> Vec<&str> {
        memories.iter().map(|memory| memory.id.as_str()).collect()
    }

    #[test]
    fn the_budget_keeps_the_rules_first_and_drops_what_exceeds_it() {
        let budget = MemoryBudget { project: 10, developer: 5, chars: 1_000 };
        let rules = vec![
            memory("rule-1", MemoryType::ProjectRule, 300),
            memory("rule-2", MemoryType::ProjectRule, 300),
        ];
        let project = vec![
            memory("risk", MemoryType::RiskModule, 300),
            memory("decision", MemoryType::Decision, 300),
        ];
        let developer = vec![memory("pattern", MemoryType::DeveloperPattern, 50)];
        let fitted = fit(budget, rules.clone(), project.clone(), developer.clone());
        assert_eq!(ids(&fitted.rules), ["rule-1", "rule-2"], "the rules go in first");
        assert_eq!(ids(&fitted.project), ["risk"], "the next project memory would exceed it");
        assert_eq!(ids(&fitted.developer), ["pattern"], "what still fits after a cut goes in");

        let tight = MemoryBudget { chars: 320, ..budget };
        let fitted = fit(tight, rules.clone(), project.clone(), developer.clone());
        assert_eq!(ids(&fitted.rules), ["rule-1", "rule-2"], "rules are never cut");
        assert!(fitted.project.is_empty() && fitted.developer.is_empty(), "{fitted:?}");

        let roomy = MemoryBudget { chars: 1_250, ..budget };
        let fitted = fit(roomy, rules, project, developer);
        assert_eq!(ids(&fitted.project), ["risk", "decision"]);
        assert_eq!(ids(&fitted.developer), ["pattern"], "everything fits: nothing is dropped");
    }

    #[test]
    fn path_queries_search_the_files_names_before_their_folders() {
        let paths = vec![
            "src/billing/invoice.rs".to_owned(),
            "src/billing/mod.rs".to_owned(),
            "web/src/cart/index.ts".to_owned(),
        ];
        let query = PathQuery::new(&paths);
        assert_eq!(query.files, "invoice", "noise (mod, index, extensions) is left out");
        assert_eq!(query.folders, "billing web cart");
        let empty = PathQuery::new(&["README.md".to_owned()]);
        assert_eq!((empty.files.as_str(), empty.folders.as_str()), ("readme", ""));
    }
}
