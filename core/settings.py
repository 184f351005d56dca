"""The hotline's settings, read from the environment (and `.env`).

Names are a contract: outside checks and deployments set them (README.md,
"Settings", lists them), so fields carry exactly the environment variable
names.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.places import DEFAULT_DATABASE_URL, DEFAULT_DEVELOPMENT_KEY_FILE, PROJECT_ROOT
from core.vault import Vault, vault_for

__all__ = ["PROJECT_ROOT", "Settings", "get_settings"]

LanguageCode = Literal["my", "km", "lo", "th", "en"]
# The staff roles (bot/staff/models.py's Role; the kernel imports nothing of the hotline).
STAFF_ROLES = frozenset({"agent", "supervisor", "admin"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    hotline_environment: Literal["development", "production"] = "development"
    hotline_database_url: str = DEFAULT_DATABASE_URL
    # Database connections the app keeps open. Under load a turn's steps,
    # the engine's calls back and the console use one each at once; a pool
    # too small opens and closes connections all the time (a new server
    # process each on PostgreSQL).
    hotline_database_connections: int = 20
    # Where several app processes share what must be counted across them
    # (the web chat's limits); several engines order turns there too. Unset
    # for one process: kept in its memory.
    hotline_redis_url: str | None = None
    hotline_port: int = 8000
    hotline_host: str = "127.0.0.1"
    # Shared secret that the engine presents when it calls the app's NLG and
    # action endpoints, and that the app presents to the engine's HTTP API.
    hotline_engine_token: SecretStr | None = None
    # Fernet keys, comma-separated, newest first (`hotline keys new` makes
    # one). Without them, development keeps a key in data/encryption.key.
    hotline_encryption_keys: SecretStr | None = None
    hotline_development_key_file: Path = DEFAULT_DEVELOPMENT_KEY_FILE
    hotline_default_language: LanguageCode = "en"
    hotline_locales_dir: Path = PROJECT_ROOT / "locales"
    hotline_domain_file: Path = PROJECT_ROOT / "flows" / "domain.yml"
    # Facts the answers state, with their source keys (content brief).
    hotline_content_dir: Path = PROJECT_ROOT / "flows" / "content"
    # The danger model, trained at start-up when its data changed, is kept
    # here by the data's fingerprint (training takes seconds).
    hotline_danger_cache_dir: Path = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hotline" / "danger"
    )
    # The Latin-letter language model learns from the engine's training data.
    hotline_nlu_data_dir: Path = PROJECT_ROOT / "nlu" / "data"
    # A worker's words are stored whole; only this much is sent to the
    # engine, since intent classification needs no more and long inputs
    # slow the engine for everybody.
    hotline_engine_text_chars: int = 1000
    # Room for a webhook carrying the longest text a platform sends, even when the
    # platform escapes every character of a non-Latin script as \uXXXX.
    hotline_max_body_bytes: int = 1024 * 1024
    # The largest photo, voice note, video or file a worker may send; larger
    # ones are not downloaded (the worker is told the limit).
    hotline_media_max_bytes: int = 25 * 1024 * 1024
    hotline_engine_timeout_seconds: float = 30.0
    hotline_attachments_dir: Path = PROJECT_ROOT / "data" / "attachments"
    # LINE and Telegram messages wait here, encrypted, between the webhook's
    # 200 and their place in the database (seconds at most).
    hotline_inbox_dir: Path = PROJECT_ROOT / "data" / "inbox"
    # Delivery to LINE and Telegram: attempts per reply, the first backoff
    # (doubling each time), and how often unanswered messages are swept up.
    hotline_delivery_attempts: int = 6
    hotline_delivery_base_delay_seconds: float = 1.0
    hotline_delivery_sweep_seconds: float = 30.0
    # LINE and Telegram messages handed to the engine at once. The engine
    # works through one at a time, but needs a few in hand to stay busy while
    # it waits for the app's responses and actions; more in flight only crowd
    # the app's event loop and slow every answer. The rest wait, stored, in
    # arrival order per worker.
    hotline_engine_turns_at_once: int = 8
    # A worker who sends more than this many messages in the window is asked
    # to slow down; the messages are kept, not answered one by one.
    hotline_flood_messages: int = 20
    hotline_flood_window_seconds: float = 60.0
    # The web chat needs no account, so one address (or a crowd of them)
    # could make workers and emergencies as fast as it likes. Messages from
    # one address: this many at once, then this many a minute (a dormitory
    # or a mobile network may put many workers behind one address); all
    # addresses together likewise; and the page's polls per address. Over
    # a limit the web chat answers 429 with Retry-After (the page shows the
    # emergency number, and a message read as danger still gets the
    # emergency numbers); what was accepted is kept.
    hotline_webchat_address_burst: int = 10
    hotline_webchat_address_messages_per_minute: float = 20.0
    hotline_webchat_burst: int = 60
    hotline_webchat_messages_per_minute: float = 300.0
    hotline_webchat_address_polls_per_minute: float = 120.0
    # Web chat emergencies are anonymous and unverified: they wait just
    # below those of LINE and Telegram, and beyond this many within the
    # window they are put together below the others, and supervisors are
    # told once (every worker still gets the emergency numbers at once).
    hotline_webchat_emergency_cap: int = 3
    hotline_webchat_emergency_window_minutes: float = 10.0
    # Retention: conversations no case needs go after this many days of
    # silence; closed cases after the longer period; ids kept only to run the
    # hotline (redeliveries, login attempts) after the short one.
    hotline_retention_conversation_days: int = 90
    hotline_retention_closed_case_days: int = 730
    hotline_retention_housekeeping_days: int = 30
    hotline_retention_interval_hours: float = 24.0

    # Staff console: a login lasts this long; an account is locked for a
    # while after this many wrong passwords in a row; one address may fail
    # this often within the window before it must wait.
    hotline_session_hours: float = 12.0
    hotline_login_lock_after: int = 5
    hotline_login_lock_minutes: float = 15.0
    hotline_login_address_limit: int = 20
    hotline_login_window_minutes: float = 15.0
    # Roles (comma-separated) that must sign in with a second step, a TOTP
    # code: until they set it up, their console sign-in reaches only the
    # setup page. Other roles may set it up; "" requires it of nobody.
    hotline_totp_required_roles: str = "supervisor,admin"
    # Noto fonts for case exports as PDF, in every script workers write
    # (Debian: fonts-noto-core).
    hotline_pdf_fonts_dir: Path = Path("/usr/share/fonts/truetype/noto")

    # Case references read <prefix>-<year>-<number>, for example LPN-2026-00042.
    hotline_case_prefix: str = "LPN"

    # Handoff to staff. Outside these hours (in the hotline's time zone) a
    # waiting worker is told that nobody is in and given the 24-hour numbers;
    # "always" means staff answer around the clock.
    hotline_business_hours: str = "Mon-Fri 08:00-17:00"
    hotline_timezone: str = "Asia/Bangkok"
    # Nobody claimed a waiting worker within this time: supervisors are
    # alerted and the worker is told again, once per wait.
    hotline_queue_alert_minutes: float = 10.0
    # A waiting worker who writes again hears their place in the queue at
    # most this often; and how often the queue is checked for long waits.
    hotline_queue_update_minutes: float = 5.0
    hotline_queue_sweep_seconds: float = 30.0

    rasa_url: str = "http://localhost:5005"

    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    # The LINE Official Account's add-friend link (https://line.me/R/ti/p/@...),
    # given in a group the bot was added to, so that members write to it alone.
    line_add_friend_url: str | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"

    @property
    def totp_required_roles(self) -> frozenset[str]:
        named = self.hotline_totp_required_roles.split(",")
        return frozenset(role.strip().lower() for role in named if role.strip())

    @model_validator(mode="after")
    def _known_totp_roles(self) -> Settings:
        unknown = self.totp_required_roles - STAFF_ROLES
        if unknown:
            raise ValueError(
                f"HOTLINE_TOTP_REQUIRED_ROLES names no such role: {', '.join(sorted(unknown))}"
            )
        return self

    @model_validator(mode="after")
    def _refuse_open_engine_endpoints_in_production(self) -> Settings:
        # Without the token anyone who reaches the app could call the action
        # endpoint and act on a worker's conversation.
        if self.hotline_environment == "production" and not self.hotline_engine_token:
            raise ValueError("HOTLINE_ENGINE_TOKEN must be set in production")
        if self.hotline_environment == "production" and not self.hotline_encryption_keys:
            raise ValueError("HOTLINE_ENCRYPTION_KEYS must be set in production")
        return self

    def vault(self) -> Vault:
        keys = self.hotline_encryption_keys
        return vault_for(
            keys=keys.get_secret_value() if keys else None,
            development_key_file=self.hotline_development_key_file,
            production=self.hotline_environment == "production",
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
