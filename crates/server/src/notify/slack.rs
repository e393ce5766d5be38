//! Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat accept the same shape):
//! POST `{"text": …, "blocks": […]}`; `text` is the fallback for clients without blocks.

use serde_json::json;

use super::config::SlackChannel;
use super::{Failure, Outgoing, http_outcome};

/// The JSON body posted for one notification.
pub fn payload(out: &Outgoing<'_>) -> serde_json::Value {
    let subject = &out.notification.subject;
    let body = &out.notification.body;
    let mut text = format!("*{}*\n{}", escape(subject), escape(body));
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": format!("*{}*\n{}", escape(subject), escape(body)) },
    })];
    if let Some(url) = &out.ack_url {
        text.push_str(&format!("\n<{url}|Acknowledge>"));
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("<{url}|Acknowledge> (notification {})", out.notification.id) },
        }));
    }
    json!({ "text": text, "blocks": blocks })
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub async fn send(
    channel: &SlackChannel,
    http: &reqwest::Client,
    out: &Outgoing<'_>,
) -> Result<String, Failure> {
    let response = http.post(&channel.url.0).json(&payload(out)).send().await;
    http_outcome(response).await
}
