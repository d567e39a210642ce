"""The four CRM tables and their columns, in the order a new workbook lays them out.

This is the minimum the foundation needs (``sheetcrm init``, the demo); field types,
aliases and rules are added by the schema module built on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableLayout:
    """A CRM table: its key in the config, its default sheet name, id column and headers."""

    key: str
    sheet: str
    id_column: str
    columns: tuple[str, ...]


CUSTOMERS = TableLayout(
    "customers",
    "Customers",
    "customer_id",
    (
        "customer_id", "name", "company", "title", "phone", "email", "address", "city", "postcode",
        "region", "country", "industry", "tier", "tags", "owner", "owner_email", "source", "birthday",
        "created_at", "last_contact", "next_follow_up", "consent", "notes",
    ),
)  # fmt: skip
ORDERS = TableLayout(
    "orders",
    "Orders",
    "order_id",
    (
        "order_id", "customer_id", "order_date", "status", "product", "quantity", "unit_price", "amount",
        "currency", "shipped_at", "delivered_at", "tracking_no", "notes",
    ),
)  # fmt: skip
INTERACTIONS = TableLayout(
    "interactions",
    "Interactions",
    "interaction_id",
    ("interaction_id", "customer_id", "date", "channel", "summary", "owner", "outcome", "rating"),
)
OPPORTUNITIES = TableLayout(
    "opportunities",
    "Opportunities",
    "opportunity_id",
    (
        "opportunity_id", "customer_id", "title", "stage", "amount", "expected_close", "owner",
        "next_step", "updated_at",
    ),
)  # fmt: skip

CRM_TABLES: dict[str, TableLayout] = {t.key: t for t in (CUSTOMERS, ORDERS, INTERACTIONS, OPPORTUNITIES)}
