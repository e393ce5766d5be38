//! E-mail over SMTP with `lettre`: STARTTLS (required, not opportunistic), TLS from the first
//! byte, or a plain connection for a local relay; optional authentication. The password is
//! only ever handed to lettre's credentials.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::config::{EmailChannel, SmtpTls};
use super::{Failure, Outgoing};

/// The message's text: the body, and the acknowledgement link when there is one.
pub fn text(out: &Outgoing<'_>) -> String {
    let mut text = out.notification.body.clone();
    if let Some(url) = &out.ack_url {
        text.push_str(&format!(
            "\n\nAcknowledge (stops the escalation): {url}\nOr: firebreak notify ack {}\n",
            out.notification.id
        ));
    }
    text
}

fn transport(channel: &EmailChannel) -> Result<AsyncSmtpTransport<Tokio1Executor>, Failure> {
    let permanent = |error: lettre::transport::smtp::Error| Failure {
        detail: format!("SMTP set-up for {}: {error}", channel.host),
        permanent: true,
    };
    let builder = match channel.tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&channel.host)
            .map_err(permanent)?,
        SmtpTls::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&channel.host).map_err(permanent)?
        }
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&channel.host),
    };
    let mut builder = builder
        .port(channel.port())
        .timeout(Some(Duration::from_secs(channel.timeout_secs.max(1))));
    if let Some(username) = &channel.username {
        let password = channel.password.as_ref().map(|p| p.0.clone()).unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    Ok(builder.build())
}

pub async fn send(channel: &EmailChannel, out: &Outgoing<'_>) -> Result<String, Failure> {
    let invalid =
        |what: &str, error: String| Failure { detail: format!("{what}: {error}"), permanent: true };
    let from: Mailbox = channel
        .from
        .parse()
        .map_err(|e: lettre::address::AddressError| invalid("from", e.to_string()))?;
    let mut message = Message::builder()
        .from(from)
        .subject(out.notification.subject.clone())
        .header(ContentType::TEXT_PLAIN);
    for to in &out.to {
        let to: Mailbox =
            to.parse().map_err(|e: lettre::address::AddressError| invalid("to", e.to_string()))?;
        message = message.to(to);
    }
    let message = message.body(text(out)).map_err(|e| invalid("message", e.to_string()))?;
    let response = transport(channel)?.send(message).await.map_err(|error| Failure {
        permanent: error.is_permanent(),
        detail: format!("SMTP {}:{}: {error}", channel.host, channel.port()),
    })?;
    let answer: Vec<&str> = response.message().collect();
    Ok(format!("SMTP {} {}", response.code(), answer.join(" ")))
}
