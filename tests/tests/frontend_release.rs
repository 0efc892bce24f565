//! Frontend releases end to end on the local AWS stack: a realistic build (hashed asset
//! names, nested folders, a service worker, a manifest, fonts, source maps, ~300 files) is
//! released through the CLI's own library — upload, S3 → EventBridge → state machine — and
//! checked through the S3, CloudFront, SSM and Step Functions APIs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use vikunja_aws::release_frontend::{self, FrontendRelease};
use vikunja_aws::{follow, Output};
use vikunja_tests::Harness;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// One file of the generated build: its path and whether its name carries a content hash.
struct File {
    key: String,
    hashed: bool,
    content: Vec<u8>,
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
fn build(generation: u32) -> Vec<File> {
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

fn write_build(files: &[File], dir: &Path) {
    for file in files {
        let path = dir.join(&file.key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.content).unwrap();
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vikunja-frontend-test-{}-{name}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Content-Type a browser needs for each kind of file (an independent table, not the function's).
fn expected_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "svg" => "image/svg+xml; charset=utf-8",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        other => panic!("no expectation for .{other}"),
    }
}

/// Every key in the site bucket with its ETag.
async fn site_objects(h: &Harness, bucket: &str) -> BTreeMap<String, String> {
    let mut objects = BTreeMap::new();
    let mut pages = h
        .clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.unwrap().contents() {
            objects.insert(
                object.key().unwrap().to_string(),
                object.e_tag().unwrap_or_default().to_string(),
            );
        }
    }
    objects
}

async fn get_text(h: &Harness, bucket: &str, key: &str) -> String {
    let object = h
        .clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    String::from_utf8(object.body.collect().await.unwrap().into_bytes().to_vec()).unwrap()
}

/// Bootstraps and provisions a stack of its own; the frontend tier is what these tests need,
/// so a provision that fails after it (a later tier) is reported and tolerated.
async fn stack_with_frontend(h: &Harness, prefix: &str) -> (String, Value) {
    let stack = h.bootstrapped(prefix).await;
    if let Err(error) = h.provision(&stack, json!({})).await {
        eprintln!("provision of {stack} failed after all? {error:#}");
    }
    let frontend: Value =
        vikunja_core::inventory::read(&h.aws.ssm(), &stack, vikunja_core::tags::Tier::Frontend)
            .await
            .unwrap()
            .expect("the frontend tier was provisioned");
    (stack, frontend)
}

async fn release(
    h: &Harness,
    stack: &str,
    path: &Path,
    version: &str,
    keep: u64,
    wait_prune: bool,
) -> Value {
    let request = FrontendRelease {
        path: path.to_path_buf(),
        version: Some(version.into()),
        keep_previous: Some(Duration::from_secs(keep)),
        wait_prune,
    };
    release_frontend::release(&h.aws, stack, &request, Output::Json)
        .await
        .unwrap_or_else(|e| panic!("release {version}: {e:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_serves_every_file_right_and_the_next_prunes_what_the_first_left_only_then() {
    let h = Harness::new().await;
    let (stack, frontend) = stack_with_frontend(&h, "fre").await;
    let site = frontend["siteBucket"].as_str().unwrap().to_string();
    let distribution = frontend["distributionId"].as_str().unwrap().to_string();

    // Release 1: a folder, as `vikunja-aws release frontend ./dist`.
    let first = build(1);
    assert!(first.len() >= 250, "a few hundred files: {}", first.len());
    let dist = scratch("dist-1");
    write_build(&first, &dist);
    let one = release(&h, &stack, &dist, "1.0.0", 0, true).await;
    eprintln!(
        "release 1: {} files synced in {} s (the Sync step); whole release {} s",
        one["files"], one["syncSeconds"], one["seconds"]
    );
    assert_eq!(one["files"], first.len());
    assert_eq!(one["uploaded"], first.len());
    assert_eq!(
        one["invalidationPaths"],
        json!(["/*"]),
        "nothing known about the site before the first release"
    );

    let objects = site_objects(&h, &site).await;
    assert_eq!(objects.len(), first.len(), "exactly the build's files");
    for file in &first {
        let head = h
            .clients
            .s3
            .head_object()
            .bucket(&site)
            .key(&file.key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} is missing: {e:?}", file.key));
        assert_eq!(
            head.content_type(),
            Some(expected_type(&file.key)),
            "{}",
            file.key
        );
        let cache = if file.hashed { IMMUTABLE } else { REVALIDATE };
        assert_eq!(head.cache_control(), Some(cache), "{}", file.key);
    }
    let index = get_text(&h, &site, "index.html").await;
    assert!(index.contains(r#"window.API_URL = "/api/v1";"#), "{index}");
    assert!(
        index.rfind("/api/v1").unwrap() > index.find("http://localhost:3456").unwrap(),
        "the same-origin URL is assigned last"
    );
    assert!(
        index.contains(r#"<script type="module" crossorigin src="/assets/index-"#),
        "the rest of the page is kept"
    );

    let status = release_frontend::frontend_status(&h.aws, &stack)
        .await
        .unwrap();
    assert_eq!(status["version"], "1.0.0");
    assert!(
        status["publishedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{status}"
    );
    let inventory = follow::status(&h.aws, &stack).await.unwrap();
    assert!(
        inventory["frontend"]["uploadsBucket"].is_string(),
        "the uploads bucket is among the outputs"
    );

    // Release 2: a zip, kept-previous for a few seconds.
    let second = build(2);
    let dist2 = scratch("dist-2");
    write_build(&second, &dist2);
    let zip = scratch("zip").join("vikunja-frontend-2.0.0.zip");
    release_frontend::zip_folder(&dist2, &zip).unwrap();
    let two = release(&h, &stack, &zip, "2.0.0", 4, false).await;
    assert_eq!(
        two["invalidationPaths"],
        json!(["/", "/index.html", "/sw.js"]),
        "the entry page and the changed fixed-name file only"
    );
    let unchanged = first
        .iter()
        .filter(|f| {
            second
                .iter()
                .any(|s| s.key == f.key && s.content == f.content)
        })
        .count();
    assert_eq!(
        two["unchanged"], unchanged,
        "files already in place are not written again"
    );

    let only_first: Vec<&File> = first
        .iter()
        .filter(|f| !second.iter().any(|s| s.key == f.key))
        .collect();
    assert!(only_first.len() > 40, "{}", only_first.len());
    let live = site_objects(&h, &site).await;
    for file in &only_first {
        assert!(
            live.contains_key(&file.key),
            "{} is kept while pages of release 1 may still load it",
            file.key
        );
    }
    assert!(get_text(&h, &site, "index.html")
        .await
        .contains("release 2"));
    assert_eq!(
        release_frontend::frontend_status(&h.aws, &stack)
            .await
            .unwrap()["previous"]["version"],
        "1.0.0"
    );

    // Then, once the keep-previous period is over, release 1's leftovers are pruned.
    let ended = release_frontend::follow_release(
        &h.aws,
        two["execution"].as_str().unwrap(),
        true,
        Output::Json,
    )
    .await
    .unwrap();
    assert_eq!(ended["prunedFiles"], only_first.len());
    let after = site_objects(&h, &site).await;
    let expected: Vec<&String> = second.iter().map(|f| &f.key).collect();
    assert_eq!(after.keys().collect::<Vec<_>>(), {
        let mut e = expected;
        e.sort();
        e
    });

    let invalidations = h
        .clients
        .cloudfront
        .list_invalidations()
        .distribution_id(&distribution)
        .send()
        .await
        .unwrap();
    assert_eq!(
        invalidations.invalidation_list().unwrap().quantity(),
        2,
        "one invalidation per release"
    );
}

/// Renames an entry in a zip in place (local header and central directory): the zip writers
/// refuse to make such archives, hostile or broken tools do not.
fn rename(mut bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut at = 0;
    let mut renamed = 0;
    while let Some(found) = bytes[at..]
        .windows(from.len())
        .position(|w| w == from.as_bytes())
    {
        let start = at + found;
        bytes[start..start + to.len()].copy_from_slice(to.as_bytes());
        at = start + to.len();
        renamed += 1;
    }
    assert_eq!(renamed, 2, "local header and central directory");
    bytes
}

fn small_zip(extra: &[(&str, &str)]) -> Vec<u8> {
    let dir = scratch(&format!("small-{}", extra.len()));
    std::fs::write(dir.join("index.html"), "<html><body>bad</body></html>").unwrap();
    for (name, content) in extra {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), content).unwrap();
    }
    let zip = dir.with_extension("zip");
    release_frontend::zip_folder(&dir, &zip).unwrap();
    std::fs::read(zip).unwrap()
}

/// Uploads bytes as a release with a plain S3 client and returns how that release ended.
async fn upload_and_follow(
    h: &Harness,
    stack: &str,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> anyhow::Result<Value> {
    let put = h
        .clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await?;
    let etag = put
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let machine =
        follow::state_machine_arn(&h.aws, stack, "ReleaseFrontendStateMachineArn").await?;
    let execution = release_frontend::find_execution(&h.aws, &machine, key, &etag).await?;
    release_frontend::follow_release(&h.aws, &execution, true, Output::Json).await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_uploads_are_refused_with_a_clear_error_and_the_live_site_is_untouched() {
    let h = Harness::new().await;
    let (stack, frontend) = stack_with_frontend(&h, "frb").await;
    let site = frontend["siteBucket"].as_str().unwrap().to_string();
    let uploads = frontend["uploadsBucket"].as_str().unwrap().to_string();
    let dist = scratch("good");
    write_build(&build(1), &dist);
    release(&h, &stack, &dist, "good", 0, true).await;
    let site_before = site_objects(&h, &site).await;
    let live_before = release_frontend::frontend_status(&h.aws, &stack)
        .await
        .unwrap();

    let good = small_zip(&[
        ("assets/a-1b2C3d4E.js", "a"),
        ("assets/b-5f6G7h8I.js", "b"),
        ("xx/y.js", "y"),
        ("etc.js", "e"),
    ]);
    let mut corrupt = good.clone();
    let middle = corrupt.len() / 3;
    for byte in &mut corrupt[middle..middle + 16] {
        *byte ^= 0x5A;
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "releases/truncated.zip",
            good[..good.len() / 2].to_vec(),
            "not a readable zip",
        ),
        ("releases/corrupt.zip", corrupt, "refused"),
        ("releases/empty.zip", Vec::new(), "empty"),
        (
            "releases/traversal.zip",
            rename(good.clone(), "xx/y.js", "../y.js"),
            "path traversal",
        ),
        (
            "releases/absolute.zip",
            rename(good.clone(), "etc.js", "/et.js"),
            "absolute path",
        ),
        (
            "releases/duplicate.zip",
            rename(good.clone(), "assets/b-5f6G7h8I.js", "assets/a-1b2C3d4E.js"),
            "more than once",
        ),
        (
            "releases/no-index.zip",
            rename(good.clone(), "index.html", "indey.html"),
            "no index.html",
        ),
        ("releases/build.tar.gz", good.clone(), "not a .zip"),
    ];
    for (key, body, says) in cases {
        let error = upload_and_follow(&h, &stack, &uploads, key, body)
            .await
            .expect_err(key);
        let message = format!("{error:#}");
        assert!(message.contains("InvalidInput"), "{key}: {message}");
        if says != "refused" {
            assert!(message.contains(says), "{key}: {message}");
        }
        eprintln!("{key}: {message}");
    }

    // Outside the prefix: the rule does not start a release at all ...
    let machine = follow::state_machine_arn(&h.aws, &stack, "ReleaseFrontendStateMachineArn")
        .await
        .unwrap();
    let sfn = h.aws.sfn();
    let count = || async {
        sfn.list_executions()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap()
            .executions()
            .len()
    };
    let before = count().await;
    h.clients
        .s3
        .put_object()
        .bucket(&uploads)
        .key("elsewhere/1.0.zip")
        .body(good.clone().into())
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count().await,
        before,
        "an upload outside releases/ starts nothing"
    );
    // ... and an event for it, sent by hand, is refused.
    let event = json!({
        "version": "0", "id": "hand-made", "detail-type": "Object Created", "source": "aws.s3",
        "detail": {"bucket": {"name": uploads}, "object": {"key": "elsewhere/1.0.zip", "size": good.len()}}
    });
    let error = follow::run_execution(
        &h.aws,
        &machine,
        "hand-made",
        &event.to_string(),
        false,
        Output::Json,
    )
    .await
    .expect_err("refused");
    assert!(
        format!("{error:#}").contains("outside the releases/ prefix"),
        "{error:#}"
    );

    assert_eq!(
        site_objects(&h, &site).await,
        site_before,
        "the live site is untouched"
    );
    assert_eq!(
        release_frontend::frontend_status(&h.aws, &stack)
            .await
            .unwrap(),
        live_before
    );
}

/// A build zip of `generation`, uploaded with a plain S3 client (no CLI following it); its ETag.
async fn upload_build(h: &Harness, bucket: &str, key: &str, generation: u32) -> String {
    let dir = scratch(&format!("concurrent-{generation}"));
    write_build(&build(generation), &dir);
    let zip = dir.with_extension("zip");
    release_frontend::zip_folder(&dir, &zip).unwrap();
    let put = h
        .clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .metadata("keep-previous-seconds", "1")
        .body(std::fs::read(&zip).unwrap().into())
        .send()
        .await
        .unwrap();
    put.e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string()
}

async fn states_entered(h: &Harness, execution: &str) -> Vec<String> {
    let history = h
        .clients
        .sfn
        .get_execution_history()
        .execution_arn(execution)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    history
        .events()
        .iter()
        .filter_map(|e| {
            e.state_entered_event_details()
                .map(|d| d.name().to_string())
        })
        .collect()
}

/// The same execution input again, as EventBridge delivers an event twice (or late).
async fn redeliver(h: &Harness, machine: &str, execution: &str) -> Value {
    let sfn = &h.clients.sfn;
    let described = sfn
        .describe_execution()
        .execution_arn(execution)
        .send()
        .await;
    let input = described.unwrap().input().unwrap_or_default().to_string();
    let again = sfn
        .start_execution()
        .state_machine_arn(machine)
        .input(input)
        .send()
        .await
        .unwrap();
    release_frontend::follow_release(&h.aws, again.execution_arn(), true, Output::Json)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_release_one_at_a_time_the_later_wins_and_a_redelivered_event_changes_nothing() {
    let h = Harness::new().await;
    let (stack, frontend) = stack_with_frontend(&h, "frc").await;
    let site = frontend["siteBucket"].as_str().unwrap().to_string();
    let uploads = frontend["uploadsBucket"].as_str().unwrap().to_string();
    let distribution = frontend["distributionId"].as_str().unwrap().to_string();
    let machine = follow::state_machine_arn(&h.aws, &stack, "ReleaseFrontendStateMachineArn")
        .await
        .unwrap();

    // The second upload a second after the first (EventBridge's times are to the second),
    // while the first is still releasing.
    let (first_key, second_key) = ("releases/3.0.0.zip", "releases/3.0.1.zip");
    let first_etag = upload_build(&h, &uploads, first_key, 3).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second_etag = upload_build(&h, &uploads, second_key, 4).await;
    let first = release_frontend::find_execution(&h.aws, &machine, first_key, &first_etag)
        .await
        .unwrap();
    let second = release_frontend::find_execution(&h.aws, &machine, second_key, &second_etag)
        .await
        .unwrap();
    let first_result = release_frontend::follow_release(&h.aws, &first, true, Output::Json)
        .await
        .unwrap();
    let second_result = release_frontend::follow_release(&h.aws, &second, true, Output::Json)
        .await
        .unwrap();
    assert_eq!(first_result["version"], "3.0.0", "{first_result}");
    assert_eq!(second_result["version"], "3.0.1", "{second_result}");
    assert!(
        states_entered(&h, &second)
            .await
            .contains(&"WaitTurn".to_string()),
        "the second release waited for the first to publish"
    );
    let live = || async {
        release_frontend::frontend_status(&h.aws, &stack)
            .await
            .unwrap()
    };
    let published = live().await;
    assert_eq!(published["version"], "3.0.1", "{published}");
    assert!(get_text(&h, &site, "index.html")
        .await
        .contains("release 4"));

    // Each event delivered again: nothing is written, invalidated or published.
    let invalidations = || async {
        let listed = h
            .clients
            .cloudfront
            .list_invalidations()
            .distribution_id(&distribution)
            .send()
            .await
            .unwrap();
        listed
            .invalidation_list()
            .map(|l| l.quantity())
            .unwrap_or(0)
    };
    let before = invalidations().await;
    let duplicate = redeliver(&h, &machine, &second).await;
    assert!(
        duplicate["skipped"]
            .as_str()
            .unwrap_or_default()
            .contains("delivered again"),
        "{duplicate}"
    );
    let late = redeliver(&h, &machine, &first).await;
    assert!(
        late["skipped"]
            .as_str()
            .unwrap_or_default()
            .contains("later upload"),
        "{late}"
    );
    assert_eq!(
        invalidations().await,
        before,
        "no invalidation for a skipped event"
    );
    assert_eq!(live().await, published, "the live release is untouched");
    assert!(get_text(&h, &site, "index.html")
        .await
        .contains("release 4"));
}
