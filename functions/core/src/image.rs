//! Container image references: `registry/repo:tag`, `repo@sha256:…`, `repo:tag@sha256:…`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(reference: &str) -> Option<Self> {
        let reference = reference.trim();
        if reference.is_empty() || reference.chars().any(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) if digest.starts_with("sha256:") && digest.len() == 71 => {
                (rest, Some(digest.to_string()))
            }
            Some(_) => return None,
            None => (reference, None),
        };
        // A colon after the last slash separates the tag; one before it is a registry port.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (repository, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if repository.is_empty() || tag.as_deref() == Some("") {
            return None;
        }
        Some(Self {
            repository: repository.to_string(),
            tag,
            digest,
        })
    }
}

/// Vikunja reports its version as `v0.24.6`; image tags are often `0.24.6`.
pub fn same_version(reported: &str, tag: &str) -> bool {
    reported.trim_start_matches('v') == tag.trim_start_matches('v')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse() {
        let r = ImageRef::parse("vikunja/vikunja:0.24.6").unwrap();
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref(), r.digest),
            ("vikunja/vikunja", Some("0.24.6"), None)
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!(
            "1.dkr.ecr.eu-west-1.amazonaws.com/v/vikunja@{digest}"
        ))
        .unwrap();
        assert_eq!(r.repository, "1.dkr.ecr.eu-west-1.amazonaws.com/v/vikunja");
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(digest.as_str())));
        let r = ImageRef::parse("localhost:5000/app").unwrap();
        assert_eq!((r.repository.as_str(), r.tag), ("localhost:5000/app", None));
        for bad in ["", "a b", "repo:", "repo@sha256:short"] {
            assert!(ImageRef::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn versions_compare_without_the_v() {
        assert!(same_version("v0.24.6", "0.24.6"));
        assert!(same_version("0.24.6", "v0.24.6"));
        assert!(!same_version("v0.24.5", "0.24.6"));
    }
}

#[cfg(test)]
mod fuzz {
    //! An image reference (the `image` setting, a task definition's image) is read back into
    //! exactly its parts, or refused: no panic on any text.

    use super::*;

    #[test]
    fn references_parse_into_their_own_parts_or_are_refused() {
        const PIECES: &[&str] = &[
            "vikunja",
            "/",
            ":",
            "@",
            "sha256:",
            "0.24.6",
            "localhost:5000",
            "v",
            " ",
            "é",
            "",
        ];
        bolero::check!()
            .with_type::<(Vec<u8>, String, bool)>()
            .for_each(|(picks, any, plain)| {
                let mut text: String = if *plain {
                    any.clone()
                } else {
                    picks
                        .iter()
                        .map(|p| PIECES[*p as usize % PIECES.len()])
                        .collect()
                };
                if picks.first().is_some_and(|p| p % 3 == 0) {
                    text.push_str(&format!("@sha256:{}", "a".repeat(64)));
                }
                let Some(image) = ImageRef::parse(&text) else {
                    return;
                };
                let mut again = image.repository.clone();
                if let Some(tag) = &image.tag {
                    assert!(!tag.is_empty() && !tag.contains('/'), "{text:?}");
                    again += &format!(":{tag}");
                }
                if let Some(digest) = &image.digest {
                    assert!(
                        digest.starts_with("sha256:") && digest.len() == 71,
                        "{text:?}"
                    );
                    again += &format!("@{digest}");
                }
                assert_eq!(again, text.trim(), "{image:?}");
                assert!(!image.repository.is_empty());
                assert_eq!(ImageRef::parse(&again), Some(image));
            });
    }
}
