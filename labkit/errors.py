"""``LabkitError``: the base of every one-line user error, with the errors built on it.

A ``LabkitError`` means the user asked for something that cannot be done (a bad parameter, a
device this machine lacks, an output folder inside the sources). Its message is one line that
names what was wrong and what is allowed. The command line prints exactly that line and exits with
status 2; IPython shows it without a traceback. Any other exception is a bug in labkit and keeps
its traceback.

Each error also derives from the built-in exception it refines (``ValueError``,
``FileNotFoundError``), so code that catches those keeps working.
"""

from __future__ import annotations


class LabkitError(Exception):
    """A user error whose message is the whole story, in one line."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the one line is all a learner needs.
        return [f"{type(self).__name__}: {self}"]


class ParameterError(LabkitError, ValueError):
    """A notebook parameter with a value that is not allowed."""


class DeviceError(LabkitError, ValueError):
    """An asked-for device that this machine does not have."""


class DataNotFoundError(LabkitError, FileNotFoundError):
    """The workbook's data folder, or a file in it, is missing."""


class DataFormatError(LabkitError, ValueError):
    """A bundled data file whose contents do not have the expected form."""


class OutputFolderError(LabkitError, ValueError):
    """An output folder that would write into the workbook's sources."""


class CourseError(LabkitError, ValueError):
    """Bad input to a course command (run, sweep, release, grade), found before any work starts."""


class DivergenceError(LabkitError, FloatingPointError):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int, step: int, value: float, lr: float | None):
        self.epoch, self.step, self.value, self.lr = epoch, step, value, lr
        hint = f"try a smaller learning rate than {lr:g}" if lr is not None else "try a smaller learning rate"
        super().__init__(f"loss became {value} at epoch {epoch}, step {step}: training diverged; {hint}")
