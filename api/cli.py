"""The `hotline` command."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn

from api import schema
from api.settings import get_settings
from bot import evaluation

app = typer.Typer(help="The migrant workers' hotline.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
nlu_app = typer.Typer(help="The engine's understanding of workers.", no_args_is_help=True)
app.add_typer(nlu_app, name="nlu")


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


@nlu_app.command("evaluate")
def nlu_evaluate(
    data: Annotated[
        list[Path],
        typer.Option("--data", help="YAML list of {text, intent, lang}; repeat, or a folder"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Accuracy and macro-F1 per language and overall, from the running engine."""
    settings = get_settings()
    try:
        examples = evaluation.load_examples(data)
    except (OSError, evaluation.EvaluationDataError) as error:
        typer.echo(f"cannot read the evaluation data: {error}", err=True)
        raise typer.Exit(2) from None
    token = settings.hotline_engine_token
    try:
        predictions = asyncio.run(
            evaluation.predict(
                examples,
                engine_url=settings.rasa_url,
                token=token.get_secret_value() if token else None,
            )
        )
    except httpx.HTTPError as error:
        typer.echo(f"the engine at {settings.rasa_url} did not answer: {error}", err=True)
        raise typer.Exit(1) from None
    result = evaluation.report(predictions)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        typer.echo(evaluation.format_report(result))


def main() -> None:
    app()
