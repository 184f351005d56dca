"""The `hotline` command."""

from __future__ import annotations

import logging

import typer
import uvicorn

from api import schema
from api.settings import get_settings

app = typer.Typer(help="The migrant workers' hotline.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def serve() -> None:
    """Run the app (channels, engine endpoints, console) on HOTLINE_PORT."""
    _configure_logging()
    settings = get_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.hotline_host,
        port=settings.hotline_port,
        proxy_headers=True,
        log_level="info",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the current schema."""
    _configure_logging()
    schema.upgrade(get_settings().hotline_database_url)


def main() -> None:
    app()
