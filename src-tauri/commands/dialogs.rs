//! The native file dialogs (rfd), made on the main thread as GTK wants.

use std::path::PathBuf;

use tauri::{AppHandle, WebviewWindow};

use crate::error::Result;

/// Shows a native dialog and waits for the answer (None: cancelled).
/// GTK dialogs must be made on the main thread: `ask` runs there, and the
/// runtime drives its future; the answer comes back through a channel.
pub async fn native_dialog<T, Fut>(
    app: &AppHandle,
    window: WebviewWindow,
    title: &'static str,
    ask: impl FnOnce(rfd::AsyncFileDialog) -> Fut + Send + 'static,
) -> Result<Option<T>>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Option<T>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    app.run_on_main_thread(move || {
        let answer = ask(rfd::AsyncFileDialog::new()
            .set_title(title)
            .set_parent(&window));
        tauri::async_runtime::spawn(async move {
            let _ = tx.send(answer.await);
        });
    })?;
    tauri::async_runtime::spawn_blocking(move || rx.recv().ok().flatten())
        .await
        .map_err(|e| e.to_string().into())
}

/// The native "Save as" dialog, suggesting `file_name`.
pub async fn ask_save_path(
    app: &AppHandle,
    window: WebviewWindow,
    title: &'static str,
    file_name: &'static str,
) -> Result<Option<PathBuf>> {
    native_dialog(app, window, title, move |d| async move {
        d.set_file_name(file_name)
            .save_file()
            .await
            .map(|f| f.path().to_owned())
    })
    .await
}

/// The native "Open" dialog for one file of `kind` (a name, extensions).
pub async fn ask_open_path(
    app: &AppHandle,
    window: WebviewWindow,
    title: &'static str,
    kind: (&'static str, &'static [&'static str]),
) -> Result<Option<PathBuf>> {
    native_dialog(app, window, title, move |d| async move {
        d.add_filter(kind.0, kind.1)
            .pick_file()
            .await
            .map(|f| f.path().to_owned())
    })
    .await
}
