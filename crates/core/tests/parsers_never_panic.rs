//! No input may panic an importer: every format is fed files built from its
//! own column names with hostile values (ragged rows, stray quotes, NULs,
//! invalid text, duplicate and dangling ids, odd dates, every encoding and
//! delimiter), plus raw random bytes. An import may refuse, report rows or
//! apply; it must never crash. Each set is previewed twice: into an empty
//! database and into one that already holds a school of every format (so
//! the re-import paths run: stored people, links, classes, leavers). And
//! generated sets are applied for real and rolled back, which must leave
//! the school exactly as it was.
//!
//! Failing cases proptest finds are kept in `proptest-regressions/` and
//! replayed first on every run; `tests/corpus/` holds hand-made nasty files
//! that run every time. For a long run (minutes):
//!
//!     PROPTEST_CASES=5000 cargo test --release -p keyroll-core --test parsers_never_panic

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use keyroll_core::import::{self, mapping::Mapping, Format, Options};
use keyroll_core::DbKey;
use keyroll_core::Store;

/// A format by its `--format` name.
fn format(name: &str) -> Option<&'static dyn Format> {
    import::formats::by_name(name)
}
use proptest::prelude::*;

/// Column names each format looks for, so generated files reach past the
/// header checks into the row handling.
const ONEROSTER_USERS: &[&str] = &[
    "sourcedId",
    "givenName",
    "familyName",
    "orgSourcedIds",
    "role",
    "status",
    "enabledUser",
    "username",
    "middleName",
    "preferredFirstName",
    "email",
    "sms",
    "agentSourcedIds",
    "grades",
    "password",
    "identifier",
];
const CLASSES: &[&str] = &[
    "sourcedId",
    "title",
    "schoolSourcedId",
    "classCode",
    "classType",
    "status",
];
const ENROLLMENTS: &[&str] = &[
    "classSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "status",
];
const SECTIONS: &[&str] = &[
    "School_id",
    "Section_id",
    "Teacher_id",
    "Teacher_2_id",
    "Name",
    "Section_number",
];
const CLEVER_ENROLLMENTS: &[&str] = &["School_id", "Section_id", "Student_id"];
const ONEROSTER_ORGS: &[&str] = &["sourcedId", "status", "name", "type", "parentSourcedId"];
const ROLES: &[&str] = &[
    "userSourcedId",
    "orgSourcedId",
    "role",
    "roleType",
    "isPrimary",
    "grade",
    "sourcedId",
];
const SDS_USERS: &[&str] = &[
    "sourcedId",
    "givenName",
    "familyName",
    "email",
    "sms",
    "password",
];
/// SDS v2 (before 2.1): users.csv with its own role, orgs and grade.
const SDS_V2_USERS: &[&str] = &[
    "sourcedId",
    "givenName",
    "familyName",
    "orgSourcedIds",
    "role",
    "username",
    "password",
    "grade",
    "email",
];
const SDS_V2_ORGS: &[&str] = &["sourcedId", "name", "type", "parentSourcedId"];
/// SDS classic (v1), US names then the UK ones: either may reach the rows.
const CLASSIC_SECTION: &[&str] = &["SIS ID", "School SIS ID", "Section Name", "Status"];
const CLASSIC_ROSTER: &[&str] = &["Section SIS ID", "SIS ID"];
const CLASSIC_SCHOOL: &[&str] = &["SIS ID", "Name", "DfE Number", "Zip", "Postal Code"];
const CLASSIC_PERSON: &[&str] = &[
    "SIS ID",
    "School SIS ID",
    "First Name",
    "Last Name",
    "ID",
    "School DfE Number",
    "Username",
    "Password",
    "Secondary Email",
    "Middle Name",
    "Grade",
    "Status",
    "Birthdate",
    "Student Number",
];
const CLASSIC_USER: &[&str] = &["Email", "First Name", "Last Name", "Phone", "SIS ID"];
const CLASSIC_GUARDIAN: &[&str] = &["SIS ID", "Email", "Role"];
const RELATIONSHIPS: &[&str] = &[
    "userSourcedId",
    "relationshipUserSourcedId",
    "relationshipRole",
];
const DEMOGRAPHICS: &[&str] = &["sourcedId", "userSourcedId", "birthDate", "sex"];
const ST: &[&str] = &[
    "STKEY",
    "SURNAME",
    "FIRST_NAME",
    "STATUS",
    "SECOND_NAME",
    "PREF_NAME",
    "FAMILY",
    "FAMB",
    "FAMC",
    "ACADEMIC_A",
    "ACADEMIC_B",
    "CONTACT_A",
    "E_MAIL",
    "BIRTHDATE",
    "HOME_GROUP",
    "SCHOOL_YEAR",
    "ACCESS_ALERT",
    "ACCESS_TYPE",
];
const DF: &[&str] = &[
    "DFKEY",
    "NAME_A",
    "SURNAME_A",
    "E_MAIL_A",
    "MOBILE_A",
    "NAME_B",
    "SURNAME_B",
    "E_MAIL_B",
    "MOBILE_B",
    "WEB_PASSWORD",
];
const SF: &[&str] = &[
    "SFKEY",
    "SURNAME",
    "FIRST_NAME",
    "PREF_NAME",
    "E_MAIL",
    "STAFF_STATUS",
];
const SCHOOLS: &[&str] = &["School_id", "School_name"];
const STUDENTS: &[&str] = &[
    "School_id",
    "Student_id",
    "Last_name",
    "First_name",
    "Middle_name",
    "Grade",
    "Dob",
    "Student_email",
    "Contact_relationship",
    "Contact_type",
    "Contact_name",
    "Contact_phone",
    "Contact_phone_type",
    "Contact_email",
    "Contact_sis_id",
    "Password",
];
const TEACHERS: &[&str] = &[
    "School_id",
    "Teacher_id",
    "Last_name",
    "First_name",
    "Teacher_email",
    "Title",
];
const LIST: &[&str] = &[
    "Adno",
    "Forename",
    "Surname",
    "Email",
    "DOB",
    "Status",
    "Year",
    "Contact 1 Name",
    "Contact 1 Email",
    "Contact 1 Relationship",
    "Contact 1 Parental Responsibility",
];

/// Field values that have broken importers elsewhere.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        // Few distinct ids: duplicates and cross-references happen often.
        3 => (0u8..6).prop_map(|i| format!("id{i}")),
        3 => (0u8..3).prop_map(|i| format!("org{i}")),
        3 => prop::sample::select(vec!["Ana", "Zoë", "Seán", "O'Brien", "Ngata", "Lee"])
            .prop_map(str::to_owned),
        3 => prop::sample::select(vec![
            "student", "teacher", "guardian", "parent", "relative", "aide", "wizard", "active",
            "tobedeleted", "true", "FALSE", "ACTV", "LEFT", "DEL", "FUT", "Y", "N", "A", "B", "C",
            "primary", "secondary", "Parent/Guardian", "Emergency", "self", "On roll", "Leaver",
            "school", "district", "bulk", "delta", "absent", "file.users", "file.orgs",
            "oneroster.version", "1.2", "2014-02-30", "2014-02-28", "12/31/2015", "31/12/2015",
            "5/03/2016 12:00:00 AM", "0000-00-00", "zoe@example.org", "not-an-email", "a@@b",
            "Zoë", "O'Brien", "Łukasz", "\u{0}", "\"", "\"\"", "a,b", "a;b", "a\tb", "x\r\ny",
            "\u{feff}", "🙂", "#N/A", "=1+1",
            "Student", "TEACHER", "Professor", "faculty", "staff", "Parent", "Other", "Active",
            "Inactive", "4/2/2000", "20000402", "a@x.org", "A@X.org",
        ])
        .prop_map(str::to_owned),
        1 => "[ -~]{0,12}",
        1 => ".{0,6}",
    ]
}

/// A CSV-ish file: some of `columns` (shuffled, any case), ragged rows,
/// any delimiter and encoding, sometimes a broken quote or random bytes.
fn table(columns: &'static [&'static str], required: usize) -> impl Strategy<Value = Vec<u8>> {
    // Usually the columns a format requires (the first `required` of each
    // list), so that rows are read; sometimes any subset, so headers are checked.
    let cols = prop_oneof![
        3 => prop::sample::subsequence(columns[required..].to_vec(), 0..=columns.len() - required)
            .prop_map(move |mut rest| {
                rest.extend_from_slice(&columns[..required]);
                rest
            }),
        1 => prop::sample::subsequence(columns.to_vec(), 0..=columns.len()),
    ];
    let header = cols.prop_shuffle().prop_flat_map(|cols| {
        let n = cols.len();
        let row = prop_oneof![
            4 => prop::collection::vec(value(), n..=n),
            1 => prop::collection::vec(value(), 0..=n + 2), // ragged
        ];
        (
            Just(cols),
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(row, 0..8),
        )
    });
    (
        header,
        0u8..3,
        0u8..4,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|((cols, upper, rows), delim, encoding, crlf, junk)| {
            let d = [",", ";", "\t"][delim as usize];
            let nl = if crlf { "\r\n" } else { "\n" };
            let quote = |s: &str| {
                if s.contains(['"', ',', ';', '\t', '\n', '\r']) && !s.len().is_multiple_of(3) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.to_owned() // sometimes left unquoted on purpose
                }
            };
            let head: Vec<String> = cols
                .iter()
                .zip(&upper)
                .map(|(c, up)| {
                    if *up {
                        c.to_uppercase()
                    } else {
                        (*c).to_owned()
                    }
                })
                .collect();
            let mut text = head.join(d) + nl;
            for r in rows {
                text.push_str(&r.iter().map(|v| quote(v)).collect::<Vec<_>>().join(d));
                text.push_str(nl);
            }
            let mut bytes = match encoding {
                0 => text.into_bytes(),
                1 => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
                2 => [0xFF, 0xFE]
                    .into_iter()
                    .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                    .collect(),
                _ => encoding_rs::WINDOWS_1252.encode(&text).0.into_owned(),
            };
            // Now and then, bytes no encoding expects.
            if junk.len() > 30 {
                let at = junk[0] as usize % (bytes.len() + 1);
                bytes.splice(at..at, junk);
            }
            bytes
        })
}

struct Harness {
    store: RefCell<Store>,
    /// A school of every format, imported for real.
    populated: RefCell<Store>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let open =
            |name: &str| Store::open(&dir.path().join(name), &DbKey::random().unwrap()).unwrap();
        let (store, mut populated) = (open("empty.db"), open("school.db"));
        populate(&mut populated, dir.path());
        Harness {
            store: RefCell::new(store),
            populated: RefCell::new(populated),
            dir,
        }
    }

    /// Writes `files` into a fresh folder and previews its import into the
    /// empty database and into the school's; returns the empty one's.
    fn import(
        &self,
        files: &[(&str, &[u8])],
        format: Option<&'static dyn Format>,
        mapping: Option<Mapping>,
    ) -> Option<import::Summary> {
        let folder = self.write(files);
        let _ = run(
            &mut self.populated.borrow_mut(),
            folder.path(),
            format,
            mapping.clone(),
            true,
        );
        self.run(folder.path(), format, mapping)
    }

    fn write(&self, files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let folder = tempfile::tempdir_in(self.dir.path()).unwrap();
        for (name, body) in files {
            std::fs::write(folder.path().join(name), body).unwrap();
        }
        folder
    }

    fn run(
        &self,
        path: &Path,
        format: Option<&'static dyn Format>,
        mapping: Option<Mapping>,
    ) -> Option<import::Summary> {
        run(&mut self.store.borrow_mut(), path, format, mapping, true)
    }
}

/// Imports a school of every format into `store`, for real: the OneRoster
/// and CASES21 demo schools, the public SDS sample, the SDS classic fixture
/// and a small Clever upload.
fn populate(store: &mut Store, dir: &Path) {
    let oneroster = dir.join("oneroster");
    keyroll_demo::generate(&oneroster, 30, 5).unwrap();
    let cases21 = dir.join("cases21");
    keyroll_demo::generate_cases21(&cases21, 30, 5).unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let clever = dir.join("clever");
    std::fs::create_dir_all(&clever).unwrap();
    for (name, body) in CLEVER_SCHOOL {
        std::fs::write(clever.join(name), body).unwrap();
    }
    for path in [
        oneroster,
        cases21,
        repo.join("../shared/samples/sds-v2.1"),
        repo.join("tests/fixtures/sds-classic-us"),
        clever,
    ] {
        let s = run(store, &path, None, None, false).expect("the school imports");
        assert!(
            s.applied && s.errors.is_empty(),
            "{}: {:?}",
            path.display(),
            s.errors
        );
    }
}

const CLEVER_SCHOOL: &[(&str, &str)] = &[
    ("schools.csv", "School_id,School_name\n1,Hillcrest\n"),
    (
        "students.csv",
        "School_id,Student_id,Last_name,First_name,Grade\n1,st1,Ngata,Zoe,7\n1,st2,Tane,Liam,7\n",
    ),
    (
        "teachers.csv",
        "School_id,Teacher_id,Last_name,First_name,Teacher_email\n1,te1,Dubois,Amelie,a@school.example\n",
    ),
    ("sections.csv", "School_id,Section_id,Teacher_id,Name\n1,sec1,te1,Algebra\n"),
    ("enrollments.csv", "School_id,Section_id,Student_id\n1,sec1,st1\n1,sec1,st2\n"),
];

/// Imports `path` into `store` (valid rows only), as a preview or for real.
fn run(
    store: &mut Store,
    path: &Path,
    format: Option<&'static dyn Format>,
    mapping: Option<Mapping>,
    dry_run: bool,
) -> Option<import::Summary> {
    let opts = Options {
        format,
        dry_run,
        on_error: import::OnError::SkipInvalid,
        mapping,
        ..Default::default()
    };
    let outcome = import::run(store, &[path.to_owned()], &opts, "fuzz", &mut |_| true);
    // The reader thread's panic comes back as this error: still a crash.
    if let Err(e) = &outcome {
        let text = e.to_string();
        assert!(!text.contains("internal error"), "{text}");
    }
    outcome.ok()
}

thread_local! {
    static HARNESS: Harness = Harness::new();
}

fn config() -> ProptestConfig {
    // PROPTEST_CASES overrides this for long runs.
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn oneroster_never_panics(
        manifest in prop::sample::select(vec![
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n",
            "propertyName,value\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,delta\nfile.roles,bulk\nfile.demographics,bulk\n",
            "propertyName,value\nfile.users,absent\n",
            "",
        ]),
        orgs in table(ONEROSTER_ORGS, 3),
        users in table(ONEROSTER_USERS, 5),
        roles in table(ROLES, 3),
        demographics in table(DEMOGRAPHICS, 2),
        classes in table(CLASSES, 2),
        enrollments in table(ENROLLMENTS, 3),
    ) {
        let _ = HARNESS.with(|h| h.import(&[
            ("manifest.csv", manifest.as_bytes()), ("orgs.csv", &orgs), ("users.csv", &users),
            ("roles.csv", &roles), ("demographics.csv", &demographics),
            ("classes.csv", &classes), ("enrollments.csv", &enrollments),
        ], format("oneroster"), None));
    }

    #[test]
    fn sds_never_panics(
        orgs in table(ONEROSTER_ORGS, 3),
        users in table(SDS_USERS, 3),
        roles in table(ROLES, 3),
        relationships in table(RELATIONSHIPS, 3),
        classes in table(CLASSES, 2),
        enrollments in table(ENROLLMENTS, 3),
    ) {
        let _ = HARNESS.with(|h| h.import(&[
            ("orgs.csv", &orgs), ("users.csv", &users), ("roles.csv", &roles),
            ("relationships.csv", &relationships), ("classes.csv", &classes),
            ("enrollments.csv", &enrollments),
        ], format("sds"), None));
    }

    #[test]
    fn sds_v2_never_panics(
        orgs in table(SDS_V2_ORGS, 3),
        users in table(SDS_V2_USERS, 5),
        classes in table(CLASSES, 2),
        enrollments in table(ENROLLMENTS, 3),
    ) {
        let _ = HARNESS.with(|h| h.import(&[
            ("orgs.csv", &orgs), ("users.csv", &users), ("classes.csv", &classes),
            ("enrollments.csv", &enrollments),
        ], format("sds"), None));
    }

    #[test]
    fn sds_classic_never_panics(
        school in table(CLASSIC_SCHOOL, 2),
        student in table(CLASSIC_PERSON, 4),
        teacher in table(CLASSIC_PERSON, 4),
        users in table(CLASSIC_USER, 3),
        guardians in table(CLASSIC_GUARDIAN, 3),
        with_guardians in any::<bool>(),
        sections in table(CLASSIC_SECTION, 2),
        rosters in table(CLASSIC_ROSTER, 2),
    ) {
        let mut files: Vec<(&str, &[u8])> = vec![
            ("School.csv", &school), ("student.csv", &student), ("TEACHER.csv", &teacher),
            ("Section.csv", &sections), ("StudentEnrollment.csv", &rosters),
        ];
        if with_guardians {
            files.extend([("User.csv", &users[..]), ("Guardianrelationship.csv", &guardians[..])]);
        }
        let _ = HARNESS.with(|h| h.import(&files, format("sds-classic"), None));
    }

    #[test]
    fn cases21_never_panics(
        st in table(ST, 4),
        df in table(DF, 1),
        sf in table(SF, 3),
        delta in any::<bool>(),
    ) {
        // The demo school's site: re-imports of the populated school.
        let st_name = if delta { "ST_8888_D.csv" } else { "ST_8888.csv" };
        let _ = HARNESS.with(|h| h.import(&[
            (st_name, &st), ("DF_8888.csv", &df), ("SF_8888.csv", &sf),
        ], format("cases21"), None));
    }

    #[test]
    fn clever_never_panics(
        schools in table(SCHOOLS, 2),
        students in table(STUDENTS, 4),
        teachers in table(TEACHERS, 4),
        sections in table(SECTIONS, 2),
        enrollments in table(CLEVER_ENROLLMENTS, 2),
    ) {
        let _ = HARNESS.with(|h| h.import(&[
            ("schools.csv", &schools), ("students.csv", &students), ("teachers.csv", &teachers),
            ("sections.csv", &sections), ("enrollments.csv", &enrollments),
        ], format("clever"), None));
    }

    #[test]
    fn mapped_lists_never_panic(
        list in table(LIST, 3),
        picks in prop::collection::vec((0usize..16, 0usize..LIST.len()), 0..12),
        kind in prop::sample::select(vec![None, Some("student"), Some("staff"), Some("parent")]),
        dates in prop::sample::select(vec!["dmy", "mdy", "ymd"]),
        contact in any::<bool>(),
    ) {
        // A mapping of arbitrary fields (known or not) to arbitrary columns.
        let fields = import::mapping::PERSON_FIELDS;
        let mut columns = serde_json::Map::new();
        for (f, c) in picks {
            let field = fields.get(f).map_or("nickname", |f| f.0);
            columns.insert(field.to_owned(), LIST[c].into());
        }
        let contacts = if contact {
            serde_json::json!([{ "name": "Contact 1 Name", "email": "Contact 1 Email",
                "relationship": "Contact 1 Relationship",
                "responsible": "Contact 1 Parental Responsibility" }])
        } else {
            serde_json::json!([])
        };
        let mapping: Mapping = serde_json::from_value(serde_json::json!({
            "name": "fuzz", "kind": kind, "dates": dates, "columns": columns, "contacts": contacts,
        })).unwrap();
        let _ = HARNESS.with(|h| h.import(&[("list.csv", &list)], format("csv"), Some(mapping)));
    }

    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        name in prop::sample::select(vec![
            "users.csv", "ST_1.csv", "students.csv", "Student.csv", "list.xlsx", "list.ods", "list.xls",
            "export.zip",
        ]),
    ) {
        let format = match name {
            "users.csv" => format("oneroster").unwrap(),
            "ST_1.csv" => format("cases21").unwrap(),
            "students.csv" => format("clever").unwrap(),
            "Student.csv" => format("sds-classic").unwrap(),
            _ => format("csv").unwrap(),
        };
        let mapping: Mapping = serde_json::from_value(serde_json::json!({
            "name": "fuzz", "kind": "student",
            "columns": { "sis_id": "a", "given_name": "b", "family_name": "c" },
        })).unwrap();
        let _ = HARNESS.with(|h| h.import(&[(name, &bytes)], Some(format), Some(mapping)));
    }
}

/// The generated files are not all refused at the header: for each format,
/// many reach the rows, some people are read and some rows rejected (else
/// the tests above would pass without testing anything).
#[test]
fn generated_files_reach_the_rows() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    type Files = Vec<(&'static str, Vec<u8>)>;
    type MakeSet = fn(&mut TestRunner) -> Files;
    fn gen(runner: &mut TestRunner, columns: &'static [&'static str], required: usize) -> Vec<u8> {
        table(columns, required).new_tree(runner).unwrap().current()
    }
    let sets: [(&str, MakeSet); 3] = [
        ("clever", |r| {
            vec![
                ("schools.csv", gen(r, SCHOOLS, 2)),
                ("students.csv", gen(r, STUDENTS, 4)),
            ]
        }),
        ("sds", |r| {
            vec![
                ("orgs.csv", gen(r, SDS_V2_ORGS, 3)),
                ("users.csv", gen(r, SDS_V2_USERS, 5)),
            ]
        }),
        ("sds-classic", |r| {
            vec![
                ("School.csv", gen(r, CLASSIC_SCHOOL, 2)),
                ("Student.csv", gen(r, CLASSIC_PERSON, 4)),
                ("Teacher.csv", gen(r, CLASSIC_PERSON, 4)),
            ]
        }),
    ];
    let h = Harness::new();
    for (name, make) in sets {
        let mut runner = TestRunner::deterministic();
        let (mut read, mut rejected) = (0, 0);
        for _ in 0..400 {
            let files = make(&mut runner);
            let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, &b[..])).collect();
            if let Some(s) = h.import(&files, format(name), None) {
                read += u64::from(s.counts.new > 0);
                rejected += u64::from(s.counts.rejected > 0);
            }
        }
        // An SDS v2 row needs a known role word too, which few generated
        // values are: its valid files are checked below instead.
        let want_read = if name == "sds" { 0 } else { 4 };
        assert!(
            read >= want_read && rejected >= 60,
            "{name}: read {read}, rejected {rejected}"
        );
    }
    // Valid exports in each vendor's shape are read, person by person.
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    for (dir, name, people) in [
        ("sds-v2", "sds", 12),
        ("sds-classic-us", "sds-classic", 8),
        ("sds-classic-uk", "sds-classic", 5),
    ] {
        let s = h.run(&fixtures.join(dir), format(name), None).unwrap();
        assert_eq!((s.counts.new, s.counts.rejected), (people, 0), "{dir}");
    }
}

/// The kept corpus: hand-made files that must never crash any format.
#[test]
fn the_corpus_never_panics() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seen = 0;
    let h = Harness::new();
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let body = std::fs::read(entry.unwrap().path()).unwrap();
        for (name, format) in [
            ("users.csv", format("oneroster").unwrap()),
            ("roles.csv", format("sds").unwrap()),
            ("ST_1234.csv", format("cases21").unwrap()),
            ("students.csv", format("clever").unwrap()),
            ("list.csv", format("csv").unwrap()),
            ("list.xlsx", format("csv").unwrap()),
        ] {
            let mapping: Mapping = serde_json::from_value(serde_json::json!({
                "name": "corpus", "kind": "student",
                "columns": { "sis_id": "sourcedId", "given_name": "givenName", "family_name": "familyName" },
            }))
            .unwrap();
            h.import(&[(name, &body)], Some(format), Some(mapping));
        }
        seen += 1;
    }
    assert!(seen >= 5, "the corpus is in {}", corpus.display());
}

/// Everything an import may change, as the office sees it.
fn snapshot(store: &Store) -> String {
    let conn = store.conn();
    let people = keyroll_core::people::list(conn, &Default::default()).unwrap();
    // Every class, removed ones too, with who is in it and how.
    let classes: Vec<Vec<String>> = conn
        .prepare(
            "SELECT c.source || ':' || c.sis_id, c.title, c.school, c.code, c.class_type, c.status,
                    coalesce((SELECT group_concat(x, ' ') FROM (
                        SELECT p.sis_id || '/' || e.role || '/' || e.lead AS x
                        FROM enrollment e JOIN person p ON p.id = e.person_id
                        WHERE e.class_id = c.id ORDER BY x)), '')
             FROM class c ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| (0..7).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let links = keyroll_core::people::links_of(conn).unwrap();
    let orgs: Vec<(String, String, String, String)> = conn
        .prepare("SELECT source || ':' || sis_id, name, coalesce(parent_sis_id, ''), status FROM org ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    format!("{people:#?}\n{classes:#?}\n{links:?}\n{orgs:?}")
}

/// Generated sets applied for real over a school, each rolled back at once:
/// the school is then exactly as it was (people, links, classes, orgs).
#[test]
fn applied_imports_roll_back_to_the_school_as_it_was() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let h = Harness::new();
    let before = snapshot(&h.populated.borrow());
    let mut runner = TestRunner::deterministic();
    let mut gen = |columns: &'static [&'static str], required: usize| {
        table(columns, required)
            .new_tree(&mut runner)
            .unwrap()
            .current()
    };
    let (mut applied, mut changed) = (0, 0);
    for round in 0..60 {
        let files: Vec<(&str, Vec<u8>)> = match round % 3 {
            0 => vec![
                ("manifest.csv", b"propertyName,value\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\nfile.classes,bulk\nfile.enrollments,bulk\n".to_vec()),
                ("orgs.csv", gen(ONEROSTER_ORGS, 3)),
                ("users.csv", gen(ONEROSTER_USERS, 5)),
                ("classes.csv", gen(CLASSES, 2)),
                ("enrollments.csv", gen(ENROLLMENTS, 3)),
            ],
            1 => vec![
                ("schools.csv", gen(SCHOOLS, 2)),
                ("students.csv", gen(STUDENTS, 4)),
                ("sections.csv", gen(SECTIONS, 2)),
                ("enrollments.csv", gen(CLEVER_ENROLLMENTS, 2)),
            ],
            _ => vec![
                ("ST_8888.csv", gen(ST, 4)),
                ("SF_8888.csv", gen(SF, 3)),
            ],
        };
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, &b[..])).collect();
        let folder = h.write(&files);
        let mut store = h.populated.borrow_mut();
        let Some(s) = run(&mut store, folder.path(), None, None, false) else {
            continue;
        };
        let Some(id) = s.import_id.filter(|_| s.applied) else {
            continue;
        };
        applied += 1;
        changed += u64::from(s.counts.changed());
        import::rollback::rollback(&mut store, id, "fuzz", false).unwrap();
        assert_eq!(snapshot(&store), before, "round {round}: {:?}", s.counts);
    }
    assert!(
        applied >= 10 && changed >= 5,
        "applied {applied}, changed {changed}"
    );
}
