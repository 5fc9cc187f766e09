//! `keyroll demo`: writes the synthetic demo school to try Keyroll with.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

/// Write a synthetic school (OneRoster 1.1 CSV) to try Keyroll with.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// How many students.
    #[arg(long, default_value_t = 500)]
    students: u64,
    /// The folder to write the CSV files into.
    #[arg(long)]
    out: PathBuf,
    /// The same seed always gives the same school.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// oneroster (a district, UTF-8) or cases21 (one school, Windows-1252).
    #[arg(long, default_value = "oneroster")]
    format: String,
}

pub fn run(a: DemoArgs) -> Result<ExitCode> {
    let s = match a.format.as_str() {
        "oneroster" => keyroll_demo::generate(&a.out, a.students, a.seed)?,
        "cases21" => keyroll_demo::generate_cases21(&a.out, a.students, a.seed)?,
        f => anyhow::bail!("demo --format {f}: use oneroster or cases21"),
    };
    eprintln!(
        "Wrote a demo school to {}: {} students, {} staff, {} guardians, {} relatives in {} families, {} school(s).",
        a.out.display(),
        s.students,
        s.staff,
        s.guardians,
        s.relatives,
        s.families,
        s.schools
    );
    Ok(ExitCode::SUCCESS)
}
