//! Bearer tokens: roles, department ownership and region scope.
//!
//! Tokens are kept only as SHA-256 hashes and compared in constant time; a token never
//! reaches a log line or an event (events record the token's *name*).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yijian_engine::Actor;
use yijian_engine::store::Store;

use super::config::{ConfigError, TokenConfig};
use super::error::ApiError;
use super::state::AppState;

/// What a token may do (api.md "Who may call what").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Deploy bundles, operate incidents, read.
    Admin,
    /// The front office / portal: submit, read, supplement, withdraw, evaluate, confirm.
    Window,
    /// Read everything, nothing else.
    Supervisor,
    /// A data-sharing system: create proposed cases.
    Trigger,
    /// A department's back office: its queue and its tasks only.
    Department(Arc<str>),
}

impl Role {
    /// Parses `admin`, `window`, `supervisor`, `trigger` or `department:<id>`.
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim() {
            "admin" => Some(Role::Admin),
            "window" => Some(Role::Window),
            "supervisor" => Some(Role::Supervisor),
            "trigger" => Some(Role::Trigger),
            other => {
                let dep = other.strip_prefix("department:")?.trim();
                (!dep.is_empty()).then(|| Role::Department(Arc::from(dep)))
            }
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Admin => f.write_str("admin"),
            Role::Window => f.write_str("window"),
            Role::Supervisor => f.write_str("supervisor"),
            Role::Trigger => f.write_str("trigger"),
            Role::Department(d) => write!(f, "department:{d}"),
        }
    }
}

/// The holder of a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (the actor recorded in events).
    pub name: Arc<str>,
    /// Its role.
    pub role: Role,
    /// The 区划代码 subtree it is limited to; `None`: everything.
    pub region: Option<Arc<str>>,
}

impl Principal {
    /// Whether a case in `region` is within the token's scope.
    pub fn sees_region(&self, region: &str) -> bool {
        self.region.as_deref().is_none_or(|s| region.starts_with(s))
    }

    /// Refuses (403) unless the role is one of `roles`.
    ///
    /// # Errors
    /// `forbidden` when the role may not do this.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                format!("a `{}` token may not do this", self.role),
            ))
        }
    }

    /// Refuses (403) unless this is a token of department `department`.
    ///
    /// # Errors
    /// `wrong_department` for another department's token, `forbidden` for another role.
    pub fn require_department(&self, department: &str) -> Result<(), ApiError> {
        match &self.role {
            Role::Department(d) if **d == *department => Ok(()),
            Role::Department(d) => Err(ApiError::forbidden(
                "wrong_department",
                format!("a token of department `{d}` may not act for department `{department}`"),
            )),
            other => Err(ApiError::forbidden(
                "forbidden",
                format!("a `{other}` token may not act for a department"),
            )),
        }
    }

    /// Refuses (403) when a case in `region` is outside the token's scope.
    ///
    /// # Errors
    /// `outside_region`.
    pub fn require_region(&self, region: &str) -> Result<(), ApiError> {
        if self.sees_region(region) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "outside_region",
                format!(
                    "the case is handled in region `{region}`, outside this token's scope `{}`",
                    self.region.as_deref().unwrap_or_default()
                ),
            ))
        }
    }

    /// The actor recorded for what this token does.
    pub fn actor(&self) -> Actor {
        match &self.role {
            Role::Department(d) => Actor::Department(d.clone()),
            Role::Trigger => Actor::Trigger(self.name.clone()),
            Role::Window => Actor::Window(self.name.clone()),
            Role::Admin | Role::Supervisor => Actor::Operator(self.name.clone()),
        }
    }
}

/// The configured tokens, by hash.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Arc<Vec<([u8; 32], Principal)>>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names and roles only: never the hashes.
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|(_, p)| (&p.name, p.role.to_string())),
            )
            .finish()
    }
}

impl Tokens {
    /// Tokens from the configuration file.
    ///
    /// # Errors
    /// A role that does not parse, or a hash that is not 64 hex digits.
    pub fn from_config(tokens: &[TokenConfig]) -> Result<Tokens, ConfigError> {
        let mut entries = Vec::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            let key = |field: &str| format!("tokens[{i}].{field}");
            let role = Role::parse(&t.role).ok_or_else(|| ConfigError::Invalid {
                key: key("role"),
                message: format!(
                    "`{}` is not admin, window, supervisor, trigger or department:<id>",
                    t.role
                ),
            })?;
            let hash = unhex(&t.sha256).ok_or_else(|| ConfigError::Invalid {
                key: key("sha256"),
                message: "not 64 hex digits (printf %s \"$TOKEN\" | sha256sum)".to_owned(),
            })?;
            entries.push((
                hash,
                Principal {
                    name: Arc::from(t.name.as_str()),
                    role,
                    region: t.region.as_deref().map(Arc::from),
                },
            ));
        }
        Ok(Tokens {
            entries: Arc::new(entries),
        })
    }

    /// Tokens from plain secrets (development tokens, tests).
    pub fn from_plain(tokens: impl IntoIterator<Item = (String, Principal)>) -> Tokens {
        Tokens {
            entries: Arc::new(
                tokens
                    .into_iter()
                    .map(|(secret, p)| (sha256(&secret), p))
                    .collect(),
            ),
        }
    }

    /// No token configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal holding `token`, comparing against every hash in constant time.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let hash = sha256(token);
        let mut found = None;
        for (h, p) in self.entries.iter() {
            // No early exit: the time does not depend on where (or whether) it matches.
            let same = h
                .iter()
                .zip(hash.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
            if same && found.is_none() {
                found = Some(p);
            }
        }
        found.cloned()
    }
}

/// The lower-case hex SHA-256 of a token, as the configuration file stores it.
pub fn token_hash(token: &str) -> String {
    sha256(token).iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The token of an `Authorization` header: `Bearer <token>`, or `Basic` with the token as
/// the password (any user name: Camunda clients' basic-auth interceptors send it so).
fn token_of(header: &str) -> Option<String> {
    use base64::Engine as _;
    let (scheme, rest) = header.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (_, password) = text.split_once(':')?;
    Some(password.to_owned())
}

/// Wrong tokens one client address may send in [`super::public::limiter::WINDOW`] before
/// it is refused (429) until the window ends.
pub const WRONG_TOKENS: u32 = 100;

/// The caller of a request, authenticated by its `Authorization` header (`Bearer`, or
/// `Basic` with the token as password).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Store + Clone> FromRequestParts<AppState<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let missing = || {
            ApiError::unauthorized(
                "missing_token",
                "send `Authorization: Bearer <token>` (or `Basic` with the token as password), \
                 or log in to the console",
            )
        };
        let token = match parts.headers.get(AUTHORIZATION) {
            Some(header) => header
                .to_str()
                .ok()
                .and_then(token_of)
                .filter(|t| !t.is_empty())
                .ok_or_else(missing)?,
            // The console's session cookie: a request that changes something must also
            // carry the session's CSRF token in a header, which another site cannot read.
            None => {
                let token = super::console::session_token(&parts.headers).ok_or_else(missing)?;
                if !parts.method.is_safe() && !super::console::csrf_matches(&parts.headers, &token)
                {
                    return Err(ApiError::forbidden(
                        "csrf",
                        "a request with the console's session cookie must carry its \
                         `X-CSRF-Token` header (reload the console)",
                    ));
                }
                token
            }
        };
        authenticate(parts, state, &token).map(Caller)
    }
}

/// The holder of `token`, counting a wrong one against the client's address (past
/// [`WRONG_TOKENS`] the address is refused for a while, whatever it sends).
pub(crate) fn authenticate<S: Store + Clone>(
    parts: &Parts,
    state: &AppState<S>,
    token: &str,
) -> Result<Principal, ApiError> {
    let limiter = state.token_limiter();
    let key = || format!("token:{}", super::public::limiter::client_of(parts));
    // Nothing to look up (and no key to build) until some wrong token was counted.
    if limiter.counted()
        && let super::public::limiter::Verdict::Refuse(left) =
            limiter.check_one(&key(), WRONG_TOKENS)
    {
        return Err(ApiError::TooMany {
            message: "too many wrong tokens from this address; try again later".to_owned(),
            retry_after: u32::try_from(left.as_secs().max(1)).unwrap_or(u32::MAX),
        });
    }
    match state.tokens().authenticate(token) {
        Some(p) => Ok(p),
        None => {
            limiter.failed_one(&key());
            Err(ApiError::unauthorized(
                "invalid_token",
                "the token is not valid",
            ))
        }
    }
}

/// Development tokens, written to `yijian-dev-tokens.json` when none is configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevTokens {
    /// The admin token.
    pub admin: String,
    /// The window token.
    pub window: String,
    /// The supervisor token.
    pub supervisor: String,
    /// The trigger token.
    pub trigger: String,
    /// One token per department.
    pub departments: BTreeMap<String, String>,
}

impl DevTokens {
    /// New random tokens for these departments.
    ///
    /// # Errors
    /// The system's random source failed.
    pub fn generate<'a>(
        departments: impl IntoIterator<Item = &'a str>,
    ) -> Result<DevTokens, getrandom::Error> {
        Ok(DevTokens {
            admin: random_token()?,
            window: random_token()?,
            supervisor: random_token()?,
            trigger: random_token()?,
            departments: departments
                .into_iter()
                .map(|d| Ok((d.to_owned(), random_token()?)))
                .collect::<Result<_, getrandom::Error>>()?,
        })
    }

    /// Reads the file if it exists (adding tokens for departments it lacks), or generates
    /// new tokens; writes it back with mode 0600 when anything changed.
    ///
    /// # Errors
    /// The file cannot be read or written, or the random source failed.
    pub fn load_or_create<'a>(
        path: &Path,
        departments: impl IntoIterator<Item = &'a str> + Clone,
    ) -> std::io::Result<DevTokens> {
        let existing = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<DevTokens>(&t).ok());
        let (mut tokens, mut changed) = match existing {
            Some(t) => (t, false),
            None => (
                DevTokens::generate(departments.clone()).map_err(std::io::Error::other)?,
                true,
            ),
        };
        for d in departments {
            if !tokens.departments.contains_key(d) {
                tokens
                    .departments
                    .insert(d.to_owned(), random_token().map_err(std::io::Error::other)?);
                changed = true;
            }
        }
        if changed {
            write_private(path, &serde_json::to_string_pretty(&tokens)?)?;
        }
        Ok(tokens)
    }

    /// The tokens, unscoped, named after their roles (`dev-admin`, `dev-market`…).
    pub fn tokens(&self) -> Tokens {
        let p = |name: &str, role: Role| Principal {
            name: Arc::from(name),
            role,
            region: None,
        };
        let mut all = vec![
            (self.admin.clone(), p("dev-admin", Role::Admin)),
            (self.window.clone(), p("dev-window", Role::Window)),
            (
                self.supervisor.clone(),
                p("dev-supervisor", Role::Supervisor),
            ),
            (self.trigger.clone(), p("dev-trigger", Role::Trigger)),
        ];
        for (d, t) in &self.departments {
            all.push((
                t.clone(),
                p(&format!("dev-{d}"), Role::Department(Arc::from(d.as_str()))),
            ));
        }
        Tokens::from_plain(all)
    }
}

/// 32 random bytes, hex: `yj_` + 64 digits.
fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "yj_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // An existing file keeps its mode on open: tighten it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_headers_give_the_token() {
        assert_eq!(token_of("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token_of("bearer  abc ").as_deref(), Some("abc"));
        // "market:s3cr:et" → the password keeps its own colons.
        assert_eq!(
            token_of("Basic bWFya2V0OnMzY3I6ZXQ=").as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(token_of("Basic !!!"), None);
        assert_eq!(
            token_of("Basic bm9jb2xvbg=="),
            None,
            "no colon: no password"
        );
        assert_eq!(token_of("Digest abc"), None);
    }

    #[test]
    fn roles_parse() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(
            Role::parse("department:market"),
            Some(Role::Department(Arc::from("market")))
        );
        assert_eq!(Role::parse("department:"), None);
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_match_by_hash_only() {
        let config = [TokenConfig {
            name: "w1".into(),
            role: "window".into(),
            region: Some("3201".into()),
            sha256: token_hash("secret-1"),
        }];
        let tokens = Tokens::from_config(&config).expect("valid");
        let p = tokens.authenticate("secret-1").expect("known");
        assert_eq!(p.role, Role::Window);
        assert!(p.sees_region("320106"));
        assert!(!p.sees_region("310101"));
        assert!(tokens.authenticate("secret-2").is_none());
        assert!(!format!("{tokens:?}").contains(&token_hash("secret-1")));
    }

    #[test]
    fn dev_tokens_file_is_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(super::super::config::DEV_TOKENS_FILE);
        let first = DevTokens::load_or_create(&path, ["market"]).expect("written");
        let again = DevTokens::load_or_create(&path, ["market", "fire"]).expect("read");
        assert_eq!(first.admin, again.admin);
        assert!(again.departments.contains_key("fire"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
