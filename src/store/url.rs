//! Which backend a store URL names, by its scheme: one test for the configuration's
//! validation, `check`'s hints and [`super::Store::connect_with`].

/// Whether `url` names a SQLite file (`sqlite://PATH`, `sqlite:PATH`).
pub fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Whether `url` names a PostgreSQL database (`postgres://`, `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

/// Why a URL of no scheme above is refused. The scheme is named only if it looks like one
/// (RFC 3986): what comes before `://` might otherwise be part of a password.
pub fn unsupported_scheme(url: &str) -> String {
    let is_scheme = |name: &str| {
        name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    };
    match url.split_once("://") {
        Some((scheme, _)) if is_scheme(scheme) => {
            format!("the scheme `{scheme}` is not supported")
        }
        _ => "it has no scheme".to_owned(),
    }
}
