//! Entry names inside an archive, made from names an origin gives (which may be hostile).
//!
//! An origin's name is only a suggestion: a `Content-Disposition` of `../../etc/passwd`, an
//! absolute path, a Windows drive, control characters or a name that is nothing but dots must
//! never reach an unzip tool as written. [`safe_entry_name`] keeps the last path segment and
//! replaces what is unsafe; [`ArchiveNames`] makes names unique within one archive.

use app::api::FileId;
use std::collections::HashSet;

/// Longest entry name, in bytes (what common file systems allow for one path segment).
const MAX_NAME_BYTES: usize = 255;

/// Characters that are unsafe or invalid in file names on some system an archive may be
/// unpacked on.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
}

/// The name a file gets when its origin names it nothing usable.
pub fn fallback_name(file_id: FileId) -> String {
    format!("file-{file_id}")
}

/// A name that stays inside the archive: the last segment of `suggested` (split at `/` and `\`),
/// unsafe characters replaced by `_`, no leading dots or spaces, at most 255 bytes; the
/// fallback `file-{id}` when nothing is left.
pub fn safe_entry_name(suggested: Option<&str>, file_id: FileId) -> String {
    let segment = suggested
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let replaced: String = segment
        .chars()
        .map(|c| if is_unsafe(c) { '_' } else { c })
        .collect();
    let trimmed = replaced
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let mut name = String::new();
    for c in trimmed.chars() {
        if name.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        name.push(c);
    }
    if name.is_empty() {
        fallback_name(file_id)
    } else {
        name
    }
}

/// The names already used in one archive, so a second `report.pdf` becomes `report (2).pdf`.
#[derive(Debug, Default)]
pub struct ArchiveNames {
    used: HashSet<String>,
}

impl ArchiveNames {
    /// A safe, unused entry name for the file (see [`safe_entry_name`]).
    pub fn assign(&mut self, suggested: Option<&str>, file_id: FileId) -> String {
        let name = safe_entry_name(suggested, file_id);
        // Case-insensitive file systems would merge names differing in case only.
        if self.used.insert(name.to_lowercase()) {
            return name;
        }
        let (stem, extension) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
            _ => (name.clone(), String::new()),
        };
        (2..)
            .map(|n| format!("{stem} ({n}){extension}"))
            .find(|candidate| self.used.insert(candidate.to_lowercase()))
            .expect("an unused suffix exists")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> FileId {
        FileId::new(12345).unwrap()
    }

    #[test]
    fn hostile_names_stay_inside_the_archive() {
        let cases = [
            (Some("report.pdf"), "report.pdf"),
            (Some("../../etc/passwd"), "passwd"),
            (Some("/etc/shadow"), "shadow"),
            (Some("C:\\Windows\\system.ini"), "system.ini"),
            (Some("..\\..\\boot.ini"), "boot.ini"),
            (Some("a\u{0}b\nc\td.txt"), "a_b_c_d.txt"),
            (Some("..."), "file-12345"),
            (Some(".."), "file-12345"),
            (Some("dir/"), "file-12345"),
            (Some(".hidden"), "hidden"),
            (Some("what?.txt"), "what_.txt"),
            (Some("  "), "file-12345"),
            (Some("naïve café.txt"), "naïve café.txt"),
            (None, "file-12345"),
        ];
        for (suggested, expected) in cases {
            assert_eq!(safe_entry_name(suggested, id()), expected, "{suggested:?}");
        }
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let long = "é".repeat(200);
        let name = safe_entry_name(Some(&long), id());
        assert!(name.len() <= MAX_NAME_BYTES);
        assert!(name.chars().all(|c| c == 'é'));
    }

    #[test]
    fn duplicates_get_a_suffix() {
        let mut names = ArchiveNames::default();
        assert_eq!(names.assign(Some("a.txt"), id()), "a.txt");
        assert_eq!(names.assign(Some("x/a.txt"), id()), "a (2).txt");
        assert_eq!(names.assign(Some("A.TXT"), id()), "A (3).TXT");
        assert_eq!(names.assign(Some("a.txt"), id()), "a (4).txt");
        assert_eq!(names.assign(Some("README"), id()), "README");
        assert_eq!(names.assign(Some("README"), id()), "README (2)");
        assert_eq!(names.assign(None, id()), "file-12345");
        assert_eq!(names.assign(None, id()), "file-12345 (2)");
    }
}
