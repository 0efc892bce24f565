//! A generated frontend build like Vikunja's (Vite + PWA: hashed chunks and source maps,
//! fonts, locales, a service worker, a manifest, ~300 files), for the release tests.

use std::path::{Path, PathBuf};

/// One file of the generated build: its path and whether its name carries a content hash.
pub struct File {
    pub key: String,
    pub hashed: bool,
    pub content: Vec<u8>,
}

/// 8 characters of base64url from the content, as Rollup names chunks (a digit at a fixed
/// place keeps the test independent of how the function guesses hashes it cannot read).
fn hash(content: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in content {
        h = (h ^ *byte as u64).wrapping_mul(0x100_0000_01b3);
    }
    (0..8)
        .map(|i| {
            if i == 3 {
                (b'0' + ((h >> 60) % 10) as u8) as char
            } else {
                ALPHABET[((h >> (i * 6)) & 63) as usize] as char
            }
        })
        .collect()
}

fn hashed(folder: &str, name: &str, ext: &str, content: Vec<u8>) -> File {
    File {
        key: format!("{folder}{name}-{}.{ext}", hash(&content)),
        hashed: true,
        content,
    }
}

fn fixed(key: &str, content: Vec<u8>) -> File {
    File {
        key: key.into(),
        hashed: false,
        content,
    }
}

/// A Vite/PWA build like Vikunja's. `generation` changes a third of the chunks, the entry
/// bundle, `index.html` and `sw.js`; the rest is byte-identical between generations, as
/// between two real releases.
pub fn build(generation: u32) -> Vec<File> {
    let mut files = Vec::new();
    let mut chunk_keys = Vec::new();
    for i in 0..120 {
        let varies = i % 3 == 0;
        let code = format!(
            "export default function View{i}(){{return {};}}\n{}",
            if varies { generation } else { 0 },
            "/* padding */".repeat(40 + i)
        );
        let chunk = hashed("assets/", &format!("View{i}"), "js", code.into_bytes());
        let map = File {
            key: format!("{}.map", chunk.key),
            hashed: true,
            content: format!(
                "{{\"version\":3,\"sources\":[\"View{i}.vue\"],\"mappings\":\"AAAA\"}}"
            )
            .into_bytes(),
        };
        chunk_keys.push(chunk.key.clone());
        files.push(chunk);
        files.push(map);
    }
    let entry = hashed(
        "assets/",
        "index",
        "js",
        format!(
            "import('./x');/* release {generation} */ {}",
            chunk_keys.join(",")
        )
        .into_bytes(),
    );
    let entry_map = File {
        key: format!("{}.map", entry.key),
        hashed: true,
        content: b"{\"version\":3,\"mappings\":\"\"}".to_vec(),
    };
    let css = hashed("assets/", "index", "css", b"body{margin:0}".to_vec());
    for (i, weight) in ["regular", "700", "italic"].iter().enumerate() {
        files.push(hashed(
            "assets/",
            &format!("open-sans-v34-latin-{weight}"),
            "woff2",
            vec![0x77, 0x4f, 0x46, 0x32, i as u8],
        ));
    }
    files.push(hashed(
        "assets/",
        "fa-solid-900",
        "woff",
        vec![0x77, 0x4f, 0x46, 0x46],
    ));
    files.push(hashed(
        "assets/",
        "argon2",
        "wasm",
        b"\0asm\x01\0\0\0".to_vec(),
    ));
    files.push(hashed(
        "assets/",
        "worker",
        "mjs",
        b"self.onmessage=()=>{}".to_vec(),
    ));
    files.push(hashed(
        "assets/",
        "logo",
        "svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
    ));
    for lang in [
        "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "pl-PL", "ru-RU", "ja-JP", "zh-CN", "pt-BR",
    ] {
        files.push(hashed(
            "assets/locales/",
            lang,
            "json",
            format!("{{\"lang\":\"{lang}\"}}").into_bytes(),
        ));
    }
    // Hashed, but at the root and out of the precache (as vite-plugin-pwa's generateSW
    // writes it): nothing in the build says its name is its version, so it is revalidated.
    let workbox = File {
        hashed: false,
        ..hashed("", "workbox", "js", b"self.workbox={}".to_vec())
    };
    files.push(fixed(
        "sw.js",
        format!(
            "importScripts('/{}');self.precacheAndRoute([{{\"revision\":null,\"url\":{:?}}},{{\"revision\":\"{generation}\",\"url\":\"index.html\"}}])",
            workbox.key, entry.key
        )
        .into_bytes(),
    ));
    files.push(workbox);
    files.push(fixed(
        "registerSW.js",
        b"navigator.serviceWorker.register('/sw.js')".to_vec(),
    ));
    files.push(fixed(
        "manifest.webmanifest",
        br#"{"name":"Vikunja","icons":[{"src":"/images/icons/android-chrome-192x192.png"}]}"#
            .to_vec(),
    ));
    for icon in [
        "images/icons/android-chrome-192x192.png",
        "images/icons/android-chrome-512x512.png",
        "images/icons/apple-touch-icon-180x180.png",
    ] {
        files.push(fixed(icon, b"\x89PNG\r\n\x1a\n".to_vec()));
    }
    files.push(fixed(
        "images/icons/safari-pinned-tab.svg",
        b"<svg/>".to_vec(),
    ));
    files.push(fixed("favicon.ico", vec![0, 0, 1, 0]));
    files.push(fixed("robots.txt", b"User-agent: *\nDisallow:\n".to_vec()));
    let index = format!(
        r#"<!doctype html>
<html lang="en">
	<head>
		<meta charset="utf-8">
		<title>Vikunja</title>
		<script type="module" crossorigin src="/{}"></script>
		<link rel="stylesheet" crossorigin href="/{}">
		<link rel="manifest" href="/manifest.webmanifest">
	</head>
	<body>
		<div id="app"></div>
		<script>
			// This is the url of the vikunja api.
			window.API_URL = 'http://localhost:3456/api/v1'
			window.SENTRY_ENABLED = false // release {generation}
		</script>
	</body>
</html>
"#,
        entry.key, css.key
    );
    files.push(entry);
    files.push(entry_map);
    files.push(css);
    files.push(fixed("index.html", index.into_bytes()));
    files
}

pub fn write_build(files: &[File], dir: &Path) {
    for file in files {
        let path = dir.join(&file.key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.content).unwrap();
    }
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vikunja-frontend-test-{}-{name}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// [`build`] grown to about `bytes` in all, the way a real build is heavy: chunks, their
/// source maps (three times the code), fonts and wasm padded with text that compresses
/// about as minified code does (a fifth random letters, the rest repeats). Names stay as
/// `build` makes them, so everything that reads names sees the same build.
pub fn large(generation: u32, bytes: usize) -> Vec<File> {
    let mut files = build(generation);
    let weight = |key: &str| -> usize {
        match key.rsplit('.').next().unwrap_or_default() {
            "map" => 3,
            "js" | "mjs" | "css" | "woff" | "woff2" | "wasm" => 1,
            _ => 0,
        }
    };
    let total: usize = files.iter().map(|f| weight(&f.key)).sum();
    let unit = bytes / total.max(1);
    for file in &mut files {
        let size = unit * weight(&file.key);
        if size == 0 {
            continue;
        }
        // Seeded by the name, which carries the content's hash: a file `build` leaves
        // unchanged between generations stays byte-identical here too.
        let mut seed = file.key.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        }) | 1;
        let padding = text_like(size, &mut seed);
        if file.key.ends_with(".map") {
            let json = String::from_utf8_lossy(&file.content).replacen(
                "\"mappings\":\"",
                &format!("\"mappings\":\"{padding}"),
                1,
            );
            file.content = json.into_bytes();
        } else if file.key.ends_with(".js")
            || file.key.ends_with(".mjs")
            || file.key.ends_with(".css")
        {
            file.content
                .extend_from_slice(format!("\n/*{padding}*/").as_bytes());
        } else {
            file.content.extend_from_slice(padding.as_bytes());
        }
    }
    files
}

/// VLQ-safe letters (they may stand in a source map's `mappings`).
fn text_like(size: usize, seed: &mut u64) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const REPEATED: &[u8] = b"AAAAACAAA;IACA,OAAO,SAAS,KAAK,EAAE";
    let mut out = String::with_capacity(size);
    while out.len() < size {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        if seed.is_multiple_of(5) {
            for i in 0..8 {
                out.push(LETTERS[((*seed >> (i * 6)) & 63) as usize] as char);
            }
        } else {
            let start = (*seed % 20) as usize;
            out.push_str(std::str::from_utf8(&REPEATED[start..start + 12]).unwrap());
        }
    }
    out.truncate(size);
    out
}
