"""The Grafana dashboard parses and queries only metrics (and labels) the service exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import api.middleware as http_metrics
import recommender.metrics as model_metrics
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_recommendations import publish, seed

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "atelier-models.json"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


def exported() -> dict[str, set[str]]:
    """Sample name -> label names, for every atelier metric the service defines."""
    families = {f.name: f.type for f in REGISTRY.collect() if f.name.startswith("atelier_")}
    out: dict[str, set[str]] = {}
    for module in (http_metrics, model_metrics):
        for metric in vars(module).values():
            if isinstance(metric, MetricWrapperBase):
                base = metric._name.removesuffix("_total")
                kind = families[base]  # registered: /metrics exports it
                for suffix in SUFFIXES[kind]:
                    out[base + suffix] = set(metric._labelnames) | (
                        {"le"} if suffix == "_bucket" else set()
                    )
    return out


def test_dashboard_parses_and_references_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    names = exported()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    used: set[str] = set()
    for expr in exprs:
        for name in re.findall(r"\batelier_[a-z_]+", expr):
            assert name in names, f"{name} is not exported ({expr})"
            used.add(name)
            for block in re.findall(re.escape(name) + r"\{([^}]*)\}", expr):
                for label in re.findall(r"(\w+)\s*(?:=~|!=|=)", block):
                    assert label in names[name], f"{name} has no label {label}"
        for labels in re.findall(r"by \(([^)]*)\)", expr):
            metrics = re.findall(r"\batelier_[a-z_]+", expr)
            for label in (s.strip() for s in labels.split(",")):
                assert any(label in names[m] for m in metrics), f"no metric has {label}: {expr}"
    # every model metric is on the dashboard
    for name in model_metrics.NAMES:
        assert any(u.startswith(name.removesuffix("_total")) for u in used), name


def test_model_metrics_have_no_tenant_label() -> None:
    names = exported()
    for name in model_metrics.NAMES:
        base = name.removesuffix("_total")
        for sample, labels in names.items():
            if sample.startswith(base):
                assert "tenant" not in labels


def test_metrics_count_answers_and_cache_lookups(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    h = auth("shop")
    seed(client, h)
    publish(store, settings, "shop")
    before = _value("atelier_recommendation_cache_total", {"result": "miss"})
    for _ in range(3):
        assert client.get("/v1/customers/c0/recommendations", headers=h).status_code == 200
    assert client.get("/v1/customers/nobody/recommendations", headers=h).status_code == 200
    text = client.get("/metrics").text
    version = client.get("/v1/models", headers=h).json()["active"]
    assert (
        f'atelier_recommendation_answers_total{{arm="none",fallback="none",model_version="{version}"}}'
        in text
    )
    assert f'fallback="popular",model_version="{version}"' in text
    assert _value("atelier_recommendation_cache_total", {"result": "miss"}) >= before + 1
    assert _value("atelier_recommendation_cache_total", {"result": "hit"}) >= 2
    assert "atelier_model_load_seconds_count" in text


def _value(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_failed_model_load_is_counted(client: TestClient, auth: KeyMaker) -> None:
    registry = client.app.state.recommender.registry  # type: ignore[attr-defined]
    before = _value("atelier_model_load_failures_total", {"reason": "refused"}) + _value(
        "atelier_model_load_failures_total", {"reason": "error"}
    )
    assert registry._load_or_report("shop", "never-trained") is None
    after = _value("atelier_model_load_failures_total", {"reason": "refused"}) + _value(
        "atelier_model_load_failures_total", {"reason": "error"}
    )
    assert after == before + 1
