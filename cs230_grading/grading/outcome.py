"""What a grading worker reports of one student besides the scores: report lines (findings)
and the named mistakes the scoring pass recognised.

* a notebook the scoring pass could not score (its parts scored 0: it fails closed);
* cells that hit a limit, in the kernel (read from the autograded notebooks) or while the
  scoring pass ran the notebook's code;
* the static scan of the submission (:mod:`cs230_grading.tamper_scan`): patched NumPy or
  builtins, input transformers, reaching for the kit. Evidence for a person to read; it
  changes no score, since no score comes from the student's process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..finding import Finding
from ..findings import CRASHED, LIMIT, SCAN, SUBMISSION
from ..notebooks import NotebookError, nbgrader_meta, read_notebook
from .score import NotebookScore

LIMIT_ERRORS = {
    "CellTimeoutError": "ran past the time limit (nbgrader's Execute.timeout)",
    "MemoryError": "hit the memory limit",
    "DeadKernelError": "killed the kernel (or was not run after it died)",
    "BlockingIOError": "hit the process limit (fork failed)",
}


def limit_events(folder: Path) -> list[tuple[str, str]]:
    """``(notebook, text)`` of cells of the autograded notebooks that hit a limit."""
    from ..sandbox.kernel import OUTPUT_CUT

    events: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = read_notebook(path)
        except NotebookError:
            continue
        for i, cell in enumerate(nb.cells):
            label = nbgrader_meta(cell).get("grade_id") or f"cell {i + 1}"
            for out in cell.get("outputs", []):
                text = str(out.get("text", ""))
                name = str(out.get("ename", ""))
                value = str(out.get("evalue", ""))
                if OUTPUT_CUT in text:
                    events.append((path.stem, f"cell {label}: printed more than the output "
                                   "limit; the rest was dropped"))
                elif name in LIMIT_ERRORS or "Resource temporarily unavailable" in value \
                        or "File too large" in value:
                    why = LIMIT_ERRORS.get(name, "hit a resource limit")
                    events.append((path.stem, f"cell {label} {why} ({name}: {value[:80]})"))
    return list(dict.fromkeys(events))


def scoring_findings(student: str, scores: Sequence[NotebookScore], autograded: Path,
                     submitted: Path, source: Path
                     ) -> tuple[list[Finding], list[tuple[str, str, str]]]:
    """The report lines and ``(notebook, grade id, mistake id)`` of one graded student."""
    from ..tamper_scan import scan_folder

    findings: list[Finding] = []
    for score in scores:
        if score.error:
            lost = sum(o.max_points for o in score.outcomes)
            findings.append(Finding(
                student, f"scoring failed ({score.error}); its {lost:g} points scored 0 "
                "(fix the cause and run again)", score.notebook, "error", CRASHED))
        if score.restored:
            findings.append(Finding(
                student, f"deleted test cell(s) {', '.join(score.restored)}: put back from the "
                "release and scored", score.notebook, "warning", SUBMISSION))
    events = [*limit_events(autograded),
              *[(s.notebook, f"{e} (while scoring)") for s in scores for e in s.events]]
    for notebook, event in events:
        findings.append(Finding(student, f"limit: {event}", notebook, "warning",
                                CRASHED if LIMIT_ERRORS["DeadKernelError"] in event else LIMIT))
    hits = scan_folder(submitted, source)
    for notebook in dict.fromkeys(h.notebook for h in hits):
        mine = [h.describe() for h in hits if h.notebook == notebook]
        findings.append(Finding(student, "static scan: " + " | ".join(mine[:3]) + (
            f" (+{len(mine) - 3} more)" if len(mine) > 3 else "") + "; no score depends on it",
            notebook, "warning", SCAN, evidence=tuple(mine)))
    mistakes = [(o.notebook, o.grade_id, m) for s in scores for o in s.outcomes
                for m in o.mistakes]
    return findings, mistakes
