"""The Sync health page's building blocks: state banner, key figures, charts, runs and the error list.

Pure: plain data in (the dataclasses of `data.sync_health`, read by attribute), Dash components and
figures out. Every chart has an accessible name and its numbers as a table (components.account.chart).
Charts count hours back from now, so they read the same in every time zone; times in tables are
rendered in the reader's time zone by assets/localize.js.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.account import chart, chart_table
from components.orders import moment

STATE_LABELS = {
    "healthy": ("Healthy", "success"),
    "degraded": ("Degraded", "warning"),
    "paused": ("Paused", "secondary"),
    "erp_unreachable": ("ERP unreachable", "danger"),
}
KIND_COLOURS = {"pull": "#0d6efd", "push": "#198754", "reconcile": "#6f42c1", "initial": "#fd7e14"}
ACTION_LABELS = {
    "retry": "Retry the selected entry",
    "discard": "Discard the selected entry",
    "pause": "Pause the sync",
    "resume": "Resume the sync",
    "reconcile": "Reconcile now",
}
ACTION_QUESTIONS = {
    "retry": "Send this outbox entry to the ERP again? Its idempotency key stays, so it can never make a "
    "second ERP order.",
    "discard": "Discard this outbox entry? It is never sent; an order it carried shows as rejected. "
    "This cannot be undone.",
    "retry-quarantine": "Apply this ERP record again at the next pull? A newer change the portal already "
    "holds is never overwritten.",
    "discard-quarantine": "Dismiss this quarantined ERP record? It is not applied; the reconciliation still "
    "repairs any difference it leaves.",
    "pause": "Pause the sync for every worker? Portal writes wait in the outbox until you resume.",
    "resume": "Resume the sync? Waiting work is sent and pulled at once.",
    "reconcile": "Compare the portal with the ERP by checksums now and repair any drift?",
}


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def state_panel(health: Any) -> html.Div:
    """The overall state, the pause banner (automatic or manual) and why the state is what it is."""
    label, colour = STATE_LABELS.get(health.state, (health.state, "secondary"))
    banner = None
    if health.pause.paused:
        how = "automatically" if health.pause.paused_by == "automatic" else "by an administrator"
        banner = dbc.Alert(
            [
                html.H2(f"Sync paused {how}", className="h5 alert-heading"),
                html.P([health.pause.reason or "", " Since ", moment(health.pause.paused_at), "."]),
                html.P("Portal writes wait in the outbox; resume to send them.", className="mb-0"),
            ],
            color="danger" if health.pause.paused_by == "automatic" else "secondary",
            id="sync-pause-banner",
        )
    runner = (
        ["Jobs run on ", html.Code(health.runner), "."]
        if health.runner
        else ["No worker runs the scheduled jobs at the moment."]
    )
    return html.Div(
        [
            banner,
            html.P(
                [
                    "Overall state: ",
                    dbc.Badge(label, color=colour, id="sync-state-badge", className="fs-6 align-middle"),
                ],
                className="fs-5 mb-1",
            ),
            html.Ul([html.Li(r) for r in health.reasons], className="mb-1") if health.reasons else None,
            html.P(runner, className="small text-muted"),
        ]
    )


def kpi_cards(health: Any) -> dbc.Row:
    cards = [
        ("sync-kpi-pending", "Outbox waiting", f"{health.outbox['pending']:,}"),
        ("sync-kpi-oldest", "Oldest waiting entry", _fmt_seconds(health.oldest_pending_seconds)),
        (
            "sync-kpi-dead",
            "Dead / rejected / discarded entries",
            f"{health.outbox['dead']:,} / {health.outbox['failed']:,} / {health.outbox['discarded']:,}",
        ),
        ("sync-kpi-errors", "Errors, last 15 minutes", f"{health.errors_in_window:,}"),
        ("sync-kpi-pull", "Last successful pull", moment(health.last_pull_at)),
    ]
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.H3(label, className="h6 text-muted mb-1"),
                            html.P(value, className="fs-5 fw-semibold mb-0", id=kpi_id),
                        ]
                    ),
                    className="h-100",
                ),
                sm=6,
                lg=True,
                className="mb-3",
            )
            for kpi_id, label, value in cards
        ]
    )


def _empty(chart_id: str, text: str) -> html.P:
    return html.P(text, className="text-muted", id=chart_id + "-empty")


def _hour_label(hours_ago: int) -> str:
    return "this hour" if hours_ago == 0 else f"{hours_ago} h ago"


def lag_chart(lag: list[Any]) -> html.Figure | html.P:
    title = "Lag: ERP change to applied in the portal"
    if not lag:
        return _empty("sync-chart-lag", "No ERP changes applied in the last 24 hours.")
    x = [-p.hours_ago for p in lag]
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "median",
                "x": x,
                "y": [p.median_seconds for p in lag],
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "p95",
                "x": x,
                "y": [p.p95_seconds for p in lag],
            },
        ],
        "layout": {"xaxis": {"title": {"text": "hours ago"}}, "yaxis": {"title": {"text": "seconds"}}},
    }
    worst = max(p.p95_seconds for p in lag)
    rows = [
        [
            _hour_label(p.hours_ago),
            f"{p.orders:,}",
            _fmt_seconds(p.median_seconds),
            _fmt_seconds(p.p95_seconds),
        ]
        for p in lag
    ]
    return chart(
        "sync-chart-lag",
        title,
        figure,
        [f"Worst hourly p95 in the last 24 hours: {_fmt_seconds(worst)}."],
        chart_table(["Hour", "Orders", "Median", "p95"], rows),
    )


def throughput_chart(throughput: dict[str, list[int]]) -> html.Figure | html.P:
    title = "Throughput: records per hour"
    if not any(sum(v) for v in throughput.values()):
        return _empty("sync-chart-throughput", "No records synced in the last 24 hours.")
    hours = len(next(iter(throughput.values())))
    x = [h - hours + 1 for h in range(hours)]
    figure = {
        "data": [
            {"type": "bar", "name": kind, "x": x, "y": values, "marker": {"color": KIND_COLOURS.get(kind)}}
            for kind, values in sorted(throughput.items())
        ],
        "layout": {"barmode": "stack", "xaxis": {"title": {"text": "hours ago"}}},
    }
    totals = {kind: sum(v) for kind, v in throughput.items()}
    rows = [[kind, f"{total:,}"] for kind, total in sorted(totals.items())]
    summary = ", ".join(f"{kind} {total:,}" for kind, total in sorted(totals.items()))
    return chart(
        "sync-chart-throughput",
        title,
        figure,
        [f"Last 24 hours: {summary}."],
        chart_table(["Job", "Records"], rows),
    )


def outbox_chart(health: Any) -> html.Figure:
    title = "Outbox depth by state"
    states = ["pending", "failed", "dead", "discarded"]
    values = [health.outbox[s] for s in states]
    figure = {"data": [{"type": "bar", "x": states, "y": values, "marker": {"color": "#0d6efd"}}]}
    oldest = _fmt_seconds(health.oldest_pending_seconds)
    rows = [[s, f"{v:,}"] for s, v in zip(states, values, strict=True)]
    return chart(
        "sync-chart-outbox",
        title,
        figure,
        [f"{sum(values[:3]):,} open entries; the oldest waiting one is {oldest} old."],
        chart_table(["State", "Entries"], rows),
    )


def errors_chart(errors_by_kind: dict[str, int]) -> html.Figure | html.P:
    title = "Errors by kind (last 24 hours, open outbox and quarantine)"
    if not errors_by_kind:
        return _empty("sync-chart-errors", "No errors in the last 24 hours.")
    kinds = sorted(errors_by_kind, key=lambda k: -errors_by_kind[k])
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": kinds,
                "x": [errors_by_kind[k] for k in kinds],
                "marker": {"color": "#dc3545"},
            }
        ],
        "layout": {"yaxis": {"automargin": True}},
    }
    rows = [[k, f"{errors_by_kind[k]:,}"] for k in kinds]
    return chart(
        "sync-chart-errors",
        title,
        figure,
        [f"{sum(errors_by_kind.values()):,} in all."],
        chart_table(["Kind", "Errors"], rows),
    )


def durations_chart(runs: list[Any]) -> html.Figure | html.P:
    title = "Run durations (latest runs)"
    timed = [r for r in runs if r.seconds is not None]
    if not timed:
        return _empty("sync-chart-durations", "No runs yet.")
    kinds = sorted({r.kind for r in timed})
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": kind,
                "x": [r.id for r in timed if r.kind == kind],
                "y": [r.seconds for r in timed if r.kind == kind],
                "marker": {"color": KIND_COLOURS.get(kind)},
            }
            for kind in kinds
        ],
        "layout": {"xaxis": {"title": {"text": "run"}}, "yaxis": {"title": {"text": "seconds"}}},
    }
    rows = []
    for kind in kinds:
        values = [r.seconds for r in timed if r.kind == kind]
        rows.append(
            [kind, f"{len(values):,}", _fmt_seconds(sum(values) / len(values)), _fmt_seconds(max(values))]
        )
    return chart(
        "sync-chart-durations",
        title,
        figure,
        [f"{len(timed)} runs."],
        chart_table(["Job", "Runs", "Mean", "Longest"], rows),
    )


def charts(health: Any) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(lag_chart(health.lag), lg=6),
            dbc.Col(throughput_chart(health.throughput), lg=6),
            dbc.Col(outbox_chart(health), lg=6),
            dbc.Col(errors_chart(health.errors_by_kind), lg=6),
            dbc.Col(durations_chart(health.durations), lg=12),
        ]
    )


def runs_table(runs: list[Any]) -> dbc.Table | html.P:
    if not runs:
        return html.P("No sync runs yet.", className="text-muted", id="sync-runs-empty")
    badge = {"ok": "success", "failed": "danger", "running": "info"}
    return dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(h, scope="col")
                        for h in ("Run", "Job", "Started", "Took", "Status", "Records", "Errors", "Detail")
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Th(str(r.id), scope="row"),
                            html.Td(r.kind),
                            html.Td(moment(r.started_at)),
                            html.Td(_fmt_seconds(r.seconds)),
                            html.Td(dbc.Badge(r.status, color=badge.get(r.status, "secondary"))),
                            html.Td(f"{r.records:,}"),
                            html.Td(f"{r.errors:,}"),
                            html.Td(html.Small((r.detail or "")[:200]), className="text-break"),
                        ]
                    )
                    for r in runs
                ]
            ),
        ],
        size="sm",
        striped=True,
        responsive=True,
        id="sync-runs-table",
    )


def problems_table(problems: list[Any]) -> dbc.Table | html.P:
    if not problems:
        return html.P(
            "No failed, dead or quarantined records.", className="text-muted", id="sync-problems-empty"
        )
    return dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(h, scope="col")
                        for h in ("Entry", "Kind", "Record", "State", "Attempts", "Since", "Error")
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Th(p.key, scope="row"),
                            html.Td(p.kind),
                            html.Td(p.what),
                            html.Td(p.state),
                            html.Td(str(p.attempts)),
                            html.Td(moment(p.since)),
                            html.Td(html.Small((p.error or "")[:300]), className="text-break"),
                        ]
                    )
                    for p in problems
                ]
            ),
        ],
        size="sm",
        striped=True,
        responsive=True,
        id="sync-problems-table",
    )


def problem_options(problems: list[Any]) -> list[dict[str, str]]:
    """Choices for the retry/discard controls: the entries that allow an action."""
    return [{"label": f"{p.key} · {p.what} · {p.state}", "value": p.key} for p in problems if p.actions]


def confirm_text(action: str, target: str | None) -> list:
    """The question for an action; a quarantined record's retry and discard ask their own."""
    question = ACTION_QUESTIONS.get(
        f"{action}-quarantine" if str(target).startswith("quarantine:") else action
    )
    return [
        html.P(question or ACTION_QUESTIONS[action]),
        html.P(["Entry: ", html.Code(target)]) if target else None,
    ]
