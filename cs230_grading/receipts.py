"""Submission receipts: the SHA-256 of each notebook a student handed in, and the time.

* Through nbgrader's exchange: :class:`ReceiptSubmit` is ``nbgrader submit`` plus a receipt.
  The student's nbgrader configuration names it (``c.ExchangeFactory.submit =
  "cs230_grading.receipts.ReceiptSubmit"``, docs/exam-day.md). After nbgrader has copied the
  work into the exchange, it hashes the copies, writes ``submission-receipt.json`` beside
  the student's work and prints it.
* Through an LMS: ``python -m cs230_grading.receipts FOLDER`` writes and prints the same
  receipt for the notebooks in ``FOLDER`` (the files the student is about to upload).

On the instructor's side, intake hashes every notebook it stages, from the bytes the
student submitted (:func:`sha256sum_text`), into ``submission.sha256`` beside them; grading
carries that file into ``autograded/<student>/midterm/``, the feedback shows it
(:class:`AppendReceipt`) and so does the report. ``cs230-grade receipt FILE`` tells whether
a receipt a student presents matches what was graded (:func:`check_receipt`).

A receipt's time is the time nbgrader wrote into ``timestamp.txt`` (or, from an LMS, the
time the command ran): it records when the receipt was made, and never decides lateness.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import html
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from traitlets import Bool

from .course import ASSIGNMENT, NOTEBOOKS

RECEIPT = "submission-receipt.json"
#: beside each staged and autograded submission: ``sha256sum``'s format, one notebook a line
HASHES = "submission.sha256"
KIND = "cs230 submission receipt"
#: ``metadata.cs230`` of the cell the feedback gets
CELL_MARK = "submission-hash"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def notebook_hashes(folder: str | Path) -> dict[str, str]:
    """``{notebook file name: SHA-256}`` of the exam's notebooks found in ``folder``."""
    folder = Path(folder)
    found = {}
    for name in NOTEBOOKS:
        path = folder / f"{name}.ipynb"
        if path.is_file() and not path.is_symlink():
            found[path.name] = sha256(path.read_bytes())
    return found


def receipt_code(hashes: Mapping[str, str]) -> str:
    """A short code for a set of notebooks (the first 16 hex digits of a hash of all), to
    read out over the phone or compare at a glance."""
    digest = sha256(sha256sum_text(hashes).encode())[:16]
    return "-".join(digest[i:i + 4] for i in range(0, 16, 4))


def sha256sum_text(hashes: Mapping[str, str]) -> str:
    """``hashes`` as ``sha256sum`` prints them (``sha256sum -c`` can check the files)."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(hashes.items()))


def parse_sha256sum(text: str) -> dict[str, str]:
    """The inverse of :func:`sha256sum_text`; lines that are not ``HEX  NAME`` are skipped."""
    found = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) == 64 and name and all(c in "0123456789abcdefABCDEF" for c in digest):
            found[name.strip()] = digest.lower()
    return found


def make_receipt(hashes: Mapping[str, str], *, student: str, time: str,
                 how: str) -> dict[str, Any]:
    """The receipt as JSON-ready data."""
    return {"kind": KIND, "assignment": ASSIGNMENT, "student": student, "time": time,
            "how": how, "code": receipt_code(hashes), "notebooks": dict(sorted(hashes.items()))}


def receipt_lines(receipt: Mapping[str, Any]) -> list[str]:
    """What a student reads: the code, the time and every notebook's SHA-256."""
    lines = [f"Receipt {receipt['code']} for {receipt['student']}, {receipt['assignment']}, "
             f"{receipt['how']} at {receipt['time']}:"]
    lines += [f"  {digest}  {name}" for name, digest in receipt["notebooks"].items()]
    lines.append("Keep this receipt: the SHA-256 values identify exactly these files.")
    return lines


def write_receipt(folder: Path, receipt: Mapping[str, Any]) -> Path:
    path = folder / RECEIPT
    path.write_text(json.dumps(receipt, indent=2) + "\n", encoding="utf-8")
    return path


def _submit_class() -> type:
    from nbgrader.exchange.default.submit import ExchangeSubmit

    return ExchangeSubmit


class ReceiptSubmit(_submit_class()):  # type: ignore[misc]
    """``nbgrader submit`` that also writes and prints a receipt of what it submitted."""

    def copy_files(self) -> None:
        super().copy_files()
        submitted = Path(self.inbound_path) / self.assignment_filename
        hashes = notebook_hashes(submitted)
        if not hashes:  # not the exam (a regrade request, say): nothing to hash
            return
        student = self.assignment_filename.split("+", 1)[0]
        receipt = make_receipt(hashes, student=student,
                               time=str(self.timestamp), how="submitted through nbgrader")
        path = write_receipt(Path(self.src_path), receipt)
        for line in receipt_lines(receipt):
            self.log.info(line)
        self.log.info("Receipt saved in %s", path)


# --- the instructor's side -------------------------------------------------------------

def graded_hashes(course_root: Path, student: str) -> dict[str, str] | None:
    """The SHA-256 of each notebook graded for ``student`` (None if never graded)."""
    path = Path(course_root) / "autograded" / student / ASSIGNMENT / HASHES
    if not path.is_file():
        return None
    return parse_sha256sum(path.read_text(encoding="utf-8"))


@dataclasses.dataclass
class ReceiptCheck:
    """The verdict on one receipt: ``matches`` and one line per notebook."""

    matches: bool
    lines: list[str]


def check_receipt(course_root: str | Path, receipt_path: str | Path) -> ReceiptCheck:
    """Compare a receipt a student presents with what was graded for them."""
    path = Path(receipt_path)
    try:
        receipt = json.loads(path.read_text(encoding="utf-8"))
        student = str(receipt["student"])
        claimed = {str(k): str(v).lower() for k, v in dict(receipt["notebooks"]).items()}
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(f"{path}: not a receipt of this kit (JSON with 'student' and "
                         "'notebooks')") from None
    graded = graded_hashes(Path(course_root), student)
    if graded is None:
        return ReceiptCheck(False, [f"{student}: nothing was graded for this student (no "
                                    f"autograded/{student}/{ASSIGNMENT}/{HASHES})"])
    lines = []
    ok = True
    for name in sorted(set(claimed) | set(graded)):
        mine, ours = claimed.get(name), graded.get(name)
        if mine == ours:
            lines.append(f"  same       {name}  {ours}")
        elif ours is None:
            ok = False
            lines.append(f"  NOT GRADED {name}: on the receipt, but no such notebook was graded")
        elif mine is None:
            lines.append(f"  extra      {name}: graded, not on the receipt")
        else:
            ok = False
            lines.append(f"  DIFFERENT  {name}: receipt {mine}, graded {ours}")
    verdict = ("matches what was graded" if ok else "does NOT match what was graded")
    return ReceiptCheck(ok, [f"Receipt {receipt.get('code', '?')} of {student} {verdict}:",
                             *lines])


class AppendReceipt(Preprocessor):
    """Feedback: append the SHA-256 of the notebook that was graded (from ``submission.sha256``
    beside the autograded notebook, which intake wrote from the submitted bytes)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]
                   ) -> tuple[NotebookNode, dict[str, Any]]:
        name = str(resources.get("unique_key") or "")
        folder = Path(str(resources.get("metadata", {}).get("path") or "."))
        hashes_file = folder / HASHES
        if not hashes_file.is_file():
            return nb, resources
        digest = parse_sha256sum(hashes_file.read_text(encoding="utf-8")).get(f"{name}.ipynb")
        if digest and not any(c.get("metadata", {}).get("cs230") == CELL_MARK for c in nb.cells):
            nb.cells.append(new_markdown_cell(
                f"**The notebook graded here** ({name}.ipynb) has SHA-256 `{digest}`. "
                "It should equal the value on your submission receipt; if it does not, tell "
                "the teaching team.", metadata={"cs230": CELL_MARK}))
        return nb, resources


def report_section(course_root: Path, students: Sequence[str]) -> list[str]:
    """The report's section: each graded student's receipt code and notebook hashes."""
    rows = []
    for student in students:
        hashes = graded_hashes(course_root, student)
        if hashes:
            files = "<br>".join(f"<code>{html.escape(d)}</code> {html.escape(n)}"
                                for n, d in sorted(hashes.items()))
            rows.append(f"<tr><td>{html.escape(student)}</td>"
                        f"<td><code>{receipt_code(hashes)}</code></td>"
                        f"<td><details><summary>{len(hashes)} notebooks</summary>{files}"
                        "</details></td></tr>")
    if not rows:
        return []
    return ['<section id="receipts"><h2>What was graded (submission hashes)</h2>',
            "<p>The SHA-256 of every notebook graded, from the bytes each student submitted. "
            "Compare a receipt a student presents with <code>cs230-grade receipt FILE</code>."
            "</p><table><thead><tr><th>student</th><th>receipt code</th><th>notebooks</th>"
            "</tr></thead><tbody>", *rows, "</tbody></table></section>"]


# --- the student's command for an LMS upload ----------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``python -m cs230_grading.receipts FOLDER [--student ID]``: a receipt for an upload."""
    parser = argparse.ArgumentParser(
        prog="python -m cs230_grading.receipts",
        description="Write and print a receipt (SHA-256 of each exam notebook) for the files "
                    "you are about to upload to the LMS.")
    parser.add_argument("folder", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--student", default="", help="your student id, printed on the receipt")
    args = parser.parse_args(argv)
    hashes = notebook_hashes(args.folder)
    if not hashes:
        print(f"receipt: no exam notebook in {args.folder} (expected names such as "
              f"{NOTEBOOKS[1]}.ipynb)", file=sys.stderr)
        return 2
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    receipt = make_receipt(hashes, student=args.student or "(not given)", time=now,
                           how="hashed for an LMS upload")
    path = write_receipt(args.folder, receipt)
    print("\n".join(receipt_lines(receipt)))
    print(f"Saved as {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
