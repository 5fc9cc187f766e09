//! One connection to the SMTP server, kept open across messages. lettre
//! 0.11 never sets TCP_NODELAY on its own sockets, so every message would
//! wait ~40 ms for a delayed ACK: for plain and STARTTLS connections
//! Keyroll connects the socket itself (with no delay) and hands it to
//! lettre. Each message is its own MAIL/RCPT/DATA transaction; after a
//! refusal the connection is reset (RSET) and used again.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;

use super::smtp::{Auth, Security, SmtpSettings};

const TIMEOUT: Duration = Duration::from_secs(30);

/// What the server made of one message (or of the connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 250 after the message: the server has it.
    Accepted,
    /// 4xx: try again later (the server's words).
    Deferred(String),
    /// 5xx: this recipient or message will never be taken (the server's words).
    Refused(String),
    /// The connection broke or timed out: try again on a new one.
    Lost(String),
}

/// The server's answer as its own code and words: "451 4.3.0 Try later".
fn words(e: &lettre::transport::smtp::Error) -> String {
    let text = std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.to_string());
    match e.status() {
        Some(code) => format!("{code} {text}"),
        None => text,
    }
}

fn answer(e: &lettre::transport::smtp::Error) -> Answer {
    if e.is_transient() {
        Answer::Deferred(words(e))
    } else if e.is_permanent() {
        Answer::Refused(words(e))
    } else {
        Answer::Lost(words(e))
    }
}

/// What to do next when connecting or signing in fails, for the office.
pub fn advice(answer: &str) -> &'static str {
    let code = answer.get(..3).unwrap_or("");
    if code == "535" || code == "534" {
        "check the account's password (or token) and that SMTP AUTH is enabled for the \
         mailbox (Microsoft 365: Settings › Mail › Authenticated SMTP)"
    } else if code == "530" {
        "the server wants Keyroll to sign in: set a user and password in the SMTP settings"
    } else if code.starts_with('5') {
        "the server refused: check the From address is one this account may send as"
    } else if answer.contains("certificate") || answer.contains("tls") {
        "the server's certificate was not trusted: check the host name matches it"
    } else {
        "check the host name and port, and that this computer can reach the server"
    }
}

/// A connection the sender can use until it breaks.
pub struct Link {
    conn: AsyncSmtpConnection,
}

/// Opens a connection, secures it and signs in, or says why not (the
/// server's own answer where it gave one).
pub async fn open(s: &SmtpSettings, secret: Option<&str>) -> Result<Link, String> {
    let hello = ClientId::default();
    let tls = || TlsParameters::new(s.host.clone()).map_err(|e| e.to_string());
    let mut conn = match s.security {
        Security::Tls => tokio::time::timeout(
            TIMEOUT,
            AsyncSmtpConnection::connect_tokio1(
                (s.host.as_str(), s.port),
                Some(TIMEOUT),
                &hello,
                Some(tls()?),
                None,
            ),
        )
        .await
        .map_err(|_| format!("{}:{} did not answer within 30 s", s.host, s.port))?
        .map_err(|e| words(&e))?,
        Security::None | Security::Starttls => {
            let tcp = tokio::time::timeout(
                TIMEOUT,
                tokio::net::TcpStream::connect((s.host.as_str(), s.port)),
            )
            .await
            .map_err(|_| format!("{}:{} did not answer within 30 s", s.host, s.port))?
            .map_err(|e| format!("cannot connect to {}:{}: {e}", s.host, s.port))?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            let mut conn = tokio::time::timeout(
                TIMEOUT,
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello),
            )
            .await
            .map_err(|_| format!("{}:{} sent no greeting within 30 s", s.host, s.port))?
            .map_err(|e| words(&e))?;
            if s.security == Security::Starttls {
                if !conn.can_starttls() {
                    return Err(format!(
                        "{} does not offer STARTTLS on port {}: use port 587 for STARTTLS or \
                         --security tls on port 465",
                        s.host, s.port
                    ));
                }
                conn.starttls(tls()?, &hello).await.map_err(|e| words(&e))?;
            }
            conn
        }
    };
    if !s.user.is_empty() {
        let mechanism = match s.auth {
            Auth::Plain => Mechanism::Plain,
            Auth::Login => Mechanism::Login,
            Auth::Xoauth2 => Mechanism::Xoauth2,
        };
        let credentials = Credentials::new(s.user.clone(), secret.unwrap_or("").to_owned());
        conn.auth(&[mechanism], &credentials)
            .await
            .map_err(|e| words(&e))?;
    }
    Ok(Link { conn })
}

impl Link {
    /// Sends one message in its own transaction. After a refusal the
    /// transaction is reset so the connection can carry the next one; a
    /// connection that cannot be reset is reported as lost.
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Answer {
        let result = tokio::time::timeout(TIMEOUT * 2, self.transaction(envelope, message)).await;
        match result {
            Err(_) => Answer::Lost("the server stopped answering (timed out)".into()),
            Ok(Ok(())) => Answer::Accepted,
            Ok(Err(a @ Answer::Lost(_))) => a,
            Ok(Err(a)) => match self.conn.command(Rset).await {
                Ok(_) => a,
                // Still the message's own answer; the caller reconnects.
                Err(_) => {
                    self.conn.abort().await;
                    a
                }
            },
        }
    }

    async fn transaction(&mut self, envelope: &Envelope, message: &[u8]) -> Result<(), Answer> {
        let c = &mut self.conn;
        c.command(Mail::new(envelope.from().cloned(), vec![]))
            .await
            .map_err(|e| answer(&e))?;
        for to in envelope.to() {
            c.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(|e| answer(&e))?;
        }
        c.command(Data).await.map_err(|e| answer(&e))?;
        c.message(message).await.map_err(|e| answer(&e))?;
        Ok(())
    }

    /// Whether the connection can carry another message.
    pub fn usable(&self) -> bool {
        !self.conn.has_broken()
    }

    /// Says goodbye politely.
    pub async fn close(mut self) {
        let _ = self.conn.quit().await;
    }
}
