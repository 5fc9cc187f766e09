//! Keyroll's desktop shell. It only turns Tauri commands into calls to
//! keyroll-core and streams progress back; the domain logic lives in the core
//! library that the `keyroll` CLI shares.

mod commands;
mod error;
mod state;

use std::path::PathBuf;

/// How the app was started: `keyroll-app [--db PATH] [--demo]`.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// The database file; None for the default in the user's data folder.
    pub db: Option<PathBuf>,
    /// Load the demo school into an empty database on start.
    pub demo: bool,
    /// The database key from KEYROLL_DB_KEY (taken out of the environment
    /// before any webview process starts); None: the OS keychain.
    pub key: Option<keyroll_core::DbKey>,
}

impl Launch {
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Launch, String> {
        let mut launch = Launch {
            db: std::env::var_os("KEYROLL_DB").map(PathBuf::from),
            demo: false,
            key: keyroll_core::DbKey::take_from_env().map_err(|e| e.to_string())?,
        };
        let mut args = args.into_iter().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--db" => launch.db = Some(args.next().ok_or("--db needs a file path")?.into()),
                "--demo" => launch.demo = true,
                other => {
                    if let Some(p) = other.strip_prefix("--db=") {
                        launch.db = Some(p.into());
                    } else {
                        return Err(format!(
                            "unknown argument {other}; usage: keyroll-app [--db PATH] [--demo]"
                        ));
                    }
                }
            }
        }
        Ok(launch)
    }
}

pub fn run() {
    let launch = match Launch::from_args(std::env::args()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("keyroll-app: {e}");
            std::process::exit(2);
        }
    };
    tauri::Builder::default()
        .manage(state::AppState::new(launch))
        .invoke_handler(tauri::generate_handler![
            commands::home::open_database,
            commands::home::app_status,
            commands::home::home_todo,
            commands::home::audit_page,
            commands::import::choose_import_paths,
            commands::import::import_paths,
            commands::import::inspect_import,
            commands::import::load_demo,
            commands::import::cancel_import,
            commands::import::save_report,
            commands::import::import_history,
            commands::import::rollback_import,
            commands::people::people_page,
            commands::people::generate_accounts,
            commands::people::account_action,
            commands::people::reset_accounts,
            commands::people::rename_account,
            commands::people::account_groups,
            commands::people::person_history,
            commands::people::classes,
            commands::people::person_classes,
            commands::letters::letter_templates,
            commands::letters::letter_fields,
            commands::letters::letters_sample,
            commands::letters::save_letter_template,
            commands::letters::letter_settings,
            commands::letters::save_letter_settings,
            commands::letters::print_letters,
            commands::letters::export_accounts,
            commands::letters::open_file,
            commands::invite::smtp_settings,
            commands::invite::save_smtp_settings,
            commands::invite::smtp_test,
            commands::invite::oauth_preset,
            commands::invite::invitation_templates,
            commands::invite::invite_preview,
            commands::invite::invite_send,
            commands::invite::outbox_tick,
            commands::invite::outbox_list,
            commands::invite::outbox_act,
            commands::settings::account_policy,
            commands::settings::save_account_policy,
            commands::settings::export_policy,
            commands::settings::import_policy,
            commands::settings::username_examples,
            commands::settings::password_strength,
            commands::sync::sync_status,
            commands::sync::sync_login,
            commands::sync::sync_now,
            commands::sync::sync_resolve,
            commands::sync::sync_unlock,
            commands::sync::account_server_view,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Keyroll");
}

#[cfg(test)]
mod tests {
    use super::Launch;

    #[test]
    fn parses_launch_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let l = Launch::from_args(args(&["app", "--db", "/tmp/x.db", "--demo"])).unwrap();
        assert_eq!(l.db.as_deref(), Some(std::path::Path::new("/tmp/x.db")));
        assert!(l.demo);
        assert!(Launch::from_args(args(&["app", "--frobnicate"])).is_err());
        assert!(Launch::from_args(args(&["app", "--db"])).is_err());
    }
}
