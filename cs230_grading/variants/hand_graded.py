"""A small class for the hand-grading tools (:mod:`cs230_grading.manual`): Q2 answers only.

``build_hand_graded_class(dest)`` makes a scratch course holding the Q2 notebook and the
rubric items file, submits the :data:`ANSWERS` below (students missing from a part leave
that cell as released) and autogrades them, so every answered Q2 cell awaits a TA.
:data:`IDENTICAL` names the pairs of students whose answers differ only in case, spacing
or punctuation: they must share an answer group.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..course import REPO_ROOT, Course
from ..manual import ITEMS_FILE
from ..notebooks import fill_answers, read_notebook

NOTEBOOK = "q2_short_answers"
FILES = (f"{NOTEBOOK}.ipynb", "selfcheck.py")

#: grade id -> {student: answer}
ANSWERS: dict[str, dict[str, str]] = {
    "q2_b": {
        "ana": "The F1 score, because it balances precision and recall.",
        "ben": "the F1 score -- because it balances precision and recall",
        "cai": "F1 score: it balances precision and recall",
        "dev": "Accuracy.",
        "eli": "Recall, because we must catch every criminal.",
    },
    "q2_c": {
        "ana": "Pooling makes the feature maps smaller, so later layers are cheaper.",
        "ben": "Pooling makes the feature maps smaller; so later layers are cheaper!",
        "cai": "Pooling has fewer parameters than a convolution.",
        "dev": "It reduces the size.",
        "eli": "It reduces the size",
    },
    "q2_d": {
        "ana": "Overfitting. Use more data.",
        "ben": "OVERFITTING -- use more data",
        "cai": "The model overfits; add dropout.",
        "dev": "Train longer.",
    },
    "q2_e": {
        **{s: f"Less memory, but noisy gradients ({s})." for s in ("ana", "ben", "cai")},
        # markup a TA's browser must show as text, never run
        "eli": '<img src="x" onerror="window.cs230Pwned = 1"><script>window.cs230Pwned = 2'
               '</script> Less memory.',
    },
}
#: a student whose answer is active HTML (the console must show it as text)
ACTIVE = ("q2_e", "eli")
#: students whose answers to a part are the same after normalising (must share a group)
IDENTICAL: dict[str, tuple[str, ...]] = {
    "q2_b": ("ana", "ben"), "q2_c": ("ana", "ben"), "q2_d": ("ana", "ben"),
}
STUDENTS: tuple[str, ...] = ("ana", "ben", "cai", "dev", "eli", "fay")  # fay answers nothing


def build_hand_graded_class(dest: str | Path) -> Course:
    """A scratch course with Q2 only, the rubric items file, and :data:`STUDENTS` autograded."""
    dest = Path(dest)
    src = dest / "_source"
    (src / "midterm").mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(REPO_ROOT / "source" / "midterm" / name, src / "midterm" / name)
    course = Course.scratch(dest / "course", source=src)
    (course.root / ITEMS_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / ITEMS_FILE, course.root / ITEMS_FILE)
    course.generate_assignment()
    release = read_notebook(course.release_dir / f"{NOTEBOOK}.ipynb")
    for student in STUDENTS:
        mine = {gid: by[student] for gid, by in ANSWERS.items() if student in by}
        course.add_submission(student, {NOTEBOOK: fill_answers(release, mine)})
    course.autograde()
    return course
