-- IMAP view (PostgreSQL): mailboxes and their UIDs. Keep in step with
-- ../sqlite/00003_imap.sql.

-- +goose Up
-- imap_mailboxes holds the shared virtual folders of a company (staff_id 0,
-- filter set) and the private folders of each staff member (filter '').
-- The id is the UIDVALIDITY: ids only grow and are never reused.
CREATE TABLE imap_mailboxes (
    id            BIGSERIAL PRIMARY KEY,
    company_id    BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    staff_id      BIGINT  NOT NULL DEFAULT 0,
    name          TEXT    NOT NULL,
    filter        TEXT    NOT NULL DEFAULT '',
    uid_next      BIGINT  NOT NULL DEFAULT 1,
    synced_modseq BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX imap_mailboxes_name ON imap_mailboxes (company_id, staff_id, name);
CREATE INDEX imap_mailboxes_filter ON imap_mailboxes (company_id, filter);

-- imap_uids is one UID of a mailbox. In a virtual folder it names a shared
-- message; gone marks a message that stopped matching (sessions that have
-- the folder open keep it until EXPUNGE). In a private folder it is a
-- private message (raw_key plus the prefix headers of the staff view,
-- own flags); gone marks it expunged. The team fields are a snapshot
-- taken when the UID was given, so the message under a UID never changes.
CREATE TABLE imap_uids (
    mailbox_id    BIGINT  NOT NULL REFERENCES imap_mailboxes(id) ON DELETE CASCADE,
    uid           BIGINT  NOT NULL,
    message_id    BIGINT  REFERENCES messages(id),
    gone          BOOLEAN NOT NULL DEFAULT FALSE,
    modseq        BIGINT  NOT NULL,
    raw_key       TEXT    NOT NULL DEFAULT '',
    prefix        TEXT    NOT NULL DEFAULT '',
    size          BIGINT  NOT NULL DEFAULT 0,
    flags         TEXT    NOT NULL DEFAULT '',
    internal_date BIGINT  NOT NULL DEFAULT 0,
    team_name     TEXT    NOT NULL DEFAULT '',
    group_name    TEXT    NOT NULL DEFAULT '',
    manager_name  TEXT    NOT NULL DEFAULT '',
    team_status   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX imap_uids_message ON imap_uids (mailbox_id, message_id);
CREATE INDEX imap_uids_modseq ON imap_uids (mailbox_id, modseq);

-- imap_envelopes caches the parsed ENVELOPE and BODYSTRUCTURE of a
-- stored message (JSON), so FETCH of many messages reads no blobs.
CREATE TABLE imap_envelopes (
    message_id    BIGINT NOT NULL PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    envelope      TEXT   NOT NULL DEFAULT '',
    bodystructure TEXT   NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE imap_envelopes;
DROP TABLE imap_uids;
DROP TABLE imap_mailboxes;
