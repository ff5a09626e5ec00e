"""What ``/metrics`` shows: tenant labels only to whom may see them, totals to everyone else.

The scrape needs no key, so it must not list the tenants a deployment serves nor their volumes.
Every series with a ``tenant`` label is added up over its tenants for a public scrape; a caller
with an admin key sees its own tenant's series, and the other tenants added up under
``tenant="(others)"`` (not a valid tenant id, so it never names one); with
``ATELIER_METRICS_TENANT_LABELS=true`` (a scrape on a private network) every tenant is shown.
Sums stay right in every view: the series of one metric always add up to the same total.

Example
-------
>>> from prometheus_client import CollectorRegistry, Counter
>>> registry = CollectorRegistry()
>>> c = Counter("ev", "Events", ["tenant", "outcome"], registry=registry)
>>> c.labels("shop", "ok").inc(2)
>>> c.labels("bank", "ok").inc(3)
>>> print(exposition(registry, TenantView.TOTALS).decode().split("\\n")[2])
ev_total{outcome="ok"} 5.0
>>> sorted(line for line in exposition(registry, TenantView.of("shop")).decode().split("\\n")
...        if line.startswith("ev_total"))
['ev_total{outcome="ok",tenant="(others)"} 3.0', 'ev_total{outcome="ok",tenant="shop"} 2.0']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

#: The label that names a tenant, and the value the other tenants are added up under.
TENANT = "tenant"
OTHERS = "(others)"


@dataclass(frozen=True, slots=True)
class TenantView:
    """Which tenants a scrape may name: none (``tenant`` None, not ``everyone``), one, or all."""

    tenant: str | None = None
    everyone: bool = False

    TOTALS: ClassVar[TenantView]
    ALL: ClassVar[TenantView]

    @classmethod
    def of(cls, tenant: str) -> TenantView:
        return cls(tenant=tenant)

    def label(self, value: str) -> str | None:
        """The tenant label a series of tenant ``value`` gets (None: the label is dropped)."""
        if self.everyone:
            return value
        if self.tenant is None:
            return None
        return value if value == self.tenant else OTHERS


TenantView.TOTALS = TenantView()
TenantView.ALL = TenantView(everyone=True)


def _merged(samples: Iterable[Sample], view: TenantView) -> list[Sample]:
    """Samples with their tenant label rewritten by ``view``, those that then coincide added
    up (``_created`` timestamps: the earliest)."""
    merged: dict[tuple[str, tuple[tuple[str, str], ...]], Sample] = {}
    for s in samples:
        labels = dict(s.labels)
        if TENANT in labels:
            shown = view.label(labels.pop(TENANT))
            if shown is not None:
                labels[TENANT] = shown
        key = (s.name, tuple(sorted(labels.items())))
        seen = merged.get(key)
        if seen is None:
            merged[key] = Sample(s.name, labels, s.value, s.timestamp, s.exemplar)
        else:
            combine = min if s.name.endswith("_created") else (lambda a, b: a + b)
            merged[key] = seen._replace(value=combine(seen.value, s.value), exemplar=None)
    return list(merged.values())


class _Filtered(Collector):
    """The families of ``source`` as ``view`` may see them."""

    def __init__(self, source: CollectorRegistry, view: TenantView) -> None:
        self.source = source
        self.view = view

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            if self.view.everyone or not any(TENANT in s.labels for s in family.samples):
                yield family
                continue
            out = Metric(family.name, family.documentation, family.type, family.unit)
            out.samples = _merged(family.samples, self.view)
            yield out


def exposition(source: CollectorRegistry, view: TenantView) -> bytes:
    """The Prometheus text of every metric of ``source`` as ``view`` may see it."""
    if view.everyone:
        return generate_latest(source)
    shown = CollectorRegistry(auto_describe=False)
    shown.register(_Filtered(source, view))
    return generate_latest(shown)
