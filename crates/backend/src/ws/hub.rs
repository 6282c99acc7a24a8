//! The socket hub: who is connected and on which topics, and the fan-out of committed
//! events. Every socket is on the global `sessions` topic; a socket subscribed to a
//! session also gets that session's other events. Each event is encoded into its frame
//! once and the same bytes go to every recipient.
//!
//! Events that are not global still change what lists show (a session's counts). The
//! hub notes which sessions had events (`dirty`; global ones too, see `publish`), and [`Hub::flush_progress`],
//! called every progress interval, sends each of them one `progress` frame with the
//! read model's counts to every socket that may see it: coalesced, so a busy session
//! costs each socket at most one frame per interval however many events it writes.
//!
//! Every client has a bounded queue. The hub never waits on one: a client whose queue
//! is full is removed on the spot and told (through its `lagged` flag) to send `resync`
//! and close, so a slow client can never slow the commit thread or anyone else.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use chainwatch_shared::{ServerMessage, SessionId};

use super::queue::LiveQueue;
use crate::core::{Publisher, Reach, ReadModel};
use crate::store::LoggedEvent;

/// A registered connection's end of the hub.
pub struct Registration {
    /// The client's id in the hub.
    pub id: u64,
    /// Live frames for the client (WebSocket frames, framed once for every
    /// recipient); closed when the hub drops the client or shuts down.
    pub queue: Arc<LiveQueue>,
    /// The newest seq published when the client registered: global events after it
    /// arrive live.
    pub hello_seq: u64,
}

/// Why the hub refused.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Too many sockets.
    #[error("the server has {0} sockets open, its limit")]
    Full(usize),
    /// Too many sockets from one address.
    #[error("this address has {0} sockets open, its limit")]
    FullForAddress(usize),
    /// A user-scoped socket asked for another user's session.
    #[error("this token may not see that session")]
    Forbidden,
    /// Too many subscriptions on this socket.
    #[error("a socket may subscribe to at most {0} sessions")]
    TooManySubscriptions(usize),
    /// The client was dropped (too slow) or the hub shut down.
    #[error("the connection is no longer registered")]
    Gone,
}

struct Client {
    queue: Arc<LiveQueue>,
    subscriptions: HashSet<SessionId>,
    /// Whose sessions reach the socket.
    reach: Reach,
    /// Counted against the per-address limit (remote peers only).
    address: Option<IpAddr>,
}

#[derive(Default)]
struct Registry {
    clients: HashMap<u64, Client>,
    topics: HashMap<SessionId, HashSet<u64>>,
    published_seq: u64,
    next_id: u64,
    closed: bool,
    per_address: HashMap<IpAddr, usize>,
    /// Sessions with a published non-global event not yet announced by `progress`.
    dirty: HashSet<SessionId>,
}

impl Registry {
    fn drop_client(&mut self, id: u64) {
        if let Some(client) = self.clients.remove(&id) {
            client.queue.close();
            if let Some(address) = client.address {
                if let Some(count) = self.per_address.get_mut(&address) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.per_address.remove(&address);
                    }
                }
            }
            for session in client.subscriptions {
                if let Some(subscribers) = self.topics.get_mut(&session) {
                    subscribers.remove(&id);
                    if subscribers.is_empty() {
                        self.topics.remove(&session);
                    }
                }
            }
        }
    }
}

/// Limits of the hub.
#[derive(Debug, Clone)]
pub struct HubLimits {
    /// Frames queued per client.
    pub queue_frames: usize,
    /// Bytes of frames queued per client; past it the client is dropped with `resync`,
    /// as past `queue_frames`.
    pub queue_bytes: usize,
    /// Clients at once.
    pub max_clients: usize,
    /// Subscriptions per client.
    pub max_subscriptions: usize,
    /// Clients per remote address.
    pub max_per_ip: usize,
}

/// The hub. Shared by the commit thread (publishing) and connection tasks.
pub struct Hub {
    registry: Mutex<Registry>,
    limits: HubLimits,
    /// Whose each session is comes from the read model, the same state the REST
    /// routes check, so the socket and REST cannot disagree. Set once at start-up.
    read: OnceLock<Arc<ReadModel>>,
}

/// An event's live frame, as the socket's body writes it: the WebSocket text frame
/// of `{"type":"event","event":…}`, framed once per event for every recipient.
pub fn live_frame(json: &str) -> Bytes {
    super::frame::text_frame(&["{\"type\":\"event\",\"event\":", json, "}"])
}

impl Hub {
    /// A hub whose log's newest seq is `latest_seq`.
    pub fn new(limits: HubLimits, latest_seq: u64) -> Self {
        Self {
            registry: Mutex::new(Registry {
                published_seq: latest_seq,
                ..Registry::default()
            }),
            limits,
            read: OnceLock::new(),
        }
    }

    /// Gives the hub the read model it asks who owns a session (at start-up, before
    /// any socket connects).
    pub fn attach(&self, read: Arc<ReadModel>) {
        let _ = self.read.set(read);
    }

    /// The user a session belongs to (`None` inside: it has none), or `None` when the
    /// session is unknown.
    fn owner(&self, session: &SessionId) -> Option<Option<String>> {
        self.read
            .get()?
            .with_session(session, |r| r.session.user.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the registry half-updated in a
        // way that matters more than losing every socket, so keep serving.
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a socket of `reach` may see `session` (the rule is [`Reach`]'s).
    pub fn visible(&self, reach: &Reach, session: &SessionId) -> bool {
        match reach {
            Reach::All => true,
            Reach::User(_) => self
                .owner(session)
                .is_some_and(|owner| reach.sees(owner.as_deref())),
        }
    }

    /// Adds a client on the global topic. `reach` limits it to one user's sessions;
    /// `address` (remote peers only) counts against the per-address limit.
    pub fn register(
        &self,
        reach: Reach,
        address: Option<IpAddr>,
    ) -> Result<Registration, HubError> {
        let mut registry = self.lock();
        if registry.closed || registry.clients.len() >= self.limits.max_clients {
            return Err(HubError::Full(self.limits.max_clients));
        }
        if let Some(address) = address {
            let count = registry.per_address.entry(address).or_default();
            if *count >= self.limits.max_per_ip {
                return Err(HubError::FullForAddress(self.limits.max_per_ip));
            }
            *count += 1;
        }
        let queue = Arc::new(LiveQueue::default());
        registry.next_id += 1;
        let id = registry.next_id;
        registry.clients.insert(
            id,
            Client {
                queue: queue.clone(),
                subscriptions: HashSet::new(),
                reach,
                address,
            },
        );
        Ok(Registration {
            id,
            queue,
            hello_seq: registry.published_seq,
        })
    }

    /// Removes a client.
    pub fn unregister(&self, id: u64) {
        self.lock().drop_client(id);
    }

    /// Adds a session's topic to a client; returns the newest published seq, after
    /// which that session's events arrive live (replay covers what came before).
    pub fn subscribe(&self, id: u64, session: &SessionId) -> Result<u64, HubError> {
        let mut registry = self.lock();
        let published = registry.published_seq;
        let reach = &registry.clients.get(&id).ok_or(HubError::Gone)?.reach;
        if !self.visible(reach, session) {
            return Err(HubError::Forbidden);
        }
        let client = registry.clients.get_mut(&id).ok_or(HubError::Gone)?;
        if !client.subscriptions.contains(session)
            && client.subscriptions.len() >= self.limits.max_subscriptions
        {
            return Err(HubError::TooManySubscriptions(
                self.limits.max_subscriptions,
            ));
        }
        client.subscriptions.insert(session.clone());
        registry
            .topics
            .entry(session.clone())
            .or_default()
            .insert(id);
        Ok(published)
    }

    /// Drops a session's topic from a client.
    pub fn unsubscribe(&self, id: u64, session: &SessionId) {
        let mut registry = self.lock();
        if let Some(client) = registry.clients.get_mut(&id) {
            client.subscriptions.remove(session);
        }
        if let Some(subscribers) = registry.topics.get_mut(session) {
            subscribers.remove(&id);
            if subscribers.is_empty() {
                registry.topics.remove(session);
            }
        }
    }

    /// Sockets open now.
    pub fn client_count(&self) -> usize {
        self.lock().clients.len()
    }

    /// Queues `frame` for every client that may see `session` (the global events' rule);
    /// returns the clients whose queue was full (the caller drops them).
    fn deliver_global(&self, registry: &Registry, session: &SessionId, frame: &Bytes) -> Vec<u64> {
        let owner = self.owner(session).flatten();
        let mut lagging = Vec::new();
        for (&id, client) in &registry.clients {
            if !client.reach.sees(owner.as_deref()) {
                continue;
            }
            if !client
                .queue
                .push(frame, self.limits.queue_frames, self.limits.queue_bytes)
            {
                lagging.push(id);
            }
        }
        lagging
    }

    /// Sends one `progress` frame per session that had non-global events since the last
    /// call, with the counts `read` holds for it now, to every socket that may see it.
    ///
    /// Under the hub's lock nothing is published meanwhile, so a session whose every
    /// event up to its `lastSeq` is published has counts that match exactly what the
    /// sockets were sent; a session the read model is already ahead on (its batch is
    /// being published) waits for the next call. Returns how many frames went out.
    pub fn flush_progress(&self, read: &ReadModel) -> usize {
        let mut registry = self.lock();
        if registry.dirty.is_empty() {
            return 0;
        }
        let published = registry.published_seq;
        let dirty: Vec<SessionId> = registry.dirty.iter().cloned().collect();
        let mut sent = 0;
        for session_id in dirty {
            let Some(session) = read.session(&session_id) else {
                registry.dirty.remove(&session_id);
                continue;
            };
            if session.last_seq > published {
                continue;
            }
            registry.dirty.remove(&session_id);
            let message = ServerMessage::Progress {
                session_id: session_id.clone(),
                seq: session.last_seq,
                counts: session.counts,
                updated_at: session.updated_at,
                first_prompt: session.first_prompt,
            };
            let frame = match serde_json::to_string(&message) {
                Ok(json) => super::frame::text_frame(&[&json]),
                Err(error) => {
                    tracing::error!(%error, "progress frame not encodable");
                    continue;
                }
            };
            sent += 1;
            for id in self.deliver_global(&registry, &session_id, &frame) {
                tracing::warn!(client = id, "socket too slow; dropping it with resync");
                registry.drop_client(id);
            }
        }
        sent
    }

    /// Tells every client to close and refuses new ones (shutdown).
    pub fn close_all(&self) {
        let mut registry = self.lock();
        registry.closed = true;
        for (_, client) in registry.clients.drain() {
            client.queue.close();
        }
        registry.topics.clear();
    }
}

impl Publisher for Hub {
    fn publish(&self, events: &[LoggedEvent]) {
        let mut registry = self.lock();
        let mut lagging: Vec<u64> = Vec::new();
        for event in events {
            registry.published_seq = event.seq;
            let frame = live_frame(&event.json);
            let (max_frames, max_bytes) = (self.limits.queue_frames, self.limits.queue_bytes);
            let mut deliver = |id: u64, client: &Client| {
                if !client.queue.push(&frame, max_frames, max_bytes) {
                    lagging.push(id);
                }
            };
            // A global event may change counts the web cannot fold alone (a permission
            // denied from the page settles its tool call: core/calls.rs), so it marks
            // its session for a progress frame too.
            if !registry.dirty.contains(&event.session_id) {
                registry.dirty.insert(event.session_id.clone());
            }
            if event.global {
                // The read model already holds this commit: the owner is current.
                let owner = self.owner(&event.session_id).flatten();
                for (&id, client) in &registry.clients {
                    if client.reach.sees(owner.as_deref()) {
                        deliver(id, client);
                    }
                }
            } else {
                if let Some(subscribers) = registry.topics.get(&event.session_id) {
                    for id in subscribers {
                        if let Some(client) = registry.clients.get(id) {
                            deliver(*id, client);
                        }
                    }
                }
            }
            for id in lagging.drain(..) {
                tracing::warn!(
                    client = id,
                    seq = event.seq,
                    "socket too slow; dropping it with resync"
                );
                registry.drop_client(id);
            }
        }
    }
}
