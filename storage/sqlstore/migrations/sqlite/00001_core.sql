-- Core schema of partnermail (SQLite). Timestamps are unix milliseconds,
-- booleans 0/1. Keep in step with ../postgres/00001_core.sql.

-- +goose Up
CREATE TABLE companies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    from_addr  TEXT    NOT NULL DEFAULT '',
    partners   TEXT    NOT NULL DEFAULT 'partners',
    created_at BIGINT  NOT NULL
);

-- modseq holds one counter per company: every insert or change of a
-- message takes the next value (the IMAP view's CONDSTORE/IDLE relies on it).
CREATE TABLE modseq (
    company_id BIGINT NOT NULL PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
    value      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE company_domains (
    domain     TEXT    NOT NULL PRIMARY KEY,
    company_id BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL
);
CREATE INDEX company_domains_company ON company_domains (company_id, position);

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id    BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL DEFAULT '',
    admin         INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL
);
CREATE INDEX staff_company ON staff (company_id, email);

CREATE TABLE partner_groups (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    messages_enabled INTEGER NOT NULL DEFAULT 1,
    disabled_message TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    UNIQUE (company_id, name)
);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    slug       TEXT   NOT NULL,
    group_id   BIGINT NOT NULL REFERENCES partner_groups(id),
    manager_id BIGINT REFERENCES staff(id) ON DELETE SET NULL,
    status     TEXT   NOT NULL DEFAULT 'pending',
    created_at BIGINT NOT NULL,
    UNIQUE (company_id, name),
    UNIQUE (company_id, slug)
);
CREATE INDEX teams_group ON teams (group_id);
CREATE INDEX teams_manager ON teams (manager_id);

CREATE TABLE members (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id          BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    team_id             BIGINT  NOT NULL REFERENCES teams(id),
    email               TEXT    NOT NULL,
    name                TEXT    NOT NULL DEFAULT '',
    email_notifications INTEGER NOT NULL DEFAULT 1,
    bounce_state        TEXT    NOT NULL DEFAULT '',
    bounce_detail       TEXT    NOT NULL DEFAULT '',
    created_at          BIGINT  NOT NULL,
    UNIQUE (company_id, email)
);
CREATE INDEX members_team ON members (team_id, id);

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    staff_id   BIGINT REFERENCES staff(id) ON DELETE SET NULL,
    subject    TEXT   NOT NULL DEFAULT '',
    body       TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX campaigns_company ON campaigns (company_id, id);

-- campaign_groups lists the groups (by name) a campaign went to; none: all.
CREATE TABLE campaign_groups (
    campaign_id BIGINT  NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    group_name  TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, position)
);

CREATE TABLE threads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id  BIGINT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    team_id     BIGINT NOT NULL REFERENCES teams(id),
    member_id   BIGINT REFERENCES members(id),
    campaign_id BIGINT REFERENCES campaigns(id),
    subject     TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX threads_company ON threads (company_id, updated_at);
CREATE INDEX threads_team ON threads (team_id);
CREATE UNIQUE INDEX threads_campaign_member ON threads (campaign_id, member_id)
    WHERE campaign_id IS NOT NULL;

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    thread_id        BIGINT  NOT NULL REFERENCES threads(id),
    direction        TEXT    NOT NULL,
    author_staff_id  BIGINT  REFERENCES staff(id) ON DELETE SET NULL,
    author_member_id BIGINT  REFERENCES members(id),
    message_id       TEXT    NOT NULL DEFAULT '',
    in_reply_to      TEXT    NOT NULL DEFAULT '',
    subject          TEXT    NOT NULL DEFAULT '',
    from_addr        TEXT    NOT NULL DEFAULT '',
    date             BIGINT  NOT NULL,
    size             BIGINT  NOT NULL DEFAULT 0,
    raw_key          TEXT    NOT NULL DEFAULT '',
    text             TEXT    NOT NULL DEFAULT '',
    auto_reply       INTEGER NOT NULL DEFAULT 0,
    seen             INTEGER NOT NULL DEFAULT 0,
    answered         INTEGER NOT NULL DEFAULT 0,
    flagged          INTEGER NOT NULL DEFAULT 0,
    auth_results     TEXT    NOT NULL DEFAULT '',
    modseq           BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, id);
CREATE INDEX messages_company_modseq ON messages (company_id, modseq);
CREATE UNIQUE INDEX messages_thread_msgid ON messages (thread_id, message_id)
    WHERE message_id <> '';

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   BIGINT  NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    filename     TEXT    NOT NULL DEFAULT '',
    content_type TEXT    NOT NULL DEFAULT '',
    size         BIGINT  NOT NULL DEFAULT 0,
    blob_key     TEXT    NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id, position);

-- msgids maps every Message-ID received or sent for a company to its thread.
CREATE TABLE msgids (
    company_id BIGINT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    message_id TEXT   NOT NULL,
    thread_id  BIGINT NOT NULL REFERENCES threads(id),
    PRIMARY KEY (company_id, message_id, thread_id)
);

CREATE TABLE outbound (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id      BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    message_row_id  BIGINT  REFERENCES messages(id),
    campaign_id     BIGINT  REFERENCES campaigns(id),
    member_id       BIGINT  REFERENCES members(id),
    rcpt            TEXT    NOT NULL,
    message_id      TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX outbound_due ON outbound (state, next_attempt_at);
CREATE INDEX outbound_company ON outbound (company_id, state, id);

CREATE TABLE bounces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT  NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    member_id  BIGINT  REFERENCES members(id),
    email      TEXT    NOT NULL,
    hard       INTEGER NOT NULL DEFAULT 0,
    detail     TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);
CREATE INDEX bounces_company ON bounces (company_id, id);

-- small_blobs holds blobs up to 64 KiB inside the database, so a small
-- message commits in the same group-committed transaction as its row
-- instead of costing file and directory fsyncs of its own.
CREATE TABLE small_blobs (
    key        TEXT   NOT NULL PRIMARY KEY,
    data       BLOB   NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE small_blobs;
DROP TABLE bounces;
DROP TABLE outbound;
DROP TABLE msgids;
DROP TABLE attachments;
DROP TABLE messages;
DROP TABLE threads;
DROP TABLE campaign_groups;
DROP TABLE campaigns;
DROP TABLE members;
DROP TABLE teams;
DROP TABLE partner_groups;
DROP TABLE staff;
DROP TABLE company_domains;
DROP TABLE modseq;
DROP TABLE companies;
