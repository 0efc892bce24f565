//! What each file of a build is served with: its Content-Type (from `mime_guess`, with the few
//! corrections that library still gets wrong) and its Cache-Control, which depends on whether
//! the build says the file's name changes when its content does.

use std::collections::BTreeSet;

use crate::naming;

/// Hashed assets: a new build gives them a new name, so browsers and CloudFront may keep them
/// for a year without asking again.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (`index.html`, `sw.js`, the manifest, icons under fixed names): always
/// revalidated, so a release is seen as soon as it is live.
pub const REVALIDATE: &str = "no-cache";

/// Where bundlers put the files they name `[name]-[hash]` / `[name].[contenthash]` when the
/// build carries no manifest: Vite's `build.assetsDir` default (Vikunja keeps it) and
/// webpack's (create-react-app's) `static/`. Files copied from a `public/` folder land at the
/// root or in folders of their own, under their own names.
pub const HASHED_FOLDERS: [&str; 2] = ["assets/", "static/"];

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
    pub fn cache_control(self) -> &'static str {
        match self {
            Role::Hashed => IMMUTABLE,
            Role::Fixed | Role::Index => REVALIDATE,
        }
    }

    /// The role a release gave a file, from what it recorded (its manifest keeps the headers).
    pub fn recorded(key: &str, cache_control: &str) -> Role {
        if key == "index.html" {
            Role::Index
        } else if cache_control == IMMUTABLE {
            Role::Hashed
        } else {
            Role::Fixed
        }
    }
}

/// What a build says about which of its names are content-addressed. Letters never decide:
/// `hu-legacy-NwRmjBug.js` and `pl-legacy-BRKXTEYF.js` read like words, and are hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Naming {
    /// The output files Vite's manifest lists; `None` when the build has no Vite manifest.
    vite: Option<BTreeSet<String>>,
    /// Precache entries without a revision: the build told Workbox their URL is their version.
    unrevisioned: BTreeSet<String>,
    /// The build files these facts were read from, for the logs.
    pub sources: Vec<String>,
}

impl Naming {
    /// The facts of a build's naming sources (see [`naming::is_naming_source`]), given as
    /// `(key, content)`; `Err` names a Vite manifest that is not one.
    pub fn read<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> std::result::Result<Naming, String> {
        let mut facts = Naming::default();
        for (key, content) in sources {
            if key == naming::VITE_MANIFEST {
                let files = naming::vite_files(content)
                    .map_err(|why| format!("{key} is not Vite's manifest: {why}"))?;
                facts.vite = Some(files);
            } else {
                let script = String::from_utf8_lossy(content);
                facts.unrevisioned.extend(
                    naming::precache_entries(&script)
                        .into_iter()
                        .filter(|entry| !entry.revisioned)
                        .map(|entry| entry.key),
                );
            }
            facts.sources.push(key.to_string());
        }
        Ok(facts)
    }

    /// A file is long-lived only when its name carries a hash token and the build says the
    /// name is content-addressed: a precache entry without a revision, a file of Vite's
    /// manifest, or, when there is no Vite manifest, a file in a [`HASHED_FOLDERS`] folder.
    /// A source map or compressed twin (`x.js.map`, `x.js.gz`) goes with the file it belongs to.
    pub fn role(&self, key: &str) -> Role {
        if key == "index.html" {
            return Role::Index;
        }
        // No token, no hash: whatever a manifest says, `sw.js` or `favicon.ico` stay fixed.
        if !carries_hash_token(key) {
            return Role::Fixed;
        }
        let own = twin_of(key);
        let said = |set: &BTreeSet<String>| set.contains(key) || set.contains(own);
        let addressed = said(&self.unrevisioned)
            || match &self.vite {
                // Vite lists every file Rollup named; anything else in its folder was copied
                // from `public/` under its own name.
                Some(files) => said(files),
                None => HASHED_FOLDERS.iter().any(|folder| key.starts_with(folder)),
            };
        if addressed {
            Role::Hashed
        } else {
            Role::Fixed
        }
    }
}

/// Whether a file name carries a token a bundler's hash could be (8 to 64 characters of
/// base64url or hex) where bundlers put it: Rollup/Vite `[name]-[hash]` (an 8-character
/// base64url hash that may itself hold `-` or `_`), webpack `[name].[contenthash]` and
/// `[id].[contenthash].chunk`, Workbox `workbox-5ffe50d4`. Not whether it *is* one: that is
/// the build's to say ([`Naming::role`]).
pub fn carries_hash_token(key: &str) -> bool {
    let file = key.rsplit('/').next().unwrap_or(key);
    let stem = strip_extensions(twin_of(file));
    let dotted = stem.split('.').skip(1).any(is_hash_token);
    let dashed = stem
        .rsplit_once('-')
        .is_some_and(|(head, token)| !head.is_empty() && is_hash_token(token));
    let rollup = stem.len() > 9
        && stem.is_char_boundary(stem.len() - 8)
        && stem[..stem.len() - 8].ends_with(['-', '.'])
        && is_hash_token(&stem[stem.len() - 8..]);
    dotted || dashed || rollup
}

fn is_hash_token(token: &str) -> bool {
    (8..=64).contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `index-BUd7TCYz.js.map` → `index-BUd7TCYz.js`: source maps and compressed twins are named
/// after the file they belong to.
fn twin_of(key: &str) -> &str {
    let mut own = key;
    while let Some(head) = [".map", ".gz", ".br"]
        .iter()
        .find_map(|suffix| own.strip_suffix(suffix))
        .filter(|head| !head.is_empty() && !head.ends_with('/'))
    {
        own = head;
    }
    own
}

/// `index-BUd7TCYz.js` → `index-BUd7TCYz`: one extension of letters and digits.
fn strip_extensions(file: &str) -> &str {
    match file.rsplit_once('.') {
        Some((head, ext))
            if !head.is_empty()
                && (1..=12).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            head
        }
        _ => file,
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

    /// File names from real builds: Vikunja's (Vite 6 + vite-plugin-pwa injectManifest: no
    /// Vite manifest, the precache inlined into `sw.js`), a Vite build with `build.manifest`,
    /// create-react-app (webpack, `static/`) and vite-plugin-pwa generateSW (Workbox).
    const VIKUNJA_HASHED: [&str; 14] = [
        "assets/index-BUd7TCYz.js",
        "assets/index-C0pq8ENH.css",
        "assets/hu-legacy-NwRmjBug.js", // reads like a word to a letter test
        "assets/pl-legacy-BRKXTEYF.js", // all capitals
        "assets/ProjectSettingsDelete-BzhhFytz.js", // camel case
        "assets/ListProjects-C0pq-ENH.js", // base64url holds `-`
        "assets/Home-Dx_8Bq9a.js",      // and `_`
        "assets/app-ABCDEFGH.js",
        "assets/Home-Settings.js", // a word, and Rollup's hash all the same
        "assets/OpenSans-Italic_wght__c9a8fe68-5f21f1e7.woff2",
        "assets/Quicksand_wght__b8bd1e66-0b8b3d8e.woff2",
        "assets/index-BUd7TCYz.js.map",
        "assets/app-ABcdEFgh.js.gz",
        "assets/locales/de-DE-Qw3rTy12.json",
    ];
    const FIXED: [&str; 16] = [
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
        "images/icons/icon-maskable.png",
        "images/icons/safari-pinned-tab.svg",
        "workbox-5ffe50d4.js", // generateSW leaves it out of the precache
        "fonts/Roboto-Regular.woff2",
        "ListProjects-BzhhFytz.js", // a hash-like token outside the assets folder
        "docs/getting-started.html",
    ];

    fn vikunja_sw() -> String {
        let mut entries: Vec<String> = VIKUNJA_HASHED
            .iter()
            .filter(|k| k.ends_with(".js") || k.ends_with(".css"))
            .map(|k| format!(r#"{{"revision":null,"url":"{k}"}}"#))
            .collect();
        entries.push(r#"{"revision":"0.vv0c1j2v0r","url":"index.html"}"#.into());
        entries.push(r#"{"revision":"3ca0b8505b4bec776b69","url":"registerSW.js"}"#.into());
        format!("(0,o.precacheAndRoute)([{}]);", entries.join(","))
    }

    fn role_with(sources: &[(&str, &str)], key: &str) -> Role {
        Naming::read(sources.iter().map(|(k, c)| (*k, c.as_bytes())))
            .unwrap()
            .role(key)
    }

    #[test]
    fn vikunjas_hashed_assets_are_immutable_with_or_without_the_service_worker() {
        let sw = vikunja_sw();
        for key in VIKUNJA_HASHED {
            assert_eq!(
                Naming::default().role(key),
                Role::Hashed,
                "{key}: the folder"
            );
            assert_eq!(role_with(&[("sw.js", &sw)], key), Role::Hashed, "{key}");
            assert_eq!(role_with(&[("sw.js", &sw)], key).cache_control(), IMMUTABLE);
        }
    }

    #[test]
    fn fixed_names_are_never_immutable_whatever_a_manifest_claims() {
        // A precache and a Vite manifest that list every fixed name as versioned by its URL.
        let no_token: Vec<&str> = FIXED
            .into_iter()
            .filter(|k| !carries_hash_token(k))
            .collect();
        assert_eq!(no_token.len(), FIXED.len() - 3);
        let claims: Vec<String> = no_token
            .iter()
            .map(|k| format!(r#"{{url:"{k}",revision:null}}"#))
            .collect();
        let sw = format!("precacheAndRoute([{}])", claims.join(","));
        let vite: Vec<String> = no_token
            .iter()
            .enumerate()
            .map(|(i, k)| format!(r#""{i}": {{"file": "{k}"}}"#))
            .collect();
        let vite = format!("{{{}}}", vite.join(","));
        for key in no_token {
            let expected = if key == "index.html" {
                Role::Index
            } else {
                Role::Fixed
            };
            assert_eq!(role_with(&[("sw.js", &sw)], key), expected, "{key}");
            assert_eq!(role_with(&[(".vite/manifest.json", &vite)], key), expected);
        }
        // The rest carry a token (`icon-maskable`, `workbox-5ffe50d4`), and stay fixed because
        // nothing in the build says otherwise: Vikunja's service worker lists them with a
        // revision or not at all.
        for key in FIXED {
            let expected = if key == "index.html" {
                Role::Index
            } else {
                Role::Fixed
            };
            assert_eq!(Naming::default().role(key), expected, "{key}");
            assert_eq!(
                role_with(&[("sw.js", &vikunja_sw())], key),
                expected,
                "{key}"
            );
            assert_eq!(
                Naming::default().role(key).cache_control(),
                REVALIDATE,
                "{key}"
            );
        }
    }

    #[test]
    fn the_precache_confirms_names_outside_the_assets_folder() {
        let sw = r#"e.precacheAndRoute([{url:"workbox-5ffe50d4.js",revision:null},{url:"js/chunk-Ab12Cd34.js",revision:"1"}])"#;
        assert_eq!(
            role_with(&[("sw.js", sw)], "workbox-5ffe50d4.js"),
            Role::Hashed
        );
        assert_eq!(
            role_with(&[("sw.js", sw)], "js/chunk-Ab12Cd34.js"),
            Role::Fixed,
            "a revision: Workbox was not told the URL is the version"
        );
        assert_eq!(Naming::default().role("workbox-5ffe50d4.js"), Role::Fixed);
    }

    #[test]
    fn a_vite_manifest_decides_its_folder() {
        let vite = r#"{"index.html": {"file": "assets/index-BUd7TCYz.js", "isEntry": true,
                       "css": ["assets/index-C0pq8ENH.css"], "assets": ["assets/logo-BRKXTEYF.svg"]}}"#;
        let sources = [(".vite/manifest.json", vite)];
        for key in [
            "assets/index-BUd7TCYz.js",
            "assets/index-BUd7TCYz.js.map",
            "assets/index-C0pq8ENH.css",
            "assets/logo-BRKXTEYF.svg",
        ] {
            assert_eq!(role_with(&sources, key), Role::Hashed, "{key}");
        }
        // Copied from `public/assets/` under its own name: Vite did not list it.
        assert_eq!(
            role_with(&sources, "assets/brand-wordmark.svg"),
            Role::Fixed
        );
        assert_eq!(role_with(&sources, "assets/Home-Settings.js"), Role::Fixed);
        // A manifest that is not one is an error, not a silent fallback to the folder rule.
        let error = Naming::read([(".vite/manifest.json", &b"{\"a\": 1}"[..])]).unwrap_err();
        assert!(
            error.contains(".vite/manifest.json is not Vite's manifest"),
            "{error}"
        );
    }

    #[test]
    fn webpack_names_in_static_are_hashed_and_fixed_ones_are_not() {
        for key in [
            "static/js/main.4f3a2b1c.js",
            "static/js/2.8e3f5c1a.chunk.js",
            "static/js/787.8e3f5c1a9b7d6e4f2a1b.js",
            "static/css/main.5d5d9eef.css",
            "static/media/logo.5d5d9eef.svg",
            "static/js/main.4f3a2b1c.js.map",
        ] {
            assert_eq!(Naming::default().role(key), Role::Hashed, "{key}");
        }
        for key in [
            "static/js/main.chunk.js",
            "static/js/runtime-main.js",
            "asset-manifest.json",
            "static/js/jquery-3.7.1.min.js",
        ] {
            assert_eq!(Naming::default().role(key), Role::Fixed, "{key}");
        }
    }

    #[test]
    fn hash_tokens_are_found_where_bundlers_put_them() {
        for file in [
            "index-BUd7TCYz.js",
            "ListProjects-C0pq-ENH.js",
            "main.4f3a2b1c.js",
            "2.8e3f5c1a.chunk.js",
            "workbox-5ffe50d4.js",
            "index-BUd7TCYz.js.map",
            "app-ABcdEFgh.js.gz",
            "pl-legacy-BRKXTEYF.js",
        ] {
            assert!(carries_hash_token(file), "{file}");
        }
        for file in [
            "index.html",
            "registerSW.js",
            "manifest.webmanifest",
            "jquery-3.7.1.min.js",
            "android-chrome-192x192.png",
            "open-sans-v34-latin-regular.woff2",
            "main.chunk.js",
            ".map",
        ] {
            assert!(!carries_hash_token(file), "{file}");
        }
    }

    #[test]
    fn a_recorded_role_comes_back_from_the_headers() {
        assert_eq!(Role::recorded("index.html", REVALIDATE), Role::Index);
        assert_eq!(
            Role::recorded("assets/a-BcDeFgHi.js", IMMUTABLE),
            Role::Hashed
        );
        assert_eq!(Role::recorded("sw.js", REVALIDATE), Role::Fixed);
    }

    #[test]
    fn index_html_is_published_last() {
        let naming = Naming::default();
        let mut roles = vec![
            naming.role("index.html"),
            naming.role("sw.js"),
            naming.role("assets/index-BUd7TCYz.js"),
        ];
        roles.sort();
        assert_eq!(roles, vec![Role::Hashed, Role::Fixed, Role::Index]);
    }
}
