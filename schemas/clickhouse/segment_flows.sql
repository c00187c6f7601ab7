-- Segment-pair "tunnels" (schemas/metrics.py SegmentFlow), one row per pair per window per tick.
CREATE TABLE IF NOT EXISTS segment_flows
(
    network String,
    window String,
    computed_at DateTime('UTC'),
    computed_at_ms UInt64,
    window_end DateTime('UTC'),
    window_end_ms UInt64,
    src_segment Enum8('workforce' = 1, 'partner' = 2, 'customer' = 3, 'influencer' = 4, 'unknown' = 5),
    dst_segment Enum8('workforce' = 1, 'partner' = 2, 'customer' = 3, 'influencer' = 4, 'unknown' = 5),
    knowledge Int64,
    idea Int64,
    reputation Int64,
    actor_pairs Int64,
    reciprocity Float64,
    give_get_balance Float64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(computed_at)
ORDER BY (network, window, computed_at, src_segment, dst_segment)
