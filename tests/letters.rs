//! Welcome letters and exports, end to end through the CLI against a real
//! SQLCipher file, read back with poppler (pdftotext, pdfinfo, pdftoppm)
//! and a real spreadsheet reader (calamine).

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
s1,active,,true,sch1,student,,,Zoë,Ångström,,,,,,g1,07,\n\
s2,active,,true,sch1,student,,,Анастасия,Кузнецова,,,,,,g1,08,\n\
s3,active,,true,sch1,student,,,Thảo,Nguyễn,,,,,,g3,07,\n\
s4,active,,true,sch1,student,,,Σοφία,Παπαδοπούλου,,,,,,,07,\n\
s5,active,,true,sch1,student,,,=HYPERLINK(\"http://evil\"),Formula,,,,,,,07,\n\
s6,active,,true,sch1,student,,,𞓐𞓑,Mundari,,,,,,,07,\n\
t1,active,,true,sch1,teacher,,,Amélie,Dubois,,,amelie@example.org,,,,,\n\
g1,active,,true,sch1,guardian,,,Grace,Ångström,,,grace@example.org,,,\"s1,s2\",,\n\
g2,active,,true,sch1,guardian,,,Björn,Ångström,,,bjorn@example.org,,,s1,,\n\
g3,active,,true,sch1,guardian,,,Minh,Nguyễn,,,minh@example.org,,,s3,,\n";

const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
c1,active,,Maths 7,07,m7,7MA,scheduled,,sch1,,,,\n";

const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
e1,active,,c1,sch1,s1,student,false,,\n\
e2,active,,c1,sch1,s3,student,false,,\n\
e3,active,,c1,sch1,s4,student,false,,\n\
e4,active,,c1,sch1,t1,teacher,true,,\n";

/// A school with students in four scripts, a formula-like name, a name no
/// font covers, a teacher with a class, and three parents: two in one
/// family (g1, g2 share s1), one with two children (g1: s1, s2).
fn school(dir: &Path) -> PathBuf {
    let db = dir.join("k.db");
    let manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\nfile.classes,bulk\nfile.enrollments,bulk\nfile.demographics,absent\n";
    let files = bundle(
        dir,
        "export",
        &[
            ("manifest.csv", manifest.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", USERS.as_bytes()),
            ("classes.csv", CLASSES.as_bytes()),
            ("enrollments.csv", ENROLLMENTS.as_bytes()),
        ],
    );
    ok(&db, &["import", files.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    ok(&db, &["accounts", "enable", "--kind", "parent"]);
    ok(
        &db,
        &[
            "letters",
            "settings",
            "--sign-in-url",
            "https://accounts.hillcrest.example",
            "--address",
            "1 Hill Road\\nSpringfield",
            "--google-domain",
            "hillcrest.example",
            "--entra-domain",
            "hillcrest.example",
        ],
    );
    db
}

fn pdftotext(pdf: &Path, page: Option<usize>) -> String {
    let mut c = Command::new("pdftotext");
    if let Some(p) = page {
        c.args(["-f", &p.to_string(), "-l", &p.to_string()]);
    }
    let out = c
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pdfinfo(pdf: &Path, field: &str) -> String {
    let out = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("pdfinfo has no {field}"))
}

fn pages(pdf: &Path) -> usize {
    pdfinfo(pdf, "Pages").parse().unwrap()
}

/// Page 1 of `pdf` as an image (pdftoppm at `dpi`, `format` -png or
/// -gray), in a folder of its own under `dir`.
fn first_page_image(pdf: &Path, dir: &Path, dpi: &str, format: &str) -> PathBuf {
    let out = tempfile::tempdir_in(dir).unwrap().keep();
    let st = Command::new("pdftoppm")
        .args(["-r", dpi, "-f", "1", "-l", "1", format])
        .arg(pdf)
        .arg(out.join("page"))
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(st.success());
    std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .expect("a page image")
}

/// The secret after `label` on each line of `text` that has one.
fn secrets(text: &str, label: &str) -> Vec<String> {
    text.lines()
        .flat_map(|l| l.split(label).skip(1))
        .filter_map(|v| v.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Every value in every table of the database, as text, read with its key.
fn database_text(db: &Path) -> String {
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(db, &key).unwrap();
    let conn = store.conn();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut all = String::new();
    for t in tables {
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expr = cols
            .iter()
            .map(|c| format!("coalesce(CAST(\"{c}\" AS TEXT), '')"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let mut st = conn
            .prepare(&format!("SELECT {expr} FROM \"{t}\""))
            .unwrap();
        for row in st.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            all.push_str(&row.unwrap());
            all.push('\n');
        }
    }
    all
}

fn flags_of(db: &Path, id: &str) -> Vec<String> {
    let people = json(db, &["accounts", "list", "--json", "--id", id]);
    person_in(&people, id)["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn family_letters_list_all_and_only_their_own_children_and_no_secret_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = school(dir.path());
    let pdf = dir.path().join("families.pdf");
    let preview = json(
        &db,
        &[
            "letters",
            "--per",
            "family",
            "--kind",
            "student",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(preview["letters"], 3, "{preview:#}");
    assert_eq!(preview["issuing"], 3);
    let printed = ok(
        &db,
        &[
            "letters",
            "--per",
            "family",
            "--kind",
            "student",
            "--out",
            pdf.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(pages(&pdf), 3);
    assert_eq!(pdfinfo(&pdf, "Tagged"), "yes");
    assert!(pdfinfo(&pdf, "Title").starts_with("Welcome letters – Hillcrest School"));
    let letters: Vec<String> = (1..=3).map(|p| pdftotext(&pdf, Some(p))).collect();
    let letter_of = |name: &str| {
        letters
            .iter()
            .find(|l| l.contains(&format!("Dear {name}")))
            .unwrap_or_else(|| panic!("no letter for {name}:\n{letters:#?}"))
    };
    let grace = letter_of("Grace Ångström");
    assert!(
        grace.contains("Zoë Ångström") && grace.contains("zoe.angstrom"),
        "{grace}"
    );
    assert!(grace.contains("Анастасия Кузнецова"), "{grace}");
    assert!(!grace.contains("Nguyễn"), "{grace}");
    // Two parents of one family: each their own letter and own code, and
    // only the child they are linked to.
    let bjorn = letter_of("Björn Ångström");
    assert!(
        bjorn.contains("Zoë Ångström") && !bjorn.contains("Анастасия"),
        "{bjorn}"
    );
    let minh = letter_of("Minh Nguyễn");
    assert!(
        minh.contains("Thảo Nguyễn") && !minh.contains("Zoë"),
        "{minh}"
    );
    let codes: Vec<String> = letters
        .iter()
        .flat_map(|l| secrets(l, "Activation code"))
        .collect();
    assert_eq!(codes.len(), 3, "{letters:#?}");
    assert!(codes[0] != codes[1] && codes[1] != codes[2]);
    assert!(
        grace.contains("https://accounts.hillcrest.example/activate?code="),
        "{grace}"
    );
    // The QR code on page 1, as a phone's camera reads it: the letter's own
    // activation link.
    let image = first_page_image(&pdf, dir.path(), "150", "-png");
    let read = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&image)
        .output()
        .expect("zbarimg (zbar-tools)");
    let link = String::from_utf8(read.stdout).unwrap().trim().to_owned();
    let code = secrets(&letters[0], "Activation code")[0].clone();
    assert_eq!(
        link,
        format!("https://accounts.hillcrest.example/activate?code={code}")
    );

    // Handed out: NEW cleared, "letter printed" audited, no code anywhere.
    for g in ["g1", "g2", "g3"] {
        assert!(!flags_of(&db, g).contains(&"NEW".to_owned()), "{g}");
    }
    assert!(
        flags_of(&db, "s1").contains(&"NEW".to_owned()),
        "a child's account was not handed out"
    );
    let actions = audit_actions(&db);
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "account.letter_printed")
            .count(),
        3
    );
    let audit = keyroll(&db, &["audit", "--json"]).stdout;
    let everything = database_text(&db);
    for code in &codes {
        assert!(
            !everything.contains(code.as_str()),
            "a code is in the database"
        );
        assert!(!audit.contains(code.as_str()), "a code is in the audit log");
        assert!(!printed.stdout.contains(code.as_str()) && !printed.stderr.contains(code.as_str()));
    }
    // A second run finds them handed out: no new code unless asked.
    let again = dir.path().join("again.pdf");
    let out = json(
        &db,
        &[
            "letters",
            "--per",
            "family",
            "--kind",
            "student",
            "--out",
            again.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out["preview"]["unchanged"], 3, "{out:#}");
    assert!(secrets(&pdftotext(&again, None), "Activation code").is_empty());
    let dry = json(
        &db,
        &[
            "letters",
            "--per",
            "family",
            "--kind",
            "student",
            "--new-passwords",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry["replacing"], 3);
    assert!(
        dry["warnings"]
            .to_string()
            .contains("old one stops working"),
        "{dry:#}"
    );
}

#[test]
fn names_in_every_script_the_fonts_cover_print_intact_and_others_are_named_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = school(dir.path());
    let preview = json(
        &db,
        &["letters", "--kind", "student", "--dry-run", "--json"],
    );
    let unprintable = preview["unprintable"].as_array().unwrap();
    assert_eq!(unprintable.len(), 1, "{preview:#}");
    assert_eq!(unprintable[0]["sis_id"], "s6");
    assert!(unprintable[0]["characters"][0]
        .as_str()
        .unwrap()
        .starts_with("U+1E4D0"));
    let pdf = dir.path().join("students.pdf");
    let run = ok(
        &db,
        &[
            "letters",
            "--kind",
            "student",
            "--out",
            pdf.to_str().unwrap(),
        ],
    );
    assert!(run.stdout.contains("Cannot print"), "{}", run.stdout);
    assert_eq!(pages(&pdf), 5);
    let text = pdftotext(&pdf, None);
    for name in [
        "Zoë",
        "Анастасия",
        "Thảo",
        "Σοφία",
        "=HYPERLINK(\"http://evil\")",
    ] {
        assert!(text.contains(name), "{name} is not in the text layer");
    }
    assert!(!text.contains("Mundari"));
    assert_eq!(secrets(&text, "Initial password").len(), 5);
    // s6 was left out, so it is still NEW and never got a password.
    assert!(flags_of(&db, "s6").contains(&"NEW".to_owned()));

    // Page 1 as an image: a letter's worth of ink, and the QR code's dark
    // modules, on a white page.
    let pgm = first_page_image(&pdf, dir.path(), "30", "-gray");
    let bytes = std::fs::read(pgm).unwrap();
    // P5 <width> <height> <max>\n, then a byte a pixel.
    let head: Vec<&[u8]> = bytes.splitn(5, |b| b.is_ascii_whitespace()).collect();
    let (w, h): (usize, usize) = (
        std::str::from_utf8(head[1]).unwrap().parse().unwrap(),
        std::str::from_utf8(head[2]).unwrap().parse().unwrap(),
    );
    let pixels = &bytes[bytes.len() - w * h..];
    let dark = pixels.iter().filter(|&&p| p < 128).count() as f64 / pixels.len() as f64;
    assert!(
        (0.004..0.25).contains(&dark),
        "page 1 is {:.1}% dark",
        dark * 100.0
    );
    // Ink from the letterhead down past the QR code, not a blank or a
    // one-line page.
    let inked: Vec<usize> = pixels
        .chunks(w)
        .enumerate()
        .filter(|(_, row)| row.iter().any(|&p| p < 128))
        .map(|(i, _)| i)
        .collect();
    let span = inked.last().unwrap() - inked[0];
    assert!(
        inked.len() * 8 > h && span * 3 > h,
        "ink on {} rows over {span} of {h}",
        inked.len()
    );
}

#[test]
fn a_failed_or_refused_write_leaves_every_account_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = school(dir.path());
    let before = database_text(&db);
    let missing = dir.path().join("no such folder").join("x.pdf");
    let r = keyroll(
        &db,
        &[
            "letters",
            "--kind",
            "student",
            "--out",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!missing.exists());
    // It failed after the passwords were made and the letters laid out, as
    // the PDF was written: not one account changed.
    assert_eq!(
        database_text(&db),
        before,
        "a failed write changed the database"
    );
    let existing = dir.path().join("earlier.pdf");
    ok(
        &db,
        &["letters", "--id", "s4", "--out", existing.to_str().unwrap()],
    );
    let after_first = database_text(&db);
    assert_ne!(before, after_first);
    let r = keyroll(
        &db,
        &[
            "letters",
            "--kind",
            "student",
            "--out",
            existing.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("choose a new file name"), "{}", r.stderr);
    assert_eq!(
        database_text(&db),
        after_first,
        "a refused run changed the database"
    );
    assert!(flags_of(&db, "s1").contains(&"NEW".to_owned()));
}

#[test]
fn slips_come_eight_a_page_and_class_lists_one_class_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = school(dir.path());
    let slips = dir.path().join("slips.pdf");
    ok(
        &db,
        &[
            "letters",
            "--layout",
            "slips",
            "--kind",
            "student",
            "--out",
            slips.to_str().unwrap(),
        ],
    );
    assert_eq!(pages(&slips), 1);
    let text = pdftotext(&slips, None);
    assert_eq!(secrets(&text, "Password").len(), 5, "{text}");
    let list = dir.path().join("list.pdf");
    ok(
        &db,
        &[
            "letters",
            "--layout",
            "list",
            "--class",
            "c1",
            "--new-passwords",
            "--out",
            list.to_str().unwrap(),
        ],
    );
    assert_eq!(pages(&list), 1);
    let text = pdftotext(&list, None);
    assert!(
        text.contains("Maths 7") && text.contains("Teacher: Amélie Dubois"),
        "{text}"
    );
    for name in ["Zoë Ångström", "Thảo Nguyễn", "Σοφία Παπαδοπούλου"] {
        assert!(text.contains(name), "{name}: {text}");
    }
    assert!(!text.contains("Анастасия"), "not in the class: {text}");
    let paper = dir.path().join("letter-paper.pdf");
    ok(
        &db,
        &[
            "letters",
            "--id",
            "t1",
            "--paper",
            "letter",
            "--out",
            paper.to_str().unwrap(),
        ],
    );
    assert!(pdfinfo(&paper, "Page size").contains("612 x 792"));
}

#[test]
fn a_school_template_is_checked_imported_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let db = school(dir.path());
    let file = dir.path().join("welcome.txt");
    std::fs::write(
        &file,
        "keyroll-letter-template: 1\nname: Year 7 welcome\nfor: student\n---\n# Kia ora {{preferred_name}}\n\nYour class: **{{classes}}** with {{teachers}}.\n{{credentials}}\n",
    )
    .unwrap();
    ok(
        &db,
        &["letters", "templates", "import", file.to_str().unwrap()],
    );
    let listed = ok(&db, &["letters", "templates", "list"]).stdout;
    assert!(listed.contains("Year 7 welcome"), "{listed}");
    let pdf = dir.path().join("y7.pdf");
    ok(
        &db,
        &[
            "letters",
            "--id",
            "s1",
            "--template",
            "Year 7 welcome",
            "--out",
            pdf.to_str().unwrap(),
        ],
    );
    let text = pdftotext(&pdf, None);
    assert!(
        text.contains("Kia ora Zoë") && text.contains("Maths 7 with Amélie Dubois"),
        "{text}"
    );
    std::fs::write(
        &file,
        "keyroll-letter-template: 1\nname: Bad\nfor: student\n---\nHello {{frist_name}}\n",
    )
    .unwrap();
    let r = keyroll(
        &db,
        &["letters", "templates", "import", file.to_str().unwrap()],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("welcome.txt, line 5"), "{}", r.stderr);
}

#[test]
fn exports_are_in_each_systems_format_and_safe_in_a_spreadsheet() {
    use calamine::{Data, Reader};
    let dir = tempfile::tempdir().unwrap();
    let db = school(dir.path());
    let xlsx = dir.path().join("merge.xlsx");
    ok(
        &db,
        &[
            "export",
            "mail-merge",
            "--format",
            "xlsx",
            "--kind",
            "student",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let formula_row = sheet
        .rows()
        .find(|r| matches!(&r[col("family_name")], Data::String(s) if s == "Formula"))
        .expect("the formula-like name is exported");
    assert!(
        matches!(&formula_row[col("given_name")], Data::String(s) if s == "'=HYPERLINK(\"http://evil\")")
    );
    let formulas = book.worksheet_formula("Mail merge").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no cell is a formula"
    );
    assert!(
        header.contains(&"sis.grades".to_owned()) || header.iter().any(|h| h.starts_with("sis."))
    );

    let csv_path = dir.path().join("family.csv");
    ok(
        &db,
        &[
            "export",
            "mail-merge",
            "--per",
            "family",
            "--kind",
            "student",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    let mut rows = csv::Reader::from_path(&csv_path).unwrap();
    let h = rows.headers().unwrap().clone();
    assert!(h.iter().any(|c| c == "child_2_username"));
    assert_eq!(rows.records().count(), 3);

    let google = dir.path().join("google.csv");
    ok(
        &db,
        &[
            "export",
            "google",
            "--kind",
            "staff",
            "--new-passwords",
            "--out",
            google.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&google).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with(
        "First Name [Required],Last Name [Required],Email Address [Required],Password [Required]"
    ));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("Amélie,Dubois,")
            && row.contains("@hillcrest.example")
            && row.contains(",/Staff,"),
        "{row}"
    );

    let entra = dir.path().join("entra.csv");
    ok(
        &db,
        &[
            "export",
            "entra",
            "--kind",
            "staff",
            "--new-passwords",
            "--out",
            entra.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&entra).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "version:v1.0");
    assert!(
        lines[1].starts_with("Name [displayName] Required,User name [userPrincipalName] Required")
    );
    assert!(
        lines[3].starts_with("Amélie Dubois,") && lines[3].contains(",No,"),
        "{}",
        lines[3]
    );

    // Parents' accounts activate with a code, which another system cannot take.
    let refused = json(
        &db,
        &[
            "export",
            "google",
            "--kind",
            "parent",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(refused["rows"], 0, "{refused:#}");
    assert!(
        refused["skipped"].to_string().contains("activation codes"),
        "{refused:#}"
    );

    let ldif = dir.path().join("users.ldif");
    ok(
        &db,
        &[
            "export",
            "ldif",
            "--kind",
            "student",
            "--new-passwords",
            "--out",
            ldif.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&ldif).unwrap();
    assert!(text.starts_with("version: 1\n"));
    assert!(text.lines().all(|l| l.len() <= 76), "{text}");
    // Zoë's name is not ASCII: base64 (her DN is her username, which is).
    assert!(
        text.contains("dn: CN=zoe.angstrom,OU=Students,DC=hillcrest,DC=example"),
        "{text}"
    );
    assert!(text.contains("cn:: Wm/DqyDDhW5nc3Ryw7Zt"), "{text}");
    assert!(text.contains("sAMAccountName: zoe.angstrom"));
    assert!(text.contains("unicodePwd:: "));
}

#[test]
fn the_preview_names_who_is_left_out_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = school(dir.path());
    ok(&db, &["accounts", "disable", "--id", "g3"]);
    let p: Value = json(
        &db,
        &[
            "letters",
            "--per",
            "family",
            "--id",
            "s3",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(p["letters"], 0, "{p:#}");
    let skipped = p["skipped"].to_string();
    assert!(skipped.contains("disabled"), "{skipped}");
    let r = keyroll(&db, &["letters", "--kind", "student"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--out"), "{}", r.stderr);
}
