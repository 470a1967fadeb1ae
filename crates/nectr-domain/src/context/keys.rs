//! Reading tickets out of text: the ticket keys a pull request names (`ENG-123` in its title or
//! body, `eng-123-fix-login` as its branch) and the acceptance criteria a ticket's description
//! lists.

/// The most ticket keys taken from one pull request.
pub const MAX_KEYS: usize = 5;

/// Prefixes that look like ticket keys and are not: standards, hashes, encodings, and the words
/// branch names start with (`feature-42`, `release-2`).
const NOT_TICKETS: [&str; 27] = [
    "UTF", "SHA", "ISO", "RFC", "CVE", "CWE", "GHSA", "PEP", "HTTP", "TLS", "SSL", "AES", "RSA",
    "MD", "GPT", "IPV", "ES", "FEATURE", "FEAT", "FIX", "BUGFIX", "HOTFIX", "RELEASE", "CHORE",
    "BUMP", "PATCH", "ISSUE",
];

/// The ticket keys named by a pull request, in order, without duplicates, at most
/// [`MAX_KEYS`]: a key is a prefix of two to ten letters and digits starting with a letter, a
/// hyphen and a number (`ENG-123`), standing alone. The title and body must write the prefix in
/// capitals, as trackers do; a branch may write it in lower case (`eng-123-fix-login`, as
/// Linear names branches). Prefixes in a short list of look-alikes (`UTF-8`, `SHA-256`,
/// `feature-42`) are not keys.
pub fn ticket_keys(title: &str, branch: &str, body: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for (text, any_case) in [(title, false), (branch, true), (body, false)] {
        for key in keys_in(text, any_case) {
            if keys.len() < MAX_KEYS && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Candidate keys in one text, upper-cased.
fn keys_in(text: &str, any_case: bool) -> Vec<String> {
    // Dots stay inside words, so that versions (`serde-1.0.200`) are not keys; a sentence's
    // full stop is not part of one.
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    let mut found = Vec::new();
    for word in words {
        let parts: Vec<&str> = word.trim_end_matches('.').split('-').collect();
        for pair in parts.windows(2) {
            let (prefix, number) = (pair[0], pair[1]);
            if is_prefix(prefix, any_case) && is_number(number) {
                found.push(format!("{}-{number}", prefix.to_ascii_uppercase()));
            }
        }
    }
    found
}

fn is_prefix(prefix: &str, any_case: bool) -> bool {
    let starts_with_letter = prefix.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let cased = any_case || !prefix.chars().any(|c| c.is_ascii_lowercase());
    (2..=10).contains(&prefix.len())
        && starts_with_letter
        && cased
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        && !NOT_TICKETS.contains(&prefix.to_ascii_uppercase().as_str())
}

fn is_number(number: &str) -> bool {
    (1..=7).contains(&number.len())
        && !number.starts_with('0')
        && number.chars().all(|c| c.is_ascii_digit())
}

/// The acceptance criteria a ticket's description lists: the list items after a line that
/// says "Acceptance criteria" (a heading, bold or plain, with or without a colon; also
/// "Definition of done"), up to the next heading or paragraph; or the text after the colon when
/// the criteria share that line. Check boxes (`- [ ]`) and numbering are removed. Empty when
/// the description has no such section.
pub fn acceptance_criteria(description: &str) -> Vec<String> {
    lines(description)
        .into_iter()
        .filter_map(|line| match line {
            Line::Criterion(text) => Some(text.to_owned()),
            Line::Other(_) | Line::Section => None,
        })
        .collect()
}

/// A description without its acceptance-criteria section (which is shown apart) and without
/// blank lines.
pub fn description_without_criteria(description: &str) -> String {
    let kept: Vec<&str> = lines(description)
        .into_iter()
        .filter_map(|line| match line {
            Line::Other(text) if !text.trim().is_empty() => Some(text.trim_end()),
            _ => None,
        })
        .collect();
    kept.join("\n")
}

/// A description's line, as the acceptance criteria see it.
enum Line<'a> {
    /// A line outside the criteria.
    Other(&'a str),
    /// The criteria's heading, or a blank line or empty item among them.
    Section,
    /// One criterion.
    Criterion(&'a str),
}

fn lines(description: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut inside = false;
    let mut found = false;
    for line in description.lines() {
        let trimmed = line.trim();
        if let Some(rest) = criteria_heading(trimmed) {
            inside = true;
            match rest.is_empty() {
                true => lines.push(Line::Section),
                false => {
                    found = true;
                    lines.push(Line::Criterion(rest));
                }
            }
            continue;
        }
        if inside {
            match list_item(trimmed) {
                Some(item) if !item.is_empty() => {
                    found = true;
                    lines.push(Line::Criterion(item));
                    continue;
                }
                Some(_) => {
                    lines.push(Line::Section);
                    continue;
                }
                None if trimmed.is_empty() => {
                    lines.push(Line::Section);
                    continue;
                }
                None if found || trimmed.starts_with('#') => inside = false,
                None => {
                    lines.push(Line::Section);
                    continue;
                }
            }
        }
        lines.push(Line::Other(line));
    }
    lines
}

/// The rest of a line that opens the acceptance criteria, or `None`.
fn criteria_heading(line: &str) -> Option<&str> {
    let stripped = line.trim_start_matches(['#', '*', '_', ' ']);
    let lower = stripped.to_ascii_lowercase();
    let title = ["acceptance criteria", "definition of done"]
        .into_iter()
        .find(|title| lower.starts_with(title))?;
    let rest = stripped[title.len()..].trim_start_matches(['*', '_', ':', ' ']);
    let rest = rest.trim_end_matches(['*', '_', ' ']);
    Some(rest)
}

/// A list item's text without its marker and check box, or `None` for other lines.
fn list_item(line: &str) -> Option<&str> {
    let text = match line.strip_prefix(['-', '*', '+', '•']) {
        Some(rest) => rest,
        None => {
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            let rest = line.get(digits..).filter(|_| digits > 0)?;
            rest.strip_prefix(['.', ')'])?
        }
    };
    if !text.starts_with(char::is_whitespace) {
        return None;
    }
    let text = text.trim_start();
    let text = ["[ ]", "[x]", "[X]"]
        .into_iter()
        .find_map(|check_box| text.strip_prefix(check_box))
        .unwrap_or(text);
    Some(text.trim())
}
