//! Salesforce OAuth: the three server-to-server flows, a cached access token, and a single
//! renewal in flight when several workers see the same expired token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::types::{JwtClaims, OAuthError, TokenResponse};
use super::SalesforceError;
use crate::config::{SalesforceAuth, SalesforceSettings};
use crate::retry::{Classify, Disposition};
use crate::shared::TokenVault;
use crate::upstream;

/// Key under which a rotated refresh token is stored.
const REFRESH_TOKEN_NAME: &str = "salesforce.refresh_token";
/// After Salesforce refuses the grant, further token requests within this window fail
/// without asking again: a configuration error must not become a request loop.
const REFUSAL_QUIET_PERIOD: Duration = Duration::from_secs(60);
/// After a token request fails for a passing reason (Salesforce down, a timeout), further
/// token requests wait this long, doubling with each failure up to `OUTAGE_LONGEST_HOLD`:
/// an outage costs a handful of token requests, not one per job attempt.
const OUTAGE_FIRST_HOLD: Duration = Duration::from_secs(1);
const OUTAGE_LONGEST_HOLD: Duration = Duration::from_secs(30);
/// How long one process may hold the refresh lock if it dies while refreshing.
const REFRESH_LOCK_LEASE: Duration = Duration::from_secs(60);
/// Lifetime of a JWT bearer assertion; Salesforce accepts at most 3 minutes.
const ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(3);

/// A usable access token and the org host it is valid for.
#[derive(Debug)]
pub struct AccessToken {
    pub value: SecretString,
    pub instance_url: String,
}

enum Grant {
    ClientCredentials {
        client_secret: SecretString,
    },
    JwtBearer {
        username: String,
        audience: String,
        key: Box<EncodingKey>,
    },
    RefreshToken {
        client_secret: Option<SecretString>,
        configured: SecretString,
    },
}

#[derive(Default)]
struct TokenState {
    current: Option<Arc<AccessToken>>,
    /// When and how Salesforce last refused the grant: `(error, error_description)`.
    refused: Option<(Instant, String, String)>,
    /// The token endpoint failing for a reason that passes, while it lasts.
    outage: Option<Outage>,
}

/// Token requests failing in a row, and until when nobody asks again.
struct Outage {
    failures: u32,
    held_until: Instant,
    reason: String,
}

pub struct TokenProvider {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    grant: Grant,
    vault: Arc<dyn TokenVault>,
    state: Mutex<TokenState>,
}

impl TokenProvider {
    pub fn new(
        settings: &SalesforceSettings,
        http: reqwest::Client,
        vault: Arc<dyn TokenVault>,
    ) -> Self {
        let (client_id, grant) = match settings.auth.clone() {
            SalesforceAuth::ClientCredentials {
                client_id,
                client_secret,
            } => (client_id, Grant::ClientCredentials { client_secret }),
            SalesforceAuth::JwtBearer {
                client_id,
                username,
                audience,
                key,
            } => (
                client_id,
                Grant::JwtBearer {
                    username,
                    audience,
                    key: Box::new(key),
                },
            ),
            SalesforceAuth::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => (
                client_id,
                Grant::RefreshToken {
                    client_secret,
                    configured: refresh_token,
                },
            ),
        };
        Self {
            http,
            token_url: format!(
                "{}/services/oauth2/token",
                settings.login_url.trim_end_matches('/')
            ),
            client_id,
            grant,
            vault,
            state: Mutex::new(TokenState::default()),
        }
    }

    /// The cached access token, fetching one first if there is none.
    pub async fn token(&self) -> Result<Arc<AccessToken>, SalesforceError> {
        let mut state = self.state.lock().await;
        match &state.current {
            Some(token) => Ok(Arc::clone(token)),
            None => self.fetch(&mut state).await,
        }
    }

    /// A new access token to replace `rejected`, which Salesforce answered 401 to. When
    /// another worker already replaced it, that newer token is returned without a request.
    pub async fn renew(
        &self,
        rejected: &Arc<AccessToken>,
    ) -> Result<Arc<AccessToken>, SalesforceError> {
        let mut state = self.state.lock().await;
        match &state.current {
            Some(current) if !Arc::ptr_eq(current, rejected) => Ok(Arc::clone(current)),
            _ => {
                state.current = None;
                self.fetch(&mut state).await
            }
        }
    }

    /// Runs the grant. Called with the state locked, which is what makes renewal single
    /// flight: other callers wait here and then find the new token, or the same failure
    /// (a refused grant, or an outage of the token endpoint) without a request of their own.
    async fn fetch(&self, state: &mut TokenState) -> Result<Arc<AccessToken>, SalesforceError> {
        if let Some((at, error, description)) = &state.refused {
            if at.elapsed() < REFUSAL_QUIET_PERIOD {
                return Err(SalesforceError::Grant {
                    error: error.clone(),
                    description: description.clone(),
                });
            }
        }
        if let Some(outage) = &state.outage {
            let now = Instant::now();
            if outage.held_until > now {
                return Err(SalesforceError::TokenHeld {
                    retry_in: outage.held_until - now,
                    reason: outage.reason.clone(),
                });
            }
        }
        match self.request_token().await {
            Ok(token) => {
                state.refused = None;
                state.outage = None;
                state.current = Some(Arc::clone(&token));
                Ok(token)
            }
            Err(error) => {
                match &error {
                    SalesforceError::Grant { error, description } => {
                        state.refused = Some((Instant::now(), error.clone(), description.clone()));
                    }
                    passing if passing.disposition() != Disposition::Permanent => {
                        let failures = state.outage.as_ref().map_or(0, |o| o.failures) + 1;
                        let hold = OUTAGE_FIRST_HOLD
                            .saturating_mul(1 << (failures - 1).min(16))
                            .min(OUTAGE_LONGEST_HOLD);
                        tracing::warn!(error = %passing, hold_secs = hold.as_secs(), "the Salesforce token request failed; holding further token requests");
                        state.outage = Some(Outage {
                            failures,
                            held_until: Instant::now() + hold,
                            reason: passing.to_string(),
                        });
                    }
                    _ => {}
                }
                Err(error)
            }
        }
    }

    /// One token request with the configured grant.
    /// One token request with the configured grant. A rotating refresh token is shared by
    /// every process using the store: one of them refreshes at a time (the others wait),
    /// each with the token last kept, so no process spends a token another has rotated.
    async fn request_token(&self) -> Result<Arc<AccessToken>, SalesforceError> {
        let Grant::RefreshToken { .. } = &self.grant else {
            return self.exchange().await;
        };
        let holder = uuid::Uuid::now_v7().to_string();
        self.vault
            .lock(REFRESH_TOKEN_NAME, holder.clone(), REFRESH_LOCK_LEASE)
            .await
            .map_err(|e| SalesforceError::SharedState(e.to_string()))?;
        let token = self.exchange().await;
        if let Err(error) = self.vault.unlock(holder).await {
            tracing::warn!(%error, "could not release the refresh lock; it expires by itself");
        }
        token
    }

    async fn exchange(&self) -> Result<Arc<AccessToken>, SalesforceError> {
        let form = self.grant_form().await?;
        let request = self.http.post(&self.token_url).form(&form);
        let response = upstream::send_counted("salesforce_auth", request)
            .await
            .map_err(SalesforceError::Transport)?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| SalesforceError::Transport(upstream::transport_error(e)))?;
        if !status.is_success() {
            return Err(token_error(status, &text));
        }
        let parsed: TokenResponse = serde_json::from_str(&text)
            .map_err(|e| SalesforceError::Decode(format!("token response: {e}")))?;
        if let (Grant::RefreshToken { configured, .. }, Some(rotated)) =
            (&self.grant, parsed.refresh_token.filter(|t| !t.is_empty()))
        {
            // Rotation invalidated the old refresh token: keep the new one durably before
            // using the access token, or a crash now would leave no valid refresh token.
            self.vault
                .save_rotated_token(
                    REFRESH_TOKEN_NAME,
                    configured.expose_secret().to_owned(),
                    rotated,
                )
                .await
                .map_err(|e| SalesforceError::SharedState(e.to_string()))?;
        }
        Ok(Arc::new(AccessToken {
            value: SecretString::from(parsed.access_token),
            instance_url: parsed.instance_url.trim_end_matches('/').to_owned(),
        }))
    }

    async fn grant_form(&self) -> Result<Vec<(&'static str, String)>, SalesforceError> {
        let client_id = ("client_id", self.client_id.clone());
        Ok(match &self.grant {
            Grant::ClientCredentials { client_secret } => vec![
                ("grant_type", "client_credentials".into()),
                client_id,
                ("client_secret", client_secret.expose_secret().to_owned()),
            ],
            Grant::JwtBearer {
                username,
                audience,
                key,
            } => {
                let claims = JwtClaims {
                    iss: &self.client_id,
                    sub: username,
                    aud: audience,
                    exp: (time::OffsetDateTime::now_utc() + ASSERTION_LIFETIME).unix_timestamp(),
                };
                let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key)
                    .map_err(|e| SalesforceError::Assertion(e.to_string()))?;
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                    ),
                    ("assertion", assertion),
                ]
            }
            Grant::RefreshToken {
                client_secret,
                configured,
            } => {
                // Read each time: another process may have rotated it since.
                let stored = self
                    .vault
                    .rotated_token(REFRESH_TOKEN_NAME, configured.expose_secret().to_owned())
                    .await
                    .map_err(|e| SalesforceError::SharedState(e.to_string()))?;
                let refresh_token = stored.unwrap_or_else(|| configured.expose_secret().to_owned());
                let mut form = vec![
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", refresh_token),
                    client_id,
                ];
                if let Some(secret) = client_secret {
                    form.push(("client_secret", secret.expose_secret().to_owned()));
                }
                form
            }
        })
    }
}

fn token_error(status: StatusCode, body: &str) -> SalesforceError {
    match serde_json::from_str::<OAuthError>(body) {
        Ok(oauth) if status.is_client_error() => SalesforceError::Grant {
            error: oauth.error,
            description: oauth.error_description,
        },
        _ => SalesforceError::TokenEndpoint {
            status: status.as_u16(),
            message: upstream::excerpt(body),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex as StdMutex;

    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    use super::*;
    use crate::config::Settings;
    use crate::store::Store;

    /// A token endpoint with refresh-token rotation: each refresh token works once, and
    /// its answer carries the next one.
    struct Rotating {
        issued: StdMutex<u32>,
        instance_url: String,
    }

    impl Respond for Rotating {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let form: HashMap<String, String> =
                url_form(std::str::from_utf8(&request.body).unwrap_or_default());
            let mut issued = self.issued.lock().expect("lock");
            if form.get("refresh_token") != Some(&format!("refresh-{}", *issued + 1)) {
                return ResponseTemplate::new(400).set_body_json(serde_json::json!({
                    "error": "invalid_grant", "error_description": "expired access/refresh token"
                }));
            }
            *issued += 1;
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": format!("access-{}", *issued),
                "refresh_token": format!("refresh-{}", *issued + 1),
                "instance_url": self.instance_url,
            }))
        }
    }

    fn url_form(body: &str) -> HashMap<String, String> {
        reqwest::Url::parse(&format!("http://x/?{body}"))
            .map(|url| url.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }

    fn provider(server: &MockServer, store: &Store) -> TokenProvider {
        let env: HashMap<String, String> = [
            (
                "COMPETITOR_SYNC__WEBHOOK__TOKEN",
                "0123456789abcdef0123".to_owned(),
            ),
            ("COMPETITOR_SYNC__GONG__ACCESS_KEY", "key".to_owned()),
            (
                "COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET",
                "secret".to_owned(),
            ),
            (
                "COMPETITOR_SYNC__SALESFORCE__AUTH",
                "refresh_token".to_owned(),
            ),
            (
                "COMPETITOR_SYNC__SALESFORCE__CLIENT_ID",
                "client".to_owned(),
            ),
            (
                "COMPETITOR_SYNC__SALESFORCE__REFRESH_TOKEN",
                "refresh-1".to_owned(),
            ),
            ("COMPETITOR_SYNC__SALESFORCE__LOGIN_URL", server.uri()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let settings = Settings::load_from(None, Some(env)).expect("settings");
        TokenProvider::new(
            &settings.salesforce,
            reqwest::Client::new(),
            Arc::new(store.clone()),
        )
    }

    #[tokio::test]
    async fn processes_sharing_a_store_refresh_with_the_token_last_rotated() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::method("POST"))
            .respond_with(Rotating {
                issued: StdMutex::new(0),
                instance_url: server.uri(),
            })
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}/s.db", dir.path().display()))
            .await
            .expect("store");
        let (first, second) = (provider(&server, &store), provider(&server, &store));

        let first_token = first.token().await.expect("refresh-1 works");
        // The other process rotates after the first one loaded its token.
        let second_token = second.token().await.expect("the rotated refresh-2 works");
        assert_eq!(second_token.value.expose_secret(), "access-2");
        // The first process's access token expires: it must refresh with refresh-3, kept by
        // the other process, not the refresh-2 it used to know.
        let renewed = first.renew(&first_token).await.expect("renewed");
        assert_eq!(renewed.value.expose_secret(), "access-3");

        // Both at once: one after the other, each with the token last kept.
        let (a, b) = tokio::join!(first.renew(&renewed), second.renew(&second_token));
        let mut issued = vec![
            a.expect("renewed").value.expose_secret().to_owned(),
            b.expect("renewed").value.expose_secret().to_owned(),
        ];
        issued.sort();
        assert_eq!(issued, ["access-4", "access-5"]);
    }
}
