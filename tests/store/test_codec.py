"""The one codec: documents round-trip, the tombstone rule, clear errors, the erasure list."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInput
from core.records import ApiKey, Customer, Event, Item
from store import codec
from store.base import Store
from store.codec import CUSTOMER_DATA, CustomerData, UnstorableValue


def test_an_integer_beyond_64_bits_is_a_clear_error() -> None:
    with pytest.raises(UnstorableValue, match="64-bit"):
        codec.dumps({"n": 2**70})
    assert issubclass(UnstorableValue, InvalidInput)  # a 422 should one ever come in over HTTP
    assert codec.loads(codec.dumps({"n": 2**63 - 1})) == {"n": 2**63 - 1}


def test_what_callers_hand_over_is_stored() -> None:
    doc = codec.dumps({"x": np.float64(0.5), "ids": np.arange(2), 3: "int key"})
    assert codec.loads(doc) == {"x": 0.5, "ids": [0, 1], "3": "int key"}
    assert codec.loads(codec.dumps({"s": "ü€"})) == {"s": "ü€"}


def test_the_tombstone_rule() -> None:
    doc = codec.item_doc(Item("a", title="Shirt", attributes={"k": 1}), updated_at=1.0)
    assert codec.is_live(doc) and not codec.is_live(None)
    assert codec.live_item("a", doc) == Item(
        "a", title="Shirt", attributes={"k": 1}, updated_at=1.0
    )
    dead = codec.tombstone(doc, updated_at=2.0)
    assert not codec.is_live(dead) and codec.live_item("a", dead) is None
    item, deleted = codec.decode_item("a", dead)
    assert deleted and item.available is False and item.title == "Shirt" and item.updated_at == 2.0


def test_records_round_trip() -> None:
    customer = Customer("c1", {"segment": "b2b"}, False, "am1", created_at=1.0, updated_at=2.0)
    assert codec.decode_customer("c1", codec.customer_doc(customer, 1.0, 2.0)) == customer
    event = Event(
        "e1", "c1", "purchase", 3.0, item_id="i1", quantity=2, value=9.5, context={"a": 1}
    )
    assert codec.decode_event(codec.event_doc(event)) == event
    assert codec.event_from_row(codec.event_row(event)) == event
    bare = Event("e2", "c1", "view", 4.0, context={})  # an empty context reads back as none
    assert codec.decode_event(codec.event_doc(bare)).context is None
    assert codec.event_from_row(codec.event_row(bare)).context is None
    key = ApiKey("k1", "t", frozenset({"events", "admin"}), created_at=5.0, label=None)
    fields = codec.key_fields(key)
    assert codec.decode_key([fields[name] for name in codec.KEY_FIELDS]) == key
    as_text = [str(fields[name]) for name in codec.KEY_FIELDS]  # what a Redis hash returns
    assert codec.decode_key(as_text) == key
    model = codec.decode_model("v1", codec.model_doc({"ndcg": 0.5}, 6.0), active="v1")
    assert (model.metrics, model.created_at, model.active) == ({"ndcg": 0.5}, 6.0, True)
    saved = codec.loads(codec.configuration_doc({"code": "A"}, "k1", 7.0))
    assert saved == {"code": "A", "configuration_id": "k1", "created_at": 7.0}


def test_a_backend_missing_an_erasure_step_is_refused() -> None:
    steps = dict.fromkeys(CUSTOMER_DATA, "step")
    assert codec.erasure_steps("test", steps) == ["step"] * len(CUSTOMER_DATA)
    del steps[CustomerData.INSIGHTS]
    with pytest.raises(RuntimeError, match="does not erase insights"):
        codec.erasure_steps("test", steps)


def test_both_backends_refuse_what_json_cannot_hold(store: Store) -> None:
    with pytest.raises(UnstorableValue):
        store.put_tenant_config("t", {"n": 2**70})
    with pytest.raises(UnstorableValue):
        store.upsert_items("t", [Item("a", attributes={"n": -(2**65)})])
    assert store.get_tenant_config("t") == {} and store.get_item("t", "a") is None
