"""Read the platform's peer figures (同行平均, 同行优秀) from a staff CSV, and store figures from merchants' files.

The CSV has a header row with the columns industry, period, terminal, region,
source, metric, peer_average and peer_top, in any order. A file with any
invalid row saves nothing.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Industry
from benchmarks.models import PeerFigure
from traffic.dimensions import Granularity, Region, Terminal, natural_period
from traffic.taxonomy import CATEGORY_BY_CODE, TOTAL, match_label

COLUMNS = ("industry", "period", "terminal", "region", "source", "metric", "peer_average", "peer_top")
METRICS = {
    "visitors": "visitors",
    "访客数": "visitors",
    "inquiry_customers": "inquiry_customers",
    "询盘人数": "inquiry_customers",
    "tm_customers": "tm_customers",
    "tm咨询人数": "tm_customers",
    "feedback_conversion_rate": "feedback_conversion_rate",
    "商机转化率": "feedback_conversion_rate",
    "反馈转化率": "feedback_conversion_rate",
    "visitor_share": "visitor_share",
    "访客占比": "visitor_share",
}
RATE_METRICS = {"feedback_conversion_rate", "visitor_share"}
TERMINALS = {"all": Terminal.ALL, "全部": Terminal.ALL, "pc": Terminal.PC, "wireless": Terminal.WIRELESS, "无线": Terminal.WIRELESS}
REGIONS = {"all": Region.ALL, "全部": Region.ALL, "exclude_cn": Region.EXCLUDE_CN, "剔除中国大陆流量": Region.EXCLUDE_CN}
MAX_ROWS = 50_000


class PeerFileError(Exception):
    """Raised with every problem of a peer-figure file; nothing was saved."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class PeerRow:
    industry: Industry
    granularity: str
    period_start: datetime.date
    terminal: str
    region: str
    source: str
    metric: str
    peer_average: float | None
    peer_top: float | None


def decode(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), or GB18030 as Excel on Chinese Windows writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def parse_period(text: str) -> tuple[str, datetime.date]:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{1,2}", text):
        year, month = (int(part) for part in text.split("-"))
        return Granularity.MONTH, datetime.date(year, month, 1)

    parts = re.split(r"\s*[~～至]\s*", text)
    if len(parts) == 2:
        start, end = (datetime.date.fromisoformat(part) for part in parts)
        granularity = natural_period(start, end)
        if granularity is None:
            raise ValueError(text)
        return granularity, start
    return Granularity.DAY, datetime.date.fromisoformat(text)


def parse_number(text: str, is_rate: bool) -> float | None:
    """Parse 1,408 or 6.11% or 0.0611; "", "-" and "--" mean no figure, not zero."""
    text = text.strip().replace(",", "")
    if text in {"", "-", "--"}:
        return None
    if text.endswith("%"):
        return float(text[:-1]) / 100
    value = float(text)
    if is_rate and value > 1:
        raise ValueError(text)
    return value


def parse_source(text: str) -> str:
    text = text.strip()
    if text in CATEGORY_BY_CODE or text == TOTAL:
        return text
    match = match_label(text)
    if match is None or match.sub_source:
        raise ValueError(text)
    return match.source


def parse_rows(data: bytes) -> list[PeerRow]:
    """Return the file's rows, or raise PeerFileError listing every invalid row."""
    reader = csv.DictReader(io.StringIO(decode(data)))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise PeerFileError([_("The header row is missing these columns: %(columns)s.") % {"columns": ", ".join(missing)}])
    reader.fieldnames = header

    industries = {industry.code: industry for industry in Industry.objects.all()}
    industries.update({industry.name_zh: industry for industry in industries.values()})
    rows, problems = [], []
    for line_number, record in enumerate(reader, start=2):
        if line_number > MAX_ROWS + 1:
            problems.append(_("The file has more than %(count)d rows; split it.") % {"count": MAX_ROWS})
            break
        try:
            rows.append(parse_record(record, industries))
        except ValueError as exc:
            problems.append(_("Row %(row)d: %(problem)s") % {"row": line_number, "problem": exc.args[0]})

    if problems:
        raise PeerFileError(problems)
    if not rows:
        raise PeerFileError([_("The file has no data rows.")])
    return rows


def parse_record(record: dict, industries: dict) -> PeerRow:
    def cell(name):
        return (record.get(name) or "").strip()

    industry = industries.get(cell("industry"))
    if industry is None:
        raise ValueError(_("industry %(value)s is not a known industry code.") % {"value": cell("industry")})
    try:
        granularity, period_start = parse_period(cell("period"))
    except ValueError:
        raise ValueError(_("period %(value)s is not a month (2026-10), a day or a natural week or month range.") % {"value": cell("period")}) from None
    terminal = TERMINALS.get(cell("terminal").lower())
    if terminal is None:
        raise ValueError(_("terminal %(value)s must be all, pc or wireless.") % {"value": cell("terminal")})
    region = REGIONS.get(cell("region").lower())
    if region is None:
        raise ValueError(_("region %(value)s must be all or exclude_cn.") % {"value": cell("region")})
    try:
        source = parse_source(cell("source"))
    except ValueError:
        raise ValueError(_("source %(value)s is not one of the 11 categories or total.") % {"value": cell("source")}) from None
    metric = METRICS.get(cell("metric").lower())
    if metric is None:
        raise ValueError(_("metric %(value)s must be one of %(choices)s.") % {"value": cell("metric"), "choices": ", ".join(sorted(set(METRICS.values())))})

    values = {}
    for name in ("peer_average", "peer_top"):
        try:
            values[name] = parse_number(cell(name), metric in RATE_METRICS)
        except ValueError:
            raise ValueError(_("%(column)s %(value)s is not a number, a fraction or a percentage.") % {"column": name, "value": cell(name)}) from None
    return PeerRow(industry, granularity, period_start, terminal, region, source, metric, values["peer_average"], values["peer_top"])


@transaction.atomic
def save_staff_rows(rows: list[PeerRow], user=None) -> int:
    """Insert or replace the platform peer figures of the rows; return how many were saved."""
    for row in rows:
        PeerFigure.objects.update_or_create(
            industry=row.industry,
            store=None,
            granularity=row.granularity,
            period_start=row.period_start,
            terminal=row.terminal,
            region=row.region,
            source=row.source,
            metric=row.metric,
            defaults={
                "origin": PeerFigure.Origin.STAFF_UPLOAD,
                "peer_average": row.peer_average,
                "peer_top": row.peer_top,
                "uploaded_by": user,
            },
        )
    return len(rows)


@transaction.atomic
def save_merchant_figures(store, figures) -> int:
    """Store peer figures found in a merchant's export, visible to that store only.

    figures yields dicts with granularity, period_start, terminal, region,
    source, metric, peer_average and peer_top. The store needs a main industry.
    """
    count = 0
    for figure in figures:
        PeerFigure.objects.update_or_create(
            store=store,
            granularity=figure["granularity"],
            period_start=figure["period_start"],
            terminal=figure["terminal"],
            region=figure["region"],
            source=figure["source"],
            metric=figure["metric"],
            defaults={
                "industry_id": store.main_industry_id,
                "origin": PeerFigure.Origin.MERCHANT_FILE,
                "peer_average": figure.get("peer_average"),
                "peer_top": figure.get("peer_top"),
            },
        )
        count += 1
    return count
