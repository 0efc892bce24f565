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
    let mut file = File::open(path)
        .map_err(|e| Error::invalid(format!("{what}: cannot open the download: {e}")))?;
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
    for (index, key) in files {
        let content = read_entry(&mut archive, index)
            .map_err(|e| Error::invalid(format!("{what}: entry {key:?} is corrupt: {e}")))?;
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

/// Reads one entry, never more than the limit whatever its header claims (a zip bomb lies).
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
