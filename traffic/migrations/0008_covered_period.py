"""Create the covered-periods table, the triggers that keep it in step with the figures, and fill it.

PostgreSQL only: on SQLite this migration does nothing (see traffic/coverage_index.py). The
SQL is written out here, not imported, so this migration keeps doing what it did when the app
code changes later. The triggers are created before the table is filled: CREATE TRIGGER locks
the figure table against writes until the migration commits, so no figure written meanwhile is
missed or counted twice.
"""

from django.db import migrations

KEYS = "store_id, granularity, terminal, region, period_start"

CREATE_TABLE = f"""
CREATE TABLE traffic_covered_period (
    store_id bigint NOT NULL,
    granularity varchar(8) NOT NULL,
    terminal varchar(16) NOT NULL,
    region varchar(16) NOT NULL,
    period_start date NOT NULL,
    figure_count integer NOT NULL,
    PRIMARY KEY ({KEYS})
)
"""

FILL = f"""
INSERT INTO traffic_covered_period ({KEYS}, figure_count)
SELECT {KEYS}, COUNT(*) FROM traffic_trafficfigure WHERE is_current GROUP BY {KEYS}
"""

# PostgreSQL: one trigger per statement, reading the statement's transition tables.
POSTGRES_ADD = f"""
INSERT INTO traffic_covered_period ({KEYS}, figure_count)
SELECT {KEYS}, COUNT(*) FROM new_rows WHERE is_current GROUP BY {KEYS}
ON CONFLICT ({KEYS}) DO UPDATE SET figure_count = traffic_covered_period.figure_count + EXCLUDED.figure_count;
"""
POSTGRES_SUBTRACT = f"""
UPDATE traffic_covered_period AS c SET figure_count = c.figure_count - gone.figure_count
FROM (SELECT {KEYS}, COUNT(*) AS figure_count FROM old_rows WHERE is_current GROUP BY {KEYS}) AS gone
WHERE c.store_id = gone.store_id AND c.granularity = gone.granularity AND c.terminal = gone.terminal
  AND c.region = gone.region AND c.period_start = gone.period_start;
"""
POSTGRES_DROP_EMPTY = f"""
DELETE FROM traffic_covered_period AS c
USING (SELECT DISTINCT {KEYS} FROM old_rows WHERE is_current) AS gone
WHERE c.store_id = gone.store_id AND c.granularity = gone.granularity AND c.terminal = gone.terminal
  AND c.region = gone.region AND c.period_start = gone.period_start AND c.figure_count <= 0;
"""

POSTGRES_FORWARD = [
    CREATE_TABLE,
    f"""
    CREATE FUNCTION traffic_covered_period_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {POSTGRES_ADD}
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION traffic_covered_period_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {POSTGRES_SUBTRACT}
        {POSTGRES_DROP_EMPTY}
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION traffic_covered_period_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {POSTGRES_SUBTRACT}
        {POSTGRES_ADD}
        {POSTGRES_DROP_EMPTY}
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION traffic_covered_period_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE traffic_covered_period;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER traffic_covered_period_insert AFTER INSERT ON traffic_trafficfigure
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION traffic_covered_period_insert()
    """,
    """
    CREATE TRIGGER traffic_covered_period_delete AFTER DELETE ON traffic_trafficfigure
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION traffic_covered_period_delete()
    """,
    """
    CREATE TRIGGER traffic_covered_period_update AFTER UPDATE ON traffic_trafficfigure
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION traffic_covered_period_update()
    """,
    """
    CREATE TRIGGER traffic_covered_period_truncate AFTER TRUNCATE ON traffic_trafficfigure
    FOR EACH STATEMENT EXECUTE FUNCTION traffic_covered_period_truncate()
    """,
    FILL,
]

POSTGRES_BACKWARD = [
    "DROP TRIGGER traffic_covered_period_insert ON traffic_trafficfigure",
    "DROP TRIGGER traffic_covered_period_delete ON traffic_trafficfigure",
    "DROP TRIGGER traffic_covered_period_update ON traffic_trafficfigure",
    "DROP TRIGGER traffic_covered_period_truncate ON traffic_trafficfigure",
    "DROP FUNCTION traffic_covered_period_insert()",
    "DROP FUNCTION traffic_covered_period_delete()",
    "DROP FUNCTION traffic_covered_period_update()",
    "DROP FUNCTION traffic_covered_period_truncate()",
    "DROP TABLE traffic_covered_period",
]

def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in POSTGRES_FORWARD:
        schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in POSTGRES_BACKWARD:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("traffic", "0007_upload_api_token"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
