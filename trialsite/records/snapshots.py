"""Storing a study-wide snapshot only when it comes from newer data (DESIGN.md §5, issue 8 §5).

``store_snapshot(model, key={"study": study, "dose_level": 2}, data_version=7, values={...})`` is
one statement, a conditional upsert on the model's unique constraint over the ``key`` fields::

    INSERT ... ON CONFLICT (study_id, dose_level)
    DO UPDATE SET ... WHERE stored.data_version < excluded.data_version

so two runs that race on the *first* insert are ordered by the database: the loser of the insert
waits for the winner's row and then updates it only if its data is newer. An older run can never
win the insert and shadow a newer one, and a slow run can never overwrite newer data. PostgreSQL
and SQLite (3.24+) share this syntax; the row count says whether the snapshot was stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connections, models, router

from trialsite import clock


def _unique_field_sets(model) -> list[frozenset[str]]:
    meta = model._meta
    sets = [frozenset(c.fields) for c in meta.constraints if isinstance(c, models.UniqueConstraint)]
    sets += [frozenset(fields) for fields in meta.unique_together]
    sets += [frozenset({f.name}) for f in meta.local_fields if f.unique and not f.primary_key]
    return sets


def _check_key(model, key: Mapping[str, object]) -> None:
    names = frozenset(key)
    if names not in _unique_field_sets(model):
        raise ValueError(
            f"{model.__name__} has no unique constraint on exactly {sorted(names)}: "
            "store_snapshot needs one to order concurrent first inserts."
        )
    missing = [name for name, value in key.items() if value is None]
    if missing:
        raise ValueError(f"Snapshot key fields may not be None (NULLs never conflict): {missing}")


def store_snapshot(
    model: type[models.Model],
    *,
    key: Mapping[str, object],
    data_version: int,
    values: Mapping[str, object],
) -> bool:
    """Store the snapshot of ``key`` computed from ``data_version`` unless newer data is stored.

    ``key`` maps the lookup fields (model instances allowed for foreign keys) and must match a
    unique constraint of ``model``; ``values`` are the other fields. A ``computed_at`` field is
    stamped with ``clock.now()``. Returns True when the row was inserted or replaced, False when
    the stored snapshot already came from the same or newer data.
    """
    _check_key(model, key)
    meta = model._meta
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"store_snapshot has no upsert for {connection.vendor}.")
    quote = connection.ops.quote_name

    row: dict[str, object] = {**key, **values, "data_version": data_version}
    if "computed_at" not in row and any(f.name == "computed_at" for f in meta.concrete_fields):
        row["computed_at"] = clock.now()

    columns, params = [], []
    for name, value in row.items():
        field = meta.get_field(name)
        if isinstance(value, models.Model):
            value = value.pk
        columns.append(field.column)
        params.append(field.get_db_prep_save(value, connection))

    key_columns = [meta.get_field(name).column for name in key]
    update_columns = [c for c in columns if c not in key_columns]
    table = quote(meta.db_table)
    version_column = quote(meta.get_field("data_version").column)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in key_columns)}) DO UPDATE SET "
        + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update_columns)
        + f" WHERE {table}.{version_column} < excluded.{version_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1
