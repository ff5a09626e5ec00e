"""The async client against the same live servers: the same methods, awaited, and paged lists
walked with ``async for``."""

from __future__ import annotations

import asyncio

import pytest

from atelier_client import AsyncClient, NotFound, ValidationFailed
from atelier_client.models import KeyPublic
from tests.client.conftest import Live


def test_async_client_round_trip(live: Live) -> None:
    async def scenario() -> None:
        async with AsyncClient(live.url, live.admin) as client:
            made = await client.put_item("async-1", title="Scarf", category="b", price=12.0)
            assert made.item_id == "async-1"
            # Independent calls run side by side on one client.
            item, me, reco = await asyncio.gather(
                client.get_item("async-1"), client.me(), client.recommend("c4", n=3)
            )
            assert (item.title, me.tenant) == ("Scarf", "shop")
            assert len(reco.items) == 3 and reco.model_version
            sent = await client.send_events(
                [{"customer_id": "a1", "item_id": "i1", "type": "view"}] * 5, batch_size=2
            )
            assert (sent.batches, sent.accepted) == (3, 5)
            again = await client.send_events(
                [
                    {"customer_id": "a1", "item_id": "i1", "type": "view", "event_id": i}
                    for i in sent.event_ids
                ]
            )
            assert (again.accepted, again.duplicates) == (0, 5)
            for k in range(3):
                await client.create_key(["events"], label=f"async {k}")
            keys = [k async for k in client.iter_keys(limit=2)]
            assert len(keys) >= 3 and all(isinstance(k, KeyPublic) for k in keys)
            assert len({k.key_id for k in keys}) == len(keys)
            with pytest.raises(ValidationFailed) as caught:
                await client.put_item("async-1", available="yes")  # type: ignore[arg-type]
            assert caught.value.loc == ["body", "available"]
            await client.delete_item("async-1")
            with pytest.raises(NotFound):
                await client.get_item("async-1")

    asyncio.run(scenario())
