"""Contact channels: which ones a customer consents to, and which one an action should use.

Cheaper channels for lower tiers: the account manager for MVC customers who have one, a
personal channel (email, phone, sms, post) for MGC and standard customers who consent to it,
self-service (the customer's own account and the site: nothing is sent, no consent needed) for
BZ and for everyone without a consented channel. Consent is the profile's, channel by channel
(``consent.channels`` of ``PUT /v1/customers/{id}``): a channel not listed has no consent. The
account manager reaches a customer by phone or email, so that channel needs a manager and one
of those consents. A customer without a profile consents to nothing but self-service.

Examples
--------
>>> from core.records import Customer
>>> c = Customer("c1", consent_channels={"email": True, "phone": False}, account_manager="am-1")
>>> sorted(consented_channels(c))
['account_manager', 'email', 'self_service']
>>> channel_for("MVC", consented_channels(c)), channel_for("BZ", consented_channels(c))
('account_manager', 'self_service')
>>> channel_for("MGC", consented_channels(None))
'self_service'
>>> sorted(consented_channels(Customer("c2", account_manager="am-1")))  # no consent at all
['self_service']
"""

from __future__ import annotations

from core.records import CONSENT_CHANNELS, Customer

CHANNELS: tuple[str, ...] = ("self_service", *CONSENT_CHANNELS, "account_manager")
#: The channels tried for each tier, preferred first (self-service always last: always allowed).
PREFERENCE: dict[str, tuple[str, ...]] = {
    "MVC": ("account_manager", "phone", "email", "sms", "post", "self_service"),
    "MGC": ("email", "phone", "sms", "post", "self_service"),
    "standard": ("email", "sms", "post", "self_service"),
    "BZ": ("self_service",),
}
#: The consents through which an account manager reaches their customer.
MANAGER_REACHES_BY = ("phone", "email")


def consented_channels(customer: Customer | None) -> set[str]:
    """The channels ``customer`` may be reached through."""
    allowed = {"self_service"}
    if customer is None:
        return allowed
    allowed |= {ch for ch in CONSENT_CHANNELS if customer.consent_channels.get(ch) is True}
    if customer.account_manager and allowed & set(MANAGER_REACHES_BY):
        allowed.add("account_manager")
    return allowed


def channel_for(tier: str, allowed: set[str]) -> str:
    """The tier's preferred channel among ``allowed``."""
    for channel in PREFERENCE.get(tier, ("self_service",)):
        if channel in allowed:
            return channel
    return "self_service"
