//! Two futures run side by side, each polled only when its own waker fired.
//!
//! A socket's writer and its task share one spawned future. With a plain `select`,
//! every wake-up polls both: each live frame the hub queues would poll the task's
//! four-way `select!` (its reader, the gate, the heartbeat's timer, the shutdown
//! watch) for nothing, and each frame the client sends would poll the writer. Here each
//! side gets a waker of its own that marks it before waking the shared future, and a
//! poll runs only the marked sides.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::Either;
use futures_util::task::AtomicWaker;

/// One side's waker: marks the side, then wakes the shared future.
#[derive(Default)]
struct Mark {
    woken: AtomicBool,
    parent: AtomicWaker,
}

impl Wake for Mark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.parent.wake();
    }
}

struct Side {
    mark: Arc<Mark>,
    waker: Waker,
}

impl Side {
    fn new() -> Self {
        let mark = Arc::new(Mark::default());
        // Polled once at the start, like any future.
        mark.woken.store(true, Ordering::Relaxed);
        Self {
            waker: Waker::from(mark.clone()),
            mark,
        }
    }

    /// Polls `future` if this side was woken since its last poll.
    fn poll<F: Future>(&self, parent: &Waker, future: Pin<&mut F>) -> Poll<F::Output> {
        self.mark.parent.register(parent);
        if !self.mark.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        future.poll(&mut Context::from_waker(&self.waker))
    }
}

/// Resolves with the output of whichever of `a` and `b` finishes first, and the other,
/// unfinished (as `futures_util::future::select` does).
pub async fn select<A, B>(mut a: Pin<&mut A>, mut b: Pin<&mut B>) -> Either<A::Output, B::Output>
where
    A: Future,
    B: Future,
{
    let (side_a, side_b) = (Side::new(), Side::new());
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(out) = side_a.poll(cx.waker(), a.as_mut()) {
            return Poll::Ready(Either::Left(out));
        }
        if let Poll::Ready(out) = side_b.poll(cx.waker(), b.as_mut()) {
            return Poll::Ready(Either::Right(out));
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts its polls; finishes once `open` is set, woken through the waker it kept.
    struct Counted {
        polls: Rc<Cell<usize>>,
        open: Rc<Cell<bool>>,
        waker: Rc<Cell<Option<Waker>>>,
    }

    impl Future for Counted {
        type Output = usize;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls.set(self.polls.get() + 1);
            if self.open.get() {
                return Poll::Ready(self.polls.get());
            }
            self.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        }
    }

    /// What a test sees of a [`Counted`].
    struct Handles {
        polls: Rc<Cell<usize>>,
        open: Rc<Cell<bool>>,
        waker: Rc<Cell<Option<Waker>>>,
    }

    fn counted() -> (Counted, Handles) {
        let (polls, open, waker) = (Rc::default(), Rc::default(), Rc::default());
        let future = Counted {
            polls: Rc::clone(&polls),
            open: Rc::clone(&open),
            waker: Rc::clone(&waker),
        };
        (future, Handles { polls, open, waker })
    }

    #[tokio::test]
    async fn a_wake_polls_only_the_side_it_belongs_to() {
        let (a, seen_a) = counted();
        let (b, seen_b) = counted();
        let (polls_a, open_a, waker_a) = (seen_a.polls, seen_a.open, seen_a.waker);
        let (polls_b, waker_b) = (seen_b.polls, seen_b.waker);
        let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
        let both = select(a.as_mut(), b.as_mut());
        let mut both = std::pin::pin!(both);
        let noop = Waker::noop();
        let mut cx = Context::from_waker(noop);
        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            (polls_a.get(), polls_b.get()),
            (1, 1),
            "each polled once at first"
        );
        for _ in 0..5 {
            if let Some(waker) = waker_b.take() {
                waker.wake();
            }
            assert!(both.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(polls_a.get(), 1, "b's wakes never poll a");
        assert_eq!(polls_b.get(), 6);
        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!((polls_a.get(), polls_b.get()), (1, 6), "no wake, no poll");
        open_a.set(true);
        waker_a.take().expect("a kept its waker").wake();
        match both.as_mut().poll(&mut cx) {
            Poll::Ready(Either::Left(polls)) => assert_eq!(polls, 2),
            other => panic!("expected a to finish, got {:?}", other.map(|_| ())),
        }
        assert_eq!(polls_b.get(), 6);
    }
}
