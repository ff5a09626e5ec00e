"""``GET /v1/models/{version}``: one version in full, through ModelVersions; 404 when unknown."""

from __future__ import annotations

from fastapi.testclient import TestClient

from recommender.artifacts import file_sha256, version_folder
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.training.test_retrain import KNN, fill, publish_active
from training.retrain import RetrainOptions, retrain


def test_model_detail_shows_data_metrics_comparison_and_checksums(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    h = auth("shop")
    frame = fill(store)
    old = publish_active(store, settings.models_dir, frame, "popularity", {})
    new = retrain(store, settings.models_dir, "shop", KNN, RetrainOptions()).version
    r = client.get(f"/v1/models/{new}", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == new and body["active"] is True
    assert body["family"] == "itemknn" and body["params"]["K"] == 20
    assert body["data"]["n_events"] == len(frame) and len(body["data"]["fingerprint"]) == 16
    assert body["data"]["first_event"] < body["data"]["last_event"]
    assert body["metrics"]["validation"]["ndcg@10"] > 0
    cmp = body["comparison"]
    assert cmp["against"] == old and cmp["decision"] == "promoted"
    assert cmp["candidate"]["ndcg@10"] > cmp["active"]["ndcg@10"]
    folder = version_folder(settings.models_dir, "shop", new)
    assert body["files"]["item_ids.npy"]["sha256"] == file_sha256(folder / "item_ids.npy")
    assert set(body["files"]) == {p.name for p in folder.iterdir() if p.name != "meta.json"}
    # the version it replaced: no comparison (trained by atelier train), not active
    first = client.get(f"/v1/models/{old}", headers=h).json()
    assert first["active"] is False and first["comparison"] is None
    assert first["family"] == "popularity"


def test_model_detail_404_403_and_other_tenants(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    frame = fill(store)
    version = publish_active(store, settings.models_dir, frame, "popularity", {})
    h = auth("shop")
    for bad in ("nope", "..%2F..%2Fetc", "a" * 200):
        r = client.get(f"/v1/models/{bad}", headers=h)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/models/{version}", headers=auth("shop", "recommend")).status_code == 403
    assert client.get(f"/v1/models/{version}", headers=auth("other")).status_code == 404


def test_a_version_published_from_another_machine_shows_its_record(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    store.publish_model("shop", "elsewhere-1", {"validation": {"ndcg@10": 0.3}})
    body = client.get("/v1/models/elsewhere-1", headers=auth("shop")).json()
    assert body["metrics"] == {"validation": {"ndcg@10": 0.3}} and body["family"] is None
    assert body["files"] is None and body["data"] is None
