"""Inventory rules that need no storage: merging movements and the integrity check.

``integrity_problems`` is what ``OrderService.check_integrity`` and the concurrency proof
rely on to say "storage is consistent", so each kind of inconsistency it must report is
shown to be reported here.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from orderkit.domain.inventory import StockLevel, StockMovement, aggregate, integrity_problems
from strategies import stock_movements


def cap(quantity: int, location: str = "default") -> StockMovement:
    return StockMovement("CAP", location, quantity)


@given(st.lists(stock_movements(st.sampled_from(("CAP", "MUG", "TEE")), st.just("default"))))
def test_aggregating_keeps_the_total_of_each_sku_and_location(
    items: list[StockMovement],
) -> None:
    totals: Counter[tuple[str, str]] = Counter()
    for item in items:
        totals[(item.sku, item.location)] += item.quantity

    assert {k: v for k, v in totals.items() if v} == {
        (m.sku, m.location): m.quantity for m in aggregate(items)
    }


@given(st.lists(stock_movements(st.sampled_from(("CAP", "MUG", "TEE")))))
def test_aggregated_movements_are_sorted_by_sku_and_location(items: list[StockMovement]) -> None:
    merged = [(m.sku, m.location) for m in aggregate(items)]

    assert sorted(merged) == merged


def test_aggregating_drops_a_sku_whose_quantities_add_up_to_nothing() -> None:
    assert (cap(2, "berlin"),) == aggregate([cap(0), cap(2, "berlin")])


def test_a_level_is_low_when_available_stock_falls_below_its_threshold() -> None:
    assert (False, True) == (
        StockLevel("CAP", "default", 10, 5, 5).is_low,
        StockLevel("CAP", "default", 10, 6, 5).is_low,
    )


def test_levels_that_match_their_reservations_have_no_problems() -> None:
    levels = [StockLevel("CAP", "default", 10, 5), StockLevel("MUG", "default", 3, 0)]

    assert [] == integrity_problems(levels, [("o-1", cap(2)), ("o-2", cap(3))])


def test_a_reserved_count_that_differs_from_the_reservations_is_a_problem() -> None:
    problems = integrity_problems([StockLevel("CAP", "default", 10, 5)], [("o-1", cap(4))])

    assert ["CAP@default: reserved=5 but reservations sum to 4"] == problems


def test_a_level_reserved_beyond_what_is_on_hand_is_a_problem() -> None:
    problems = integrity_problems([StockLevel("CAP", "default", 2, 3)], [("o-1", cap(3))])

    assert ["CAP@default: on_hand=2 reserved=3"] == problems


def test_reservations_of_a_sku_without_a_stock_record_are_a_problem() -> None:
    problems = integrity_problems([], [("o-1", cap(1, "berlin"))])

    assert ["CAP@berlin: 1 reserved by orders but no stock record"] == problems


def test_a_reservation_that_is_not_positive_is_a_problem() -> None:
    problems = integrity_problems([StockLevel("CAP", "default", 5, 0)], [("o-1", cap(0))])

    assert ["order o-1 holds a non-positive reservation of CAP"] == problems
