//! The event that starts a release: S3 `Object Created` through EventBridge, for a zip under
//! the uploads bucket's `releases/` prefix. Anything else is refused with what to do instead.

use serde::Deserialize;
use vikunja_core::{Error, Result};

pub const RELEASE_PREFIX: &str = "releases/";
const MAX_VERSION_LEN: usize = 64;

/// The parts of an EventBridge S3 event a release needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectCreated {
    /// EventBridge's event id: one per upload, so one invalidation per upload (and the same
    /// id when EventBridge delivers one event twice).
    pub id: String,
    /// When S3 took the upload (RFC 3339, UTC, to the second): which of two uploads is later.
    #[serde(default)]
    pub time: String,
    pub detail: Detail,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Detail {
    pub bucket: Bucket,
    pub object: Object,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Bucket {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Object {
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub etag: Option<String>,
}

impl ObjectCreated {
    pub fn parse(event: serde_json::Value) -> Result<Self> {
        serde_json::from_value(event).map_err(|e| {
            Error::invalid(format!(
                "not an S3 Object Created event (want id, detail.bucket.name, detail.object.key): {e}"
            ))
        })
    }

    pub fn location(&self) -> String {
        format!(
            "s3://{}/{}",
            self.detail.bucket.name, self.detail.object.key
        )
    }

    /// The ETag without the quotes S3 puts around it in headers (events carry it bare).
    pub fn etag(&self) -> Option<String> {
        self.detail
            .object
            .etag
            .as_deref()
            .map(|e| e.trim_matches('"').to_string())
            .filter(|e| !e.is_empty())
    }
}

/// `releases/<version>.zip` → `<version>`; every other key is refused, saying why.
pub fn release_version(key: &str) -> Result<String> {
    let how = "upload the build as releases/<version>.zip (`vikunja-aws release frontend <dir or zip>` does it)";
    let Some(rest) = key.strip_prefix(RELEASE_PREFIX) else {
        return Err(Error::invalid(format!(
            "{key:?} is outside the {RELEASE_PREFIX} prefix, so it is not a release: {how}"
        )));
    };
    if rest.contains('/') {
        return Err(Error::invalid(format!(
            "{key:?}: folders under {RELEASE_PREFIX} are not releases (a release is one zip): {how}"
        )));
    }
    let Some(version) = rest.strip_suffix(".zip") else {
        return Err(Error::invalid(format!("{key:?} is not a .zip: {how}")));
    };
    validate_version(version)?;
    Ok(version.to_string())
}

/// A version names the release in manifests, SSM and the CLI: short, plain characters.
pub fn validate_version(version: &str) -> Result<()> {
    let plain = version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if version.is_empty()
        || version.len() > MAX_VERSION_LEN
        || !plain
        || !version.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(Error::invalid(format!(
            "release version {version:?}: use 1 to {MAX_VERSION_LEN} letters, digits, '.', '_' or '-', starting with a letter or digit"
        )));
    }
    Ok(())
}

/// A release's identity: its version and the upload's content, so re-running the same upload
/// converges on the same manifest while a changed zip under the same version is a new release.
pub fn release_id(version: &str, etag: Option<&str>) -> String {
    match etag {
        Some(etag) => {
            let short: String = etag
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(12)
                .collect();
            format!("{version}-{short}")
        }
        None => version.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn releases_are_zips_directly_under_the_prefix() {
        assert_eq!(release_version("releases/0.24.6.zip").unwrap(), "0.24.6");
        assert_eq!(release_version("releases/v1_rc-2.zip").unwrap(), "v1_rc-2");
        for (key, says) in [
            ("uploads/0.24.6.zip", "outside"),
            ("0.24.6.zip", "outside"),
            ("releases/0.24.6/index.html", "folders"),
            ("releases/0.24.6.tar.gz", "not a .zip"),
            ("releases/.zip", "release version"),
            ("releases/..zip", "release version"),
            ("releases/a b.zip", "release version"),
            ("releases/-x.zip", "release version"),
        ] {
            let error = release_version(key).unwrap_err();
            assert_eq!(error.name(), "InvalidInput", "{key}");
            assert!(error.to_string().contains(says), "{key}: {error}");
        }
    }

    #[test]
    fn the_eventbridge_s3_event_parses() {
        let event = json!({
            "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created", "source": "aws.s3",
            "account": "123456789012", "time": "2021-11-12T00:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:s3:::v-uploads-123456789012-us-east-1"],
            "detail": {
                "version": "0",
                "bucket": {"name": "v-uploads-123456789012-us-east-1"},
                "object": {"key": "releases/0.24.6.zip", "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00617F08299329D189"},
                "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                "source-ip-address": "1.2.3.4", "reason": "PutObject"
            }
        });
        let parsed = ObjectCreated::parse(event).unwrap();
        assert_eq!(
            parsed.location(),
            "s3://v-uploads-123456789012-us-east-1/releases/0.24.6.zip"
        );
        assert_eq!(
            release_id("0.24.6", parsed.etag().as_deref()),
            "0.24.6-b1946ac92492"
        );
        let error = ObjectCreated::parse(json!({"detail": {}})).unwrap_err();
        assert_eq!(error.name(), "InvalidInput");
    }
}

#[cfg(test)]
pub(crate) mod fuzz {
    //! The upload's event decides which zip is read and what the release is called (an S3
    //! key for its manifest, a local file name): any event is refused as `InvalidInput` or
    //! names a zip directly under `releases/` and a release id of plain characters.

    use super::*;
    use serde_json::json;
    use vikunja_core::fuzzing::{assert_invalid_input, Shape};

    pub(crate) fn object_created() -> serde_json::Value {
        json!({
            "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created", "source": "aws.s3",
            "account": "123456789012", "time": "2021-11-12T00:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:s3:::v-uploads-123456789012-us-east-1"],
            "detail": {
                "version": "0",
                "bucket": {"name": "v-uploads-123456789012-us-east-1"},
                "object": {"key": "releases/0.24.6.zip", "size": 5, "etag": "\"b1946ac92492d2347c6235b4d2611184\"", "sequencer": "00617F08299329D189"},
                "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                "source-ip-address": "1.2.3.4", "reason": "PutObject"
            }
        })
    }

    fn plain(text: &str) -> bool {
        text.starts_with(|c: char| c.is_ascii_alphanumeric())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    }

    #[test]
    fn any_event_names_a_plain_release_or_is_invalid_input() {
        let shape = Shape::of(&[object_created()]).strings(&[
            "releases/",
            "releases/v1.zip",
            "releases/../x.zip",
            "releases/a/b.zip",
            "releases/.zip",
            "releases/-1.zip",
            "releases/é.zip",
            ".zip",
            "\"\"",
        ]);
        bolero::check!().for_each(|data: &[u8]| {
            let value = shape.value(data);
            let event = match ObjectCreated::parse(value.clone()) {
                Ok(event) => event,
                Err(error) => return assert_invalid_input(&error, &value),
            };
            assert!(event.location().starts_with("s3://"));
            let key = &event.detail.object.key;
            let version = match release_version(key) {
                Ok(version) => version,
                Err(error) => return assert_invalid_input(&error, key),
            };
            assert_eq!(*key, format!("{RELEASE_PREFIX}{version}.zip"));
            assert!(
                plain(&version) && version.len() <= MAX_VERSION_LEN,
                "{version:?}"
            );
            validate_version(&version).unwrap();
            let etag = event.etag();
            assert!(etag
                .as_deref()
                .is_none_or(|e| !e.is_empty() && !e.starts_with('"')));
            let id = release_id(&version, etag.as_deref());
            assert!(plain(&id) && id.starts_with(&version), "{id:?}");
            assert!(id.len() <= MAX_VERSION_LEN + 13, "{id:?}");
        });
    }
}
