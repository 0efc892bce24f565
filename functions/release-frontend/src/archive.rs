//! Reading a build from its zip, refusing anything that could write outside the site or make
//! a release ambiguous: traversal (`../x`), absolute paths, duplicate entries, links,
//! encryption, corrupt data and oversized entries. Every check runs before anything is
//! written, so a refused build leaves the live site as it was.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use md5::{Digest, Md5};
use vikunja_core::{Error, Result};

/// Limits far above a frontend build (Vikunja's is ~300 files, ~20 MB with source maps) and
/// below what one Lambda holds: each file is read into memory once, 16 at a time.
pub const MAX_FILES: usize = 20_000;
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
pub const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// S3's own limit for a key.
const MAX_KEY_BYTES: usize = 1024;

/// One file of the build: where it goes in the site bucket and what its content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Index in the zip, for reading it again when it is uploaded.
    pub index: usize,
    /// Key in the site bucket.
    pub key: String,
    pub size: u64,
    /// Hex MD5 of the content: S3's ETag of a single-part upload, so an unchanged file is
    /// recognised without downloading it.
    pub md5: String,
}

/// The build's files, checked and hashed.
#[derive(Debug)]
pub struct Build {
    pub entries: Vec<Entry>,
    /// The folder every entry sat in, stripped (a zip of `dist/` rather than its content).
    pub stripped_folder: Option<String>,
}

/// Opens the zip and checks every entry, reading each to the end so a corrupt one (its CRC
/// does not match) is found now rather than halfway through publishing.
pub fn inspect(path: &Path, what: &str) -> Result<Build> {
    let file = File::open(path)
        .map_err(|e| Error::invalid(format!("{what}: cannot open the download: {e}")))?;
    inspect_reader(file, what)
}

/// [`inspect`] of a zip in any reader (the fuzz targets read it from memory).
pub fn inspect_reader<R: Read + Seek>(mut file: R, what: &str) -> Result<Build> {
    let raw_names = central_directory_names(&mut file)
        .map_err(|why| Error::invalid(format!("{what} is not a readable zip: {why}")))?;
    refuse_duplicates(&raw_names, what)?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| Error::invalid(format!("{what} is not a readable zip: {e}")))?;
    if archive.len() != raw_names.len() {
        return Err(Error::invalid(format!(
            "{what}: its central directory lists {} entries but {} are readable",
            raw_names.len(),
            archive.len()
        )));
    }
    if archive.len() > MAX_FILES {
        return Err(Error::invalid(format!(
            "{what} has {} entries; a frontend build has at most {MAX_FILES}",
            archive.len()
        )));
    }
    let mut files: Vec<(usize, String)> = Vec::new();
    let mut declared = Vec::new();
    let mut declared_total = 0u64;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| Error::invalid(format!("{what}: entry {index} is unreadable: {e}")))?;
        let name = entry.name().to_string();
        let Some(key) = entry_key(&name)
            .map_err(|why| Error::invalid(format!("{what}: entry {name:?} is refused: {why}")))?
        else {
            continue; // a directory entry: folders exist through their files
        };
        if entry.is_symlink() {
            return Err(Error::invalid(format!(
                "{what}: entry {name:?} is a symbolic link; a build holds plain files only"
            )));
        }
        if entry.encrypted() {
            return Err(Error::invalid(format!(
                "{what}: entry {name:?} is encrypted"
            )));
        }
        if entry.size() > MAX_FILE_BYTES {
            return Err(Error::invalid(format!(
                "{what}: entry {name:?} is {} bytes; the limit is {MAX_FILE_BYTES}",
                entry.size()
            )));
        }
        declared_total += entry.size();
        declared.push(entry.size());
        files.push((index, key));
    }
    if declared_total > MAX_TOTAL_BYTES {
        return Err(Error::invalid(format!(
            "{what} unpacks to {declared_total} bytes; the limit is {MAX_TOTAL_BYTES}"
        )));
    }
    let stripped_folder = strip_single_folder(&mut files);
    if !files.iter().any(|(_, key)| key == "index.html") {
        return Err(Error::invalid(format!(
            "{what} has no index.html at its root (nor in a single top folder): not a frontend build"
        )));
    }
    let mut entries = Vec::with_capacity(files.len());
    for ((index, key), declared) in files.into_iter().zip(declared) {
        let content = read_entry(&mut archive, index)
            .map_err(|e| Error::invalid(format!("{what}: entry {key:?} is corrupt: {e}")))?;
        // The limits above are on what the headers declare: an entry that inflates to more
        // (or less) lies, and would make them meaningless (a zip bomb of many small claims).
        if content.len() as u64 != declared {
            return Err(Error::invalid(format!(
                "{what}: entry {key:?} unpacks to {} bytes but its header says {declared}",
                content.len()
            )));
        }
        entries.push(Entry {
            index,
            size: content.len() as u64,
            md5: md5_hex(&content),
            key,
        });
    }
    Ok(Build {
        entries,
        stripped_folder,
    })
}

/// Reads one entry, never more than the limit whatever its header claims (a zip bomb lies;
/// [`inspect`] then refuses any entry whose content is not the size its header declares).
pub fn read_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    index: usize,
) -> std::result::Result<Vec<u8>, String> {
    let entry = archive.by_index(index).map_err(|e| e.to_string())?;
    let mut content = Vec::with_capacity(entry.size().min(MAX_FILE_BYTES) as usize);
    entry
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut content)
        .map_err(|e| e.to_string())?;
    if content.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it unpacks to more than {MAX_FILE_BYTES} bytes"));
    }
    Ok(content)
}

pub fn md5_hex(content: &[u8]) -> String {
    hex::encode(Md5::digest(content))
}

/// The site key for an entry name, `None` for a directory entry, or why it is refused.
pub fn entry_key(name: &str) -> std::result::Result<Option<String>, String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.chars().any(char::is_control) {
        return Err("control characters in the name".into());
    }
    if name.contains('\\') {
        return Err("backslash in the name (a Windows path); zips use '/'".into());
    }
    if name.starts_with('/') {
        return Err("absolute path".into());
    }
    if name.len() >= 2 && name.as_bytes()[1] == b':' && name.as_bytes()[0].is_ascii_alphabetic() {
        return Err("drive letter (an absolute Windows path)".into());
    }
    let (path, is_dir) = match name.strip_suffix('/') {
        Some(dir) => (dir, true),
        None => (name, false),
    };
    for segment in path.split('/') {
        match segment {
            ".." => return Err("path traversal ('..')".into()),
            "." => return Err("'.' segment".into()),
            "" => return Err("empty path segment ('//')".into()),
            _ => {}
        }
    }
    if path.len() > MAX_KEY_BYTES {
        return Err(format!("longer than S3's {MAX_KEY_BYTES}-byte key limit"));
    }
    Ok((!is_dir).then(|| path.to_string()))
}

/// Duplicate names are ambiguous (which one is the release?); the zip library would keep
/// the last silently, so they are counted from the central directory itself.
fn refuse_duplicates(raw_names: &[Vec<u8>], what: &str) -> Result<()> {
    let mut seen = HashSet::new();
    for name in raw_names {
        if !seen.insert(name.as_slice()) {
            return Err(Error::invalid(format!(
                "{what}: entry {:?} appears more than once",
                String::from_utf8_lossy(name)
            )));
        }
    }
    Ok(())
}

/// `dist/index.html`, `dist/assets/…` → `index.html`, `assets/…` when every file sits in one
/// top folder and there is no `index.html` at the root: zipping the folder rather than its
/// content is the common mistake. Returns the folder stripped.
fn strip_single_folder(files: &mut [(usize, String)]) -> Option<String> {
    if files.iter().any(|(_, key)| key == "index.html") {
        return None;
    }
    let tops: BTreeMap<&str, ()> = files
        .iter()
        .map(|(_, key)| (key.split_once('/').map(|(top, _)| top).unwrap_or(""), ()))
        .collect();
    let [(top, ())] = tops.into_iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    if top.is_empty() {
        return None;
    }
    let top = top.to_string();
    let prefix = format!("{top}/");
    if !files
        .iter()
        .any(|(_, key)| *key == format!("{prefix}index.html"))
    {
        return None;
    }
    for (_, key) in files.iter_mut() {
        *key = key[prefix.len()..].to_string();
    }
    Some(top)
}

/// The raw names in the zip's central directory, in order, duplicates included.
fn central_directory_names<R: Read + Seek>(
    reader: &mut R,
) -> std::result::Result<Vec<Vec<u8>>, String> {
    let (offset, count) = central_directory_location(reader)?;
    if count > MAX_FILES as u64 {
        return Err(format!(
            "its central directory lists {count} entries; a frontend build has at most {MAX_FILES}"
        ));
    }
    reader
        .seek(SeekFrom::Start(offset))
        .map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    for n in 0..count {
        let mut header = [0u8; 46];
        reader
            .read_exact(&mut header)
            .map_err(|_| format!("central directory entry {n} is truncated"))?;
        if u32_at(&header, 0) != 0x0201_4b50 {
            return Err(format!("central directory entry {n} has a bad signature"));
        }
        let name_len = u16_at(&header, 28) as usize;
        let extra_len = u16_at(&header, 30) as i64;
        let comment_len = u16_at(&header, 32) as i64;
        let mut name = vec![0u8; name_len];
        reader
            .read_exact(&mut name)
            .map_err(|_| format!("central directory entry {n} is truncated"))?;
        reader
            .seek(SeekFrom::Current(extra_len + comment_len))
            .map_err(|e| e.to_string())?;
        names.push(name);
    }
    Ok(names)
}

/// Offset and entry count of the central directory, from the end-of-central-directory
/// record (or its zip64 twin, which streaming zippers write even for small archives).
fn central_directory_location<R: Read + Seek>(
    reader: &mut R,
) -> std::result::Result<(u64, u64), String> {
    let length = reader.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    if length < 22 {
        return Err(format!("{length} bytes is too short for a zip"));
    }
    let tail_len = length.min(22 + 65_535);
    reader
        .seek(SeekFrom::Start(length - tail_len))
        .map_err(|e| e.to_string())?;
    let mut tail = vec![0u8; tail_len as usize];
    reader.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let eocd = (0..=tail.len() - 22)
        .rev()
        .find(|&i| u32_at(&tail, i) == 0x0605_4b50)
        .ok_or("no end-of-central-directory record (truncated, or not a zip)")?;
    let count = u16_at(&tail, eocd + 10) as u64;
    let offset = u32_at(&tail, eocd + 16) as u64;
    if count != 0xFFFF && offset != 0xFFFF_FFFF {
        return Ok((offset, count));
    }
    // Zip64: a locator sits just before the record and points at the zip64 record.
    if eocd < 20 || u32_at(&tail, eocd - 20) != 0x0706_4b50 {
        return Err("zip64 archive without its locator".into());
    }
    let record = u64_at(&tail, eocd - 20 + 8);
    reader
        .seek(SeekFrom::Start(record))
        .map_err(|e| e.to_string())?;
    let mut zip64 = [0u8; 56];
    reader
        .read_exact(&mut zip64)
        .map_err(|_| "zip64 record is truncated".to_string())?;
    if u32_at(&zip64, 0) != 0x0606_4b50 {
        return Err("zip64 record has a bad signature".into());
    }
    Ok((u64_at(&zip64, 48), u64_at(&zip64, 32)))
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in files {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn inspect_bytes(bytes: &[u8]) -> Result<Build> {
        let path = std::env::temp_dir().join(format!(
            "release-frontend-test-{}-{}.zip",
            std::process::id(),
            md5_hex(bytes)
        ));
        std::fs::write(&path, bytes).unwrap();
        let result = inspect(&path, "test.zip");
        std::fs::remove_file(&path).ok();
        result
    }

    /// Renames an entry in place (local header and central directory), to build zips the
    /// writer refuses to make, as a hostile or broken tool would.
    fn rename(mut bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let mut at = 0;
        while let Some(found) = bytes[at..]
            .windows(from.len())
            .position(|w| w == from.as_bytes())
        {
            let start = at + found;
            bytes[start..start + to.len()].copy_from_slice(to.as_bytes());
            at = start + to.len();
        }
        bytes
    }

    #[test]
    fn a_build_is_read_with_keys_sizes_and_etags() {
        let zip = zip_of(&[
            ("index.html", b"<html></html>"),
            ("assets/", b""),
            ("assets/index-BUd7TCYz.js", b"console.log(1)"),
        ]);
        let build = inspect_bytes(&zip).unwrap();
        let keys: Vec<_> = build.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["index.html", "assets/index-BUd7TCYz.js"]);
        assert_eq!(build.entries[0].md5, md5_hex(b"<html></html>"));
        assert_eq!(build.entries[1].size, 14);
    }

    #[test]
    fn a_zipped_folder_is_unwrapped() {
        let zip = zip_of(&[("dist/index.html", b"x"), ("dist/sw.js", b"y")]);
        let build = inspect_bytes(&zip).unwrap();
        assert_eq!(build.stripped_folder.as_deref(), Some("dist"));
        assert_eq!(build.entries[1].key, "sw.js");
    }

    #[test]
    fn entry_names_that_escape_or_confuse_are_refused() {
        for (name, why) in [
            ("../x", "traversal"),
            ("assets/../../x", "traversal"),
            ("/etc/passwd", "absolute"),
            ("C:/x", "drive letter"),
            ("a\\b", "backslash"),
            ("a//b", "empty path segment"),
            ("./a", "'.' segment"),
            ("a\u{0}b", "control"),
        ] {
            let error = entry_key(name).unwrap_err();
            assert!(error.contains(why), "{name}: {error}");
        }
        assert_eq!(entry_key("assets/").unwrap(), None);
        assert_eq!(entry_key("a/b.js").unwrap().as_deref(), Some("a/b.js"));
    }

    #[test]
    fn hostile_and_broken_zips_are_refused() {
        let traversal = rename(
            zip_of(&[("index.html", b"x"), ("xx/y", b"y")]),
            "xx/y",
            "../y",
        );
        let error = inspect_bytes(&traversal).unwrap_err();
        assert!(error.to_string().contains("traversal"), "{error}");

        let absolute = rename(zip_of(&[("index.html", b"x"), ("etc", b"y")]), "etc", "/et");
        assert!(inspect_bytes(&absolute)
            .unwrap_err()
            .to_string()
            .contains("absolute"));

        let duplicate = rename(
            zip_of(&[("index.html", b"x"), ("a.js", b"1"), ("b.js", b"2")]),
            "b.js",
            "a.js",
        );
        let error = inspect_bytes(&duplicate).unwrap_err();
        assert!(error.to_string().contains("more than once"), "{error}");

        let mut corrupt = zip_of(&[("index.html", b"<html>hello hello hello</html>")]);
        corrupt[40] ^= 0xFF; // inside the compressed data
        let error = inspect_bytes(&corrupt).unwrap_err();
        assert_eq!(error.name(), "InvalidInput");

        let truncated = zip_of(&[("index.html", b"x")]);
        let error = inspect_bytes(&truncated[..truncated.len() - 10]).unwrap_err();
        assert!(error.to_string().contains("not a readable zip"), "{error}");

        let error = inspect_bytes(b"").unwrap_err();
        assert!(error.to_string().contains("not a readable zip"), "{error}");

        let error = inspect_bytes(&zip_of(&[("app.js", b"x")])).unwrap_err();
        assert!(error.to_string().contains("no index.html"), "{error}");
    }
}

#[cfg(test)]
mod fuzz {
    //! The release zip is the one input a person hands the stack whole. Whatever it holds,
    //! [`inspect`] answers a build whose every key is safe to write, or `InvalidInput`; it
    //! never panics, and reads no more than its limits however the headers lie.

    use super::*;
    use std::io::{Cursor, Write};
    use vikunja_core::fuzzing::assert_invalid_input;
    use zip::write::{ExtendedFileOptions, FileOptions, SimpleFileOptions};

    /// The least a caller relies on in any build `inspect` returns.
    fn assert_safe(build: &Build) {
        let mut keys = HashSet::new();
        for entry in &build.entries {
            let key = entry.key.as_str();
            assert_eq!(
                entry_key(key),
                Ok(Some(key.to_string())),
                "unsafe key {key:?}"
            );
            assert!(!key.split('/').any(|s| s == ".." || s == "."), "{key:?}");
            assert!(!key.starts_with('/') && !key.contains('\\'), "{key:?}");
            assert!(keys.insert(key), "{key:?} twice");
            assert!(entry.size <= MAX_FILE_BYTES && entry.md5.len() == 32);
        }
        assert!(keys.contains("index.html"));
        let total: u64 = build.entries.iter().map(|e| e.size).sum();
        assert!(total <= MAX_TOTAL_BYTES);
        assert!(build.entries.len() <= MAX_FILES);
    }

    fn inspect_memory(bytes: &[u8]) -> Result<Build> {
        inspect_reader(Cursor::new(bytes), "release.zip")
    }

    /// Names a hostile or careless zipper writes.
    const NAMES: &[&str] = &[
        "index.html",
        "assets/index-BUd7TCYz.js",
        "dist/index.html",
        "dist/sw.js",
        "dist/",
        "assets/",
        "../index.html",
        "assets/../../x",
        "/etc/passwd",
        "C:/x",
        "c:x",
        "a\\..\\b",
        "a//b",
        "./index.html",
        "x/./y",
        ".",
        "..",
        "../",
        "",
        "a\u{0}b",
        "a\nb",
        "é/index.html",
        "index.html/",
        "INDEX.HTML",
    ];
    const PIECES: &[&str] = &[
        "a",
        "/",
        "..",
        ".",
        "\\",
        ":",
        "index.html",
        "dist",
        "é",
        "\u{7f}",
    ];

    #[derive(Debug, bolero::TypeGenerator)]
    enum Name {
        Known(u8),
        Pieces(Vec<u8>),
        Long(u16),
        Any(String),
    }

    impl Name {
        fn text(&self) -> String {
            match self {
                Name::Known(i) => NAMES[*i as usize % NAMES.len()].to_string(),
                Name::Pieces(picks) => picks
                    .iter()
                    .map(|p| PIECES[*p as usize % PIECES.len()])
                    .collect(),
                Name::Long(n) => format!("{}.js", "a".repeat(900 + *n as usize % 300)),
                Name::Any(s) => s.clone(),
            }
        }
    }

    #[derive(Debug, bolero::TypeGenerator)]
    enum Kind {
        File,
        Directory,
        Symlink,
    }

    #[derive(Debug, bolero::TypeGenerator)]
    struct Spec {
        name: Name,
        kind: Kind,
        deflated: bool,
        content: Vec<u8>,
        /// The content repeated this many times: compressible, a small bomb.
        repeat: u16,
        /// An Info-ZIP Unicode Path field: the name readers use instead of the raw one.
        unicode_name: Option<Name>,
        /// The uncompressed size the headers claim, when it is a lie.
        claimed_size: Option<Claim>,
    }

    #[derive(Debug, bolero::TypeGenerator)]
    enum Claim {
        /// A little more or less than the content holds.
        Off(i8),
        Any(u32),
    }

    /// One entry as written, with the name a reader sees.
    struct Written {
        name: String,
        kind_is_symlink: bool,
        content: Vec<u8>,
        lied: bool,
    }

    /// The zip of `specs` and what went into it, or `None` if the writer refused one.
    fn build_zip(specs: &[&Spec]) -> Option<(Vec<u8>, Vec<Written>)> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let mut written = Vec::new();
        let mut lies = Vec::new();
        for spec in specs.iter().take(12) {
            let mut raw = spec.name.text();
            if matches!(spec.kind, Kind::Directory) && !raw.ends_with('/') {
                raw.push('/'); // as the writer stores a directory
            }
            let mut options: FileOptions<ExtendedFileOptions> = FileOptions::default()
                .compression_method(if spec.deflated {
                    zip::CompressionMethod::Deflated
                } else {
                    zip::CompressionMethod::Stored
                });
            let mut name = raw.clone();
            if let Some(unicode) = &spec.unicode_name {
                name = unicode.text();
                let mut field = vec![1];
                field.extend_from_slice(&crc32(raw.as_bytes()).to_le_bytes());
                field.extend_from_slice(name.as_bytes());
                // Written under a free id, renamed to 0x7075 once the zip is done.
                options
                    .add_extra_data(PLACEHOLDER_ID, field.into_boxed_slice(), false)
                    .ok()?;
            }
            let repeat = 1 + spec.repeat as usize % 64;
            let content = match spec.kind {
                Kind::File => spec
                    .content
                    .repeat(repeat.min((1 << 14) / spec.content.len().max(1))),
                _ => Vec::new(),
            };
            match spec.kind {
                Kind::File => {
                    writer.start_file(raw.clone(), options).ok()?;
                    writer.write_all(&content).ok()?;
                }
                Kind::Directory => writer.add_directory(raw.clone(), options).ok()?,
                Kind::Symlink => writer
                    .add_symlink(raw.clone(), "../../etc/passwd", options)
                    .ok()?,
            }
            let lied = match spec.claimed_size {
                Some(Claim::Off(delta)) => {
                    Some((content.len() as i64 + delta as i64).max(0) as u32)
                }
                Some(Claim::Any(claim)) => Some(claim),
                None => None,
            }
            .filter(|claim| *claim as usize != content.len() && matches!(spec.kind, Kind::File));
            if let Some(claim) = lied {
                lies.push((written.len(), claim));
            }
            written.push(Written {
                name,
                kind_is_symlink: matches!(spec.kind, Kind::Symlink),
                content,
                lied: lied.is_some(),
            });
        }
        let mut bytes = writer.finish().ok()?.into_inner();
        rename_placeholder(&mut bytes);
        for (index, claim) in lies {
            claim_size(&mut bytes, index, claim);
        }
        Some((bytes, written))
    }

    const PLACEHOLDER_ID: u16 = 0x7A7A;

    /// The placeholder extra field becomes an Info-ZIP Unicode Path field (0x7075), which
    /// the zip writer refuses to write itself.
    fn rename_placeholder(bytes: &mut [u8]) {
        for i in 0..bytes.len().saturating_sub(5) {
            if bytes[i..i + 2] == PLACEHOLDER_ID.to_le_bytes() && bytes[i + 4] == 1 {
                bytes[i..i + 2].copy_from_slice(&0x7075u16.to_le_bytes());
            }
        }
    }

    /// Makes the `index`-th entry's local and central headers claim `size` bytes.
    fn claim_size(bytes: &mut [u8], index: usize, size: u32) {
        for (signature, at) in [(0x0403_4b50u32, 22), (0x0201_4b50, 24)] {
            let mut seen = 0;
            for i in 0..bytes.len().saturating_sub(at + 4) {
                if u32_at(bytes, i) == signature {
                    if seen == index {
                        bytes[i + at..i + at + 4].copy_from_slice(&size.to_le_bytes());
                        break;
                    }
                    seen += 1;
                }
            }
        }
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in data {
            crc ^= *byte as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// Zips of hostile entries: every unsafe name, link, duplicate or lying size refused;
    /// a build of plain, distinct, safe files with an `index.html` read exactly as written.
    #[test]
    fn hostile_entries_are_refused_and_plain_builds_read_as_written() {
        bolero::check!()
            .with_type::<(bool, Vec<Spec>)>()
            .for_each(|(plain_index, specs)| {
                // Most builds that matter have a plain index.html: start half of them with one.
                let index = Spec {
                    name: Name::Known(0),
                    kind: Kind::File,
                    deflated: true,
                    content: b"<html></html>".to_vec(),
                    repeat: 0,
                    unicode_name: None,
                    claimed_size: None,
                };
                let specs: Vec<&Spec> = plain_index
                    .then_some(&index)
                    .into_iter()
                    .chain(specs)
                    .collect();
                let Some((bytes, written)) = build_zip(&specs) else {
                    return;
                };
                let files: Vec<&Written> =
                    written.iter().filter(|w| !w.name.ends_with('/')).collect();
                let hostile = written.iter().any(|w| entry_key(&w.name).is_err())
                    || files.iter().any(|w| w.kind_is_symlink || w.lied);
                let mut names = HashSet::new();
                let distinct = files.iter().all(|w| names.insert(w.name.as_str()));
                match inspect_memory(&bytes) {
                    Ok(build) => {
                        assert!(!hostile, "a hostile zip was read: {:?}", build.entries);
                        assert!(distinct, "duplicates were read: {:?}", build.entries);
                        assert_safe(&build);
                        assert_eq!(build.entries.len(), files.len());
                        for entry in &build.entries {
                            let content = &written[entry.index].content;
                            assert_eq!(entry.size, content.len() as u64, "{}", entry.key);
                            assert_eq!(entry.md5, md5_hex(content), "{}", entry.key);
                        }
                    }
                    Err(error) => {
                        assert_invalid_input(
                            &error,
                            &written.iter().map(|w| &w.name).collect::<Vec<_>>(),
                        );
                        let index_at_root = files.iter().any(|w| w.name == "index.html");
                        assert!(
                            hostile || !distinct || !index_at_root,
                            "a plain build was refused: {error}"
                        );
                    }
                }
            });
    }

    /// Any bytes, and real zips with bytes overwritten or cut: no panic, `InvalidInput`.
    #[test]
    fn any_bytes_are_a_safe_build_or_invalid_input() {
        let seed = zip_of_files(&[
            ("index.html", b"<html><body>hello hello hello</body></html>"),
            ("assets/app.js", b"console.log('app')"),
            ("dist/", b""),
        ]);
        bolero::check!().for_each(|data: &[u8]| {
            let bytes = match data.first() {
                None | Some(0..=63) => data.to_vec(),
                Some(_) => {
                    let mut bytes = seed.clone();
                    for edit in data[1..].chunks(3) {
                        let at = u16::from_le_bytes([edit[0], *edit.get(1).unwrap_or(&0)]) as usize;
                        match edit.get(2) {
                            Some(0) => bytes.truncate(at % (bytes.len() + 1)),
                            Some(value) => {
                                let len = bytes.len();
                                if len > 0 {
                                    bytes[at % len] = *value;
                                }
                            }
                            None => {}
                        }
                    }
                    bytes
                }
            };
            match inspect_memory(&bytes) {
                Ok(build) => assert_safe(&build),
                Err(error) => assert_invalid_input(&error, &bytes.len()),
            }
        });
    }

    /// Any entry name: a key that is safe to write, a directory, or a reason.
    #[test]
    fn entry_names_become_safe_keys_or_are_refused() {
        bolero::check!().with_type::<Name>().for_each(|name| {
            let name = name.text();
            match entry_key(&name) {
                Ok(Some(key)) => {
                    assert_eq!(key, name);
                    assert!(!key.is_empty() && key.len() <= MAX_KEY_BYTES);
                    assert!(!key.starts_with('/') && !key.contains('\\'));
                    assert!(!key.chars().any(char::is_control));
                    assert!(key
                        .split('/')
                        .all(|s| !s.is_empty() && s != "." && s != ".."));
                    assert!(
                        key.as_bytes().get(1) != Some(&b':')
                            || !key.as_bytes()[0].is_ascii_alphabetic()
                    );
                }
                Ok(None) => assert!(name.ends_with('/')),
                Err(why) => assert!(!why.is_empty()),
            }
        });
    }

    /// An Info-ZIP Unicode Path field can rename an entry after the raw names were checked:
    /// to another entry's name (refused: the zip library keeps one, the counts differ), or
    /// to a traversal (refused: keys come from the name the library reads).
    #[test]
    fn unicode_path_fields_cannot_rename_around_the_checks() {
        let spec = |name: u8, unicode: Option<u8>| Spec {
            name: Name::Known(name),
            kind: Kind::File,
            deflated: true,
            content: b"<html></html>".to_vec(),
            repeat: 0,
            unicode_name: unicode.map(Name::Known),
            claimed_size: None,
        };
        let (index, twin, escape) = (spec(0, None), spec(1, Some(0)), spec(1, Some(6)));
        let (bytes, _) = build_zip(&[&index, &twin]).unwrap();
        let error = inspect_memory(&bytes).unwrap_err();
        assert!(error.to_string().contains("are readable"), "{error}");
        let (bytes, written) = build_zip(&[&index, &escape]).unwrap();
        assert_eq!(written[1].name, "../index.html");
        let error = inspect_memory(&bytes).unwrap_err();
        assert!(error.to_string().contains("traversal"), "{error}");
    }

    /// Zip bombs: sizes past the limits, and headers that claim less than the data holds.
    #[test]
    fn zip_bombs_are_refused_within_the_limits() {
        // Honest but too big: refused from the headers, before anything is inflated.
        let big = vec![0u8; MAX_FILE_BYTES as usize + 1];
        let error =
            inspect_memory(&zip_of_files(&[("index.html", b"x"), ("big.js", &big)])).unwrap_err();
        assert!(error.to_string().contains("the limit is"), "{error}");

        // Lying: the headers claim 100 bytes, the data inflates past the per-file limit.
        let mut bomb = zip_of_files(&[("index.html", b"x"), ("bomb.js", &big)]);
        claim_size(&mut bomb, 1, 100);
        let error = inspect_memory(&bomb).unwrap_err();
        assert!(error.to_string().contains("bomb.js"), "{error}");

        // Lying a little: within the per-file limit, but more than the headers claim.
        let mut small_lie = zip_of_files(&[("index.html", b"x"), ("a.js", &[7u8; 4096])]);
        claim_size(&mut small_lie, 1, 10);
        let error = inspect_memory(&small_lie).unwrap_err();
        assert_invalid_input(&error, &"a.js claims 10 bytes");

        // Many honest entries whose sizes add up past the total limit.
        let files: Vec<(String, Vec<u8>)> =
            (0..17).map(|i| (format!("{i}.js"), vec![1u8])).collect();
        let mut listed: Vec<(&str, &[u8])> = vec![("index.html", b"x")];
        listed.extend(files.iter().map(|(n, c)| (n.as_str(), c.as_slice())));
        let mut many = zip_of_files(&listed);
        for index in 1..listed.len() {
            claim_size(&mut many, index, MAX_FILE_BYTES as u32);
        }
        let error = inspect_memory(&many).unwrap_err();
        assert!(error.to_string().contains("unpacks to"), "{error}");

        // More entries than a build has, and a central directory that claims more still.
        let names: Vec<String> = (0..=MAX_FILES).map(|i| format!("{i}")).collect();
        let mut listed: Vec<(&str, &[u8])> = vec![("index.html", b"x")];
        listed.extend(names.iter().map(|n| (n.as_str(), &b""[..])));
        let error = inspect_memory(&zip_of_files(&listed)).unwrap_err();
        assert!(error.to_string().contains("entries"), "{error}");
    }

    fn zip_of_files(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in files {
            if name.ends_with('/') {
                writer.add_directory(*name, options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(content).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }
}
