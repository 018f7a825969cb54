//! A real browser for the console's tests: Debian's Chromium, headless, driven through
//! Debian's chromedriver with fantoccini. Both must be installed (`scripts/test.sh` installs
//! the `chromium` and `chromium-driver` packages): without them these tests fail, saying so.

use std::process::Command;
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{eventually, WAIT};
use crate::process::ChildProcess;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    _driver: ChildProcess,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Chromium with a fresh profile and a laptop-sized window.
    pub async fn start() -> Self {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(binary).exists(),
                "{binary} is missing: the console's browser tests need Debian's chromium and \
                 chromium-driver packages (scripts/test.sh installs them)"
            );
        }
        let port = free_port();
        let mut driver = ChildProcess::start(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1"),
        );
        driver
            .wait_for("chromedriver to start", |output| {
                output.contains("started successfully").then_some(())
            })
            .await;
        let profile = tempfile::tempdir().expect("profile dir");
        // As root in a container Chromium needs --no-sandbox; the network flags keep it from
        // calling home, which a closed network refuses.
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = eventually("a Chromium session", WAIT, || {
            let mut builder = ClientBuilder::new(connector.clone());
            builder.capabilities(capabilities.clone());
            async move {
                builder
                    .connect(&format!("http://127.0.0.1:{port}"))
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        Self {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("page loads");
    }

    /// The visible text of the first element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("cleared");
        field.send_keys(value).await.expect("typed");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("clicked");
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .select_by_value(value)
            .await
            .expect("selected");
    }

    /// Waits (a click's navigation takes a moment) until the text of the first element
    /// `css` selects satisfies `done`; returns it.
    pub async fn wait_for_text(
        &self,
        what: &str,
        css: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        eventually(what, WAIT, || async {
            let found = self.client.find(Locator::Css(css)).await;
            let text = match found {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if done(&text) {
                Ok(text)
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(format!("{css} shows {text:?}"))
            }
        })
        .await
    }

    /// Waits until the page's address contains `part`.
    pub async fn wait_for_url(&self, part: &str) {
        eventually(&format!("the address to contain {part}"), WAIT, || async {
            let url = self.client.current_url().await.map_err(|e| e.to_string())?;
            if url.as_str().contains(part) {
                Ok(())
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(format!("at {url}"))
            }
        })
        .await;
    }

    /// Reloads until the text of `css` satisfies `done`.
    pub async fn reload_until(&self, what: &str, css: &str, done: impl Fn(&str) -> bool) {
        eventually(what, WAIT, || async {
            self.client.refresh().await.map_err(|e| e.to_string())?;
            let text = self.text(css).await;
            if done(&text) {
                Ok(())
            } else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(format!("the page shows {text:?}"))
            }
        })
        .await;
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
