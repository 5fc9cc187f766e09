fn main() {
    // The UI is embedded at compile time: an edit to ui/ must rebuild the app.
    println!("cargo:rerun-if-changed=ui");
    tauri_build::build()
}
