//! The decisions in force, in memory, for the check endpoint: one hash lookup per address,
//! account and host, and a short list of banned ranges. Expiry is read from each entry at
//! lookup, so an expired ban stops answering at once even before the expiry job removes it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{PoisonError, RwLock};

use firebreak_core::{Decision, DecisionKind};
use ipnet::IpNet;
use jiff::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    decision: i64,
    expires_at: Timestamp,
}

#[derive(Debug, Default)]
struct Sets {
    addresses: HashMap<IpAddr, Entry>,
    ranges: Vec<(IpNet, Entry)>,
    accounts: HashMap<String, Entry>,
    hosts: HashMap<String, Entry>,
}

/// What a check found: the decision that applies, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub decision: i64,
    pub expires_at: Timestamp,
}

#[derive(Debug, Default)]
pub struct ActiveIndex {
    sets: RwLock<Sets>,
}

impl ActiveIndex {
    pub fn insert(&self, decision: &Decision) {
        let entry = Entry { decision: decision.id, expires_at: decision.expires_at };
        let mut sets = self.sets.write().unwrap_or_else(PoisonError::into_inner);
        match decision.kind {
            DecisionKind::Ban => {
                if let Ok(ip) = decision.target.parse::<IpAddr>() {
                    sets.addresses.insert(ip, entry);
                } else if let Ok(net) = decision.target.parse::<IpNet>() {
                    sets.ranges.retain(|(_, e)| e.decision != decision.id);
                    sets.ranges.push((net, entry));
                }
            }
            DecisionKind::LockAccount | DecisionKind::RevokeSessions => {
                sets.accounts.insert(decision.target.clone(), entry);
            }
            DecisionKind::IsolateHost => {
                sets.hosts.insert(decision.target.clone(), entry);
            }
        }
    }

    /// Forgets a decision (rolled back or expired), unless a later one took its place.
    pub fn remove(&self, decision: &Decision) {
        let mut sets = self.sets.write().unwrap_or_else(PoisonError::into_inner);
        let mine = |entry: &Entry| entry.decision == decision.id;
        match decision.kind {
            DecisionKind::Ban => {
                if let Ok(ip) = decision.target.parse::<IpAddr>() {
                    if sets.addresses.get(&ip).is_some_and(mine) {
                        sets.addresses.remove(&ip);
                    }
                } else {
                    sets.ranges.retain(|(_, entry)| !mine(entry));
                }
            }
            DecisionKind::LockAccount | DecisionKind::RevokeSessions => {
                if sets.accounts.get(&decision.target).is_some_and(mine) {
                    sets.accounts.remove(&decision.target);
                }
            }
            DecisionKind::IsolateHost => {
                if sets.hosts.get(&decision.target).is_some_and(mine) {
                    sets.hosts.remove(&decision.target);
                }
            }
        }
    }

    pub fn check_ip(&self, ip: IpAddr, now: Timestamp) -> Option<Hit> {
        self.covering_ip(ip, now).into_iter().next()
    }

    /// Every ban in force that covers `ip`: its own address first, then the ranges holding it.
    pub fn covering_ip(&self, ip: IpAddr, now: Timestamp) -> Vec<Hit> {
        let sets = self.sets.read().unwrap_or_else(PoisonError::into_inner);
        let live = |entry: &Entry| (entry.expires_at > now).then_some(hit(entry));
        let own = sets.addresses.get(&ip).and_then(live);
        let ranges = sets.ranges.iter().filter(|(net, _)| net.contains(&ip));
        own.into_iter().chain(ranges.filter_map(|(_, entry)| live(entry))).collect()
    }

    pub fn check_account(&self, name: &str, now: Timestamp) -> Option<Hit> {
        let sets = self.sets.read().unwrap_or_else(PoisonError::into_inner);
        sets.accounts.get(name).filter(|entry| entry.expires_at > now).map(hit)
    }

    pub fn check_host(&self, name: &str, now: Timestamp) -> Option<Hit> {
        let sets = self.sets.read().unwrap_or_else(PoisonError::into_inner);
        sets.hosts.get(name).filter(|entry| entry.expires_at > now).map(hit)
    }

    pub fn len(&self) -> usize {
        let sets = self.sets.read().unwrap_or_else(PoisonError::into_inner);
        sets.addresses.len() + sets.ranges.len() + sets.accounts.len() + sets.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn hit(entry: &Entry) -> Hit {
    Hit { decision: entry.decision, expires_at: entry.expires_at }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firebreak_core::Term;

    fn decision(id: i64, kind: DecisionKind, target: &str, minutes: i64) -> Decision {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        Decision {
            id,
            kind,
            target: target.into(),
            reason: String::new(),
            incident_id: None,
            decided_by: "t".into(),
            term: Term::Short,
            offence: 0,
            created_at: t0,
            expires_at: t0 + jiff::SignedDuration::from_mins(minutes),
            rolled_back_at: None,
            rolled_back_by: None,
        }
    }

    #[test]
    fn addresses_ranges_and_accounts_are_found_until_they_expire_or_go() {
        let index = ActiveIndex::default();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let later = t0 + jiff::SignedDuration::from_mins(30);
        let one = decision(1, DecisionKind::Ban, "203.0.113.5", 10);
        let range = decision(2, DecisionKind::Ban, "198.51.100.0/24", 60);
        let account = decision(3, DecisionKind::LockAccount, "alice", 60);
        for d in [&one, &range, &account] {
            index.insert(d);
        }
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(index.check_ip(ip("203.0.113.5"), t0).map(|h| h.decision), Some(1));
        assert_eq!(index.check_ip(ip("203.0.113.5"), later), None, "expired");
        assert_eq!(index.check_ip(ip("198.51.100.77"), later).map(|h| h.decision), Some(2));
        assert_eq!(index.check_ip(ip("198.51.101.1"), t0), None);
        let both = decision(5, DecisionKind::Ban, "198.51.100.77", 60);
        index.insert(&both);
        let covering: Vec<i64> =
            index.covering_ip(ip("198.51.100.77"), t0).iter().map(|h| h.decision).collect();
        assert_eq!(covering, [5, 2], "the address, then the range");
        index.remove(&both);
        assert_eq!(index.check_account("alice", t0).map(|h| h.decision), Some(3));
        assert_eq!(index.check_account("bob", t0), None);
        index.remove(&range);
        assert_eq!(index.check_ip(ip("198.51.100.77"), t0), None);
        // A newer decision on the same address is not removed with the older one.
        let again = decision(4, DecisionKind::Ban, "203.0.113.5", 60);
        index.insert(&again);
        index.remove(&one);
        assert_eq!(index.check_ip(ip("203.0.113.5"), t0).map(|h| h.decision), Some(4));
    }
}
