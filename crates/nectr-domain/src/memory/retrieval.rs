//! The retrieval rule: which memories go into a review. Project rules always go in, in a fixed
//! order, so that what the team wrote reaches the model whatever it decides to look up; the other
//! memories are searched by relevance to the changed files and the author, within a budget.

use std::sync::Arc;

use crate::RepoFullName;

use super::{
    MAX_PAGE, Memory, MemoryFilter, MemoryId, MemoryScope, MemorySearch, MemoryStore,
    MemoryStoreError, MemoryType, search_words,
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

/// The search query for changed paths: their telling words (no path noise), at most
/// `QUERY_WORDS` of them.
fn path_query(paths: &[String]) -> String {
    let words = search_words(&paths.join(" "), QUERY_WORDS * 2);
    let telling: Vec<String> =
        words.into_iter().filter(|word| !PATH_NOISE.contains(&word.as_str())).collect();
    telling[..telling.len().min(QUERY_WORDS)].join(" ")
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
        let query = path_query(changed_paths);
        let author_scope = MemoryScope::developer(author);
        let rules = self.rules(repo).await?;
        let project = self
            .search(repo, &query, &PROJECT_TYPES, MemoryScope::Project, self.budget.project)
            .await?;
        let mut developer = self.profile(repo, &author_scope).await?;
        developer.extend(
            self.search(repo, &query, &DEVELOPER_TYPES, author_scope, self.budget.developer)
                .await?,
        );
        developer.truncate(usize::try_from(self.budget.developer).unwrap_or(usize::MAX));
        Ok(self.fit(ReviewMemories { rules, project, developer }))
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
        let query = path_query(paths);
        let rules = self.rules(repo).await?;
        let project = self
            .search(repo, &query, &PROJECT_TYPES, MemoryScope::Project, self.budget.project)
            .await?;
        Ok(self.fit(ReviewMemories { rules, project, developer: Vec::new() }))
    }

    /// Every project rule of `repo`, oldest first.
    ///
    /// # Errors
    /// The store's [`MemoryStoreError`].
    pub async fn rules(&self, repo: &RepoFullName) -> Result<Vec<Memory>, MemoryStoreError> {
        let filter = MemoryFilter {
            types: vec![MemoryType::ProjectRule],
            scope: Some(MemoryScope::Project),
            offset: 0,
            limit: MAX_PAGE,
        };
        let mut rules = self.store.list(repo, &filter).await?.memories;
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

    async fn search(
        &self,
        repo: &RepoFullName,
        query: &str,
        types: &[MemoryType],
        scope: MemoryScope,
        limit: u32,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let search = MemorySearch {
            query: query.to_owned(),
            types: types.to_vec(),
            scope: Some(scope),
            limit,
        };
        self.store.search(repo, &search).await
    }

    /// Drops the least relevant memories (the developer's last, then the project's) until the
    /// rest fits the character budget; rules always stay.
    fn fit(&self, memories: ReviewMemories) -> ReviewMemories {
        let ReviewMemories { rules, project, developer } = memories;
        let mut used: usize = rules.iter().map(|memory| memory.content.len()).sum();
        let mut keep = |candidates: Vec<Memory>| -> Vec<Memory> {
            candidates
                .into_iter()
                .take_while(|memory| {
                    used += memory.content.len();
                    used <= self.budget.chars
                })
                .collect()
        };
        let project = keep(project);
        let developer = keep(developer);
        ReviewMemories { rules, project, developer }
    }
}
