-- v10: a rollback is recorded like an import (its audit entries carry its
-- own id), and an account remembers when its letter was printed and when
-- its owner last signed in: what NEW is made of (accounts::lifecycle).
ALTER TABLE import ADD COLUMN rollback_of INTEGER REFERENCES import(id);
ALTER TABLE account ADD COLUMN letter_printed_at TEXT;
ALTER TABLE account ADD COLUMN last_sign_in_at TEXT;
