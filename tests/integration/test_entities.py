"""What the engine pulls out of a message: provinces, case numbers, phones."""

import httpx
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.engine


def entities(stack: Stack, text: str) -> dict[str, set[str]]:
    response = httpx.post(
        f"{stack.engine_url}/model/parse",
        params={"token": stack.token},
        json={"text": text},
        timeout=30,
    )
    found: dict[str, set[str]] = {}
    for entity in response.json()["entities"]:
        found.setdefault(entity["entity"], set()).add(str(entity["value"]))
    return found


@pytest.mark.parametrize(
    ("text", "province"),
    [
        ("minimum wage in Samut Sakhon how much", "Samut Sakhon"),
        ("ค่าแรงขั้นต่ำ สมุทรสาคร เท่าไหร่", "Samut Sakhon"),
        ("i work in mahachai boss not pay", "Samut Sakhon"),
        ("ranong fishing boat", "Ranong"),
    ],
)
def test_provinces_in_any_spelling_map_to_one_name(stack: Stack, text: str, province: str) -> None:
    assert province in entities(stack, text).get("province", set())


def test_case_numbers_and_phone_numbers(stack: Stack) -> None:
    assert "LPN-2026-00042" in entities(stack, "any news on LPN-2026-00042").get(
        "case_reference", set()
    )
    phones = entities(stack, "please call me 081-234-5678").get("phone_number", set())
    assert any("081" in phone for phone in phones)
