//! Working-day calendars and deadline arithmetic: hours, calendar days, business days and months,
//! counted in a regime's time zone.
//!
//! Conventions (the same for every rule, so deadlines are comparable):
//! - Hours run from the exact anchor instant: 72 h after 10:17 is 10:17 three days later, across
//!   daylight-saving changes too (elapsed time, not wall-clock time).
//! - Calendar days, business days and months exclude the day of the anchor and end at the last
//!   second of the final day, 23:59:59 local time in the regime's zone (as EU Regulation
//!   1182/71 and the US federal rules of procedure count periods). So "30 days after discovery at
//!   15:00 on 1 March" ends at 23:59:59 on 31 March.
//! - Months land on the same day-of-month; if the month is shorter, on its last day.
//! - Business days skip Saturdays, Sundays and the calendar's public holidays.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// Which days count as working days for a business-day deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayCalendar {
    /// Monday to Friday; no public holidays.
    WeekendsOnly,
    /// Monday to Friday except US federal holidays (5 U.S.C. 6103) on their observed days:
    /// a holiday on Saturday is observed the Friday before, on Sunday the Monday after.
    UsFederal,
    /// Monday to Friday except Brazil's national holidays (Laws 662/1949, 6.802/1980,
    /// 14.759/2023) and Good Friday. Carnival and Corpus Christi are only optional days off
    /// ("ponto facultativo"), so they count as working days: that can only make a deadline
    /// earlier, never later.
    BrazilNational,
}

impl HolidayCalendar {
    /// Short human description, for the docs and the "why" trail.
    pub fn describe(self) -> &'static str {
        match self {
            HolidayCalendar::WeekendsOnly => "Mon–Fri",
            HolidayCalendar::UsFederal => "Mon–Fri except US federal holidays (observed days)",
            HolidayCalendar::BrazilNational => {
                "Mon–Fri except Brazil's national holidays and Good Friday"
            }
        }
    }

    /// Whether `d` is a working day in this calendar.
    pub fn is_business_day(self, d: Date) -> bool {
        if matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return false;
        }
        match self {
            HolidayCalendar::WeekendsOnly => true,
            HolidayCalendar::UsFederal => !is_us_federal_holiday(d),
            HolidayCalendar::BrazilNational => !is_brazil_national_holiday(d),
        }
    }
}

/// The `n`th given weekday of a month (n starts at 1).
fn nth_weekday(year: i16, month: i8, wd: Weekday, n: i8) -> Option<Date> {
    let first = Date::new(year, month, 1).ok()?;
    first.nth_weekday_of_month(n, wd).ok()
}

/// The last given weekday of a month.
fn last_weekday(year: i16, month: i8, wd: Weekday) -> Option<Date> {
    let first = Date::new(year, month, 1).ok()?;
    first.nth_weekday_of_month(-1, wd).ok()
}

/// A fixed-date federal holiday moved to its observed day.
fn observed(d: Date) -> Date {
    match d.weekday() {
        Weekday::Saturday => d.yesterday().unwrap_or(d),
        Weekday::Sunday => d.tomorrow().unwrap_or(d),
        _ => d,
    }
}

/// US federal holidays observed in a year (including New Year's Day of the next year when it
/// is observed on 31 December).
fn us_federal_holidays(year: i16) -> Vec<Date> {
    let mut out = Vec::with_capacity(12);
    for y in [year, year.saturating_add(1)] {
        let fixed: &[(i8, i8)] = if y >= 2021 {
            // Juneteenth became a federal holiday on 17 June 2021.
            &[(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)]
        } else {
            &[(1, 1), (7, 4), (11, 11), (12, 25)]
        };
        for &(m, d) in fixed {
            if let Ok(date) = Date::new(y, m, d) {
                out.push(observed(date));
            }
        }
        let floating = [
            nth_weekday(y, 1, Weekday::Monday, 3), // Birthday of Martin Luther King, Jr.
            nth_weekday(y, 2, Weekday::Monday, 3), // Washington's Birthday
            last_weekday(y, 5, Weekday::Monday),   // Memorial Day
            nth_weekday(y, 9, Weekday::Monday, 1), // Labor Day
            nth_weekday(y, 10, Weekday::Monday, 2), // Columbus Day
            nth_weekday(y, 11, Weekday::Thursday, 4), // Thanksgiving Day
        ];
        out.extend(floating.into_iter().flatten());
    }
    out.retain(|d| d.year() == year);
    out
}

/// Whether `d` is a US federal holiday as observed.
pub fn is_us_federal_holiday(d: Date) -> bool {
    us_federal_holidays(d.year()).contains(&d)
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// Whether `d` is a national holiday in Brazil (or Good Friday).
pub fn is_brazil_national_holiday(d: Date) -> bool {
    let y = d.year();
    let mut fixed: Vec<(i8, i8)> =
        vec![(1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25)];
    // Black Consciousness Day is national from 2024 (Law 14.759/2023).
    if y >= 2024 {
        fixed.push((11, 20));
    }
    if fixed.contains(&(d.month(), d.day())) {
        return true;
    }
    let good_friday = easter(y).and_then(|e| e.checked_sub(2.days()).ok());
    good_friday == Some(d)
}

/// Errors in deadline arithmetic (only at the far edges of jiff's supported range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("deadline arithmetic out of range: {0}")]
pub struct CalcError(String);

fn err(e: jiff::Error) -> CalcError {
    CalcError(e.to_string())
}

/// The last second (23:59:59) of `d` in `tz`, as an instant. On a day where that wall time is
/// ambiguous or skipped, jiff's compatible disambiguation picks the earlier instant.
pub fn end_of_day(d: Date, tz: &TimeZone) -> Result<Timestamp, CalcError> {
    let dt = d.at(23, 59, 59, 0);
    Ok(tz.to_ambiguous_zoned(dt).compatible().map_err(err)?.timestamp())
}

/// `n` hours of elapsed time after `from`.
pub fn add_hours(from: Timestamp, n: i64) -> Result<Timestamp, CalcError> {
    from.checked_add(n.hours()).map_err(err)
}

/// End of the `n`th calendar day after the local date of `from`.
pub fn add_calendar_days(from: Timestamp, n: i64, tz: &TimeZone) -> Result<Timestamp, CalcError> {
    let d = from.to_zoned(tz.clone()).date().checked_add(n.days()).map_err(err)?;
    end_of_day(d, tz)
}

/// End of the `n`th working day after the local date of `from` (the anchor day never counts,
/// even if it is a working day).
pub fn add_business_days(
    from: Timestamp,
    n: i64,
    tz: &TimeZone,
    cal: HolidayCalendar,
) -> Result<Timestamp, CalcError> {
    let mut d = from.to_zoned(tz.clone()).date();
    let mut left = n;
    while left > 0 {
        d = d.tomorrow().map_err(err)?;
        if cal.is_business_day(d) {
            left -= 1;
        }
    }
    end_of_day(d, tz)
}

/// End of the same day-of-month `n` months after the local date of `from` (clamped to the end of
/// a shorter month).
pub fn add_months(from: Timestamp, n: i64, tz: &TimeZone) -> Result<Timestamp, CalcError> {
    let d = from.to_zoned(tz.clone()).date().checked_add(n.months()).map_err(err)?;
    end_of_day(d, tz)
}

/// The last day of the calendar year containing `from` in `tz`: the anchor for "N days after the
/// end of the calendar year" (HIPAA's annual log). Adding N calendar days to the year's last day
/// lands on day N of the next year.
pub fn year_end(from: Timestamp, tz: &TimeZone) -> Result<Timestamp, CalcError> {
    let y = from.to_zoned(tz.clone()).year();
    let d = Date::new(y, 12, 31).map_err(err)?;
    end_of_day(d, tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn us_federal_holidays_with_observed_days() {
        let cases = [
            (date(2026, 7, 3), true),   // 4 July 2026 is a Saturday: observed Friday
            (date(2026, 7, 4), false),  // the Saturday itself is a weekend, not a holiday
            (date(2027, 12, 31), true), // 1 Jan 2028 is a Saturday: observed 31 Dec 2027
            (date(2028, 1, 1), false),
            (date(2023, 1, 2), true), // 1 Jan 2023 is a Sunday: observed Monday
            (date(2026, 11, 26), true), // Thanksgiving
            (date(2026, 1, 19), true), // MLK Day
            (date(2026, 2, 16), true), // Washington's Birthday
            (date(2026, 5, 25), true), // Memorial Day
            (date(2026, 6, 19), true), // Juneteenth
            (date(2020, 6, 19), false), // before Juneteenth was a holiday
            (date(2026, 9, 7), true), // Labor Day
            (date(2026, 10, 12), true), // Columbus Day
            (date(2026, 11, 11), true), // Veterans Day
            (date(2026, 12, 25), true),
            (date(2026, 11, 27), false), // the day after Thanksgiving is not federal
        ];
        for (d, want) in cases {
            assert_eq!(is_us_federal_holiday(d), want, "{d}");
        }
    }

    #[test]
    fn easter_dates() {
        for (y, m, d) in [(2024, 3, 31), (2025, 4, 20), (2026, 4, 5), (2027, 3, 28), (2038, 4, 25)]
        {
            assert_eq!(easter(y), Some(date(y, m, d)), "{y}");
        }
    }

    #[test]
    fn brazil_holidays() {
        assert!(is_brazil_national_holiday(date(2026, 4, 3))); // Good Friday
        assert!(is_brazil_national_holiday(date(2026, 4, 21))); // Tiradentes
        assert!(is_brazil_national_holiday(date(2026, 11, 20))); // Black Consciousness
        assert!(!is_brazil_national_holiday(date(2023, 11, 20)));
        assert!(!is_brazil_national_holiday(date(2026, 2, 16))); // Carnival: optional only
        assert!(!is_brazil_national_holiday(date(2026, 6, 4))); // Corpus Christi: optional only
    }

    #[test]
    fn hours_are_elapsed_time_across_dst() {
        // US DST starts 8 March 2026 at 02:00 local; 72 h is still 72 h of elapsed time.
        let t = add_hours(ts("2026-03-07T15:00:00Z"), 72).unwrap();
        assert_eq!(t, ts("2026-03-10T15:00:00Z"));
    }

    #[test]
    fn calendar_days_end_of_day_across_dst_and_year_end() {
        let la = tz("America/Los_Angeles");
        // Anchor 1 March 2026 10:00 PST; 30 days → 31 March, end of day PDT (UTC-7).
        let t = add_calendar_days(ts("2026-03-01T18:00:00Z"), 30, &la).unwrap();
        assert_eq!(t, ts("2026-04-01T06:59:59Z"));
        // Local date matters: 05:00Z on 2 Dec is still 1 Dec in California.
        let t = add_calendar_days(ts("2026-12-02T05:00:00Z"), 30, &la).unwrap();
        assert_eq!(t, ts("2027-01-01T07:59:59Z"));
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let ny = tz("America/New_York");
        // Thursday 2 July 2026; Friday 3 July is the observed Independence Day, so the four
        // business days are Mon 6, Tue 7, Wed 8 and Thu 9 July (EDT, UTC-4).
        let t = add_business_days(ts("2026-07-02T16:00:00Z"), 4, &ny, HolidayCalendar::UsFederal)
            .unwrap();
        assert_eq!(t, ts("2026-07-10T03:59:59Z"));
        // Without holidays the same period ends on Wednesday 8 July.
        let t =
            add_business_days(ts("2026-07-02T16:00:00Z"), 4, &ny, HolidayCalendar::WeekendsOnly)
                .unwrap();
        assert_eq!(t, ts("2026-07-09T03:59:59Z"));
    }

    #[test]
    fn months_clamp_to_month_end() {
        let hel = tz("Europe/Helsinki");
        let t = add_months(ts("2026-01-31T12:00:00Z"), 1, &hel).unwrap();
        assert_eq!(t, ts("2026-02-28T21:59:59Z"));
        // 31 March → 30 April; Helsinki is UTC+3 in summer.
        let t = add_months(ts("2026-03-31T12:00:00Z"), 1, &hel).unwrap();
        assert_eq!(t, ts("2026-04-30T20:59:59Z"));
    }

    #[test]
    fn year_end_anchor() {
        let ny = tz("America/New_York");
        let end = year_end(ts("2026-06-10T12:00:00Z"), &ny).unwrap();
        let t = add_calendar_days(end, 60, &ny).unwrap();
        assert_eq!(t, ts("2027-03-02T04:59:59Z")); // 1 March 2027 end of day EST
        // 1 Jan 2027 02:00Z is still 31 Dec 2026 in New York.
        let end = year_end(ts("2027-01-01T02:00:00Z"), &ny).unwrap();
        assert_eq!(end, ts("2027-01-01T04:59:59Z"));
    }
}
