//! `keyroll classes …`: the classes (sections, home groups) the SIS lists,
//! with their teachers and how many students each has.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use keyroll_core::{people, Store};

use crate::output::{print_json, row};

#[derive(Subcommand)]
pub enum ClassesCommand {
    /// Every class the SIS lists. `keyroll accounts list --class ID` lists
    /// a class's students; `--teacher ID` a teacher's.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(store: &Store, command: ClassesCommand) -> Result<ExitCode> {
    match command {
        ClassesCommand::List { json } => {
            let list = people::classes(store.conn())?;
            if json {
                print_json(&list)?;
            } else if list.is_empty() {
                println!(
                    "No classes yet: they come with an SIS export that lists them (OneRoster \
                     classes.csv, SDS sections, Clever sections.csv, CASES21 home groups)."
                );
            } else {
                for c in list {
                    let students = match c.students {
                        1 => "   1 student".to_owned(),
                        n => format!("{n:>4} students"),
                    };
                    let teachers = c.teachers.join(", ");
                    println!(
                        "{}",
                        row(&[
                            (&c.sis_id, 14),
                            (&c.title, 30),
                            (&students, 14),
                            (&teachers, 0)
                        ])
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
