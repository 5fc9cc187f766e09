//! People as the SIS knows them (students, staff, contacts) and the links
//! between students and their contacts. Keyroll never edits SIS fields; an
//! import replaces them, and every change is audited field by field.
//!
//! - [`Kind`], [`Status`]: who someone is to the school, and where they stand;
//! - [`PersonRecord`], [`RawFields`], [`PreparedPerson`]: a row of an SIS file;
//! - [`upsert`], [`insert_new`], [`mark_left`], [`CreatedPeople`]: storing them;
//! - [`LinkAttrs`], [`links_of`], [`set_link`]: student–contact links;
//! - [`PeopleQuery`], [`list`], [`chosen`], [`by_ids`], [`totals`]: finding them;
//! - [`ClassState`], [`store_class`], [`classes`], [`classes_of`]: classes and
//!   who is in them;
//! - [`roster::Roster`]: everyone in memory, for the Accounts screen's table.

mod classes;
mod kinds;
mod links;
mod query;
mod record;
pub mod roster;
mod write;

pub use classes::{
    check_filters, class_key, classes, classes_of, delete_class, restore_class, store_class,
    stored_classes, ClassRole, ClassState, ListedClass, Member, PersonClass, StoredClass,
};
pub use kinds::{Kind, Status};
pub use links::{has_parental_responsibility, link_new_contact, links_of, set_link, LinkAttrs};
pub use query::{
    by_ids, chosen, count, find_one, for_each, list, totals, Chosen, ListedPerson, PeopleQuery,
    Totals, BULK_AFTER,
};
pub use record::{PersonRecord, PreparedPerson, RawFields, FIELDS};
pub use write::{
    insert_new, load, mark_left, person_key, remove_created, upsert, CreatedLinks, CreatedPeople,
    FieldChange, Upsert,
};

#[cfg(test)]
mod tests;
