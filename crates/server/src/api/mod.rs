//! The REST API under `/api/v1`, one module per resource. Each handler takes a `Caller` and
//! checks its role first; its `#[utoipa::path]` names that role as the security scope, so that
//! the OpenAPI document says exactly what each route needs.

pub mod alerts;
pub mod auth;
pub mod crowdsec;
pub mod damage;
pub mod decisions;
pub mod events;
pub mod evidence;
pub mod incidents;
pub mod notifications;
pub mod obligations;
pub mod suppressions;
pub mod system;
pub mod tasks;
pub mod team;
