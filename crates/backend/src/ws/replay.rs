//! The reading side of a socket replay (`subscribe` with `since`, `resume`): one page
//! of the log read, filtered and framed on a blocking thread, so the socket's task
//! only hands finished chunks of frames to the body.
//!
//! Each event's stored JSON is framed straight from the store's buffers
//! ([`LogReader::visit_capped`]) into a chunk allocated once at its full size: no
//! event is decoded, re-encoded, or copied apart from that one copy into the chunk.
//! Every event is still its own `{"type":"event","event":…}` text frame, as the socket
//! contract says; only the chunks (many frames each) are the unit of hand-off.

use std::sync::Arc;

use bytes::Bytes;
use chainwatch_shared::SessionId;

use super::frame::append_text_frame;
use super::hub::Hub;
use crate::core::Reach;
use crate::store::{LogReader, Scope, StoreError};

/// Events read from the log per page.
pub const REPLAY_PAGE: usize = 4096;

/// A chunk is cut before the frame that would take it past this many bytes (a single
/// larger frame gets a chunk of its own).
pub const REPLAY_CHUNK_BYTES: usize = 64 * 1024;

/// The bytes a frame adds around an event's JSON: the `event` message's wrapper
/// (`{"type":"event","event":` and `}`) and the longest frame header.
const FRAME_OVERHEAD: usize = EVENT_PREFIX.len() + EVENT_SUFFIX.len() + 10;

const EVENT_PREFIX: &str = r#"{"type":"event","event":"#;
const EVENT_SUFFIX: &str = "}";

/// One page of a replay, filtered and framed.
pub struct ReplayPage {
    /// The seq of the last event read (sent or left out); `None` when none was read.
    pub last_read: Option<u64>,
    /// Events framed into `chunks`.
    pub frames: usize,
    /// Complete `event` frames, at most [`REPLAY_CHUNK_BYTES`] per chunk.
    pub chunks: Vec<Bytes>,
}

/// What one replay reads, the same for each of its pages; cheap to clone into the
/// blocking task of each page.
#[derive(Clone)]
pub struct ReplaySource {
    /// The log.
    pub reader: Arc<dyn LogReader>,
    /// The hub, which knows each session's owner.
    pub hub: Arc<Hub>,
    /// Whose sessions the socket may see.
    pub reach: Reach,
    /// The session replayed (`None`: the global topic).
    pub session: Option<SessionId>,
    /// The replay ends at this seq (inclusive).
    pub upto: u64,
    /// Bytes of JSON one page reads at most.
    pub page_bytes: usize,
    /// Global events above this seq were delivered live to the socket, so they are
    /// left out (a session replay; `None`: nothing is left out for that reason).
    pub global_floor: Option<u64>,
}

impl ReplaySource {
    /// Reads the page after `after` (blocking: run it on a blocking thread).
    pub fn read_page(&self, after: u64) -> Result<ReplayPage, StoreError> {
        let scope = match &self.session {
            Some(id) => Scope::Session(id),
            None => Scope::Global,
        };
        let mut page = ReplayPage {
            last_read: None,
            frames: 0,
            chunks: Vec::new(),
        };
        // An unscoped socket sees every session (the rule is `Reach`'s): no owner to
        // look up per event, no session id to build.
        let sees_all = matches!(self.reach, Reach::All);
        let visible = |session: &str| {
            sees_all
                || self
                    .hub
                    .visible(&self.reach, &SessionId(session.to_owned()))
        };
        let mut chunk = Vec::with_capacity(REPLAY_CHUNK_BYTES);
        self.reader.visit_capped(
            scope,
            after,
            self.upto,
            REPLAY_PAGE,
            self.page_bytes,
            &mut |event| {
                page.last_read = Some(event.seq);
                let delivered_live = self
                    .global_floor
                    .is_some_and(|floor| event.global && event.seq > floor);
                if delivered_live || !visible(event.session_id) {
                    return;
                }
                let size = event.json.len() + FRAME_OVERHEAD;
                if !chunk.is_empty() && chunk.len() + size > REPLAY_CHUNK_BYTES {
                    let full = std::mem::replace(
                        &mut chunk,
                        Vec::with_capacity(REPLAY_CHUNK_BYTES.max(size)),
                    );
                    page.chunks.push(Bytes::from(full));
                }
                page.frames += 1;
                append_text_frame(&mut chunk, &[EVENT_PREFIX, event.json, EVENT_SUFFIX]);
            },
        )?;
        if !chunk.is_empty() {
            page.chunks.push(Bytes::from(chunk));
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LogWriter, LoggedEvent, open_sqlite};
    use crate::ws::hub::HubLimits;
    use chainwatch_shared::EventId;

    /// Splits chunks back into frames (RFC 6455 section 5.2: final text frames, unmasked)
    /// and returns their payloads.
    fn frames(chunks: &[Bytes]) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut at = 0;
            while at < chunk.len() {
                assert_eq!(chunk[at], 0x81, "a final text frame");
                let (len, header) = match chunk[at + 1] {
                    126 => (
                        u16::from_be_bytes([chunk[at + 2], chunk[at + 3]]) as usize,
                        4,
                    ),
                    127 => {
                        let mut be = [0u8; 8];
                        be.copy_from_slice(&chunk[at + 2..at + 10]);
                        (u64::from_be_bytes(be) as usize, 10)
                    }
                    short => (short as usize, 2),
                };
                let payload = &chunk[at + header..at + header + len];
                out.push(String::from_utf8(payload.to_vec()).expect("utf-8"));
                at += header + len;
            }
            assert_eq!(at, chunk.len(), "a chunk holds whole frames");
        }
        out
    }

    fn source(reader: Arc<dyn LogReader>, session: Option<&str>, upto: u64) -> ReplaySource {
        let limits = HubLimits {
            queue_frames: 16,
            queue_bytes: 1 << 20,
            max_clients: 4,
            max_subscriptions: 4,
            max_per_ip: 4,
        };
        ReplaySource {
            reader,
            hub: Arc::new(Hub::new(limits, upto)),
            reach: Reach::All,
            session: session.map(|s| SessionId(s.to_owned())),
            upto,
            page_bytes: 8 << 20,
            global_floor: None,
        }
    }

    /// Reads pages as the socket task does; returns every frame's payload.
    fn replay(source: &ReplaySource, mut after: u64) -> Vec<String> {
        let mut payloads = Vec::new();
        loop {
            let page = source.read_page(after).expect("page");
            let Some(last) = page.last_read else { break };
            let framed = frames(&page.chunks);
            assert_eq!(framed.len(), page.frames);
            for chunk in &page.chunks {
                let single = frames(std::slice::from_ref(chunk)).len() == 1;
                assert!(
                    chunk.len() <= REPLAY_CHUNK_BYTES || single,
                    "{}",
                    chunk.len()
                );
            }
            payloads.extend(framed);
            after = last;
            if last >= source.upto {
                break;
            }
        }
        payloads
    }

    #[test]
    fn pages_frame_every_event_in_order_in_bounded_chunks() {
        let dir = tempfile::tempdir().expect("dir");
        let (mut writer, reader) = open_sqlite(&dir.path().join("log.db")).expect("log");
        // Every third event is session-only; event 5,000 is larger than a chunk.
        let count = 3 * REPLAY_PAGE as u64;
        let events: Vec<LoggedEvent> = (1..=count)
            .map(|seq| {
                let text = if seq == 5000 {
                    "x".repeat(100_000)
                } else {
                    "é".repeat(seq as usize % 90)
                };
                LoggedEvent {
                    seq,
                    event_id: EventId(format!("e{seq}")),
                    session_id: SessionId(format!("s{}", seq % 2)),
                    global: seq % 3 != 0,
                    json: Arc::from(format!(r#"{{"seq":{seq},"text":"{text}"}}"#)),
                }
            })
            .collect();
        writer.append(&events).expect("append");
        let reader: Arc<dyn LogReader> = Arc::new(reader);

        let global = replay(&source(reader.clone(), None, count - 7), 10);
        let expected: Vec<String> = events
            .iter()
            .filter(|e| e.global && e.seq > 10 && e.seq <= count - 7)
            .map(|e| format!(r#"{{"type":"event","event":{}}}"#, e.json))
            .collect();
        assert_eq!(global.len(), expected.len());
        assert!(global == expected, "the global topic's frames, in order");

        // A session replay leaves out the global events the socket had live.
        // Pages cut short by their bytes go on from their last event.
        let mut small = source(reader.clone(), None, count);
        small.page_bytes = 10_000;
        assert!(
            replay(&small, 0) == replay(&source(reader.clone(), None, count), 0),
            "pages of 10,000 bytes of JSON frame the same events"
        );

        let mut session = source(reader, Some("s1"), count);
        session.global_floor = Some(6000);
        let replayed = replay(&session, 0);
        let expected: Vec<String> = events
            .iter()
            .filter(|e| e.session_id.as_str() == "s1" && !(e.global && e.seq > 6000))
            .map(|e| format!(r#"{{"type":"event","event":{}}}"#, e.json))
            .collect();
        assert!(
            replayed == expected,
            "the session's frames, live ones left out"
        );
    }
}
