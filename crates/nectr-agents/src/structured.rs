//! The review as structured output: its JSON schema (a tool's input, or an OpenAI
//! `response_format`), and strict validation of what a model sent. Loose spellings are
//! normalised (`Request Changes`, `CRITICAL`, a confidence of `"4"`); a missing or unusable field
//! is an error, so a partial answer never becomes a posted review.

use nectr_domain::review::{Finding, Severity, StructuredReview, Verdict};
use serde_json::{Value, json};

/// The tool a model calls to hand in its review.
pub const SUBMIT_REVIEW: &str = "submit_review";

/// The JSON schema of a review.
pub fn review_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["verdict", "confidence", "summary", "key_changes", "findings", "semantic_issues"],
        "properties": {
            "verdict": {"type": "string", "enum": ["approve", "request_changes", "needs_discussion"]},
            "confidence": {"type": "integer", "minimum": 1, "maximum": 5},
            "summary": {"type": "string", "description": "What the change does and whether it is sound, in a few sentences."},
            "key_changes": {"type": "array", "items": {"type": "string"}},
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["path", "line", "severity", "category", "title", "explanation"],
                    "properties": {
                        "path": {"type": "string"},
                        "line": {"type": "integer", "minimum": 1, "description": "A new-file line number shown in the diff."},
                        "end_line": {"type": ["integer", "null"], "minimum": 1},
                        "severity": {"type": "string", "enum": ["critical", "moderate", "minor"]},
                        "category": {"type": "string", "description": "A short slug: security, correctness, performance, tests, style, …"},
                        "title": {"type": "string"},
                        "explanation": {"type": "string"},
                        "suggestion": {"type": ["string", "null"], "description": "Replacement text for line..end_line, when there is one."}
                    }
                }
            },
            "semantic_issues": {"type": "array", "items": {"type": "integer"}, "description": "Open issues this change may resolve."}
        }
    })
}

/// A review as the JSON its schema describes: what `parse_review` reads back.
pub fn review_to_json(review: &StructuredReview) -> Value {
    json!({
        "verdict": review.verdict.as_str().to_ascii_lowercase(),
        "confidence": review.confidence,
        "summary": review.summary,
        "key_changes": review.key_changes,
        "findings": review.findings.iter().map(|finding| json!({
            "path": finding.path,
            "line": finding.line,
            "end_line": finding.end_line,
            "severity": finding.severity.as_str(),
            "category": finding.category,
            "title": finding.title,
            "explanation": finding.explanation,
            "suggestion": finding.suggestion,
        })).collect::<Vec<_>>(),
        "semantic_issues": review.semantic_issues,
    })
}

fn text(value: &Value, field: &str) -> Result<String, String> {
    match value.get(field) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(format!("`{field}` must be a string, not {other}")),
        None => Err(format!("`{field}` is missing")),
    }
}

fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn finding(index: usize, value: &Value) -> Result<Finding, String> {
    let at = |error: String| format!("finding {index}: {error}");
    let line = value
        .get("line")
        .and_then(number)
        .filter(|line| *line > 0)
        .ok_or_else(|| at("`line` must be a positive new-file line number".to_owned()))?;
    let end_line = match value.get("end_line") {
        None | Some(Value::Null) => None,
        Some(end) => Some(
            number(end)
                .filter(|end| *end >= line)
                .ok_or_else(|| at("`end_line` must be a line at or after `line`".to_owned()))?,
        ),
    };
    let severity = text(value, "severity").map_err(at)?;
    let optional = |field: &str| match value.get(field) {
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        _ => None,
    };
    Ok(Finding {
        path: text(value, "path").map_err(at)?,
        line,
        end_line: end_line.filter(|end| *end != line),
        severity: Severity::parse(&severity)
            .ok_or_else(|| at(format!("unknown severity {severity:?}")))?,
        category: optional("category").unwrap_or_else(|| "general".to_owned()),
        title: text(value, "title").map_err(at)?,
        explanation: text(value, "explanation").map_err(at)?,
        suggestion: optional("suggestion"),
    })
}

/// A review from its JSON, validated.
///
/// # Errors
/// What is missing or wrong, worded for the model to fix.
pub fn parse_review(value: &Value) -> Result<StructuredReview, String> {
    if !value.is_object() {
        return Err("the review must be a JSON object".to_owned());
    }
    let verdict = text(value, "verdict")?;
    let verdict = Verdict::parse(&verdict).ok_or_else(|| format!("unknown verdict {verdict:?}"))?;
    let confidence = value
        .get("confidence")
        .and_then(number)
        .filter(|confidence| (1..=5).contains(confidence))
        .ok_or("`confidence` must be an integer from 1 to 5")?;
    let summary = text(value, "summary")?;
    if summary.trim().is_empty() {
        return Err("`summary` is empty".to_owned());
    }
    let key_changes = match value.get("key_changes") {
        Some(Value::Array(items)) => {
            items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect()
        }
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err("`key_changes` must be a list of strings".to_owned()),
    };
    let findings = match value.get("findings") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| finding(index, item))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("`findings` must be a list (empty when there are none)".to_owned()),
    };
    let semantic_issues = match value.get("semantic_issues") {
        Some(Value::Array(items)) => items.iter().filter_map(number).collect(),
        _ => Vec::new(),
    };
    Ok(StructuredReview {
        verdict,
        confidence: u8::try_from(confidence).unwrap_or(3),
        summary,
        key_changes,
        findings,
        semantic_issues,
    })
}

/// The JSON object in a model's free text: the whole text, a fenced code block, or the span
/// from the first `{` to the last `}`.
pub fn extract_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Some(value);
    }
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        let body = after.split_once('\n').map_or(after, |(_, rest)| rest);
        if let Some(end) = body.find("```")
            && let Ok(value) = serde_json::from_str::<Value>(body[..end].trim())
        {
            return Some(value);
        }
    }
    let start = trimmed.find('{')?;
    let end = trimmed.rfind('}')?;
    serde_json::from_str(trimmed.get(start..=end)?).ok()
}

#[cfg(test)]
mod tests {
    use super::{extract_json, parse_review, review_to_json};
    use nectr_domain::review::{Severity, Verdict};
    use serde_json::json;

    #[test]
    fn loose_spellings_are_normalised_and_missing_fields_refused() {
        let review = parse_review(&json!({
            "verdict": "Request Changes", "confidence": "4", "summary": "Adds login.",
            "key_changes": ["login"], "semantic_issues": [12],
            "findings": [{"path": "a.rs", "line": 3, "end_line": 3, "severity": "CRITICAL",
                          "category": "security", "title": "t", "explanation": "e", "suggestion": ""}]
        }))
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(review.verdict, Verdict::RequestChanges);
        assert_eq!(review.confidence, 4);
        assert_eq!(review.findings[0].severity, Severity::Critical);
        assert_eq!(
            (review.findings[0].end_line, review.findings[0].suggestion.as_ref()),
            (None, None)
        );
        assert_eq!(parse_review(&review_to_json(&review)), Ok(review), "the JSON reads back");
        let missing = parse_review(&json!({"verdict": "approve", "confidence": 3, "summary": "x"}));
        assert_eq!(
            missing.err().as_deref(),
            Some("`findings` must be a list (empty when there are none)")
        );
        let bad_line = parse_review(&json!({"verdict": "approve", "confidence": 3, "summary": "x",
            "findings": [{"path": "a", "line": 0, "severity": "minor", "title": "t", "explanation": "e"}]}));
        assert!(bad_line.is_err());
        assert!(
            parse_review(
                &json!({"verdict": "ship it", "confidence": 3, "summary": "x", "findings": []})
            )
            .is_err()
        );
    }

    #[test]
    fn json_is_found_in_fences_and_prose() {
        assert_eq!(extract_json("{\"a\": 1}"), Some(json!({"a": 1})));
        assert_eq!(extract_json("Here:\n```json\n{\"a\": 2}\n```\nDone."), Some(json!({"a": 2})));
        assert_eq!(extract_json("The review is {\"a\": 3} as asked."), Some(json!({"a": 3})));
        assert_eq!(extract_json("no json here"), None);
    }
}
