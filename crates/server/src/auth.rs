//! Authentication and authorisation: API tokens (random 256-bit values, stored only as their
//! SHA-256), passwords (argon2id), and the `Caller` extractor that every API handler takes.
//!
//! Nothing here logs a token or a password: the extractor's span skips its arguments, and the
//! secret types redact themselves in `Debug`.

use std::fmt;
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use firebreak_core::AccessRole;

use crate::AppState;
use crate::error::ApiError;

/// Every token starts with this, so that secret scanners and people can recognise one.
pub const TOKEN_PREFIX: &str = "fbk_";

/// A token's secret, shown once at creation.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Makes a new random token and its hash.
pub fn new_token() -> Result<(Secret, String), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| ApiError::Internal(format!("the OS random source failed: {error}")))?;
    let secret =
        format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&secret);
    Ok((Secret(secret), hash))
}

/// SHA-256 of a token, hex. A token is 256 random bits, so a fast hash is enough: there is
/// nothing to brute-force.
pub fn hash_token(secret: &str) -> String {
    firebreak_core::Hash::sha256(secret.as_bytes()).to_hex()
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest: argon2 takes any length, but a bound keeps hashing cost bounded.
pub const MAX_PASSWORD_CHARS: usize = 1024;

pub fn check_password_rules(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ApiError::Invalid(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters long"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ApiError::Invalid(format!(
            "the password must be at most {MAX_PASSWORD_CHARS} characters long"
        )));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt, off the async threads.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|error| ApiError::Internal(format!("the OS random source failed: {error}")))?;
        let salt = SaltString::encode_b64(&salt)
            .map_err(|error| ApiError::Internal(format!("salt encoding failed: {error}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| ApiError::Internal(format!("password hashing failed: {error}")))
    })
    .await
    .map_err(|error| ApiError::Internal(format!("the hashing task failed: {error}")))?
}

/// Checks a password against its stored hash, off the async threads.
pub async fn verify_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Who is calling, as established from their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The name written to the audit log and the timeline: `user` or `token:NAME`.
    pub actor: String,
    pub role: AccessRole,
    pub token_id: i64,
    pub user_id: Option<i64>,
    pub setup: bool,
}

impl Caller {
    /// Refuses the call unless the caller's role allows `needed`.
    pub fn require(&self, needed: AccessRole) -> Result<(), ApiError> {
        if self.setup {
            return Err(ApiError::ForbiddenBecause(
                "the setup token can only be exchanged at /api/v1/auth/setup".into(),
            ));
        }
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden { needed: needed.as_str(), held: self.role.as_str() })
        }
    }
}

/// Where the audit middleware learns who made a call. The extractor fills it.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(pub Arc<Mutex<Option<String>>>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    #[tracing::instrument(level = "debug", skip_all)] // Never record the token.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(ApiError::Unauthenticated)?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthenticated)?
            .trim();
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 100 {
            return Err(ApiError::BadToken);
        }
        let token =
            state.store.token_by_hash(&hash_token(secret)).await?.ok_or(ApiError::BadToken)?;
        if !token.usable(state.clock.now()) {
            return Err(ApiError::BadToken);
        }
        let actor = match token.user_id {
            Some(user_id) => match state.store.user_by_id(user_id).await? {
                Some(user) if !user.disabled => user.name,
                _ => return Err(ApiError::BadToken),
            },
            None => format!("token:{}", token.name),
        };
        if let Some(slot) = parts.extensions.get::<CallerSlot>()
            && let Ok(mut guard) = slot.0.lock()
        {
            *guard = Some(actor.clone());
        }
        Ok(Caller {
            actor,
            role: token.role,
            token_id: token.id,
            user_id: token.user_id,
            setup: token.kind == firebreak_store::TokenKind::Setup,
        })
    }
}

/// A role, as a type, for `Need<R>`.
pub trait Needs: Send + Sync + 'static {
    const ROLE: AccessRole;
}

macro_rules! role_marker {
    ($name:ident, $role:expr) => {
        #[doc = concat!("Needs the `", stringify!($name), "` role or above.")]
        #[derive(Debug)]
        pub struct $name;
        impl Needs for $name {
            const ROLE: AccessRole = $role;
        }
    };
}

role_marker!(Ingest, AccessRole::Ingest);
role_marker!(Viewer, AccessRole::Viewer);
role_marker!(Responder, AccessRole::Responder);
role_marker!(Commander, AccessRole::Commander);
role_marker!(Admin, AccessRole::Admin);

/// A caller holding at least role `R`. Checked while the request's head is read, before the
/// body is, so that a caller without the role learns nothing from body validation.
#[derive(Debug)]
pub struct Need<R>(pub Caller, pub std::marker::PhantomData<R>);

impl<R: Needs> FromRequestParts<AppState> for Need<R> {
    type Rejection = ApiError;

    #[tracing::instrument(level = "debug", skip_all)] // Never record the token.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Need<R>, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(R::ROLE)?;
        Ok(Need(caller, std::marker::PhantomData))
    }
}
