"""Exam day and after, through nbgrader's exchange: deadlines, receipts and regrades.

One scratch course with an exam window (14:00 to 17:00 Pacific) and one accommodation (x1.5,
so 18:30). The exam goes out with ``nbgrader release_assignment``; three students fetch it,
answer Q1 and submit with ``nbgrader submit --student`` (their configuration names the kit's
receipt-writing submit, as docs/exam-day.md says). Their submission times are set in the
``timestamp.txt`` nbgrader wrote into the exchange (never by waiting): ``on-time`` at 16:30,
``late`` at 18:30 and ``extra-time`` at 18:00, after the common end but before its own.
``nbgrader collect`` and ``cs230-grade run`` then grade them.

Expected scores come from the Q1 model variant's points metadata and the penalty from the
course policy (:func:`cs230_grading.late.penalty_points`), never typed in.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import stat
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cs230_grading import cli, receipts, regrades
from cs230_grading.course import Course, nbgrader_env
from cs230_grading.late import penalty_points
from cs230_grading.notebooks import grade_cells, read_notebook, write_notebook
from cs230_grading.pipeline import CanvasOptions, run_pipeline
from cs230_grading.regrade_panel import RegradePanel
from cs230_grading.results import collect_grades
from cs230_grading.variants import model

PACIFIC = ZoneInfo("America/Los_Angeles")
COURSE_ID = "cs230-spring-2021"
Q1 = "q1_multiple_choice"
START = dt.datetime(2021, 5, 7, 14, 0, tzinfo=PACIFIC)
END = START + dt.timedelta(minutes=180)
#: student -> submission time (what nbgrader's timestamp.txt will say)
SUBMITTED = {
    "on-time": dt.datetime(2021, 5, 7, 16, 30, tzinfo=PACIFIC),
    "late": dt.datetime(2021, 5, 7, 18, 30, tzinfo=PACIFIC),
    "extra-time": dt.datetime(2021, 5, 7, 18, 0, tzinfo=PACIFIC),
}
#: on-time answers Q1 (a) wrongly, to ask for a regrade of it
WRONG_A = 'answer_a = {"ii", "iv"}'
CLOSE = dt.datetime(2021, 5, 21, 17, 0, tzinfo=PACIFIC)


def _stamp(when: dt.datetime) -> str:
    """A time as nbgrader's exchange writes it (``Exchange.timestamp_format``)."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


class Exam:
    """The scratch course, the exchange, and the students' home folders."""

    def __init__(self, root: Path) -> None:
        self.course = Course.scratch(root / "course")
        self.exchange = root / "exchange"
        self.homes = root / "homes"
        with (self.course.root / "nbgrader_config.py").open("a") as fh:
            fh.write(f'\nc.Exchange.root = "{self.exchange}"\n'
                     'c.ExamWindow.start = "2021-05-07 14:00 America/Los_Angeles"\n'
                     "c.ExamWindow.duration_minutes = 180\n"
                     f'c.Regrades.close = "{CLOSE:%Y-%m-%d %H:%M} America/Los_Angeles"\n')
        (self.course.root / "accommodations.csv").write_text(
            "id,extra_minutes,time_multiplier,start\nextra-time,,1.5,\n")
        (self.course.root / "roster.csv").write_text(
            "id\n" + "".join(f"{s}\n" for s in SUBMITTED))

    def nbgrader(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = nbgrader_env({"CS230_GRADEBOOK_URL": self.course.db_url})
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def home(self, student: str) -> Path:
        """The student's folder, with the student's nbgrader configuration."""
        home = self.homes / student
        if not home.exists():
            home.mkdir(parents=True)
            (home / "nbgrader_config.py").write_text(
                "c = get_config()  # noqa: F821\n"
                f'c.CourseDirectory.course_id = "{COURSE_ID}"\n'
                f'c.Exchange.root = "{self.exchange}"\n'
                'c.ExchangeFactory.submit = "cs230_grading.receipts.ReceiptSubmit"\n')
        return home

    def submit(self, student: str, assignment: str, when: dt.datetime) -> str:
        """``nbgrader submit`` as ``student``, then nbgrader's timestamp set to ``when``."""
        proc = self.nbgrader(self.home(student), "submit", assignment, f"--student={student}")
        inbound = self.exchange / COURSE_ID / "inbound"
        [folder] = [p for p in inbound.iterdir()
                    if p.name.startswith(f"{student}+{assignment}+")]
        stamp = folder / "timestamp.txt"
        stamp.chmod(stamp.stat().st_mode | stat.S_IWUSR)
        stamp.write_text(_stamp(when))
        # the folder's name carries the time too (collect takes the newest by it)
        parts = folder.name.split("+")
        parts[2] = _stamp(when)
        folder.rename(folder.with_name("+".join(parts)))
        return proc.stdout + proc.stderr

    def notebook(self, student: str) -> Path:
        return self.home(student) / "midterm" / f"{Q1}.ipynb"


@pytest.fixture(scope="module")
def exam(tmp_path_factory: pytest.TempPathFactory) -> Exam:
    exam = Exam(tmp_path_factory.mktemp("exam-day"))
    course = exam.course
    course.generate_assignment()
    exam.nbgrader(course.root, "release_assignment", "midterm")
    answers = model(Q1).build(course.source_dir, course.release_dir)
    exam.logs = {}
    for student, when in SUBMITTED.items():
        home = exam.home(student)
        exam.nbgrader(home, "fetch_assignment", "midterm")
        for other in (home / "midterm").glob("*.ipynb"):  # only Q1 is answered
            if other.stem != Q1:
                other.unlink()
        nb = copy.deepcopy(answers)
        if student == "on-time":
            grade_cells(nb)["q1_a"].source = WRONG_A
        write_notebook(nb, exam.notebook(student))
        exam.logs[student] = exam.submit(student, "midterm", when)
    exam.nbgrader(course.root, "collect", "midterm")
    roster = course.root / "canvas.csv"
    roster.write_text("Student,ID,SIS Login ID\n" +
                      "".join(f"S {s},{n},{s}\n" for n, s in enumerate(SUBMITTED)))
    exam.result = run_pipeline(course.root, workers=1, progress=False, out=io.StringIO(),
                               canvas=CanvasOptions(roster))
    return exam


def q1_points(wrong_a: bool = False) -> float:
    expected = model(Q1).expected_scores()
    return sum(v for k, v in expected.items() if v is not None and not (wrong_a and
                                                                        k == "q1_a_test"))


def test_only_the_late_student_is_late_with_the_configured_penalty(exam: Exam) -> None:
    grades = collect_grades(exam.course.db_url, list(SUBMITTED)).by_student()
    assert [s.student for s in collect_grades(exam.course.db_url, list(SUBMITTED)).late] \
        == ["late"]
    seconds_late = (SUBMITTED["late"] - END).total_seconds()
    assert grades["late"].seconds_late == pytest.approx(seconds_late)
    assert grades["late"].late_penalty == pytest.approx(penalty_points(q1_points(),
                                                                       seconds_late))
    assert grades["late"].late_penalty > 0
    assert grades["extra-time"].seconds_late == 0 and grades["extra-time"].late_penalty == 0
    assert grades["extra-time"].notebook_scores[Q1] == pytest.approx(q1_points())
    # the report and the Canvas export use each student's own end time
    page = (exam.course.root / "reports" / "report.html").read_text()
    late_section = page.split("<h2>Late submissions</h2>")[1].split("<h2>")[0]
    assert ">late<" in late_section and "extra-time" not in late_section
    rows = {r["SIS Login ID"]: r for r in csv.DictReader(
        (exam.course.root / "reports" / "canvas.csv").open()) if r["SIS Login ID"]}
    assert float(rows["late"]["CS230 Midterm"]) == pytest.approx(
        q1_points() - grades["late"].late_penalty)
    assert float(rows["extra-time"]["CS230 Midterm"]) == pytest.approx(q1_points())


def test_the_receipt_from_submit_matches_what_was_graded(exam: Exam,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    receipt_path = exam.notebook("late").parent / receipts.RECEIPT
    receipt = json.loads(receipt_path.read_text())
    digest = receipts.sha256(exam.notebook("late").read_bytes())
    assert receipt["notebooks"] == {f"{Q1}.ipynb": digest}
    assert receipt["code"] in exam.logs["late"]  # shown to the student by nbgrader submit
    assert cli.main(["--course", str(exam.course.root), "receipt", str(receipt_path)]) == 0
    assert "matches what was graded" in capsys.readouterr().out
    feedback = (exam.course.feedback_dir("late") / f"{Q1}.html").read_text()
    assert digest in feedback
    report = (exam.course.root / "reports" / "report.html").read_text()
    assert receipt["code"] in report


def test_a_notebook_changed_after_the_receipt_does_not_match(exam: Exam, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    changed = tmp_path / "changed"
    changed.mkdir()
    nb = read_notebook(exam.notebook("late"))
    grade_cells(nb)["q1_b"].source += "\n# changed after submitting"
    write_notebook(nb, changed / f"{Q1}.ipynb")
    assert receipts.main([str(changed), "--student", "late"]) == 0  # the LMS route's command
    capsys.readouterr()
    code = cli.main(["--course", str(exam.course.root), "receipt",
                     str(changed / receipts.RECEIPT)])
    out = capsys.readouterr().out
    assert code == 1
    assert "does NOT match" in out and f"DIFFERENT  {Q1}.ipynb" in out


REQUEST = "part: q1_a\nreason: (ii) <b>is</b> true when the weights are scaled.\n"


def test_regrade_from_request_to_decision_to_feedback(exam: Exam,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    root = exam.course.root
    assert cli.main(["--course", str(root), "regrades", "form"]) == 0
    for student in ("on-time", "late"):
        home = exam.home(student)
        exam.nbgrader(home, "fetch_assignment", regrades.REGRADE_ASSIGNMENT)
        form = home / regrades.REGRADE_ASSIGNMENT / regrades.REQUEST_FILE
        text = REQUEST + ("\npart: q9_z\nreason: there is such a part\n"
                          if student == "on-time" else "")
        form.write_text(form.read_text() + text)
    exam.submit("on-time", regrades.REGRADE_ASSIGNMENT, dt.datetime(2021, 5, 14, 10, 0,
                                                                     tzinfo=PACIFIC))
    exam.submit("late", regrades.REGRADE_ASSIGNMENT, CLOSE + dt.timedelta(hours=1))
    exam.nbgrader(root, "collect", regrades.REGRADE_ASSIGNMENT)
    capsys.readouterr()

    assert cli.main(["--course", str(root), "regrades"]) == 0
    out = capsys.readouterr().out
    assert "1 open regrade request(s):" in out and "on-time q1_a" in out
    assert "not taken: on-time q9_z: there is no part 'q9_z'" in out
    assert "not taken: late q1_a: regrade requests closed at 2021-05-21 17:00" in out
    assert (root / "regrades" / "on-time.json").is_file()  # kept in the course, not the home
    # the same part again, from the LMS: a reply, not a second request
    again = root / "again.txt"
    again.write_text(REQUEST)
    assert cli.main(["--course", str(root), "regrades", "add", str(again), "--student",
                     "on-time", "--time", "2021-05-15 09:00 America/Los_Angeles"]) == 0
    assert "not taken: on-time q1_a: you already asked for a regrade of q1_a" in \
        capsys.readouterr().out
    # running it again reads nothing new
    assert cli.main(["--course", str(root), "regrades"]) == 0
    assert "not taken" not in capsys.readouterr().out

    before = collect_grades(exam.course.db_url, ["on-time"]).by_student()["on-time"]
    assert before.notebook_scores[Q1] == pytest.approx(q1_points(wrong_a=True))
    top = model(Q1).expected_scores()["q1_a_test"]
    assert cli.main(["--course", str(root), "regrades", "accept", "on-time", "q1_a",
                     "--points", f"{top:g}", "--reply", "Agreed: <i>scaling</i> ok.",
                     "--grader", "ta-1"]) == 0
    after = collect_grades(exam.course.db_url, ["on-time"]).by_student()["on-time"]
    assert after.notebook_scores[Q1] == pytest.approx(q1_points())
    feedback = (exam.course.feedback_dir("on-time") / f"{Q1}.html").read_text()
    assert "Your regrade requests" in feedback and "accepted" in feedback
    assert "<i>scaling</i>" not in feedback and "scaling" in feedback  # escaped, not markup
    [request] = [r for r in regrades.read_requests(root, "on-time") if r.status == "accepted"]
    assert (request.points_before, request.points_after, request.decided_by) == (0.0, top,
                                                                                 "ta-1")
    # deciding twice is a clear line, not a crash
    assert cli.main(["--course", str(root), "regrades", "decline", "on-time", "q1_a",
                     "--reply", "no"]) == 2
    assert "has no open regrade request for q1_a" in capsys.readouterr().err

    # the report counts open and decided requests
    assert cli.main(["--course", str(root), "report"]) in (0, 1)
    report = (root / "reports" / "report.html").read_text()
    section = report.split('<section id="regrades">')[1].split("</section>")[0]
    assert "0 open, 1 decided (1 accepted, 0 declined), 3 not taken" in section
    assert "&lt;b&gt;is&lt;/b&gt;" in section  # the student's reason, escaped


def test_console_panel_shows_and_decides_an_open_request(exam: Exam) -> None:
    pytest.importorskip("ipywidgets")
    root = exam.course.root
    regrades.add_request(root, "extra-time", "part: q1_b\nreason: <script>x()</script>",
                         dt.datetime(2021, 5, 14, 9, 0, tzinfo=PACIFIC), "LMS upload")
    panel = RegradePanel(root, exam.course.db_url, lambda: "ta-2")
    assert list(panel.requests) == ["extra-time q1_b"]
    shown = panel.detail.value
    assert "&lt;script&gt;" in shown and "<script>" not in shown
    points = model(Q1).expected_scores()["q1_b_test"]
    assert f"{points:g} of {points:g} points" in shown  # the grade now
    assert "answer_b" in shown  # the answer as graded
    panel.reply.value = "Your answer already has full marks."
    panel.decline.click()
    assert "declined" in panel.status.value
    assert panel.requests == {}
    feedback = (exam.course.feedback_dir("extra-time") / f"{Q1}.html").read_text()
    assert "declined" in feedback and "already has full marks" in feedback


def test_student_folders_are_private_copies(exam: Exam) -> None:
    """The receipt lives beside the student's work, not in what was graded."""
    assert (exam.home("on-time") / "midterm" / receipts.RECEIPT).is_file()
    staged = exam.course.autograded_dir("on-time") / receipts.HASHES
    assert receipts.parse_sha256sum(staged.read_text()) == {
        f"{Q1}.ipynb": receipts.sha256(exam.notebook("on-time").read_bytes())}
