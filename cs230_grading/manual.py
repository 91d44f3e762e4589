"""Hand grading at scale: rubric items, answer groups, and scores written to the gradebook.

Twenty points are graded by hand (Q2 (a)-(h), Q4 (iii)). For each of those answer cells
(a *part*, named by its nbgrader grade id) the rubric is data: ``instructor/rubric_items.yaml``
lists items ``{id, points, description}`` (see :mod:`cs230_grading.rubric`). A TA applies
items to answers; a student's score on the part is derived::

    score = clamp(start + sum(points of the applied items) + adjustment, 0, full marks)

with ``start`` 0 (``scoring: positive``) or the full marks (``scoring: negative``), and the
full marks read from the cell's nbgrader ``points`` metadata in ``source/``.

What is stored, all in the course gradebook (SQLite or any SQLAlchemy URL), beside
nbgrader's own tables:

* ``cs230_rubric_applied``: (grade id, student, item id, grader, time), one row per item
  applied to an answer;
* ``cs230_rubric_graded``: (grade id, student, grader, time, adjustment, comment), one row per
  answer a TA has graded (with or without items);
* ``cs230_answer_split``: (grade id, student), answers a TA pulled out of their group;
* ``cs230_rubric_written``: (grade id, student, score, comment), what this module last wrote
  to nbgrader's tables, so that a grade or comment typed since in another tool (the
  formgrader) is recognised and never replaced unseen;
* ``cs230_audit`` (:mod:`cs230_grading.audit`): every change of a score or comment, with
  who, when and the tool, old -> new, in the same transaction as the change.

A grade or comment of an answer written by another tool (the formgrader) is a *hand grade*
(:func:`hand_grades`): applying items, adjusting or re-scoring keeps it, and says so, unless
the caller passes ``replace=True`` (the console's explicit choice). Writing needs the TA's
name.

Every change is one transaction that touches only the rows of one part (and only of the
students concerned), and it writes the derived score and a comment listing the items to
nbgrader's ``Grade.manual_score`` / ``Comment.manual_comment``. So ``nbgrader export``, the
formgrader and ``cs230-grade report`` show the same grades, and two TAs grading different
parts never overwrite each other. Item points live in one place, the YAML file:
:func:`set_item_points` edits that line of the file and re-scores exactly the answers that
have the item.

Answers are read from ``autograded/<student>/midterm/<notebook>.ipynb`` (what the formgrader
shows). Answers left as released (``YOUR ANSWER HERE``) or empty are not listed: nbgrader has
already scored them 0.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import os
import re
import string
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from . import audit
from .course import ASSIGNMENT, Course
from .notebooks import NotebookError, grade_cells, nbgrader_meta, read_notebook

#: the rubric items data file, relative to the course root (outside ``source/``: a change to
#: it must not change the course kit's hash, which would regrade the whole class)
ITEMS_FILE = Path("instructor") / "rubric_items.yaml"
APPLIED, GRADED, SPLIT = "cs230_rubric_applied", "cs230_rubric_graded", "cs230_answer_split"
WRITTEN = "cs230_rubric_written"
#: the ``tool`` of the audit log's rows written through this module
API_TOOL = "manual"
#: cosine distance (TF-IDF) under which two different answers share a group
CLUSTER_DISTANCE = 0.55
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "“”‘’–—…"})


class RubricError(ValueError):
    """The rubric items file, a grade id, an item id or a student is not what it should be."""


# --- rubric items --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Item:
    """One rubric item of a part."""

    id: str
    points: float
    description: str


@dataclasses.dataclass(frozen=True)
class Part:
    """A hand-graded answer cell and its rubric items."""

    grade_id: str
    notebook: str
    max_points: float
    scoring: str  # "positive" (start at 0) or "negative" (start at max_points)
    items: tuple[Item, ...]

    @property
    def start(self) -> float:
        return self.max_points if self.scoring == "negative" else 0.0

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise RubricError(f"{self.grade_id} has no rubric item {item_id!r} "
                          f"(items: {', '.join(i.id for i in self.items)})")

    def score(self, item_ids: Iterable[str], adjustment: float = 0.0) -> float:
        """The derived score: start + applied points + adjustment, within [0, max_points]."""
        total = self.start + sum(self.item(i).points for i in set(item_ids)) + adjustment
        return min(max(total, 0.0), self.max_points)


def items_path(course_root: str | Path) -> Path:
    return Path(course_root) / ITEMS_FILE


def manual_cells(source_dir: str | Path) -> dict[str, tuple[str, float]]:
    """``{grade_id: (notebook, points)}`` for every hand-graded answer cell in ``source_dir``."""
    cells: dict[str, tuple[str, float]] = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        for gid, cell in grade_cells(read_notebook(path)).items():
            meta = nbgrader_meta(cell)
            if meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown":
                cells[gid] = (path.stem, float(meta.get("points", 0)))
    return cells


def load_rubric(course_root: str | Path) -> dict[str, Part]:
    """Every part of the rubric items file, checked against the source notebooks."""
    import yaml

    path = items_path(course_root)
    if not path.is_file():
        raise RubricError(f"{path}: no rubric items file (copy {ITEMS_FILE} from the kit)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RubricError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    cells = manual_cells(Path(course_root) / "source" / ASSIGNMENT)
    parts: dict[str, Part] = {}
    for gid, entry in data.items():
        if gid not in cells:
            continue  # a part whose notebook this (scratch) course does not hold
        try:
            items = tuple(Item(str(i["id"]), float(i["points"]), str(i["description"]))
                          for i in entry["items"])
            scoring = str(entry.get("scoring", "positive"))
        except (KeyError, TypeError, ValueError) as exc:
            raise RubricError(f"{path}: {gid}: each item needs id, points and description "
                              f"({type(exc).__name__}: {exc})") from None
        if scoring not in ("positive", "negative"):
            raise RubricError(f"{path}: {gid}: scoring must be positive or negative")
        ids = [i.id for i in items]
        if len(set(ids)) != len(ids):
            raise RubricError(f"{path}: {gid}: duplicate item ids")
        notebook, points = cells[gid]
        parts[gid] = Part(gid, notebook, points, scoring, items)
    missing = sorted(set(cells) - set(data))
    if missing:
        raise RubricError(f"{path}: no rubric items for {', '.join(missing)}")
    return parts


def load_part(course_root: str | Path, grade_id: str) -> Part:
    parts = load_rubric(course_root)
    if grade_id not in parts:
        raise RubricError(f"{grade_id!r} is not a hand-graded part "
                          f"(parts: {', '.join(parts)})")
    return parts[grade_id]


# --- storage -------------------------------------------------------------------------
def _tables() -> Any:
    from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Text

    meta = MetaData()
    Table(APPLIED, meta,
          Column("grade_id", String(64), primary_key=True),
          Column("student", String(128), primary_key=True),
          Column("item_id", String(64), primary_key=True),
          Column("grader", String(128), nullable=False),
          Column("applied_at", DateTime, nullable=False))
    Table(GRADED, meta,
          Column("grade_id", String(64), primary_key=True),
          Column("student", String(128), primary_key=True),
          Column("grader", String(128), nullable=False),
          Column("graded_at", DateTime, nullable=False),
          Column("adjustment", Float, nullable=False, default=0.0),
          Column("comment", Text, nullable=False, default=""))
    Table(SPLIT, meta,
          Column("grade_id", String(64), primary_key=True),
          Column("student", String(128), primary_key=True))
    Table(WRITTEN, meta,
          Column("grade_id", String(64), primary_key=True),
          Column("student", String(128), primary_key=True),
          Column("score", Float, nullable=True),
          Column("comment", Text, nullable=True))
    return meta


_META = _tables()


def _db_url(course_root: str | Path, db_url: str | None) -> str:
    return Course(course_root, db_url=db_url or os.environ.get("CS230_GRADEBOOK_URL")).db_url


@contextlib.contextmanager
def _gradebook(course_root: str | Path, db_url: str | None) -> Iterator[Any]:
    """nbgrader's Gradebook on the course's gradebook, with this module's tables created."""
    from nbgrader.api import Gradebook

    with Gradebook(_db_url(course_root, db_url)) as gb:
        _META.create_all(gb.db.get_bind(), checkfirst=True)
        audit.ensure_table(gb.db.get_bind())
        yield gb


def require_grader(grader: str | None) -> str:
    """The TA's name, stripped; a :class:`RubricError` when there is none."""
    name = (grader or "").strip()
    if not name:
        raise RubricError("type your name as the grader first: every grade is recorded "
                          "with the TA who gave it")
    return name


def _transaction(course_root: str | Path, db_url: str | None, work: Any, attempts: int = 5,
                 *, grader: str = "", tool: str = API_TOOL) -> Any:
    """Run ``work(gb)`` and commit, as one transaction; retried if the database is busy.

    The changes of manual scores and comments it makes are recorded in the audit log, in
    the same transaction, under ``grader`` and ``tool``.
    """
    from sqlalchemy.exc import OperationalError

    audit.install()
    for attempt in range(attempts):
        with _gradebook(course_root, db_url) as gb, \
                audit.recording(grader or "(unknown)", tool):
            try:
                result = work(gb)
                gb.db.commit()
                return result
            except OperationalError as exc:
                gb.db.rollback()
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
            except BaseException:
                gb.db.rollback()
                raise
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _rows(gb: Any, table: str, grade_id: str, students: Sequence[str] | None = None
          ) -> list[Any]:
    from sqlalchemy import select

    tab = _META.tables[table]
    query = select(tab).where(tab.c.grade_id == grade_id)
    if students is not None:
        query = query.where(tab.c.student.in_(list(students)))
    return list(gb.db.execute(query))


# --- answers and groups --------------------------------------------------------------
def normalise(text: str) -> str:
    """Lower case, punctuation as spaces, whitespace collapsed (the identity of a group)."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_PUNCT)
    return " ".join(text.split())


def _stub(course_root: Path, part: Part) -> str:
    """The answer cell's text as released (``YOUR ANSWER HERE``)."""
    path = course_root / "release" / ASSIGNMENT / f"{part.notebook}.ipynb"
    with contextlib.suppress(NotebookError, KeyError):
        return grade_cells(read_notebook(path))[part.grade_id].source
    return "YOUR ANSWER HERE"


def answers(course_root: str | Path, grade_id: str, *, db_url: str | None = None
            ) -> dict[str, str]:
    """``{student: answer text}`` for every submission with an answer to this part."""
    from nbgrader.api import Gradebook, MissingEntry, SubmittedAssignment

    root = Path(course_root)
    part = load_part(root, grade_id)
    with Gradebook(_db_url(root, db_url)) as gb:
        try:
            assignment = gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            raise RubricError(f"the gradebook has no {ASSIGNMENT} assignment yet "
                              "(run cs230-grade run first)") from None
        students = sorted(sid for (sid,) in gb.db.query(SubmittedAssignment.student_id)
                          .filter(SubmittedAssignment.assignment_id == assignment.id))
    blank = normalise(_stub(root, part))
    found: dict[str, str] = {}
    for student in students:
        path = root / "autograded" / student / ASSIGNMENT / f"{part.notebook}.ipynb"
        source = _cell_sources(path).get(grade_id)
        source = as_written(source) if source is not None else None
        if source is not None and normalise(source) not in ("", blank):
            found[student] = source
    return found


def as_written(source: str) -> str:
    """The student's text of an answer the sanitizer wrapped (:func:`sanitize.as_typed`).

    The autograded notebook shows an answer with active HTML in a fenced block under a note;
    groups and the console use what the student typed (the console shows it escaped).
    """
    from .sanitize import AS_TYPED_NOTE

    if not source.startswith(AS_TYPED_NOTE):
        return source
    match = re.match(r"\n\n(~{3,}) text\n(.*)\n\1\n?$", source[len(AS_TYPED_NOTE):], re.S)
    return match.group(2) if match else source


#: path -> ((mtime_ns, size), {grade_id: cell source}): a console re-reads a class per click
_SOURCES: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}


def _cell_sources(path: Path) -> dict[str, str]:
    """``{grade_id: source}`` of a notebook's graded cells; ``{}`` when it is unreadable."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _SOURCES.get(str(path))
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        cells = {gid: cell.source for gid, cell in grade_cells(read_notebook(path)).items()}
    except NotebookError:
        cells = {}
    _SOURCES[str(path)] = (stamp, cells)
    return cells


@dataclasses.dataclass(frozen=True)
class AnswerGroup:
    """Answers of one part that read alike: ``answers`` is ``{student: answer text}``."""

    grade_id: str
    answers: dict[str, str]

    @property
    def students(self) -> list[str]:
        return sorted(self.answers)

    @property
    def key(self) -> str:
        """Stable id of the group (from its members)."""
        digest = hashlib.sha1("\0".join(self.students).encode()).hexdigest()[:12]
        return f"{self.grade_id}:{digest}"

    def __len__(self) -> int:
        return len(self.answers)


def cluster(texts: Sequence[str], distance: float = CLUSTER_DISTANCE) -> list[int]:
    """A cluster label per text: TF-IDF vectors, agglomerative clustering (cosine, average).

    ``texts`` should be distinct normalised answers; returns ``[label] * len(texts)``.
    """
    if len(texts) < 2:
        return [0] * len(texts)
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english",
                                  token_pattern=r"(?u)\b\w+\b").fit_transform(texts)
    except ValueError:  # no word that is not a stop word in any answer
        return list(range(len(texts)))
    labels = list(range(len(texts)))  # answers made only of stop words: each on its own
    rows = [n for n in range(len(texts)) if vectors[n].nnz]
    if len(rows) >= 2:
        found = AgglomerativeClustering(n_clusters=None, distance_threshold=distance,
                                        metric="cosine", linkage="average"
                                        ).fit_predict(vectors[rows].toarray())
        for n, label in zip(rows, found, strict=True):
            labels[n] = len(texts) + int(label)
    return labels


def answer_groups(course_root: str | Path, grade_id: str, *, db_url: str | None = None
                  ) -> list[AnswerGroup]:
    """The answers to one part in groups of similar answers, largest group first.

    Answers identical after :func:`normalise` always share a group; different ones join
    when :func:`cluster` puts them together. An answer a TA pulled out (:func:`pull_out`) is
    a group of its own. Ties are ordered by the first student id.
    """
    texts = answers(course_root, grade_id, db_url=db_url)
    with _gradebook(course_root, db_url) as gb:
        split = {r.student for r in _rows(gb, SPLIT, grade_id)}
    by_norm: dict[str, list[str]] = {}
    for student in sorted(set(texts) - split):
        by_norm.setdefault(normalise(texts[student]), []).append(student)
    norms = sorted(by_norm)
    merged: dict[int, list[str]] = {}
    for norm, label in zip(norms, cluster(norms), strict=True):
        merged.setdefault(label, []).extend(by_norm[norm])
    members = [*merged.values(), *([s] for s in sorted(split & set(texts)))]
    groups = [AnswerGroup(grade_id, {s: texts[s] for s in sorted(m)}) for m in members]
    return sorted(groups, key=lambda g: (-len(g), g.students[0]))


def pull_out(course_root: str | Path, grade_id: str, student: str, *,
             db_url: str | None = None) -> None:
    """Take one answer out of its group: from now on it is a group of its own."""
    from sqlalchemy import select

    load_part(course_root, grade_id)
    tab = _META.tables[SPLIT]

    def work(gb: Any) -> None:
        exists = gb.db.execute(select(tab).where(tab.c.grade_id == grade_id,
                                                 tab.c.student == student)).first()
        if not exists:
            gb.db.execute(tab.insert().values(grade_id=grade_id, student=student))

    _transaction(course_root, db_url, work)


# --- applying items and scoring -------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class AnswerGrade:
    """How one answer is graded: the items applied, the adjustment, and the score."""

    student: str
    items: tuple[str, ...]
    score: float
    grader: str
    adjustment: float = 0.0
    comment: str = ""


def _comment(part: Part, item_ids: Iterable[str], adjustment: float, note: str) -> str:
    lines = [f"[{item.points:+g}] {item.description}" for item in part.items
             if item.id in set(item_ids)]
    if adjustment or note:
        lines.append(f"[{adjustment:+g}] {note}".rstrip())
    return "\n".join(lines) or "No rubric item applies."


@dataclasses.dataclass(frozen=True)
class HandGrade:
    """A score or comment of an answer written by another tool than this module."""

    student: str
    score: float | None
    comment: str
    #: who wrote it and with what, from the audit log ("" when it was not recorded)
    who: str = ""
    tool: str = ""

    def describe(self) -> str:
        """"1.5 points and a comment, typed in the formgrader by alice"."""
        what = []
        if self.score is not None:
            what.append(f"{self.score:g} points")
        if self.comment.strip():
            what.append("a comment")
        where = f"in the {self.tool}" if self.tool else "in another tool"
        by = f" by {self.who}" if self.who else ""
        return f"{' and '.join(what) or 'a grade'}, typed {where}{by}"


def _nb_grades(gb: Any, part: Part, students: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    """``{student: (Grade, Comment or None)}`` of nbgrader's tables for this part, in two
    queries (students without a graded submission are missing)."""
    from nbgrader.api import Comment, Grade, MissingEntry, SubmittedAssignment, SubmittedNotebook

    if not students:
        return {}
    try:
        cell = gb.find_grade_cell(part.grade_id, part.notebook, ASSIGNMENT)
    except MissingEntry:
        return {}
    comment_cell = None
    with contextlib.suppress(MissingEntry):
        comment_cell = gb.find_solution_cell(part.grade_id, part.notebook, ASSIGNMENT)

    def rows(model: Any, cell_id: str) -> dict[str, Any]:
        query = (gb.db.query(model, SubmittedAssignment.student_id)
                 .join(SubmittedNotebook, model.notebook_id == SubmittedNotebook.id)
                 .join(SubmittedAssignment,
                       SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                 .filter(model.cell_id == cell_id,
                         SubmittedAssignment.student_id.in_(list(students))))
        return {student: obj for obj, student in query}

    grades = rows(Grade, cell.id)
    comments = rows(Comment, comment_cell.id) if comment_cell is not None else {}
    return {s: (g, comments.get(s)) for s, g in grades.items()}


def _hand_grades(gb: Any, part: Part, students: Sequence[str]) -> dict[str, HandGrade]:
    """The answers among ``students`` whose score or comment another tool wrote.

    An answer this module never wrote is a hand grade when it has a manual score or a
    comment; one it wrote is, when the score or comment differs from what it wrote last.
    """
    students = sorted(set(students))
    written = {r.student: r for r in _rows(gb, WRITTEN, part.grade_id, students)}
    graded = {r.student for r in _rows(gb, GRADED, part.grade_id, students)}
    found: dict[str, HandGrade] = {}
    stored = _nb_grades(gb, part, students)
    for student in students:
        if student not in stored:
            continue
        grade, comment = stored[student]
        score, text = grade.manual_score, (comment.manual_comment or "") if comment else ""
        mine = written.get(student)
        if mine is not None:
            same = (_close(score, mine.score) and text.strip() == (mine.comment or "").strip())
            if same:
                continue
        elif student in graded or (score is None and not text.strip()):
            continue  # graded here before the log existed, or untouched
        found[student] = HandGrade(student, score, text)
    if found:
        last = audit.latest(gb.db, part.grade_id, list(found))
        for student, hand in list(found.items()):
            change = last.get((student, audit.SCORE)) or last.get((student, audit.COMMENT))
            if change is not None and change.tool != API_TOOL and change.tool != "console":
                found[student] = dataclasses.replace(hand, who=change.who, tool=change.tool)
    return found


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-9


def hand_grades(course_root: str | Path, grade_id: str, students: Sequence[str] | None = None,
                *, db_url: str | None = None) -> dict[str, HandGrade]:
    """``{student: HandGrade}``: answers of this part graded or commented in another tool
    (the formgrader), which this module keeps unless told to replace them."""
    part = load_part(course_root, grade_id)
    with _gradebook(course_root, db_url) as gb:
        if students is None:
            students = [s for s in answers(course_root, grade_id, db_url=db_url)]
        return _hand_grades(gb, part, list(students))


def _rescore(gb: Any, part: Part, students: Iterable[str], replace: bool = False
             ) -> dict[str, float]:
    """Write the derived score and comment of each student's answer to nbgrader's tables.

    Hand grades (:func:`hand_grades`) are kept unless ``replace``.
    """
    from sqlalchemy import delete

    students = sorted(set(students))
    if not replace:
        students = [s for s in students if s not in _hand_grades(gb, part, students)]
    applied: dict[str, set[str]] = {s: set() for s in students}
    for row in _rows(gb, APPLIED, part.grade_id, students):
        applied[row.student].add(row.item_id)
    graded = {r.student: r for r in _rows(gb, GRADED, part.grade_id, students)}
    scores: dict[str, float] = {}
    stored = _nb_grades(gb, part, [s for s in students if s in graded])
    for student in students:
        row = graded.get(student)
        if row is None:
            continue
        score = part.score(applied[student], row.adjustment)
        if student not in stored:
            raise RubricError(f"{student} has no graded submission of {part.notebook} "
                              "in the gradebook (autograde it first)")
        grade, comment = stored[student]
        grade.manual_score = score
        grade.needs_manual_grade = False
        text = None
        if comment is not None:
            text = _comment(part, applied[student], row.adjustment, row.comment)
            comment.manual_comment = text
        written = _META.tables[WRITTEN]
        gb.db.execute(delete(written).where(written.c.grade_id == part.grade_id,
                                            written.c.student == student))
        gb.db.execute(written.insert().values(grade_id=part.grade_id, student=student,
                                              score=score, comment=text))
        scores[student] = score
    gb.db.flush()
    return scores


def _mark_graded(gb: Any, grade_id: str, students: Sequence[str], grader: str,
                 now: dt.datetime) -> None:
    from sqlalchemy import update

    tab = _META.tables[GRADED]
    have = {r.student for r in _rows(gb, GRADED, grade_id, students)}
    for student in students:
        if student in have:
            gb.db.execute(update(tab).where(tab.c.grade_id == grade_id,
                                            tab.c.student == student)
                          .values(grader=grader, graded_at=now))
        else:
            gb.db.execute(tab.insert().values(grade_id=grade_id, student=student,
                                              grader=grader, graded_at=now,
                                              adjustment=0.0, comment=""))


def _check_students(course_root: str | Path, grade_id: str, students: Sequence[str],
                    db_url: str | None) -> list[str]:
    students = list(dict.fromkeys(students))
    known = answers(course_root, grade_id, db_url=db_url)
    unknown = [s for s in students if s not in known]
    if unknown:
        raise RubricError(f"no answer to {grade_id} from {', '.join(unknown)}")
    return students


def _to_write(gb: Any, part: Part, students: Sequence[str], replace: bool) -> list[str]:
    """``students`` without the hand grades, unless ``replace``."""
    if replace:
        return list(students)
    kept = _hand_grades(gb, part, students)
    return [s for s in students if s not in kept]


def apply_items(course_root: str | Path, grade_id: str, students: Sequence[str],
                item_ids: Sequence[str], grader: str, *, db_url: str | None = None,
                replace: bool = False, tool: str = API_TOOL) -> dict[str, float]:
    """Apply rubric items to these students' answers (e.g. a whole group) and score them.

    Items already applied stay; an empty ``item_ids`` marks the answers graded with no item.
    An answer with a hand grade (:func:`hand_grades`) is left as it is unless ``replace``.
    Returns ``{student: new score}`` of the answers written; the scores and comments are in
    the gradebook, and each change in the audit log under ``grader`` and ``tool``.
    """
    part = load_part(course_root, grade_id)
    for item_id in item_ids:
        part.item(item_id)
    grader = require_grader(grader)
    students = _check_students(course_root, grade_id, students, db_url)
    tab = _META.tables[APPLIED]

    def work(gb: Any) -> dict[str, float]:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        todo = _to_write(gb, part, students, replace)
        _mark_graded(gb, grade_id, todo, grader, now)
        have = {(r.student, r.item_id) for r in _rows(gb, APPLIED, grade_id, todo)}
        for student in todo:
            for item_id in dict.fromkeys(item_ids):
                if (student, item_id) not in have:
                    gb.db.execute(tab.insert().values(grade_id=grade_id, student=student,
                                                      item_id=item_id, grader=grader,
                                                      applied_at=now))
        return _rescore(gb, part, todo, replace=True)

    return _transaction(course_root, db_url, work, grader=grader, tool=tool)


def remove_items(course_root: str | Path, grade_id: str, students: Sequence[str],
                 item_ids: Sequence[str], grader: str, *, db_url: str | None = None,
                 replace: bool = False, tool: str = API_TOOL) -> dict[str, float]:
    """Take rubric items off these students' answers and score them again (hand grades are
    left as they are unless ``replace``)."""
    from sqlalchemy import delete

    part = load_part(course_root, grade_id)
    for item_id in item_ids:
        part.item(item_id)
    grader = require_grader(grader)
    students = _check_students(course_root, grade_id, students, db_url)
    tab = _META.tables[APPLIED]

    def work(gb: Any) -> dict[str, float]:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        todo = _to_write(gb, part, students, replace)
        _mark_graded(gb, grade_id, todo, grader, now)
        gb.db.execute(delete(tab).where(tab.c.grade_id == grade_id,
                                        tab.c.student.in_(todo),
                                        tab.c.item_id.in_(list(item_ids))))
        return _rescore(gb, part, todo, replace=True)

    return _transaction(course_root, db_url, work, grader=grader, tool=tool)


def adjust(course_root: str | Path, grade_id: str, student: str, points: float,
           comment: str, grader: str, *, db_url: str | None = None, replace: bool = False,
           tool: str = API_TOOL) -> float | None:
    """Set a per-answer adjustment (added after the items) and the TA's comment.

    Returns the new score, or ``None`` when the answer has a hand grade and ``replace`` is
    false (nothing is written then). A comment alone (``points`` 0) is allowed.
    """
    from sqlalchemy import update

    part = load_part(course_root, grade_id)
    if points and not comment.strip():
        raise RubricError("an adjustment needs a comment saying why")
    grader = require_grader(grader)
    [student] = _check_students(course_root, grade_id, [student], db_url)
    tab = _META.tables[GRADED]

    def work(gb: Any) -> float | None:
        if not _to_write(gb, part, [student], replace):
            return None
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        _mark_graded(gb, grade_id, [student], grader, now)
        gb.db.execute(update(tab).where(tab.c.grade_id == grade_id, tab.c.student == student)
                      .values(adjustment=float(points), comment=comment.strip()))
        return _rescore(gb, part, [student], replace=True)[student]

    return _transaction(course_root, db_url, work, grader=grader, tool=tool)


def _edit_points(path: Path, grade_id: str, item_id: str, points: float) -> None:
    """Rewrite the ``points:`` line of one item in the YAML file (layout and comments kept)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    in_part = in_item = False
    for n, line in enumerate(lines):
        if re.match(r"^[^\s#][^:]*:", line):
            in_part = line.split(":", 1)[0].strip() == grade_id
            in_item = False
            continue
        item = re.match(r"^\s*- id:\s*['\"]?([^'\"\s#]+)", line)
        if item:
            in_item = in_part and item.group(1) == item_id
            continue
        match = re.match(r"^(\s*points:\s*)([^\s#]+)(.*)$", line, re.S)
        if in_item and match:
            lines[n] = f"{match.group(1)}{points:g}{match.group(3)}"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text("".join(lines), encoding="utf-8")
            os.replace(tmp, path)
            return
    raise RubricError(f"{path}: cannot find the points line of {grade_id} / {item_id}")


def set_item_points(course_root: str | Path, grade_id: str, item_id: str, points: float, *,
                    db_url: str | None = None, grader: str = "rubric file",
                    tool: str = API_TOOL) -> dict[str, float]:
    """Change an item's points in the items file and re-score every answer that has it.

    Only the answers with the item are written (hand grades are kept); returns
    ``{student: new score}`` for them.
    """
    from sqlalchemy import select

    load_part(course_root, grade_id).item(item_id)
    path = items_path(course_root)
    folder = os.open(path.parent, os.O_RDONLY)  # lock the folder: the file is replaced
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        _edit_points(path, grade_id, item_id, float(points))
    finally:
        os.close(folder)  # releases the lock
    part = load_part(course_root, grade_id)
    if part.item(item_id).points != float(points):
        raise RubricError(f"{path}: the points of {grade_id} / {item_id} did not change")
    tab = _META.tables[APPLIED]

    def work(gb: Any) -> dict[str, float]:
        rows = gb.db.execute(select(tab.c.student).where(tab.c.grade_id == grade_id,
                                                         tab.c.item_id == item_id))
        return _rescore(gb, part, [r.student for r in rows])

    return _transaction(course_root, db_url, work, grader=grader, tool=tool)


def rescore(course_root: str | Path, grade_id: str, *, db_url: str | None = None,
            grader: str = "rubric file", tool: str = API_TOOL) -> dict[str, float]:
    """Re-derive every graded answer of a part (after the items file was edited by hand);
    hand grades are kept."""
    part = load_part(course_root, grade_id)

    def work(gb: Any) -> dict[str, float]:
        return _rescore(gb, part, [r.student for r in _rows(gb, GRADED, grade_id)])

    return _transaction(course_root, db_url, work, grader=grader, tool=tool)


# --- reading the state ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Progress:
    """Answers graded out of the answers to grade, and who graded them."""

    graded: int
    total: int
    by_grader: dict[str, int]
    #: item id -> number of answers it is applied to
    item_counts: dict[str, int]


def grades(course_root: str | Path, grade_id: str, *, db_url: str | None = None
           ) -> dict[str, AnswerGrade]:
    """``{student: AnswerGrade}`` for every answer a TA has graded in this part."""
    part = load_part(course_root, grade_id)
    with _gradebook(course_root, db_url) as gb:
        applied: dict[str, list[str]] = {}
        for row in _rows(gb, APPLIED, grade_id):
            applied.setdefault(row.student, []).append(row.item_id)
        rows = _rows(gb, GRADED, grade_id)
    order = {item.id: n for n, item in enumerate(part.items)}
    return {r.student: AnswerGrade(
        r.student, tuple(sorted(applied.get(r.student, []), key=order.get)),
        part.score(applied.get(r.student, []), r.adjustment), r.grader, r.adjustment,
        r.comment) for r in rows}


def progress(course_root: str | Path, grade_id: str, *, db_url: str | None = None
             ) -> Progress:
    """Answers graded out of the answers to grade, per TA (a hand grade typed in another
    tool counts for whoever typed it)."""
    return snapshot(course_root, grade_id, db_url=db_url).progress


@dataclasses.dataclass(frozen=True)
class PartState:
    """Everything the console shows of one part, read at one time."""

    part: Part
    groups: list[AnswerGroup]
    #: answers graded through this module (rubric items, adjustment, comment)
    grades: dict[str, AnswerGrade]
    #: answers graded or commented in another tool, kept until a TA chooses to replace them
    hand: dict[str, HandGrade]
    progress: Progress


def snapshot(course_root: str | Path, grade_id: str, *, db_url: str | None = None,
             groups: list[AnswerGroup] | None = None) -> PartState:
    """The part's groups (``groups`` when the caller has them already), grades, hand grades
    and progress."""
    part = load_part(course_root, grade_id)
    if groups is None:
        groups = answer_groups(course_root, grade_id, db_url=db_url)
    to_grade = sorted(s for g in groups for s in g.students)
    mine = grades(course_root, grade_id, db_url=db_url)
    with _gradebook(course_root, db_url) as gb:
        hand = _hand_grades(gb, part, to_grade)
    by_grader: dict[str, int] = {}
    counts = {item.id: 0 for item in part.items}
    done = 0
    for student in to_grade:
        if student in hand:
            if hand[student].score is None:
                continue
            who = hand[student].who or hand[student].tool or "another tool"
        elif student in mine:
            who = mine[student].grader
            for item_id in mine[student].items:
                if item_id in counts:
                    counts[item_id] += 1
        else:
            continue
        done += 1
        by_grader[who] = by_grader.get(who, 0) + 1
    progress = Progress(done, len(to_grade), dict(sorted(by_grader.items())), counts)
    return PartState(part, groups, mine, hand, progress)
