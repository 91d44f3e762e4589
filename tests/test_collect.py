"""``cs230-grade collect --lms-zip``: a Canvas download, unpacked safely into submitted/.

Every archive here is built by the test in Canvas's format (``lib/content_zipper.rb``:
``{sortable name}_{LATE_}{user id}_{attachment id}_{display name}``, ``-N`` before the
extension of a file uploaded again). No grading happens: intake (``stage_submissions``)
checks that what was placed is what it will grade.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import zipfile
from pathlib import Path

import pytest

from cs230_grading.cli import main
from cs230_grading.collect import (
    ArchiveLimits,
    CanvasFormat,
    CollectError,
    collect_lms_zip,
)
from cs230_grading.course import NOTEBOOK_POINTS, NOTEBOOKS, Course
from cs230_grading.intake import MiB, stage_submissions

Q1, Q3, Q6 = "q1_multiple_choice", "q3_conv_architectures", "q6_numpy_attention"
#: (roster id, first, last, Canvas user id)
ROSTER = [("alice", "Alice", "Smith", "1001"), ("bob", "Bob", "O'Neil-Ng", "1002"),
          ("carol", "Carol", "van der Berg", "1003")]


def canvas_name(last: str, first: str, user_id: str, file_id: int, display: str,
                late: bool = False) -> str:
    """The name Canvas gives an uploaded file in its "Download Submissions" zip."""
    sortable = re.sub(r"_(\d+)_", r"\1", f"{last}, {first}").lower()
    prefix = re.sub(r"[^\w]", "", "_".join([sortable, *(["LATE"] if late else []), user_id]))
    return f"{prefix}_{file_id}_{display}"


def entry(roster_id: str, file_id: int, display: str, late: bool = False) -> str:
    _, first, last, user_id = next(r for r in ROSTER if r[0] == roster_id)
    return canvas_name(last, first, user_id, file_id, display, late)


@pytest.fixture
def course(tmp_path: Path) -> Course:
    course = Course.scratch(tmp_path / "course")
    rows = ["id,first_name,last_name,email,lms_user_id"]
    rows += [f"{i},{first},{last},{i}@example.edu,{uid}" for i, first, last, uid in ROSTER]
    (course.root / "roster.csv").write_text("\n".join(rows) + "\n")
    return course


def notebook_bytes(course: Course, name: str, marker: str = "") -> bytes:
    """A notebook intake accepts (the source notebook), told apart by ``marker``."""
    data = (course.source_dir / f"{name}.ipynb").read_bytes()
    return data.rstrip() + f"\n{' ' * len(marker)}".encode() if marker else data


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def lines(result, name: str = "") -> list[str]:
    return [f.line() for f in result.findings if not name or f.notebook == name]


def test_canvas_archive_lands_in_the_right_folders(course, tmp_path) -> None:
    first_q3, newest_q3 = notebook_bytes(course, Q3, "old"), notebook_bytes(course, Q3, "newer")
    files = {
        entry("alice", 501, f"{Q1}.ipynb"): notebook_bytes(course, Q1),
        entry("alice", 502, f"{Q6}.ipynb"): notebook_bytes(course, Q6),
        entry("bob", 601, f"{Q1}.ipynb", late=True): notebook_bytes(course, Q1),
        entry("carol", 701, f"{Q3}.ipynb"): first_q3,
        entry("carol", 790, f"{Q3}-1.ipynb"): newest_q3,
        entry("carol", 702, "notes.txt"): b"scratch work",
        canvas_name("Doe", "Dana", "1999", 801, f"{Q1}.ipynb"): notebook_bytes(course, Q1),
    }
    result = collect_lms_zip(course.root, write_zip(tmp_path / "submissions.zip", files))

    assert result.placed == {"alice": sorted([f"{Q1}.ipynb", f"{Q6}.ipynb"]),
                             "bob": [f"{Q1}.ipynb"], "carol": [f"{Q3}.ipynb"]}
    for student, names in result.placed.items():
        folder = course.submission_dir(student)
        assert sorted(p.name for p in folder.iterdir()) == names
    assert (course.submission_dir("carol") / f"{Q3}.ipynb").read_bytes() == newest_q3
    assert (course.submission_dir("alice") / f"{Q6}.ipynb").read_bytes() == \
        notebook_bytes(course, Q6)

    [older] = lines(result, entry("carol", 701, f"{Q3}.ipynb"))
    assert older.startswith("[warning]") and "an older upload" in older
    assert entry("carol", 790, f"{Q3}-1.ipynb") in older
    [unknown] = lines(result, canvas_name("Doe", "Dana", "1999", 801, f"{Q1}.ipynb"))
    assert unknown.startswith("[error]")
    assert "unknown student: canvas user 1999 (doedana)" in unknown
    [notes] = lines(result, entry("carol", 702, "notes.txt"))
    assert "notes.txt is not a notebook of this exam" in notes
    assert any(f.student == "bob" and "marked this submission late" in f.message
               for f in result.findings)
    assert result.exit_code == 1

    rows = list(csv.DictReader(result.manifest.open()))
    assert {(r["student"], r["file"]) for r in rows if r["outcome"] == "placed"} == \
        {(s, n) for s, names in result.placed.items() for n in names}
    assert sum(r["outcome"] == "not placed" for r in rows) == 2

    intake = stage_submissions(course.root, course.source_dir)
    assert intake.students == ["alice", "bob", "carol"]
    missing = {(f.student, f.notebook) for f in intake.findings}
    # a missing cover (0 points) is the pipeline's honour-code warning, not an intake finding
    assert missing == {(s, nb) for s in intake.students for nb in NOTEBOOKS
                       if f"{nb}.ipynb" not in result.placed[s] and NOTEBOOK_POINTS[nb]}


def test_links_and_paths_that_leave_are_never_written(course, tmp_path) -> None:
    link = zipfile.ZipInfo(entry("alice", 901, f"{Q3}.ipynb"))
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    fifo = zipfile.ZipInfo(entry("bob", 902, f"{Q3}.ipynb"))
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(link, f"../../../source/midterm/{Q3}.ipynb")
        zf.writestr(fifo, b"")
        zf.writestr(f"../../{entry('alice', 903, f'{Q1}.ipynb')}", b"{}")
        zf.writestr("/tmp/" + entry("alice", 904, f"{Q6}.ipynb"), b"{}")
        zf.writestr("alice/" + entry("alice", 905, f"{Q6}.ipynb"), b"{}")
        zf.writestr(entry("carol", 906, f"{Q1}.ipynb"), notebook_bytes(course, Q1))
    before = set(tmp_path.rglob("*"))
    result = collect_lms_zip(course.root, archive)

    expect = {link.filename: "a symbolic link",
              fifo.filename: "not a regular file",
              f"../../{entry('alice', 903, f'{Q1}.ipynb')}": "a path that leaves",
              "/tmp/" + entry("alice", 904, f"{Q6}.ipynb"): "a path that leaves",
              "alice/" + entry("alice", 905, f"{Q6}.ipynb"): "a file inside a folder"}
    for name, phrase in expect.items():
        [line] = lines(result, name)
        assert line.startswith("[error]") and phrase in line, line
    assert result.placed == {"carol": [f"{Q1}.ipynb"]}
    written = set(tmp_path.rglob("*")) - before
    course_files = {p for p in written if course.root in p.parents}
    assert written == course_files
    assert {p.relative_to(course.root) for p in course_files if p.is_file()} == {
        Path("collect.csv"), Path("submitted/carol/midterm") / f"{Q1}.ipynb"}
    assert not any(p.is_symlink() for p in written)


def test_zip_bomb_entry_is_refused_and_the_rest_placed(course, tmp_path) -> None:
    bomb = entry("bob", 950, f"{Q3}.ipynb")
    archive = write_zip(tmp_path / "bomb.zip", {
        bomb: b"\0" * (8 * MiB),
        entry("alice", 951, f"{Q3}.ipynb"): notebook_bytes(course, Q3)})
    result = collect_lms_zip(course.root, archive)
    [line] = lines(result, bomb)
    assert "a zip bomb" in line and "over the limit of 100 to 1" in line
    assert result.placed == {"alice": [f"{Q3}.ipynb"]}
    assert not course.submission_dir("bob").exists()


@pytest.mark.parametrize("limits, phrase", [
    (ArchiveLimits(files=2), "3 entries, over the limit of 2 (CS230_LIMIT_ARCHIVE_FILES)"),
    (ArchiveLimits(total_bytes=1 * MiB), "over the limit of 1 MiB (CS230_LIMIT_ARCHIVE_MB)"),
])
def test_archive_over_the_count_or_size_limit_is_not_unpacked(course, tmp_path, limits,
                                                              phrase) -> None:
    archive = write_zip(tmp_path / "big.zip", {
        entry("alice", 960 + i, f"{nb}.ipynb"): notebook_bytes(course, nb) + b" " * MiB
        for i, nb in enumerate(NOTEBOOKS[:3])})
    with pytest.raises(CollectError, match=re.escape(phrase)):
        collect_lms_zip(course.root, archive, limits=limits)
    assert not course.submitted_root.exists()


def test_archive_limits_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CS230_LIMIT_ARCHIVE_FILES", "50")
    monkeypatch.setenv("CS230_LIMIT_ARCHIVE_MB", "64")
    monkeypatch.setenv("CS230_LIMIT_ARCHIVE_RATIO", "20")
    monkeypatch.setenv("CS230_LIMIT_SUBMISSION_MB", "2")
    assert ArchiveLimits.from_env() == ArchiveLimits(files=50, total_bytes=64 * MiB,
                                                     file_bytes=2 * MiB, ratio=20.0)
    monkeypatch.setenv("CS230_LIMIT_ARCHIVE_RATIO", "-1")
    with pytest.raises(CollectError, match="CS230_LIMIT_ARCHIVE_RATIO='-1' must be more than 0"):
        ArchiveLimits.from_env()


def test_existing_submission_is_kept_unless_forced(course, tmp_path) -> None:
    kept = course.add_submission("alice", {f"{Q1}.ipynb": b"by hand"}) / f"{Q1}.ipynb"
    archive = write_zip(tmp_path / "s.zip",
                        {entry("alice", 970, f"{Q3}.ipynb"): notebook_bytes(course, Q3)})
    result = collect_lms_zip(course.root, archive)
    assert "already exists: not replaced (pass --force" in lines(result)[0]
    assert kept.read_bytes() == b"by hand" and result.placed == {}
    result = collect_lms_zip(course.root, archive, force=True)
    assert result.placed == {"alice": [f"{Q3}.ipynb"]}
    assert sorted(p.name for p in course.submission_dir("alice").iterdir()) == [f"{Q3}.ipynb"]


@pytest.mark.parametrize("name, expected", [
    ("smithalice_1001_501_q1_multiple_choice.ipynb",
     ("smithalice", "1001", False, 501, "q1_multiple_choice.ipynb", 0)),
    ("smithalice_LATE_1001_501_q1_multiple_choice-2.ipynb",
     ("smithalice", "1001", True, 501, "q1_multiple_choice.ipynb", 2)),
    ("van_der_bergcarol_late_1003_7_12_notes.txt",  # older Canvas lower-cased LATE
     ("van_der_bergcarol", "1003", True, 7, "12_notes.txt", 0)),
    ("anon_X7bq2_88_q3_conv_architectures.ipynb",
     ("", "anon_X7bq2", False, 88, "q3_conv_architectures.ipynb", 0)),
])
def test_canvas_names(name, expected) -> None:
    got = CanvasFormat().parse(name)
    assert (got.student_name, got.lms_user_id, got.late, got.file_id, got.filename,
            got.revision) == expected


def test_canvas_name_helper_matches_the_format() -> None:
    name = canvas_name("O'Neil-Ng", "Bob", "1002", 5, "a.ipynb", late=True)
    assert name == "oneilngbob_LATE_1002_5_a.ipynb"
    assert CanvasFormat().parse("q1_multiple_choice.ipynb") is None


def test_cli_collect(course, tmp_path, capsys) -> None:
    archive = write_zip(tmp_path / "s.zip", {
        entry("alice", 980, f"{Q1}.ipynb"): notebook_bytes(course, Q1),
        canvas_name("Doe", "Dana", "1999", 981, f"{Q1}.ipynb"): b"{}"})
    code = main(["--course", str(course.root), "collect", "--lms-zip", str(archive)])
    out = capsys.readouterr().out
    assert code == 1
    assert "unknown student: canvas user 1999" in out
    assert "Placed 1 notebooks of 1 students into submitted/" in out
    assert (course.submission_dir("alice") / f"{Q1}.ipynb").exists()


@pytest.mark.parametrize("setup, phrase", [
    (lambda root, zp: zp.write_bytes(b"not a zip"), "not a readable zip archive"),
    (lambda root, zp: (root / "roster.csv").unlink(), "no roster.csv"),
    (lambda root, zp: (root / "roster.csv").write_text("id\nalice\n"),
     "roster.csv has no lms_user_id column"),
    (lambda root, zp: (root / "roster.csv").write_text("id,lms_user_id\n"),
     "roster.csv lists no students"),
    (lambda root, zp: zp.unlink(), "no such file"),
])
def test_cli_collect_errors_are_one_line(course, tmp_path, capsys, setup, phrase) -> None:
    archive = write_zip(tmp_path / "s.zip", {entry("alice", 990, f"{Q1}.ipynb"): b"{}"})
    setup(course.root, archive)
    code = main(["--course", str(course.root), "collect", "--lms-zip", str(archive)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("cs230-grade: ") and phrase in err


def test_forged_sizes_are_caught_while_streaming(course, tmp_path) -> None:
    """An entry whose headers understate its size (as a bomb's would) is not unpacked."""
    name = entry("alice", 995, f"{Q1}.ipynb")
    data = notebook_bytes(course, Q1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(name, data)
    raw = buffer.getvalue()
    size = len(data).to_bytes(4, "little")
    forged = raw.replace(size, (len(data) // 2).to_bytes(4, "little"))
    archive = tmp_path / "forged.zip"
    archive.write_bytes(forged)
    result = collect_lms_zip(course.root, archive)
    [line] = lines(result, name)
    assert line.startswith("[error]") and "not unpacked" in line
    assert result.placed == {}
    assert not course.submission_dir("alice").exists()
    assert os.listdir(course.root).count("submitted") == 0
