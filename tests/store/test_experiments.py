"""The experiment store on both backends: one running experiment per tenant, documents kept
after the end, and every start or end moving the catalog version serving caches key on."""

from __future__ import annotations

from store.base import Store


def test_one_running_experiment_per_tenant(store: Store) -> None:
    assert store.running_experiment("t") is None and store.get_experiment("t", "e1") is None
    v0 = store.catalog_version("t")
    doc = {"arms": {"A": "v1", "B": "v2"}, "split": {"A": 0.5, "B": 0.5}}
    assert store.put_experiment("t", "e1", doc)
    assert store.catalog_version("t") > v0
    assert store.running_experiment("t") == ("e1", doc)
    assert store.get_experiment("t", "e1") == doc
    # another experiment on the same tenant is refused and writes nothing
    v1 = store.catalog_version("t")
    assert not store.put_experiment("t", "e2", {"arms": {}})
    assert store.get_experiment("t", "e2") is None and store.catalog_version("t") == v1
    # the running one may be replaced; other tenants are independent
    changed = {**doc, "split": {"A": 0.9, "B": 0.1}}
    assert store.put_experiment("t", "e1", changed)
    assert store.running_experiment("t") == ("e1", changed)
    assert store.put_experiment("other", "e2", doc) and store.running_experiment("other")
    # ending keeps the final document; only the running one can end
    assert not store.end_experiment("t", "e2", {"x": 1})
    final = {**changed, "status": "ended"}
    v2 = store.catalog_version("t")
    assert store.end_experiment("t", "e1", final)
    assert store.catalog_version("t") > v2
    assert store.running_experiment("t") is None and store.get_experiment("t", "e1") == final
    assert not store.end_experiment("t", "e1", final)
    assert store.put_experiment("t", "e2", doc)  # the tenant is free again
    assert store.running_experiment("t") == ("e2", doc)
    assert store.list_experiments("t") == [("e1", final), ("e2", doc)]
    assert store.list_experiments("other") == [("e2", doc)]
    assert store.list_experiments("nobody") == []
