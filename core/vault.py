"""Encryption at rest for what workers write.

Message texts, shared locations and attachment files are stored encrypted
(Fernet: AES-128-CBC with HMAC-SHA256), so the database or a backup of it
reveals no worker's words. Several keys may be held, newest first: new data
is written with the first, and older keys still read what they wrote, which
is what lets keys be rotated.

This module needs only `cryptography`: the engine's Python (its own venv, with
Rasa's older SQLAlchemy) imports it too, to keep the conversations it
remembers encrypted with the same keys. The column types that encrypt on the
way into the database are in `core.encrypted_columns`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

logger = logging.getLogger(__name__)


class VaultError(RuntimeError):
    pass


# What the key for naming files is derived for: a name of its own, so that
# it can never be taken for the key that encrypts.
_NAMING = b"hotline attachment names"


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise VaultError("no encryption key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        self._naming_key = hmac.new(
            base64.urlsafe_b64decode(keys[0].encode()), _NAMING, hashlib.sha256
        ).digest()

    def name_for(self, content: bytes) -> str:
        """A file's name from its content, keyed with the newest key: the same
        file is kept once, and a holder of the files without the key cannot
        test whether a file they know was sent (as a plain hash would let them)."""
        return hmac.new(self._naming_key, content, hashlib.sha256).hexdigest()

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
        return _written_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # The engine and the app start together: the other one made it first.
        return _written_key(path)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    logger.warning("made a development encryption key at %s", path)
    return key


def _written_key(path: Path) -> str:
    # The maker writes the key right after creating the file.
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise VaultError(f"{path} stays empty")


def vault_for(*, keys: str | None, development_key_file: Path, production: bool) -> Vault:
    """The hotline's vault: the configured keys, or in development a key kept
    in a file beside the embedded database. One rule for the app and the engine."""
    if keys and parse_keys(keys):
        return Vault(parse_keys(keys))
    if production:
        raise VaultError("HOTLINE_ENCRYPTION_KEYS must be set in production")
    return Vault([development_key(development_key_file)])
