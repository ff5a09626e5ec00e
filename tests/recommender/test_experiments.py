"""Experiment assignment: stable, proportional to the split, independent across experiments."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from recommender.experiments import Experiment, check_arms


def test_assignment_follows_the_split_and_differs_between_experiments() -> None:
    one = Experiment("e1", {"A": "v1", "B": "v2"}, {"A": 0.2, "B": 0.8}, started_at=0.0)
    two = Experiment("e2", {"A": "v1", "B": "v2"}, {"A": 0.2, "B": 0.8}, started_at=0.0)
    customers = [f"c{i}" for i in range(20_000)]
    arms = [one.assign("shop", c) for c in customers]
    assert abs(arms.count("A") / len(arms) - 0.2) < 0.015
    assert arms == [one.assign("shop", c) for c in customers]  # sticky
    # another experiment (or tenant) draws afresh: arms are not correlated across tests
    same = sum(a == two.assign("shop", c) for a, c in zip(arms, customers, strict=True))
    expected = 0.2 * 0.2 + 0.8 * 0.8
    assert abs(same / len(arms) - expected) < 0.02
    assert Experiment.from_doc(one.to_doc()) == one


def test_splits_must_name_the_arms_and_add_up_to_one() -> None:
    check_arms({"A": "v1", "B": "v2", "C": "v3"}, {"A": 0.333333, "B": 0.333333, "C": 0.333334})
    for arms, split, loc in (
        ({"A": "v1", "B": "v2"}, {"A": 0.5, "B": 0.4}, ["body", "split"]),
        ({"A": "v1", "B": "v2"}, {"A": 1.5, "B": -0.5}, ["body", "split", "A"]),
        ({"A": "v1", "B": "v2"}, {"A": 0.5, "C": 0.5}, ["body", "split"]),
        ({"A": "v1", "a b": "v2"}, {"A": 0.5, "a b": 0.5}, ["body", "arms", "a b"]),
        ({"A": "v1"}, {"A": 1.0}, ["body", "arms"]),
    ):
        with pytest.raises(InvalidInput) as err:
            check_arms(arms, split)
        assert err.value.errors[0]["loc"] == loc
