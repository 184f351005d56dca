"""Where the hotline keeps things by default, on the embedded default.

Dependency-free, so that the engine's Python (which cannot load the app's
settings) finds the same database and development key as the app.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'hotline.db'}"
DEFAULT_DEVELOPMENT_KEY_FILE = PROJECT_ROOT / "data" / "encryption.key"
