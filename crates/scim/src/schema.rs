//! The schemas Keyroll's resources follow (RFC 7643 §4 and §8.7.1): core
//! User and Group, the enterprise User extension that Entra and Okta send,
//! and Keyroll's school extension. Each attribute's type, case rule,
//! mutability and `returned` setting, written once: `/Schemas` is made from
//! them, and filters, PATCH and attribute selection read them.

use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// What a school knows that SCIM does not: the person's role, where the SIS
/// record came from, their school, year, home group, classes and family.
pub const SCHOOL: &str = "urn:keyroll:params:scim:schemas:extension:school:2.0:User";
/// What Keyroll's sync hands its own server to sign in with: hashes only.
pub const CREDENTIALS: &str = "urn:keyroll:params:scim:schemas:extension:credentials:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// A kind of resource the server keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    /// The core schema's URN.
    pub fn schema(self) -> &'static str {
        match self {
            Kind::User => USER,
            Kind::Group => GROUP,
        }
    }

    /// The extensions a resource of this kind may carry.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::User => &[ENTERPRISE, SCHOOL, CREDENTIALS],
            Kind::Group => &[],
        }
    }

    /// The endpoint's name, as in `/Users`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    /// As `meta.resourceType` says it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    /// The attributes of the core schema.
    pub fn attributes(self) -> &'static [Attr] {
        match self {
            Kind::User => USER_ATTRS,
            Kind::Group => GROUP_ATTRS,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    /// A URI, to resources of these types (or "uri" / "external").
    Reference(&'static [&'static str]),
    Complex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// One attribute's definition (RFC 7643 §7).
#[derive(Clone, Copy, Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Type,
    pub multi: bool,
    pub case_exact: bool,
    pub required: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub unique: bool,
    pub sub: &'static [Attr],
    pub description: &'static str,
}

const fn attr(name: &'static str, kind: Type, description: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        case_exact: false,
        required: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        sub: &[],
        description,
    }
}

/// A credential a client may set and nobody reads back.
const fn secret(name: &'static str, kind: Type, description: &'static str) -> Attr {
    Attr {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        case_exact: true,
        ..attr(name, kind, description)
    }
}

const fn s(name: &'static str, description: &'static str) -> Attr {
    attr(name, Type::String, description)
}

const fn multi(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
    Attr {
        multi: true,
        sub,
        ..attr(name, Type::Complex, description)
    }
}

const fn complex(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
    Attr {
        sub,
        ..attr(name, Type::Complex, description)
    }
}

/// The sub-attributes of a multi-valued attribute such as `emails`.
const VALUE_TYPE_PRIMARY: &[Attr] = &[
    s("value", "The value."),
    s("display", "A human-readable name."),
    s("type", "A label such as 'work' or 'home'."),
    attr(
        "primary",
        Type::Boolean,
        "Whether this is the primary value.",
    ),
];

const REFERENCE_SUB: &[Attr] = &[
    Attr {
        mutability: Mutability::Immutable,
        case_exact: true,
        ..s("value", "The id of the resource.")
    },
    Attr {
        mutability: Mutability::Immutable,
        ..attr(
            "$ref",
            Type::Reference(&["User", "Group"]),
            "The URI of the resource.",
        )
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..s("display", "A human-readable name.")
    },
    Attr {
        mutability: Mutability::Immutable,
        ..s("type", "'User' or 'Group'.")
    },
];

const ID: Attr = Attr {
    case_exact: true,
    mutability: Mutability::ReadOnly,
    returned: Returned::Always,
    unique: true,
    ..s("id", "The server's identifier for the resource.")
};

const EXTERNAL_ID: Attr = Attr {
    case_exact: true,
    ..s(
        "externalId",
        "The provisioning client's identifier (Keyroll's account id).",
    )
};

const META: Attr = Attr {
    mutability: Mutability::ReadOnly,
    ..complex(
        "meta",
        &[
            Attr {
                case_exact: true,
                mutability: Mutability::ReadOnly,
                ..s("resourceType", "'User' or 'Group'.")
            },
            Attr {
                mutability: Mutability::ReadOnly,
                ..attr("created", Type::DateTime, "When the resource was made.")
            },
            Attr {
                mutability: Mutability::ReadOnly,
                ..attr("lastModified", Type::DateTime, "When it last changed.")
            },
            Attr {
                mutability: Mutability::ReadOnly,
                ..attr("location", Type::Reference(&["uri"]), "Its URI.")
            },
            Attr {
                case_exact: true,
                mutability: Mutability::ReadOnly,
                ..s("version", "Its ETag.")
            },
        ],
        "Resource metadata.",
    )
};

const USER_ATTRS: &[Attr] = &[
    ID,
    EXTERNAL_ID,
    META,
    Attr {
        required: true,
        unique: true,
        ..s(
            "userName",
            "The sign-in name; unique without regard to case.",
        )
    },
    complex(
        "name",
        &[
            s("formatted", "The full name."),
            s("familyName", "The family name."),
            s("givenName", "The given name."),
            s("middleName", "Middle names."),
            s("honorificPrefix", "Such as 'Ms.'"),
            s("honorificSuffix", "Such as 'III'"),
        ],
        "The person's name.",
    ),
    s("displayName", "The name to show."),
    s("nickName", "The casual name (a preferred name)."),
    s("title", "A job title."),
    s("userType", "Such as 'Student' or 'Staff'."),
    s("preferredLanguage", "As in Accept-Language."),
    s("locale", "Such as 'en-AU'."),
    s("timezone", "Such as 'Australia/Melbourne'."),
    attr("active", Type::Boolean, "Whether the account may sign in."),
    Attr {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        case_exact: true,
        ..s("password", "An initial password; kept only as a hash.")
    },
    multi("emails", VALUE_TYPE_PRIMARY, "Email addresses."),
    multi("phoneNumbers", VALUE_TYPE_PRIMARY, "Phone numbers."),
    multi(
        "addresses",
        &[
            s("formatted", "The full address."),
            s("streetAddress", "Street."),
            s("locality", "City or suburb."),
            s("region", "State or region."),
            s("postalCode", "Postcode."),
            s("country", "ISO 3166-1 country code."),
            s("type", "'work', 'home' or 'other'."),
            attr("primary", Type::Boolean, "The primary address."),
        ],
        "Postal addresses.",
    ),
    Attr {
        mutability: Mutability::ReadOnly,
        ..multi("groups", REFERENCE_SUB, "The groups the user belongs to.")
    },
    multi("roles", VALUE_TYPE_PRIMARY, "Roles."),
];

const GROUP_ATTRS: &[Attr] = &[
    ID,
    EXTERNAL_ID,
    META,
    Attr {
        required: true,
        ..s("displayName", "The group's name.")
    },
    multi("members", REFERENCE_SUB, "The group's members."),
];

const ENTERPRISE_ATTRS: &[Attr] = &[
    s("employeeNumber", "The staff number."),
    s("costCenter", "Cost centre."),
    s("organization", "Organisation."),
    s("division", "Division."),
    s("department", "Department."),
    complex(
        "manager",
        &[
            s("value", "The manager's id."),
            attr("$ref", Type::Reference(&["User"]), "The manager's URI."),
            Attr {
                mutability: Mutability::ReadOnly,
                ..s("displayName", "The manager's name.")
            },
        ],
        "The user's manager.",
    ),
];

/// Credentials Keyroll hands a user to its own server: hashes only, never
/// read back. Not advertised in `/ResourceTypes` (no other provisioning
/// client has anything to put there, and generic checkers would fill it
/// with noise), described in `/Schemas`, accepted on Users.
const CREDENTIAL_ATTRS: &[Attr] = &[
    secret(
        "passwordHash",
        Type::String,
        "An initial password's argon2id hash (PHC string): the password itself never travels.",
    ),
    secret(
        "activationCodeHash",
        Type::String,
        "An activation code's BLAKE2b-512 digest in hex (of its letters and digits, upper case).",
    ),
    secret(
        "activationExpires",
        Type::DateTime,
        "When the activation code stops working.",
    ),
    secret(
        "mustChangePassword",
        Type::Boolean,
        "The password was handed out: the first sign-in must change it.",
    ),
    secret(
        "unlock",
        Type::Boolean,
        "Sent as true, unlocks a locked account (the office's decision).",
    ),
];

const SCHOOL_ATTRS: &[Attr] = &[
    s("role", "student, staff, parent or relative."),
    Attr {
        case_exact: true,
        ..s("sisId", "The person's id in the school's SIS.")
    },
    s(
        "sisSource",
        "The SIS export it came from (OneRoster, CASES21, ...).",
    ),
    s("school", "The school's name or code."),
    s("year", "Year level (students)."),
    s("homeGroup", "Home group or form class."),
    Attr {
        multi: true,
        ..s("classes", "The classes the person is in or teaches.")
    },
    s(
        "family",
        "The family's key, shared by its students and adults.",
    ),
    multi(
        "familyLinks",
        &[
            Attr {
                case_exact: true,
                ..s("value", "The linked person's id.")
            },
            s("type", "'child' or 'parent'."),
            s("display", "The linked person's name."),
        ],
        "The people this person is linked to in their family.",
    ),
    attr(
        "accessRestricted",
        Type::Boolean,
        "An access restriction (AR): this adult may not be given the child's details.",
    ),
    attr(
        "noReports",
        Type::Boolean,
        "No reports (NR): this adult does not receive the child's reports.",
    ),
    Attr {
        mutability: Mutability::ReadOnly,
        ..attr(
            "lastSignIn",
            Type::DateTime,
            "When the account last signed in.",
        )
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..attr(
            "locked",
            Type::Boolean,
            "Locked after too many failed sign-ins (the server's own).",
        )
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..attr(
            "invitationAccepted",
            Type::DateTime,
            "When the account was activated.",
        )
    },
];

/// The attributes of a schema by its URN.
pub fn attributes_of(urn: &str) -> Option<&'static [Attr]> {
    match urn {
        u if u.eq_ignore_ascii_case(USER) => Some(USER_ATTRS),
        u if u.eq_ignore_ascii_case(GROUP) => Some(GROUP_ATTRS),
        u if u.eq_ignore_ascii_case(ENTERPRISE) => Some(ENTERPRISE_ATTRS),
        u if u.eq_ignore_ascii_case(SCHOOL) => Some(SCHOOL_ATTRS),
        u if u.eq_ignore_ascii_case(CREDENTIALS) => Some(CREDENTIAL_ATTRS),
        _ => None,
    }
}

/// The attribute `name` among `attrs`, without regard to case (RFC 7643
/// §2.1: attribute names are case-insensitive).
pub fn find(attrs: &'static [Attr], name: &str) -> Option<&'static Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The definition of `schema:name.sub` for a resource of `kind` (`schema`
/// None: the core schema); None for an attribute no schema defines.
pub fn lookup(
    kind: Kind,
    schema: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Option<&'static Attr> {
    let attrs = match schema {
        None => kind.attributes(),
        Some(urn) => attributes_of(urn)?,
    };
    let a = find(attrs, name)?;
    match sub {
        None => Some(a),
        Some(sub) => find(a.sub, sub),
    }
}

fn attr_json(a: &Attr) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": match a.kind {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Decimal => "decimal",
            Type::Integer => "integer",
            Type::DateTime => "dateTime",
            Type::Reference(_) => "reference",
            Type::Complex => "complex",
        },
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if let Type::Reference(types) = a.kind {
        v["referenceTypes"] = json!(types);
    }
    if !a.sub.is_empty() {
        v["subAttributes"] = a.sub.iter().map(attr_json).collect();
    }
    v
}

/// The `/Schemas` documents, each with its `meta` at `base`.
pub fn documents(base: &str) -> Vec<Value> {
    [
        (USER, "User", "User Account", USER_ATTRS),
        (GROUP, "Group", "Group", GROUP_ATTRS),
        (
            ENTERPRISE,
            "EnterpriseUser",
            "Enterprise User",
            ENTERPRISE_ATTRS,
        ),
        (
            SCHOOL,
            "SchoolUser",
            "A person at a school, as the SIS knows them",
            SCHOOL_ATTRS,
        ),
        (
            CREDENTIALS,
            "KeyrollCredentials",
            "Credentials Keyroll issued, as hashes, for its own server",
            CREDENTIAL_ATTRS,
        ),
    ]
    .into_iter()
    .map(|(id, name, description, attrs)| {
        json!({
            "schemas": [SCHEMA],
            "id": id,
            "name": name,
            "description": description,
            // The core schemas' id, meta and externalId are common
            // attributes (RFC 7643 §3.1), not listed in the schema itself.
            "attributes": attrs
                .iter()
                .filter(|a| !matches!(a.name, "id" | "meta" | "externalId"))
                .map(attr_json)
                .collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
        })
    })
    .collect()
}

/// The `/ResourceTypes` documents.
pub fn resource_types(base: &str) -> Vec<Value> {
    [Kind::User, Kind::Group]
        .into_iter()
        .map(|k| {
            let mut v = json!({
                "schemas": [RESOURCE_TYPE],
                "id": k.name(),
                "name": k.name(),
                "endpoint": format!("/{}", k.endpoint()),
                "description": match k { Kind::User => "User Account", Kind::Group => "Group" },
                "schema": k.schema(),
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", k.name())},
            });
            if !k.extensions().is_empty() {
                v["schemaExtensions"] = k
                    .extensions()
                    .iter()
                    .filter(|e| **e != CREDENTIALS)
                    .map(|e| json!({"schema": e, "required": false}))
                    .collect();
            }
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (kind, extension, name, sub-attribute, its caseExact if found)
    type Lookup<'a> = (
        Kind,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Option<bool>,
    );

    #[test]
    fn lookups_ignore_case_and_know_sub_attributes() {
        let cases: &[Lookup] = &[
            (Kind::User, None, "username", None, Some(false)),
            (Kind::User, None, "externalId", None, Some(true)),
            (Kind::User, None, "emails", Some("VALUE"), Some(false)),
            (Kind::User, Some(SCHOOL), "sisId", None, Some(true)),
            (
                Kind::User,
                Some(ENTERPRISE),
                "manager",
                Some("value"),
                Some(false),
            ),
            (Kind::Group, None, "members", Some("value"), Some(true)),
            (Kind::User, None, "members", None, None),
            (Kind::User, Some("urn:nope"), "x", None, None),
        ];
        for (kind, schema, name, sub, case_exact) in cases {
            let got = lookup(*kind, *schema, name, *sub).map(|a| a.case_exact);
            assert_eq!(got, *case_exact, "{kind:?} {schema:?} {name} {sub:?}");
        }
    }

    #[test]
    fn schema_documents_leave_out_the_common_attributes() {
        let docs = documents("https://x/scim/v2");
        assert_eq!(docs.len(), 5);
        let user = &docs[0];
        let names: Vec<&str> = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"userName") && !names.contains(&"id"),
            "{names:?}"
        );
        assert_eq!(user["attributes"][0]["uniqueness"], "server");
    }
}
