//! The vault's schema (version 1): record kinds, their fields, and the rules
//! that turn what a user types into field values.
//!
//! The schema is data, not a struct per kind: one table per kind lists its
//! fields with a type. That table validates input, drives `edit --set`, names
//! CSV columns and feeds search, so adding a field is a one-line change.
//! Records are read through [`Record`], a lenient view over the stored map: a
//! field of an unexpected type (written by a newer version, say) reads as
//! absent instead of failing the whole record, and is never rewritten.
//! docs/data-model.md describes every field and why it has the CRDT shape it has.

mod money;
mod record;
mod schema;

pub use money::{
    exponent, parse_amount, parse_currency, parse_rate_setting, profile_rates, rate_key, Money,
    Rate, RATE_PREFIX,
};
pub use record::{comp_amount, short, Record, ShortIds, Value, SHORT_ID_MIN};
pub use schema::{
    enum_values, field, fields, is_closed_stage, parse_enum, parse_input, FieldSpec, FieldType,
    Kind, ModelError, CLOSED_BY, COMP_AMOUNTS, CONTACT_KINDS, CURRENCIES, DECISIONS,
    FOLLOWUP_KINDS, INTERVIEW_FORMATS, INTERVIEW_KINDS, INTERVIEW_STATUSES, PERIODS, PRIORITIES,
    PROFILE, PURPOSES, SENSITIVITIES, SOURCES, STAGES, TOLD_RECRUITER, WEEKDAYS,
};

/// The schema version this build writes. Documents from a newer version are
/// read as far as this build understands them; unknown fields and enum values
/// are kept untouched.
pub const SCHEMA_VERSION: i64 = 1;
