"""The question bank: what a question is, which answers fit it, and which questions to ask now.

A question fills one profile fact (``attribute``): readers use the fact, never the question
(:mod:`core.facts`): a fact named like a configurator attribute or measurement (``fit``,
``waist``) steers the configurator's suggestion, ``preferred_category`` leads the
recommendations, ``wallet`` is the declared wallet of the insights. It may name the decision
its answer changes
(``decides``): ``wallet`` (a declared wallet: how much more a growable customer could buy),
``size`` (a size or fit: what the configurator suggests to a made-to-measure buyer),
``channel`` (a preferred channel: how to reach someone never reached) or ``preference`` (a
stated taste: what the recommendations keep). :func:`choose` prefers, among the unanswered
questions that apply to the customer's tier and stage, the one whose answer would change a
decision for *this* customer, then the bank's own ``weight``, then the id.

Examples
--------
>>> bank = {"wallet": {"decides": "wallet", "attribute": "wallet", "text": "Budget?"},
...         "size": {"decides": "size", "attribute": "size", "text": "Size?"}}
>>> [q.question_id for q in choose(bank, set(), Situation(made_to_measure=True), 1)]
['size']
>>> [q.question_id for q in choose(bank, set(), Situation(tier="MGC", growable=True), 2)]
['wallet', 'size']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput

QUESTION_KINDS = ("choice", "number", "text")
DECISIONS = ("wallet", "size", "channel", "preference")
#: A text answer longer than this is refused (a fact, not a letter).
MAX_TEXT_ANSWER = 1000


@dataclass(frozen=True, slots=True)
class Situation:
    """What the choice of a question looks at in a customer."""

    tier: str = "standard"
    lifecycle_stage: str | None = None
    growable: bool = False
    made_to_measure: bool = False
    reached: bool = False
    buyer: bool = False
    #: The contact channels the customer consents to (``consent.channels``): a question that
    #: decides the channel offers only these (a channel without consent is never proposed).
    consented: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Choice:
    """A question worth asking, with why."""

    question_id: str
    question: dict[str, Any]
    score: float
    why: str


def check_answer(question: dict[str, Any], value: Any) -> Any:
    """The answer's value as stored, or :class:`InvalidInput` on ``value`` when it does not fit
    the question's kind (a choice among its options, a finite number, a short text)."""

    def bad(msg: str) -> InvalidInput:
        return InvalidInput(msg, [{"loc": ["body", "value"], "msg": msg}])

    kind = question.get("kind")
    if kind == "choice":
        if not isinstance(value, str) or value not in question.get("options", []):
            raise bad(f"must be one of {question.get('options', [])}")
        return value
    if kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise bad("must be a finite number")
        return value
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_ANSWER:
        raise bad(f"must be a text of 1-{MAX_TEXT_ANSWER} characters")
    return value


def applies(question: dict[str, Any], situation: Situation) -> bool:
    """True when the question's ``applies_to`` admits the customer's tier and stage."""
    rule = question.get("applies_to") or {}
    tiers, stages = rule.get("tier"), rule.get("lifecycle_stage")
    if tiers and situation.tier not in tiers:
        return False
    return not stages or situation.lifecycle_stage in stages


def _worth(decides: str | None, s: Situation) -> tuple[float, str]:
    """How much an answer would change a decision for this customer now, and why."""
    if decides == "wallet" and s.growable:
        return 3.0, "a declared wallet tells how much more this growable customer could buy"
    if decides == "size" and s.made_to_measure:
        return 3.0, "a made-to-measure buyer: the size or fit decides the configurator's suggestion"
    if decides == "channel" and not s.reached:
        return 3.0, "never reached yet: the preferred channel decides how to contact them"
    if decides == "preference" and s.buyer:
        return 1.0, "a buyer: a stated preference sharpens what is recommended"
    return 0.0, "not yet known about this customer"


def _offered(question: dict[str, Any], situation: Situation) -> dict[str, Any] | None:
    """The question as it may be asked: a channel choice keeps only the options the customer
    consents to (None when none is left), every other question as it is.

    >>> q = {"decides": "channel", "kind": "choice", "options": ["email", "phone", "sms"]}
    >>> _offered(q, Situation(consented=frozenset({"sms", "email"})))["options"]
    ['email', 'sms']
    >>> _offered(q, Situation()) is None
    True
    """
    if question.get("decides") != "channel" or question.get("kind") != "choice":
        return question
    options = [o for o in question.get("options", []) if o in situation.consented]
    return {**question, "options": options} if options else None


def choose(
    bank: dict[str, dict[str, Any]], answered: set[str], situation: Situation, n: int
) -> list[Choice]:
    """At most ``n`` unanswered applicable questions, the most useful first (see the module)."""
    found: list[Choice] = []
    for qid, asked in bank.items():
        if qid in answered or not applies(asked, situation):
            continue
        question = _offered(asked, situation)
        if question is None:
            continue
        bonus, why = _worth(question.get("decides"), situation)
        found.append(Choice(qid, question, float(question.get("weight", 1.0)) + bonus, why))
    found.sort(key=lambda c: (-c.score, c.question_id))
    return found[: max(0, n)]


def check_question(question: dict[str, Any]) -> None:
    """:class:`InvalidInput` naming the field when a question cannot be asked or answered."""
    kind, options = question.get("kind"), question.get("options")
    if kind == "choice" and not options:
        raise InvalidInput(
            "a choice question needs options",
            [{"loc": ["body", "options"], "msg": "a choice question needs at least one option"}],
        )
    if kind != "choice" and options:
        raise InvalidInput(
            "only choice questions have options",
            [{"loc": ["body", "options"], "msg": f"a {kind} question takes no options"}],
        )
    if options and len(set(options)) != len(options):
        raise InvalidInput(
            "repeated option", [{"loc": ["body", "options"], "msg": "options must be distinct"}]
        )


def _q(text: str, kind: str, attribute: str, **kw: Any) -> dict[str, Any]:
    return {"text": text, "kind": kind, "attribute": attribute, **kw}


#: The demo tenant's bank (an apparel shop around made-to-measure jeans; the categories are the
#: demo catalog's, so a stated favourite leads that customer's recommendations).
APPAREL_BANK: dict[str, dict[str, Any]] = {
    "shirt-size": _q(
        "Which collar size do you wear?",
        "choice",
        "collar_size",
        options=["38", "39", "40", "41", "42", "43", "44"],
        decides="size",
    ),
    "waist": _q(
        "What is your waist, in inches?",
        "number",
        "waist",  # the made-to-measure jeans' measurement: the suggestion fits it
        decides="size",
    ),
    "fit": _q(
        "Do you prefer a slim, regular or relaxed fit?",
        "choice",
        "fit",
        options=["slim", "regular", "relaxed"],
        decides="size",
    ),
    "wardrobe-budget": _q(
        "Roughly how much do you spend on clothes in a year?",
        "number",
        "wallet",
        decides="wallet",
        applies_to={"tier": ["MVC", "MGC", "standard"]},
    ),
    "preferred-channel": _q(
        "How would you like us to reach you?",
        "choice",
        "preferred_channel",
        options=["email", "phone", "sms", "post"],
        decides="channel",
    ),
    "favourite-category": _q(
        "What do you shop for most often?",
        "choice",
        "preferred_category",
        options=["jeans", "shirts", "jackets", "shoes", "belts", "accessories"],
        decides="preference",
    ),
    "occasion": _q(
        "What do you mostly dress for?",
        "choice",
        "occasion",
        options=["office", "ceremony", "weekend", "travel"],
        weight=0.5,
    ),
}
