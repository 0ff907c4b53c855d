"""The storage port's size, and the rules and checks that sit above it, written once.

Adapters trust their input: queries check themselves when they are made, the dispatcher
checks its batch, and the stock and outbox rules are pure functions the service applies
before one conditional write.
"""

from __future__ import annotations

import ast
import inspect
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

import orderkit.ports
from orderkit.adapters.memory import MemoryStorage
from orderkit.clock import FixedClock
from orderkit.domain.inventory import StockLevel, adjusted, received, with_threshold
from orderkit.errors import InvalidStockAdjustment, LeaseLost, OutboxStateError, ValidationError
from orderkit.notify.dispatch import Dispatcher, JsonRenderer
from orderkit.notify.outbox import (
    OutboxQuery,
    OutboxStatus,
    check_new_entries,
    mark_failed,
    mark_sent,
    requeue,
)
from orderkit.ports import OrderQuery
from orderkit.testing.outbox import sample_entry

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
DOCS = Path(__file__).parent.parent / "docs"
STORAGE_PORTS = (
    "Storage",
    "UnitOfWork",
    "OrderRepository",
    "StockRepository",
    "EventLog",
    "IdempotencyStore",
    "Sequences",
    "OutboxRepository",
)


def required_methods() -> dict[str, list[str]]:
    """Each storage protocol's methods and properties, read from the source of ports.py."""
    tree = ast.parse(inspect.getsource(orderkit.ports))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    return {
        name: [n.name for n in classes[name].body if isinstance(n, ast.FunctionDef)]
        for name in STORAGE_PORTS
    }


PAGE_NAMES = {
    "`Storage`": "Storage",
    "`UnitOfWork`": "UnitOfWork",
    "orders": "OrderRepository",
    "stock": "StockRepository",
    "events": "EventLog",
    "idempotency": "IdempotencyStore",
    "sequences": "Sequences",
    "outbox": "OutboxRepository",
}


def test_the_storage_port_asks_26_methods_per_protocol_as_the_architecture_page_says() -> None:
    counts = {name: len(methods) for name, methods in required_methods().items()}
    page = (DOCS / "architecture.md").read_text()
    said = re.search(
        r"Storage asks (\d+) methods of an adapter over its 8\s+protocols \(([^)]*)\)", page
    )
    assert said is not None, "the architecture page no longer says how many methods"
    per_protocol = {
        PAGE_NAMES[name.strip()]: int(count)
        for name, count in (item.rsplit(None, 1) for item in said.group(2).split(","))
    }
    assert (26, 26, counts) == (sum(counts.values()), int(said.group(1)), per_protocol)


def test_the_storage_guide_says_the_port_asks_as_many_methods_as_it_does() -> None:
    said = re.search(r"The port is narrow \((\d+) methods", (DOCS / "storage.md").read_text())
    assert (26, "26") == (
        sum(len(methods) for methods in required_methods().values()),
        said.group(1) if said else None,
    )


def test_a_query_for_a_carrier_without_a_tracking_number_raises_validation_error_naming_it() -> (
    None
):
    with pytest.raises(ValidationError) as raised:
        OrderQuery(carrier="sf")
    assert "tracking_number" == raised.value.field


def test_a_query_for_a_tracking_number_without_a_carrier_raises_validation_error_naming_it() -> (
    None
):
    with pytest.raises(ValidationError) as raised:
        OrderQuery(tracking_number="SF1")
    assert "carrier" == raised.value.field


def test_a_query_compares_tracking_numbers_normalized() -> None:
    assert "SF12345" == OrderQuery(carrier="sf", tracking_number=" sf 123 45").tracking_number


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"order_id": ""}, "order_id"),
        ({"entry_id": ""}, "entry_id"),
        ({"created_from": T0.replace(tzinfo=None)}, "created_from"),
        ({"created_to": T0.replace(tzinfo=None)}, "created_to"),
    ],
    ids=[
        "status",
        "limit-0",
        "limit-1001",
        "empty-order-id",
        "empty-entry-id",
        "naive-from",
        "naive-to",
    ],
)
def test_a_malformed_outbox_query_raises_validation_error_naming_the_field_when_made(
    filters: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        OutboxQuery(**filters)  # type: ignore[arg-type]
    assert field == raised.value.field


@pytest.mark.parametrize("limit", [0, 1001])
def test_dispatching_a_batch_outside_one_to_a_thousand_raises_validation_error(
    limit: int,
) -> None:
    dispatcher = Dispatcher(MemoryStorage(), {}, JsonRenderer(), clock=FixedClock(T0))
    with pytest.raises(ValidationError) as raised:
        dispatcher.dispatch_pending(limit)
    assert "limit" == raised.value.field


def test_receiving_a_sku_never_stocked_makes_a_level_holding_what_arrived() -> None:
    assert StockLevel("MUG", "default", 4, 0) == received(None, "MUG", "default", 4)


def test_adjusting_below_what_is_reserved_raises_invalid_stock_adjustment() -> None:
    with pytest.raises(InvalidStockAdjustment) as raised:
        adjusted(StockLevel("MUG", "default", 5, 3), "MUG", "default", -3)
    assert (
        "delta: MUG@default has 5 on hand with 3 reserved; adjusting by -3 would leave 2. "
        "Release or ship reservations first"
    ) == str(raised.value)


def test_adjusting_a_sku_never_stocked_raises_invalid_stock_adjustment() -> None:
    with pytest.raises(InvalidStockAdjustment):
        adjusted(None, "MUG", "default", 1)


def test_a_threshold_keeps_what_is_on_hand_and_reserved() -> None:
    assert StockLevel("MUG", "default", 5, 3, 2) == with_threshold(
        StockLevel("MUG", "default", 5, 3), "MUG", "default", 2
    )


def test_marking_an_entry_that_is_not_being_sent_raises_lease_lost() -> None:
    with pytest.raises(LeaseLost):
        mark_sent(sample_entry(), sent_at=T0)


def test_a_final_failure_makes_a_claimed_entry_dead_keeping_its_due_time() -> None:
    claimed = attrs.evolve(sample_entry(), status=OutboxStatus.SENDING, attempts=1)
    assert attrs.evolve(claimed, status=OutboxStatus.DEAD, last_error="bounced") == mark_failed(
        claimed, error="bounced", retry_at=None
    )


def test_requeueing_an_entry_that_is_not_dead_raises_outbox_state_error() -> None:
    with pytest.raises(OutboxStateError) as raised:
        requeue(sample_entry(), T0 + timedelta(minutes=1))
    assert OutboxStatus.QUEUED == raised.value.status


@pytest.mark.parametrize(
    "change",
    [{"status": OutboxStatus.SENT}, {"attempts": 1}],
    ids=["sent", "attempted"],
)
def test_an_entry_that_is_not_new_is_refused_naming_it(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as raised:
        check_new_entries([sample_entry("e-1"), attrs.evolve(sample_entry("e-2"), **change)])
    assert "entries[1]" == raised.value.field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient": None}, "entries[1].recipient"),
        ({"kind": 7}, "entries[1].kind"),
        ({"order_id": 12}, "entries[1].order_id"),
        ({"created_at": T0.replace(tzinfo=None)}, "entries[1].created_at"),
        ({"next_attempt_at": "soon"}, "entries[1].next_attempt_at"),
        ({"payload": {"at": T0}}, "entries[1].payload"),
    ],
    ids=["recipient", "kind", "order_id", "naive-created-at", "next-attempt-at", "payload"],
)
def test_a_new_entry_with_a_field_of_the_wrong_type_is_refused_naming_it(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        check_new_entries([sample_entry("e-1"), attrs.evolve(sample_entry("e-2"), **change)])
    assert field == raised.value.field
