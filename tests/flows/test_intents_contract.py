"""The intent names are a public contract: the project's copy of the
taxonomy, the engine's domain and the training data must agree.
"""

import re
from pathlib import Path

import yaml

from core.settings import PROJECT_ROOT
from tests.support.actions import INTERNAL_INTENTS

LANGUAGES = ("my", "km", "lo", "th", "en")


def taxonomy_intents(path: Path) -> set[str]:
    table_row = re.compile(r"^\|\s*([a-z_]+)\s*\|")
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = table_row.match(line)
        if match and match.group(1) not in ("intent", "entity"):
            names.add(match.group(1))
    return names


def test_docs_mirror_the_shared_taxonomy() -> None:
    shared = PROJECT_ROOT.parent / "shared" / "intents.md"
    docs = PROJECT_ROOT / "docs" / "intents.md"
    if shared.exists():
        assert docs.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")
    assert len(taxonomy_intents(docs)) >= 22


def test_domain_lists_exactly_the_taxonomy() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "flows" / "domain.yml").read_text(encoding="utf-8"))
    names = taxonomy_intents(PROJECT_ROOT / "docs" / "intents.md")
    intents = set(domain["intents"]) - INTERNAL_INTENTS
    entities = set(domain["entities"])
    # Intents exactly, besides the internal ones; entities may add the
    # hotline's own button-only ones (`topic`, and `report_field` on the
    # report summary's "change this answer" buttons).
    assert intents == names - entities
    assert not INTERNAL_INTENTS & names
    assert names - intents <= entities
    assert entities - names <= {"topic", "report_field"}


def test_every_intent_is_trained_in_every_language() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "flows" / "domain.yml").read_text(encoding="utf-8"))
    for language in LANGUAGES:
        counts: dict[str, int] = {}
        for path in sorted((PROJECT_ROOT / "nlu" / "data" / language).glob("*.yml")):
            for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
                if "intent" in block:
                    examples = [e for e in block["examples"].splitlines() if e.strip()]
                    counts[block["intent"]] = counts.get(block["intent"], 0) + len(examples)
        for intent in domain["intents"]:
            least = 3 if intent in INTERNAL_INTENTS else 30
            assert counts.get(intent, 0) >= least, (language, intent, counts.get(intent, 0))
