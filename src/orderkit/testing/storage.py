"""The storage port contract: what a storage adapter must do, errors included.

Subclass :class:`StorageContract` in a test module (its name must start with ``Test`` for
pytest to collect it) and provide one fixture, ``make_storage``: a zero-argument callable that
returns a fresh, empty storage each time it is called. The fixture owns cleanup (files,
schemas); the contract closes every storage it asks for. Nothing else is needed, and no test
is copied per backend.

The tests drive the port itself, through a :class:`~orderkit.ports.UnitOfWork`: what each
method raises, what a rollback undoes, and that what is read back equals what was written.
What the service does over a storage is the other suite,
:class:`orderkit.testing.service.ServiceContract`; orderkit runs both against every adapter.

The builders (:func:`~orderkit.testing.builders.sample_order`,
:func:`~orderkit.testing.builders.snapshot`, …) live in :mod:`orderkit.testing.builders`
and are re-exported here, so a host can write extra tests for its own adapter in the same
terms.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta

import attrs
import pytest

from orderkit.domain.inventory import StockMovement
from orderkit.domain.order import (
    Shipment,
    ShipmentLine,
)
from orderkit.errors import (
    ConcurrencyConflict,
    StorageError,
)
from orderkit.ports import OrderQuery, Storage, UnitOfWork
from orderkit.testing.builders import (
    HERE,
    PARCEL_1Z,
    START,
    USES,
    WRITES,
    StorageSnapshot,
    held,
    level,
    probe,
    receive,
    reservations,
    review_machine,
    rich_order,
    sample_event,
    sample_order,
    sample_payloads,
    sample_record,
    seed,
    snapshot,
)
from orderkit.testing.outbox import OutboxContract, sample_entry
from orderkit.testing.records import StockAndLogContract

__all__ = [
    "START",
    "StorageContract",
    "StorageSnapshot",
    "probe",
    "receive",
    "reservations",
    "review_machine",
    "rich_order",
    "sample_event",
    "sample_order",
    "sample_payloads",
    "seed",
    "snapshot",
]


class _Boom(Exception):
    """Raised inside a unit of work to prove an exception rolls it back."""


class StorageContract(OutboxContract, StockAndLogContract):
    """The behaviour every storage adapter shares at the port; subclass it and provide
    ``make_storage``. Fixture provided: ``storage`` (a fresh storage, closed afterwards).
    """

    # -- the port: orders ----------------------------------------------------------------------

    def test_an_order_reads_back_equal_to_the_one_written(self, storage: Storage) -> None:
        order = rich_order()
        with storage.unit_of_work() as uow:
            uow.orders.save(order)
            uow.commit()
        with storage.reader() as uow:
            assert (order, order, (order,)) == (
                uow.orders.get(order.id),
                next(iter(uow.orders.find(OrderQuery(number=order.number)).items)),
                uow.orders.find(OrderQuery()).items,
            )

    def test_an_order_is_found_by_a_shipment_tracking_number(self, storage: Storage) -> None:
        order = rich_order()
        with storage.unit_of_work() as uow:
            uow.orders.save(order)
            uow.commit()
        with storage.reader() as uow:
            assert ((order,), ()) == (
                uow.orders.find(OrderQuery(carrier="sf", tracking_number="SF1234567890")).items,
                uow.orders.find(OrderQuery(carrier="ups", tracking_number="SF1234567890")).items,
            )

    def test_a_shipment_added_by_a_save_is_found_by_its_tracking_number(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        parcel = Shipment("sh-9", (ShipmentLine("L1", 1),), "ups", "1Z999", START)
        saved = attrs.evolve(order, version=2, shipments=(parcel,))
        with storage.unit_of_work() as uow:
            uow.orders.save(saved)
            uow.commit()
        with storage.reader() as uow:
            assert (saved,) == uow.orders.find(PARCEL_1Z).items

    def test_a_rolled_back_shipment_is_not_found_by_its_tracking_number(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        parcel = Shipment("sh-9", (ShipmentLine("L1", 1),), "ups", "1Z999", START)
        with storage.unit_of_work() as uow:
            uow.orders.save(attrs.evolve(order, version=2, shipments=(parcel,)))
        with storage.reader() as uow:
            assert () == uow.orders.find(PARCEL_1Z).items

    def test_an_unknown_order_reads_back_as_none(self, storage: Storage) -> None:
        with storage.reader() as uow:
            assert (None, ()) == (
                uow.orders.get("nope"),
                uow.orders.find(OrderQuery(number="nope")).items,
            )

    def test_saving_a_new_order_whose_id_exists_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.save(sample_order("ord-1", "T-000002"))

    def test_saving_a_new_order_whose_number_exists_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.save(sample_order("ord-2", "T-000001"))

    def test_a_saved_order_reads_back_as_saved_and_is_found_by_its_new_fields(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        saved = attrs.evolve(order, version=2, status="closed", tags=("late",))
        with storage.unit_of_work() as uow:
            uow.orders.save(saved)
            uow.commit()
        with storage.reader() as uow:
            assert (saved, (saved,), (saved,), ()) == (
                uow.orders.get(order.id),
                uow.orders.find(OrderQuery(status="closed")).items,
                uow.orders.find(OrderQuery(tag="late")).items,
                uow.orders.find(OrderQuery(status="pending_payment")).items,
            )

    def test_saving_an_order_with_a_stale_version_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        with storage.unit_of_work() as uow:
            uow.orders.save(attrs.evolve(order, version=2, status="closed"))
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.save(attrs.evolve(order, version=2, status="awaiting_shipment"))

    def test_a_stale_save_leaves_the_newer_order_in_place(self, storage: Storage) -> None:
        order = seed(storage)
        newer = attrs.evolve(order, version=2, status="closed")
        with storage.unit_of_work() as uow:
            uow.orders.save(newer)
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(ConcurrencyConflict):
                uow.orders.save(attrs.evolve(order, version=2, status="awaiting_shipment"))
            uow.commit()
        with storage.reader() as uow:
            assert newer == uow.orders.get(order.id)

    def test_saving_a_later_version_of_an_order_never_saved_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.save(attrs.evolve(sample_order(), version=2))

    # -- the port: units of work ---------------------------------------------------------------

    @pytest.mark.parametrize("write", list(WRITES.values()), ids=list(WRITES))
    def test_a_write_through_a_reader_raises_storage_error_and_changes_nothing(
        self, storage: Storage, write: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        before = probe(storage)
        with storage.reader() as uow, pytest.raises(StorageError):
            write(uow)
        assert before == probe(storage)

    @pytest.mark.parametrize("use", list(USES.values()), ids=list(USES))
    def test_a_unit_of_work_cannot_be_used_after_its_block_ended(
        self, storage: Storage, use: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as ended:
            pass
        before = probe(storage)
        with pytest.raises(StorageError):
            use(ended)
        assert before == probe(storage)

    @pytest.mark.parametrize("use", list(USES.values()), ids=list(USES))
    def test_a_unit_of_work_cannot_be_used_after_it_committed(
        self, storage: Storage, use: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        before = probe(storage)
        with storage.unit_of_work() as uow:
            uow.commit()
            with pytest.raises(StorageError):
                use(uow)
        assert before == probe(storage)

    @pytest.mark.parametrize("use", list(USES.values()), ids=list(USES))
    def test_a_reader_cannot_be_used_after_its_block_ended(
        self, storage: Storage, use: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        with storage.reader() as ended:
            pass
        with pytest.raises(StorageError):
            use(ended)

    @staticmethod
    def _write_everything(uow: UnitOfWork) -> None:
        """One of every write, against the shop :func:`seed` commits."""
        uow.orders.save(sample_order("ord-2", "T-000002", tags=["new"]))
        uow.orders.save(attrs.evolve(sample_order(), version=2, status="closed", tags=("x",)))
        receive(uow, "MUG", HERE, 5)
        receive(uow, "CAP", HERE, 3)
        uow.stock.put(level("MUG", 14, 2), expected=level("MUG", 15, 2))
        uow.stock.put(level("MUG", 14, 2, 4), expected=level("MUG", 14, 2))
        uow.stock.put(level("TEE", 0, 0, 2), expected=None)
        uow.stock.reserve("ord-2", held(("CAP", 1), ("MUG", 1)))
        uow.stock.release("ord-1", held(("MUG", 1)))
        uow.stock.release("ord-1", held(("MUG", 1)), shipped=True)
        uow.events.append([sample_event("order:ord-2"), sample_event("stock:CAP@default")])
        assert uow.idempotency.claim(sample_record("k-2")) is None
        assert 2 == uow.sequences.next("n")
        assert 1 == uow.sequences.next("m")
        uow.outbox.add([sample_entry("e-2")])
        assert ["e-1", "e-2"] == [
            e.entry_id for e in uow.outbox.claim_due(START, 10, START + timedelta(minutes=1))
        ]

    def _assert_seed_only(self, storage: Storage, before: StorageSnapshot) -> None:
        assert before == snapshot(storage)
        with storage.reader() as uow:
            assert () == uow.orders.find(OrderQuery(tag="new")).items
        with storage.unit_of_work() as uow:
            assert (None, 2, 1) == (
                uow.idempotency.claim(sample_record("k-2")),
                uow.sequences.next("n"),
                uow.sequences.next("m"),
            )

    def test_leaving_a_unit_of_work_without_commit_rolls_back_everything(
        self, storage: Storage
    ) -> None:
        seed(storage)
        before = snapshot(storage)
        with storage.unit_of_work() as uow:
            self._write_everything(uow)
        self._assert_seed_only(storage, before)

    def test_an_exception_inside_a_unit_of_work_rolls_back_everything_and_propagates(
        self, storage: Storage
    ) -> None:
        seed(storage)
        before = snapshot(storage)

        def fail_half_way() -> None:
            with storage.unit_of_work() as uow:
                self._write_everything(uow)
                raise _Boom

        with pytest.raises(_Boom):
            fail_half_way()
        self._assert_seed_only(storage, before)

    def test_a_committed_unit_of_work_keeps_everything(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            self._write_everything(uow)
            uow.commit()
        with storage.reader() as uow:
            assert (
                [level("CAP", 3, 1), level("MUG", 13, 1, 4), level("TEE", 0, 0, 2)],
                [
                    ("ord-2", StockMovement("CAP", HERE, 1)),
                    ("ord-2", StockMovement("MUG", HERE, 1)),
                ],
                ["ord-2"],
                3,
            ) == (
                uow.stock.all(),
                uow.stock.reservations(),
                [o.id for o in uow.orders.find(OrderQuery(tag="new")).items],
                len(uow.events.read()),
            )

    @pytest.mark.parametrize(
        ("outer", "inner"),
        [
            ("unit_of_work", "unit_of_work"),
            ("unit_of_work", "reader"),
            ("reader", "unit_of_work"),
            ("reader", "reader"),
        ],
    )
    def test_a_nested_unit_of_work_in_the_same_thread_raises_storage_error(
        self, storage: Storage, outer: str, inner: str
    ) -> None:
        with getattr(storage, outer)(), ExitStack() as nested, pytest.raises(StorageError):
            nested.enter_context(getattr(storage, inner)())

    def test_a_refused_nested_unit_of_work_leaves_the_outer_one_working(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow, ExitStack() as nested:
            with pytest.raises(StorageError):
                nested.enter_context(storage.unit_of_work())
            receive(uow, "MUG", HERE, 3)
            uow.commit()
        with storage.reader() as uow:
            assert [level("MUG", 3, 0)] == uow.stock.all(sku="MUG", location=HERE)
