"""A Content-Security-Policy for the formgrader's submission pages (Jupyter server extension).

Defence in depth behind :mod:`cs230_grading.sanitize`: should student markup ever reach a
page that renders a submission (``/formgrader/submissions/<id>/``), the browser refuses to
run it. The policy allows scripts from the server's own origin only, and of inline code
only the few blocks that nbgrader's own ``formgrade`` template writes (the page's ids, the
name toggle and its ``onclick`` handlers), by their SHA-256 hashes. A block counts as the
template's when it matches the template's text with each ``{{ ... }}`` standing for a plain
identifier; anything else inline (a student's ``<script>``, ``onerror=``, ``javascript:``)
is blocked. Plugins, frames, ``<base>`` and off-origin forms are refused too.

The course's ``nbgrader_config.py`` turns it on: the formgrader loads that file inside the
Jupyter server, and :func:`protect_running_server` adds the policy to that server. So every
``jupyter lab`` started from the course root has it, whatever the install route. It is also
a regular server extension (``jupyter server extension enable cs230_grading.lab_csp``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tornado.web import OutputTransform

#: The pages that render a student's notebook.
SUBMISSION_PAGE = re.compile(r"/formgrader/submissions/[^/]+/?$")
#: What a ``{{ ... }}`` of the template may stand for: ids, names, numbers and URL paths.
_VALUE = r"[A-Za-z0-9_.:/ -]*"


def _policy(script_hashes: set[str]) -> str:
    hashes = " ".join(f"'sha256-{h}'" for h in sorted(script_hashes))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'unsafe-hashes' {hashes}".rstrip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


def sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class _InlineCode(HTMLParser):
    """Collects the bodies of inline ``<script>`` elements and ``on*`` attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += [v or "" for k, v in attrs if k.startswith("on")]
        if tag == "script" and not dict(attrs).get("src"):
            self._in_script, self._body = True, []

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._body.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            self.scripts.append("".join(self._body))
            self._in_script = False


def inline_code(html: str) -> _InlineCode:
    parser = _InlineCode()
    parser.feed(html)
    parser.close()
    return parser


def _template_pattern(text: str) -> re.Pattern[str]:
    parts = re.split(r"\{\{.*?\}\}", text)
    return re.compile(_VALUE.join(re.escape(p) for p in parts), re.DOTALL)


@functools.cache
def template_patterns() -> tuple[re.Pattern[str], ...]:
    """The inline scripts and handlers of nbgrader's ``formgrade`` template, as patterns."""
    from nbgrader.server_extensions.formgrader import handlers

    folder = Path(handlers.template_path) / "formgrade"
    found = [inline_code(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.j2"))]
    return tuple(_template_pattern(t) for f in found for t in (*f.scripts, *f.handlers))


def allowed_hashes(html: str) -> set[str]:
    """Hashes of the page's inline code that is nbgrader's template, and of nothing else."""
    code = inline_code(html)
    return {sha256(text) for text in (*code.scripts, *code.handlers)
            if any(p.fullmatch(text) for p in template_patterns())}


class SubmissionPagePolicy(OutputTransform):
    """Sets the policy on the formgrader's submission pages (tornado output transform)."""

    def __init__(self, request: Any) -> None:
        super().__init__(request)
        self._applies = bool(SUBMISSION_PAGE.search(request.path))

    def transform_first_chunk(self, status_code: int, headers: Any, chunk: bytes,
                              finishing: bool) -> tuple[int, Any, bytes]:
        if self._applies and headers.get("Content-Type", "").startswith("text/html"):
            # math as MathML, since MathJax cannot load here (cs230_grading/math_render.py)
            from .math_render import MATHJAX_STAND_IN, render_page_math, with_mathjax_stand_in

            page = with_mathjax_stand_in(render_page_math(chunk.decode("utf-8",
                                                                       errors="replace")))
            chunk = page.encode("utf-8")
            if "Content-Length" in headers:
                headers["Content-Length"] = str(len(chunk))
            headers["Content-Security-Policy"] = _policy(
                allowed_hashes(page) | {sha256(MATHJAX_STAND_IN)})
        return status_code, headers, chunk


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "cs230_grading.lab_csp"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    if SubmissionPagePolicy not in serverapp.web_app.transforms:
        serverapp.web_app.add_transform(SubmissionPagePolicy)
    serverapp.log.info("cs230: Content-Security-Policy on the formgrader's submission pages")


def protect_running_server() -> bool:
    """Add the policy to the Jupyter server running in this process, if any (idempotent)."""
    module = sys.modules.get("jupyter_server.serverapp")
    if module is None or not module.ServerApp.initialized():
        return False  # an nbgrader command or a grading worker: no pages to protect
    web_app = getattr(module.ServerApp.instance(), "web_app", None)
    if web_app is None:
        return False
    if SubmissionPagePolicy not in web_app.transforms:
        web_app.add_transform(SubmissionPagePolicy)
    return True
