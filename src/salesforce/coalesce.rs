//! Writes of concurrent batches share requests. While one collection request is in flight,
//! the records other batches hand in wait, and leave together in the next request when it
//! ends; a write that finds nothing in flight goes at once. Batching then costs a lone call
//! nothing and happens exactly while Salesforce is the one keeping the batches waiting.
//!
//! The caller whose records reach an idle coalescer leads: it sends its records and those
//! that were waiting, hands each waiting caller its results, and passes the lead to the
//! first caller still waiting when it is done. A leader dropped mid-request (shutdown)
//! passes it on too; the callers whose records it had taken send them again themselves.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;

/// One item's outcome: `R`, or the error of the whole request that carried it.
pub(super) type Outcome<R, E> = Result<R, E>;

pub(super) struct Coalescer<I, R, E> {
    state: Mutex<State<I, R, E>>,
}

struct State<I, R, E> {
    leading: bool,
    waiting: VecDeque<Waiting<I, R, E>>,
}

struct Waiting<I, R, E> {
    items: Vec<I>,
    turn: oneshot::Sender<Turn<R, E>>,
}

enum Turn<R, E> {
    /// The leader sent these items: here is what became of them.
    Answered(Result<Vec<R>, E>),
    /// The lead is this caller's: it sends its items and whatever waits.
    Lead,
}

impl<I: Clone, R, E: Clone> Coalescer<I, R, E> {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                leading: false,
                waiting: VecDeque::new(),
            }),
        }
    }

    /// Sends `items` with `send`, alone or with other callers' items: one outcome per item
    /// in order, or the error of a request that carried one of them. `send` gets every item
    /// of the group and returns one outcome per item, in order.
    pub(super) async fn submit<F, Fut>(&self, items: Vec<I>, send: F) -> Result<Vec<R>, E>
    where
        F: FnOnce(Vec<I>) -> Fut,
        Fut: Future<Output = Vec<Outcome<R, E>>>,
    {
        loop {
            let turn = {
                let mut state = self.lock();
                if !state.leading {
                    state.leading = true;
                    break;
                }
                let (sender, turn) = oneshot::channel();
                state.waiting.push_back(Waiting {
                    items: items.clone(),
                    turn: sender,
                });
                turn
            };
            match turn.await {
                Ok(Turn::Answered(result)) => return result,
                Ok(Turn::Lead) => break,
                // The leader that took these items was dropped before answering.
                Err(_) => continue,
            }
        }
        let _lead = Lead(self);
        let others = std::mem::take(&mut self.lock().waiting);
        let others: Vec<Waiting<I, R, E>> =
            others.into_iter().filter(|w| !w.turn.is_closed()).collect();
        let own = items.len();
        let mut group = items;
        for waiting in &others {
            group.extend(waiting.items.iter().cloned());
        }
        let mut outcomes = send(group).await.into_iter();
        let result = take(&mut outcomes, own);
        for waiting in others {
            let answer = take(&mut outcomes, waiting.items.len());
            // A caller gone meanwhile (shutdown) needs no answer.
            let _ = waiting.turn.send(Turn::Answered(answer));
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<I, R, E>> {
        // The state is a flag and a queue, consistent after every statement: a panic
        // elsewhere while it was held leaves nothing half-done.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The next `count` outcomes: their results, or the first request error among them.
fn take<R, E>(
    outcomes: &mut impl Iterator<Item = Outcome<R, E>>,
    count: usize,
) -> Result<Vec<R>, E> {
    let mut results = Vec::with_capacity(count);
    let mut error = None;
    for outcome in outcomes.take(count) {
        match outcome {
            Ok(result) => results.push(result),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    error.map_or(Ok(results), Err)
}

/// Held by the caller that leads; passes the lead on when it ends, however it ends.
struct Lead<'a, I, R, E>(&'a Coalescer<I, R, E>);

impl<I, R, E> Drop for Lead<'_, I, R, E> {
    fn drop(&mut self) {
        let mut state = self
            .0
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(next) = state.waiting.pop_front() {
            if next.turn.send(Turn::Lead).is_ok() {
                // The first caller still waiting leads; `state.leading` stays set for it.
                return;
            }
        }
        state.leading = false;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::{mpsc, Notify};

    use super::*;

    type Sent = Arc<Mutex<Vec<Vec<u32>>>>;

    /// A coalescer whose requests are recorded and end only when `release` is notified.
    struct Harness {
        coalescer: Coalescer<u32, u32, String>,
        sent: Sent,
        release: Notify,
        started: mpsc::UnboundedSender<()>,
    }

    impl Harness {
        fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<()>) {
            let (started, starts) = mpsc::unbounded_channel();
            let harness = Self {
                coalescer: Coalescer::new(),
                sent: Arc::default(),
                release: Notify::new(),
                started,
            };
            (Arc::new(harness), starts)
        }

        /// Doubles each item; fails the whole request when it carries a 13.
        async fn submit(&self, items: Vec<u32>) -> Result<Vec<u32>, String> {
            self.coalescer
                .submit(items, |group| async move {
                    self.sent.lock().expect("lock").push(group.clone());
                    let _ = self.started.send(());
                    self.release.notified().await;
                    let failed = group.contains(&13);
                    group
                        .into_iter()
                        .map(|n| match failed {
                            true => Err("request refused".to_owned()),
                            false => Ok(n * 2),
                        })
                        .collect()
                })
                .await
        }
    }

    async fn until_waiting(harness: &Harness, count: usize) {
        tokio::time::timeout(Duration::from_secs(5), async {
            while harness.coalescer.lock().waiting.len() < count {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("callers queued");
    }

    #[tokio::test]
    async fn a_lone_write_goes_at_once_and_writes_during_it_go_together_after() {
        let (harness, mut starts) = Harness::new();
        let first = tokio::spawn({
            let h = Arc::clone(&harness);
            async move { h.submit(vec![1, 2]).await }
        });
        starts
            .recv()
            .await
            .expect("the first request starts without waiting");
        let second = tokio::spawn({
            let h = Arc::clone(&harness);
            async move { h.submit(vec![3]).await }
        });
        let third = tokio::spawn({
            let h = Arc::clone(&harness);
            async move { h.submit(vec![4, 5]).await }
        });
        until_waiting(&harness, 2).await;
        harness.release.notify_one();
        assert_eq!(first.await.expect("task"), Ok(vec![2, 4]));
        starts
            .recv()
            .await
            .expect("the waiting writes leave together");
        harness.release.notify_one();
        let answers = (second.await.expect("task"), third.await.expect("task"));
        assert_eq!(answers, (Ok(vec![6]), Ok(vec![8, 10])));
        let mut sent = harness.sent.lock().expect("lock").clone();
        sent[1].sort_unstable();
        assert_eq!(sent, [vec![1, 2], vec![3, 4, 5]]);
        assert!(!harness.coalescer.lock().leading, "idle again");
    }

    #[tokio::test]
    async fn a_failed_request_fails_every_write_it_carried_and_only_those() {
        let (harness, mut starts) = Harness::new();
        let first = tokio::spawn({
            let h = Arc::clone(&harness);
            async move { h.submit(vec![1]).await }
        });
        starts.recv().await.expect("started");
        let mut waiting = Vec::new();
        for items in [vec![13], vec![7]] {
            let h = Arc::clone(&harness);
            waiting.push(tokio::spawn(async move { h.submit(items).await }));
        }
        until_waiting(&harness, 2).await;
        harness.release.notify_one();
        assert_eq!(first.await.expect("task"), Ok(vec![2]));
        starts.recv().await.expect("second request");
        harness.release.notify_one();
        for task in waiting {
            assert_eq!(task.await.expect("task"), Err("request refused".to_owned()));
        }
    }

    #[tokio::test]
    async fn a_leader_dropped_mid_request_passes_the_lead_and_its_followers_send_again() {
        let (harness, mut starts) = Harness::new();
        let leader = tokio::spawn({
            let h = Arc::clone(&harness);
            async move { h.submit(vec![1]).await }
        });
        starts.recv().await.expect("started");
        let follower = tokio::spawn({
            let h = Arc::clone(&harness);
            async move { h.submit(vec![2]).await }
        });
        until_waiting(&harness, 1).await;
        leader.abort();
        assert!(leader.await.expect_err("aborted").is_cancelled());
        starts
            .recv()
            .await
            .expect("the follower leads and sends its own write");
        harness.release.notify_one();
        assert_eq!(follower.await.expect("task"), Ok(vec![4]));
        assert_eq!(*harness.sent.lock().expect("lock"), [vec![1], vec![2]]);
    }
}
