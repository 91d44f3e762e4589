"""A submitted notebook, brought back to the release's shape before nbgrader sees it.

Grading needs little of a notebook's metadata, and nbgrader trusts what it finds there:
markup or junk in the notebook's or a cell's metadata can fail its schema checks
(``CheckCellMetadata``), a graded cell the release does not have loses its grade id in
``OverwriteCells`` and then fails the next check, a notebook whose metadata does not match
nbformat's schema is refused outright. Any of these used to cost the student the whole
notebook (or the whole submission, "grading failed").

:func:`read_against_release` reads the student's file as JSON and, before any schema check,
rebuilds what grading relies on from the release's notebook:

* the notebook's metadata (kernelspec, language_info, title ...) and its nbformat version are
  the release's;
* each cell with a grade id of the release gets the release's cell metadata (points, kind
  of cell, lock, tags), so points a student edited are the release's again;
* a second copy of a graded cell, and a graded cell the release does not have, are dropped;
  nbgrader metadata without a release grade id is removed (the cell stays, as a plain cell);
  other cells keep no metadata;
* attachments are kept only when they are images (PNG, JPEG, GIF) with a plain file name;
* repeated or missing cell ids are renewed.

The student's sources and outputs are untouched. What was changed becomes one line for the
report: an error (needs attention) when points, graded cells or their kind were changed, a
warning otherwise; routine differences (the Python version in ``language_info``, JupyterLab's
view settings) are reset without a word.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from .notebooks import NotebookError, read_notebook

#: nbgrader metadata a student may not change (the rest, such as the checksum, is reset too)
GRADING_KEYS = ("grade", "solution", "locked", "task", "points", "grade_id")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
_SAFE_NAME = re.compile(r"^[\w][\w.\- ]{0,100}$")
_MARKUP = re.compile(r"[<>]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")


@dataclasses.dataclass
class Normalized:
    """The notebook graded, and what was changed to get it."""

    nb: NotebookNode
    #: changes that suggest tampering (points, graded cells): a finding that needs attention
    errors: list[str] = dataclasses.field(default_factory=list)
    #: other changes worth a line (markup or junk, a duplicated cell, an unknown version)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.errors or self.warnings)


def _has_markup(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return True
    if isinstance(value, str):
        return bool(_MARKUP.search(value))
    if isinstance(value, dict):
        return any(_has_markup(k, depth + 1) or _has_markup(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_has_markup(v, depth + 1) for v in value)
    return False


def _grade_id(cell: Any) -> str | None:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    grader = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = grader.get("grade_id") if isinstance(grader, dict) else None
    return gid if isinstance(gid, str) and gid else None


def _grader(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    grader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return grader if isinstance(grader, dict) else {}


def _attachments(cell: dict[str, Any]) -> bool:
    """Keep only image attachments with plain names; True when something was dropped."""
    found = cell.get("attachments")
    if found is None:
        return False
    if cell.get("cell_type") not in ("markdown", "raw") or not isinstance(found, dict):
        cell.pop("attachments", None)
        return True
    kept: dict[str, Any] = {}
    for name, bundle in found.items():
        if not (isinstance(name, str) and _SAFE_NAME.match(name) and isinstance(bundle, dict)):
            continue
        images = {k: v for k, v in bundle.items()
                  if k in IMAGE_TYPES and isinstance(v, str) and _BASE64.match(v)}
        if images and len(images) == len(bundle):
            kept[name] = images
    cell["attachments"] = kept
    return kept != found


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def normalize(raw: dict[str, Any], release: NotebookNode) -> Normalized:
    """Bring the notebook ``raw`` (plain JSON) to the release's metadata; see the module."""
    errors: list[str] = []
    warnings: list[str] = []
    ref_cells = {gid: cell for cell in release.cells if (gid := _grade_id(cell))}
    meta = raw.get("metadata")
    if not isinstance(meta, dict):
        warnings.append("the notebook's metadata was not a mapping")
    else:
        missing = [k for k in ("kernelspec", "language_info") if k not in meta]
        if missing:
            warnings.append(f"no {' or '.join(missing)} in the notebook's metadata")
        for key in ("kernelspec", "language_info"):
            ours, theirs = meta.get(key), release.metadata.get(key, {})
            if isinstance(ours, dict) and ours.get("name") != theirs.get("name"):
                warnings.append(f"{key} {str(ours.get('name'))[:40]!r} instead of "
                                f"{theirs.get('name')!r}")
        junk = sorted(k for k, v in meta.items() if _has_markup(v) or _has_markup(k))
        if junk:
            warnings.append(f"markup or control characters in the notebook's metadata "
                            f"({', '.join(str(k)[:30] for k in junk[:5])})")
    if (raw.get("nbformat"), raw.get("nbformat_minor")) != (release.nbformat,
                                                            release.nbformat_minor):
        minor = raw.get("nbformat_minor")
        if not isinstance(minor, int) or minor > nbformat.v4.nbformat_minor or minor < 0:
            warnings.append(f"unknown nbformat version {raw.get('nbformat')}.{minor}")
    raw["metadata"] = copy.deepcopy(dict(release.metadata))
    raw["nbformat"], raw["nbformat_minor"] = release.nbformat, release.nbformat_minor

    seen: set[str] = set()
    ids: set[str] = set()
    kept: list[dict[str, Any]] = []
    junk_cells = 0
    repointed: list[str] = []
    for cell in raw.get("cells") or []:
        if not isinstance(cell, dict):
            warnings.append("an entry of the cell list that is not a cell was dropped")
            continue
        gid = _grade_id(cell)
        grader = _grader(cell)
        old_meta = cell.get("metadata")
        if gid in ref_cells and gid not in seen:
            ref = ref_cells[gid]
            seen.add(gid)
            ref_grader = ref.metadata.get("nbgrader", {})
            claimed, points = _number(grader.get("points")), _number(ref_grader.get("points"))
            if "points" in ref_grader and claimed != points:
                repointed.append(f"{gid}: {str(grader.get('points'))[:20]} instead of "
                                 f"{points:g}")
            changed = [k for k in GRADING_KEYS if k != "points"
                       and bool(grader.get(k)) != bool(ref_grader.get(k))]
            if changed or cell.get("cell_type") != ref.cell_type:
                errors.append(f"{gid}: {', '.join(changed) or 'cell type'} changed "
                              "(the release's kept)")
                cell["cell_type"] = ref.cell_type
            if isinstance(old_meta, dict):
                others = {k: v for k, v in old_meta.items() if k != "nbgrader"}
                junk_cells += _has_markup(others) or _has_markup(grader)
            cell["metadata"] = copy.deepcopy(dict(ref.metadata))
        elif gid in seen:
            warnings.append(f"duplicated cell {gid} dropped (the first copy is graded)")
            continue
        elif grader.get("grade"):
            errors.append(f"graded cell {str(gid)[:40]!r} added (not in the release): dropped")
            continue
        else:
            if grader or (isinstance(old_meta, dict) and "nbgrader" in old_meta):
                warnings.append(f"nbgrader metadata of a cell not in the release "
                                f"({str(gid)[:40]!r}) removed")
            elif isinstance(old_meta, dict) and _has_markup(old_meta):
                junk_cells += 1
            cell["metadata"] = {}
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            cell["cell_type"] = "raw" if gid is None else cell.get("cell_type")
        if cell.get("cell_type") == "code":
            cell.pop("attachments", None)
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        elif _attachments(cell):
            warnings.append("attachments that are not plain images were dropped")
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cell_id) \
                or cell_id in ids:
            n = len(kept)  # the same submission gets the same ids (a re-run skips it)
            while f"cs230-{n}" in ids:
                n += 1000
            cell["id"] = f"cs230-{n}"
        ids.add(cell["id"])
        kept.append(cell)
    if repointed:
        more = f", and {len(repointed) - 3} more" if len(repointed) > 3 else ""
        errors.insert(0, f"points changed in {len(repointed)} graded cell(s) "
                      f"({', '.join(repointed[:3])}{more}): the release's points kept")
    if junk_cells:
        warnings.append(f"markup or control characters in the metadata of {junk_cells} "
                        "cell(s)")
    raw["cells"] = kept
    nb = nbformat.from_dict(raw)
    return Normalized(nb, errors, list(dict.fromkeys(warnings)))


def reference_notebook(course_root: Path, name: str) -> NotebookNode:
    """The notebook ``name`` of the course's release (of ``source/`` when there is none yet:
    the same cells and metadata), read once per version of the file."""
    from .course import ASSIGNMENT

    for top in ("release", "source"):
        path = Path(course_root) / top / ASSIGNMENT / f"{name}.ipynb"
        if path.exists():
            return _read_cached(str(path), path.stat().st_mtime_ns)
    raise NotebookError(f"no release or source notebook {name}.ipynb in {course_root}")


@functools.lru_cache(maxsize=32)
def _read_cached(path: str, _mtime: int) -> NotebookNode:
    return read_notebook(path)


def read_against_release(path: Path, release: NotebookNode) -> Normalized:
    """Read the submitted notebook at ``path`` and :func:`normalize` it against ``release``.

    Raises :class:`~cs230_grading.notebooks.NotebookError` (with read_notebook's actionable
    message) for a file that is not notebook JSON, or that is still not a valid notebook once
    its metadata is the release's.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        read_notebook(path)  # raises with the precise message
        raise NotebookError(f"{path}: not notebook JSON") from None
    if not isinstance(raw, dict) or raw.get("nbformat") != 4 or \
            not isinstance(raw.get("cells"), list):
        return Normalized(read_notebook(path))  # older formats: nbformat converts them
    done = normalize(raw, release)
    try:
        nbformat.validate(done.nb)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several types
        raise NotebookError(f"{path}: JSON, but not a valid notebook ({exc})") from None
    return done
