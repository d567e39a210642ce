"""What the CRM tables hold: fields, types and header aliases. Never imports a backend.

A :class:`TableSchema` says what a table holds; checking a sheet against it is done
elsewhere. :func:`to_pandera` compiles a schema to a pandera ``DataFrameSchema`` that
analysts can use on their own DataFrames of text::

    >>> from sheetcrm.schema import CRM_TABLES, to_pandera
    >>> CRM_TABLES["customers"].match_headers(["客户名称", "手机", "WeChat"]).fields
    {'客户名称': 'name', '手机': 'phone'}
    >>> to_pandera(CRM_TABLES["customers"]).validate(frame, lazy=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sheetcrm.schema.custom import FieldConfig, SchemaConfig, build_schemas
from sheetcrm.schema.fields import Field, FieldType
from sheetcrm.schema.tables import CRM_TABLES, HeaderMatch, TableLayout, TableSchema, normalize_header

if TYPE_CHECKING:
    from sheetcrm.schema.pandera import CheckCode, to_pandera

__all__ = [
    "CRM_TABLES",
    "CheckCode",
    "Field",
    "FieldConfig",
    "FieldType",
    "HeaderMatch",
    "SchemaConfig",
    "TableLayout",
    "TableSchema",
    "build_schemas",
    "normalize_header",
    "to_pandera",
]

_LAZY = {"CheckCode", "to_pandera"}  # pandera is imported when first used, not by every CLI start


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from sheetcrm.schema import pandera

        return getattr(pandera, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
