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

/// The verdict on whatever `prepare` is handed. A malformed event is ignored with its
/// reason, never an error: it cannot be released.
pub fn read(event: serde_json::Value, repository: &str, tag_filter: &str) -> Verdict {
    match serde_json::from_value::<EcrEvent>(event) {
        Ok(parsed) => judge(&parsed, repository, tag_filter),
        Err(e) => Verdict::Ignore(format!("malformed ECR event: {e}")),
    }
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
    if !is_sha256_digest(&detail.image_digest) {
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

/// `sha256:` and 64 lowercase hex digits, as ECR writes a digest. Anything shorter would
/// also match other releases' digests where deployments are found by their description.
fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
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

#[cfg(test)]
mod fuzz {
    //! Any event `prepare` is handed is ignored with a reason or released, and released only
    //! when every rule holds; the tag filter matches as EventBridge's wildcard does.

    use super::*;
    use serde_json::json;
    use vikunja_core::fuzzing::Shape;

    const REPOSITORY: &str = "vikunja/vikunja";

    fn push() -> serde_json::Value {
        json!({
            "version": "0", "id": "e", "detail-type": "ECR Image Action", "source": "aws.ecr",
            "account": "123456789012", "time": "2026-11-27T21:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"result": "SUCCESS", "repository-name": REPOSITORY,
                       "image-digest": format!("sha256:{}", "b".repeat(64)),
                       "action-type": "PUSH", "image-tag": "0.24.6"}
        })
    }

    /// EventBridge's wildcard, by the book: `*` any run of characters, all else itself.
    fn reference_glob(pattern: &[char], text: &[char]) -> bool {
        // matches[j]: pattern[..i] matches text[..j]
        let mut matches = vec![false; text.len() + 1];
        matches[0] = true;
        for p in pattern {
            let mut next = vec![false; text.len() + 1];
            for j in 0..=text.len() {
                next[j] = if *p == '*' {
                    matches[j] || (j > 0 && next[j - 1])
                } else {
                    j > 0 && matches[j - 1] && text[j - 1] == *p
                };
            }
            matches = next;
        }
        matches[text.len()]
    }

    /// What the fuzzer found, kept: `sha256:` alone (or any prefix of a digest) was taken
    /// for a digest, and a deployment is found in flight by its description containing it.
    #[test]
    fn only_whole_digests_are_released() {
        for digest in [
            "sha256:",
            "sha256:bbbb",
            &format!("sha256:{}", "B".repeat(64)),
            &format!("sha256:{}x", "b".repeat(63)),
        ] {
            let mut event = push();
            event["detail"]["image-digest"] = digest.into();
            let verdict = read(event, REPOSITORY, "*");
            assert!(
                matches!(&verdict, Verdict::Ignore(r) if r.contains("not a sha256 digest")),
                "{digest}: {verdict:?}"
            );
        }
        assert!(matches!(
            read(push(), REPOSITORY, "*"),
            Verdict::Release { .. }
        ));
    }

    #[test]
    fn tag_filters_match_as_eventbridge_wildcards() {
        const ALPHABET: &[char] = &['a', 'b', '*', '.', 'é'];
        bolero::check!()
            .with_type::<(Vec<u8>, Vec<u8>)>()
            .for_each(|(pattern, text)| {
                let pick = |p: &u8| ALPHABET[*p as usize % ALPHABET.len()];
                let pattern: Vec<char> = pattern.iter().take(8).map(pick).collect();
                let text: Vec<char> = text
                    .iter()
                    .take(10)
                    .map(pick)
                    .filter(|c| *c != '*')
                    .collect();
                let (p, t): (String, String) = (pattern.iter().collect(), text.iter().collect());
                assert_eq!(
                    glob_matches(&p, &t),
                    reference_glob(&pattern, &text),
                    "{p:?} {t:?}"
                );
            });
    }

    #[test]
    fn any_event_is_released_only_when_every_rule_holds() {
        let shape = Shape::of(&[push()]).strings(&[
            "0.*",
            "DELETE",
            "FAILURE",
            "other/repo",
            "sha256:",
            "sha256:short",
            "aws.s3",
        ]);
        bolero::check!()
            .with_type::<(Vec<u8>, u8)>()
            .for_each(|(data, filter)| {
                let filter = ["*", "0.*", "*-rc*", "0.24.6", ""][*filter as usize % 5];
                let value = shape.value(data);
                match read(value.clone(), REPOSITORY, filter) {
                    Verdict::Release { tag, digest } => {
                        let event: EcrEvent = serde_json::from_value(value).unwrap();
                        assert_eq!(event.source, "aws.ecr");
                        assert_eq!(event.detail_type, "ECR Image Action");
                        assert_eq!(event.detail.repository_name, REPOSITORY);
                        assert_eq!(event.detail.action_type, "PUSH");
                        assert_eq!(event.detail.result, "SUCCESS");
                        assert_eq!(event.detail.image_tag.as_deref(), Some(tag.as_str()));
                        assert!(!tag.is_empty() && glob_matches(filter, &tag));
                        assert_eq!(digest.len(), 71, "{digest:?}");
                        assert!(digest["sha256:".len()..]
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
                    }
                    Verdict::Ignore(reason) => assert!(!reason.is_empty()),
                }
            });
    }
}
