//! The page's built files: where they are, and under which names.
//!
//! `cargo leptos build --release` gives the WASM bundle, script and stylesheet content-hashed
//! names (`ferry.<hash>.js`, so proxies may cache them for a year) and writes the hashes to
//! `hash.txt` beside the server binary. Leptos reads that file only when `LEPTOS_HASH_FILES=true`
//! is set; a binary started by hand without it would link `/pkg/ferry.js`, which does not exist,
//! and the page would never hydrate. So unless the variable is set either way, the hash file
//! beside the binary turns hashed names on by itself, and a site with only hashed files and no
//! hash file refuses to start with a message saying what is missing.

use leptos::prelude::LeptosOptions;
use std::path::{Path, PathBuf};

/// Why the site's files cannot be served as built.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(
        "the site's files in {pkg} carry content hashes ({example}), but {hash_file} is missing: copy the hash file cargo-leptos wrote beside the built binary, or rebuild"
    )]
    HashFileMissing {
        pkg: PathBuf,
        example: String,
        hash_file: PathBuf,
    },
}

/// `options` with hashed names turned on when the build left a hash file beside the binary in
/// `exe_dir` (unless `LEPTOS_HASH_FILES` decided already: `explicit`).
pub fn with_hashed_names(
    mut options: LeptosOptions,
    exe_dir: &Path,
    explicit: bool,
) -> Result<LeptosOptions, SiteError> {
    if explicit || options.hash_files {
        return Ok(options);
    }
    let hash_file = exe_dir.join(options.hash_file.as_ref());
    if hash_file.is_file() {
        tracing::info!(hash_file = %hash_file.display(), "serving the site's content-hashed files");
        options.hash_files = true;
        return Ok(options);
    }
    let pkg = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let plain = pkg.join(format!("{}.js", options.output_name));
    if !plain.exists() {
        let hashed = std::fs::read_dir(&pkg).ok().and_then(|entries| {
            entries.filter_map(Result::ok).find_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let prefix = format!("{}.", options.output_name);
                (name.starts_with(&prefix)
                    && name.ends_with(".js")
                    && name != format!("{}.js", options.output_name))
                .then_some(name)
            })
        });
        if let Some(example) = hashed {
            return Err(SiteError::HashFileMissing {
                pkg,
                example,
                hash_file,
            });
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(site_root: &Path) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name("ferry")
            .site_root(site_root.display().to_string())
            .build()
    }

    #[test]
    fn a_hash_file_beside_the_binary_turns_hashed_names_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hash.txt"), "js: abc\n").unwrap();
        let resolved = with_hashed_names(options(dir.path()), dir.path(), false).unwrap();
        assert!(resolved.hash_files);
        // An explicit LEPTOS_HASH_FILES is obeyed as it is.
        let explicit = with_hashed_names(options(dir.path()), dir.path(), true).unwrap();
        assert!(!explicit.hash_files);
    }

    #[test]
    fn hashed_files_without_their_hash_file_refuse_to_start() {
        let site = tempfile::tempdir().unwrap();
        let exe = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("ferry.Igq6Hxm.js"), "").unwrap();
        let error = with_hashed_names(options(site.path()), exe.path(), false).unwrap_err();
        assert!(error.to_string().contains("hash.txt is missing"), "{error}");
        // Plain names (a debug build) need nothing.
        std::fs::write(pkg.join("ferry.js"), "").unwrap();
        let plain = with_hashed_names(options(site.path()), exe.path(), false).unwrap();
        assert!(!plain.hash_files);
    }
}
