//! Reading what a tool answered as records with named fields, whatever the vendor's shape: the
//! structured content, else each text block as JSON, else as markdown sections (`## ID` then
//! `**Field**: value` lines, as Sentry's server writes them). Field names are compared without
//! case, spaces, `_` or `-` (`lastSeen`, `last_seen` and `Last Seen` are one field).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::session::ToolOutput;

/// Keys under which answers list their records.
const LIST_KEYS: [&str; 12] = [
    "issues", "results", "errors", "items", "messages", "matches", "nodes", "data", "events",
    "tickets", "hits", "records",
];

/// One record of an answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Record {
    fields: Map<String, Value>,
}

/// A field name as compared.
fn normal(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

impl Record {
    fn new(object: &Map<String, Value>) -> Self {
        Self { fields: object.iter().map(|(key, value)| (normal(key), value.clone())).collect() }
    }

    fn value(&self, names: &[&str]) -> Option<&Value> {
        names
            .iter()
            .find_map(|name| self.fields.get(&normal(name)).filter(|value| !value.is_null()))
    }

    /// The first of `names` with a text: a string, a number, or an object's `name`, `title`,
    /// `value` or `displayName`.
    pub(crate) fn text(&self, names: &[&str]) -> Option<String> {
        let text = match self.value(names)? {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Object(object) => {
                let inner = Record::new(object);
                return inner.text(&["name", "title", "value", "displayName", "display_name"]);
            }
            Value::Array(_) | Value::Null => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// The first of `names` with a whole number (also written as text, with `,` or `_`).
    pub(crate) fn number(&self, names: &[&str]) -> Option<u64> {
        match self.value(names)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().replace([',', '_'], "").parse().ok(),
            _ => None,
        }
    }

    /// The first of `names` with an RFC 3339 time.
    pub(crate) fn time(&self, names: &[&str]) -> Option<DateTime<Utc>> {
        let text = self.text(names)?;
        DateTime::parse_from_rfc3339(&text).ok().map(|time| time.with_timezone(&Utc))
    }
}

/// The records an answer holds.
pub(crate) fn records(output: &ToolOutput) -> Vec<Record> {
    if let Some(structured) = &output.structured {
        let found = from_json(structured);
        if !found.is_empty() {
            return found;
        }
    }
    let mut found = Vec::new();
    for text in &output.texts {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => found.extend(from_json(&value)),
            Err(_) => found.extend(from_markdown(text)),
        }
    }
    found
}

fn from_json(value: &Value) -> Vec<Record> {
    match value {
        Value::Array(items) => items.iter().filter_map(Value::as_object).map(Record::new).collect(),
        Value::Object(object) => {
            for key in LIST_KEYS {
                match object.get(key) {
                    Some(list @ Value::Array(_)) => return from_json(list),
                    Some(nested @ Value::Object(inner))
                        if LIST_KEYS
                            .iter()
                            .any(|key| inner.get(*key).is_some_and(Value::is_array)) =>
                    {
                        return from_json(nested);
                    }
                    _ => {}
                }
            }
            vec![Record::new(object)]
        }
        _ => Vec::new(),
    }
}

/// Markdown sections: a heading opens a record (its text as `heading`), and `**Field**: value`
/// or `- Field: value` lines fill it. Text without any field is no record.
fn from_markdown(text: &str) -> Vec<Record> {
    let mut found = Vec::new();
    let mut current: Option<Map<String, Value>> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(heading) = trimmed.strip_prefix('#') {
            if let Some(fields) = current.take() {
                found.push(fields);
            }
            let heading = heading.trim_start_matches('#').trim().trim_matches('*').trim();
            let mut fields = Map::new();
            fields.insert("heading".to_owned(), Value::from(heading));
            current = Some(fields);
            continue;
        }
        let Some((name, value)) = field_line(trimmed) else { continue };
        current.get_or_insert_with(Map::new).insert(name, Value::from(value));
    }
    found.extend(current);
    found
        .into_iter()
        .filter(|fields| fields.keys().any(|key| key != "heading"))
        .map(|fields| Record::new(&fields))
        .collect()
}

/// `**Last Seen**: 2026-01-01`, `- **Count:** 3` or `Culprit: x` as a field name and value.
fn field_line(line: &str) -> Option<(String, String)> {
    let line = line.trim_start_matches(['-', '*', ' ']).trim_start();
    let (name, value) = line.split_once(':')?;
    let name = name.trim_matches(['*', '_', ' ']);
    let value = value.trim_start_matches(['*', '_']).trim().trim_matches('`');
    let plain = !name.is_empty()
        && name.len() <= 40
        && name.chars().all(|c| c.is_alphanumeric() || c == ' ' || c == '_' || c == '-');
    (plain && !value.is_empty()).then(|| (name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn output(texts: &[&str], structured: Option<Value>) -> ToolOutput {
        ToolOutput { texts: texts.iter().map(|text| (*text).to_owned()).collect(), structured }
    }

    #[test]
    fn json_answers_in_any_envelope() {
        let listed =
            output(&[r#"{"issues": [{"identifier": "ENG-1", "state": {"name": "Todo"}}]}"#], None);
        let found = records(&listed);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text(&["identifier"]).as_deref(), Some("ENG-1"));
        assert_eq!(found[0].text(&["state"]).as_deref(), Some("Todo"));

        let slack = output(
            &[],
            Some(json!({"ok": true, "messages": {"total": 1, "matches": [
            {"channel": {"name": "backend"}, "username": "alice", "permalink": "https://x"}]}})),
        );
        let found = records(&slack);
        assert_eq!(found[0].text(&["channel"]).as_deref(), Some("backend"));

        let single =
            output(&[r#"{"Times_Seen": "1,204", "lastSeen": "2026-11-30T10:00:00Z"}"#], None);
        let found = records(&single);
        assert_eq!(found[0].number(&["timesSeen"]), Some(1204));
        assert!(found[0].time(&["last seen"]).is_some());
    }

    #[test]
    fn markdown_answers_become_records() {
        let text = "# Errors in **acme**\n\nFound 2 issues.\n\n## BACKEND-4F2\n\n**Description**: KeyError: 'user'\n**Culprit**: login.handler\n**Occurrences**: 42\n**Last Seen**: 2026-11-30T10:00:00Z\n**URL**: https://acme.sentry.io/issues/1/\n\n## BACKEND-4F3\n- **Description:** TimeoutError\n";
        let found = records(&output(&[text], None));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].text(&["heading"]).as_deref(), Some("BACKEND-4F2"));
        assert_eq!(found[0].text(&["description"]).as_deref(), Some("KeyError: 'user'"));
        assert_eq!(found[0].number(&["occurrences"]), Some(42));
        assert_eq!(found[0].text(&["url"]).as_deref(), Some("https://acme.sentry.io/issues/1/"));
        assert_eq!(found[1].text(&["description"]).as_deref(), Some("TimeoutError"));
        assert!(records(&output(&["No errors found."], None)).is_empty());
    }
}
