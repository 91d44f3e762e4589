"""The Canvas gradebook CSV: built from Canvas's export, nobody dropped silently."""

from __future__ import annotations

import csv

import pytest

from cs230_grading.lms_export import (
    POINTS_POSSIBLE,
    RosterError,
    read_canvas_roster,
    write_canvas_csv,
)

EXPORT = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Homework 1 (101),Current Score
    Points Possible,,,,,10,(read only)
"Ng, Ada",11,9001,ada,CS230-01,9,90
"Lee, Bo",12,9002,Bo ,CS230-01,7,70
"Kim, Cy",13,9003,cy,CS230-02,,
"""


def _roster(tmp_path, text=EXPORT):
    path = tmp_path / "canvas_export.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_canvas_csv_keeps_identity_columns_and_lists_both_kinds_of_missing(tmp_path):
    roster = read_canvas_roster(_roster(tmp_path), "SIS Login ID")
    totals = {"ada": 88.5, "bo": 61.0, "zed": 40.0}  # ids match after trimming and case
    export = write_canvas_csv(roster, totals, tmp_path / "canvas.csv", points_possible=100)
    rows = list(csv.reader((tmp_path / "canvas.csv").open(encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "CS230 Midterm"]
    assert rows[1][0] == POINTS_POSSIBLE and rows[1][-1] == "100"
    by_login = {r[3].strip().lower(): r for r in rows[2:]}
    assert by_login["ada"][-1] == "88.5" and by_login["ada"][0] == "Ng, Ada"
    assert by_login["bo"][-1] == "61"
    assert by_login["cy"][-1] == ""  # on the roster, not graded: empty, Canvas leaves it alone
    assert export.written == 2
    assert export.not_graded == ["cy"]
    assert export.not_on_roster == ["zed"]
    assert any("zed" in line for line in export.lines())


def test_a_missing_id_column_names_the_columns_and_the_option(tmp_path):
    with pytest.raises(RosterError, match="--canvas-id-column") as err:
        read_canvas_roster(_roster(tmp_path), "Login")
    assert "SIS Login ID" in str(err.value)


def test_a_repeated_id_and_a_missing_file_are_clear_errors(tmp_path):
    twice = EXPORT + '"Ng, Ada 2",14,9004,ada,CS230-02,,\n'
    with pytest.raises(RosterError, match="repeats ada"):
        read_canvas_roster(_roster(tmp_path, twice))
    with pytest.raises(RosterError, match="no such file"):
        read_canvas_roster(tmp_path / "nope.csv")
