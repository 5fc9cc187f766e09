//! `keyroll-server`: parses the command line, opens the storage, serves or
//! manages tokens. Everything else is in the library.

// mimalloc keeps argon2id's 19 MiB blocks for the next sign-in on any
// thread; the system allocator maps and zeroes them afresh for each
// (measured: bench/server.sh, docs/server.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use keyroll_server::storage::{sqlite::Sqlite, Storage, StoreError};
use keyroll_server::{tokens, Server};

/// The school server: a SCIM 2.0 API for Keyroll and the provisioning
/// clients a school already has (Entra ID, Okta).
#[derive(Parser)]
#[command(name = "keyroll-server", version)]
struct Cli {
    /// The database: sqlite:PATH (a file, made if missing).
    #[arg(
        long,
        global = true,
        env = "KEYROLL_SERVER_DB",
        default_value = "sqlite:keyroll-server.db"
    )]
    db: String,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: String,
    /// The address clients reach the server at, if not http://LISTEN (behind
    /// a reverse proxy: its https:// address).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Sign-in, activation and reset attempts allowed per address a minute.
    #[arg(long, default_value_t = keyroll_server::pages::ATTEMPTS_PER_MINUTE)]
    attempts_per_minute: u32,
    /// Behind a reverse proxy: take the client's address from the last
    /// X-Forwarded-For entry (only if the proxy sets it).
    #[arg(long)]
    behind_proxy: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Bearer tokens for office devices and provisioning clients.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Checks the database opens and says what the server would serve.
    CheckConfig,
    /// Unlocks an account locked after too many wrong passwords.
    Unlock { user_name: String },
    /// The server's settings: the school's name and logo, the password
    /// rules, the SMTP server for forgot-password emails.
    Settings {
        #[command(subcommand)]
        action: Option<SettingsAction>,
    },
}

#[derive(Subcommand)]
enum SettingsAction {
    /// Lists every setting with its value.
    List,
    /// Sets one (an empty value clears it).
    Set { key: String, value: String },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Makes a token and prints it once (only its hash is kept).
    Create {
        #[arg(long)]
        name: String,
    },
    /// Lists the tokens: name, made, last used, revoked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revokes a token: calls with it are refused from now on.
    Revoke { name: String },
}

fn open(db: &str) -> anyhow::Result<Arc<dyn Storage>> {
    if let Some(path) = db.strip_prefix("sqlite:") {
        let path = PathBuf::from(path.trim_start_matches("//"));
        let s = Sqlite::open(&path)
            .with_context(|| format!("opening the database {}", path.display()))?;
        return Ok(Arc::new(s));
    }
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let s = keyroll_server::storage::postgres::Postgres::open(db)
            .context("opening the PostgreSQL database")?;
        return Ok(Arc::new(s));
    }
    bail!("--db must be sqlite:PATH, not {db:?}")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyroll-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let storage = open(&cli.db)?;
    let public_url = cli
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_owned());
    match cli.command {
        None => {
            let tls = match (&cli.tls_cert, &cli.tls_key) {
                (Some(c), Some(k)) => Some(keyroll_server::tls::config(c, k)?),
                _ => None,
            };
            let options = Options {
                attempts_per_minute: cli.attempts_per_minute,
                behind_proxy: cli.behind_proxy,
                tls,
            };
            serve(&cli.listen, storage, public_url, options)
        }
        Some(Command::Unlock { user_name }) => {
            if !storage.unlock(&user_name)? {
                bail!("no locked account has the username {user_name:?}: check its spelling");
            }
            println!("{user_name} is unlocked: they can sign in again.");
            Ok(())
        }
        Some(Command::Settings { action }) => settings(storage.as_ref(), action),
        Some(Command::CheckConfig) => {
            let tokens = storage.tokens()?;
            let live = tokens.iter().filter(|t| t.revoked.is_none()).count();
            println!("database: {} (opens, schema up to date)", cli.db);
            let url = public_url.unwrap_or_else(|| format!("http://{}", cli.listen));
            println!("SCIM: {url}/scim/v2");
            println!("tokens: {live} live, {} revoked", tokens.len() - live);
            if live == 0 {
                println!("no live token: make one with `keyroll-server token create --name \"Office PC 1\"`");
            }
            Ok(())
        }
        Some(Command::Token { action }) => token(storage.as_ref(), action),
    }
}

fn token(storage: &dyn Storage, action: TokenAction) -> anyhow::Result<()> {
    match action {
        TokenAction::Create { name } => {
            let name = name.trim();
            if name.is_empty() {
                bail!("a token needs a name that says where it is used, such as \"Office PC 1\"");
            }
            let token = tokens::generate()?;
            match storage.create_token(name, &tokens::hash(&token)) {
                Err(StoreError::Taken(_)) => {
                    bail!("a token named {name:?} exists: revoke it first, or choose another name")
                }
                r => r?,
            }
            eprintln!(
                "Token {name:?} made. It is shown only now: paste it into Keyroll's sync settings."
            );
            println!("{token}");
        }
        TokenAction::List { json } => {
            let list = storage.tokens()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("No tokens yet: make one with `keyroll-server token create --name NAME`.");
            } else {
                for t in list {
                    let state = match &t.revoked {
                        Some(at) => format!("revoked {at}"),
                        None => "live".into(),
                    };
                    let used = t.last_used.as_deref().unwrap_or("never");
                    println!("{}\tmade {}\tlast used {used}\t{state}", t.name, t.created);
                }
            }
        }
        TokenAction::Revoke { name } => {
            if !storage.revoke_token(&name)? {
                bail!("no live token is named {name:?}: see `keyroll-server token list`");
            }
            println!("Token {name:?} revoked.");
        }
    }
    Ok(())
}

struct Options {
    attempts_per_minute: u32,
    behind_proxy: bool,
    tls: Option<Arc<keyroll_server::tls::ServerConfig>>,
}

fn settings(storage: &dyn Storage, action: Option<SettingsAction>) -> anyhow::Result<()> {
    use keyroll_server::pages::SETTINGS;
    match action {
        None | Some(SettingsAction::List) => {
            for k in SETTINGS {
                let v = storage.setting(k.key)?.unwrap_or_default();
                println!("{}\t{v}\t({})", k.key, k.help);
            }
        }
        Some(SettingsAction::Set { key, value }) => {
            if !SETTINGS.iter().any(|k| k.key == key) {
                let known: Vec<&str> = SETTINGS.iter().map(|k| k.key).collect();
                bail!(
                    "there is no setting {key:?}; the settings are {}",
                    known.join(", ")
                );
            }
            if key == "logo" && !value.is_empty() && !std::path::Path::new(&value).is_file() {
                bail!("the logo {value:?} is not a file here");
            }
            storage.set_setting(&key, value.trim())?;
            println!("{key} = {}", value.trim());
        }
    }
    Ok(())
}

fn serve(
    listen: &str,
    storage: Arc<dyn Storage>,
    public_url: Option<String>,
    options: Options,
) -> anyhow::Result<()> {
    // Before the runtime: the PostgreSQL client blocks, and must not do so
    // on the runtime's own threads.
    let no_token = storage.tokens()?.iter().all(|t| t.revoked.is_some());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        // Without --public-url, the address really bound (port 0 becomes
        // the port the OS chose), so resources' locations can be followed.
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let public_url = public_url.unwrap_or_else(|| format!("{scheme}://{addr}"));
        let mut server = Server::new(storage, public_url);
        server.limiter = Arc::new(keyroll_server::pages::Limiter::per_minute(
            options.attempts_per_minute,
        ));
        server.behind_proxy = options.behind_proxy;
        if no_token {
            eprintln!(
                "keyroll-server: no live token, so every SCIM call will be refused: \
                 make one with `keyroll-server token create --name NAME`"
            );
        }
        // The bound address on stdout, first, so that a script (or a test)
        // that asked for port 0 learns the port.
        println!("listening on {scheme}://{addr}");
        eprintln!("keyroll-server: SCIM at {}/scim/v2", server.public_url);
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let app = keyroll_server::app(server);
        match options.tls {
            Some(tls) => keyroll_server::tls::serve(listener, tls, app, shutdown).await,
            None => {
                let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
        }
        Ok(())
    })
}
