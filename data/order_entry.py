"""Placing a sales order (DOMAIN §3): readiness, the auto-filled context, checking each step of the wizard,
pricing lines, CSV lines, reorder, and the exactly-once submit.

Nothing from the browser is trusted: the context (company, account, currency, price list, language,
contact person) comes from the principal's contact, or for administrators from an account read through
`orderable_accounts`; prices and totals are looked up again at submit. Every broken rule is an
`OrderEntryError` whose `errors` map a wizard field to words a customer understands.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from data.access import Principal, orderable_accounts, visible_orders
from data.catalog import Orderable, PriceContext, get_orderable, orderable, product_names
from data.contacts import READINESS_FIELDS
from data.db import session_scope
from data.models import (
    Contact,
    CustomerAccount,
    DeliveryAddress,
    LegalEntity,
    OrderEvent,
    OrderOrigin,
    OutboxEntry,
    ProcessingStatus,
    SalesOrder,
    SalesOrderLine,
    SyncState,
)

MAX_LINES = 200
MAX_QUANTITY = Decimal("1000000")
MAX_CSV_BYTES = 200_000
MAX_CSV_ROWS = 500
MAX_ADDRESSES = 100
NEW_ADDRESS = "new"
CENT = Decimal("0.01")
ORIGIN_CODE = "Portal"
#: Text limits of the ERP's fields.
LIMITS = {
    "reference": 60,
    "address_description": 120,
    "address_street": 250,
    "address_city": 60,
    "address_zip": 10,
}
ACCOUNT_FIELDS = {  # readiness field of a contact -> the account field an administrator's order uses
    "price_list_code": "price_list_code",
    "currency_code": "currency_code",
    "ship_to_country_region_id": "country_region_id",
}


class OrderEntryError(ValueError):
    """The draft breaks rules: `errors` maps each wizard field (or "lines", "key", "setup") to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- who orders, for whom: readiness and the auto-filled context --------------------------------------


@dataclass(frozen=True)
class Address:
    id: int
    description: str
    street: str
    city: str
    zip_code: str
    country_region_id: str

    @property
    def label(self) -> str:
        place = ", ".join(filter(None, (self.street, f"{self.zip_code} {self.city}".strip())))
        return f"{self.description} ({place})" if place else self.description


@dataclass(frozen=True)
class OrderContext:
    """Everything the wizard fills automatically (DOMAIN §3), from the contact or the chosen account."""

    legal_entity_id: str
    company_name: str
    account_id: int
    account_number: str
    account_name: str
    invoice_account_number: str
    currency_code: str
    price_list_code: str
    language_id: str
    ship_to_country: str
    contact_person_id: str | None
    contact_name: str
    placed_by_contact_id: int | None
    country_choice: bool  # administrators choose the ship-to country/region

    @property
    def prices(self) -> PriceContext:
        return PriceContext(self.legal_entity_id, self.price_list_code, self.currency_code)


@dataclass(frozen=True)
class Readiness:
    """Either a context to order with, or what stops the principal from ordering, in words."""

    context: OrderContext | None
    missing: tuple[str, ...] = ()
    problem: str = ""

    @property
    def message(self) -> str:
        if self.missing:
            return (
                f"The {'customer account' if self.problem == 'account' else 'contact'} has no "
                f"{_join(self.missing)} yet. Only an administrator can set "
                f"{'it' if len(self.missing) == 1 else 'them'}."
            )
        return self.problem


def _join(words: Sequence[str]) -> str:
    words = [w[0].lower() + w[1:] for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def parse_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def order_context(session: Session, principal: Principal, account_id: Any = None) -> Readiness:
    """The auto-filled order context: the contact's for customers; the chosen account's for administrators."""
    if principal.is_anonymous or principal.contact_id is None:
        return Readiness(None, problem="Sign in to place orders.")
    contact = session.get(Contact, principal.contact_id)
    if contact is None:
        return Readiness(None, problem="Sign in to place orders.")
    if principal.is_admin:
        return _admin_context(session, principal, contact, account_id)
    if not (principal.is_representative or principal.is_authorized_user):
        missing = tuple(label for attr, label in READINESS_FIELDS if not getattr(contact, attr))
        return Readiness(None, missing) if missing else Readiness(None, problem="You may not place orders.")
    missing = tuple(label for attr, label in READINESS_FIELDS if not getattr(contact, attr))
    if missing:
        return Readiness(None, missing)
    account = session.scalar(orderable_accounts(principal))
    if account is None:
        return Readiness(None, ("Customer account",))
    return Readiness(
        _context(
            session,
            account,
            contact,
            price_list_code=contact.price_list_code or "",
            currency_code=contact.currency_code or "",
            ship_to_country=contact.ship_to_country_region_id or "",
            language_id=contact.language_id,
            country_choice=False,
        )
    )


def _admin_context(session: Session, principal: Principal, admin: Contact, account_id: Any) -> Readiness:
    number = parse_id(account_id)
    account = (
        session.scalar(orderable_accounts(principal).where(CustomerAccount.id == number)) if number else None
    )
    if account is None:
        return Readiness(None, problem="Choose the company and customer account to order for.")
    missing = tuple(
        label
        for attr, label in READINESS_FIELDS
        if attr in ACCOUNT_FIELDS and not getattr(account, ACCOUNT_FIELDS[attr])
    )
    if missing:
        return Readiness(None, missing, problem="account")
    return Readiness(
        _context(
            session,
            account,
            admin,
            price_list_code=account.price_list_code or "",
            currency_code=account.currency_code or "",
            ship_to_country=account.country_region_id or "",
            language_id=None,
            country_choice=True,
        )
    )


def _context(
    session: Session,
    account: CustomerAccount,
    contact: Contact,
    *,
    price_list_code: str,
    currency_code: str,
    ship_to_country: str,
    language_id: str | None,
    country_choice: bool,
) -> OrderContext:
    company = session.get(LegalEntity, account.legal_entity_id)
    return OrderContext(
        legal_entity_id=account.legal_entity_id,
        company_name=company.name if company else account.legal_entity_id,
        account_id=account.id,
        account_number=account.account_number,
        account_name=account.name,
        invoice_account_number=account.invoice_account_number or account.account_number,
        currency_code=currency_code,
        price_list_code=price_list_code,
        language_id=language_id or account.language_id or (company.language_id if company else "en-us"),
        ship_to_country=ship_to_country,
        contact_person_id=contact.erp_contact_id,
        contact_name=contact.full_name,
        placed_by_contact_id=contact.id,
        country_choice=country_choice,
    )


def _account_addresses(ctx: OrderContext):  # type: ignore[no-untyped-def]
    return select(DeliveryAddress).where(
        DeliveryAddress.customer_account_id == ctx.account_id, DeliveryAddress.is_delivery.is_(True)
    )


def _address(row: DeliveryAddress) -> Address:
    return Address(
        row.id, row.description, row.street or "", row.city or "", row.zip_code or "", row.country_region_id
    )


def delivery_addresses(session: Session, ctx: OrderContext) -> list[Address]:
    """The account's address book (primary first): read only where the wizard shows or checks it, not in
    every callback that needs the context."""
    rows = session.scalars(
        _account_addresses(ctx)
        .order_by(DeliveryAddress.is_primary.desc(), DeliveryAddress.description, DeliveryAddress.id)
        .limit(MAX_ADDRESSES)
    )
    return [_address(row) for row in rows]


def country_choices(session: Session, ctx: OrderContext) -> list[str]:
    """Ship-to countries/regions an administrator may choose: the companies' and the account's addresses'."""
    countries = set(session.scalars(select(LegalEntity.country_region_id)))
    countries.update(
        session.scalars(
            _account_addresses(ctx).with_only_columns(DeliveryAddress.country_region_id).distinct()
        )
    )
    countries.add(ctx.ship_to_country)
    return sorted(c for c in countries if c)


# --- step 1: order information ---------------------------------------------------------------------


def next_working_day(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Header:
    requested_receipt_date: date
    ship_to_country: str
    address_description: str
    street: str
    city: str
    zip_code: str
    reference: str | None


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return " ".join(value.split()) if isinstance(value, str) else ""


def check_header(
    session: Session, ctx: OrderContext, raw: Mapping[str, Any], today: date
) -> tuple[Header | None, dict[str, str]]:
    """Step 1 as typed (`raw`: receipt_date, country, address, address_*, reference): the header or errors."""
    errors: dict[str, str] = {}
    receipt = None
    value = raw.get("receipt_date")
    if not value:
        errors["receipt_date"] = "Enter the date you want to receive the goods."
    else:
        try:
            receipt = date.fromisoformat(str(value)[:10])
        except ValueError:
            errors["receipt_date"] = "Enter a date such as 2026-12-01."
        else:
            if receipt < today:
                errors["receipt_date"] = "The requested receipt date cannot be in the past."
            elif receipt > today + timedelta(days=366):
                errors["receipt_date"] = "Choose a date within the next twelve months."
    country = ctx.ship_to_country
    if ctx.country_choice:
        chosen = _text(raw, "country").upper()
        if chosen and chosen not in country_choices(session, ctx):
            errors["country"] = "Choose a ship-to country/region from the list."
        country = chosen or country
    address = raw.get("address")
    description = street = city = zip_code = ""
    if address == NEW_ADDRESS:
        description = _text(raw, "address_description")
        street, city, zip_code = (_text(raw, f"address_{n}") for n in ("street", "city", "zip"))
        for name, what, given in (
            ("address_description", "a description, such as Warehouse Berlin", description),
            ("address_street", "the street and number", street),
            ("address_city", "the city", city),
            ("address_zip", "the postal code", zip_code),
        ):
            if not given:
                errors[name] = f"Enter {what}."
            elif len(given) > LIMITS[name]:
                errors[name] = f"Use at most {LIMITS[name]} characters."
    else:
        chosen_id = parse_id(address)
        row = (
            session.scalar(_account_addresses(ctx).where(DeliveryAddress.id == chosen_id))
            if chosen_id
            else None
        )
        known = _address(row) if row is not None else None
        if known is None:
            errors["address"] = "Choose a delivery address, or enter a new one."
        elif known.country_region_id != country:
            errors["address"] = (
                f"This address is not in {country}: choose one in {country}, or enter a new one."
            )
        else:
            description, street, city, zip_code = known.description, known.street, known.city, known.zip_code
    reference = _text(raw, "reference") or None
    if reference and len(reference) > LIMITS["reference"]:
        errors["reference"] = f"Use at most {LIMITS['reference']} characters."
    if errors or receipt is None:
        return None, errors
    return Header(receipt, country, description, street, city, zip_code, reference), {}


# --- step 2: lines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    item_number: str
    name: str
    unit: str
    quantity: Decimal
    price: Decimal
    amount: Decimal

    def as_draft(self) -> dict[str, str]:
        return {"item": self.item_number, "unit": self.unit, "quantity": format_quantity(self.quantity)}


def format_quantity(quantity: Decimal) -> str:
    """A quantity as typed back into the draft: "2.5", not "2.5000" or "2.5E+0"."""
    return format(quantity.normalize(), "f")


def parse_quantity(value: Any, decimals: int) -> tuple[Decimal | None, str]:
    """A positive quantity with at most `decimals` decimals, or the reason it is not one."""
    text = str(value).strip().replace(",", ".") if value not in (None, "") else ""
    if not text:
        return None, "Enter a quantity."
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        return None, "Enter the quantity as a number, such as 5."
    if not quantity.is_finite() or quantity <= 0:
        return None, "The quantity must be more than zero."
    if quantity > MAX_QUANTITY:
        return None, "The quantity is too large; contact us for orders of this size."
    if -quantity.normalize().as_tuple().exponent > decimals:  # type: ignore[operator]
        if decimals == 0:
            return None, "This unit is counted in whole numbers."
        return None, f"This unit allows at most {decimals} decimal{'s' if decimals > 1 else ''}."
    return quantity, ""


def price_line(
    product: Orderable | None, unit: Any, quantity: Any
) -> tuple[PricedLine | None, dict[str, str]]:
    """One line as the item dialog has it: the priced line, or errors for item, unit and quantity."""
    if product is None:
        return None, {"item": "Choose a product from the list."}
    unit_price = product.unit(unit) if isinstance(unit, str) else None
    if unit_price is None:
        return None, {"unit": f"Choose one of the units {product.item_number} is sold in."}
    amount, problem = parse_quantity(quantity, unit_price.decimals)
    if amount is None:
        return None, {"quantity": problem}
    total = (unit_price.price * amount).quantize(CENT, ROUND_HALF_UP)
    return PricedLine(product.item_number, product.name, unit_price.unit, amount, unit_price.price, total), {}


def _draft_lines(raw_lines: Any) -> list[Mapping[str, Any]]:
    if not isinstance(raw_lines, list):
        return []
    return [line for line in raw_lines[: MAX_LINES + 1] if isinstance(line, Mapping)]


def price_lines(
    session: Session, principal: Principal, ctx: OrderContext, raw_lines: Any, today: date
) -> tuple[list[PricedLine], dict[int, str]]:
    """The draft's lines priced now; `problems` maps a line's index to why it cannot be ordered."""
    lines = _draft_lines(raw_lines)
    items = {str(line.get("item") or "") for line in lines}
    products = orderable(session, principal, ctx.prices, items, today)
    priced: list[PricedLine] = []
    problems: dict[int, str] = {}
    for index, line in enumerate(lines):
        product = products.get(str(line.get("item") or "").strip().upper())
        result, errors = price_line(product, line.get("unit"), line.get("quantity"))
        if result is None:
            problems[index] = next(iter(errors.values()))
        priced.append(
            result or PricedLine(str(line.get("item") or "")[:30], "", "", Decimal(0), Decimal(0), Decimal(0))
        )
    return priced, problems


def item_line(
    session: Session,
    principal: Principal,
    ctx: OrderContext,
    item: Any,
    unit: Any,
    quantity: Any,
    today: date,
) -> tuple[PricedLine | None, dict[str, str]]:
    """The item dialog's line, priced from the context's price list."""
    product = get_orderable(session, principal, ctx.prices, item if isinstance(item, str) else None, today)
    return price_line(product, unit, quantity)


@dataclass(frozen=True)
class ImportResult:
    row: int
    text: str
    added: bool
    reason: str = ""


@dataclass
class Imported:
    lines: list[PricedLine] = field(default_factory=list)
    results: list[ImportResult] = field(default_factory=list)


def import_csv(
    session: Session, principal: Principal, ctx: OrderContext, text: str, today: date, room: int = MAX_LINES
) -> Imported:
    """Lines from CSV text (item number, quantity, optional unit; comma, semicolon or tab separated),
    with a result per row: added, or the reason it was not. A header row is recognised and skipped."""
    result = Imported()
    if len(text.encode("utf-8", "ignore")) > MAX_CSV_BYTES:
        result.results.append(ImportResult(0, "", False, "The file is too large: at most 200 KB."))
        return result
    rows = [(n, _cells(line)) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if (
        rows
        and rows[0][1]
        and rows[0][1][0].strip().lower() in ("item", "item number", "itemnumber", "product")
    ):
        rows = rows[1:]
    rows = rows[:MAX_CSV_ROWS]
    products = orderable(session, principal, ctx.prices, {r[0].strip() for _, r in rows if r}, today)
    for number, row in rows:
        cells = [c.strip() for c in row]
        shown = ", ".join(cells)[:120]
        item = cells[0].upper() if cells else ""
        if len(cells) < 2:
            result.results.append(ImportResult(number, shown, False, "Give an item number and a quantity."))
            continue
        product = products.get(item)
        if product is None:
            result.results.append(
                ImportResult(number, shown, False, f"{item[:30]} is not a product you can order.")
            )
            continue
        unit = cells[2] if len(cells) > 2 and cells[2] else product.units[0].unit
        line, errors = price_line(product, unit, cells[1])
        if line is None:
            result.results.append(ImportResult(number, shown, False, next(iter(errors.values()))))
        elif len(result.lines) >= room:
            result.results.append(
                ImportResult(number, shown, False, f"An order has at most {MAX_LINES} lines.")
            )
        else:
            result.lines.append(line)
            result.results.append(ImportResult(number, shown, True))
    return result


def _cells(line: str) -> list[str]:
    """One CSV row, separated by tabs, semicolons (so "2,5" can be a quantity) or commas, in that order."""
    delimiter = "\t" if "\t" in line else ";" if ";" in line else ","
    return next(csv.reader([line], delimiter=delimiter), [])


@dataclass
class Reordered:
    lines: list[PricedLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    found: bool = True


def reorder(
    session: Session, principal: Principal, ctx: OrderContext, order_id: Any, today: date
) -> Reordered:
    """The lines of a visible past order, re-priced on today's price list, with a note for each changed
    price and each item that cannot be ordered any more."""
    number = parse_id(order_id)
    order = session.scalar(visible_orders(principal).where(SalesOrder.id == number)) if number else None
    if order is None:
        return Reordered(found=False, notes=["That order was not found."])
    old_lines = session.scalars(
        select(SalesOrderLine).where(SalesOrderLine.order_id == order.id).order_by(SalesOrderLine.line_number)
    ).all()
    products = orderable(session, principal, ctx.prices, {line.item_number for line in old_lines}, today)
    names = product_names(session, principal, ctx.legal_entity_id, {line.item_number for line in old_lines})
    result = Reordered()
    for old in old_lines[:MAX_LINES]:
        product = products.get(old.item_number)
        name = names.get(old.item_number, "")
        label = f"{old.item_number} {name}".strip()
        if product is None:
            result.notes.append(f"{label} is no longer available and was left out.")
            continue
        line, errors = price_line(product, old.unit_symbol, old.quantity)
        if line is None:
            result.notes.append(f"{label}: {next(iter(errors.values()))} It was left out.")
            continue
        if order.currency_code == ctx.currency_code and line.price != old.unit_price:
            result.notes.append(
                f"{label}: the price changed from {old.unit_price:.2f} to {line.price:.2f} "
                f"{ctx.currency_code} per {line.unit}."
            )
        result.lines.append(line)
    return result


# --- submit ----------------------------------------------------------------------------------------


def new_key() -> str:
    """A wizard instance's idempotency key (also the order's portal reference)."""
    return str(uuid.uuid4())


def _key(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError, AttributeError):
        return None


def build_order(
    session: Session,
    principal: Principal,
    *,
    account_id: Any,
    header: Mapping[str, Any],
    lines: Any,
    key: Any,
    now: datetime,
    today: date,
) -> SalesOrder:
    """Rebuild the order from the principal and the draft, check everything, and add the order, its lines,
    a "submitted" event and the ERP outbox entry to the session (the caller commits)."""
    idempotency_key = _key(key)
    if idempotency_key is None:
        raise OrderEntryError({"key": "This order form has expired. Reload the page to continue."})
    readiness = order_context(session, principal, account_id)
    ctx = readiness.context
    if ctx is None:
        raise OrderEntryError({"setup": readiness.message})
    checked, errors = check_header(session, ctx, header, today)
    priced, problems = price_lines(session, principal, ctx, lines, today)
    if not priced:
        errors["lines"] = "Add at least one item."
    elif len(priced) > MAX_LINES:
        errors["lines"] = f"An order has at most {MAX_LINES} lines."
    elif problems:
        index, problem = next(iter(problems.items()))
        errors["lines"] = f"Line {index + 1} ({priced[index].item_number}): {problem}"
    if errors or checked is None:
        raise OrderEntryError(errors)
    total = sum((line.amount for line in priced), Decimal(0))
    order = SalesOrder(
        portal_order_id=idempotency_key,
        legal_entity_id=ctx.legal_entity_id,
        customer_account_id=ctx.account_id,
        ordering_customer_account_number=ctx.account_number,
        invoice_customer_account_number=ctx.invoice_account_number,
        sales_order_name=ctx.account_name,
        currency_code=ctx.currency_code,
        language_id=ctx.language_id,
        price_list_code=ctx.price_list_code,
        contact_person_id=ctx.contact_person_id,
        placed_by_contact_id=ctx.placed_by_contact_id,
        order_date=now,
        requested_receipt_date=checked.requested_receipt_date,
        delivery_address_description=checked.address_description,
        delivery_address_street=checked.street,
        delivery_address_city=checked.city,
        delivery_address_zip_code=checked.zip_code,
        delivery_address_country_region_id=checked.ship_to_country,
        customer_requisition_number=checked.reference,
        origin=OrderOrigin.PORTAL,
        origin_code=ORIGIN_CODE,
        sales_status="Backorder",
        document_status="None",
        processing_status=ProcessingStatus.ACTIVE,
        sync_state=SyncState.SUBMITTED,
        total_amount=total,
    )
    order.lines = [
        SalesOrderLine(
            line_number=number,
            item_number=line.item_number,
            description=line.name,
            quantity=line.quantity,
            unit_symbol=line.unit,
            unit_price=line.price,
            line_amount=line.amount,
            currency_code=ctx.currency_code,
            line_status="Backorder",
            requested_receipt_date=checked.requested_receipt_date,
            delivery_address_description=checked.address_description,
            delivery_address_country_region_id=checked.ship_to_country,
        )
        for number, line in enumerate(priced, start=1)
    ]
    session.add(order)
    session.flush()
    session.add(
        OrderEvent(
            order_id=order.id,
            occurred_at=now,
            kind="submitted",
            to_status=ProcessingStatus.ACTIVE,
            detail=f"Submitted in the portal by {ctx.contact_name}; waiting for ERP confirmation.",
        )
    )
    session.add(
        OutboxEntry(
            entity="sales_order",
            entity_id=order.id,
            operation="create",
            idempotency_key=idempotency_key,
            payload=erp_payload(order),
            state="pending",
            next_attempt_at=now,
        )
    )
    return order


def erp_payload(order: SalesOrder) -> dict[str, Any]:
    """The order as the ERP's SalesOrderHeadersV2 entity with its SalesOrderLines (F&O field names)."""
    return {
        "dataAreaId": order.legal_entity_id,
        "OrderingCustomerAccountNumber": order.ordering_customer_account_number,
        "InvoiceCustomerAccountNumber": order.invoice_customer_account_number,
        "SalesOrderName": order.sales_order_name,
        "CurrencyCode": order.currency_code,
        "LanguageId": order.language_id,
        "PriceCustomerGroupCode": order.price_list_code,
        "ContactPersonId": order.contact_person_id,
        "RequestedReceiptDate": order.requested_receipt_date.isoformat(),
        "DeliveryAddressDescription": order.delivery_address_description,
        "DeliveryAddressStreet": order.delivery_address_street,
        "DeliveryAddressCity": order.delivery_address_city,
        "DeliveryAddressZipCode": order.delivery_address_zip_code,
        "DeliveryAddressCountryRegionId": order.delivery_address_country_region_id,
        "CustomerRequisitionNumber": order.customer_requisition_number,
        "PortalOrderId": order.portal_order_id,
        "SalesOrderLines": [
            {
                "LineNumber": line.line_number,
                "ItemNumber": line.item_number,
                "LineDescription": line.description,
                "OrderedSalesQuantity": str(line.quantity),
                "SalesUnitSymbol": line.unit_symbol,
                "SalesPrice": str(line.unit_price),
                "LineAmount": str(line.line_amount),
                "CurrencyCode": line.currency_code,
                "RequestedReceiptDate": line.requested_receipt_date.isoformat(),
                "DeliveryAddressDescription": line.delivery_address_description,
                "DeliveryAddressCountryRegionId": line.delivery_address_country_region_id,
            }
            for line in order.lines
        ],
    }


def _existing(session: Session, principal: Principal, key: str) -> int | None:
    """The order a wizard instance already placed, if this principal placed it."""
    order = session.scalar(select(SalesOrder).where(SalesOrder.portal_order_id == key))
    if order is None:
        return None
    mine = session.scalar(visible_orders(principal).where(SalesOrder.id == order.id))
    if mine is None or order.placed_by_contact_id != principal.contact_id:
        raise OrderEntryError(
            {"key": "This order form was already used. Reload the page to start a new order."}
        )
    return order.id


@dataclass(frozen=True)
class Placed:
    order_id: int
    portal_reference: str
    created: bool  # False when the same wizard instance had already placed it (a retry or a second tab)


def place_order(
    factory: sessionmaker[Session],
    principal: Principal,
    *,
    account_id: Any,
    header: Mapping[str, Any],
    lines: Any,
    key: Any,
    now: datetime,
    today: date,
    attempts: int = 3,
) -> Placed:
    """Exactly once per wizard instance: a double click, a retry or a second tab with the same key returns
    the order already placed. Two submits racing on the unique key: the loser finds the winner's order."""
    idempotency_key = _key(key)
    if idempotency_key is None:
        raise OrderEntryError({"key": "This order form has expired. Reload the page to continue."})
    for attempt in range(attempts):
        try:
            with session_scope(factory) as session:
                existing = _existing(session, principal, idempotency_key)
                if existing is not None:
                    return Placed(existing, idempotency_key, created=False)
                order = build_order(
                    session,
                    principal,
                    account_id=account_id,
                    header=header,
                    lines=lines,
                    key=idempotency_key,
                    now=now,
                    today=today,
                )
                return Placed(order.id, idempotency_key, created=True)
        except (IntegrityError, OperationalError):
            # Another submit with this key won the race (unique portal_order_id), or SQLite was busy:
            # the next attempt finds that order, or tries again.
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
