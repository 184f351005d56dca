"""Column types that store a value encrypted with the hotline's vault.

The vault rides on the database engine's dialect, where SQLAlchemy's column
types can reach it, instead of a module-level global.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

from core.vault import Vault, VaultError

VAULT_ATTRIBUTE = "hotline_vault"


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
