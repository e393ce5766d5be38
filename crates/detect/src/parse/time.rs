//! Civil times as logs write them → instants. A cache of the current local hour makes the common
//! case (a log written in order) two integer additions instead of a time-zone lookup per line.

use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A calendar date and wall-clock time, as read from a log line, without a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
}

impl Civil {
    /// Whether the fields form a real date and time (a leap second `:60` is accepted and read
    /// as `:59`, since most systems never write one anyway).
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
            && self.nanos < 1_000_000_000
            && (-9999..=9999).contains(&self.year)
    }

    /// Seconds since the epoch if this civil time were UTC.
    fn utc_seconds(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        days * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second.min(59))
    }

    /// The instant this civil time names at a fixed UTC offset (in seconds east of UTC).
    pub fn at_offset(&self, offset_seconds: i32) -> Option<Timestamp> {
        if !self.is_valid() {
            return None;
        }
        let seconds = self.utc_seconds() - i64::from(offset_seconds);
        Timestamp::new(seconds, i32::try_from(self.nanos).ok()?).ok()
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to the given date in the proleptic Gregorian calendar (H. Hinnant).
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The three-letter English month abbreviation syslog and Apache write, as 1–12.
pub fn month_from_abbrev(text: &[u8]) -> Option<u8> {
    let [a, b, c] = text else { return None };
    let key = [a.to_ascii_lowercase(), b.to_ascii_lowercase(), c.to_ascii_lowercase()];
    Some(match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// A local hour: year, month, day, hour.
type HourKey = (i32, u8, u8, u8);

/// Reads local civil times in one configured time zone.
#[derive(Debug, Clone)]
pub struct LocalTime {
    zone: TimeZone,
    /// The last local hour resolved and, when the whole hour has one unambiguous offset, the
    /// epoch seconds of its first second.
    hour: Option<(HourKey, Option<i64>)>,
    /// The last `now` seen, its local year and its local date (days since the epoch).
    now_year: Option<(Timestamp, i32, i64)>,
}

impl LocalTime {
    pub fn new(zone: TimeZone) -> LocalTime {
        LocalTime { zone, hour: None, now_year: None }
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The instant a local civil time names. In a daylight-saving gap or fold the earlier
    /// reading wins (jiff's "compatible" rule, as most tools do).
    pub fn resolve(&mut self, civil: Civil) -> Option<Timestamp> {
        if civil.minute >= 60 || civil.second > 60 || civil.nanos >= 1_000_000_000 {
            return None;
        }
        let key = (civil.year, civil.month, civil.day, civil.hour);
        let base = match self.hour {
            Some((cached, base)) if cached == key => base,
            _ => {
                if !civil.is_valid() {
                    return None;
                }
                let base = self.regular_hour_offset(civil).map(|offset| {
                    Civil { minute: 0, second: 0, nanos: 0, ..civil }.utc_seconds()
                        - i64::from(offset)
                });
                self.hour = Some((key, base));
                base
            }
        };
        match base {
            Some(base) => {
                let seconds = base + i64::from(civil.minute) * 60 + i64::from(civil.second.min(59));
                Timestamp::new(seconds, i32::try_from(civil.nanos).ok()?).ok()
            }
            None => self.resolve_slow(civil),
        }
    }

    /// A syslog time without a year: the year of `now` (in this zone), or the year before if
    /// that would put the time more than a day after `now`.
    pub fn resolve_yearless(&mut self, civil: Civil, now: Timestamp) -> Option<Timestamp> {
        let (year, today) = self.local_date_of(now);
        // Two or more calendar days after today is surely more than a day ahead: last year,
        // decided without resolving this year's reading first (which would thrash the cache).
        let day = days_from_civil(i64::from(year), civil.month, civil.day);
        if day - today >= 2 {
            return self.resolve(Civil { year: year - 1, ..civil });
        }
        let limit = now.as_second().saturating_add(86_400);
        match self.resolve(Civil { year, ..civil }) {
            Some(ts) if ts.as_second() <= limit => Some(ts),
            // A 29 February in a common year, or a time more than a day ahead: last year.
            _ => self.resolve(Civil { year: year - 1, ..civil }),
        }
    }

    /// The local year of `now` and its local date as days since the epoch.
    fn local_date_of(&mut self, now: Timestamp) -> (i32, i64) {
        match self.now_year {
            Some((cached, year, days)) if cached == now => (year, days),
            _ => {
                let zoned = now.to_zoned(self.zone.clone());
                let year = i32::from(zoned.year());
                let days = days_from_civil(
                    i64::from(year),
                    u8::try_from(zoned.month()).unwrap_or(1),
                    u8::try_from(zoned.day()).unwrap_or(1),
                );
                self.now_year = Some((now, year, days));
                (year, days)
            }
        }
    }

    fn regular_hour_offset(&self, civil: Civil) -> Option<i32> {
        let first =
            self.unambiguous_offset(civil.year, civil.month, civil.day, civil.hour, 0, 0)?;
        let last =
            self.unambiguous_offset(civil.year, civil.month, civil.day, civil.hour, 59, 59)?;
        (first == last).then_some(first)
    }

    fn unambiguous_offset(&self, y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Option<i32> {
        let dt = jiff::civil::DateTime::new(
            i16::try_from(y).ok()?,
            i8::try_from(mo).ok()?,
            i8::try_from(d).ok()?,
            i8::try_from(h).ok()?,
            i8::try_from(mi).ok()?,
            i8::try_from(s).ok()?,
            0,
        )
        .ok()?;
        match self.zone.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => Some(offset.seconds()),
            _ => None,
        }
    }

    fn resolve_slow(&self, civil: Civil) -> Option<Timestamp> {
        let dt = jiff::civil::DateTime::new(
            i16::try_from(civil.year).ok()?,
            i8::try_from(civil.month).ok()?,
            i8::try_from(civil.day).ok()?,
            i8::try_from(civil.hour).ok()?,
            i8::try_from(civil.minute).ok()?,
            i8::try_from(civil.second.min(59)).ok()?,
            i32::try_from(civil.nanos).ok()?,
        )
        .ok()?;
        self.zone.to_ambiguous_timestamp(dt).compatible().ok()
    }
}

/// A cursor over the bytes of a line, for the hand-written scanners.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    pub fn eat_str(&mut self, text: &str) -> Option<()> {
        let end = self.pos.checked_add(text.len())?;
        (self.bytes.get(self.pos..end)? == text.as_bytes()).then(|| self.pos = end)
    }

    pub fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Reads between `min` and `max` ASCII digits as a number.
    pub fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let mut value: u32 = 0;
        let mut count = 0;
        while count < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(b - b'0');
                    self.pos += 1;
                    count += 1;
                }
                _ => break,
            }
        }
        (count >= min).then_some(value)
    }

    /// Reads a fraction of a second after a `.` or `,` (up to 9 digits kept; more are skipped).
    pub fn fraction(&mut self) -> u32 {
        if !matches!(self.peek(), Some(b'.' | b',')) {
            return 0;
        }
        let save = self.pos;
        self.pos += 1;
        let mut nanos: u32 = 0;
        let mut count = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if count < 9 {
                nanos = nanos * 10 + u32::from(b - b'0');
            }
            count += 1;
            self.pos += 1;
        }
        if count == 0 {
            self.pos = save;
            return 0;
        }
        for _ in count..9 {
            nanos *= 10;
        }
        nanos
    }

    /// Reads `hh:mm:ss` with an optional fraction.
    pub fn clock(&mut self) -> Option<(u8, u8, u8, u32)> {
        let hour = self.digits(2, 2)?;
        self.eat(b':')?;
        let minute = self.digits(2, 2)?;
        self.eat(b':')?;
        let second = self.digits(2, 2)?;
        let nanos = self.fraction();
        Some((
            u8::try_from(hour).ok()?,
            u8::try_from(minute).ok()?,
            u8::try_from(second).ok()?,
            nanos,
        ))
    }

    /// Reads a UTC offset: `Z`, `±hh:mm`, `±hhmm` or `±hh`. Seconds east of UTC.
    pub fn offset(&mut self) -> Option<i32> {
        match self.peek()? {
            b'Z' | b'z' => {
                self.pos += 1;
                Some(0)
            }
            sign @ (b'+' | b'-') => {
                let save = self.pos;
                self.pos += 1;
                let Some(hours) = self.digits(2, 2) else {
                    self.pos = save;
                    return None;
                };
                let _ = self.eat(b':');
                let minutes = self.digits(2, 2).unwrap_or(0);
                if hours > 23 || minutes > 59 {
                    self.pos = save;
                    return None;
                }
                let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
                Some(if sign == b'-' { -seconds } else { seconds })
            }
            _ => None,
        }
    }

    pub fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }
}

/// The POSIX rule fail2ban's tests use: Central European Time with EU summer time.
#[cfg(test)]
pub(crate) fn cet() -> TimeZone {
    TimeZone::posix("CET-01CEST-02,M3.5.0,M10.5.0").unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Civil {
        Civil { year, month, day, hour, minute, second, nanos: 0 }
    }

    #[test]
    fn the_fast_path_agrees_with_jiff_across_a_year_of_hours() {
        let zone = cet();
        let mut local = LocalTime::new(zone.clone());
        for day in 0..366 {
            for hour in 0..24u8 {
                let date =
                    jiff::civil::date(2004, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap();
                let c = civil(2004, date.month() as u8, date.day() as u8, hour, 30, 15);
                let ours = local.resolve(c).unwrap();
                let dt = date.at(hour as i8, 30, 15, 0);
                let theirs = zone.to_ambiguous_timestamp(dt).compatible().unwrap();
                assert_eq!(ours, theirs, "{dt}");
            }
        }
    }

    #[test]
    fn posix_cet_matches_europe_paris_summer_and_winter_in_2004_and_2005() {
        let mut local = LocalTime::new(cet());
        // 2005-06-21 16:47:48 CEST = 14:47:48 UTC; 2004-11-11 23:33:27 CET = 22:33:27 UTC.
        assert_eq!(
            local.resolve(civil(2005, 6, 21, 16, 47, 48)).unwrap().as_second(),
            1_119_365_268
        );
        assert_eq!(
            local.resolve(civil(2004, 11, 11, 23, 33, 27)).unwrap().as_second(),
            1_100_212_407
        );
        // Summer time started 2005-03-27 at 02:00 local: 03:30 is CEST.
        let ts = local.resolve(civil(2005, 3, 27, 3, 30, 0)).unwrap();
        assert_eq!(ts.to_string(), "2005-03-27T01:30:00Z");
    }

    #[test]
    fn a_yearless_time_never_lands_more_than_a_day_ahead() {
        let mut local = LocalTime::new(cet());
        let now = Timestamp::from_second(1_124_013_600).unwrap(); // 2005-08-14 10:00 UTC
        let nov = local.resolve_yearless(civil(0, 11, 11, 23, 33, 27), now).unwrap();
        assert_eq!(nov.to_string(), "2004-11-11T22:33:27Z");
        let aug15 = local.resolve_yearless(civil(0, 8, 15, 11, 0, 0), now).unwrap();
        assert_eq!(aug15.to_string(), "2005-08-15T09:00:00Z");
        let aug16 = local.resolve_yearless(civil(0, 8, 16, 11, 0, 0), now).unwrap();
        assert_eq!(aug16.to_string(), "2004-08-16T09:00:00Z");
        // 29 February only exists in 2004.
        let leap = local.resolve_yearless(civil(0, 2, 29, 0, 0, 0), now).unwrap();
        assert_eq!(leap.to_string(), "2004-02-28T23:00:00Z");
    }

    proptest::proptest! {
        /// The shortcut that picks last year for dates two days ahead agrees with the rule
        /// read literally: this year, unless that is more than a day after `now`.
        #[test]
        fn yearless_agrees_with_the_rule(now in 1_000_000_000i64..2_000_000_000, month in 1u8..=12, day in 1u8..=31, hour in 0u8..24) {
            let zone = cet();
            let now = Timestamp::from_second(now).unwrap();
            let c = civil(0, month, day, hour, 30, 0);
            let ours = LocalTime::new(zone.clone()).resolve_yearless(c, now);
            let year = now.to_zoned(zone.clone()).year() as i32;
            let read = |year: i32| {
                let mut fresh = LocalTime::new(zone.clone());
                fresh.resolve(Civil { year, ..c })
            };
            let want = match read(year) {
                Some(ts) if ts.as_second() <= now.as_second() + 86_400 => Some(ts),
                _ => read(year - 1),
            };
            proptest::prop_assert_eq!(ours, want);
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        let mut local = LocalTime::new(cet());
        assert_eq!(local.resolve(civil(2005, 2, 29, 0, 0, 0)), None);
        assert_eq!(local.resolve(civil(2005, 13, 1, 0, 0, 0)), None);
        assert_eq!(local.resolve(civil(2005, 1, 1, 24, 0, 0)), None);
    }
}
