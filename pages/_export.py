"""Export routes: the orders grid's current view as CSV or XLSX, for whoever is signed in."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, Response, redirect, request, stream_with_context
from werkzeug.datastructures import MultiDict

from data.access import current_principal
from data.db import current_sessions, session_scope
from data.export import csv_chunks, xlsx_file
from data.orders import QueryError, parse_query


def _query_from_args(args: MultiDict):
    raw = {key: args.getlist(key) if key in ("status", "sync") else args.get(key) for key in args}
    return parse_query(raw)


def _filename(extension: str) -> str:
    return f"orders-{datetime.now(UTC):%Y%m%d-%H%M}.{extension}"


def export_orders(extension: str) -> Response:
    principal = current_principal()
    if principal.is_anonymous:
        return redirect("/login?next=/orders")
    try:
        query = _query_from_args(request.args)
    except QueryError as error:
        return Response("; ".join(error.errors.values()), status=400, mimetype="text/plain")
    headers = {
        "Content-Disposition": f'attachment; filename="{_filename(extension)}"',
        "Cache-Control": "no-store",
    }
    factory = current_sessions()
    if extension == "csv":

        def generate():
            with session_scope(factory) as session:
                yield from csv_chunks(session, principal, query)

        return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8", headers=headers)

    with session_scope(factory) as session:
        path = xlsx_file(session, principal, query)

    def send():
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk
        finally:
            os.unlink(path)

    headers["Content-Length"] = str(os.path.getsize(path))
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(send(), mimetype=mimetype, headers=headers)


def init_export(server: Flask) -> None:
    server.add_url_rule("/export/orders.csv", "export_orders_csv", lambda: export_orders("csv"))
    server.add_url_rule("/export/orders.xlsx", "export_orders_xlsx", lambda: export_orders("xlsx"))
