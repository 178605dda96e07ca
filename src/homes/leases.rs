//! The homes this process holds, in memory: what a request's routing, and every fenced write,
//! look up (no round trip), and what the renewals keep alive.

use actors::model::UserId;
use prometheus::IntGauge;
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Lease {
    epoch: i64,
    /// Held until then for sure: the renewal that set it was sent before the primary's clock
    /// started the lease (a paused process sees it pass).
    valid_until: Instant,
    /// Being let go: no request is served on it and no write fenced with it.
    releasing: bool,
    /// When a request last used it (milliseconds since `Leases::started`).
    used: AtomicU64,
}

pub(super) struct Leases {
    map: RwLock<HashMap<UserId, Lease>>,
    started: Instant,
    held: IntGauge,
}

impl Leases {
    pub(super) fn new(held: IntGauge) -> Self {
        held.set(0);
        Self { map: RwLock::default(), started: Instant::now(), held }
    }

    fn millis_since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn count(&self, map: &HashMap<UserId, Lease>) {
        self.held.set(i64::try_from(map.len()).unwrap_or(i64::MAX));
    }

    /// Whether `user`'s home is here for sure right now (marked as used).
    pub(super) fn serves(&self, user: UserId) -> bool {
        let map = actors::sync::read(&self.map);
        match map.get(&user) {
            Some(lease) if !lease.releasing && lease.valid_until > Instant::now() => {
                lease.used.store(self.millis_since_start(), Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// The epoch `user`'s home is held with (lapsed or not: the primary decides), unless it is
    /// not held here or being let go.
    pub(super) fn epoch(&self, user: UserId) -> Option<i64> {
        actors::sync::read(&self.map).get(&user).filter(|lease| !lease.releasing).map(|lease| lease.epoch)
    }

    /// Hold `user`'s home with `epoch` until `valid_until`; the epoch held before, if any.
    pub(super) fn hold(&self, user: UserId, epoch: i64, valid_until: Instant) -> Option<i64> {
        let mut map = actors::sync::write(&self.map);
        let used = AtomicU64::new(self.millis_since_start());
        let before = map.insert(user, Lease { epoch, valid_until, releasing: false, used }).map(|l| l.epoch);
        self.count(&map);
        before
    }

    /// Renewed: held with `epoch` until `valid_until` (unless it changed meanwhile).
    pub(super) fn renewed(&self, user: UserId, epoch: i64, valid_until: Instant) {
        if let Some(lease) = actors::sync::write(&self.map).get_mut(&user)
            && lease.epoch == epoch
            && !lease.releasing
        {
            lease.valid_until = valid_until;
        }
    }

    /// Forget `user`'s home if it is still held with `epoch` (`None`: whatever the epoch), not
    /// being let go; whether it was.
    pub(super) fn lose(&self, user: UserId, epoch: Option<i64>) -> bool {
        let mut map = actors::sync::write(&self.map);
        let held = map.get(&user).is_some_and(|l| !l.releasing && epoch.is_none_or(|e| e == l.epoch));
        if held {
            map.remove(&user);
            self.count(&map);
        }
        held
    }

    /// Start letting go of `user`'s home: its epoch, if it was held.
    pub(super) fn start_release(&self, user: UserId) -> Option<i64> {
        let mut map = actors::sync::write(&self.map);
        let lease = map.get_mut(&user).filter(|l| !l.releasing)?;
        lease.releasing = true;
        Some(lease.epoch)
    }

    /// Let go (the release was written): forget it if it is still being let go with `epoch`.
    pub(super) fn released(&self, user: UserId, epoch: i64) {
        let mut map = actors::sync::write(&self.map);
        if map.get(&user).is_some_and(|l| l.releasing && l.epoch == epoch) {
            map.remove(&user);
            self.count(&map);
        }
    }

    /// The homes held (not being let go), with their epochs.
    pub(super) fn held(&self) -> Vec<(UserId, i64)> {
        let map = actors::sync::read(&self.map);
        map.iter().filter(|(_, l)| !l.releasing).map(|(user, l)| (*user, l.epoch)).collect()
    }

    /// The homes being let go whose release is still to be written.
    pub(super) fn releasing(&self) -> Vec<(UserId, i64)> {
        let map = actors::sync::read(&self.map);
        map.iter().filter(|(_, l)| l.releasing).map(|(user, l)| (*user, l.epoch)).collect()
    }

    /// Homes held that no request has used for `idle`.
    pub(super) fn unused_for(&self, idle: Duration) -> Vec<UserId> {
        let now = self.millis_since_start();
        let idle = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        let map = actors::sync::read(&self.map);
        map.iter()
            .filter(|(_, l)| !l.releasing && now.saturating_sub(l.used.load(Ordering::Relaxed)) >= idle)
            .map(|(user, _)| *user)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_serves_until_it_lapses_and_is_let_go_in_two_steps() {
        let leases = Leases::new(IntGauge::new("h", "h").unwrap());
        let (user, later) = (UserId::new(), Instant::now() + Duration::from_secs(60));
        assert!(!leases.serves(user) && leases.epoch(user).is_none());
        assert_eq!(leases.hold(user, 3, later), None);
        assert!(leases.serves(user));
        assert_eq!(leases.held.get(), 1);
        // Lapsed: no request is served on it, but writes are still fenced with its epoch.
        leases.renewed(user, 3, Instant::now());
        assert!(!leases.serves(user));
        assert_eq!(leases.epoch(user), Some(3));
        leases.renewed(user, 3, later);
        // A loss with another epoch is a newer claim's business.
        assert!(!leases.lose(user, Some(2)));
        assert_eq!(leases.start_release(user), Some(3));
        assert!(!leases.serves(user) && leases.epoch(user).is_none(), "nothing on a home being let go");
        assert_eq!(leases.releasing(), [(user, 3)]);
        assert!(!leases.lose(user, None), "a release is not a loss");
        leases.released(user, 3);
        assert!(leases.releasing().is_empty());
        assert_eq!(leases.held.get(), 0);
        assert_eq!(leases.hold(user, 4, later), None);
        assert!(leases.lose(user, None));
        assert!(leases.unused_for(Duration::ZERO).is_empty());
    }
}
