//! The real client behind trusted reverse proxies. `X-Forwarded-For` is written by whoever
//! sends the request, so it is believed only as far as the chain of proxies we trust: walk the
//! list from the right (the hop nearest to us), skip every address inside a configured proxy
//! range, and take the first one that is not. If the peer itself is not a trusted proxy, the
//! header is ignored entirely.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{canonical_ip, parse_ip};

/// The proxy CIDR ranges whose `X-Forwarded-For` we believe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    ranges: Vec<IpNet>,
}

/// A proxy range that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)")]
pub struct BadProxyRange {
    pub text: String,
}

impl TrustedProxies {
    pub fn new(ranges: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies { ranges }
    }

    /// Reads ranges such as `10.0.0.0/8` or a single address `192.0.2.1`.
    pub fn parse<'a>(
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Result<TrustedProxies, BadProxyRange> {
        let mut ranges = Vec::new();
        for text in texts {
            let text = text.trim();
            let net = match text.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match text.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(BadProxyRange { text: text.to_owned() }),
                },
            };
            ranges.push(net);
        }
        Ok(TrustedProxies { ranges })
    }

    /// No proxy is trusted: every peer is the client.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.ranges.iter().any(|net| net.contains(&ip))
    }

    /// The client address: `peer` unless it is a trusted proxy, else the rightmost untrusted
    /// address of `forwarded_for` (a comma-separated `X-Forwarded-For` value). An entry that is
    /// not an IP stops the walk at the last good address, since nothing left of it can be
    /// believed either.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = canonical_ip(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let Some(header) = forwarded_for else { return peer };
        let mut client = peer;
        for entry in header.rsplit(',') {
            let entry = entry.trim();
            let Some(ip) = parse_forwarded_entry(entry) else { return client };
            client = ip;
            if !self.is_trusted(ip) {
                return ip;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: `a.b.c.d`, `a.b.c.d:port`, `v6`, `[v6]:port`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    if let Some(ip) = parse_ip(entry) {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return parse_ip(rest.split(']').next()?);
    }
    let (host, port) = entry.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    parse_ip(host).filter(IpAddr::is_ipv4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn walks_from_the_right_through_trusted_proxies_only() {
        let proxies =
            TrustedProxies::parse(["10.0.0.0/8", "2001:db8::/32", "192.0.2.201"]).unwrap();
        // Peer is a trusted proxy: the rightmost untrusted hop is the client; the spoofed
        // leftmost entry is never reached.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.5"), Some("6.6.6.6, 203.0.113.9, 10.1.1.1")),
            ip("203.0.113.9")
        );
        // Peer is not trusted: the header is ignored.
        assert_eq!(proxies.client_ip(ip("198.51.100.1"), Some("203.0.113.9")), ip("198.51.100.1"));
        // No header, or only proxies in it.
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), None), ip("10.0.0.5"));
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), Some("10.2.2.2")), ip("10.2.2.2"));
        // Garbage stops the walk at the last address we could read.
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), Some("203.0.113.9, unknown")), ip("10.0.0.5"));
        assert_eq!(
            proxies.client_ip(ip("192.0.2.201"), Some("[2001:db9::1]:443")),
            ip("2001:db9::1")
        );
        assert_eq!(
            proxies.client_ip(ip("::ffff:10.0.0.5"), Some("203.0.113.9:5555")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn bad_ranges_are_named() {
        let error = TrustedProxies::parse(["10.0.0.0/8", "10.0.0.0/33"]).unwrap_err();
        assert_eq!(error.text, "10.0.0.0/33");
    }
}
