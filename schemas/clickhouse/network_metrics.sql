-- Whole-network metric snapshots (schemas/metrics.py NetworkMetrics), one row per window per tick.
CREATE TABLE IF NOT EXISTS network_metrics
(
    network String,
    window String,
    computed_at DateTime('UTC'),
    computed_at_ms UInt64,
    window_end DateTime('UTC'),
    window_end_ms UInt64,
    actors Int64,
    edges Int64,
    density Float64,
    reciprocity Float64,
    modularity Float64,
    ei_index Float64,
    communities Int64,
    flows_per_s_knowledge Float64,
    flows_per_s_idea Float64,
    flows_per_s_reputation Float64,
    responsiveness_median_s Nullable(Float64),
    responsiveness_p90_s Nullable(Float64),
    idea_pickup_share Nullable(Float64),
    idea_pickup_median_s Nullable(Float64),
    questions Int64,
    questions_answered Int64,
    ideas Int64,
    ideas_picked_up Int64,
    readiness_index Float64,
    late_events Int64,
    future_events Int64,
    uncertain_flows Int64,
    uncertain_share Nullable(Float64),
    tick_seconds Float64,
    watermark_ms Nullable(Int64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(computed_at)
ORDER BY (network, window, computed_at)
