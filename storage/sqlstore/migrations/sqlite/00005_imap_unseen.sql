-- IMAP view: the unread messages of a company, for SEARCH UNSEEN and the
-- Unread folders without scanning every message. Keep in step with the
-- other dialect's 00005_imap_unseen.sql.

-- +goose Up
CREATE INDEX messages_unseen ON messages (company_id, id) WHERE seen = FALSE;

-- +goose Down
DROP INDEX messages_unseen;
