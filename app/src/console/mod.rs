//! The operator console (`/admin`): sign in with the deployment's token, then see the queue (its
//! counts, charts, timings, instances and dependencies), list and search its jobs, open one job
//! with its attempts, and act on the queue and its jobs.
//!
//! The server renders the frame only: everything the console shows is read after hydration from
//! `/admin/api/…` with the session cookie, so a page cached anywhere holds nothing.

mod api;
mod charts;
mod dashboard;
mod job_page;
mod jobs;

pub use dashboard::Dashboard;
pub use job_page::JobPage;

use crate::{api::AdminSession, client::ClientError};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::components::{Outlet, A};

/// Where the console stands with its session.
#[derive(Debug, Clone, PartialEq)]
enum SessionState {
    /// Asking the server whether the cookie still holds a session (the server render, and the
    /// moment after hydration).
    Checking,
    SignedOut,
    SignedIn(AdminSession),
    /// The server did not answer: the console says so and offers to try again.
    Unreachable(String),
}

/// The session, shared by the console's pages: the CSRF token their changes send, and the way
/// back to the sign-in form when the server says the session is over.
#[derive(Clone, Copy)]
pub struct Access {
    state: RwSignal<SessionState>,
    /// What the console last did or learnt, read out by screen readers.
    announcement: RwSignal<String>,
}

impl Access {
    /// The session's CSRF token, if signed in.
    pub fn csrf(&self) -> Option<String> {
        self.state.with_untracked(|state| match state {
            SessionState::SignedIn(session) => Some(session.csrf_token.clone()),
            _ => None,
        })
    }

    /// Words for a failed request; a session that ended sends the operator to the sign-in form.
    pub fn explain(&self, action: &str, error: &ClientError) -> String {
        if api::is_signed_out(error) {
            let _ = self.state.try_set(SessionState::SignedOut);
            return "Your console session ended: sign in again.".to_owned();
        }
        format!("Could not {action}: {error}")
    }

    /// Says `message` to screen readers (and shows it in the console's status line).
    pub fn announce(&self, message: impl Into<String>) {
        let _ = self.announcement.try_set(message.into());
    }
}

/// The console's frame: the header, the sign-in form or the page the address names.
#[component]
pub fn Console() -> impl IntoView {
    let state = RwSignal::new(SessionState::Checking);
    let announcement = RwSignal::new(String::new());
    let access = Access {
        state,
        announcement,
    };
    provide_context(access);

    let check = move || {
        spawn_local(async move {
            let next = match api::session().await {
                Ok(session) => SessionState::SignedIn(session),
                Err(error) if api::is_signed_out(&error) => SessionState::SignedOut,
                Err(error) => SessionState::Unreachable(error.to_string()),
            };
            let _ = state.try_set(next);
        });
    };
    // Browser only: is there a session already?
    Effect::new(move |_| {
        document().set_title("Ferry — console");
        check();
    });
    let sign_out = move |_| {
        let Some(csrf) = access.csrf() else { return };
        spawn_local(async move {
            match api::sign_out(&csrf).await {
                Ok(()) => {
                    let _ = state.try_set(SessionState::SignedOut);
                    access.announce("Signed out.");
                }
                Err(error) => access.announce(access.explain("sign out", &error)),
            }
        });
    };
    let signed_in = move || matches!(state.get(), SessionState::SignedIn(_));

    view! {
        <main class="page console">
            <header class="page-header console-header">
                <div>
                    <h1>"Ferry console"</h1>
                    <nav aria-label="Console">
                        <A href="/admin">"Overview and jobs"</A>
                        " · "
                        <a href="/">"Download page"</a>
                    </nav>
                </div>
                <Show when=signed_in>
                    <button type="button" class="button quiet" on:click=sign_out>
                        "Sign out"
                    </button>
                </Show>
            </header>
            <p class="console-status" role="status" aria-live="polite">
                {move || announcement.get()}
            </p>
            {move || match state.get() {
                SessionState::Checking => {
                    view! { <p class="empty" aria-busy="true">"Checking your session…"</p> }
                        .into_any()
                }
                SessionState::SignedOut => view! { <SignIn/> }.into_any(),
                SessionState::Unreachable(reason) => {
                    view! {
                        <div class="notice" role="alert">
                            <p>{format!("The console cannot reach Ferry: {reason}.")}</p>
                            <button type="button" class="button" on:click=move |_| check()>
                                "Try again"
                            </button>
                        </div>
                    }
                        .into_any()
                }
                SessionState::SignedIn(_) => view! { <Outlet/> }.into_any(),
            }}
        </main>
    }
}

/// The sign-in form: the deployment's `ADMIN_TOKEN`, sent once and never stored by the page.
#[component]
fn SignIn() -> impl IntoView {
    let access = expect_context::<Access>();
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let entered = token.get_untracked();
        if entered.is_empty() {
            error.set(Some("Enter the admin token.".into()));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::sign_in(entered).await {
                Ok(session) => {
                    let _ = token.try_set(String::new());
                    let _ = access.state.try_set(SessionState::SignedIn(session));
                    access.announce("Signed in.");
                }
                Err(ClientError::Refused(body)) => {
                    let _ = error.try_set(Some(body.message));
                }
                Err(other) => {
                    let _ = error.try_set(Some(format!("Could not sign in: {other}")));
                }
            }
            let _ = busy.try_set(false);
        });
    };
    view! {
        <form class="sign-in" on:submit=submit aria-describedby="sign-in-help">
            <h2>"Sign in"</h2>
            <p id="sign-in-help" class="hint">
                "Enter this deployment's admin token (the ADMIN_TOKEN it was started with)."
            </p>
            <label for="admin-token">"Admin token"</label>
            <input
                id="admin-token"
                type="password"
                autocomplete="current-password"
                required
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-errormessage="sign-in-error"
                prop:value=move || token.get()
                on:input=move |ev| token.set(event_target_value(&ev))
            />
            <button type="submit" class="button primary" disabled=move || busy.get()>
                "Sign in"
            </button>
            <p id="sign-in-error" class="error" role="alert">
                {move || error.get()}
            </p>
        </form>
    }
}
