"""Compiling a :class:`~sheetcrm.schema.TableSchema` to a pandera ``DataFrameSchema`` over text columns.

sheetcrm reads every cell as the text a person sees (``""`` for an empty cell), so each
column is a ``str`` column and every rule is a vectorised check on text. Each check is
named by the stable code of what it finds (:class:`CheckCode`), which is the ``check``
column of pandera's ``failure_cases``; with the frame indexed by spreadsheet row number,
the failure ``index`` is the row a person looks for::

    >>> import pandera.pandas as pa
    >>> schema = to_pandera(CRM_TABLES["customers"])
    >>> try:
    ...     schema.validate(customers.frame, lazy=True)
    ... except pa.errors.SchemaErrors as errors:
    ...     print(errors.failure_cases[["column", "check", "index", "failure_case"]])
      column            check  index failure_case
    0   name    missing-value     14
    1  email        bad-email     15   li.na@example

On a frame of your own, read the cells as text: ``pd.read_excel(path, dtype=str)``;
its empty cells (NaN) are missing values in required columns and allowed elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import pandera.pandas as pa

from sheetcrm.schema.checks import CheckCode, field_checks

if TYPE_CHECKING:
    from sheetcrm.schema.tables import TableSchema

__all__ = ["CheckCode", "to_pandera"]


def to_pandera(
    schema: TableSchema,
    *,
    headers: Mapping[str, str] | None = None,
    references: Mapping[str, Collection[str]] | None = None,
) -> pa.DataFrameSchema:
    """A pandera schema checking a DataFrame of text against ``schema``.

    Each field is a ``str`` column named by the field (or, through ``headers``, which maps
    a sheet header to a field name, by that header), required when the field is. An empty
    cell (``""``, or only spaces) is a missing value; a NaN is one too, reported by pandera
    as ``not_nullable`` in required columns and allowed in the others. Every other check
    passes empty cells.

    ``references`` gives the values a reference field may hold, by what it refers to
    (``{"customers.customer_id": customer_ids}``); a reference without them is not checked.

        >>> to_pandera(CRM_TABLES["orders"], references={"customers.customer_id": ids}).validate(frame, lazy=True)
        >>> to_pandera(CRM_TABLES["customers"], headers={"客户名称": "name", "手机": "phone"})
    """
    column_of = {field.name: field.name for field in schema.fields}
    for header, name in (headers or {}).items():
        schema.field(name)  # KeyError naming the fields when there is no such field
        if column_of[name] == name:
            column_of[name] = header
    columns = {
        column_of[field.name]: pa.Column(
            str,
            nullable=not field.required,
            required=field.required,
            checks=[
                pa.Check(check.passes, name=str(check.code), description=check.description)
                for check in field_checks(field, is_id=field.name == schema.id_column, references=references or {})
            ],
            title=field.header,
            description=field.description or None,
            metadata={"field": field.name, "type": str(field.type)},
        )
        for field in schema.fields
    }
    return pa.DataFrameSchema(columns, strict=False, name=schema.key, title=schema.sheet)
