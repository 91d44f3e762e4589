"""Item analysis against a direct NumPy computation, and the flags it raises."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from cs230_grading.item_analysis import (
    FLAG_BELOW,
    FLAG_NEGATIVE,
    FLAG_NO_SPREAD,
    Part,
    corrected_item_total,
    item_statistics,
    scores_from_mapping,
    write_item_analysis_csv,
)


def _class(rng: np.random.Generator, n: int = 40, mis_keyed: str | None = None):
    """A class whose scores follow each student's ability; ``mis_keyed`` is scored
    against a wrong key: the students who know the answer are the ones marked wrong."""
    parts = [Part("qa", f"qa_{i}", float(p)) for i, p in enumerate((2, 4, 3, 5, 1, 6))]
    ability = rng.uniform(0, 1, n)
    scores = {}
    for s in range(n):
        row = {}
        for part in parts:
            knows = rng.uniform() < ability[s]
            if part.grade_id == mis_keyed:
                knows = not knows
            row[part.grade_id] = part.points if knows else 0.0
        scores[f"s{s:02d}"] = row
    return parts, scores


def test_corrected_item_total_is_pearson():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30), rng.normal(size=30)
    assert corrected_item_total(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert math.isnan(corrected_item_total(np.ones(5), np.arange(5.0)))


def test_statistics_match_a_direct_numpy_loop():
    rng = np.random.default_rng(1)
    parts, scores = _class(rng)
    scores["s00"]["qa_3"] = None  # a part not graded yet for one student: left out of it
    stats = item_statistics(scores_from_mapping(parts, scores))
    students = sorted(scores)
    for j, part in enumerate(parts):
        item, rest = [], []
        for s in students:
            value = scores[s][part.grade_id]
            if value is None:
                continue
            others = sum(v for k, v in scores[s].items() if k != part.grade_id and v is not None)
            item.append(value)
            rest.append(others)
        item_a, rest_a = np.array(item), np.array(rest)
        got = stats[j]
        assert got.n_graded == len(item)
        assert got.mean == pytest.approx(item_a.mean())
        assert got.difficulty == pytest.approx(item_a.mean() / part.points)
        assert got.discrimination == pytest.approx(np.corrcoef(item_a, rest_a)[0, 1])
    assert stats[3].n_graded == len(students) - 1


def test_a_mis_keyed_part_is_flagged_and_the_others_are_not():
    rng = np.random.default_rng(2)
    parts, scores = _class(rng, n=60, mis_keyed="qa_2")
    stats = {s.part.grade_id: s for s in item_statistics(scores_from_mapping(parts, scores))}
    assert stats["qa_2"].discrimination < 0
    assert stats["qa_2"].flag == FLAG_NEGATIVE
    for grade_id, s in stats.items():
        if grade_id != "qa_2":
            assert s.discrimination > FLAG_BELOW, grade_id
            assert s.flag == "", grade_id


def test_a_part_everyone_gets_is_flagged_as_no_spread(tmp_path):
    rng = np.random.default_rng(3)
    parts, scores = _class(rng, n=10)
    for row in scores.values():
        row["qa_0"] = 2.0
    stats = item_statistics(scores_from_mapping(parts, scores))
    assert stats[0].flag == FLAG_NO_SPREAD
    assert math.isnan(stats[0].discrimination)
    path = write_item_analysis_csv(stats, tmp_path / "item_analysis.csv")
    rows = list(csv.DictReader(path.open()))
    assert [r["grade_id"] for r in rows] == [p.grade_id for p in parts]
    assert rows[0]["discrimination"] == "" and rows[0]["difficulty"] == "1.000"
