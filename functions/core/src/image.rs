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

/// Vikunja reports its version as `v0.24.6`; image tags are often `0.24.6`. 2.x reports it
/// the same way: `/api/v1/info`'s `version` is `pkg/version.Version`, which the build sets
/// from `RELEASE_VERSION`, the release tag's `git describe` (`v2.5.0`) — go-vikunja/vikunja
/// `pkg/routes/api/v1/info.go`, `magefile.go` (`setVersion`, `Ldflags`), `Dockerfile` and
/// `.github/workflows/release.yml`.
pub fn same_version(reported: &str, tag: &str) -> bool {
    reported.trim_start_matches('v') == tag.trim_start_matches('v')
}

/// A Vikunja version as image tags and `/api/v1/info` write it: `2.5.0`, `v2.5.0`, `2.5`,
/// `2`, with anything after a `-` or `+` ignored (`0.24.7-demo.1`, `2.5.1-broken`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    /// `None` for a major-only tag (`2`), which floats over every 2.x.
    pub minor: Option<u64>,
    pub patch: Option<u64>,
}

impl Version {
    /// `None` for what is not a version: `latest`, `unstable`, `main`, a digest.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = number(parts.next()?)?;
        let mut next = || match parts.next() {
            None => Ok(None),
            Some(part) => number(part).map(Some).ok_or(()),
        };
        let (minor, patch) = (next().ok()?, next().ok()?);
        if next().ok()?.is_some() {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
        })
    }

    /// `2.5` (or `2` for a major-only tag): what migrations are released by.
    pub fn series(&self) -> String {
        match self.minor {
            Some(minor) => format!("{}.{minor}", self.major),
            None => self.major.to_string(),
        }
    }
}

fn number(part: &str) -> Option<u64> {
    if part.is_empty() || part.len() > 9 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// What a release does to the Vikunja version that is live, by major and minor version
/// (the releases that carry schema migrations; Vikunja's migrations are forward only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChange {
    /// Same major and minor: a patch release, a rebuild, the same version under another tag.
    SameSeries,
    /// A later major or minor version: it migrates the database when it starts.
    Upgrade,
    /// An earlier major or minor version: it cannot run on a database the live one migrated.
    Downgrade,
    /// One side is not a version (`latest`, `unstable`, a digest) or names only a major
    /// version that both could be in (`2` against `2.5.0`): nothing can be said.
    Unknown,
}

/// The change from the live image tag to the released one.
pub fn version_change(live: &str, release: &str) -> VersionChange {
    let (Some(live), Some(release)) = (Version::parse(live), Version::parse(release)) else {
        return VersionChange::Unknown;
    };
    let order = |a: u64, b: u64| {
        if b > a {
            VersionChange::Upgrade
        } else {
            VersionChange::Downgrade
        }
    };
    if live.major != release.major {
        return order(live.major, release.major);
    }
    match (live.minor, release.minor) {
        (Some(a), Some(b)) if a == b => VersionChange::SameSeries,
        (Some(a), Some(b)) => order(a, b),
        _ => VersionChange::Unknown,
    }
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
        assert!(same_version("v2.5.0", "2.5.0"));
    }

    #[test]
    fn versions_parse_from_tags_and_reports() {
        let v = |major, minor, patch| Version {
            major,
            minor,
            patch,
        };
        assert_eq!(Version::parse("2.5.0"), Some(v(2, Some(5), Some(0))));
        assert_eq!(Version::parse("v2.5.0"), Some(v(2, Some(5), Some(0))));
        assert_eq!(Version::parse("2.5"), Some(v(2, Some(5), None)));
        assert_eq!(Version::parse("2"), Some(v(2, None, None)));
        assert_eq!(
            Version::parse("0.24.7-demo.1764000000"),
            Some(v(0, Some(24), Some(7)))
        );
        assert_eq!(Version::parse("2.5.1-broken"), Some(v(2, Some(5), Some(1))));
        assert_eq!(
            Version::parse("v0.24.6-12-abcdef0123"),
            Some(v(0, Some(24), Some(6)))
        );
        for not_a_version in [
            "",
            "v",
            "latest",
            "unstable",
            "main",
            "2.5.0.1",
            "2..5",
            "2.x",
            ".5",
            "sha256:abc",
            "2.5.0rc1",
            "99999999999",
        ] {
            assert_eq!(Version::parse(not_a_version), None, "{not_a_version:?}");
        }
        assert_eq!(v(2, Some(5), Some(0)).series(), "2.5");
        assert_eq!(v(2, None, None).series(), "2");
    }

    #[test]
    fn a_release_is_an_upgrade_a_downgrade_or_the_same_series() {
        use VersionChange::*;
        for (live, release, change) in [
            ("0.24.6", "2.5.0", Upgrade),
            ("0.24.6", "v1.0.0", Upgrade),
            ("0.24.6", "0.25.0", Upgrade),
            ("2.5.0", "2.6.0-rc.1", Upgrade),
            ("0.24.6", "2", Upgrade),
            ("2.5.0", "0.24.7", Downgrade),
            ("2.5.0", "1.4.2", Downgrade),
            ("2.5.3", "2.4.9", Downgrade),
            ("2.5.0", "0", Downgrade),
            ("2.5.0", "2.5.1", SameSeries),
            ("2.5.1", "2.5.0", SameSeries),
            ("2.5.0", "2.5", SameSeries),
            ("v2.5.0", "2.5.2-broken", SameSeries),
            ("0.24.6", "0.24.7-demo.1", SameSeries),
            ("2.5.0", "2", Unknown),
            ("2", "2.5.0", Unknown),
            ("2.5.0", "latest", Unknown),
            ("unstable", "2.5.0", Unknown),
        ] {
            assert_eq!(version_change(live, release), change, "{live} -> {release}");
        }
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
