"""Re-encrypting stored data under the newest key, so an old key can be retired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import InvalidToken
from sqlalchemy import MetaData, create_engine, text

from core.database import sync_url
from core.encrypted_columns import EncryptedJSON, EncryptedText
from core.vault import Vault


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
    *,
    database_url: str,
    vault: Vault,
    attachments_dir: Path,
    metadata: MetaData,
    folders: Sequence[Path] = (),
) -> Rotated:
    """Every encrypted value in the database, every attachment, and every
    encrypted file in `folders` (the inbox), under the newest key."""
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
                        # Only if nobody wrote the value meanwhile (the engine
                        # rewrites a conversation's tracker every turn): a
                        # newer value is already under the newest key.
                        changed = connection.execute(
                            text(
                                f"UPDATE {table} SET {column} = :token "  # noqa: S608
                                f"WHERE id = :id AND {column} = :old"
                            ),
                            {"token": vault.rotate(token), "id": row_id, "old": token},
                        )
                        values += changed.rowcount
                if len(rows) < BATCH:
                    break
                last_id = rows[-1][0]
    finally:
        engine.dispose()
    files = sum(_rotate_files(folder, vault) for folder in (attachments_dir, *folders))
    return Rotated(values=values, files=files)


def _rotate_files(folder: Path, vault: Vault) -> int:
    """Each finished file below `folder`, re-encrypted and replaced whole, so
    that a reader meanwhile sees the old file or the new one. A file no key
    opens (set aside as unreadable) is left as it is."""
    rotated = 0
    if not folder.exists():
        return rotated
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.endswith(".partial"):
            continue
        try:
            token = vault.rotate(path.read_bytes().decode("ascii")).encode("ascii")
        except (InvalidToken, UnicodeDecodeError):
            continue
        partial = path.with_name(f".{path.name}.rotating.partial")
        partial.write_bytes(token)
        partial.replace(path)
        rotated += 1
    return rotated
