//! Posting a review so that it is never lost.
//!
//! 1. The review goes up as it is.
//! 2. If GitHub rejects it (422) and it has inline comments, Nectr finds the comments GitHub
//!    rejects by bisection, probing with *pending* reviews (never submitted, deleted at once, so
//!    nobody is notified), and posts the review with the valid comments inline and the rejected
//!    ones listed in its body with their file and line.
//! 3. Only if GitHub refuses the review itself (422, 403) does an issue comment carry the body
//!    and every comment, unless a comment with the review's marker is there already. A failure
//!    that leaves unknown whether GitHub stored the review (a timeout, a 5xx, a dropped
//!    connection) is returned as it is: a second copy as a comment would be a duplicate.

use http::Method;
use nectr_domain::code_host::{CodeHostError, Identity, NewReview, PostedReview, ReviewComment};

use crate::OctocrabHost;
use crate::models::{IdBody, IssueCommentBody};

pub(crate) async fn post(
    host: &OctocrabHost,
    who: &Identity,
    pull_path: &str,
    issue_path: &str,
    review: &NewReview,
) -> Result<PostedReview, CodeHostError> {
    let first = submit(host, who, pull_path, review, &review.comments, &[]).await;
    let rejection = match first {
        Ok(id) => {
            return Ok(PostedReview::Review {
                id,
                inline: review.comments.clone(),
                moved_to_body: Vec::new(),
            });
        }
        Err(CodeHostError::ValidationFailed(message)) if !review.comments.is_empty() => message,
        Err(error) if refused(&error) => {
            return fall_back(host, who, issue_path, review, &error).await;
        }
        Err(error) => return Err(error),
    };
    tracing::info!(reason = %rejection, comments = review.comments.len(), "GitHub rejected the review; finding the comments it refuses");
    let rejected = match rejected_comments(host, who, pull_path, review).await {
        Ok(rejected) => rejected,
        Err(error) if refused(&error) => {
            return fall_back(host, who, issue_path, review, &error).await;
        }
        Err(error) => return Err(error),
    };
    let (moved, inline): (Vec<ReviewComment>, Vec<ReviewComment>) = review
        .comments
        .iter()
        .enumerate()
        .map(|(index, comment)| (rejected.contains(&index), comment.clone()))
        .partition_map();
    match submit(host, who, pull_path, review, &inline, &moved).await {
        Ok(id) => Ok(PostedReview::Review { id, inline, moved_to_body: moved }),
        Err(error) if refused(&error) => fall_back(host, who, issue_path, review, &error).await,
        Err(error) => Err(error),
    }
}

/// GitHub answered and refused: the review was not stored, and a comment may carry it.
const fn refused(error: &CodeHostError) -> bool {
    matches!(error, CodeHostError::ValidationFailed(_) | CodeHostError::Forbidden { .. })
}

/// Splits pairs by their flag: (flagged, unflagged).
trait PartitionMap<T> {
    fn partition_map(self) -> (Vec<T>, Vec<T>);
}

impl<T, I: Iterator<Item = (bool, T)>> PartitionMap<T> for I {
    fn partition_map(self) -> (Vec<T>, Vec<T>) {
        let mut flagged = Vec::new();
        let mut unflagged = Vec::new();
        for (flag, item) in self {
            if flag { flagged.push(item) } else { unflagged.push(item) }
        }
        (flagged, unflagged)
    }
}

fn comment_json(comment: &ReviewComment) -> serde_json::Value {
    let mut json = serde_json::json!({
        "path": comment.path,
        "line": comment.line,
        "side": comment.side.as_str(),
        "body": comment.body,
    });
    if let Some(start_line) = comment.start_line {
        json["start_line"] = start_line.into();
        json["start_side"] = comment.start_side.unwrap_or(comment.side).as_str().into();
    }
    json
}

fn location(comment: &ReviewComment) -> String {
    match comment.start_line {
        Some(start) if start != comment.line => {
            format!("`{}` lines {start}–{}", comment.path, comment.line)
        }
        _ => format!("`{}` line {}", comment.path, comment.line),
    }
}

/// The body with rejected comments appended as a list.
fn body_with(body: &str, moved: &[ReviewComment], heading: &str) -> String {
    if moved.is_empty() {
        return body.to_owned();
    }
    let mut text = format!("{body}\n\n---\n**{heading}**\n");
    for comment in moved {
        text.push_str(&format!(
            "\n- {}: {}",
            location(comment),
            comment.body.replace('\n', "\n  ")
        ));
    }
    text
}

async fn submit(
    host: &OctocrabHost,
    who: &Identity,
    pull_path: &str,
    review: &NewReview,
    inline: &[ReviewComment],
    moved: &[ReviewComment],
) -> Result<i64, CodeHostError> {
    let payload = serde_json::json!({
        "commit_id": review.commit_id,
        "event": review.event.as_str(),
        "body": review.marked(&body_with(&review.body, moved, "Comments GitHub could not place on the diff")),
        "comments": inline.iter().map(comment_json).collect::<Vec<_>>(),
    });
    let reply =
        host.call(who, Method::POST, &format!("{pull_path}/reviews"), Some(&payload)).await?;
    Ok(reply.json::<IdBody>()?.id)
}

/// Whether GitHub accepts these comments, asked with a pending review that is deleted at once.
async fn accepts(
    host: &OctocrabHost,
    who: &Identity,
    pull_path: &str,
    commit_id: &str,
    comments: &[&ReviewComment],
) -> Result<bool, CodeHostError> {
    let payload = serde_json::json!({
        "commit_id": commit_id,
        "comments": comments.iter().map(|comment| comment_json(comment)).collect::<Vec<_>>(),
    });
    match host.call(who, Method::POST, &format!("{pull_path}/reviews"), Some(&payload)).await {
        Ok(reply) => {
            let pending = reply.json::<IdBody>()?.id;
            host.call(who, Method::DELETE, &format!("{pull_path}/reviews/{pending}"), None).await?;
            Ok(true)
        }
        Err(CodeHostError::ValidationFailed(message))
            if message.to_ascii_lowercase().contains("pending review") =>
        {
            // The identity already has a pending review here; probing is impossible.
            Err(CodeHostError::ValidationFailed(message))
        }
        Err(CodeHostError::ValidationFailed(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// The indexes of the comments GitHub rejects, found by bisection. The whole set is known to be
/// rejected already.
async fn rejected_comments(
    host: &OctocrabHost,
    who: &Identity,
    pull_path: &str,
    review: &NewReview,
) -> Result<Vec<usize>, CodeHostError> {
    let all: Vec<usize> = (0..review.comments.len()).collect();
    let mut rejected = Vec::new();
    let mut known_bad = vec![all];
    while let Some(group) = known_bad.pop() {
        if group.len() == 1 {
            rejected.extend(group);
            continue;
        }
        let (left, right) = group.split_at(group.len() / 2);
        let mut right_is_bad = true;
        let left_comments: Vec<&ReviewComment> =
            left.iter().map(|index| &review.comments[*index]).collect();
        if accepts(host, who, pull_path, &review.commit_id, &left_comments).await? {
            // The whole group fails and its left half passes: the fault is on the right.
        } else {
            known_bad.push(left.to_vec());
            let right_comments: Vec<&ReviewComment> =
                right.iter().map(|index| &review.comments[*index]).collect();
            right_is_bad =
                !accepts(host, who, pull_path, &review.commit_id, &right_comments).await?;
        }
        if right_is_bad {
            known_bad.push(right.to_vec());
        }
    }
    rejected.sort_unstable();
    Ok(rejected)
}

/// Posts the review as an issue comment: the verdict, the body and every comment.
async fn fall_back(
    host: &OctocrabHost,
    who: &Identity,
    issue_path: &str,
    review: &NewReview,
    cause: &CodeHostError,
) -> Result<PostedReview, CodeHostError> {
    if let Some(marker) = &review.marker {
        let comments: Vec<nectr_domain::code_host::IssueComment> =
            host.list_into::<IssueCommentBody, _>(who, &format!("{issue_path}/comments")).await?;
        if let Some(earlier) = comments.into_iter().find(|comment| comment.body.contains(marker)) {
            tracing::info!(
                comment = earlier.id,
                "the review's comment is on the pull request already"
            );
            return Ok(PostedReview::IssueComment { id: earlier.id });
        }
    }
    tracing::warn!(error = %cause, "GitHub refused the review; posting it as a comment");
    let body = review.marked(&format!(
        "{}\n\n_Verdict: **{}**. Posted as a comment because GitHub refused the review._",
        body_with(&review.body, &review.comments, "Inline comments"),
        review.event.as_str()
    ));
    let payload = serde_json::json!({ "body": body });
    let reply =
        host.call(who, Method::POST, &format!("{issue_path}/comments"), Some(&payload)).await?;
    let comment = reply.json::<IssueCommentBody>()?;
    Ok(PostedReview::IssueComment { id: nectr_domain::code_host::IssueComment::from(comment).id })
}

#[cfg(test)]
mod tests {
    use nectr_domain::code_host::Side;

    use super::*;

    fn comment(path: &str, line: u64, start: Option<u64>) -> ReviewComment {
        ReviewComment {
            path: path.to_owned(),
            line,
            side: Side::Right,
            start_line: start,
            start_side: None,
            body: "Fix\nthis".to_owned(),
        }
    }

    #[test]
    fn moved_comments_keep_their_file_and_line() {
        let text = body_with(
            "## Summary",
            &[comment("src/a.rs", 7, None), comment("b.rs", 12, Some(10))],
            "Moved",
        );
        assert_eq!(
            text,
            "## Summary\n\n---\n**Moved**\n\n- `src/a.rs` line 7: Fix\n  this\n- `b.rs` lines 10–12: Fix\n  this"
        );
        assert_eq!(body_with("same", &[], "Moved"), "same");
    }

    #[test]
    fn multi_line_comments_carry_their_start() {
        let json = comment_json(&comment("a.rs", 12, Some(10)));
        assert_eq!(json["start_line"], 10);
        assert_eq!(json["start_side"], "RIGHT");
        assert!(comment_json(&comment("a.rs", 3, None)).get("start_line").is_none());
    }
}
