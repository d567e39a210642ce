"""A deterministic, realistically messy sample CRM workbook (what ``sheetcrm demo`` works on).

The workbook has four sheets (Customers, Orders, Interactions, Opportunities) filled with
plausible Chinese and American customers, and a known set of planted problems: duplicate
customers, typos, bad phones and emails, impossible dates, dates typed as text, stale key
accounts, missing required values and values outside a column's choices. Every planted
problem is listed, by cell, in :attr:`SampleSummary.planted`, so a demo (or a test) can
check that the validators find exactly what was planted.

The rows that are not planted are kept clean on purpose: phones and emails are valid and
unique, VIP/Key customers were contacted within :data:`RECENT_CONTACT_DAYS`, and every
name is made of known name parts. That keeps "what the checks find" equal to "what was
planted" rather than "what was planted plus whatever the generator happened to produce".

Everything is a pure function of ``(customers, seed, today)``: one ``random.Random(seed)``
drives all choices, nothing iterates over a set, and the clock is read only to default ``today``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from openpyxl import Workbook
from openpyxl.styles import Font

from sheetcrm.schema.tables import CRM_TABLES
from sheetcrm.sync.a1 import column_letter, qualified
from sheetcrm.util import collector_paused

__all__ = [
    "CHANNELS",
    "CUSTOMER_HEADERS",
    "INTERACTION_HEADERS",
    "OPPORTUNITY_HEADERS",
    "ORDER_HEADERS",
    "ORDER_STATUSES",
    "PLANTED_KINDS",
    "RECENT_CONTACT_DAYS",
    "STAGES",
    "STALE_AFTER_DAYS",
    "TIERS",
    "SampleSummary",
    "write_sample_workbook",
]

CellValue = str | int | float | dt.date | None
_T = TypeVar("_T")

# the columns are the CRM table layouts, so the sample always matches what `init` creates
CUSTOMER_HEADERS: tuple[str, ...] = CRM_TABLES["customers"].columns
ORDER_HEADERS: tuple[str, ...] = CRM_TABLES["orders"].columns
INTERACTION_HEADERS: tuple[str, ...] = CRM_TABLES["interactions"].columns
OPPORTUNITY_HEADERS: tuple[str, ...] = CRM_TABLES["opportunities"].columns

TIERS: tuple[str, ...] = ("VIP", "Key", "Standard")
ORDER_STATUSES: tuple[str, ...] = (
    "received",
    "confirmed",
    "processing",
    "shipped",
    "completed",
    "cancelled",
    "returned",
)
CHANNELS: tuple[str, ...] = ("phone", "email", "meeting", "wechat", "other")
STAGES: tuple[str, ...] = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
PLANTED_KINDS: tuple[str, ...] = (
    "duplicate",
    "typo",
    "bad_phone",
    "bad_email",
    "bad_date",
    "mixed_date_format",
    "stale",
    "missing_required",
    "bad_choice",
)

# A VIP/Key customer not contacted for longer than this is stale. Clean VIP/Key rows are
# contacted within RECENT_CONTACT_DAYS and planted stale rows more than STALE_AFTER_DAYS + 20
# days ago, so any threshold in between finds exactly the planted rows.
STALE_AFTER_DAYS = 180
RECENT_CONTACT_DAYS = 60

_CUSTOMER_DATE_FIELDS = ("birthday", "created_at", "last_contact", "next_follow_up")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ORDER_HISTORY_DAYS = 730

# ---------------------------------------------------------------------------------------
# Name parts. Tests rebuild "what a clean name is made of" from these, so a planted typo
# must produce a part that is in none of them.
# ---------------------------------------------------------------------------------------

_EN_FIRST: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Daniel", "Karen", "Matthew", "Emily", "Anthony", "Michelle", "Mark", "Amanda",
    "Steven", "Melissa", "Andrew", "Rebecca", "Kevin", "Laura", "Brian", "Rachel", "Ryan",
    "Olivia", "Ethan", "Sophia", "Lucas", "Grace",
)  # fmt: skip
_EN_LAST: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott",
    "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips",
    "Campbell", "Parker", "Evans", "Collins",
)  # fmt: skip
# (characters, pinyin)
_CN_SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
    ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"),
    ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"),
    ("郭", "Guo"), ("何", "He"), ("高", "Gao"), ("林", "Lin"), ("罗", "Luo"),
)  # fmt: skip
_CN_GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"),
    ("丽", "Li"), ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"),
    ("勇", "Yong"), ("艳", "Yan"), ("杰", "Jie"), ("娟", "Juan"), ("涛", "Tao"),
    ("明", "Ming"), ("超", "Chao"), ("秀英", "Xiuying"), ("霞", "Xia"), ("平", "Ping"),
    ("刚", "Gang"), ("桂英", "Guiying"), ("建华", "Jianhua"), ("晓明", "Xiaoming"),
    ("海燕", "Haiyan"), ("志强", "Zhiqiang"), ("婷", "Ting"), ("欣怡", "Xinyi"),
    ("子涵", "Zihan"), ("浩然", "Haoran"),
)  # fmt: skip
# Wrong-IME-candidate typos: a character that sounds the same but is not in the pools above.
_CN_HOMOPHONES: dict[str, tuple[str, ...]] = {
    "王": ("汪",), "李": ("理", "里"), "张": ("章", "彰"), "刘": ("流", "留"), "陈": ("程", "晨"),
    "杨": ("阳", "扬"), "黄": ("皇", "煌"), "赵": ("照",), "吴": ("无", "武"), "周": ("州", "舟"),
    "徐": ("许", "旭"), "孙": ("荪",), "马": ("玛", "码"), "朱": ("珠", "诸"), "胡": ("湖", "蝴"),
    "郭": ("国", "锅"), "何": ("河", "禾"), "高": ("糕", "膏"), "林": ("琳", "霖"), "罗": ("萝", "锣"),
    "伟": ("玮", "炜", "纬"), "芳": ("方", "坊"), "娜": ("纳", "哪"), "敏": ("民", "闵"), "静": ("靖", "净"),
    "丽": ("莉", "力"), "强": ("墙", "蔷"), "磊": ("垒", "蕾"), "军": ("君", "均"), "洋": ("样", "羊"),
    "勇": ("涌", "永"), "艳": ("岩", "彦"), "杰": ("洁", "捷"), "娟": ("鹃", "绢"), "涛": ("滔", "韬"),
    "明": ("鸣", "铭"), "超": ("潮", "朝"), "秀": ("绣", "修"), "英": ("瑛", "鹰"), "霞": ("侠", "夏"),
    "平": ("萍", "苹"), "刚": ("钢", "纲"), "桂": ("贵", "柜"), "建": ("健", "剑"), "华": ("桦", "骅"),
    "晓": ("小", "筱"), "海": ("亥",), "燕": ("雁", "焰"), "志": ("智", "治"), "婷": ("亭", "庭"),
    "欣": ("馨", "新"), "怡": ("仪", "宜"), "子": ("紫", "梓"), "涵": ("寒", "含"), "浩": ("皓", "昊"),
    "然": ("燃", "冉"),
}  # fmt: skip


def _name_parts() -> frozenset[str]:
    """Every casefolded token a clean name is made of (words, and single CJK characters)."""
    parts: list[str] = [*_EN_FIRST, *_EN_LAST]
    for chars, pinyin in (*_CN_SURNAMES, *_CN_GIVEN):
        parts.append(pinyin)
        parts.extend(chars)
    return frozenset(part.casefold() for part in parts)


_NAME_PARTS = _name_parts()

# ---------------------------------------------------------------------------------------
# Places, companies, people who sell.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _City:
    name: str
    name_cn: str  # "" for US cities
    region: str
    country: str
    postcode_prefix: str  # the rest of the postcode is random digits
    area_codes: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()


_CN_CITIES: tuple[tuple[_City, int], ...] = (
    (_City("Shanghai", "上海", "East China", "China", "200", districts=("浦东新区", "徐汇区", "静安区")), 16),
    (_City("Hangzhou", "杭州", "East China", "China", "310", districts=("西湖区", "滨江区")), 7),
    (_City("Nanjing", "南京", "East China", "China", "210", districts=("鼓楼区", "建邺区")), 5),
    (_City("Suzhou", "苏州", "East China", "China", "215", districts=("工业园区", "姑苏区")), 5),
    (_City("Beijing", "北京", "North China", "China", "100", districts=("朝阳区", "海淀区", "东城区")), 14),
    (_City("Tianjin", "天津", "North China", "China", "300", districts=("和平区", "滨海新区")), 4),
    (_City("Guangzhou", "广州", "South China", "China", "510", districts=("天河区", "越秀区")), 9),
    (_City("Shenzhen", "深圳", "South China", "China", "518", districts=("南山区", "福田区", "宝安区")), 10),
    (_City("Xiamen", "厦门", "South China", "China", "361", districts=("思明区", "湖里区")), 3),
    (_City("Wuhan", "武汉", "Central China", "China", "430", districts=("武昌区", "江汉区")), 5),
    (_City("Changsha", "长沙", "Central China", "China", "410", districts=("岳麓区", "芙蓉区")), 3),
    (_City("Chengdu", "成都", "West", "China", "610", districts=("武侯区", "锦江区")), 7),
    (_City("Chongqing", "重庆", "West", "China", "400", districts=("渝中区", "江北区")), 5),
    (_City("Xi'an", "西安", "West", "China", "710", districts=("雁塔区", "碑林区")), 3),
)
# Boston, Providence, Hartford and Newark postcodes start with 0: they must stay text.
_US_CITIES: tuple[tuple[_City, int], ...] = (
    (_City("San Francisco", "", "US West", "United States", "941", ("415", "628")), 8),
    (_City("Los Angeles", "", "US West", "United States", "900", ("213", "310", "323")), 8),
    (_City("Seattle", "", "US West", "United States", "981", ("206",)), 5),
    (_City("New York", "", "US East", "United States", "100", ("212", "646", "917")), 10),
    (_City("Boston", "", "US East", "United States", "021", ("617", "857")), 7),
    (_City("Providence", "", "US East", "United States", "029", ("401",)), 2),
    (_City("Hartford", "", "US East", "United States", "061", ("860",)), 2),
    (_City("Newark", "", "US East", "United States", "071", ("973", "862")), 3),
    (_City("Chicago", "", "US Central", "United States", "606", ("312", "773")), 7),
    (_City("Austin", "", "US Central", "United States", "787", ("512", "737")), 4),
    (_City("Dallas", "", "US Central", "United States", "752", ("214", "469")), 4),
)

_CN_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "186", "187",
    "188", "189", "191", "198", "199",
)  # fmt: skip
_CN_ROADS = ("人民路", "中山路", "解放路", "建设路", "长江路", "南京路", "科技园路", "世纪大道", "创业路", "和平路")
_CN_ROADS_EN = ("Renmin Rd", "Zhongshan Rd", "Jiefang Rd", "Century Ave", "Keji Rd", "Chuangye Rd", "Heping Rd")
_US_STREETS = ("Main", "Market", "Oak", "Maple", "Washington", "Lake", "Park", "Pine", "Elm", "Mission", "Broadway")
_US_STREET_KINDS = ("St", "Ave", "Blvd", "Rd", "Street", "Avenue")

_INDUSTRIES: tuple[tuple[str, str, str, str], ...] = (
    # (industry, English word, Chinese word, domain word)
    ("Manufacturing", "Manufacturing", "机械", "mfg"),
    ("Retail", "Retail", "商贸", "retail"),
    ("Software", "Software", "软件", "soft"),
    ("Healthcare", "Medical", "医疗器械", "med"),
    ("Logistics", "Logistics", "物流", "logistics"),
    ("Food & Beverage", "Foods", "食品", "foods"),
    ("Electronics", "Electronics", "电子", "tech"),
    ("Education", "Learning", "教育科技", "edu"),
    ("Energy", "Energy", "新能源", "energy"),
    ("Construction", "Building", "建设工程", "build"),
    ("Textiles", "Textiles", "纺织", "textile"),
    ("Finance", "Capital", "投资", "capital"),
)
_EN_BRANDS = (
    "Blue River", "Summit", "Northwind", "Apex", "Golden Gate", "Pioneer", "Silverline",
    "Evergreen", "Redwood", "Atlas", "Harbor", "Cedar", "Brightway", "Keystone", "Lakeside",
    "Ironclad", "Bluebird", "Crescent", "Granite", "Horizon",
)  # fmt: skip
_EN_SUFFIXES = ("Inc", "Inc.", "Ltd", "LLC", "Co.", "Corp.", "GmbH")
_CN_BRANDS: tuple[tuple[str, str], ...] = (
    ("华信", "Huaxin"), ("中科", "Zhongke"), ("东方", "Dongfang"), ("恒达", "Hengda"),
    ("鑫源", "Xinyuan"), ("金桥", "Jinqiao"), ("博远", "Boyuan"), ("天成", "Tiancheng"),
    ("瑞丰", "Ruifeng"), ("宏图", "Hongtu"), ("海纳", "Haina"), ("新世纪", "Xinshiji"),
    ("联创", "Lianchuang"), ("凯达", "Kaida"), ("银河", "Yinhe"), ("长城", "Changcheng"),
)  # fmt: skip
_CN_SUFFIXES = ("有限公司", "有限公司", "股份有限公司", "科技有限公司")

_OWNERS_CN: tuple[tuple[str, str], ...] = (
    ("Li Na", "li.na@sheetcrm-demo.example"),
    ("Wang Lei", "wang.lei@sheetcrm-demo.example"),
    ("Chen Jing", "chen.jing@sheetcrm-demo.example"),
    ("Zhou Min", "zhou.min@sheetcrm-demo.example"),
)
_OWNERS_US: tuple[tuple[str, str], ...] = (
    ("Emily Carter", "emily.carter@sheetcrm-demo.example"),
    ("David Kim", "david.kim@sheetcrm-demo.example"),
    ("Michael Brooks", "michael.brooks@sheetcrm-demo.example"),
)

_TITLES_EN = (
    "CEO", "CTO", "Purchasing Manager", "Procurement Lead", "Operations Director",
    "Office Manager", "Head of IT", "Buyer", "VP Sales", "Founder", "Supply Chain Manager",
)  # fmt: skip
_TITLES_CN = ("总经理", "采购经理", "采购主管", "技术总监", "运营总监", "行政经理", "IT主管", "董事长", "财务经理")
_SOURCES = ("website", "referral", "trade show", "cold call", "wechat", "linkedin", "partner", "email campaign")
_TAGS = (
    "wholesale", "repeat", "price-sensitive", "trade-show-2024", "newsletter", "reseller",
    "key-account", "government", "export", "onboarding", "late-payer", "early-adopter",
)  # fmt: skip
_CUSTOMER_NOTES = (
    "Prefers email over phone.",
    "请下午联系",
    "Met at Canton Fair; interested in bulk pricing.",
    "Asked for a quote on the annual plan.",
    "需要增值税专用发票",
    "Call after 3pm Beijing time.",
    "Decision maker is the GM; this contact is the gatekeeper.",
    "Moved to new office in March.",
    "年底有采购预算",
    "=== handle personally, long-standing account ===",
    "=> prefers WeChat voice messages",
    "Payment terms: net 30",
    "- ask about the Q3 expansion",
    "+ add to the holiday gift list",
)
_FREE_MAIL_CN = ("qq.com", "163.com", "126.com", "foxmail.com")
_FREE_MAIL_US = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")

# (product, unit price in CNY)
_PRODUCTS: tuple[tuple[str, float], ...] = (
    ("Barcode Scanner BS-10", 360.0),
    ("Smart Label Printer LP-2", 1299.0),
    ("Thermal Paper Roll (box of 50)", 85.0),
    ("Industrial Sensor IS-200", 480.0),
    ("RFID Tags (1000 pcs)", 650.0),
    ("Warehouse Shelf Kit", 2200.0),
    ("Handheld Terminal HT-5", 3150.0),
    ("Annual Service Plan", 9800.0),
    ("工业平板电脑 T10", 4200.0),
    ("安全手套（100双）", 120.0),
    ("条码标签纸（卷）", 18.5),
    ("Cloud Inventory Seat (1 yr)", 1580.0),
)
_USD_PER_CNY = 0.14
_ORDER_NOTES = (
    "Rush delivery requested",
    "Deliver to back entrance",
    "发票随货",
    "Partial shipment OK",
    "客户要求周末送货",
    "Gift wrap",
    "=2 boxes damaged on arrival, replaced",
    "PO attached in email",
)

_SUMMARIES: dict[str, tuple[str, ...]] = {
    "phone": ("Called to confirm delivery date", "Discussed pricing for next quarter", "电话沟通续约事宜", "Follow-up call on quote"),
    "email": ("Sent quotation", "Followed up on invoice", "发送产品目录", "Shared case study"),
    "meeting": ("On-site demo", "Quarterly business review", "拜访客户，介绍新产品", "Contract negotiation meeting"),
    "wechat": ("微信沟通报价", "Sent product photos on WeChat", "确认发货时间", "微信语音沟通需求"),
    "other": ("Met at trade show", "LinkedIn message", "Webinar attendee", "展会交流"),
}  # fmt: skip
_OUTCOMES = (
    "connected",
    "no answer",
    "left voicemail",
    "quote sent",
    "meeting booked",
    "order placed",
    "not interested",
    "follow-up needed",
)
_NEXT_STEPS = (
    "Send revised proposal",
    "Schedule technical demo",
    "安排技术交流",
    "Confirm budget with finance",
    "Get sign-off from GM",
    "发送合同草稿",
    "Follow up after trade show",
    "",
)


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------


@dataclass
class _Company:
    base: str  # without suffix: what a duplicate entry may drop
    suffix: str
    domain: str
    industry: str
    chinese: bool

    @property
    def name(self) -> str:
        if not self.suffix:
            return self.base
        if self.chinese and not self.suffix.isascii():
            return self.base + self.suffix  # 有限公司 is written without a space
        return f"{self.base} {self.suffix}"


@dataclass
class _Customer:
    name: str | None
    name_style: str  # "cn" (characters), "pinyin" or "en"
    given: str
    surname: str
    pinyin_given: str
    pinyin_surname: str
    company: str
    company_obj: _Company
    title: str
    phone: str | None
    phone_digits: str  # national number, for uniqueness
    email: str
    address: str
    city: _City
    postcode: str
    tier: str
    tags: str
    owner: str
    owner_email: str
    source: str
    birthday: dt.date | None
    created_at: dt.date
    last_contact: dt.date | None
    next_follow_up: dt.date | None
    consent: str
    notes: str | None
    duplicate_of: _Customer | None = None
    customer_id: str = ""
    # Cells written instead of the true value (a date typed as text, an impossible date):
    # the true dates stay on the record so orders and interactions remain consistent.
    overrides: dict[str, CellValue] = field(default_factory=dict)

    @property
    def chinese(self) -> bool:
        return self.city.country == "China"

    def row(self) -> list[CellValue]:
        values: dict[str, CellValue] = {
            "customer_id": self.customer_id,
            "name": self.name,
            "company": self.company,
            "title": self.title,
            "phone": self.phone,
            "email": self.email,
            "address": self.address,
            "city": self.city.name,
            "postcode": self.postcode,
            "region": self.city.region,
            "country": self.city.country,
            "industry": self.company_obj.industry,
            "tier": self.tier,
            "tags": self.tags,
            "owner": self.owner,
            "owner_email": self.owner_email,
            "source": self.source,
            "birthday": self.birthday,
            "created_at": self.created_at,
            "last_contact": self.last_contact,
            "next_follow_up": self.next_follow_up,
            "consent": self.consent,
            "notes": self.notes,
        }
        values.update(self.overrides)
        return [values[header] for header in CUSTOMER_HEADERS]


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`write_sample_workbook` wrote.

    ``rows`` maps each sheet to its number of data rows; ``planted`` maps each kind in
    :data:`PLANTED_KINDS` to the cells (``"Customers!E14"``) holding a planted problem.
    """

    path: Path
    rows: dict[str, int]
    planted: dict[str, list[str]]


# ---------------------------------------------------------------------------------------
# Small generators
# ---------------------------------------------------------------------------------------


def _weighted(rng: random.Random, options: Sequence[tuple[_T, int]]) -> _T:
    return rng.choices([option for option, _ in options], weights=[weight for _, weight in options])[0]


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _cn_phone(rng: random.Random) -> tuple[str, str]:
    digits = rng.choice(_CN_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    return digits, _format_cn_phone(rng, digits)


def _format_cn_phone(rng: random.Random, digits: str, avoid: str | None = None) -> str:
    a, b, c = digits[:3], digits[3:7], digits[7:]
    formats = ((f"+86 {a} {b} {c}", 3), (digits, 4), (f"{a}-{b}-{c}", 2), (f"+86{digits}", 1), (f"{a} {b} {c}", 2))
    return _weighted(rng, [(text, weight) for text, weight in formats if text != avoid])


def _us_phone(rng: random.Random, city: _City) -> tuple[str, str]:
    exchange = rng.randint(200, 999)
    if exchange % 100 == 11:  # N11 codes (411, 911) are not exchanges
        exchange += 1
    digits = f"{rng.choice(city.area_codes)}{exchange}{rng.randrange(10**4):04d}"
    return digits, _format_us_phone(rng, digits)


def _format_us_phone(rng: random.Random, digits: str, avoid: str | None = None) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    formats = [f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"{a}-{b}-{c}", f"+1 ({a}) {b}-{c}"]
    options = [text for text in formats if text != avoid]
    return rng.choice(options)


def _postcode(rng: random.Random, city: _City) -> str:
    if city.country == "China":
        return city.postcode_prefix + f"{rng.randrange(0, 10)}{rng.choice('0123')}{rng.randrange(10)}"
    return city.postcode_prefix + f"{rng.randrange(100):02d}"


def _address(rng: random.Random, city: _City, chinese_script: bool) -> str:
    number = rng.randint(1, 999)
    if city.country == "China":
        if chinese_script:
            return f"{city.name_cn}市{rng.choice(city.districts)}{rng.choice(_CN_ROADS)}{number}号"
        return f"{number} {rng.choice(_CN_ROADS_EN)}, {city.name}"
    address = f"{number} {rng.choice(_US_STREETS)} {rng.choice(_US_STREET_KINDS)}"
    if rng.random() < 0.2:
        address += f", Suite {rng.randint(1, 30) * 100}"
    return address


def _company(rng: random.Random, chinese: bool) -> _Company:
    industry, word_en, word_cn, word_domain = rng.choice(_INDUSTRIES)
    if chinese and rng.random() < 0.75:
        brand, brand_py = rng.choice(_CN_BRANDS)
        city_prefix = rng.choice(("", "", "上海", "深圳", "北京", "杭州"))
        suffix = rng.choice(_CN_SUFFIXES)
        base = f"{city_prefix}{brand}{word_cn}"
        if suffix == "科技有限公司":  # 华信电子科技有限公司: keep "科技" in the suffix only once
            base = f"{city_prefix}{brand}{word_cn.removesuffix('科技')}"
        tld = rng.choice(("com.cn", "cn", "com"))
        return _Company(base, suffix, f"{brand_py.lower()}{word_domain}.{tld}", industry, True)
    if chinese:  # the English name a Chinese company uses abroad
        brand, brand_py = rng.choice(_CN_BRANDS)
        suffix = rng.choice(("Co., Ltd.", "Ltd", "Co."))
        return _Company(f"{brand_py} {word_en}", suffix, f"{brand_py.lower()}{word_domain}.com", industry, False)
    brand = rng.choice(_EN_BRANDS)
    suffix = rng.choice(_EN_SUFFIXES)
    domain = brand.lower().replace(" ", "") + rng.choice(("", "-" + word_domain)) + ".com"
    return _Company(f"{brand} {word_en}", suffix, domain, industry, False)


def _email_local(rng: random.Random, first: str, last: str) -> str:
    first, last = first.lower(), last.lower()
    return rng.choice(
        (f"{first}.{last}", f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{last}.{first}")
    )


def _typo_word(rng: random.Random, word: str) -> str:
    """A misspelling of ``word`` that is not itself a known name part."""
    for _ in range(20):
        chars = list(word)
        position = rng.randrange(1, len(chars)) if len(chars) > 1 else 0
        how = rng.randrange(4)
        if how == 0 and len(chars) > 2:  # swapped neighbours: Jonh
            position = min(position, len(chars) - 2)
            chars[position], chars[position + 1] = chars[position + 1], chars[position]
        elif how == 1 and len(chars) > 3:  # dropped letter: Jenifer
            del chars[position]
        elif how == 2:  # doubled letter: Smitth
            chars.insert(position, chars[position])
        else:  # neighbouring key: Smoth
            chars[position] = rng.choice("aeiouy" if chars[position].lower() in "aeiouy" else "rtnslmhk")
        candidate = "".join(chars)
        if candidate != word and candidate.casefold() not in _NAME_PARTS:
            return candidate
    return word + "h"


# ---------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, customers: int, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.n = customers
        self.today = today
        self.planted: dict[str, list[tuple[int, int, int, str]]] = {kind: [] for kind in PLANTED_KINDS}
        self.phones: set[str] = set()
        self.emails: set[str] = set()

    # -- planted bookkeeping -------------------------------------------------------------

    _SHEET_ORDER = ("Customers", "Orders", "Interactions", "Opportunities")

    def plant(self, kind: str, sheet: str, row: int, header: str) -> None:
        headers = {"Customers": CUSTOMER_HEADERS, "Orders": ORDER_HEADERS}[sheet]
        column = headers.index(header) + 1
        ref = qualified(sheet, f"{column_letter(column)}{row}")
        self.planted[kind].append((self._SHEET_ORDER.index(sheet), row, column, ref))

    def planted_refs(self) -> dict[str, list[str]]:
        return {kind: [ref for *_, ref in sorted(cells)] for kind, cells in self.planted.items()}

    def count(self, rate: float, population: int | None = None) -> int:
        """How many rows get a planted problem: at least one once the sample is big enough."""
        population = self.n if population is None else population
        wanted = round(rate * population)
        return max(1, wanted) if self.n >= 20 and population > 0 else wanted

    # -- customers -----------------------------------------------------------------------

    def unique_email(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        suffix = 1
        while email.casefold() in self.emails:
            suffix += 1
            email = f"{local}{suffix}@{domain}"
        self.emails.add(email.casefold())
        return email

    def customer(self, companies_cn: list[_Company], companies_en: list[_Company]) -> _Customer:
        rng = self.rng
        chinese = rng.random() < 0.65
        city = _weighted(rng, _CN_CITIES if chinese else _US_CITIES)
        company = rng.choice(companies_cn if chinese else companies_en)

        # Chinese customers mostly have Chinese names in characters; some are romanised,
        # a few are expats. US customers include Chinese-Americans written in pinyin.
        roll = rng.random()
        if (chinese and roll < 0.85) or (not chinese and roll < 0.2):
            surname, surname_py = rng.choice(_CN_SURNAMES)
            given, given_py = rng.choice(_CN_GIVEN)
            if chinese and roll < 0.62:
                style, name = "cn", surname + given
            else:
                style = "pinyin"
                name = f"{given_py} {surname_py}" if not chinese or rng.random() < 0.3 else f"{surname_py} {given_py}"
            local = _email_local(rng, given_py, surname_py)
        else:
            given, surname = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
            given_py, surname_py = given, surname
            style, name = "en", f"{given} {surname}"
            local = _email_local(rng, given, surname)

        while True:
            digits, phone = _cn_phone(rng) if chinese else _us_phone(rng, city)
            if digits not in self.phones:
                self.phones.add(digits)
                break

        free_mail = _FREE_MAIL_CN if chinese else _FREE_MAIL_US
        domain = company.domain if rng.random() < 0.7 else rng.choice(free_mail)
        email = self.unique_email(local, domain)
        if rng.random() < 0.05:  # some people type their address capitalised
            email = email[0].upper() + email[1:]

        tier = _weighted(rng, (("VIP", 5), ("Key", 15), ("Standard", 80)))
        owners = _OWNERS_CN if chinese else _OWNERS_US
        owner, owner_email = rng.choice(owners)

        created_at = self.today - dt.timedelta(days=rng.randint(7, 4 * 365))
        if tier in ("VIP", "Key"):
            last_contact: dt.date | None = _date_between(
                rng, max(created_at, self.today - dt.timedelta(days=RECENT_CONTACT_DAYS)), self.today
            )
        elif rng.random() < 0.06:
            last_contact = None  # never contacted
        else:
            # Skewed towards recent: the later of two draws.
            last_contact = max(_date_between(rng, created_at, self.today) for _ in range(2))
        next_follow_up = None
        if last_contact is not None and rng.random() < 0.5:
            next_follow_up = last_contact + dt.timedelta(days=rng.randint(3, 45))
        birthday = None
        if rng.random() < 0.4:
            birthday = dt.date(rng.randint(1958, 2001), rng.randint(1, 12), rng.randint(1, 28))

        n_tags = _weighted(rng, ((0, 4), (1, 4), (2, 2), (3, 1)))
        tags = ", ".join(rng.sample(_TAGS, n_tags))
        if rng.random() < 0.3:
            notes: str | None = rng.choice(_CUSTOMER_NOTES)
        else:
            notes = None
        chinese_title = chinese and style == "cn" and rng.random() < 0.6
        return _Customer(
            name=name,
            name_style=style,
            given=given,
            surname=surname,
            pinyin_given=given_py,
            pinyin_surname=surname_py,
            company=company.name,
            company_obj=company,
            title=rng.choice(_TITLES_CN if chinese_title else _TITLES_EN) if rng.random() < 0.85 else "",
            phone=phone,
            phone_digits=digits,
            email=email,
            address=_address(rng, city, chinese_script=chinese and rng.random() < 0.7),
            city=city,
            postcode=_postcode(rng, city),
            tier=tier,
            tags=tags,
            owner=owner,
            owner_email=owner_email,
            source=rng.choice(_SOURCES),
            birthday=birthday,
            created_at=created_at,
            last_contact=last_contact,
            next_follow_up=next_follow_up,
            consent=_weighted(rng, (("yes", 7), ("no", 3))),
            notes=notes,
        )

    def duplicate(self, original: _Customer) -> _Customer:
        """The same person entered again later, the way people re-enter a contact."""
        rng = self.rng
        copy = _Customer(**{**original.__dict__, "overrides": {}})
        variations = rng.sample(("name", "phone", "email", "company"), rng.randint(2, 3))
        if "name" in variations:
            if original.name_style == "cn":
                copy.name = rng.choice(
                    (f"{original.pinyin_surname} {original.pinyin_given}", f"{original.surname} {original.given}")
                )
            elif original.name_style == "pinyin":
                first, _, second = (original.name or "").partition(" ")
                copy.name = rng.choice(
                    (f"{second} {first}", f"{original.pinyin_surname.upper()} {original.pinyin_given}")
                )
            else:
                copy.name = rng.choice(
                    (f"{original.surname}, {original.given}", f"{original.surname} {original.given}")
                )
        if "phone" in variations:
            if original.chinese:
                copy.phone = _format_cn_phone(rng, original.phone_digits, avoid=original.phone)
            else:
                copy.phone = _format_us_phone(rng, original.phone_digits, avoid=original.phone)
        if "email" in variations:
            local, _, domain = original.email.partition("@")
            copy.email = rng.choice((original.email.upper(), f"{local.title()}@{domain}", f"{local}@{domain.upper()}"))
            if copy.email == original.email:
                copy.email = original.email.upper()
        if "company" in variations:
            company = original.company_obj
            copy.company = company.base if company.suffix else company.name + rng.choice((" Ltd", "有限公司"))
        # Entered later, maybe by a colleague, who also left a few fields blank.
        copy.created_at = _date_between(rng, original.created_at + dt.timedelta(days=1), self.today)
        if original.last_contact is not None:
            copy.last_contact = max(copy.created_at, original.last_contact)
        copy.next_follow_up = None
        copy.birthday = original.birthday if rng.random() < 0.5 else None
        copy.owner, copy.owner_email = rng.choice(_OWNERS_CN if original.chinese else _OWNERS_US)
        copy.notes = rng.choice((None, "Added from business card", "新录入", None))
        return copy

    def customers(self) -> list[_Customer]:
        rng = self.rng
        n_duplicates = self.count(0.03) if self.n >= 2 else 0
        n_companies = max(1, self.n // 3)
        companies_cn = [_company(rng, chinese=True) for _ in range(max(1, n_companies * 2 // 3))]
        companies_en = [_company(rng, chinese=False) for _ in range(max(1, n_companies // 3))]
        people = [self.customer(companies_cn, companies_en) for _ in range(self.n - n_duplicates)]
        originals = rng.sample(range(len(people)), n_duplicates)
        copies = []
        for index in originals:
            copy = self.duplicate(people[index])
            copy.duplicate_of = people[index]
            copies.append(copy)
        # Ids follow creation order, as in a real CRM; a re-entered contact gets a later id.
        records = [(person.created_at, i, person) for i, person in enumerate(people)]
        records += [(copy.created_at, len(people) + i, copy) for i, copy in enumerate(copies)]
        records.sort(key=lambda record: (record[0], record[1]))
        width = max(6, len(str(self.n)))
        for number, (_, _, person) in enumerate(records, start=1):
            person.customer_id = f"C-{number:0{width}d}"
        return [person for _, _, person in records]

    # -- planting ------------------------------------------------------------------------

    def plant_customer_problems(self, customers: list[_Customer]) -> None:
        rng = self.rng
        # Duplicates, and the originals they copy, get no other problem: the pair must
        # stay recognisable by phone and email.
        position = {id(person): i for i, person in enumerate(customers)}
        reserved: set[int] = set()
        for i, person in enumerate(customers):
            if person.duplicate_of is not None:
                self.plant("duplicate", "Customers", i + 2, "customer_id")
                reserved.update((i, position[id(person.duplicate_of)]))
        free = [i for i in range(len(customers)) if i not in reserved]
        rng.shuffle(free)

        def take(k: int, eligible: Callable[[_Customer], bool] = lambda _: True) -> list[int]:
            chosen: list[int] = []
            rest: list[int] = []
            for i in free:
                if len(chosen) < k and eligible(customers[i]):
                    chosen.append(i)
                else:
                    rest.append(i)
            free[:] = rest
            return sorted(chosen)

        stale_cutoff = self.today - dt.timedelta(days=STALE_AFTER_DAYS + 21)
        key_accounts = sum(1 for p in customers if p.tier in ("VIP", "Key"))
        for i in take(
            self.count(0.08, key_accounts), lambda p: p.tier in ("VIP", "Key") and p.created_at <= stale_cutoff
        ):
            person = customers[i]
            person.last_contact = _date_between(
                rng, max(person.created_at, self.today - dt.timedelta(days=800)), stale_cutoff
            )
            person.next_follow_up = None if rng.random() < 0.6 else person.last_contact + dt.timedelta(days=14)
            self.plant("stale", "Customers", i + 2, "last_contact")

        for i in take(self.count(0.01)):
            customers[i].tier = rng.choice(("vip", "Gold", "Platinum", "key account", "VIP ", "standard", "Premium"))
            self.plant("bad_choice", "Customers", i + 2, "tier")

        for i in take(self.count(0.01)):
            header = "name" if rng.random() < 0.5 else "phone"
            if header == "name":
                customers[i].name = None
            else:
                customers[i].phone = None
            self.plant("missing_required", "Customers", i + 2, header)

        for i in take(self.count(0.015)):
            person = customers[i]
            person.name = self.typo_name(person)
            self.plant("typo", "Customers", i + 2, "name")

        for i in take(self.count(0.015)):
            person = customers[i]
            person.phone = self.bad_phone(person)
            self.plant("bad_phone", "Customers", i + 2, "phone")

        for i in take(self.count(0.015)):
            person = customers[i]
            person.email = self.bad_email(person.email)
            self.plant("bad_email", "Customers", i + 2, "email")

        for i in take(self.count(0.01)):
            person = customers[i]
            header = rng.choice([h for h in _CUSTOMER_DATE_FIELDS if getattr(person, h) is not None])
            true_date: dt.date = getattr(person, header)
            person.overrides[header] = self.impossible_date(true_date)
            self.plant("bad_date", "Customers", i + 2, header)

        # One import batch of a few customers came with every date typed as text.
        for i in take(self.count(0.04)):
            person = customers[i]
            style = rng.choice(("slash", "dot", "english", "chinese"))
            for header in _CUSTOMER_DATE_FIELDS:
                value = getattr(person, header)
                if value is not None:
                    person.overrides[header] = _date_text(value, style)
                    self.plant("mixed_date_format", "Customers", i + 2, header)

    def typo_name(self, person: _Customer) -> str:
        rng = self.rng
        name = person.name or ""
        if person.name_style == "cn":
            chars = list(name)
            position = rng.randrange(len(chars))
            sounds_alike = [char for char in _CN_HOMOPHONES[chars[position]] if char not in _NAME_PARTS]
            chars[position] = rng.choice(sounds_alike)
            return "".join(chars)
        words = name.split(" ")
        position = rng.randrange(len(words))
        words[position] = _typo_word(rng, words[position])
        return " ".join(words)

    def bad_phone(self, person: _Customer) -> str:
        rng = self.rng
        phone = person.phone or ""
        how = rng.randrange(5)
        if how == 0:  # a digit short
            last = max(i for i, char in enumerate(phone) if char.isdigit())
            return phone[:last] + phone[last + 1 :]
        if how == 1:  # a digit too many
            return phone + rng.choice("0123456789")
        if how == 2:  # letter O typed for zero
            zeros = [i for i, char in enumerate(phone) if char == "0"]
            if zeros:
                i = rng.choice(zeros)
                return phone[:i] + "O" + phone[i + 1 :]
            return phone[:-1] + "O"
        if how == 3:  # placeholder digits
            return rng.choice(("0000000000", "1234567", "12345678901", "000-000-0000", "123"))
        return phone[: len(phone) // 2]  # cut off half-way

    def bad_email(self, email: str) -> str:
        local, _, domain = email.partition("@")
        base, _, _ = domain.rpartition(".")
        return self.rng.choice(
            (
                f"{local}@{domain.partition('.')[0]}",  # no top-level domain
                f"{local}.{domain}",  # no @
                f"{local}@@{domain}",
                f"{local.replace('.', ' ', 1) if '.' in local else local + ' x'}@{domain}",
                f"{local}@{base},{domain.rpartition('.')[2]}",  # comma for dot
                f"{local}@",
            )
        )

    def impossible_date(self, near: dt.date) -> str:
        rng = self.rng
        year = near.year
        month = rng.choice((2, 4, 6, 9, 11))
        day = 30 if month == 2 else 31
        style = _weighted(rng, (("iso", 6), ("slash", 1), ("chinese", 1), ("dot", 1), ("month13", 1)))
        if style == "iso":
            return f"{year}-{month:02d}-{day:02d}"
        if style == "slash":
            return f"{year}/{month}/{day}"
        if style == "dot":
            return f"{year}.{month:02d}.{day:02d}"
        if style == "chinese":
            return f"{year}年{month}月{day}日"
        return f"{year}-13-{near.day:02d}"

    # -- other sheets --------------------------------------------------------------------

    def orders(self, customers: list[_Customer]) -> list[list[CellValue]]:
        rng = self.rng
        today = self.today
        history_start = today - dt.timedelta(days=_ORDER_HISTORY_DAYS)
        drafts: list[tuple[dt.date, int, _Customer]] = []
        serial = 0
        for person in customers:
            # Skewed: about a third never ordered, a few order every other week.
            if rng.random() < 0.35:
                continue
            boost = {"VIP": 2.5, "Key": 1.6}.get(person.tier, 1.0)
            count = min(80, int(rng.lognormvariate(1.05, 0.95) * boost) + 1)
            start = max(person.created_at, history_start)
            for _ in range(count):
                drafts.append((_date_between(rng, start, today), serial, person))
                serial += 1
        drafts.sort(key=lambda draft: (draft[0], draft[1]))

        width = max(7, len(str(len(drafts))))
        rows: list[list[CellValue]] = []
        for number, (order_date, _, person) in enumerate(drafts, start=1):
            age = (today - order_date).days
            if age <= 3:
                status = _weighted(rng, (("received", 5), ("confirmed", 4), ("cancelled", 1)))
            elif age <= 10:
                status = _weighted(rng, (("confirmed", 2), ("processing", 4), ("shipped", 5), ("cancelled", 1)))
            elif age <= 30:
                status = _weighted(rng, (("shipped", 3), ("completed", 12), ("cancelled", 1), ("returned", 1)))
            else:
                status = _weighted(rng, (("completed", 85), ("cancelled", 8), ("returned", 7)))
            shipped_at: dt.date | None = None
            delivered_at: dt.date | None = None
            if status in ("shipped", "completed", "returned"):
                shipped_at = min(today, order_date + dt.timedelta(days=rng.randint(1, 5)))
                if status != "shipped":
                    delivered_at = shipped_at + dt.timedelta(days=rng.randint(1, 7))
                    if delivered_at > today:
                        delivered_at, status = None, "shipped"
            product, price_cny = rng.choice(_PRODUCTS)
            quantity = _weighted(rng, ((1, 30), (2, 15), (5, 15), (10, 15), (20, 10), (50, 8), (100, 5), (500, 2)))
            quantity = max(1, quantity + rng.randint(-quantity // 3, quantity // 3))
            currency = "CNY" if person.chinese else "USD"
            unit_price = price_cny if currency == "CNY" else round(price_cny * _USD_PER_CNY, 2)
            if rng.random() < 0.2:  # negotiated discount
                unit_price = round(unit_price * rng.choice((0.9, 0.85, 0.95)), 2)
            tracking = None
            if shipped_at is not None:
                if person.chinese:
                    tracking = "SF" + "".join(rng.choices("0123456789", k=12))
                else:
                    tracking = "1Z" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=16))
            rows.append(
                [
                    f"O-{number:0{width}d}",
                    person.customer_id,
                    order_date,
                    status,
                    product,
                    quantity,
                    unit_price,
                    round(quantity * unit_price, 2),
                    currency,
                    shipped_at,
                    delivered_at,
                    tracking,
                    rng.choice(_ORDER_NOTES) if rng.random() < 0.08 else None,
                ]
            )

        # A few order statuses typed by hand, and a few impossible delivery dates.
        status_column = ORDER_HEADERS.index("status")
        delivered_column = ORDER_HEADERS.index("delivered_at")
        candidates = list(range(len(rows)))
        rng.shuffle(candidates)
        n_bad_status = self.count(0.002, len(rows))
        for i in sorted(candidates[:n_bad_status]):
            true_status = rows[i][status_column]
            rows[i][status_column] = {"shipped": "Shipped", "cancelled": "canceled", "completed": "done"}.get(
                str(true_status), "Complete"
            )
            self.plant("bad_choice", "Orders", i + 2, "status")
        delivered = [i for i in candidates[n_bad_status:] if rows[i][delivered_column] is not None]
        for i in sorted(delivered[: self.count(0.001, len(rows)) if delivered else 0]):
            true_date = rows[i][delivered_column]
            assert isinstance(true_date, dt.date)
            rows[i][delivered_column] = self.impossible_date(true_date)
            self.plant("bad_date", "Orders", i + 2, "delivered_at")
        return rows

    def interactions(self, customers: list[_Customer]) -> list[list[CellValue]]:
        rng = self.rng
        history_start = self.today - dt.timedelta(days=_ORDER_HISTORY_DAYS)
        drafts: list[tuple[dt.date, int, _Customer]] = []
        for person in customers:
            if person.last_contact is None:
                continue
            # The last contact is an interaction; earlier ones are spread before it.
            extra = _weighted(rng, ((0, 6), (1, 4), (2, 2), (4, 1)))
            if person.tier in ("VIP", "Key"):
                extra += 1
            dates = [person.last_contact]
            start = max(person.created_at, history_start)
            dates += [_date_between(rng, start, person.last_contact) for _ in range(extra)]
            drafts += [(date, len(drafts) + k, person) for k, date in enumerate(dates)]
        drafts.sort(key=lambda draft: (draft[0], draft[1]))

        width = max(7, len(str(len(drafts))))
        rows: list[list[CellValue]] = []
        for number, (date, _, person) in enumerate(drafts, start=1):
            if person.chinese:
                channel = _weighted(rng, (("wechat", 5), ("phone", 3), ("email", 2), ("meeting", 2), ("other", 1)))
            else:
                channel = _weighted(rng, (("email", 5), ("phone", 4), ("meeting", 2), ("other", 1), ("wechat", 0)))
            owner = person.owner
            if rng.random() < 0.1:
                owner = rng.choice(_OWNERS_CN if person.chinese else _OWNERS_US)[0]
            rating = rng.randint(1, 5) if rng.random() < 0.7 else None
            rows.append(
                [
                    f"I-{number:0{width}d}",
                    person.customer_id,
                    date,
                    channel,
                    rng.choice(_SUMMARIES[channel]),
                    owner,
                    rng.choice(_OUTCOMES),
                    rating,
                ]
            )
        return rows

    def opportunities(self, customers: list[_Customer]) -> list[list[CellValue]]:
        rng = self.rng
        today = self.today
        rows: list[list[CellValue]] = []
        for person in customers:
            chance = {"VIP": 1.2, "Key": 0.8}.get(person.tier, 0.3)
            count = int(chance) + (1 if rng.random() < chance % 1 else 0)
            for _ in range(count):
                stage = _weighted(
                    rng, (("lead", 5), ("qualified", 4), ("proposal", 3), ("negotiation", 2), ("won", 4), ("lost", 3))
                )
                updated_at = _date_between(rng, max(person.created_at, today - dt.timedelta(days=365)), today)
                if stage in ("won", "lost"):
                    expected_close = updated_at - dt.timedelta(days=rng.randint(0, 20))
                    next_step = ""
                else:
                    # Some open deals are past their expected close: normal pipeline mess.
                    expected_close = updated_at + dt.timedelta(days=rng.randint(7, 150))
                    next_step = rng.choice(_NEXT_STEPS)
                product = rng.choice(_PRODUCTS)[0]
                title = rng.choice(
                    (
                        f"{product} for {person.company}",
                        f"{expected_close.year} annual supply contract",
                        f"Q{(expected_close.month - 1) // 3 + 1} {product} rollout",
                        f"{person.company} 年度采购",
                    )
                )
                amount = float(rng.choice((5, 10, 20, 50, 80, 120, 250, 500)) * 1000 + rng.randint(0, 99) * 10)
                if not person.chinese:
                    amount = round(amount * _USD_PER_CNY, 2)
                rows.append(
                    [
                        "",
                        person.customer_id,
                        title,
                        stage,
                        amount,
                        expected_close,
                        person.owner,
                        next_step or None,
                        updated_at,
                    ]
                )
        width = max(6, len(str(len(rows))))
        for number, row in enumerate(rows, start=1):
            row[0] = f"OP-{number:0{width}d}"
        return rows


def _date_text(value: dt.date, style: str) -> str:
    if style == "slash":
        return f"{value.year}/{value.month}/{value.day}"
    if style == "dot":
        return f"{value.year}.{value.month:02d}.{value.day:02d}"
    if style == "english":
        return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月{value.day}日"


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def _display_width(value: CellValue) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return 10
    text = value if isinstance(value, str) else str(value)
    # CJK characters take two columns in Excel's default font.
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


def _write_sheet(workbook: Workbook, title: str, headers: Sequence[str], rows: list[list[CellValue]]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(list(headers))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    for row_number, row in enumerate(rows, start=2):
        # Empty cells are left out rather than appended as None: openpyxl's pure-Python
        # writer (no lxml here) is what bounds the time taken, at ~15 µs a cell.
        cells: dict[int, CellValue] = {}
        looks_like_formula: list[int] = []
        for column, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            cells[column] = value
            if isinstance(value, str) and value.startswith("="):
                looks_like_formula.append(column)
        sheet.append(cells)
        # openpyxl turns any string starting with "=" into a formula; notes like
        # "=== handle personally ===" must stay text.
        for column in looks_like_formula:
            sheet.cell(row=row_number, column=column).data_type = "s"
    # Dates get openpyxl's default yyyy-mm-dd number format when appended.
    sample = rows[:300]
    for column, header in enumerate(headers, start=1):
        widest = max([_display_width(row[column - 1]) for row in sample] + [len(header)])
        sheet.column_dimensions[column_letter(column)].width = min(max(widest + 2, 8), 48)


def write_sample_workbook(
    path: str | Path, *, customers: int = 3000, seed: int = 7, today: dt.date | None = None
) -> SampleSummary:
    """Write a messy sample CRM workbook to ``path`` and say what was planted where.

    The content is a pure function of ``(customers, seed, today)``; ``today`` defaults to
    the current date and anchors every date in the workbook (orders cover the two years
    before it). ``customers`` is the number of rows of the Customers sheet, duplicates
    included.
    """
    if customers < 0:
        raise ValueError(f"customers must be >= 0, not {customers}")
    today = dt.date.today() if today is None else today
    generator = _Generator(customers, seed, today)
    people = generator.customers()
    generator.plant_customer_problems(people)
    sheets: dict[str, tuple[tuple[str, ...], list[list[CellValue]]]] = {
        "Customers": (CUSTOMER_HEADERS, [person.row() for person in people]),
        "Orders": (ORDER_HEADERS, generator.orders(people)),
        "Interactions": (INTERACTION_HEADERS, generator.interactions(people)),
        "Opportunities": (OPPORTUNITY_HEADERS, generator.opportunities(people)),
    }

    target = Path(path)
    with collector_paused():
        workbook = Workbook()
        if workbook.active is not None:
            workbook.remove(workbook.active)
        for title, (headers, rows) in sheets.items():
            _write_sheet(workbook, title, headers, rows)
        workbook.save(target)
    return SampleSummary(
        path=target,
        rows={title: len(rows) for title, (_, rows) in sheets.items()},
        planted=generator.planted_refs(),
    )
