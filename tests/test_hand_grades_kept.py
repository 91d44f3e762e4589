"""No hand grade is lost or replaced unseen (issue 33), on the small graded Q2 class.

A score and comment typed in the formgrader (written here as the formgrader writes them:
nbgrader's Gradebook API in a process recording as the formgrader) are kept when a TA
applies a rubric item to the answer's group, adjusts it or re-scores the part; they are
replaced only with ``replace=True``. Every change is in the audit log with who, the tool and
old -> new. Writing needs a TA's name. The console (ipywidgets, driven in process) shows the
hand grade and keeps it too.
"""

from __future__ import annotations

import io

import pytest
from nbgrader.api import Gradebook

from cs230_grading import audit, manual
from cs230_grading.course import ASSIGNMENT, Course
from cs230_grading.variants.hand_graded import ANSWERS, NOTEBOOK, build_hand_graded_class

HAND_SCORE, HAND_COMMENT, TA = 1.5, "Good point about recall; precision is missing.", "alice"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    return build_hand_graded_class(tmp_path_factory.mktemp("hand-grades"))


def _type_in_formgrader(course: Course, grade_id: str, student: str, score: float | None,
                        comment: str | None, who: str = TA) -> None:
    """What the formgrader's grade and comment handlers do, recorded as the server does."""
    audit.install()
    with audit.recording(who, audit.FORMGRADER), Gradebook(course.db_url) as gb:
        grade = gb.find_grade(grade_id, NOTEBOOK, ASSIGNMENT, student)
        grade.manual_score = score
        grade.needs_manual_grade = score is None
        gb.db.commit()
        if comment is not None:
            gb.find_comment(grade_id, NOTEBOOK, ASSIGNMENT, student).manual_comment = comment
            gb.db.commit()


def _stored(course: Course, grade_id: str, student: str) -> tuple[float | None, str | None]:
    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(grade_id, NOTEBOOK, ASSIGNMENT, student)
        comment = gb.find_comment(grade_id, NOTEBOOK, ASSIGNMENT, student)
        return grade.manual_score, comment.manual_comment


def _group_of(course: Course, grade_id: str, student: str) -> list[str]:
    return next(g.students for g in manual.answer_groups(course.root, grade_id)
                if student in g.students)


def test_a_formgrader_grade_is_kept_until_a_ta_chooses_to_replace_it(course: Course) -> None:
    gid, student = "q2_b", "ana"
    part = manual.load_part(course.root, gid)
    item = part.items[0]
    group = _group_of(course, gid, student)
    assert len(group) > 1  # the item goes to others too
    _type_in_formgrader(course, gid, student, HAND_SCORE, HAND_COMMENT)

    hand = manual.hand_grades(course.root, gid)
    assert set(hand) == {student}
    assert hand[student].score == HAND_SCORE and hand[student].comment == HAND_COMMENT
    assert (hand[student].who, hand[student].tool) == (TA, audit.FORMGRADER)

    written = manual.apply_items(course.root, gid, group, [item.id], "bob")
    assert set(written) == set(group) - {student}
    assert _stored(course, gid, student) == (HAND_SCORE, HAND_COMMENT)
    for other in set(group) - {student}:
        assert _stored(course, gid, other)[0] == part.score([item.id])
    # re-scoring the part (the console does it when a part is opened) keeps it too
    manual.rescore(course.root, gid)
    assert manual.adjust(course.root, gid, student, 0.5, "late insight", "bob") is None
    assert _stored(course, gid, student) == (HAND_SCORE, HAND_COMMENT)
    prog = manual.progress(course.root, gid)
    assert prog.by_grader == {TA: 1, "bob": len(group) - 1}

    # the explicit choice replaces it, and the log says so
    manual.apply_items(course.root, gid, [student], [item.id], "bob", replace=True)
    score, comment = _stored(course, gid, student)
    assert score == part.score([item.id]) and item.description in comment
    assert manual.hand_grades(course.root, gid) == {}

    log = [c for c in audit.history(course.db_url, student=student, grade_id=gid)]
    assert [(c.field, c.old, c.new, c.who, c.tool) for c in log] == [
        (audit.SCORE, None, f"{HAND_SCORE:g}", TA, audit.FORMGRADER),
        (audit.COMMENT, None, HAND_COMMENT, TA, audit.FORMGRADER),
        (audit.SCORE, f"{HAND_SCORE:g}", f"{part.score([item.id]):g}", "bob", manual.API_TOOL),
        (audit.COMMENT, HAND_COMMENT, comment, "bob", manual.API_TOOL),
    ]


def test_a_formgrader_change_after_the_console_is_kept(course: Course) -> None:
    gid = "q2_c"
    part = manual.load_part(course.root, gid)
    student = sorted(ANSWERS[gid])[0]
    manual.apply_items(course.root, gid, [student], [part.items[0].id], "bob")
    assert manual.hand_grades(course.root, gid) == {}
    # the TA corrects the comment only, in the formgrader
    _type_in_formgrader(course, gid, student, part.score([part.items[0].id]), "see me")
    assert set(manual.hand_grades(course.root, gid)) == {student}
    manual.apply_items(course.root, gid, [student], [part.items[1].id], "bob")
    assert _stored(course, gid, student)[1] == "see me"


def test_writing_needs_a_ta_name_and_the_cli_prints_the_log(course: Course) -> None:
    gid = "q2_d"
    student = sorted(ANSWERS[gid])[0]
    for name in ("", "   "):
        with pytest.raises(manual.RubricError, match="name"):
            manual.apply_items(course.root, gid, [student], [], name)
        with pytest.raises(manual.RubricError, match="name"):
            manual.adjust(course.root, gid, student, 0, "a comment", name)
    assert audit.history(course.db_url, grade_id=gid) == []
    manual.adjust(course.root, gid, student, 0, "only a comment", "carol")
    out = io.StringIO()
    audit.print_log(course.db_url, grade_id=gid, out=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the score (0, none before) and the comment
    assert all(f"carol ({manual.API_TOOL}): {student} {gid}" in ln for ln in lines)


def test_the_console_shows_a_hand_grade_and_keeps_it(course: Course) -> None:
    from cs230_grading.console import GradingConsole

    gid = "q2_e"
    part = manual.load_part(course.root, gid)
    group = manual.answer_groups(course.root, gid)[0]
    assert len(group) > 1
    student = group.students[0]
    _type_in_formgrader(course, gid, student, HAND_SCORE, "<b>kept</b>")

    console = GradingConsole(course.root, gid, grader="")
    assert console.grader.value == ""  # never the login name
    renders = console.renders
    row = next(r for r in console.answers.children
               if f"data-student='{student}'" in r.children[0].value)
    shown = row.children[0].value
    assert f"{HAND_SCORE:g} points and a comment, typed in the formgrader by {TA}" in shown
    assert "&lt;b&gt;kept&lt;/b&gt;" in shown and "<b>kept</b>" not in shown

    item = part.items[0]
    button = next(b for r in console.items.children for b in r.children[:1]
                  if f"cs230-item-{item.id}" in b._dom_classes)
    button.click()  # no name typed: nothing written
    assert "name" in console.status.value
    assert console.renders == renders + 1
    console.grader.value = "dan"
    button = next(b for r in console.items.children for b in r.children[:1]
                  if f"cs230-item-{item.id}" in b._dom_classes)
    button.click()
    assert console.renders == renders + 2  # once per change
    assert f"kept the hand grade of {student}" in console.status.value
    assert _stored(course, gid, student) == (HAND_SCORE, "<b>kept</b>")
    for other in group.students[1:]:
        assert _stored(course, gid, other)[0] == part.score([item.id])
    assert console.state.progress.by_grader == {TA: 1, "dan": len(group) - 1}
