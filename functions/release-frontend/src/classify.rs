//! What each file of a build is served with: its Content-Type (from `mime_guess`, with the few
//! corrections that library still gets wrong) and its Cache-Control, which depends on whether
//! the file's name changes when its content does.

/// Hashed assets: a new build gives them a new name, so browsers and CloudFront may keep them
/// for a year without asking again.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (`index.html`, `sw.js`, the manifest, icons under fixed names): always
/// revalidated, so a release is seen as soon as it is live.
pub const REVALIDATE: &str = "no-cache";

/// How a file takes part in a release; also the order of publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A content-hashed asset: uploaded first, never invalidated.
    Hashed,
    /// A file under a fixed name other than the app's entry page (`sw.js`, the manifest, icons).
    Fixed,
    /// `index.html` at the root: the release becomes visible when it is written, so it is last.
    Index,
}

impl Role {
    pub fn of(key: &str) -> Role {
        if key == "index.html" {
            Role::Index
        } else if is_content_hashed(key) {
            Role::Hashed
        } else {
            Role::Fixed
        }
    }

    pub fn cache_control(self) -> &'static str {
        match self {
            Role::Hashed => IMMUTABLE,
            Role::Fixed | Role::Index => REVALIDATE,
        }
    }
}

/// Content-Type for a key, by extension. Text types say they are UTF-8, which is what build
/// tools write; unknown extensions are explicitly `application/octet-stream`.
pub fn content_type(key: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    let extension = file
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    // mime_guess 2.0.5 is behind the registries for these: RFC 9239 makes JavaScript
    // `text/javascript` whatever the extension, source maps are JSON, fonts have `font/*`.
    let corrected = match extension.as_str() {
        "mjs" | "cjs" => Some("text/javascript"),
        "map" => Some("application/json"),
        "woff" => Some("font/woff"),
        "otf" => Some("font/otf"),
        "ttf" => Some("font/ttf"),
        _ => None,
    };
    let essence = match corrected {
        Some(known) => known.to_string(),
        None => mime_guess::from_ext(&extension)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string(),
    };
    if is_text(&essence) {
        format!("{essence}; charset=utf-8")
    } else {
        essence
    }
}

fn is_text(essence: &str) -> bool {
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/json"
                | "application/manifest+json"
                | "application/javascript"
                | "application/xml"
                | "image/svg+xml"
        )
}

/// Whether a file name carries a content hash, as Vite/Rollup (`index-BUd7TCYz.js`, whose
/// base64url hash may itself contain `-` or `_`), webpack (`main.4f3a2b1c.js`) and Workbox
/// (`workbox-5ffe50d4.js`) write them. A wrong "yes" would pin a changing file for a year,
/// so a token that reads like a word (`Settings`, `manifest`) or a size (`192x192`) is no hash.
pub fn is_content_hashed(key: &str) -> bool {
    let file = key.rsplit('/').next().unwrap_or(key);
    let stem = strip_extensions(file);
    // `<name>-<hash>`, `<name>.<hash>` or `<id>.<hash>.chunk`: any separated token may be the
    // hash. Rollup's 8-character base64url hash may contain separators itself, so the last
    // 8 characters after a separator are tried as a whole too.
    // The first token is the file's own name (`registerSW`, `ListProjects`), never its hash.
    let mut candidates: Vec<&str> = stem.split(['-', '.']).skip(1).collect();
    if stem.len() > 9 && stem.is_char_boundary(stem.len() - 8) {
        let (head, tail) = stem.split_at(stem.len() - 8);
        if head.ends_with(['-', '.']) {
            candidates.push(tail);
        }
    }
    candidates.into_iter().any(looks_like_hash)
}

/// `index-BUd7TCYz.js.map` → `index-BUd7TCYz`: source maps and compressed twins carry the
/// hash of the file they belong to.
fn strip_extensions(file: &str) -> &str {
    let mut stem = file;
    for _ in 0..2 {
        match stem.rsplit_once('.') {
            Some((head, ext))
                if !head.is_empty()
                    && ext.len() <= 12
                    && ext.chars().all(|c| c.is_ascii_alphanumeric())
                    && !looks_like_hash(ext) =>
            {
                stem = head;
                if !matches!(ext, "map" | "gz" | "br") {
                    break;
                }
            }
            _ => break,
        }
    }
    stem
}

fn looks_like_hash(token: &str) -> bool {
    if !(8..=64).contains(&token.len())
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return false;
    }
    if is_dimension(token) {
        return false;
    }
    if token.chars().any(|c| !c.is_ascii_alphabetic()) {
        // Digits or base64url symbols: what hash functions print (all digits: a build number).
        return true;
    }
    !is_word(token)
}

/// `1024x1024`: an icon size, not a hash.
fn is_dimension(token: &str) -> bool {
    token.split_once('x').is_some_and(|(w, h)| {
        !w.is_empty()
            && !h.is_empty()
            && w.chars().all(|c| c.is_ascii_digit())
            && h.chars().all(|c| c.is_ascii_digit())
    })
}

/// Letters that read like a name: lower case, an acronym, or camel case where every capital
/// starts a run of lower case (`settings`, `SW`, `ListView`). Random base64 letters rarely do.
fn is_word(token: &str) -> bool {
    let bytes = token.as_bytes();
    if bytes.iter().all(u8::is_ascii_lowercase) || bytes.iter().all(u8::is_ascii_uppercase) {
        return true;
    }
    bytes.iter().enumerate().all(|(i, b)| {
        !b.is_ascii_uppercase() || bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_come_from_the_mime_library_with_corrections() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("assets/index-BUd7TCYz.js", "text/javascript; charset=utf-8"),
            (
                "assets/worker-Ab12Cd34.mjs",
                "text/javascript; charset=utf-8",
            ),
            ("assets/index-C0pq8ENH.css", "text/css; charset=utf-8"),
            ("config.json", "application/json; charset=utf-8"),
            (
                "manifest.webmanifest",
                "application/manifest+json; charset=utf-8",
            ),
            ("images/logo.svg", "image/svg+xml; charset=utf-8"),
            ("images/icons/icon-192x192.png", "image/png"),
            ("favicon.ico", "image/x-icon"),
            (
                "assets/open-sans-v34-latin-regular-Dz4b9B1f.woff2",
                "font/woff2",
            ),
            ("assets/fa-solid-900-1a2b3c4d.woff", "font/woff"),
            (
                "assets/index-BUd7TCYz.js.map",
                "application/json; charset=utf-8",
            ),
            ("assets/argon2-Qw3rTy12.wasm", "application/wasm"),
            ("robots.txt", "text/plain; charset=utf-8"),
            ("images/photo.JPG", "image/jpeg"),
            ("LICENSE", "application/octet-stream"),
            ("data.unknownext", "application/octet-stream"),
        ];
        for (key, expected) in cases {
            assert_eq!(content_type(key), expected, "{key}");
        }
    }

    #[test]
    fn hashed_names_are_recognised() {
        for key in [
            "assets/index-BUd7TCYz.js",
            "assets/ListProjects-C0pq-ENH.js",
            "assets/Home-Dx_8Bq9a.js",
            "assets/index-BUd7TCYz.js.map",
            "assets/index-C0pq8ENH.css",
            "main.4f3a2b1c.js",
            "static/js/2.8e3f5c1a9b7d6e4f.chunk.js",
            "workbox-5ffe50d4.js",
            "assets/open-sans-v34-latin-regular-Dz4b9B1f.woff2",
            "assets/logo-abcdefgh1.svg",
            "assets/app-ABcdEFgh.js.gz",
        ] {
            assert!(is_content_hashed(key), "{key} is hashed");
            assert_eq!(Role::of(key).cache_control(), IMMUTABLE, "{key}");
        }
    }

    #[test]
    fn fixed_names_are_not_taken_for_hashes() {
        for key in [
            "index.html",
            "sw.js",
            "registerSW.js",
            "service-worker.js",
            "manifest.webmanifest",
            "favicon.ico",
            "robots.txt",
            "images/icons/android-chrome-192x192.png",
            "images/icons/android-chrome-512x512.png",
            "images/icons/apple-touch-icon-180x180.png",
            "images/icons/mstile-150x150.png",
            "images/icons/safari-pinned-tab.svg",
            "assets/Home-Settings.js",
            "assets/app-ABCDEFGH.js",
            "fonts/Roboto-Regular.woff2",
            "assets/jquery-3.7.1.min.js",
            "ListProjects.js",
            "assets/Home-ListView.js",
            "images/icons/icon-1024x1024.png",
            "static/js/main.chunk.js",
            "docs/getting-started.html",
        ] {
            assert!(!is_content_hashed(key), "{key} is not hashed");
            assert_eq!(Role::of(key).cache_control(), REVALIDATE, "{key}");
        }
    }

    #[test]
    fn index_html_is_published_last() {
        let mut roles = vec![
            Role::of("index.html"),
            Role::of("sw.js"),
            Role::of("assets/index-BUd7TCYz.js"),
        ];
        roles.sort();
        assert_eq!(roles, vec![Role::Hashed, Role::Fixed, Role::Index]);
    }
}
