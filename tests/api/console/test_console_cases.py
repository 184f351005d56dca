"""Cases in the console: who may see what, the audit of every view, changes, exports, files."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, text

from bot.staff.models import Role
from core.database import sync_url
from core.settings import Settings
from tests.fakes.line_api import FakeLine
from tests.support.console import (
    as_staff,
    assign,
    audit_actions,
    csrf_of,
    open_report,
    png,
    worker_writes,
)

BURMESE = "အလုပ်ရှင်က ကျွန်တော့် ပတ်စ်ပို့ကို ယူထားတယ်"
THAI = "นายจ้างยึดพาสปอร์ตของฉัน"


@pytest.fixture
def team(client: TestClient) -> dict[str, int]:
    from tests.support.console import add_staff

    return {
        "aye": add_staff(client, "aye", Role.AGENT),
        "bopha": add_staff(client, "bopha", Role.AGENT),
        "sup": add_staff(client, "sup", Role.SUPERVISOR),
        "admin": add_staff(client, "admin", Role.ADMIN),
    }


def test_an_agent_cannot_open_a_case_assigned_to_someone_else(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    worker_writes(client, line_api, "U-case-1", BURMESE)
    case_id = open_report(client, "U-case-1")
    assign(client, case_id, team["aye"])

    as_staff(client, "bopha")
    # Answered as if it did not exist: an agent does not learn of it.
    assert client.get(f"/console/cases/{case_id}").status_code == 404
    assert client.get(f"/api/cases/{case_id}").status_code == 404
    assert client.get(f"/api/cases/{case_id}/export.json").status_code == 404
    assert client.get("/api/cases").json() == []
    # The refusals are on record, and no view is.
    assert audit_actions(client, "case.refused", str(case_id)) == [team["bopha"]] * 3
    assert audit_actions(client, "case.view", str(case_id)) == []

    as_staff(client, "aye")
    page = client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert BURMESE in page.text
    assert [case["id"] for case in client.get("/api/cases").json()] == [case_id]

    as_staff(client, "sup")
    assert client.get(f"/console/cases/{case_id}").status_code == 200
    assert audit_actions(client, "case.view", str(case_id)) == [team["aye"], team["sup"]]


def test_the_audit_log_records_each_case_view_and_admins_read_it(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    worker_writes(client, line_api, "U-case-2", BURMESE)
    case_id = open_report(client, "U-case-2")
    as_staff(client, "sup")
    for _ in range(3):
        assert client.get(f"/console/cases/{case_id}").status_code == 200
    assert client.get(f"/api/cases/{case_id}").status_code == 200
    assert audit_actions(client, "case.view", str(case_id)) == [team["sup"]] * 4
    assert client.get("/api/audit").status_code == 403  # supervisors do not read the log

    as_staff(client, "admin")
    entries = client.get(
        "/api/audit", params={"action": "case.view", "object_id": str(case_id)}
    ).json()
    assert [entry["username"] for entry in entries] == ["sup"] * 4
    assert entries[0]["id"] > entries[-1]["id"]  # newest first
    page = client.get("/console/audit", params={"action": "case.view", "staff": "sup"})
    assert page.status_code == 200
    assert page.text.count("case.view") >= 4
    # By staff member: theirs only, and an unknown name matches nothing.
    for staff, views in (("SUP ", 4), ("admin", 0), ("nobody", 0)):
        entries = client.get("/api/audit", params={"action": "case.view", "staff": staff}).json()
        assert len(entries) == views, staff
    # No worker words in the log.
    assert BURMESE not in json.dumps(client.get("/api/audit").json(), ensure_ascii=False)


def test_the_audit_log_cannot_be_changed_through_the_app(client: TestClient) -> None:
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if "audit" in path:
            assert getattr(route, "methods", {"GET"}) <= {"GET", "HEAD"}, path


def test_cases_are_filtered_by_status_kind_province_language_and_date(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    worker_writes(client, line_api, "U-f-1", BURMESE)
    worker_writes(client, line_api, "U-f-2", THAI)
    worker_writes(client, line_api, "U-f-3", "they do not pay me")
    passport = open_report(client, "U-f-1", kind="document_confiscation", language="my")
    wages = open_report(client, "U-f-2", kind="unpaid_wages", language="th", province="Songkhla")
    violence = open_report(client, "U-f-3", kind="violence", language="en", province="Ranong")
    as_staff(client, "sup")

    def ids(**filters: str) -> set[int]:
        response = client.get("/api/cases", params=filters)
        assert response.status_code == 200, response.text
        return {case["id"] for case in response.json()}

    assert ids() == {passport, wages, violence}
    assert ids(kind="unpaid_wages") == {wages}
    assert ids(province="Ranong") == {violence}
    assert ids(language="my") == {passport}
    assert ids(status="new") == {passport, wages, violence}
    client.post(
        f"/api/cases/{wages}/status",
        json={"status": "in_progress"},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert ids(status="in_progress") == {wages}
    assert ids(since="2000-01-01", until="2000-12-31") == set()
    assert ids(since="2000-01-01") == {passport, wages, violence}
    page = client.get("/console/cases", params={"kind": "violence", "since": ""})
    assert page.status_code == 200
    assert page.text.count('class="card" data-case=') == 1
    assert client.get("/console/cases", params={"since": "25/11/2026"}).status_code == 422


def test_status_moves_along_with_a_case_event_each_and_notes_stay_internal(
    client: TestClient, line_api: FakeLine, team: dict[str, int], settings: Settings
) -> None:
    worker_writes(client, line_api, "U-s-1", BURMESE)
    case_id = open_report(client, "U-s-1")
    assign(client, case_id, team["aye"])
    as_staff(client, "aye")
    token = csrf_of(client)
    for status in ("in_progress", "referred", "closed"):
        moved = client.post(
            f"/console/cases/{case_id}/status",
            data={"status": status, "csrf_token": token},
            follow_redirects=False,
        )
        assert moved.status_code == 303, moved.text
    wrong = client.post(
        f"/api/cases/{case_id}/status", json={"status": "new"}, headers={"X-CSRF-Token": token}
    )
    assert wrong.status_code == 422
    secret_note = "Employer's cousin is a police officer: call the NGO first"
    noted = client.post(
        f"/console/cases/{case_id}/notes",
        data={"text": secret_note, "csrf_token": token},
        follow_redirects=False,
    )
    assert noted.status_code == 303
    # Agents do not assign.
    refused = client.post(
        f"/api/cases/{case_id}/assign",
        json={"staff_id": team["aye"]},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 403

    document = client.get(f"/api/cases/{case_id}").json()
    assert document["status"] == "closed" and document["closed_at"]
    events = [entry for entry in document["timeline"] if entry["type"] == "event"]
    assert [(e["event"], (e["detail"] or {}).get("to")) for e in events] == [
        ("reported", None),
        ("status", "in_progress"),
        ("status", "referred"),
        ("status", "closed"),
    ]
    assert [entry["text"] for entry in document["timeline"] if entry["type"] == "note"] == [
        secret_note
    ]
    # Encrypted at rest; the audit entry names the note, not its words.
    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT text FROM notes")).scalar_one()
        details = connection.execute(text("SELECT detail FROM audit_log")).scalars().all()
    engine.dispose()
    assert "police" not in stored
    assert all("police" not in json.dumps(detail) for detail in details)
    # The worker was never sent the note.
    assert all("police" not in sent for sent in line_api.texts("/message/reply"))
    assert all("police" not in sent for sent in line_api.texts("/message/push"))


def test_a_supervisor_assigns_and_the_agent_then_sees_it(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    worker_writes(client, line_api, "U-a-1", BURMESE)
    case_id = open_report(client, "U-a-1")
    as_staff(client, "sup")
    assigned = client.post(
        f"/console/cases/{case_id}/assign",
        data={"staff_id": str(team["bopha"]), "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    assert "Bopha" in client.get(f"/console/cases/{case_id}").text
    as_staff(client, "bopha")
    assert [case["id"] for case in client.get("/api/cases").json()] == [case_id]
    assert audit_actions(client, "case.assign", str(case_id)) == [team["sup"]]


def test_a_workers_script_tag_is_shown_as_text(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    worker_writes(client, line_api, "U-x-1", attack)
    case_id = open_report(client, "U-x-1", answers={"what": attack})
    as_staff(client, "sup")
    page = client.get(f"/console/cases/{case_id}").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_export_as_json_and_pdf_for_a_referral(
    client: TestClient, line_api: FakeLine, team: dict[str, int], tmp_path: Path
) -> None:
    photo = png(300, 200)
    worker_writes(client, line_api, "U-e-1", BURMESE, THAI, photo=photo)
    case_id = open_report(
        client,
        "U-e-1",
        answers={"what": BURMESE, "where": "ສະໝຸດສາຄອນ", "employer": "ក្រុមហ៊ុនត្រី"},
        contact={"phone": "0812345678"},
    )
    withheld_id = open_report(client, "U-e-1", consent=False, contact={"phone": "0899999999"})
    as_staff(client, "sup")

    exported = client.get(f"/api/cases/{case_id}/export.json")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    assert document["reference"].startswith("LPN-")
    assert document["answers"]["what"] == BURMESE
    assert document["contact"] == {"phone": "0812345678"}
    assert document["indicators"][0]["key"] == "retention_of_identity_documents"
    assert document["indicators_source"] == "T6"
    inbound = [e for e in document["timeline"] if e["type"] == "inbound"]
    assert [e["text"] for e in inbound] == [BURMESE, THAI, ""]
    [sent_photo] = inbound[2]["attachments"]
    assert sent_photo["sha256"] == hashlib.sha256(photo).hexdigest()
    assert "storage_key" not in sent_photo
    assert document["exported_by"] == "sup"
    assert client.get(f"/api/cases/{withheld_id}/export.json").json()["contact"] is None

    pdf = client.get(f"/api/cases/{case_id}/export.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf.content)
    extracted = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    squeezed = "".join(extracted.split())
    assert document["reference"] in extracted
    for words in (BURMESE, THAI, "ສະໝຸດສາຄອນ", "ក្រុមហ៊ុនត្រី", "0812345678"):
        assert "".join(words.split()) in squeezed, words
    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout
    for family in ("NotoSansMyanmar", "NotoSansThai", "NotoSansLao", "NotoSansKhmer"):
        assert family in fonts
    # The worker's photo is drawn, beside its hash.
    images = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    assert len(images) == 1 and images[0].split()[3:5] == ["300", "200"]
    assert hashlib.sha256(photo).hexdigest() in squeezed
    assert "SHA-256" in extracted
    withheld = client.get(f"/api/cases/{withheld_id}/export.pdf").content
    (tmp_path / "withheld.pdf").write_bytes(withheld)
    withheld_text = subprocess.run(
        ["pdftotext", str(tmp_path / "withheld.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "0899999999" not in withheld_text and "Withheld" in withheld_text
    assert audit_actions(client, "case.export", str(case_id)) == [team["sup"]] * 2


def test_a_photo_claiming_too_many_pixels_is_listed_not_drawn(
    client: TestClient, line_api: FakeLine, team: dict[str, int], tmp_path: Path
) -> None:
    """A few kilobytes that decode to 80 million pixels (a decompression
    bomb) must not take the export, or the app, down."""
    out = io.BytesIO()
    Image.new("1", (10_000, 8_000)).save(out, format="PNG")
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    worker_writes(client, line_api, "U-bomb", BURMESE, photo=bomb)
    case_id = open_report(client, "U-bomb")
    as_staff(client, "sup")
    pdf = client.get(f"/api/cases/{case_id}/export.pdf")
    assert pdf.status_code == 200
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf.content)
    extracted = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "could not be drawn" in extracted
    listed = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    assert listed == []


def test_a_workers_photo_is_served_decrypted_only_to_staff_who_handle_it(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    photo = png()
    worker_writes(client, line_api, "U-p-1", BURMESE, photo=photo)
    case_id = open_report(client, "U-p-1")
    assign(client, case_id, team["aye"])
    as_staff(client, "aye")
    document = client.get(f"/api/cases/{case_id}").json()
    [ref] = [a for e in document["timeline"] for a in e["attachments"]]
    assert f'src="/api/attachments/{ref["id"]}"' in client.get(f"/console/cases/{case_id}").text

    served = client.get(f"/api/attachments/{ref['id']}")
    assert served.status_code == 200
    assert served.content == photo
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("inline")

    as_staff(client, "bopha")
    assert client.get(f"/api/attachments/{ref['id']}").status_code == 404
    client.cookies.clear()
    assert client.get(f"/api/attachments/{ref['id']}").status_code == 401
    assert audit_actions(client, "attachment.view", str(ref["id"])) == [team["aye"]]
    assert audit_actions(client, "attachment.refused", str(ref["id"])) == [team["bopha"]]


def test_an_integration_token_changes_a_case_without_a_csrf_token(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    from tests.support.console import state_of

    worker_writes(client, line_api, "U-t-1", BURMESE)
    case_id = open_report(client, "U-t-1")

    async def issue() -> str:
        return await state_of(client).accounts.create_api_token(username="sup", name="NGO")

    headers = {"Authorization": f"Bearer {client.portal.call(issue)}"}
    client.cookies.clear()
    moved = client.post(
        f"/api/cases/{case_id}/status", json={"status": "in_progress"}, headers=headers
    )
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
    noted = client.post(
        f"/api/cases/{case_id}/notes", json={"text": "Sent to NGO"}, headers=headers
    )
    assert noted.status_code == 201
    assert audit_actions(client, "case.status", str(case_id)) == [team["sup"]]


def test_a_voice_note_plays_from_the_case_page_and_other_files_download(
    client: TestClient, line_api: FakeLine, team: dict[str, int]
) -> None:
    from tests.fakes.line_api import event, sign, webhook_body

    voice = b"\x1aE\xdf\xa3 a short voice note"
    page_like = b"<html><script>alert(1)</script></html>"
    line_api.contents["m-voice"] = (voice, "audio/m4a")
    line_api.contents["m-file"] = (page_like, "text/html")
    for message in (
        {"type": "audio", "id": "m-voice", "duration": 3000, "contentProvider": {"type": "line"}},
        {"type": "file", "id": "m-file", "fileName": "x.html", "fileSize": len(page_like)},
    ):
        body = webhook_body(
            event("message", "U-v-1", replyToken=f"rt-{message['id']}", message=message)
        )
        posted = client.post(
            "/webhooks/line",
            content=body,
            headers={"content-type": "application/json", "x-line-signature": sign(body)},
        )
        assert posted.status_code == 200
    line_api.wait_for("/m-file/content")
    case_id = open_report(client, "U-v-1")
    as_staff(client, "sup")

    def refs() -> list[dict[str, object]]:
        document = client.get(f"/api/cases/{case_id}").json()
        return [a for e in document["timeline"] for a in e["attachments"]]

    from tests.support import eventually

    eventually(lambda: len(refs()) == 2)
    # The stored type as the platform sent it (a charset may follow).
    by_type = {str(ref["content_type"]).split(";")[0]: ref["id"] for ref in refs()}
    page = client.get(f"/console/cases/{case_id}").text
    assert f'<audio controls preload="none" src="/api/attachments/{by_type["audio/m4a"]}">' in page

    played = client.get(f"/api/attachments/{by_type['audio/m4a']}")
    assert played.content == voice
    assert played.headers["content-type"] == "audio/m4a"
    assert played.headers["content-disposition"].startswith("inline")
    # A file claiming to be a web page is only ever downloaded, and runs nothing.
    downloaded = client.get(f"/api/attachments/{by_type['text/html']}")
    assert downloaded.content == page_like
    assert downloaded.headers["content-disposition"].startswith("attachment")
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in downloaded.headers["content-security-policy"]
