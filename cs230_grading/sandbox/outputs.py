"""What an executed notebook may keep: every byte counts, and the largest parts go first.

The grading process caps each cell's output as it arrives
(:class:`cs230_grading.sandbox.kernel.SandboxedExecute`: streams, ``display_data``,
``execute_result``, errors, display *updates* and widget messages, data and metadata alike).
Once the notebook has run, :func:`fit_notebook` caps the whole: outputs, their metadata, the
attachments of markdown cells and the widget state nbclient stores in the notebook's metadata
must fit in ``Limits.notebook_bytes``. Over that, the largest parts are replaced, one at a
time, by a one-line note (:data:`OUTPUT_CUT`, which the report picks up) until the rest fits.
An error output stays an error (a failing test must not turn into a passing one); the cell's
other outputs, its source and its grade are untouched, so the notebook is graded with the
parts it earned and is never stored whole.
"""

from __future__ import annotations

import json
from typing import Any

from nbformat import NotebookNode

#: Text that marks an output that was cut or dropped (the report looks for it).
OUTPUT_CUT = "[cs230 sandbox] output limit reached"


def json_size(value: Any, depth: int = 0) -> int:
    """About the bytes ``value`` takes as JSON (what it would take in the notebook file),
    counted without building the JSON text (an output can be hundreds of megabytes)."""
    if isinstance(value, str):
        return len(value) + 2
    if depth > 50:
        return len(json.dumps(value, default=str))
    if isinstance(value, dict):
        return 2 + sum(json_size(k, depth + 1) + json_size(v, depth + 1) + 2
                       for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 2 + sum(json_size(v, depth + 1) + 1 for v in value)
    return len(str(value))


def message_size(msg: dict[str, Any]) -> int:
    """Bytes an IOPub message would add to the notebook: text, data, metadata, traceback,
    a widget's state and buffers."""
    content = msg.get("content") or {}
    size = 0
    for key in ("text", "data", "metadata", "traceback", "ename", "evalue"):
        if key in content:
            size += json_size(content[key])
    for buffer in msg.get("buffers") or ():
        try:
            size += len(memoryview(buffer).cast("B")) * 4 // 3
        except TypeError:
            size += len(str(buffer))
    return size


def note(limit: int, what: str = "the rest of this cell's output was dropped") -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout",
                        text=f"\n{OUTPUT_CUT} ({limit / (1 << 20):g} MB): {what}.\n")


def _cut(output: NotebookNode, limit: int) -> list[NotebookNode]:
    """The one-line stand-in of an output too large to keep (an error stays an error)."""
    what = f"a {output.get('output_type', 'output')} of {json_size(output) >> 10} KB was removed"
    if output.get("output_type") == "error":
        name = str(output.get("ename", "Error"))[:100]
        return [NotebookNode(output_type="error", ename=name,
                             evalue=str(output.get("evalue", ""))[:200],
                             traceback=[f"{name}: (traceback removed: over the output limit)"]),
                note(limit, what)]
    return [note(limit, what)]


def fit_notebook(nb: NotebookNode, limit: int) -> list[str]:
    """Cut the largest outputs, attachments and widget state of ``nb`` until it fits in
    ``limit`` bytes; returns one line per part removed (empty when it already fitted)."""
    parts: list[tuple[int, str, int, Any]] = []  # (size, kind, cell index, key)
    total = 0
    widgets = (nb.get("metadata") or {}).get("widgets")
    if widgets:
        size = json_size(widgets)
        parts.append((size, "widgets", -1, None))
        total += size
    for index, cell in enumerate(nb.cells):
        for j, output in enumerate(cell.get("outputs") or ()):
            size = json_size(output)
            parts.append((size, "output", index, j))
            total += size
        for name, data in (cell.get("attachments") or {}).items():
            size = json_size(data)
            parts.append((size, "attachment", index, name))
            total += size
    removed: list[str] = []
    replaced: dict[int, dict[int, list[NotebookNode]]] = {}
    for size, kind, index, key in sorted(parts, key=lambda p: -p[0]):
        if total <= limit:
            break
        if kind == "widgets":
            nb.metadata.pop("widgets", None)
            removed.append(f"widget state of {size >> 10} KB")
        elif kind == "attachment":
            nb.cells[index].attachments.pop(key, None)
            removed.append(f"cell {index + 1}: attachment of {size >> 10} KB")
        else:
            stand_in = _cut(nb.cells[index].outputs[key], limit)
            replaced.setdefault(index, {})[key] = stand_in
            removed.append(f"cell {index + 1}: output of {size >> 10} KB")
            size -= sum(json_size(o) for o in stand_in)
        total -= size
    for index, by_position in replaced.items():
        outputs: list[NotebookNode] = []
        for j, output in enumerate(nb.cells[index].outputs):
            outputs.extend(by_position.get(j, [output]))
        nb.cells[index].outputs = outputs
    return removed
