//! What the page knows about all its rows together: each row's phase and progress (for the tab
//! title and Clear finished), the one live region, the opt-in to notifications, and the signal
//! that wakes every row when the tab is shown again.
//!
//! Rows report into it and read from it; `App` owns it and provides it as context.

use crate::api::{JobId, JobPhase};
use leptos::prelude::*;
use std::collections::HashMap;

/// One row, as the page as a whole sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowSummary {
    /// `None` until the first answer.
    pub phase: Option<JobPhase>,
    pub progress: u8,
    /// The server no longer knows the job at all (its record is gone).
    pub unknown: bool,
}

impl RowSummary {
    /// Whether Clear finished takes the row away: nothing more will happen to it.
    pub fn is_finished(&self) -> bool {
        self.unknown || self.phase.is_some_and(JobPhase::is_terminal)
    }
}

/// The page's shared state (all signals, so it is `Copy`).
#[derive(Clone, Copy)]
pub struct Board {
    pub rows: RwSignal<HashMap<JobId, RowSummary>>,
    /// Counts the times the tab was shown again after being hidden.
    pub shown_again: RwSignal<u64>,
    /// The text of the page's one `role="status"` region.
    pub announcement: RwSignal<String>,
    /// Whether the person asked to be notified (and the browser allowed it).
    pub notify: RwSignal<bool>,
    /// Ticks every second (browser only), so countdowns and elapsed times move while polls
    /// answer "unchanged".
    pub ticks: RwSignal<u64>,
}

impl Board {
    pub fn new() -> Self {
        Self {
            rows: RwSignal::new(HashMap::new()),
            shown_again: RwSignal::new(0),
            announcement: RwSignal::new(String::new()),
            notify: RwSignal::new(false),
            ticks: RwSignal::new(0),
        }
    }

    /// Starts the page's one-second tick (browser only; it lasts as long as the page).
    pub fn start_ticking(self) {
        gloo_timers::callback::Interval::new(1_000, move || {
            let _ = self.ticks.try_update(|n| *n += 1);
        })
        .forget();
    }

    /// The board the page provided.
    pub fn from_context() -> Self {
        expect_context::<Self>()
    }

    /// Records what a row shows now.
    pub fn report(self, job_id: JobId, summary: RowSummary) {
        let unchanged = self
            .rows
            .try_with_untracked(|rows| rows.get(&job_id) == Some(&summary))
            .unwrap_or(true);
        if !unchanged {
            let _ = self.rows.try_update(|rows| {
                rows.insert(job_id, summary);
            });
        }
    }

    /// Forgets a row that left the page.
    pub fn forget(self, job_id: JobId) {
        let _ = self.rows.try_update(|rows| {
            rows.remove(&job_id);
        });
    }

    /// Listens for the tab being shown again (browser only; the page lives as long as the
    /// document, so the listener does too).
    pub fn wake_rows_when_shown(self) {
        use wasm_bindgen::{closure::Closure, JsCast};
        let listener = Closure::<dyn Fn()>::new(move || {
            if !page_is_hidden() {
                let _ = self.shown_again.try_update(|n| *n += 1);
            }
        });
        let _ = document().add_event_listener_with_callback(
            "visibilitychange",
            listener.as_ref().unchecked_ref(),
        );
        listener.forget();
    }

    /// A download finished while the page watched it: say so once in the live region, and in a
    /// notification if the person asked for one and is looking elsewhere.
    pub fn finished(self, message: String) {
        if self.notify.get_untracked() && page_is_hidden() {
            notify(&message);
        }
        let _ = self.announcement.try_set(message);
    }
}

impl Default for Board {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the tab is in the background (another tab, minimised window).
pub fn page_is_hidden() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Hidden
}

/// Whether this browser has notifications at all (some mobile ones do not).
pub fn notifications_supported() -> bool {
    js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false)
}

/// Whether the person has allowed this site's notifications.
pub fn notifications_allowed() -> bool {
    notifications_supported()
        && web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
}

/// Shows a system notification, if the browser allows it.
fn notify(message: &str) {
    if !notifications_allowed() {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(message);
    let _ = web_sys::Notification::new_with_options("Ferry", &options);
}
