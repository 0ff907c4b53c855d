"""The outbox part of the storage contract: claims, leases, outcomes, re-sends and listings.

:class:`OutboxContract` is a base of :class:`orderkit.testing.StorageContract`, so every
adapter runs these tests with the rest; it needs only the ``storage`` fixture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from orderkit.errors import (
    ConcurrencyConflict,
    LeaseLost,
    OutboxEntryNotFound,
    ValidationError,
)
from orderkit.notify.outbox import (
    OutboxEntry,
    OutboxQuery,
    OutboxStatus,
    entry_by_id,
    mark_failed,
    mark_sent,
    requeue,
)
from orderkit.ports import Storage, UnitOfWork

__all__ = ["OutboxContract", "sample_entry"]

T0 = datetime.fromisoformat("2026-11-23T09:00:00+00:00")
LEASE = timedelta(minutes=5)


def sample_entry(
    entry_id: str = "e-1",
    *,
    order_id: str | None = "ord-1",
    kind: str = "order_placed",
    created_at: datetime = T0,
    due: datetime | None = None,
    payload: Mapping[str, Any] | None = None,
) -> OutboxEntry:
    """A new (queued) outbox entry, due at ``due`` (its creation time unless told)."""
    return OutboxEntry(
        entry_id=entry_id,
        kind=kind,
        channel="email",
        recipient="lin@example.cn",
        locale="zh_Hans",
        payload={"number": "T-000001"} if payload is None else payload,
        order_id=order_id,
        dedup_key=f"dedup-{entry_id}",
        status=OutboxStatus.QUEUED,
        attempts=0,
        created_at=created_at,
        next_attempt_at=due or created_at,
    )


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class OutboxContract:
    """Outbox behaviour every storage adapter shares (a base of ``StorageContract``)."""

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def add(storage: Storage, *entries: OutboxEntry) -> None:
        with storage.unit_of_work() as uow:
            uow.outbox.add(entries)
            uow.commit()

    @staticmethod
    def claim(storage: Storage, now: datetime, limit: int = 100) -> list[OutboxEntry]:
        with storage.unit_of_work() as uow:
            claimed = uow.outbox.claim_due(now, limit, now + LEASE)
            uow.commit()
        return claimed

    @staticmethod
    def write(storage: Storage, change: Callable[[UnitOfWork], OutboxEntry]) -> OutboxEntry:
        with storage.unit_of_work() as uow:
            entry = change(uow)
            uow.commit()
        return entry

    @staticmethod
    def change(
        storage: Storage, entry: OutboxEntry, rule: Callable[[OutboxEntry], OutboxEntry]
    ) -> OutboxEntry:
        """Store ``rule(entry)`` over ``entry`` as claimed (or read), as the dispatcher does."""
        with storage.unit_of_work() as uow:
            stored = uow.outbox.update(rule(entry), expected=entry)
            uow.commit()
        return stored

    @staticmethod
    def read(storage: Storage, entry_id: str) -> OutboxEntry | None:
        with storage.reader() as uow:
            return entry_by_id(uow.outbox.find, entry_id)

    @staticmethod
    def entry_ids(entries: list[OutboxEntry] | tuple[OutboxEntry, ...]) -> list[str]:
        return [e.entry_id for e in entries]

    # -- adding and reading ----------------------------------------------------------------

    def test_an_outbox_entry_reads_back_equal_to_the_one_written(self, storage: Storage) -> None:
        payload = {
            "number": "SO-2026-000123",
            "customer": {"name": "王芳", "note": 'line "one"\nline two ✓'},
            "lines": [{"sku": "MUG", "quantity": 2, "price": "89.00"}],
            "paid": True,
            "coupon": None,
            "weight": 0.42,
        }
        entry = sample_entry(payload=payload, created_at=_at(0.000123))
        self.add(storage, entry)
        assert entry == self.read(storage, "e-1")

    def test_an_outbox_entry_without_an_order_reads_back_equal(self, storage: Storage) -> None:
        entry = sample_entry(order_id=None, kind="daily_digest")
        self.add(storage, entry)
        assert entry == self.read(storage, "e-1")

    def test_an_unknown_outbox_entry_reads_back_as_none(self, storage: Storage) -> None:
        assert None is self.read(storage, "nope")

    def test_adding_an_entry_whose_id_exists_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.outbox.add([sample_entry(kind="other")])
        assert sample_entry() == self.read(storage, "e-1")

    # -- claiming --------------------------------------------------------------------------

    def test_claiming_takes_only_due_entries_oldest_due_first_up_to_the_limit(
        self, storage: Storage
    ) -> None:
        self.add(
            storage,
            sample_entry("e-late", due=_at(10)),
            sample_entry("e-b", due=_at(2)),
            sample_entry("e-a", due=_at(3)),
            sample_entry("e-c", due=_at(1)),
        )
        assert ["e-b", "e-c"] == self.entry_ids(self.claim(storage, _at(5), limit=2))

    def test_a_claimed_entry_is_sending_with_a_lease_and_one_more_attempt(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        (claimed,) = self.claim(storage, _at(1))
        expected = attrs.evolve(
            sample_entry(), status=OutboxStatus.SENDING, attempts=1, next_attempt_at=_at(1) + LEASE
        )
        assert (expected, expected) == (claimed, self.read(storage, "e-1"))

    def test_a_claimed_entry_is_not_claimed_again_while_its_lease_runs(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        self.claim(storage, _at(1))
        assert [] == self.claim(storage, _at(5))

    def test_an_entry_whose_lease_ran_out_is_claimed_again_with_another_attempt(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        self.claim(storage, _at(1))
        assert [("e-1", 2)] == [(e.entry_id, e.attempts) for e in self.claim(storage, _at(6))]

    def test_claiming_for_some_channels_takes_only_their_entries(self, storage: Storage) -> None:
        self.add(
            storage,
            attrs.evolve(sample_entry("e-1"), channel="sms"),
            sample_entry("e-2"),
            attrs.evolve(sample_entry("e-3"), channel="webhook"),
        )
        with storage.unit_of_work() as uow:
            claimed = uow.outbox.claim_due(_at(1), 10, _at(1) + LEASE, channels=["email", "sms"])
            nothing = uow.outbox.claim_due(_at(1), 10, _at(1) + LEASE, channels=[])
            uow.commit()
        assert (["e-1", "e-2"], []) == (self.entry_ids(claimed), nothing)

    def test_a_claim_that_is_rolled_back_leaves_its_entries_queued(self, storage: Storage) -> None:
        self.add(storage, sample_entry())
        with storage.unit_of_work() as uow:
            uow.outbox.claim_due(_at(1), 10, _at(1) + LEASE)
        assert sample_entry() == self.read(storage, "e-1")

    def test_overlapping_claims_never_take_the_same_entry(self, storage: Storage) -> None:
        self.add(storage, *(sample_entry(f"e-{i}") for i in range(4)))
        first: list[OutboxEntry] = []
        claimed = threading.Event()

        def hold_a_claim() -> None:
            with storage.unit_of_work() as uow:
                first.extend(uow.outbox.claim_due(_at(1), 2, _at(1) + LEASE))
                claimed.set()
                threading.Event().wait(0.2)  # the other claim runs while this one is open
                uow.commit()

        holder = threading.Thread(target=hold_a_claim)
        holder.start()
        try:
            assert claimed.wait(30)
            second = self.claim(storage, _at(1))
        finally:
            holder.join()
        assert (["e-0", "e-1"], ["e-2", "e-3"]) == (self.entry_ids(first), self.entry_ids(second))

    # -- outcomes --------------------------------------------------------------------------

    def test_marking_an_entry_sent_records_the_time_and_ends_its_claim(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        [claimed] = self.claim(storage, _at(1))
        sent = self.change(storage, claimed, lambda e: mark_sent(e, sent_at=_at(2)))
        assert (
            (OutboxStatus.SENT, _at(2)),
            sent,
            [],
        ) == ((sent.status, sent.sent_at), self.read(storage, "e-1"), self.claim(storage, _at(99)))

    def test_a_retryable_failure_queues_the_entry_again_until_its_retry_time(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        [claimed] = self.claim(storage, _at(1))
        failed = self.change(
            storage, claimed, lambda e: mark_failed(e, error="timeout", retry_at=_at(3))
        )
        assert (
            (OutboxStatus.QUEUED, 1, "timeout", _at(3)),
            [],
            ["e-1"],
        ) == (
            (failed.status, failed.attempts, failed.last_error, failed.next_attempt_at),
            self.claim(storage, _at(2.9)),
            self.entry_ids(self.claim(storage, _at(3))),
        )

    def test_a_final_failure_makes_the_entry_dead_with_its_error(self, storage: Storage) -> None:
        self.add(storage, sample_entry())
        [claimed] = self.claim(storage, _at(1))
        self.change(storage, claimed, lambda e: mark_failed(e, error="no such user", retry_at=None))
        dead = self.read(storage, "e-1")
        assert (
            (OutboxStatus.DEAD, "no such user"),
            [],
        ) == ((dead.status, dead.last_error) if dead else None, self.claim(storage, _at(999)))

    def test_recording_for_a_claim_whose_lease_was_taken_over_raises_lease_lost(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        [first] = self.claim(storage, _at(1))
        self.claim(storage, _at(7))  # the first lease ran out; attempt 2 holds the entry now
        before = self.read(storage, "e-1")
        with storage.unit_of_work() as uow, pytest.raises(LeaseLost) as raised:
            uow.outbox.update(mark_sent(first, sent_at=_at(8)), expected=first)
        assert (("e-1", 1), before) == (
            (raised.value.entry_id, raised.value.attempt),
            self.read(storage, "e-1"),
        )

    def test_recording_an_outcome_twice_raises_lease_lost(self, storage: Storage) -> None:
        self.add(storage, sample_entry())
        [claimed] = self.claim(storage, _at(1))
        self.change(storage, claimed, lambda e: mark_sent(e, sent_at=_at(2)))
        with storage.unit_of_work() as uow, pytest.raises(LeaseLost):
            uow.outbox.update(mark_failed(claimed, error="late", retry_at=None), expected=claimed)

    def test_changing_an_unknown_entry_raises_outbox_entry_not_found_a_lookup_error(
        self, storage: Storage
    ) -> None:
        ghost = attrs.evolve(sample_entry("nope"), status=OutboxStatus.SENDING, attempts=1)
        with storage.unit_of_work() as uow, pytest.raises(LookupError) as raised:
            uow.outbox.update(mark_sent(ghost, sent_at=T0), expected=ghost)
        assert OutboxEntryNotFound is type(raised.value)

    # -- re-sending ------------------------------------------------------------------------

    def test_requeueing_a_dead_entry_makes_it_due_now_with_attempts_from_zero(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        [claimed] = self.claim(storage, _at(1))
        dead = self.change(
            storage, claimed, lambda e: mark_failed(e, error="bounced", retry_at=None)
        )
        requeued = self.change(storage, dead, lambda e: requeue(e, _at(60)))
        assert (
            (OutboxStatus.QUEUED, 0, _at(60), "bounced"),
            [("e-1", 1)],
        ) == (
            (requeued.status, requeued.attempts, requeued.next_attempt_at, requeued.last_error),
            [(e.entry_id, e.attempts) for e in self.claim(storage, _at(60))],
        )

    def test_an_update_from_a_state_the_entry_has_left_raises_lease_lost_and_changes_nothing(
        self, storage: Storage
    ) -> None:
        self.add(storage, sample_entry())
        queued = self.read(storage, "e-1") or sample_entry("missing")
        self.claim(storage, _at(1))
        before = self.read(storage, "e-1")
        with storage.unit_of_work() as uow, pytest.raises(LeaseLost):
            uow.outbox.update(attrs.evolve(queued, status=OutboxStatus.DEAD), expected=queued)
        assert before == self.read(storage, "e-1")

    # -- listing ---------------------------------------------------------------------------

    def _listing_shop(self, storage: Storage) -> None:
        self.add(
            storage,
            sample_entry("e-3", created_at=_at(3), kind="shipped"),
            sample_entry("e-1", created_at=_at(1)),
            sample_entry("e-2", created_at=_at(2), order_id="ord-2"),
            sample_entry("e-4", created_at=_at(4), order_id=None, kind="digest"),
        )
        self.claim(storage, _at(1.5))  # e-1 is sending

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, ["e-1", "e-2", "e-3", "e-4"]),
            ({"status": OutboxStatus.QUEUED}, ["e-2", "e-3", "e-4"]),
            ({"order_id": "ord-1"}, ["e-1", "e-3"]),
            ({"kind": "shipped"}, ["e-3"]),
            ({"created_from": _at(2), "created_to": _at(4)}, ["e-2", "e-3"]),
            ({"status": OutboxStatus.SENDING, "order_id": "ord-1"}, ["e-1"]),
            ({"entry_id": "e-3"}, ["e-3"]),
            ({"entry_id": "e-9"}, []),
            ({"entry_id": "e-3", "status": OutboxStatus.SENDING}, []),
        ],
        ids=[
            "all",
            "status",
            "order",
            "kind",
            "created",
            "status-and-order",
            "entry",
            "unknown-entry",
            "entry-and-status",
        ],
    )
    def test_finding_entries_returns_those_matching_every_filter_oldest_first(
        self, storage: Storage, filters: dict[str, Any], expected: list[str]
    ) -> None:
        self._listing_shop(storage)
        with storage.reader() as uow:
            assert expected == self.entry_ids(uow.outbox.find(OutboxQuery(**filters)).items)

    def test_paging_through_entries_returns_each_once_oldest_first(self, storage: Storage) -> None:
        self.add(storage, *(sample_entry(f"e-{i}", created_at=_at(i // 2)) for i in range(7)))
        pages: list[list[str]] = []
        cursor: str | None = None
        with storage.reader() as uow:
            while True:
                page = uow.outbox.find(OutboxQuery(limit=3, cursor=cursor))
                pages.append(self.entry_ids(page.items))
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        assert [["e-0", "e-1", "e-2"], ["e-3", "e-4", "e-5"], ["e-6"]] == pages

    def test_finding_with_a_cursor_no_page_handed_out_raises_validation_error(
        self, storage: Storage
    ) -> None:
        with storage.reader() as uow, pytest.raises(ValidationError) as raised:
            uow.outbox.find(OutboxQuery(cursor="garbage"))
        assert "cursor" == raised.value.field
