"""Read an LMS's "download all submissions" as submissions, and write grades and feedback back in its formats.

Instructors collect notebooks through an LMS and hand ``labkit grade`` what it gives them:

- ``folders``: a folder of student folders (or one student's folder, or one notebook): today's layout,
  read by ``find_submissions``;
- ``canvas``: Canvas's "Download Submissions" zip (or the folder it unpacks to): flat files whose names
  carry the student's name, Canvas user id and file id;
- ``moodle``: Moodle's "Download all submissions" zip (or its folder): one folder, or a file prefix, per
  student, carrying the full name and the participant id.

``collect`` reads any of these, zips in memory and never extracted, into ``Submission`` records, keeps
only the latest upload of each file, and refuses, in one line and before any work starts, input it
cannot read without guessing. ``write_roster`` keeps who is who beside the grades; ``export`` turns
``grades.csv`` and the feedback into the files each LMS imports: Canvas's gradebook CSV and its
"Re-upload Submissions" zip, Moodle's offline grading worksheet and its "Upload multiple feedback files
in a zip". Each format's rules sit beside the code that reads or writes it, with where they come from.
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

from labkit.errors import CourseError

LMSES = ("canvas", "moodle")
LABELS = {"folders": "folder of student folders", "canvas": "Canvas", "moodle": "Moodle"}
ID_WORDS = {"canvas": "user id", "moodle": "participant id"}
JUNK = {"__MACOSX", "Thumbs.db", "desktop.ini"}  # what zipping on a Mac or browsing on Windows leaves behind
SHOWN = 5  # file names an error lists before it counts the rest

# ---- the download formats ---------------------------------------------------------------------------

# Canvas "Download Submissions": one flat zip, a file per uploaded file, named
# `<name>[_LATE]_<user id>_<file id>_<file as uploaded>`, and `<name>[_LATE]_<user id>_text.html` or `_link.html`
# for a text or URL entry. <name> is the student's sortable name ("Doe, Jane") lowercased with every non-word
# character removed ("doejane"); its code writes "LATE", guides show "late", so it is matched in any case.
# The third number is the file's attachment id (guides call it the submission id); re-uploading feedback
# needs it back. An anonymized assignment writes `anon_<id>` with no user id: not read here.
# Source: ContentZipper#get_filename, #add_upload_submission, #sanitize_user_name in
# https://github.com/instructure/canvas-lms/blob/master/lib/content_zipper.rb
CANVAS_PATTERN = "<name>_<user id>_<file id>_<file>, late: <name>_late_<user id>_<file id>_<file>"
_CANVAS_NAME = r"(?!(?:late_)?anon_)(?P<name>[^\W_][\w-]*?)(?:_(?P<late>late))?_(?P<user>\d+)"
CANVAS_FILE = re.compile(_CANVAS_NAME + r"_(?P<file_id>\d+)_(?P<file>[^/]+)", re.IGNORECASE)
CANVAS_TEXT = re.compile(_CANVAS_NAME + r"_(?P<file>text\.html|link\.html)", re.IGNORECASE)

# A student who uploads a file name they uploaded before gets "-1" before its extension, then "-2", ...;
# after seven, a uuid. Canvas takes the extension as every trailing ".word" (older releases: the last one).
# Source: Attachment.make_unique_filename, https://github.com/instructure/canvas-lms/blob/master/app/models/attachment.rb;
# what a student sees: https://github.com/IIC1253/IIC1253-2025-1/issues/34
_EXTENSION = re.compile(r"(\.[A-Za-z][A-Za-z0-9]*)*(\.[A-Za-z0-9]*)$")
_COPY = re.compile(r"-(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
UUID_COPY = 8  # a uuid copy comes after "-1" ... "-7"; among uuids the larger file id is the later

# Moodle "Download all submissions": per student and submission plugin, a folder
# `<Full Name>_<participant id>_assignsubmission_<plugin>` (Moodle >= 4.1; before, with a trailing "_") holding
# the files as uploaded, subfolders kept; with "Download submissions in folders" unticked, flat files
# `<Full Name>_<participant id>_assignsubmission_<plugin>_<file>`. Moodle turns "_" in names into spaces, so
# the first "_" ends the name; a team submission puts the group's name and id in their place.
# Source: mod_assign\downloader::get_student_prefix and ::load_submissionplugin_filelist in
# https://github.com/moodle/moodle/blob/main/mod/assign/classes/downloader.php;
# https://docs.moodle.org/en/Assignment_settings ("Download submissions in folders")
MOODLE_PATTERN = "<Full Name>_<participant id>_assignsubmission_file/<file>, or ..._assignsubmission_file_<file>"
_MOODLE_NAME = r"(?P<name>[^_/]+)_(?P<user>\d+)_(?P<plugin>assignsubmission_[a-z0-9]+)"
MOODLE_FOLDER = re.compile(_MOODLE_NAME + r"_?")
MOODLE_FILE = re.compile(_MOODLE_NAME + r"_(?P<file>[^/]+)")
PATTERNS = {"canvas": CANVAS_PATTERN, "moodle": MOODLE_PATTERN}


@dataclass(frozen=True)
class Submission:
    """One submitted file: whose it is, the name the student gave it, and where its bytes are."""

    student: str  # key of grades.csv and feedback/<student>/: folder name, "<name>_<user id>", "<Full Name>_<id>"
    file: str  # the file's name as the student named it (LMS prefix and Canvas "-N" removed)
    origin: str  # str(path) on disk, or f"{zip}/{member}" inside a zip
    lms: str = ""  # "canvas" | "moodle" | "" (folders)
    lms_id: str = ""  # Canvas user id / Moodle participant id
    full_name: str = ""  # Canvas: the name field as given; Moodle: the full name
    submission_id: str = ""  # Canvas: the file's attachment id, the third number of its name
    late: bool = False
    archive: str = ""  # the zip, when the file is inside one
    member: str = ""  # the file's name inside that zip
    superseded: tuple[str, ...] = ()  # origins of the older uploads of this file, oldest first

    def remarks(self) -> list[str]:
        """What grading should say of this file: the older uploads set aside, late work."""
        said = []
        if self.superseded:
            older = ", ".join(Path(o).name for o in self.superseded)
            said.append(f"graded {Path(self.origin).name}, the latest of {len(self.superseded) + 1} uploads of "
                        f"{self.file}; set aside: {older}")
        if self.late:
            said.append(f"{self.file} was submitted late")
        return said

    def data(self) -> bytes:
        """The file's bytes, from disk or read from the zip (never extracted)."""
        if self.archive:
            with zipfile.ZipFile(self.archive) as archive:
                return archive.read(self.member)
        return Path(self.origin).read_bytes()


@dataclass(frozen=True)
class _File:
    """A file of a download: its path inside the download, and where to read it."""

    rel: str
    origin: str
    archive: str = ""
    member: str = ""


@dataclass(frozen=True)
class _Entry:
    """What a download's file name says: whose it is, which file, which upload."""

    source: _File
    name: str
    lms_id: str
    file: str
    number: int = 0  # Canvas re-upload number: 0 for the first upload
    file_id: str = ""
    late: bool = False


# ---- reading a download -----------------------------------------------------------------------------


def _junk(rel: str) -> bool:
    return any(part.startswith(".") or part in JUNK for part in rel.split("/"))


def _is_zip(path: Path) -> bool:
    if not path.is_file():
        return False
    if path.suffix.lower() == ".zip" and not zipfile.is_zipfile(path):
        raise CourseError(f"{path} is not a readable zip file: give the zip as the LMS made it, or its unpacked folder")
    return zipfile.is_zipfile(path)


def _files(path: Path) -> list[_File]:
    """Every file of a zip, a folder or a lone file, junk left out, in name order."""
    if path.is_dir():
        files = [_File(p.relative_to(path).as_posix(), str(p)) for p in path.rglob("*") if p.is_file()]
    elif _is_zip(path):
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
        files = _unwrapped([_File(name, f"{path}/{name}", str(path), name) for name in names])
    else:
        files = [_File(path.name, str(path))]
    return sorted((f for f in files if not _junk(f.rel)), key=lambda f: f.rel)


def _unwrapped(files: list[_File]) -> list[_File]:
    """``files`` without the one folder that wraps them all, when re-zipping added one."""
    tops = {f.rel.split("/", 1)[0] for f in files if not _junk(f.rel)}
    if len(tops) != 1 or MOODLE_FOLDER.fullmatch(next(iter(tops))):
        return files
    top = next(iter(tops)) + "/"
    if not all(f.rel.startswith(top) or _junk(f.rel) for f in files):
        return files
    return [_File(f.rel.removeprefix(top), f.origin, f.archive, f.member) for f in files]


def _copy_number(shown: str) -> tuple[str, int]:
    """The file name before Canvas numbered it, and its re-upload number (0 for the first upload)."""
    # "-N" cannot sit inside the extensions the pattern takes, so this cut also reads the older, last-dot names.
    match = _EXTENSION.search(shown)
    cut = match.start() if match else len(shown)
    copy = _COPY.search(shown[:cut])
    if copy is None or copy.start() == 0:
        return shown, 0
    number = int(copy.group(1)) if copy.group(1).isdigit() else UUID_COPY
    return shown[:copy.start()] + shown[cut:], number


def _canvas_entry(source: _File) -> _Entry | None:
    match = CANVAS_FILE.fullmatch(source.rel) or CANVAS_TEXT.fullmatch(source.rel)
    if match is None:
        return None
    shown = match["file"]
    file_id = match.groupdict().get("file_id") or ""
    file, number = _copy_number(shown) if file_id else (shown, 0)
    return _Entry(source, match["name"], match["user"], file, number, file_id, bool(match["late"]))


def _moodle_entry(source: _File) -> _Entry | None:
    top, _, inside = source.rel.partition("/")
    match = MOODLE_FOLDER.fullmatch(top) if inside else MOODLE_FILE.fullmatch(top)
    if match is None:
        return None
    file = inside.rsplit("/", 1)[-1] if inside else match["file"]
    return _Entry(source, match["name"], match["user"], file)


PARSERS: dict[str, Callable[[_File], _Entry | None]] = {"canvas": _canvas_entry, "moodle": _moodle_entry}


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(n.replace("\n", " ") for n in names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def detect(path: Path) -> str:
    """The layout of a zip or folder: "folders", "canvas" or "moodle"; CourseError for a zip that is no LMS download."""
    path = Path(path)
    if not path.exists():
        raise CourseError(f"no submission at {path}: no such file or folder")
    if path.is_file() and not _is_zip(path):
        return "folders"
    files = _files(path)
    counts = {lms: sum(PARSERS[lms](f) is not None for f in files) for lms in LMSES}
    best = max(LMSES, key=lambda lms: counts[lms])
    if path.is_dir():
        # A folder is an unpacked download only when most of its files are named like one: a student's
        # own folder may hold a file that merely looks like an LMS name.
        return best if counts[best] * 2 > len(files) else "folders"
    if counts[best] == 0:
        raise CourseError(f"{path} is not an LMS download: no file in it is named like Canvas's ({CANVAS_PATTERN}) "
                          f"or Moodle's ({MOODLE_PATTERN}); give a \"download all submissions\" zip as the LMS made "
                          "it, or a folder of student folders")
    if counts["canvas"] == counts["moodle"]:
        raise CourseError(f"{path} holds as many Canvas as Moodle names ({counts[best]} each): give one download at "
                          "a time, or say which it is")
    return best


def _entries(path: Path, lms: str) -> list[_Entry]:
    """Every file of one download, read by ``lms``'s names; CourseError naming the files they do not explain."""
    if not path.exists():
        raise CourseError(f"no submission at {path}: no such file or folder")
    found = [(f, PARSERS[lms](f)) for f in _files(path)]
    strangers = [f.rel for f, entry in found if entry is None]
    if strangers:
        raise CourseError(f"{len(strangers)} files in {path} are named like no {LABELS[lms]} download "
                          f"({PATTERNS[lms]}): {_listing(strangers)}; remove them, or give the download as "
                          f"{LABELS[lms]} made it")
    entries = [entry for _, entry in found if entry is not None]
    if not entries:
        raise CourseError(f"no files in {path}: give a \"download all submissions\" zip with submissions in it")
    return entries


def _check_ids(entries: Sequence[tuple[_Entry, str, Path]]) -> None:
    """CourseError if one LMS id names two students, in one download or across several."""
    seen: dict[tuple[str, str], tuple[str, Path]] = {}
    for entry, lms, path in entries:
        name, where = seen.setdefault((lms, entry.lms_id), (entry.name, path))
        if name != entry.name:
            places = f"in {path}" if where == path else f"in {where} and {path}"
            raise CourseError(f"{LABELS[lms]} {ID_WORDS[lms]} {entry.lms_id} names two students, {name!r} and "
                              f"{entry.name!r} ({places}): one id is one student; give downloads of one course")


def _student(entry: _Entry) -> str:
    key = f"{entry.name}_{entry.lms_id}"
    if "/" in key or "\0" in key or key in (".", ".."):
        raise CourseError(f"{entry.source.rel!r} gives the student name {key!r}, which is not a folder name: rename it")
    return key


def _submission(entry: _Entry, lms: str, older: Sequence[_Entry] = ()) -> Submission:
    source = entry.source
    return Submission(_student(entry), entry.file, source.origin, lms, entry.lms_id, entry.name, entry.file_id,
                      entry.late, source.archive, source.member, tuple(e.source.origin for e in older))


def _upload_order(entry: _Entry) -> tuple[int, int]:
    return entry.number, int(entry.file_id or 0)


def _latest(entries: Sequence[_Entry], lms: str, path: Path) -> tuple[list[Submission], list[str]]:
    """One submission per student and file, the latest upload; notes on what was set aside, and on late work."""
    groups: dict[tuple[str, str], list[_Entry]] = {}
    for entry in entries:
        groups.setdefault((_student(entry), entry.file), []).append(entry)
    subs, notes = [], []
    for (student, file), group in sorted(groups.items()):
        if len(group) > 1 and lms == "moodle":
            # Moodle keeps one file per name, and its download has no upload order: this is no download of its.
            raise CourseError(f"{student} has {len(group)} files named {file} in {path} "
                              f"({_listing([e.source.rel for e in group])}): Moodle gives no order to tell the "
                              "latest; keep one")
        *older, chosen = sorted(group, key=_upload_order)
        subs.append(_submission(chosen, lms, older))
        notes += [f"{student}: {remark}" for remark in subs[-1].remarks()]
    return subs, notes


def _layout(path: Path, lms: str | None) -> str:
    if lms is None:
        return detect(path)
    if not path.exists():
        raise CourseError(f"no submission at {path}: no such file or folder")
    return lms


def find_submissions(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(student, file) pairs: a file; a student's folder (it holds .ipynb files); or a folder of those."""
    found: list[tuple[str, Path]] = []

    def files_in(folder: Path) -> list[Path]:
        return sorted(p for p in folder.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(folder).parts))

    for path in map(Path, paths):
        if path.is_file():
            found.append((path.parent.name or "student", path))
        elif path.is_dir():
            if any(p.is_file() and p.suffix == ".ipynb" for p in path.iterdir()):
                found += [(path.name, f) for f in files_in(path)]
            else:
                for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    found += [(folder.name, f) for f in files_in(folder)]
        else:
            raise CourseError(f"no submission at {path}: no such file or folder")
    if not any(p.suffix == ".ipynb" for _, p in found):
        where = ", ".join(map(str, paths))
        raise CourseError(f"no notebooks (.ipynb) under {where}: give a notebook, a student's folder of notebooks, "
                          "or a folder of student folders")
    return found


def _folder_submissions(paths: Sequence[Path]) -> list[tuple[Submission, frozenset[int]]]:
    """Today's layout, as ``find_submissions`` reads it; each with the paths given that hold it."""
    given = [os.path.abspath(p) for p in paths]

    def holders(file: Path) -> frozenset[int]:
        where = os.path.abspath(file)
        return frozenset(i for i, p in enumerate(given) if where == p or where.startswith(p.rstrip(os.sep) + os.sep))

    return [(Submission(student, file.name, str(file)), holders(file)) for student, file in find_submissions(paths)]


def _check_twice(found: Sequence[tuple[Submission, frozenset[int]]], paths: Sequence[Path]) -> None:
    """CourseError if one student's file comes from two of the paths given: it would be graded twice."""
    where: dict[tuple[str, str], set[int]] = {}
    count: dict[tuple[str, str], int] = {}
    for sub, holders in found:
        key = (sub.student, sub.file)
        where.setdefault(key, set()).update(holders)
        count[key] = count.get(key, 0) + 1
    for key, holders in where.items():
        if count[key] > 1 and len(holders) > 1:
            first, second = sorted(holders)[:2]
            raise CourseError(f"{key[0]}/{key[1]} comes from two of the paths given ({paths[first]} and "
                              f"{paths[second]}): it would be graded twice; give each submission once")


def collect(paths: Sequence[Path], lms: str | None = None) -> tuple[list[Submission], list[str]]:
    """Every submission under paths (layout detected, or forced with lms); plus notes in words on what was set aside."""
    if lms not in (None, *LMSES):
        raise CourseError(f"lms {lms!r} is not allowed: give 'canvas' or 'moodle', or none to tell from the files")
    paths = [Path(p) for p in paths]
    layouts = [_layout(p, lms) for p in paths]
    downloads = {i: _entries(p, layout) for i, (p, layout) in enumerate(zip(paths, layouts, strict=True))
                 if layout != "folders"}
    _check_ids([(entry, layouts[i], paths[i]) for i, entries in downloads.items() for entry in entries])
    at = [i for i, layout in enumerate(layouts) if layout == "folders"]  # where the folder paths are in paths
    folders = _folder_submissions([paths[i] for i in at]) if at or not paths else []
    found: list[tuple[Submission, frozenset[int]]] = []
    notes: list[str] = []
    for i, layout in enumerate(layouts):
        if layout == "folders":
            if i == at[0]:  # today's order, whole: byte-identical results for folders alone
                found += [(sub, frozenset(at[j] for j in held)) for sub, held in folders]
            continue
        subs, said = _latest(downloads[i], layout, paths[i])
        found += [(sub, frozenset([i])) for sub in subs]
        notes += [f"{paths[i]}: a {LABELS[layout]} download, {len(subs)} files of "
                  f"{len({s.student for s in subs})} students", *said]
    _check_twice(found, paths)
    subs = [sub for sub, _ in found]
    if not at and not any(s.file.endswith(".ipynb") for s in subs):
        raise CourseError(f"no notebooks (.ipynb) in {', '.join(map(str, paths))}: the download holds no notebook")
    return subs, notes


# ---- the roster: who is who, beside the grades --------------------------------------------------------

ROSTER_COLUMNS = ("student", "lms", "lms_id", "full_name", "submission_id", "late", "file", "origin", "superseded")


def write_roster(subs: Sequence[Submission], path: Path) -> Path:
    """The submissions' LMS identities as CSV (``ROSTER_COLUMNS``; superseded origins joined by ";")."""
    from labkit.paths import safe_output_dir

    path = safe_output_dir(Path(path).parent, what="roster folder") / Path(path).name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(ROSTER_COLUMNS)
        for s in subs:
            writer.writerow([s.student, s.lms, s.lms_id, s.full_name, s.submission_id, "yes" if s.late else "no",
                             s.file, s.origin, ";".join(s.superseded)])
    return path


def read_roster(path: Path) -> list[dict[str, str]]:
    """The rows ``write_roster`` wrote, as dicts of strings; CourseError for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"no roster at {path}: labkit grade writes one beside grades.csv")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CourseError(f"{path} is not a labkit roster: it has no {', '.join(missing)} column")
    return [{c: row[c] or "" for c in ROSTER_COLUMNS} for row in rows]


# ---- export: grades and feedback, in each LMS's import formats ------------------------------------------


@dataclass(frozen=True)
class _Scores:
    """The class's results per student, as an LMS takes them: one total and one maximum per student."""

    got: dict[str, dict[str, tuple[float, float]]]  # student -> assignment -> (score, max) of their best file
    best: dict[str, float]  # assignment -> its maximum: the largest max_score total of any submission of it

    def total(self, student: str) -> float:
        return sum(score for score, _ in self.got[student].values())

    def maximum(self) -> float:
        return sum(self.best.values())


def _read_grades(path: Path) -> list[dict[str, str]]:
    from labkit.course.report import Row

    path = Path(path)
    if not path.is_file():
        raise CourseError(f"no grades in {path}: run labkit grade first")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        missing = [fl.name for fl in fields(Row) if fl.name not in (reader.fieldnames or [])]
    if missing:
        raise CourseError(f"{path} is not a labkit grades.csv: it has no {', '.join(missing)} column")
    if not rows:
        raise CourseError(f"no grades in {path}: run labkit grade first")
    for n, row in enumerate(rows, start=2):
        for column in ("score", "max_score"):
            try:
                float(row[column])
            except ValueError:
                raise CourseError(f"{path} line {n}: {column} {row[column]!r} is not a number") from None
    return rows


def _scores(rows: Sequence[dict[str, str]]) -> _Scores:
    """Each student's best file per assignment, and the class's maximum per assignment."""
    files: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        entry = files.setdefault((r["student"], r["assignment"], r["file"]), [0.0, 0.0])
        entry[0] += float(r["score"])
        entry[1] += float(r["max_score"])
    got: dict[str, dict[str, tuple[float, float]]] = {r["student"]: {} for r in rows}
    best: dict[str, float] = {}
    for (student, assignment, _), (score, most) in files.items():
        if assignment == "?":  # a file that answers no assignment: its student is in, it adds no points
            continue
        # Two files answering one assignment would count it twice: the better one counts.
        got[student][assignment] = max(got[student].get(assignment, (score, most)), (score, most))
        best[assignment] = max(best.get(assignment, 0.0), most)
    return _Scores(got, best)


def _roster_for(path: Path, students: Sequence[str], lms: str, grades: Path) -> dict[str, list[dict[str, str]]]:
    """Each graded student's roster rows; CourseError if one is missing or comes from another LMS."""
    rows: dict[str, list[dict[str, str]]] = {}
    for row in read_roster(path):
        rows.setdefault(row["student"], []).append(row)
    missing = [s for s in students if s not in rows]
    if missing:
        raise CourseError(f"{len(missing)} students of {grades} are not in the roster {path}: {_listing(missing)}; "
                          "export the grades of the run that wrote this roster")
    foreign = {r["lms"] for s in students for r in rows[s]} - {lms}
    other = sorted(foreign - {""})
    if other:
        raise CourseError(f"the roster {path} is of a {LABELS[other[0]]} download, not {LABELS[lms]}: export to "
                          f"{other[0]}, or grade the {LABELS[lms]} download")
    if foreign:
        raise CourseError(f"the roster {path} is of a folder of student folders, which has no {LABELS[lms]} ids: "
                          f"grade the {LABELS[lms]} download to export to {LABELS[lms]}")
    return {s: rows[s] for s in students}


def _feedback(feedback_dir: Path, student: str, row: dict[str, str]) -> Path | None:
    html = Path(feedback_dir) / student / f"{Path(row['file']).stem}.html"
    return html if html.is_file() else None


def _write_zip(path: Path, members: dict[str, Path]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            # A fixed date: the same grades and feedback give the same zip.
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), members[name].read_bytes(),
                             zipfile.ZIP_DEFLATED)
    return path


def _write_csv(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


# Canvas gradebook import (Grades > Import): the header is "Student", "ID", "SIS User ID", "SIS Login ID",
# "Section", then a column per assignment named "<title> (<assignment id>)"; a row whose first cell holds
# "Points Possible" sets each column's points. A column with no "(<id>)" and no assignment of that title
# creates a new assignment. Students are found by ID (the Canvas user id), then the SIS ids, then the name.
# Source: GradebookImporter#row_has_student_headers?, #update_column_count, #parse_assignments, #process_pp,
# #process_student in https://github.com/instructure/canvas-lms/blob/master/lib/gradebook_importer.rb and
# Assignment.title_and_id in https://github.com/instructure/canvas-lms/blob/master/app/models/assignment.rb;
# https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def _canvas_csv(path: Path, scores: _Scores, people: dict[str, list[dict[str, str]]], column: str) -> Path:
    rows = [[*CANVAS_COLUMNS, column], ["Points Possible", "", "", "", "", f"{scores.maximum():g}"]]
    for student, entries in sorted(people.items()):
        rows.append([entries[0]["full_name"], entries[0]["lms_id"], "", "", "", f"{scores.total(student):g}"])
    return _write_csv(path, rows)


# Canvas "Re-upload Submissions" (feedback files as submission comments): a zip of files named like the
# download. Canvas reads the first two all-digit "_"-fields of a name as the user id and the attachment id,
# and takes the file only if that attachment is one the student submitted; the rest of the name is free,
# so `<name>_<user id>_<file id>_<stem>.html`. Canvas shows the comment file under the submitted file's name.
# Source: Assignment#infer_comment_context_from_filename,
# https://github.com/instructure/canvas-lms/blob/master/app/models/assignment.rb; a worked example:
# https://github.com/instructure/canvas-lms/issues/2406
def _canvas_name(row: dict[str, str], html: Path) -> str | None:
    if not row["submission_id"]:
        return None  # a text or URL entry has no file to hang a comment on
    name = row["full_name"].replace("_", "")  # no all-digit field may come before the ids
    return f"{name}_{row['lms_id']}_{row['submission_id']}_{html.name}"


# Moodle offline grading worksheet ("Download grading worksheet" / "Upload grading worksheet"), columns as
# Moodle writes them: Identifier ("Participant <id>"), Full name, the site's identity fields (Email address),
# Status, Grade, Maximum Grade, Grade can be changed, Last modified (submission), a column per submission text
# field (Online text), Last modified (grade), a column per feedback text field (Feedback comments). The upload
# needs Identifier, Grade and Last modified (grade); it skips a grade above the assignment's maximum grade, and
# one older than the grade Moodle holds unless "Allow updating records that have been modified more recently in
# Moodle than in the spreadsheet" is ticked: the worksheet's time is the export's.
# Source: assign_grading_table::__construct and ::col_recordid in
# https://github.com/moodle/moodle/blob/main/mod/assign/gradingtable.php; the upload:
# https://github.com/moodle/moodle/blob/main/mod/assign/feedback/offline/importgradeslib.php and locallib.php;
# https://docs.moodle.org/en/Assignment_settings (Feedback types: Offline grading worksheet)
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Online text", "Last modified (grade)",
                  "Feedback comments")
MOODLE_TIME = "{weekday}, {day} {month} {year}, {hour}:{minute:02d} {half}"  # English userdate()
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def moodle_time(when: datetime) -> str:
    """``when`` as Moodle's English worksheet writes a date, e.g. 'Tuesday, 3 June 2025, 4:05 PM'."""
    return MOODLE_TIME.format(weekday=_DAYS[when.weekday()], day=when.day, month=_MONTHS[when.month - 1],
                              year=when.year, hour=(when.hour - 1) % 12 + 1, minute=when.minute,
                              half="AM" if when.hour < 12 else "PM")


def _summary(scores: _Scores, student: str) -> str:
    """One line for the student: the total, then each assignment of the class."""
    got = scores.got[student]
    parts = [f"{a} {got[a][0]:g} of {most:g}" if a in got else f"{a}: no submission"
             for a, most in sorted(scores.best.items())]
    return f"labkit: {scores.total(student):g} of {scores.maximum():g} points ({'; '.join(parts)})"


def _moodle_csv(path: Path, scores: _Scores, people: dict[str, list[dict[str, str]]]) -> Path:
    now, most = moodle_time(datetime.now()), f"{scores.maximum():g}"
    rows = [list(MOODLE_COLUMNS)]
    for student, entries in sorted(people.items()):
        rows.append([f"Participant {entries[0]['lms_id']}", entries[0]["full_name"], "", "",
                     f"{scores.total(student):g}", most, "", "", "", now, _summary(scores, student)])
    return _write_csv(path, rows)


# Moodle "Upload multiple feedback files in a zip": Moodle splits each path part at "_" (at most 5 pieces)
# and takes a part `<name>_<participant id>_<plugin type>_<plugin name>[_<rest>]` whose second piece is a
# participant of the assignment and whose plugin exists; what follows is the feedback file's name. Files and
# folders starting with "." or "~" are skipped. So: `<Full Name>_<participant id>_assignsubmission_file_<stem>.html`,
# the download's own prefix, in the flat form every Moodle release reads.
# Source: assignfeedback_file_zip_importer::is_valid_filename_for_import in
# https://github.com/moodle/moodle/blob/main/mod/assign/feedback/file/importziplib.php
def _moodle_name(row: dict[str, str], html: Path) -> str:
    name = row["full_name"].replace("_", " ")  # the first "_" must end the name, as in the download
    return f"{name}_{row['lms_id']}_assignsubmission_file_{html.name}"


def _feedback_zip(path: Path, people: dict[str, list[dict[str, str]]], feedback_dir: Path,
                  name: Callable[[dict[str, str], Path], str | None]) -> Path:
    """Each graded file's HTML feedback found, in a zip under the name the LMS's bulk upload reads (``name``)."""
    members = {}
    for student, entries in people.items():
        for row in entries:
            html = _feedback(feedback_dir, student, row)
            member = name(row, html) if html else None
            if member:
                members[member] = html
    return _write_zip(path, members)


def export(grades_csv: Path, roster_csv: Path, feedback_dir: Path, out: Path, lms: str, *,
           column: str | None = None) -> list[Path]:
    """Write grades.csv and the feedback as ``lms`` imports them into ``out``; the paths written.

    One grade per student: the sum of their best file's scores per assignment, out of the sum of each
    assignment's maximum. Canvas: ``canvas_grades.csv`` (gradebook import; its grade column is ``column``,
    e.g. "Lab 02 (48213)" to fill that assignment, default "labkit <assignments>", a new assignment) and
    ``canvas_feedback.zip`` (Re-upload Submissions). Moodle: ``moodle_grading_worksheet.csv`` (upload it to
    the assignment; its maximum grade should equal the worksheet's) and ``moodle_feedback.zip``; ``column``
    is not used. A feedback zip holds each graded file's ``feedback/<student>/<stem>.html`` found.
    """
    from labkit.paths import safe_output_dir

    if lms not in LMSES:
        raise CourseError(f"lms {lms!r} is not allowed: export to 'canvas' or 'moodle'")
    rows = _read_grades(Path(grades_csv))
    scores = _scores(rows)
    people = _roster_for(Path(roster_csv), list(scores.got), lms, Path(grades_csv))
    out = safe_output_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    if lms == "canvas":
        column = column or f"labkit {', '.join(sorted(scores.best)) or 'grades'}"
        return [_canvas_csv(out / "canvas_grades.csv", scores, people, column),
                _feedback_zip(out / "canvas_feedback.zip", people, Path(feedback_dir), _canvas_name)]
    return [_moodle_csv(out / "moodle_grading_worksheet.csv", scores, people),
            _feedback_zip(out / "moodle_feedback.zip", people, Path(feedback_dir), _moodle_name)]
