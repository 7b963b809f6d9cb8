"""Pull under faults and ERP life: malformed records are quarantined with their reason while the batch
continues, the ERP's own changes (lifecycle, phone/EDI orders, master data) arrive exactly, batches stay
within 1,000 records with the cursor in the same transaction, and an older ERP change never overwrites a
newer one. Portal store on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from data.access import Principal
from data.models import QuarantinedRecord, SalesOrder, SalesOrderLine, SyncCursor, WebRole
from data.quarantine import QuarantineError, dismiss, request_retry
from sync import pull as pull_module
from sync.erp_client import HttpErpClient, Record
from sync.erp_simulator.faults import FaultInjector
from sync.erp_simulator.lifecycle import LifecycleOptions, advance
from sync.erp_simulator.store import ENTITY_SETS, next_change_sequence
from sync.pull import ENTITY_SYNCS, PAGE_SIZE, apply_page, pull_all, pull_entity_set, quarantined_records
from sync.quarantine import retry_requested
from tests.integration.test_initial_sync import erp_checksums, portal_checksums
from tests.sync_factories import (
    FakeClock,
    SimulatedErp,
    assert_i1_each_order_once_in_erp,
    quarantined,
    simulated_erp,
)

NOW = datetime(2026, 11, 21, 10, 0)
ADMIN = Principal(contact_id=1, roles=frozenset({WebRole.ADMINISTRATOR}))


@pytest.fixture
def erp(tmp_path) -> Iterator[SimulatedErp]:
    with simulated_erp(tmp_path, faults=FaultInjector(seed=4, clock=FakeClock(NOW))) as served:
        yield served


@pytest.fixture
def synced(erp, portal_sessions):
    """The portal after a clean initial pull."""
    pull_all(portal_sessions, HttpErpClient(erp.url), kind="initial")
    return portal_sessions


def _busy_erp(erp: SimulatedErp, ticks: int, seed: int = 2) -> None:
    """The ERP lives: orders move on, new phone/EDI orders, master data changes."""
    options = LifecycleOptions(orders_per_tick=20, new_order_probability=1, master_change_probability=1)
    rng = random.Random(seed)
    for _ in range(ticks):
        advance(erp.engine, NOW, rng, options=options)


def _quarantine(sessions) -> list[QuarantinedRecord]:
    with sessions() as session:
        return list(session.scalars(select(QuarantinedRecord).order_by(QuarantinedRecord.id)))


def _fix_in_erp(erp: SimulatedErp, entity_set: str, sequence: int) -> None:
    """The ERP changes a record again (its data was fixed there): it is served anew with a new sequence."""
    table = ENTITY_SETS[entity_set]
    with erp.engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.ChangeSequence == sequence)
            .values(ChangeSequence=next_change_sequence(conn))
        )


def test_the_erps_own_changes_arrive_exactly(erp, synced):
    _busy_erp(erp, ticks=15)

    summary = pull_all(synced, HttpErpClient(erp.url))

    assert summary.applied["SalesOrderHeadersV2"] >= 15 and not summary.stopped
    assert portal_checksums(synced) == erp_checksums(erp.engine)
    with synced() as session:
        erp_made = session.scalar(select(func.count()).where(SalesOrder.origin_code.in_(("Phone", "EDI"))))
    assert erp_made and erp_made >= 15
    assert_i1_each_order_once_in_erp(synced, erp.engine)


def test_malformed_records_are_quarantined_and_the_batch_continues(erp, synced):
    _busy_erp(erp, ticks=10)
    erp.faults.configure({"malformed_rate": 0.2, "seed": 8})

    summary = pull_all(synced, HttpErpClient(erp.url))

    damaged = list(erp.faults.malformed_served)
    quarantined = _quarantine(synced)
    assert damaged and not summary.stopped
    by_sequence = {(q.entity_set, q.change_sequence): q for q in quarantined}
    for entity_set, sequence, field in damaged:  # every damaged record, with its reason and content
        record = by_sequence[(entity_set, sequence)]
        assert field in record.reason or "Invalid" in record.reason or "refers to" in record.reason, (
            record.reason
        )
        assert record.record["ChangeSequence"] == sequence and record.record_key
    damaged_keys = {(e, s) for e, s, _ in damaged}
    for record in quarantined:  # and nothing else but records that refer to one of them
        assert (record.entity_set, record.change_sequence) in damaged_keys or record.reason.startswith(
            "refers to a quarantined record"
        )
    assert sum(summary.applied.values()) > len(quarantined)  # the rest of each batch was applied
    with synced() as session:
        cursors = dict(session.execute(select(SyncCursor.entity_set, SyncCursor.last_sequence)).all())
    for entity_set, sequence, _field in damaged:
        assert cursors[entity_set] >= sequence  # the pull moved past them: never stuck on a bad record
    # a clean pull afterwards does not bring them back; the quarantine keeps them with their reason
    erp.faults.configure({"reset": True})
    pull_all(synced, HttpErpClient(erp.url))
    assert len(_quarantine(synced)) == len(quarantined)
    with synced() as session:
        assert len(quarantined_records(session, ADMIN)) == len(quarantined)
        assert (
            quarantined_records(session, Principal(contact_id=5, roles=frozenset({WebRole.AUTHORIZED_USER})))
            == []
        )
    # when the ERP changes a quarantined record again and it arrives whole, its quarantine is resolved
    entity_set, sequence, _field = damaged[0]
    _fix_in_erp(erp, entity_set, sequence)
    pull_all(synced, HttpErpClient(erp.url))
    with synced() as session:
        still_open = {(q.entity_set, q.change_sequence) for q in quarantined_records(session, ADMIN)}
    assert (entity_set, sequence) not in still_open and len(still_open) < len(quarantined)


def test_records_that_refer_to_a_quarantined_one_do_not_stop_the_pull(erp, synced):
    _busy_erp(erp, ticks=3)
    erp.faults.configure({"malformed_rate": 1})

    summary = pull_all(synced, HttpErpClient(erp.url))

    assert not summary.stopped and not any(summary.applied.values())
    quarantined = _quarantine(synced)
    assert len(quarantined) == len(erp.faults.malformed_served) > 0  # every record, none left behind
    assert {q.entity_set for q in quarantined} >= {"SalesOrderHeadersV2", "SalesOrderLines"}


class OversizedPages(HttpErpClient):
    """An ERP that ignores $top and sends everything in one page."""

    def iter_pages(
        self, entity_set: str, *, after_sequence: int = 0, top: int = 1000
    ) -> Iterator[list[Record]]:
        records = [
            r
            for page in super().iter_pages(entity_set, after_sequence=after_sequence, top=5000)
            for r in page
        ]
        yield records


def test_batches_stay_within_1000_records_with_their_cursor(erp, portal_sessions, monkeypatch):
    sizes: list[int] = []
    cursor_seen: list[int] = []
    original = pull_module.apply_page

    def recording(session, spec, records):
        sizes.append(len(records))
        result = original(session, spec, records)
        if spec.entity_set == "SalesOrderLines" and len(cursor_seen) == 0:
            cursor_seen.append(result.last_sequence)
            raise RuntimeError("crash after applying the first batch, before its commit")
        return result

    monkeypatch.setattr(pull_module, "apply_page", recording)
    with pytest.raises(RuntimeError):
        pull_all(portal_sessions, OversizedPages(erp.url))
    with portal_sessions() as session:
        lines_cursor = session.get(SyncCursor, "SalesOrderLines")
        lines = session.scalar(select(func.count()).select_from(pull_module.SalesOrderLine))
    assert max(sizes) == PAGE_SIZE and lines_cursor is None and lines == 0  # data and cursor rolled back

    monkeypatch.setattr(pull_module, "apply_page", original)
    pull_all(portal_sessions, OversizedPages(erp.url))
    assert portal_checksums(portal_sessions) == erp_checksums(erp.engine)


@pytest.mark.parametrize(
    ("entity_set", "field", "column"),
    [
        ("CustomersV3", "OrganizationName", "name"),
        ("SalesOrderLines", "LineDescription", "description"),  # written whole, the guard in the UPDATE
        ("SalesOrderHeadersV2", "SalesOrderName", "sales_order_name"),  # compared first
    ],
)
def test_an_older_erp_change_never_overwrites_a_newer_one(erp, synced, entity_set, field, column):
    spec = next(s for s in ENTITY_SYNCS if s.entity_set == entity_set)
    client = HttpErpClient(erp.url)
    (record,) = next(client.iter_pages(entity_set, after_sequence=0, top=1))
    newer = {**record, field: "Newer Name", "ChangeSequence": record["ChangeSequence"] + 10**9}
    older = {**record, field: "Older Name"}

    with synced() as session, session.begin():
        apply_page(session, spec, [newer])
    with synced() as session, session.begin():
        apply_page(session, spec, [older])

    table = spec.model.__table__
    with synced() as session:
        names = select(table.c[column]).where(table.c[column].in_(["Newer Name", "Older Name"]))
        assert list(session.scalars(names)) == ["Newer Name"]
    assert pull_entity_set(synced, client, spec).applied == 0  # nothing newer in the ERP


def test_an_administrator_retries_a_quarantined_record(erp, synced):
    """A line quarantined because its order was: once the ERP fixes the order, only a retry brings the line
    (the ERP has no reason to send the unchanged line again). A record that is still bad stays quarantined."""
    _busy_erp(erp, ticks=10)
    erp.faults.configure({"malformed_rate": 0.2, "seed": 8})
    pull_all(synced, HttpErpClient(erp.url))
    erp.faults.configure({"reset": True})
    quarantined = _quarantine(synced)
    waiting = next(
        q for q in quarantined if q.entity_set == "SalesOrderLines" and q.reason.startswith("refers to")
    )
    company, number, line_number = waiting.record_key.split("|")
    header = next(
        q
        for q in quarantined
        if q.entity_set == "SalesOrderHeadersV2" and q.record_key == f"{company}|{number}"
    )
    bad = next(q for q in quarantined if q.reason.startswith("Malformed") and q.id != header.id)
    _fix_in_erp(erp, header.entity_set, header.change_sequence)
    pull_all(synced, HttpErpClient(erp.url))

    with synced.begin() as session:
        assert session.get(QuarantinedRecord, header.id).resolved_at is not None  # the header arrived
        assert session.get(QuarantinedRecord, waiting.id).resolved_at is None  # its line did not
        with pytest.raises(LookupError):  # only administrators act on the quarantine
            request_retry(
                session,
                Principal(contact_id=5, roles=frozenset({WebRole.CUSTOMER_REPRESENTATIVE})),
                waiting.id,
            )
        request_retry(session, ADMIN, waiting.id)
        request_retry(session, ADMIN, bad.id)

    assert retry_requested(synced) == 1

    with synced() as session:
        line_exists = session.scalar(
            select(func.count())
            .select_from(SalesOrderLine)
            .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
            .where(
                SalesOrder.legal_entity_id == company,
                SalesOrder.sales_order_number == number,
                SalesOrderLine.line_number == int(line_number),
            )
        )
        assert line_exists == 1
        applied, still_bad = (
            session.get(QuarantinedRecord, waiting.id),
            session.get(QuarantinedRecord, bad.id),
        )
        assert applied.resolved_at is not None and applied.resolution == "Applied on retry."
        assert applied.retry_requested_at is None
        assert still_bad.resolved_at is not None and still_bad.resolution.startswith("Retried: still not")
        again = session.scalars(
            select(QuarantinedRecord).where(
                QuarantinedRecord.record_key == bad.record_key, QuarantinedRecord.resolved_at.is_(None)
            )
        ).one()
        assert again.reason == bad.reason and again.id > bad.id  # quarantined anew, with the same reason
    assert retry_requested(synced) == 0  # each request is carried out once

    with synced.begin() as session:
        dismiss(session, ADMIN, again.id)
        with pytest.raises(QuarantineError):
            request_retry(session, ADMIN, again.id)
    with synced() as session:
        assert session.get(QuarantinedRecord, again.id).resolution.startswith("Dismissed by")


def test_a_retry_that_fails_is_reported_once_and_does_not_hold_up_the_pull(synced, monkeypatch):
    from sync import quarantine as quarantine_module

    with synced.begin() as session:
        entry = quarantined(session, {"LegalEntityId": "NLMF", "ChangeSequence": 1})
        request_retry(session, ADMIN, entry.id)

    def broken(session, spec, records):
        raise RuntimeError("database went away")

    monkeypatch.setattr(quarantine_module, "apply_page", broken)
    assert retry_requested(synced) == 0
    with synced() as session:
        failed = session.get(QuarantinedRecord, entry.id)
        assert failed.resolution == "Retry failed: RuntimeError: database went away"
        assert failed.retry_requested_at is None and failed.resolved_at is None  # still open, not re-run
