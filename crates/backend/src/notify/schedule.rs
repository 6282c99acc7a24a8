//! The notifier's task: the rules for noise. Every opening waits out the quiet delay;
//! if the item still waits then (by the read model), one "waiting" notice goes to every
//! sink; once it stops waiting, one "settled" notice follows, and only for items that
//! were announced. Deliveries of one item are ordered: its "settled" starts only after
//! its "waiting" was delivered or given up, on every sink; different items never wait
//! for each other. With several instances on one NATS stream, every instance tracks
//! every item but only the holder of its claim ([`super::claim`]) sends its notices.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chainwatch_shared::{Notice, NoticeState, RequestId, SessionId, WorkspaceEvent};
use chrono::Utc;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::claim::{Claim, Claims};
use super::moments::{self, Opening};
use crate::core::ReadModel;
use crate::store::LoggedEvent;

/// Most items tracked at once; past it the oldest unannounced one is forgotten.
pub const MAX_OPEN: usize = 10_000;
/// How often announced items are checked for settling.
const SETTLE_POLL: Duration = Duration::from_millis(250);
/// How long a claim that NATS could not answer waits before it is asked again.
const CLAIM_RETRY: Duration = Duration::from_secs(2);
/// Claims for a settled notice tried before the item is given up (about 5 minutes of
/// NATS not answering).
const SETTLE_TRIES: u32 = 150;

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
    /// The "waiting" deliveries, one per sink, once announced (empty when another
    /// instance announced it: this one only stands by to settle it if that one died).
    announced: Option<Vec<JoinHandle<()>>>,
    /// Whether this instance announced it.
    mine: bool,
    /// Once it stopped waiting: when to claim its settled notice, and tries so far.
    settling: Option<(Instant, u32)>,
}

impl Open {
    fn new(opening: Opening, due: Instant) -> Self {
        Self {
            opening,
            due,
            announced: None,
            mine: false,
            settling: None,
        }
    }
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
    /// Who sends each item's notices when instances share a stream.
    pub claims: Claims,
    /// How long an instance that did not announce an item waits, once the item
    /// settled, before it settles it itself (the announcing one may have died).
    pub takeover: Duration,
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
            self.tick(&mut open).await;
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
                    .or_insert_with(|| Open::new(opening, due));
            }
        }
    }

    fn next_wake(&self, open: &HashMap<(SessionId, RequestId), Open>) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        open.values()
            .map(|o| match (&o.announced, o.settling) {
                (None, _) => o.due,
                (Some(_), Some((at, _))) => at,
                (Some(_), None) => Instant::now() + SETTLE_POLL,
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
        open.insert(key, Open::new(opening, Instant::now() + self.quiet));
    }

    async fn tick(&self, open: &mut HashMap<(SessionId, RequestId), Open>) {
        let now = Instant::now();
        let keys: Vec<_> = open.keys().cloned().collect();
        // Once NATS did not answer a claim, the rest of this round waits for the next
        // one instead of each waiting out its own timeout.
        let mut reachable = true;
        for key in keys {
            let Some(item) = open.get_mut(&key) else {
                continue;
            };
            let waiting = item.settling.is_none()
                && self
                    .read
                    .with_session(&key.0, |r| moments::still_waiting(r, &item.opening))
                    .unwrap_or(false);
            if !waiting {
                if item.announced.is_none() {
                    if !self.claims.shared() {
                        open.remove(&key);
                        continue;
                    }
                    // Settled before this instance's quiet delay ran out: another
                    // instance may have announced it and died since. Stand by as for
                    // an item announced elsewhere (a claim finds nothing to settle when
                    // nobody announced it).
                    item.announced = Some(Vec::new());
                }
                let (at, tries) = *item.settling.get_or_insert_with(|| {
                    // The announcing instance settles at once; the others stand by.
                    let wait = if item.mine {
                        Duration::ZERO
                    } else {
                        self.takeover
                    };
                    (now + wait, 0)
                });
                if at > now {
                    continue;
                }
                let claim = if reachable {
                    self.claims.settle(&key.0, &key.1).await
                } else {
                    Claim::Unavailable
                };
                reachable &= claim != Claim::Unavailable;
                match claim {
                    Claim::Won => {
                        if let Some(item) = open.remove(&key) {
                            self.settle(&item.opening, item.announced.unwrap_or_default());
                        }
                    }
                    Claim::Lost => {
                        open.remove(&key);
                    }
                    Claim::Unavailable if tries + 1 >= SETTLE_TRIES => {
                        tracing::warn!(session = %key.0, item = %key.1, "gave up settling a notification: claims unavailable");
                        open.remove(&key);
                    }
                    Claim::Unavailable => {
                        item.settling = Some((Instant::now() + CLAIM_RETRY, tries + 1));
                    }
                }
                continue;
            }
            if item.announced.is_none() && item.due <= now {
                let claim = if reachable {
                    self.claims.announce(&key.0, &key.1).await
                } else {
                    Claim::Unavailable
                };
                reachable &= claim != Claim::Unavailable;
                match claim {
                    Claim::Won => {
                        let outgoing = Arc::new(self.outgoing(&item.opening, NoticeState::Waiting));
                        let handles = self
                            .sinks
                            .iter()
                            .map(|sink| tokio::spawn(sink.deliver(outgoing.clone())))
                            .collect();
                        item.announced = Some(handles);
                        item.mine = true;
                    }
                    Claim::Lost => item.announced = Some(Vec::new()),
                    Claim::Unavailable => item.due = Instant::now() + CLAIM_RETRY,
                }
            }
        }
    }

    fn settle(&self, opening: &Opening, before: Vec<JoinHandle<()>>) {
        let outgoing = Arc::new(self.outgoing(opening, NoticeState::Settled));
        let mut before = before.into_iter();
        for sink in &self.sinks {
            let sink = sink.clone();
            let outgoing = outgoing.clone();
            // Taken over from another instance: there is no "waiting" here to wait for.
            let before = before.next();
            tokio::spawn(async move {
                // Per item, "settled" never overtakes its "waiting".
                if let Some(before) = before {
                    let _ = before.await;
                }
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
