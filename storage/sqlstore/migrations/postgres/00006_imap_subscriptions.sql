-- IMAP view: the folders a staff member unsubscribed from. Every folder
-- is subscribed unless listed here, so clients that show subscribed
-- folders only (Thunderbird's default) show the shared inbox at once.
-- Keep in step with the other dialect's 00006_imap_subscriptions.sql.

-- +goose Up
CREATE TABLE imap_unsubscribed (
    staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    name     TEXT   NOT NULL,
    PRIMARY KEY (staff_id, name)
);

-- +goose Down
DROP TABLE imap_unsubscribed;
