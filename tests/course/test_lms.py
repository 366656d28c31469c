"""LMS downloads: each layout is detected, read into the right students, ids and latest uploads, refused in one
line when it cannot be read without guessing, and grades and feedback go back in each LMS's import formats."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from helpers.lms_downloads import LATE, canvas_download, moodle_download, sample_class, write
from labkit.course import lms
from labkit.course.lms import find_submissions
from labkit.errors import CourseError, OutputFolderError

FIRST, SECOND, OLDER = b'{"first": 1}', b'{"second": 2}', b'{"older": 0}'


def _one_line_error(match: str, call, *args, **kwargs) -> str:
    with pytest.raises(CourseError, match=match) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@pytest.fixture
def canvas(tmp_path):
    return canvas_download(tmp_path / "canvas.zip", sample_class(FIRST, SECOND, OLDER))


@pytest.fixture
def moodle(tmp_path):
    return moodle_download(tmp_path / "moodle.zip", sample_class(FIRST, SECOND, OLDER))


def _folders(root: Path, students: tuple[str, ...] = ("alice", "bob")) -> Path:
    for student in students:
        for name in ("01_loss_functions.ipynb", "notes.txt") if student == "alice" else ("01_loss_functions.ipynb",):
            (root / student).mkdir(parents=True, exist_ok=True)
            (root / student / name).write_bytes(FIRST)
    return root


# ---- detection ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("unpacked", [False, True], ids=["zip", "folder"])
def test_each_layout_is_detected_zipped_and_unpacked(tmp_path, unpacked) -> None:
    cls = sample_class(FIRST, SECOND, OLDER)
    assert lms.detect(canvas_download(tmp_path / "c", cls, unpacked=unpacked).path) == "canvas"
    assert lms.detect(moodle_download(tmp_path / "m", cls, unpacked=unpacked).path) == "moodle"
    assert lms.detect(moodle_download(tmp_path / "mf", cls, folders=False, unpacked=unpacked).path) == "moodle"


def test_todays_layouts_are_folders(tmp_path) -> None:
    root = _folders(tmp_path / "class")
    assert [lms.detect(p) for p in (root, root / "alice", root / "alice" / "01_loss_functions.ipynb")] == \
        ["folders"] * 3


def test_a_zip_that_is_no_lms_download_is_refused_naming_both_patterns(tmp_path) -> None:
    path = write(tmp_path / "random.zip", {"alice/01_loss_functions.ipynb": FIRST, "readme.txt": b"hi"})
    message = _one_line_error("is not an LMS download", lms.detect, path)
    assert lms.CANVAS_PATTERN in message and lms.MOODLE_PATTERN in message
    _one_line_error("is not an LMS download", lms.collect, [path])


def test_a_broken_zip_is_refused(tmp_path) -> None:
    (tmp_path / "class.zip").write_bytes(b"PK not really")
    _one_line_error("not a readable zip", lms.collect, [tmp_path / "class.zip"])


def test_a_zip_rezipped_inside_one_folder_is_still_read(tmp_path) -> None:
    members = canvas_download(tmp_path / "c.zip", sample_class(FIRST, SECOND, OLDER)).members
    path = write(tmp_path / "wrapped.zip", {f"submissions/{name}": data for name, data in members.items()})
    subs, _ = lms.collect([path])
    assert {s.student for s in subs} == {"doejane_1001", "smithjohn_1002", "leeann_1003"}
    assert all(s.member.startswith("submissions/") for s in subs)


# ---- Canvas ---------------------------------------------------------------------------------------------


def test_canvas_students_ids_late_and_latest_upload(canvas) -> None:
    subs, notes = lms.collect([canvas.path])
    by_key = {(s.student, s.file): s for s in subs}
    assert sorted(by_key) == [("doejane_1001", "01_loss_functions.ipynb"),
                              ("doejane_1001", "02_gradient_descent.ipynb"),
                              ("leeann_1003", "01_loss_functions.ipynb"), ("leeann_1003", "helper.py"),
                              ("smithjohn_1002", "01_loss_functions.ipynb")]
    latest = by_key["doejane_1001", "02_gradient_descent.ipynb"]
    member = "doejane_1001_5004_02_gradient_descent-2.ipynb"
    assert (latest.lms, latest.lms_id, latest.full_name, latest.submission_id) == ("canvas", "1001", "doejane", "5004")
    assert (latest.archive, latest.member, latest.origin) == (str(canvas.path), member, f"{canvas.path}/{member}")
    assert latest.data() == SECOND
    assert latest.superseded == (f"{canvas.path}/doejane_1001_5002_02_gradient_descent.ipynb",
                                 f"{canvas.path}/doejane_1001_5003_02_gradient_descent-1.ipynb")
    assert [s.student for s in subs if s.late] == ["smithjohn_1002"] == [canvas.keys[label] for label in LATE]
    assert by_key["smithjohn_1002", "01_loss_functions.ipynb"].member.startswith("smithjohn_LATE_1002_5005_")
    assert not any("__MACOSX" in s.origin or "DS_Store" in s.origin for s in subs)
    assert "doejane_1001: graded doejane_1001_5004_02_gradient_descent-2.ipynb, the latest of 3 uploads of " \
           "02_gradient_descent.ipynb; set aside: doejane_1001_5002_02_gradient_descent.ipynb, " \
           "doejane_1001_5003_02_gradient_descent-1.ipynb" in notes
    assert "smithjohn_1002: 01_loss_functions.ipynb was submitted late" in notes


@pytest.mark.parametrize("late", ["late", "LATE", "Late"])
def test_the_late_field_is_read_in_any_case(tmp_path, late) -> None:
    path = write(tmp_path / "c.zip", {f"doejane_{late}_1001_5001_01_loss_functions.ipynb": FIRST})
    [sub], _ = lms.collect([path])
    assert (sub.student, sub.full_name, sub.late) == ("doejane_1001", "doejane", True)


def test_canvas_unpacked_reads_from_disk(tmp_path) -> None:
    download = canvas_download(tmp_path / "submissions", sample_class(FIRST, SECOND, OLDER), unpacked=True)
    subs, _ = lms.collect([download.path])
    latest = next(s for s in subs if s.file == "02_gradient_descent.ipynb")
    assert latest.origin == str(download.path / "doejane_1001_5004_02_gradient_descent-2.ipynb")
    assert (latest.archive, latest.member, latest.data()) == ("", "", SECOND)


def test_a_zip_is_read_in_memory_never_extracted(canvas) -> None:
    before = sorted(canvas.path.parent.rglob("*"))
    subs, _ = lms.collect([canvas.path])
    assert {s.data() for s in subs} == {FIRST, SECOND, b"print('helper')\n"}
    assert sorted(canvas.path.parent.rglob("*")) == before


def test_latest_upload_ties_go_to_the_larger_file_id(tmp_path) -> None:
    # The same file twice with no re-upload number: once on time, once late (a merged download).
    path = write(tmp_path / "c.zip", {"doejane_1001_7001_lab.ipynb": OLDER, "doejane_LATE_1001_7009_lab.ipynb": SECOND,
                                      "doejane_1001_7005_lab.ipynb": OLDER})
    [sub], notes = lms.collect([path])
    assert (sub.submission_id, sub.late, sub.data()) == ("7009", True, SECOND)
    assert sub.superseded == (f"{path}/doejane_1001_7001_lab.ipynb", f"{path}/doejane_1001_7005_lab.ipynb")
    assert any("the latest of 3 uploads of lab.ipynb" in n for n in notes)


def test_reupload_number_beats_file_id_and_reads_canvas_extensions(tmp_path) -> None:
    path = write(tmp_path / "c.zip", {"doejane_1001_9000_lab-2.ipynb": SECOND, "doejane_1001_9500_lab-1.ipynb": OLDER,
                                      "doejane_1001_8000_data.tar-1.gz": FIRST,
                                      "doejane_1001_8001_x.v2-3.ipynb": FIRST})
    subs, _ = lms.collect([path])
    assert {s.file: s.submission_id for s in subs} == {"lab.ipynb": "9000", "data.tar.gz": "8000",
                                                       "x.v2.ipynb": "8001"}


def test_after_seven_reuploads_canvas_numbers_with_a_uuid(tmp_path) -> None:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    path = write(tmp_path / "c.zip", {f"doejane_1001_6000_lab-{uuid}.ipynb": SECOND,
                                      "doejane_1001_6500_lab-7.ipynb": OLDER,
                                      "doejane_1001_7000_Makefile-1": FIRST, "doejane_1001_6900_Makefile": OLDER})
    subs, _ = lms.collect([path])
    assert {s.file: (s.submission_id, len(s.superseded)) for s in subs} == {"lab.ipynb": ("6000", 1),
                                                                           "Makefile": ("7000", 1)}


def test_canvas_text_entries_are_submissions_without_a_file_id(tmp_path) -> None:
    path = write(tmp_path / "c.zip", {"doejane_1001_5001_01_loss_functions.ipynb": FIRST,
                                      "smithjohn_1002_text.html": b"x"})
    subs, _ = lms.collect([path])
    text = next(s for s in subs if s.student == "smithjohn_1002")
    assert (text.file, text.submission_id) == ("text.html", "")


# ---- Moodle ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folders", [True, False], ids=["folders", "flat"])
@pytest.mark.parametrize("unpacked", [False, True], ids=["zip", "unpacked"])
def test_moodle_students_and_participant_ids(tmp_path, folders, unpacked) -> None:
    download = moodle_download(tmp_path / "m", sample_class(FIRST, SECOND, OLDER), folders=folders, unpacked=unpacked)
    subs, _ = lms.collect([download.path])
    assert sorted((s.student, s.file) for s in subs) == [
        ("Ann Lee_103", "01_loss_functions.ipynb"), ("Ann Lee_103", "helper.py"),
        ("Jane Doe_101", "01_loss_functions.ipynb"), ("Jane Doe_101", "02_gradient_descent.ipynb"),
        ("John Smith_102", "01_loss_functions.ipynb")]
    jane = next(s for s in subs if s.file == "02_gradient_descent.ipynb")
    assert (jane.lms, jane.lms_id, jane.full_name, jane.submission_id, jane.late) == \
        ("moodle", "101", "Jane Doe", "", False)
    assert jane.data() == SECOND
    assert jane.archive == ("" if unpacked else str(download.path))


def test_moodle_before_4_1_folders_end_with_an_underscore(tmp_path) -> None:
    path = write(tmp_path / "m.zip", {"Jane Doe_101_assignsubmission_file_/sub/02_gradient_descent.ipynb": SECOND,
                                      "Jane Doe_101_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>"})
    subs, _ = lms.collect([path])
    assert sorted((s.student, s.file) for s in subs) == [("Jane Doe_101", "02_gradient_descent.ipynb"),
                                                         ("Jane Doe_101", "onlinetext.html")]


def test_moodle_two_files_of_one_name_are_refused(tmp_path) -> None:
    path = write(tmp_path / "m.zip", {"Jane Doe_101_assignsubmission_file/a/lab.ipynb": FIRST,
                                      "Jane Doe_101_assignsubmission_file/b/lab.ipynb": SECOND})
    _one_line_error("Jane Doe_101 has 2 files named lab.ipynb .*no order", lms.collect, [path])


# ---- folders: today's layout, unchanged ---------------------------------------------------------------


def test_folders_give_what_find_submissions_gives(tmp_path) -> None:
    root = _folders(tmp_path / "class")
    extra = _folders(tmp_path / "other", ("carol",)) / "carol"
    single = tmp_path / "loose" / "01_loss_functions.ipynb"
    single.parent.mkdir()
    single.write_bytes(FIRST)
    paths = [root, extra, single]
    subs, notes = lms.collect(paths)
    assert [(s.student, s.file, s.origin) for s in subs] == [(st, p.name, str(p)) for st, p in find_submissions(paths)]
    assert {(s.lms, s.archive, s.superseded) for s in subs} == {("", "", ())}
    assert notes == []


def test_mixed_paths_keep_each_layout(tmp_path, canvas) -> None:
    subs, _ = lms.collect([_folders(tmp_path / "class"), canvas.path])
    assert {s.student: s.lms for s in subs} == {"alice": "", "bob": "", "doejane_1001": "canvas",
                                                "smithjohn_1002": "canvas", "leeann_1003": "canvas"}


# ---- what is refused ----------------------------------------------------------------------------------


def test_files_no_layout_explains_are_listed(tmp_path, canvas) -> None:
    members = {**canvas.members, "notes.txt": b"x", "extra/01_loss_functions.ipynb": FIRST}
    message = _one_line_error("2 files in .* are named like no Canvas download", lms.collect,
                              [write(tmp_path / "c2.zip", members)])
    assert "notes.txt" in message and "extra/01_loss_functions.ipynb" in message and lms.CANVAS_PATTERN in message


def test_many_strangers_are_counted_not_all_listed(tmp_path, canvas) -> None:
    members = {**canvas.members, **{f"stray{i}.txt": b"x" for i in range(8)}}
    message = _one_line_error("8 files", lms.collect, [write(tmp_path / "c2.zip", members)])
    assert "stray4.txt and 3 more" in message and "stray5.txt" not in message


def test_a_forced_lms_reads_only_its_names(canvas, moodle) -> None:
    _one_line_error("are named like no Moodle download", lms.collect, [canvas.path], lms="moodle")
    _one_line_error("are named like no Canvas download", lms.collect, [moodle.path], lms="canvas")
    subs, _ = lms.collect([canvas.path], lms="canvas")
    assert {s.lms for s in subs} == {"canvas"}


@pytest.mark.parametrize("bad", ["blackboard", "Canvas", "folders", ""])
def test_an_unknown_lms_is_refused_naming_what_is_allowed(canvas, bad) -> None:
    message = _one_line_error("is not allowed", lms.collect, [canvas.path], lms=bad)
    assert "'canvas'" in message and "'moodle'" in message


def test_two_canvas_names_on_one_user_id_are_refused(tmp_path) -> None:
    path = write(tmp_path / "c.zip", {"doejane_1234_1_01_loss_functions.ipynb": FIRST,
                                      "smithjohn_1234_2_01_loss_functions.ipynb": FIRST})
    message = _one_line_error("Canvas user id 1234 names two students", lms.collect, [path])
    assert "'doejane'" in message and "'smithjohn'" in message


def test_one_id_for_two_students_is_refused_across_downloads(tmp_path) -> None:
    first = write(tmp_path / "a.zip", {"doejane_1234_1_01_loss_functions.ipynb": FIRST})
    second = write(tmp_path / "b.zip", {"smithjohn_1234_2_02_gradient_descent.ipynb": FIRST})
    message = _one_line_error("user id 1234 names two students", lms.collect, [first, second])
    assert str(first) in message and str(second) in message


def test_two_moodle_names_on_one_participant_id_are_refused(tmp_path) -> None:
    path = write(tmp_path / "m.zip", {"Jane Doe_101_assignsubmission_file/01_loss_functions.ipynb": FIRST,
                                      "John Smith_101_assignsubmission_file/01_loss_functions.ipynb": FIRST})
    _one_line_error("Moodle participant id 101 names two students, 'Jane Doe' and 'John Smith'", lms.collect, [path])


def test_one_download_given_twice_is_refused(canvas) -> None:
    _one_line_error("comes from two of the paths given .*graded twice", lms.collect, [canvas.path, canvas.path])


def test_one_student_of_two_downloads_with_other_files_is_fine(tmp_path) -> None:
    first = write(tmp_path / "a.zip", {"doejane_1234_1_01_loss_functions.ipynb": FIRST})
    second = write(tmp_path / "b.zip", {"doejane_1234_2_02_gradient_descent.ipynb": SECOND})
    subs, _ = lms.collect([first, second])
    assert [(s.student, s.file) for s in subs] == [("doejane_1234", "01_loss_functions.ipynb"),
                                                   ("doejane_1234", "02_gradient_descent.ipynb")]


def test_a_student_folder_inside_a_class_given_too_is_refused(tmp_path) -> None:
    root = _folders(tmp_path / "class")
    _one_line_error("alice/01_loss_functions.ipynb comes from two of the paths given", lms.collect,
                    [root, root / "alice"])


def test_two_student_folders_of_one_name_in_two_classes_are_refused(tmp_path) -> None:
    # Both would be graded as "bob", and the second's feedback would overwrite the first's.
    first, second = _folders(tmp_path / "a", ("bob",)), _folders(tmp_path / "b", ("bob",))
    _one_line_error("bob/01_loss_functions.ipynb comes from two of the paths given", lms.collect, [first, second])


def test_a_missing_path_is_refused(tmp_path) -> None:
    _one_line_error("no submission at", lms.collect, [tmp_path / "nowhere.zip"])
    _one_line_error("no submission at", lms.collect, [tmp_path / "nowhere.zip"], lms="canvas")


def test_a_download_without_notebooks_is_refused(tmp_path) -> None:
    path = write(tmp_path / "c.zip", {"doejane_1001_5001_notes.txt": b"x"})
    _one_line_error(r"no notebooks \(.ipynb\)", lms.collect, [path])


# ---- the roster ---------------------------------------------------------------------------------------


def test_the_roster_round_trips(tmp_path, canvas) -> None:
    subs, _ = lms.collect([canvas.path])
    path = lms.write_roster(subs, tmp_path / "out" / "roster.csv")
    rows = lms.read_roster(path)
    assert rows == [{"student": s.student, "lms": "canvas", "lms_id": s.lms_id, "full_name": s.full_name,
                     "submission_id": s.submission_id, "late": "yes" if s.late else "no", "file": s.file,
                     "origin": s.origin, "superseded": ";".join(s.superseded)} for s in subs]
    jane = next(r for r in rows if r["file"] == "02_gradient_descent.ipynb")
    assert jane["superseded"].count(";") == 1 and jane["submission_id"] == "5004"
    with open(path, newline="") as f:
        assert next(csv.reader(f)) == ["student", "lms", "lms_id", "full_name", "submission_id", "late", "file",
                                       "origin", "superseded"]


def test_a_missing_or_foreign_roster_is_refused(tmp_path) -> None:
    _one_line_error("no roster at", lms.read_roster, tmp_path / "roster.csv")
    (tmp_path / "roster.csv").write_text("name,id\nx,1\n")
    _one_line_error("is not a labkit roster", lms.read_roster, tmp_path / "roster.csv")


# ---- export ---------------------------------------------------------------------------------------------

GRADE_COLUMNS = ["student", "assignment", "exercise", "score", "max_score", "status", "reason", "file"]


def _grades(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(GRADE_COLUMNS)
        writer.writerows([*row, "passed", "", file] for *row, file in rows)
    return path


def _graded_class(tmp_path: Path, download) -> tuple[Path, Path, Path]:
    """grades.csv, roster and feedback as labkit grade would leave them for ``download``'s sample class."""
    subs, _ = lms.collect([download.path])
    roster = lms.write_roster(subs, tmp_path / "graded" / "roster.csv")
    key = download.keys
    jane, john, ann = key["Jane Doe"], key["John Smith"], key["Ann Lee"]
    origin = {(s.student, s.file): s.origin for s in subs}
    lf, gd = "01_loss_functions.ipynb", "02_gradient_descent.ipynb"
    grades = _grades(tmp_path / "graded" / "grades.csv", [
        (jane, "01_loss_functions", "ex1", 2, 2, origin[jane, lf]),
        (jane, "01_loss_functions", "ex2", 0.5, 2, origin[jane, lf]),
        (jane, "02_gradient_descent", "ex1", 3, 6, origin[jane, gd]),
        (jane, "02_gradient_descent", "sandbox", 0, 0, origin[jane, gd]),
        (john, "01_loss_functions", "ex1", 2, 2, origin[john, lf]),
        (john, "01_loss_functions", "ex2", 2, 2, origin[john, lf]),
        (ann, "01_loss_functions", "ex1", 1, 2, origin[ann, lf]),
        (ann, "01_loss_functions", "ex2", 0, 2, origin[ann, lf]),
        (ann, "?", "?", 0, 0, origin[ann, "helper.py"]),
    ])
    feedback = tmp_path / "graded" / "feedback"
    for student, stem in [(jane, "01_loss_functions"), (jane, "02_gradient_descent"), (john, "01_loss_functions"),
                          (ann, "01_loss_functions")]:
        (feedback / student).mkdir(parents=True, exist_ok=True)
        (feedback / student / f"{stem}.html").write_text(f"<p>{student} {stem}</p>")
    return grades, roster, feedback


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_export_is_a_gradebook_import_and_a_reupload_zip(tmp_path, canvas) -> None:
    grades, roster, feedback = _graded_class(tmp_path, canvas)
    table, archive = lms.export(grades, roster, feedback, tmp_path / "export", "canvas")
    assert (table.name, archive.name) == ("canvas_grades.csv", "canvas_feedback.zip")
    header, points, *students = _csv_rows(table)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                      "labkit 01_loss_functions, 02_gradient_descent"]
    assert re.fullmatch(r"(.*)\s\((\d+)\)", header[-1]) is None  # no "(id)": Canvas makes a new assignment
    assert points == ["Points Possible", "", "", "", "", "10"]
    assert sorted(students) == [["doejane", "1001", "", "", "", "5.5"], ["leeann", "1003", "", "", "", "1"],
                                ["smithjohn", "1002", "", "", "", "4"]]
    with zipfile.ZipFile(archive) as z:
        names = sorted(z.namelist())
        assert z.read("doejane_1001_5004_02_gradient_descent.html") == b"<p>doejane_1001 02_gradient_descent</p>"
    assert names == ["doejane_1001_5001_01_loss_functions.html", "doejane_1001_5004_02_gradient_descent.html",
                     "leeann_1003_5006_01_loss_functions.html", "smithjohn_1002_5005_01_loss_functions.html"]
    # Canvas reads the first two all-digit fields as user id and attachment id: each must be a graded file's.
    graded = {(r["lms_id"], r["submission_id"]) for r in lms.read_roster(roster)}
    assert all(tuple([p for p in name.split("_") if p.isdigit()][:2]) in graded for name in names)


def test_canvas_export_fills_the_column_it_is_given(tmp_path, canvas) -> None:
    grades, roster, feedback = _graded_class(tmp_path, canvas)
    table, _ = lms.export(grades, roster, feedback, tmp_path / "export", "canvas", column="Lab 02 (48213)")
    header = _csv_rows(table)[0]
    assert header[-1] == "Lab 02 (48213)"
    assert re.fullmatch(r"(.*)\s\((\d+)\)", header[-1]).groups() == ("Lab 02", "48213")


def test_moodle_export_is_a_grading_worksheet_and_a_feedback_zip(tmp_path, moodle) -> None:
    grades, roster, feedback = _graded_class(tmp_path, moodle)
    table, archive = lms.export(grades, roster, feedback, tmp_path / "export", "moodle")
    assert (table.name, archive.name) == ("moodle_grading_worksheet.csv", "moodle_feedback.zip")
    header, *rows = _csv_rows(table)
    assert header == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                      "Grade can be changed", "Last modified (submission)", "Online text", "Last modified (grade)",
                      "Feedback comments"]
    sheet = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert {i: (r["Full name"], r["Grade"], r["Maximum Grade"]) for i, r in sheet.items()} == {
        "Participant 101": ("Jane Doe", "5.5", "10"), "Participant 102": ("John Smith", "4", "10"),
        "Participant 103": ("Ann Lee", "1", "10")}
    for r in sheet.values():
        when = datetime.strptime(r["Last modified (grade)"], "%A, %d %B %Y, %I:%M %p")
        assert abs((datetime.now() - when).total_seconds()) < 120  # now: Moodle skips grades older than its own
    assert sheet["Participant 101"]["Feedback comments"] == \
        "labkit: 5.5 of 10 points (01_loss_functions 2.5 of 4; 02_gradient_descent 3 of 6)"
    assert sheet["Participant 102"]["Feedback comments"] == \
        "labkit: 4 of 10 points (01_loss_functions 4 of 4; 02_gradient_descent: no submission)"
    with zipfile.ZipFile(archive) as z:
        names = sorted(z.namelist())
        assert z.read("Ann Lee_103_assignsubmission_file_01_loss_functions.html") == \
            b"<p>Ann Lee_103 01_loss_functions</p>"
    assert names == ["Ann Lee_103_assignsubmission_file_01_loss_functions.html",
                     "Jane Doe_101_assignsubmission_file_01_loss_functions.html",
                     "Jane Doe_101_assignsubmission_file_02_gradient_descent.html",
                     "John Smith_102_assignsubmission_file_01_loss_functions.html"]
    # Moodle splits a name at "_" into at most 5 pieces: participant id, then plugin type and name, then the file.
    for name in names:
        _, participant, kind, plugin, file = name.split("_", 4)
        assert participant in moodle.ids.values() and (kind, plugin) == ("assignsubmission", "file")
        assert file in ("01_loss_functions.html", "02_gradient_descent.html")


def test_moodle_time_is_moodles_english_date() -> None:
    assert lms.moodle_time(datetime(2025, 6, 3, 16, 5)) == "Tuesday, 3 June 2025, 4:05 PM"
    assert lms.moodle_time(datetime(2025, 1, 5, 0, 30)) == "Sunday, 5 January 2025, 12:30 AM"


def test_two_files_answering_one_assignment_count_once(tmp_path) -> None:
    path = write(tmp_path / "c.zip", {"doejane_1001_1_01_loss_functions.ipynb": FIRST,
                                      "doejane_1001_2_01_copy.ipynb": FIRST})
    subs, _ = lms.collect([path])
    roster = lms.write_roster(subs, tmp_path / "roster.csv")
    grades = _grades(tmp_path / "grades.csv", [("doejane_1001", "01_loss_functions", "ex1", 1, 4, subs[0].origin),
                                               ("doejane_1001", "01_loss_functions", "ex1", 3, 4, subs[1].origin)])
    table, _ = lms.export(grades, roster, tmp_path / "feedback", tmp_path / "out", "canvas")
    assert _csv_rows(table)[1:] == [["Points Possible", "", "", "", "", "4"], ["doejane", "1001", "", "", "", "3"]]


def test_export_refuses_missing_or_empty_grades(tmp_path, canvas) -> None:
    _, roster, feedback = _graded_class(tmp_path, canvas)
    _one_line_error("no grades in .*run labkit grade first", lms.export, tmp_path / "none.csv", roster, feedback,
                    tmp_path / "out", "canvas")
    empty = _grades(tmp_path / "empty.csv", [])
    _one_line_error("no grades in .*run labkit grade first", lms.export, empty, roster, feedback, tmp_path / "out",
                    "canvas")


def test_export_refuses_a_student_missing_from_the_roster(tmp_path, canvas) -> None:
    grades, roster, feedback = _graded_class(tmp_path, canvas)
    with open(grades, "a", newline="") as f:
        csv.writer(f).writerow(["stranger_9", "01_loss_functions", "ex1", 1, 2, "passed", "", "x"])
    _one_line_error("1 students of .* are not in the roster .*stranger_9", lms.export, grades, roster, feedback,
                    tmp_path / "out", "canvas")


def test_export_refuses_a_roster_of_another_lms(tmp_path, canvas, moodle) -> None:
    grades, roster, feedback = _graded_class(tmp_path, moodle)
    _one_line_error("is of a Moodle download, not Canvas", lms.export, grades, roster, feedback, tmp_path / "out",
                    "canvas")
    _one_line_error("is not allowed", lms.export, grades, roster, feedback, tmp_path / "out", "blackboard")


def test_export_refuses_a_roster_of_student_folders(tmp_path) -> None:
    subs, _ = lms.collect([_folders(tmp_path / "class")])
    roster = lms.write_roster(subs, tmp_path / "roster.csv")
    grades = _grades(tmp_path / "grades.csv", [("alice", "01_loss_functions", "ex1", 1, 2, subs[0].origin)])
    _one_line_error("folder of student folders, which has no Moodle ids", lms.export, grades, roster,
                    tmp_path / "feedback", tmp_path / "out", "moodle")


def test_export_never_writes_into_the_sources(tmp_path, canvas) -> None:
    grades, roster, feedback = _graded_class(tmp_path, canvas)
    with pytest.raises(OutputFolderError):
        lms.export(grades, roster, feedback, Path(lms.__file__).parent / "exported", "canvas")
    assert not (Path(lms.__file__).parent / "exported").exists()


def test_importing_lms_stays_cheap() -> None:
    code = "import sys, labkit.course.lms; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('nbformat', 'nbgrader', 'nbconvert', 'papermill', 'torch') or m == 'labkit.course.grade'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert io.StringIO(done.stdout).read().strip() == "[]"
