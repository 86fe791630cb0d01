//! The list of a person's downloads, kept in `localStorage`.
//!
//! Jobs run on the server whether or not a tab is open; remembering their ids in the browser is
//! what lets a reload, or a tab opened tomorrow, show them again.

use crate::api::JobId;

const STORAGE_KEY: &str = "ferry.downloads";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The saved job ids, newest first. Unreadable entries are skipped, never fatal.
pub fn load() -> Vec<JobId> {
    let Some(text) = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) else {
        return Vec::new();
    };
    serde_json::from_str::<Vec<String>>(&text)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// Replaces the saved list. A full or disabled storage only costs the resume-after-reload feature.
pub fn save(job_ids: &[JobId]) {
    let ids: Vec<String> = job_ids.iter().map(ToString::to_string).collect();
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(&ids)) {
        let _ = storage.set_item(STORAGE_KEY, &text);
    }
}
