//! Per function: cold start (spawn → the runtime's first `next`, as Lambda's Init Duration
//! counts it) over several starts, resident memory at that point, and the zip's size.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Cold starts per function: the minimum, and enough for a stable median.
pub const COLD_STARTS: usize = 10;
const START_WITHIN: Duration = Duration::from_secs(10);

pub struct ColdStarts {
    pub init_ms: Vec<f64>,
    /// VmHWM when the first `next` arrives.
    pub rss_mb: Vec<f64>,
}

impl ColdStarts {
    pub fn median_ms(&self) -> f64 {
        median(&self.init_ms)
    }

    pub fn max_ms(&self) -> f64 {
        self.init_ms.iter().copied().fold(0.0, f64::max)
    }

    pub fn max_rss_mb(&self) -> f64 {
        self.rss_mb.iter().copied().fold(0.0, f64::max)
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Starts `binary` `COLD_STARTS` times with the function's environment and a runtime API
/// of our own that records when the first `next` arrives, then ends the process.
pub fn cold_starts(binary: &Path, environment: &[(String, String)]) -> Result<ColdStarts> {
    let mut starts = ColdStarts {
        init_ms: vec![],
        rss_mb: vec![],
    };
    for _ in 0..COLD_STARTS {
        let (init, rss) = one_cold_start(binary, environment)
            .with_context(|| format!("cold start of {}", binary.display()))?;
        starts.init_ms.push(init);
        starts.rss_mb.push(rss);
    }
    Ok(starts)
}

fn one_cold_start(binary: &Path, environment: &[(String, String)]) -> Result<(f64, f64)> {
    let api = TcpListener::bind("127.0.0.1:0")?;
    api.set_nonblocking(true)?;
    let address = api.local_addr()?;
    let spawned = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let outcome = loop {
        match api.accept() {
            Ok((mut connection, _)) => {
                let init = spawned.elapsed().as_secs_f64() * 1000.0;
                connection.set_nonblocking(false)?;
                let mut head = [0u8; 256];
                let read = connection.read(&mut head)?;
                let request = String::from_utf8_lossy(&head[..read]).to_string();
                if !request.starts_with("GET /2018-06-01/runtime/invocation/next") {
                    break Err(anyhow::anyhow!("asked {request:?} before next"));
                }
                let rss = high_water_mark_mb(child.id()).unwrap_or(0.0);
                // No event follows: the process is ended here, as Lambda would freeze it.
                let _ = connection.write_all(b"");
                break Ok((init, rss));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait()? {
                    break Err(anyhow::anyhow!(
                        "exited ({status}) before asking for an event"
                    ));
                }
                if spawned.elapsed() > START_WITHIN {
                    break Err(anyhow::anyhow!("no `next` within {START_WITHIN:?}"));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => break Err(e.into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

/// The process's peak resident set so far (VmHWM), in MB.
fn high_water_mark_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmHWM:") {
            let kb: f64 = rest.trim().trim_end_matches("kB").trim().parse()?;
            return Ok(kb / 1024.0);
        }
    }
    bail!("no VmHWM in /proc/{pid}/status")
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
    }
}
