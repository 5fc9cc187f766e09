// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

// Imports allocate records on a reading thread and free them on the writing
// one; glibc's malloc handles that cross-thread traffic poorly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    keyroll_app::run()
}
