//! Sending requests to Gong and Salesforce: every request counted in the metrics, and
//! failures turned into text an operator can act on (the cause, never the URL).

use crate::telemetry;

/// Sends an upstream request and counts it in `competitor_sync_upstream_requests_total`,
/// whatever the outcome. A transport failure comes back as its cause chain (no URL).
pub async fn send_counted(
    api: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, String> {
    match request.send().await {
        Ok(response) => {
            telemetry::upstream_request(api, Some(response.status().as_u16()));
            Ok(response)
        }
        Err(error) => {
            telemetry::upstream_request(api, None);
            Err(transport_error(error))
        }
    }
}

/// A reqwest failure as text for an error message: its cause chain, without the URL.
pub fn transport_error(error: reqwest::Error) -> String {
    error_chain(&error.without_url())
}

/// An error and its causes on one line: reqwest's own message ("error sending request")
/// leaves out the part an operator needs ("Connection refused", "operation timed out").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The start of an upstream body for an error message, on one line.
pub fn excerpt(body: &str) -> String {
    const LIMIT: usize = 200;
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None if flat.is_empty() => "(empty body)".to_owned(),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(
            excerpt("<html>\n  <b>502</b>\n</html>"),
            "<html> <b>502</b> </html>"
        );
        assert_eq!(excerpt(""), "(empty body)");
        let long = "é".repeat(500);
        assert_eq!(excerpt(&long).chars().count(), 201);
    }
}
