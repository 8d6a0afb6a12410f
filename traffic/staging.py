"""Temporary tables of the worker's database connection, for files too large to hold in memory.

A large visitor-details file stages its visits here, and the database counts
the distinct visitors. A large canonical file stages its figures here, and one
INSERT … SELECT writes them to traffic_figure. Rows arrive with COPY on
PostgreSQL and with executemany on SQLite. A temporary table belongs to one
connection and disappears with it, so a crashed import leaves nothing behind.
"""

import itertools
import logging
import uuid

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

BATCH_ROWS = 10_000


class StagingTable:
    """One temporary table, created empty. Call drop() when done, because the worker's connection lives on."""

    def __init__(self, prefix: str, columns: list[tuple[str, str]]):
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.columns = [name for name, _type in columns]
        definition = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({definition})")

    def load(self, rows) -> int:
        """Append rows (tuples in column order); return how many were written."""
        if connection.vendor == "postgresql":
            return self._copy(rows)
        return self._insert(rows)

    def _copy(self, rows) -> int:
        count = 0
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count

    def _insert(self, rows) -> int:
        placeholders = ", ".join(["%s"] * len(self.columns))
        statement = f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({placeholders})"
        count = 0
        rows = iter(rows)
        with connection.cursor() as cursor:
            while batch := list(itertools.islice(rows, BATCH_ROWS)):
                cursor.executemany(statement, batch)
                count += len(batch)
        return count

    def analyze(self) -> None:
        """Give PostgreSQL's planner the table's statistics; autovacuum never analyzes temporary tables."""
        if connection.vendor == "postgresql":
            self.execute("ANALYZE {table}")

    def execute(self, sql: str, params=()) -> list[tuple]:
        """Run SQL in which {table} names this table; return the rows it selects, if any."""
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("{table}", self.name), params)
            return cursor.fetchall() if cursor.description else []

    def drop(self) -> None:
        """Drop the table; on a broken connection, leave it to disappear with the connection."""
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
        except DatabaseError:
            logger.warning("staging table %s not dropped; it goes with its connection", self.name)


class RowBuffer:
    """Collects rows and hands them to a StagingTable in batches, so memory stays flat."""

    def __init__(self, table: StagingTable):
        self.table = table
        self.rows: list[tuple] = []
        self.count = 0

    def append(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.count += self.table.load(self.rows)
            self.rows = []


FIGURE_COLUMNS = [
    ("row_number", "integer"), ("store", "varchar(100)"), ("granularity", "varchar(8)"), ("period_start", "date"),
    ("terminal", "varchar(16)"), ("region", "varchar(16)"), ("source", "varchar(32)"), ("sub_source", "varchar(64)"),
    ("raw_label", "varchar(200)"), ("visitors", "bigint"), ("inquiry_customers", "bigint"), ("tm_customers", "bigint"),
    ("feedback_conversion_rate", "numeric(9, 6)"),
]
KEY_COLUMNS = ("store", "granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label")
METRIC_COLUMNS = ("visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate")


class FigureStage(StagingTable):
    """Parsed figures of a large canonical file, one row per figure with the file's row number."""

    def __init__(self):
        super().__init__("traffic_stage_figures", FIGURE_COLUMNS)
        self.count = 0

    def fill(self, rows) -> int:
        """Stage rows from an iterator of any length, a batch at a time; return how many."""
        buffer = RowBuffer(self)
        for row in rows:
            buffer.append(row)
        buffer.flush()
        self.count += buffer.count
        self.analyze()
        return buffer.count

    def extend(self, other: "FigureStage") -> None:
        """Move the figures of another stage (another sheet) into this one."""
        columns = ", ".join(self.columns)
        self.execute(f"INSERT INTO {{table}} ({columns}) SELECT {columns} FROM {other.name}")
        self.count += other.count
        other.drop()

    def check_duplicates(self, table, problems: list) -> None:
        """Report a key that appears on two rows, as find_duplicates() describes; drop exact repeats."""
        from traffic.importers.figures import report_duplicate

        repeats = []
        for row_number, first_row, same, label in self.find_duplicates():
            report_duplicate(table, problems, row_number, first_row, same, label)
            if same:
                repeats.append(row_number)
        for start in range(0, len(repeats), 500):
            batch = repeats[start:start + 500]
            self.execute(f"DELETE FROM {{table}} WHERE row_number IN ({', '.join(['%s'] * len(batch))})", batch)
        self.count -= len(repeats)

    def find_duplicates(self) -> list[tuple[int, int, bool, str]]:
        """Return (row, first row with the same key, whether the figures are the same, label) for each later row."""
        key_match = " AND ".join(f"later.{column} = first.{column}" for column in KEY_COLUMNS)
        same = " AND ".join(f"later.{column} IS NOT DISTINCT FROM first_row.{column}" for column in METRIC_COLUMNS)
        keys = ", ".join(KEY_COLUMNS)
        return self.execute(f"""
            WITH first AS (
                SELECT {keys}, MIN(row_number) AS row_number
                FROM {{table}} GROUP BY {keys} HAVING COUNT(*) > 1
            )
            SELECT later.row_number, first.row_number, CASE WHEN {same} THEN 1 ELSE 0 END,
                   COALESCE(NULLIF(later.raw_label, ''), NULLIF(later.sub_source, ''), later.source)
            FROM first
            JOIN {{table}} later ON {key_match} AND later.row_number > first.row_number
            JOIN {{table}} first_row ON first_row.row_number = first.row_number
            ORDER BY later.row_number
        """)

    def store_counts(self) -> dict[str, int]:
        """Return the number of figures of each store slug the file names ("" when it names none)."""
        return dict(self.execute("SELECT store, COUNT(*) FROM {table} GROUP BY store"))

    def raw_labels(self) -> list[str]:
        return [label for (label,) in self.execute("SELECT DISTINCT raw_label FROM {table} WHERE raw_label <> ''")]
