//! The workflows drawn from their ASL: a Graphviz graph per state machine (`vikunja-aws
//! diagram`, `make diagram`), so the pictures cannot drift from what Step Functions runs.
//!
//! Tasks are boxes (with the tier or action they ask for), choices diamonds, waits
//! hexagons, a Parallel state a frame around its branches; `Next` and `Default` edges are
//! solid, a choice's edges carry its condition, a `Catch` is a red dashed edge naming the
//! errors it takes, and a task's `Retry` a grey loop on it with its attempts.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

pub mod live;

/// The state machines of the repository, by file stem.
pub const STATE_MACHINES: [&str; 4] = [
    "provision",
    "teardown",
    "release-backend",
    "release-frontend",
];

/// The DOT text of one state machine.
pub fn dot(name: &str, asl: &Value) -> String {
    let mut graph = Graph::default();
    let start = asl["StartAt"].as_str().unwrap_or_default();
    graph.edge("start", &id("", start), "", "");
    graph.states(asl, "", "  ", Some("end"));
    // The end point only where a state ends with `End` (Succeed and Fail states end alone).
    let end = if graph.out.contains("-> \"end\"") {
        "  \"end\" [shape=doublecircle, label=\"\", width=0.15, style=filled, fillcolor=black];\n"
    } else {
        ""
    };
    format!(
        "digraph \"{name}\" {{\n  rankdir=TB;\n  fontname=\"Helvetica\";\n  labelloc=t;\n  label=\"{name}\";\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n  \"start\" [shape=circle, label=\"\", width=0.2, style=filled, fillcolor=black];\n{end}{}}}\n",
        graph.out
    )
}

#[derive(Default)]
struct Graph {
    out: String,
    clusters: usize,
}

/// A node id unique across branches: a branch's states are prefixed with its path.
fn id(prefix: &str, state: &str) -> String {
    format!("{prefix}{state}")
}

/// One DOT edge statement, its label and style attributes only when given.
fn edge(from: &str, to: &str, label: &str, style: &str) -> String {
    let mut attributes = Vec::new();
    if !label.is_empty() {
        attributes.push(format!("label=\"{}\"", quote(label)));
    }
    if !style.is_empty() {
        attributes.push(style.to_string());
    }
    let attributes = if attributes.is_empty() {
        String::new()
    } else {
        format!(" [{}]", attributes.join(", "))
    };
    format!("\"{}\" -> \"{}\"{attributes};", quote(from), quote(to))
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Graph {
    fn edge(&mut self, from: &str, to: &str, label: &str, style: &str) {
        writeln!(self.out, "  {}", edge(from, to, label, style)).unwrap();
    }

    /// The states of a machine or branch; `after` is where an `End` state goes (the end of
    /// the machine, or the Parallel state's join).
    fn states(&mut self, machine: &Value, prefix: &str, indent: &str, after: Option<&str>) {
        let Some(states) = machine["States"].as_object() else {
            return;
        };
        for (name, state) in states {
            let node = id(prefix, name);
            let kind = state["Type"].as_str().unwrap_or_default();
            if kind == "Parallel" {
                self.parallel(&node, name, state, indent);
            } else {
                let (shape, label) = node_look(name, state);
                writeln!(
                    self.out,
                    "{indent}\"{}\" [{shape}, label=\"{}\"];",
                    quote(&node),
                    quote(&label)
                )
                .unwrap();
            }
            let from = if kind == "Parallel" {
                format!("{node} (join)")
            } else {
                node.clone()
            };
            if let Some(next) = state["Next"].as_str() {
                self.edge(&from, &id(prefix, next), "", "");
            }
            if state["End"].as_bool() == Some(true) {
                if let Some(after) = after {
                    self.edge(&from, after, "", "");
                }
            }
            for choice in state["Choices"].as_array().into_iter().flatten() {
                if let Some(next) = choice["Next"].as_str() {
                    self.edge(&node, &id(prefix, next), &condition(choice), "");
                }
            }
            if let Some(default) = state["Default"].as_str() {
                self.edge(&node, &id(prefix, default), "otherwise", "style=solid");
            }
            let attempts: u64 = state["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["MaxAttempts"].as_u64().unwrap_or(3))
                .sum();
            if attempts > 0 {
                let errors = state["Retry"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| r["ErrorEquals"].as_array().map_or(0, Vec::len))
                    .sum::<usize>();
                self.edge(
                    &node,
                    &node,
                    &format!("retry ≤{attempts} ({errors} errors)"),
                    "style=dashed, color=gray50, fontcolor=gray40",
                );
            }
            for catch in state["Catch"].as_array().into_iter().flatten() {
                if let Some(next) = catch["Next"].as_str() {
                    let errors = errors_of(catch);
                    self.edge(
                        &from,
                        &id(prefix, next),
                        &format!("catch {errors}"),
                        "style=dashed, color=firebrick, fontcolor=firebrick",
                    );
                }
            }
        }
    }

    fn parallel(&mut self, node: &str, name: &str, state: &Value, indent: &str) {
        let join = format!("{node} (join)");
        writeln!(
            self.out,
            "{indent}\"{}\" [shape=box, style=\"rounded,bold\", label=\"{} (parallel)\"];",
            quote(node),
            quote(name)
        )
        .unwrap();
        writeln!(
            self.out,
            "{indent}\"{}\" [shape=point, width=0.12];",
            quote(&join)
        )
        .unwrap();
        for (index, branch) in state["Branches"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            self.clusters += 1;
            let prefix = format!("{node}/{index}/");
            let inner = format!("{indent}  ");
            writeln!(
                self.out,
                "{indent}subgraph \"cluster_{}\" {{\n{inner}style=dashed;\n{inner}color=gray60;\n{inner}label=\"branch {}\";",
                self.clusters,
                index + 1
            )
            .unwrap();
            self.states(branch, &prefix, &inner, Some(&join));
            writeln!(self.out, "{indent}}}").unwrap();
            let start = branch["StartAt"].as_str().unwrap_or_default();
            self.edge(node, &id(&prefix, start), "", "");
        }
    }
}

/// The shape and text of a state that is not Parallel.
fn node_look(name: &str, state: &Value) -> (&'static str, String) {
    match state["Type"].as_str().unwrap_or_default() {
        "Task" => {
            let asks = state["Parameters"]["action"]
                .as_str()
                .map(|action| format!("\n{action}"))
                .unwrap_or_default();
            ("shape=box, style=rounded", format!("{name}{asks}"))
        }
        "Choice" => ("shape=diamond, style=filled, fillcolor=gray95", name.into()),
        "Wait" => {
            let seconds = state["Seconds"]
                .as_u64()
                .map(|s| format!("{s} s"))
                .or_else(|| {
                    state["SecondsPath"]
                        .as_str()
                        .map(|p| p.trim_start_matches("$.").to_string())
                })
                .unwrap_or_default();
            ("shape=hexagon", format!("{name}\n{seconds}"))
        }
        "Succeed" => (
            "shape=box, style=\"rounded,filled\", fillcolor=honeydew",
            name.into(),
        ),
        "Fail" => (
            "shape=box, style=\"rounded,filled\", fillcolor=mistyrose",
            name.into(),
        ),
        _ => ("shape=box, style=dotted", name.into()),
    }
}

fn errors_of(rule: &Value) -> String {
    let errors: Vec<&str> = rule["ErrorEquals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match errors.as_slice() {
        ["States.ALL"] => "any error".into(),
        [one] => (*one).into(),
        many => format!("{} errors", many.len()),
    }
}

/// A choice rule as a short condition: `status == "waiting"`, `a and b`, `not x`.
fn condition(rule: &Value) -> String {
    if let Some(all) = rule["And"].as_array() {
        return all.iter().map(condition).collect::<Vec<_>>().join(" and ");
    }
    if let Some(any) = rule["Or"].as_array() {
        return any.iter().map(condition).collect::<Vec<_>>().join(" or ");
    }
    if rule["Not"].is_object() {
        return format!("not ({})", condition(&rule["Not"]));
    }
    let variable = rule["Variable"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("$.");
    let Some((test, value)) = rule
        .as_object()
        .into_iter()
        .flatten()
        .find(|(key, _)| !matches!(key.as_str(), "Variable" | "Next" | "Comment"))
    else {
        return variable.to_string();
    };
    let operator = match test.trim_end_matches("Path") {
        "StringEquals" | "NumericEquals" | "BooleanEquals" | "TimestampEquals" => "==",
        "NumericGreaterThan" | "StringGreaterThan" | "TimestampGreaterThan" => ">",
        "NumericGreaterThanEquals" | "StringGreaterThanEquals" => ">=",
        "NumericLessThan" | "StringLessThan" | "TimestampLessThan" => "<",
        "NumericLessThanEquals" | "StringLessThanEquals" => "<=",
        "IsPresent" => {
            return if value == true {
                format!("{variable} present")
            } else {
                format!("no {variable}")
            }
        }
        "IsNull" => {
            return if value == true {
                format!("{variable} null")
            } else {
                format!("{variable} not null")
            }
        }
        "StringMatches" => "~",
        other => other,
    };
    let value = match value {
        Value::String(s) if test.ends_with("Path") => s.trim_start_matches("$.").to_string(),
        other => other.to_string(),
    };
    format!("{variable} {operator} {value}")
}

/// Writes `<out>/<name>.dot` for each state machine, and `<name>.svg` when Graphviz's `dot`
/// is installed (`make diagram` installs it). Returns the files written.
pub fn write_all(root: &Path, out: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let mut written = Vec::new();
    for name in STATE_MACHINES {
        let path = root.join(format!("statemachine/{name}.asl.json"));
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        let asl: Value =
            serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
        let dot_path = out.join(format!("{name}.dot"));
        std::fs::write(&dot_path, dot(name, &asl))?;
        written.push(dot_path.display().to_string());
        let svg_path = out.join(format!("{name}.svg"));
        if svg(&dot_path, &svg_path)? {
            written.push(svg_path.display().to_string());
        }
    }
    Ok(written)
}

/// Draws `dot_path` into `svg_path` with Graphviz's `dot`; false when it is not installed.
fn svg(dot_path: &Path, svg_path: &Path) -> Result<bool> {
    match std::process::Command::new("dot")
        .arg("-Tsvg")
        .arg(dot_path)
        .arg("-o")
        .arg(svg_path)
        .status()
    {
        Ok(status) if status.success() => Ok(true),
        Ok(status) => anyhow::bail!("dot -Tsvg {}: {status}", dot_path.display()),
        Err(_) => {
            eprintln!(
                "Graphviz's dot is not installed: wrote {} only (make diagram installs it)",
                dot_path.display()
            );
            Ok(false)
        }
    }
}

/// Writes `<out>/live-stack.dot` (and `.svg`): the stack as `status` reads it now.
pub async fn write_live(aws: &crate::target::Aws, stack: &str, out: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let observed = crate::status::observe(aws, stack).await?;
    let dot_path = out.join("live-stack.dot");
    std::fs::write(&dot_path, live::dot(&observed))?;
    let mut written = vec![dot_path.display().to_string()];
    let svg_path = out.join("live-stack.svg");
    if svg(&dot_path, &svg_path)? {
        written.push(svg_path.display().to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_committed_diagrams_are_drawn_from_the_state_machines_as_they_are() {
        for name in STATE_MACHINES {
            let asl: Value = serde_json::from_str(
                &std::fs::read_to_string(root().join(format!("statemachine/{name}.asl.json")))
                    .unwrap(),
            )
            .unwrap();
            let committed =
                std::fs::read_to_string(root().join(format!("docs/diagrams/{name}.dot")))
                    .unwrap_or_default();
            assert!(
                committed == dot(name, &asl),
                "docs/diagrams/{name}.dot is not what statemachine/{name}.asl.json draws: run make diagram"
            );
        }
    }

    #[test]
    fn every_state_and_every_transition_is_drawn() {
        let asl = json!({
            "StartAt": "Work",
            "States": {
                "Work": {"Type": "Task", "Parameters": {"action": "network"},
                    "Retry": [{"ErrorEquals": ["Retryable", "InUse"], "MaxAttempts": 6}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                    "Next": "Done?"},
                "Done?": {"Type": "Choice",
                    "Choices": [{"Variable": "$.status", "StringEquals": "waiting", "Next": "Wait"}],
                    "Default": "Both"},
                "Wait": {"Type": "Wait", "SecondsPath": "$.pollSeconds", "Next": "Work"},
                "Both": {"Type": "Parallel", "Next": "Ok", "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]},
                "Ok": {"Type": "Succeed"},
                "Failed": {"Type": "Fail"}
            }
        });
        let text = dot("t", &asl);
        for expected in [
            r#""start" -> "Work";"#,
            r#""Work" [shape=box, style=rounded, label="Work\nnetwork"];"#,
            r#""Work" -> "Work" [label="retry ≤6 (2 errors)""#,
            r#""Work" -> "Failed" [label="catch any error", style=dashed, color=firebrick"#,
            r#""Done?" -> "Wait" [label="status == \"waiting\""];"#,
            r#""Done?" -> "Both" [label="otherwise""#,
            r#""Wait" -> "Work";"#,
            r#""Both" -> "Both/0/A";"#,
            r#""Both" -> "Both/1/A";"#,
            r#""Both/1/A" -> "Both (join)";"#,
            r#""Both (join)" -> "Ok";"#,
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
        assert_eq!(text.matches("subgraph").count(), 2);
    }

    #[test]
    fn conditions_read_as_comparisons() {
        assert_eq!(
            condition(&json!({"Variable": "$.domain.issued", "BooleanEquals": true})),
            "domain.issued == true"
        );
        assert_eq!(
            condition(&json!({"And": [
                {"Variable": "$.a", "IsPresent": true},
                {"Not": {"Variable": "$.b", "StringEquals": "x"}}]})),
            "a present and not (b == \"x\")"
        );
    }
}
