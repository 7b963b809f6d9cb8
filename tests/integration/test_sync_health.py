"""The Sync health page over HTTP: administrators see state, charts, runs and errors and may retry, discard,
pause, resume and reconcile now (after a confirmation); everyone else is refused and nothing is written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from data.access import ANONYMOUS, Principal
from data.models import OutboxEntry, QuarantinedRecord, SyncControl, SyncRun, WebRole
from data.sync_control import AUTOMATIC, pause, resume
from data.sync_health import problem_target, sync_health, sync_problems
from tests.integration.test_authorization import _callbacks, _outputs
from tests.portal_client import PortalClient, signed_in
from tests.sync_factories import quarantined

ADMIN = "admin@portal.demo"
ADMIN_PRINCIPAL = Principal(contact_id=1, email=ADMIN, roles=frozenset({WebRole.ADMINISTRATOR}))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _dep(portal, name: str) -> dict:
    return _callbacks(portal)[f"pages.sync_health.{name}"]


def _post(client: PortalClient, dep: dict, values: dict, changed: list[str]):
    def slot(item):
        return {**item, "value": values.get(f"{item['id']}.{item['property']}")}

    return client.callback(
        dep["output"], _outputs(dep), [slot(i) for i in dep["inputs"]], [slot(s) for s in dep["state"]]
    )


def _act(client: PortalClient, portal, trigger: str, **values):
    """Post the action callback as the browser does when `trigger` (a button id) was clicked."""
    dep = _dep(portal, "handle_sync_action")
    body = {
        "output": dep["output"],
        "outputs": _outputs(dep),
        "inputs": [{**i, "value": 1 if i["id"] == trigger else 0} for i in dep["inputs"]],
        "state": [{**s, "value": values.get(s["id"])} for s in dep["state"]],
        "changedPropIds": [f"{trigger}.n_clicks"],
    }
    return client.http.post("/_dash-update-component", json=body, headers={"X-CSRFToken": client.csrf_token})


def _sessions(portal):
    return portal.server.extensions["portal.sessions"]


def _control(portal) -> SyncControl:
    with _sessions(portal)() as session:
        return session.get(SyncControl, "sync")


def _dead_entry(portal) -> int:
    with _sessions(portal).begin() as session:
        entry = OutboxEntry(
            entity="contact",
            entity_id=999_999,
            operation="update",
            idempotency_key=uuid.uuid4().hex,
            payload={"ContactPersonId": "X"},
            state="dead",
            attempts=20,
            last_error="HTTP 503 twenty times",
        )
        session.add(entry)
        session.flush()
        return entry.id


def test_admin_sees_the_page_with_data(portal):
    response = _post(signed_in(portal, ADMIN), _dep(portal, "update_sync_health"), {}, [])
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for expected in ("Overall state", "sync-chart-outbox", "sync-runs-table", "Outbox waiting", "initial"):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("email", "status"),
    [(None, 401), ("user1a@portal.demo", 403), ("rep1@portal.demo", 403)],
)
def test_non_admins_are_refused_and_nothing_is_written(portal, email, status):
    client = PortalClient(portal) if email is None else signed_in(portal, email)
    assert _post(client, _dep(portal, "update_sync_health"), {}, []).status_code == status
    entry_id, record_id = _dead_entry(portal), _quarantined(portal)
    before = _control(portal)
    for action, target in (
        ("pause", None),
        ("reconcile", None),
        ("retry", f"outbox:{entry_id}"),
        ("discard", f"outbox:{entry_id}"),
        ("retry", f"quarantine:{record_id}"),
        ("discard", f"quarantine:{record_id}"),
    ):
        forged = {"sync-pending": {"action": action, "target": target}, "sync-problem-choice": target}
        assert _act(client, portal, "sync-confirm-yes", **forged).status_code == status
        assert _act(client, portal, f"sync-{action}", **forged).status_code == status
    after = _control(portal)
    assert (after.paused, after.reconcile_requested_at) == (before.paused, before.reconcile_requested_at)
    with _sessions(portal)() as session:
        assert session.get(OutboxEntry, entry_id).state == "dead"
        record = session.get(QuarantinedRecord, record_id)
        assert (record.retry_requested_at, record.resolved_at) == (None, None)


def test_pause_resume_and_reconcile_now_after_confirmation(portal):
    client = signed_in(portal, ADMIN)
    asked = _act(client, portal, "sync-pause")
    assert asked.status_code == 200
    body = json.loads(asked.get_data(as_text=True))["response"]
    assert body["sync-confirm"]["is_open"] is True and body["sync-pending"]["data"] == {
        "action": "pause",
        "target": None,
    }
    assert not _control(portal).paused  # nothing happens before the confirmation
    assert (
        _act(client, portal, "sync-confirm-yes", **{"sync-pending": {"action": "pause"}}).status_code == 200
    )
    control = _control(portal)
    assert control.paused and control.paused_by == "manual"
    text = _post(client, _dep(portal, "update_sync_health"), {}, []).get_data(as_text=True)
    assert "sync-pause-banner" in text and "Paused" in text
    assert (
        _act(client, portal, "sync-confirm-yes", **{"sync-pending": {"action": "resume"}}).status_code == 200
    )
    assert not _control(portal).paused
    assert (
        _act(client, portal, "sync-confirm-yes", **{"sync-pending": {"action": "reconcile"}}).status_code
        == 200
    )
    assert _control(portal).reconcile_requested_at is not None
    # cancel closes the dialog and does nothing
    response = _act(client, portal, "sync-confirm-no", **{"sync-pending": {"action": "pause"}})
    assert json.loads(response.get_data(as_text=True))["response"]["sync-confirm"]["is_open"] is False
    assert not _control(portal).paused


def test_retry_and_discard_an_outbox_entry(portal):
    client = signed_in(portal, ADMIN)
    retried, discarded = _dead_entry(portal), _dead_entry(portal)
    assert f"outbox:{retried}" in _post(client, _dep(portal, "update_sync_health"), {}, []).get_data(
        as_text=True
    )
    missing = _act(client, portal, "sync-retry", **{"sync-problem-choice": None})
    assert "Choose an entry first" in missing.get_data(as_text=True)
    pending = {"action": "retry", "target": f"outbox:{retried}"}
    assert _act(client, portal, "sync-confirm-yes", **{"sync-pending": pending}).status_code == 200
    pending = {"action": "discard", "target": f"outbox:{discarded}"}
    assert _act(client, portal, "sync-confirm-yes", **{"sync-pending": pending}).status_code == 200
    with _sessions(portal)() as session:
        assert session.get(OutboxEntry, retried).state == "pending"
        assert session.get(OutboxEntry, discarded).state == "discarded"
    again = _act(client, portal, "sync-confirm-yes", **{"sync-pending": pending})
    assert "already discarded" in again.get_data(as_text=True)
    with _sessions(portal)() as session:
        assert sync_health(session, ADMIN_PRINCIPAL, now=_now()).outbox["discarded"] >= 1
    text = _post(client, _dep(portal, "update_sync_health"), {}, []).get_data(as_text=True)
    assert "discarded entries" in text and "sync-kpi-dead" in text


def _quarantined(portal) -> int:
    with _sessions(portal).begin() as session:
        record = {"dataAreaId": "USMF", "CustomerAccount": "US-999", "ChangeSequence": 1}
        reason = "Malformed: required field CustomerGroupId missing"
        return quarantined(
            session, record, entity_set="CustomersV3", record_key="USMF|US-999", reason=reason
        ).id


def test_retry_and_dismiss_a_quarantined_record(portal):
    client = signed_in(portal, ADMIN)
    retried, dismissed = _quarantined(portal), _quarantined(portal)
    page = _post(client, _dep(portal, "update_sync_health"), {}, []).get_data(as_text=True)
    assert f"quarantine:{retried}" in page and "CustomerGroupId missing" in page
    asked = _act(client, portal, "sync-retry", **{"sync-problem-choice": f"quarantine:{retried}"})
    assert "Apply this ERP record again" in asked.get_data(as_text=True)
    with _sessions(portal)() as session:
        assert session.get(QuarantinedRecord, retried).retry_requested_at is None  # not before Confirm
    pending = {"action": "retry", "target": f"quarantine:{retried}"}
    done = _act(client, portal, "sync-confirm-yes", **{"sync-pending": pending})
    assert "applied again at the next pull" in done.get_data(as_text=True)
    pending = {"action": "discard", "target": f"quarantine:{dismissed}"}
    assert "dismissed" in _act(client, portal, "sync-confirm-yes", **{"sync-pending": pending}).get_data(
        as_text=True
    )
    with _sessions(portal)() as session:
        asked_again = session.get(QuarantinedRecord, retried)
        assert asked_again.retry_requested_at is not None and asked_again.resolved_at is None
        gone = session.get(QuarantinedRecord, dismissed)
        assert gone.resolved_at is not None and gone.resolution == f"Dismissed by {ADMIN}; not applied."
    page = _post(client, _dep(portal, "update_sync_health"), {}, []).get_data(as_text=True)
    assert "retry requested" in page and f"quarantine:{dismissed}" not in page
    again = _act(client, portal, "sync-confirm-yes", **{"sync-pending": pending})
    assert "already resolved" in again.get_data(as_text=True)
    missing = {"action": "retry", "target": "quarantine:99999999"}
    assert "No such quarantined record" in _act(
        client, portal, "sync-confirm-yes", **{"sync-pending": missing}
    ).get_data(as_text=True)


def test_health_states_and_scopes(portal_sessions):
    now = _now()
    with portal_sessions.begin() as session:
        assert sync_health(session, ANONYMOUS, now=now) is None
        assert sync_problems(session, ANONYMOUS) == []
        rep = Principal(
            contact_id=5, roles=frozenset({WebRole.CUSTOMER_REPRESENTATIVE}), customer_account_id=1
        )
        assert sync_health(session, rep, now=now) is None
        session.add(
            SyncRun(
                kind="pull",
                started_at=now - timedelta(seconds=3),
                finished_at=now,
                status="ok",
                records_applied=7,
            )
        )
    with portal_sessions.begin() as session:
        health = sync_health(session, ADMIN_PRINCIPAL, now=now)
        assert health.state == "degraded"  # no worker holds the runner lock in a test
        assert health.throughput["pull"][-1] == 7
        session.add(
            SyncRun(
                kind="pull",
                started_at=now,
                finished_at=now,
                status="failed",
                errors=1,
                detail="ErpUnavailable: http://erp/data: ConnectionError",
            )
        )
    with portal_sessions.begin() as session:
        health = sync_health(session, ADMIN_PRINCIPAL, now=now)
        assert health.state == "erp_unreachable" and health.errors_in_window == 0
        pause(session, by=AUTOMATIC, reason="10 sync errors in the last 15 minutes.", now=now)
    with portal_sessions.begin() as session:
        health = sync_health(session, ADMIN_PRINCIPAL, now=now)
        assert health.state == "paused" and health.pause.paused_by == AUTOMATIC
        resume(session, now=now)
    assert problem_target("outbox:12") == ("outbox", 12)
    assert problem_target("quarantine:7") == ("quarantine", 7)
    for forged in ("outbox:1 OR 1=1", 12, "orders:3", "quarantine:", None, {"id": 1}):
        assert problem_target(forged) is None
