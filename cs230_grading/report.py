"""The instructor's report: score distributions as a PNG, and an HTML page around it."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

from .budget import KIND as BUDGET_KIND
from .course import EXAM_POINTS, EXTRA_CREDIT, NOTEBOOK_POINTS, NOTEBOOKS
from .intake import Finding
from .late import late_by
from .questions import QUESTIONS
from .results import ClassGrades
from .similarity import Pair, similarity_html

TITLES = {q.notebook: q.title for q in QUESTIONS}  # from cs230_grading/questions.py

#: Notebooks worth points (the cover is worth none: its honour code is reported as a note).
SCORED = tuple(n for n in NOTEBOOKS if NOTEBOOK_POINTS[n] > 0)


def distribution_png(grades: ClassGrades) -> bytes:
    """Histograms of each question's score and of the total, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(14, 6), constrained_layout=True)
    panels = [*SCORED, "total"]
    for ax, name in zip(axes.flat, panels, strict=False):
        if name == "total":
            values = [s.total for s in grades.students]
            top = EXAM_POINTS + EXTRA_CREDIT
            title = f"Total (out of {EXAM_POINTS} + {EXTRA_CREDIT})"
        else:
            values = [s.notebook_scores.get(name, 0.0) for s in grades.students]
            top = NOTEBOOK_POINTS[name]
            title = f"{TITLES[name]} (/{top:g})"
            prefix = name.split("_")[0] + "_"
            waiting = sum(any(g.startswith(prefix) for g in s.awaiting_manual)
                          for s in grades.students)
            if waiting:
                title += f"\n{waiting} awaiting manual grading (counted as 0)"
        bins = min(20, int(top) + 1)
        ax.hist(values, bins=bins, range=(0, top), color="#8c1515", edgecolor="white")
        ax.set_title(title, fontsize=10)
        ax.set_xlim(0, top)
        ax.set_xlabel("points")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"CS230 midterm: score distributions ({len(grades.students)} students)")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _late_section(grades: ClassGrades) -> list[str]:
    """Late submissions: who, by how much, and the penalty nbgrader's hook applied."""
    late = grades.late
    if not late:
        return []
    rows = [[s.student, s.submitted_at, s.due, late_by(s.seconds_late), f"{s.late_penalty:g}",
             f"{s.total - s.late_penalty:g}"] for s in late]
    return [
        "<h2>Late submissions</h2>",
        f"<p>{len(late)} students submitted after the due date. The penalty is the course "
        "policy in <code>nbgrader_config.py</code> (<code>CourseLatePenalty</code>); "
        "<code>grades.csv</code> has it subtracted, the per-question scores below do not.</p>",
        _table(["student", "submitted", "due", "late by", "penalty", "score after penalty"],
               rows),
    ]


def write_report(
    grades: ClassGrades,
    findings: Sequence[Finding],
    out_dir: Path,
    *,
    notes: Sequence[str] = (),
    similarity: Sequence[Pair] | None = None,
) -> Path:
    """Write ``report.html`` and ``score_distribution.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = distribution_png(grades)
    (out_dir / "score_distribution.png").write_bytes(png)

    headers = ["student", *(TITLES[n].split()[0] for n in SCORED), "total", "awaiting manual"]
    rows = [
        [s.student, *(f"{s.notebook_scores.get(n, 0):g}" for n in SCORED), f"{s.total:g}",
         ", ".join(s.awaiting_manual) or "-"]
        for s in grades.students
    ]
    pending = grades.awaiting_manual
    attention = [f for f in findings if f.severity == "error"]
    info = [f for f in findings if f.severity != "error"]
    sections = [
        "<h1>CS230 midterm: grading report</h1>",
        f"<p>{len(grades.students)} students graded. Exam out of {EXAM_POINTS} points "
        f"plus {EXTRA_CREDIT} extra credit (Q6).</p>",
        '<img alt="score distributions" src="data:image/png;base64,'
        + base64.b64encode(png).decode() + '">',
        "<h2>Needs attention</h2>",
        "<ul>" + "".join(f"<li>{html.escape(f.line())}</li>" for f in attention) + "</ul>"
        if attention else "<p>Nothing: every submission was read and graded.</p>",
    ]
    over_budget = [f for f in findings if f.kind == BUDGET_KIND]
    if over_budget:
        sections += [
            "<h2>Time budgets</h2>",
            f"<p>{len({f.student for f in over_budget})} students ran out of a time budget "
            "(per notebook and per student, in the kernel or the out-of-kernel pass): the "
            "cells or checks left unrun scored 0.</p>",
            _table(["student", "notebook", "time used"],
                   [[f.student, f.notebook, f.message] for f in over_budget]),
        ]
    if info:
        sections += ["<h2>Notes</h2>", "<ul>" + "".join(
            f"<li>{html.escape(f.line())}</li>" for f in info) + "</ul>"]
    sections += [
        "<h2>Awaiting manual grading</h2>",
        (f"<p>{len(pending)} students have items to grade in the formgrader "
         "(<code>jupyter lab</code> from the course root, then Nbgrader &rarr; Formgrader).</p>"
         + _table(["student", "items"], [[k, ", ".join(v)] for k, v in pending.items()]))
        if pending else "<p>None.</p>",
        *_late_section(grades),
        "<h2>Scores per student</h2>",
        "<p>Awaiting items count as 0 until graded.</p>",
        _table(headers, rows),
    ]
    if similarity is not None:  # the pipeline compared the answers
        sections.append(similarity_html(list(similarity)))
    for note in notes:
        sections.append(f"<p>{html.escape(note)}</p>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
             "text-align:right}td:first-child{text-align:left}img{max-width:100%}"
             "table.side{width:100%;table-layout:fixed;margin-bottom:1em}"
             "table.side td{text-align:left;vertical-align:top}"
             "table.side pre{white-space:pre-wrap;margin:0}mark{background:#ffe08a}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>CS230 midterm report"
            f"</title><style>{style}</style></head><body>{''.join(sections)}</body></html>")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
