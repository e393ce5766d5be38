//! The accepted suppressions, held in memory for the alert writer: a firing that one of them
//! covers is dropped (and counted) before it becomes an alert. Loaded from the store at start;
//! a suppression accepted through the API takes effect at once.

use std::sync::{PoisonError, RwLock};

use firebreak_core::{Suppression, SuppressionStatus};
use firebreak_store::{Store, StoreError};
use serde_json::{Map, Value};

#[derive(Debug, Default)]
pub struct Suppressions {
    accepted: RwLock<Vec<Suppression>>,
}

impl Suppressions {
    pub async fn load(store: &dyn Store) -> Result<Suppressions, StoreError> {
        let accepted = store.list_suppressions(Some(SuppressionStatus::Accepted)).await?;
        Ok(Suppressions { accepted: RwLock::new(accepted) })
    }

    /// The id of an accepted suppression that silences this firing, if any.
    pub fn covering(&self, rule_id: &str, group: &Map<String, Value>) -> Option<i64> {
        let accepted = self.accepted.read().unwrap_or_else(PoisonError::into_inner);
        accepted.iter().find(|s| s.covers(rule_id, group)).map(|s| s.id)
    }

    pub fn accept(&self, suppression: Suppression) {
        if suppression.status == SuppressionStatus::Accepted {
            self.accepted.write().unwrap_or_else(PoisonError::into_inner).push(suppression);
        }
    }

    pub fn len(&self) -> usize {
        self.accepted.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
