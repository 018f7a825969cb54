//! The test app's Gong and Salesforce stand-ins: what they answer, and what they were sent.

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::app::TestApp;
use super::{
    extensive_with, fixture, SalesforceRecords, ACCESS_TOKEN, COLLECTIONS_PATH, DESCRIBE_PATH,
    GONG_PATH, QUERY_PATH, TOKEN_PATH,
};

impl TestApp {
    /// Token endpoint answering the fixture token, pointed at the Salesforce mock, and the
    /// Opportunity describe every write consults first.
    pub async fn mount_token(&self) {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(self.token_body(ACCESS_TOKEN)))
            .mount(&self.salesforce)
            .await;
        self.mount_describe(fixture("sf_opportunity_describe.json"))
            .await;
    }

    pub async fn mount_describe(&self, describe: Value) {
        Mock::given(method("GET"))
            .and(path(DESCRIBE_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(describe))
            .mount(&self.salesforce)
            .await;
    }

    pub fn token_body(&self, access_token: &str) -> Value {
        let mut token = fixture("sf_token.json");
        token["instance_url"] = Value::String(self.salesforce.uri());
        token["access_token"] = Value::String(access_token.to_owned());
        token
    }

    /// Gong answering with the fixture webhook's call.
    pub async fn mount_fixture_call(&self) {
        self.mount_gong_call(&fixture("gong_webhook.json")["callData"])
            .await;
    }

    pub async fn mount_gong_call(&self, call: &Value) {
        Mock::given(method("POST"))
            .and(path(GONG_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(extensive_with(call)))
            .mount(&self.gong)
            .await;
    }

    /// A Salesforce that accepts every collection update and answers SOQL reads from what
    /// was written (or seeded into the returned stand-in).
    pub async fn mount_records(&self) -> SalesforceRecords {
        self.mount_records_as(SalesforceRecords::default()).await
    }

    /// As [`TestApp::mount_records`], with a stand-in set up by the test (delays, seeds).
    pub async fn mount_records_as(&self, records: SalesforceRecords) -> SalesforceRecords {
        for (verb, route) in [("PATCH", COLLECTIONS_PATH), ("GET", QUERY_PATH)] {
            Mock::given(method(verb))
                .and(path(route))
                .respond_with(records.clone())
                .mount(&self.salesforce)
                .await;
        }
        records
    }

    /// Gong answering with the fixture call, and a Salesforce that accepts every write;
    /// returns the Salesforce stand-in (to seed values or script failures).
    pub async fn mount_happy_path(&self) -> SalesforceRecords {
        self.mount_happy_path_for(&fixture("gong_webhook.json")["callData"])
            .await
    }

    /// As [`TestApp::mount_happy_path`], with Gong answering `call`.
    pub async fn mount_happy_path_for(&self, call: &Value) -> SalesforceRecords {
        self.mount_gong_call(call).await;
        self.mount_token().await;
        self.mount_records().await
    }

    /// Every request `server` received, in order.
    pub async fn all_requests(server: &MockServer) -> Vec<wiremock::Request> {
        server.received_requests().await.unwrap_or_default()
    }

    pub async fn requests_to(
        server: &MockServer,
        verb: &str,
        path: &str,
    ) -> Vec<wiremock::Request> {
        Self::all_requests(server)
            .await
            .into_iter()
            .filter(|r| r.method.as_str() == verb && r.url.path() == path)
            .collect()
    }

    pub async fn gong_requests(&self) -> Vec<wiremock::Request> {
        Self::requests_to(&self.gong, "POST", GONG_PATH).await
    }

    /// Every request Salesforce received except token and describe requests.
    pub async fn salesforce_data_requests(&self) -> Vec<wiremock::Request> {
        Self::all_requests(&self.salesforce)
            .await
            .into_iter()
            .filter(|r| r.url.path() != TOKEN_PATH && r.url.path() != DESCRIBE_PATH)
            .collect()
    }

    /// Every record sent in a collection update, as (the record's REST path, its fields).
    pub async fn patches(&self) -> Vec<(String, Value)> {
        let mut patches = Vec::new();
        for request in self.collection_updates().await {
            let body: Value = serde_json::from_slice(&request.body).expect("PATCH body is JSON");
            assert_eq!(body["allOrNone"], false, "{body}");
            for record in body["records"].as_array().expect("records") {
                let mut fields = record.as_object().expect("record").clone();
                let id = fields.remove("id").expect("id");
                let attributes = fields.remove("attributes").expect("attributes");
                let path = format!(
                    "/services/data/v62.0/sobjects/{}/{}",
                    attributes["type"].as_str().expect("type"),
                    id.as_str().expect("id")
                );
                patches.push((path, Value::Object(fields)));
            }
        }
        patches
    }

    pub async fn collection_updates(&self) -> Vec<wiremock::Request> {
        Self::requests_to(&self.salesforce, "PATCH", COLLECTIONS_PATH).await
    }
}
