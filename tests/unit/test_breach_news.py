"""Breach news: a burst of missed deadlines is one announcement and one bell, however large."""

from __future__ import annotations

from datetime import UTC, datetime

from oncall_tui.breach_news import BreachNews
from oncall_tui.breaches import Breach

DUE = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def breach(number: int, key: str = "acknowledge", label: str = "Acknowledge") -> Breach:
    return Breach(number, key, label, DUE)


def test_one_breach_is_said_in_full_and_rings(policy):
    news = BreachNews(policy)
    assert news.add([breach(1)], at=100.0)
    assert news.announcement(100.0).text == "INC-1: Acknowledge deadline missed"


def test_an_escalation_says_whom_to_call(policy):
    news = BreachNews(policy)
    tier = policy.escalation[1]
    news.add([breach(4, tier.key, f"Escalate to {tier.level}")], at=0.0)
    text = news.announcement(0.0).text
    assert text.startswith(f"INC-4: escalated to {tier.level}")


def test_a_storm_is_a_count_and_the_bell_rings_once_per_burst(policy):
    news = BreachNews(policy)
    assert news.add([breach(n) for n in range(1, 31)], at=0.0)
    assert not news.add([breach(n) for n in range(31, 38)], at=20.0)
    found = news.announcement(30.0)
    assert found.count == 37
    assert found.text == "37 deadlines breached in the last minute, on 37 incidents — press B to list them"
    # A minute later the first thirty have aged out of "the last minute".
    assert news.announcement(70.0).count == 7
    assert news.announcement(81.0) is None
    assert news.add([breach(99)], at=81.0)  # a quiet minute ended the burst: ring again


def test_a_few_incidents_are_named(policy):
    news = BreachNews(policy)
    news.add([breach(n, key) for n in (1, 2) for key in ("acknowledge", "notify")], at=0.0)
    assert news.announcement(0.0).text == "4 deadlines missed: INC-1, INC-2"
