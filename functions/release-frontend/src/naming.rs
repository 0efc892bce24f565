//! What a build says about its own file names, read from the files its tools write: Vite's
//! `.vite/manifest.json` (every chunk and asset Rollup emitted, under its hashed name) and a
//! Workbox precache manifest (`[{url, revision}]` inlined into the service worker), where an
//! entry without a revision is one Workbox was told is versioned by its URL.
//!
//! Both are parsed from files of an uploaded zip, so anything may be in them: the parsers
//! never panic, and a precache scan finds entries only where they are well formed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// Where Vite (5 and later, `build.manifest: true`) writes its manifest.
pub const VITE_MANIFEST: &str = ".vite/manifest.json";

/// Whether a build file is one the release reads for its names: Vite's manifest, or a
/// service worker (or a precache manifest script) at the root, where Workbox's tools put them.
pub fn is_naming_source(key: &str) -> bool {
    key == VITE_MANIFEST
        || matches!(key, "sw.js" | "service-worker.js")
        || (key.starts_with("precache-manifest.") && key.ends_with(".js") && !key.contains('/'))
}

/// One chunk or asset of Vite's manifest; other fields (`src`, `isEntry`, `imports`...) name
/// sources or other entries, not output files.
#[derive(Debug, Deserialize)]
struct ViteChunk {
    file: String,
    #[serde(default)]
    css: Vec<String>,
    #[serde(default)]
    assets: Vec<String>,
}

/// The output files Vite's manifest lists (keys in the build), or why it is not one.
pub fn vite_files(json: &[u8]) -> Result<BTreeSet<String>, String> {
    let chunks: BTreeMap<String, ViteChunk> =
        serde_json::from_slice(json).map_err(|e| e.to_string())?;
    Ok(chunks
        .into_values()
        .flat_map(|c| std::iter::once(c.file).chain(c.css).chain(c.assets))
        .filter_map(|file| url_key(&file))
        .collect())
}

/// One entry of a precache manifest: the build key it names, and whether it has a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecacheEntry {
    pub key: String,
    /// `revision: "…"`: Workbox versions the URL itself. `null`, `void 0` or absent: the
    /// build told Workbox the URL changes when the content does.
    pub revisioned: bool,
}

/// Every `{url: "…", revision: …}` object literal in a script, in JSON or minified
/// JavaScript (`{url:"a.js",revision:null}`, quoted or bare keys, either order, single or
/// double quotes). Anything else in the script is skipped.
pub fn precache_entries(script: &str) -> Vec<PrecacheEntry> {
    let bytes = script.as_bytes();
    let mut entries = Vec::new();
    let mut at = 0;
    while let Some(open) = script[at..].find('{').map(|i| at + i) {
        // The innermost object: up to the next brace, whichever it is.
        let Some(close) = script[open + 1..].find(['{', '}']).map(|i| open + 1 + i) else {
            break;
        };
        if bytes[close] == b'}' {
            if let Some(entry) = object(&script[open + 1..close]).and_then(entry_of) {
                entries.push(entry);
            }
        }
        at = close;
    }
    entries
}

fn entry_of(properties: Vec<(String, Value)>) -> Option<PrecacheEntry> {
    let mut url = None;
    let mut revisioned = false;
    for (name, value) in properties {
        match (name.as_str(), value) {
            ("url", Value::Text(text)) => url = Some(text),
            ("url", Value::Other) => return None,
            ("revision", Value::Nothing) => {}
            // A revision, or something that may be one: not a claim that the URL is versioned.
            ("revision", _) => revisioned = true,
            _ => {}
        }
    }
    Some(PrecacheEntry {
        key: url_key(&url?)?,
        revisioned,
    })
}

/// The build key a precache URL or manifest file names: relative to the site's root, without
/// query or fragment; `None` for another origin.
pub fn url_key(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    if path.contains("://") || path.starts_with("//") {
        return None;
    }
    let path = path
        .strip_prefix("./")
        .unwrap_or(path)
        .trim_start_matches('/');
    (!path.is_empty()).then(|| path.to_string())
}

#[derive(Debug, PartialEq)]
enum Value {
    Text(String),
    /// `null`, `void 0`, `undefined`.
    Nothing,
    /// A number, a boolean, `!0`: a value, not text.
    Other,
}

/// The properties of an object literal's body (between its braces), or `None` when it is not
/// a plain one (code, nested values, spreads).
fn object(body: &str) -> Option<Vec<(String, Value)>> {
    let mut properties = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (name, after) = property_name(rest)?;
        let after = after.trim_start().strip_prefix(':')?.trim_start();
        let (value, after) = value(after)?;
        properties.push((name, value));
        rest = after.trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after.trim_start(),
            None if rest.is_empty() => {}
            None => return None,
        }
    }
    (!properties.is_empty()).then_some(properties)
}

fn property_name(text: &str) -> Option<(String, &str)> {
    if text.starts_with(['"', '\'']) {
        return string(text);
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len());
    (end > 0).then(|| (text[..end].to_string(), &text[end..]))
}

fn value(text: &str) -> Option<(Value, &str)> {
    if text.starts_with(['"', '\'', '`']) {
        return string(text).map(|(s, rest)| (Value::Text(s), rest));
    }
    for (word, value) in [
        ("null", Value::Nothing),
        ("void 0", Value::Nothing),
        ("undefined", Value::Nothing),
    ] {
        if let Some(rest) = text.strip_prefix(word) {
            return Some((value, rest));
        }
    }
    let end = text.find([',', '}']).unwrap_or(text.len());
    let literal = text[..end].trim_end();
    let plain = !literal.is_empty()
        && literal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '!'));
    plain.then(|| (Value::Other, &text[end..]))
}

/// A quoted string at the start of `text` and what follows it. Escapes are decoded as
/// JavaScript does for the characters URLs hold; a template literal with `${` is code.
fn string(text: &str) -> Option<(String, &str)> {
    let quote = text.chars().next()?;
    let mut decoded = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((decoded, &text[i + c.len_utf8()..])),
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        decoded.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    'n' => decoded.push('\n'),
                    't' => decoded.push('\t'),
                    other => decoded.push(other),
                }
            }
            '$' if quote == '`' && text[i..].starts_with("${") => return None,
            '\n' if quote != '`' => return None,
            c => decoded.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, revisioned: bool) -> PrecacheEntry {
        PrecacheEntry {
            key: key.into(),
            revisioned,
        }
    }

    #[test]
    fn workbox_inject_manifest_json_is_read() {
        // What workbox-build's injectManifest writes over `self.__WB_MANIFEST` (sorted keys).
        let sw = r#"importScripts("/workbox-v7.3.0/workbox-sw.js");(0,o.precacheAndRoute)([{"revision":null,"url":"assets/hu-legacy-NwRmjBug.js"},{"revision":null,"url":"assets/ProjectSettingsDelete-BzhhFytz.js"},{"revision":"3ca0b8505b4bec776b69afdba2768812","url":"registerSW.js"},{"revision":"0.vv0c1j2v0r","url":"index.html"},{"revision":null,"url":"assets/index-C0pq8ENH.css"}]);self.addEventListener("message",e=>{if(!e.data)return})"#;
        assert_eq!(
            precache_entries(sw),
            [
                entry("assets/hu-legacy-NwRmjBug.js", false),
                entry("assets/ProjectSettingsDelete-BzhhFytz.js", false),
                entry("registerSW.js", true),
                entry("index.html", true),
                entry("assets/index-C0pq8ENH.css", false),
            ]
        );
    }

    #[test]
    fn minified_generate_sw_and_webpack_manifests_are_read() {
        // vite-plugin-pwa generateSW, minified: bare keys, url first.
        let generate_sw = r#"define(["./workbox-5ffe50d4"],(function(e){"use strict";e.precacheAndRoute([{url:"assets/pl-legacy-BRKXTEYF.js",revision:null},{url:"manifest.webmanifest",revision:"7d3b4f0e9c1a2b3c"},{url:'assets/app-ABCDEFGH.js',revision:void 0},{url:"/assets/Home-Settings.js"}],{}),e.registerRoute(new e.NavigationRoute(e.createHandlerBoundToURL("index.html")))}));"#;
        assert_eq!(
            precache_entries(generate_sw),
            [
                entry("assets/pl-legacy-BRKXTEYF.js", false),
                entry("manifest.webmanifest", true),
                entry("assets/app-ABCDEFGH.js", false),
                entry("assets/Home-Settings.js", false),
            ]
        );
        // create-react-app 3's precache-manifest.<hash>.js, with absolute URLs and spaces.
        let cra = r#"self.__precacheManifest = (self.__precacheManifest || []).concat([
  { "revision": "5d5d9eefa31e5e13a6610d9fa7a283bb", "url": "/static/media/logo.5d5d9eef.svg" },
  { "url": "/static/js/2.8e3f5c1a.chunk.js" },
  { "url": "https://cdn.example.com/x.js", "revision": null }
]);"#;
        assert_eq!(
            precache_entries(cra),
            [
                entry("static/media/logo.5d5d9eef.svg", true),
                entry("static/js/2.8e3f5c1a.chunk.js", false),
            ]
        );
    }

    #[test]
    fn code_and_malformed_objects_are_not_entries() {
        for script in [
            "function f(){return {url:a,revision:null}}", // a variable, not a URL
            "x={url:\"a.js\",revision:null,y:{z:1}}",     // nested: not a manifest entry
            "x={...e,url:\"a.js\"}",                      // spread
            "x={url:`assets/${name}.js`,revision:null}",  // computed
            "x={url:\"a.js\" revision:null}",             // no comma
            "x={\"url\":\"unterminated}",
            "{",
            "}{",
            "",
        ] {
            assert_eq!(precache_entries(script), [], "{script}");
        }
        assert_eq!(
            precache_entries(r#"{url:"a\u002dBcDeFgHi.js",revision:null,}"#),
            [entry("a-BcDeFgHi.js", false)],
            "escapes decoded, trailing comma allowed"
        );
    }

    #[test]
    fn vite_manifest_lists_chunks_css_and_assets() {
        let manifest = br#"{
          "index.html": {"file": "assets/index-BUd7TCYz.js", "name": "index", "src": "index.html", "isEntry": true,
                         "imports": ["_vendor-Dx_8Bq9a.js"], "dynamicImports": ["src/views/ListProjects.vue"],
                         "css": ["assets/index-C0pq8ENH.css"], "assets": ["assets/OpenSans-Italic_wght__c9a8fe68-5f21f1e7.woff2"]},
          "_vendor-Dx_8Bq9a.js": {"file": "assets/vendor-Dx_8Bq9a.js", "name": "vendor"},
          "src/views/ListProjects.vue": {"file": "assets/ListProjects-C0pq-ENH.js", "src": "src/views/ListProjects.vue", "isDynamicEntry": true}
        }"#;
        let files: Vec<String> = vite_files(manifest).unwrap().into_iter().collect();
        assert_eq!(
            files,
            [
                "assets/ListProjects-C0pq-ENH.js",
                "assets/OpenSans-Italic_wght__c9a8fe68-5f21f1e7.woff2",
                "assets/index-BUd7TCYz.js",
                "assets/index-C0pq8ENH.css",
                "assets/vendor-Dx_8Bq9a.js",
            ]
        );
        assert!(vite_files(b"[]").is_err());
        assert!(vite_files(br#"{"a": {"src": "a.ts"}}"#).is_err(), "no file");
        assert!(vite_files(b"{\"a\":").is_err());
    }

    #[test]
    fn naming_sources_are_the_manifests_at_their_places() {
        for key in [
            VITE_MANIFEST,
            "sw.js",
            "service-worker.js",
            "precache-manifest.4f3a2b1c.js",
        ] {
            assert!(is_naming_source(key), "{key}");
        }
        for key in [
            "assets/sw.js",
            "manifest.json",
            "manifest.webmanifest",
            "a/precache-manifest.1.js",
        ] {
            assert!(!is_naming_source(key), "{key}");
        }
    }
}

#[cfg(test)]
mod fuzz {
    //! The service worker and Vite's manifest come from the uploaded zip: any content gives
    //! entries whose keys are relative paths (no origin, query or leading slash), or nothing,
    //! and never a panic.

    use super::*;
    use crate::classify::{carries_hash_token, Naming, Role};

    #[test]
    fn any_script_gives_relative_keys_or_nothing() {
        let seed = r#"e.precacheAndRoute([{url:"assets/a-BcDeFgHi.js",revision:null},{"revision":"1","url":"/index.html?x#y"}])"#;
        bolero::check!().for_each(|data: &[u8]| {
            // Half the inputs are the seed with bytes spliced in, to reach the object parser.
            let text = match data.split_first() {
                Some((&at, rest)) if at % 2 == 0 => {
                    let at = (at as usize * seed.len() / 256).min(seed.len());
                    let at = (0..=at)
                        .rev()
                        .find(|i| seed.is_char_boundary(*i))
                        .unwrap_or(0);
                    format!(
                        "{}{}{}",
                        &seed[..at],
                        String::from_utf8_lossy(rest),
                        &seed[at..]
                    )
                }
                _ => String::from_utf8_lossy(data).into_owned(),
            };
            let naming = Naming::read([("sw.js", text.as_bytes())]).unwrap();
            for entry in precache_entries(&text) {
                assert!(!entry.key.is_empty());
                assert!(!entry.key.starts_with('/') && !entry.key.contains(['?', '#']));
                assert!(!entry.key.contains("://"), "{entry:?}");
                // Whatever the script claims, a name without a hash token is never immutable.
                if naming.role(&entry.key) == Role::Hashed {
                    assert!(carries_hash_token(&entry.key), "{entry:?}");
                }
            }
            if let Ok(files) = vite_files(text.as_bytes()) {
                assert!(files.iter().all(|f| !f.is_empty() && !f.starts_with('/')));
            }
        });
    }
}
