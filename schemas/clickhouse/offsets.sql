-- Consumed Kafka offsets stored with the data they produced (next offset to read).
-- The latest write per (consumer_group, topic, partition) wins (version updated_at_ms); read with FINAL.
CREATE TABLE IF NOT EXISTS offsets
(
    consumer_group String,
    topic String,
    partition Int32,
    offset Int64,
    updated_at DateTime('UTC'),
    updated_at_ms UInt64
)
ENGINE = ReplacingMergeTree(updated_at_ms)
ORDER BY (consumer_group, topic, partition)
