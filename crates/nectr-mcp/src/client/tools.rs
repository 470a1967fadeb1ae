//! Choosing a server's tool for a job by its name and input schema, since vendors and their
//! versions name tools and arguments differently (`get_issue {id}`, `linear_get_issue
//! {issueId}`, `find_errors {filename}`, `search_issues {naturalLanguageQuery}`).
//!
//! A name is split into lower-case words (`getIssue`, `get_issue` and `get-issue` all read
//! `get issue`; a trailing `s` is ignored). A tool fits a [`ToolRule`] when its name has a word
//! of each of the rule's groups and none of its excluded words, and its schema has one of the
//! rule's argument names among its properties. Every other required argument must be one
//! Nectr can fill in ([`Fill`]); a tool with a required argument Nectr knows nothing about is
//! not called.

use rmcp::model::JsonObject;
use serde_json::Value;

use super::session::ToolInfo;

/// What a tool must look like to do a job.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ToolRule {
    /// Its name has a word of each group.
    pub(crate) words: &'static [&'static [&'static str]],
    /// Its name has none of these words.
    pub(crate) excluded: &'static [&'static str],
    /// It takes the job's main value under one of these names, by preference.
    pub(crate) arguments: &'static [&'static str],
}

/// A tool chosen for a job, and the argument that carries the job's main value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Chosen {
    /// The tool's name.
    pub(crate) name: String,
    /// The argument for the main value.
    pub(crate) argument: String,
    /// Its input schema.
    pub(crate) schema: JsonObject,
}

/// Other arguments Nectr can give: a value for any of these names.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fill {
    /// Argument names and their value, by preference.
    pub(crate) values: Vec<(&'static [&'static str], Value)>,
}

/// Names for a result limit, filled with the number of results wanted when the schema has one.
pub(crate) const LIMIT_ARGUMENTS: &[&str] =
    &["limit", "maxResults", "max_results", "count", "perPage", "per_page", "first"];

/// A name as lower-case words without a trailing `s`.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for character in name.chars() {
        let boundary = !character.is_ascii_alphanumeric()
            || (character.is_ascii_uppercase() && previous_lower);
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        if character.is_ascii_alphanumeric() {
            current.push(character.to_ascii_lowercase());
        }
        previous_lower = character.is_ascii_lowercase() || character.is_ascii_digit();
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.into_iter().map(|word| singular(&word)).collect()
}

fn singular(word: &str) -> String {
    match word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        true => word[..word.len() - 1].to_owned(),
        false => word.to_owned(),
    }
}

fn properties(schema: &JsonObject) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

fn required(schema: &JsonObject) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|required| required.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Whether the tool's name fits the rule.
fn name_fits(name: &str, rule: &ToolRule) -> bool {
    let name_words = words(name);
    let has = |candidates: &[&str]| {
        candidates.iter().any(|candidate| name_words.contains(&singular(candidate)))
    };
    rule.words.iter().all(|group| has(group)) && !has(rule.excluded)
}

/// The tools that fit `rule`, best first: those whose main argument comes earlier in the
/// rule's preference, then in the server's order. A tool whose required arguments `fill`
/// cannot give is left out.
pub(crate) fn choose(tools: &[ToolInfo], rule: &ToolRule, fill: &Fill) -> Vec<Chosen> {
    let mut fitting: Vec<(usize, Chosen)> = Vec::new();
    for tool in tools {
        if !name_fits(&tool.name, rule) {
            continue;
        }
        let offered = properties(&tool.input_schema);
        let Some((rank, argument)) = rule
            .arguments
            .iter()
            .enumerate()
            .find(|(_, argument)| offered.iter().any(|offered| offered == *argument))
        else {
            continue;
        };
        let fillable = required(&tool.input_schema).iter().all(|name| {
            name == argument || fill.values.iter().any(|(names, _)| names.contains(&name.as_str()))
        });
        if fillable {
            let chosen = Chosen {
                name: tool.name.clone(),
                argument: (*argument).to_owned(),
                schema: tool.input_schema.clone(),
            };
            fitting.push((rank, chosen));
        }
    }
    fitting.sort_by_key(|(rank, _)| *rank);
    fitting.into_iter().map(|(_, chosen)| chosen).collect()
}

impl Chosen {
    /// The arguments of a call with `value` as the main one, every argument `fill` can give
    /// that the schema has, and `limit` under a limit argument when the schema has one.
    pub(crate) fn arguments(&self, value: Value, fill: &Fill, limit: u32) -> JsonObject {
        let offered = properties(&self.schema);
        let mut arguments = JsonObject::new();
        arguments.insert(self.argument.clone(), value);
        for (names, value) in &fill.values {
            if let Some(name) =
                names.iter().find(|name| offered.iter().any(|offered| offered == *name))
            {
                arguments.entry((*name).to_owned()).or_insert_with(|| value.clone());
            }
        }
        if let Some(name) =
            LIMIT_ARGUMENTS.iter().find(|name| offered.iter().any(|offered| offered == *name))
        {
            arguments.entry((*name).to_owned()).or_insert_with(|| Value::from(limit));
        }
        arguments
    }
}

/// The names of the tools a server offers, for an error that says none fits.
pub(crate) fn offered(tools: &[ToolInfo]) -> String {
    match tools.is_empty() {
        true => "the server offers no tools".to_owned(),
        false => format!(
            "it offers {}",
            tools.iter().map(|tool| tool.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(name: &str, schema: Value) -> ToolInfo {
        ToolInfo {
            name: name.to_owned(),
            description: String::new(),
            input_schema: schema.as_object().cloned().unwrap_or_default(),
        }
    }

    const GET_ISSUE: ToolRule = ToolRule {
        words: &[&["get", "fetch", "read"], &["issue", "ticket"]],
        excluded: &["list", "search", "comment"],
        arguments: &["id", "issueId", "identifier"],
    };

    #[test]
    fn names_split_into_words() {
        assert_eq!(words("linear_get_issue"), ["linear", "get", "issue"]);
        assert_eq!(words("getIssueById"), ["get", "issue", "by", "id"]);
        assert_eq!(words("search-issues"), ["search", "issue"]);
        assert_eq!(words("find_errors"), ["find", "error"]);
        assert_eq!(words("access"), ["access"]);
    }

    #[test]
    fn a_tool_is_chosen_by_its_name_and_schema() {
        let tools = vec![
            tool(
                "list_issues",
                json!({"type": "object", "properties": {"query": {"type": "string"}}}),
            ),
            tool("get_issue_comments", json!({"type": "object", "properties": {"id": {}}})),
            tool(
                "linear_get_issue",
                json!({"type": "object", "properties": {"issueId": {}, "limit": {}}, "required": ["issueId"]}),
            ),
            tool(
                "getIssue",
                json!({"type": "object", "properties": {"id": {}, "team": {}}, "required": ["id", "team"]}),
            ),
        ];
        let chosen = choose(&tools, &GET_ISSUE, &Fill::default());
        assert_eq!(chosen.len(), 1, "{chosen:?}");
        assert_eq!(
            (chosen[0].name.as_str(), chosen[0].argument.as_str()),
            ("linear_get_issue", "issueId")
        );
        assert_eq!(
            Value::Object(chosen[0].arguments(json!("ENG-1"), &Fill::default(), 5)),
            json!({"issueId": "ENG-1", "limit": 5})
        );
        let team = Fill { values: vec![(&["team"], json!("ENG"))] };
        let chosen = choose(&tools, &GET_ISSUE, &team);
        assert_eq!(chosen[0].name, "getIssue", "`id` is preferred to `issueId`");
        assert_eq!(
            Value::Object(chosen[0].arguments(json!("ENG-1"), &team, 5)),
            json!({"id": "ENG-1", "team": "ENG"})
        );
        assert!(offered(&tools).starts_with("it offers list_issues, get_issue_comments"));
    }
}
