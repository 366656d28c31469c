"""From an LMS download to its imports: `labkit grade` on a Canvas and a Moodle download, then `labkit export`.

The class answers two problem sets (tests/helpers/problem_set.py, released as ps1 and ps2): one student
hands in both, the second of them three times; one hands in late; one adds a helper script. Each
download is graded with one command and exported with one, and every id and score of the export is
checked against the grades.csv it came from.
"""

from __future__ import annotations

import csv
import zipfile
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from helpers import problem_set
from helpers.grading import sandbox_flags
from helpers.lms_downloads import canvas_download, canvas_name, moodle_download
from labkit.course.cli import main

pytestmark = pytest.mark.notebook


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def _class() -> dict:
    subs = problem_set.honest_submissions()
    perfect, partial, blank = (_bytes(subs[k]) for k in ("perfect", "partial", "blank"))
    return {
        "Jane Doe": {"ps1.ipynb": partial, "ps2.ipynb": [blank, blank, perfect]},  # two notebooks; ps2 thrice
        "John Smith": {"ps1.ipynb": perfect},  # late (the download's LATE)
        "Ann Lee": {"ps1.ipynb": blank, "helper.py": b"print('mine')\n"},
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The two assignments, and each download graded (one command) and exported (one command)."""
    base = tmp_path_factory.mktemp("lms")
    ps1 = problem_set.write_instructor(base / "source")
    ps2 = ps1.with_name("ps2.ipynb")
    ps2.write_bytes(ps1.read_bytes())
    done = {}
    for lms, download in (("canvas", canvas_download(base / "canvas.zip", _class())),
                          ("moodle", moodle_download(base / "moodle.zip", _class()))):
        grades = base / f"grades-{lms}"
        assert main(["grade", str(download.path), "--assignment", str(ps1), "--assignment", str(ps2), "--out",
                     str(grades), "--quiet", *sandbox_flags()]) == 0
        assert main(["export", str(grades), "--lms", lms, "--column", "Problem sets (777)"]) == 0
        with open(grades / "grades.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        done[lms] = {"download": download, "grades": grades, "rows": rows, "export": grades / f"export-{lms}"}
    return done


def _totals(rows) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        totals[r["student"]] += float(r["score"])
    return dict(totals)


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_only_the_latest_upload_is_graded_and_said(course, lms) -> None:
    c = course[lms]
    graded = {(r["student"], r["assignment"]) for r in c["rows"]}
    keys = c["download"].keys
    assert graded == {(keys["Jane Doe"], "ps1"), (keys["Jane Doe"], "ps2"), (keys["John Smith"], "ps1"),
                      (keys["Ann Lee"], "ps1"), (keys["Ann Lee"], "?")}, graded
    auto = {(r["student"], r["assignment"]): 0.0 for r in c["rows"]}
    for r in c["rows"]:
        auto[r["student"], r["assignment"]] += float(r["score"]) if r["exercise"] in problem_set.AUTO else 0.0
    assert auto[keys["Jane Doe"], "ps2"] == problem_set.EXPECTED["perfect"][0], "not the latest upload graded"
    assert auto[keys["Jane Doe"], "ps1"] == problem_set.EXPECTED["partial"][0]
    feedback = (c["grades"] / "feedback" / keys["Jane Doe"] / "ps2.ipynb").read_text()
    if lms == "canvas":  # Canvas keeps every upload; Moodle's download holds only the latest
        assert "the latest of 3 uploads of ps2.ipynb; set aside:" in feedback
        late = (c["grades"] / "feedback" / keys["John Smith"] / "ps1.ipynb").read_text()
        assert "ps1.ipynb was submitted late" in late
    roster = {(r["student"], r["file"]): r for r in csv.DictReader(open(c["grades"] / "roster.csv", newline=""))}
    for label, key in keys.items():
        assert roster[key, "ps1.ipynb"]["lms_id"] == c["download"].ids[label] and roster[key, "ps1.ipynb"]["lms"] == lms


def test_the_canvas_export_is_its_gradebook_import_with_every_score(course) -> None:
    c = course["canvas"]
    header, points, *students = _read(c["export"] / "canvas_grades.csv")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Problem sets (777)"]
    totals, keys, ids = _totals(c["rows"]), c["download"].keys, c["download"].ids
    assert points[0] == "Points Possible" and float(points[-1]) == 2 * sum(problem_set.POINTS.values())
    assert {row[1]: float(row[-1]) for row in students} == {ids[label]: totals[keys[label]] for label in keys}
    assert {row[1]: row[0] for row in students} == {ids[label]: canvas_name(label) for label in keys}
    with zipfile.ZipFile(c["export"] / "canvas_feedback.zip") as archive:
        names = set(archive.namelist())
        roster = list(csv.DictReader(open(c["grades"] / "roster.csv", newline="")))
        expected = {f"{r['full_name']}_{r['lms_id']}_{r['submission_id']}_{Path(r['file']).stem}.html" for r in roster
                    if r["file"].endswith(".ipynb")}
        assert names == expected, names ^ expected
        for r in roster:
            if r["file"].endswith(".ipynb"):
                name = f"{r['full_name']}_{r['lms_id']}_{r['submission_id']}_{Path(r['file']).stem}.html"
                html = c["grades"] / "feedback" / r["student"] / f"{Path(r['file']).stem}.html"
                assert archive.read(name) == html.read_bytes()


def test_the_moodle_export_is_its_grading_worksheet_with_every_score(course) -> None:
    c = course["moodle"]
    header, *rows = _read(c["export"] / "moodle_grading_worksheet.csv")
    assert header[:6] == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade"]
    totals, keys, ids = _totals(c["rows"]), c["download"].keys, c["download"].ids
    sheet = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert {i: float(r["Grade"]) for i, r in sheet.items()} == {f"Participant {ids[k]}": totals[keys[k]] for k in keys}
    assert {i: r["Full name"] for i, r in sheet.items()} == {f"Participant {ids[k]}": k for k in keys}
    assert {float(r["Maximum Grade"]) for r in sheet.values()} == {2 * sum(problem_set.POINTS.values())}
    with zipfile.ZipFile(c["export"] / "moodle_feedback.zip") as archive:
        names = set(archive.namelist())
    assert names == {f"Jane Doe_{ids['Jane Doe']}_assignsubmission_file_ps1.html",
                     f"Jane Doe_{ids['Jane Doe']}_assignsubmission_file_ps2.html",
                     f"John Smith_{ids['John Smith']}_assignsubmission_file_ps1.html",
                     f"Ann Lee_{ids['Ann Lee']}_assignsubmission_file_ps1.html"}, names


def _one_line_error(capsys, argv: list[str], pattern: str) -> None:
    import re

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(pattern, err), err


def test_bad_downloads_are_one_line_before_any_grading(tmp_path, capsys) -> None:
    out = tmp_path / "grades"
    plain = tmp_path / "photos.zip"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("IMG_0001.jpg", b"\xff\xd8")
    _one_line_error(capsys, ["grade", str(plain), "--out", str(out)], "is not an LMS download")
    odd = canvas_download(tmp_path / "canvas.zip", {"Jane Doe": {"ps1.ipynb": b"{}"}}).path
    with zipfile.ZipFile(odd, "a") as z:
        z.writestr("notes from the TA.txt", b"hi")
    _one_line_error(capsys, ["grade", str(odd), "--lms", "canvas", "--out", str(out)],
                    r"named like no Canvas download .*notes from the TA\.txt")
    twice = tmp_path / "twice.zip"
    with zipfile.ZipFile(twice, "w") as z:
        z.writestr("doejane_1001_5001_ps1.ipynb", b"{}")
        z.writestr("smithjohn_1001_5002_ps1.ipynb", b"{}")
    _one_line_error(capsys, ["grade", str(twice), "--out", str(out)], "user id 1001 names two students")
    _one_line_error(capsys, ["grade", str(odd), "--lms", "blackboard", "--out", str(out)],
                    "lms 'blackboard' is not allowed")
    assert not (out / "grades.csv").exists(), "a refused download was graded"
    _one_line_error(capsys, ["export", str(tmp_path / "nothing"), "--lms", "canvas"], "no grades in .*grades.csv")
