-- Structural alerts (schemas/metrics.py Alert).
CREATE TABLE IF NOT EXISTS alerts
(
    network String,
    window String,
    raised_at DateTime('UTC'),
    raised_at_ms UInt64,
    kind String,
    subject String,
    value Float64,
    threshold Float64,
    message String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(raised_at)
ORDER BY (network, window, raised_at, kind, subject)
