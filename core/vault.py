"""Encryption at rest for what workers write.

Message texts, shared locations and attachment files are stored encrypted
(Fernet: AES-128-CBC with HMAC-SHA256), so the database or a backup of it
reveals no worker's words. Several keys may be held, newest first: new data
is written with the first, and older keys still read what they wrote, which
is what lets keys be rotated.

The vault rides on the database engine's dialect, where SQLAlchemy's column
types can reach it, instead of a module-level global.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

VAULT_ATTRIBUTE = "hotline_vault"


class VaultError(RuntimeError):
    pass


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise VaultError("no encryption key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise VaultError("data encrypted with a key the hotline no longer holds") from None

    def encrypt_text(self, text: str) -> str:
        return self.encrypt(text.encode()).decode("ascii")

    def decrypt_text(self, token: str) -> str:
        return self.decrypt(token.encode("ascii")).decode()

    def rotate(self, token: str) -> str:
        """The same data under the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


def parse_keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


def development_key(path: Path) -> str:
    """A key kept beside the embedded database, made on first use (development only)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    logger.warning("made a development encryption key at %s", path)
    return key


def attach(dialect: Dialect, vault: Vault) -> None:
    setattr(dialect, VAULT_ATTRIBUTE, vault)


def _vault(dialect: Dialect) -> Vault:
    vault = getattr(dialect, VAULT_ATTRIBUTE, None)
    if vault is None:
        raise VaultError("no vault attached to this database engine")
    assert isinstance(vault, Vault)
    return vault


class EncryptedText(TypeDecorator[str]):
    """Text stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _vault(dialect).encrypt_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _vault(dialect).decrypt_text(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _vault(dialect).encrypt_text(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(_vault(dialect).decrypt_text(value))
