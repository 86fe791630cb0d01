//! The console's first page: the queue now (counts, pause, timings, charts, instances and
//! dependencies), refreshed every few seconds, and the job list under it.

use super::{
    api,
    charts::{DepthChart, ThroughputChart},
    jobs::JobList,
    Access,
};
use crate::{
    api::{AdminOverview, CheckResult, Instance, OriginState},
    components::{format_elapsed, local_clock},
};
use gloo_timers::future::TimeoutFuture;
use leptos::{prelude::*, task::spawn_local};

/// How often the overview is read again while it is shown.
const REFRESH_MS: u32 = 5_000;

/// A duration for the timings table ("—" when nothing finished yet).
fn duration(ms: Option<u64>) -> String {
    match ms {
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) => format_elapsed(ms),
        None => "—".to_owned(),
    }
}

/// The origin's health in words, from every instance's last request to it.
pub fn origin_summary(instances: &[Instance]) -> String {
    let failing: Vec<&Instance> = instances
        .iter()
        .filter(|i| i.origin.state == OriginState::Failing)
        .collect();
    let answering = instances
        .iter()
        .filter(|i| i.origin.state == OriginState::Answering)
        .count();
    match (failing.first(), answering) {
        (Some(first), _) => format!(
            "failing for {} of {} instances: {}",
            failing.len(),
            instances.len(),
            first.origin.error.as_deref().unwrap_or("no answer")
        ),
        (None, 0) => "not asked yet".to_owned(),
        (None, _) => "answering".to_owned(),
    }
}

/// One instance's view of the origin, for its row.
fn origin_word(instance: &Instance) -> &'static str {
    match instance.origin.state {
        OriginState::Unknown => "not asked yet",
        OriginState::Answering => "answering",
        OriginState::Failing => "failing",
    }
}

/// The overview and the job list.
#[component]
pub fn Dashboard() -> impl IntoView {
    let access = expect_context::<Access>();
    let overview = RwSignal::new(None::<AdminOverview>);
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let load = move || async move {
        match api::overview().await {
            Ok(now) => {
                let _ = problem.try_set(None);
                overview.try_set(Some(now)).is_none()
            }
            Err(error) => {
                let _ = problem.try_set(Some(access.explain("read the overview", &error)));
                // Keep trying unless the page has gone.
                problem.try_get_untracked().is_some()
            }
        }
    };
    // Browser only: read now, then every few seconds until the page goes away.
    Effect::new(move |_| {
        spawn_local(async move {
            while load().await {
                TimeoutFuture::new(REFRESH_MS).await;
            }
        });
    });

    let paused = move || overview.with(|o| o.as_ref().is_some_and(|o| o.paused));
    let toggle_pause = move |_| {
        let Some(csrf) = access.csrf() else { return };
        let pause = !paused();
        busy.set(true);
        spawn_local(async move {
            match api::set_paused(pause, &csrf).await {
                Ok(state) => access.announce(if state.paused {
                    "The queue is paused: no new job starts until you resume it."
                } else {
                    "The queue is running again."
                }),
                Err(error) => access.announce(access.explain("change the queue", &error)),
            }
            load().await;
            let _ = busy.try_set(false);
        });
    };
    let retry_all = move |_| {
        let Some(csrf) = access.csrf() else { return };
        busy.set(true);
        spawn_local(async move {
            match api::retry_all_failed(&csrf).await {
                Ok(done) => access.announce(match (done.retried, done.more) {
                    (0, _) => "No failed job to retry.".to_owned(),
                    (n, false) => format!("{n} failed jobs are queued again."),
                    (n, true) => format!("{n} failed jobs are queued again; more remain, retry again for the next ones."),
                }),
                Err(error) => access.announce(access.explain("retry the failed jobs", &error)),
            }
            load().await;
            let _ = busy.try_set(false);
        });
    };

    let minutes = Signal::derive(move || {
        overview.with(|o| {
            o.as_ref()
                .map(|o| o.activity_per_minute.clone())
                .unwrap_or_default()
        })
    });
    let hour_total = move |pick: fn(&crate::api::ActivityInMinute) -> u64| {
        minutes.with(|m| m.iter().map(pick).sum::<u64>())
    };
    let count = move |pick: fn(&AdminOverview) -> u64| {
        move || overview.with(|o| o.as_ref().map_or("…".to_owned(), |o| pick(o).to_string()))
    };

    view! {
        <section class="console-section" aria-labelledby="queue-heading">
            <div class="section-head">
                <h2 id="queue-heading">"Queue"</h2>
                <div class="console-actions">
                    <button
                        type="button"
                        class="button"
                        aria-pressed=move || paused().to_string()
                        disabled=move || busy.get() || overview.with(Option::is_none)
                        on:click=toggle_pause
                    >
                        {move || if paused() { "Resume queue" } else { "Pause queue" }}
                    </button>
                    <button
                        type="button"
                        class="button quiet"
                        disabled=move || busy.get()
                        on:click=retry_all
                    >
                        "Retry all failed"
                    </button>
                </div>
            </div>
            <Show when=paused>
                <p class="notice paused-notice">
                    "Paused: workers start no new job until the queue is resumed. Running jobs finish."
                </p>
            </Show>
            <p class="error" role="alert">{move || problem.get()}</p>
            <dl class="counts" data-testid="counts">
                <div><dt>"Queued"</dt><dd data-count="queued">{count(|o| o.queued)}</dd></div>
                <div><dt>"Retrying"</dt><dd data-count="retrying">{count(|o| o.retrying)}</dd></div>
                <div><dt>"Processing"</dt><dd data-count="processing">{count(|o| o.processing)}</dd></div>
                <div>
                    <dt>"Completed (hour)"</dt>
                    <dd data-count="completed">{move || hour_total(|m| m.completed)}</dd>
                </div>
                <div>
                    <dt>"Failed (hour)"</dt>
                    <dd data-count="failed">{move || hour_total(|m| m.failed)}</dd>
                </div>
                <div>
                    <dt>"Cancelled (hour)"</dt>
                    <dd data-count="cancelled">{move || hour_total(|m| m.cancelled)}</dd>
                </div>
            </dl>
            <div class="charts">
                <ThroughputChart minutes/>
                <DepthChart minutes/>
            </div>
            <Timings overview/>
            <Instances overview/>
            <Health overview/>
        </section>
        <JobList/>
    }
}

/// Median and p95 wait and run time of the recently completed jobs.
#[component]
fn Timings(overview: RwSignal<Option<AdminOverview>>) -> impl IntoView {
    let timings = move || overview.with(|o| o.as_ref().map(|o| o.timings).unwrap_or_default());
    view! {
        <table class="console-table timings">
            <caption>
                {move || format!("Times of the last {} completed jobs", timings().jobs)}
            </caption>
            <thead>
                <tr><th scope="col"></th><th scope="col">"Median"</th><th scope="col">"95th percentile"</th></tr>
            </thead>
            <tbody>
                <tr>
                    <th scope="row">"Wait (queued → started)"</th>
                    <td>{move || duration(timings().wait_median_ms)}</td>
                    <td>{move || duration(timings().wait_p95_ms)}</td>
                </tr>
                <tr>
                    <th scope="row">"Run (started → finished)"</th>
                    <td>{move || duration(timings().run_median_ms)}</td>
                    <td>{move || duration(timings().run_p95_ms)}</td>
                </tr>
            </tbody>
        </table>
    }
}

/// The instances alive, with what each runs now.
#[component]
fn Instances(overview: RwSignal<Option<AdminOverview>>) -> impl IntoView {
    let instances =
        move || overview.with(|o| o.as_ref().map(|o| o.instances.clone()).unwrap_or_default());
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Instances alive (scrolls sideways on a small screen)">
            <table class="console-table" data-testid="instances">
                <caption>"Instances alive"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Instance"</th>
                        <th scope="col">"Workers"</th>
                        <th scope="col">"Running"</th>
                        <th scope="col">"Up since"</th>
                        <th scope="col">"Last heartbeat"</th>
                        <th scope="col">"Origin"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let clock = local_clock();
                        instances()
                            .into_iter()
                            .map(|instance| {
                                let running = instance
                                    .running
                                    .iter()
                                    .map(|id| {
                                        view! { <a href=format!("/admin/jobs/{id}")>{id.to_string()}</a> " " }
                                    })
                                    .collect_view();
                                view! {
                                    <tr>
                                        <td>{instance.id.clone()}</td>
                                        <td>{instance.concurrency}</td>
                                        <td>{running}</td>
                                        <td>{clock.moment(instance.started_at)}</td>
                                        <td>{clock.moment(instance.seen_at)}</td>
                                        <td>{origin_word(&instance)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </div>
    }
}

/// Whether the queue and storage answer this instance, and how the origin answered the
/// instances.
#[component]
fn Health(overview: RwSignal<Option<AdminOverview>>) -> impl IntoView {
    let word = |result: CheckResult| match result {
        CheckResult::Ok => "answering",
        _ => "not answering",
    };
    view! {
        <dl class="health" data-testid="health">
            {move || {
                overview
                    .with(|o| o.as_ref().map(|o| o.health.clone()))
                    .map(|health| {
                        let origin = overview
                            .with(|o| o.as_ref().map(|o| origin_summary(&o.instances)))
                            .unwrap_or_default();
                        view! {
                            <div><dt>"Queue"</dt><dd>{word(health.queue)}</dd></div>
                            <div><dt>"Storage"</dt><dd>{word(health.storage)}</dd></div>
                            <div><dt>"Origin"</dt><dd data-health="origin">{origin}</dd></div>
                        }
                    })
            }}
        </dl>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{OriginHealth, Timestamp};

    fn instance(state: OriginState, error: Option<&str>) -> Instance {
        Instance {
            id: "a".into(),
            host: "h".into(),
            concurrency: 1,
            running: vec![],
            started_at: Timestamp::from_unix_millis(0),
            seen_at: Timestamp::from_unix_millis(0),
            origin: OriginHealth {
                state,
                at: None,
                error: error.map(str::to_owned),
            },
        }
    }

    #[test]
    fn the_origin_is_failing_when_any_instance_saw_it_fail() {
        assert_eq!(origin_summary(&[]), "not asked yet");
        let answering = instance(OriginState::Answering, None);
        let failing = instance(OriginState::Failing, Some("the origin is unavailable: 503"));
        assert_eq!(
            origin_summary(std::slice::from_ref(&answering)),
            "answering"
        );
        assert_eq!(
            origin_summary(&[answering, failing]),
            "failing for 1 of 2 instances: the origin is unavailable: 503"
        );
        assert_eq!(duration(Some(250)), "250 ms");
        assert_eq!(duration(Some(61_000)), "1 min 01 s");
        assert_eq!(duration(None), "—");
    }
}
