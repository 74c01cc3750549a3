-- Delivery keywords of the Sent folder (SQLite): find the notification
-- emails of staff messages. Keep in step with ../postgres/00004_delivery.sql.

-- +goose Up
CREATE INDEX outbound_message ON outbound (message_row_id);

-- +goose Down
DROP INDEX outbound_message;
