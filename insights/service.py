"""Customer insights as a per-process service: the tenant's scorer, refreshes and reads.

``atelier insights --tenant T [--as-of DATE]`` fits the models and stores a summary (models,
Pareto, segments and the scoring state) and one row per customer. This service keeps the rows
current between runs: when a ``purchase`` or ``return`` event is stored, the customers concerned
are re-scored at once with the stored parameters fixed, as of their newest event. The scoring
itself (refresh rule, on-demand rows, horizons, the no-purchase answer) is
:class:`insights.scoring.CustomerValueScorer`, the job's own scoring path; this module reads and
writes the store and caches one scorer per tenant.

Decisions:

* No job run for the tenant: reads raise :class:`~core.errors.NotFound` telling to run
  ``atelier insights``.
* Unknown customer (no profile, no event, or another tenant's): ``NotFound``, as everywhere.
* Known customer with purchases but no row yet (purchases imported after the job, or all after
  its ``as_of``): scored on demand from the stored parameters, stored, answered.
* Known customer without any purchase: ``status: "no_purchases"``, tier ``standard``,
  lifecycle ``exploration``, null figures, a cross-sell action to win the first purchase and
  ``next_tier`` saying what the first purchases must be to reach MVC.

Per-request work stays small: a customer read is one store read; the scorer (parsed models) is
cached per process and per tenant, keyed by the job's ``computed_at`` (each row names the run it
came from), so a new run in another process is picked up by every worker on its next read.

Known limit: a refresh that races a job run (parameters read before the run, row written after)
leaves that one row on the old parameters until the customer's next purchase or the next run;
the row's ``model_computed_at`` shows it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput, NotFound, Unavailable
from core.records import Customer, Event
from insights.actions import order_for_action, recover_action
from insights.channels import channel_for, consented_channels
from insights.config import ValueConfig
from insights.differentiation import carry_population
from insights.entitlements import (
    TierPolicy,
    cheapest_route,
    granted_perks,
    grants,
    load_tier_policy,
    save_tier_policy,
    service_effects,
    target_tier,
)
from insights.rows import parse_iso
from insights.scoring import VALUE_EVENT_TYPES, CustomerValueScorer
from insights.settings import load_value_config, save_value_config
from store.base import Store
from store.outage import OutageLog

logger = logging.getLogger(__name__)


#: The actions whose ``items`` say what to offer.
OFFER_ACTIONS = ("cross_sell", "upgrade")
#: The orders of a manager's worklist (``?order=``).
WORKLIST_ORDERS = ("action", "wallet_gap")


def _matches(row: dict[str, Any], filters: dict[str, str | None]) -> bool:
    """Whether ``row`` passes the audience's row filters (channel is checked apart)."""
    nba = row.get("next_best_action") or {}
    got = {
        "tier": row.get("tier"),
        "lifecycle_stage": row.get("lifecycle_stage"),
        "action": nba.get("action"),
        "needs_segment": row.get("needs_segment"),
    }
    return all(filters.get(k) is None or got[k] == filters[k] for k in got)


def no_insights(tenant: str) -> NotFound:
    """The error of a tenant whose insights job never ran."""
    return NotFound(
        f"no customer insights computed for tenant '{tenant}' yet: "
        f"run `atelier insights --tenant {tenant}`"
    )


@dataclass(frozen=True, slots=True)
class TenantRun:
    """One job run of a tenant: its ``computed_at`` and its scorer, parsed once per process."""

    computed_at: str
    scorer: CustomerValueScorer


class InsightsService:
    """Per-process cache of each tenant's scorer, and the store work around scoring."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, TenantRun] = {}
        #: ``(tenant, customer_id) -> item ids`` to offer (the app connects the recommender).
        self.offer: Callable[[str, str], list[str]] | None = None
        #: ``(tenant, customer_id) -> open complaints`` (the app connects the dialogue records).
        self.complaints: Callable[[str, str], list[dict[str, Any]]] | None = None
        #: ``(tenant, customer_ids) -> {customer: open complaints}``, the same for a whole
        #: portfolio in a few reads (the manager's worklist); customers without any absent.
        self.complaints_of: (
            Callable[[str, Sequence[str]], dict[str, list[dict[str, Any]]]] | None
        ) = None
        self._lock = threading.Lock()
        self._outage = OutageLog(logger, "insights refresh")

    def run(self, tenant: str, version: str | None = None) -> TenantRun | None:
        """The tenant's current run; ``version`` (a row's run) skips the store when it is cached."""
        cached = self._cache.get(tenant)
        if cached is not None and version is not None and cached.computed_at == version:
            return cached
        summary = self.store.get_insights_summary(tenant)
        if not summary or "state" not in summary:
            self._cache.pop(tenant, None)
            return None
        if cached is not None and cached.computed_at == summary["computed_at"]:
            return cached
        fresh = TenantRun(summary["computed_at"], CustomerValueScorer.from_state(summary["state"]))
        with self._lock:
            self._cache[tenant] = fresh
        return fresh

    # -- refresh -------------------------------------------------------------------------------
    def refresh(
        self, run: TenantRun, tenant: str, newest: dict[str, float]
    ) -> dict[str, dict[str, Any]]:
        """Re-score and store the customers of ``newest`` (id -> time of their newest new event).

        The rule (as of when, which customers in one pass) is the scorer's
        (:meth:`CustomerValueScorer.refresh`); each row names the run whose parameters it used.
        """
        frame = self.store.customers_events_frame(tenant, list(newest), VALUE_EVENT_TYPES)
        if not len(frame):
            return {}
        # Contacts count in the cost to serve, as in the job (one read per customer).
        contacts = {c: float(len(self.store.list_contacts(tenant, c))) for c in newest}
        rows = run.scorer.refresh(frame, newest, contacts=contacts)
        for cid, row in rows.items():
            # The needs segment and wallet are the run's (learned on the population): kept.
            rows[cid] = carry_population(row, self.store.get_insights_row(tenant, cid))
            rows[cid] = self.with_recover(tenant, rows[cid])
            rows[cid]["model_computed_at"] = run.computed_at
        self.store.put_insights_rows(tenant, rows)  # one transaction for the whole batch
        return rows

    def on_events(self, tenant: str, events: list[Event]) -> None:
        """Event listener: re-score the customers whose purchases or returns just arrived.

        The events are already stored and acknowledged: a failure here is logged, never raised,
        and the next purchase or job run brings the rows up to date.
        """
        try:
            self._refresh_events(tenant, events)
        except Unavailable as exc:  # an outage is one line when it starts, one when it ends
            self._outage.failed(exc)
            return
        except Exception:
            logger.exception("insights refresh failed for tenant %r", tenant)
            return
        self._outage.succeeded()

    def _refresh_events(self, tenant: str, events: list[Event]) -> None:
        newest: dict[str, float] = {}
        for e in events:
            if e.type in VALUE_EVENT_TYPES:
                newest[e.customer_id] = max(newest.get(e.customer_id, e.timestamp), e.timestamp)
        if not newest:
            return
        run = self.run(tenant)
        if run is not None:
            self.refresh(run, tenant, newest)

    # -- reads ---------------------------------------------------------------------------------
    def row_on_demand(self, tenant: str, customer_id: str) -> dict[str, Any]:
        """The row of a known customer the job did not score (404 when unknown / no run)."""
        if not self.store.customer_known(tenant, customer_id):
            raise NotFound(f"customer '{customer_id}' not found")
        run = self.run(tenant)
        if run is None:
            raise no_insights(tenant)
        stamps = [
            e.timestamp
            for e in self.store.customer_events(tenant, customer_id)
            if e.type == "purchase"
        ]
        if stamps:
            row = self.refresh(run, tenant, {customer_id: max(stamps)}).get(customer_id)
            if row is not None:
                return row
        return {
            **run.scorer.no_purchases(customer_id),
            "computed_at": run.computed_at,
            "model_computed_at": run.computed_at,
        }

    def customer_row(
        self, tenant: str, customer_id: str, horizon_days: float | None = None
    ) -> dict[str, Any]:
        """The customer's row from the last run (refreshed by every purchase since), scored on
        demand when missing, with ``clv`` and ``predicted_purchases`` at ``horizon_days``. An
        alias answers its merged customer's row."""
        customer_id = self.store.resolve_customers(tenant, [customer_id]).get(
            customer_id, customer_id
        )
        row = self.store.get_insights_row(tenant, customer_id)
        if row is None:
            row = self.row_on_demand(tenant, customer_id)
        row = dict(row)
        row.setdefault("status", "scored")
        row.setdefault("model_computed_at", row.get("computed_at"))
        row["tier_horizon_days"] = row.get("horizon_days")
        row = self.with_channel(tenant, row)
        if horizon_days is not None and row["status"] == "scored":
            run = self.run(tenant, row["model_computed_at"])
            if run is None:
                raise no_insights(tenant)
            row = run.scorer.at_horizon(row, horizon_days)
        return row

    def history(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's entry at each job run, oldest first (404 for an unknown customer); an
        alias answers its merged customer's."""
        customer_id = self.store.resolve_customers(tenant, [customer_id]).get(
            customer_id, customer_id
        )
        runs = self.store.get_insights_history(tenant, customer_id)
        if not runs and not self.store.customer_known(tenant, customer_id):
            raise NotFound(f"customer '{customer_id}' not found")
        return runs

    def with_recover(
        self, tenant: str, row: dict[str, Any], complaints: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """``row`` with ``recover`` as its next best action while the customer has an open
        complaint (read now unless ``complaints`` are given: cases change between runs), else
        as it is."""
        if complaints is None:
            if self.complaints is None:
                return row
            complaints = self.complaints(tenant, row["customer_id"])
        action = recover_action(row, complaints)
        if action is None:
            return row
        return {**row, "next_best_action": action}

    def with_channel(
        self,
        tenant: str,
        row: dict[str, Any],
        channel: str | None = None,
        *,
        customer: Customer | None = None,
        items: bool = True,
        complaints: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``row`` with its next best action made actionable: ``recover`` while a complaint is
        open (``complaints``, read now unless given), its ``channel`` (``channel``, or the
        tier's preferred one among those the customer consents to, read from the profile now
        unless ``customer`` is given) and, for cross-sell and upgrade, ``items`` from the
        active recommender (unless ``items`` is False: a worklist orders hundreds of rows and
        shows a page)."""
        row = self.with_recover(tenant, row, complaints)
        nba = row.get("next_best_action")
        if not isinstance(nba, dict):
            return row
        if channel is None:
            if customer is None:
                customer = self.store.get_customer(tenant, row["customer_id"])
            channel = channel_for(str(row.get("tier")), consented_channels(customer))
        row = {**row, "next_best_action": {**nba, "channel": channel}}
        return self.with_items(tenant, row) if items else row

    def with_items(self, tenant: str, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with a cross-sell or upgrade action naming the items to offer (the active
        recommender's for the customer); other rows as they are."""
        nba = row.get("next_best_action")
        if not isinstance(nba, dict) or nba.get("action") not in OFFER_ACTIONS:
            return row
        if nba.get("items") or self.offer is None:
            return row
        cid = row.get("customer_id")
        try:
            offered = self.offer(tenant, str(cid)) or None
        except Exception:  # an action without items beats no answer
            logger.exception("no items for the next best action of %r", cid)
            return row
        return {**row, "next_best_action": {**nba, "items": offered}}

    def audience(
        self, tenant: str, filters: dict[str, str | None], after: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the rows matching ``filters`` (tier, lifecycle_stage, action,
        needs_segment, channel), in customer id order after ``after``; with ``channel``, only
        customers consenting to it. Returns the page and the last id when more may follow."""
        if self.run(tenant) is None:
            raise no_insights(tenant)
        channel = filters.get("channel")
        page: list[dict[str, Any]] = []
        for cid, row in self.store.iter_insights_rows(tenant, after):
            if not _matches(row, filters):
                continue
            customer = self.store.get_customer(tenant, cid) if channel is not None else None
            if channel is not None and channel not in consented_channels(customer):
                continue
            row = self.with_channel(tenant, row, channel)
            page.append(row)
            if len(page) == limit:
                return page, cid
        return page, None

    def segments_by(self, tenant: str, by: str) -> dict[str, dict[str, Any]]:
        """Customers, revenue and CLV per segment of ``by`` (tier, lifecycle, needs, or
        ``attribute:NAME``, which reads every profile and row: one pass over the tenant)."""
        s = self.summary(tenant)["segments"]
        if by == "tier":
            return dict(s["by_tier"])
        if by == "lifecycle":
            return dict(s["by_lifecycle"])
        if by == "needs":
            return dict(s.get("by_needs") or {})
        name = by.removeprefix("attribute:")
        values = {c.customer_id: c.attributes.get(name) for c in self.store.iter_customers(tenant)}
        out: dict[str, dict[str, Any]] = {}
        for cid, row in self.store.iter_insights_rows(tenant):
            value = values.get(cid)
            group = out.setdefault(
                "(none)" if value is None else str(value),
                {"customers": 0, "revenue": 0.0, "clv": 0.0, "by_tier": {}},
            )
            hist = row.get("history") or {}
            group["customers"] += 1
            group["revenue"] += max(
                float(hist.get("revenue", 0.0)) - float(hist.get("returned", 0.0)), 0.0
            )
            group["clv"] += float(row.get("clv") or 0.0)
            tier = str(row.get("tier"))
            group["by_tier"][tier] = group["by_tier"].get(tier, 0) + 1
        return out

    # -- tier perks ----------------------------------------------------------------------------
    def tier_policy(self, tenant: str) -> dict[str, Any]:
        """The tenant's perks per tier and the policy's version (0: never set)."""
        version, policy = load_tier_policy(self.store, tenant)
        return {"version": version, **policy.model_dump(mode="json")}

    def set_tier_policy(self, tenant: str, policy: TierPolicy) -> dict[str, Any]:
        """Store a new version of the policy; entitlements use it from the next read."""
        save_tier_policy(self.store, tenant, policy)
        return self.tier_policy(tenant)

    def _tier_of(self, tenant: str, customer_id: str) -> dict[str, Any]:
        row = self.store.get_insights_row(tenant, customer_id)
        return dict(row) if row is not None else self.row_on_demand(tenant, customer_id)

    def entitlements(self, tenant: str, customer_id: str) -> dict[str, Any]:
        """The perks the customer's tier grants and, for each withheld one, the cheapest
        reachable route to the tier that grants it (:mod:`insights.entitlements`); what the
        granted perks change in the service. 404 for an unknown customer or before any run."""
        version, policy = load_tier_policy(self.store, tenant)
        row = self._tier_of(tenant, customer_id)
        tier = str(row["tier"])
        granted: list[dict[str, Any]] = []
        withheld: list[dict[str, Any]] = []
        needs: dict[str, dict[str, Any]] = {}
        for perk_tier, perk in policy.perks():
            doc = {**perk.model_dump(mode="json"), "tier": perk_tier}
            if grants(perk_tier, tier):
                granted.append(doc)
                continue
            target = target_tier(perk_tier)
            if target not in needs:
                needs[target] = self._requirement(tenant, row, target)
            withheld.append({**doc, "requirement": needs[target]})
        return {
            "customer_id": customer_id,
            "tier": tier,
            "policy_version": version,
            "granted": granted,
            "withheld": withheld,
            "effects": service_effects(granted),
            "as_of": row.get("as_of"),
            "computed_at": row.get("computed_at"),
        }

    def _requirement(self, tenant: str, row: dict[str, Any], target: str) -> dict[str, Any]:
        """What reaching ``target`` takes the customer of ``row`` (see :func:`cheapest_route`)."""
        run = self.run(tenant, row.get("model_computed_at") or row.get("computed_at"))
        if run is None:
            raise no_insights(tenant)
        cid = row["customer_id"]
        windows = None
        if row.get("status", "scored") == "scored" and row.get("as_of"):
            frame = self.store.customers_events_frame(tenant, [cid], VALUE_EVENT_TYPES)
            contacts = float(len(self.store.list_contacts(tenant, cid)))
            windows = run.scorer.reach(
                cid, frame, parse_iso(row["as_of"]), target, contacts=contacts
            )
        if windows is None:  # no purchase yet: the first one is the step to take
            first = run.scorer.no_purchases(cid)["next_tier"]
            return {
                "tier": target,
                "reachable": True,
                "route": "first_purchase",
                "purchases": first.get("purchases"),
                "spend": None,
                "purchase_value": run.scorer.fallback_spend,
                "within_days": first.get("within_days"),
                "requirement": first["requirement"],
            }
        return cheapest_route(target, windows)

    def perk_effects(self, tenant: str, customer_id: str) -> dict[str, Any]:
        """What the customer's granted perks change in the service (no discount, no priority
        for a customer the tenant does not know or before any run: a configure still answers)."""
        _, policy = load_tier_policy(self.store, tenant)
        if not policy.tiers:
            return service_effects([])
        try:
            tier = str(self._tier_of(tenant, customer_id)["tier"])
        except NotFound:
            return service_effects([])
        return service_effects([p.model_dump(mode="json") for p in granted_perks(policy, tier)])

    # -- settings ------------------------------------------------------------------------------
    def value_config(self, tenant: str) -> dict[str, Any]:
        """The tenant's value configuration, its version, and the version the last run used."""
        version, config = load_value_config(self.store, tenant)
        summary = self.store.get_insights_summary(tenant) or {}
        used = (summary.get("state") or {}).get("config_version")
        return {"version": version, "config": config, "run_config_version": used}

    def set_value_config(self, tenant: str, config: ValueConfig) -> dict[str, Any]:
        """Store a new version; the next job run applies it to every row at once."""
        save_value_config(self.store, tenant, config)
        return self.value_config(tenant)

    def summary(self, tenant: str) -> dict[str, Any]:
        """The last run's summary (models, Pareto, segments, scoring state)."""
        summary = self.store.get_insights_summary(tenant)
        if not summary or "state" not in summary:
            raise no_insights(tenant)
        return summary

    def manager_worklist(
        self,
        tenant: str,
        manager_id: str,
        filters: dict[str, str | None] | None = None,
        order: str = "action",
    ) -> list[tuple[str, dict[str, Any]]]:
        """The manager's customers with their rows (``recover`` while a complaint is open, the
        channel each action goes through), ordered by ``order``: ``action`` (default) is what
        to do first first — the money at stake of the next best action, then churn risk, then
        CLV, then id; ``wallet_gap`` is the money left in the customer's wallet (wallet minus
        annual spend), largest first, then as ``action``. Customers without insights yet (no
        purchase, or no job run) come last, in id order, with an empty row. ``filters`` (tier,
        lifecycle_stage, action, needs_segment) keep the matching rows only."""
        if order not in WORKLIST_ORDERS:
            raise InvalidInput(
                f"order must be one of {', '.join(WORKLIST_ORDERS)}",
                [{"loc": ["query", "order"], "msg": f"not one of {', '.join(WORKLIST_ORDERS)}"}],
            )
        scored: list[dict[str, Any]] = []
        unscored: list[str] = []
        rows: dict[str, dict[str, Any]] = {}
        portfolio = self.store.customers_of_manager(tenant, manager_id)
        ids = [c.customer_id for c in portfolio]
        held = self.store.get_insights_rows(tenant, ids)
        # the portfolio's open complaints in a few reads, not one per customer
        complaints = None if self.complaints_of is None else self.complaints_of(tenant, ids)
        for customer in portfolio:
            cid = customer.customer_id
            row = held.get(cid) or {}
            nba = row.get("next_best_action")
            scored_row = isinstance(nba, dict) and nba.get("priority") is not None
            if scored_row:  # the action as shown (recover, channel) is the one filtered on
                row = self.with_channel(
                    tenant,
                    {**row, "customer_id": cid},
                    customer=customer,
                    items=False,
                    complaints=None if complaints is None else complaints.get(cid, []),
                )
            if filters and not _matches(row, filters):
                continue
            if scored_row:
                scored.append(
                    {
                        "customer_id": cid,
                        "next_best_action": {
                            "priority": float(row["next_best_action"]["priority"])
                        },
                        "churn_risk": float(row.get("churn_risk") or 0.0),
                        "clv": float(row.get("clv") or 0.0),
                        "wallet_gap": float(row.get("wallet_gap") or 0.0),
                    }
                )
            else:
                unscored.append(cid)
            rows[cid] = row
        ordered = order_for_action(scored)
        if order == "wallet_gap":  # a stable sort keeps the action order among equal gaps
            ordered.sort(key=lambda r: -r["wallet_gap"])
        order_ids = [r["customer_id"] for r in ordered] + sorted(unscored)
        return [(cid, rows[cid]) for cid in order_ids]
