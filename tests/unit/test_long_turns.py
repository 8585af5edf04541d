"""When a finished turn must notify: only when the setting is on and it ran longer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat_adapters.long_turns import TurnClock


def test_without_the_setting_no_turn_is_long() -> None:
    assert not TurnClock(None, started=0.0).took_long(now=1e9)


@given(
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=0, max_value=1e6),
)
def test_a_turn_is_long_exactly_when_it_ran_past_the_threshold(after: float, ran: float) -> None:
    assert TurnClock(after, started=0.0).took_long(now=ran) == (ran > after)
