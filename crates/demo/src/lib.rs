//! The demo school: a deterministic synthetic school district as a OneRoster
//! 1.1 CSV bundle (or one school as a CASES21 export), with the mess real
//! data has: accents, apostrophes and hyphens, duplicate names, siblings
//! sharing guardians, guardians without email, relatives without parental
//! responsibility, and leavers. Its names are made up.
//!
//! Kept out of the domain library: it writes files a real SIS would, for
//! `keyroll demo`, the app's "Load demo school", tests and benchmarks.

use std::path::{Path, PathBuf};

/// What writing a demo school can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Could not write {path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Csv(#[from] csv::Error),
}

impl Error {
    fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Lower-case ASCII of a name, for the email addresses made from it.
fn fold(s: &str) -> String {
    deunicode::deunicode(s).to_ascii_lowercase()
}

/// SplitMix64: tiny, fast, and its output never changes between versions, so a
/// seed gives the same school forever (rand's StdRng makes no such promise).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const GIVEN: &[&str] = &[
    "Olivia",
    "Noah",
    "Amelia",
    "Oliver",
    "Isla",
    "Jack",
    "Mia",
    "William",
    "Charlotte",
    "Lucas",
    "Ava",
    "Leo",
    "Chloé",
    "Zoë",
    "José",
    "Renée",
    "Siobhán",
    "Łukasz",
    "Søren",
    "Björn",
    "Anaïs",
    "Maëlle",
    "François",
    "Íñigo",
    "Aoife",
    "Niamh",
    "Seán",
    "Mohammed",
    "Aisha",
    "Fatima",
    "Omar",
    "Yusuf",
    "Priya",
    "Arjun",
    "Ananya",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Minh",
    "Linh",
    "Thảo",
    "Kofi",
    "Ama",
    "Chidi",
    "Ngozi",
    "Tāne",
    "Aroha",
    "Mary-Jane",
    "Jean-Luc",
    "Anne-Marie",
    "D'Arcy",
    "Eóin",
    "Matthías",
    "Ingrid",
    "Dmitri",
    "Zofia",
    "Małgorzata",
    "Jürgen",
    "Émile",
    "Sofía",
    "Mateo",
    "Valentina",
    "Santiago",
    "Camila",
    "Ethan",
    "Grace",
    "Harper",
    "Henry",
    "Ruby",
    "Thomas",
    "Sophie",
    "James",
    "Ella",
    "Alexander",
    "Lily",
    "Samuel",
    "Matilda",
];

const FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Wilson",
    "Nguyen",
    "Nguyễn",
    "Tran",
    "Le",
    "O'Brien",
    "O'Connor",
    "D'Souza",
    "D'Angelo",
    "McDonald",
    "MacLeod",
    "Smith-Jones",
    "Taylor-Brown",
    "García",
    "Martínez",
    "Hernández",
    "López",
    "Müller",
    "Schäfer",
    "Größer",
    "Kowalski",
    "Wiśniewska",
    "Dvořák",
    "Novák",
    "Øster",
    "Åberg",
    "Ó Súilleabháin",
    "Ní Bhriain",
    "van der Berg",
    "de la Cruz",
    "Al-Farsi",
    "Ben-David",
    "Patel",
    "Singh",
    "Kaur",
    "Sharma",
    "Wang",
    "Li",
    "Zhang",
    "Chen",
    "Kim",
    "Park",
    "Sato",
    "Suzuki",
    "Okafor",
    "Mensah",
    "Ngata",
    "Te Whare",
    "Papadopoulos",
    "Rossi",
    "Russo",
    "Ferrari",
    "Dubois",
    "Lefèvre",
    "Fontaine",
    "Johansson",
    "Nielsen",
    "Haddad",
    "Khoury",
    "Cohen",
    "Levi",
    "Murphy",
    "Kelly",
    "Walsh",
    "Campbell",
    "Stewart",
    "Robertson",
    "Anderson",
    "Thompson",
    "White",
    "Harris",
    "Martin",
];

const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "mail.example.org",
    "example.com.au",
];

/// What `keyroll demo` writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DemoSummary {
    pub students: u64,
    pub guardians: u64,
    pub relatives: u64,
    pub staff: u64,
    pub schools: u64,
    pub families: u64,
}

/// A user row in users.csv order.
struct User<'a> {
    id: String,
    status: &'a str,
    enabled: bool,
    orgs: String,
    role: &'a str,
    username: String,
    given: &'a str,
    family: String,
    middle: &'a str,
    identifier: String,
    email: String,
    phone: String,
    agents: String,
    grade: &'a str,
}

const USER_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
];

const GRADES: &[&str] = &[
    "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
];
const MODIFIED: &str = "2026-08-01T00:00:00Z";

fn ascii_handle(s: &str) -> String {
    fold(s)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Writes a synthetic school with `students` students into `out` (created if needed).
pub fn generate(out: &Path, students: u64, seed: u64) -> Result<DemoSummary> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut rng = Rng(seed ^ 0x4B65_7972_6F6C_6C21);
    let schools = students.div_ceil(1200).max(1);
    let mut summary = DemoSummary {
        schools,
        ..Default::default()
    };

    let writer = |name: &str| {
        let path = out.join(name);
        csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_path(&path)
            .map_err(Error::from)
    };

    let mut manifest = writer("manifest.csv")?;
    manifest.write_record(["propertyName", "value"])?;
    for (k, v) in [
        ("manifest.version", "1.0"),
        ("oneroster.version", "1.1"),
        ("file.academicSessions", "absent"),
        ("file.categories", "absent"),
        ("file.classes", "absent"),
        ("file.classResources", "absent"),
        ("file.courses", "absent"),
        ("file.courseResources", "absent"),
        ("file.demographics", "bulk"),
        ("file.enrollments", "absent"),
        ("file.lineItems", "absent"),
        ("file.orgs", "bulk"),
        ("file.resources", "absent"),
        ("file.results", "absent"),
        ("file.users", "bulk"),
        ("source.systemName", "Keyroll demo SIS"),
        ("source.systemCode", "keyroll-demo"),
    ] {
        manifest.write_record([k, v])?;
    }
    manifest.flush().map_err(|e| Error::io(out, e))?;

    let mut orgs = writer("orgs.csv")?;
    orgs.write_record([
        "sourcedId",
        "status",
        "dateLastModified",
        "name",
        "type",
        "identifier",
        "parentSourcedId",
    ])?;
    orgs.write_record([
        "district-1",
        "active",
        MODIFIED,
        "Keyroll Demo District",
        "district",
        "D1",
        "",
    ])?;
    const SCHOOL_NAMES: &[&str] = &[
        "Riverside",
        "St Brigid's",
        "Hillcrest",
        "Ōtaki",
        "Lakeview",
        "Saint-Exupéry",
        "Wattle Grove",
        "Kingsford",
        "Bayside",
        "Northgate",
    ];
    for s in 1..=schools {
        let base = SCHOOL_NAMES[(s as usize - 1) % SCHOOL_NAMES.len()];
        let name = if schools > SCHOOL_NAMES.len() as u64 {
            format!("{base} {} School", s)
        } else {
            format!("{base} School")
        };
        orgs.write_record([
            &format!("school-{s}"),
            "active",
            MODIFIED,
            &name,
            "school",
            &format!("S{s:03}"),
            "district-1",
        ])?;
    }
    orgs.flush().map_err(|e| Error::io(out, e))?;

    let mut users = writer("users.csv")?;
    users.write_record(USER_HEADER)?;
    let mut demographics = writer("demographics.csv")?;
    demographics.write_record([
        "sourcedId",
        "status",
        "dateLastModified",
        "birthDate",
        "sex",
    ])?;

    let write_user = |users: &mut csv::Writer<std::fs::File>, u: &User| -> Result<()> {
        users.write_record([
            u.id.as_str(),
            u.status,
            MODIFIED,
            if u.enabled { "true" } else { "false" },
            &u.orgs,
            u.role,
            &u.username,
            &if u.role == "student" || u.role == "teacher" {
                format!("{{SIS:{}}}", u.identifier)
            } else {
                String::new()
            },
            u.given,
            &u.family,
            u.middle,
            &u.identifier,
            &u.email,
            &u.phone,
            "",
            &u.agents,
            u.grade,
            "",
        ])?;
        Ok(())
    };

    // Families: 1-3 children; 1-2 guardians with parental responsibility and
    // sometimes a relative (grandparent) without it.
    let (mut student_no, mut contact_no) = (0u64, 0u64);
    while student_no < students {
        summary.families += 1;
        let family_name = rng.pick(FAMILY).to_owned();
        let children = match rng.below(100) {
            0..=69 => 1,
            70..=91 => 2,
            _ => 3,
        }
        .min(students - student_no);
        let school = 1 + rng.below(schools);
        let mut adults: Vec<(String, &str)> = Vec::new(); // (sourcedId, role)
        let adult_count = if rng.chance(55) { 2 } else { 1 };
        let mut contact_rows = Vec::new();
        for a in 0..adult_count + u64::from(rng.chance(12)) {
            contact_no += 1;
            let relative = a >= adult_count;
            let role = if relative {
                "relative"
            } else if rng.chance(50) {
                "parent"
            } else {
                "guardian"
            };
            // Most adults share the family name; some keep their own or hyphenate.
            let surname = match rng.below(10) {
                0..=6 => family_name.clone(),
                7 => format!("{}-{}", rng.pick(FAMILY), family_name),
                _ => rng.pick(FAMILY).to_owned(),
            };
            let given = rng.pick(GIVEN);
            let email = if rng.chance(15) {
                String::new() // guardian without email
            } else {
                format!(
                    "{}.{}{}@{}",
                    ascii_handle(given),
                    ascii_handle(&surname),
                    contact_no % 100,
                    rng.pick(EMAIL_DOMAINS)
                )
            };
            let id = format!("con-{contact_no:07}");
            adults.push((id.clone(), role));
            if relative {
                summary.relatives += 1;
            } else {
                summary.guardians += 1;
            }
            contact_rows.push(User {
                id,
                status: "active",
                enabled: true,
                orgs: format!("school-{school}"),
                role,
                username: String::new(),
                given,
                family: surname,
                middle: "",
                identifier: String::new(),
                email,
                phone: format!(
                    "+61 4{:02} {:03} {:03}",
                    rng.below(100),
                    rng.below(1000),
                    rng.below(1000)
                ),
                agents: String::new(),
                grade: "",
            });
        }
        let mut child_ids = Vec::new();
        for _ in 0..children {
            student_no += 1;
            let id = format!("stu-{student_no:07}");
            child_ids.push(id.clone());
            let leaver = rng.below(100);
            let given = rng.pick(GIVEN);
            let middle = if rng.chance(40) { rng.pick(GIVEN) } else { "" };
            let grade = rng.pick(GRADES);
            let birth_year = 2026 - 5 - GRADES.iter().position(|g| *g == grade).unwrap_or(0) as u64;
            let u = User {
                id: id.clone(),
                status: if leaver < 2 { "tobedeleted" } else { "active" },
                enabled: leaver >= 3,
                orgs: format!("school-{school}"),
                role: "student",
                username: String::new(),
                given,
                family: family_name.clone(),
                middle,
                identifier: format!("{}", 100_000 + student_no),
                email: format!(
                    "{}.{}{}@students.keyroll-demo.example",
                    ascii_handle(given),
                    ascii_handle(&family_name),
                    student_no
                ),
                phone: String::new(),
                agents: adults
                    .iter()
                    .map(|(a, _)| a.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                grade,
            };
            write_user(&mut users, &u)?;
            demographics.write_record([
                id.as_str(),
                "active",
                MODIFIED,
                &format!(
                    "{birth_year}-{:02}-{:02}",
                    1 + rng.below(12),
                    1 + rng.below(28)
                ),
                if rng.chance(50) { "female" } else { "male" },
            ])?;
        }
        summary.students += children;
        for mut c in contact_rows {
            c.agents = child_ids.join(",");
            write_user(&mut users, &c)?;
        }
    }

    // One staff member per 12 students, spread across the schools.
    let staff = students.div_ceil(12);
    for s in 1..=staff {
        let given = rng.pick(GIVEN);
        let family = rng.pick(FAMILY);
        let role = match rng.below(20) {
            0 => "administrator",
            1..=3 => "aide",
            _ => "teacher",
        };
        let handle = format!("{}.{}", ascii_handle(given), ascii_handle(family));
        let u = User {
            id: format!("stf-{s:06}"),
            status: if rng.chance(2) {
                "tobedeleted"
            } else {
                "active"
            },
            enabled: true,
            orgs: format!("school-{}", 1 + (s - 1) % schools),
            role,
            username: format!("{handle}{s}"),
            given,
            family: family.to_owned(),
            middle: "",
            identifier: format!("T{s:05}"),
            email: format!("{handle}{s}@staff.keyroll-demo.example"),
            phone: String::new(),
            agents: String::new(),
            grade: "",
        };
        write_user(&mut users, &u)?;
    }
    summary.staff = staff;
    users.flush().map_err(|e| Error::io(out, e))?;
    demographics.flush().map_err(|e| Error::io(out, e))?;
    Ok(summary)
}

/// Writes `s` as Windows-1252, the encoding CASES21 exports arrive in; a name
/// with letters outside it (Łukasz) is written without its accents, as
/// CASES21 itself would hold it.
fn cp1252(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
    if unmappable {
        let plain: String = s
            .chars()
            .map(|c| {
                let one = c.to_string();
                match encoding_rs::WINDOWS_1252.encode(&one) {
                    _ if c.is_ascii() => one,
                    (_, _, false) => one,
                    _ => fold(&one),
                }
            })
            .collect();
        return encoding_rs::WINDOWS_1252.encode(&plain).0.into_owned();
    }
    bytes.into_owned()
}

/// A CSV file written in Windows-1252 with CRLF line ends (built in memory,
/// encoded once).
struct Cp1252Csv {
    path: std::path::PathBuf,
    csv: csv::Writer<Vec<u8>>,
}

impl Cp1252Csv {
    fn create(path: std::path::PathBuf) -> Result<Cp1252Csv> {
        Ok(Cp1252Csv {
            path,
            csv: csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new()),
        })
    }

    fn row<I: AsRef<[u8]>>(&mut self, fields: impl IntoIterator<Item = I>) -> Result<()> {
        Ok(self.csv.write_record(fields)?)
    }

    fn finish(self) -> Result<()> {
        let bytes = self
            .csv
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        let text = String::from_utf8(bytes).expect("the rows were strings");
        std::fs::write(&self.path, cp1252(&text)).map_err(|e| Error::io(&self.path, e))
    }
}

/// The CASES21 site number of the demo school.
pub const CASES21_SITE: &str = "8888";

/// Writes a synthetic school as a CASES21 eduHub export (ST, DF and SF files
/// for site 8888, in Windows-1252), with the same mess as [`generate`]:
/// families with one or two adults, second families (FAMB), adults without
/// email, access restrictions, families that get no academic reports, and
/// students who are future, leaving or left.
pub fn generate_cases21(out: &Path, students: u64, seed: u64) -> Result<DemoSummary> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut rng = Rng(seed ^ 0x4341_5345_5332_3121);
    let mut summary = DemoSummary {
        schools: 1,
        ..Default::default()
    };
    let file = |t: &str| Cp1252Csv::create(out.join(format!("{t}_{CASES21_SITE}.csv")));
    let mut st = file("ST")?;
    st.row([
        "STKEY",
        "SURNAME",
        "FIRST_NAME",
        "SECOND_NAME",
        "PREF_NAME",
        "FAMILY",
        "ACADEMIC_A",
        "RELATION_A01",
        "RELATION_A02",
        "CONTACT_A",
        "FAMB",
        "ACADEMIC_B",
        "CONTACT_B",
        "E_MAIL",
        "GENDER",
        "BIRTHDATE",
        "STATUS",
        "HOME_GROUP",
        "SCHOOL_YEAR",
        "CAMPUS",
        "ACCESS_ALERT",
        "ACCESS_TYPE",
        "LW_DATE",
    ])?;
    let mut df = file("DF")?;
    df.row([
        "DFKEY",
        "NAME_A",
        "SURNAME_A",
        "TITLE_A",
        "E_MAIL_A",
        "MOBILE_A",
        "NAME_B",
        "SURNAME_B",
        "TITLE_B",
        "E_MAIL_B",
        "MOBILE_B",
        "HOMETITLE",
        "USER_NAME",
        "WEB_ENABLED",
        "LW_DATE",
    ])?;
    const YEARS: &[&str] = &["00", "01", "02", "03", "04", "05", "06"];
    const LW: &str = "1/08/2026 12:00:00 AM";
    let (mut student_no, mut family_no) = (0u64, 0u64);
    let mut family_key = |surname: &str, rng: &mut Rng| {
        family_no += 1;
        let prefix: String = ascii_handle(surname)
            .to_ascii_uppercase()
            .chars()
            .chain("XXX".chars())
            .take(3)
            .collect();
        let _ = rng;
        format!("{prefix}{family_no:05}")
    };
    let adult = |surname: &str, rng: &mut Rng, summary: &mut DemoSummary| {
        summary.guardians += 1;
        let given = rng.pick(GIVEN);
        let surname = match rng.below(10) {
            0..=6 => surname.to_owned(),
            7 => format!("{}-{}", rng.pick(FAMILY), surname),
            _ => rng.pick(FAMILY).to_owned(),
        };
        let email = if rng.chance(15) {
            String::new()
        } else {
            format!(
                "{}.{}{}@{}",
                ascii_handle(given),
                ascii_handle(&surname),
                rng.below(100),
                rng.pick(EMAIL_DOMAINS)
            )
        };
        let title = rng.pick(&["Mr", "Ms", "Mrs", "Dr", "Mx"]).to_owned();
        let mobile = format!(
            "04{:02} {:03} {:03}",
            rng.below(100),
            rng.below(1000),
            rng.below(1000)
        );
        [given.to_owned(), surname, title, email, mobile]
    };
    while student_no < students {
        summary.families += 1;
        let surname = rng.pick(FAMILY).to_owned();
        let key = family_key(&surname, &mut rng);
        let a = adult(&surname, &mut rng, &mut summary);
        let b = if rng.chance(55) {
            adult(&surname, &mut rng, &mut summary)
        } else {
            Default::default()
        };
        let hometitle = if b[0].is_empty() {
            format!("{} {} {}", a[2], a[0], a[1])
        } else {
            format!("{} {} & {} {}", a[2], a[0], b[2], b[0])
        };
        let user = format!("{}{}", key.to_ascii_lowercase(), rng.below(10));
        df.row([
            key.as_str(),
            &a[0],
            &a[1],
            &a[2],
            &a[3],
            &a[4],
            &b[0],
            &b[1],
            &b[2],
            &b[3],
            &b[4],
            &hometitle,
            &user,
            if rng.chance(80) { "Y" } else { "N" },
            LW,
        ])?;
        // Some children also live part of the time with a second family.
        let second = if rng.chance(10) {
            summary.families += 1;
            let other = rng.pick(FAMILY).to_owned();
            let k = family_key(&other, &mut rng);
            let c = adult(&other, &mut rng, &mut summary);
            df.row([
                k.as_str(),
                &c[0],
                &c[1],
                &c[2],
                &c[3],
                &c[4],
                "",
                "",
                "",
                "",
                "",
                &format!("{} {} {}", c[2], c[0], c[1]),
                "",
                "N",
                LW,
            ])?;
            Some(k)
        } else {
            None
        };
        let children = match rng.below(100) {
            0..=69 => 1,
            70..=91 => 2,
            _ => 3,
        }
        .min(students - student_no);
        for _ in 0..children {
            student_no += 1;
            let given = rng.pick(GIVEN);
            let middle = if rng.chance(40) { rng.pick(GIVEN) } else { "" };
            let year_index = rng.below(YEARS.len() as u64);
            let status = match rng.below(100) {
                0 => "LEFT",
                1 => "LVNG",
                2 => "FUT",
                3 if rng.chance(30) => "INAC",
                _ => "ACTV",
            };
            let restricted = rng.chance(2);
            let prefix: String = ascii_handle(&surname)
                .to_ascii_uppercase()
                .chars()
                .chain("XXX".chars())
                .take(3)
                .collect();
            st.row([
                format!("{prefix}{student_no:05}"),
                surname.to_uppercase(),
                given.to_owned(),
                middle.to_owned(),
                if rng.chance(5) {
                    given.chars().take(3).collect()
                } else {
                    String::new()
                },
                key.clone(),
                if rng.chance(3) { "N" } else { "Y" }.to_owned(),
                rng.pick(&["Mother", "Father", "Guardian"]).to_owned(),
                if b[0].is_empty() {
                    String::new()
                } else {
                    rng.pick(&["Father", "Mother", "Step-parent"]).to_owned()
                },
                if b[0].is_empty() {
                    "A"
                } else {
                    rng.pick(&["A", "B", "C", "C"])
                }
                .to_owned(),
                second.clone().unwrap_or_default(),
                if second.is_some() {
                    rng.pick(&["Y", "N"])
                } else {
                    ""
                }
                .to_owned(),
                if second.is_some() { "A" } else { "" }.to_owned(),
                format!(
                    "{}.{}{}@schools.keyroll-demo.example",
                    ascii_handle(given),
                    ascii_handle(&surname),
                    student_no
                ),
                rng.pick(&["M", "F", "X"]).to_owned(),
                format!(
                    "{}/{:02}/{} 12:00:00 AM",
                    1 + rng.below(28),
                    1 + rng.below(12),
                    2026 - 6 - year_index
                ),
                status.to_owned(),
                format!(
                    "{}{}",
                    YEARS[year_index as usize],
                    rng.pick(&["A", "B", "C"])
                ),
                YEARS[year_index as usize].to_owned(),
                "1".to_owned(),
                if restricted { "Y" } else { "N" }.to_owned(),
                if restricted { "Court order" } else { "" }.to_owned(),
                LW.to_owned(),
            ])?;
        }
        summary.students += children;
    }
    st.finish()?;
    df.finish()?;

    let mut sf = file("SF")?;
    sf.row([
        "SFKEY",
        "SURNAME",
        "TITLE",
        "FIRST_NAME",
        "SECOND_NAME",
        "PREF_NAME",
        "E_MAIL",
        "MOBILE",
        "STAFF_STATUS",
        "STAFF_TYPE",
        "FINISH",
        "LW_DATE",
    ])?;
    let staff = students.div_ceil(12);
    for s in 1..=staff {
        let given = rng.pick(GIVEN);
        let family = rng.pick(FAMILY);
        let left = rng.chance(2);
        // Initials plus a number keep four letters unique in a big school.
        let initials: String = ascii_handle(given)
            .chars()
            .take(1)
            .chain(ascii_handle(family).chars().take(1))
            .collect::<String>()
            .to_ascii_uppercase();
        sf.row([
            format!("{initials}{s:03}"),
            family.to_uppercase(),
            rng.pick(&["Mr", "Ms", "Mrs", "Dr"]).to_owned(),
            given.to_owned(),
            String::new(),
            String::new(),
            format!(
                "{}.{}{s}@schools.keyroll-demo.example",
                ascii_handle(given),
                ascii_handle(family)
            ),
            String::new(),
            if left { "LEFT" } else { "ACTV" }.to_owned(),
            if left {
                "L"
            } else if rng.chance(80) {
                "T"
            } else {
                "N"
            }
            .to_owned(),
            if left { "30/06/2026 12:00:00 AM" } else { "" }.to_owned(),
            LW.to_owned(),
        ])?;
    }
    sf.finish()?;
    summary.staff = staff;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_school_and_realistic_shape() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = generate(a.path(), 600, 7).unwrap();
        let sb = generate(b.path(), 600, 7).unwrap();
        assert_eq!(sa, sb);
        let users_a = std::fs::read(a.path().join("users.csv")).unwrap();
        assert_eq!(users_a, std::fs::read(b.path().join("users.csv")).unwrap());
        assert_eq!(sa.students, 600);
        assert_eq!(sa.staff, 50);
        let per_student = (sa.guardians + sa.relatives) as f64 / sa.families as f64
            * sa.families as f64
            / sa.students as f64;
        assert!(sa.families < sa.students, "siblings share a family");
        assert!((1.0..2.2).contains(&per_student), "{per_student}");
        let text = String::from_utf8(users_a).unwrap();
        assert!(text.contains("O'") && text.contains('-') && text.contains('ë'));
        assert!(text.contains("tobedeleted"));
        assert!(text.contains(",false,"));

        let other = tempfile::tempdir().unwrap();
        generate(other.path(), 600, 8).unwrap();
        assert_ne!(
            std::fs::read(other.path().join("users.csv")).unwrap(),
            std::fs::read(a.path().join("users.csv")).unwrap()
        );
    }
}
