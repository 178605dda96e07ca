//! How many WebSockets each user has open, with a cap: a slot is taken before the upgrade and
//! given back when the socket ends, so one user cannot open hundreds and have every event
//! fanned out to all of them.

use actors::model::UserId;
use actors::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct SocketSlots {
    max_per_user: usize,
    open: Mutex<HashMap<UserId, usize>>,
}

/// One open socket of a user; the slot is freed when this is dropped.
pub struct SocketSlot {
    slots: Arc<SocketSlots>,
    user: UserId,
}

impl SocketSlots {
    pub fn new(max_per_user: usize) -> Arc<Self> {
        Arc::new(Self { max_per_user: max_per_user.max(1), open: Mutex::new(HashMap::new()) })
    }

    /// A slot for `user`, or `None` when they already have the most allowed.
    pub fn take(self: &Arc<Self>, user: UserId) -> Option<SocketSlot> {
        let mut open = lock(&self.open);
        let count = open.entry(user).or_insert(0);
        if *count >= self.max_per_user {
            return None;
        }
        *count += 1;
        Some(SocketSlot { slots: self.clone(), user })
    }

    pub fn limit(&self) -> usize {
        self.max_per_user
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.slots.open);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_user_and_come_back() {
        let slots = SocketSlots::new(2);
        let (a, b) = (UserId::new(), UserId::new());
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        assert!(slots.take(a).is_none());
        assert!(slots.take(b).is_some());
        drop(first);
        assert!(slots.take(a).is_some());
        assert!(slots.open.lock().unwrap().get(&b).is_none(), "no entry is kept for a user with none open");
    }
}
