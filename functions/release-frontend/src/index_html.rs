//! Pointing the app at its API. Vikunja reads `window.API_URL`, which its `index.html` sets
//! in an inline script (`'/api/v1'` or `'http://localhost:3456/api/v1'` depending on the
//! build). Instead of editing that script's text (the Docker image's `sed`, which breaks when
//! the quoting or the default changes), an HTML rewriter appends one marked inline script at
//! the end of `<body>`: classic scripts run in document order and module scripts (Vite's
//! app bundle) only after parsing, so this assignment is the last before the app starts.

use std::cell::{Cell, RefCell};

use lol_html::html_content::ContentType;
use lol_html::{element, end, rewrite_str, text, RewriteStrSettings};
use vikunja_core::{Error, Result};

/// With CloudFront's `/api/*` behaviour the API is on the app's own origin.
pub const SAME_ORIGIN_API_URL: &str = "/api/v1";
/// Marks the script this edit adds, so editing an already edited page replaces it.
const MARKER: &str = "data-vikunja-aws";

/// The page with `window.API_URL` set to `api_url`. Editing the result again gives the
/// same page; a page for which that, or the script running, cannot hold is refused.
pub fn point_at_api(html: &str, api_url: &str) -> Result<String> {
    let script = format!(
        "<script {MARKER}=\"api-url\">window.API_URL = {};</script>",
        js_string(api_url)
    );
    let edited = edit(html, &script)?;
    // The script must be an element a browser runs. A page that ends inside an unclosed
    // `<plaintext>`, `<textarea>`, `<script>` or comment swallows it as text, one inside
    // `<template>` keeps it inert: the app would start with the build's own API URL.
    let expected = format!("window.API_URL = {};", js_string(api_url));
    if marked_scripts(&edited).is_none_or(|scripts| scripts != [expected]) {
        return Err(Error::invalid(
            "index.html: the script that sets the API URL would not run at the end of this page \
             (it ends inside an unclosed <plaintext>, <textarea>, <script>, comment or <template>)",
        ));
    }
    // Removing a marked script of the build's own can change how the rest of the page
    // parses (what it held was markup), and so where <body> ends: then the edit is no fixed
    // point, and a second release of the same page would move the script again.
    if edit(&edited, &script)? != edited {
        return Err(Error::invalid(format!(
            "index.html: a <script {MARKER}> of its own hides markup, so where the API URL \
             script goes is ambiguous; remove that script from the build"
        )));
    }
    Ok(edited)
}

/// The page without any marked script, with `script` at the end of its `<body>`.
fn edit(html: &str, script: &str) -> Result<String> {
    let appended = Cell::new(false);
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!(format!("script[{MARKER}]"), |el| {
                    el.remove();
                    Ok(())
                }),
                element!("body", |el| {
                    if !appended.get() {
                        el.append(script, ContentType::Html);
                        appended.set(true);
                    }
                    Ok(())
                }),
            ],
            document_content_handlers: vec![end!(|end| {
                // A page without <body> (valid HTML: the parser implies it) gets it at the end.
                if !appended.get() {
                    end.append(script, ContentType::Html);
                    appended.set(true);
                }
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(|e| Error::invalid(format!("index.html cannot be parsed as HTML: {e}")))
}

/// The text of every marked script element a browser would run, as the parser sees the
/// page; `None` if one sits inside a `<template>` (or the page does not parse).
fn marked_scripts(html: &str) -> Option<Vec<String>> {
    let found = RefCell::new(Vec::<String>::new());
    let inert = Cell::new(false);
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!(format!("script[{MARKER}]"), |_| {
                    found.borrow_mut().push(String::new());
                    Ok(())
                }),
                text!(format!("script[{MARKER}]"), |chunk| {
                    if let Some(last) = found.borrow_mut().last_mut() {
                        last.push_str(chunk.as_str());
                    }
                    Ok(())
                }),
                element!(format!("template script[{MARKER}]"), |_| {
                    inert.set(true);
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .ok()?;
    (!inert.get()).then(|| found.into_inner())
}

/// A JavaScript string literal that is also safe inside `<script>`: JSON quoting, with `<`
/// escaped so `</script>` in the value cannot end the element.
fn js_string(value: &str) -> String {
    serde_json::Value::String(value.to_string())
        .to_string()
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of Vikunja's own built `index.html` (0.24): config script in the body, the
    /// app as a module script in the head.
    pub(super) const VIKUNJA_INDEX: &str = r#"<!doctype html>
<html lang="en">
	<head>
		<meta charset="utf-8">
		<title>Vikunja</title>
		<script type="module" crossorigin src="/assets/index-BUd7TCYz.js"></script>
		<link rel="stylesheet" crossorigin href="/assets/index-C0pq8ENH.css">
		<link rel="manifest" href="/manifest.webmanifest">
	</head>
	<body>
		<noscript>We're sorry but Vikunja doesn't work properly without JavaScript enabled.</noscript>
		<div id="app"></div>
		<script>
			// This is the url of the vikunja api.
			window.API_URL = 'http://localhost:3456/api/v1'
			window.SENTRY_ENABLED = false
		</script>
	</body>
</html>
"#;

    /// Runs the page's inline classic scripts in order with Node.js, as a browser would
    /// before the deferred module, and prints `window.API_URL`.
    fn api_url_seen_by_the_app(html: &str) -> String {
        let mut scripts = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find("<script") {
            let open_end = rest[start..].find('>').unwrap() + start;
            let tag = &rest[start..open_end];
            let close = rest[open_end..].find("</script>").unwrap() + open_end;
            if !tag.contains("src=") {
                scripts.push(rest[open_end + 1..close].to_string());
            }
            rest = &rest[close..];
        }
        let program = format!(
            "const window = {{}};\n{}\nconsole.log(window.API_URL);",
            scripts.join("\n;\n")
        );
        let output = std::process::Command::new("node")
            .arg("-e")
            .arg(program)
            .output()
            .expect("node runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn the_app_sees_the_same_origin_api() {
        let edited = point_at_api(VIKUNJA_INDEX, SAME_ORIGIN_API_URL).unwrap();
        assert_eq!(
            api_url_seen_by_the_app(VIKUNJA_INDEX),
            "http://localhost:3456/api/v1"
        );
        assert_eq!(api_url_seen_by_the_app(&edited), "/api/v1");
        // The rest of the page is left as it was.
        assert!(edited.contains(
            r#"<script type="module" crossorigin src="/assets/index-BUd7TCYz.js"></script>"#
        ));
        assert!(edited.contains("window.SENTRY_ENABLED = false"));
        assert!(edited.find("data-vikunja-aws").unwrap() < edited.find("</body>").unwrap());
    }

    #[test]
    fn editing_twice_gives_one_script() {
        let once = point_at_api(VIKUNJA_INDEX, "/api/v1").unwrap();
        let twice = point_at_api(&once, "/api/v1").unwrap();
        assert_eq!(once, twice);
        let changed = point_at_api(&once, "https://api.example.com/api/v1").unwrap();
        assert_eq!(changed.matches("data-vikunja-aws").count(), 1);
        assert_eq!(
            api_url_seen_by_the_app(&changed),
            "https://api.example.com/api/v1"
        );
    }

    #[test]
    fn pages_without_body_or_with_odd_values_are_handled() {
        let edited = point_at_api("<title>x</title><p>hi", "/api/v1").unwrap();
        assert_eq!(api_url_seen_by_the_app(&edited), "/api/v1");
        let hostile = point_at_api(VIKUNJA_INDEX, "</script><script>alert(1)//").unwrap();
        assert_eq!(hostile.matches("alert(1)").count(), 1);
        assert_eq!(
            api_url_seen_by_the_app(&hostile),
            "</script><script>alert(1)//"
        );
    }
}

#[cfg(test)]
mod fuzz {
    //! `index.html` comes from the uploaded build. Whatever it holds, the edit is refused as
    //! `InvalidInput` or gives a page whose one marked script — a real `<script>` element,
    //! not text swallowed by a comment or another element — sets the API URL, and editing
    //! that page again changes nothing.

    use super::*;
    use vikunja_core::fuzzing::assert_invalid_input;

    const PIECES: &[&str] = &[
        "<!doctype html>",
        "<html>",
        "</html>",
        "<head>",
        "</head>",
        "<body>",
        "</body>",
        "<BODY class=x>",
        "<script>",
        "</script>",
        "<script src=\"/a.js\"></script>",
        "<script data-vikunja-aws=\"api-url\">window.API_URL = 'x';</script>",
        "<script data-vikunja-aws>",
        "<!--",
        "-->",
        "<textarea>",
        "</textarea>",
        "<title>",
        "</title>",
        "<style>",
        "</style>",
        "<template>",
        "</template>",
        "<svg>",
        "</svg>",
        "<math>",
        "<noscript>",
        "</noscript>",
        "<iframe>",
        "<xmp>",
        "<plaintext>",
        "<select>",
        "<![CDATA[",
        "]]>",
        "<p>hi",
        "<div id=\"app\"></div>",
        "&amp;",
        "<",
        ">",
        "\"",
        "'",
        "/",
        "é",
        "\u{0}",
        "\n",
    ];
    const URLS: &[&str] = &[
        SAME_ORIGIN_API_URL,
        "https://api.example.com/api/v1",
        "</script><script>alert(1)//",
        "<!--",
        "\u{2028}",
        "",
    ];

    #[derive(Debug, bolero::TypeGenerator)]
    enum Page {
        /// Vikunja's own page with pieces put in at a few places.
        Vikunja(Vec<(u16, u8)>),
        Pieces(Vec<u8>),
        Any(String),
    }

    impl Page {
        fn html(&self) -> String {
            match self {
                Page::Vikunja(edits) => {
                    let mut html = tests::VIKUNJA_INDEX.to_string();
                    for (at, piece) in edits {
                        let mut at = *at as usize % (html.len() + 1);
                        while !html.is_char_boundary(at) {
                            at -= 1;
                        }
                        html.insert_str(at, PIECES[*piece as usize % PIECES.len()]);
                    }
                    html
                }
                Page::Pieces(picks) => picks
                    .iter()
                    .map(|p| PIECES[*p as usize % PIECES.len()])
                    .collect(),
                Page::Any(text) => text.clone(),
            }
        }
    }

    /// What the fuzzer found, kept: a page ending inside `<plaintext>` (or a comment, a
    /// `<textarea>`, a `<script>`) swallowed the script as text, so the app kept the build's
    /// API URL; a marked script of the page's own, inside MathML, hid markup, so a second
    /// edit of the edited page moved the script. Both are refused now.
    #[test]
    fn pages_that_swallow_or_move_the_script_are_refused() {
        for page in [
            "<html><body><plaintext>hi",
            "<p>hi<!-- unclosed",
            "<body><textarea>",
            "<title>x</title><script>let a = 1;",
            "<template><body>",
            "<math><title><script data-vikunja-aws><head></title><script><BODY >",
        ] {
            let error = point_at_api(page, SAME_ORIGIN_API_URL).unwrap_err();
            assert_invalid_input(&error, &page);
            assert!(error.to_string().contains("index.html"), "{error}");
        }
    }

    #[test]
    fn the_edit_sets_the_api_url_once_and_again_changes_nothing() {
        bolero::check!()
            .with_type::<(Page, u8, Option<String>)>()
            .for_each(|(page, url, any_url)| {
                let html = page.html();
                let url = any_url
                    .as_deref()
                    .unwrap_or(URLS[*url as usize % URLS.len()]);
                match point_at_api(&html, url) {
                    Ok(edited) => {
                        assert!(std::str::from_utf8(edited.as_bytes()).is_ok());
                        let expected = format!("window.API_URL = {};", js_string(url));
                        assert_eq!(marked_scripts(&edited), Some(vec![expected]), "{edited}");
                        let again = point_at_api(&edited, url).expect("an edited page edits");
                        assert_eq!(again, edited, "not idempotent");
                    }
                    Err(error) => assert_invalid_input(&error, &html),
                }
            });
    }
}
