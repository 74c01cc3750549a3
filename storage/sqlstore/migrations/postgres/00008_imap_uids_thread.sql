-- A shared folder's UID rows carry their message's thread, so FETCH
-- ENVELOPE finds the thread of the Reply-To address without reading the
-- messages table, whose rows are wide. A message never changes threads.
-- Keep in step with the other dialect's 00008_imap_uids_thread.sql.

-- +goose Up
ALTER TABLE imap_uids ADD COLUMN thread_id BIGINT NOT NULL DEFAULT 0;
UPDATE imap_uids SET thread_id = m.thread_id FROM messages m WHERE m.id = imap_uids.message_id;

-- +goose Down
ALTER TABLE imap_uids DROP COLUMN thread_id;
