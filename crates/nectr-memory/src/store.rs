//! `MemoryStore` on Mem0: add without inference, keyword search with filters, get-all with type
//! filters and Mem0's own pages (a page of a list costs one or two calls, a count one call per
//! type), update and delete after checking the memory's repository.
//!
//! Hits: Mem0's update replaces a memory's metadata whole and has neither an increment nor a
//! conditional write, so counting a hit reads the memory and writes it back. Those writes (and
//! edits, which write the hits back too) run one at a time per memory in this process
//! (`exclusive`), so no hit is lost here; another process writing the same memory at the same
//! moment could still overwrite one, which Mem0's API gives no way to prevent.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Utc;
use futures_util::future::join_all;
use nectr_domain::RepoFullName;
use nectr_domain::memory::exclusive::{Subject, exclusively};
use nectr_domain::memory::{
    MAX_PAGE, Memory, MemoryFilter, MemoryId, MemoryPage, MemorySearch, MemoryStore,
    MemoryStoreError, MemoryType, NewMemory, Provenance, validate_content,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Client, Mem0Config, refusal};
use crate::mapping::{filters, memory, memory_list, metadata};

/// The `MemoryStore` port on the Mem0 platform.
#[derive(Clone, Debug)]
pub struct Mem0Store {
    client: Client,
}

impl Mem0Store {
    /// A store on the Mem0 server of `config`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS back end).
    pub fn new(config: Mem0Config) -> anyhow::Result<Self> {
        Ok(Self { client: Client::new(config)? })
    }

    /// Page `page` (from 1) of get-all in pages of `page_size`, and how many match in all;
    /// `None` past the last page (Mem0 answers 404 `Invalid page.` there).
    async fn page(
        &self,
        repo: &RepoFullName,
        filter: &Value,
        page: u32,
        page_size: u32,
    ) -> Result<Option<(Vec<Memory>, u64)>, MemoryStoreError> {
        let path = format!("/v2/memories/?page={page}&page_size={page_size}");
        let body = json!({ "filters": filter });
        let answer = self.client.send(Method::POST, &path, Some(&body)).await?;
        match answer.status {
            200..=299 => {}
            404 if page > 1 => return Ok(None),
            _ => return Err(refusal(&answer)),
        }
        let total = answer.body.get("count").and_then(Value::as_u64).ok_or_else(|| {
            MemoryStoreError::Unexpected(anyhow::anyhow!("Mem0 gave a page without its count"))
        })?;
        let items = memory_list(&answer.body);
        Ok(Some((items.iter().filter_map(|item| memory(repo, item)).collect(), total)))
    }

    /// How many memories match `filter` (one call: a page of one).
    async fn count(&self, repo: &RepoFullName, filter: &Value) -> Result<u64, MemoryStoreError> {
        Ok(self.page(repo, filter, 1, 1).await?.map_or(0, |(_, total)| total))
    }

    /// The memory `id` as Mem0 has it, when it is one of `repo`'s.
    async fn owned(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
    ) -> Result<Option<Memory>, MemoryStoreError> {
        if !valid_id(id) {
            return Ok(None);
        }
        let answer = self.client.send(Method::GET, &format!("/v1/memories/{id}/"), None).await?;
        match answer.status {
            200..=299 => Ok(memory(repo, &answer.body)),
            400 | 404 => Ok(None),
            status => Err(MemoryStoreError::Unexpected(anyhow::anyhow!(
                "Mem0 answered {status} reading a memory"
            ))),
        }
    }

    async fn put(
        &self,
        existing: &Memory,
        content: &str,
        provenance: &Provenance,
        hits: u64,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<(), MemoryStoreError> {
        let body = json!({
            "text": content,
            "metadata": metadata(&existing.repo, existing.memory_type, provenance, hits, at),
        });
        self.client
            .expect_ok(Method::PUT, &format!("/v1/memories/{}/", existing.id), Some(&body))
            .await
            .map(drop)
    }
}

impl Mem0Store {
    /// Counts one hit of memory `id` at `now`: a read, then a write of the memory with one more.
    async fn hit(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), MemoryStoreError> {
        let Some(existing) = self.owned(repo, id).await? else { return Ok(()) };
        let hits = existing.hits + 1;
        self.put(&existing, &existing.content, &existing.provenance, hits, Some(now)).await
    }
}

/// Mem0's ids are UUIDs; anything else (a path, a query) is refused before it reaches a URL.
fn valid_id(id: &MemoryId) -> bool {
    let text = id.as_str();
    (1..=64).contains(&text.len())
        && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[async_trait]
impl MemoryStore for Mem0Store {
    fn name(&self) -> &str {
        "mem0"
    }

    async fn add(&self, new: &NewMemory) -> Result<Memory, MemoryStoreError> {
        validate_content(&new.content)?;
        let body = json!({
            "messages": [{ "role": "user", "content": new.content }],
            "user_id": new.scope.user_id(),
            "metadata": metadata(&new.repo, new.memory_type, &new.provenance, 0, None),
            "infer": false,
            "async_mode": false,
            "version": "v2",
        });
        let answer = self.client.expect_ok(Method::POST, "/v1/memories/", Some(&body)).await?;
        let id = memory_list(&answer)
            .first()
            .and_then(|event| event.get("id"))
            .and_then(Value::as_str)
            .map(MemoryId::new)
            .ok_or_else(|| {
                MemoryStoreError::Unexpected(anyhow::anyhow!("Mem0 gave the new memory no id"))
            })?;
        self.owned(&new.repo, &id)
            .await?
            .ok_or_else(|| MemoryStoreError::Unexpected(anyhow::anyhow!("Mem0 lost memory {id}")))
    }

    async fn get(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
    ) -> Result<Option<Memory>, MemoryStoreError> {
        self.owned(repo, id).await
    }

    async fn list(
        &self,
        repo: &RepoFullName,
        filter: &MemoryFilter,
    ) -> Result<MemoryPage, MemoryStoreError> {
        let filters = filters(repo, filter.scope.as_ref(), &filter.types);
        // Mem0's pages of `limit` memories: the window starts on one and may run into the next.
        let size = filter.limit.clamp(1, MAX_PAGE);
        let first = filter.offset / size + 1;
        let skip = usize::try_from(filter.offset % size).unwrap_or(usize::MAX);
        let Some((mut memories, total)) = self.page(repo, &filters, first, size).await? else {
            let total = self.count(repo, &filters).await?;
            return Ok(MemoryPage { memories: Vec::new(), total });
        };
        let wanted = usize::try_from(size).unwrap_or(usize::MAX);
        let taken = u64::from(filter.offset) + u64::from(size) - u64::try_from(skip).unwrap_or(0);
        let next = match skip > 0 && taken < total {
            true => self.page(repo, &filters, first + 1, size).await?,
            false => None,
        };
        memories.extend(next.into_iter().flat_map(|(more, _)| more));
        let memories = memories.into_iter().skip(skip).take(wanted).collect();
        Ok(MemoryPage { memories, total })
    }

    async fn search(
        &self,
        repo: &RepoFullName,
        search: &MemorySearch,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        let words = nectr_domain::memory::search_words(&search.query, 32);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({
            "query": words.join(" "),
            "filters": filters(repo, search.scope.as_ref(), &search.types),
            "top_k": search.limit.clamp(1, MAX_PAGE),
            "keyword_search": true,
            "version": "v2",
        });
        let answer =
            self.client.expect_ok(Method::POST, "/v2/memories/search/", Some(&body)).await?;
        Ok(memory_list(&answer).iter().filter_map(|item| memory(repo, item)).collect())
    }

    async fn update(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
        content: &str,
        provenance: &Provenance,
    ) -> Result<Option<Memory>, MemoryStoreError> {
        validate_content(content)?;
        exclusively(Subject::memory(self.name(), id), async {
            let Some(existing) = self.owned(repo, id).await? else { return Ok(None) };
            self.put(&existing, content, provenance, existing.hits, existing.last_hit_at).await?;
            self.owned(repo, id).await
        })
        .await
    }

    async fn delete(&self, repo: &RepoFullName, id: &MemoryId) -> Result<bool, MemoryStoreError> {
        let Some(existing) = self.owned(repo, id).await? else { return Ok(false) };
        let answer = self
            .client
            .send(Method::DELETE, &format!("/v1/memories/{}/", existing.id), None)
            .await?;
        match answer.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            status => Err(MemoryStoreError::Unexpected(anyhow::anyhow!(
                "Mem0 answered {status} deleting a memory"
            ))),
        }
    }

    async fn record_hits(
        &self,
        repo: &RepoFullName,
        ids: &[MemoryId],
    ) -> Result<(), MemoryStoreError> {
        let now = Utc::now();
        for id in ids {
            exclusively(Subject::memory(self.name(), id), self.hit(repo, id, now)).await?;
        }
        Ok(())
    }

    async fn count_by_type(
        &self,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<MemoryType, u64>, MemoryStoreError> {
        // One call per type, at once: each is a page of one memory and the type's count.
        let counts = MemoryType::ALL.map(|kind| async move {
            let total = self.count(repo, &filters(repo, None, &[kind])).await?;
            Ok::<_, MemoryStoreError>((kind, total))
        });
        let mut by_type = BTreeMap::new();
        for outcome in join_all(counts).await {
            let (kind, total) = outcome?;
            if total > 0 {
                by_type.insert(kind, total);
            }
        }
        Ok(by_type)
    }
}
