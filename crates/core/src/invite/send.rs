//! The sender: takes what is due from the outbox and hands it to the SMTP
//! server over a few connections kept open, within the rate the office set,
//! recording each server's answer as it comes.
//!
//! Crash safety: a message is marked "sending" (committed, synced) before
//! it goes on the wire, and "sent" once the server said 250. Only a few are
//! on the wire at once, so a crash or kill leaves at most those few as
//! "may have been sent", for the office to resend (the same link, the
//! same Message-ID: a second copy is harmless) or dismiss. One sender runs
//! at a time per database (a lock file beside it), so a sender never
//! mistakes another's messages for a crash's.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rusqlite::params;
use serde::Serialize;

use super::connection::{self, Answer};
use super::message::{build, Outgoing, Parts};
use super::outbox;
use super::smtp::{self, SmtpSettings};
use crate::accounts::lifecycle::{handed_out, Flags, HandoutEvent, HandoutState, Invitation};
use crate::error::{Error, Result};
use crate::store::{Store, Writer};

/// A deferred message is given up after this many tries.
pub const MAX_ATTEMPTS: i64 = 10;

/// How a run is going.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
    /// Messages due when the run began.
    pub total: u64,
}

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    /// Messages an earlier sender left in "sending" (a crash): now "may
    /// have been sent".
    pub unsure: u64,
    pub sent: u64,
    /// 4xx or a dropped connection: tried again later.
    pub deferred: u64,
    /// 5xx: never delivered, with the server's reason in the outbox.
    pub failed: u64,
    pub cancelled: bool,
    /// Why the server could not be reached or signed in to, if so.
    pub unreachable: Option<String>,
}

/// What a worker reports of one message.
enum Outcome {
    Answer(Answer),
    /// Not tried: the run stopped, or no connection could be opened.
    Untried(Option<String>),
    /// The message could not be made (a bad address).
    Unbuildable(String),
}

/// The outbox's lock: one sender per database.
pub struct SenderLock {
    _file: std::fs::File,
}

impl SenderLock {
    pub fn take(database: &std::path::Path) -> Result<SenderLock> {
        let mut name = database.as_os_str().to_owned();
        name.push(".outbox-lock");
        let io = |e| Error::io(&name, e);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(SenderLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Invalid(
                "another Keyroll is sending this outbox (the app, or a scheduled `keyroll outbox \
                 run`); it sends everything due, so there is nothing to do here"
                    .into(),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// Paces sends to the office's rate: one every `interval`, across every
/// connection.
struct Pace {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl Pace {
    fn new(per_minute: u32) -> Pace {
        Pace {
            interval: match per_minute {
                0 => Duration::ZERO,
                n => Duration::from_secs(60) / n,
            },
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Opens a connection with a current password or access token (getting a
/// new token can block on the network, so it runs off the async threads).
async fn open(
    settings: &SmtpSettings,
    sign_in: &Arc<smtp::SignIn>,
) -> std::result::Result<connection::Link, String> {
    let s = sign_in.clone();
    let secret = tokio::task::spawn_blocking(move || s.secret())
        .await
        .map_err(|e| e.to_string())??;
    connection::open(settings, secret.as_deref().map(|s| s.as_str())).await
}

/// How long a message deferred for the `attempts`th time waits.
pub fn backoff(first_secs: u32, attempts: i64) -> Duration {
    let doublings = (attempts - 1).clamp(0, 12) as u32;
    Duration::from_secs(u64::from(first_secs.max(1)) << doublings)
        .min(Duration::from_secs(4 * 3600))
}

/// Sends what is due, then returns. `progress` is told as answers come;
/// returning false cancels (messages not yet on the wire stay queued).
pub fn run(
    store: &mut Store,
    actor: &str,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<RunReport> {
    let settings = smtp::load(store.conn())?;
    if !settings.is_set() {
        return Err(Error::Invalid(
            "the SMTP server is not set up yet: `keyroll smtp set …` or Settings › Email".into(),
        ));
    }
    settings.check()?;
    let _lock = SenderLock::take(store.path())?;
    let sign_in = Arc::new(smtp::SignIn::new(&settings)?);
    // A claim must be on the disk before its message is on the wire, even
    // through a power cut.
    store.conn().execute_batch("PRAGMA synchronous = FULL")?;
    let result = run_locked(store, actor, &settings, sign_in, progress);
    store.conn().execute_batch("PRAGMA synchronous = NORMAL")?;
    result
}

fn run_locked(
    store: &mut Store,
    actor: &str,
    settings: &SmtpSettings,
    sign_in: Arc<smtp::SignIn>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<RunReport> {
    let mut report = RunReport::default();
    {
        let w = store.writer(actor)?;
        report.unsure = outbox::recover(&w)?;
        w.commit()?;
    }
    let mut p = Progress {
        total: outbox::counts(store.conn())?.due,
        ..Default::default()
    };
    let connections = settings.connections.max(1) as usize;
    let window = connections * 4;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("the sender's threads", e))?;
    let (jobs, job_rx) = tokio::sync::mpsc::channel::<Outgoing>(window * 2);
    let job_rx = Arc::new(tokio::sync::Mutex::new(job_rx));
    let (answers, answer_rx) = mpsc::channel::<(i64, Outcome)>();
    let stop = Arc::new(AtomicBool::new(false));
    let alive = Arc::new(AtomicUsize::new(connections));
    let pace = Arc::new(Pace::new(settings.rate_per_minute));
    let unreachable = Arc::new(std::sync::Mutex::new(None::<String>));
    for _ in 0..connections {
        let (rx, tx) = (job_rx.clone(), answers.clone());
        let (stop, alive, pace, unreachable) = (
            stop.clone(),
            alive.clone(),
            pace.clone(),
            unreachable.clone(),
        );
        let (settings, sign_in) = (settings.clone(), sign_in.clone());
        runtime.spawn(async move {
            let mut link: Option<connection::Link> = None;
            loop {
                let job = rx.lock().await.recv().await;
                let Some(job) = job else { break };
                if stop.load(Ordering::Relaxed) {
                    let _ = tx.send((job.id, Outcome::Untried(None)));
                    continue;
                }
                if link.is_none() {
                    match open(&settings, &sign_in).await {
                        Ok(l) => link = Some(l),
                        Err(why) => {
                            let _ = tx.send((job.id, Outcome::Untried(Some(why.clone()))));
                            *unreachable.lock().unwrap() = Some(why);
                            break;
                        }
                    }
                }
                pace.wait().await;
                let l = link.as_mut().expect("connected above");
                let answer = l.send(&job.envelope, &job.bytes).await;
                if matches!(answer, Answer::Lost(_)) || !l.usable() {
                    link = None;
                }
                let _ = tx.send((job.id, Outcome::Answer(answer)));
            }
            if let Some(l) = link {
                l.close().await;
            }
            alive.fetch_sub(1, Ordering::SeqCst);
        });
    }
    drop(answers);
    let mut in_flight: HashSet<i64> = HashSet::new();
    let mut stopping = false;
    let mut all_gone = false;
    let mut results: Vec<(i64, Outcome)> = Vec::new();
    loop {
        // Answers first, then claim what the window has room for, in one
        // transaction.
        if !in_flight.is_empty() {
            if let Ok(r) = answer_rx.recv_timeout(Duration::from_millis(50)) {
                results.push(r);
            }
            results.extend(answer_rx.try_iter());
        }
        if alive.load(Ordering::SeqCst) == 0 && !stopping {
            // No connection could be opened: nobody will answer for what
            // is left on the channel.
            let answered: HashSet<i64> = results.iter().map(|(id, _)| *id).collect();
            let left: Vec<i64> = in_flight.difference(&answered).copied().collect();
            results.extend(left.into_iter().map(|id| (id, Outcome::Untried(None))));
            stopping = true;
            all_gone = true;
        }
        let room = if stopping || in_flight.len() > window / 2 {
            0
        } else {
            window - in_flight.len()
        };
        if results.is_empty() && room == 0 {
            if in_flight.is_empty() {
                break;
            }
            continue;
        }
        let w = store.writer(actor)?;
        for (id, outcome) in results.drain(..) {
            in_flight.remove(&id);
            record(&w, settings, id, outcome, &mut p)?;
        }
        let claimed = claim(&w, settings, room)?;
        w.commit()?;
        if room > 0 && claimed.is_empty() && in_flight.is_empty() {
            break;
        }
        for job in claimed {
            match job {
                Ok(job) => {
                    in_flight.insert(job.id);
                    if let Err(e) = jobs.blocking_send(job) {
                        results.push((e.0.id, Outcome::Untried(None)));
                    }
                }
                Err((id, why)) => {
                    in_flight.insert(id);
                    results.push((id, Outcome::Unbuildable(why)));
                }
            }
        }
        if !stopping && !progress(&p) {
            stopping = true;
            report.cancelled = true;
            stop.store(true, Ordering::Relaxed);
        }
    }
    drop(jobs);
    runtime.shutdown_timeout(Duration::from_secs(10));
    report.sent = p.sent;
    report.deferred = p.deferred;
    report.failed = p.failed;
    // One connection refused while others went on is no failure of the run.
    report.unreachable = unreachable.lock().unwrap().take().filter(|_| all_gone);
    progress(&p);
    Ok(report)
}

/// A claimed row: id, to, name, subject, text, HTML, Message-ID.
type ClaimedRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// Marks up to `room` due messages "sending" and builds them.
fn claim(
    w: &Writer,
    settings: &SmtpSettings,
    room: usize,
) -> Result<Vec<std::result::Result<Outgoing, (i64, String)>>> {
    if room == 0 {
        return Ok(Vec::new());
    }
    let mut st = w.conn().prepare_cached(
        "SELECT id, to_addr, to_name, subject, body_text, body_html, message_id FROM outbox
         WHERE status IN ('queued', 'retry') AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2",
    )?;
    let rows: Vec<ClaimedRow> = st
        .query_map(params![w.at(), room as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut mark = w
        .conn()
        .prepare_cached("UPDATE outbox SET status = 'sending' WHERE id = ?1")?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, to, name, subject, text, html, message_id) in rows {
        mark.execute([id])?;
        let (Some(text), Some(html)) = (text, html) else {
            out.push(Err((
                id,
                "the message's text is gone (it was scrubbed): queue it again".into(),
            )));
            continue;
        };
        let text = zeroize::Zeroizing::new(text);
        let html = zeroize::Zeroizing::new(html);
        let parts = Parts {
            to: &to,
            name: &name,
            subject: &subject,
            text: &text,
            html: &html,
            message_id: &message_id,
        };
        out.push(build(settings, id, &parts).map_err(|why| (id, why)));
    }
    Ok(out)
}

/// Records one message's outcome, audited; an accepted invitation hands
/// its account out (NEW clears) and its secret parts are scrubbed.
fn record(w: &Writer, s: &SmtpSettings, id: i64, outcome: Outcome, p: &mut Progress) -> Result<()> {
    let (attempts, key, purpose, person_id, message_id): (i64, String, String, i64, String) =
        w.conn().query_row(
            "SELECT attempts, account_key, purpose, person_id, message_id FROM outbox WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let tries = attempts + 1;
    let (status, why) = match outcome {
        Outcome::Untried(why) => {
            let back = if attempts == 0 { "queued" } else { "retry" };
            w.conn().execute(
                "UPDATE outbox SET status = ?2, last_error = COALESCE(?3, last_error) WHERE id = ?1",
                params![id, back, why],
            )?;
            return Ok(());
        }
        Outcome::Answer(Answer::Accepted) => {
            w.conn().execute(
                "UPDATE outbox SET status = 'sent', attempts = ?2, sent_at = ?3, last_error = NULL,
                        body_text = NULL, body_html = NULL
                 WHERE id = ?1",
                params![id, tries, w.at()],
            )?;
            if purpose == "invitation" {
                mark_invited(w, person_id, &key)?;
            }
            p.sent += 1;
            ("sent", None)
        }
        Outcome::Answer(Answer::Deferred(why) | Answer::Lost(why)) if tries < MAX_ATTEMPTS => {
            let due = time::OffsetDateTime::now_utc() + backoff(s.retry_after_secs, tries);
            let due = crate::store::format_time(due);
            w.conn().execute(
                "UPDATE outbox SET status = 'retry', attempts = ?2, due_at = ?3, last_error = ?4
                 WHERE id = ?1",
                params![id, tries, due, why],
            )?;
            p.deferred += 1;
            ("retry", Some(why))
        }
        Outcome::Answer(Answer::Deferred(why) | Answer::Lost(why)) => {
            let why = format!("gave up after {tries} tries; the server last said: {why}");
            fail(w, id, tries, &why)?;
            p.failed += 1;
            ("failed", Some(why))
        }
        Outcome::Answer(Answer::Refused(why)) | Outcome::Unbuildable(why) => {
            fail(w, id, tries, &why)?;
            p.failed += 1;
            ("failed", Some(why))
        }
    };
    Ok(w.audit(
        &format!("outbox.{status}"),
        "outbox",
        &id.to_string(),
        Some(&serde_json::json!({ "status": "sending", "account": key }).to_string()),
        Some(
            &serde_json::json!({ "status": status, "message_id": message_id, "server": why })
                .to_string(),
        ),
    )?)
}

fn fail(w: &Writer, id: i64, tries: i64, why: &str) -> Result<()> {
    w.conn().execute(
        "UPDATE outbox SET status = 'failed', attempts = ?2, last_error = ?3 WHERE id = ?1",
        params![id, tries, why],
    )?;
    Ok(())
}

/// The account's invitation is sent: NEW follows the lifecycle's rule.
fn mark_invited(w: &Writer, person_id: i64, key: &str) -> Result<()> {
    let (flags, invitation, printed, signed_in): (String, String, Option<String>, Option<String>) =
        w.conn().query_row(
            "SELECT flags, invitation, letter_printed_at, last_sign_in_at FROM account
             WHERE person_id = ?1",
            [person_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    let before = HandoutState {
        invitation: Invitation::parse(&invitation),
        letter_printed: printed.is_some(),
        signed_in: signed_in.is_some(),
    };
    let after = handed_out(before, HandoutEvent::InvitationSent);
    let mut f = Flags::parse(&flags);
    f.new = f.new && after.is_new();
    w.conn().execute(
        "UPDATE account SET invitation = ?2, flags = ?3, invited_at = ?4, version = version + 1
         WHERE person_id = ?1",
        params![person_id, after.invitation.as_str(), f.text(), w.at()],
    )?;
    Ok(w.audit(
        "account.invitation_sent",
        "account",
        key,
        Some(&serde_json::json!({ "invitation": invitation, "flags": flags }).to_string()),
        Some(&serde_json::json!({ "invitation": after.invitation.as_str(), "flags": f.text(), "invited_at": w.at() }).to_string()),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_messages_wait_longer_each_time_up_to_four_hours() {
        let table = [
            (1, 60),
            (2, 120),
            (3, 240),
            (7, 3840),
            (8, 7680),
            (9, 4 * 3600),
            (20, 4 * 3600),
        ];
        for (attempts, secs) in table {
            assert_eq!(
                backoff(60, attempts),
                Duration::from_secs(secs),
                "try {attempts}"
            );
        }
        assert_eq!(backoff(0, 1), Duration::from_secs(1), "never a busy loop");
    }
}
