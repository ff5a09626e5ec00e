"""Bad model files against the real server, for every model family.

A version whose arrays are wrong but whose metadata vouches for them (a bad publisher: re-signed
checksums) is refused at activation (409) and the active version keeps serving; a served
version damaged on disk (a bad disk: unsigned) does not keep the server from starting, ``/readyz`` names it and why, recommendations still answer, and activating a good
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
    """One server start for both cases (a start is most of this test's time): tenant
    ``t-<family>`` gets a bad version to activate, tenant ``d-<family>`` starts with its served
    version damaged on disk."""
    data = tmp_path / "data"
    data.mkdir()
    store = SQLiteStore(data / "atelier.sqlite3")
    headers: dict[str, dict[str, str]] = {}
    good: dict[str, str] = {}
    bad: dict[str, str] = {}
    damaged: dict[str, str] = {}
    for family, params in FAMILIES.items():
        for tenant in (f"t-{family}", f"d-{family}"):
            _, secret = create_key(store, tenant, parse_scopes("recommend,admin"))
            headers[tenant] = {"Authorization": f"Bearer {secret}"}
            seed_shop(store, tenant)
        good[family] = publish(store, data, f"t-{family}", family, params)  # the first: active
        bad[family] = publish(store, data, f"t-{family}", family, params)
        bad_publisher(data / "models" / f"t-{family}" / bad[family], family)
        damaged[family] = publish(store, data, f"d-{family}", family, params)
        bad_disk(data / "models" / f"d-{family}" / damaged[family], family)

    server = Server(data).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            # Started over the damaged versions: /readyz names each and why.
            wait_for(lambda: "failed to load" in c.get("/readyz").text, 30, "/readyz to explain")
            wait_for(
                lambda: all(f"'d-{f}'" in c.get("/readyz").text for f in FAMILIES),
                30,
                "/readyz to name every damaged version",
            )
            r = c.get("/readyz")
            assert r.status_code == 503
            for family in FAMILIES:
                assert f"tenant 'd-{family}': model version '{damaged[family]}'" in r.text, r.text
                assert f"'t-{family}'" not in r.text, r.text  # the good ones serve
                r2 = c.get("/v1/customers/c1/recommendations", headers=headers[f"d-{family}"])
                assert r2.status_code == 200, r2.text
                assert r2.json()["model_version"] is None  # popular items, not an error
            # A bad version is refused at activation; the active one keeps serving.
            for family in FAMILIES:
                h = headers[f"t-{family}"]
                r = c.post(f"/v1/models/{bad[family]}/activate", headers=h)
                assert r.status_code == 409, (family, r.text)
                assert r.json()["detail"].startswith(f"model version '{bad[family]}' failed")
                r = c.get("/v1/customers/c1/recommendations", headers=h)
                assert r.status_code == 200 and r.json()["model_version"] == good[family]
                assert server.alive(), f"{family}: the server died"
            # A good version makes the damaged tenants ready again.
            fixed: dict[str, str] = {}
            for family, params in FAMILIES.items():
                fixed[family] = publish(store, data, f"d-{family}", family, params)
                h = headers[f"d-{family}"]
                r = c.post(f"/v1/models/{fixed[family]}/activate", headers=h)
                assert r.status_code == 200, r.text
            wait_for(lambda: c.get("/readyz").status_code == 200, 15, "/readyz after a fix")
            for family in FAMILIES:
                r = c.get("/v1/customers/c1/recommendations", headers=headers[f"d-{family}"])
                assert r.json()["model_version"] == fixed[family]
        assert server.alive()
        log = server.log()
    finally:
        server.stop()
        store.close()
    assert "Segmentation fault" not in log
    # A refused version is logged once with its reason, not once per request or poll.
    for family in FAMILIES:
        assert log.count(f"model {damaged[family]} of tenant d-{family} refused") == 1, log
