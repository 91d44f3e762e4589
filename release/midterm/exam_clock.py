"""Your exam clock (student side): when your exam ends, and how long is left.

Every notebook's setup cell shows it (``selfcheck`` calls :func:`show`) when the teaching
team has put ``exam_window.json`` in this folder: a small box in the lower right corner of
JupyterLab, which stays while you scroll and switch notebooks. It counts down to *your* end
time (extra time included) and turns red shortly before the end.

The clock is a guide only. What counts is the time recorded when you submit (nbgrader's
exchange or the course's LMS), never this box.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
from pathlib import Path

CLOCK_FILE = "exam_window.json"
ELEMENT_ID = "cs230-exam-clock"
#: the box, drawn and updated every second in the browser (no kernel needed once shown)
_JS = """
(function () {
  const d = __DATA__;
  const skew = d.now - Date.now();  // the server's clock, not the browser's
  let box = document.getElementById("__ID__");
  if (!box) {
    box = document.createElement("div");
    box.id = "__ID__";
    box.setAttribute("role", "timer");
    Object.assign(box.style, {position: "fixed", right: "16px", bottom: "36px",
      zIndex: 10000, padding: "6px 12px", borderRadius: "6px", font: "14px sans-serif",
      boxShadow: "0 1px 4px rgba(0,0,0,.3)"});
    document.body.appendChild(box);
  }
  box.title = "A guide only: the time recorded when you submit is what counts.";
  clearInterval(window.cs230ExamClock);
  function two(n) { return String(n).padStart(2, "0"); }
  function tick() {
    const left = d.end - (Date.now() + skew);
    const minutes = Math.floor(Math.max(left, 0) / 60000);
    const text = Math.floor(minutes / 60) + " h " + two(minutes % 60) + " min";
    let state = "running";
    let line = "Your exam ends at " + d.label + ": " + text + " left";
    if (left <= 0) {
      state = "ended";
      line = "Your exam ended at " + d.label + ". Submit now.";
    } else if (left <= d.warn) {
      state = "warning";
      line = "Only " + (minutes < 1 ? "seconds" : minutes + " min") + " left (ends at " +
        d.label + "): save and submit.";
    }
    box.textContent = line;
    box.dataset.state = state;
    box.style.background = state === "running" ? "#eef4fb" : "#b00020";
    box.style.color = state === "running" ? "#123" : "#fff";
  }
  tick();
  window.cs230ExamClock = setInterval(tick, 1000);
})();
"""


def student_id() -> str:
    """Who you are: ``CS230_STUDENT_ID``, the JupyterHub user, else your login name."""
    for name in ("CS230_STUDENT_ID", "JUPYTERHUB_USER"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def your_end(window: dict, student: str) -> dt.datetime:
    """Your end time: your own (with accommodations), else the exam's."""
    key = hashlib.sha256(f"{window.get('salt', '')}:{student}".encode()).hexdigest()[:24]
    own = window.get("own_end", {}).get(key)
    return dt.datetime.fromisoformat(own or window["end"])


def _script(end: dt.datetime, warn_minutes: float) -> str:
    data = json.dumps({"end": end.timestamp() * 1000, "now": dt.datetime.now().timestamp() * 1000,
                       "warn": warn_minutes * 60000,
                       "label": end.strftime("%H:%M %Z").strip() or end.strftime("%H:%M")})
    return _JS.replace("__DATA__", data).replace("__ID__", ELEMENT_ID)


def show(folder: str | os.PathLike[str] = ".") -> bool:
    """Show the clock when ``exam_window.json`` is in ``folder``; False when there is none
    (or while a notebook is being graded)."""
    path = Path(folder) / CLOCK_FILE
    if os.environ.get("NBGRADER_EXECUTION") or not path.is_file():
        return False
    try:
        window = json.loads(path.read_text(encoding="utf-8"))
        end = your_end(window, student_id())
    except (OSError, ValueError, KeyError, TypeError):
        print(f"The exam clock could not read {CLOCK_FILE}; ask the teaching team.")
        return False
    from IPython.display import display

    warn = float(window.get("warn_minutes", 10))
    local = end.astimezone()
    display({"text/plain": f"Your exam ends at {local:%H:%M %Z} (a guide only: the time "
                           "recorded when you submit is what counts).",
             "application/javascript": _script(local, warn)}, raw=True)
    return True
