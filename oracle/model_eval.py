"""Classification metrics computed from predictions and labels (never taken from a report)."""

from __future__ import annotations

from fractions import Fraction

from oracle.errors import SourceError


def classification_metric(pairs: list[tuple[object, object]], metric: str, positive: object) -> Fraction:
    """accuracy, precision, recall or f1 over (prediction, label) pairs, as an exact fraction."""
    if not pairs:
        raise SourceError("no predictions in the window: refusing to report a default value")
    if metric == "accuracy":
        return Fraction(sum(p == y for p, y in pairs), len(pairs))
    tp = sum(p == positive and y == positive for p, y in pairs)
    fp = sum(p == positive and y != positive for p, y in pairs)
    fn = sum(p != positive and y == positive for p, y in pairs)
    precision = Fraction(tp, tp + fp) if tp + fp else Fraction(0)
    recall = Fraction(tp, tp + fn) if tp + fn else Fraction(0)
    if metric == "precision":
        return precision
    if metric == "recall":
        return recall
    if metric == "f1":
        return 2 * precision * recall / (precision + recall) if precision + recall else Fraction(0)
    raise SourceError(f"unknown classification metric {metric!r}")
