"""The API's documentation pages load scripts from a CDN: development only."""

from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings


def test_documentation_pages_are_served_in_development_only(settings: Settings) -> None:
    for environment, page_status in (("development", 200), ("production", 404)):
        chosen = settings.model_copy(update={"hotline_environment": environment})
        with TestClient(create_app(chosen)) as client:
            assert client.get("/docs").status_code == page_status, environment
            assert client.get("/redoc").status_code == page_status, environment
            # The description itself stays, for tools that read it.
            assert client.get("/openapi.json").status_code == 200
