"""Migrations build the schema the models describe, from an empty database."""

from sqlalchemy import create_engine, inspect

from api.database import Base, sync_url
from bot.conversations import models  # noqa: F401


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    inspector = inspect(engine)
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        columns = {column["name"] for column in inspector.get_columns(name)}
        assert columns == {column.name for column in table.columns}, name
    engine.dispose()
