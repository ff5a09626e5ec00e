"""A/B experiments between model versions: sticky assignment, per-arm results, ending one.

An experiment names two or more *arms*, each a published model version, and a traffic split.
A customer's arm is a pure function of tenant, experiment and customer (:func:`bucket`: the
first 8 bytes of a SHA-256, never Python's per-process ``hash``), so every worker and replica
puts them in the same arm with nothing shared but the experiment document. Answers carry
``experiment: {experiment_id, arm}``; impressions and clicks sent back with that context are
credited to the arm (:mod:`recommender.feedback`, :mod:`recommender.reports`).

An arm whose version cannot be loaded here is served by another arm's version (the answer then
names the arm that served it), and :meth:`ExperimentService.get` says which arm failed and why.

Examples
--------
>>> e = Experiment("e1", {"A": "v1", "B": "v2"}, {"A": 0.5, "B": 0.5}, started_at=0.0)
>>> e.assign("shop", "c1") == e.assign("shop", "c1")
True
>>> round(bucket("shop", "e1", "c1"), 6)
0.688283
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import Conflict, InvalidInput, NotFound
from recommender.reports import report_document
from store.base import Store

if TYPE_CHECKING:
    from recommender.registry import ModelRegistry

#: Arm names: short identifiers (``A``, ``B``, ``control``).
ARM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

_SCALE = float(2**64)

#: What an answer says about its arm: ``{"experiment_id": ..., "arm": ...}``.
ArmContext = dict[str, str]


def bucket(tenant: str, experiment_id: str, customer_id: str) -> float:
    """A customer's position in ``[0, 1)`` for one experiment, the same in every process."""
    key = f"{tenant}\x00{experiment_id}\x00{customer_id}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / _SCALE


@dataclass(frozen=True)
class Experiment:
    """One experiment's document (what the store keeps)."""

    experiment_id: str
    arms: dict[str, str]
    split: dict[str, float]
    started_at: float
    status: str = "running"
    ended_at: float | None = None
    #: The version activated when it ended (``promote``), if any.
    promoted: str | None = None
    #: Arm -> upper bound of its share of ``[0, 1)``, in arm-name order.
    _bounds: tuple[tuple[str, float], ...] = field(init=False, repr=False, compare=False)
    _contexts: dict[str, ArmContext] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        acc, bounds = 0.0, []
        for arm in sorted(self.arms):
            acc += float(self.split[arm])
            bounds.append((arm, acc))
        object.__setattr__(self, "_bounds", tuple(bounds))
        contexts = {a: {"experiment_id": self.experiment_id, "arm": a} for a in self.arms}
        object.__setattr__(self, "_contexts", contexts)

    def assign(self, tenant: str, customer_id: str) -> str:
        """The customer's arm (sticky: a pure function of tenant, experiment, customer)."""
        u = bucket(tenant, self.experiment_id, customer_id)
        for arm, upper in self._bounds:
            if u < upper:
                return arm
        return self._bounds[-1][0]  # rounding of the split's sum

    def context(self, arm: str) -> ArmContext:
        """What answers served by ``arm`` carry (one dict per arm, made once)."""
        return self._contexts[arm]

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("_bounds", None)
        doc.pop("_contexts", None)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Experiment:
        return cls(
            experiment_id=str(doc["experiment_id"]),
            arms={str(k): str(v) for k, v in doc["arms"].items()},
            split={str(k): float(v) for k, v in doc["split"].items()},
            started_at=float(doc["started_at"]),
            status=str(doc.get("status", "running")),
            ended_at=doc.get("ended_at"),
            promoted=doc.get("promoted"),
        )


def _invalid(loc: list[Any], msg: str) -> InvalidInput:
    return InvalidInput(
        f"invalid input: {'.'.join(map(str, loc))}: {msg}", [{"loc": loc, "msg": msg}]
    )


def check_arms(arms: Mapping[str, str], split: Mapping[str, float]) -> None:
    """Raise ``InvalidInput`` (naming the field) unless arms and split describe a valid test."""
    if len(arms) < 2:
        raise _invalid(["body", "arms"], "at least two arms")
    for arm in arms:
        if not ARM_NAME.match(arm):
            raise _invalid(["body", "arms", arm], "arm names are 1-32 letters, digits, _ or -")
    if set(split) != set(arms):
        raise _invalid(["body", "split"], "one share per arm, the same names as arms")
    for arm, share in split.items():
        if not (math.isfinite(share) and 0.0 <= share <= 1.0):
            raise _invalid(["body", "split", arm], "a share between 0 and 1")
    if abs(sum(split.values()) - 1.0) > 1e-6:  # shares written with 6-7 digits (1/3 each)
        raise _invalid(["body", "split"], "the shares must add up to 1")


class ExperimentService:
    """Start, show and end experiments (``/v1/experiments/{experiment_id}``)."""

    def __init__(self, store: Store, registry: ModelRegistry | None = None) -> None:
        self.store = store
        self.registry = registry

    def start(
        self, tenant: str, experiment_id: str, arms: Mapping[str, str], split: Mapping[str, float]
    ) -> dict[str, Any]:
        """Start (or change) the tenant's experiment. ``InvalidInput`` for a bad split (422),
        ``NotFound`` for an arm naming an unpublished version (404), ``Conflict`` when another
        experiment is running (409)."""
        check_arms(arms, split)
        published = {m.version for m in self.store.list_models(tenant)}
        for arm, version in sorted(arms.items()):
            if version not in published:
                raise NotFound(f"model version '{version}' (arm '{arm}') not found")
        old = self.store.get_experiment(tenant, experiment_id)
        started = (
            float(old["started_at"]) if old and old.get("status") == "running" else time.time()
        )
        exp = Experiment(experiment_id, dict(arms), dict(split), started)
        if not self.store.put_experiment(tenant, experiment_id, exp.to_doc()):
            running = self.store.running_experiment(tenant)
            other = running[0] if running else "another experiment"
            raise Conflict(f"experiment '{other}' is running on this tenant; end it first")
        return self.get(tenant, experiment_id)

    def list(self, tenant: str) -> list[dict[str, Any]]:
        """Every experiment of the tenant, the running one first, then the newest started;
        their documents only (the results are one experiment's ``get``)."""
        docs = [Experiment.from_doc(d).to_doc() for _, d in self.store.list_experiments(tenant)]
        return sorted(docs, key=lambda d: (d["status"] != "running", -d["started_at"]))

    def get(self, tenant: str, experiment_id: str, window_days: float = 7.0) -> dict[str, Any]:
        """The experiment with its running results (the per-arm report since it started) and,
        per arm, whether this worker serves its version (or which arm stands in, and why)."""
        doc = self.store.get_experiment(tenant, experiment_id)
        if doc is None:
            raise NotFound(f"experiment '{experiment_id}' not found")
        exp = Experiment.from_doc(doc)
        events = self.store.iter_events(tenant, types=("impression", "click", "purchase"))
        results = report_document(
            events,
            by="arm",
            start=exp.started_at,
            end=exp.ended_at,
            window_days=window_days,
            experiment_id=experiment_id,
        )
        return {**exp.to_doc(), "arm_status": self._arm_status(tenant, exp), "results": results}

    def _arm_status(self, tenant: str, exp: Experiment) -> dict[str, dict[str, Any]]:
        status: dict[str, dict[str, Any]] = {}
        for arm, version in sorted(exp.arms.items()):
            problem = None
            if self.registry is not None and exp.status == "running":
                problem = self.registry.version_problem(tenant, version)
            served_by = arm
            if problem is not None:
                healthy = [
                    a
                    for a, v in sorted(exp.arms.items())
                    if self.registry is not None
                    and self.registry.version_problem(tenant, v) is None
                ]
                served_by = healthy[0] if healthy else "active version"
            status[arm] = {
                "version": version,
                "serving": problem is None,
                "problem": problem,
                "served_by": served_by,
            }
        return status

    def end(self, tenant: str, experiment_id: str, promote: str | None = None) -> dict[str, Any]:
        """End the experiment; ``promote`` an arm's version (an arm name, or ``"winner"``: the
        arm whose CTR beats every other with a 95% interval above 0, else nothing)."""
        doc = self.store.get_experiment(tenant, experiment_id)
        if doc is None or doc.get("status") != "running":
            raise NotFound(f"experiment '{experiment_id}' is not running")
        exp = Experiment.from_doc(doc)
        version = None
        if promote == "winner":
            arm = self._winner(self.get(tenant, experiment_id)["results"])
            version = exp.arms[arm] if arm is not None else None
        elif promote is not None:
            if promote not in exp.arms:
                raise _invalid(["query", "promote"], "an arm of the experiment, or 'winner'")
            version = exp.arms[promote]
        final = {**exp.to_doc(), "status": "ended", "ended_at": time.time(), "promoted": version}
        if not self.store.end_experiment(tenant, experiment_id, final):
            raise NotFound(f"experiment '{experiment_id}' is not running")
        if version is not None:
            self.store.activate_model(tenant, version)
        return self.get(tenant, experiment_id)

    @staticmethod
    def _winner(results: dict[str, Any]) -> str | None:
        """The arm better than the baseline and every other arm with a CTR interval above 0."""
        groups = results["groups"]
        if len(groups) < 2:
            return None
        best = max(groups, key=lambda g: g["ctr"]["value"])
        base = groups[0]["key"]
        by_variant = {c["variant"]: c["ctr_difference"] for c in results["comparisons"]}
        if best["key"] == base:
            # the baseline wins when every variant is worse with its interval below 0
            return base if all(d["high"] < 0 for d in by_variant.values()) else None
        if by_variant[best["key"]]["low"] <= 0:
            return None
        return str(best["key"])
