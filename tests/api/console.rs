//! The operator console over plain HTTP: mounted only with `admin.token`, signed in once
//! with it, strict headers on every page, forms refused without their CSRF token or from
//! another origin, and text from Gong shown as text. The browser drives it in
//! `console_browser.rs`.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A client that shows redirects instead of following them.
fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// Signs in; returns the `Cookie` header value to send.
pub async fn sign_in(app: &TestApp, http: &reqwest::Client) -> String {
    let response = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", ADMIN_TOKEN), ("next", "/console")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    cookie.split(';').next().expect("name=value").to_owned()
}

async fn page(http: &reqwest::Client, url: &str, cookie: &str) -> (StatusCode, String) {
    let response = http
        .get(url)
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("sent");
    (response.status(), response.text().await.expect("text"))
}

/// The value of the page's hidden CSRF field.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
    html[at..].split('"').next().expect("value").to_owned()
}

/// A service with the console, and a dead job whose call has `title`.
async fn console_with_dead_job(title: &str) -> (TestApp, String) {
    let app = TestApp::builder()
        .without_workers()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await;
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json")))
        .mount(&app.gong)
        .await;
    let webhook = webhook_with(|call| call["metaData"]["title"] = Value::from(title));
    let job = app.process(&webhook).await;
    (app, job.id)
}

#[tokio::test]
async fn the_console_does_not_exist_without_an_admin_token() {
    let app = TestApp::spawn().await;
    for url in ["/console", "/console/jobs", "/console/assets/console.css"] {
        let response = app.get(url).await;
        assert_eq!(response.status(), 404, "{url}");
    }
}

#[tokio::test]
async fn signing_in_gives_a_strict_session_and_every_page_strict_headers() {
    let (app, job_id) = console_with_dead_job("Acme | Pricing").await;
    let http = browser_like();
    let signed_out = http.get(app.url("/console")).send().await.expect("sent");
    assert_eq!(signed_out.status(), 200);
    let headers = signed_out.headers().clone();
    let csp = headers["content-security-policy"].to_str().expect("text");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(signed_out
        .text()
        .await
        .expect("text")
        .contains(r#"action="/console/sign-in""#));

    let bookmarked = http
        .get(app.url(&format!("/console/jobs/{job_id}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        bookmarked.status(),
        StatusCode::SEE_OTHER,
        "signed out: sign in first"
    );
    let location = bookmarked.headers()[LOCATION].to_str().expect("text");
    assert!(
        location.starts_with("/console?next=%2Fconsole%2Fjobs%2F"),
        "{location}"
    );

    let wrong = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", "guess"), ("next", "/console")])
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 401);
    let response = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", ADMIN_TOKEN), ("next", "https://evil.example/")])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.headers()[LOCATION],
        "/console",
        "never another site"
    );
    let set_cookie = response.headers()[SET_COOKIE].to_str().expect("text");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=28800",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP without a public https URL"
    );
    assert!(!set_cookie.contains(ADMIN_TOKEN));
    let cookie = set_cookie.split(';').next().expect("value");
    let (status, overview) = page(&http, &app.url("/console"), cookie).await;
    assert_eq!(status, 200);
    assert!(
        overview.contains("Dead letters needing a look"),
        "{overview}"
    );
    let (status, _) = page(&http, &app.url(&format!("/console/jobs/{job_id}")), cookie).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_from_another_site_changes_nothing() {
    let (app, job_id) = console_with_dead_job("Acme | Pricing").await;
    let http = browser_like();
    let cookie = sign_in(&app, &http).await;
    let (_, job_page) = page(&http, &app.url(&format!("/console/jobs/{job_id}")), &cookie).await;
    let csrf = csrf_of(&job_page);
    let retry = app.url(&format!("/console/jobs/{job_id}/retry"));
    for (form, origin) in [
        (vec![], None),
        (vec![("csrf", "forged")], None),
        (vec![("csrf", csrf.as_str())], Some("https://evil.example")),
    ] {
        let mut request = http.post(&retry).header(COOKIE, &cookie).form(&form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status(), 403, "{form:?} {origin:?}");
        assert_eq!(
            app.job(&job_id).await.status,
            competitor_sync::store::JobStatus::Dead
        );
    }
    let response = http
        .post(&retry)
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.job(&job_id).await.status,
        competitor_sync::store::JobStatus::Queued
    );
}

#[tokio::test]
async fn text_from_gong_is_shown_as_text() {
    let (app, job_id) = console_with_dead_job("<script>alert(1)</script>").await;
    let http = browser_like();
    let cookie = sign_in(&app, &http).await;
    for url in [
        format!("/console/jobs/{job_id}"),
        "/console/jobs?status=dead".to_owned(),
        "/console".to_owned(),
    ] {
        let (status, html) = page(&http, &app.url(&url), &cookie).await;
        assert_eq!(status, 200, "{url}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{url}: {html}"
        );
        assert!(!html.contains("<script"), "{url}");
    }
}

#[tokio::test]
async fn every_dead_job_matching_a_filter_is_retried_after_confirmation() {
    let (app, job_id) = console_with_dead_job("Acme | Pricing").await;
    let http = browser_like();
    let cookie = sign_in(&app, &http).await;
    let (_, list) = page(&http, &app.url("/console/jobs?q=not+found"), &cookie).await;
    assert!(
        list.contains("Retry every dead job matching this filter (1)"),
        "{list}"
    );
    let csrf = csrf_of(&list);
    let retry = |confirm: &'static str| {
        http.post(app.url("/console/jobs/retry"))
            .header(COOKIE, &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("q", "not found"),
                ("confirm", confirm),
            ])
            .send()
    };
    let unconfirmed = retry("").await.expect("sent");
    assert_eq!(unconfirmed.status(), 400);
    assert_eq!(
        app.job(&job_id).await.status,
        competitor_sync::store::JobStatus::Dead
    );
    let confirmed = retry("yes").await.expect("sent");
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let location = confirmed.headers()[LOCATION].to_str().expect("text");
    assert!(location.contains("retried=1"), "{location}");
    assert_eq!(
        app.job(&job_id).await.status,
        competitor_sync::store::JobStatus::Queued
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_in_the_browser() {
    let (app, _) = console_with_dead_job("Acme | Pricing").await;
    let http = browser_like();
    let cookie = sign_in(&app, &http).await;
    let (_, overview) = page(&http, &app.url("/console"), &cookie).await;
    let response = http
        .post(app.url("/console/sign-out"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf_of(&overview))])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared = response.headers()[SET_COOKIE].to_str().expect("text");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn a_jobs_page_explains_each_name_and_shows_gongs_phrases_as_text() {
    let app = TestApp::builder()
        .without_workers()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .config("[[sync.competitors]]\nname = \"Chorus\"\naliases = [\"chorus.ai\"]\n")
        .spawn()
        .await;
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    call["content"]["trackers"][0]["phrases"] = serde_json::json!([
        {"count": 2, "phrase": "chorus.ai"},
        {"count": 1, "phrase": "<img src=x onerror=alert(1)>"}
    ]);
    app.mount_happy_path_for(&call).await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    let http = browser_like();
    let cookie = sign_in(&app, &http).await;
    let (status, html) = page(
        &http,
        &app.url(&format!("/console/jobs/{}", job.id)),
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Chorus ← tracker: &quot;chorus.ai&quot; (2×)"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");
}
