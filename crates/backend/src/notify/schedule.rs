//! The notifier's task: the rules for noise. Every opening waits out the quiet delay;
//! if the item still waits then (by the read model), one "waiting" notice goes to every
//! sink; once it stops waiting, one "settled" notice follows, and only for items that
//! were announced. Deliveries of one item are ordered: its "settled" starts only after
//! its "waiting" was delivered or given up, on every sink; different items never wait
//! for each other.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chainwatch_shared::{Notice, NoticeState, RequestId, SessionId, WorkspaceEvent};
use chrono::Utc;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::moments::{self, Opening};
use crate::core::ReadModel;
use crate::store::LoggedEvent;

/// Most items tracked at once; past it the oldest unannounced one is forgotten.
pub const MAX_OPEN: usize = 10_000;
/// How often announced items are checked for settling.
const SETTLE_POLL: Duration = Duration::from_millis(250);

/// A notice with the session's owner, so per-user sinks can filter.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The notice.
    pub notice: Notice,
    /// The session's user (user-scoped tokens see only their own sessions).
    pub owner: Option<String>,
}

/// Where notices go: webhooks, Web Push.
pub trait Sink: Send + Sync + 'static {
    /// Delivers one notice, retrying as the sink sees fit; the future ends when it is
    /// delivered or given up. Never panics.
    fn deliver(&self, outgoing: Arc<Outgoing>) -> BoxFuture<'static, ()>;
}

struct Open {
    opening: Opening,
    due: Instant,
    /// The "waiting" deliveries, one per sink, once announced.
    announced: Option<Vec<JoinHandle<()>>>,
}

/// What the task needs.
pub struct Notifier {
    /// The read model: whether an item still waits, how it settled.
    pub read: Arc<ReadModel>,
    /// The sinks.
    pub sinks: Vec<Arc<dyn Sink>>,
    /// The quiet delay.
    pub quiet: Duration,
    /// The base of links back to the page, without a trailing slash.
    pub public_url: String,
}

impl Notifier {
    /// Runs until the publisher side is dropped (the core stopped).
    pub async fn run(self, mut inbox: mpsc::Receiver<LoggedEvent>) {
        let mut open: HashMap<(SessionId, RequestId), Open> = HashMap::new();
        self.seed(&mut open);
        loop {
            let wake = self.next_wake(&open);
            tokio::select! {
                received = inbox.recv() => match received {
                    Some(logged) => self.take(&mut open, &logged),
                    None => break,
                },
                () = tokio::time::sleep_until(wake) => {}
            }
            self.tick(&mut open);
        }
        // Let what was already handed to the sinks finish.
        for (_, item) in open {
            for handle in item.announced.into_iter().flatten() {
                let _ = handle.await;
            }
        }
    }

    /// What already waited when the server started (a restart must not lose a wait):
    /// each gets the quiet delay from now. Failed stops are not in the fold and are not
    /// picked up again.
    fn seed(&self, open: &mut HashMap<(SessionId, RequestId), Open>) {
        let filter = crate::core::SessionFilter {
            statuses: vec![chainwatch_shared::SessionStatus::Waiting],
            ended: Some(false),
            user: None,
            host: None,
            text: None,
            limit: MAX_OPEN,
            offset: 0,
        };
        let (sessions, _) = self.read.sessions(&filter);
        let due = Instant::now() + self.quiet;
        for session in sessions {
            let mut openings: Vec<Opening> = session
                .pending_permissions
                .iter()
                .map(|p| Opening {
                    moment: chainwatch_shared::Moment::Permission,
                    session_id: session.id.clone(),
                    item_id: p.request_id.clone(),
                    message: moments::clip(
                        &format!(
                            "{}: {}",
                            p.tool_name,
                            moments::describe_input(&p.tool_input)
                        ),
                        300,
                    ),
                    since: p.requested_at,
                    prompts: session.counts.prompts,
                })
                .collect();
            if let Some(a) = &session.awaiting_input {
                openings.push(Opening {
                    moment: moments::asking(&a.request_id),
                    session_id: session.id.clone(),
                    item_id: a.request_id.clone(),
                    message: moments::clip(&a.prompt, 300),
                    since: a.since,
                    prompts: session.counts.prompts,
                });
            }
            for opening in openings {
                if open.len() >= MAX_OPEN {
                    return;
                }
                open.entry((opening.session_id.clone(), opening.item_id.clone()))
                    .or_insert(Open {
                        opening,
                        due,
                        announced: None,
                    });
            }
        }
    }

    fn next_wake(&self, open: &HashMap<(SessionId, RequestId), Open>) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        open.values()
            .map(|o| match o.announced {
                None => o.due,
                Some(_) => Instant::now() + SETTLE_POLL,
            })
            .min()
            .unwrap_or(far)
    }

    fn take(&self, open: &mut HashMap<(SessionId, RequestId), Open>, logged: &LoggedEvent) {
        let event: WorkspaceEvent = match serde_json::from_str(&logged.json) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(seq = logged.seq, %error, "notifier cannot read an event");
                return;
            }
        };
        let Some(mut opening) = moments::opening(&event) else {
            return;
        };
        let key = (opening.session_id.clone(), opening.item_id.clone());
        if open.contains_key(&key) {
            return;
        }
        if let Some(prompts) = self
            .read
            .with_session(&opening.session_id, |r| r.session.counts.prompts)
        {
            opening.prompts = prompts;
        }
        if open.len() >= MAX_OPEN {
            let oldest = open
                .iter()
                .filter(|(_, o)| o.announced.is_none())
                .min_by_key(|(_, o)| o.due)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(oldest) => {
                    open.remove(&oldest);
                }
                None => return,
            }
        }
        open.insert(
            key,
            Open {
                opening,
                due: Instant::now() + self.quiet,
                announced: None,
            },
        );
    }

    fn tick(&self, open: &mut HashMap<(SessionId, RequestId), Open>) {
        let now = Instant::now();
        let keys: Vec<_> = open.keys().cloned().collect();
        for key in keys {
            let Some(item) = open.get(&key) else { continue };
            let waiting = self
                .read
                .with_session(&key.0, |r| moments::still_waiting(r, &item.opening))
                .unwrap_or(false);
            if !waiting {
                if let Some(item) = open.remove(&key) {
                    if let Some(before) = item.announced {
                        self.settle(&item.opening, before);
                    }
                }
                continue;
            }
            if item.announced.is_none() && item.due <= now {
                let outgoing = Arc::new(self.outgoing(&item.opening, NoticeState::Waiting));
                let handles = self
                    .sinks
                    .iter()
                    .map(|sink| tokio::spawn(sink.deliver(outgoing.clone())))
                    .collect();
                if let Some(item) = open.get_mut(&key) {
                    item.announced = Some(handles);
                }
            }
        }
    }

    fn settle(&self, opening: &Opening, before: Vec<JoinHandle<()>>) {
        let outgoing = Arc::new(self.outgoing(opening, NoticeState::Settled));
        for (sink, before) in self.sinks.iter().zip(before) {
            let sink = sink.clone();
            let outgoing = outgoing.clone();
            tokio::spawn(async move {
                // Per item, "settled" never overtakes its "waiting".
                let _ = before.await;
                sink.deliver(outgoing).await;
            });
        }
    }

    fn outgoing(&self, opening: &Opening, state: NoticeState) -> Outgoing {
        let (label, owner, settled) = self
            .read
            .with_session(&opening.session_id, |r| {
                (
                    moments::session_label(Some(r), &opening.session_id),
                    r.session.user.clone(),
                    moments::settlement(Some(r), opening),
                )
            })
            .unwrap_or_else(|| {
                (
                    opening.session_id.to_string(),
                    None,
                    moments::settlement(None, opening),
                )
            });
        let (outcome, by) = match state {
            NoticeState::Waiting => (None, None),
            NoticeState::Settled => (Some(settled.0), settled.1),
        };
        Outgoing {
            notice: Notice {
                id: crate::core::ops::new_id(),
                state,
                moment: opening.moment,
                session_id: opening.session_id.clone(),
                session_label: label.clone(),
                item_id: opening.item_id.clone(),
                title: moments::title(opening.moment, &label),
                message: opening.message.clone(),
                url: item_url(&self.public_url, &opening.session_id),
                since: opening.since,
                at: Utc::now(),
                outcome,
                by,
            },
            owner,
        }
    }
}

/// The page's link to a session (its items are shown in its detail).
pub fn item_url(base: &str, session: &SessionId) -> String {
    let encoded: String = session
        .as_str()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{}/#/sessions/{encoded}", base.trim_end_matches('/'))
}
