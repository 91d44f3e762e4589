"""Write feedback: nbgrader's feedback HTML for one student, from the private gradebook.

The page shows the scoring pass's verdict under each test cell (never the hidden tests:
``GenerateFeedback`` runs ``ClearHiddenTests``), a TA's grades and comments that the central
gradebook already holds (:func:`apply_manual_rows`), and ends with the notes for after
answering (``cs230_grading.feedback.AppendNotes``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any


def kept_feedback_converter() -> type:
    """nbgrader's ``GenerateFeedback``, keeping its HTML exporter from one student to the next.

    ``BaseConverter.start`` builds a new exporter, and so compiles the feedback templates
    again, on every call; here the first call builds it and the later ones reuse it (the
    same preprocessors and templates, a new file writer and notebook list each time). The
    exporter is :class:`~cs230_grading.feedback_html.FeedbackHTMLExporter`: the same page,
    without nbconvert's second parse of it.
    """
    from nbconvert.exporters import Exporter
    from nbconvert.writers import FilesWriter
    from nbgrader.converters import GenerateFeedback
    from traitlets import Type

    from ..feedback_html import FeedbackHTMLExporter
    from ..folders import chdir

    class KeptFeedback(GenerateFeedback):
        kept: Any = None
        #: HTMLExporter, without re-parsing each page for its images' alt texts
        exporter_class = Type(FeedbackHTMLExporter, klass=Exporter).tag(config=True)

        def start(self) -> None:
            if self.kept is None:
                super().start()
                self.kept = self.exporter
                return
            self.init_notebooks()
            self.writer = FilesWriter(parent=self, config=self.config)
            self.exporter = self.kept
            with chdir(self.coursedir.root):
                self.convert_notebooks()

    return KeptFeedback


class FeedbackWriter:
    """``NbGraderAPI.generate_feedback`` for one student at a time, with one feedback
    converter kept for every student of a worker (its templates are compiled once)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self._converter: Any = None

    def write(self, student: str) -> dict[str, Any]:
        from nbgrader.utils import capture_log, temp_attrs
        from traitlets.config import Config

        from ..course import ASSIGNMENT

        if self._converter is None:
            config = Config()
            config.HTMLExporter.template_name = "feedback"  # as NbGraderAPI sets it
            self._converter = kept_feedback_converter()(coursedir=self.api.coursedir,
                                                        parent=self.api)
            self._converter.update_config(config)
            self._converter.force = True
        with temp_attrs(self.api.coursedir, assignment_id=ASSIGNMENT, student_id=student):
            return capture_log(self._converter)


def apply_manual_rows(db_url: str, student: str, scores: Mapping[tuple[str, str], float],
                      comments: Mapping[tuple[str, str], str]) -> None:
    """Give a private gradebook the central manual scores and comments of ``student``, so that
    the feedback rendered next shows a TA's grades (the driver keeps them in any case)."""
    from nbgrader.api import Gradebook, MissingEntry

    from ..course import ASSIGNMENT

    if not (scores or comments):
        return
    with Gradebook(db_url) as gb:
        for (nb, gid), score in scores.items():
            with contextlib.suppress(MissingEntry):
                grade = gb.find_grade(gid, nb, ASSIGNMENT, student)
                grade.manual_score, grade.needs_manual_grade = score, False
        for (nb, cell), text in comments.items():
            with contextlib.suppress(MissingEntry):
                gb.find_comment(cell, nb, ASSIGNMENT, student).manual_comment = text
        gb.db.commit()
