"""The due list: every reminder owed today, each addressed to its record's owner.

Built from the same computations as the jobs (nothing here writes):

- ``stale-customer``: a customer :func:`~sheetcrm.jobs.crm.find_stale` flags (past its
  review, never touched, no phone or email); one reminder per customer, due the day it
  went stale (last touch + cadence), or without a date when none says it.
- ``follow-up``: ``next_follow_up`` is today or past; due that day.
- ``overdue-order``: :func:`~sheetcrm.jobs.crm.pipeline.check_pipeline` finds it not shipped
  or not delivered in time; due the day the limit passed.
- ``stale-opportunity``: an open deal past its expected close or not updated; due the day
  it happened.
- ``birthday`` / ``anniversary``: a customer date field of ``[reminders] occasions`` comes
  round within ``days_ahead``; due the day itself (29 February is kept on 28 February in
  other years; an anniversary needs a whole year).

The recipient is the customer's ``owner_email`` (for an order or deal, its customer's), else
the email ``[reminders] owners`` gives the row's ``owner`` name, else
``fallback_recipient``; reminders with none are counted as ``unassigned`` and left out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sheetcrm.config import Config
from sheetcrm.jobs.crm.frames import CrmTables
from sheetcrm.jobs.crm.pipeline import PipelineCode, SeenStatus, check_pipeline
from sheetcrm.jobs.crm.rollups import customer_keys, parse_dates, text_column
from sheetcrm.jobs.crm.stale import StaleCode, StaleFinding, find_stale
from sheetcrm.jobs.remind.model import Reminder, ReminderReason

__all__ = ["DueList", "due_reminders"]

_EPOCH = dt.date(1970, 1, 1)
_OVERDUE_ORDER_CODES = frozenset({PipelineCode.NOT_SHIPPED, PipelineCode.NOT_DELIVERED})


@dataclass(frozen=True)
class DueList:
    """The reminders due, and how many due things had nobody to tell (by reason)."""

    reminders: list[Reminder]
    unassigned: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Reminders per reason."""
        out: dict[str, int] = {}
        for reminder in self.reminders:
            out[str(reminder.reason)] = out.get(str(reminder.reason), 0) + 1
        return out


class _Customers:
    """Customer rows by key: label and recipient."""

    def __init__(self, frame: pd.DataFrame, settings: Config) -> None:
        options = settings.reminders
        self.ids = text_column(frame, "customer_id")
        names = text_column(frame, "name")
        companies = text_column(frame, "company")
        self.labels = names.where(names != "", companies).where(lambda s: s != "", self.ids)
        self.recipients = recipients(frame, options.owners, options.fallback_recipient)
        keys = customer_keys(self.ids)
        keyed = pd.DataFrame({"key": keys, "row": frame.index}).loc[keys != ""]
        self.row_of_key = dict(zip(keyed["key"], keyed["row"], strict=True))  # the last row of a key wins

    def of(self, customer_id: str) -> tuple[str, str]:
        """The label and recipient of the customer with this id (``""`` when unknown)."""
        row = self.row_of_key.get(customer_id.strip().upper())
        if row is None:
            return "", ""
        return self.labels[row], self.recipients[row]


def recipients(frame: pd.DataFrame, owners: Mapping[str, str], fallback: str | None) -> pd.Series:
    """Each row's recipient: its owner_email, else the email of its owner's name, else ``fallback``; ``""`` if none."""
    email = text_column(frame, "owner_email").str.lower()
    email = email.where(email.str.contains("@", regex=False), "")
    if owners:
        folded = {name.strip().casefold(): address for name, address in owners.items()}
        by_name = text_column(frame, "owner").str.casefold().map(folded).fillna("")
        email = email.where(email != "", by_name)
    if fallback:
        email = email.where(email != "", fallback)
    return email.astype("str")


def due_reminders(
    read: CrmTables, settings: Config, *, today: dt.date, seen: Mapping[str, SeenStatus] | None = None
) -> DueList:
    """Every reminder owed on ``today`` (see the module's text). ``seen`` is the pipeline's remembered state."""
    kinds = set(settings.reminders.kinds)
    frames, tables = read.frames, read.tables
    customers = frames["customers"]
    people = _Customers(customers, settings)
    found: list[Reminder] = []
    unassigned: dict[str, int] = {}

    def add(reminder: Reminder) -> None:
        if reminder.recipient:
            found.append(reminder)
        else:
            unassigned[str(reminder.reason)] = unassigned.get(str(reminder.reason), 0) + 1

    stale_kinds = {"stale-customer", "stale-opportunity"} & kinds
    if stale_kinds:
        options = settings.stale
        report = find_stale(
            customers,
            interactions=frames.get("interactions"),
            orders=frames.get("orders"),
            opportunities=frames.get("opportunities") if "stale-opportunity" in kinds else None,
            today=today,
            cadence=options.cadence,
            default_days=options.default_days,
            opportunity_cadence=options.opportunity_cadence,
        )
        by_row: dict[tuple[str, int], list[StaleFinding]] = {}
        for finding in report.findings:
            by_row.setdefault((finding.sheet, finding.row), []).append(finding)
        opportunities = frames.get("opportunities")
        deal_owners = recipients(opportunities, settings.reminders.owners, None) if opportunities is not None else None
        for (label, row), findings in by_row.items():
            first = findings[0]
            dues = [today - dt.timedelta(days=f.days_overdue) for f in findings if f.days_overdue is not None]
            days = max((f.days_overdue for f in findings if f.days_overdue is not None), default=None)
            detail = "; ".join(f.message for f in findings)
            detail_zh = "；".join(_stale_zh(f) for f in findings)
            if label == "Customers" and "stale-customer" in kinds:
                add(
                    Reminder(
                        ReminderReason.STALE_CUSTOMER, people.recipients[row], tables["customers"].sheet, row,
                        first.key, people.labels[row], min(dues, default=None), detail, days,
                        detail_zh=detail_zh,
                    )
                )  # fmt: skip
            elif label == "Opportunities" and opportunities is not None and deal_owners is not None:
                deal = opportunities.loc[row]
                customer, recipient = people.of(str(deal.get("customer_id", "")))
                own = deal_owners[row]
                title = str(deal.get("title", "")).strip() or first.key
                add(
                    Reminder(
                        ReminderReason.STALE_OPPORTUNITY, own or recipient, tables["opportunities"].sheet, row,
                        first.key, title, min(dues, default=None), detail, days, customer,
                        detail_zh=detail_zh,
                    )
                )  # fmt: skip

    if "follow-up" in kinds and "next_follow_up" in customers.columns:
        day, _ = parse_dates(text_column(customers, "next_follow_up"))
        now = (today - _EPOCH).days
        for position in np.flatnonzero(day <= now).tolist():
            row = customers.index[position]
            due = _EPOCH + dt.timedelta(days=int(day[position]))
            late = now - int(day[position])
            detail = "follow-up planned for today" if late == 0 else f"follow-up planned {late} days ago"
            detail_zh = "计划今天跟进" if late == 0 else f"计划跟进已过 {late} 天"
            add(
                Reminder(
                    ReminderReason.FOLLOW_UP, people.recipients[row], tables["customers"].sheet, int(row),
                    people.ids[row], people.labels[row], due, detail, late, detail_zh=detail_zh,
                )
            )  # fmt: skip

    orders = frames.get("orders")
    if "overdue-order" in kinds and orders is not None:
        pipeline = check_pipeline(orders, today=today, seen=seen or {}, rules=settings.pipeline)
        for order in pipeline.findings:
            if order.code not in _OVERDUE_ORDER_CODES or order.days_overdue is None:
                continue
            customer, recipient = people.of(str(orders.at[order.row, "customer_id"]) if "customer_id" in orders else "")
            add(
                Reminder(
                    ReminderReason.OVERDUE_ORDER, recipient, tables["orders"].sheet, order.row, order.order_id,
                    order.order_id, today - dt.timedelta(days=order.days_overdue), order.message, order.days_overdue,
                    customer, detail_zh=_ORDER_ZH[order.code].format(days=order.days_overdue),
                )
            )  # fmt: skip

    for column, occasion in settings.reminders.occasions.items():
        if occasion not in kinds or column not in customers.columns:
            continue
        for row, due, years in _occasions(text_column(customers, column), today, settings.reminders.days_ahead):
            reason = ReminderReason.BIRTHDAY if occasion == "birthday" else ReminderReason.ANNIVERSARY
            if reason is ReminderReason.ANNIVERSARY and years < 1:
                continue
            ahead = (due - today).days
            when = "today" if due == today else f"on {due}, in {ahead} days"
            when_zh = "今天" if due == today else f"{due}（还有 {ahead} 天）"
            if reason is ReminderReason.BIRTHDAY:
                detail, detail_zh = f"birthday {when}", f"生日：{when_zh}"
            else:
                detail, detail_zh = f"{years} years ({column}) {when}", f"{years} 周年（{column}）：{when_zh}"
            add(
                Reminder(
                    reason, people.recipients[row], tables["customers"].sheet, int(row), people.ids[row],
                    people.labels[row], due, detail, ahead, detail_zh=detail_zh,
                )
            )  # fmt: skip
    return DueList(found, unassigned)


_STALE_ZH = {
    StaleCode.OVERDUE: "上次联系 {last_touch}，超过 {cadence_days} 天回访周期 {days_overdue} 天",
    StaleCode.NO_TOUCH: "从未联系、下单或更新",
    StaleCode.NO_CONTACT_DETAILS: "既没有电话也没有邮箱",
    StaleCode.PAST_CLOSE: "预计成交日已过 {days_overdue} 天，仍未关闭",
    StaleCode.NOT_UPDATED: "上次更新 {last_touch}，超过 {cadence_days} 天周期 {days_overdue} 天",
}
_ORDER_ZH = {
    PipelineCode.NOT_SHIPPED: "未按时发货，逾期 {days} 天",
    PipelineCode.NOT_DELIVERED: "已发货未完成，逾期 {days} 天",
}


def _stale_zh(finding: StaleFinding) -> str:
    """A stale finding in Chinese, for the zh digests (the English is ``finding.message``)."""
    return _STALE_ZH[finding.code].format(**dataclasses.asdict(finding))


def _occasions(values: pd.Series, today: dt.date, days_ahead: int) -> list[tuple[int, dt.date, int]]:
    """Rows whose date comes round within ``days_ahead`` of ``today``: (row, the day, whole years since)."""
    day, _ = parse_dates(values)
    # Few distinct dates even in a big sheet: decide per distinct date, then spread to rows.
    codes, distinct = pd.factorize(pd.Series(day))
    coming_of: dict[int, tuple[dt.date, int]] = {}
    for code, number in enumerate(distinct):
        if np.isnan(number):
            continue
        original = _EPOCH + dt.timedelta(days=int(number))
        for year in (today.year, today.year + 1):
            coming = _same_day(original, year)
            if original <= today <= coming <= today + dt.timedelta(days=days_ahead):
                coming_of[code] = (coming, year - original.year)
                break
    hits = np.flatnonzero(np.isin(codes, list(coming_of))).tolist()
    return [(int(values.index[p]), *coming_of[int(codes[p])]) for p in hits]


def _same_day(original: dt.date, year: int) -> dt.date:
    """``original``'s month and day in ``year`` (29 February is the 28th in other years)."""
    try:
        return original.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)
