//! `keyroll demo`: a deterministic synthetic school district as a OneRoster 1.1
//! CSV bundle, with the mess real data has: accents, apostrophes and hyphens,
//! duplicate names, siblings sharing guardians, guardians without email,
//! relatives without parental responsibility, and leavers.

use std::path::Path;

use crate::error::{Error, Result};
use crate::text;

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
    text::fold(s)
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
