//! One socket's queue of live frames: filled by the hub on the publishing thread,
//! emptied by the socket's response body on its worker. Bounded in frames and bytes
//! (`--socket-queue`, `--socket-queue-bytes`): a push past either bound marks the
//! socket as lagging instead of waiting, so a slow client never slows anyone else.
//!
//! Why not a tokio channel: an idle socket's queue holds no buffer at all here (a
//! `VecDeque` grows on demand; tokio's bounded channel allocates its first block of
//! 32 slots up front), the lag flag and the byte count live in the same allocation,
//! and a burst of frames wakes the body once (the waker is taken by the first push
//! and registered again only when the body has emptied the queue).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::task::AtomicWaker;

/// What the body gets from the queue.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A framed WebSocket message to write.
    Frame(Bytes),
    /// The hub dropped the socket: too slow (`lagged`) or shutting down.
    Closed {
        /// Whether it was for being too slow.
        lagged: bool,
    },
}

#[derive(Default)]
struct State {
    frames: VecDeque<Bytes>,
    bytes: usize,
    closed: bool,
}

/// A socket's live queue, shared by the hub and the socket's body.
#[derive(Default)]
pub struct LiveQueue {
    state: Mutex<State>,
    waker: AtomicWaker,
    lagged: AtomicBool,
}

impl LiveQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a queue and two counters, consistent after every statement.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a frame; `false` (and the socket marked lagging, the queue closed) when
    /// it would pass `max_frames` or `max_bytes`.
    pub fn push(&self, frame: &Bytes, max_frames: usize, max_bytes: usize) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        if state.frames.len() >= max_frames || state.bytes + frame.len() > max_bytes {
            self.lagged.store(true, Ordering::Release);
            state.closed = true;
            state.frames.clear();
            state.bytes = 0;
            drop(state);
            self.waker.wake();
            return false;
        }
        state.bytes += frame.len();
        state.frames.push_back(frame.clone());
        drop(state);
        self.waker.wake();
        true
    }

    /// Closes the queue (the hub dropped the socket or shuts down); the body then ends
    /// its live part and tells the socket's task.
    pub fn close(&self) {
        self.lock().closed = true;
        self.waker.wake();
    }

    /// Whether the hub dropped the socket for being too slow.
    pub fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Acquire)
    }

    /// Frames queued now (tests and diagnostics).
    pub fn len(&self) -> usize {
        self.lock().frames.len()
    }

    /// Whether no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next frame, or that the queue is closed; registers the body's waker when
    /// there is neither.
    pub fn poll_next(&self, cx: &Context<'_>) -> Poll<Next> {
        if let Some(next) = self.take() {
            return Poll::Ready(next);
        }
        self.waker.register(cx.waker());
        // A push between the first look and the registration woke no one: look again.
        match self.take() {
            Some(next) => Poll::Ready(next),
            None => Poll::Pending,
        }
    }

    fn take(&self) -> Option<Next> {
        let mut state = self.lock();
        if let Some(frame) = state.frames.pop_front() {
            state.bytes -= frame.len();
            if state.frames.is_empty() && state.frames.capacity() > 64 {
                // A burst's buffer is not kept by an idle socket.
                state.frames = VecDeque::new();
            }
            return Some(Next::Frame(frame));
        }
        state.closed.then(|| Next::Closed {
            lagged: self.lagged(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn frame(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    #[test]
    fn frames_come_out_in_order_and_a_burst_wakes_once() {
        let queue = LiveQueue::default();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let cx = Context::from_waker(&waker);
        assert_eq!(queue.poll_next(&cx), Poll::Pending);
        for text in ["a", "b", "c"] {
            assert!(queue.push(&frame(text), 10, 100));
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "one wake for the burst");
        for text in ["a", "b", "c"] {
            assert_eq!(queue.poll_next(&cx), Poll::Ready(Next::Frame(frame(text))));
        }
        assert_eq!(queue.poll_next(&cx), Poll::Pending);
        assert!(queue.push(&frame("d"), 10, 100));
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn past_either_bound_the_socket_lags_and_the_queue_closes() {
        let queue = LiveQueue::default();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let cx = Context::from_waker(&waker);
        assert!(queue.push(&frame("12345"), 2, 8));
        assert!(!queue.push(&frame("6789"), 2, 8), "9 bytes > 8");
        assert!(queue.lagged());
        assert_eq!(
            queue.poll_next(&cx),
            Poll::Ready(Next::Closed { lagged: true })
        );
        assert!(!queue.push(&frame("x"), 2, 8), "closed");

        let queue = LiveQueue::default();
        assert!(queue.push(&frame("a"), 2, 100));
        assert!(queue.push(&frame("b"), 2, 100));
        assert!(!queue.push(&frame("c"), 2, 100), "3 frames > 2");
        assert!(queue.lagged());
    }

    #[test]
    fn a_closed_queue_delivers_what_it_holds_first() {
        let queue = LiveQueue::default();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let cx = Context::from_waker(&waker);
        assert!(queue.push(&frame("a"), 10, 100));
        queue.close();
        assert_eq!(queue.poll_next(&cx), Poll::Ready(Next::Frame(frame("a"))));
        assert_eq!(
            queue.poll_next(&cx),
            Poll::Ready(Next::Closed { lagged: false })
        );
    }
}
