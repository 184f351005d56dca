"""Where the photos, voice notes and files workers send are kept.

Files are encrypted and named by a keyed hash of their content
(`Vault.name_for`), so the same evidence sent twice is kept once, and a
copy of the folder tells nothing of which known files were sent. The plain
SHA-256, which shows a referral partner that the evidence was not changed,
is kept encrypted with the attachment's row.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from core.vault import Vault


@dataclass(frozen=True)
class StoredFile:
    storage_key: str
    sha256: str
    size: int


class AttachmentStore:
    """Files encrypted at rest; the hash is of the original bytes."""

    def __init__(self, root: Path, vault: Vault) -> None:
        self._root = root
        self._vault = vault

    def describe(self, content: bytes) -> StoredFile:
        """Where the file goes and its hash, before anything is written (so
        that its row can be committed first: a file is never on disk without
        a row that erasure and retention will find)."""
        digest = hashlib.sha256(content).hexdigest()
        name = self._vault.name_for(content)
        return StoredFile(storage_key=f"{name[:2]}/{name}", sha256=digest, size=len(content))

    def write(self, stored: StoredFile, content: bytes) -> None:
        """The file, encrypted, written whole (once: the same file sent again
        is the same name). Slow for a large file: called in a thread."""
        path = self._path(stored.storage_key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(self._vault.encrypt(content))
        os.replace(partial, path)

    def read(self, storage_key: str) -> bytes:
        return self._vault.decrypt(self._path(storage_key).read_bytes())

    def delete(self, storage_key: str) -> bool:
        """Remove a file; the caller checks that no attachment still names it."""
        path = self._path(storage_key)
        if not path.exists():
            return False
        path.unlink()
        return True

    def _path(self, storage_key: str) -> Path:
        path = (self._root / storage_key).resolve()
        if self._root.resolve() not in path.parents:
            raise ValueError("storage key outside the attachment store")
        return path
