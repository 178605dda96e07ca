//! Fair permits for a provider: a fixed number of calls at once, handed out round-robin by
//! user when there is a queue, so one user's burst waits its turn instead of making everyone
//! else wait behind all of it (a plain semaphore serves first come, first served).

use crate::model::UserId;
use crate::sync::lock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

pub struct FairPermits {
    inner: Mutex<Inner>,
}

struct Inner {
    free: usize,
    /// Users with waiters, in turn order; each with its waiters, oldest first.
    waiting: VecDeque<(UserId, VecDeque<oneshot::Sender<FairPermit>>)>,
}

/// One call's right to use the provider; given back when dropped.
pub struct FairPermit {
    owner: Arc<FairPermits>,
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        self.owner.release();
    }
}

impl FairPermits {
    pub fn new(permits: usize) -> Arc<Self> {
        Arc::new(Self { inner: Mutex::new(Inner { free: permits.max(1), waiting: VecDeque::new() }) })
    }

    /// Wait for a permit; among waiting users, turns go round.
    pub async fn acquire(self: &Arc<Self>, user: UserId) -> FairPermit {
        let receiver = {
            let mut inner = lock(&self.inner);
            if inner.free > 0 && inner.waiting.is_empty() {
                inner.free -= 1;
                return FairPermit { owner: self.clone() };
            }
            let (sender, receiver) = oneshot::channel();
            match inner.waiting.iter_mut().find(|(u, _)| *u == user) {
                Some((_, queue)) => queue.push_back(sender),
                None => inner.waiting.push_back((user, VecDeque::from([sender]))),
            }
            receiver
        };
        match receiver.await {
            Ok(permit) => permit,
            // Only if `self` were dropped with waiters, which the Arc prevents.
            Err(_) => FairPermit { owner: self.clone() },
        }
    }

    /// A permit came back: give it to the next user in turn, or keep it free.
    fn release(self: &Arc<Self>) {
        let mut inner = lock(&self.inner);
        while let Some((user, mut queue)) = inner.waiting.pop_front() {
            let Some(sender) = queue.pop_front() else { continue };
            if !queue.is_empty() {
                // This user goes to the back of the line with the rest of its waiters.
                inner.waiting.push_back((user, queue));
            }
            match sender.send(FairPermit { owner: self.clone() }) {
                Ok(()) => return,
                // That waiter gave up (its task was aborted): the permit must not come back
                // through Drop while the lock is held; try the next one.
                Err(permit) => std::mem::forget(permit),
            }
        }
        inner.free += 1;
    }

    /// Permits not in use (for tests and metrics).
    pub fn available(&self) -> usize {
        lock(&self.inner).free
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn turns_go_round_between_users() {
        let permits = FairPermits::new(1);
        let (a, b) = (UserId::new(), UserId::new());
        let held = permits.acquire(a).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // A queues five calls, then B one: B must not wait for all five of A's.
        for (i, user) in [a, a, a, a, a, b].into_iter().enumerate() {
            let (permits, order) = (permits.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire(user).await;
                order.lock().unwrap().push(if user == b { "b".to_owned() } else { format!("a{i}") });
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order[..2], ["a0".to_owned(), "b".to_owned()], "{order:?}");
        assert_eq!(permits.available(), 1);
    }

    #[tokio::test]
    async fn a_poisoned_lock_still_counts_permits() {
        let permits = FairPermits::new(1);
        let user = UserId::new();
        let held = permits.acquire(user).await;
        let poisoner = permits.clone();
        let _ = std::thread::spawn(move || {
            let _inner = poisoner.inner.lock().unwrap();
            panic!("poison the permits");
        })
        .join();
        assert!(permits.inner.is_poisoned());
        let waiting = tokio::time::timeout(Duration::from_millis(50), permits.acquire(user)).await;
        assert!(waiting.is_err(), "no second permit while the only one is held");
        drop(held);
        assert_eq!(permits.available(), 1);
        let again = tokio::time::timeout(Duration::from_secs(1), permits.acquire(user)).await.unwrap();
        assert_eq!(permits.available(), 0);
        drop(again);
        assert_eq!(permits.available(), 1);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_lose_the_permit() {
        let permits = FairPermits::new(1);
        let user = UserId::new();
        let held = permits.acquire(user).await;
        let waiting = tokio::spawn({
            let permits = permits.clone();
            async move {
                let _p = permits.acquire(user).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        waiting.abort();
        let _ = waiting.await;
        drop(held);
        assert_eq!(permits.available(), 1);
        let _again = tokio::time::timeout(Duration::from_secs(1), permits.acquire(user)).await.unwrap();
    }
}
