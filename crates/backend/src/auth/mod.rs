//! Who may do what. Tokens carry a role: `agent` (report events, read its steering),
//! `viewer` (read the dashboard), `operator` (viewer plus steering and files) and the
//! shared `--token`, which may do everything. Every route declares the roles it admits
//! in the one table of routes (`api::routes`, handed to the guard as [`RouteRules`]); a
//! route missing from it needs an operator, so a new route is closed until someone
//! opens it on purpose. With no token configured (the loopback
//! default) every caller is the local user.

pub mod middleware;
pub mod rate;

use std::future::{Ready, ready};
use std::path::Path;

use actix_web::http::Method;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use serde::Deserialize;

use crate::core::Reach;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Agents and hooks: post events, create/update/end sessions, read their commands,
    /// answers and decisions, acknowledge commands, ask questions and permissions.
    Agent,
    /// The read-only dashboard.
    Viewer,
    /// The dashboard with steering: commands, answers, permission decisions, files.
    Operator,
    /// Everything (the shared `--token`, or no token on loopback).
    Admin,
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (`shared`, `local`, or the name in the tokens file).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When set, the caller sees only this user's sessions.
    pub user: Option<String>,
}

impl Principal {
    /// The caller when no token is configured.
    pub fn local() -> Self {
        Self {
            name: "local".into(),
            role: Role::Admin,
            user: None,
        }
    }

    /// The name recorded on the decisions, answers and commands this caller makes.
    pub fn by(&self) -> crate::core::By {
        crate::core::By(self.name.clone())
    }

    /// Whose sessions this caller may see and write (the rule is [`Reach`]'s).
    pub fn reach(&self) -> Reach {
        Reach::of_user(self.user.as_deref())
    }
}

/// A route asked for the caller where the guard put none: a wiring bug, answered 500
/// (mapped to HTTP in `api::error`, which `auth` does not import).
#[derive(Debug, thiserror::Error)]
#[error("no caller on a guarded route")]
pub struct NoCaller;

impl FromRequest for Principal {
    type Error = NoCaller;
    type Future = Ready<Result<Self, NoCaller>>;

    /// The caller the guard admitted; routes that take one are never public.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Principal>().cloned().ok_or(NoCaller))
    }
}

/// Security settings the guard needs, built once at start-up.
pub struct Security {
    /// The tokens (empty: authentication off).
    pub tokens: Tokens,
    /// Origins besides our own that browsers may call from.
    pub allowed_origins: Vec<String>,
    /// Host names besides loopback ones a tokenless loopback server answers to.
    pub allowed_hosts: Vec<String>,
    /// Requests per second per caller.
    pub rate: rate::RateLimiter,
    /// Who may call each route.
    pub routes: RouteRules,
}

/// One configured token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// A name for logs.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The secret.
    pub token: String,
    /// Restricts the token to one user's sessions.
    #[serde(default)]
    pub user: Option<String>,
}

/// The configured tokens; empty means authentication is off.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<TokenEntry>,
}

/// Why the token configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JSON array of {name, role, token, user?}.
    #[error("{path} is not a JSON array of {{name, role, token, user?}}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A token is too short or has characters that cannot travel in a header.
    #[error("token '{0}' must be at least 16 characters of A-Z a-z 0-9 - _ . ~")]
    Weak(String),
}

fn check(name: &str, token: &str) -> Result<(), TokenError> {
    let ok = token.len() >= 16
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::Weak(name.to_owned()))
    }
}

impl Tokens {
    /// Builds the token set from the shared token and a tokens file, both optional.
    pub fn load(
        shared: Option<&str>,
        shared_file: Option<&Path>,
        named_file: Option<&Path>,
    ) -> Result<Self, TokenError> {
        let mut entries = Vec::new();
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| TokenError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let mut shared_tokens: Vec<String> = shared.map(str::to_owned).into_iter().collect();
        if let Some(path) = shared_file {
            shared_tokens.push(read(path)?.trim().to_owned());
        }
        for token in shared_tokens {
            check("shared", &token)?;
            entries.push(TokenEntry {
                name: "shared".into(),
                role: Role::Admin,
                token,
                user: None,
            });
        }
        if let Some(path) = named_file {
            let named: Vec<TokenEntry> =
                serde_json::from_str(&read(path)?).map_err(|e| TokenError::Parse {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
            for entry in named {
                check(&entry.name, &entry.token)?;
                entries.push(entry);
            }
        }
        Ok(Self { entries })
    }

    /// Tokens given directly (tests).
    pub fn from_entries(entries: Vec<TokenEntry>) -> Self {
        Self { entries }
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.entries.is_empty()
    }

    /// The caller presenting `secret`. Every entry is compared in constant time, so
    /// the time taken says nothing about how much of a secret matched.
    pub fn authenticate(&self, secret: &str) -> Option<Principal> {
        let mut found = None;
        for entry in &self.entries {
            if constant_time_eq(entry.token.as_bytes(), secret.as_bytes()) && found.is_none() {
                found = Some(Principal {
                    name: entry.name.clone(),
                    role: entry.role,
                    user: entry.user.clone(),
                });
            }
        }
        found
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// What a route admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, even without a token.
    Public,
    /// These roles (and admin).
    Roles(&'static [Role]),
}

/// The route table's rules, handed to the guard at start-up (the table lives in
/// `api::routes`, which `auth` does not import).
#[derive(Debug, Clone, Copy)]
pub struct RouteRules {
    /// What a request needs, by method and matched route pattern.
    pub access: fn(&Method, Option<&str>) -> Access,
    /// Whether a user-scoped caller is refused the route outright.
    pub refuses_scoped: fn(&Method, Option<&str>) -> bool,
}

impl Access {
    /// Whether `role` may pass.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Self::Public => true,
            Self::Roles(roles) => role == Role::Admin || roles.contains(&role),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"abcdeg"));
        assert!(!constant_time_eq(b"abc", b"abcdef"));
    }

    #[test]
    fn weak_tokens_are_refused() {
        assert!(Tokens::load(Some("short"), None, None).is_err());
        assert!(Tokens::load(Some("has spaces in it, long enough"), None, None).is_err());
        let tokens = Tokens::load(Some("0123456789abcdef0123"), None, None).expect("loads");
        assert_eq!(
            tokens.authenticate("0123456789abcdef0123").map(|p| p.role),
            Some(Role::Admin)
        );
        assert_eq!(tokens.authenticate("0123456789abcdef0124"), None);
    }
}
