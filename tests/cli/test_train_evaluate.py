"""``atelier train --events FILE`` (CSV, gzip, Parquet), ``atelier evaluate`` on both protocols,
and the optuna search, on small generated event files whose right answer is obvious: two groups
of customers, each buying from its own block of items (implicit's checkerboard)."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli.main import main
from core.records import EventFrame
from recommender.interactions import InteractionWeights
from training.evaluation import split_frame_masks
from training.tuning import search

DAY = 86400.0
T0 = 1.3e9  # 2011-03-13


def _rows(n_customers: int = 80, per_customer: int = 12, seed: int = 0) -> list[dict[str, object]]:
    """Customers of group g buy items g*20 .. g*20+19, spread over 120 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        group = c % 2
        for _ in range(per_customer):
            rows.append(
                {
                    "Customer": f"c{c}",
                    "Sku": f"sku{group * 20 + int(rng.integers(20))}",
                    "When": T0 + float(rng.uniform(0, 120)) * DAY,
                    "Qty": int(rng.integers(1, 4)),
                }
            )
    return rows


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
        return path
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


MAP = "customer_id=Customer,item_id=Sku,timestamp=When,quantity=Qty"


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz", "orders.parquet"])
def test_train_on_a_file(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = _write(tmp_path / name, _rows())
    root = tmp_path / "models"
    assert (
        main(
            [
                "train",
                "--events",
                str(events),
                "--map",
                MAP,
                "--tenant",
                "acme",
                "--model",
                "ease",
                "--param",
                "l2=10",
                "--artifacts",
                str(root),
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{") :])
    folder = Path(summary["folder"])
    assert folder.parent == root / "acme" and summary["family"] == "ease"
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["params"]["l2"] == 10
    # artifacts are numpy arrays and JSON only: no pickle anywhere
    assert {p.suffix for p in folder.iterdir()} <= {".npy", ".json"}
    ids = np.load(folder / "item_ids.npy", allow_pickle=False)
    assert len(ids) == 40
    # the learned item weights keep to the blocks: sku0's strongest neighbours are group 0's
    b = np.load(folder / "B_.npy", allow_pickle=False)
    first = int(np.flatnonzero(ids == "sku0")[0])
    assert all(int(str(ids[t])[3:]) < 20 for t in np.argsort(-b[first])[:5])


def test_train_refuses_publish_of_a_file_and_a_bad_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _write(tmp_path / "orders.csv", _rows())
    argv = [
        "train",
        "--events",
        str(events),
        "--tenant",
        "acme",
        "--artifacts",
        str(tmp_path),
        "--no-progress",
    ]
    assert main([*argv, "--map", MAP, "--publish"]) == 2
    assert "--publish" in capsys.readouterr().err
    assert main([*argv, "--map", "customer_id=Nope,item_id=Sku"]) == 2
    assert "Nope" in capsys.readouterr().err
    assert not (tmp_path / "acme").exists()  # nothing half-written


@pytest.mark.parametrize("protocol", ["temporal", "ms"])
def test_evaluate_prints_a_table_and_saves_json(
    protocol: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _write(tmp_path / "orders.csv", _rows(n_customers=120, per_customer=15))
    out = tmp_path / f"{protocol}.json"
    argv = [
        "evaluate",
        "--events",
        str(events),
        "--map",
        MAP,
        "--protocol",
        protocol,
        "--models",
        "popularity,ease",
        "--out",
        str(out),
        "--no-progress",
        "--validation-days",
        "15",
    ]
    if protocol == "temporal":
        argv += ["--cut", "2011-06-11", "--end", "2011-07-20"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "ndcg@10" in table and "popularity" in table and "ease" in table
    payload = json.loads(out.read_text())
    assert payload["protocol"] == protocol
    results = payload["results"]
    for fam in ("popularity", "ease"):
        metrics = results[fam]["test"]
        assert set(metrics) >= {
            "precision@10",
            "recall@10",
            "ndcg@10",
            "map@10",
            "hit_rate@10",
            "coverage",
        }
        assert all(0.0 <= float(metrics[m]) <= 1.0 for m in ("precision@10", "ndcg@10"))
    # two clean blocks: the personal model beats popularity by far on either protocol
    assert results["ease"]["test"]["ndcg@10"] > 1.5 * results["popularity"]["test"]["ndcg@10"]


def test_optuna_search_explores_and_keeps_the_best() -> None:
    rows = _rows(n_customers=100, per_customer=12, seed=1)
    frame = EventFrame(
        customer_id=np.array([r["Customer"] for r in rows], dtype=object),
        item_id=np.array([r["Sku"] for r in rows], dtype=object),
        type=np.full(len(rows), "purchase", dtype=object),
        timestamp=np.array([r["When"] for r in rows], dtype=np.float64),
        quantity=np.full(len(rows), np.nan),
        value=np.full(len(rows), np.nan),
    )
    rng = np.random.default_rng(0)
    test = rng.random(len(rows)) < 0.25
    split = split_frame_masks(frame, ~test, test, InteractionWeights())
    result = search(split, ["popularity", "ease"], method="optuna", n_trials=8, progress=False)
    assert len(result.trials) == 8
    assert {t["family"] for t in result.trials} == {"popularity", "ease"}  # TPE tried both
    best = max(t["metrics"]["ndcg@10"] for t in result.trials)
    assert result.metrics["ndcg@10"] == best and result.family == "ease"
    assert 0.3 <= result.params["l2_rel"] <= 100.0  # relative to the mean item support
    with pytest.raises(ValueError, match="grid' or 'optuna"):
        search(split, ["ease"], method="random")


def test_the_optuna_search_without_optuna_says_which_extra_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # what an install without [tune] sees
    events = _write(tmp_path / "orders.csv", _rows())
    argv = ["train", "--events", str(events), "--map", MAP, "--tenant", "acme"]
    argv += ["--model", "auto", "--search", "optuna", "--trials", "2"]
    assert main([*argv, "--artifacts", str(tmp_path / "models"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "atelier[tune]" in err and "Traceback" not in err, err
    assert not (tmp_path / "models" / "acme").exists()


def _tiny_shared_data(root: Path) -> Path:
    """A folder laid out as ``../shared/data``: a checkerboard ML-100K ``u.data`` and an Online
    Retail export whose purchases straddle the documented cut date (2011-11-09)."""
    rng = np.random.default_rng(3)
    (root / "ml-100k").mkdir(parents=True)
    lines = []
    for u in range(1, 61):
        group = u % 2
        for i in rng.choice(15, size=10, replace=False):
            item = group * 15 + int(i) + 1
            lines.append(f"{u}\t{item}\t{int(rng.integers(3, 6))}\t{880000000 + len(lines)}")
    (root / "ml-100k" / "u.data").write_text("\n".join(lines) + "\n")
    (root / "online-retail").mkdir(parents=True)
    rows = []
    for c in range(60):
        group = c % 2
        for k in range(10):
            day = 1 + (k * 7 + c) % 60  # 2011-10-01 .. 2011-11-29
            month, d = (10, day) if day <= 31 else (11, day - 31)
            rows.append(
                {
                    "InvoiceNo": f"{500000 + c * 10 + k}",
                    "StockCode": f"{22000 + group * 15 + int(rng.integers(15))}",
                    "Description": "x",
                    "Quantity": 2,
                    "InvoiceDate": f"2011-{month:02d}-{d:02d} 10:00:00",
                    "UnitPrice": 1.5,
                    "CustomerID": f"{12000 + c}.0",
                    "Country": "United Kingdom",
                }
            )
    _write(root / "online-retail" / "online_retail.csv.gz", rows)
    return root


def test_readme_evaluate_examples_use_each_data_sets_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``atelier evaluate --dataset ml-100k`` and ``--dataset online-retail`` work as the README
    writes them (here on a tiny folder of the same layout, through ``$ATELIER_SHARED_DATA``)."""
    data = _tiny_shared_data(tmp_path / "shared")
    out = tmp_path / "ml.json"
    argv = ["evaluate", "--models", "popularity,ease", "--no-progress", "--out"]
    monkeypatch.setenv("ATELIER_SHARED_DATA", str(data))
    assert main([*argv, str(out), "--dataset", "ml-100k"]) == 0
    ml = json.loads(out.read_text())
    assert ml["protocol"] == "ms" and ml["cut"] is None
    assert ml["results"]["ease"]["test"]["users"] > 0
    assert "ndcg@10" in capsys.readouterr().out
    assert main([*argv, str(out), "--dataset", "online-retail"]) == 0
    monkeypatch.delenv("ATELIER_SHARED_DATA")
    retail = json.loads(out.read_text())
    assert retail["protocol"] == "temporal"
    assert (retail["cut"], retail["end"]) == (1320796800.0, 1323388800.0)  # 2011-11-09, 12-09
    assert retail["results"]["ease"]["test"]["users"] > 0
    # the folder can also be named; a temporal protocol without a cut is a clean usage error
    assert main([*argv, str(out), "--dataset", "ml-100k", "--data-dir", str(data)]) == 0
    with pytest.raises(SystemExit, match="--cut"):
        main(
            [
                *argv,
                str(out),
                "--dataset",
                "ml-100k",
                "--data-dir",
                str(data),
                "--protocol",
                "temporal",
            ]
        )
