"""Browser tests: JupyterLab served from a scratch course, driven by headless Chromium.

Session fixtures:

* ``course``: a scratch copy of the course (``Course.scratch`` + ``generate_assignment``)
  in a temporary folder; never the repository's own ``release/`` or gradebook.
* ``lab_server``: ``jupyter lab`` on 127.0.0.1, a free port and a random token, rooted at
  that course (so nbgrader's Validate button and the formgrader use its
  ``nbgrader_config.py``), with isolated config, settings and workspaces; no news pop-up,
  no update check, no "build recommended" dialog.
* ``browser_context``: Debian's Chromium (``/usr/bin/chromium``, never ``playwright
  install``) with a fresh user data folder.
* ``sample_class``: two students of the sample class graded by ``cs230-grade run`` in that
  course, started in the background with the first test when the formgrader test is
  selected (it runs last), so grading overlaps the student tests.

Per test, ``lab`` is a :class:`Lab`: a new page that records console errors, with
helpers to open a notebook, run it, edit answer cells through the JupyterLab
application object, press Validate, and take screenshots.

Every test here is skipped, with the reason, when ``/usr/bin/chromium`` is absent
(``apt-get install chromium``). Screenshots go to ``artifacts/screenshots/``
(git-ignored); the folder is printed at the end of the session.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cs230_grading.course import REPO_ROOT, Course

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
RELEASE_SNAPSHOT = "release-for-students"
SAMPLE_STUDENTS = ("sample-full", "sample-blank")
_TAKEN: list[Path] = []  # screenshots written in this session
SKIP_REASON = (
    "Debian's Chromium is not installed at /usr/bin/chromium "
    "(apt-get install chromium); the browser tests need it"
)
#: Console errors to ignore everywhere: none so far (JupyterLab logs none when healthy).
BENIGN_CONSOLE: list[re.Pattern[str]] = []


# -- collection and reporting -------------------------------------------------

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    # the formgrader test last: the sample class is graded in the background meanwhile
    items.sort(key=lambda item: "test_formgrader" in str(item.fspath))
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _TAKEN:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{len(_TAKEN)} screenshots in {SCREENSHOTS}")


# -- the course and the server ------------------------------------------------

@pytest.fixture(scope="session")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A scratch course with the assignment generated (``release/midterm``)."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    scratch = Course.scratch(tmp_path_factory.mktemp("course"))
    scratch.generate_assignment()
    # students copy from a snapshot: the instructor pipeline regenerates release/ meanwhile
    shutil.copytree(scratch.release_dir, scratch.root / RELEASE_SNAPSHOT)
    return scratch


@dataclass
class SampleClassRun:
    """The instructor pipeline grading part of the sample class, in the background."""

    plan: dict
    process: subprocess.Popen[bytes]
    log: Path

    def wait(self, timeout: float = 900) -> None:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        if code != 0:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"cs230-grade run exited with {code}:\n{tail}")


@pytest.fixture(scope="session")
def sample_class(course: Course, venv_bin: Path, newcomer_env: dict[str, str]
                 ) -> Iterator[SampleClassRun]:
    """Write two students of the sample class and start ``cs230-grade run`` on them."""
    from cs230_grading.samples import sample_plan, write_sample_class

    plan = {s: v for s, v in sample_plan(n_random=0).items() if s in SAMPLE_STUDENTS}
    write_sample_class(course.root, plan, force=True)
    log = course.root / "pipeline.log"
    cmd = [str(venv_bin / "cs230-grade"), "--course", str(course.root), "run",
           "--workers", "1", "--no-feedback", "--no-progress"]
    with log.open("wb") as out:  # as a newcomer runs it: .venv/bin, nothing activated
        process = subprocess.Popen(cmd, cwd=course.root, env=newcomer_env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    run = SampleClassRun(plan, process, log)
    yield run
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="session", autouse=True)
def _grade_sample_class_early(request: pytest.FixtureRequest) -> None:
    """Start grading the sample class with the first test when the formgrader test will run."""
    if CHROMIUM.exists() and any("test_formgrader" in str(i.fspath)
                                 for i in request.session.items):
        request.getfixturevalue("sample_class")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LabServer:
    """A running ``jupyter lab``: where it is and how to reach it."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        params = "&".join([f"token={self.token}", *(f"{k}={v}" if v else k
                                                     for k, v in query.items())])
        return f"{self.base}/{path.lstrip('/')}?{params}"

    def api(self, path: str) -> Any:
        req = urllib.request.Request(f"{self.base}/api/{path}",
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _write_lab_config(home: Path) -> dict[str, str]:
    """Isolated Jupyter folders and the settings that keep pop-ups away; returns env vars."""
    config_dir, settings_dir = home / "config", home / "settings"
    config_dir.mkdir(parents=True, exist_ok=True)
    server_config = {
        "ServerApp": {
            # read with setdefault by JupyterLab: no "build recommended" check or dialog
            "tornado_settings": {"page_config_data": {"buildCheck": False,
                                                      "buildAvailable": False}},
        },
        "LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
            "expose_app_in_browser": True,  # window.jupyterapp, for reading and editing cells
            "user_settings_dir": str(settings_dir),
            "workspaces_dir": str(home / "workspaces"),
        },
    }
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(server_config))
    notification = settings_dir / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    return {
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }


def start_lab(course: Course, home: Path, base_env: dict[str, str], timeout: float = 60
              ) -> LabServer:
    """Start ``.venv/bin/jupyter lab`` in the course root and wait until its API answers.

    ``base_env`` is the newcomer's environment (nothing activated, a bare ``PATH``); the
    server gets only that, its isolated Jupyter folders, and the course's own gradebook
    for nbgrader (Validate, formgrader).
    """
    root = course.root
    port, token = _free_port(), secrets.token_hex(16)
    env = {**base_env, **_write_lab_config(home), "CS230_GRADEBOOK_URL": course.db_url}
    log = home / "jupyter-lab.log"
    cmd = [
        str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
        "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = LabServer(root, port, token, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n"
                               + server.log_tail())
        with contextlib.suppress(OSError, ValueError):
            server.api("status")
            return server
        time.sleep(0.25)
    stop_lab(server)
    raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n" + server.log_tail())


def stop_lab(server: LabServer) -> None:
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture(scope="session")
def lab_server(course: Course, tmp_path_factory: pytest.TempPathFactory,
               newcomer_env: dict[str, str]) -> Iterator[LabServer]:
    server = start_lab(course, tmp_path_factory.mktemp("jupyter-home"), newcomer_env)
    yield server
    stop_lab(server)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(30_000)
        yield context
        context.close()


# -- the page -----------------------------------------------------------------

_CELLS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, index) => {
    const json = cell.model.sharedModel.toJSON();
    const meta = (json.metadata || {}).nbgrader || {};
    const outputs = json.outputs || [];
    const text = outputs.map(o => o.output_type === 'error' ? `${o.ename}: ${o.evalue}`
      : o.output_type === 'stream' ? o.text
      : ((o.data || {})['text/plain'] || '')).map(t => Array.isArray(t) ? t.join('') : t);
    return {index, cell_type: json.cell_type, grade_id: meta.grade_id || null,
            solution: !!meta.solution, execution_count: json.execution_count ?? null,
            errors: outputs.filter(o => o.output_type === 'error')
                           .map(o => `${o.ename}: ${o.evalue}`),
            text: text.join('\\n')};
  });
}"""

_BUSY_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.sessionContext.session) return true;
  const status = panel.sessionContext.session.kernel?.status;
  const running = panel.content.widgets.some(c => c.model.type === 'code'
      && c.promptNode && c.promptNode.textContent.includes('*'));
  return status !== 'idle' || running;
}"""


@dataclass
class Cell:
    """A cell as the notebook model in the page holds it."""

    index: int
    cell_type: str
    grade_id: str | None
    solution: bool
    execution_count: int | None
    errors: list[str]
    text: str


@dataclass
class Lab:
    """One browser page on the lab server, with notebook helpers."""

    page: Any
    server: LabServer
    console_errors: list[str] = field(default_factory=list)

    # -- navigation ----------------------------------------------------------
    def open_notebook(self, rel_path: str) -> None:
        """Open a notebook (path relative to the course root) in a reset workspace."""
        self.page.goto(self.server.url(f"lab/tree/{rel_path}", reset=""))
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell"
                                    " && window.jupyterapp.shell.currentWidget"
                                    " && window.jupyterapp.shell.currentWidget.sessionContext",
                                    timeout=60_000)
        self.page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for()
        self.wait_idle(timeout=60)

    def command(self, name: str, args: dict | None = None) -> None:
        self.page.evaluate("([n, a]) => window.jupyterapp.commands.execute(n, a)",
                           [name, args or {}])

    # -- cells ---------------------------------------------------------------
    def cells(self) -> list[Cell]:
        return [Cell(**c) for c in self.page.evaluate(_CELLS_JS)]

    def wait_idle(self, timeout: float = 60) -> None:
        """Wait until the kernel is idle and no cell shows ``[*]``."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if self.page.evaluate(_BUSY_JS):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.3:
                return
            time.sleep(0.1)
        raise TimeoutError(f"the notebook was still busy after {timeout} s")

    def run_all(self, timeout: float = 120) -> list[Cell]:
        """Run All; after a failing cell, go on from the next unexecuted code cell.

        JupyterLab stops a run at the first error, as a student sees it; pressing
        "run all below" after each failure shows every cell that fails.
        """
        self.command("notebook:run-all-cells")
        self.wait_idle(timeout)
        for _ in range(100):
            cells = self.cells()
            failed = [c.index for c in cells if c.errors]
            pending = [c.index for c in cells if c.cell_type == "code"
                       and c.execution_count is None and c.index > max(failed, default=-1)]
            if not pending:
                return cells
            self.page.evaluate("i => { window.jupyterapp.shell.currentWidget.content"
                               ".activeCellIndex = i; }", pending[0])
            self.command("notebook:run-all-below")
            self.wait_idle(timeout)
        raise RuntimeError("run_all did not finish")

    def run_cells(self, *grade_ids: str, timeout: float = 60) -> list[Cell]:
        """Run only these cells, in this order (as pressing Shift+Enter on each would)."""
        for grade_id in grade_ids:
            index = next(c.index for c in self.cells() if c.grade_id == grade_id)
            self.page.evaluate("i => { window.jupyterapp.shell.currentWidget.content"
                               ".activeCellIndex = i; }", index)
            self.command("notebook:run-cell")
            self.wait_idle(timeout)
        return self.cells()

    def set_source(self, grade_id: str, source: str) -> None:
        """Replace the text of the cell with this nbgrader grade id, as typing would."""
        found = self.page.evaluate(
            """([gid, src]) => {
              const cell = window.jupyterapp.shell.currentWidget.content.widgets.find(
                c => (c.model.getMetadata('nbgrader') || {}).grade_id === gid);
              if (!cell) return false;
              cell.model.sharedModel.setSource(src);
              return true;
            }""",
            [grade_id, source],
        )
        if not found:
            raise KeyError(f"no cell with grade id {grade_id}")

    def cell_locator(self, key: str | int) -> Any:
        """The DOM node of the cell with this grade id (or index), scrolled into view."""
        index = key if isinstance(key, int) else next(
            c.index for c in self.cells() if c.grade_id == key)
        self.page.evaluate("i => window.jupyterapp.shell.currentWidget.content"
                           ".scrollToItem(i, 'center')", index)
        return self.page.locator(
            f".jp-NotebookPanel:visible .jp-Cell[data-windowed-list-index='{index}']")

    # -- nbgrader -------------------------------------------------------------
    def validate(self, timeout: float = 120) -> tuple[bool, str]:
        """Press nbgrader's Validate button; return (passed, text of the results dialog)."""
        self.page.locator(".jp-NotebookPanel:visible .validate-button").click()
        dialog = self.page.locator(".jp-Dialog:visible").filter(has_text="Validation Results")
        dialog.wait_for(timeout=timeout * 1000)
        body = dialog.locator(".jp-Dialog-body")
        passed = dialog.locator(".validation-success").count() > 0
        text = body.inner_text()
        dialog.locator(".jp-mod-accept").click()
        dialog.wait_for(state="detached")
        return passed, text

    # -- evidence -------------------------------------------------------------
    def save_formgrader_score(self, score: Any, value: float | str) -> None:
        """Type ``value`` into a formgrader score box and wait until the server has saved it.

        The formgrader shows its "saved" tick for one second and then fades it out: on a busy
        machine a test could look after it had gone. The save itself is a PUT of the grade
        (``/formgrader/api/grade/<id>``), whose answer is what is waited for, once the page's
        grades are loaded (a change typed before its script is ready is never saved)."""
        frame = score.element_handle(timeout=30_000).owner_frame()
        frame.wait_for_function("() => window.formgrader && formgrader.grades"
                                " && formgrader.grades.loaded && formgrader.comments.loaded",
                                timeout=30_000)
        score.fill(str(value))
        with self.page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                                       and r.request.method == "PUT", timeout=30_000) as saved:
            score.press("Tab")  # a change event saves the score
        assert saved.value.ok, f"the formgrader did not save the score: {saved.value.status}"

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        _TAKEN.append(path)
        return path

    def real_console_errors(self) -> list[str]:
        return [m for m in self.console_errors
                if not any(p.search(m) for p in BENIGN_CONSOLE)]

    def shutdown_kernels(self) -> None:
        """Stop every kernel of the server (saves CPU between notebooks)."""
        for kernel in self.server.api("kernels"):
            req = urllib.request.Request(
                f"{self.server.base}/api/kernels/{kernel['id']}", method="DELETE",
                headers={"Authorization": f"token {self.server.token}"})
            with contextlib.suppress(OSError):
                urllib.request.urlopen(req, timeout=10).close()


@contextlib.contextmanager
def open_lab(browser_context: Any, server: Any) -> Iterator[Lab]:
    """A new page on ``server``'s JupyterLab that records console errors; its kernels are
    stopped when it closes."""
    page = browser_context.new_page()
    helper = Lab(page, server)
    page.on("console", lambda msg: helper.console_errors.append(msg.text)
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: helper.console_errors.append(f"page error: {exc}"))
    yield helper
    page.close()
    helper.shutdown_kernels()


@pytest.fixture
def lab(browser_context: Any, lab_server: LabServer) -> Iterator[Lab]:
    with open_lab(browser_context, lab_server) as helper:
        yield helper


@pytest.fixture
def student_copy(course: Course) -> Iterator[Any]:
    """Copy the released notebooks into ``students/<name>/`` of the course; returns a maker."""
    def make(name: str) -> Path:
        folder = course.root / "students" / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(course.root / RELEASE_SNAPSHOT, folder)
        return folder

    yield make
