-- A message's shared IMAP flags and modseq move to a table of their own.
-- A STORE of 1,000 flags rewrote 1,000 whole messages rows (their text
-- and headers) and gave each a new entry in all five of messages'
-- indexes; here a row is 40 bytes with three indexes. Keep in step with
-- the other dialect's 00007_message_flags.sql.

-- +goose Up
CREATE TABLE message_flags (
    message_id BIGINT  PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    company_id BIGINT  NOT NULL,
    seen       INTEGER NOT NULL DEFAULT 0,
    answered   INTEGER NOT NULL DEFAULT 0,
    flagged    INTEGER NOT NULL DEFAULT 0,
    modseq     BIGINT  NOT NULL
);
INSERT INTO message_flags (message_id, company_id, seen, answered, flagged, modseq)
    SELECT id, company_id, seen, answered, flagged, modseq FROM messages;
CREATE INDEX message_flags_modseq ON message_flags (company_id, modseq);
CREATE INDEX message_flags_unseen ON message_flags (company_id, message_id) WHERE seen = FALSE;
DROP INDEX messages_company_modseq;
DROP INDEX messages_unseen;
ALTER TABLE messages DROP COLUMN seen;
ALTER TABLE messages DROP COLUMN answered;
ALTER TABLE messages DROP COLUMN flagged;
ALTER TABLE messages DROP COLUMN modseq;

-- +goose Down
ALTER TABLE messages ADD COLUMN seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN modseq BIGINT NOT NULL DEFAULT 0;
UPDATE messages SET seen = f.seen, answered = f.answered, flagged = f.flagged, modseq = f.modseq
    FROM message_flags f WHERE f.message_id = messages.id;
CREATE INDEX messages_company_modseq ON messages (company_id, modseq);
CREATE INDEX messages_unseen ON messages (company_id, id) WHERE seen = FALSE;
DROP TABLE message_flags;
