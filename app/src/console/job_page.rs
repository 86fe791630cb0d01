//! One job in the console (`/admin/jobs/{jobId}`): its record, every attempt, and what can be
//! done to it — retry a failed job, cancel an unfinished one, delete a finished record.

use super::{api, api::JobAction, Access};
use crate::{
    api::{AdminJobDetail, JobId, JobPhase},
    components::{local_clock, TraceId},
    units::format_bytes,
};
use gloo_timers::future::TimeoutFuture;
use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::{use_navigate, use_params_map};

/// How often an unfinished job's page reads it again.
const REFRESH_MS: u32 = 2_000;

/// The actions that apply to a job in `phase`.
pub fn actions_for(phase: JobPhase) -> &'static [JobAction] {
    match phase {
        JobPhase::Failed => &[JobAction::Retry, JobAction::Delete],
        JobPhase::Queued | JobPhase::Processing | JobPhase::Retrying => &[JobAction::Cancel],
        JobPhase::Completed | JobPhase::Cancelled | JobPhase::Expired => &[JobAction::Delete],
    }
}

fn label(action: JobAction) -> &'static str {
    match action {
        JobAction::Retry => "Retry",
        JobAction::Cancel => "Cancel job",
        JobAction::Delete => "Delete record",
    }
}

/// The page of the job the address names.
#[component]
pub fn JobPage() -> impl IntoView {
    let access = expect_context::<Access>();
    let params = use_params_map();
    let navigate = use_navigate();
    let job_id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<JobId>().ok())));
    let detail = RwSignal::new(None::<AdminJobDetail>);
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // Bumped by an action: the page follows the job afresh.
    let generation = RwSignal::new(0u32);

    let load = move |job_id: JobId| async move {
        match api::job(job_id).await {
            Ok(now) => {
                let finished = now.job.phase.is_terminal();
                let _ = problem.try_set(None);
                detail.try_set(Some(now)).is_none() && !finished
            }
            Err(crate::client::ClientError::NotFound) => {
                let _ = problem.try_set(Some(format!(
                    "There is no job {job_id}: it never existed, or its record has expired or was deleted."
                )));
                let _ = detail.try_set(None);
                false
            }
            Err(error) => {
                let _ = problem.try_set(Some(access.explain("read the job", &error)));
                problem.try_get_untracked().is_some()
            }
        }
    };
    // Browser only: read the job, and again every few seconds until it has finished.
    Effect::new(move |_| {
        let round = generation.get();
        let Some(id) = job_id.get() else {
            problem.set(Some(
                "This address does not name a job: job ids are 26-character ULIDs.".into(),
            ));
            return;
        };
        spawn_local(async move {
            let current = || {
                job_id.try_get_untracked() == Some(Some(id))
                    && generation.try_get_untracked() == Some(round)
            };
            while load(id).await && current() {
                TimeoutFuture::new(REFRESH_MS).await;
                if !current() {
                    break;
                }
            }
        });
    });

    let act = Callback::new(move |action: JobAction| {
        let (Some(id), Some(csrf)) = (job_id.get_untracked(), access.csrf()) else {
            return;
        };
        let navigate = navigate.clone();
        busy.set(true);
        spawn_local(async move {
            match api::act(id, action, &csrf).await {
                Ok(_) if action == JobAction::Delete => {
                    access.announce(format!("Job {id}'s record was deleted."));
                    navigate("/admin", Default::default());
                }
                Ok(done) => {
                    access.announce(format!("Job {id} {}.", done.done));
                    // A retried or cancelled job changes: follow it again.
                    let _ = generation.try_update(|n| *n += 1);
                }
                Err(error) => access.announce(access.explain(
                    &format!("{} job {id}", label(action).to_lowercase()),
                    &error,
                )),
            }
            let _ = busy.try_set(false);
        });
    });

    view! {
        <section class="console-section" aria-labelledby="job-heading">
            <p><a href="/admin">"← All jobs"</a></p>
            <h2 id="job-heading" class="mono">
                {move || job_id.get().map_or_else(|| "Job".to_owned(), |id| format!("Job {id}"))}
            </h2>
            <p class="error" role="alert">{move || problem.get()}</p>
            {move || detail.get().map(|detail| {
                let clock = local_clock();
                let job = detail.job;
                let at = move |t: Option<crate::api::Timestamp>| t.map_or_else(|| "—".to_owned(), |t| clock.moment(t));
                let files = job.file_ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let trace = job.trace.clone();
                let actions = actions_for(job.phase)
                    .iter()
                    .map(|&action| view! {
                        <button
                            type="button"
                            class=if action == JobAction::Retry { "button" } else { "button quiet" }
                            disabled=move || busy.get()
                            on:click=move |_| act.run(action)
                        >
                            {label(action)}
                        </button>
                    })
                    .collect_view();
                let attempts = detail.attempts.iter().map(|attempt| view! {
                    <tr>
                        <td>{attempt.number}</td>
                        <td class="mono">{attempt.worker.clone()}</td>
                        <td>{clock.moment(attempt.started_at)}</td>
                        <td>{at(attempt.ended_at)}</td>
                        <td>{attempt.outcome.map_or("running", |o| match o {
                            crate::api::AttemptOutcome::Completed => "completed",
                            crate::api::AttemptOutcome::Failed => "failed",
                            crate::api::AttemptOutcome::LeaseExpired => "lease expired",
                            crate::api::AttemptOutcome::Released => "given back",
                            crate::api::AttemptOutcome::Cancelled => "cancelled",
                        })}</td>
                        <td>{attempt.error.clone().unwrap_or_default()}</td>
                    </tr>
                }).collect_view();
                view! {
                    <div class="console-actions">{actions}</div>
                    <dl class="job-facts" data-testid="job-facts">
                        <div><dt>"State"</dt><dd data-fact="phase"><span class=format!("phase phase-{}", job.phase.as_str())>{job.phase.as_str()}</span></dd></div>
                        <div><dt>"Attempt"</dt><dd data-fact="attempt">{format!("{} of {}", job.attempt, job.max_attempts)}</dd></div>
                        <div><dt>"Progress"</dt><dd>{format!("{} %", job.percent)}</dd></div>
                        <div><dt>"Client"</dt><dd class="mono">{job.client.clone()}</dd></div>
                        <div><dt>"Files"</dt><dd>{files}</dd></div>
                        <div><dt>"Created"</dt><dd>{clock.moment(job.created_at)}</dd></div>
                        <div><dt>"First started"</dt><dd>{at(job.first_started_at)}</dd></div>
                        <div><dt>"Current attempt started"</dt><dd>{at(job.started_at)}</dd></div>
                        <Show when=move || job.lease_deadline.is_some()>
                            <div><dt>"Lease runs out"</dt><dd>{at(job.lease_deadline)}</dd></div>
                        </Show>
                        <Show when=move || job.next_attempt_at.is_some()>
                            <div><dt>"Next attempt"</dt><dd>{at(job.next_attempt_at)}</dd></div>
                        </Show>
                        <div><dt>"Finished"</dt><dd>{at(job.finished_at)}</dd></div>
                        <div><dt>"Error"</dt><dd data-fact="error">{job.error.clone().unwrap_or_else(|| "—".into())}</dd></div>
                        <div><dt>"Result"</dt><dd class="mono">{job.result_key.clone().unwrap_or_else(|| "—".into())}</dd></div>
                        <div><dt>"Result size"</dt><dd>{job.result_size.map_or_else(|| "—".to_owned(), format_bytes)}</dd></div>
                        <div><dt>"Result removed"</dt><dd>{at(job.result_expires_at)}</dd></div>
                        {trace.trace_id.is_some().then(|| view! {
                            <div><dt>"Trace"</dt><dd data-fact="trace"><TraceId trace/></dd></div>
                        }.into_any())}
                    </dl>
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Attempts (scrolls sideways on a small screen)">
                        <table class="console-table" data-testid="attempts">
                            <caption>"Attempts, first first"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"#"</th>
                                    <th scope="col">"Worker"</th>
                                    <th scope="col">"Started"</th>
                                    <th scope="col">"Ended"</th>
                                    <th scope="col">"Outcome"</th>
                                    <th scope="col">"Error"</th>
                                </tr>
                            </thead>
                            <tbody>{attempts}</tbody>
                        </table>
                    </div>
                }
                // Erased, so the page's type stays shallow enough for the compiler.
                .into_any()
            })}
        </section>
    }
}
