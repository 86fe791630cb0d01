//! The list of a person's downloads, kept in `localStorage`.
//!
//! Jobs run on the server whether or not a tab is open; remembering their ids in the browser is
//! what lets a reload, or a tab opened tomorrow, show them again. With each id goes, when the
//! server records traces, the `traceparent` of the click that started it, so the row's polls join
//! the download's trace after a reload too.

use crate::api::JobId;
use std::collections::HashMap;

const STORAGE_KEY: &str = "ferry.downloads";
const TRACES_KEY: &str = "ferry.traces";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn read<T: serde::de::DeserializeOwned + Default>(key: &str) -> T {
    storage()
        .and_then(|s| s.get_item(key).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn write<T: serde::Serialize>(key: &str, value: &T) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(value)) {
        let _ = storage.set_item(key, &text);
    }
}

/// The saved job ids, newest first. Unreadable entries are skipped, never fatal.
pub fn load() -> Vec<JobId> {
    read::<Vec<String>>(STORAGE_KEY)
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// Replaces the saved list. A full or disabled storage only costs the resume-after-reload feature.
pub fn save(job_ids: &[JobId]) {
    let ids: Vec<String> = job_ids.iter().map(ToString::to_string).collect();
    write(STORAGE_KEY, &ids);
}

/// Remembers the click that started `job_id` (its `traceparent`), forgetting those of jobs no
/// longer in the list, so the map never outgrows it.
pub fn save_click_trace(job_id: JobId, traceparent: &str) {
    let kept: Vec<String> = read(STORAGE_KEY);
    let mut traces: HashMap<String, String> = read(TRACES_KEY);
    traces.retain(|id, _| kept.contains(id));
    traces.insert(job_id.to_string(), traceparent.to_owned());
    write(TRACES_KEY, &traces);
}

/// The `traceparent` of the click that started `job_id`, if it was saved and is well formed.
pub fn click_trace(job_id: JobId) -> Option<String> {
    let mut traces: HashMap<String, String> = read(TRACES_KEY);
    traces
        .remove(&job_id.to_string())
        .filter(|traceparent| crate::trace_context::trace_id_of(traceparent).is_some())
}
