"""A worker's phone number, typed in the report form: kept in one place, out of
a referral unless the worker agreed to sharing, and gone when their data is
erased.

Driven as the hotline is: the worker writes in the web chat, the engine files
the report through the action endpoint, staff export and erase through the
console's API.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine, select

from bot.staff.models import Role
from core.database import sync_url
from core.settings import Settings
from core.vault import VaultError
from tests.support import TEST_VAULT
from tests.support.actions import ANSWERS, call, run, worker
from tests.support.console import add_staff, as_staff, csrf_of

# As the worker typed it; the engine's phone pattern takes it whole.
TYPED = "089-147-2583"


def carries_the_number(text: str) -> bool:
    """The number however it is written out: with or without dashes, spaces,
    a country code, or a PDF's line break in the middle."""
    return re.search(r"\D{0,3}".join("891472583"), text) is not None


def file_report(client: TestClient, settings: Settings, user: str, *, consent: bool) -> str:
    """The worker writes their number, then files a report giving it as contact."""
    sender = worker(client, settings, user, f"you can call me on {TYPED}")
    began = {"event": "active_loop", "timestamp": time.time() - 5, "name": "report_form"}
    slots = {**ANSWERS, "report_contact": TYPED, "report_consent": "yes" if consent else "no"}
    entities = [{"entity": "phone_number", "value": TYPED}]
    run(
        client,
        call("action_submit_report", sender, slots=slots, events=[began], entities=entities),
    )
    return sender


def as_supervisor(client: TestClient) -> int:
    add_staff(client, "sup", Role.SUPERVISOR)
    as_staff(client, "sup")
    [case] = client.get("/api/cases").json()
    case_id: int = case["id"]
    # Staff wrote down the number while following the case up.
    noted = client.post(
        f"/api/cases/{case_id}/notes",
        json={"text": "called 0891472583 twice, no answer"},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert noted.status_code == 201
    return case_id


def pdf_text(client: TestClient, case_id: int, tmp_path: Path) -> str:
    exported = client.get(f"/api/cases/{case_id}/export.pdf")
    assert exported.status_code == 200
    path = tmp_path / f"case-{case_id}.pdf"
    path.write_bytes(exported.content)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_a_report_without_consent_leaves_the_number_out_of_every_export(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    file_report(client, settings, "w-no-consent", consent=False)
    case_id = as_supervisor(client)

    exported = client.get(f"/api/cases/{case_id}/export.json")
    assert exported.status_code == 200
    assert not carries_the_number(exported.text)
    document = exported.json()
    assert document["contact"] is None and "contact" not in document["answers"]
    # The rest of the report goes to the referral as it was given.
    assert document["answers"]["when"] == "since March"
    [typed] = [entry for entry in document["timeline"] if entry["type"] == "inbound"]
    assert typed["withheld"] and typed["text"] == ""

    printed = pdf_text(client, case_id, tmp_path)
    assert not carries_the_number(printed)
    assert "since March" in printed and "Withheld" in printed

    # Staff who handle the case still reach the worker.
    assert carries_the_number(client.get(f"/console/cases/{case_id}").text)
    staff_view = client.get(f"/api/cases/{case_id}").json()
    assert carries_the_number(json.dumps(staff_view["contact"]))


def test_a_report_with_consent_shares_the_number(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    file_report(client, settings, "w-consent", consent=True)
    case_id = as_supervisor(client)

    document = client.get(f"/api/cases/{case_id}/export.json").json()
    assert document["consent_to_share"]
    assert carries_the_number(json.dumps(document["contact"]))
    # One place for it: the contact, not the answers.
    assert "contact" not in document["answers"]
    [typed] = [entry for entry in document["timeline"] if entry["type"] == "inbound"]
    assert not typed["withheld"] and carries_the_number(typed["text"])
    assert carries_the_number(pdf_text(client, case_id, tmp_path))


def stored_texts(database_url: str) -> Iterator[tuple[str, str, str]]:
    """Every value of every column of every table, decrypted where it is encrypted."""
    engine = create_engine(sync_url(database_url))
    metadata = MetaData()
    metadata.reflect(engine)
    try:
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)):
                    for column, value in row._mapping.items():
                        if value is None:
                            continue
                        yield table.name, column, _readable(value)
    finally:
        engine.dispose()


def _readable(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    try:
        return TEST_VAULT.decrypt_text(text)
    except (VaultError, UnicodeError, ValueError):
        return text


def test_erasing_a_workers_data_leaves_their_number_nowhere_in_the_database(
    client: TestClient, settings: Settings
) -> None:
    sender = file_report(client, settings, "w-erase", consent=False)
    # The worker asks for a person; staff note the number in the conversation too.
    asked = [{"event": "user", "parse_data": {"intent": {"name": "request_human"}}}]
    run(client, call("action_hand_to_staff", sender, intent="request_human", events=asked))
    case_id = as_supervisor(client)
    [waiting] = client.get("/api/handoff/queue").json()
    noted = client.post(
        f"/api/handoff/conversations/{waiting['conversation_id']}/notes",
        json={"text": "she can take calls on +66 89 147 2583 after 6 pm"},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert noted.status_code == 201
    database = settings.hotline_database_url
    assert any(carries_the_number(text) for _, _, text in stored_texts(database))

    run(client, call("action_request_deletion", sender, intent="request_data_deletion"))
    [request] = client.get("/api/deletion-requests").json()
    confirmed = client.post(
        f"/api/deletion-requests/{request['id']}/confirm",
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert confirmed.status_code == 200

    stored = stored_texts(database)
    assert [(table, column) for table, column, text in stored if carries_the_number(text)] == []
    # The report stays, anonymous, for the abuse it describes.
    case = client.get(f"/api/cases/{case_id}").json()
    assert case["answers"]["when"] == "since March" and case["contact"] is None


def test_staff_following_a_report_up_read_how_to_reach_the_worker(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-follow-up")
    run(client, call("action_submit_report", sender, slots={**ANSWERS, "report_consent": "no"}))
    add_staff(client, "agent", Role.AGENT)
    as_staff(client, "agent")
    # In the queue, where the worker's messages are shown as well.
    [waiting] = client.get("/api/handoff/queue").json()
    assert waiting["reason"] == "report_follow_up"
    assert waiting["case"]["contact"] == {"by": "chat"}
    assert "contact" not in waiting["case"]["answers"]
