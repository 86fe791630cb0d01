//! The console's job list: filtered by state, client and file id, a page at a time, newest
//! first; a job id typed in the search box opens that job.

use super::{api, api::JobQuery, Access};
use crate::{
    api::{AdminJob, JobId, JobPhase},
    components::{local_clock, LocalClock},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_navigate;

/// What the "When" column says for a job.
pub fn when(job: &AdminJob, clock: LocalClock) -> String {
    let verb = match job.phase {
        JobPhase::Queued => "queued",
        JobPhase::Processing => "started",
        JobPhase::Retrying => "retries",
        _ => "finished",
    };
    format!("{verb} {}", clock.moment(job.listed_at))
}

/// The filters, the table and "Load more".
#[component]
pub fn JobList() -> impl IntoView {
    let access = expect_context::<Access>();
    let navigate = use_navigate();
    let form = RwSignal::new(JobQuery::default());
    let search = RwSignal::new(String::new());
    let search_error = RwSignal::new(None::<String>);
    let jobs = RwSignal::new(Vec::<AdminJob>::new());
    let next = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    // What the shown list was read with (a later "Load more" continues it).
    let applied = RwSignal::new(JobQuery::default());

    let fetch = move |query: JobQuery, cursor: Option<String>| {
        loading.set(true);
        spawn_local(async move {
            match api::jobs(&query, cursor.as_deref()).await {
                Ok(page) => {
                    let _ = jobs.try_update(|list| {
                        if cursor.is_none() {
                            list.clear();
                        }
                        list.extend(page.jobs);
                    });
                    let _ = next.try_set(page.next_cursor);
                    let _ = problem.try_set(None);
                }
                Err(error) => {
                    let _ = problem.try_set(Some(access.explain("list the jobs", &error)));
                }
            }
            let _ = loading.try_set(false);
        });
    };
    // Browser only: the newest jobs at first.
    Effect::new(move |_| fetch(JobQuery::default(), None));

    let apply = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let query = form.get_untracked();
        applied.set(query.clone());
        fetch(query, None);
    };
    let more = move |_| fetch(applied.get_untracked(), next.get_untracked());
    let open = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let typed = search.get_untracked();
        match typed.trim().parse::<JobId>() {
            Ok(job_id) => {
                search_error.set(None);
                navigate(&format!("/admin/jobs/{job_id}"), Default::default());
            }
            Err(error) => search_error.set(Some(format!("{error}."))),
        }
    };
    let field = move |pick: fn(&mut JobQuery) -> &mut String| {
        move |ev| {
            let value = event_target_value(&ev);
            form.update(|query| *pick(query) = value);
        }
    };

    view! {
        <section class="console-section" aria-labelledby="jobs-heading">
            <h2 id="jobs-heading">"Jobs"</h2>
            <form class="job-search" role="search" on:submit=open>
                <label for="job-search">"Open a job by id"</label>
                <input
                    id="job-search"
                    type="search"
                    placeholder="01HQ3Z8M5X7Y9A2B4C6D8E0F1G"
                    spellcheck="false"
                    aria-describedby="job-search-error"
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))
                />
                <button type="submit" class="button quiet">"Open"</button>
                <p id="job-search-error" class="error" role="alert">{move || search_error.get()}</p>
            </form>
            <form class="job-filters" on:submit=apply aria-label="Filter the jobs">
                <div class="field">
                    <label for="filter-state">"State"</label>
                    <select id="filter-state" on:change=field(|q| &mut q.state)>
                        <option value="" selected>"Any"</option>
                        {JobPhase::ALL
                            .into_iter()
                            .map(|phase| view! { <option value=phase.as_str()>{phase.as_str()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="filter-client">"Client"</label>
                    <input
                        id="filter-client"
                        type="text"
                        placeholder="203.0.113.7"
                        spellcheck="false"
                        on:input=field(|q| &mut q.client)
                    />
                </div>
                <div class="field">
                    <label for="filter-file">"File id"</label>
                    <input
                        id="filter-file"
                        type="text"
                        inputmode="numeric"
                        placeholder="12345"
                        on:input=field(|q| &mut q.file_id)
                    />
                </div>
                <button type="submit" class="button">"Show jobs"</button>
            </form>
            <p class="error" role="alert">{move || problem.get()}</p>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Jobs (scrolls sideways on a small screen)">
                <table class="console-table jobs" aria-busy=move || loading.get().to_string()>
                    <caption>
                        {move || match (jobs.with(Vec::len), next.with(Option::is_some)) {
                            (0, _) if loading.get() => "Loading jobs…".to_owned(),
                            (0, _) => "No job matches.".to_owned(),
                            (n, true) => format!("The newest {n} matching jobs; more below."),
                            (n, false) => format!("All {n} matching jobs."),
                        }}
                    </caption>
                    <thead>
                        <tr>
                            <th scope="col">"Job"</th>
                            <th scope="col">"State"</th>
                            <th scope="col">"When"</th>
                            <th scope="col">"Client"</th>
                            <th scope="col">"Files"</th>
                            <th scope="col">"Attempt"</th>
                            <th scope="col">"Error"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            let clock = local_clock();
                            jobs.get()
                                .into_iter()
                                .map(|job| {
                                    let files = job
                                        .file_ids
                                        .iter()
                                        .map(ToString::to_string)
                                        .collect::<Vec<_>>()
                                        .join(", ");
                                    view! {
                                        <tr data-job=job.job_id.to_string()>
                                            <td class="mono">
                                                <a href=format!("/admin/jobs/{}", job.job_id)>{job.job_id.to_string()}</a>
                                            </td>
                                            <td><span class=format!("phase phase-{}", job.phase.as_str())>{job.phase.as_str()}</span></td>
                                            <td>{when(&job, clock)}</td>
                                            <td class="mono">{job.client.clone()}</td>
                                            <td>{files}</td>
                                            <td>{format!("{} of {}", job.attempt, job.max_attempts)}</td>
                                            <td>{job.error.clone().unwrap_or_default()}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            <Show when=move || next.with(Option::is_some)>
                <button type="button" class="button quiet" disabled=move || loading.get() on:click=more>
                    "Load more"
                </button>
            </Show>
        </section>
    }
}
