//! Files: the job's plist (text, owner, mode) and its log files.

use std::path::Path;

use crate::model::observed::PlistFile;
use crate::sys::fs;

/// The plist file as observed: its text (a binary plist's canonical XML, flagged `binary`), its
/// owner and mode; unreadable when it cannot be read or decoded.
pub(super) fn plist_file(path: &Path) -> PlistFile {
    let unreadable = |reason: String| PlistFile::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let bytes = match fs::read_optional_bytes(path) {
        Ok(None) => {
            return PlistFile::Absent {
                path: path.to_owned(),
            };
        }
        Ok(Some(bytes)) => bytes,
        Err(err) => {
            return unreadable(
                std::error::Error::source(&err)
                    .map_or_else(|| err.to_string(), ToString::to_string),
            );
        }
    };
    let (text, binary) = match plist_text(&bytes) {
        Ok(decoded) => decoded,
        Err(reason) => return unreadable(reason),
    };
    // Read but not stat'ed (it went away in between): never invent an owner or a mode.
    let Some(meta) = fs::meta(path) else {
        return unreadable("its owner and mode could not be read".to_owned());
    };
    PlistFile::Present {
        path: path.to_owned(),
        text,
        owner: meta.uid,
        mode: meta.mode,
        binary,
    }
}

/// A plist file's bytes as text: XML as it is, a binary plist (`bplist00`) as the canonical XML
/// of what it holds (`true` = it was binary). `Err` says why it cannot be read.
fn plist_text(bytes: &[u8]) -> Result<(String, bool), String> {
    if bytes.starts_with(b"bplist00") {
        let value = plist::Value::from_reader(std::io::Cursor::new(bytes))
            .map_err(|e| format!("binary plist could not be decoded: {e}"))?;
        return Ok((crate::launchd::plist::canonical_xml(&value), true));
    }
    String::from_utf8(bytes.to_vec())
        .map(|text| (text, false))
        .map_err(|e| e.utf8_error().to_string())
}

#[cfg(test)]
mod tests {
    use super::plist_text;

    #[test]
    fn a_binary_plist_reads_as_its_canonical_xml() {
        let mut dict = plist::Dictionary::new();
        dict.insert("Label".to_owned(), "com.ollama".into());
        dict.insert("RunAtLoad".to_owned(), true.into());
        let value = plist::Value::Dictionary(dict);
        let mut bytes = Vec::new();
        value.to_writer_binary(&mut bytes).unwrap();
        assert!(bytes.starts_with(b"bplist00"));
        let (text, binary) = plist_text(&bytes).unwrap();
        assert!(binary);
        assert_eq!(text, crate::launchd::plist::canonical_xml(&value));
        // XML stays as it is.
        let xml = crate::launchd::plist::canonical_xml(&value);
        assert_eq!(plist_text(xml.as_bytes()), Ok((xml.clone(), false)));
        // A truncated binary plist and non-UTF-8 text are unreadable, with the reason.
        let cut = plist_text(&bytes[..12]).unwrap_err();
        assert!(
            cut.starts_with("binary plist could not be decoded: "),
            "{cut}"
        );
        assert!(plist_text(&[0xff, 0xfe, b'<']).is_err());
    }
}
