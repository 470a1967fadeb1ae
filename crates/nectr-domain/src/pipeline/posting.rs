//! A review is posted at most once per job, whatever fails when.
//!
//! Before it posts, a job records its intent (attempt, head commit, time) with the review's
//! record, and every review it posts ends with a hidden marker that names the job and the head
//! commit. A retried job that finds an unfinished intent looks for its marker among the pull
//! request's reviews and issue comments (every page) and adopts what it finds instead of posting
//! again; it does so only once the earlier attempt's post can no longer land (`post_settle`
//! after the intent). The code host's comment fallback looks for the marker too.

use chrono::{DateTime, Utc};

use crate::JobId;
use crate::RepoFullName;
use crate::code_host::{CodeHost, CodeHostError, Identity, PostedReview};
use crate::review_run::Posted;

/// The hidden line that ends every review a job posts.
pub fn marker(job: JobId, head_sha: &str) -> String {
    format!("<!-- nectr:review job={job} head={head_sha} -->")
}

/// What a post put on the pull request, as recorded.
pub(crate) fn posted(post: &PostedReview) -> Posted {
    let count = |comments: &[crate::code_host::ReviewComment]| {
        u32::try_from(comments.len()).unwrap_or(u32::MAX)
    };
    match post {
        PostedReview::Review { id, inline, moved_to_body } => Posted::Review {
            id: *id,
            inline: count(inline),
            moved_to_body: count(moved_to_body),
            adopted: false,
        },
        PostedReview::IssueComment { id } => Posted::Comment { id: *id, adopted: false },
    }
}

/// When a retried job may look for an earlier attempt's post: once `settle` has passed since
/// that attempt began posting, so that a post still in flight cannot land after the search.
pub(crate) fn settled_at(intended_at: DateTime<Utc>, settle: std::time::Duration) -> DateTime<Utc> {
    intended_at + chrono::Duration::from_std(settle).unwrap_or(chrono::Duration::MAX)
}

/// The review or comment carrying `marker` on a pull request, adopted: its inline comments
/// counted, and those it was composed with but lacks counted as moved into the body.
///
/// # Errors
/// [`CodeHostError`] when the pull request's reviews or comments cannot be listed.
pub(crate) async fn find(
    code_host: &dyn CodeHost,
    who: &Identity,
    repo: &RepoFullName,
    number: u64,
    marker: &str,
    planned_inline: u32,
) -> Result<Option<Posted>, CodeHostError> {
    let reviews = code_host.reviews(who, repo, number).await?;
    if let Some(review) = reviews.iter().find(|review| review.body.contains(marker)) {
        let comments = code_host.review_comments(who, repo, number).await?;
        let inline = comments.iter().filter(|comment| comment.review_id == Some(review.id)).count();
        let inline = u32::try_from(inline).unwrap_or(u32::MAX);
        return Ok(Some(Posted::Review {
            id: review.id,
            inline,
            moved_to_body: planned_inline.saturating_sub(inline),
            adopted: true,
        }));
    }
    let comment = code_host.find_issue_comment(who, repo, number, marker).await?;
    Ok(comment.map(|comment| Posted::Comment { id: comment.id, adopted: true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_job_and_the_head_and_hides_in_markdown() {
        let text = marker(JobId::new(42), "6dcb09b5b57875f334f61aebed695e2e4193db5e");
        assert_eq!(
            text,
            "<!-- nectr:review job=42 head=6dcb09b5b57875f334f61aebed695e2e4193db5e -->"
        );
        assert!(!marker(JobId::new(4), "abc").contains("job=42"), "job 4 is not job 42");
    }

    #[test]
    fn a_search_waits_for_the_settle_time() {
        let at = DateTime::from_timestamp(1_764_633_600, 0).unwrap_or_default();
        let settled = settled_at(at, std::time::Duration::from_secs(90));
        assert_eq!((settled - at).num_seconds(), 90);
    }
}
