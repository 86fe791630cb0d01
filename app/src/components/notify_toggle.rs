//! "Notify me when it's ready": an opt-in to a system notification when a download finishes
//! while the tab is in the background.
//!
//! The browser's permission prompt appears only when the person clicks, never on page load
//! (browsers penalise sites that ask unprompted, and people deny what they did not ask for). The
//! choice is remembered in `localStorage`.

use super::board::{notifications_allowed, notifications_supported, Board};
use leptos::{prelude::*, task::spawn_local};

const STORAGE_KEY: &str = "ferry.notify";

fn remembered() -> bool {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .is_some_and(|v| v == "on")
}

fn remember(on: bool) {
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = if on {
            storage.set_item(STORAGE_KEY, "on")
        } else {
            storage.remove_item(STORAGE_KEY)
        };
    }
}

/// Asks the browser for permission; true if granted.
async fn ask_permission() -> bool {
    let Ok(promise) = web_sys::Notification::request_permission() else {
        return false;
    };
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()
        .and_then(|answer| answer.as_string())
        .is_some_and(|answer| answer == "granted")
}

/// The toggle button, with a line explaining a refusal.
#[component]
pub fn NotifyToggle() -> impl IntoView {
    let board = Board::from_context();
    let problem = RwSignal::new(None::<&'static str>);
    // Browser only: keep an earlier choice if the permission still stands.
    Effect::new(move |_| {
        board
            .notify
            .set(notifications_supported() && remembered() && notifications_allowed());
    });
    let toggle = move |_| {
        if board.notify.get_untracked() {
            board.notify.set(false);
            remember(false);
            return;
        }
        if !notifications_supported() {
            problem.set(Some("This browser cannot show notifications."));
            return;
        }
        spawn_local(async move {
            let granted = notifications_allowed() || ask_permission().await;
            let _ = board.notify.try_set(granted);
            remember(granted);
            let _ = problem.try_set((!granted).then_some(
                "Your browser blocks notifications from this site: allow them in its site settings, then try again.",
            ));
        });
    };
    view! {
        <button
            type="button"
            class="button quiet notify-toggle"
            aria-pressed=move || board.notify.get().to_string()
            on:click=toggle
        >
            "Notify me when it's ready"
        </button>
        {move || problem.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
    }
}
