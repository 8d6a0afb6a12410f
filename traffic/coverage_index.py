"""The covered-periods table: one row per store, granularity, terminal, region and period that has current figures.

The traffic page reads which periods have data from here, about one index entry per period,
instead of from the figures, which hold one row per source (15 to 30 per period).

Database triggers on the figure table, created by migration 0008, keep it in step. Every
INSERT, UPDATE, DELETE and TRUNCATE of figures adjusts `figure_count`, the number of current
figures of the period, whichever code path writes them: imports, replaced or deleted uploads,
label mappings, deleted stores, tests or raw SQL. A row is deleted when its count reaches 0.
The triggers run once per statement over its transition tables, so a bulk write costs one
grouped INSERT or UPDATE more (about 16% on a 2,000,000-row INSERT ... SELECT).

PostgreSQL only. SQLite has no statement triggers, and row triggers made inserts about three
times slower there, so on SQLite the page reads coverage from the figures themselves, which is
fast enough for the single-machine default. A code path that bypasses triggers (for example
session_replication_role = replica) must call rebuild_covered_periods afterwards.

The table has no Django model, so `migrate` alone creates it and the ORM never writes to it.
"""

from django.db import connection, transaction

TABLE = "traffic_covered_period"
KEY_COLUMNS = ("store_id", "granularity", "terminal", "region", "period_start")


def uses_covered_periods() -> bool:
    """Return whether the database keeps the covered-periods table: PostgreSQL does, SQLite does not."""
    return connection.vendor == "postgresql"


def rebuild_covered_periods(store_id: int | None = None) -> None:
    """Recompute the table from the current figures, for one store or all of them.

    The triggers keep the table right, so this is for repair and checks only. It locks the
    figure table against writes while it runs, so no write can slip between delete and insert.
    PostgreSQL only.
    """
    keys = ", ".join(KEY_COLUMNS)
    store_filter, params = "", []
    if store_id is not None:
        store_filter, params = " AND store_id = %s", [store_id]

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE traffic_trafficfigure IN SHARE MODE")
        cursor.execute(f"DELETE FROM {TABLE} WHERE TRUE{store_filter}", params)
        cursor.execute(
            f"INSERT INTO {TABLE} ({keys}, figure_count) "
            f"SELECT {keys}, COUNT(*) FROM traffic_trafficfigure WHERE is_current{store_filter} GROUP BY {keys}",
            params,
        )


def stale_covered_periods(store_id: int | None = None) -> list[tuple]:
    """Return the keys, with both counts, where the table and the current figures differ.

    An empty list means the table is in step. PostgreSQL only.
    """
    keys = ", ".join(KEY_COLUMNS)
    store_filter = "" if store_id is None else " AND store_id = %s"

    # A full outer join, written as two anti-joins.
    figures = (
        f"SELECT {keys}, COUNT(*) AS figure_count FROM traffic_trafficfigure "
        f"WHERE is_current{store_filter} GROUP BY {keys}"
    )
    covered = f"SELECT {keys}, figure_count FROM {TABLE} WHERE TRUE{store_filter}"
    join = " AND ".join(f"f.{column} = c.{column}" for column in KEY_COLUMNS)
    sql = (
        f"SELECT f.store_id, f.granularity, f.terminal, f.region, f.period_start, f.figure_count, c.figure_count "
        f"FROM ({figures}) AS f LEFT JOIN ({covered}) AS c ON {join} "
        f"WHERE c.figure_count IS NULL OR c.figure_count <> f.figure_count "
        f"UNION ALL "
        f"SELECT c.store_id, c.granularity, c.terminal, c.region, c.period_start, NULL, c.figure_count "
        f"FROM ({covered}) AS c LEFT JOIN ({figures}) AS f ON {join} WHERE f.figure_count IS NULL"
    )
    # Each of the four subqueries filters by the store once.
    params = [] if store_id is None else [store_id] * 4
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
