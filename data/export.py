"""The orders grid's current view as CSV or XLSX: scoped like the grid, streamed, formula-safe.

Rows come from `data.orders.iter_rows` in keyset batches, so an export of any size holds one batch in
memory. Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) get a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from data.access import Principal
from data.orders import OrderQuery, iter_rows

XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def columns_for(principal: Principal) -> list[tuple[str, Callable[[Any], Any]]]:
    """(header, value) per column; the same columns the grid shows to this principal."""
    columns: list[tuple[str, Callable[[Any], Any]]] = [
        ("Sales order number", lambda r: r.sales_order_number),
        ("Portal reference", lambda r: r.portal_order_id),
        ("Name", lambda r: r.sales_order_name),
        ("Customer", lambda r: r.ordering_customer_account_number),
    ]
    if principal.is_admin:
        columns.append(("Customer name", lambda r: r.name))
    columns += [
        ("Your reference", lambda r: r.customer_requisition_number),
        ("Ordered (UTC)", lambda r: r.order_date),
        ("Requested receipt", lambda r: r.requested_receipt_date),
        ("Confirmed receipt", lambda r: r.confirmed_receipt_date),
        ("Status", lambda r: r.processing_status),
        ("ERP", lambda r: r.sync_state),
        ("Total", lambda r: r.total_amount),
        ("Currency", lambda r: r.currency_code),
    ]
    if principal.is_admin or principal.is_representative:
        columns.append(
            (
                "Placed by",
                lambda r: (
                    " ".join(filter(None, (getattr(r, "first_name", None), getattr(r, "last_name", None))))
                    or None
                ),
            )
        )
    columns.append(("Deliver to", lambda r: r.delivery_address_description))
    return columns


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    return str(neutralise(value))


def csv_chunks(
    session: Session, principal: Principal, query: OrderQuery, rows_per_chunk: int = 500
) -> Iterator[str]:
    """The CSV text in chunks of rows (UTF-8 with a BOM so spreadsheets read accents right)."""
    columns = columns_for(principal)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([header for header, _ in columns])
    for count, row in enumerate(iter_rows(session, principal, query), start=1):
        writer.writerow([_text(value(row)) for _, value in columns])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_file(session: Session, principal: Principal, query: OrderQuery) -> str:
    """Write the XLSX to a temporary file (constant memory) and return its path; the caller deletes it."""
    import xlsxwriter

    columns = columns_for(principal)
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "tmpdir": None,
    }
    workbook = xlsxwriter.Workbook(path, options)
    try:
        sheet = workbook.add_worksheet("Orders")
        bold = workbook.add_format({"bold": True})
        day_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        time_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        money_format = workbook.add_format({"num_format": "#,##0.00"})
        sheet.write_row(0, 0, [header for header, _ in columns], bold)
        for number, row in enumerate(iter_rows(session, principal, query), start=1):
            if number > XLSX_MAX_ROWS:
                break
            for col, (_, value_of) in enumerate(columns):
                value = value_of(row)
                if value is None:
                    continue
                if isinstance(value, datetime):
                    sheet.write_datetime(number, col, value, time_format)
                elif isinstance(value, date):
                    sheet.write_datetime(
                        number, col, datetime.combine(value, datetime.min.time()), day_format
                    )
                elif isinstance(value, Decimal):
                    sheet.write_number(number, col, float(value), money_format)
                else:
                    sheet.write_string(number, col, str(neutralise(value)))
    finally:
        workbook.close()
    return path
