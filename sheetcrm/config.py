"""``sheetcrm.toml``: where the workbook is, how its tables are laid out, and the settings of each job.

The file is TOML, read with :mod:`tomllib` and checked against the pydantic models below.
Every problem is a :class:`~sheetcrm.errors.ConfigError` naming the file and the dotted key::

    sheetcrm.toml: tables.customers.header_rw: unknown key
      hint: did you mean 'header_row'? valid keys in [tables.customers]: sheet, header_row, id_column

Secrets (the SMTP password, a Google key) are never written in the file. A secret setting
is a reference, ``{ env = "SMTP_PASSWORD" }`` or ``{ file = "secrets/smtp.txt" }``, that
:func:`resolve_secret` reads when the secret is used; the model, its repr, every rendering
and every error message only ever hold the reference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import enum
import json
import math
import os
import re
import textwrap
import tomllib
import types
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from sheetcrm.errors import ConfigError, InputError
from sheetcrm.schema.custom import FieldConfig, SchemaConfig, schema_problems
from sheetcrm.sync.safewrite import replace_atomically

__all__ = [
    "CONFIG_FILENAME",
    "STANDARD_TABLES",
    "Config",
    "FieldConfig",
    "FixConfig",
    "GoogleConfig",
    "JobConfig",
    "PhoneFormat",
    "PipelineConfig",
    "RemindersConfig",
    "ReportsConfig",
    "RollupsConfig",
    "SafetyConfig",
    "SchemaConfig",
    "SecretRef",
    "SegmentsConfig",
    "SmtpConfig",
    "StaleConfig",
    "TableConfig",
    "TagRuleConfig",
    "config_reference_markdown",
    "default_config",
    "load_config",
    "render_config",
    "resolve_secret",
    "write_config",
]

CONFIG_FILENAME = "sheetcrm.toml"

# The four tables every CRM has: name -> (default sheet, default id column).
STANDARD_TABLES: dict[str, tuple[str, str]] = {
    "customers": ("Customers", "customer_id"),
    "orders": ("Orders", "order_id"),
    "interactions": ("Interactions", "interaction_id"),
    "opportunities": ("Opportunities", "opportunity_id"),
}
CUSTOM_TABLE_ID_COLUMN = "id"

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TAG_PREFIX = "<"  # union tags in error locations ("<ref>", "<path>") are not keys

_LITERAL_REFUSAL = (
    'a secret cannot be written into the config file: write { env = "NAME" } instead (or { file = "path" })'
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _base_dir(info: ValidationInfo) -> Path:
    """The folder relative paths are relative to: the config file's, else the working directory."""
    context = info.context if isinstance(info.context, dict) else {}
    base = context.get("base")
    return Path(base) if base is not None else Path.cwd()


def _resolve_path(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


class SecretRef(_Model):
    """Where a secret is read from at use time: ``{ env = "NAME" }`` or ``{ file = "path" }``.

    Only the reference is kept; :func:`resolve_secret` reads the value when it is needed.
    """

    env: str | None = Field(default=None, description="Name of the environment variable holding the secret.")
    file: Path | None = Field(
        default=None,
        description="File holding the secret (relative to the config file's folder); trailing newlines are dropped.",
    )
    _key: str = PrivateAttr(default="secret")
    _source: str | None = PrivateAttr(default=None)

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise PydanticCustomError(
                "env_name", "not an environment variable name (letters, digits and _, not starting with a digit)"
            )
        return value

    @field_validator("file")
    @classmethod
    def _check_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve_path(value, _base_dir(info))

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise PydanticCustomError(
                "secret_ref", 'give exactly one of env or file: { env = "NAME" } or { file = "path" }'
            )
        return self

    @model_serializer
    def _dump(self) -> dict[str, str | Path]:
        if self.env is not None:
            return {"env": self.env}
        assert self.file is not None  # _exactly_one guarantees it
        return {"file": self.file}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretRef):
            return NotImplemented
        return (self.env, self.file) == (other.env, other.file)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return f'{{ env = "{self.env}" }}' if self.env is not None else f'{{ file = "{self.file}" }}'


def _refuse_literal_secret(value: Any) -> Any:
    if value is None or isinstance(value, dict | SecretRef):
        return value
    raise PydanticCustomError("literal_secret", _LITERAL_REFUSAL)


def _credentials_kind(value: Any) -> str:
    return "<ref>" if isinstance(value, dict | SecretRef) else "<path>"


Credentials = Annotated[
    Annotated[Path, Tag("<path>")] | Annotated[SecretRef, Tag("<ref>")],
    Discriminator(_credentials_kind),
]


class TableConfig(_Model):
    """Where one CRM table lives in the workbook."""

    sheet: str = Field(
        min_length=1,
        description="Name of the sheet (tab) holding the table.",
        examples=["Customers"],
    )
    header_row: int | None = Field(
        default=None,
        ge=1,
        description="Row number of the header row; not set means the first non-empty row.",
        examples=[1],
    )
    id_column: str = Field(
        min_length=1,
        description="Header of the column holding each row's unique id.",
        examples=["customer_id"],
    )


class SafetyConfig(_Model):
    """How sheetcrm protects the workbook when it writes."""

    backups: int = Field(
        default=10,
        ge=0,
        description="Rotated backups kept in .sheetcrm/backups before each write (0 keeps none).",
    )
    lock_timeout: float = Field(
        default=0.0,
        ge=0,
        description="Seconds to wait for another sheetcrm run that is writing the workbook (0 fails at once).",
    )


class GoogleConfig(_Model):
    """Access to Google Sheets."""

    credentials: Credentials | None = Field(
        default=None,
        description=(
            "Service-account key: a path to the JSON key file (relative to the config file's folder), "
            'or { env = "NAME" } naming a variable that holds the path or the key.'
        ),
        examples=["service-account.json"],
    )
    endpoint: str | None = Field(
        default=None,
        description="Sheets API endpoint; not set means Google's. Useful for a test double.",
        examples=["http://localhost:8080"],
    )
    retry_attempts: int = Field(
        default=6,
        ge=1,
        le=20,
        description="Tries of one API call when Google answers 429 (quota) or 5xx, or the connection fails.",
    )
    retry_seconds: float = Field(
        default=100.0,
        gt=0,
        description="Longest time spent on one API call, its retries and their waits included.",
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for Google's answer to one call.")

    @field_validator("credentials", mode="before")
    @classmethod
    def _no_inline_key(cls, value: Any) -> Any:
        if isinstance(value, str) and ("{" in value or "PRIVATE KEY" in value):
            raise PydanticCustomError("literal_secret", _LITERAL_REFUSAL)
        if isinstance(value, str) and not value.strip():
            raise PydanticCustomError("empty", "the path is empty")
        return value

    @field_validator("credentials")
    @classmethod
    def _resolve_credentials(cls, value: SecretRef | Path | None, info: ValidationInfo) -> SecretRef | Path | None:
        return _resolve_path(value, _base_dir(info)) if isinstance(value, Path) else value


class SmtpConfig(_Model):
    """The mail server reminders and reports are sent through."""

    host: str | None = Field(default=None, description="SMTP server host name.", examples=["smtp.example.com"])
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    username: str | None = Field(
        default=None, description="User name to log in with; not set means no login.", examples=["crm@example.com"]
    )
    password: SecretRef | None = Field(
        default=None,
        description='Password, as a reference: { env = "NAME" } or { file = "path" }, never the password itself.',
        examples=[{"env": "SMTP_PASSWORD"}],
    )
    sender: str | None = Field(
        default=None, description="From address of the mails sheetcrm sends.", examples=["CRM <crm@example.com>"]
    )
    starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS before logging in.")
    ssl: bool = Field(
        default=False,
        description="Speak TLS from the start (implicit TLS, usually port 465); starttls is then not used.",
    )
    ca_file: Path | None = Field(
        default=None,
        description=(
            "PEM file of the certificate authority a private mail server's certificate is checked against "
            "(relative to the config file's folder); not set uses the system's."
        ),
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the mail server before giving up.")
    max_per_minute: int = Field(
        default=30, ge=0, description="The most mails sent per minute (mail servers block bursts); 0 is no limit."
    )

    @field_validator("password", mode="before")
    @classmethod
    def _no_literal_password(cls, value: Any) -> Any:
        return _refuse_literal_secret(value)

    @field_validator("ca_file")
    @classmethod
    def _resolve_ca_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve_path(value, _base_dir(info))

    @property
    def security(self) -> Literal["ssl", "starttls", "none"]:
        """How the connection is secured: implicit TLS, STARTTLS, or not at all."""
        return "ssl" if self.ssl else "starttls" if self.starttls else "none"


PhoneFormat = Literal["e164", "national"]


def _known_region(code: str) -> bool:
    import phonenumbers  # loaded only when a region is given, not by every command's start

    return bool(phonenumbers.country_code_for_region(code))


FieldKind = Literal["name", "company", "phone", "email", "address", "city", "postcode", "date", "id", "text"]
SurvivorshipRule = Literal["master", "most_recent", "most_complete", "longest", "oldest", "union", "join"]


class MustNotMatchConfig(_Model):
    """Two records never match when these fields are both filled in and differ, unless one of ``unless`` agrees."""

    fields: list[str] = Field(description='The fields that must not disagree, e.g. ["email", "company"].')
    unless: list[str] = Field(default_factory=list, description="Fields whose exact agreement lifts the rule.")
    below: float = Field(default=0.8, ge=0, le=1, description="How similar two values may be and still disagree.")


class DedupeConfig(_Model):
    """How ``sheetcrm dedupe`` and ``sheetcrm find`` match customers, and how merged customers keep values.

    Each identifying field adds evidence for or against a match; a pair scores 0 to 1. Pairs at or
    above ``merge_threshold`` are merged; those from ``review_threshold`` up are listed on the
    _review sheet for a person to decide.
    """

    fields: dict[str, FieldKind] | None = Field(
        default=None,
        description=(
            "The identifying fields and their kinds (name, company, phone, email, address, city, postcode, "
            "date, id, text); not set: name, company, phone, email, address, city, postcode, birthday."
        ),
        examples=[{"name": "name", "phone": "phone", "email": "email"}],
    )
    custom_fields: dict[str, FieldKind] = Field(
        default_factory=dict,
        description="More identifying fields, such as a team's own columns; a field of kind id also blocks.",
        examples=[{"national_id": "id"}],
    )
    merge_threshold: float = Field(default=0.97, ge=0, le=1, description="Score from which a pair is merged.")
    review_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Score from which a pair is listed for review."
    )
    default_region: str = Field(default="CN", description="Country of phone numbers written without a country code.")
    fold_gmail: bool = Field(default=True, description="Gmail addresses match without their dots.")
    fold_tags: bool = Field(default=True, description="Addresses match without a +tag (name+crm@example.com).")
    max_cluster_size: int = Field(default=12, ge=2, description="The most records merged into one.")
    must_not_match: list[MustNotMatchConfig] | None = Field(
        default=None,
        description=(
            "Rules that keep records apart; not set: different emails at different companies, and birthdays "
            "that differ by more than a typo unless the email or an id agrees."
        ),
    )
    survivorship: dict[str, SurvivorshipRule] = Field(
        default_factory=dict,
        description=(
            "Which value a merged customer keeps, per field: master (the most recently touched record), "
            "most_recent, most_complete, longest, oldest, union (tags) or join (notes). Defaults: customer_id "
            "and created_at oldest, tags union, notes join, every other field master; an empty value never wins."
        ),
        examples=[{"owner": "oldest", "notes": "join"}],
    )

    def match_settings(self) -> dict[str, Any]:
        """The settings for :meth:`sheetcrm.dedupe.MatchConfig.from_settings`: those set, not survivorship."""
        return self.model_dump(exclude_unset=True, exclude={"survivorship"})


class StaleConfig(_Model):
    """When a customer or an open deal is stale (``sheetcrm stale``, and the reminders about them)."""

    cadence: dict[str, int] = Field(
        default_factory=lambda: {"VIP": 30, "Key": 60, "Standard": 90},
        description=(
            "Days between reviews of a customer, per tier (the tier field's choices; synonyms match). "
            "A customer last touched longer ago is stale."
        ),
    )
    default_days: int = Field(default=90, ge=1, description="Review cadence of customers with a blank or unknown tier.")
    opportunity_cadence: dict[str, int] | None = Field(
        default=None,
        description=(
            "Days an open deal may go without an update, per tier of its customer; not set uses the customers' cadence."
        ),
        examples=[{"VIP": 14, "Key": 30, "Standard": 45}],
    )
    column: str = Field(default="stale", description="Header of the column the reason is written into.")

    @field_validator("cadence", "opportunity_cadence")
    @classmethod
    def _positive_days(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for tier, days in (value or {}).items():
            if days < 1:
                raise PydanticCustomError("cadence", "{tier}: a cadence is at least 1 day", {"tier": tier})
        return value


class TagRuleConfig(_Model):
    """A tag given to the customers whose figure passes a test: spend at least 10000 is "high value"."""

    tag: str = Field(description="The tag written.", examples=["high value"])
    field: str = Field(
        description=(
            "The figure tested: order_count, total_spent, first_order, last_order, avg_order_value, "
            "days_since_last_order."
        ),
        examples=["total_spent"],
    )
    op: Literal[">=", ">", "<=", "<", "==", "!="] = Field(description="How the figure is compared.")
    value: int | float | str = Field(
        description="What it is compared with: a number, or text (ISO dates compare as text)."
    )


class RollupsConfig(_Model):
    """Order figures per customer (``sheetcrm rollups``)."""

    columns: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Headers to write figures under instead of their names: order_count, total_spent, first_order, "
            "last_order, avg_order_value (total_spent_USD … with several currencies)."
        ),
        examples=[{"order_count": "订单数", "total_spent": "累计消费"}],
    )


class SegmentsConfig(_Model):
    """Lifecycle stages, RFM segments and rule-based tags (``sheetcrm segment``)."""

    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Headers to write under instead of lifecycle, rfm_r, rfm_f, rfm_m, rfm_segment and tags_auto.",
        examples=[{"lifecycle": "生命周期", "rfm_segment": "RFM 分群"}],
    )

    new_days: int = Field(default=90, ge=0, description="A customer whose first order is this recent is new.")
    loyal_orders: int = Field(default=3, ge=1, description="Orders from which a recent customer is loyal.")
    active_days: int = Field(default=180, ge=0, description="A customer whose last order is this recent is active.")
    dormant_days: int = Field(default=365, ge=0, description="No order for longer than this: dormant.")
    churned_days: int = Field(default=730, ge=0, description="No order for longer than this: churned.")
    tags: list[TagRuleConfig] = Field(
        default_factory=list,
        description="Rules that tag customers, written into the tags_auto column (the team's own tags stay theirs).",
        examples=[[{"tag": "high value", "field": "total_spent", "op": ">=", "value": 10000}]],
    )
    rates: dict[str, float] | None = Field(
        default=None,
        description=(
            "Exchange rates to one unit, per currency, so that RFM's monetary score compares spend across "
            "currencies; not set scores each currency's customers among themselves."
        ),
        examples=[{"CNY": 1.0, "USD": 7.1, "EUR": 7.7}],
    )

    @model_validator(mode="after")
    def _ordered(self) -> SegmentsConfig:
        if not self.active_days <= self.dormant_days <= self.churned_days:
            raise PydanticCustomError(
                "lifecycle_order",
                "need active_days <= dormant_days <= churned_days, got {a}, {d}, {c}",
                {"a": self.active_days, "d": self.dormant_days, "c": self.churned_days},
            )
        return self


class PipelineConfig(_Model):
    """How orders move through their statuses (``sheetcrm pipeline``)."""

    statuses: list[str] = Field(
        default_factory=lambda: ["received", "confirmed", "processing", "shipped", "completed"],
        description="The statuses an order moves through, in order (choices of the orders' status field).",
    )
    exits: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "cancelled": ["received", "confirmed", "processing"],
            "returned": ["shipped", "completed"],
        },
        description="Statuses outside the line, and the statuses an order may reach them from.",
    )
    ship_within_days: int = Field(
        default=3, ge=0, description="A confirmed or processing order not shipped after this many days is overdue."
    )
    deliver_within_days: int = Field(
        default=7, ge=0, description="A shipped order not completed after this many days is overdue."
    )
    column: str = Field(default="pipeline", description="Header of the column the pipeline's flags are written into.")
    shipped_status: str = Field(default="shipped", description="Moving to this status fills an empty shipped_at.")
    delivered_status: str = Field(default="completed", description="Moving to this status fills an empty delivered_at.")

    @model_validator(mode="after")
    def _known_statuses(self) -> PipelineConfig:
        known = set(self.statuses) | set(self.exits)
        if len(set(self.statuses)) != len(self.statuses):
            raise PydanticCustomError("statuses", "a status is listed twice in statuses")
        for exit_status, sources in self.exits.items():
            if exit_status in self.statuses:
                raise PydanticCustomError("exits", "{s} is both in statuses and in exits", {"s": exit_status})
            for source in sources:
                if source not in known:
                    raise PydanticCustomError(
                        "exits", "exits.{e}: unknown status {s}", {"e": exit_status, "s": json.dumps(source)}
                    )
        for name in (self.shipped_status, self.delivered_status):
            if name not in known:
                raise PydanticCustomError("status", "unknown status {s}", {"s": json.dumps(name)})
        return self


ReminderChannel = Literal["smtp", "outbox", "sheet", "stdout"]
ReminderKind = Literal["stale-customer", "follow-up", "overdue-order", "stale-opportunity", "birthday", "anniversary"]


def _default_occasions() -> dict[str, Literal["birthday", "anniversary"]]:
    return {"birthday": "birthday", "anniversary": "anniversary"}


class RemindersConfig(_Model):
    """Who is reminded of what, and how (``sheetcrm remind``)."""

    channels: list[ReminderChannel] | None = Field(
        default=None,
        description=(
            "Where reminders go: smtp (one mail per owner), outbox (the same mails as .eml files in a folder), "
            "sheet (rows of the _reminders sheet, with a done column), stdout. "
            "Not set: sheet, plus smtp when [smtp] host is set, else outbox."
        ),
        examples=[["smtp", "sheet"]],
    )
    kinds: list[ReminderKind] = Field(
        default_factory=lambda: list(get_args(ReminderKind)),
        description="What owners are reminded of.",
    )
    language: Literal["en", "zh"] = Field(default="en", description="Language of the shipped mail templates.")
    templates: Path | None = Field(
        default=None,
        description=(
            "A folder of the team's own templates (subject.j2, digest.txt.j2, digest.html.j2; Jinja2), "
            "used in place of the shipped ones of the same name; relative to the config file's folder."
        ),
        examples=["mail-templates"],
    )
    outbox: Path | None = Field(
        default=None,
        description=(
            "Folder the outbox channel writes .eml files into (relative to the config file's folder); "
            "not set: outbox/ beside the workbook."
        ),
        examples=["outbox"],
    )
    fallback_recipient: str | None = Field(
        default=None,
        description="Who gets the reminders of records without an owner_email; not set leaves them out (counted).",
        examples=["sales-lead@example.com"],
    )
    owners: dict[str, str] = Field(
        default_factory=dict,
        description="Email of each owner by the name in the owner column, for rows without an owner_email.",
        examples=[{"Li Wei": "li.wei@example.com"}],
    )
    occasions: dict[str, Literal["birthday", "anniversary"]] = Field(
        default_factory=_default_occasions,
        description=(
            "Customer date fields whose yearly return is reminded, and as what; fields the sheet lacks are skipped."
        ),
        examples=[{"birthday": "birthday", "created_at": "anniversary"}],
    )
    days_ahead: int = Field(
        default=7, ge=0, description="How many days before a birthday or anniversary its reminder is due."
    )
    repeat_days: int = Field(
        default=0,
        ge=0,
        description="Remind again every this many days while a reminder is still due and not done; 0 reminds once.",
    )
    keep_done_days: int = Field(
        default=30, ge=0, description="Days a done or resolved row stays on the _reminders sheet."
    )
    sheet: str = Field(default="_reminders", description="Name of the sheet the sheet channel writes.")

    @field_validator("templates", "outbox")
    @classmethod
    def _resolve_folder(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve_path(value, _base_dir(info))


class ReportValueConfig(_Model):
    """One aggregated column of a custom report: ``{ field = "amount", agg = "sum" }``."""

    field: str = Field(description='A field of the source table, or "*" to count rows.', examples=["amount"])
    agg: Literal["sum", "count", "mean", "nunique", "min", "max"] = Field(
        default="sum", description="How to aggregate."
    )
    label: str | None = Field(default=None, description="The column header; default e.g. 'sum of amount'.")
    format: Literal["text", "integer", "number", "currency", "percent", "date"] | None = Field(
        default=None, description="How the numbers are shown; default from the field's type."
    )


class ReportFilterConfig(_Model):
    """Keep the rows where ``field op value`` holds: ``{ field = "status", op = "!=", value = "cancelled" }``."""

    field: str = Field(description="A field of the source table.")
    op: Literal["==", "!=", "in", "not in", ">=", ">", "<=", "<", "blank", "not blank"] = Field(
        default="==", description="The comparison."
    )
    value: Any = Field(default=None, description="What the field is compared with (a list for in / not in).")


class CustomReportConfig(_Model):
    """A team's own pivot report, ``[reports.custom.NAME]``, written like the built-ins."""

    title: str = Field(description="The report's title (and, shortened, its sheet's name).")
    source: str = Field(description="The table: customers, orders, interactions, opportunities or a custom table.")
    rows: list[str] = Field(default_factory=list, description="Fields to group rows by.")
    columns: list[str] = Field(default_factory=list, description="A field whose values become columns.")
    values: list[ReportValueConfig] = Field(
        default_factory=lambda: [ReportValueConfig(field="*", agg="count")],
        description="The aggregated columns (default: a count of rows).",
    )
    filters: list[ReportFilterConfig] = Field(default_factory=list, description="Rows to keep, before grouping.")
    time_grain: Literal["day", "week", "month", "quarter", "year"] | None = Field(
        default=None, description="How dates among rows and columns are grouped (default month)."
    )
    top: int | None = Field(default=None, ge=1, description="Keep the first N rows after sorting.")
    sort: Literal["rows", "value", "-value"] = Field(
        default="rows", description="By the row labels, or by the first value (-value: largest first)."
    )
    totals: bool = Field(default=True, description="Add a totals row.")
    percent: Literal["row", "column", "total"] | None = Field(default=None, description="Add shares of this total.")
    chart: Literal["column", "stacked-column", "bar", "stacked-bar", "line", "pie"] | None = Field(
        default="column", description="The native chart drawn beside the table; not set: none."
    )
    description: str = Field(default="", description="One line for the index sheet.")


class ReportsConfig(_Model):
    """Reports (``sheetcrm report``): the team's own, beside the built-ins."""

    custom: dict[str, CustomReportConfig] = Field(
        default_factory=dict,
        description="The team's own reports by name, e.g. [reports.custom.revenue_by_city].",
    )


StepName = Literal["tidy", "fix", "dedupe", "rollups", "segment", "stale", "pipeline", "remind", "report", "validate"]


class JobConfig(_Model):
    """A job: steps run in order by ``sheetcrm run NAME`` or on ``schedule`` by ``sheetcrm schedule``."""

    steps: list[StepName] = Field(
        description="The steps, in order.", examples=[["fix", "dedupe", "rollups", "segment", "stale", "report"]]
    )
    schedule: str | None = Field(
        default=None,
        description=(
            "When sheetcrm schedule runs it: every N minutes or hours, every day at HH:MM, "
            "every monday at HH:MM, every weekday at HH:MM."
        ),
        examples=["every day at 02:00"],
    )
    timezone: str | None = Field(
        default=None,
        description="IANA time zone of the schedule's times; not set: the top-level timezone.",
        examples=["Asia/Shanghai"],
    )
    options: dict[StepName, dict[str, Any]] = Field(
        default_factory=dict,
        description='Options per step, e.g. [jobs.nightly.options.remind] channels = ["smtp"].',
    )
    log_sheet: bool = Field(
        default=False, description="Keep a _sheetcrm_log sheet in the workbook with the job's last runs."
    )

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str | None) -> str | None:
        if value is not None:
            from sheetcrm.automation.when import parse_schedule

            try:
                parse_schedule(value)
            except ValueError as error:
                raise PydanticCustomError("schedule", "{why}", {"why": str(error)}) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _check_job_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise PydanticCustomError("timezone", "unknown time zone {zone}", {"zone": json.dumps(value)}) from None
        return value

    @model_validator(mode="after")
    def _known_options(self) -> JobConfig:
        from sheetcrm.automation.steps import STEPS

        for step, given in self.options.items():
            unknown = sorted(set(given) - STEPS[step].options)
            if unknown:
                allowed = ", ".join(sorted(STEPS[step].options)) or "none"
                raise PydanticCustomError(
                    "step_options",
                    "options.{step}: unknown option {names} (it takes: {allowed})",
                    {"step": step, "names": ", ".join(unknown), "allowed": allowed},
                )
        return self


class FixConfig(_Model):
    """How ``sheetcrm fix``, ``import`` and ``validate`` read values that only a setting makes certain.

    A job's own arguments win over these (``fix(workbook, day_first=False)``, ``--region US``).
    """

    phone_format: PhoneFormat = Field(
        default="e164",
        description=(
            "How phone numbers are written: e164 (+8613800138000), or national (the national format of "
            "default_region, numbers of other countries international)."
        ),
    )
    default_region: str = Field(
        default="CN",
        description=(
            "Two-letter country of phone numbers written without a country code, e.g. CN or US; "
            "numbers not written like that country's stay as they are and are reported."
        ),
    )
    day_first: bool | None = Field(
        default=None,
        description=(
            "How to read dates such as 5/3/2024: true is day first (5 March), false month first (3 May); "
            "not set leaves them as they are, reported by validate."
        ),
        examples=[True],
    )

    @field_validator("default_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha() or not _known_region(code):
            raise PydanticCustomError(
                "region",
                "unknown country {region}",
                {"region": json.dumps(value), "hint": "use a two-letter country code such as CN, US or DE"},
            )
        return code

    def override(
        self,
        *,
        phone_format: str | None = None,
        default_region: str | None = None,
        day_first: bool | None = None,
    ) -> FixConfig:
        """These settings with a caller's own values in place of the config's; ``None`` keeps the config's.

        A bad value given by the caller is an InputError (a bad value in the file is a ConfigError)::

            >>> load_config().fix.override(default_region="us").default_region
            'US'
        """
        changes: dict[str, Any] = {}
        if phone_format is not None:
            if phone_format not in get_args(PhoneFormat):
                raise InputError(f"unknown phone format {phone_format!r}", hint="use e164 or national")
            changes["phone_format"] = phone_format
        if default_region is not None:
            code = default_region.strip().upper()
            if len(code) != 2 or not code.isalpha() or not _known_region(code):
                raise InputError(
                    f"unknown phone region {default_region!r}", hint="use a two-letter country code such as CN or US"
                )
            changes["default_region"] = code
        if day_first is not None:
            changes["day_first"] = day_first
        return self.model_copy(update=changes) if changes else self


def _default_tables() -> dict[str, TableConfig]:
    return {name: TableConfig(sheet=sheet, id_column=id_column) for name, (sheet, id_column) in STANDARD_TABLES.items()}


class Config(_Model):
    """The whole of ``sheetcrm.toml``, defaults filled in.

    Two configs are equal when their settings are; ``path`` (where it was read from) does not count.
    """

    path: Path | None = Field(default=None, exclude=True, description="The file this config was loaded from.")
    workbook: str | None = Field(
        default=None,
        description=(
            "The workbook: a path to an .xlsx file (relative to the config file's folder), "
            "or a Google Sheet as gsheets://KEY or https://docs.google.com/spreadsheets/d/KEY."
        ),
        examples=["crm.xlsx"],
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone of dates and times written without one, e.g. Europe/Berlin or Asia/Shanghai.",
    )
    tables: dict[str, TableConfig] = Field(
        default_factory=_default_tables,
        description=(
            "Where each table lives. customers, orders, interactions and opportunities always exist; "
            "another name adds a custom table, which needs an explicit sheet."
        ),
    )
    safety: SafetyConfig = Field(default_factory=SafetyConfig, description="Backups and locking when writing.")
    google: GoogleConfig = Field(default_factory=GoogleConfig, description="Google Sheets access.")
    smtp: SmtpConfig = Field(default_factory=SmtpConfig, description="Mail server for reminders and reports.")
    fix: FixConfig = Field(
        default_factory=FixConfig,
        description=(
            "How fix, import and validate read phones without a country code and dates such as 5/3/2024. "
            "Other spellings of a choice are the field's synonyms, in [schema.<table>.fields.<field>]."
        ),
    )
    dedupe: DedupeConfig = Field(
        default_factory=DedupeConfig,
        description="How duplicate customers are found and merged (sheetcrm dedupe, sheetcrm find).",
    )
    rollups: RollupsConfig = Field(
        default_factory=RollupsConfig, description="Order figures per customer (sheetcrm rollups)."
    )
    stale: StaleConfig = Field(
        default_factory=StaleConfig, description="When a customer or an open deal is stale (sheetcrm stale)."
    )
    segments: SegmentsConfig = Field(
        default_factory=SegmentsConfig, description="Lifecycle stages, RFM segments and tags (sheetcrm segment)."
    )
    pipeline: PipelineConfig = Field(
        default_factory=PipelineConfig, description="How orders move through their statuses (sheetcrm pipeline)."
    )
    reminders: RemindersConfig = Field(
        default_factory=RemindersConfig, description="Who is reminded of what, and how (sheetcrm remind)."
    )
    reports: ReportsConfig = Field(
        default_factory=ReportsConfig,
        description="Reports: the team's own pivots beside the built-ins (sheetcrm report).",
    )
    jobs: dict[str, JobConfig] = Field(
        default_factory=dict,
        description="Jobs by name, [jobs.nightly]: steps run by sheetcrm run NAME, or on a schedule.",
    )
    schema_: dict[str, SchemaConfig] = Field(
        default_factory=dict,
        alias="schema",
        description=(
            "Per table, changes to its built-in fields and the team's own (custom) fields: "
            "[schema.customers.fields.phone] required = true. Where a table lives stays in [tables]."
        ),
    )

    def report_specs(self) -> dict[str, Any]:
        """``[reports.custom]`` as :class:`~sheetcrm.reports.model.ReportSpec` objects, by name."""
        from sheetcrm.reports.model import Filter, ReportSpec, Value

        return {
            name: ReportSpec(
                name,
                report.title,
                report.source,
                rows=tuple(report.rows),
                columns=tuple(report.columns),
                values=tuple(Value(v.field, v.agg, v.label, v.format) for v in report.values),
                filters=tuple(Filter(f.field, f.op, f.value) for f in report.filters),
                time_grain=report.time_grain,
                top=report.top,
                sort=report.sort,
                totals=report.totals,
                percent=report.percent,
                chart=report.chart,
                description=report.description,
            )
            for name, report in self.reports.custom.items()
        }

    @field_validator("workbook")
    @classmethod
    def _resolve_workbook(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or _URL.match(value):
            return value
        if not value.strip():
            raise PydanticCustomError("empty", "the workbook path is empty")
        return str(_resolve_path(Path(value), _base_dir(info)))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (KeyError, ValueError, OSError):
            known = {name.lower(): name for name in zoneinfo.available_timezones()}
            close = difflib.get_close_matches(value.lower(), list(known), n=1, cutoff=0.6)
            hint = f"did you mean {known[close[0]]!r}? " if close else ""
            raise PydanticCustomError(
                "timezone",
                "unknown time zone {zone}",
                {"zone": json.dumps(value), "hint": hint + "use an IANA name such as Europe/Berlin or Asia/Shanghai"},
            ) from None
        return value

    @field_validator("tables", mode="before")
    @classmethod
    def _fill_tables(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # pydantic reports the wrong type
        filled: dict[str, Any] = {}
        for name, (sheet, id_column) in STANDARD_TABLES.items():
            given = value.get(name, {})
            filled[name] = {"sheet": sheet, "id_column": id_column, **given} if isinstance(given, dict) else given
        for name, given in value.items():
            if name not in STANDARD_TABLES:
                filled[name] = {"id_column": CUSTOM_TABLE_ID_COLUMN, **given} if isinstance(given, dict) else given
        return filled

    @model_validator(mode="after")
    def _label_secrets(self, info: ValidationInfo) -> Config:
        """Tell every secret reference its key and file, so resolve_secret can name them."""
        context = info.context if isinstance(info.context, dict) else {}
        source = context.get("source")
        for key, ref in _secret_refs(self):
            ref._key = key
            ref._source = source
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]


def _secret_refs(model: BaseModel, prefix: str = "") -> list[tuple[str, SecretRef]]:
    found: list[tuple[str, SecretRef]] = []
    for name, field in type(model).model_fields.items():
        key = f"{prefix}{field.alias or name}"
        value = getattr(model, name)
        if isinstance(value, SecretRef):
            found.append((key, value))
        elif isinstance(value, BaseModel):
            found.extend(_secret_refs(value, key + "."))
        elif isinstance(value, dict):
            for item_key, item in value.items():
                if isinstance(item, BaseModel):
                    found.extend(_secret_refs(item, f"{key}.{_toml_key(str(item_key))}."))
    return found


# --------------------------------------------------------------------------- loading


def load_config(path: str | Path | None = None, *, required: bool = False) -> Config:
    """Read and check a config file; with no path, ``./sheetcrm.toml`` if it exists, else the defaults.

    A missing file gives the defaults unless ``required`` (pass it when the user named the file)::

        >>> config = load_config("sheetcrm.toml", required=True)
        >>> config.tables["customers"].sheet
        'Customers'
    """
    if path is None:
        file = Path(CONFIG_FILENAME)
        source = CONFIG_FILENAME
    else:
        file = Path(path)
        source = str(path)
    if not file.exists():
        if required:
            where = "in the current folder" if path is None else "there"
            raise ConfigError(
                f"{source}: config file not found {where}",
                hint="run `sheetcrm init` to write one for your workbook, or `sheetcrm demo` to try sheetcrm "
                "on a sample; or pass --config PATH",
            )
        return default_config()
    try:
        raw = file.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the config file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{source}: line {line}: the config file is not UTF-8 text", hint="save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(source, str(exc)) from None
    return _validate(data, source=source, base=file.resolve().parent, path=file.resolve())


def _syntax_error(source: str, message: str) -> ConfigError:
    position = _TOML_POSITION.search(message)
    reason = message[: position.start()] if position else message
    where = ""
    if position and position.group(1):
        where = f"line {position.group(1)}, column {position.group(2)}: "
    elif position:
        where = "end of file: "
    return ConfigError(
        f"{source}: {where}invalid TOML: {reason}",
        hint='check the quotes, brackets and "key = value" pairs there; text needs double quotes, '
        'as in workbook = "crm.xlsx" (https://toml.io)',
    )


def _validate(data: dict[str, Any], *, source: str, base: Path, path: Path | None) -> Config:
    problems: list[tuple[str, str, str | None]] = []
    if "path" in data:  # a field of the model, but not a key of the file
        data = {key: value for key, value in data.items() if key != "path"}
        problems.append(("path", "unknown key", _unknown_key_hint(("path",))))
    try:
        config = Config.model_validate(data, context={"base": base, "source": source})
    except ValidationError as exc:
        problems.extend(_describe_error(error) for error in exc.errors(include_url=False))
    else:
        problems.extend(schema_problems(config))  # what needs the built-in tables to judge
    if problems:
        raise _config_error(source, problems)
    config.path = path
    return config


def _config_error(source: str, problems: list[tuple[str, str, str | None]]) -> ConfigError:
    shown = problems[:5]
    message = f"{source}: " + "; ".join(f"{key}: {problem}" for key, problem, _ in shown)
    if len(problems) > len(shown):
        message += f"; and {len(problems) - len(shown)} more"
    hints = [f"{key}: {hint}" if len(shown) > 1 else hint for key, _, hint in shown if hint]
    return ConfigError(message, hint="; ".join(hints) or None)


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "dict": "a table",
    "model": "a table",
    "model_attributes": "a table",
    "path": "a path (a string)",
    "list": "an array",
}


def _describe_error(error: Any) -> tuple[str, str, str | None]:
    """(dotted key, problem, hint) of one pydantic error, never showing a secret's value."""
    loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith(_TAG_PREFIX)))
    key = _dotted(loc) or "(top level)"
    kind: str = error["type"]
    context = error.get("ctx") or {}
    base_kind = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_from_float")
    if kind == "extra_forbidden":
        return key, "unknown key", _unknown_key_hint(loc)
    if kind == "missing":
        hint = None
        if len(loc) == 3 and loc[0] == "tables" and loc[2] == "sheet":
            close = difflib.get_close_matches(str(loc[1]), list(STANDARD_TABLES), n=1, cutoff=0.6)
            hint = f"did you mean [tables.{close[0]}]? " if close else ""
            hint += "a custom table needs the name of its sheet: sheet = ..."
        return key, "missing (this key is required)", hint
    if kind in ("literal_secret", "secret_ref", "env_name", "timezone", "region", "empty") or kind in _RULE_KINDS:
        hint = context.get("hint")
        if kind == "literal_secret":
            env = re.sub(r"[^A-Z0-9_]", "_", "_".join(str(part) for part in loc[-2:]).upper())
            hint = (
                f"put the secret in an environment variable (export {env}=...) and write "
                f'{loc[-1]} = {{ env = "{env}" }}, or in a file kept out of version control and write '
                f'{loc[-1]} = {{ file = "secrets/{loc[-1]}.txt" }}'
            )
        return key, str(error["msg"]), hint
    got = f", got {_show(error['input'])}"
    if base_kind in _TYPE_WORDS and kind != base_kind:
        return key, f"expected {_TYPE_WORDS[base_kind]}{got}", None
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Input should be ")
    if str(error["msg"]).startswith("Input should be "):
        message = "should be " + message
    return key, message[:1].lower() + message[1:] + got, None


# Errors of the jobs' own rules (not types): their message says it all, the input is not repeated.
_RULE_KINDS = frozenset({"schedule", "step_options", "cadence", "lifecycle_order", "statuses", "exits", "status"})


def _show(value: Any) -> str:
    """A config value as it would be written in TOML, shortened."""
    if isinstance(value, str):
        text = json.dumps(value if len(value) <= 40 else value[:37] + "...", ensure_ascii=False)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "an array"
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = str(value)
    return text


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(_toml_key(str(part)))
    return ".".join(parts)


@dataclasses.dataclass(frozen=True)
class _DictOf:
    value: Any


def _unwrap(annotation: Any) -> Any:
    """The model (or dict of models) a field's annotation holds, if any."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is dict:
        return _DictOf(_unwrap(get_args(annotation)[1]))
    if origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            inner = _unwrap(arg)
            if inner is not None:
                return inner
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _keys_of(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {field.alias or name: field for name, field in model.model_fields.items() if not field.exclude}


def _unknown_key_hint(loc: tuple[Any, ...]) -> str | None:
    current: Any = Config
    for part in loc[:-1]:
        if isinstance(current, _DictOf):
            current = current.value
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = _keys_of(current).get(str(part))
        if field is None:
            return None
        current = _unwrap(field.annotation)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return None
    valid = list(_keys_of(current))
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
    where = f"in [{_dotted(loc[:-1])}]" if len(loc) > 1 else "at the top level"
    if current is SecretRef:
        where = f"in {_dotted(loc[:-1])}"
    return (f"did you mean {close[0]!r}? " if close else "") + f"valid keys {where}: {', '.join(valid)}"


def default_config(workbook: str | None = None) -> Config:
    """The configuration used when there is no file: every default, and the workbook if given.

    A relative workbook path is made absolute against the working directory::

        >>> default_config("crm.xlsx").tables["orders"].id_column
        'order_id'
    """
    return Config(workbook=workbook)


# --------------------------------------------------------------------------- secrets


def resolve_secret(ref: SecretRef) -> str:
    """Read a secret now, from its environment variable or file.

    Raises ConfigError naming the key (``smtp.password``) and the variable or file, never the value::

        >>> resolve_secret(config.smtp.password)   # with SMTP_PASSWORD set
        'hunter2'
    """
    where = f"{ref._source}: " if ref._source else ""
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise ConfigError(
                f"{where}{ref._key}: environment variable {ref.env} is not set",
                hint=f"set it before running sheetcrm (export {ref.env}=...), "
                'or read the secret from a file: { file = "path" }',
            )
        if not value:
            raise ConfigError(
                f"{where}{ref._key}: environment variable {ref.env} is empty", hint=f"give {ref.env} the secret"
            )
        return value
    assert ref.file is not None  # a SecretRef holds exactly one of env, file
    try:
        value = ref.file.read_text(encoding="utf-8-sig").rstrip("\r\n")
    except FileNotFoundError:
        raise ConfigError(
            f"{where}{ref._key}: the secret file {ref.file} does not exist",
            hint="create it holding just the secret, or point the config at the right file",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}{ref._key}: the secret file {ref.file} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{where}{ref._key}: cannot read the secret file {ref.file}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{where}{ref._key}: the secret file {ref.file} is empty")
    return value


# --------------------------------------------------------------------------- rendering


def render_config(config: Config, *, fmt: Literal["toml", "json"] = "toml") -> str:
    """The effective config, defaults included, as TOML (help lines as comments) or JSON.

    Secrets appear as their references (``{ env = "SMTP_PASSWORD" }``), never their values::

        >>> print(render_config(load_config()))      # what `sheetcrm config show` prints
    """
    if fmt == "json":
        return json.dumps(config.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"
    if fmt == "toml":
        return _render_toml(config, relative_to=None)
    raise ValueError(f"unknown format {fmt!r}: use 'toml' or 'json'")


def write_config(path: Path, config: Config) -> None:
    """Write a commented ``sheetcrm.toml`` that loads back equal to ``config``.

    Paths inside the config file's folder are written relative to it, so the folder can move::

        >>> write_config(Path("sheetcrm.toml"), default_config("crm.xlsx"))
    """
    path = Path(path)
    text = _render_toml(config, relative_to=path.parent.resolve())

    def write(temp: Path) -> None:
        with temp.open("x", encoding="utf-8", newline="\n") as stream:
            stream.write(text)

    replace_atomically(path, write)


_HEADER = """\
# sheetcrm configuration. Every key is optional: a key left out takes its default.
# Reference: docs/config.md. Check what sheetcrm uses with `sheetcrm config show`.
# Secrets are never written here: write { env = "NAME" } or { file = "path" } instead.
"""


def _render_toml(config: Config, *, relative_to: Path | None) -> str:
    lines: list[str] = _HEADER.splitlines()
    sections: list[tuple[str, FieldInfo, Any]] = []
    lines.append("")
    for key, field in _keys_of(Config).items():
        value = getattr(config, _attribute(Config, key))
        if isinstance(value, BaseModel | dict):
            sections.append((key, field, value))
        else:
            _emit_key(lines, key, field, value, relative_to)
    for key, field, value in sections:
        lines.append("")
        _comment(lines, field.description)
        if isinstance(value, BaseModel):
            _emit_model(lines, [key], value, relative_to)
        elif key in ("tables", "jobs"):
            for position, (name, table) in enumerate(value.items()):
                if position:
                    lines.append("")
                _emit_model(lines, [key, name], table, relative_to)
        elif key == "schema" and value:
            _emit_schema(lines, value)
        else:
            _emit_table(lines, [key], value)
    return "\n".join(lines).rstrip("\n") + "\n"


def _attribute(model: type[BaseModel], key: str) -> str:
    for name, field in model.model_fields.items():
        if (field.alias or name) == key:
            return name
    raise KeyError(key)


def _comment(lines: list[str], text: str | None) -> None:
    if text:
        lines.extend(textwrap.wrap(text, width=100, initial_indent="# ", subsequent_indent="# "))


def _emit_model(lines: list[str], header: list[str], model: BaseModel, relative_to: Path | None) -> None:
    lines.append(f"[{'.'.join(_toml_key(part) for part in header)}]")
    tables: list[tuple[str, dict[str, BaseModel]]] = []
    for key, field in _keys_of(type(model)).items():
        value = getattr(model, _attribute(type(model), key))
        if isinstance(value, dict) and value and all(isinstance(item, BaseModel) for item in value.values()):
            tables.append((key, value))  # [reports.custom.NAME]: sections of their own, after the keys
            continue
        _emit_key(lines, key, field, value, relative_to)
    for key, named in tables:
        for name, item in named.items():
            lines.append("")
            _emit_model(lines, [*header, key, name], item, relative_to)


def _emit_key(lines: list[str], key: str, field: FieldInfo, value: Any, relative_to: Path | None) -> None:
    _comment(lines, field.description)
    if value is None:
        example = field.examples[0] if field.examples else None
        lines.append(f"# {_toml_key(key)} = {_toml_value(example)}" if example is not None else f"# {key} =")
    else:
        lines.append(f"{_toml_key(key)} = {_toml_value(_plain(value, relative_to))}")


def _emit_schema(lines: list[str], schema: dict[str, SchemaConfig]) -> None:
    """Only what a team set: a field's unset keys keep the built-in values, so they are not written."""
    for position, (name, section) in enumerate(schema.items()):
        if position:
            lines.append("")
        if not section.fields:
            lines.append(f"[schema.{_toml_key(name)}]")
        for field_name, field in section.fields.items():
            lines.append(f"[schema.{_toml_key(name)}.fields.{_toml_key(field_name)}]")
            for key, value in field.model_dump(exclude_none=True).items():
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")


def _emit_table(lines: list[str], header: list[str], table: dict[str, Any]) -> None:
    lines.append(f"[{'.'.join(_toml_key(part) for part in header)}]")
    nested = {key: value for key, value in table.items() if isinstance(value, dict)}
    for key, value in table.items():
        if key not in nested:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in nested.items():
        _emit_table(lines, [*header, key], value)


def _plain(value: Any, relative_to: Path | None) -> Any:
    """A model value as plain TOML data, paths relative to ``relative_to`` when inside it."""
    if isinstance(value, SecretRef):
        return {key: _plain(item, relative_to) for key, item in value.model_dump().items()}
    if isinstance(value, Path):
        return _relative(value, relative_to)
    if isinstance(value, BaseModel):
        return {key: _plain(item, relative_to) for key, item in value.model_dump(exclude_none=True).items()}
    if isinstance(value, list):
        return [_plain(item, relative_to) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, relative_to) for key, item in value.items()}
    if isinstance(value, str) and relative_to is not None and not _URL.match(value) and Path(value).is_absolute():
        return _relative(Path(value), relative_to)
    return value


def _relative(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None and path.is_relative_to(relative_to):
        return path.relative_to(relative_to).as_posix()
    return str(path)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, Path):
        return _toml_string(str(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


# --------------------------------------------------------------------------- reference docs


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _type_name(get_args(annotation)[0])
    if origin is Literal:
        return " or ".join(f"`{_toml_value(arg)}`" for arg in get_args(annotation))
    if origin is Union or origin is types.UnionType:
        return " or ".join(_type_name(arg) for arg in get_args(annotation) if arg is not type(None))
    if origin is dict:
        return "table"
    if origin is list:
        return "array of " + _type_name(get_args(annotation)[0]) + "s"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "string"
    if annotation is SecretRef:
        return "secret reference"
    words: dict[Any, str] = {int: "integer", float: "number", bool: "boolean", str: "string", Path: "path"}
    return words.get(annotation) or str(getattr(annotation, "__name__", annotation))


def _default_text(field: FieldInfo, required: str = "required") -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
        return "`{}`" if value == {} else "see below"
    if field.is_required():
        return required
    if field.default is None:
        return "not set"
    return f"`{_toml_value(field.default)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _reference_row(key: str, field: FieldInfo, required: str = "required") -> str:
    default = _default_text(field, required)
    return f"| `{key}` | {_type_name(field.annotation)} | {default} | {_cell(field.description or '')} |"


def _reference_rows(model: type[BaseModel], required: str = "required") -> list[str]:
    return [_reference_row(key, field, required) for key, field in _keys_of(model).items()]


def config_reference_markdown() -> str:
    """The reference of every key, default and help line, as Markdown (docs/config.md embeds it)."""
    head = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    out: list[str] = ["### Top level", "", *head]
    sections: list[tuple[str, FieldInfo]] = []
    for key, field in _keys_of(Config).items():
        if _unwrap(field.annotation) is not None or get_origin(field.annotation) is dict:
            sections.append((key, field))
        else:
            out.append(_reference_row(key, field))
    for key, field in sections:
        out += ["", f"### `[{key}]`" if key != "tables" else "### `[tables.<name>]`", ""]
        out.append(_cell(field.description or ""))
        inner = _unwrap(field.annotation)
        if key == "schema":
            out += ["", "### `[schema.<table>]`", "", "The fields a team changes or adds in one table.", "", *head]
            out += _reference_rows(SchemaConfig)
            out += ["", "### `[schema.<table>.fields.<field>]`", ""]
            out.append(
                "Changes to a built-in field (keys left out keep the built-in values), "
                "or a custom field when the table has no field of that name."
            )
            out += ["", *head, *_reference_rows(FieldConfig)]
        elif isinstance(inner, _DictOf) and inner.value is not None:
            out += ["", *head, *_reference_rows(inner.value, "see below")]
            out += ["", "| Table | `sheet` default | `id_column` default |", "|---|---|---|"]
            out += [f"| `{name}` | `{sheet}` | `{column}` |" for name, (sheet, column) in STANDARD_TABLES.items()]
            out.append(f"| any other name | required | `{CUSTOM_TABLE_ID_COLUMN}` |")
        elif isinstance(inner, type):
            out += ["", *head, *_reference_rows(inner)]
        else:
            out += ["", "Any keys are accepted for now; default `{}`."]
    out += ["", "### Secret references", "", *head, *_reference_rows(SecretRef)]
    return "\n".join(out) + "\n"
