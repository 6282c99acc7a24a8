//! The socket's writer: what goes out on the connection once the upgrade service
//! ([`super::upgrade`]) has taken the stream from actix-http. It merges two sources:
//! the connection task's frames ([`Outbox`]: hello, answers, pings, pongs, the close
//! frame, and replays in chunks of many frames), framed by the task itself; and the
//! hub's live frames, which it takes from the hub's queue itself.
//!
//! Why the live frames bypass the connection task: the hub's `try_send` wakes the
//! socket's task once per burst, every frame is the hub's one shared, already framed
//! `Bytes` (nothing encoded or allocated per recipient), and every frame queued when
//! the writer runs goes out in one vectored `write` (the `Bytes` themselves, not copied
//! into a write buffer: the connection keeps no write buffer at all).
//!
//! Why the task's frames do not go through actix-ws's session: a catch-up of a million
//! events through it cost a channel hop, a frame encoded into a fresh buffer and a write
//! per event (a chunk of framed events costs one of each per 64 KiB), and its channel
//! and body cost every socket 1.9 KiB before the first frame.
//!
//! Ordering: the task's frames go out in the order it queued them, before any live
//! frame queued meanwhile, and the task holds the live frames
//! back ([`Gate::hold`]) until `hello` is sent and while it replays the log, so a live
//! event never overtakes the replay it follows (the seam described in
//! [`super::connection`]). When the hub drops the socket (too slow) or closes it
//! (shutdown), the writer stops taking live frames and tells the task, which queues
//! `resync` or the close frame; the writer ends after the close frame.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use tokio::net::TcpStream;
use tokio::sync::Notify;

#[cfg(test)]
use super::frame::close_frame;
use super::queue::{LiveQueue, Next};

/// Why the writer stopped taking live frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The hub dropped the socket for being too slow: send `resync` and close.
    Lagged,
    /// The hub is closing every socket (shutdown).
    Away,
}

/// What the connection task and the writer share (both run in the socket's one task).
#[derive(Default)]
pub struct Gate {
    /// Live frames held back (before `hello`, during a replay).
    held: Cell<bool>,
    /// The writer, parked while held.
    parked: RefCell<Option<Waker>>,
    ended: Cell<Option<End>>,
    /// Wakes the connection task once `ended` is set.
    on_end: Notify,
}

impl Gate {
    /// A gate that holds live frames until [`Gate::release`] (the task sends `hello`
    /// first).
    pub fn held() -> Rc<Self> {
        let gate = Self::default();
        gate.held.set(true);
        Rc::new(gate)
    }

    /// Holds live frames back until [`Gate::release`].
    pub fn hold(&self) {
        self.held.set(true);
    }

    /// Lets live frames through again (after the frames the task queued meanwhile).
    pub fn release(&self) {
        self.held.set(false);
        if let Some(waker) = self.parked.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Resolves once the writer stopped taking live frames, with why.
    pub async fn ended(&self) -> End {
        loop {
            if let Some(end) = self.ended.get() {
                return end;
            }
            self.on_end.notified().await;
        }
    }

    fn end(&self, end: End) {
        if self.ended.get().is_none() {
            self.ended.set(Some(end));
            self.on_end.notify_one();
        }
    }

    fn park(&self, cx: &Context<'_>) {
        let mut parked = self.parked.borrow_mut();
        match parked.as_ref() {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => *parked = Some(cx.waker().clone()),
        }
    }
}

/// The connection task's frames (and replays, in chunks of framed events), in order.
/// The task bounds it: it waits for [`Outbox::room`] after each chunk.
#[derive(Default)]
pub struct Outbox {
    chunks: RefCell<VecDeque<Bytes>>,
    bytes: Cell<usize>,
    writer: RefCell<Option<Waker>>,
    room: Notify,
    /// The close frame is queued: the writer ends once it is written.
    closing: Cell<bool>,
    /// The writer is gone (the connection failed): nothing queued will be written.
    gone: Cell<bool>,
}

impl Outbox {
    /// Queues a chunk of complete frames for the writer; `false` when the writer is gone
    /// or the close frame was queued before.
    pub fn push(&self, chunk: Bytes) -> bool {
        if self.gone.get() || self.closing.get() {
            return false;
        }
        self.bytes.set(self.bytes.get() + chunk.len());
        self.chunks.borrow_mut().push_back(chunk);
        if let Some(waker) = self.writer.borrow_mut().take() {
            waker.wake();
        }
        true
    }

    /// Queues the close frame, the last one the writer writes.
    pub fn close(&self, frame: Bytes) {
        if self.push(frame) {
            self.closing.set(true);
        }
    }

    /// Resolves once at most `limit` bytes are queued (0: the outbox is drained);
    /// `false` when the writer is gone.
    pub async fn room(&self, limit: usize) -> bool {
        while self.bytes.get() > limit && !self.gone.get() {
            self.room.notified().await;
        }
        !self.gone.get()
    }

    fn poll_take(&self, cx: &Context<'_>) -> Option<Bytes> {
        let chunk = self.chunks.borrow_mut().pop_front();
        match chunk {
            Some(chunk) => {
                self.bytes.set(self.bytes.get() - chunk.len());
                self.room.notify_one();
                Some(chunk)
            }
            None => {
                let mut writer = self.writer.borrow_mut();
                match writer.as_ref() {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *writer = Some(cx.waker().clone()),
                }
                None
            }
        }
    }
}

/// Frames gathered for one vectored `write` at most (well under `IOV_MAX`).
const MAX_SLICES: usize = 64;

/// Bytes gathered for one `write` at most: more than a socket's send buffer takes.
const MAX_GATHER: usize = 256 * 1024;

/// Writes before the writer yields to the worker's other tasks (a client that keeps
/// up with a steady stream of frames must not hold the thread).
const WRITE_BUDGET: usize = 32;

/// The writing half of one socket: takes the outbox's and the hub queue's frames and
/// writes them straight to the stream. Resolves once the close frame is written, or
/// once the connection failed (then the outbox reports itself gone and the task is
/// told, as when the hub closes the socket).
pub struct Writer<'a> {
    stream: &'a TcpStream,
    outbox: Rc<Outbox>,
    live: Arc<LiveQueue>,
    gate: Rc<Gate>,
    /// Frames taken from the sources and not yet fully written; the first may be
    /// partly written already (`Bytes::advance`). Empty, with no allocation, while idle.
    pending: VecDeque<Bytes>,
    pending_bytes: usize,
    /// The outbox's close frame was taken: nothing follows it.
    last: bool,
}

impl<'a> Writer<'a> {
    /// Writes the task's outbox and the hub's queue for this socket to `stream`.
    pub fn new(
        stream: &'a TcpStream,
        outbox: Rc<Outbox>,
        live: Arc<LiveQueue>,
        gate: Rc<Gate>,
    ) -> Self {
        Self {
            stream,
            outbox,
            live,
            gate,
            pending: VecDeque::new(),
            pending_bytes: 0,
            last: false,
        }
    }

    /// The next frame to write, in the order the module's doc describes; `None` when
    /// there is none now (wakers registered) or none ever again.
    fn next_frame(&mut self, cx: &Context<'_>) -> Option<Bytes> {
        if self.last {
            return None;
        }
        // The task's frames first: they precede live ones, and the close frame is last.
        if let Some(chunk) = self.outbox.poll_take(cx) {
            if self.outbox.closing.get() && self.outbox.chunks.borrow().is_empty() {
                self.last = true;
            }
            return Some(chunk);
        }
        if self.outbox.closing.get() {
            self.last = true;
            return None;
        }
        if self.gate.ended.get().is_some() {
            return None;
        }
        if self.gate.held.get() {
            self.gate.park(cx);
            return None;
        }
        match self.live.poll_next(cx) {
            Poll::Ready(Next::Frame(frame)) => Some(frame),
            Poll::Ready(Next::Closed { lagged }) => {
                self.gate.end(if lagged { End::Lagged } else { End::Away });
                None
            }
            Poll::Pending => None,
        }
    }

    /// Writes what is pending once; `Ok(true)` when something was written.
    fn write_once(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match self.stream.poll_write_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (slot, frame) in slices.iter_mut().zip(self.pending.iter()) {
                *slot = IoSlice::new(frame);
                count += 1;
            }
            match self.stream.try_write_vectored(&slices[..count]) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(mut written) => {
                    self.pending_bytes -= written;
                    while written > 0 {
                        let Some(front) = self.pending.front_mut() else {
                            break;
                        };
                        if front.len() <= written {
                            written -= front.len();
                            self.pending.pop_front();
                        } else {
                            front.advance(written);
                            written = 0;
                        }
                    }
                    return Poll::Ready(Ok(()));
                }
                // Readiness was cleared: the next `poll_write_ready` waits for room.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// The connection failed: nothing queued will be written; the task stops waiting
    /// for room and hears that the socket is over.
    fn gone(&mut self) {
        self.pending = VecDeque::new();
        self.pending_bytes = 0;
        self.outbox.gone.set(true);
        self.outbox.chunks.borrow_mut().clear();
        self.outbox.room.notify_waiters();
        self.gate.end(End::Away);
    }
}

impl Future for Writer<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.outbox.gone.get() {
            return Poll::Ready(());
        }
        for _ in 0..WRITE_BUDGET {
            // Gather every frame queued now (up to a bound), then write them together.
            while this.pending.len() < MAX_SLICES && this.pending_bytes < MAX_GATHER {
                let Some(frame) = this.next_frame(cx) else {
                    break;
                };
                this.pending_bytes += frame.len();
                this.pending.push_back(frame);
            }
            if this.pending.is_empty() {
                if this.pending.capacity() > 0 {
                    // An idle socket keeps no queue (one allocation per burst).
                    this.pending = VecDeque::new();
                }
                return if this.last {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                };
            }
            match this.write_once(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(error)) => {
                    tracing::debug!(%error, "socket write failed");
                    this.gone();
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        // More to write: let the worker's other tasks run first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_writer_puts_every_byte_in_order_through_partial_writes() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("address"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let (outbox, live, gate) = (
            Rc::new(Outbox::default()),
            Arc::new(LiveQueue::default()),
            Gate::held(),
        );
        // Far more than the socket's buffers take: most writes are partial.
        let mut expected = Vec::new();
        for i in 0..12u8 {
            let chunk: Vec<u8> = (0..700_001 + usize::from(i))
                .map(|n| (n % 251) as u8 ^ i)
                .collect();
            expected.extend_from_slice(&chunk);
            assert!(outbox.push(Bytes::from(chunk)));
        }
        let close = close_frame(Some(1000), "bye");
        expected.extend_from_slice(&close);
        outbox.close(close);
        assert!(
            !outbox.push(Bytes::from_static(b"late")),
            "nothing after the close"
        );
        let writer = Writer::new(&server, outbox.clone(), live, gate);
        let reader = async {
            let mut received = Vec::new();
            let mut chunk = vec![0u8; 7_000];
            while received.len() < expected.len() {
                let n = client.read(&mut chunk).await.expect("read");
                assert!(n > 0);
                received.extend_from_slice(&chunk[..n]);
                tokio::task::yield_now().await;
            }
            received
        };
        let ((), received) = futures_util::future::join(writer, reader).await;
        assert!(received == expected, "every byte, in order");
        assert!(outbox.chunks.borrow().is_empty());
    }
}
