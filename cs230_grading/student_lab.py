"""``cs230-student-lab``: JupyterLab as a student should see it, for taking the exam.

nbgrader installs its instructor tools (the Formgrader, the Create Assignment sidebar and
the Course List) into every JupyterLab of the Python environment. nbgrader's installation
guide says how to take them away from students: ``jupyter labextension disable`` for the
lab extensions and ``jupyter server extension disable`` for the server parts. This command
does exactly that, at the user level of a Jupyter profile of its own (so the instructor's
JupyterLab in the same environment keeps its tools), then starts ``jupyter lab`` in the
student's folder with that profile:

* ``labconfig/page_config.json``: ``@jupyter/nbgrader:formgrader``, ``:create-assignment``
  and ``:course-list`` disabled (the file ``jupyter labextension disable --level=user``
  writes); Validate and the Assignment List stay;
* ``jupyter_server_config.json``: the formgrader and course list server extensions off (as
  ``jupyter server extension disable --user`` writes);
* user settings: no news pop-up and no update check (JupyterLab's
  ``@jupyterlab/apputils-extension:notification``, ``fetchNews: "false"``);
* ``custom/custom.css`` (loaded with ``LabApp.custom_css``): locked cells, which nbgrader
  releases with ``editable: false``, drawn grey, as the cover says.

An institution that runs JupyterHub for students does the same machine-wide with the
commands of nbgrader's guide, ``--level=sys_prefix`` / ``--sys-prefix``
(:data:`NBGRADER_GUIDE_COMMANDS`, docs/students.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

#: nbgrader's instructor lab extensions, by plugin id
INSTRUCTOR_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
#: their server halves (Create Assignment has none)
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
#: the same, machine-wide, as nbgrader's installation guide writes it
NBGRADER_GUIDE_COMMANDS = tuple(
    [f"jupyter labextension disable --level=sys_prefix {p}" for p in INSTRUCTOR_LAB_PLUGINS]
    + [f"jupyter server extension disable --sys-prefix {e}"
       for e in INSTRUCTOR_SERVER_EXTENSIONS]
)
NOTIFICATION_SETTINGS = Path("@jupyterlab") / "apputils-extension" / \
    "notification.jupyterlab-settings"
#: locked cells (nbgrader's ``editable: false``): JupyterLab marks their read-only
#: CodeMirror editors ``.cm-editor.jp-mod-readOnly``; the box around one is grey too
LOCKED_CELL_CSS = """\
/* cs230-student-lab: locked cells (setup, self-checks, explorers) are grey */
.jp-Notebook .jp-Cell .jp-InputArea-editor:has(> .cm-editor.jp-mod-readOnly),
.jp-Notebook .jp-Cell .cm-editor.jp-mod-readOnly {
  background: #e4e4e4;
}
"""
DEFAULT_PROFILE = Path.home() / ".cs230" / "student-jupyter"


def write_profile(profile: Path) -> Path:
    """Write the student profile's files into ``profile`` (a Jupyter config folder)."""
    labconfig = profile / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    page_config = labconfig / "page_config.json"
    current = json.loads(page_config.read_text()) if page_config.exists() else {}
    disabled = current.setdefault("disabledExtensions", {})
    disabled.update(dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, True))
    page_config.write_text(json.dumps(current, indent=2))

    server_config = {
        "ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS,
                                                           False)},
        "LabApp": {"news_url": None, "custom_css": True,
                   "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
    }
    (profile / "jupyter_server_config.json").write_text(json.dumps(server_config, indent=2))

    settings = profile / "lab" / "user-settings" / NOTIFICATION_SETTINGS
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    custom = profile / "custom"
    custom.mkdir(parents=True, exist_ok=True)
    (custom / "custom.css").write_text(LOCKED_CELL_CSS)
    return profile


def student_environment(profile: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the student profile selected."""
    env = dict(os.environ if base is None else base)
    env["JUPYTER_CONFIG_DIR"] = str(profile)
    env.pop("JUPYTERLAB_SETTINGS_DIR", None)  # the profile's lab/user-settings
    return env


def lab_command(folder: Path, extra: Sequence[str] = ()) -> list[str]:
    """``jupyter lab`` of this interpreter, in ``folder``."""
    jupyter = Path(sys.executable).parent / "jupyter"
    return [str(jupyter), "lab", f"--ServerApp.root_dir={folder}", *extra]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs230-student-lab",
        description="Start JupyterLab for taking the exam: nbgrader's instructor tools "
                    "off (as nbgrader's guide says), no news pop-up, locked cells grey.")
    parser.add_argument("folder", nargs="?", default=".",
                        help="your copy of release/midterm (default: the current folder)")
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE,
                        help=f"the Jupyter profile folder to use (default: {DEFAULT_PROFILE})")
    parser.add_argument("--print-commands", action="store_true",
                        help="print nbgrader's commands that do the same machine-wide, and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if args.print_commands:
        print("\n".join(NBGRADER_GUIDE_COMMANDS))
        return 0
    folder = Path(args.folder).expanduser().resolve()
    if not folder.is_dir():
        print(f"cs230-student-lab: {folder}: no such folder (give your copy of "
              "release/midterm)", file=sys.stderr)
        return 2
    profile = write_profile(args.profile.expanduser())
    command = lab_command(folder, extra)
    os.chdir(folder)
    os.execve(command[0], command, student_environment(profile))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
