"""The workbook's folders, with the one rule for where output may go.

The rule: nothing labkit writes (a result JSON, a released assignment, grades, a sweep, an
executed notebook) may land in the project folder itself or inside a folder that holds its
sources. ``safe_output_dir`` enforces it for every command and every lesson.
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.errors import DataNotFoundError, OutputFolderError

DATA_ENV_VAR = "LABKIT_DATA"
# Folders of the project that hold sources: no output may be written into them.
SOURCE_DIRS = ("notebooks", "labkit", "data", "tests", "benchmarks", "etc", ".git", ".ci")


def data_dir() -> Path:
    """The workbook's ``data/``: ``LABKIT_DATA`` if set, else found beside the labkit package or above the cwd."""
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise DataNotFoundError(f"{DATA_ENV_VAR}={override} is not a folder")
        return path
    here = Path(__file__).resolve().parent
    for start in (here, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "data"
            if (candidate / "README.md").is_file():
                return candidate
    raise DataNotFoundError(
        f"cannot find the workbook's data/ folder from {Path.cwd()}; set {DATA_ENV_VAR} to its path"
    )


def project_root() -> Path:
    """The workbook's folder: the one that holds ``data/`` and ``notebooks/``."""
    return data_dir().resolve().parent


def notebooks_dir() -> Path:
    """The lessons' folder, ``notebooks/``."""
    return project_root() / "notebooks"


def safe_output_dir(path: str | Path, *, what: str = "output folder") -> Path:
    """``path`` resolved, if output may go there; else OutputFolderError naming where it may go."""
    out = Path(path).expanduser().resolve()
    try:
        root = project_root()
    except DataNotFoundError:
        return out  # no workbook around (an installed labkit): there are no sources to protect
    allowed = f"write under {root / 'build'} or anywhere outside {root}"
    if out == root:
        raise OutputFolderError(f"{what} {str(out)!r} is the project folder itself; {allowed}")
    for name in SOURCE_DIRS:
        if out == root / name or (root / name) in out.parents:
            raise OutputFolderError(f"{what} {str(out)!r} is inside {name}/, which holds sources; {allowed}")
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{what} {str(out)!r} is a file, not a folder")
    return out


def code_version() -> str:
    """Which code made a result: the git commit of labkit's checkout (and whether it had uncommitted changes),
    or labkit's version where it is not a git checkout."""
    import subprocess

    import labkit

    root = Path(labkit.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"labkit {labkit.__version__} (not a git checkout)"
    return f"git {commit}" + (" with uncommitted changes" if dirty else "")
