"""Build LMS downloads (Canvas, Moodle), zipped or unpacked, named as each LMS names them, from bytes.

A class is ``{label: {file name: data}}``: the label is the student's full name ("Jane Doe"), the data
the file's bytes, or a list of the bytes of each upload, oldest first (a Canvas re-upload). Ids are
handed out in the class's order, so a test knows them (``Download.ids``, ``Download.keys``). The name
rules are those ``labkit.course.lms`` cites; ``sample_class`` holds every case an LMS download has.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Uploads = bytes | Sequence[bytes]
Class = Mapping[str, Mapping[str, Uploads]]

LATE = ("John Smith",)  # who hands in late in sample_class


@dataclass(frozen=True)
class Download:
    """A download written to ``path``: who is who in it, and every file it holds."""

    path: Path
    keys: dict[str, str]  # label -> the student key labkit gives them
    ids: dict[str, str]  # label -> their LMS id
    members: dict[str, bytes]  # name inside the download -> bytes, junk included


def sample_class(first: bytes, second: bytes, older: bytes = b"{}", script: bytes = b"print('helper')\n") -> dict:
    """Three students: one with two notebooks, the second uploaded three times (``older``, ``older``, then
    ``second``); one late (``LATE``); one with a helper .py beside the notebook."""
    return {
        "Jane Doe": {"01_loss_functions.ipynb": first, "02_gradient_descent.ipynb": [older, older, second]},
        "John Smith": {"01_loss_functions.ipynb": first},
        "Ann Lee": {"01_loss_functions.ipynb": first, "helper.py": script},
    }


def canvas_name(label: str) -> str:
    """Canvas's name field for a student: the sortable name ("Doe, Jane") lowercased, word characters only."""
    *first, last = label.split()
    return re.sub(r"[^\w]|_", "", f"{last}{''.join(first)}").lower()


def _uploads(data: Uploads) -> list[bytes]:
    return [data] if isinstance(data, bytes) else list(data)


def _numbered(file: str, n: int) -> str:
    """Canvas's name for the (n+1)-th upload of ``file``: "-n" before the extension."""
    stem, dot, ext = file.rpartition(".")
    return file if n == 0 else (f"{stem}-{n}.{ext}" if dot else f"{file}-{n}")


def _junk(members: dict[str, bytes], inside: str = "") -> dict[str, bytes]:
    first = next(iter(members)).rsplit("/", 1)[-1]
    junk = {f"__MACOSX/._{first}": b"\0\5\26\7", ".DS_Store": b"\0\0\0\1Bud1"}
    if inside:
        junk[f"{inside}/.DS_Store"] = b"\0\0\0\1Bud1"
    return {**members, **junk}


def write(path: Path, members: Mapping[str, bytes], *, unpacked: bool = False) -> Path:
    """``members`` as a zip at ``path``, or as the folder ``path`` it unpacks to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not unpacked:
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return path
    for name, data in members.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def canvas_download(path: Path, students: Class, *, late: Collection[str] = LATE, unpacked: bool = False,
                    junk: bool = True, first_user: int = 1001, first_file: int = 5001) -> Download:
    """Canvas's "Download Submissions": flat `<name>[_LATE]_<user id>_<file id>_<file>`, every upload kept."""
    members, keys, ids = {}, {}, {}
    file_id = first_file
    for i, (label, files) in enumerate(students.items()):
        name, user = canvas_name(label), str(first_user + i)
        keys[label], ids[label] = f"{name}_{user}", user
        for file, data in files.items():
            for n, upload in enumerate(_uploads(data)):
                members[f"{name}{'_LATE' if label in late else ''}_{user}_{file_id}_{_numbered(file, n)}"] = upload
                file_id += 1
    return Download(write(path, _junk(members) if junk else members, unpacked=unpacked), keys, ids, members)


def moodle_download(path: Path, students: Class, *, folders: bool = True, unpacked: bool = False, junk: bool = True,
                    first_participant: int = 101) -> Download:
    """Moodle's "Download all submissions": `<Full Name>_<id>_assignsubmission_file/<file>` (or `..._file_<file>`
    with ``folders=False``); Moodle keeps only the latest upload of a name."""
    members, keys, ids = {}, {}, {}
    for i, (label, files) in enumerate(students.items()):
        participant = str(first_participant + i)
        keys[label], ids[label] = f"{label}_{participant}", participant
        prefix = f"{label}_{participant}_assignsubmission_file" + ("/" if folders else "_")
        for file, data in files.items():
            members[prefix + file] = _uploads(data)[-1]
    inside = next(iter(members)).split("/", 1)[0] if folders else ""
    return Download(write(path, _junk(members, inside) if junk else members, unpacked=unpacked), keys, ids, members)
