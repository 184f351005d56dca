"""Every word a worker reads is in every catalog, and drafts are flagged."""

import shutil
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from bot.channels.line import LABEL_LIMIT
from bot.language import LANGUAGES
from bot.responses import Responses
from bot.texts import Texts, catalog_path, write_template
from core.settings import PROJECT_ROOT

LOCALES = PROJECT_ROOT / "locales"


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts(LOCALES)


@pytest.fixture(scope="module")
def responses(texts: Texts) -> Responses:
    return Responses(PROJECT_ROOT / "flows" / "domain.yml", texts)


def test_every_catalog_has_every_message(texts: Texts) -> None:
    for stats in texts.stats():
        assert stats.missing == 0, stats
        assert stats.messages == len(texts.message_ids())


def test_every_response_uses_messages_that_exist(texts: Texts, responses: Responses) -> None:
    assert responses.message_ids() <= texts.message_ids()


def test_every_response_the_rules_use_is_defined(responses: Responses) -> None:
    rules = yaml.safe_load((PROJECT_ROOT / "flows" / "data" / "rules.yml").read_text())
    used = {
        step["action"]
        for rule in rules["rules"]
        for step in rule["steps"]
        if str(step.get("action", "")).startswith("utter_")
    }
    assert used <= responses.names()


def test_responses_render_in_every_language(responses: Responses) -> None:
    for name in responses.names():
        for language in LANGUAGES:
            reply = responses.render(name, language)
            assert reply.text.strip()
            assert all(button.title.strip() for button in reply.buttons)


def test_language_picker_names_each_language_in_its_own_script(responses: Responses) -> None:
    titles = [button.title for button in responses.render("utter_welcome", "en").buttons]
    assert titles == ["မြန်မာ", "ខ្មែរ", "ລາວ", "ไทย", "English"]


def test_machine_drafted_translations_are_marked_for_review() -> None:
    # Only the English source and each language's own name are checked text.
    for language in LANGUAGES:
        with Path(catalog_path(LOCALES, language)).open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id or language == "en" or message.id == "language_name":
                continue
            assert message.fuzzy, f"{language}: {message.id} is not marked for review"


def test_hotline_numbers_match_the_content_brief(texts: Texts) -> None:
    # content-brief section 7: the numbers the hotline gives out.
    for language in LANGUAGES:
        text = texts.get(language, "hotlines")
        for number in ("1546", "1694", "1506", "1300", "191", "1669"):
            assert number in text, (language, number)


def test_every_placeholder_is_a_slot_the_actions_fill(texts: Texts, responses: Responses) -> None:
    import string

    domain = yaml.safe_load((PROJECT_ROOT / "flows" / "domain.yml").read_text(encoding="utf-8"))
    slots = set(domain["slots"])
    for message_id in responses.message_ids():
        for language in LANGUAGES:
            fields = {
                name
                for _, name, _, _ in string.Formatter().parse(texts.get(language, message_id))
                if name
            }
            assert fields <= slots, (language, message_id, fields - slots)


@pytest.mark.parametrize("responses_file", ["domain.yml", "responses.yml"])
def test_every_button_fits_a_line_quick_reply_label(texts: Texts, responses_file: str) -> None:
    # LINE cuts longer labels short, and a cut label can read as something else.
    replies = Responses(PROJECT_ROOT / "flows" / responses_file, texts)
    too_long = {
        (name, language, button.title)
        for name in replies.names()
        for language in LANGUAGES
        for button in replies.render(name, language).buttons
        if len(button.title) > LABEL_LIMIT
    }
    assert not too_long


def test_the_translators_template_holds_every_message_with_its_comments(tmp_path: Path) -> None:
    # The committed template must be what `hotline content template` writes.
    shutil.copytree(LOCALES, tmp_path / "locales")
    written = write_template(tmp_path / "locales")

    def entries(path: Path) -> list[tuple[str, list[str]]]:
        with path.open("rb") as handle:
            return [(str(m.id), list(m.auto_comments)) for m in read_po(handle) if m.id]

    assert entries(LOCALES / "messages.pot") == entries(written)
    assert {message_id for message_id, _ in entries(written)} == Texts(LOCALES).message_ids()
