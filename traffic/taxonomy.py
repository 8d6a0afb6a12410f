"""The 11 traffic-source categories of the Data Manager and their sub-sources.

Codes are this project's stable identifiers. Labels are what the Chinese and
English back-ends print; `aliases` lists further spellings seen in exports.
Labels change over time, so a label that is not listed here is never dropped:
importers keep it under its raw label and count it as `other`.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import get_language


@dataclass(frozen=True)
class SubSource:
    code: str
    label_zh: str
    label_en: str
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return localized_label(self.label_zh, self.label_en)


@dataclass(frozen=True)
class Category:
    code: str
    label_zh: str
    label_en: str
    aliases: tuple[str, ...] = ()
    sub_sources: tuple[SubSource, ...] = field(default=())

    @property
    def label(self) -> str:
        return localized_label(self.label_zh, self.label_en)


# The store total, as a total row (合计) of a traffic-source report gives it.
# It is not a sum over categories, because visitors are de-duplicated across sources.
TOTAL = "total"
# The category that contains the labels the taxonomy does not know yet, until they are mapped.
OTHER = "other"

CATEGORIES: tuple[Category, ...] = (
    Category(
        "search", "搜索", "Search", (),
        (
            SubSource("text_search", "文字搜索", "Text search", ("关键词搜索",)),
            SubSource("photo_search", "图片搜索", "Photo search", ("以图搜图",)),
            SubSource("category_navigation", "类目导航", "Category navigation", ("类目浏览",)),
        ),
    ),
    Category(
        "recommendation", "系统推荐", "System recommendation", ("推荐",),
        (
            SubSource("homepage", "首页推荐", "Homepage recommendation"),
            SubSource("message_box", "消息盒子推荐", "Message box recommendation"),
            SubSource("buyer_app", "买家App推荐", "Buyer app recommendation"),
        ),
    ),
    Category(
        "venue", "导购会场", "Shopping guide venues", ("Shopping guide venue", "会场"),
        (
            SubSource("daily_venue", "日常会场", "Daily venues", ("Daily venue",)),
            SubSource("promotion_venue", "大促会场", "Promotion venues", ("Promotion venue",)),
        ),
    ),
    Category(
        "channel", "频道", "Channels", ("Channel",),
        (
            SubSource("weekly_deals", "Weekly Deals", "Weekly Deals"),
            SubSource("brand_zone", "Brand Zone", "Brand Zone"),
            SubSource("bargain_buys", "Bargain Buys", "Bargain Buys"),
            SubSource("ranking_products", "Ranking products", "Ranking products"),
            SubSource("top_ranking_suppliers", "Top-ranking suppliers", "Top-ranking suppliers"),
        ),
    ),
    Category(
        "interaction", "互动", "Interaction", (),
        (
            SubSource("inquiry", "询盘", "Inquiries", ("Inquiry",)),
            SubSource("order", "订单", "Orders", ("Order",)),
            SubSource(
                "favorites_cart", "收藏/购物车/对比/分享", "Favorites, cart, compare, share",
                ("收藏/购物车/对比/分享页", "Favorites/cart/compare/share"),
            ),
        ),
    ),
    Category(
        "self_marketing", "自营销", "Self-marketing", ("Self marketing",),
        (
            SubSource("rfq", "RFQ", "RFQ", ("RFQ报价",)),
            SubSource("fans", "粉丝通", "Fans (seller content)", ("Fans", "Fanstong")),
            SubSource("edm", "客户通EDM", "Customer EDM mails", ("EDM", "客户通", "Customertong EDM")),
        ),
    ),
    Category("external_promotion", "站外推广", "External website promotion", ("External promotion",)),
    Category("direct", "直接访问", "Direct visit", ("Direct visits", "Direct")),
    Category("in_store", "店内", "In-store", ("In store",)),
    Category("off_site", "站外", "Off-site", ("Off site",)),
    Category("other", "其他", "Others", ("Other", "其它")),
)

CATEGORY_BY_CODE = {category.code: category for category in CATEGORIES}
SUB_SOURCE_BY_CODE = {
    (category.code, sub.code): sub for category in CATEGORIES for sub in category.sub_sources
}
TOTAL_LABELS = ("合计", "总计", "总计/合计", "Total", "Sum")


def normalize_label(label: str) -> str:
    """Fold a label for lookup: full-width to half-width, no spaces, lower case."""
    folded = unicodedata.normalize("NFKC", str(label))
    return re.sub(r"\s+", "", folded).lower()


@dataclass(frozen=True)
class SourceMatch:
    source: str
    sub_source: str  # "" for a category row


def _build_index() -> dict[str, SourceMatch]:
    index: dict[str, SourceMatch] = {}

    for category in CATEGORIES:
        for label in (category.label_zh, category.label_en, *category.aliases):
            index[normalize_label(label)] = SourceMatch(category.code, "")
        for sub in category.sub_sources:
            for label in (sub.label_zh, sub.label_en, *sub.aliases):
                index.setdefault(normalize_label(label), SourceMatch(category.code, sub.code))

    for label in TOTAL_LABELS:
        index[normalize_label(label)] = SourceMatch(TOTAL, "")
    return index


LABEL_INDEX = _build_index()


def match_label(label: str) -> SourceMatch | None:
    """Return the source a label names, or None for a label this taxonomy does not know."""
    return LABEL_INDEX.get(normalize_label(label))


def localized_label(label_zh: str, label_en: str) -> str:
    language = get_language() or "zh-hans"
    return label_en if language.startswith("en") else label_zh


def source_label(source: str, sub_source: str = "") -> str:
    """Return the label of a source code in the active language, or the code if unknown."""
    if source == TOTAL:
        return localized_label("店铺合计", "Store total")
    if sub_source:
        sub = SUB_SOURCE_BY_CODE.get((source, sub_source))
        return sub.label if sub else sub_source
    category = CATEGORY_BY_CODE.get(source)
    return category.label if category else source
