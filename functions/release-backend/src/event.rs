//! The ECR `Image Action` event, and which ones start a release.

use serde::Deserialize;

/// `{"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {…}}`, as
/// EventBridge delivers it.
#[derive(Debug, Clone, Deserialize)]
pub struct EcrEvent {
    #[serde(default)]
    pub source: String,
    #[serde(rename = "detail-type", default)]
    pub detail_type: String,
    #[serde(default)]
    pub detail: ImageAction,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageAction {
    #[serde(rename = "action-type", default)]
    pub action_type: String,
    #[serde(default)]
    pub result: String,
    #[serde(rename = "repository-name", default)]
    pub repository_name: String,
    #[serde(rename = "image-digest", default)]
    pub image_digest: String,
    #[serde(rename = "image-tag", default)]
    pub image_tag: Option<String>,
}

/// A push worth releasing, or why the event is ignored (a log line, not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Release { tag: String, digest: String },
    Ignore(String),
}

pub fn judge(event: &EcrEvent, repository: &str, tag_filter: &str) -> Verdict {
    let detail = &event.detail;
    if event.source != "aws.ecr" || event.detail_type != "ECR Image Action" {
        return Verdict::Ignore(format!(
            "not an ECR image action ({} / {})",
            event.source, event.detail_type
        ));
    }
    if detail.repository_name != repository {
        return Verdict::Ignore(format!(
            "repository {} is not this stack's ({repository})",
            detail.repository_name
        ));
    }
    if detail.action_type != "PUSH" {
        return Verdict::Ignore(format!("action {} is not a push", detail.action_type));
    }
    if detail.result != "SUCCESS" {
        return Verdict::Ignore(format!("push result {} is not SUCCESS", detail.result));
    }
    let Some(tag) = detail.image_tag.as_deref().filter(|t| !t.is_empty()) else {
        return Verdict::Ignore("push without a tag".into());
    };
    if !glob_matches(tag_filter, tag) {
        return Verdict::Ignore(format!(
            "tag {tag} does not match the release filter {tag_filter}"
        ));
    }
    if !detail.image_digest.starts_with("sha256:") {
        return Verdict::Ignore(format!(
            "image digest {:?} is not a sha256 digest",
            detail.image_digest
        ));
    }
    Verdict::Release {
        tag: tag.to_string(),
        digest: detail.image_digest.clone(),
    }
}

/// `*` matches any run of characters; everything else matches itself (EventBridge's
/// `wildcard` semantics, so the rule and the function agree).
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(repo: &str, tag: Option<&str>) -> EcrEvent {
        serde_json::from_value(serde_json::json!({
            "version": "0", "id": "e", "detail-type": "ECR Image Action", "source": "aws.ecr",
            "account": "123456789012", "time": "2026-11-27T21:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"result": "SUCCESS", "repository-name": repo, "image-digest": format!("sha256:{}", "b".repeat(64)),
                       "action-type": "PUSH", "image-tag": tag}
        }))
        .unwrap()
    }

    #[test]
    fn a_tagged_push_to_our_repository_is_released() {
        let verdict = judge(&push("v/vikunja", Some("0.24.6")), "v/vikunja", "*");
        assert_eq!(
            verdict,
            Verdict::Release {
                tag: "0.24.6".into(),
                digest: format!("sha256:{}", "b".repeat(64))
            }
        );
    }

    #[test]
    fn everything_else_is_ignored_with_a_reason() {
        let cases = [
            (push("other/repo", Some("1")), "not this stack's"),
            (push("v/vikunja", None), "without a tag"),
            (push("v/vikunja", Some("nightly")), "does not match"),
        ];
        for (event, why) in cases {
            match judge(&event, "v/vikunja", "0.*") {
                Verdict::Ignore(reason) => assert!(reason.contains(why), "{reason}"),
                other => panic!("{other:?}"),
            }
        }
        let mut delete = push("v/vikunja", Some("0.1"));
        delete.detail.action_type = "DELETE".into();
        assert!(
            matches!(judge(&delete, "v/vikunja", "*"), Verdict::Ignore(r) if r.contains("not a push"))
        );
        let mut failed = push("v/vikunja", Some("0.1"));
        failed.detail.result = "FAILURE".into();
        assert!(
            matches!(judge(&failed, "v/vikunja", "*"), Verdict::Ignore(r) if r.contains("not SUCCESS"))
        );
        let junk: EcrEvent = serde_json::from_value(serde_json::json!({"hello": "world"})).unwrap();
        assert!(matches!(judge(&junk, "v/vikunja", "*"), Verdict::Ignore(_)));
    }

    #[test]
    fn globs_match_like_eventbridge_wildcards() {
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("v*", "v1.2"));
        assert!(glob_matches("*-rc*", "1.0-rc2"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("v*", "1.2"));
        assert!(!glob_matches("a*a", "a"));
    }
}
