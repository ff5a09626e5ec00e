"""A deterministic demo tenant: a made-to-measure apparel shop with a year of customer behaviour.

Jeans are the core product; belts, shirts, jackets, shoes, care kits and accessories are the
cross-sell. Customers differ in taste (workwear, classic, street) and in value (a heavy-tailed
spending propensity, so a fifth of them bring most of the revenue); some decline and go quiet in
the last months; some are trade accounts looked after by an account manager. The same seed and
end date give the same data.

Examples
--------
>>> shop = generate(seed=7, n_customers=50, end=datetime(2026, 1, 1, tzinfo=UTC))
>>> len(shop.items) > 50 and len(shop.customers) == 50
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from core.records import Customer, Event, Item

STYLES = ("workwear", "classic", "street")
DAY = 86400.0

# (category, name, price, style affinity, colours)
_CATALOG: list[tuple[str, str, float, str, tuple[str, ...]]] = [
    ("belts", "Harness leather belt", 45.0, "workwear", ("brown", "black")),
    ("belts", "Braided belt", 35.0, "classic", ("tan", "navy")),
    ("belts", "Canvas web belt", 25.0, "street", ("olive", "black")),
    ("belts", "Reversible dress belt", 55.0, "classic", ("black",)),
    ("shirts", "Oxford shirt", 49.0, "classic", ("white", "blue")),
    ("shirts", "Chambray work shirt", 59.0, "workwear", ("indigo",)),
    ("shirts", "Flannel shirt", 55.0, "workwear", ("red", "green")),
    ("shirts", "Western denim shirt", 69.0, "classic", ("rinse",)),
    ("shirts", "Heavyweight tee", 29.0, "street", ("white", "black", "grey")),
    ("shirts", "Graphic tee", 25.0, "street", ("black",)),
    ("jackets", "Trucker jacket", 129.0, "classic", ("rinse", "stone")),
    ("jackets", "Sherpa trucker", 159.0, "workwear", ("rinse",)),
    ("jackets", "Chore coat", 139.0, "workwear", ("brown", "navy")),
    ("jackets", "Coach jacket", 99.0, "street", ("black",)),
    ("jackets", "Leather rider jacket", 249.0, "street", ("black",)),
    ("shoes", "Moc-toe boot", 189.0, "workwear", ("brown",)),
    ("shoes", "Chelsea boot", 169.0, "classic", ("black", "brown")),
    ("shoes", "Canvas sneaker", 65.0, "street", ("white", "black")),
    ("shoes", "Leather loafer", 129.0, "classic", ("brown",)),
    ("care", "Denim wash", 12.0, "classic", ()),
    ("care", "Repair and patch kit", 18.0, "workwear", ()),
    ("care", "Leather conditioner", 15.0, "workwear", ()),
    ("care", "Cedar hanger set", 22.0, "classic", ()),
    ("accessories", "Wool socks 3-pack", 19.0, "workwear", ("grey",)),
    ("accessories", "Bandana", 12.0, "street", ("red", "indigo")),
    ("accessories", "Beanie", 22.0, "street", ("black", "olive")),
    ("accessories", "Canvas tote", 35.0, "classic", ("natural",)),
    ("accessories", "Key chain clip", 15.0, "workwear", ("brass",)),
]
_JEANS_FITS = {
    "slim": "street",
    "skinny": "street",
    "straight": "classic",
    "relaxed": "workwear",
    "bootcut": "workwear",
}
_WASHES = ("rinse", "stone", "vintage", "black")
_REGIONS = ("London", "South East", "North West", "Scotland", "Midlands", "Wales")


@dataclass
class DemoShop:
    items: list[Item]
    customers: list[Customer]
    events: list[Event]


def build_catalog() -> list[Item]:
    items: list[Item] = []
    for fit, style in _JEANS_FITS.items():
        for wash in _WASHES:
            price = {
                "skinny": 89.0,
                "slim": 95.0,
                "straight": 99.0,
                "relaxed": 99.0,
                "bootcut": 105.0,
            }[fit] + (10.0 if wash == "vintage" else 0.0)
            items.append(
                Item(
                    item_id=f"jeans-{fit}-{wash}",
                    title=f"{fit.title()} jeans, {wash} wash",
                    category="jeans",
                    price=price,
                    available=True,
                    attributes={"style": style, "fit": fit, "wash": wash, "made_to_measure": True},
                )
            )
    for category, name, price, style, colours in _CATALOG:
        slug = name.lower().replace(" ", "-").replace(",", "")
        for colour in colours or ("",):
            item_id = f"{slug}-{colour}" if colour else slug
            title = f"{name}, {colour}" if colour else name
            items.append(
                Item(
                    item_id=item_id,
                    title=title,
                    category=category,
                    price=price,
                    available=True,
                    attributes={"style": style, "colour": colour or None},
                )
            )
    # One discontinued item: the catalog says so, and it must never be recommended.
    items[-1].available = False
    return items


def generate(seed: int = 7, n_customers: int = 3000, end: datetime | None = None) -> DemoShop:
    """Build the demo shop; ``end`` defaults to today at midnight UTC."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=365)
    t0, t1 = start.timestamp(), end.timestamp()
    items = build_catalog()
    sellable = [i for i in items if i.available]
    styles = np.array([STYLES.index(i.attributes["style"]) for i in sellable])
    cats = np.array([i.category for i in sellable])
    prices = np.array([i.price or 0.0 for i in sellable])
    # Cheaper and core items are viewed more often.
    base_pop = np.where(cats == "jeans", 2.5, 1.0) / np.sqrt(prices / 30.0)
    belt_or_care = np.flatnonzero(np.isin(cats, ["belts", "care"]))

    customers: list[Customer] = []
    events: list[Event] = []
    eid = 0

    def emit(
        cid: str,
        typ: str,
        idx: int | None,
        ts: float,
        qty: float | None = None,
        value: float | None = None,
    ) -> None:
        nonlocal eid
        eid += 1
        events.append(
            Event(
                event_id=f"demo-{eid:07d}",
                customer_id=cid,
                type=typ,
                timestamp=round(ts, 3),
                item_id=sellable[idx].item_id if idx is not None else None,
                quantity=qty,
                value=value,
            )
        )

    for n in range(n_customers):
        cid = f"cust-{n + 1:05d}"
        taste = rng.dirichlet(np.array([0.4, 0.4, 0.4]) + 2.0 * (np.arange(3) == rng.integers(3)))
        trade = rng.random() < 0.08
        customers.append(
            Customer(
                customer_id=cid,
                attributes={
                    "segment": "trade" if trade else "retail",
                    "region": _REGIONS[int(rng.integers(len(_REGIONS)))],
                    "age_band": ["18-24", "25-34", "35-44", "45-54", "55+"][int(rng.integers(5))],
                },
                consent_personalization=bool(rng.random() > 0.04),
                account_manager=f"am-{int(rng.integers(1, 6))}" if trade else None,
            )
        )
        # Heavy-tailed propensity: sessions per month. Trade accounts buy more.
        rate = float(rng.lognormal(mean=-0.9, sigma=1.3)) * (2.5 if trade else 1.0)
        first = t0 + float(rng.beta(1.0, 1.6)) * (t1 - t0 - 7 * DAY)
        last = t1
        if rng.random() < 0.18:  # decliners: active, then quiet for the last months
            last = max(first + 20 * DAY, t1 - float(rng.uniform(75, 200)) * DAY)
        n_sessions = max(1, int(rng.poisson(rate * (last - first) / (30 * DAY))))
        pref = base_pop * (0.15 + taste[styles])
        pref = pref / pref.sum()
        owned: set[int] = set()
        for ts in np.sort(rng.uniform(first, last, size=n_sessions)):
            viewed = rng.choice(len(sellable), size=int(rng.integers(1, 6)), replace=False, p=pref)
            t = float(ts)
            for idx in viewed:
                t += float(rng.uniform(20, 240))
                emit(cid, "view", int(idx), t)
            for idx in viewed:
                if rng.random() < 0.32:
                    t += float(rng.uniform(10, 120))
                    emit(cid, "add_to_cart", int(idx), t)
                    if rng.random() < 0.55 and t < t1:
                        qty = 2.0 if rng.random() < 0.08 else 1.0
                        t += float(rng.uniform(30, 600))
                        emit(cid, "purchase", int(idx), t, qty, float(round(qty * prices[idx], 2)))
                        owned.add(int(idx))
                        if cats[idx] == "jeans" and rng.random() < 0.45:
                            # The cross-sell the models should learn: a belt or care kit in style.
                            w = 0.2 + taste[styles[belt_or_care]]
                            extra = int(rng.choice(belt_or_care, p=w / w.sum()))
                            t += float(rng.uniform(60, 900))
                            emit(cid, "purchase", extra, t, 1.0, float(round(prices[extra], 2)))
                        if rng.random() < 0.07 and t + 20 * DAY < t1:
                            emit(
                                cid,
                                "return",
                                int(idx),
                                t + float(rng.uniform(5, 20)) * DAY,
                                qty,
                                float(round(qty * prices[idx], 2)),
                            )
            if rng.random() < 0.03 and owned:
                emit(
                    cid,
                    "rating",
                    int(rng.choice(sorted(owned))),
                    t + 3 * DAY,
                    value=float(rng.integers(3, 6)),
                )
    events = [e for e in events if e.timestamp < t1]
    return DemoShop(items=items, customers=customers, events=events)
