"""Password hashes, worked out off the event loop in a small pool of threads.

An argon2id hash takes about a seventh of a second of processor time by
design. Run on the event loop, every sign-in (and every guess with an
unknown username, which is checked against a stand-in hash so that it takes
as long) held up every webhook meanwhile: twenty guesses at once kept LINE
waiting more than two seconds for its 200, long enough for LINE to send
everything again. Here the hashing runs on at most `THREADS` threads
(argon2 releases the interpreter lock while it works), so a burst of
sign-ins queues behind itself, never in front of the workers.
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Fewer than the machine's cores, so that a burst of sign-ins leaves a core
# to the app and the engine.
THREADS = 2

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="password-hash")
# Verified against when the username is unknown, so that a wrong username
# takes as long as a wrong password and does not reveal who has an account.
UNKNOWN_ACCOUNT_HASH = _hasher.hash(secrets.token_hex(16))


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def matches(password_hash: str, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _pool, _matches, password_hash, password
    )


def needs_rehash(password_hash: str) -> bool:
    """Made with older parameters than today's (cheap: reads the hash's header)."""
    return _hasher.check_needs_rehash(password_hash)
