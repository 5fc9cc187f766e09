//! The invitations benchmark's reference (bench/invite.sh): lettre's own
//! pooled SMTP transport sending COUNT messages like Keyroll's invitations
//! (multipart text and HTML, ~3 KB) to 127.0.0.1:PORT over CONNECTIONS
//! pooled connections. Prints "messages seconds".
//!
//!   cargo run --release -p keyroll-core --example lettre_pooled -- PORT COUNT CONNECTIONS

use lettre::message::MultiPart;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args[0].parse().expect("PORT");
    let count: usize = args[1].parse().expect("COUNT");
    let connections: u32 = args.get(2).map_or(4, |c| c.parse().expect("CONNECTIONS"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let text = "Dear parent,\n\nwe have made a parent account for you. ".repeat(20);
    let html = format!("<p>{}</p>", text.replace('\n', "<br>"));
    let started = std::time::Instant::now();
    runtime.block_on(async {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .pool_config(PoolConfig::new().max_size(connections))
            .build();
        let (tx, rx) = tokio::sync::mpsc::channel::<usize>(count.max(1));
        for i in 0..count {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (transport, rx, text, html) =
                (transport.clone(), rx.clone(), text.clone(), html.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Some(i) = rx.lock().await.recv().await else {
                        break;
                    };
                    let m = Message::builder()
                        .from("office@demo.example".parse().unwrap())
                        .to(format!("parent{i}@demo.example").parse().unwrap())
                        .subject("Your parent account at Demo School")
                        .multipart(MultiPart::alternative_plain_html(
                            text.clone(),
                            html.clone(),
                        ))
                        .unwrap();
                    transport.send(m).await.expect("sent");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    println!("{count} {:.3}", started.elapsed().as_secs_f64());
}
