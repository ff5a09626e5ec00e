"""The sync client against a live server, on both stores: typed answers, one exception per
problem, pages followed to the end, events made idempotent and batched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from atelier_client import (
    Client,
    Event,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from atelier_client.models import ItemPublic, KeyPublic, RecommendationsPublic
from tests.client.conftest import TENANT, Live


@pytest.fixture
def client(live: Live) -> Client:
    return Client(live.url, live.admin)


def test_an_item_put_read_sent_back_and_deleted(client: Client) -> None:
    with client:
        put = client.put_item("mug 1", title="Mug", category="a", price=7.5)
        assert isinstance(put, ItemPublic)
        assert (put.item_id, put.price, put.available) == ("mug 1", 7.5, True)
        got = client.get_item("mug 1")
        assert got.updated_at.tzinfo is not None
        assert abs(got.updated_at - datetime.now(UTC)) < timedelta(minutes=5)
        # What a GET answered goes back to PUT as it is (read-only fields are ignored).
        again = client.put_item("mug 1", got, price=8.0)
        assert (again.title, again.price) == ("Mug", 8.0)
        client.delete_item("mug 1")
        with pytest.raises(NotFound) as caught:
            client.get_item("mug 1")
    assert caught.value.status == 404 and caught.value.title


def test_bad_input_raises_validation_failed_naming_the_field(client: Client) -> None:
    with client, pytest.raises(ValidationFailed) as caught:
        client.put_item("bad-price", price=-3)
    error = caught.value
    assert (error.status, error.loc) == (422, ["body", "price"])
    assert error.detail and error.errors[0]["msg"]


def test_keys_unknown_and_without_the_scope(live: Live) -> None:
    with Client(live.url, "atk_not-a-key") as stranger, pytest.raises(Unauthorized):
        stranger.me()
    with Client(live.url, live.reader) as reader:
        assert reader.me().tenant == TENANT
        with pytest.raises(Forbidden) as caught:
            reader.put_item("x", title="no catalog scope")
    assert "catalog" in caught.value.detail


def test_recommendations_are_typed_with_reasons_and_several_categories(client: Client) -> None:
    with client:
        answer = client.recommend("c1", n=5, explain=True)
        assert isinstance(answer, RecommendationsPublic)
        assert answer.model_version and answer.fallback is None
        assert answer.items and all(i.score == i.score for i in answer.items)
        assert all(i.reasons for i in answer.items)
        one = client.recommend("c2", n=20, category="a")
        both = client.recommend("c2", n=20, category=["a", "b"])
        assert {i.category for i in client.get_items([i.item_id for i in one.items]).items} == {"a"}
        found = client.get_items([i.item_id for i in both.items] + ["no such item"])
        assert {i.category for i in found.items} == {"a", "b"}
        assert found.missing == ["no such item"]
        similar = client.similar("i1", n=3)
        basket = client.cross_sell(["i1", "i2"], customer_id="c1", n=3)
    assert len(similar.items) <= 3 and len(basket.items) <= 3
    assert "i1" not in {i.item_id for i in basket.items}


def test_events_get_ids_once_and_batches_add_up(client: Client) -> None:
    events: list[Event | dict[str, object]] = [
        Event(customer_id=f"e{k}", item_id=f"i{k % 20}", type="view") for k in range(23)
    ]
    events[15] = {"customer_id": "e15", "item_id": "i1", "type": "purchase", "quantity": 0}
    with client:
        sent = client.send_events(events, batch_size=10)
        assert (sent.batches, sent.accepted, sent.duplicates) == (3, 22, 0)
        assert [r.index for r in sent.rejected] == [15]  # counted from the first event given
        assert len(set(sent.event_ids)) == 23
        # The same events with the ids the client made: every one a duplicate, none counted twice.
        again = [
            {**(e.model_dump() if isinstance(e, Event) else e), "event_id": i}
            for e, i in zip(events, sent.event_ids, strict=True)
        ]
        resent = client.send_events(again)
    assert (resent.batches, resent.accepted, resent.duplicates) == (1, 0, 22)


def test_paged_lists_are_walked_to_the_end(client: Client) -> None:
    with client:
        made = {client.create_key(["recommend"], label=f"page {k}").key_id for k in range(5)}
        listed = list(client.iter_keys(limit=2))
        assert all(isinstance(k, KeyPublic) for k in listed)
        assert made <= {k.key_id for k in listed}
        assert len(listed) == len({k.key_id for k in listed})  # no key twice across pages
        for k in range(3):
            client.add_contact("c3", channel="phone", direction="outbound", topic=f"t{k}")
        contacts = list(client.iter_contacts("c3", limit=1))
    assert [c.topic for c in contacts] == ["t2", "t1", "t0"]  # newest first


def test_customers_profile_round_trip_and_errors_of_a_batch(client: Client) -> None:
    with client:
        put = client.put_customer(
            "p1", attributes={"city": "Lyon"}, consent={"channels": {"email": True}}
        )
        assert put.has_profile and put.consent.channels.email and not put.consent.channels.sms
        got = client.get_customer("p1")
        assert client.put_customer("p1", got).attributes == {"city": "Lyon"}
        report = client.put_customers(
            [{"customer_id": f"b{k}"} for k in range(5)] + [{"customer_id": ""}], batch_size=2
        )
        assert report.upserted == 5 and [e.index for e in report.errors] == [5]
        assert report.errors[0].errors[0].loc == ["customer_id"]
        patched = client.patch_customer("p1", {"attributes": {"city": None, "tier": "gold"}})
    assert patched.attributes == {"tier": "gold"}


def test_the_client_speaks_through_any_httpx_client(live: Live) -> None:
    seen: list[str] = []
    http = httpx.Client(
        base_url=live.url,
        headers={"Authorization": f"Bearer {live.admin}"},
        event_hooks={"request": [lambda r: seen.append(r.url.path)]},
    )
    with Client(live.url, http=http) as client:
        assert client.healthz() == {"status": "ok"}
        assert client.models().active
    assert seen[-1] == "/v1/models"
