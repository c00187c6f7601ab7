-- Per-actor metric snapshots (schemas/metrics.py ActorMetrics), one row per actor per tick.
-- Latest value: argMax(x, computed_at_ms) or WHERE computed_at_ms = (SELECT max(...)).
CREATE TABLE IF NOT EXISTS actor_metrics
(
    network String,
    window String,
    computed_at DateTime('UTC'),
    computed_at_ms UInt64,
    window_end DateTime('UTC'),
    window_end_ms UInt64,
    actor String,
    segment Enum8('workforce' = 1, 'partner' = 2, 'customer' = 3, 'influencer' = 4, 'unknown' = 5),
    in_knowledge Float64,
    out_knowledge Float64,
    in_idea Float64,
    out_idea Float64,
    in_reputation Float64,
    out_reputation Float64,
    pagerank Float64,
    pagerank_reputation Float64,
    betweenness Float64,
    boundary_spanning Float64,
    burt_constraint Float64,
    effective_size Float64,
    brokerage Float64,
    broker_coordinator Int64,
    broker_gatekeeper Int64,
    broker_representative Int64,
    broker_consultant Int64,
    broker_liaison Int64,
    community Int64,
    give_get_balance Float64,
    reach Int64,
    potential_reach Int64,
    amplification_rate Float64,
    engagement_rate Float64,
    kind Enum8('person' = 1, 'organisation' = 2, 'bot' = 3, 'platform' = 4)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(computed_at)
ORDER BY (network, window, computed_at, actor)
