"""Answers are used, as facts (the question names the fact it sets): a stated fit and waist
steer the configurator's suggestion, a stated category leads the recommendations. Over HTTP, on
both backends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import KeyMaker
from tests.api.test_configurator import CONFIGURE, configure

# The facts these questions set are the family's names (``fit``, ``waist``): that is the link.
QUESTIONS: dict[str, dict[str, Any]] = {
    "how-do-you-like-it": {
        "text": "Slim, regular or relaxed?",
        "kind": "choice",
        "options": ["slim", "regular", "relaxed"],
        "attribute": "fit",
        "decides": "size",
    },
    "your-waist": {
        "text": "Your waist, in inches?",
        "kind": "number",
        "attribute": "waist",
        "decides": "size",
    },
}


def _suggested(client: TestClient, h: dict[str, str], **body: Any) -> dict[str, str]:
    answer = configure(client, h, CONFIGURE, customer_id="c1", **body)
    selections: dict[str, str] = answer["suggested"]["selections"]
    return selections


def test_a_stated_fit_and_waist_steer_the_suggestion(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    client.put("/v1/customers/c1", json={}, headers=h)
    for qid, q in QUESTIONS.items():
        assert client.put(f"/v1/questions/{qid}", json=q, headers=h).status_code == 201
    before = _suggested(client, h)
    assert before["fit"] != "relaxed"  # relaxed costs more: never suggested unasked
    for qid, value in (("how-do-you-like-it", "relaxed"), ("your-waist", 40)):
        r = client.post(
            "/v1/customers/c1/answers", json={"question_id": qid, "value": value}, headers=h
        )
        assert r.status_code == 201, r.text
    answer = configure(client, h, CONFIGURE, customer_id="c1")
    assert answer["suggested"]["selections"]["fit"] == "relaxed"
    assert answer["suggested"]["selections"]["waist_hip"].startswith("W40-")
    assert answer["personalization"]["stated"] == {"fit": "relaxed", "waist": 40.0}
    assert answer["personalization"]["status"] == "applied"
    # stated facts restrict nothing and yield to what the request says
    assert options(answer, "fit")["slim"]["valid"]
    asked = _suggested(client, h, preferences={"fit": "regular"}, measurements={"waist": 30})
    assert asked["fit"] == "regular" and asked["waist_hip"].startswith("W30-")
    # without consent to personalization, nothing stated is used either
    client.patch("/v1/customers/c1", json={"consent": {"personalization": False}}, headers=h)
    assert _suggested(client, h)["fit"] == before["fit"]


def options(answer: dict[str, Any], attribute: str) -> dict[str, dict[str, Any]]:
    return {o["value"]: o for o in answer["options"][attribute]}


def test_a_stated_category_leads_the_recommendations(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    items = [
        {"item_id": f"{c}{i}", "title": f"{c}{i}", "category": c, "price": 10}
        for c in ("shirts", "suits")
        for i in range(4)
    ]
    assert client.post("/v1/items/batch", json={"items": items}, headers=h).status_code == 200
    events = [
        {"event_id": f"e{k}", "customer_id": f"p{k % 3}", "item_id": f"shirts{k % 4}",
         "type": "purchase"}
        for k in range(12)
    ] + [
        {"event_id": "s1", "customer_id": "p0", "item_id": "suits0", "type": "purchase"},
    ]  # fmt: skip
    client.post("/v1/events", json={"events": events}, headers=h)
    question = {
        "text": "What do you shop for most?",
        "kind": "choice",
        "options": ["shirts", "suits"],
        "attribute": "preferred_category",
        "decides": "preference",
    }
    client.put("/v1/questions/favourite", json=question, headers=h)
    client.put("/v1/customers/c1", json={}, headers=h)
    url = "/v1/customers/c1/recommendations?n=3"
    before = [i["item_id"] for i in client.get(url, headers=h).json()["items"]]
    assert len(before) == 3 and all(i.startswith("shirts") for i in before)  # popular: shirts
    body = {"question_id": "favourite", "value": "suits"}
    assert client.post("/v1/customers/c1/answers", json=body, headers=h).status_code == 201
    after = [i["item_id"] for i in client.get(url, headers=h).json()["items"]]
    assert after[0] == "suits0" and after[1:] == before[:2], after  # then the popular rest
