"""Instructor-side package for the CS230 Spring 2021 midterm kit.

Nothing in here ships to students: the release notebooks never import it.

* :mod:`cs230_grading.reference`: the NumPy answer key, one module per question.
* :mod:`cs230_grading.graders`: the hidden tests' logic, called from the hidden test
  cells of ``source/midterm`` at autograde time (and by the scoring pass).
* :mod:`cs230_grading.checks`: the shared checking helper that turns a wrong
  answer into a message naming the likely mistake.
* :mod:`cs230_grading.course`: paths, points, and nbgrader driven on a course folder.
* :mod:`cs230_grading.pipeline`: the instructor's one-command job.
"""

import sys

from .toolpath import use_interpreter_tools

__version__ = "0.1.0"

# Tools nbgrader starts by name (alembic) must come from this installation, also when
# the kit runs as .venv/bin/... without the environment activated.
use_interpreter_tools()

# jsonschema, which nbformat imports, imports ``rfc3987_syntax`` when it is installed (it is:
# jupyter-events asks for jsonschema[format-nongpl]) to check the "iri" string formats, and
# importing it compiles a Lark grammar: 0.8 s in every process that reads a notebook (each
# grading worker, each command). Nothing here checks an "iri" format; this process goes
# without it (jsonschema then leaves that one format unchecked).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
