//! A real SMTP server for the tests: aiosmtpd with tests/smtp/server.py,
//! which keeps each message as a file and can misbehave on purpose.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A Python that has aiosmtpd (Debian's python3-aiosmtpd, or PyPI's).
pub fn python() -> String {
    let candidates = [
        std::env::var("KEYROLL_PYTHON").unwrap_or_default(),
        "python3".into(),
        "/usr/bin/python3".into(),
    ];
    candidates
        .into_iter()
        .filter(|p| !p.is_empty())
        .find(|p| {
            Command::new(p)
                .args(["-c", "import aiosmtpd"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("aiosmtpd is needed: apt install python3-aiosmtpd (scripts/install-deps does)")
}

/// The SMTP server, stopped when dropped.
pub struct Smtp {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn smtp_server(dir: &Path, extra: &[&str]) -> Smtp {
    let port = free_port();
    let mail = dir.join(format!("mail-{port}"));
    std::fs::create_dir_all(&mail).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["--port", &port.to_string(), "--dir", mail.to_str().unwrap()])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the SMTP server");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP server did not start");
    Smtp {
        child,
        port,
        dir: mail,
    }
}

/// Every message the server kept: (envelope recipient, raw message).
pub fn mailbox(s: &Smtp) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&s.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap();
        let to = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("X-Envelope-To: "))
            .unwrap()
            .to_owned();
        out.push((to, text));
    }
    out
}
