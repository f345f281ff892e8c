"""The data contract for raw inputs (README.md, "Data contract")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "string", "timestamp", "date", "amount", "enum", "json"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] = ()  # for enums
    # an id that may be missing when this other column has a value (an event's user_id,
    # when it carries an anonymous id: a visitor before signup)
    unless: str | None = None


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False  # an optional entity may be absent from the landing

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def duckdb_type(self, col: Column) -> str:
        return {
            "timestamp": "TIMESTAMPTZ",
            "date": "DATE",
            "amount": "DOUBLE",
        }.get(col.kind, "VARCHAR")


ORDER_STATUSES = ("paid", "refunded", "cancelled")
ASSIGNMENTS = ("treatment", "holdout")
# withheld: a holdout user the team did not contact, as the export asked
CONTACT_STATUSES = ("sent", "delivered", "failed", "withheld")

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "events",
            (
                Column("event_id", "id"),
                Column("user_id", "id", unless="anonymous_id"),
                Column("anonymous_id", "string", required=False),
                Column("event_name", "id"),
                Column("event_time", "timestamp"),
                Column("session_id", "string", required=False),
                Column("platform", "string", required=False),
                Column("campaign_id", "string", required=False),
                Column("properties", "json", required=False),
            ),
            key=("event_id",),
        ),
        Entity(
            "users",
            (
                Column("user_id", "id"),
                Column("signup_time", "timestamp"),
                Column("channel", "string", required=False),
                Column("referrer_user_id", "string", required=False),
                # the visitor id this user had before signing up (links its events)
                Column("anonymous_id", "string", required=False),
            ),
            key=("user_id",),
        ),
        Entity(
            "orders",
            (
                Column("order_id", "id"),
                Column("user_id", "id"),
                Column("order_time", "timestamp"),
                Column("amount", "amount"),
                Column("currency", "string", required=False),
                Column("status", "enum", allowed=ORDER_STATUSES),
            ),
            key=("order_id",),
        ),
        Entity(
            "experiment_assignments",
            (
                Column("experiment_id", "id"),
                Column("variant", "id"),
                Column("user_id", "id"),
                Column("assigned_time", "timestamp"),
            ),
            key=("experiment_id", "user_id"),
            optional=True,
        ),
        Entity(
            "channel_costs",
            (Column("date", "date"), Column("channel", "id"), Column("spend", "amount")),
            key=("date", "channel"),
            optional=True,
        ),
        Entity(  # paid campaigns (campaign_id as on the events)
            "campaign_costs",
            (Column("campaign_id", "id"), Column("date", "date"), Column("spend", "amount")),
            key=("campaign_id", "date"),
            optional=True,
        ),
        Entity(  # what the team did with the worklist (docs/LOOP.md)
            "contacts",
            (
                Column("contact_id", "id"),
                Column("user_id", "id"),
                Column("action_key", "id"),  # scheme:segment of the worklist, or a campaign
                Column("sent_time", "timestamp"),
                Column("assignment", "enum", allowed=ASSIGNMENTS),
                Column("status", "enum", allowed=CONTACT_STATUSES),
                Column("channel", "string", required=False),
                Column("cost", "amount", required=False),
                Column("action_id", "string", required=False),
            ),
            key=("contact_id",),
            optional=True,
        ),
    )
}
