"""The port contract's stock, event log, idempotency and sequence tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from orderkit.domain.events import (
    EVENT_TYPES,
    NewEvent,
    NoteAdded,
)
from orderkit.domain.inventory import StockLevel, StockMovement
from orderkit.errors import (
    ConcurrencyConflict,
    OutOfStock,
    StorageError,
    UnknownSku,
    ValidationError,
)
from orderkit.ports import IdempotencyRecord, Storage
from orderkit.testing.builders import (
    HERE,
    START,
    StorageFixture,
    held,
    holds,
    level,
    payloads,
    receive,
    sample_event,
    sample_payloads,
    sample_record,
    seed,
    snapshot,
    stream,
)

__all__ = ["StockAndLogContract"]


def _append(storage: Storage, events: Sequence[NewEvent]) -> None:
    """Append ``events`` in one unit of work, committed."""
    with storage.unit_of_work() as uow:
        uow.events.append(events)
        uow.commit()


class StockAndLogContract(StorageFixture):
    """Stock levels and reservations, the event log, idempotency keys and sequences, through
    the port (a base of :class:`orderkit.testing.storage.StorageContract`)."""

    # -- the port: stock -----------------------------------------------------------------------

    def test_stock_levels_are_listed_by_sku_and_location(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for sku, location in (("TEE", HERE), ("MUG", "east"), ("MUG", HERE)):
                receive(uow, sku, location, 1)
            uow.commit()
        with storage.reader() as uow:
            assert [("MUG", HERE), ("MUG", "east"), ("TEE", HERE)] == [
                (s.sku, s.location) for s in uow.stock.all()
            ]

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"sku": "MUG"}, [("MUG", HERE), ("MUG", "east")]),
            ({"location": HERE}, [("MUG", HERE), ("TEE", HERE)]),
            ({"sku": "MUG", "location": "east"}, [("MUG", "east")]),
            ({"sku": "TEE", "location": "east"}, []),
        ],
        ids=["sku", "location", "sku-and-location", "never-stocked-there"],
    )
    def test_stock_levels_filtered_by_sku_or_location_are_those_matching_sorted(
        self, storage: Storage, filters: dict[str, str], expected: list[tuple[str, str]]
    ) -> None:
        with storage.unit_of_work() as uow:
            for sku, location in (("TEE", HERE), ("MUG", "east"), ("MUG", HERE)):
                receive(uow, sku, location, 1)
            uow.commit()
        with storage.reader() as uow:
            assert expected == [(s.sku, s.location) for s in uow.stock.all(**filters)]

    def test_a_sku_never_stocked_has_no_level(self, storage: Storage) -> None:
        with storage.reader() as uow:
            assert [] == uow.stock.all(sku="GHOST", location=HERE)

    def test_a_level_put_over_the_one_read_reads_back_as_put(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            uow.stock.put(level("MUG", 12, 2, 3), expected=level("MUG", 10, 2))
            uow.stock.put(level("CAP", 4, 0), expected=None)
            uow.commit()
        with storage.reader() as uow:
            assert [level("CAP", 4, 0), level("MUG", 12, 2, 3)] == uow.stock.all()

    @pytest.mark.parametrize(
        "expected",
        [level("MUG", 10, 1), level("MUG", 9, 2), level("MUG", 10, 2, 5), None],
        ids=["reserved-moved", "on-hand-moved", "threshold-moved", "expected-none"],
    )
    def test_a_level_put_over_a_stale_one_raises_concurrency_conflict_and_changes_nothing(
        self, storage: Storage, expected: StockLevel | None
    ) -> None:
        seed(storage)
        before = snapshot(storage)
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.stock.put(level("MUG", 20, 2), expected=expected)
        assert before == snapshot(storage)

    def test_reserving_returns_the_levels_after_in_the_order_of_the_items(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            receive(uow, "CAP", HERE, 5)
            levels = uow.stock.reserve("ord-2", held(("CAP", 2), ("MUG", 3)))
            assert (
                [level("CAP", 5, 2), level("MUG", 10, 5)],
                held(("CAP", 2), ("MUG", 3)),
            ) == (levels, holds(uow, "ord-2"))

    def test_reserving_more_than_is_available_raises_out_of_stock_naming_the_short_item(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            receive(uow, "CAP", HERE, 5)
            with pytest.raises(OutOfStock) as refused:
                uow.stock.reserve("ord-2", held(("CAP", 1), ("MUG", 9)))
        assert ("MUG", 9, 8) == (
            refused.value.sku,
            refused.value.requested,
            refused.value.available,
        )

    def test_reserving_a_sku_never_stocked_raises_out_of_stock_with_nothing_available(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow, pytest.raises(OutOfStock) as refused:
            uow.stock.reserve("ord-1", held(("GHOST", 1)))
        assert ("GHOST", 0) == (refused.value.sku, refused.value.available)

    def test_reserving_a_sku_never_stocked_raises_unknown_sku_saying_it_has_no_stock_record(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(UnknownSku) as refused:
            uow.stock.reserve("ord-1", held(("MUG", 1), ("MUGG", 1)))
        assert (
            f"SKU 'MUGG' has no stock record at {HERE!r}: check the SKU, or receive stock for "
            "it first (OrderService.receive_stock)"
        ) == str(refused.value)

    def test_reserving_a_stocked_sku_beyond_what_is_available_is_not_an_unknown_sku(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(OutOfStock) as refused:
            uow.stock.reserve("ord-1", held(("MUG", 99)))
        assert "out_of_stock" == refused.value.code

    @pytest.mark.parametrize(
        "items",
        [held(("MUG", 3)), held(("CAP", 1)), held(("CAP", 1), ("MUG", 1))],
        ids=["more-than-held", "not-held", "one-of-two-not-held"],
    )
    @pytest.mark.parametrize("shipped", [False, True], ids=["release", "ship"])
    def test_releasing_or_shipping_more_than_an_order_holds_raises_validation_error(
        self, storage: Storage, shipped: bool, items: tuple[StockMovement, ...]
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            receive(uow, "CAP", HERE, 5)
            with pytest.raises(ValidationError):
                uow.stock.release("ord-1", items, shipped=shipped)
            assert ([level("CAP", 5, 0), level("MUG", 10, 2)], held(("MUG", 2))) == (
                uow.stock.all(),
                holds(uow, "ord-1"),
            )

    def test_releasing_shipped_stock_lowers_on_hand_and_reserved(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            committed = uow.stock.release("ord-1", held(("MUG", 1)), shipped=True)
            assert (held(("MUG", 1)), [level("MUG", 9, 1)], held(("MUG", 1))) == (
                committed,
                uow.stock.all(sku="MUG", location=HERE),
                holds(uow, "ord-1"),
            )

    def test_releasing_twice_releases_nothing_the_second_time(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            first = uow.stock.release("ord-1")
            second = uow.stock.release("ord-1")
            assert (held(("MUG", 2)), (), [level("MUG", 10, 0)]) == (
                first,
                second,
                uow.stock.all(sku="MUG", location=HERE),
            )

    # -- the port: events, idempotency, sequences ----------------------------------------------

    def test_event_positions_strictly_increase_and_read_pages_through_the_log(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            uow.events.append([sample_event("order:a", str(i)) for i in range(3)])
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.events.append([sample_event("order:b", str(i)) for i in range(3, 5)])
            uow.commit()
        with storage.reader() as uow:
            everything = uow.events.read()
            pages = [uow.events.read(after=0, limit=2)]
            while pages[-1]:
                pages.append(uow.events.read(after=pages[-1][-1].position, limit=2))
        positions = [e.position for e in everything]
        assert (
            ["0", "1", "2", "3", "4"],
            sorted(set(positions)),
            [2, 2, 1, 0],
            everything,
        ) == (
            [p.text for p in payloads(everything) if isinstance(p, NoteAdded)],
            positions,
            [len(page) for page in pages],
            [e for page in pages for e in page],
        )

    def test_a_stream_holds_only_its_own_events_oldest_first(self, storage: Storage) -> None:
        _append(storage, [sample_event(n, f"{n} {i}") for i in range(2) for n in ("a", "b")])
        assert [NoteAdded("a 0"), NoteAdded("a 1")] == payloads(stream(storage, "a"))

    def test_a_stream_read_pages_by_position_and_limit_within_that_stream(
        self, storage: Storage
    ) -> None:
        _append(storage, [sample_event(n, f"{n} {i}") for i in range(3) for n in ("a", "b")])
        with storage.reader() as uow:
            first = uow.events.read(stream="a", limit=1)
            rest = uow.events.read(after=first[0].position, limit=1, stream="a")
        assert [[NoteAdded("a 0")], [NoteAdded("a 1")]] == [payloads(first), payloads(rest)]

    def test_a_read_without_a_limit_returns_every_event_past_the_default_thousand(
        self, storage: Storage
    ) -> None:
        _append(storage, [sample_event("order:a", str(i)) for i in range(1001)])
        with storage.reader() as uow:
            counts = [
                len(uow.events.read()),
                len(uow.events.read(limit=None)),
                len(uow.events.read(stream="order:a", limit=None)),
            ]
        assert [1000, 1001, 1001] == counts

    @pytest.mark.parametrize(
        "statement",
        ["UPDATE orderkit_events SET reason = 'rewritten'", "DELETE FROM orderkit_events"],
    )
    def test_stored_events_cannot_be_changed_or_deleted_even_with_plain_sql(
        self, storage: Storage, statement: str
    ) -> None:
        with storage.unit_of_work() as uow:
            uow.events.append([sample_event("order:a")])
            uow.commit()
        with storage.unit_of_work() as uow:
            execute = getattr(uow, "execute", None)
            if execute is None:
                pytest.skip("this storage runs no SQL; its event log offers only append")
            with pytest.raises(StorageError, match="append-only"):
                execute(statement, write=True)
        assert [("because", NoteAdded("hello"))] == [
            (e.reason, e.payload) for e in stream(storage, "order:a")
        ]

    def test_event_payloads_read_back_equal_to_the_ones_written(self, storage: Storage) -> None:
        written = sample_payloads()
        missing = sorted(set(EVENT_TYPES) - {type(p).__name__ for p in written})
        if missing:
            pytest.fail(f"add a sample of {', '.join(missing)} to sample_payloads()")
        at = datetime(2026, 11, 23, 9, 0, 1, 654321, tzinfo=timezone.utc)
        events = [
            NewEvent(f"order:{i}", at + timedelta(seconds=i), "tester ✓", "why — 因为", p)
            for i, p in enumerate(written)
        ]
        with storage.unit_of_work() as uow:
            uow.events.append(events)
            uow.commit()
        with storage.reader() as uow:
            read = uow.events.read()
        assert [(e.stream, e.type, e.at, e.actor, e.reason, e.payload) for e in events] == [
            (e.stream, e.type, e.at, e.actor, e.reason, e.payload) for e in read
        ]

    def test_claiming_a_key_twice_returns_the_first_record(self, storage: Storage) -> None:
        first = IdempotencyRecord(
            "k-1", "place", "hash-1", "ord-1", START + timedelta(microseconds=7)
        )
        with storage.unit_of_work() as uow:
            assert None is uow.idempotency.claim(first)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert first == uow.idempotency.claim(sample_record("k-1", "hash-2"))

    def test_sequences_count_from_one_separately_per_name(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            counted = [uow.sequences.next(name) for name in ("a", "a", "b", "a")]
            uow.commit()
        with storage.unit_of_work() as uow:
            assert ([1, 2, 1, 3], 4) == (counted, uow.sequences.next("a"))
