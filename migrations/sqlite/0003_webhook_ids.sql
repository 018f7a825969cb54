-- Standard Webhooks deliveries carry a message id that stays the same across redeliveries.
ALTER TABLE deliveries ADD COLUMN webhook_id TEXT;
CREATE INDEX deliveries_webhook_id ON deliveries (webhook_id) WHERE webhook_id IS NOT NULL;
