"""An order placed through the wizard's command reaches the ERP through the outbox push, exactly once, and
comes back accepted with the ERP's number: the wizard's outbox payload is what the ERP accepts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from data.access import principal_for
from data.catalog import search_products
from data.models import Contact, ContactRole, OrderEvent, SalesOrder, WebRole
from data.order_entry import delivery_addresses, new_key, next_working_day, order_context, place_order
from sync.erp_simulator.store import sales_order_headers, sales_order_lines
from tests.integration.test_push import drain, env  # noqa: F401 - the fixture is used by name
from tests.sync_factories import assert_i1_each_order_once_in_erp


def test_a_wizard_order_is_accepted_by_the_erp_once(env):  # noqa: F811 - the imported fixture
    with env.sessions() as session, session.begin():
        contact = session.scalars(select(Contact).where(Contact.email == "user1a@portal.demo")).one()
        contact.roles.append(ContactRole(role=WebRole.AUTHORIZED_USER))
    with env.sessions() as session:
        contact = session.scalars(select(Contact).where(Contact.email == "user1a@portal.demo")).one()
        principal = principal_for(contact)
        today = env.clock().date()
        ctx = order_context(session, principal).context
        products = search_products(session, principal, ctx.prices, "", today)[:2]
        address = delivery_addresses(session, ctx)[0]
    key = new_key()
    placed = place_order(
        env.sessions,
        principal,
        account_id=None,
        header={
            "receipt_date": next_working_day(today).isoformat(),
            "address": str(address.id),
            "reference": "PO-4711",
        },
        lines=[{"item": p.item_number, "unit": p.default_unit, "quantity": "3"} for p in products],
        key=key,
        now=env.clock(),
        today=today,
    )
    env.clock.advance(seconds=1)
    drain(env, env.client)
    with env.sessions() as session:
        order = session.get(SalesOrder, placed.order_id)
        assert order.sync_state == "accepted" and order.sales_order_number
        kinds = [e.kind for e in session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))]
        assert kinds.count("submitted") == 1 and kinds.count("accepted") == 1
    with env.erp.engine.connect() as erp:
        header = erp.execute(
            select(sales_order_headers).where(sales_order_headers.c.PortalOrderId == key)
        ).one()
        lines = erp.execute(
            select(sales_order_lines).where(sales_order_lines.c.SalesOrderNumber == header.SalesOrderNumber)
        ).all()
    assert header.SalesOrderNumber == order.sales_order_number
    assert (header.OrderingCustomerAccountNumber, header.CustomerRequisitionNumber) == (
        ctx.account_number,
        "PO-4711",
    )
    assert header.ContactPersonId == ctx.contact_person_id and header.CurrencyCode == ctx.currency_code
    assert sorted(line.ItemNumber for line in lines) == sorted(p.item_number for p in products)
    assert header.TotalAmount == order.total_amount
    assert_i1_each_order_once_in_erp(env.sessions, env.erp.engine)
    assert env.clock() - order.order_date < timedelta(minutes=5)
