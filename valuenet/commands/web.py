"""``valuenet serve``: the API, live feed and dashboard (uvicorn)."""

from __future__ import annotations

import typer

from valuenet.config import get_settings


def register(app: typer.Typer) -> None:
    """Add ``valuenet serve`` to the main app."""

    @app.command()
    def serve(
        host: str = typer.Option(None, help="Bind address (default VALUENET_API_HOST, 127.0.0.1)."),
        port: int = typer.Option(None, help="Port (default VALUENET_API_PORT, 8000)."),
        no_kafka: bool = typer.Option(False, "--no-kafka", help="Feed the live view from ClickHouse polling only."),
    ) -> None:
        """Serve the REST API (/docs), the live feed (/api/feed), /metrics and the dashboard (/).

        Binds 127.0.0.1 by default; any other address needs VALUENET_API_TOKEN, and every
        request then carries ``Authorization: Bearer <token>``.
        """
        import asyncio

        import uvicorn

        from valuenet.service import StopSignals, serve_advertised
        from valuenet.web.app import create_app
        from valuenet.web.auth import InsecureBindError

        # SIGINT and SIGTERM stop it cleanly, also when SIGINT was inherited as ignored: uvicorn takes
        # them over while it serves, shuts down gracefully and re-raises them to these handlers, which
        # only note them (a signal before uvicorn listens stops it as soon as it does).
        stop = StopSignals()
        base = get_settings()
        settings = base.model_copy(
            update={k: v for k, v in {"api_host": host, "api_port": port}.items() if v is not None}
        )
        try:
            web = create_app(settings, kafka=not no_kafka)
        except InsecureBindError as e:
            typer.secho(str(e), fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        typer.echo(
            f"valuenet: serving http://{settings.api_host}:{settings.api_port}/ "
            f"(auth {'on' if settings.api_token else 'off'})"
        )
        server = uvicorn.Server(
            uvicorn.Config(web, host=settings.api_host, port=settings.api_port, log_level="info", access_log=False)
        )
        asyncio.run(serve_advertised(server, settings, "serve", stop))  # the CLI finds the API in service.json
        typer.echo("valuenet: stopped")
