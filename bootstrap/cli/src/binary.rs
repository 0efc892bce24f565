//! What a function's executable needs from the machine that runs it, read from the ELF file
//! itself: its architecture and the newest glibc symbol version it links against. Lambda's
//! `provided.al2023` runtime has glibc 2.34; a binary built against a newer glibc fails there
//! at start-up with "version `GLIBC_2.xx' not found", after a successful deployment.

use anyhow::{bail, Context, Result};

/// The glibc of Amazon Linux 2023, which `provided.al2023` runs.
pub const LAMBDA_GLIBC: GlibcVersion = GlibcVersion(2, 34);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32);

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// Lambda's two architectures, spelled as the `Architectures` property spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_lambda(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryFacts {
    pub architecture: Architecture,
    /// `None` for a binary that needs no glibc (static, or musl).
    pub newest_glibc: Option<GlibcVersion>,
}

impl BinaryFacts {
    /// Whether Lambda's `provided.al2023` can start it; the error says what to do instead.
    pub fn check_runs_on_lambda(&self) -> Result<()> {
        match self.newest_glibc {
            Some(version) if version > LAMBDA_GLIBC => bail!(
                "needs glibc {version}, newer than Amazon Linux 2023's {LAMBDA_GLIBC}: \
                 build it with `make build` (cargo lambda links against glibc {LAMBDA_GLIBC})"
            ),
            _ => Ok(()),
        }
    }
}

const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// Reads a 64-bit little-endian ELF executable: Lambda runs nothing else.
pub fn inspect(bytes: &[u8]) -> Result<BinaryFacts> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        bail!("not an ELF executable (Lambda runs Linux binaries; build with `make build`)");
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        bail!("not a 64-bit little-endian ELF file");
    }
    let architecture = match u16_at(bytes, 18)? {
        EM_X86_64 => Architecture::X86_64,
        EM_AARCH64 => Architecture::Arm64,
        other => bail!("ELF machine {other} is neither x86_64 nor aarch64"),
    };
    Ok(BinaryFacts {
        architecture,
        newest_glibc: newest_glibc(bytes)?,
    })
}

/// The highest `GLIBC_x.y` among the versions the dynamic linker must find (`.gnu.version_r`).
fn newest_glibc(bytes: &[u8]) -> Result<Option<GlibcVersion>> {
    let sections = section_headers(bytes)?;
    let Some(verneed) = sections.iter().find(|s| s.kind == SHT_GNU_VERNEED) else {
        return Ok(None);
    };
    let strings = sections
        .get(verneed.link as usize)
        .context("the version-needs section links to no string table")?;
    let mut newest = None;
    let mut entry = verneed.offset;
    for _ in 0..verneed.info {
        let count = u16_at(bytes, entry + 2)?;
        let mut aux = entry + u32_at(bytes, entry + 8)? as usize;
        for _ in 0..count {
            let name = c_string(bytes, strings.offset + u32_at(bytes, aux + 8)? as usize)?;
            if let Some(version) = parse_glibc(name) {
                newest = newest.max(Some(version));
            }
            aux += u32_at(bytes, aux + 12)? as usize;
        }
        let next = u32_at(bytes, entry + 12)? as usize;
        if next == 0 {
            break;
        }
        entry += next;
    }
    Ok(newest)
}

fn parse_glibc(name: &str) -> Option<GlibcVersion> {
    let mut parts = name.strip_prefix("GLIBC_")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some(GlibcVersion(major, minor))
}

struct Section {
    kind: u32,
    offset: usize,
    link: u32,
    info: u32,
}

fn section_headers(bytes: &[u8]) -> Result<Vec<Section>> {
    let table = u64_at(bytes, 0x28)? as usize;
    let size = u16_at(bytes, 0x3a)? as usize;
    let count = u16_at(bytes, 0x3c)? as usize;
    (0..count)
        .map(|i| {
            let header = table + i * size;
            Ok(Section {
                kind: u32_at(bytes, header + 4)?,
                offset: u64_at(bytes, header + 0x18)? as usize,
                link: u32_at(bytes, header + 0x28)?,
                info: u32_at(bytes, header + 0x2c)?,
            })
        })
        .collect()
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N]> {
    bytes
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .context("truncated ELF file")
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16> {
    Ok(u16::from_le_bytes(field(bytes, at)?))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32> {
    Ok(u32::from_le_bytes(field(bytes, at)?))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64> {
    Ok(u64::from_le_bytes(field(bytes, at)?))
}

fn c_string(bytes: &[u8], at: usize) -> Result<&str> {
    let tail = bytes.get(at..).context("truncated ELF string table")?;
    let end = tail
        .iter()
        .position(|&b| b == 0)
        .context("unterminated ELF string")?;
    std::str::from_utf8(&tail[..end]).context("ELF string is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test binary: linked by the host's toolchain against the host's glibc.
    fn this_executable() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn reads_architecture_and_glibc_of_a_real_executable() {
        let facts = inspect(&this_executable()).unwrap();
        assert_eq!(facts.architecture, Architecture::X86_64);
        let newest = facts.newest_glibc.expect("a glibc-linked test binary");
        // Every x86_64 glibc binary needs at least GLIBC_2.2.5; Rust's std needs more.
        assert!(newest >= GlibcVersion(2, 3), "{newest}");
    }

    #[test]
    fn a_binary_needing_a_newer_glibc_is_refused() {
        let mut bytes = this_executable();
        let newest = inspect(&bytes).unwrap().newest_glibc.unwrap();
        // Rewrite the newest version's name in the string table, same length: 2.xx → 2.99.
        let from = format!("GLIBC_{newest}\0");
        let to = format!("GLIBC_2.{}\0", "9".repeat(from.len() - "GLIBC_2.\0".len()));
        let at = bytes
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .expect("the version string is in .dynstr");
        bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
        let facts = inspect(&bytes).unwrap();
        assert!(facts.newest_glibc.unwrap() > LAMBDA_GLIBC);
        let error = facts.check_runs_on_lambda().unwrap_err().to_string();
        assert!(
            error.contains("newer than Amazon Linux 2023's 2.34"),
            "{error}"
        );
    }

    #[test]
    fn the_lambda_glibc_itself_is_accepted() {
        let facts = BinaryFacts {
            architecture: Architecture::Arm64,
            newest_glibc: Some(LAMBDA_GLIBC),
        };
        assert!(facts.check_runs_on_lambda().is_ok());
    }

    #[test]
    fn non_elf_and_truncated_files_are_refused_with_a_reason() {
        assert!(inspect(b"#!/bin/sh\necho hi\n")
            .unwrap_err()
            .to_string()
            .contains("not an ELF"));
        let truncated = &this_executable()[..40];
        assert!(inspect(truncated).is_err());
    }

    #[test]
    fn glibc_version_names_parse() {
        assert_eq!(parse_glibc("GLIBC_2.34"), Some(GlibcVersion(2, 34)));
        assert_eq!(parse_glibc("GLIBC_2.2.5"), Some(GlibcVersion(2, 2)));
        assert_eq!(parse_glibc("GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc("GCC_3.0"), None);
    }
}
