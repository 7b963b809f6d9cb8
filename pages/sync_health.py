"""Sync health (administrators): state, lag, throughput, queue, errors and runs; retry, discard, pause,
resume and reconcile now, each after a confirmation."""

from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

import components.sync_health as ui
from data.db import current_sessions, session_scope
from data.models import WebRole
from data.outbox import OutboxError, discard_entry, retry_entry
from data.quarantine import QuarantineError, dismiss, request_retry
from data.sync_control import pause_sync, request_reconcile, resume_sync
from data.sync_health import problem_target, sync_health, sync_problems
from pages._guard import require_roles

dash.register_page(
    __name__,
    path="/sync",
    name="Sync health",
    title="Sync health",
    roles=(WebRole.ADMINISTRATOR,),
    nav=True,
    order=90,
    tile={
        "title": "Sync health",
        "text": "Lag, queue and errors of the ERP sync; retry or discard, pause, resume, reconcile.",
    },
)

TICK = "sync-tick"
REFRESH = "sync-refresh"  # a store bumped after every action
PENDING = "sync-pending"  # a store: the action waiting for confirmation (re-checked on confirm)
STATE = "sync-state"
KPIS = "sync-kpis"
CHARTS = "sync-charts"
RUNS = "sync-runs"
PROBLEMS = "sync-problems"
CHOICE = "sync-problem-choice"
FEEDBACK = "sync-feedback"
MODAL, MODAL_BODY, CONFIRM, CANCEL = (
    "sync-confirm",
    "sync-confirm-body",
    "sync-confirm-yes",
    "sync-confirm-no",
)
BUTTONS = {
    "pause": "sync-pause",
    "resume": "sync-resume",
    "reconcile": "sync-reconcile",
    "retry": "sync-retry",
    "discard": "sync-discard",
}
ACTIONS = frozenset(BUTTONS)


def _section(section_id: str, title: str, body) -> html.Section:
    return html.Section(
        [html.H2(title, className="h4 mt-4", id=section_id + "-title"), body],
        **{"aria-labelledby": section_id + "-title"},
    )


def _button(action: str, colour: str) -> dbc.Button:
    return dbc.Button(
        ui.ACTION_LABELS[action], id=BUTTONS[action], color=colour, className="me-2 mb-2", n_clicks=0
    )


def layout(**_):
    return html.Div(
        [
            html.H1("Sync health"),
            html.P(
                "How the portal and the ERP keep each other up to date. Refreshes every 10 seconds.",
                className="lead",
            ),
            dcc.Interval(id=TICK, interval=10_000),
            dcc.Store(id=REFRESH, data=0),
            dcc.Store(id=PENDING),
            dcc.Loading(html.Div(id=STATE, **{"aria-live": "polite"}), type="dot"),
            html.Div(
                [
                    _button("pause", "outline-danger"),
                    _button("resume", "outline-success"),
                    _button("reconcile", "outline-primary"),
                ],
                className="mb-2",
            ),
            html.Div(id=FEEDBACK, role="status"),
            dcc.Loading(html.Div(id=KPIS), type="dot"),
            _section("sync-charts-section", "Charts", dcc.Loading(html.Div(id=CHARTS), type="dot")),
            _section(
                "sync-problems-section",
                "Errors",
                html.Div(
                    [
                        dcc.Loading(html.Div(id=PROBLEMS), type="dot"),
                        dbc.Label("Entry to retry or discard", html_for=CHOICE, className="mt-2"),
                        dbc.Select(id=CHOICE, options=[], className="mb-2"),
                        _button("retry", "outline-primary"),
                        _button("discard", "outline-danger"),
                    ]
                ),
            ),
            _section("sync-runs-section", "Latest runs", dcc.Loading(html.Div(id=RUNS), type="dot")),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Please confirm")),
                    dbc.ModalBody(id=MODAL_BODY),
                    dbc.ModalFooter(
                        [
                            dbc.Button("Cancel", id=CANCEL, color="secondary", n_clicks=0),
                            dbc.Button("Confirm", id=CONFIRM, color="primary", n_clicks=0),
                        ]
                    ),
                ],
                id=MODAL,
                is_open=False,
            ),
        ]
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@callback(
    Output(STATE, "children"),
    Output(KPIS, "children"),
    Output(CHARTS, "children"),
    Output(RUNS, "children"),
    Output(PROBLEMS, "children"),
    Output(CHOICE, "options"),
    Input(TICK, "n_intervals"),
    Input(REFRESH, "data"),
)
def update_sync_health(_tick, _refresh):
    principal = require_roles(WebRole.ADMINISTRATOR)
    with session_scope(current_sessions()) as session:
        health = sync_health(session, principal, now=_now())
        problems = sync_problems(session, principal)
    if health is None:  # pragma: no cover - require_roles refused already
        return [], [], [], [], [], []
    return (
        ui.state_panel(health),
        ui.kpi_cards(health),
        ui.charts(health),
        ui.runs_table(health.runs),
        ui.problems_table(problems),
        ui.problem_options(problems),
    )


@callback(
    Output(MODAL, "is_open"),
    Output(MODAL_BODY, "children"),
    Output(PENDING, "data"),
    Output(FEEDBACK, "children"),
    Output(REFRESH, "data"),
    *(Input(button, "n_clicks") for button in BUTTONS.values()),
    Input(CONFIRM, "n_clicks"),
    Input(CANCEL, "n_clicks"),
    State(CHOICE, "value"),
    State(PENDING, "data"),
    State(REFRESH, "data"),
    prevent_initial_call=True,
)
def handle_sync_action(*args):
    """An action button asks for confirmation; Confirm performs the pending action (re-checked here)."""
    principal = require_roles(WebRole.ADMINISTRATOR)
    choice, pending, refresh = args[-3:]
    trigger = ctx.triggered_id
    asked = next((action for action, button in BUTTONS.items() if button == trigger), None)
    if asked:
        if asked in ("retry", "discard") and problem_target(choice) is None:
            return (
                False,
                no_update,
                None,
                dbc.Alert("Choose an entry first.", color="warning"),
                no_update,
            )
        target = choice if asked in ("retry", "discard") else None
        return True, ui.confirm_text(asked, target), {"action": asked, "target": target}, None, no_update
    if trigger == CANCEL:
        return False, no_update, None, None, no_update
    if trigger != CONFIRM or not isinstance(pending, dict) or pending.get("action") not in ACTIONS:
        return no_update, no_update, no_update, no_update, no_update
    message, colour = _perform(principal, pending["action"], pending.get("target"))
    bump = (refresh if isinstance(refresh, int) else 0) + 1
    return False, no_update, None, dbc.Alert(message, color=colour, dismissable=True), bump


def _perform(principal, action: str, target) -> tuple[str, str]:

    now = _now()
    try:
        with session_scope(current_sessions()) as session:
            if action == "pause":
                done = pause_sync(session, principal, now=now)
                return ("Sync paused for every worker." if done else "The sync was paused already."), "info"
            if action == "resume":
                done = resume_sync(session, principal, now=now)
                return ("Sync resumed." if done else "The sync was not paused."), "success"
            if action == "reconcile":
                request_reconcile(session, principal, now=now)
                return "Reconciliation requested: the worker starts it within a few seconds.", "info"
            chosen = problem_target(target)
            if chosen is None:
                return "Choose an entry first.", "warning"
            kind, entry_id = chosen
            if kind == "quarantine":
                if action == "retry":
                    request_retry(session, principal, entry_id, now=now)
                    return f"Quarantined record {entry_id} will be applied again at the next pull.", "success"
                dismiss(session, principal, entry_id, now=now)
                return f"Quarantined record {entry_id} dismissed.", "info"
            if action == "retry":
                retry_entry(session, principal, entry_id, now=now)
                return f"Outbox entry {entry_id} will be sent again.", "success"
            discard_entry(session, principal, entry_id, now=now)
            return f"Outbox entry {entry_id} discarded.", "info"
    except (OutboxError, QuarantineError, LookupError) as exc:
        return str(exc).strip("'\""), "warning"
