//! The containment policy: addresses that can never be banned (the administrators' own, the
//! office, the load balancers, whatever the allowlist says), and how long a ban lasts — longer
//! for each repeat, up to a cap.

use std::net::IpAddr;

use ipnet::IpNet;

/// Why a ban was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{0}` is neither an address nor a CIDR range")]
    NotAnAddress(String),
    #[error("`{target}` overlaps the never-ban range {protected}")]
    Protected { target: String, protected: IpNet },
    #[error("`{0}` is too wide to ban (wider than /{1} for IPv4 or /{2} for IPv6)")]
    TooWide(String, u8, u8),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BanPolicy {
    /// Never banned, whatever a rule, a playbook or a person says.
    pub never: Vec<IpNet>,
    /// The first ban of a target, in seconds (when the playbook or person gives none).
    pub base_secs: u64,
    /// Each earlier ban of the same target multiplies the duration by this.
    pub repeat_multiplier: f64,
    /// No ban lasts longer than this, in seconds.
    pub max_secs: u64,
    /// IPv6 addresses are banned as their /N network (64 is one subscriber); 128 bans the
    /// address alone.
    pub ipv6_prefix: u8,
}

impl Default for BanPolicy {
    fn default() -> BanPolicy {
        BanPolicy {
            never: Vec::new(),
            base_secs: 4 * 3600,
            repeat_multiplier: 2.0,
            max_secs: 30 * 86_400,
            ipv6_prefix: 64,
        }
    }
}

/// The widest ranges a ban may name: a mistyped /8 must not cut off a continent.
const WIDEST_V4: u8 = 16;
const WIDEST_V6: u8 = 32;

impl BanPolicy {
    /// The ban target for an offending address: the address, or its IPv6 network.
    pub fn target_for(&self, ip: IpAddr) -> String {
        match ip {
            IpAddr::V4(_) => ip.to_string(),
            IpAddr::V6(_) if self.ipv6_prefix >= 128 => ip.to_string(),
            IpAddr::V6(_) => match IpNet::new(ip, self.ipv6_prefix.max(WIDEST_V6)) {
                Ok(net) => net.trunc().to_string(),
                Err(_) => ip.to_string(),
            },
        }
    }

    /// Checks a ban target (an address or a range) against the never-ban list, and normalises
    /// it (`203.0.113.7/24` → `203.0.113.0/24`; a /32 or /128 → the address).
    pub fn check(&self, target: &str) -> Result<String, Refusal> {
        let net: IpNet = match target.parse::<IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => match target.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => return Err(Refusal::NotAnAddress(target.to_owned())),
            },
        };
        if let Some(protected) = self.never.iter().find(|protected| {
            protected.contains(&net.network()) || net.contains(&protected.network())
        }) {
            return Err(Refusal::Protected { target: target.to_owned(), protected: *protected });
        }
        let too_wide = match net {
            IpNet::V4(v4) => v4.prefix_len() < WIDEST_V4,
            IpNet::V6(v6) => v6.prefix_len() < WIDEST_V6,
        };
        if too_wide {
            return Err(Refusal::TooWide(target.to_owned(), WIDEST_V4, WIDEST_V6));
        }
        Ok(if net.prefix_len() == net.max_prefix_len() {
            net.addr().to_string()
        } else {
            net.to_string()
        })
    }

    /// How long a ban lasts: `requested` (or the base) times the multiplier for each earlier
    /// ban of the same target, capped.
    pub fn duration_secs(&self, requested: Option<u64>, earlier_bans: u32) -> u64 {
        let base = requested.unwrap_or(self.base_secs).max(1) as f64;
        let factor =
            self.repeat_multiplier.max(1.0).powi(i32::try_from(earlier_bans).unwrap_or(i32::MAX));
        let secs = base * factor;
        if !secs.is_finite() || secs >= self.max_secs as f64 {
            self.max_secs.max(1)
        } else {
            secs as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BanPolicy {
        BanPolicy {
            never: vec!["10.0.0.0/8".parse().unwrap(), "2001:db8:aa::/48".parse().unwrap()],
            ..BanPolicy::default()
        }
    }

    #[test]
    fn protected_ranges_are_never_banned_whatever_the_form_of_the_target() {
        let policy = policy();
        for target in ["10.1.2.3", "10.1.2.0/24", "10.0.0.0/8", "2001:db8:aa:1::5"] {
            assert!(matches!(policy.check(target), Err(Refusal::Protected { .. })), "{target}");
        }
        // A range that contains a protected one is refused too.
        let wide = BanPolicy { never: vec!["192.0.2.10/32".parse().unwrap()], ..policy.clone() };
        assert!(matches!(wide.check("192.0.2.0/24"), Err(Refusal::Protected { .. })));
        assert_eq!(policy.check("203.0.113.7/24"), Ok("203.0.113.0/24".into()));
        assert_eq!(policy.check("203.0.113.7/32"), Ok("203.0.113.7".into()));
        assert_eq!(policy.check("203.0.113.7"), Ok("203.0.113.7".into()));
        assert!(matches!(policy.check("0.0.0.0/0"), Err(Refusal::Protected { .. })));
        assert!(matches!(policy.check("198.0.0.0/8"), Err(Refusal::TooWide(..))));
        assert!(matches!(policy.check("not an address"), Err(Refusal::NotAnAddress(_))));
    }

    #[test]
    fn ipv6_offenders_are_banned_as_their_network_when_configured() {
        let policy = policy();
        let ip: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(policy.target_for(ip), "2001:db8:1:2::/64");
        let single = BanPolicy { ipv6_prefix: 128, ..policy };
        assert_eq!(single.target_for(ip), "2001:db8:1:2:3:4:5:6");
        assert_eq!(single.target_for("203.0.113.9".parse().unwrap()), "203.0.113.9");
    }

    #[test]
    fn repeat_offenders_get_longer_bans_up_to_the_cap() {
        let policy = BanPolicy {
            base_secs: 3600,
            repeat_multiplier: 3.0,
            max_secs: 86_400,
            ..BanPolicy::default()
        };
        assert_eq!(policy.duration_secs(None, 0), 3600);
        assert_eq!(policy.duration_secs(None, 1), 10_800);
        assert_eq!(policy.duration_secs(None, 2), 32_400);
        assert_eq!(policy.duration_secs(None, 3), 86_400, "capped");
        assert_eq!(policy.duration_secs(Some(60), 1), 180);
        assert_eq!(policy.duration_secs(None, u32::MAX), 86_400);
    }
}
