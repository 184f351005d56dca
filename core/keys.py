"""Re-encrypting stored data under the newest key, so an old key can be retired."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, create_engine, text

from core.database import sync_url
from core.vault import EncryptedJSON, EncryptedText, Vault


def encrypted_columns(metadata: MetaData) -> list[tuple[str, str]]:
    """(table, column) pairs that hold encrypted values, read from the models
    (`bot.tables.metadata`) so that a new encrypted column cannot be forgotten
    here."""
    return [
        (table.name, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText | EncryptedJSON)
    ]


BATCH = 500


@dataclass(frozen=True)
class Rotated:
    values: int
    files: int


def rotate(
    *, database_url: str, vault: Vault, attachments_dir: Path, metadata: MetaData
) -> Rotated:
    engine = create_engine(sync_url(database_url))
    values = 0
    try:
        for table, column in encrypted_columns(metadata):
            last_id = 0
            while True:
                # Batches in their own transactions: a large database is not
                # locked for the whole run, and a stopped run can restart.
                with engine.begin() as connection:
                    rows = connection.execute(
                        text(
                            f"SELECT id, {column} FROM {table} "  # noqa: S608 (fixed names)
                            f"WHERE id > :last AND {column} IS NOT NULL ORDER BY id LIMIT :batch"
                        ),
                        {"last": last_id, "batch": BATCH},
                    ).all()
                    for row_id, token in rows:
                        connection.execute(
                            text(f"UPDATE {table} SET {column} = :token WHERE id = :id"),  # noqa: S608
                            {"token": vault.rotate(token), "id": row_id},
                        )
                        values += 1
                if len(rows) < BATCH:
                    break
                last_id = rows[-1][0]
    finally:
        engine.dispose()
    files = 0
    if attachments_dir.exists():
        for path in attachments_dir.rglob("*"):
            if path.is_file() and not path.name.endswith(".partial"):
                token = vault.rotate(path.read_bytes().decode("ascii")).encode("ascii")
                partial = path.with_suffix(".partial")
                partial.write_bytes(token)
                partial.replace(path)
                files += 1
    return Rotated(values=values, files=files)
