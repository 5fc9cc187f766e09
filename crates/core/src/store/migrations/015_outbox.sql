-- v15: invitations by email. Every message is a row of the outbox until the
-- school's SMTP server accepted it, failed it or the office cancelled it
-- (invite::outbox). The rendered parts carry the activation code or initial
-- password: they live here, in the encrypted database, only until the
-- server accepted the message, then they are scrubbed (set to NULL).
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES person(id),
    account_key TEXT NOT NULL,               -- the account's audit key
    purpose     TEXT NOT NULL CHECK (purpose IN ('invitation', 'message')),
    template    TEXT NOT NULL,
    to_addr     TEXT NOT NULL,
    to_name     TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL,
    body_text   TEXT,                        -- NULL once scrubbed
    body_html   TEXT,
    secret      INTEGER NOT NULL DEFAULT 0,  -- the parts hold a password or code
    message_id  TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL CHECK (status IN
                  ('queued', 'sending', 'sent', 'retry', 'failed', 'unsure', 'cancelled', 'dismissed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      TEXT NOT NULL,               -- when it may next be tried
    queued_at   TEXT NOT NULL,
    sent_at     TEXT,
    last_error  TEXT,                        -- the server's own answer
    schedule_id INTEGER REFERENCES invite_schedule(id)
);
CREATE INDEX outbox_due ON outbox (status, due_at, id);
CREATE INDEX outbox_person ON outbox (person_id, status);

-- Recurring invitations: who (a filter), which template, how often.
CREATE TABLE invite_schedule (
    id          INTEGER PRIMARY KEY,
    every       TEXT NOT NULL CHECK (every IN ('day', 'week')),
    filter      TEXT NOT NULL DEFAULT '{}',  -- a PeopleQuery as JSON
    template    TEXT NOT NULL DEFAULT '',    -- '' = each kind's own
    resend_after_days INTEGER,               -- also re-invite those who have not accepted
    created_at  TEXT NOT NULL,
    last_run_at TEXT,
    next_run_at TEXT NOT NULL
);

-- The school's own invitation templates (the built-in ones live in the
-- program): a subject and a body in the letters' markup.
CREATE TABLE invitation_template (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    audience    TEXT NOT NULL CHECK (audience IN ('student', 'staff', 'parent', 'any')),
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- When the account's last invitation was accepted by the SMTP server: what
-- "resend to those who have not accepted after N days" counts from.
ALTER TABLE account ADD COLUMN invited_at TEXT;
