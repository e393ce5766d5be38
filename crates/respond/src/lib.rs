//! Response, the pure part: playbooks (what to do when an incident of a kind opens) and the
//! containment policy (which addresses may never be banned, how long a ban lasts for a repeat
//! offender). The server runs them; this crate only reads, checks and decides.

pub mod playbook;
pub mod policy;

pub use playbook::{Action, Condition, Playbook, PlaybookError, Step};
pub use policy::{BanPolicy, Refusal};

/// Reads a duration written as people write them: `90s`, `30m`, `4h`, `7d` (one unit).
pub fn parse_duration(text: &str) -> Result<jiff::SignedDuration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 30m, 4h or 7d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: the unit must be s, m, h or d")),
    };
    if number <= 0 {
        return Err(format!("`{text}`: a duration must be positive"));
    }
    number
        .checked_mul(seconds)
        .filter(|secs| *secs <= 10 * 365 * 86_400)
        .map(jiff::SignedDuration::from_secs)
        .ok_or_else(|| format!("`{text}` is longer than ten years"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_one_unit_and_refuse_the_rest() {
        assert_eq!(parse_duration("90s"), Ok(jiff::SignedDuration::from_secs(90)));
        assert_eq!(parse_duration("4h"), Ok(jiff::SignedDuration::from_hours(4)));
        assert_eq!(parse_duration("7d"), Ok(jiff::SignedDuration::from_hours(168)));
        for bad in ["", "h", "4", "4w", "-3m", "0s", "1h30m", "99999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
