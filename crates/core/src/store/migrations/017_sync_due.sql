-- v17: sync's journal of accounts that may have something to send, so a
-- sync reads those, not every account (a quiet sync of 200,000 accounts
-- read all three tables, about 0.9 s). Triggers keep it: whatever can
-- change what an account's server copy should be puts the account here;
-- sync takes it out only once the server holds all of it
-- (sync::local::settled). An account not in sync_due is in step.
--
-- ON CONFLICT DO NOTHING, not INSERT OR IGNORE: a trigger's OR IGNORE gives
-- way to the conflict rule of the statement that fired it (an upsert's is
-- ABORT), and DO NOTHING does not.
CREATE TABLE sync_due (account_id INTEGER PRIMARY KEY);

INSERT INTO sync_due SELECT id FROM account;

-- The account itself: its version moves with every change Keyroll makes.
CREATE TRIGGER sync_due_account_made AFTER INSERT ON account BEGIN
    INSERT INTO sync_due VALUES (new.id) ON CONFLICT DO NOTHING;
    -- A child's new account is a new line in each parent's family too.
    INSERT INTO sync_due
        SELECT a.id FROM relationship r JOIN account a ON a.person_id = r.contact_id
        WHERE r.student_id = new.person_id
        UNION ALL SELECT a.id FROM relationship r JOIN account a ON a.person_id = r.student_id
        WHERE r.contact_id = new.person_id
    ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER sync_due_account AFTER UPDATE OF version, group_id, unlock_requested, person_id
ON account BEGIN
    INSERT INTO sync_due VALUES (new.id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER sync_due_account_gone AFTER DELETE ON account BEGIN
    DELETE FROM sync_due WHERE account_id = old.id;
END;

-- The person: names and the rest, which the digest sums; their family's
-- documents name them too.
CREATE TRIGGER sync_due_person AFTER UPDATE OF digest ON person
WHEN old.digest IS NOT new.digest BEGIN
    INSERT INTO sync_due
        SELECT id FROM account WHERE person_id = new.id
        UNION ALL SELECT a.id FROM relationship r JOIN account a ON a.person_id = r.contact_id
        WHERE r.student_id = new.id
        UNION ALL SELECT a.id FROM relationship r JOIN account a ON a.person_id = r.student_id
        WHERE r.contact_id = new.id
    ON CONFLICT DO NOTHING;
END;

-- A family link made, changed or ended, with no change to either person.
CREATE TRIGGER sync_due_link_made AFTER INSERT ON relationship BEGIN
    INSERT INTO sync_due SELECT id FROM account
    WHERE person_id IN (new.student_id, new.contact_id)
    ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER sync_due_link_changed AFTER UPDATE ON relationship BEGIN
    INSERT INTO sync_due SELECT id FROM account
    WHERE person_id IN (old.student_id, old.contact_id, new.student_id, new.contact_id)
    ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER sync_due_link_gone AFTER DELETE ON relationship BEGIN
    INSERT INTO sync_due SELECT id FROM account
    WHERE person_id IN (old.student_id, old.contact_id)
    ON CONFLICT DO NOTHING;
END;

-- What the server holds, as Keyroll knows it: adopted, re-based by a pull or
-- a decided conflict, or forgotten.
CREATE TRIGGER sync_due_known AFTER INSERT ON sync_account BEGIN
    INSERT INTO sync_due VALUES (new.account_id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER sync_due_rebased AFTER UPDATE OF remote_id, pushed, version, person_digest, group_id
ON sync_account
WHEN old.remote_id IS NOT new.remote_id OR old.pushed IS NOT new.pushed
  OR old.version IS NOT new.version OR old.person_digest IS NOT new.person_digest
  OR old.group_id IS NOT new.group_id BEGIN
    INSERT INTO sync_due VALUES (new.account_id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER sync_due_forgotten AFTER DELETE ON sync_account BEGIN
    INSERT INTO sync_due SELECT id FROM account WHERE id = old.account_id
    ON CONFLICT DO NOTHING;
END;

-- Home and Sync count locked accounts without reading every account.
CREATE INDEX account_locked ON account (id) WHERE locked = 1;
