//! Nectr's memories in Mem0's JSON: the metadata a memory carries, the filters that select one
//! repository's memories, and reading Mem0's memory objects back.

use chrono::{DateTime, Utc};
use nectr_domain::memory::{Memory, MemoryId, MemoryScope, MemoryType, Provenance};
use nectr_domain::{RepoFullName, UserId};
use serde_json::{Map, Value, json};

/// The repository as stored in `metadata.repo`.
pub(crate) fn repo_key(repo: &RepoFullName) -> String {
    repo.as_str().to_ascii_lowercase()
}

/// The metadata of a memory: repository, type, provenance and hits.
pub(crate) fn metadata(
    repo: &RepoFullName,
    memory_type: MemoryType,
    provenance: &Provenance,
    hits: u64,
    last_hit_at: Option<DateTime<Utc>>,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert("repo".into(), repo_key(repo).into());
    metadata.insert("repo_full_name".into(), repo.as_str().into());
    metadata.insert("memory_type".into(), memory_type.as_str().into());
    match provenance {
        Provenance::PullRequest { number } => {
            metadata.insert("source_kind".into(), "pull_request".into());
            metadata.insert("source_pr".into(), (*number).into());
        }
        Provenance::User { id } => {
            metadata.insert("source_kind".into(), "user".into());
            metadata.insert("source_user_id".into(), id.get().into());
        }
        Provenance::Scan => {
            metadata.insert("source_kind".into(), "scan".into());
        }
    }
    metadata.insert("hits".into(), hits.into());
    if let Some(at) = last_hit_at {
        metadata.insert("last_hit_at".into(), at.to_rfc3339().into());
    }
    Value::Object(metadata)
}

/// Mem0's filters for one repository, optionally one scope and some types.
pub(crate) fn filters(
    repo: &RepoFullName,
    scope: Option<&MemoryScope>,
    types: &[MemoryType],
) -> Value {
    let user = match scope {
        Some(scope) => json!({ "user_id": scope.user_id() }),
        None => json!({ "user_id": "*" }),
    };
    let mut all = vec![user, json!({ "metadata": { "repo": repo_key(repo) } })];
    match types {
        [] => {}
        [only] => all.push(json!({ "metadata": { "memory_type": only.as_str() } })),
        several => {
            let any: Vec<Value> = several
                .iter()
                .map(|kind| json!({ "metadata": { "memory_type": kind.as_str() } }))
                .collect();
            all.push(json!({ "OR": any }));
        }
    }
    json!({ "AND": all })
}

/// The list of memories in an answer: a bare array, or under `results` or `memories`.
pub(crate) fn memory_list(body: &Value) -> Vec<Value> {
    let list = match body {
        Value::Array(items) => Some(items),
        Value::Object(object) => {
            object.get("results").or_else(|| object.get("memories")).and_then(Value::as_array)
        }
        _ => None,
    };
    list.cloned().unwrap_or_default()
}

fn time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let text = value?.as_str()?;
    DateTime::parse_from_rfc3339(text).ok().map(|time| time.with_timezone(&Utc))
}

fn provenance(metadata: &Value) -> Provenance {
    let number = metadata.get("source_pr").and_then(Value::as_u64);
    let user = metadata.get("source_user_id").and_then(Value::as_i64);
    match (metadata.get("source_kind").and_then(Value::as_str), number, user) {
        (Some("pull_request"), Some(number), _) => Provenance::PullRequest { number },
        (Some("user"), _, Some(user)) => Provenance::User { id: UserId::new(user) },
        // The original wrote `source_pr` alone.
        (None, Some(number), _) => Provenance::PullRequest { number },
        _ => Provenance::Scan,
    }
}

/// A Mem0 memory object as a Nectr memory, when it is one of `repo`'s.
pub(crate) fn memory(repo: &RepoFullName, item: &Value) -> Option<Memory> {
    let metadata = item.get("metadata").filter(|value| value.is_object())?;
    if metadata.get("repo").and_then(Value::as_str) != Some(repo_key(repo).as_str()) {
        return None;
    }
    let memory_type = metadata.get("memory_type")?.as_str()?.parse::<MemoryType>().ok()?;
    let created_at = time(item.get("created_at")).unwrap_or_default();
    Some(Memory {
        id: MemoryId::new(item.get("id")?.as_str()?),
        repo: metadata
            .get("repo_full_name")
            .and_then(Value::as_str)
            .and_then(|name| RepoFullName::parse(name).ok())
            .unwrap_or_else(|| repo.clone()),
        scope: MemoryScope::from_user_id(
            item.get("user_id").and_then(Value::as_str).unwrap_or("project"),
        ),
        memory_type,
        content: item.get("memory").and_then(Value::as_str).unwrap_or_default().to_owned(),
        provenance: provenance(metadata),
        created_at,
        updated_at: time(item.get("updated_at")).unwrap_or(created_at),
        hits: metadata.get("hits").and_then(Value::as_u64).unwrap_or_default(),
        last_hit_at: time(metadata.get("last_hit_at")),
    })
}
