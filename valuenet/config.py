"""Settings (pydantic-settings: environment variables ``VALUENET_*`` and a TOML file) and named constants."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Topic names and partition counts: one place.
TOPIC_RAW = "valuenet.raw"
TOPIC_FLOWS = "valuenet.flows"
TOPIC_METRICS = "valuenet.metrics"
TOPIC_DLQ = "valuenet.dlq"
TOPIC_PARTITIONS = {TOPIC_RAW: 4, TOPIC_FLOWS: 4, TOPIC_METRICS: 1, TOPIC_DLQ: 1}
# Largest Kafka record batch a valuenet topic takes (topic config max.message.bytes, set by ensure_topics) and
# the largest request every valuenet producer sends (max_request_size): one number, so the producer never
# builds what the broker would refuse (docs/reliability-oversized-records.md).
MAX_MESSAGE_BYTES = 1 << 20
#: Dead letters are kept this long by default (Kafka's own default, 7 days, is too short to notice and fix a parser).
DLQ_RETENTION_DAYS = 30

DEFAULT_WINDOWS = ("1h", "24h", "7d")

# Exports: what can be exported, and in which formats (valuenet.analytics.exports writes them).
ExportWhat = Literal["actors", "tunnels", "network", "flows", "graph", "report"]
ExportFormat = Literal["csv", "parquet", "json", "gexf", "graphml", "html", "pdf"]
EXPORT_WHAT: tuple[str, ...] = ("actors", "tunnels", "network", "flows", "graph", "report")
EXPORT_FORMATS: dict[str, tuple[str, ...]] = {
    "actors": ("csv", "parquet", "json"),
    "tunnels": ("csv", "parquet", "json"),
    "network": ("csv", "parquet", "json"),
    "flows": ("csv", "parquet", "json"),
    "graph": ("gexf", "graphml", "json"),
    "report": ("html", "pdf"),  # the periodic report (valuenet.analytics.report)
}


class ExportSchedule(BaseModel):
    """One periodic export: an ``[[exports]]`` table of the TOML configuration (``Settings.exports``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str = Field(description="Cron expression, e.g. '0 * * * *' (hourly)")
    what: ExportWhat
    format: ExportFormat
    window: str = "24h"
    network: str | None = None

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(v):
            raise ValueError(f"cron expression {v!r} is not valid")
        return v

    @model_validator(mode="after")
    def _format_fits(self) -> ExportSchedule:
        if self.format not in EXPORT_FORMATS[self.what]:
            raise ValueError(
                f"export {self.what!r} cannot be written as {self.format!r}; use one of {EXPORT_FORMATS[self.what]}"
            )
        return self

    @property
    def filename(self) -> str:
        """``<what>-<window>.<ext>``."""
        return f"{self.what}-{self.window}.{self.format}"


def _default_home() -> Path:
    return Path(os.environ.get("VALUENET_HOME", Path.home() / ".valuenet"))


class Settings(BaseSettings):
    """All configuration. Each field reads ``VALUENET_<NAME>`` unless an alias says otherwise.

    A TOML file named by ``VALUENET_CONFIG`` (default ``./valuenet.toml`` if present)
    supplies values below the environment.
    """

    model_config = SettingsConfigDict(env_prefix="VALUENET_", extra="ignore", frozen=True)

    home: Path = Field(
        default_factory=_default_home,
        description="State directory (Kafka, chdb data, logs). Env VALUENET_HOME; default ~/.valuenet",
    )
    network: str = Field(
        "default", description="Network (tenant) id used when a connector does not say. Env VALUENET_NETWORK"
    )
    kafka_bootstrap_servers: str | None = Field(
        None,
        alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Use this Kafka cluster instead of the managed local broker. Env KAFKA_BOOTSTRAP_SERVERS",
    )
    kafka_port: int = Field(19092, description="Port of the managed local broker. Env VALUENET_KAFKA_PORT")
    kafka_brokers: int = Field(
        1,
        ge=1,
        description="Brokers of the managed local KRaft cluster (valuenet kafka start --brokers). Env VALUENET_KAFKA_BROKERS",
    )
    kafka_heap: str = Field("512m", description="Java heap of the managed local broker. Env VALUENET_KAFKA_HEAP")
    clickhouse_url: str | None = Field(
        None,
        alias="CLICKHOUSE_URL",
        description="clickhouse://user:pass@host:9000/db — use this server instead of embedded chdb. Env CLICKHOUSE_URL",
    )
    clickhouse_cluster: str | None = Field(
        None,
        alias="CLICKHOUSE_CLUSTER",
        description="Cluster name (remote_servers) of CLICKHOUSE_URL's server: write and read through Distributed "
        "tables sharded by network. Env CLICKHOUSE_CLUSTER",
    )
    chdb_path: Path | None = Field(
        None, description="chdb data directory. Env VALUENET_CHDB_PATH; default $VALUENET_HOME/chdb"
    )
    raw_batch_envelopes: int = Field(
        500,
        ge=1,
        description="Connectors pack up to this many envelopes of one network into one Kafka record (1: one per record). Env VALUENET_RAW_BATCH_ENVELOPES",
    )
    raw_batch_linger_ms: int = Field(
        20,
        ge=0,
        description="…and ship a partly filled batch this long after its first envelope. Env VALUENET_RAW_BATCH_LINGER_MS",
    )
    max_message_bytes: int = Field(
        MAX_MESSAGE_BYTES,
        ge=64 * 1024,
        description="max.message.bytes set on every valuenet topic and max_request_size of every producer; a record "
        "over it is refused (raw) or split / dead-lettered (flows, dlq). Env VALUENET_MAX_MESSAGE_BYTES",
    )
    flows_record_bytes: int = Field(
        512 * 1024,
        ge=4 * 1024,
        description="A valuenet.flows record holds at most this many bytes of flows (and at most 400 flows); "
        "capped below max_message_bytes. Env VALUENET_FLOWS_RECORD_BYTES",
    )
    flows_format: Literal["json", "arrow"] = Field(
        "json",
        description="Wire format of the valuenet.flows records the processors stage writes: json (arrays of flows) "
        "or arrow (columnar Arrow IPC, lz4; docs/flows-wire.md). Readers take both. Env VALUENET_FLOWS_FORMAT",
    )
    worker_port: int = Field(6066, description="faust worker web port. Env VALUENET_WORKER_PORT")
    api_host: str = Field("127.0.0.1", description="Bind address of `valuenet serve`. Env VALUENET_API_HOST")
    api_port: int = Field(8000, description="Port of `valuenet serve`. Env VALUENET_API_PORT")
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token; required (at least 32 characters) when api_host is not loopback. Env VALUENET_API_TOKEN",
    )
    api_allowed_hosts: tuple[str, ...] = Field(
        (),
        description="Host names the loopback API answers besides localhost, 127.0.0.1 and [::1] (others get 421: "
        'DNS rebinding). Env VALUENET_API_ALLOWED_HOSTS (JSON list, e.g. ["dash.internal"])',
    )
    windows: tuple[str, ...] = Field(DEFAULT_WINDOWS, description="Rolling windows. Env VALUENET_WINDOWS (JSON list)")
    bucket_seconds: int = Field(60, description="Bucket width of the rolling windows. Env VALUENET_BUCKET_SECONDS")
    allowed_lateness_seconds: int = Field(
        300,
        description="Events older than the watermark minus this are counted late. Env VALUENET_ALLOWED_LATENESS_SECONDS",
    )
    watermark_max_jump_seconds: float | None = Field(
        30 * 86400,
        gt=0,
        description="A flow this far ahead of its lane's watermark is held, not applied, until the lane catches up "
        "or the jump is confirmed (docs/reliability-producers-and-time.md); null: no guard. "
        "Env VALUENET_WATERMARK_MAX_JUMP_SECONDS",
    )
    watermark_confirmations: int = Field(
        3,
        ge=1,
        description="Flows in a row held ahead in one lane that confirm a real jump (all are then applied). "
        "Env VALUENET_WATERMARK_CONFIRMATIONS",
    )
    classify_uncertain_below: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Flows typed with a calibrated confidence below this count in network metrics' uncertain_flows. "
        "Env VALUENET_CLASSIFY_UNCERTAIN_BELOW",
    )
    webhook_networks: dict[str, str] = Field(
        default_factory=dict,
        description="Network of each webhook route (slack, github, discourse, zendesk, generic, generic/<source>); "
        'others use `network`. Env VALUENET_WEBHOOK_NETWORKS (JSON, e.g. {"slack": "acme"})',
    )
    webhook_ack_timeout_seconds: float = Field(
        5.0,
        description="A webhook answers 503 when Kafka has not acknowledged within this. Env VALUENET_WEBHOOK_ACK_TIMEOUT_SECONDS",
    )
    future_tolerance_seconds: int = Field(
        300,
        description="An event dated later than its received_at (or the wall clock) plus this is dead-lettered, "
        "never applied, so it cannot move the watermark. Env VALUENET_FUTURE_TOLERANCE_SECONDS",
    )
    tick_seconds: float = Field(5.0, description="Expensive-metric recompute period. Env VALUENET_TICK_SECONDS")
    actor_snapshot_seconds: float = Field(
        5.0,
        description="Per-actor rows are stored at most this often (network and tunnel rows every tick). Env VALUENET_ACTOR_SNAPSHOT_SECONDS",
    )
    directory_path: Path | None = Field(
        None, description="Identity directory (CSV or YAML). Env VALUENET_DIRECTORY_PATH"
    )
    pseudonymise: bool = Field(False, description="HMAC actor ids before storage. Env VALUENET_PSEUDONYMISE")
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key for pseudonymisation. Env VALUENET_PSEUDONYM_KEY"
    )
    export_dir: Path | None = Field(None, description="Periodic exports directory. Env VALUENET_EXPORT_DIR")
    export_k: int = Field(5, description="Group-level exports suppress groups smaller than k. Env VALUENET_EXPORT_K")
    report_slack_webhook_url: SecretStr | None = Field(
        None,
        description="Slack incoming webhook that scheduled reports are announced to. Env VALUENET_REPORT_SLACK_WEBHOOK_URL",
    )
    report_slack_attempts: int = Field(
        5,
        ge=1,
        description="Attempts of one Slack post (exponential backoff between). Env VALUENET_REPORT_SLACK_ATTEMPTS",
    )
    exports: list[ExportSchedule] = Field(
        default_factory=list,
        description="Periodic exports: [[exports]] tables (cron, what, format, window, network) of the TOML file",
    )
    dlq_retention_days: int = Field(
        DLQ_RETENTION_DAYS,
        ge=-1,
        description="How long the dead-letter topic keeps records (retention.ms, set by topic setup); -1 = forever. "
        "Env VALUENET_DLQ_RETENTION_DAYS",
    )
    topic_prefix: str = Field(
        "valuenet", description="Topic names are <prefix>.raw/.flows/.metrics/.dlq. Env VALUENET_TOPIC_PREFIX"
    )
    app_id: str = Field("valuenet", description="faust application id = Kafka consumer group. Env VALUENET_APP_ID")
    worker_id: str | None = Field(
        None,
        description="Stable id of this worker (Kafka static membership: a restart takes its partitions back "
        "at once); unique per worker. Env VALUENET_WORKER_ID",
    )
    worker_session_timeout_seconds: float = Field(
        8.0,
        description="A worker silent this long leaves the group (its partitions move). Env VALUENET_WORKER_SESSION_TIMEOUT_SECONDS",
    )

    @field_validator("dlq_retention_days")
    @classmethod
    def _dlq_retention(cls, v: int) -> int:
        if v == 0:
            raise ValueError("dlq_retention_days must be -1 (kept forever) or at least 1 day")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order: init kwargs, environment, TOML file."""
        toml_path = Path(os.environ.get("VALUENET_CONFIG", "valuenet.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def bootstrap_servers(self) -> str:
        """The Kafka cluster in use: ``KAFKA_BOOTSTRAP_SERVERS`` or the managed local broker(s).

        Broker ``i`` (1..``kafka_brokers``) of the managed cluster listens on ``kafka_port + 2 (i - 1)``.
        """
        if self.kafka_bootstrap_servers:
            return self.kafka_bootstrap_servers
        return ",".join(f"127.0.0.1:{self.kafka_port + 2 * i}" for i in range(self.kafka_brokers))

    def topic(self, name: str) -> str:
        """Full topic name for ``raw``, ``flows``, ``metrics`` or ``dlq`` under the configured prefix."""
        return f"{self.topic_prefix}.{name}"

    @property
    def dlq_retention_ms(self) -> int:
        """``retention.ms`` of the dead-letter topic (-1: kept forever)."""
        return -1 if self.dlq_retention_days < 0 else self.dlq_retention_days * 86_400_000

    @property
    def chdb_dir(self) -> Path:
        """Where embedded chdb keeps its data."""
        return self.chdb_path or self.home / "chdb"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
