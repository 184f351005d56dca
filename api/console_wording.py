"""The console's own words in the staff member's language.

Staff read Thai or English, and some of them Burmese, Khmer or Lao. The
console's words are written in English in its templates, its script and its
errors, and translated through the gettext catalogs
`locales/<language>/LC_MESSAGES/console.po`, read with babel at start-up (no
compile step to forget). `hotline content template` extracts
`locales/console.pot` from those sources and brings the catalogs in line; a
test checks that both are current and that every catalog has every message.

Entries marked `fuzzy` are machine drafts awaiting review by a native
speaker. They are served, as the workers' drafts are, and `hotline content
report` counts them; a staff member unsure of a draft switches to English in
the header.

Only the hotline's own words are translated. What workers and staff wrote is
shown as written, and every translation is escaped like any other text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po
from fastapi import Request

from bot.texts import CatalogStats

DOMAIN = "console"
SOURCE_LANGUAGE = "en"
# Chosen in the console's header; kept a year, read by pages and the API.
COOKIE = "console_language"
COOKIE_SECONDS = 365 * 24 * 3600

# The order of the header's language switch: the languages the hotline's
# staff read most first.
_ORDER = {"en": 0, "th": 1, "my": 2, "km": 3, "lo": 4}

# Where the console's words are written, and how babel reads each kind.
_CONSOLE = Path(__file__).with_name("console")
_SOURCES: list[tuple[str, str]] = [
    # Third-party scripts (Chart.js) carry no words of the console.
    ("static/vendor/**", "ignore"),
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("static/**.js", "javascript"),
    ("**.py", "python"),
]
# `t` in the script, `_` in templates, `N_` where Python marks a message
# that is translated later; the console's errors carry their message as
# their first argument.
_KEYWORDS = {
    "_": None,
    "t": None,
    "N_": None,
    "InvalidInput": None,
    "NotFound": None,
    "Forbidden": None,
    "Conflict": None,
}
# Outside the console: the error tree, the services that raise its errors
# with their own messages, and the labels of statuses and kinds.
_ROOT = _CONSOLE.parents[1]
_SERVICE_SOURCES: list[tuple[Path, str]] = [
    (_ROOT / "core", "errors.py"),
    (_ROOT / "bot" / "staff", "**.py"),
    (_ROOT / "bot" / "cases", "**.py"),
    (_ROOT / "bot" / "handoff", "**.py"),
    (_ROOT / "bot", "labels.py"),
    (_ROOT / "bot", "access.py"),
]

_ACCEPT = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def catalog_path(locales_dir: Path, language: str) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def template_path(locales_dir: Path) -> Path:
    return locales_dir / f"{DOMAIN}.pot"


@dataclass(frozen=True)
class Wording:
    """One language's console text: `_` for pages and errors, `script` for handoff.js."""

    language: str
    name: str
    _table: dict[str, str]
    script: dict[str, str]

    def _(self, message: str, **values: Any) -> str:
        text = self._table.get(message) or message
        return text % values if values else text


class ConsoleWording:
    """Every console catalog under `locales/`, loaded once."""

    def __init__(self, locales_dir: Path) -> None:
        self._wordings: dict[str, Wording] = {
            SOURCE_LANGUAGE: Wording(SOURCE_LANGUAGE, _own_name(SOURCE_LANGUAGE), {}, {})
        }
        found = locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
        for path in sorted(found, key=lambda path: _ORDER.get(path.parents[1].name, 99)):
            language = path.parents[1].name
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            table = {str(m.id): str(m.string) for m in catalog if m.id and m.string}
            script = {
                str(m.id): str(m.string)
                for m in catalog
                if m.id and m.string and any(p.endswith(".js") for p, _ in m.locations)
            }
            self._wordings[language] = Wording(language, _own_name(language), table, script)

    @property
    def languages(self) -> dict[str, str]:
        """Each console language's code and its name in its own script."""
        return {code: wording.name for code, wording in self._wordings.items()}

    def get(self, language: str) -> Wording:
        return self._wordings.get(language) or self._wordings[SOURCE_LANGUAGE]

    def for_request(self, request: Request) -> Wording:
        """The staff member's choice (cookie), else their browser's, else English."""
        chosen = request.cookies.get(COOKIE, "")
        if chosen in self._wordings:
            return self._wordings[chosen]
        preferred = _accepted(request.headers.get("accept-language", ""))
        language = negotiate_locale(preferred, list(self._wordings), sep="-")
        return self.get(language or SOURCE_LANGUAGE)


def _own_name(language: str) -> str:
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def _accepted(header: str) -> list[str]:
    """Accept-Language's languages, the most wanted first."""
    weighed: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        match = _ACCEPT.fullmatch(part)
        if not match or match.group(1) == "*":
            continue
        try:
            weight = float(match.group(2) or 1)
        except ValueError:
            continue
        if weight > 0:
            weighed.append((-weight, position, match.group(1).lower()))
    return [language for _, _, language in sorted(weighed)]


def extract() -> Catalog:
    """The console's messages as they stand in its sources."""
    catalog = Catalog(domain=DOMAIN, project="hotline-console", charset="utf-8")

    def found() -> Iterator[tuple[Path, tuple[str, int, Any, list[str], Any]]]:
        for entry in extract_from_dir(_CONSOLE, _SOURCES, keywords=_KEYWORDS):
            yield _CONSOLE, entry
        for folder, pattern in _SERVICE_SOURCES:
            for entry in extract_from_dir(folder, [(pattern, "python")], keywords=_KEYWORDS):
                yield folder, entry

    for folder, (filename, line, message, comments, _context) in found():
        path = (folder / filename).relative_to(_ROOT).as_posix()
        catalog.add(message, locations=[(path, line)], auto_comments=comments)
    return catalog


def write_template(locales_dir: Path) -> Path:
    """Write `console.pot` and bring each catalog in line with it (new
    messages empty, gone ones dropped, locations refreshed)."""
    template = extract()
    path = template_path(locales_dir)
    with path.open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True, include_lineno=False)
    for catalog_file in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with catalog_file.open("rb") as handle:
            catalog = read_po(handle, locale=catalog_file.parents[1].name)
        before = _contents(catalog)
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if _contents(catalog) == before:
            # Nothing new for translators: the file stays as it was.
            catalog.creation_date = created
        with catalog_file.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, include_lineno=False)
    return path


def _contents(catalog: Catalog) -> list[tuple[str, str, list[str]]]:
    return sorted(
        (str(m.id), str(m.string), sorted({path for path, _ in m.locations}))
        for m in catalog
        if m.id
    )


def stats(locales_dir: Path) -> list[CatalogStats]:
    """Per console catalog: messages, missing ones, drafts awaiting review."""
    with template_path(locales_dir).open("rb") as handle:
        wanted = {str(m.id) for m in read_po(handle) if m.id}
    found = []
    for path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        translated = {str(m.id) for m in catalog if m.id and m.string}
        drafts = {str(m.id) for m in catalog if m.id and m.string and m.fuzzy}
        found.append(
            CatalogStats(
                language=path.parents[1].name,
                messages=len(wanted),
                missing=len(wanted - translated),
                awaiting_review=len(drafts & wanted),
            )
        )
    return found
