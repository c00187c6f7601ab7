-- Identity directory: display names, segment, team and organisation per actor.
-- The latest entry per (network, actor) wins (version updated_at_ms); read with FINAL.
CREATE TABLE IF NOT EXISTS directory
(
    network String,
    actor String,
    display_name String,
    segment Enum8('workforce' = 1, 'partner' = 2, 'customer' = 3, 'influencer' = 4, 'unknown' = 5),
    team Nullable(String),
    organisation Nullable(String),
    updated_at DateTime('UTC'),
    updated_at_ms UInt64
)
ENGINE = ReplacingMergeTree(updated_at_ms)
ORDER BY (network, actor)
