//! Password hashing with argon2id, bounded: a hash takes ~0.1–0.2 s of CPU and ~19 MiB, so it
//! runs on `workers` dedicated threads and at most `queue` more hashes wait; beyond that the
//! caller is told to come back (503 + `Retry-After`) instead of the process growing. Dedicated
//! threads matter: on the blocking pool each new thread's allocator arena kept its own 19 MiB.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password checks at once")]
    Busy,
    #[error("could not start a hashing thread")]
    Thread(#[source] std::io::Error),
    #[error("invalid argon2 parameters")]
    Params(#[source] argon2::Error),
    #[error("password hashing failed")]
    Hash(#[source] argon2::password_hash::Error),
    /// The hashing threads stopped (only if one panicked).
    #[error("the hashing threads are gone")]
    WorkersGone,
}

/// Cost and concurrency of password hashing, from config.
#[derive(Clone, Copy, Debug)]
pub struct HashSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once.
    pub workers: usize,
    /// Hashes allowed to wait for a worker.
    pub queue: usize,
}

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// Work for the hashing threads; they end when the last `Hasher` is dropped.
    jobs: mpsc::Sender<Job>,
    /// Hashes running or waiting, at most `workers + queue` (`slots`).
    admitted: Arc<Semaphore>,
    slots: usize,
}

/// `workers` threads that run hashing jobs one at a time each.
fn spawn_workers(workers: usize) -> Result<mpsc::Sender<Job>, HashError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..workers {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                loop {
                    // Take the next job; the lock is held only while waiting for one.
                    let job = actors::sync::lock(&queue).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // every Hasher is gone
                    }
                }
            })
            .map_err(HashError::Thread)?;
    }
    Ok(jobs)
}

impl Hasher {
    pub fn new(settings: HashSettings) -> Result<Self, HashError> {
        let params = Params::new(settings.memory_kib, settings.iterations, settings.parallelism, None)
            .map_err(HashError::Params)?;
        let workers = settings.workers.max(1);
        let slots = workers + settings.queue;
        Ok(Self { params, jobs: spawn_workers(workers)?, admitted: Arc::new(Semaphore::new(slots)), slots })
    }

    /// Hashes running or waiting now, and how many may (for the capacity gauges).
    pub fn slots(&self) -> (usize, usize) {
        (self.slots.saturating_sub(self.admitted.available_permits()), self.slots)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Run `work` on a hashing thread; `Busy` when the workers and the queue are all taken.
    async fn bounded<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let _admitted = self.admitted.try_acquire().map_err(|_| HashError::Busy)?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|_| HashError::WorkersGone)?;
        result.await.map_err(|_| HashError::WorkersGone)
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let argon2 = self.argon2();
        self.bounded(move || argon2.hash_password(password.as_bytes()).map(|h| h.to_string()))
            .await?
            .map_err(HashError::Hash)
    }

    /// `false` for a wrong password or a malformed stored hash. The stored hash carries its
    /// own parameters, so hashes made under older settings still verify.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, HashError> {
        self.bounded(move || {
            PasswordHash::new(&stored)
                .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(workers: usize, queue: usize) -> Hasher {
        Hasher::new(HashSettings { memory_kib: 19 * 1024, iterations: 2, parallelism: 1, workers, queue }).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let h = hasher(2, 2);
        let a = h.hash("correct horse".into()).await.unwrap();
        let b = h.hash("correct horse".into()).await.unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(h.verify("correct horse".into(), a.clone()).await.unwrap());
        assert!(!h.verify("wrong".into(), a).await.unwrap());
        assert!(!h.verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_workers_and_the_queue_callers_are_turned_away() {
        let h = hasher(1, 1);
        let calls: Vec<_> = (0..6)
            .map(|_| {
                tokio::spawn({
                    let h = h.clone();
                    async move { h.hash("pw".into()).await }
                })
            })
            .collect();
        let mut busy = 0;
        for call in calls {
            if matches!(call.await.unwrap(), Err(HashError::Busy)) {
                busy += 1;
            }
        }
        assert!(busy >= 3, "one running and one waiting at most: {busy} of 6 turned away");
    }
}
