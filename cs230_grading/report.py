"""The instructor's report: one self-contained HTML page that says what to do next.

Layout, top to bottom: the class in numbers (:mod:`cs230_grading.summary`); what needs
attention (hand grading pending, per part, with the formgrader's address; honour codes not
affirmed; the findings, one line per student and kind with the evidence folded underneath,
:mod:`cs230_grading.findings`); the notes (warnings), the time budgets, the hand-grading
queue and the late submissions; the per-student table (sortable by any column, with links to
each student's feedback, and the percentage of the exam's points); a section per question
with its distribution; what the class got wrong; the item analysis; the similar answers; the
latest changes of hand grades (:mod:`cs230_grading.audit`); and a link to every file written
beside the page.

A part that awaits hand grading is *pending*, never 0: its question's cell, the total and
the percentage read "pending", and it is left out of the histograms, the mean and median and
the item analysis, each saying how many are left out.

The page needs no network: its stylesheet, its few lines of script (sorting) and its images
are embedded, and a Content-Security-Policy lets only that script run. Every piece of text
that comes from a student (ids, grade ids, messages, evidence) is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import statistics
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from .audit import Change
from .budget import KIND as BUDGET_KIND
from .class_mistakes import MistakeCount, mistakes_figure
from .course import ASSIGNMENT, EXAM_POINTS, EXTRA_CREDIT, NOTEBOOK_POINTS, NOTEBOOKS
from .exam_day import report_sections as exam_day_sections
from .finding import Finding
from .findings import Group, count
from .item_analysis import (
    FLAG_BELOW,
    FLAG_FEW,
    FLAG_PENDING,
    MIN_STUDENTS,
    ItemStats,
    item_figure,
)
from .late import late_by
from .questions import QUESTIONS
from .results import ClassGrades, StudentGrades
from .similarity import Pair, similarity_html
from .summary import FORMGRADER_HOWTO, ClassSummary, formgrader_url, summarise

TITLES = {q.notebook: q.title for q in QUESTIONS}  # from cs230_grading/questions.py

#: Notebooks worth points (the cover is worth none: its honour code is reported as a note).
SCORED = tuple(n for n in NOTEBOOKS if NOTEBOOK_POINTS[n] > 0)

COLOUR = "#8c1515"

STYLE = """
:root{--accent:#8c1515;--muted:#5f5f5f;--line:#d6d6d6;--warn:#f6e7b4;--bad:#f4d3d3}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 color:#1b1b1b;max-width:1100px;margin:0 auto;padding:1.5em 1.2em}
h1{font-size:1.6em;margin:.2em 0;color:var(--accent)}
h2{font-size:1.25em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid var(--accent)}
h3{font-size:1.05em;margin:1.2em 0 .3em}
p.lead{color:var(--muted);margin-top:0}
nav{font-size:.9em;margin:.6em 0 1em}nav a{margin-right:.9em}
a{color:#0b5cad}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.6em}
.card{border:1px solid var(--line);border-radius:6px;padding:.5em .7em;background:#fafafa}
.card b{display:block;font-size:1.6em;line-height:1.2}
.card span{color:var(--muted);font-size:.85em}
.card.bad{background:var(--bad);border-color:#d9a0a0}.card.warn{background:var(--warn)}
.card a{color:inherit;text-decoration:none;display:block}
.questions{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:0 1.5em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em}
td,th{border:1px solid var(--line);padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f1f1f1;white-space:nowrap}td:first-child,th:first-child{text-align:left}
td.text,th.text{text-align:left}
th button{font:inherit;font-weight:bold;border:0;background:none;padding:0;cursor:pointer;
 color:inherit}
th button::after{content:" \\2195";color:#999}
th[aria-sort=ascending] button::after{content:" \\2191";color:var(--accent)}
th[aria-sort=descending] button::after{content:" \\2193";color:var(--accent)}
.flag{display:inline-block;font-size:.8em;padding:0 .4em;margin:1px;border-radius:3px;
 background:var(--warn);white-space:nowrap}
.flag.error{background:var(--bad)}
details{border:1px solid var(--line);border-radius:5px;margin:.3em 0;padding:.25em .6em}
details.error{border-left:4px solid var(--accent)}details.warning{border-left:4px solid #d4a017}
summary{cursor:pointer}summary .who{font-weight:bold}
details pre,details li{font-size:.88em}
pre{white-space:pre-wrap;word-break:break-word;margin:.2em 0}
.figure img{max-width:100%;height:auto}
.stats{color:var(--muted);font-size:.9em}
table.side{width:100%;table-layout:fixed;margin-bottom:1em}
table.side td{text-align:left;vertical-align:top}
table.side pre{white-space:pre-wrap;margin:0}mark{background:#ffe08a}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;padding:0;font-size:10.5pt}nav{display:none}
 h2{break-after:avoid}section.question,details,.card,tr{break-inside:avoid}
 th button::after{content:""}a{color:inherit;text-decoration:none}
 table{font-size:8.5pt}td,th{padding:2px 4px;white-space:normal}.flag{white-space:normal}
 .cards{grid-template-columns:repeat(4,1fr)}
 .questions{grid-template-columns:1fr 1fr}}
"""

#: Sorting of ``table.sortable`` by a click on a column's header (numbers by ``data-sort``).
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector('button');
    if (!button) { return; }
    button.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var body = table.tBodies[0];
      var key = function (row) {
        var cell = row.cells[col];
        var value = cell.getAttribute('data-sort');
        return value === null ? cell.textContent.trim().toLowerCase() : parseFloat(value);
      };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = (typeof x === 'number') ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _e(value: object) -> str:
    """Text for HTML (element content and quoted attributes)."""
    return html.escape(str(value), quote=True)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _scores(grades: ClassGrades, name: str) -> list[float]:
    """The final scores of a notebook (or the totals): a pending one is left out, not 0."""
    if name == "total":
        return [s.total for s in grades.students if s.complete]
    return [s.notebook_scores.get(name, 0.0) for s in grades.students if not s.pending(name)]


def _top(name: str) -> float:
    return EXAM_POINTS + EXTRA_CREDIT if name == "total" else NOTEBOOK_POINTS[name]


def _pending_count(grades: ClassGrades, name: str) -> int:
    if name == "total":
        return sum(not s.complete for s in grades.students)
    return _waiting(grades, name)


def _hist(ax, values: list[float], top: float, pending: int = 0) -> None:
    """A histogram of the final scores; with none yet, the word "pending" instead of bars."""
    if values:
        ax.hist(values, bins=min(20, int(top) + 1), range=(0, top), color=COLOUR,
                edgecolor="white")
    else:
        ax.text(0.5, 0.5, f"pending: {pending} awaiting hand grading" if pending
                else "no scores", transform=ax.transAxes, ha="center", va="center",
                color="#5f5f5f")
    ax.set_xlim(0, top)
    ax.set_xlabel("points")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)


def distribution_png(grades: ClassGrades) -> bytes:
    """Histograms of each question's score and of the total, as PNG bytes (one figure)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 4, figsize=(14, 6), constrained_layout=True)
    panels = [*SCORED, "total"]
    for ax, name in zip(axes.flat, panels, strict=False):
        if name == "total":
            title = f"Total (out of {EXAM_POINTS} + {EXTRA_CREDIT})"
        else:
            title = f"{TITLES[name]} (/{_top(name):g})"
        waiting = _pending_count(grades, name)
        if waiting:
            title += f"\n{waiting} pending hand grading (not drawn)"
        _hist(ax, _scores(grades, name), _top(name), waiting)
        ax.set_title(title, fontsize=10)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"CS230 midterm: score distributions ({len(grades.students)} students)")
    return _png(fig)


def question_png(grades: ClassGrades, name: str) -> bytes:
    """The distribution of one question's scores (``name``: a notebook, or "total")."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.4), constrained_layout=True)
    _hist(ax, _scores(grades, name), _top(name), _pending_count(grades, name))
    return _png(fig)


def _waiting(grades: ClassGrades, name: str) -> int:
    """Students with a hand-graded item of this notebook still to grade."""
    return sum(s.pending(name) for s in grades.students)


def _img(png: bytes, alt: str) -> str:
    return (f'<img alt="{_e(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}">')


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- the summary ----------------------------------------------------------------------------
def _card(value: object, label: str, tone: str = "", href: str = "") -> str:
    inner = f"<b>{_e(value)}</b><span>{_e(label)}</span>"
    if href:
        inner = f'<a href="{_e(href)}">{inner}</a>'
    return f'<div class="card {tone}">{inner}</div>'


def _summary_section(s: ClassSummary) -> list[str]:
    def tone(items: Sequence[object], bad: str = "bad") -> str:
        return bad if items else ""

    cards = [
        _card(len(s.graded), "graded"),
        _card(len(s.not_graded), "not graded", tone(s.not_graded), "#attention"),
        _card(len(s.awaiting_students), f"awaiting hand grading ({s.awaiting_items} items)",
              tone(s.awaiting, "warn"), "#manual"),
        _card(len(s.honour_code), "honour code not affirmed", tone(s.honour_code, "warn"),
              "#attention"),
        _card(len(s.static_scan), "flagged by the static scan", tone(s.static_scan, "warn"),
              "#notes" if s.static_scan else ""),
        _card(len(s.crashed), "crashed", tone(s.crashed), "#attention"),
        _card(len(s.late), "late", tone(s.late, "warn"), "#late" if s.late else ""),
        _card(len(s.time_budget), "out of a time budget", tone(s.time_budget, "warn"),
              "#budgets" if s.time_budget else ""),
        _card("pending" if s.mean is None else f"{s.mean:.1f}",
              f"mean total ({count(len(s.graded) - len(s.pending_totals), 'final total')})"),
        _card("pending" if s.median is None else f"{s.median:g}",
              f"median total ({len(s.pending_totals)} pending)"),
    ]
    out = ['<section id="summary"><h2>Summary</h2>', f'<div class="cards">{"".join(cards)}</div>']
    if s.not_graded:
        out.append("<p><b>Not graded:</b></p><ul>" + "".join(
            f"<li>{_e(student)}: {_e('; '.join(why))}</li>"
            for student, why in s.not_graded.items()) + "</ul>")
    if s.class_problems:
        out.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in s.class_problems)
                   + "</ul>")
    out.append("</section>")
    return out


# -- the findings ---------------------------------------------------------------------------
def _evidence(group: Group) -> str:
    """What is folded under a group's line: the static scan's lines, then every line."""
    parts: list[str] = []
    if group.evidence:
        parts.append("<p>Static scan of the submitted cells:</p><ul>" + "".join(
            f"<li><pre>{_e(line)}</pre></li>" for line in group.evidence) + "</ul>")
    parts.append("<ul>" + "".join(f"<li><pre>{_e(f.line())}</pre></li>"
                                  for f in group.findings) + "</ul>")
    return "".join(parts)


def _group_html(group: Group, anchor: str) -> str:
    return (f'<details class="{group.severity}" id="{anchor}"><summary>'
            f'<span class="who">{_e(group.where())}</span>: {_e(group.headline())}</summary>'
            f"{_evidence(group)}</details>")


def _anchors(groups: Sequence[Group]) -> dict[int, str]:
    return {id(g): f"finding-{i}" for i, g in enumerate(groups)}


def _formgrader_link(url: str | None) -> str:
    if url:
        return f'<a href="{_e(url)}">{_e(url)}</a>'
    return _e(FORMGRADER_HOWTO)


def _findings_sections(s: ClassSummary, formgrader: str | None = None) -> list[str]:
    anchors = _anchors(s.groups)
    errors = [g for g in s.groups if g.severity == "error"]
    warnings = [g for g in s.groups if g.severity != "error"]
    out = ['<div id="attention"></div><h2>Needs attention</h2>']
    todo = []
    if s.awaiting:
        parts = ", ".join(f"{gid}: {n}" for items in s.awaiting_by_question().values()
                          for gid, n in items.items())
        todo.append(f'<li class="pending"><a href="#manual">Hand grading</a>: '
                    f"{count(s.awaiting_items, 'answer')} of "
                    f"{count(len(s.awaiting_students), 'student')} await a TA ({_e(parts)}), "
                    f"in the formgrader ({_formgrader_link(formgrader)}) or the grading "
                    "console (<code>instructor/grading_console.ipynb</code>).</li>")
    if s.honour_code:
        todo.append(f'<li class="honour">Honour code not affirmed: '
                    f"{count(len(s.honour_code), 'student')} ({_e(', '.join(s.honour_code))})"
                    "; the evidence is under Notes.</li>")
    if todo:
        out.append(f'<ul class="todo">{"".join(todo)}</ul>')
    if errors:
        out.append(f"<p>{count(len(s.attention), 'student')} (or the class): one line per "
                   "student and kind of problem; click a line for the evidence.</p>")
        out += [_group_html(g, anchors[id(g)]) for g in errors]
    elif not todo:
        out.append("<p>Nothing: every submission was read and graded, every answer is "
                   "graded and every honour code affirmed.</p>")
    else:
        out.append("<p>Every submission was read and graded.</p>")
    if warnings:
        out += ['<div id="notes"></div><h2>Notes</h2>',
                "<p>Informational: nothing here changed a score by itself.</p>",
                *(_group_html(g, anchors[id(g)]) for g in warnings)]
    return out


def _budget_section(findings: Sequence[Finding]) -> list[str]:
    over_budget = [f for f in findings if f.kind == BUDGET_KIND]
    if not over_budget:
        return []
    return [
        '<div id="budgets"></div><h2>Time budgets</h2>',
        f"<p>{len({f.student for f in over_budget})} students ran out of a time budget "
        "(per notebook and per student, in the kernel or the scoring pass): the "
        "cells or checks left unrun scored 0.</p>",
        _table(["student", "notebook", "time used"],
               [[f.student, f.notebook, f.message] for f in over_budget]),
    ]


def _manual_section(s: ClassSummary, grades: ClassGrades, formgrader: str | None = None
                    ) -> list[str]:
    out = ['<div id="manual"></div><h2>Awaiting manual grading</h2>']
    if not s.awaiting:
        return [*out, "<p>None.</p>"]
    rows = []
    for question, items in s.awaiting_by_question().items():
        for grade_id, n in items.items():
            rows.append([question, grade_id, n])
    out += [
        f"<p>{count(len(s.awaiting_students), 'student')}, {count(s.awaiting_items, 'item')} "
        f"to grade in the formgrader ({_formgrader_link(formgrader)}) or the grading console "
        "(<code>instructor/grading_console.ipynb</code>). Then <code>cs230-grade report</code> "
        "redraws this page. Until then those parts are pending: they show as pending, "
        "never as 0, and are left out of the distributions and the item analysis.</p>",
        _table(["question", "part", "answers to grade"], rows),
        "<details><summary>Items per student</summary>"
        + _table(["student", "items"],
                 [[k, ", ".join(v)] for k, v in grades.awaiting_manual.items()])
        + "</details>",
    ]
    return out


def _late_section(grades: ClassGrades) -> list[str]:
    """Late submissions: who, by how much, and the penalty nbgrader's hook applied."""
    late = grades.late
    if not late:
        return []
    rows = [[s.student, s.submitted_at, s.due, late_by(s.seconds_late), f"{s.late_penalty:g}",
             f"{s.total - s.late_penalty:g}"] for s in late]
    return [
        '<div id="late"></div><h2>Late submissions</h2>',
        f"<p>{len(late)} students submitted after the due date. The penalty is the course "
        "policy in <code>nbgrader_config.py</code> (<code>CourseLatePenalty</code>); "
        "<code>grades.csv</code> has it subtracted, the per-question scores below do not.</p>",
        _table(["student", "submitted", "due", "late by", "penalty", "score after penalty"],
               rows),
    ]


# -- the per-student table ------------------------------------------------------------------
def _feedback_href(out_dir: Path, student: str, notebook: str = "") -> str:
    """Relative link from the report to a student's feedback (``""`` when there is none)."""
    folder = out_dir.parent / "feedback" / student / ASSIGNMENT
    if not folder.is_dir():
        return ""
    href = f"../feedback/{quote(student, safe='')}/{ASSIGNMENT}/"
    if notebook:
        if not (folder / f"{notebook}.html").is_file():
            return ""
        href += f"{notebook}.html"
    return href


def _link(text: str, href: str) -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>' if href else _e(text)


def _student_row(s: StudentGrades, groups: Sequence[Group], anchors: dict[int, str],
                 out_dir: Path) -> str:
    cells = [f'<td class="text">{_link(s.student, _feedback_href(out_dir, s.student))}</td>']
    for name in SCORED:
        score = s.notebook_scores.get(name, 0.0)
        if s.pending(name):
            cells.append(f'<td class="pending" data-sort="-1" title="{score:g} points so far">'
                         f"{_link('pending', _feedback_href(out_dir, s.student, name))}</td>")
            continue
        cells.append(f'<td data-sort="{score:g}">'
                     f"{_link(f'{score:g}', _feedback_href(out_dir, s.student, name))}</td>")
    if s.complete:
        cells.append(f'<td data-sort="{s.total:g}">{s.total:g}</td>')
        cells.append(f'<td data-sort="{s.percent:.1f}">{s.percent:.1f}%</td>')
    else:
        cells += [f'<td class="pending" data-sort="-1" title="{s.total:g} points so far">'
                  "pending</td>"] * 2
    cells.append(f'<td data-sort="{len(s.awaiting_manual)}">{len(s.awaiting_manual) or ""}</td>')
    mine = [g for g in groups if g.student == s.student]
    flags = [f'<a class="flag {g.severity}" href="#{anchors[id(g)]}">{_e(g.kind)}</a>'
             for g in mine]
    if s.seconds_late > 0:
        flags.append('<a class="flag" href="#late">late</a>')
    rank = sum(2 if g.severity == "error" else 1 for g in mine) + (s.seconds_late > 0)
    cells.append(f'<td class="text" data-sort="{rank}">{"".join(flags)}</td>')
    return "<tr>" + "".join(cells) + "</tr>"


def _students_section(grades: ClassGrades, s: ClassSummary, out_dir: Path) -> list[str]:
    anchors = _anchors(s.groups)
    headers = ["student", *(TITLES[n].split()[0] for n in SCORED), "total",
               f"% of {EXAM_POINTS}", "awaiting", "flags"]
    head = "".join(f'<th scope="col"{" class=text" if h == "flags" else ""}>'
                   f'<button type="button">{_e(h)}</button></th>' for h in headers)
    body = "".join(_student_row(st, s.groups, anchors, out_dir) for st in grades.students)
    return [
        '<div id="students"></div><h2>Scores per student</h2>',
        "<p>Click a column's header to sort by it (again to reverse). A student's name opens "
        "their feedback folder, a score that notebook's feedback. A question with a part "
        "awaiting hand grading is <i>pending</i> (its points so far in the cell's tooltip), "
        "and so are the total and the percentage. The percentage is of the exam's "
        f"{EXAM_POINTS} points (the {EXTRA_CREDIT} points of extra credit can take it past "
        "100). Late penalties are not subtracted here (they are in "
        "<code>grades.csv</code>).</p>",
        f'<table class="sortable" id="scores"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>",
    ]


# -- per question ---------------------------------------------------------------------------
def _question_section(grades: ClassGrades) -> list[str]:
    out = ['<div id="questions"></div><h2>Per question</h2>']
    if not grades.students:
        return [*out, "<p>No student was graded.</p>"]
    out.append('<div class="questions">')
    for name in [*SCORED, "total"]:
        values = _scores(grades, name)
        title = (f"Total (out of {EXAM_POINTS} + {EXTRA_CREDIT} extra credit)" if name == "total"
                 else f"{TITLES[name]} (out of {_top(name):g})")
        stats = (f"mean {statistics.fmean(values):.1f}, median {statistics.median(values):g}, "
                 f"min {min(values):g}, max {max(values):g}; "
                 f"{sum(v >= _top(name) for v in values)} at full marks" if values
                 else "pending: no final score yet")
        if _pending_count(grades, name):
            stats += (f"; {count(_pending_count(grades, name), 'student')} pending hand "
                      "grading (not counted)")
        out.append(f'<section class="question"><h3>{_e(title)}</h3>'
                   f'<p class="stats">{_e(stats)}</p><div class="figure">'
                   f"{_img(question_png(grades, name), 'distribution of ' + title)}</div>"
                   "</section>")
    return [*out, "</div>"]


# -- what the class got wrong, and item analysis -----------------------------------------------
#: mistakes shown per question (bars and the messages to explain); mistakes.csv has them all
TOP_MISTAKES = 5


def _mistakes_section(counts: Sequence[MistakeCount]) -> list[str]:
    out = ['<div id="mistakes"></div><h2>What the class got wrong</h2>',
           "<p>The named mistakes the hidden tests recognised, per question, most common first "
           "(each student counted once per part; <code>mistakes.csv</code> lists the students). "
           "Under each chart, the message the student read: what to explain to the "
           "class.</p>"]
    if not counts:
        return [*out, "<p>No named mistake was recognised.</p>"]
    out.append('<div class="questions">')
    for name in SCORED:
        mine = [c for c in counts if c.notebook == name]
        if not mine:
            continue
        ranked = sorted(mine, key=lambda c: -len(c.students))
        fig = mistakes_figure(ranked, TITLES[name], top=TOP_MISTAKES)
        board = "".join(
            f"<li><b>{_e(c.grade_id.removesuffix('_test'))}: "
            f"{_e(c.mistake_id.split('.', 1)[-1])}</b> ({count(len(c.students), 'student')}): "
            f"{_e(c.message)}</li>" for c in ranked[:TOP_MISTAKES])
        rows = [(c.grade_id, c.mistake_id, len(c.students), f"{100 * c.share:.0f}%", c.message)
                for c in ranked]
        more = (f"<details><summary>all {len(ranked)} mistakes</summary>"
                f"{_table(['part', 'mistake', 'students', 'share', 'message'], rows)}</details>"
                if len(ranked) > TOP_MISTAKES else "")
        out.append(f'<section class="question"><h3>{_e(TITLES[name])}</h3>'
                   f'<div class="figure">{_img(_png(fig), "common mistakes: " + TITLES[name])}'
                   f'</div><ol class="board">{board}</ol>{more}</section>')
    return [*out, "</div>"]


def _items_section(stats: Sequence[ItemStats]) -> list[str]:
    out = ['<div id="items"></div><h2>Item analysis</h2>',
           "<p>Difficulty: the mean fraction of a part's points the class earned. "
           "Discrimination: the correlation between a part and the rest of the exam; below "
           f"{FLAG_BELOW:g}, or negative, the key or the question may be wrong. Only graded "
           "parts are analysed: a hand-graded part joins once all its answers are graded "
           "(<code>cs230-grade report</code>). All parts: "
           '<a href="item_analysis.csv"><code>item_analysis.csv</code></a>.</p>']
    pending = [s for s in stats if s.flag == FLAG_PENDING]
    analysed = [s for s in stats if s.flag != FLAG_PENDING]
    if pending:
        out.append("<p class='pending'>Pending, not analysed: " + _e(", ".join(
            f"{s.part.grade_id} ({s.pending} to grade)" for s in pending)) + ".</p>")
    if not analysed:
        return [*out, "<p>No part is graded yet.</p>"]
    out.append(f'<div class="figure">{_img(_png(item_figure(analysed)), "item analysis")}'
               "</div>")
    flagged = [(s.part.grade_id, s.n_graded, _fmt3(s.difficulty), _fmt3(s.discrimination),
                s.flag) for s in analysed if s.flag and s.flag != FLAG_FEW]
    few = [s.part.grade_id for s in analysed if s.flag == FLAG_FEW]
    if flagged:
        out += ["<h3>Parts to check</h3>",
                _table(["part", "graded", "difficulty", "discrimination", "why"], flagged)]
    else:
        out.append("<p>No part is flagged.</p>")
    if few:
        out.append(f"<p>Fewer than {MIN_STUDENTS} graded students, so no discrimination yet: "
                   f"{_e(', '.join(few))}.</p>")
    return out


def _fmt3(value: float) -> str:
    return "" if value != value else f"{value:.2f}"  # NaN: undefined


# -- files and the audit log ------------------------------------------------------------------
#: what the pipeline writes beside the page, in the order the page lists them
FILES = (("grades.csv", "grades as nbgrader exports them, out of the exam's points"),
         ("scores_by_question.csv", "one column per question, total and percentage"),
         ("canvas.csv", "ready for Canvas's Grades > Import"),
         ("mistakes.csv", "the named mistakes, with the students"),
         ("item_analysis.csv", "difficulty and discrimination of every part"),
         ("similarity.csv", "every pair of similar answers"),
         ("rubric.md", "model answers and rubric items, for the TAs"))


def _files_section(out_dir: Path) -> list[str]:
    """A link to each file written beside the page (relative: the folder moves whole)."""
    items = [f'<li><a href="{_e(quote(name))}">{_e(name)}</a>: {_e(why)}</li>'
             for name, why in FILES if (out_dir / name).is_file()]
    if not items:
        return []
    return ['<div id="files"></div><h2>Files</h2>', f"<ul>{''.join(items)}</ul>"]


#: changes of hand grades shown on the page (``cs230-grade audit`` prints them all)
RECENT_CHANGES = 50


def _changes_section(changes: Sequence[Change]) -> list[str]:
    out = ['<div id="changes"></div><h2>Changes of hand grades</h2>',
           "<p>Every score and comment written by hand (formgrader, grading console, "
           "<code>cs230_grading.manual</code>) is in the gradebook's audit log, with who, "
           "when and the tool; <code>cs230-grade audit</code> prints it all.</p>"]
    if not changes:
        return [*out, "<p>None yet.</p>"]
    shown = list(changes)[-RECENT_CHANGES:]
    rows = [[f"{c.changed_at:%Y-%m-%d %H:%M:%S}", c.who, c.tool, c.student, c.grade_id,
             c.field, "" if c.old is None else c.old, "" if c.new is None else c.new]
            for c in reversed(shown)]
    note = (f"<p>The latest {len(shown)} of {len(changes)}.</p>"
            if len(changes) > len(shown) else "")
    table = _table(["when (UTC)", "who", "tool", "student", "part", "what", "old", "new"],
                   rows)
    return [*out, note, f"<details><summary>{count(len(changes), 'change')}, newest first"
            f"</summary>{table}</details>"]


# -- the page -------------------------------------------------------------------------------
def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _policy() -> str:
    """Only the page's own stylesheet and script (by their hashes) and ``data:`` images."""
    return (f"default-src 'none'; img-src data:; style-src {_sha256(STYLE)}; "
            f"script-src {_sha256(SCRIPT)}; base-uri 'none'; form-action 'none'")


def write_report(
    grades: ClassGrades,
    findings: Sequence[Finding],
    out_dir: Path,
    *,
    notes: Sequence[str] = (),
    similarity: Sequence[Pair] | None = None,
    mistakes: Sequence[MistakeCount] | None = None,
    items: Sequence[ItemStats] | None = None,
    changes: Sequence[Change] | None = None,
    formgrader: str | None = None,
) -> Path:
    """Write ``report.html`` and ``score_distribution.png`` into ``out_dir``.

    Feedback links point to ``../feedback/<student>/midterm/`` when that folder exists next
    to ``out_dir`` (the course root's ``reports/``); the files already in ``out_dir`` are
    linked. ``changes``: the audit log of hand grades; ``formgrader``: the formgrader's
    address (default: :func:`summary.formgrader_url` of the course root).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "score_distribution.png").write_bytes(distribution_png(grades))
    summary = summarise(grades, findings)
    formgrader = formgrader or formgrader_url(out_dir.parent)
    nav = [("summary", "Summary"), ("attention", "Needs attention"),
           ("manual", "Hand grading"), ("students", "Students"), ("questions", "Questions")]
    if mistakes is not None:
        nav.append(("mistakes", "Mistakes"))
    if items is not None:
        nav.append(("items", "Item analysis"))
    if similarity is not None:
        nav.append(("similar", "Similar answers"))
    if changes is not None:
        nav.append(("changes", "Grade changes"))
    files = _files_section(out_dir)
    if files:
        nav.append(("files", "Files"))
    sections = [
        "<header><h1>CS230 midterm: grading report</h1>",
        f'<p class="lead">{len(grades.students)} students graded. Exam out of {EXAM_POINTS} '
        f"points plus {EXTRA_CREDIT} extra credit (Q6).</p>",
        "<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in nav) + "</nav></header>",
        *_summary_section(summary),
        *_findings_sections(summary, formgrader),
        *_budget_section(findings),
        *_manual_section(summary, grades, formgrader),
        *_late_section(grades),
        *_students_section(grades, summary, out_dir),
        *_question_section(grades),
        *(_mistakes_section(mistakes) if mistakes is not None else []),
        *(_items_section(items) if items is not None else []),
        *exam_day_sections(out_dir.parent, [s.student for s in grades.students]),
    ]
    if similarity is not None:  # the pipeline compared the answers
        sections.append(f'<section id="similar">{similarity_html(list(similarity))}</section>')
    if changes is not None:
        sections += _changes_section(changes)
    sections += files
    for note in notes:
        sections.append(f"<p>{_e(note)}</p>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{_policy()}\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>CS230 midterm report</title><style>{STYLE}</style></head><body>"
            f"{''.join(sections)}<script>{SCRIPT}</script></body></html>")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


