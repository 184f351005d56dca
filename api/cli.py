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
from cryptography.fernet import Fernet

from api import console_wording, schema
from api.app import create_app
from api.staff_cli import staff_app
from api.state import open_state
from bot import evaluation, tables
from bot.attachments import AttachmentStore
from bot.channels.telegram import TelegramChannel
from bot.danger import DangerDetector
from bot.danger import evaluation as danger_evaluation
from bot.leases import Leases, holder_name
from bot.privacy.queries import Removed
from bot.privacy.service import DataKeeping
from bot.texts import Texts, write_template
from core import keys
from core.database import create_engine, create_sessionmaker
from core.settings import Settings, get_settings
from flows.actions.rights import MinimumWages

app = typer.Typer(help="The migrant workers' hotline.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
nlu_app = typer.Typer(help="The engine's understanding of workers.", no_args_is_help=True)
app.add_typer(nlu_app, name="nlu")
danger_app = typer.Typer(help="Reading when a worker is in danger.", no_args_is_help=True)
app.add_typer(danger_app, name="danger")
telegram_app = typer.Typer(help="The Telegram channel.", no_args_is_help=True)
app.add_typer(telegram_app, name="telegram")
inbox_app = typer.Typer(
    help="Messages kept between a webhook's answer and the database.", no_args_is_help=True
)
app.add_typer(inbox_app, name="inbox")
content_app = typer.Typer(help="What the hotline says.", no_args_is_help=True)
app.add_typer(content_app, name="content")
keys_app = typer.Typer(help="Encryption keys for what workers write.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(staff_app, name="staff")
retention_app = typer.Typer(help="How long workers' data is kept.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run() -> None:
    """Delete what has been kept long enough (the app also does this daily)."""
    _configure_logging()
    removed = asyncio.run(_run_retention(get_settings()))
    counts = ", ".join(f"{count} {name}" for name, count in removed.counts().items())
    typer.echo(f"removed {counts}")


async def _run_retention(settings: Settings) -> Removed:
    vault = settings.vault()
    database = create_engine(settings.hotline_database_url, vault)
    sessions = create_sessionmaker(database)
    keeping = DataKeeping(
        sessions=sessions,
        attachments=AttachmentStore(settings.hotline_attachments_dir, vault),
        # Run by hand: at once, whichever process leads the daily round.
        leases=Leases(sessions=sessions, holder=holder_name(), enabled=False),
        settings=settings,
    )
    try:
        return await keeping.run_retention()
    finally:
        await database.dispose()


@keys_app.command("new")
def keys_new() -> None:
    """Print a new key: put it first in HOTLINE_ENCRYPTION_KEYS, then run `keys rotate`."""
    typer.echo(Fernet.generate_key().decode())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt everything under the first key of HOTLINE_ENCRYPTION_KEYS."""
    _configure_logging()
    settings = get_settings()
    result = keys.rotate(
        database_url=settings.hotline_database_url,
        vault=settings.vault(),
        attachments_dir=settings.hotline_attachments_dir,
        metadata=tables.metadata,
        # Messages kept between a webhook's 200 and the database.
        folders=[settings.hotline_inbox_dir],
    )
    typer.echo(f"re-encrypted {result.values} values and {result.files} files")


@content_app.command("report")
def content_report() -> None:
    """Per language: messages, missing ones, machine-drafted ones awaiting review; facts date."""
    settings = get_settings()
    texts = Texts(settings.hotline_locales_dir)
    wages = MinimumWages(settings.hotline_content_dir / "minimum_wage.yml")
    typer.echo(f"{'language':<10}{'messages':>10}{'missing':>10}{'to review':>11}")
    for stats in texts.stats():
        typer.echo(
            f"{stats.language:<10}{stats.messages:>10}{stats.missing:>10}"
            f"{stats.awaiting_review:>11}"
        )
    for stats in console_wording.stats(settings.hotline_locales_dir):
        # The staff console's own catalogs, one row each after the workers'.
        language = f"console-{stats.language}"
        typer.echo(
            f"{language:<10}{stats.messages:>10}{stats.missing:>10}{stats.awaiting_review:>11}"
        )
    typer.echo(f"facts as of {wages.facts_as_of} (content brief)")


@content_app.command("template")
def content_template() -> None:
    """Write locales/messages.pot from the English catalog and locales/console.pot
    from the console's sources (bringing its catalogs in line), for translators."""
    locales_dir = get_settings().hotline_locales_dir
    for path in (write_template(locales_dir), console_wording.write_template(locales_dir)):
        typer.echo(f"wrote {path}")


# HTTP client libraries log each request's URL at INFO, and Telegram's URLs
# carry the bot token: secrets must never reach the logs.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "linebot", "aiohttp.access")


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _serve(*, telegram_polling: bool) -> None:
    _configure_logging()
    settings = get_settings()
    if "hotline_environment" not in settings.model_fields_set:
        # Development opens what a trial needs (a key kept in a file, the API
        # pages, cookies without Secure): never the default of a server that
        # takes workers' words. The tools that serve nobody keep it.
        typer.echo(
            "HOTLINE_ENVIRONMENT is not set: set it to production to serve workers "
            "(with HOTLINE_ENCRYPTION_KEYS and HOTLINE_ENGINE_TOKEN), or to development "
            "for a trial on this machine (make run does)",
            err=True,
        )
        raise typer.Exit(2)
    uvicorn.run(
        create_app(settings, telegram_polling=telegram_polling, freeze_start_up=True),
        host=settings.hotline_host,
        port=settings.hotline_port,
        proxy_headers=True,
        log_level="info",
    )


@app.command()
def serve() -> None:
    """Run the app (channels, engine endpoints, console) on HOTLINE_PORT."""
    _serve(telegram_polling=False)


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Run the app with Telegram read by long polling (no public HTTPS address needed)."""
    if not get_settings().telegram_bot_token:
        typer.echo("TELEGRAM_BOT_TOKEN is not set", err=True)
        raise typer.Exit(2)
    _serve(telegram_polling=True)


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    url: Annotated[str, typer.Argument(help="public HTTPS address of /webhooks/telegram")],
) -> None:
    """Register the webhook with Telegram, with TELEGRAM_WEBHOOK_SECRET as its secret token."""
    settings = get_settings()
    if not settings.telegram_bot_token or not settings.telegram_webhook_secret:
        typer.echo("TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET must be set", err=True)
        raise typer.Exit(2)

    async def register() -> None:
        channel = await TelegramChannel.open(settings)
        assert channel is not None
        try:
            await channel.set_webhook(url)
        finally:
            await channel.close()

    asyncio.run(register())
    typer.echo(f"Telegram will deliver updates to {url}")


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


@danger_app.command("train")
def danger_train() -> None:
    """Train the danger model if its data changed, and keep it in the cache."""
    settings = get_settings()
    DangerDetector.from_content(
        settings.hotline_content_dir,
        settings.hotline_nlu_data_dir,
        cache_dir=settings.hotline_danger_cache_dir,
    )
    typer.echo(f"danger model ready in {settings.hotline_danger_cache_dir}")


@danger_app.command("evaluate")
def danger_evaluate(
    data: Annotated[
        list[Path],
        typer.Option("--data", help="YAML list of {text, urgent, lang}; repeat, or a folder"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Recall and false alarms per language and overall, as live messages are decided."""
    settings = get_settings()
    try:
        examples = danger_evaluation.load(data)
    except (OSError, ValueError) as error:
        typer.echo(f"cannot read the evaluation data: {error}", err=True)
        raise typer.Exit(2) from None
    detector = DangerDetector.from_content(
        settings.hotline_content_dir,
        settings.hotline_nlu_data_dir,
        cache_dir=settings.hotline_danger_cache_dir,
    )
    result = danger_evaluation.report(danger_evaluation.decide(detector, examples))
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        typer.echo(danger_evaluation.format_report(result))


def main() -> None:
    app()


@inbox_app.command("drain")
def inbox_drain(folder: Path) -> None:
    """Store, answer and send what waits in FOLDER: the inbox of an app process
    that never came back (each process drains only its own at start)."""
    _configure_logging()
    settings = get_settings().model_copy(update={"hotline_inbox_dir": folder})
    waiting = asyncio.run(_drain_inbox(settings))
    if waiting is None:
        typer.echo("the database could not be reached; nothing was taken from the folder")
        raise typer.Exit(1)
    typer.echo(f"stored and answered the messages of {waiting} inbox file(s)")


async def _drain_inbox(settings: Settings) -> int | None:
    async with open_state(settings) as state:
        waiting = len(state.inbox.waiting())
        if not await state.intake.store_waiting():
            return None
        # Answered and sent here, not left for another process's sweep.
        await state.answering.idle()
        return waiting
