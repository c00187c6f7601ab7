-- Classifier corrections: a human (or rule) labels one event's flow type.
-- The latest label per (network, event_id) wins (version labelled_at_ms); read with FINAL.
CREATE TABLE IF NOT EXISTS labels
(
    event_id String,
    network String,
    text String,
    kind String,
    source String,
    label Enum8('knowledge' = 1, 'idea' = 2, 'reputation' = 3, 'none' = 4),
    labelled_by String,
    labelled_at DateTime('UTC'),
    labelled_at_ms UInt64
)
ENGINE = ReplacingMergeTree(labelled_at_ms)
ORDER BY (network, event_id)
