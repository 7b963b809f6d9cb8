"""Products and prices a customer may order: released to the order's company, active, and priced on the
order's price list in the order's currency (DOMAIN §2, §3).

Reads start from `visible_products` and `visible_price_list_items`, so a customer only ever sees their own
company's products and their own price list; the `PriceContext` narrows an administrator's view to the
account they are ordering for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import Session

from data.access import Principal, visible_price_list_items, visible_products
from data.db import LIKE_ESCAPE, like_pattern
from data.models import PriceList, PriceListItem, Product, ProductUnit

ACTIVE = "Active"
SEARCH_LIMIT = 25


@dataclass(frozen=True)
class PriceContext:
    """Whose prices: the order's company, price list and currency."""

    legal_entity_id: str
    price_list_code: str
    currency_code: str


@dataclass(frozen=True)
class ProductChoice:
    item_number: str
    name: str
    default_unit: str

    @property
    def label(self) -> str:
        return f"{self.item_number} · {self.name}"


@dataclass(frozen=True)
class UnitPrice:
    """One sales unit of a product with its price-list price; `decimals` is how many the quantity may have."""

    unit: str
    decimals: int
    price: Decimal


@dataclass(frozen=True)
class Orderable:
    """A product as it can be ordered now: its name and its priced sales units (default unit first)."""

    item_number: str
    name: str
    units: tuple[UnitPrice, ...]

    def unit(self, symbol: str) -> UnitPrice | None:
        return next((u for u in self.units if u.unit == symbol), None)


def _priced(principal: Principal, ctx: PriceContext, today: date):  # type: ignore[no-untyped-def]
    """Price-list rows of the context that apply today (prices of the principal's scope only)."""
    return visible_price_list_items(principal).where(
        PriceList.legal_entity_id == ctx.legal_entity_id,
        PriceList.code == ctx.price_list_code,
        PriceListItem.currency_code == ctx.currency_code,
        or_(PriceListItem.valid_from.is_(None), PriceListItem.valid_from <= today),
    )


def _orderable_products(principal: Principal, ctx: PriceContext, today: date):  # type: ignore[no-untyped-def]
    priced = (
        _priced(principal, ctx, today)
        .where(PriceListItem.item_number == Product.item_number)
        .with_only_columns(PriceListItem.id)
    )
    return visible_products(principal).where(
        Product.legal_entity_id == ctx.legal_entity_id,
        Product.lifecycle_state == ACTIVE,
        exists(priced),
    )


def search_products(
    session: Session,
    principal: Principal,
    ctx: PriceContext,
    text: str,
    today: date,
    limit: int = SEARCH_LIMIT,
) -> list[ProductChoice]:
    """Products matching `text` (item number or name) that the customer can order, by item number."""
    stmt = _orderable_products(principal, ctx, today)
    text = text.strip()[:100] if isinstance(text, str) else ""
    if text:
        pattern = like_pattern(text.lower())
        stmt = stmt.where(
            or_(
                Product.item_number.ilike(pattern, escape=LIKE_ESCAPE),
                Product.name.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    rows = session.scalars(stmt.order_by(Product.item_number).limit(limit))
    return [ProductChoice(p.item_number, p.name, p.default_sales_unit) for p in rows]


def orderable(
    session: Session, principal: Principal, ctx: PriceContext, item_numbers: set[str], today: date
) -> dict[str, Orderable]:
    """The products among `item_numbers` that can be ordered now, with their priced sales units."""
    wanted = {i.strip().upper() for i in item_numbers if i and i.strip()}
    if not wanted:
        return {}
    products = {
        p.item_number: p
        for p in session.scalars(
            _orderable_products(principal, ctx, today).where(Product.item_number.in_(sorted(wanted)))
        )
    }
    if not products:
        return {}
    prices = session.execute(
        _priced(principal, ctx, today)
        .where(PriceListItem.item_number.in_(sorted(products)))
        .with_only_columns(
            PriceListItem.item_number,
            PriceListItem.unit_symbol,
            PriceListItem.price,
            ProductUnit.decimal_precision,
        )
        .join(
            Product,
            and_(
                Product.item_number == PriceListItem.item_number,
                Product.legal_entity_id == ctx.legal_entity_id,
            ),
        )
        .join(
            ProductUnit,
            and_(ProductUnit.product_id == Product.id, ProductUnit.unit_symbol == PriceListItem.unit_symbol),
        )
    ).all()
    result: dict[str, Orderable] = {}
    for item_number, product in products.items():
        units = sorted(
            (
                UnitPrice(unit, int(decimals or 0), Decimal(price))
                for item, unit, price, decimals in prices
                if item == item_number
            ),
            key=lambda u: (u.unit != product.default_sales_unit, u.unit),
        )
        if units:
            result[item_number] = Orderable(item_number, product.name, tuple(units))
    return result


def get_orderable(
    session: Session, principal: Principal, ctx: PriceContext, item_number: str | None, today: date
) -> Orderable | None:
    if not item_number or not isinstance(item_number, str):
        return None
    return orderable(session, principal, ctx, {item_number}, today).get(item_number.strip().upper())


def product_names(
    session: Session, principal: Principal, legal_entity_id: str, item_numbers: set[str]
) -> dict[str, str]:
    """Names of products of the company (whatever their state), for notes about unavailable items."""
    if not item_numbers:
        return {}
    rows = session.scalars(
        visible_products(principal).where(
            Product.legal_entity_id == legal_entity_id, Product.item_number.in_(sorted(item_numbers))
        )
    )
    return {p.item_number: p.name for p in rows}
