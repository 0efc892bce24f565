//! Packaging, the way `aws cloudformation package` does it: a function's `Code` that names
//! a folder (`functions/<name>`) becomes a content-addressed zip in the artifacts bucket, a
//! state machine's `DefinitionS3Location` that names a file becomes its inline definition.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::binary::{self, Architecture, BinaryFacts};
use crate::target::Target;

/// How hard the functions' zips are deflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Deflate level 1, for the local stack: its debug binaries are ~40 MB each, and level 6
    /// would take about 7× as long on every `bootstrap` (1.2 s instead of 0.18 s per 13 MB).
    Fast,
    /// Deflate level 6, for what is uploaded to AWS: 16 % smaller than level 1 on a release
    /// build (loadbalancer: 4.77 MB instead of 5.68). Level 9 saves 0.6 % more for twice the
    /// time of level 6.
    Small,
}

impl Compression {
    pub fn for_target(target: Target) -> Self {
        match target {
            Target::Local => Compression::Fast,
            Target::Aws => Compression::Small,
        }
    }

    fn level(self) -> i64 {
        match self {
            Compression::Fast => 1,
            Compression::Small => 6,
        }
    }
}

#[derive(Clone)]
pub struct Function {
    pub name: String,
    pub zip: Vec<u8>,
    pub key: String,
    /// What the executable needs, or why it is not one Lambda can run.
    pub binary: std::result::Result<BinaryFacts, String>,
}

#[derive(Clone)]
pub struct Packaged {
    pub template: Value,
    pub functions: Vec<Function>,
}

pub fn package(root: &Path, binaries: &Path, compression: Compression) -> Result<Packaged> {
    let path = root.join("bootstrap/template.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let mut template: Value =
        serde_yaml::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    let resources = template
        .get_mut("Resources")
        .and_then(Value::as_object_mut)
        .context("the template has no Resources")?;
    // The zips first, several at a time: deflating ~40 MB per binary is the slow part.
    let folders: Vec<(String, String)> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::Function"))
        .filter_map(|(id, r)| {
            Some((
                id.clone(),
                r.pointer("/Properties/Code")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let mut zipped: std::collections::HashMap<String, Function> =
        zip_functions(binaries, &folders, compression)?
            .into_iter()
            .collect();
    let mut functions = Vec::new();
    for (logical_id, resource) in resources.iter_mut() {
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(properties) = resource
            .get_mut("Properties")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        match kind.as_str() {
            "AWS::Lambda::Function" => {
                if let Some(function) = zipped.remove(logical_id) {
                    properties.insert(
                        "Code".into(),
                        json!({"S3Bucket": {"Ref": "ArtifactsBucket"}, "S3Key": function.key}),
                    );
                    functions.push(function);
                }
            }
            "AWS::StepFunctions::StateMachine" => {
                if let Some(Value::String(file)) = properties.remove("DefinitionS3Location") {
                    let definition = read_definition(&root.join(&file))
                        .with_context(|| format!("package {logical_id}"))?;
                    properties.insert("DefinitionString".into(), Value::String(definition));
                }
            }
            _ => {}
        }
    }
    let packaged = Packaged {
        template,
        functions,
    };
    Ok(packaged.with_binaries_architecture())
}

impl Packaged {
    /// Refuses binaries Lambda could not start: not Linux ELF, a glibc newer than Amazon
    /// Linux 2023's, or a mix of architectures. The local stack runs the host's binaries and
    /// does not need this; AWS does, and would only fail at the first invocation.
    pub fn check_runs_on_lambda(&self) -> Result<()> {
        let mut problems = Vec::new();
        for function in &self.functions {
            if let Err(problem) = function
                .binary
                .as_ref()
                .map_err(|e| anyhow::anyhow!("{e}"))
                .and_then(BinaryFacts::check_runs_on_lambda)
            {
                problems.push(format!("{}: {problem}", function.name));
            }
        }
        if self.architectures().len() > 1 {
            problems.push("the functions mix x86_64 and arm64 binaries: build all for one".into());
        }
        if !problems.is_empty() {
            bail!(
                "these binaries cannot run on Lambda:\n  {}",
                problems.join("\n  ")
            );
        }
        Ok(())
    }

    fn architectures(&self) -> Vec<Architecture> {
        let mut found: Vec<Architecture> = Vec::new();
        for facts in self.functions.iter().filter_map(|f| f.binary.as_ref().ok()) {
            if !found.contains(&facts.architecture) {
                found.push(facts.architecture);
            }
        }
        found
    }

    /// `Architectures` follows the binaries (arm64 from `make build ARCH=arm64`); the
    /// template says x86_64, what this project's build machines produce.
    fn with_binaries_architecture(mut self) -> Self {
        if let [architecture] = self.architectures()[..] {
            let resources = self
                .template
                .get_mut("Resources")
                .and_then(Value::as_object_mut);
            for resource in resources.into_iter().flat_map(|r| r.values_mut()) {
                if resource.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::Function") {
                    resource["Properties"]["Architectures"] = json!([architecture.as_lambda()]);
                }
            }
        }
        self
    }
}

/// Zips each (logical id, `functions/<name>` folder) on as many threads as there are cores;
/// the result keeps the logical ids.
fn zip_functions(
    binaries: &Path,
    folders: &[(String, String)],
    compression: Compression,
) -> Result<Vec<(String, Function)>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, folders.len().max(1));
    let mut results: Vec<(usize, Result<Function>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some((logical_id, folder)) = folders.get(i) else {
                            return done;
                        };
                        done.push((
                            i,
                            zip_function(binaries, folder, compression)
                                .with_context(|| format!("package {logical_id}")),
                        ));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a packaging thread panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results
        .into_iter()
        .map(|(i, function)| Ok((folders[i].0.clone(), function?)))
        .collect()
}

/// A state machine definition, checked to be JSON, compacted.
fn read_definition(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    if value.get("StartAt").is_none() || value.get("States").is_none() {
        bail!(
            "{} has no StartAt/States: not a state machine",
            path.display()
        );
    }
    Ok(value.to_string())
}

/// The executable for `functions/<name>`: `<binaries>/<name>` (a cargo build) or
/// `<binaries>/<name>/bootstrap` (cargo lambda's layout).
fn find_binary(binaries: &Path, name: &str) -> Result<PathBuf> {
    let candidates = [binaries.join(name).join("bootstrap"), binaries.join(name)];
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "no executable for function {name} in {} (build first: make build-local)",
                binaries.display()
            )
        })
}

fn zip_function(binaries: &Path, folder: &str, compression: Compression) -> Result<Function> {
    let name = folder
        .strip_prefix("functions/")
        .unwrap_or(folder)
        .trim_end_matches('/')
        .to_string();
    let path = find_binary(binaries, &name)?;
    let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
    let zip = zip_bootstrap(&bytes, compression)?;
    let digest = hex::encode(Sha256::digest(&zip));
    Ok(Function {
        key: format!("functions/{name}/{digest}.zip"),
        binary: binary::inspect(&bytes).map_err(|e| format!("{} is {e:#}", path.display())),
        name,
        zip,
    })
}

/// A zip with one executable entry, `bootstrap`, and fixed timestamps: the same binary
/// always gives the same zip, so the same key, so no upload and no function update.
pub fn zip_bootstrap(binary: &[u8], compression: Compression) -> Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(compression.level()))
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

pub fn write(packaged: &Packaged, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out.join("functions"))?;
    std::fs::write(
        out.join("template.json"),
        serde_json::to_string_pretty(&packaged.template)?,
    )?;
    for function in &packaged.functions {
        std::fs::write(
            out.join("functions").join(format!("{}.zip", function.name)),
            &function.zip,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_reproducible_and_executable() {
        for compression in [Compression::Fast, Compression::Small] {
            let a = zip_bootstrap(b"#!/bin/sh\necho hi\n", compression).unwrap();
            let b = zip_bootstrap(b"#!/bin/sh\necho hi\n", compression).unwrap();
            assert_eq!(a, b);
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
            let mut entry = archive.by_index(0).unwrap();
            assert_eq!(entry.name(), "bootstrap");
            assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
            let mut unzipped = String::new();
            std::io::Read::read_to_string(&mut entry, &mut unzipped).unwrap();
            assert_eq!(unzipped, "#!/bin/sh\necho hi\n");
        }
    }

    #[test]
    fn what_goes_to_aws_is_deflated_harder_than_what_the_local_stack_gets() {
        let binary: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).wrapping_mul(i / 97).to_le_bytes())
            .collect();
        let fast = zip_bootstrap(&binary, Compression::for_target(Target::Local)).unwrap();
        let small = zip_bootstrap(&binary, Compression::for_target(Target::Aws)).unwrap();
        assert!(
            small.len() < fast.len(),
            "{} vs {}",
            small.len(),
            fast.len()
        );
    }

    #[test]
    fn the_repository_template_packages() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let binaries = tempdir();
        // One stand-in binary per `Code: functions/<name>` in the template.
        let template = std::fs::read_to_string(root.join("bootstrap/template.yaml")).unwrap();
        let names: Vec<&str> = template
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Code: functions/"))
            .collect();
        assert!(names.contains(&"release-frontend"), "{names:?}");
        for name in &names {
            std::fs::write(binaries.join(name), name.as_bytes()).unwrap();
        }
        let packaged = package(&root, &binaries, Compression::Small).unwrap();
        assert_eq!(packaged.functions.len(), names.len());
        let resources = packaged.template["Resources"].as_object().unwrap();
        for (id, resource) in resources {
            let properties = &resource["Properties"];
            if resource["Type"] == "AWS::Lambda::Function" {
                assert!(
                    properties["Code"]["S3Key"]
                        .as_str()
                        .unwrap()
                        .ends_with(".zip"),
                    "{id}"
                );
            }
            if resource["Type"] == "AWS::StepFunctions::StateMachine" {
                assert!(properties.get("DefinitionS3Location").is_none(), "{id}");
                let definition: Value =
                    serde_json::from_str(properties["DefinitionString"].as_str().unwrap()).unwrap();
                assert!(definition["States"].is_object());
            }
        }
        assert!(!serde_json::to_string(&packaged.template)
            .unwrap()
            .contains("\"Action\":\"*\""));
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vikunja-package-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
