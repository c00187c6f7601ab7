"""``valuenet kafka start|stop|status|fetch|topics|logs``: the managed local Apache Kafka broker."""

from __future__ import annotations

import json

import typer

from valuenet.config import TOPIC_PARTITIONS, get_settings
from valuenet.localstack import kafka

app = typer.Typer(
    help="Manage the local Apache Kafka KRaft cluster (1 broker by default, --brokers N; node i on "
    "127.0.0.1:VALUENET_KAFKA_PORT+2(i-1)). "
    "With KAFKA_BOOTSTRAP_SERVERS set, that cluster is used and start/stop do nothing.",
    no_args_is_help=True,
)


def _fail(err: Exception) -> typer.Exit:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _external_note() -> bool:
    settings = get_settings()
    if settings.kafka_bootstrap_servers:
        typer.echo(
            f"KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers} is set: "
            "using that cluster; the managed broker is not started or stopped."
        )
        return True
    return False


@app.command()
def start(
    timeout: float = typer.Option(120.0, help="Seconds to wait for the broker to answer a metadata request."),
    topics: bool = typer.Option(True, help="Also create valuenet's topics with their partition counts."),
    brokers: int | None = typer.Option(
        None, "--brokers", min=1, help="Nodes (broker + controller each); default VALUENET_KAFKA_BROKERS or 1."
    ),
) -> None:
    """Start the local cluster (fetching jars and formatting storage on first use) and wait until it answers."""
    if _external_note():
        return
    settings = get_settings()
    if brokers is None and "kafka_brokers" not in settings.model_fields_set:
        brokers = kafka.cluster_size(settings)  # a home formatted for N brokers restarts as N
    if brokers is not None:
        settings = settings.model_copy(update={"kafka_brokers": brokers})
    try:
        started = kafka.start_broker(settings, timeout=timeout)
        if topics:
            from valuenet.kafka_admin import ensure_topics

            report = ensure_topics(
                settings.bootstrap_servers,
                prefix=settings.topic_prefix,
                max_message_bytes=settings.max_message_bytes,
                dlq_retention_ms=settings.dlq_retention_ms,
            )
    except Exception as err:
        raise _fail(err) from err
    paths = kafka.BrokerPaths.for_settings(settings)
    pids = kafka.node_pids(settings)
    word = "started" if started else "already running"
    n = settings.kafka_brokers
    shown = ", ".join(str(p) for p in pids.values() if p)
    typer.echo(
        f"Kafka {kafka.kafka_version()} {word}: {n} broker{'s' if n > 1 else ''}"
        + (f" (pid {shown})" if shown else " (not managed by this VALUENET_HOME)")
        + f"; log: {paths.log_file}"
    )
    typer.echo(f"bootstrap: {settings.bootstrap_servers}")
    if n > 1 and get_settings().kafka_brokers != n:
        typer.echo(f"other valuenet commands: export VALUENET_KAFKA_BROKERS={n} (or KAFKA_BOOTSTRAP_SERVERS=the list)")
    if topics and report.created:
        typer.echo(f"created topics: {', '.join(report.created)}")


@app.command()
def stop(timeout: float = typer.Option(30.0, help="Seconds to wait after SIGTERM before SIGKILL.")) -> None:
    """Stop every broker of the local cluster cleanly (SIGTERM, wait, then SIGKILL)."""
    if _external_note():
        return
    settings = get_settings()
    running = [i for i, pid in kafka.node_pids(settings).items() if pid]
    if kafka.stop_broker(settings, timeout=timeout):
        typer.echo(f"Kafka stopped ({len(running)} broker{'s' if len(running) != 1 else ''}: nodes {running}).")
    else:
        typer.echo(f"No managed Kafka broker running for VALUENET_HOME={settings.home}.")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print the status as JSON.")) -> None:
    """Report the cluster in use: mode, bootstrap servers, whether it answers, pid, topics. Exit 1 if down."""
    st = kafka.broker_status(get_settings())
    if as_json:
        typer.echo(json.dumps(st.as_dict(), indent=2))
    else:
        state = "responding" if st.responding else "not responding"
        typer.echo(f"mode:      {st.mode}" + (" (KAFKA_BOOTSTRAP_SERVERS)" if st.mode == "external" else ""))
        typer.echo(f"bootstrap: {st.bootstrap} — {state}")
        if st.mode == "managed":
            typer.echo(f"version:   Apache Kafka {st.version}")
            typer.echo(f"pid:       {st.pid if st.pid else '-'}")
            typer.echo(f"log:       {st.log_file}")
            for node in st.nodes if len(st.nodes) > 1 else []:
                state = "alive" if node.alive else ("running, not answering" if node.pid else "down")
                typer.echo(
                    f"broker {node.node_id}:  127.0.0.1:{node.port} (controller {node.controller_port}) "
                    f"pid {node.pid or '-'} {state}"
                )
        if st.responding:
            typer.echo(f"cluster:   {st.cluster_id}  brokers: {', '.join(st.brokers)}")
            typer.echo(f"topics:    {_topic_summary(st.topics, get_settings().topic_prefix)}")
            under = st.under_replicated
            typer.echo(f"under-replicated partitions: {len(under)}")
            for line in under[:50]:
                typer.echo(f"  {line}")
            if len(under) > 50:
                typer.echo(f"  ... and {len(under) - 50} more")
        if st.detail:
            typer.echo(f"note:      {st.detail}")
    if not st.responding:
        raise typer.Exit(1)


def _topic_summary(topics: list[str], prefix: str) -> str:
    """``4 valuenet (a, b, c, d); 1 other (__consumer_offsets)``: every count matches the names listed."""
    ours = [t for t in topics if t.startswith(f"{prefix}.")]
    others = [t for t in topics if t not in ours]
    text = f"{len(ours)} valuenet ({', '.join(ours)})" if ours else "no valuenet topics yet"
    if others:
        text += f"; {len(others)} other" + (f" ({', '.join(others)})" if len(others) <= 5 else "")
    return text


@app.command()
def fetch(force: bool = typer.Option(False, help="Resolve again even if the jars are cached.")) -> None:
    """Download Apache Kafka's jars with Maven into ~/.cache/valuenet/kafka-<version>/ (once)."""
    try:
        cached = kafka.jars_present() and not force
        libs = kafka.fetch_jars(force=force)
    except kafka.KafkaStackError as err:
        raise _fail(err) from err
    jars = sum(1 for _ in libs.glob("*.jar"))
    typer.echo(f"Kafka {kafka.kafka_version()} jars {'already cached' if cached else 'fetched'}: {libs} ({jars} jars)")


@app.command()
def topics(create: bool = typer.Option(False, "--create", help="Create missing valuenet topics first.")) -> None:
    """List topics and their partition counts (valuenet topics first, with the expected counts)."""
    from valuenet.kafka_admin import ensure_topics, prefixed, topic_partitions

    settings = get_settings()
    bootstrap = settings.bootstrap_servers
    expected = prefixed(TOPIC_PARTITIONS, settings.topic_prefix)
    try:
        if create:
            report = ensure_topics(
                bootstrap,
                expected,
                max_message_bytes=settings.max_message_bytes,
                dlq_retention_ms=settings.dlq_retention_ms,
            )
            if report.created:
                typer.echo(f"created: {', '.join(report.created)}")
            for name, error in report.config_errors.items():
                typer.echo(f"warning: max.message.bytes not set on {name}: {error}", err=True)
        found = topic_partitions(bootstrap)
    except Exception as err:
        raise _fail(RuntimeError(f"{bootstrap}: {err}")) from err
    for name, wanted in expected.items():
        have = found.get(name)
        note = (
            "missing (run `valuenet kafka topics --create`)"
            if have is None
            else (f"{have} partitions" + ("" if have == wanted else f" (expected {wanted})"))
        )
        typer.echo(f"{name:<20} {note}")
    for name in sorted(set(found) - set(expected)):
        typer.echo(f"{name:<20} {found[name]} partitions")


@app.command()
def logs(
    lines: int = typer.Option(40, "-n", "--lines", help="How many lines from the end."),
    node: int = typer.Option(1, "--node", min=1, help="Which broker of a --brokers N cluster (1..N)."),
) -> None:
    """Print the end of the managed broker's log file."""
    path = kafka.BrokerPaths.for_settings(get_settings(), node).log_file
    if not path.is_file():
        raise _fail(FileNotFoundError(f"no log yet at {path}"))
    typer.echo("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
