"""``valuenet storage ddl|setup``: print the ClickHouse DDL (single node or cluster) and apply it."""

from __future__ import annotations

import typer

from valuenet.config import get_settings

app = typer.Typer(
    help="ClickHouse storage: print the DDL (single node or a cluster), create the tables.", no_args_is_help=True
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _database(database: str | None) -> str:
    from valuenet.analytics.storage import DEFAULT_DATABASE

    if database:
        return database
    url = get_settings().clickhouse_url
    if url:
        from valuenet.analytics.storage.server_store import database_from_url

        return database_from_url(url, DEFAULT_DATABASE)
    return DEFAULT_DATABASE


@app.command()
def ddl(
    cluster: str | None = typer.Option(
        None, "--cluster", help="Cluster name (remote_servers): local + Distributed tables, ON CLUSTER"
    ),
    replicated: bool = typer.Option(False, "--replicated", help="Replicated*MergeTree local tables (needs ZooKeeper)"),
    per_node: bool = typer.Option(
        False, "--per-node", help="Without ON CLUSTER: the statements to run on each node (no ZooKeeper)"
    ),
    database: str | None = typer.Option(None, "--database", help="Database (default: CLICKHOUSE_URL's, else valuenet)"),
) -> None:
    """Print the DDL, one statement per paragraph, each ending in ';'."""
    from valuenet.analytics.storage.cluster import cluster_ddl
    from valuenet.analytics.storage.tables import TABLES, create_database_sql, table_spec

    try:
        db = _database(database)
        if cluster:
            statements = cluster_ddl(db, cluster, replicated=replicated, on_cluster=not per_node)
        elif replicated or per_node:
            raise ValueError("--replicated and --per-node need --cluster NAME")
        else:
            statements = [create_database_sql(db)] + [table_spec(t).statement for t in TABLES]
    except ValueError as e:
        raise _fail(str(e), 2) from None
    typer.echo("\n\n".join(f"{s};" for s in statements))


@app.command()
def setup(
    database: str | None = typer.Option(None, "--database", help="Database (default: CLICKHOUSE_URL's, else valuenet)"),
) -> None:
    """Create the database and tables on the configured store; with CLICKHOUSE_CLUSTER on every node of the cluster."""
    from valuenet.analytics.storage import StorageError, open_store

    settings = get_settings()
    try:
        with open_store(settings, database=database) as store:
            where = f"cluster {settings.clickhouse_cluster}" if settings.clickhouse_cluster else store.backend
            typer.echo(f"tables ready in {store.database} ({where})")
    except (StorageError, ValueError) as e:
        raise _fail(str(e)) from None
