"""Map source labels that the taxonomy does not know to a category and sub-source."""

import logging

from django.db import transaction

from traffic.models import LabelMapping, TrafficFigure
from traffic.taxonomy import normalize_label

logger = logging.getLogger(__name__)


def mappings_by_label() -> dict[str, LabelMapping]:
    return {mapping.label: mapping for mapping in LabelMapping.objects.all()}


def apply_mappings(result, unknown_label_message) -> None:
    """Apply the label mappings to a ParseResult, whether its figures are in a list or staged."""
    if result.stage is not None:
        apply_mappings_to_stage(result.stage, result.problems, unknown_label_message)
    else:
        apply_mappings_to_figures(result.figures, result.problems, unknown_label_message)


def apply_mappings_to_stage(stage, problems, unknown_label_message) -> None:
    """Give staged figures with a mapped raw label their mapped source, and drop the warnings about them."""
    mappings = mappings_by_label()
    if not mappings:
        return

    mapped_labels = set()
    for raw_label in stage.raw_labels():
        mapping = mappings.get(normalize_label(raw_label))
        if mapping is None:
            continue
        stage.execute(
            "UPDATE {table} SET source = %s, sub_source = %s, raw_label = '' WHERE raw_label = %s",
            [mapping.source, mapping.sub_source, raw_label],
        )
        mapped_labels.add(mapping.label)
    drop_mapped_warnings(problems, mapped_labels, unknown_label_message)


def apply_mappings_to_figures(figures, problems, unknown_label_message) -> None:
    """Give parsed figures with a mapped raw label their mapped source, and drop the warnings about them."""
    mappings = mappings_by_label()
    if not mappings:
        return

    mapped_labels = set()
    for figure in figures:
        mapping = mappings.get(normalize_label(figure.raw_label)) if figure.raw_label else None
        if mapping is not None:
            figure.source, figure.sub_source, figure.raw_label = mapping.source, mapping.sub_source, ""
            mapped_labels.add(mapping.label)

    drop_mapped_warnings(problems, mapped_labels, unknown_label_message)


def drop_mapped_warnings(problems, mapped_labels: set[str], unknown_label_message) -> None:
    problems[:] = [
        problem for problem in problems
        if not (problem.message == unknown_label_message and normalize_label(problem.value) in mapped_labels)
    ]


def unmapped_labels():
    """Return the raw labels of current figures with their store count and visitors, most visitors first."""
    from django.db.models import Count, Sum

    return list(
        TrafficFigure.objects.filter(is_current=True)
        .exclude(raw_label="")
        .values("raw_label")
        .annotate(stores=Count("store", distinct=True), visitors=Sum("visitors"), figures=Count("id"))
        .order_by("-visitors", "raw_label")
    )


@transaction.atomic
def save_mapping(raw_label: str, source: str, sub_source: str, user=None) -> tuple[LabelMapping, int, int]:
    """Store a mapping and move the figures already imported under that label.

    Returns (mapping, figures moved, figures left). A figure whose new key
    already has a current figure (its file also had the known label) is left
    under its raw label, so no figure is lost or counted twice.
    """
    folded = normalize_label(raw_label)
    mapping, _created = LabelMapping.objects.update_or_create(
        label=folded,
        defaults={"display_label": raw_label.strip(), "source": source, "sub_source": sub_source, "created_by": user},
    )

    labels = [label for label in TrafficFigure.objects.exclude(raw_label="").values_list("raw_label", flat=True).distinct()
              if normalize_label(label) == folded]
    moved = 0
    left = 0
    for figure in TrafficFigure.objects.filter(raw_label__in=labels).select_for_update():
        same_key = TrafficFigure.objects.filter(
            store_id=figure.store_id, granularity=figure.granularity, period_start=figure.period_start,
            terminal=figure.terminal, region=figure.region, source=source, sub_source=sub_source, raw_label="",
        )
        if same_key.filter(is_current=True).exists() or same_key.filter(upload_id=figure.upload_id).exists():
            left += 1
            continue
        figure.source, figure.sub_source, figure.raw_label = source, sub_source, ""
        figure.save(update_fields=["source", "sub_source", "raw_label"])
        moved += 1

    logger.info("label mapped label=%r to=%s.%s moved=%d left=%d", raw_label, source, sub_source, moved, left)
    return mapping, moved, left
