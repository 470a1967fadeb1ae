//! `MemoryStore` on Mem0: add without inference, keyword search with filters, get-all with type
//! filters and pages, update and delete after checking the memory's repository.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Utc;
use nectr_domain::RepoFullName;
use nectr_domain::memory::{
    MAX_PAGE, Memory, MemoryFilter, MemoryId, MemoryPage, MemorySearch, MemoryStore,
    MemoryStoreError, MemoryType, NewMemory, Provenance, validate_content,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Client, Mem0Config};
use crate::mapping::{filters, memory, memory_list, metadata};

/// Mem0's page size when the adapter walks every page.
const WALK_PAGE: u32 = 100;

/// The most pages a walk reads (100,000 memories of one repository).
const WALK_PAGES: u32 = 1_000;

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

    /// One page of get-all (`page` from 1), and whether another follows.
    async fn page(
        &self,
        repo: &RepoFullName,
        filter: &Value,
        page: u32,
        page_size: u32,
    ) -> Result<(Vec<Memory>, bool), MemoryStoreError> {
        let path = format!("/v2/memories/?page={page}&page_size={page_size}");
        let body =
            self.client.expect_ok(Method::POST, &path, Some(&json!({ "filters": filter }))).await?;
        let items = memory_list(&body);
        let more = match body.get("next") {
            Some(next) => !next.is_null(),
            None => u32::try_from(items.len()).unwrap_or(u32::MAX) == page_size,
        };
        Ok((items.iter().filter_map(|item| memory(repo, item)).collect(), more))
    }

    /// Every memory matching `filter`, newest first.
    async fn walk(
        &self,
        repo: &RepoFullName,
        filter: &Value,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        let mut all = Vec::new();
        for page in 1..=WALK_PAGES {
            let (memories, more) = self.page(repo, filter, page, WALK_PAGE).await?;
            all.extend(memories);
            if !more {
                break;
            }
        }
        all.sort_by(|left, right| (right.created_at, &right.id).cmp(&(left.created_at, &left.id)));
        Ok(all)
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
        let all = self.walk(repo, &filters(repo, filter.scope.as_ref(), &filter.types)).await?;
        let total = u64::try_from(all.len()).unwrap_or(u64::MAX);
        let offset = usize::try_from(filter.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(filter.limit.clamp(1, MAX_PAGE)).unwrap_or(usize::MAX);
        let memories = all.into_iter().skip(offset).take(limit).collect();
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
        let Some(existing) = self.owned(repo, id).await? else { return Ok(None) };
        self.put(&existing, content, provenance, existing.hits, existing.last_hit_at).await?;
        self.owned(repo, id).await
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
            let Some(existing) = self.owned(repo, id).await? else { continue };
            self.put(
                &existing,
                &existing.content,
                &existing.provenance,
                existing.hits + 1,
                Some(now),
            )
            .await?;
        }
        Ok(())
    }

    async fn count_by_type(
        &self,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<MemoryType, u64>, MemoryStoreError> {
        let mut counts = BTreeMap::new();
        for memory in self.walk(repo, &filters(repo, None, &[])).await? {
            *counts.entry(memory.memory_type).or_insert(0) += 1;
        }
        Ok(counts)
    }
}
