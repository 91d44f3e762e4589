"""nbgrader configuration for the CS230 Spring 2021 midterm course.

The course root is the folder holding this file: ``source/``, ``release/``,
``submitted/``, ``autograded/`` and ``feedback/`` live beside it.

Environment overrides (all optional):

* ``CS230_GRADEBOOK_URL``: any SQLAlchemy URL for the gradebook, for example
  ``postgresql://user@127.0.0.1:5432/cs230``. The default is an embedded SQLite
  file, ``gradebook.db``, with a 60 s busy timeout so that parallel
  autograders wait for each other instead of failing with "database is locked".
* ``CS230_PARTIAL_CREDIT``: ``1`` turns on per-option partial credit in Q1
  (the course switch below sets the default).
* ``CS230_CARRY_FORWARD``: ``0`` turns off credit per sub-answer and errors carried forward
  in Q3 and Q6 (the course switch below sets the default).
* ``CS230_EXECUTE_TIMEOUT``: seconds a single cell may run while autograding.
* ``CS230_SANDBOX``: ``auto`` (default), ``bwrap``, ``rlimits`` or ``off``: how kernels that
  run student code are confined; ``CS230_LIMIT_*`` set the limits, among them the wall-clock
  time budgets ``CS230_LIMIT_NOTEBOOK_SECONDS`` and ``CS230_LIMIT_STUDENT_SECONDS`` (see
  docs/security.md).

Late submissions: see "Late submissions" below for the policy and where the due date is set.
"""

import os
from pathlib import Path

from cs230_grading.audit import audit_running_server
from cs230_grading.formgrader_rubric import add_rubric_to_running_server
from cs230_grading.lab_csp import protect_running_server
from cs230_grading.toolpath import use_interpreter_tools

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

# Every nbgrader app, and the Jupyter server's formgrader and Validate, load this file: from
# here on, tools that nbgrader runs by name (alembic, for a new gradebook) are this
# interpreter's own, also when .venv/bin/nbgrader or .venv/bin/jupyter runs unactivated.
use_interpreter_tools()
# Inside `jupyter lab` (the formgrader loads this file there): the formgrader's submission
# pages get a Content-Security-Policy (cs230_grading/lab_csp.py, docs/security.md).
protect_running_server()

COURSE_ROOT = Path(__file__).resolve().parent

# --- Course switches ---------------------------------------------------------
# Q1 multiple choice: False = the exam's all-or-nothing 2 points per question;
# True = the 2 points are spread over the strict options of each question.
Q1_PARTIAL_CREDIT = False
os.environ.setdefault("CS230_PARTIAL_CREDIT", "1" if Q1_PARTIAL_CREDIT else "0")
# Q3 to Q6: True = a part's points are split over its sub-answers (Q3: the volume and the
# parameter count; part vii: the architecture and its count) and a mistake costs points once:
# later parts are graded with the answer key's version of a function graded earlier swapped in
# (Q3 iv-vii: conv_output_shape, conv_num_params, maxpool_output_shape; Q6's layers:
# normalize_channels), as Q5 always does (cs230_grading/credit.py). False = the strict grading:
# every part all-or-nothing, with the student's own functions.
CARRY_FORWARD_ERRORS = True
os.environ.setdefault("CS230_CARRY_FORWARD", "1" if CARRY_FORWARD_ERRORS else "0")

# --- Course layout -----------------------------------------------------------
c.CourseDirectory.course_id = "cs230-spring-2021"
c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.db_url = os.environ.get(
    "CS230_GRADEBOOK_URL", f"sqlite:///{COURSE_ROOT / 'gradebook.db'}?timeout=60"
)
# the formgrader (inside jupyter lab) records every hand grade it writes in the audit log
audit_running_server(c.CourseDirectory.db_url)
add_rubric_to_running_server(COURSE_ROOT)  # the rubric under each hand-graded answer
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".DS_Store",
]
c.Exchange.root = str(COURSE_ROOT / "exchange")
# `nbgrader submit` also writes and prints a receipt: the SHA-256 of each notebook and the
# time (cs230_grading/receipts.py). Students' own nbgrader configuration needs this line too.
c.ExchangeFactory.submit = "cs230_grading.receipts.ReceiptSubmit"

# --- Release -------------------------------------------------------------------
# nbgrader's own list, with ClearSolutions replaced by a subclass that writes a top-level
# answer stub as `name = None  # YOUR ANSWER HERE` instead of `raise NotImplementedError()`,
# so Run All runs every self-check of a notebook not yet answered (cs230_grading/answer_stubs.py).
from nbgrader.converters import GenerateAssignment  # noqa: E402
from nbgrader.preprocessors import ClearSolutions  # noqa: E402

from cs230_grading.answer_stubs import ClearSolutionsKeepRunning  # noqa: E402

c.GenerateAssignment.preprocessors = [
    ClearSolutionsKeepRunning if p is ClearSolutions else p
    for p in GenerateAssignment.class_traits()["preprocessors"].default()
]

# --- Autograding ---------------------------------------------------------------
# A cell that runs longer than this is interrupted and scores zero.
c.Execute.timeout = int(os.environ.get("CS230_EXECUTE_TIMEOUT", "60"))
# Minimal tracebacks: an assertion in a hidden test shows its message, never the
# test's source lines.
c.Execute.extra_arguments = [
    "--InteractiveShell.xmode=Minimal",
    "--IPKernelApp.log_level=ERROR",
]
# Every kernel that runs student code starts in the sandbox (rlimits, and with bubblewrap no
# network and no view of source/, the gradebook, other students or the kit's cs230_grading:
# no answer key, no hidden test) and with the student environment's allow-list, never the
# grader's environment (cs230_grading/sandbox/environment.py; CS230_SANDBOX=off drops the
# confinement, never the allow-list). The grading process keeps at most CS230_LIMIT_OUTPUT_MB
# (default 2) of each cell's output. ScoreParts then scores every test cell here, in the
# grading process, calling the student's functions in a fresh sandboxed process: its verdict
# replaces the test cell's outputs, and SaveAutoGrades records it (cs230_grading/grading/
# score.py). Last, every autograded notebook (what the formgrader renders) is made inert: no
# student HTML, SVG, JavaScript or widget runs in a TA's browser (cs230_grading/sanitize.py,
# docs/security.md).
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from cs230_grading.grading.score import ScoreParts  # noqa: E402
from cs230_grading.sandbox.kernel import SandboxedExecute  # noqa: E402
from cs230_grading.sanitize import SanitizeStudentContent  # noqa: E402

c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    ScoreParts,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
    SanitizeStudentContent,
]
# nbconvert validates the whole notebook against nbformat's schema after every preprocessor
# (a dozen times per notebook and pass); once, after the last, raises the same errors.
c.Exporter.optimistic_validation = True
# Cap what one cell may print into the autograded notebook.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# --- Feedback ------------------------------------------------------------------
# Feedback HTML must not show hidden tests: strip them before rendering.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "cs230_grading.sanitize.SanitizeStudentContent",  # also feedback of older autograded/
    # After the student's answers: the errata of the printed key and the Q1 options accepted
    # either way (cs230_grading/errata.py); the release itself says nothing about them.
    "cs230_grading.feedback.AppendNotes",
    # The SHA-256 of the notebook graded (compare with the student's receipt), and the
    # decisions on the student's regrade requests (docs/exam-day.md).
    "cs230_grading.receipts.AppendReceipt",
    "cs230_grading.regrades.AppendRegrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.ClearHiddenTests.enforce_metadata = True
# The page a student can read offline: math as MathML (no MathJax from a CDN), each test cell
# named by its part in the score list, long messages wrapped (cs230_grading/readable_feedback.py).
c.GenerateFeedback.exporter_class = "cs230_grading.readable_feedback.ReadableFeedbackExporter"

# --- Late submissions ------------------------------------------------------------
# The due date is the gradebook's: `nbgrader db assignment add midterm --duedate="2021-05-07
# 17:00:00 PDT"` (or the formgrader's Manage Assignments; per-student extensions count). The
# submission time is timestamp.txt beside each submission (`nbgrader collect` writes it).
# AssignLatePenalties (in the list above) asks this plugin for each notebook's penalty, and
# `nbgrader export` subtracts it; the report lists late students, by how much, and the penalty.
# Course policy: up to 5 minutes late, no penalty; after that, each notebook loses 10% of its
# score per started hour after the due date (so 10 hours late or more scores 0).
c.AssignLatePenalties.plugin_class = "cs230_grading.late.CourseLatePenalty"
c.CourseLatePenalty.grace_minutes = 5
c.CourseLatePenalty.percent_per_hour = 10

# --- The cover's table -----------------------------------------------------------
# `nbgrader generate_assignment` first rewrites the cover's table of questions and its totals
# (source/midterm/q0_cover.ipynb) from cs230_grading/questions.py: cs230_grading/exam_text.py.
from cs230_grading.exam_text import nbgrader_hook  # noqa: E402

c.GenerateAssignment.pre_convert_hook = nbgrader_hook(COURSE_ROOT)

# --- Exam window and accommodations ------------------------------------------------
# With a start set, every student's end time follows from the window: the start (a date and
# time with its zone), the duration, and the grace period above (CourseLatePenalty's
# grace_minutes); students with accommodations are listed in accommodations.csv (id,
# extra_minutes, time_multiplier, start). `cs230-grade run` writes the window's end as the
# due date and each accommodated student's extra time as nbgrader's extension, before any
# grading (cs230_grading/exam_window.py, docs/exam-day.md). Empty: the gradebook's due date.
c.ExamWindow.start = ""  # e.g. "2021-05-07 14:00 America/Los_Angeles"
c.ExamWindow.duration_minutes = 180
