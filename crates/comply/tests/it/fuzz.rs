//! Parsing never panics: arbitrary text and mutated valid files only ever give values or errors.

use firebreak_comply::{Facts, RulesTable, compute};
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../../examples/facts.toml");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = Facts::from_toml(&s);
        let _ = Facts::from_json(&s);
    }

    #[test]
    fn mutated_example_never_panics(pos in 0usize..4000, byte in any::<u8>(), cut in 0usize..4000) {
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        let i = pos % bytes.len();
        bytes[i] = byte;
        bytes.truncate(cut.max(1).min(bytes.len()));
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(f) = Facts::from_toml(&text) {
            let _ = compute(&f, &RulesTable::builtin().unwrap());
        }
    }

    #[test]
    fn extreme_instants_do_not_panic(secs in prop_oneof![Just(253_402_207_000i64), Just(-377_705_116_800i64), any::<i32>().prop_map(i64::from)]) {
        if let Ok(at) = jiff::Timestamp::from_second(secs) {
            let text = format!(
                "data = [\"health\"]\n[moments]\ndiscovery = \"{at}\"\n[[affected]]\ncountry = \"US\"\nstate = \"NY\"\ncount = 600\n[organisation]\nentity_types = [\"hipaa_covered_entity\"]\n"
            );
            if let Ok(f) = Facts::from_toml(&text) {
                let _ = compute(&f, &RulesTable::builtin().unwrap());
            }
        }
    }

    #[test]
    fn any_counts_and_moments_compute(count in any::<u64>(), secs in -2_000_000_000i64..4_000_000_000i64) {
        let at = jiff::Timestamp::from_second(secs).unwrap();
        let text = format!(
            "data = [\"credentials\"]\n[moments]\ndiscovery = \"{at}\"\nawareness = \"{at}\"\n\
             [[affected]]\ncountry = \"US\"\nstate = \"CA\"\ncount = {count}\n"
        );
        // Counts above i64::MAX are not valid TOML integers; that must be an error, not a panic.
        if let Ok(f) = Facts::from_toml(&text) {
            let a = compute(&f, &RulesTable::builtin().unwrap());
            // Within jiff's range every deadline is computable.
            prop_assert!(a.undetermined.iter().all(|u| !u.missing[0].contains("date range")));
        }
    }
}

#[test]
fn the_example_file_parses() {
    Facts::from_toml(EXAMPLE).unwrap();
}
