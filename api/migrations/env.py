"""Alembic environment: migrations run on the synchronous form of the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from bot import tables
from core.database import ensure_sqlite_folder, sync_url
from core.settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or sync_url(get_settings().hotline_database_url)
ensure_sqlite_folder(url)
target_metadata = tables.metadata


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
