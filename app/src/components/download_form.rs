//! The "File ID" field and the Download button.

use super::parse_file_ids;
use crate::{
    api::{InitiateRequest, JobId},
    client, saved_jobs,
};
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};

/// Starts a job for the ids typed in the field and hands its id to `on_started`.
#[component]
pub fn DownloadForm(on_started: Callback<JobId>) -> impl IntoView {
    let input = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let file_ids = match parse_file_ids(&input.get_untracked()) {
            Ok(ids) => ids,
            Err(reason) => {
                problem.set(Some(reason.to_string()));
                return;
            }
        };
        problem.set(None);
        busy.set(true);
        spawn_local(async move {
            match client::initiate(&InitiateRequest::for_files(&file_ids)).await {
                Ok(started) => {
                    if let Some(traceparent) = &started.traceparent {
                        saved_jobs::save_click_trace(started.job.job_id, traceparent);
                    }
                    on_started.run(started.job.job_id);
                    input.set(String::new());
                }
                Err(reason) => {
                    problem.set(Some(format!("Could not start the download: {reason}")));
                }
            }
            busy.set(false);
        });
    };

    view! {
        <form class="download-form" on:submit=submit novalidate>
            <label for="file-id">"File ID"</label>
            <div class="field-row">
                <input
                    id="file-id"
                    name="file_id"
                    type="text"
                    inputmode="numeric"
                    autocomplete="off"
                    placeholder="12345"
                    aria-describedby="file-id-hint"
                    aria-invalid=move || problem.with(Option::is_some).to_string()
                    bind:value=input
                />
                <button type="submit" disabled=move || busy.get()>
                    "Download"
                </button>
            </div>
            <p id="file-id-hint" class="hint">
                "One id, or several for a single zip: separate them with commas, or give a range such as 10000-10004."
            </p>
            <Show when=move || problem.with(Option::is_some)>
                <p class="form-error" role="alert">
                    {move || problem.get().unwrap_or_default()}
                </p>
            </Show>
        </form>
    }
}
