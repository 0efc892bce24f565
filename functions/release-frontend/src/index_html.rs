//! Pointing the app at its API. Vikunja reads `window.API_URL`, which its `index.html` sets
//! in an inline script (`'/api/v1'` or `'http://localhost:3456/api/v1'` depending on the
//! build). Instead of editing that script's text (the Docker image's `sed`, which breaks when
//! the quoting or the default changes), an HTML rewriter appends one marked inline script at
//! the end of `<body>`: classic scripts run in document order and module scripts (Vite's
//! app bundle) only after parsing, so this assignment is the last before the app starts.

use std::cell::Cell;

use lol_html::html_content::ContentType;
use lol_html::{element, end, rewrite_str, RewriteStrSettings};
use vikunja_core::{Error, Result};

/// With CloudFront's `/api/*` behaviour the API is on the app's own origin.
pub const SAME_ORIGIN_API_URL: &str = "/api/v1";
/// Marks the script this edit adds, so editing an already edited page replaces it.
const MARKER: &str = "data-vikunja-aws";

/// The page with `window.API_URL` set to `api_url`.
pub fn point_at_api(html: &str, api_url: &str) -> Result<String> {
    let script = format!(
        "<script {MARKER}=\"api-url\">window.API_URL = {};</script>",
        js_string(api_url)
    );
    let appended = Cell::new(false);
    let edited = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!(format!("script[{MARKER}]"), |el| {
                    el.remove();
                    Ok(())
                }),
                element!("body", |el| {
                    if !appended.get() {
                        el.append(&script, ContentType::Html);
                        appended.set(true);
                    }
                    Ok(())
                }),
            ],
            document_content_handlers: vec![end!(|end| {
                // A page without <body> (valid HTML: the parser implies it) gets it at the end.
                if !appended.get() {
                    end.append(&script, ContentType::Html);
                    appended.set(true);
                }
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(|e| Error::invalid(format!("index.html cannot be parsed as HTML: {e}")))?;
    Ok(edited)
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
    const VIKUNJA_INDEX: &str = r#"<!doctype html>
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
