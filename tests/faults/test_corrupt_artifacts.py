"""Bad model files against the real server, for every model family.

A version whose arrays are wrong but whose metadata vouches for them (a bad publisher: re-signed
checksums) is refused at activation (409) and the active version keeps serving; a served
version damaged on disk afterwards (a bad disk: unsigned) does not keep the server from
starting, ``/readyz`` names it and why, recommendations still answer, and activating a good
version makes the tenant ready again. The process never dies (the original defect was a
segfault in scipy from out-of-range neighbour indices).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from access.keys import create_key, parse_scopes
from recommender.artifacts import file_manifest, read_meta
from store.sqlite import SQLiteStore
from tests.faults.conftest import publish, seed_shop
from tests.faults.processes import Server, wait_for

FAMILIES: dict[str, dict[str, Any]] = {
    "als": {"factors": 4, "iterations": 3},
    "bpr": {"factors": 4, "iterations": 10, "num_threads": 1},
    "ease": {"l2": 1.0},
    "itemknn": {},
    "popularity": {},
}
#: The array a bad publisher damages, and how: out-of-range neighbours or a NaN.
DAMAGED = {
    "als": "item_factors_",
    "bpr": "item_factors_",
    "ease": "B_",
    "itemknn": "sim_indices_",
    "popularity": "popularity_",
}


def bad_publisher(folder: Path, family: str) -> None:
    """Write a wrong array and record its checksum in ``meta.json``, as a buggy publisher."""
    path = folder / f"{DAMAGED[family]}.npy"
    arr = np.array(np.load(path))
    if family == "itemknn":
        arr[0] = 10_000  # a neighbour outside the catalog
    else:
        arr = arr.astype(np.float32)
        arr.reshape(-1)[0] = np.nan
    np.save(path, arr)
    meta = read_meta(folder)
    meta["files"] = file_manifest(folder)
    (folder / "meta.json").write_text(json.dumps(meta))


def bad_disk(folder: Path, family: str) -> None:
    """Truncate the damaged array's file under the version (its checksum no longer matches)."""
    path = folder / f"{DAMAGED[family]}.npy"
    path.write_bytes(path.read_bytes()[:-8])


def test_bad_versions_of_every_family_are_refused_and_the_server_survives(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = SQLiteStore(data / "atelier.sqlite3")
    headers: dict[str, dict[str, str]] = {}
    good: dict[str, str] = {}
    bad: dict[str, str] = {}
    for family, params in FAMILIES.items():
        tenant = f"t-{family}"
        _, secret = create_key(store, tenant, parse_scopes("recommend,admin"))
        headers[family] = {"Authorization": f"Bearer {secret}"}
        seed_shop(store, tenant)
        good[family] = publish(store, data, tenant, family, params)  # the first: active
        bad[family] = publish(store, data, tenant, family, params)
        bad_publisher(data / "models" / tenant / bad[family], family)

    server = Server(data).start(ready=True)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for family in FAMILIES:
                h = headers[family]
                r = c.post(f"/v1/models/{bad[family]}/activate", headers=h)
                assert r.status_code == 409, (family, r.text)
                assert r.json()["detail"].startswith(f"model version '{bad[family]}' failed")
                r = c.get("/v1/customers/c1/recommendations", headers=h)
                assert r.status_code == 200 and r.json()["model_version"] == good[family]
                assert server.alive(), f"{family}: the server died"
            assert c.get("/readyz").status_code == 200

        # The served versions are damaged on disk; the server restarts over them.
        server.stop()
        damaged = dict(good)
        for family in FAMILIES:
            bad_disk(data / "models" / f"t-{family}" / good[family], family)
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as c:
            wait_for(lambda: "failed to load" in c.get("/readyz").text, 30, "/readyz to explain")
            r = c.get("/readyz")
            assert r.status_code == 503
            for family in FAMILIES:
                assert f"tenant 't-{family}': model version '{good[family]}'" in r.text, r.text
                r2 = c.get("/v1/customers/c1/recommendations", headers=headers[family])
                assert r2.status_code == 200, r2.text
                assert r2.json()["model_version"] is None  # popular items, not an error
            for family, params in FAMILIES.items():
                fresh = publish(store, data, f"t-{family}", family, params)
                r = c.post(f"/v1/models/{fresh}/activate", headers=headers[family])
                assert r.status_code == 200, r.text
                good[family] = fresh
            wait_for(lambda: c.get("/readyz").status_code == 200, 15, "/readyz after a fix")
            for family in FAMILIES:
                r = c.get("/v1/customers/c1/recommendations", headers=headers[family])
                assert r.json()["model_version"] == good[family]
        assert server.alive()
        log = server.log()
    finally:
        server.stop()
        store.close()
    assert "Segmentation fault" not in log
    # A refused version is logged once with its reason, not once per request or poll.
    for family in FAMILIES:
        assert log.count(f"model {damaged[family]} of tenant t-{family} refused") == 1, log
