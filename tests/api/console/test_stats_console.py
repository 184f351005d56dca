"""The dashboard at /console/stats, its CSV and its JSON API: supervisors and
admins only, counts only, in the staff member's language."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bot.staff.models import Role
from tests.fakes.line_api import FakeLine
from tests.support.console import add_staff, as_staff, audit_actions, staff_id_of, worker_writes


def test_supervisors_see_the_dashboard_and_agents_are_refused(
    client: TestClient, line_api: FakeLine
) -> None:
    worker_writes(client, line_api, "U-counted", "my boss Somchai keeps my papers")
    add_staff(client, "sup", Role.SUPERVISOR)
    add_staff(client, "agent", Role.AGENT)

    as_staff(client, "agent")
    for path in ("/console/stats", "/console/stats.csv", "/api/stats", "/api/stats.csv"):
        assert client.get(path).status_code == 403, path
    assert 'href="/console/stats"' not in client.get("/console/queue").text

    as_staff(client, "sup")
    page = client.get("/console/stats")
    assert page.status_code == 200
    assert 'href="/console/stats"' in page.text
    assert '<canvas id="chart-intents"' in page.text
    assert "/console/static/vendor/chart.umd.min.js" in page.text
    assert "Somchai" not in page.text and "U-counted" not in page.text
    assert client.get("/console/static/vendor/chart.umd.min.js").status_code == 200

    figures = client.get("/api/stats").json()
    assert figures["messages"] == 1 and figures["workers"] == 1
    assert figures["by_channel"] == {"line": 1}
    assert figures["grain"] == "day" and len(figures["series"]) == 30

    exported = client.get("/console/stats.csv", params={"channel": "telegram"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert "figure,period,key,value\nfilter,,start," in exported.text
    assert "filter,,channel,telegram" in exported.text
    assert "messages,total,,0" in exported.text
    assert "Somchai" not in exported.text

    sup = staff_id_of(client, "sup")
    assert audit_actions(client, "stats.view") == [sup, sup]
    assert audit_actions(client, "stats.export") == [sup]


def test_a_period_that_ends_before_it_starts_is_refused(client: TestClient) -> None:
    add_staff(client, "sup", Role.SUPERVISOR)
    as_staff(client, "sup")
    refused = client.get("/api/stats", params={"start": "2026-12-10", "end": "2026-12-01"})
    assert refused.status_code == 422
    too_long = client.get("/api/stats", params={"start": "2024-01-01", "end": "2026-12-01"})
    assert too_long.status_code == 422
    assert client.get("/api/stats", params={"grain": "year"}).status_code == 422


def test_the_dashboard_speaks_the_staff_members_language(client: TestClient) -> None:
    add_staff(client, "sup", Role.SUPERVISOR)
    as_staff(client, "sup")
    client.cookies.set("console_language", "th")
    page = client.get("/console/stats")
    assert "สถิติ" in page.text and "ดาวน์โหลด CSV" in page.text


def test_the_stats_api_is_documented_under_its_tag(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["paths"]["/api/stats"]["get"]["tags"] == ["stats"]
    assert schema["paths"]["/api/stats.csv"]["get"]["tags"] == ["stats"]
    assert "/console/stats" not in schema["paths"]
