"""The four CRM tables: their fields, in the order a new workbook lays them out, and header aliases.

A sheet's headers are matched to fields through each field's name, header and aliases
(English and Chinese), compared after :func:`normalize_header`::

    >>> match = CRM_TABLES["customers"].match_headers(["客户名称", "手机", "邮箱", "客户等级", "WeChat"])
    >>> match.fields
    {'客户名称': 'name', '手机': 'phone', '邮箱': 'email', '客户等级': 'tier'}
    >>> match.unknown
    ['WeChat']

Teams change the tables in ``sheetcrm.toml`` (see :func:`sheetcrm.schema.build_schemas`);
analysts do the same in Python with :meth:`TableSchema.with_changes`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sheetcrm.errors import ConfigError
from sheetcrm.schema.fields import Field, FieldType

__all__ = [
    "CRM_TABLES",
    "CUSTOMERS",
    "INTERACTIONS",
    "OPPORTUNITIES",
    "ORDERS",
    "HeaderMatch",
    "TableLayout",
    "TableSchema",
    "normalize_header",
]

# Spaces, underscores and every kind of hyphen or middle dot: "E-mail" is "email", "客户·名称" is "客户名称".
_SEPARATORS = re.compile(r"[\s_\-\u00b7\u2010-\u2015\u2212\u30fb]+")
_TRAILING = ".:*"  # "Tel.", "Name:", "Name*" (a required marker); NFKC has made "：" ":"


def normalize_header(header: str) -> str:
    """The form headers are compared in: NFKC (full-width to half-width), case-folded, separators removed.

    >>> normalize_header(" Ｅ－Mail ") == normalize_header("e_mail") == normalize_header("Email") == "email"
    True
    """
    text = unicodedata.normalize("NFKC", header).casefold().strip().rstrip(_TRAILING)
    return _SEPARATORS.sub("", text)


@dataclass
class HeaderMatch:
    """How a sheet's header row maps onto a table's fields.

    ``fields`` maps each matched header to its field; ``unknown`` lists the headers that are
    the team's own columns; ``missing`` the required fields no header matched; ``duplicates``
    each field more than one header matched, with those headers in sheet order (the first
    of them, or the one spelled as the field's name or header, is the one in ``fields``).
    """

    fields: dict[str, str]
    unknown: list[str]
    missing: list[str]
    duplicates: list[tuple[str, list[str]]]

    @property
    def headers(self) -> dict[str, str]:
        """The other way round: each matched field's header."""
        return {field: header for header, field in self.fields.items()}


@dataclass(frozen=True)
class TableSchema:
    """A CRM table: its key in the config, its default sheet name, its id column and its fields.

    >>> customers = CRM_TABLES["customers"]
    >>> customers.columns[:3]
    ('customer_id', 'name', 'company')
    >>> customers.field("tier").choices
    ('VIP', 'Key', 'Standard')
    >>> mine = customers.with_changes(
    ...     fields={"phone": {"required": True}},
    ...     add=[Field("wechat_id", FieldType.text, header="WeChat", aliases=("微信号",))],
    ... )
    """

    key: str
    sheet: str
    id_column: str
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        names = [field.name for field in self.fields]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"table {self.key!r}: field {repeated[0]!r} is defined twice")
        if self.id_column not in names:
            raise ConfigError(
                f"table {self.key!r}: the id column {self.id_column!r} is not one of its fields",
                hint=f"fields: {', '.join(names)}",
            )
        self._index  # noqa: B018 -- builds the header index now, so a clash is an error at once

    @functools.cached_property
    def _index(self) -> dict[str, tuple[str, int]]:
        """normalised header -> (field name, 0 for its name or header, 1 for an alias)."""
        index: dict[str, tuple[str, int]] = {}
        for field in self.fields:
            spellings = [(field.name, 0), (field.header, 0), *((alias, 1) for alias in field.aliases)]
            for spelling, strength in spellings:
                key = normalize_header(spelling)
                if not key:
                    raise ConfigError(f"table {self.key!r}: field {field.name!r} has a blank header or alias")
                other, known = index.get(key, (field.name, strength))
                if other != field.name:
                    raise ConfigError(
                        f"table {self.key!r}: header {spelling!r} would mean both {other!r} and {field.name!r}",
                        hint="give each header or alias to one field only",
                    )
                index[key] = (field.name, min(strength, known))
        return index

    @property
    def columns(self) -> tuple[str, ...]:
        """The field names, in the order a new workbook lays them out."""
        return tuple(field.name for field in self.fields)

    @property
    def headers(self) -> tuple[str, ...]:
        """The headers a new workbook gets, in order (a field's name unless it sets ``header``)."""
        return tuple(field.header for field in self.fields)

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Field names by group (``"contact"``, ``"company"``, ``"extra"`` …), groups in order of first use."""
        groups: dict[str, list[str]] = {}
        for field in self.fields:
            groups.setdefault(field.group, []).append(field.name)
        return {group: tuple(names) for group, names in groups.items()}

    def field(self, name: str) -> Field:
        """The field called ``name``; KeyError (with the closest names) when there is none."""
        for field in self.fields:
            if field.name == name:
                return field
        close = difflib.get_close_matches(name, self.columns, n=3)
        suggestion = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"table {self.key!r} has no field {name!r}{suggestion}")

    def __contains__(self, name: object) -> bool:
        return any(field.name == name for field in self.fields)

    def field_for_header(self, header: str) -> str | None:
        """The field a header means (through its name, header or aliases), or None."""
        found = self._index.get(normalize_header(header))
        return found[0] if found else None

    def match_headers(self, headers: Sequence[str]) -> HeaderMatch:
        """Map a sheet's header row onto the fields; blank headers are skipped.

        >>> CRM_TABLES["customers"].match_headers(["Name", "Mobile", "电话"]).duplicates
        [('phone', ['Mobile', '电话'])]
        """
        candidates: dict[str, list[tuple[int, int, str]]] = {}
        unknown: list[str] = []
        for position, header in enumerate(headers):
            if not header.strip():
                continue
            found = self._index.get(normalize_header(header))
            if found is None:
                unknown.append(header)
            else:
                name, strength = found
                candidates.setdefault(name, []).append((strength, position, header))
        chosen: dict[str, str] = {}
        duplicates: list[tuple[str, list[str]]] = []
        for name in self.columns:
            found_for = candidates.get(name)
            if not found_for:
                continue
            chosen[min(found_for)[2]] = name  # the name or header itself beats an alias; then the leftmost
            if len(found_for) > 1:
                duplicates.append((name, [header for _, _, header in sorted(found_for, key=lambda c: c[1])]))
        order = {header: position for position, header in enumerate(headers)}
        fields = dict(sorted(chosen.items(), key=lambda item: order[item[0]]))
        missing = [field.name for field in self.fields if field.required and field.name not in candidates]
        return HeaderMatch(fields=fields, unknown=unknown, missing=missing, duplicates=duplicates)

    def with_changes(
        self,
        *,
        sheet: str | None = None,
        id_column: str | None = None,
        fields: Mapping[str, Mapping[str, Any]] | None = None,
        add: Iterable[Field] = (),
        remove: Iterable[str] = (),
    ) -> TableSchema:
        """A copy with fields changed (``fields={"phone": {"required": True}}``), added or removed.

        Changed settings replace the old ones (give ``aliases`` in full); the result is checked
        again, so a clash or a bad setting raises ConfigError.
        """
        changes = dict(fields or {})
        for name in changes:
            if name not in self:
                close = difflib.get_close_matches(name, self.columns, n=1)
                raise ConfigError(
                    f"table {self.key!r} has no field {name!r} to change",
                    hint=(f"did you mean {close[0]!r}? " if close else "") + "add a new field with add=[Field(...)]",
                )
        dropped = set(remove)
        for name in dropped:
            if name not in self:
                raise ConfigError(f"table {self.key!r} has no field {name!r} to remove")
        kept = [
            field.with_changes(**changes[field.name]) if field.name in changes else field
            for field in self.fields
            if field.name not in dropped
        ]
        for field in add:
            if field.name in self and field.name not in dropped:
                raise ConfigError(
                    f"table {self.key!r} already has a field {field.name!r}",
                    hint=f'change it with fields={{"{field.name}": {{...}}}} instead',
                )
            kept.append(field)
        return dataclasses.replace(
            self,
            sheet=self.sheet if sheet is None else sheet,
            id_column=self.id_column if id_column is None else id_column,
            fields=tuple(kept),
        )


TableLayout = TableSchema
"""The name the foundation used; kept so that older imports keep working."""

# ---------------------------------------------------------------------------------------
# The built-in tables. Each field has English and Chinese aliases; an alias may mean one
# field per table only, so generic words ("Customer", "客户") are left out where they
# could mean a name as well as an id.
# ---------------------------------------------------------------------------------------

# fmt: off
_NOTES = Field(
    "notes",
    FieldType.text,
    description="Free notes.",
    aliases=("Note", "Remarks", "Remark", "Comments", "Comment", "Memo", "备注", "说明", "附注", "备注信息"),
    group="extra",
)
_CUSTOMER_REF = Field(
    "customer_id",
    FieldType.reference,
    required=True,
    reference="customers.customer_id",
    description="The customer, by customer_id (as on the Customers sheet).",
    aliases=("Customer ID", "Customer No", "Customer number", "Customer #", "客户编号", "客户ID", "客户号"),
    group="record",
)
_OWNER = Field(
    "owner",
    FieldType.text,
    description="The salesperson responsible.",
    aliases=(
        "Account owner", "Sales rep", "Salesperson", "Sales person", "Account manager", "Assigned to",
        "负责人", "销售", "销售代表", "客户经理", "跟进人", "业务员",
    ),
    group="sales",
)

CUSTOMERS = TableSchema(
    "customers",
    "Customers",
    "customer_id",
    (
        Field(
            "customer_id",
            FieldType.id,
            required=True,
            unique=True,
            pattern=r"C-[0-9]{6,}",
            description="Unique id of the customer, e.g. C-000123.",
            aliases=("Customer ID", "Customer No", "Customer number", "Customer #", "ID", "客户编号", "客户ID", "编号"),
            group="record",
        ),
        Field(
            "name",
            FieldType.text,
            required=True,
            description="The customer's name: the person you deal with.",
            aliases=(
                "Customer name", "Customer", "Contact", "Contact name", "Full name",
                "客户名称", "客户姓名", "姓名", "客户", "联系人", "名字",
            ),
            group="contact",
        ),
        Field(
            "company",
            FieldType.text,
            description="The company or organisation the customer belongs to.",
            aliases=(
                "Company name", "Organisation", "Organization", "Org", "Account", "Employer",
                "公司", "公司名称", "单位", "单位名称", "企业", "企业名称",
            ),
            group="company",
        ),
        Field(
            "title",
            FieldType.text,
            description="Job title, e.g. Purchasing Manager.",
            aliases=("Job title", "Position", "Role", "职位", "职务", "头衔", "岗位"),
            group="company",
        ),
        Field(
            "phone",
            FieldType.phone,
            description="Phone number, best with its country code (+86 138 0013 8000).",
            aliases=(
                "Phone number", "Mobile", "Mobile phone", "Mobile number", "Cell", "Cell phone", "Tel",
                "Telephone", "Contact number", "电话", "手机", "手机号", "手机号码", "联系电话", "电话号码",
            ),
            group="contact",
        ),
        Field(
            "email",
            FieldType.email,
            description="Email address.",
            aliases=("E-mail", "Email address", "Mail", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址"),
            group="contact",
        ),
        Field(
            "address",
            FieldType.text,
            description="Street address.",
            aliases=("Street", "Street address", "Mailing address", "地址", "详细地址", "联系地址", "通讯地址"),
            group="address",
        ),
        Field(
            "city",
            FieldType.text,
            description="City.",
            aliases=("Town", "城市", "所在城市"),
            group="address",
        ),
        Field(
            "postcode",
            FieldType.text,
            format="@",  # 02134 keeps its zero
            description="Postcode or ZIP code, kept as text.",
            aliases=("Post code", "Postal code", "Zip", "Zip code", "邮编", "邮政编码"),
            group="address",
        ),
        Field(
            "region",
            FieldType.text,
            description="Region, state or province.",
            aliases=("State", "Province", "Territory", "Area", "地区", "区域", "省份", "省"),
            group="address",
        ),
        Field(
            "country",
            FieldType.text,
            description="Country.",
            aliases=("Country/Region", "Nation", "国家", "国家/地区"),
            group="address",
        ),
        Field(
            "industry",
            FieldType.text,
            description="The company's industry.",
            aliases=("Sector", "Vertical", "行业", "所属行业"),
            group="company",
        ),
        Field(
            "tier",
            FieldType.enum,
            choices=("VIP", "Key", "Standard"),
            synonyms={
                "vip": "VIP", "VIP客户": "VIP", "贵宾": "VIP", "key account": "Key", "重要客户": "Key",
                "重点客户": "Key", "大客户": "Key", "normal": "Standard", "regular": "Standard",
                "普通客户": "Standard", "一般客户": "Standard", "普通": "Standard",
            },
            description="How important the customer is: VIP, Key or Standard.",
            aliases=("Level", "Customer level", "Customer tier", "Grade", "客户等级", "等级", "客户级别", "级别"),
            group="sales",
        ),
        Field(
            "tags",
            FieldType.tags,
            description="Labels, separated by commas: wholesale, repeat.",
            aliases=("Tag", "Labels", "Label", "Keywords", "标签", "客户标签"),
            group="sales",
        ),
        _OWNER,
        Field(
            "owner_email",
            FieldType.email,
            description="Email address of the salesperson responsible.",
            aliases=("Owner e-mail", "Sales rep email", "Account manager email", "负责人邮箱", "销售邮箱"),
            group="sales",
        ),
        Field(
            "source",
            FieldType.text,
            description="Where the customer came from: website, referral, trade show …",
            aliases=("Lead source", "Origin", "来源", "客户来源", "渠道"),
            group="sales",
        ),
        Field(
            "birthday",
            FieldType.date,
            description="Birthday, YYYY-MM-DD.",
            aliases=("Date of birth", "Birth date", "DOB", "生日", "出生日期"),
            group="contact",
        ),
        Field(
            "created_at",
            FieldType.date,
            description="When the customer was added, YYYY-MM-DD.",
            aliases=(
                "Created", "Created on", "Date created", "Date added", "Added",
                "创建时间", "创建日期", "录入日期", "录入时间",
            ),
            group="record",
        ),
        Field(
            "last_contact",
            FieldType.date,
            description="When someone last spoke with the customer, YYYY-MM-DD.",
            aliases=(
                "Last contacted", "Last contact date", "Last touch", "最近联系", "最后联系", "上次联系",
                "最近联系日期", "最后联系日期",
            ),
            group="follow_up",
        ),
        Field(
            "next_follow_up",
            FieldType.date,
            description="When to contact the customer next, YYYY-MM-DD.",
            aliases=(
                "Next follow-up date", "Follow-up date", "Follow up", "Next contact", "下次跟进", "下次联系",
                "跟进日期", "下次跟进日期",
            ),
            group="follow_up",
        ),
        Field(
            "consent",
            FieldType.enum,
            choices=("yes", "no"),
            synonyms={
                "y": "yes", "true": "yes", "1": "yes", "是": "yes", "同意": "yes",
                "n": "no", "false": "no", "0": "no", "否": "no", "不同意": "no",
            },
            description="Whether the customer agreed to receive marketing: yes or no.",
            aliases=("Marketing consent", "Opt-in", "Subscribed", "营销同意", "是否同意", "同意接收"),
            group="contact",
        ),
        _NOTES,
    ),
)

ORDERS = TableSchema(
    "orders",
    "Orders",
    "order_id",
    (
        Field(
            "order_id",
            FieldType.id,
            required=True,
            unique=True,
            pattern=r"O-[0-9]{6,}",
            description="Unique id of the order, e.g. O-0000123.",
            aliases=("Order ID", "Order No", "Order number", "Order #", "ID", "订单号", "订单编号", "单号"),
            group="record",
        ),
        _CUSTOMER_REF,
        Field(
            "order_date",
            FieldType.date,
            required=True,
            description="When the order was placed, YYYY-MM-DD.",
            aliases=("Date", "Ordered", "Ordered on", "Purchase date", "下单日期", "订单日期", "下单时间", "日期"),
            group="order",
        ),
        Field(
            "status",
            FieldType.enum,
            choices=("received", "confirmed", "processing", "shipped", "completed", "cancelled", "returned"),
            synonyms={
                "canceled": "cancelled", "complete": "completed", "in progress": "processing",
                "已下单": "received", "已接收": "received", "已确认": "confirmed", "处理中": "processing",
                "已发货": "shipped", "已完成": "completed", "已取消": "cancelled", "已退货": "returned",
            },
            description="received → confirmed → processing → shipped → completed; or cancelled, returned.",
            aliases=("Order status", "State", "状态", "订单状态"),
            group="order",
        ),
        Field(
            "product",
            FieldType.text,
            description="What was ordered.",
            aliases=("Item", "Product name", "产品", "商品", "产品名称", "商品名称", "品名"),
            group="order",
        ),
        Field(
            "quantity",
            FieldType.integer,
            minimum=0,
            description="How many, a whole number.",
            aliases=("Qty", "Units", "Count", "数量", "件数"),
            group="order",
        ),
        Field(
            "unit_price",
            FieldType.money,
            minimum=0,
            description="Price of one unit, in the order's currency.",
            aliases=("Price", "Price per unit", "单价", "价格"),
            group="payment",
        ),
        Field(
            "amount",
            FieldType.money,
            minimum=0,
            description="Total of the order, in its currency.",
            aliases=("Total", "Total amount", "Order total", "金额", "总金额", "总价", "订单金额", "合计"),
            group="payment",
        ),
        Field(
            "currency",
            FieldType.text,
            pattern=r"[A-Z]{3}",
            description="ISO currency code: CNY, USD, EUR …",
            aliases=("Curr", "币种", "货币"),
            group="payment",
        ),
        Field(
            "shipped_at",
            FieldType.date,
            description="When the order was shipped, YYYY-MM-DD.",
            aliases=("Shipped", "Shipped on", "Ship date", "Shipping date", "发货日期", "发货时间"),
            group="delivery",
        ),
        Field(
            "delivered_at",
            FieldType.date,
            description="When the order arrived, YYYY-MM-DD.",
            aliases=("Delivered", "Delivered on", "Delivery date", "送达日期", "签收日期", "到货日期"),
            group="delivery",
        ),
        Field(
            "tracking_no",
            FieldType.text,
            format="@",
            description="The carrier's tracking number.",
            aliases=(
                "Tracking number", "Tracking", "Tracking #", "Waybill", "Waybill number",
                "快递单号", "物流单号", "运单号",
            ),
            group="delivery",
        ),
        _NOTES,
    ),
)

INTERACTIONS = TableSchema(
    "interactions",
    "Interactions",
    "interaction_id",
    (
        Field(
            "interaction_id",
            FieldType.id,
            required=True,
            unique=True,
            pattern=r"I-[0-9]{6,}",
            description="Unique id of the interaction, e.g. I-0000123.",
            aliases=("Interaction ID", "Activity ID", "ID", "记录编号", "互动编号", "编号"),
            group="record",
        ),
        _CUSTOMER_REF,
        Field(
            "date",
            FieldType.date,
            required=True,
            description="When it happened, YYYY-MM-DD.",
            aliases=("Contact date", "Interaction date", "Activity date", "日期", "联系日期", "沟通日期", "联系时间"),
            group="interaction",
        ),
        Field(
            "channel",
            FieldType.enum,
            choices=("phone", "email", "meeting", "wechat", "other"),
            synonyms={
                "call": "phone", "phone call": "phone", "电话": "phone", "e-mail": "email", "邮件": "email",
                "visit": "meeting", "会议": "meeting", "拜访": "meeting", "面谈": "meeting",
                "weixin": "wechat", "微信": "wechat", "其他": "other", "其它": "other",
            },
            description="How: phone, email, meeting, wechat or other.",
            aliases=("Type", "Via", "Medium", "Contact type", "渠道", "方式", "沟通方式", "联系方式"),
            group="interaction",
        ),
        Field(
            "summary",
            FieldType.text,
            description="What was said or done.",
            aliases=("Subject", "Details", "Description", "Notes", "摘要", "内容", "沟通内容", "记录", "备注"),
            group="interaction",
        ),
        _OWNER,
        Field(
            "outcome",
            FieldType.text,
            description="What came of it: quote sent, meeting booked …",
            aliases=("Result", "结果", "跟进结果"),
            group="interaction",
        ),
        Field(
            "rating",
            FieldType.integer,
            minimum=1,
            maximum=5,
            description="The customer's feedback, 1 (poor) to 5 (excellent).",
            aliases=("Score", "Feedback score", "Satisfaction", "评分", "满意度", "评价"),
            group="interaction",
        ),
    ),
)

OPPORTUNITIES = TableSchema(
    "opportunities",
    "Opportunities",
    "opportunity_id",
    (
        Field(
            "opportunity_id",
            FieldType.id,
            required=True,
            unique=True,
            pattern=r"OP-[0-9]{6,}",
            description="Unique id of the opportunity, e.g. OP-000123.",
            aliases=("Opportunity ID", "Deal ID", "ID", "商机编号", "机会编号", "编号"),
            group="record",
        ),
        _CUSTOMER_REF,
        Field(
            "title",
            FieldType.text,
            description="What the deal is about.",
            aliases=(
                "Opportunity", "Opportunity name", "Deal", "Deal name", "Name",
                "商机", "商机名称", "项目", "项目名称", "机会名称",
            ),
            group="deal",
        ),
        Field(
            "stage",
            FieldType.enum,
            choices=("lead", "qualified", "proposal", "negotiation", "won", "lost"),
            synonyms={
                "closed won": "won", "closed lost": "lost", "quote": "proposal", "线索": "lead",
                "已确认": "qualified", "方案": "proposal", "报价": "proposal", "谈判": "negotiation",
                "商务谈判": "negotiation", "赢单": "won", "成交": "won", "输单": "lost", "丢单": "lost",
            },
            description="lead → qualified → proposal → negotiation → won or lost.",
            aliases=("Status", "Deal stage", "Pipeline stage", "阶段", "销售阶段", "商机阶段", "状态"),
            group="deal",
        ),
        Field(
            "amount",
            FieldType.money,
            minimum=0,
            description="Expected value of the deal.",
            aliases=("Value", "Deal size", "Deal value", "Expected revenue", "金额", "预计金额", "商机金额"),
            group="deal",
        ),
        Field(
            "expected_close",
            FieldType.date,
            description="When the deal should close, YYYY-MM-DD.",
            aliases=(
                "Expected close date", "Close date", "Closing date", "预计成交日期", "预计签约日期", "预计成交",
            ),
            group="deal",
        ),
        _OWNER,
        Field(
            "next_step",
            FieldType.text,
            description="What happens next.",
            aliases=("Next steps", "Next action", "下一步", "下一步行动", "下一步计划"),
            group="deal",
        ),
        Field(
            "updated_at",
            FieldType.datetime,
            description="When the opportunity last changed, YYYY-MM-DD or YYYY-MM-DD HH:MM.",
            aliases=("Updated", "Last updated", "Last modified", "Modified", "更新时间", "更新日期", "最后更新"),
            group="record",
        ),
    ),
)
# fmt: on

CRM_TABLES: dict[str, TableSchema] = {t.key: t for t in (CUSTOMERS, ORDERS, INTERACTIONS, OPPORTUNITIES)}
