-- Expired sessions are cleared at each sign-in: by this index, not a scan.
CREATE INDEX sessions_expires ON sessions (expires);
