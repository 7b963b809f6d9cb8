"""Placing orders (DOMAIN §3, QUALITY S7/S14) on each database: readiness and auto-fill from the contact,
every required field, prices per unit and currency, CSV lines, reorder, and exactly-once submit."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from data.access import principal_for
from data.catalog import search_products
from data.db import make_engine, make_session_factory, migrate, session_scope
from data.demo import seed_demo
from data.models import (
    Contact,
    ContactRole,
    CustomerAccount,
    DeliveryAddress,
    OrderEvent,
    OutboxEntry,
    PriceList,
    PriceListItem,
    Product,
    ProductUnit,
    SalesOrder,
    SalesOrderLine,
    WebRole,
)
from data.order_entry import (
    NEW_ADDRESS,
    OrderEntryError,
    check_header,
    delivery_addresses,
    import_csv,
    item_line,
    new_key,
    next_working_day,
    order_context,
    place_order,
    reorder,
)
from data.orders import fetch_page, parse_query
from sync.erp_client import HttpErpClient
from sync.pull import pull_all
from tests.databases import BACKENDS, temporary_database_url

TODAY = date(2026, 11, 20)  # a Friday
NOW = datetime(2026, 11, 20, 9, 30)


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory, shared_erp):
    """A portal store filled from the ERP simulator, with the demo sign-ins."""
    with temporary_database_url(request.param, tmp_path_factory.mktemp("entry"), prefix="entry") as url:
        engine = make_engine(url)
        migrate(engine)
        factory = make_session_factory(engine)
        pull_all(factory, HttpErpClient(shared_erp.url), kind="initial")
        with session_scope(factory) as session:
            seed_demo(session, "demo-password-1")
        yield factory
        engine.dispose()


def _principal(factory, email):
    with session_scope(factory) as session:
        return principal_for(session.scalars(select(Contact).where(Contact.email == email)).one())


def _context(factory, email, account_id=None):
    with session_scope(factory) as session:
        return order_context(session, _principal(factory, email), account_id).context


def _counts(factory) -> tuple[int, int, int, int]:
    with session_scope(factory) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (SalesOrder, SalesOrderLine, OrderEvent, OutboxEntry)
        )


def _products(factory, email, text=""):
    principal = _principal(factory, email)
    ctx = _context(factory, email)
    with session_scope(factory) as session:
        return search_products(session, principal, ctx.prices, text, TODAY, limit=200)


def _first_address(store, ctx):
    with session_scope(store) as session:
        return delivery_addresses(session, ctx)[0]


def _header(store, ctx, **changes):
    return {
        "receipt_date": next_working_day(TODAY).isoformat(),
        "address": str(_first_address(store, ctx).id),
        **changes,
    }


def _ready_contact(factory, **fields) -> str:
    """A new authorized user of demo account A, its readiness fields overridable."""
    email = f"entry-{new_key()[:8]}@example.com"
    with session_scope(factory) as session:
        rep = session.scalars(select(Contact).where(Contact.email == "user1a@portal.demo")).one()
        values = {
            "legal_entity_id": rep.legal_entity_id,
            "customer_account_id": rep.customer_account_id,
            "price_list_code": rep.price_list_code,
            "currency_code": rep.currency_code,
            "ship_to_country_region_id": rep.ship_to_country_region_id,
            **fields,
        }
        contact = Contact(email=email, first_name="Entry", last_name="Tester", origin="portal", **values)
        contact.roles.append(ContactRole(role=WebRole.AUTHORIZED_USER))
        session.add(contact)
    return email


def test_context_is_filled_from_the_contact(store):
    with session_scope(store) as session:
        contact = session.scalars(select(Contact).where(Contact.email == "user1a@portal.demo")).one()
        account = session.get(CustomerAccount, contact.customer_account_id)
        ctx = order_context(session, principal_for(contact)).context
        assert ctx is not None
        assert (ctx.legal_entity_id, ctx.account_id, ctx.account_number) == (
            contact.legal_entity_id,
            account.id,
            account.account_number,
        )
        assert ctx.price_list_code == contact.price_list_code
        assert ctx.currency_code == contact.currency_code
        assert ctx.ship_to_country == contact.ship_to_country_region_id
        assert ctx.language_id == (contact.language_id or account.language_id)
        assert ctx.invoice_account_number == (account.invoice_account_number or account.account_number)
        assert ctx.contact_person_id == contact.erp_contact_id and ctx.contact_person_id
        assert ctx.contact_name == contact.full_name
        assert not ctx.country_choice
        addresses = delivery_addresses(session, ctx)
        assert addresses and all(
            session.get(DeliveryAddress, a.id).customer_account_id == account.id for a in addresses
        )


def test_a_contact_that_is_not_ready_is_told_what_is_missing_and_nothing_is_written(store):
    email = _ready_contact(store, price_list_code=None, currency_code=None)
    principal = _principal(store, email)
    with session_scope(store) as session:
        readiness = order_context(session, principal)
    assert readiness.context is None
    assert readiness.missing == ("Price list", "Currency")
    assert "price list and currency" in readiness.message.lower() and "administrator" in readiness.message
    before = _counts(store)
    with pytest.raises(OrderEntryError) as refused:
        place_order(
            store, principal, account_id=None, header={}, lines=[], key=new_key(), now=NOW, today=TODAY
        )
    assert "setup" in refused.value.errors
    assert _counts(store) == before


def test_administrators_order_with_the_chosen_accounts_defaults(store):
    admin = _principal(store, "admin@portal.demo")
    with session_scope(store) as session:
        assert order_context(session, admin, None).context is None
        assert order_context(session, admin, "999999").context is None
        no_prices = session.scalars(
            select(CustomerAccount).where(CustomerAccount.account_number == "US-030")
        ).one()
        readiness = order_context(session, admin, no_prices.id)
        assert readiness.context is None and readiness.missing == ("Price list",)
        assert "customer account" in readiness.message
        account = session.scalars(
            select(CustomerAccount).where(CustomerAccount.account_number == "DE-001")
        ).one()
        ctx = order_context(session, admin, str(account.id)).context
    assert (ctx.legal_entity_id, ctx.account_number, ctx.currency_code) == ("DEMF", "DE-001", "EUR")
    assert ctx.price_list_code == account.price_list_code and ctx.country_choice


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"receipt_date": None}, "receipt_date", "Enter the date"),
        ({"receipt_date": "2026-11-19"}, "receipt_date", "cannot be in the past"),
        ({"receipt_date": "20.11.2026"}, "receipt_date", "such as"),
        ({"receipt_date": "2028-01-01"}, "receipt_date", "twelve months"),
        ({"address": None}, "address", "Choose a delivery address"),
        ({"address": "999999"}, "address", "Choose a delivery address"),
        ({"address": NEW_ADDRESS, "address_street": "1 Main St"}, "address_description", "description"),
        ({"address": NEW_ADDRESS, "address_description": "Dock 4"}, "address_city", "city"),
        ({"address": NEW_ADDRESS, "address_description": "Dock 4"}, "address_zip", "postal code"),
        ({"reference": "x" * 61}, "reference", "at most 60"),
    ],
)
def test_every_required_header_field_is_named(store, changes, field, words):
    ctx = _context(store, "user1a@portal.demo")
    with session_scope(store) as session:
        header, errors = check_header(session, ctx, _header(store, ctx, **changes), TODAY)
    assert header is None and words in errors[field]


def test_header_uses_the_contacts_country_and_refuses_another_accounts_address(store):
    ctx = _context(store, "user1a@portal.demo")
    with session_scope(store) as session:
        foreign = session.scalars(
            select(DeliveryAddress).where(DeliveryAddress.customer_account_id != ctx.account_id)
        ).first()
        _, errors = check_header(session, ctx, _header(store, ctx, address=str(foreign.id)), TODAY)
        assert "address" in errors
        header, errors = check_header(
            session, ctx, _header(store, ctx, country="DEU", reference=" PO  77 "), TODAY
        )
    assert errors == {} and header.ship_to_country == ctx.ship_to_country
    assert header.reference == "PO 77"
    assert header.requested_receipt_date == date(2026, 11, 23)  # Friday -> Monday


def test_prices_per_unit_and_currency_come_from_the_price_list(store):
    for email in ("user1a@portal.demo", "user2a@portal.demo"):
        principal = _principal(store, email)
        ctx = _context(store, email)
        with session_scope(store) as session:
            product = session.scalars(
                select(Product)
                .join(ProductUnit, ProductUnit.product_id == Product.id)
                .where(Product.legal_entity_id == ctx.legal_entity_id, Product.lifecycle_state == "Active")
                .group_by(Product.id)
                .having(func.count(ProductUnit.id) > 1)
                .order_by(Product.item_number)
            ).first()
            price_list = session.scalars(
                select(PriceList).where(
                    PriceList.legal_entity_id == ctx.legal_entity_id, PriceList.code == ctx.price_list_code
                )
            ).one()
            prices = {
                i.unit_symbol: i.price
                for i in session.scalars(
                    select(PriceListItem).where(
                        PriceListItem.price_list_id == price_list.id,
                        PriceListItem.item_number == product.item_number,
                    )
                )
            }
            assert len(prices) > 1
            for unit, price in prices.items():
                line, errors = item_line(session, principal, ctx, product.item_number, unit, "2", TODAY)
                assert (
                    errors == {}
                    and line.price == price
                    and line.amount == (price * 2).quantize(Decimal("0.01"))
                )
        assert price_list.currency_code == ctx.currency_code


def test_quantities_follow_the_units_decimals(store):
    principal = _principal(store, "user1a@portal.demo")
    ctx = _context(store, "user1a@portal.demo")
    cable = _products(store, "user1a@portal.demo", "cable")[0]
    each = _products(store, "user1a@portal.demo", "TV")[0]
    with session_scope(store) as session:
        ok, _ = item_line(session, principal, ctx, cable.item_number, cable.default_unit, "2,5", TODAY)
        assert ok.quantity == Decimal("2.5")
        for item, unit, quantity, words in [
            (cable.item_number, cable.default_unit, "2.555", "at most 2 decimals"),
            (each.item_number, each.default_unit, "1.5", "whole numbers"),
            (each.item_number, each.default_unit, "0", "more than zero"),
            (each.item_number, each.default_unit, "-3", "more than zero"),
            (each.item_number, each.default_unit, "lots", "as a number"),
            (each.item_number, each.default_unit, "", "Enter a quantity"),
            (each.item_number, each.default_unit, "10000001", "too large"),
            (each.item_number, "kg", "1", "units"),
            ("NO-SUCH", "ea", "1", "Choose a product"),
        ]:
            line, errors = item_line(session, principal, ctx, item, unit, quantity, TODAY)
            assert line is None and words in next(iter(errors.values())), (quantity, errors)


def test_only_released_active_priced_products_of_the_company_are_offered(store):
    found = {p.item_number for p in _products(store, "user2a@portal.demo")}
    principal = _principal(store, "user2a@portal.demo")
    ctx = _context(store, "user2a@portal.demo")
    with session_scope(store) as session:
        de_items = set(session.scalars(select(Product.item_number).where(Product.legal_entity_id == "DEMF")))
        us_only = (
            set(session.scalars(select(Product.item_number).where(Product.legal_entity_id == "USMF")))
            - de_items
        )
        inactive = set(
            session.scalars(
                select(Product.item_number).where(
                    Product.legal_entity_id == "DEMF", Product.lifecycle_state != "Active"
                )
            )
        )
        assert us_only, "the demo data releases some products to USMF only"
        assert found and found <= de_items and not found & inactive
        line, errors = item_line(session, principal, ctx, sorted(us_only)[0], "ea", "1", TODAY)
        assert line is None and "item" in errors


def test_csv_lines_get_a_result_each(store):
    principal = _principal(store, "user1a@portal.demo")
    ctx = _context(store, "user1a@portal.demo")
    tv = _products(store, "user1a@portal.demo", "TV")[0]
    cable = _products(store, "user1a@portal.demo", "cable")[0]
    text = "\n".join(
        [
            "Item number;Quantity;Unit",
            f"{tv.item_number};3",
            f"{cable.item_number.lower()};2,5;{cable.default_unit}",
            "NOPE;1",
            f"{tv.item_number};1.5",
            f"{tv.item_number}",
            f"{tv.item_number};1;kg",
            "",
            '"=HYPERLINK(""x"")";1',
        ]
    )
    with session_scope(store) as session:
        imported = import_csv(session, principal, ctx, text, TODAY)
    assert [line.as_draft() for line in imported.lines] == [
        {"item": tv.item_number, "unit": tv.default_unit, "quantity": "3"},
        {"item": cable.item_number, "unit": cable.default_unit, "quantity": "2.5"},
    ]
    outcome = [(r.row, r.added, r.reason.split(" ")[-1]) for r in imported.results]
    assert [row for row, added, _ in outcome if added] == [2, 3]
    reasons = {r.row: r.reason for r in imported.results if not r.added}
    assert "not a product you can order" in reasons[4]
    assert "whole numbers" in reasons[5]
    assert "item number and a quantity" in reasons[6]
    assert "units" in reasons[7]
    assert "not a product" in reasons[9]


def test_reorder_reprices_and_notes_changed_prices_and_discontinued_items(store):
    email = "user1b@portal.demo"
    principal = _principal(store, email)
    ctx = _context(store, email)
    with session_scope(store) as session:
        order = session.scalars(
            select(SalesOrder)
            .where(
                SalesOrder.placed_by_contact_id == principal.contact_id,
                SalesOrder.currency_code == ctx.currency_code,
            )
            .join(SalesOrderLine)
            .group_by(SalesOrder.id)
            .having(func.count(SalesOrderLine.id) >= 2)
            .order_by(SalesOrder.id)
        ).first()
        lines = session.scalars(
            select(SalesOrderLine)
            .where(SalesOrderLine.order_id == order.id)
            .order_by(SalesOrderLine.line_number)
        ).all()
        changed, gone = lines[0], lines[1]
        price_list = session.scalars(
            select(PriceList).where(
                PriceList.legal_entity_id == ctx.legal_entity_id, PriceList.code == ctx.price_list_code
            )
        ).one()
        item = session.scalars(
            select(PriceListItem).where(
                PriceListItem.price_list_id == price_list.id,
                PriceListItem.item_number == changed.item_number,
                PriceListItem.unit_symbol == changed.unit_symbol,
            )
        ).one()
        item.price = changed.unit_price + Decimal("1.00")
        product = session.scalars(
            select(Product).where(
                Product.legal_entity_id == ctx.legal_entity_id, Product.item_number == gone.item_number
            )
        ).one()
        product.lifecycle_state = "Discontinued"
    try:
        with session_scope(store) as session:
            result = reorder(session, principal, ctx, order.id, TODAY)
            foreign = reorder(session, principal, ctx, _other_order(session, principal.contact_id), TODAY)
        assert result.found and not foreign.found
        assert changed.item_number in {line.item_number for line in result.lines}
        assert gone.item_number not in {line.item_number for line in result.lines}
        assert any(
            changed.item_number in n and f"to {changed.unit_price + Decimal('1.00'):.2f}" in n
            for n in result.notes
        )
        assert any(gone.item_number in n and "no longer available" in n for n in result.notes)
    finally:
        with session_scope(store) as session:
            session.get(PriceListItem, item.id).price = item.price - Decimal("1.00")
            session.get(Product, product.id).lifecycle_state = "Active"


def _other_order(session, contact_id) -> int:
    return session.scalars(select(SalesOrder.id).where(SalesOrder.placed_by_contact_id != contact_id)).first()


def test_submit_rebuilds_the_order_and_writes_it_with_event_and_outbox_at_once(store):
    email = _ready_contact(store)
    principal = _principal(store, email)
    ctx = _context(store, email)
    tv = _products(store, email, "TV")[0]
    key = new_key()
    draft = [
        {"item": tv.item_number, "unit": tv.default_unit, "quantity": "2", "price": "0.01", "amount": "0.02"},
    ]
    before = _counts(store)
    placed = place_order(
        store,
        principal,
        account_id="1",  # ignored: a customer orders for their own account
        header=_header(store, ctx, reference="<b>PO-1</b>", total="1.00"),
        lines=draft,
        key=key,
        now=NOW,
        today=TODAY,
    )
    assert placed.created and placed.portal_reference == key
    assert _counts(store) == tuple(n + 1 for n in before)
    with session_scope(store) as session:
        order = session.get(SalesOrder, placed.order_id)
        line = order.lines[0]
        expected = session.scalars(
            select(PriceListItem.price)
            .join(PriceList)
            .where(
                PriceList.code == ctx.price_list_code,
                PriceList.legal_entity_id == ctx.legal_entity_id,
                PriceListItem.item_number == tv.item_number,
                PriceListItem.unit_symbol == tv.default_unit,
            )
        ).one()
        assert line.unit_price == expected and order.total_amount == expected * 2
        assert (order.customer_account_id, order.sync_state, order.sales_order_number) == (
            ctx.account_id,
            "submitted",
            None,
        )
        assert order.customer_requisition_number == "<b>PO-1</b>"
        assert (order.currency_code, order.price_list_code, order.language_id) == (
            ctx.currency_code,
            ctx.price_list_code,
            ctx.language_id,
        )
        assert order.invoice_customer_account_number == ctx.invoice_account_number
        assert (
            order.sales_order_name == ctx.account_name and order.placed_by_contact_id == principal.contact_id
        )
        assert (
            order.delivery_address_country_region_id
            == line.delivery_address_country_region_id
            == ctx.ship_to_country
        )
        assert (
            order.delivery_address_description
            == line.delivery_address_description
            == _first_address(store, ctx).description
        )
        event = session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)).one()
        assert event.kind == "submitted" and "waiting for ERP confirmation" in event.detail
        entry = session.scalars(select(OutboxEntry).where(OutboxEntry.entity_id == order.id)).one()
        assert (entry.entity, entry.idempotency_key, entry.state) == ("sales_order", key, "pending")
        payload = entry.payload
        assert (
            payload["PortalOrderId"] == key and payload["OrderingCustomerAccountNumber"] == ctx.account_number
        )
        assert payload["SalesOrderLines"][0]["SalesPrice"] == str(expected)
        # the order is in the grid at once
        page = fetch_page(session, principal, parse_query({}), 0, 10, {})
        assert page.rows[0].id == order.id


def test_tampered_or_incomplete_drafts_are_refused_with_nothing_written(store):
    email = "user2a@portal.demo"
    principal = _principal(store, email)
    ctx = _context(store, email)
    with session_scope(store) as session:
        de_items = set(session.scalars(select(Product.item_number).where(Product.legal_entity_id == "DEMF")))
        us_only = sorted(
            set(session.scalars(select(Product.item_number).where(Product.legal_entity_id == "USMF")))
            - de_items
        )
    good = _products(store, email)[0]
    cases = [
        ({}, [{"item": good.item_number, "unit": good.default_unit, "quantity": "1"}], "receipt_date"),
        (_header(store, ctx), [], "lines"),
        (_header(store, ctx), [{"item": us_only[0], "unit": "ea", "quantity": "1"}], "lines"),
        (_header(store, ctx), "not a list", "lines"),
        (
            _header(store, ctx),
            [{"item": good.item_number, "unit": good.default_unit, "quantity": "-1"}],
            "lines",
        ),
    ]
    before = _counts(store)
    for header, lines, field in cases:
        with pytest.raises(OrderEntryError) as refused:
            place_order(
                store,
                principal,
                account_id=None,
                header=header,
                lines=lines,
                key=new_key(),
                now=NOW,
                today=TODAY,
            )
        assert field in refused.value.errors
    with pytest.raises(OrderEntryError) as refused:
        place_order(
            store,
            principal,
            account_id=None,
            header=_header(store, ctx),
            lines=[],
            key="not-a-key",
            now=NOW,
            today=TODAY,
        )
    assert "key" in refused.value.errors
    assert _counts(store) == before


def test_a_key_used_by_someone_else_is_refused(store):
    first, second = _ready_contact(store), _ready_contact(store)
    ctx = _context(store, first)
    tv = _products(store, first, "TV")[0]
    key = new_key()
    lines = [{"item": tv.item_number, "unit": tv.default_unit, "quantity": "1"}]
    place_order(
        store,
        _principal(store, first),
        account_id=None,
        header=_header(store, ctx),
        lines=lines,
        key=key,
        now=NOW,
        today=TODAY,
    )
    before = _counts(store)
    with pytest.raises(OrderEntryError) as refused:
        place_order(
            store,
            _principal(store, second),
            account_id=None,
            header=_header(store, ctx),
            lines=lines,
            key=key,
            now=NOW,
            today=TODAY,
        )
    assert "already used" in refused.value.errors["key"]
    assert _counts(store) == before


def test_concurrent_double_submit_places_one_order(store):
    email = _ready_contact(store)
    principal = _principal(store, email)
    ctx = _context(store, email)
    tv = _products(store, email, "TV")[0]
    key = new_key()
    barrier = threading.Barrier(4)
    results, failures = [], []

    def submit():
        barrier.wait()
        try:
            results.append(
                place_order(
                    store,
                    principal,
                    account_id=None,
                    header=_header(store, ctx),
                    lines=[{"item": tv.item_number, "unit": tv.default_unit, "quantity": "1"}],
                    key=key,
                    now=NOW,
                    today=TODAY,
                )
            )
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert len({r.order_id for r in results}) == 1 and sum(r.created for r in results) == 1
    with session_scope(store) as session:
        assert session.scalar(select(func.count()).where(SalesOrder.portal_order_id == key)) == 1
        assert session.scalar(select(func.count()).where(OutboxEntry.idempotency_key == key)) == 1


def test_next_working_day_skips_the_weekend():
    assert next_working_day(date(2026, 11, 20)) == date(2026, 11, 23)
    assert next_working_day(date(2026, 11, 21)) == date(2026, 11, 23)
    assert next_working_day(date(2026, 11, 23)) == date(2026, 11, 24)
    assert next_working_day(date(2026, 12, 31)) == date(2027, 1, 1)
