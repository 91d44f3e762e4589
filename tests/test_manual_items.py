"""Rubric items and answer groups (``cs230_grading.manual``) on a small graded Q2 class.

The class (:mod:`cs230_grading.variants.hand_graded`) is built and autograded once. Each
test grades a different part, so the tests do not depend on one another. Expected scores
come from the items file and the notebook's points metadata, never typed in.
"""

from __future__ import annotations

import csv
import shutil
import threading

import pytest
from nbgrader.api import Gradebook

from cs230_grading import manual
from cs230_grading.course import ASSIGNMENT, REPO_ROOT, Course
from cs230_grading.results import collect_grades
from cs230_grading.variants.hand_graded import (
    ANSWERS,
    IDENTICAL,
    NOTEBOOK,
    STUDENTS,
    build_hand_graded_class,
)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    return build_hand_graded_class(tmp_path_factory.mktemp("hand-graded"))


def _gradebook(course: Course, grade_id: str) -> dict[str, tuple[float | None, str | None]]:
    """``{student: (manual score, manual comment)}`` of one part, from nbgrader's tables."""
    out = {}
    with Gradebook(course.db_url) as gb:
        for student in STUDENTS:
            grade = gb.find_grade(grade_id, NOTEBOOK, ASSIGNMENT, student)
            comment = gb.find_comment(grade_id, NOTEBOOK, ASSIGNMENT, student)
            out[student] = (grade.manual_score, comment.manual_comment)
    return out


def _export(course: Course) -> dict[str, float]:
    path = course.root / "export.csv"
    course.nbgrader("export", "--to", str(path))
    with path.open(newline="") as fh:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}


def test_the_items_file_covers_every_hand_graded_cell_of_the_exam() -> None:
    parts = manual.load_rubric(REPO_ROOT)
    cells = manual.manual_cells(REPO_ROOT / "source" / ASSIGNMENT)
    assert set(parts) == set(cells) and len(parts) == 9  # Q2 (a)-(h), Q4 (iii)
    for gid, part in parts.items():
        assert part.max_points == cells[gid][1]
        # full marks are reachable with the items, and every item is explained
        assert part.score(i.id for i in part.items) == part.max_points, gid
        assert all(i.description.strip() for i in part.items)


def test_the_items_file_is_not_released() -> None:
    assert not manual.ITEMS_FILE.parts[0] == "source"
    released = {p.name for p in (REPO_ROOT / "release").rglob("*")}
    assert manual.ITEMS_FILE.name not in released


def test_identical_answers_share_a_group_largest_first(course: Course) -> None:
    for gid, answers in ANSWERS.items():
        groups = manual.answer_groups(course.root, gid)
        assert sorted(s for g in groups for s in g.students) == sorted(answers)
        assert [len(g) for g in groups] == sorted((len(g) for g in groups), reverse=True)
        for g in groups:
            assert g.answers == {s: answers[s] for s in g.students}
        if gid in IDENTICAL:
            same = [g for g in groups if set(IDENTICAL[gid]) <= set(g.students)]
            assert len(same) == 1, (gid, [g.students for g in groups])
    # fay left every cell as released: nbgrader scored it 0, nothing for a TA
    assert "fay" not in manual.answers(course.root, "q2_b")


def test_an_answer_pulled_out_is_a_group_of_its_own(course: Course) -> None:
    gid = "q2_d"
    pair = IDENTICAL[gid]
    manual.pull_out(course.root, gid, pair[1])
    groups = manual.answer_groups(course.root, gid)
    assert [pair[1]] in [g.students for g in groups]
    assert not any(set(pair) <= set(g.students) for g in groups)


def test_applied_items_give_the_derived_scores_in_gradebook_and_export(
        course: Course) -> None:
    gid = "q2_b"
    part = manual.load_part(course.root, gid)
    before = _export(course)
    group = manual.answer_groups(course.root, gid)[0]
    top, partial = part.items[0], part.items[1]
    scores = manual.apply_items(course.root, gid, group.students, [top.id], "ta-one")
    expected = min(part.start + top.points, part.max_points)
    assert scores == {s: expected for s in group.students}
    loner = next(s for s in ANSWERS[gid] if s not in group.students)
    manual.apply_items(course.root, gid, [loner], [partial.id], "ta-two")

    book = _gradebook(course, gid)
    for student in group.students:
        assert book[student][0] == expected
        assert top.description in book[student][1]
    assert book[loner][0] == min(part.start + partial.points, part.max_points)
    untouched = set(STUDENTS) - set(group.students) - {loner}
    assert all(book[s][0] is None for s in untouched)

    after = _export(course)
    for student in STUDENTS:
        gained = book[student][0] or 0.0
        assert after[student] == pytest.approx(before[student] + gained), student
    # what `cs230-grade report` reads: the same score, and the part no longer awaits a TA
    report = collect_grades(course.db_url).by_student()
    for student in [*group.students, loner]:
        assert gid not in report[student].awaiting_manual
        assert report[student].notebook_scores[NOTEBOOK] == pytest.approx(after[student])

    prog = manual.progress(course.root, gid)
    assert prog.graded == len(group) + 1 and prog.total == len(ANSWERS[gid])
    assert prog.by_grader == {"ta-one": len(group), "ta-two": 1}
    assert prog.item_counts[top.id] == len(group) and prog.item_counts[partial.id] == 1

    # taking the item off again re-derives the score from what is left
    manual.remove_items(course.root, gid, [loner], [partial.id], "ta-two")
    assert _gradebook(course, gid)[loner][0] == part.start


def test_repointing_an_item_rescores_everyone_who_has_it_and_nobody_else(
        course: Course, tmp_path) -> None:
    gid = "q2_c"
    part = manual.load_part(course.root, gid)
    size, size_only, params = (part.item(i) for i in
                               ("size-and-consequence", "size-only", "pooling-has-parameters"))
    a, b = IDENTICAL[gid]
    manual.apply_items(course.root, gid, [a, b], [size.id], "ta-one")
    manual.apply_items(course.root, gid, ["cai"], [size_only.id, params.id], "ta-one")
    manual.apply_items(course.root, gid, ["dev"], [size_only.id], "ta-one")
    manual.adjust(course.root, gid, "dev", 0.5, "names translation invariance too", "ta-one")
    before = _gradebook(course, gid)
    saved = tmp_path / "items.yaml"
    shutil.copy(manual.items_path(course.root), saved)

    new = params.points / 2
    changed = manual.set_item_points(course.root, gid, params.id, new)
    assert set(changed) == {"cai"}
    after = _gradebook(course, gid)
    repointed = manual.load_part(course.root, gid)
    assert repointed.item(params.id).points == new
    assert after["cai"][0] == repointed.score([size_only.id, params.id]) \
        == size_only.points + new != before["cai"][0]
    assert {s: v for s, v in after.items() if s != "cai"} == \
           {s: v for s, v in before.items() if s != "cai"}
    # only that one line of the reviewable file changed
    old_lines = saved.read_text().splitlines()
    new_lines = manual.items_path(course.root).read_text().splitlines()
    assert [n for n, (x, y) in enumerate(zip(old_lines, new_lines, strict=True)) if x != y] \
           and sum(x != y for x, y in zip(old_lines, new_lines, strict=True)) == 1
    assert after["dev"][0] == size_only.points + 0.5
    assert "names translation invariance too" in after["dev"][1]


def test_two_tas_on_different_parts_do_not_overwrite_each_other(course: Course) -> None:
    jobs = {"q2_e": ("ta-one", "advantage"), "q2_d": ("ta-two", "overfitting")}
    errors: list[BaseException] = []

    def grade(gid: str, grader: str, item: str) -> None:
        try:
            for student in sorted(ANSWERS[gid]):
                manual.apply_items(course.root, gid, [student], [item], grader)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=grade, args=(g, *job)) for g, job in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for gid, (grader, item) in jobs.items():
        part = manual.load_part(course.root, gid)
        book = _gradebook(course, gid)
        for student in ANSWERS[gid]:
            assert book[student][0] == part.score([item]), (gid, student)
        assert manual.progress(course.root, gid).by_grader == {grader: len(ANSWERS[gid])}


def test_bad_input_is_one_clear_line(course: Course) -> None:
    cases = [
        (lambda: manual.apply_items(course.root, "q2_b", ["ana"], ["nope"], "ta"),
         "no rubric item 'nope'"),
        (lambda: manual.apply_items(course.root, "q9_z", ["ana"], [], "ta"),
         "not a hand-graded part"),
        (lambda: manual.apply_items(course.root, "q2_e", ["fay"], [], "ta"),
         "no answer to q2_e from fay"),
        (lambda: manual.adjust(course.root, "q2_e", "ana", -1, " ", "ta"),
         "needs a comment"),
    ]
    for call, words in cases:
        with pytest.raises(manual.RubricError, match=words) as info:
            call()
        assert "\n" not in str(info.value)


def test_the_rubric_sheet_lists_every_item_from_the_items_file() -> None:
    from cs230_grading.rubric import rubric_markdown

    text = rubric_markdown(REPO_ROOT / "source" / ASSIGNMENT)
    for gid, part in manual.load_rubric(REPO_ROOT).items():
        section = text.split(f"/ {gid} (", 1)[1].split("\n## ", 1)[0]
        for item in part.items:
            assert f"| `{item.id}` | {item.points:+g} |" in section, (gid, item.id)
