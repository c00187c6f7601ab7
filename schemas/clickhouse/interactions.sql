-- Canonical interactions (schemas/interaction.py). One row per (network, event_id):
-- ReplacingMergeTree folds replays; read with FINAL or uniqExact(event_id).
-- Every datetime field has a companion <field>_ms (epoch milliseconds) for sub-second precision.
CREATE TABLE IF NOT EXISTS interactions
(
    schema_version UInt8,
    event_id String,
    network String,
    source String,
    kind String,
    timestamp DateTime('UTC'),
    timestamp_ms UInt64,
    actor String,
    target Nullable(String),
    channel Nullable(String),
    thread Nullable(String),
    parent_id Nullable(String),
    text Nullable(String),
    url Nullable(String),
    language Nullable(String),
    actor_name Nullable(String),
    actor_domain Nullable(String),
    actor_followers Nullable(Int64),
    metadata String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (network, event_id)
