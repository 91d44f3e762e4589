"""Student mode is a student's JupyterLab (issue 32, item 8), in headless Chromium.

``jupyter lab`` started the way ``cs230-student-lab`` starts it (its profile from
:func:`cs230_grading.student_lab.write_profile`, ``JUPYTER_CONFIG_DIR`` pointing at it),
in a student's copy of the release, with the newcomer's bare environment:

* nbgrader's instructor tools are gone: no Formgrader, Create Assignment or Course List
  plugin or command, no Formgrader in the Nbgrader menu, no Create Assignment sidebar, and
  the formgrader's server pages answer 404; Validate is still there and works;
* no news pop-up: the notification settings say ``fetchNews: "false"`` and no toast shows;
* locked cells are grey and refuse typing, as the cover says; answer cells are not grey.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cs230_grading.course import Course
from cs230_grading.student_lab import (
    INSTRUCTOR_LAB_PLUGINS,
    lab_command,
    student_environment,
    write_profile,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "q1_multiple_choice"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StudentLab:
    """A student-mode ``jupyter lab`` on 127.0.0.1 (same helpers as conftest's LabServer)."""

    def __init__(self, folder: Path, profile: Path, base_env: dict[str, str]) -> None:
        self.root, self.port, self.token = folder, _free_port(), secrets.token_hex(16)
        self.log = profile.parent / "student-lab.log"
        env = student_environment(profile, base_env)
        env["JUPYTER_RUNTIME_DIR"] = str(profile.parent / "runtime")
        env["IPYTHONDIR"] = str(profile.parent / "ipython")
        cmd = lab_command(folder, [
            "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, for the checks
            f"--LabApp.workspaces_dir={profile.parent / 'workspaces'}",
        ])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        params = "&".join([f"token={self.token}", *(f"{k}={v}" if v else k
                                                     for k, v in query.items())])
        return f"{self.base}/{path.lstrip('/')}?{params}"

    def get(self, path: str) -> tuple[int, bytes]:
        req = urllib.request.Request(f"{self.base}/{path.lstrip('/')}",
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    def api(self, path: str) -> object:
        return json.loads(self.get(f"api/{path}")[1])

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("jupyter lab exited:\n" + self.log.read_text()[-3000:])
            with contextlib.suppress(OSError, ValueError):
                if self.get("api/status")[0] == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError("jupyter lab did not answer:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def lab_server(course: Course, tmp_path_factory: pytest.TempPathFactory,
               newcomer_env: dict[str, str]) -> Iterator[StudentLab]:
    """This module's server is the student-mode one (conftest's ``lab`` pages use it)."""
    home = tmp_path_factory.mktemp("student-mode")
    folder = home / "midterm"
    shutil.copytree(course.release_dir, folder)
    server = StudentLab(folder, write_profile(home / "profile"), newcomer_env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_no_instructor_tools_no_news_and_grey_locked_cells(lab, lab_server) -> None:
    student_lab = lab_server
    lab.open_notebook(f"{NOTEBOOK}.ipynb")
    page = lab.page

    # nbgrader's instructor plugins are not loaded at all; Validate's is
    plugins = page.evaluate("ids => ids.map(id => window.jupyterapp.hasPlugin(id))",
                            [*INSTRUCTOR_LAB_PLUGINS, "@jupyter/nbgrader:validate-assignment"])
    assert plugins == [False, False, False, True], plugins
    commands = page.evaluate("""() => ['nbgrader:open-formgrader', 'nbgrader:open-course-list',
        'nbgrader:open-create-assignment'].map(c => window.jupyterapp.commands.hasCommand(c))""")
    assert commands == [False, False, False]
    expect(page.locator(".jp-SideBar").get_by_text("Create Assignment")).to_have_count(0)
    menu = page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")
    if menu.count():  # the menu may stay for the Assignment List, without instructor items
        menu.click()
        items = page.locator(".lm-Menu-itemLabel:visible").all_inner_texts()
        page.keyboard.press("Escape")
        assert not [i for i in items if "Formgrader" in i or "Course List" in i], items
    assert student_lab.get("formgrader")[0] == 404  # the server extension is off too

    # no news pop-up
    settings = student_lab.get("lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert json.loads(settings[1])["settings"]["fetchNews"] == "false"
    expect(page.locator(".jp-Notification-Toast-content")).to_have_count(0)

    # locked cells are grey and refuse typing; answer cells are not grey
    def editor_background(grade_id: str) -> str:
        cell = lab.cell_locator(grade_id)
        return cell.locator(".jp-InputArea-editor").evaluate(
            "e => getComputedStyle(e).backgroundColor")

    assert editor_background("q1_setup") == "rgb(228, 228, 228)"
    assert editor_background("q1_a") != "rgb(228, 228, 228)"
    source = """() => window.jupyterapp.shell.currentWidget.content.widgets
        .find(c => (c.model.getMetadata('nbgrader') || {}).grade_id === 'q1_setup')
        .model.sharedModel.getSource()"""
    before = page.evaluate(source)
    lab.cell_locator("q1_setup").locator(".cm-content").click()
    page.keyboard.insert_text("x = 1")  # text input only: no command-mode shortcut fires
    assert page.evaluate(source) == before
    lab.cell_locator("q1_a").locator(".cm-content").click()  # an answer cell does take it
    page.keyboard.press("End")
    page.keyboard.insert_text("  # mine")
    expect(lab.cell_locator("q1_a").locator(".cm-content")).to_contain_text("# mine")
    lab.screenshot("student-mode", full_page=False)

    # Validate is still there for the student, and works
    passed, text = lab.validate()
    assert not passed and "not answered yet" in text, text
    assert not lab.real_console_errors(), lab.real_console_errors()
