//! Locks that outlive a panic: a poisoned mutex gives its data back instead of failing open
//! (skipping a limit, handing out an uncounted permit) or refusing every caller from then on.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Lock `mutex`, recovering its data if a thread panicked while holding it. Callers keep their
/// data consistent at every step (a counter, a queue, a token bucket), so what a panic leaves
/// behind is sound to use.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// [`lock`] for reading an `RwLock`.
pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// [`lock`] for writing an `RwLock`.
pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_mutex_still_gives_its_data() {
        let counter = std::sync::Arc::new(Mutex::new(1));
        let held = counter.clone();
        let _ = std::thread::spawn(move || {
            let mut guard = held.lock().unwrap();
            *guard += 1;
            panic!("while holding the lock");
        })
        .join();
        assert!(counter.is_poisoned());
        assert_eq!(*lock(&counter), 2);
    }
}
