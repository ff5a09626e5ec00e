"""Contact channels: which ones a customer consents to, and which one an action should use.

Cheaper channels for lower tiers: the account manager for MVC customers who have one, a
personal channel (email, phone) for MGC and standard customers who consent to it, self-service
(the customer's own account and the site: nothing is sent, no consent needed) for BZ and for
everyone without a consented channel. Consent per channel is read from the profile's
``consent`` attribute (``{"email": true, ...}``) until the dialogue records it per channel;
a customer without a profile consents to nothing but self-service.

Examples
--------
>>> from core.records import Customer
>>> c = Customer("c1", attributes={"consent": {"email": True, "phone": False}},
...              account_manager="am-1")
>>> sorted(consented_channels(c))
['account_manager', 'email', 'self_service']
>>> channel_for("MVC", consented_channels(c)), channel_for("BZ", consented_channels(c))
('account_manager', 'self_service')
>>> channel_for("MGC", consented_channels(None))
'self_service'
"""

from __future__ import annotations

from core.records import Customer

CHANNELS: tuple[str, ...] = ("self_service", "email", "phone", "account_manager")
#: The channels tried for each tier, preferred first (self-service always last: always allowed).
PREFERENCE: dict[str, tuple[str, ...]] = {
    "MVC": ("account_manager", "phone", "email", "self_service"),
    "MGC": ("email", "phone", "self_service"),
    "standard": ("email", "self_service"),
    "BZ": ("self_service",),
}


def consented_channels(customer: Customer | None) -> set[str]:
    """The channels ``customer`` may be reached through."""
    allowed = {"self_service"}
    if customer is None:
        return allowed
    if customer.account_manager:
        allowed.add("account_manager")
    consent = customer.attributes.get("consent")
    if isinstance(consent, dict):
        allowed |= {ch for ch in ("email", "phone") if consent.get(ch) is True}
    return allowed


def channel_for(tier: str, allowed: set[str]) -> str:
    """The tier's preferred channel among ``allowed``."""
    for channel in PREFERENCE.get(tier, ("self_service",)):
        if channel in allowed:
            return channel
    return "self_service"
