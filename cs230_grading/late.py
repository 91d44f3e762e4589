"""Late submissions: the course's penalty policy, as nbgrader's late-penalty plugin.

nbgrader does the bookkeeping. The due date is the assignment's ``duedate`` in the
gradebook (``nbgrader db assignment add midterm --duedate="2021-05-07 17:00:00 PDT"``, or the
formgrader's *Manage Assignments*; a per-student extension counts too), and the submission
time is the ``timestamp.txt`` that ``nbgrader collect`` (or the exchange) writes beside each
submission. ``nbgrader autograde`` stores both, and its ``AssignLatePenalties`` preprocessor
asks the plugin configured in ``nbgrader_config.py`` (:class:`CourseLatePenalty`) for each
notebook's penalty, which ``nbgrader export`` subtracts from the score.

The policy (:func:`penalty_points`): a submission up to ``grace_minutes`` late (default 5,
for clock skew and upload time) loses nothing; later, each notebook loses
``percent_per_hour`` (default 10) percent of its score per started hour after the due date,
so one that is 10 hours late or more scores 0.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

GRACE_MINUTES = 5.0
PERCENT_PER_HOUR = 10.0


def penalty_points(score: float, seconds_late: float, *, grace_minutes: float = GRACE_MINUTES,
                   percent_per_hour: float = PERCENT_PER_HOUR) -> float:
    """Points a notebook scoring ``score`` loses when submitted ``seconds_late`` seconds late."""
    if seconds_late <= grace_minutes * 60 or score <= 0:
        return 0.0
    hours = math.ceil(seconds_late / 3600)
    return score * min(1.0, hours * percent_per_hour / 100)


class CourseLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-penalty hook with the course policy of :func:`penalty_points`."""

    grace_minutes = Float(GRACE_MINUTES, help="Minutes late without penalty").tag(config=True)
    percent_per_hour = Float(PERCENT_PER_HOUR,
                             help="Percent of the score lost per started hour late"
                             ).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float | None:
        points = penalty_points(score, total_seconds_late, grace_minutes=self.grace_minutes,
                                percent_per_hour=self.percent_per_hour)
        return points or None


def late_by(seconds: float) -> str:
    """``seconds`` as ``2 h 05 min`` (or ``45 s``), for the report."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(int(seconds // 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
