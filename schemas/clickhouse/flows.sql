-- Classified flows (schemas/flow.py). One row per (network, event_id):
-- ReplacingMergeTree folds replays; read with FINAL or uniqExact(event_id).
CREATE TABLE IF NOT EXISTS flows
(
    schema_version UInt8,
    event_id String,
    network String,
    source String,
    kind String,
    timestamp DateTime('UTC'),
    timestamp_ms UInt64,
    giver String,
    receiver Nullable(String),
    giver_segment Enum8('workforce' = 1, 'partner' = 2, 'customer' = 3, 'influencer' = 4, 'unknown' = 5),
    receiver_segment Enum8('workforce' = 1, 'partner' = 2, 'customer' = 3, 'influencer' = 4, 'unknown' = 5),
    giver_team Nullable(String),
    receiver_team Nullable(String),
    flow_type Enum8('knowledge' = 1, 'idea' = 2, 'reputation' = 3, 'none' = 4),
    confidence Float64,
    reason String,
    channel Nullable(String),
    thread Nullable(String),
    parent_id Nullable(String),
    giver_followers Nullable(Int64),
    seq Nullable(Int64),
    lane Nullable(Int32),
    giver_kind Enum8('person' = 1, 'organisation' = 2, 'bot' = 3, 'platform' = 4),
    receiver_kind Enum8('person' = 1, 'organisation' = 2, 'bot' = 3, 'platform' = 4)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (network, event_id)
