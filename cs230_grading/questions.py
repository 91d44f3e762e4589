"""The exam's questions: the one table every other list of questions derives from.

One row per notebook of ``source/midterm/``, in exam order. Everything else that names
the questions reads this table: ``course.NOTEBOOKS`` / ``NOTEBOOK_POINTS`` / ``EXAM_POINTS``,
``variants.QUESTION_MODULES``, the second pass's graders, the report's titles, the browser
tests' and the structure tests' tables. ``tests/test_question_table.py`` fails, naming the
file, when ``source/midterm/*.ipynb`` or the modules below disagree with a row.

Naming (docs/authoring.md): notebook ``qN_<slug>``; grader and variants modules ``qN``
(``cs230_grading/graders/qN.py``, ``cs230_grading/variants/qN.py``); the reference module
is named by topic (``cs230_grading/reference/<topic>.py``); the notebook's helper module is
``source/midterm/qN_tools.py``.

``cs230-grade new-question`` (:mod:`cs230_grading.scaffold`) adds a row: it inserts a line
before the ``# end of QUESTIONS`` marker below, so keep that marker.
"""

from __future__ import annotations

import dataclasses
import re

#: Exam policy, stated once: the exam is out of ``EXAM_POINTS``, and ``EXTRA_CREDIT`` more
#: points can be earned on top. The table's points must add up to exactly these
#: (checked by ``tests/test_question_table.py``; :func:`policy_problems`).
#: the nbgrader assignment: source/<ASSIGNMENT>/, release/<ASSIGNMENT>/, ...
ASSIGNMENT = "midterm"
EXAM_POINTS = 100
EXTRA_CREDIT = 5

NAME = re.compile(r"^(q\d+)_[a-z0-9_]+$")


@dataclasses.dataclass(frozen=True)
class Question:
    """One question notebook and the modules that grade it.

    * ``notebook``: ``qN_<slug>``, the stem of ``source/midterm/<notebook>.ipynb``.
    * ``title``: shown in the report, e.g. ``"Q4 L1 regularisation"``.
    * ``points``: the notebook's total points (its cells' ``points`` metadata add up to it),
      extra credit included.
    * ``extra_credit``: how many of ``points`` are extra credit.
    * ``grader``: module in ``cs230_grading/graders/`` (``CHECKS`` for the hidden tests),
      or ``None`` when no test cell calls a grader (manually graded questions).
    * ``reference``: module in ``cs230_grading/reference/`` (the answer key in code), or
      ``None`` when the question has no code answer.
    * ``tools``: whether ``source/midterm/<qN>_tools.py`` ships with the notebook.
    * ``variants``: module in ``cs230_grading/variants/`` (sample submissions, always one).
    """

    notebook: str
    title: str
    points: float
    grader: str | None
    reference: str | None
    tools: bool
    extra_credit: float = 0

    @property
    def key(self) -> str:
        """``qN``: the prefix of the notebook, its grade ids and its modules."""
        match = NAME.match(self.notebook)
        if not match:
            raise ValueError(f"question notebook {self.notebook!r} is not named qN_<slug>")
        return match.group(1)

    @property
    def variants(self) -> str:
        return self.key

    @property
    def tools_file(self) -> str | None:
        return f"{self.key}_tools.py" if self.tools else None


QUESTIONS: tuple[Question, ...] = (
    Question("q0_cover", "Q0 Cover (honour code)", 0, grader="q0", reference=None, tools=False),
    Question("q1_multiple_choice", "Q1 Multiple choice", 16, grader="q1",
             reference="multiple_choice", tools=True),
    Question("q2_short_answers", "Q2 Short answers", 16, grader=None, reference=None,
             tools=False),
    Question("q3_conv_architectures", "Q3 Conv architectures", 20, grader="q3",
             reference="conv", tools=True),
    Question("q4_l1_regularization", "Q4 L1 regularisation", 13, grader="q4", reference="l1",
             tools=True),
    Question("q5_gan_backprop", "Q5 GAN backprop", 25, grader="q5", reference="gan",
             tools=True),
    Question("q6_numpy_attention", "Q6 NumPy attention", 15, grader="q6",
             reference="attention", tools=True, extra_credit=5),
)  # end of QUESTIONS

BY_NOTEBOOK: dict[str, Question] = {q.notebook: q for q in QUESTIONS}


def question(notebook: str) -> Question:
    """The row of ``notebook``; a clear error for a name that is not in the table."""
    try:
        return BY_NOTEBOOK[notebook]
    except KeyError:
        raise KeyError(f"{notebook!r} is not a question of this exam: add it to "
                       "cs230_grading/questions.py (QUESTIONS)") from None


def policy_problems(questions: tuple[Question, ...] = QUESTIONS) -> list[str]:
    """Ways the table breaks the exam policy (empty when it keeps it)."""
    problems: list[str] = []
    regular = sum(q.points - q.extra_credit for q in questions)
    extra = sum(q.extra_credit for q in questions)
    if regular != EXAM_POINTS:
        problems.append(f"the questions' regular points add up to {regular:g}, "
                        f"the exam is out of EXAM_POINTS = {EXAM_POINTS}")
    if extra != EXTRA_CREDIT:
        problems.append(f"the questions' extra credit adds up to {extra:g}, "
                        f"the policy is EXTRA_CREDIT = {EXTRA_CREDIT}")
    names = [q.notebook for q in questions]
    keys = [q.key for q in questions]
    if len(set(names)) != len(names) or len(set(keys)) != len(keys):
        problems.append(f"two rows share a notebook or a qN prefix: {names}")
    return problems
