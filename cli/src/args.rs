//! The command tree. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A private, offline-first journal of your interviews, contacts, offers and follow-ups.
///
/// Start with `interlog init`, then log an interview in one line:
/// `interlog log Acme --role "Staff Engineer" --kind technical --rating 4`.
#[derive(Parser, Debug)]
#[command(name = "interlog", version, propagate_version = true)]
pub struct Cli {
    /// Where this device keeps its vault [default: the platform's data directory]
    #[arg(long, global = true, env = "INTERLOG_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Print machine-readable JSON instead of tables
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a vault on this device
    Init(InitArgs),
    /// Log an interview in one line; creates the company, opportunity and contacts as needed
    Log(LogArgs),
    /// Write the retro of an interview in $EDITOR
    Retro {
        /// The interview's id (a unique prefix is enough)
        id: String,
    },
    /// Show any record by id, or a company, contact or question by name
    Show { id: String },
    /// List records of a kind: companies, contacts, opps, interviews, offers, followups, questions
    List(ListArgs),
    /// Edit any record by id with --set FIELD=VALUE and --unset FIELD
    Edit(EditArgs),
    /// Delete any record by id (soft: `restore` brings it back)
    Delete { id: String },
    /// Bring back a deleted record
    Restore { id: String },
    /// Companies: the places you talk to, and how discreet to be about each
    #[command(subcommand)]
    Company(CompanyCmd),
    /// Contacts: recruiters, interviewers, referrers and their job history
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Opportunities: a role at a company, with its stages and how it ended
    #[command(subcommand, name = "opp", alias = "opportunity")]
    Opp(OppCmd),
    /// Interviews: add or edit rounds (`log` is the quick way)
    #[command(subcommand)]
    Interview(InterviewCmd),
    /// Offers: compensation, negotiation rounds and the decision
    #[command(subcommand)]
    Offer(OfferCmd),
    /// Follow-ups: reminders that replace memory
    #[command(subcommand, name = "followup", alias = "follow-up")]
    Followup(FollowupCmd),
    /// The question bank: what gets asked, and your prepared answers
    #[command(subcommand)]
    Question(QuestionCmd),
    /// Your current role, compensation, monthly goal and working hours
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// List the fields of a record kind, for `edit --set`
    Fields {
        /// company, contact, opp, interview, offer, followup, question or profile
        kind: String,
    },
    /// Search every record for text
    Search { text: String },
    /// Follow-ups due and contacts to get back in touch with
    Today,
    /// Interviews per month against your goal, ratings, funnel, questions and offers
    Stats {
        /// How many months to show
        #[arg(long, default_value_t = 12)]
        months: usize,
    },
    /// Write a period of the journal as one HTML page with charts (it loads
    /// nothing from the network, prints well and reads on a phone)
    Report(ReportArgs),
    /// Export the journal
    Export(ExportArgs),
    /// Import a JSON export (or merge an Automerge export of this vault)
    Import(ImportArgs),
    /// Sync with the relay: push, pull and report (`--watch` stays connected)
    Sync(SyncArgs),
    /// Print a join code (and QR code) that makes another device a member of this vault
    Pair,
    /// Make this device a member of a vault, from a code `interlog pair` printed
    Join {
        /// The code (starts with interlog1:)
        code: String,
        /// This device's name, shown by `interlog devices` and `interlog
        /// conflicts` [default: the host name]
        #[arg(long)]
        name: Option<String>,
    },
    /// Restore the whole journal on this device from the recovery words
    /// (`interlog key`) and the relay's address
    Recover {
        /// The relay's URL, e.g. wss://relay.example.org
        #[arg(long, value_name = "URL")]
        relay: String,
        /// Trust the relay by its key (`sha256:…`) instead of a certificate
        /// authority
        #[arg(long, value_name = "PIN")]
        pin: Option<String>,
    },
    /// Show the vault key as 24 recovery words: with them and the relay's
    /// address, `interlog recover` restores the journal on a new device
    Key,
    /// The vault's devices as the relay knows them, with their names
    Devices {
        #[command(subcommand)]
        action: Option<DevicesCmd>,
    },
    /// Run a relay, or mint an invite code for one
    Relay(RelayCommand),
    /// Fields two devices changed at the same time, and picking a value
    Conflicts {
        #[command(subcommand)]
        action: Option<ConflictCmd>,
    },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Start from an `export --format automerge` of an existing vault, as a new device of it
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// This device's name, shown by `interlog devices` and `interlog
    /// conflicts` [default: the host name]
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// The company (matched by name or alias, ignoring case; created if new)
    pub company: String,
    /// The role (matches an open opportunity at the company, or creates one)
    #[arg(long)]
    pub role: Option<String>,
    /// recruiter_screen, hiring_manager, technical, system_design, behavioral, panel, take_home, informational, offer_call, other
    #[arg(long)]
    pub kind: Option<String>,
    /// When it started: now, 14:00, yesterday 16:00, 2026-11-20 14:00, RFC 3339 [default: now]
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    /// How it went, 1-5
    #[arg(long)]
    pub rating: Option<String>,
    /// Who you met (a contact's name or id; new names become contacts). Repeatable
    #[arg(long = "with", value_name = "CONTACT")]
    pub with: Vec<String>,
    /// A first note
    #[arg(long)]
    pub note: Option<String>,
    /// Length in minutes
    #[arg(long, value_name = "MIN")]
    pub duration: Option<String>,
    /// Attach to this opportunity (id) instead of matching by role
    #[arg(long, value_name = "ID")]
    pub opp: Option<String>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// companies, contacts, opps, interviews, offers, followups or questions
    pub kind: String,
    /// Include deleted records
    #[arg(long)]
    pub deleted: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The record's id (a unique prefix is enough)
    pub id: String,
    /// Set a field: FIELD=VALUE (see `interlog fields KIND`). Repeatable
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Remove a field. Repeatable
    #[arg(long = "unset", value_name = "FIELD")]
    pub unset: Vec<String>,
}

/// The commands every record kind has.
#[derive(Subcommand, Debug)]
pub enum Common {
    /// Show one record, by id (or by name, for those that have one)
    Show { id: String },
    /// List records
    List {
        /// Include deleted records
        #[arg(long)]
        deleted: bool,
    },
    /// Edit fields with --set FIELD=VALUE and --unset FIELD
    Edit(EditArgs),
    /// Delete (soft: `restore` brings it back)
    Delete { id: String },
    /// Bring back a deleted record
    Restore { id: String },
}

/// Fields any `add` accepts beyond its own flags.
#[derive(Args, Debug, Default)]
pub struct Extra {
    /// Notes
    #[arg(long)]
    pub notes: Option<String>,
    /// Set any other field: FIELD=VALUE (see `interlog fields KIND`). Repeatable
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum CompanyCmd {
    /// Add a company
    Add(AddCompany),
    #[command(flatten)]
    Common(Common),
}

#[derive(Args, Debug)]
pub struct AddCompany {
    pub name: String,
    #[arg(long)]
    pub industry: Option<String>,
    /// dream, interested, neutral or avoid
    #[arg(long)]
    pub priority: Option<String>,
    /// none, caution or high: how discreet to be (e.g. a client of your employer)
    #[arg(long)]
    pub sensitivity: Option<String>,
    /// Why it is sensitive
    #[arg(long)]
    pub reason: Option<String>,
    /// Another name it goes by. Repeatable
    #[arg(long = "alias")]
    pub aliases: Vec<String>,
    #[command(flatten)]
    pub extra: Extra,
}

#[derive(Subcommand, Debug)]
pub enum ContactCmd {
    /// Add a contact
    Add(AddContact),
    /// Record that a contact moved to another company
    Moved {
        contact: String,
        /// The new company (name or id; created if new)
        company: String,
        #[arg(long)]
        title: Option<String>,
        /// When they moved [default: today]
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
    },
    /// Record that you were in touch with a contact
    Touched {
        contact: String,
        /// When [default: today]
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
    },
    #[command(flatten)]
    Common(Common),
}

#[derive(Args, Debug)]
pub struct AddContact {
    pub name: String,
    /// recruiter, hiring_manager, interviewer, referrer, peer or other
    #[arg(long)]
    pub kind: Option<String>,
    /// Where they work now (a company name or id)
    #[arg(long)]
    pub company: Option<String>,
    /// Their title there
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub link: Option<String>,
    /// How you met
    #[arg(long)]
    pub met: Option<String>,
    /// Get back in touch at least every N days
    #[arg(long, value_name = "DAYS")]
    pub keep_in_touch: Option<String>,
    #[command(flatten)]
    pub extra: Extra,
}

/// A compensation package, in major units (120000, 120k, 95,000.50).
#[derive(Args, Debug, Default, Clone)]
pub struct CompArgs {
    /// ISO currency code [default: your profile's currency]
    #[arg(long)]
    pub currency: Option<String>,
    /// Base pay
    #[arg(long)]
    pub base: Option<String>,
    /// year, month or hour [default: year]
    #[arg(long)]
    pub period: Option<String>,
    /// Yearly bonus
    #[arg(long)]
    pub bonus: Option<String>,
    /// One-off signing bonus
    #[arg(long)]
    pub signing: Option<String>,
    /// Equity per year
    #[arg(long)]
    pub equity: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum OppCmd {
    /// Add an opportunity
    Add(AddOpp),
    /// Move an opportunity to a stage: lead, applied, screen, interviewing, final, offer, accepted, rejected, withdrawn, declined, ghosted
    Stage {
        id: String,
        stage: String,
        /// When [default: now]
        #[arg(long, value_name = "WHEN")]
        at: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Withdraw from an opportunity, with integrity
    Withdraw {
        id: String,
        /// Why (kept for you; say something kind to them)
        #[arg(long)]
        reason: String,
        /// You would talk to them again
        #[arg(long)]
        door_open: bool,
    },
    /// Record that they closed it (a rejection)
    Rejected {
        id: String,
        #[arg(long)]
        reason: Option<String>,
        /// They said they would talk to you again
        #[arg(long)]
        door_open: bool,
    },
    /// Record the compensation as posted (--posted) or what you asked for
    Comp {
        id: String,
        /// This is the posted range, not your ask
        #[arg(long)]
        posted: bool,
        #[command(flatten)]
        comp: CompArgs,
    },
    #[command(flatten)]
    Common(Common),
}

#[derive(Args, Debug)]
pub struct AddOpp {
    /// The company (name or id; created if new)
    pub company: String,
    #[arg(long)]
    pub role: Option<String>,
    /// The company's label for the level
    #[arg(long)]
    pub level: Option<String>,
    /// Relative to your current level: -1, 0, +1, +2
    #[arg(long, allow_hyphen_values = true)]
    pub level_delta: Option<String>,
    /// inbound_recruiter, agency, referral, applied or network
    #[arg(long)]
    pub source: Option<String>,
    /// practice, network, market_value, explore, serious (comma-separated)
    #[arg(long)]
    pub purpose: Option<String>,
    /// Your interest, 1-5
    #[arg(long)]
    pub interest: Option<String>,
    /// What you told the recruiter: exploring, open, actively_looking
    #[arg(long)]
    pub told: Option<String>,
    /// The first stage [default: lead]
    #[arg(long)]
    pub stage: Option<String>,
    #[command(flatten)]
    pub extra: Extra,
}

#[derive(Subcommand, Debug)]
pub enum InterviewCmd {
    /// Add an interview (same as `interlog log`)
    Add(LogArgs),
    #[command(flatten)]
    Common(Common),
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum OfferCmd {
    /// Add an offer for an opportunity
    Add(AddOffer),
    /// Update the package offered (after negotiating, say); amounts not given are kept
    Comp {
        id: String,
        #[command(flatten)]
        comp: CompArgs,
    },
    /// Record a negotiation round: what you asked and what they offered
    /// (base pay); what they offered becomes the package's base
    Round {
        id: String,
        #[arg(long)]
        asked: Option<String>,
        #[arg(long)]
        offered: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Decide: pending, negotiating, accepted or declined
    Decide { id: String, decision: String },
    #[command(flatten)]
    Common(Common),
}

#[derive(Args, Debug)]
pub struct AddOffer {
    /// The opportunity's id
    pub opp: String,
    /// When it arrived [default: today]
    #[arg(long, value_name = "DATE")]
    pub received: Option<String>,
    /// When it expires
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    #[arg(long)]
    pub level: Option<String>,
    /// Relative to your current level: -1, 0, +1, +2
    #[arg(long, allow_hyphen_values = true)]
    pub level_delta: Option<String>,
    #[command(flatten)]
    pub comp: CompArgs,
    #[command(flatten)]
    pub extra: Extra,
}

#[derive(Subcommand, Debug)]
pub enum FollowupCmd {
    /// Add a follow-up
    Add(AddFollowup),
    /// Mark a follow-up done
    Done { id: String },
    /// Hide a follow-up until a date
    Snooze {
        id: String,
        #[arg(long, value_name = "DATE", default_value = "+7")]
        until: String,
    },
    #[command(flatten)]
    Common(Common),
}

#[derive(Args, Debug)]
pub struct AddFollowup {
    /// What to do
    pub note: String,
    /// When: a date, today, tomorrow or +N days [default: +7]
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// thank_you, follow_up, reconnect, keep_in_touch, decision_deadline or custom
    #[arg(long)]
    pub kind: Option<String>,
    /// Who or what it is about: a contact, opportunity or company (name or id)
    #[arg(long = "for", value_name = "TARGET")]
    pub target: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum QuestionCmd {
    /// Add a question to the bank
    Add(AddQuestion),
    #[command(flatten)]
    Common(Common),
}

#[derive(Args, Debug)]
pub struct AddQuestion {
    pub wording: String,
    #[arg(long)]
    pub category: Option<String>,
    /// Your prepared answer
    #[arg(long)]
    pub answer: Option<String>,
    /// Repeatable
    #[arg(long = "tag")]
    pub tags: Vec<String>,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum ProfileCmd {
    /// Show your profile
    Show,
    /// Set profile fields
    Set {
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        level: Option<String>,
        /// Interviews per month you aim for
        #[arg(long)]
        goal: Option<String>,
        /// Working hours, e.g. 09:00-18:00 (interviews inside them draw a warning)
        #[arg(long, value_name = "HH:MM-HH:MM")]
        work_hours: Option<String>,
        /// Working days, e.g. mon,tue,wed,thu,fri
        #[arg(long)]
        work_days: Option<String>,
        /// An exchange rate for comparing offers in another currency: how
        /// much of your currency one CUR is worth, e.g. USD=0.92 (USD=none
        /// removes it). Repeatable
        #[arg(long = "rate", value_name = "CUR=RATE")]
        rates: Vec<String>,
        #[command(flatten)]
        comp: CompArgs,
    },
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The file to write, or - for standard output [default:
    /// interview-report-DATE.html in the current directory]
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where the period starts: a date (2025-06-01), a month (2025-06) or a
    /// span back from today (6m, 2y, 90d) [default: the last 12 months]
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Replace names, contact details and prose with stable pseudonyms
    /// ("Company 7"), to show the page to a coach or a friend
    #[arg(long)]
    pub redact: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
    Ics,
    Automerge,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// For csv: which records [default: interviews]
    #[arg(long)]
    pub kind: Option<String>,
    /// For ics: use real titles ("Interview: Acme") instead of neutral ones;
    /// companies flagged sensitive keep neutral titles
    #[arg(long)]
    pub real_titles: bool,
    /// Something to show a coach or a friend: names become pseudonyms
    /// ("Company 7"), contact details and prose become "[redacted]";
    /// numbers, dates, ratings and stages are kept (json, csv, ics)
    #[arg(long)]
    pub redact: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ImportFormat {
    Json,
    Automerge,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// The file to read, or - for standard input
    pub file: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum DevicesCmd {
    /// List the devices (the default; asks the relay)
    List,
    /// Rename this device (offline; the others learn it at their next sync)
    Rename { name: String },
}

#[derive(Subcommand, Debug)]
pub enum ConflictCmd {
    /// List conflicts (the default)
    List,
    /// Keep one value of a conflict: `interlog conflicts pick 3f2a 2`
    Pick {
        /// The conflict's id in `interlog conflicts` (it stays the same
        /// while the conflict lasts)
        code: String,
        /// Which value to keep (its number)
        choice: usize,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SyncArgs {
    /// The relay's URL, e.g. ws://relay.home:7878 (remembered after the first sync)
    #[arg(long, value_name = "URL")]
    pub relay: Option<String>,
    /// A registration code from the relay's operator (`interlog relay invite`)
    #[arg(long, value_name = "CODE")]
    pub invite: Option<String>,
    /// Trust the relay by its key instead of a certificate authority: the
    /// `sha256:…` pin a relay with `--tls self-signed` prints at start-up
    /// (remembered; `none` goes back to the CA roots)
    #[arg(long, value_name = "PIN")]
    pub pin: Option<String>,
    /// Stay connected: apply changes from other devices as they arrive and
    /// push local ones, reconnecting with backoff
    #[arg(long)]
    pub watch: bool,
    #[command(subcommand)]
    pub action: Option<SyncCmd>,
}

#[derive(Subcommand, Debug)]
pub enum SyncCmd {
    /// The relay, cursors, pending local changes and the last error (no network needed)
    Status,
    /// Move the vault to another relay: registers it there with everything
    /// this device has, and records the new address in the journal, so the
    /// other devices and the phone follow at their next sync
    Move {
        /// The new relay's URL
        url: String,
        /// Trust the new relay by its key (`sha256:…`) instead of a
        /// certificate authority
        #[arg(long, value_name = "PIN")]
        pin: Option<String>,
        /// A registration code from the new relay's operator
        #[arg(long, value_name = "CODE")]
        invite: Option<String>,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RelayCommand {
    #[command(flatten)]
    pub args: interlog_relay::RelayArgs,
    #[command(subcommand)]
    pub action: Option<RelayCmd>,
}

#[derive(Subcommand, Debug)]
pub enum RelayCmd {
    /// Mint a one-time invite code for registering a vault (works while the relay runs)
    Invite {
        /// The relay's data directory
        #[arg(
            long,
            env = "INTERLOG_RELAY_DATA",
            value_name = "DIR",
            required_unless_present = "store"
        )]
        data: Option<std::path::PathBuf>,
        /// The relays' Postgres store (postgres://…): the code is kept there,
        /// for every relay on it
        #[arg(
            long,
            env = "INTERLOG_RELAY_STORE",
            value_name = "URL",
            hide_env_values = true
        )]
        store: Option<String>,
    },
    /// Back up the relay's store to a file, owner-only (works while the relay
    /// runs: it takes the backup itself, holding writes back meanwhile)
    Backup {
        /// The relay's data directory
        #[arg(long, env = "INTERLOG_RELAY_DATA", value_name = "DIR")]
        data: std::path::PathBuf,
        /// The backup file to write (replaced only once the new backup is complete)
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Restore a backup into a relay's data directory (with the relay stopped)
    Restore {
        /// The relay's data directory; its store must be absent or empty
        #[arg(long, env = "INTERLOG_RELAY_DATA", value_name = "DIR")]
        data: std::path::PathBuf,
        /// The backup file, from `interlog relay backup`
        #[arg(long, value_name = "FILE")]
        from: std::path::PathBuf,
        /// Restore over a store that holds vaults: it is kept aside, renamed
        /// to store.replaced-TIME in the data directory, never deleted
        #[arg(long)]
        replace: bool,
    },
}

impl From<CompArgs> for interlog_core::journal::CompInput {
    fn from(a: CompArgs) -> Self {
        Self {
            base: a.base,
            bonus: a.bonus,
            signing: a.signing,
            equity: a.equity,
            currency: a.currency,
            period: a.period,
        }
    }
}

impl From<Extra> for interlog_core::journal::Extra {
    fn from(e: Extra) -> Self {
        Self {
            notes: e.notes,
            set: e.set,
        }
    }
}

impl From<AddCompany> for interlog_core::journal::NewCompany {
    fn from(a: AddCompany) -> Self {
        Self {
            name: a.name,
            industry: a.industry,
            priority: a.priority,
            sensitivity: a.sensitivity,
            reason: a.reason,
            aliases: a.aliases,
            extra: a.extra.into(),
        }
    }
}

impl From<AddContact> for interlog_core::journal::NewContact {
    fn from(a: AddContact) -> Self {
        Self {
            name: a.name,
            kind: a.kind,
            company: a.company,
            title: a.title,
            email: a.email,
            phone: a.phone,
            link: a.link,
            met: a.met,
            keep_in_touch_days: a.keep_in_touch,
            extra: a.extra.into(),
        }
    }
}

impl From<AddOpp> for interlog_core::journal::NewOpportunity {
    fn from(a: AddOpp) -> Self {
        Self {
            company: a.company,
            role: a.role,
            level: a.level,
            level_delta: a.level_delta,
            source: a.source,
            purpose: a.purpose,
            interest: a.interest,
            told_recruiter: a.told,
            stage: a.stage,
            extra: a.extra.into(),
        }
    }
}

impl From<AddOffer> for interlog_core::journal::NewOffer {
    fn from(a: AddOffer) -> Self {
        Self {
            opportunity: a.opp,
            received: a.received,
            expires: a.expires,
            level: a.level,
            level_delta: a.level_delta,
            comp: a.comp.into(),
            extra: a.extra.into(),
        }
    }
}

impl From<AddFollowup> for interlog_core::journal::NewFollowUp {
    fn from(a: AddFollowup) -> Self {
        Self {
            note: a.note,
            due: a.due,
            kind: a.kind,
            target: a.target,
        }
    }
}

impl From<AddQuestion> for interlog_core::journal::NewQuestion {
    fn from(a: AddQuestion) -> Self {
        Self {
            wording: a.wording,
            category: a.category,
            answer: a.answer,
            tags: a.tags,
        }
    }
}
