"""Run a student's kernel inside bubblewrap: read-only Python and data, one scratch folder, no network, limits.

What the kernel sees (everything else of the machine is absent):

- read-only: the system (``/usr``, ``/bin``, ``/lib*``, ``/etc``), the Python environment, the
  labkit package and the workbook's ``data/`` folder;
- read-write: a scratch folder (its working directory and ``HOME``) and ``/tmp``, both in memory,
  of limited size, and gone when the kernel stops;
- a socket folder through which the grader talks to it (zmq over unix sockets: the sandbox has no
  network, its loopback is its own).

The instructor's notebooks, other students' submissions and the grades folder are not in that
list, so they do not exist for student code. The kernel runs in its own pid, network, IPC and UTS
namespaces; every process it starts dies with it (the pid namespace ends with the kernel). Memory
(address space), process count, file size, the scratch size and time are limited. As root, the
kernel also runs as an unprivileged user id of its own, so the process limit is its own.

Built on bubblewrap (``bwrap``) and util-linux's ``prlimit`` and ``setpriv``: maintained tools,
nothing home-made. Linux only.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.errors import CourseError

INSTALL_HINT = "install it with `sudo apt-get install bubblewrap` (Debian, Ubuntu) or `sudo dnf install bubblewrap`"
SCRATCH = "/home/student"  # the kernel's working directory and HOME inside the sandbox
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
UID_BASE = 100_000  # as root, each sandbox runs as UID_BASE + the grading process's pid


class SandboxError(CourseError):
    """The sandbox cannot be set up or cannot start; the message says why."""


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use."""

    memory_mb: int = 4096  # address space of each process (RLIMIT_AS)
    processes: int = 256  # processes and threads together (RLIMIT_NPROC)
    file_mb: int = 64  # the largest file it may write (RLIMIT_FSIZE)
    scratch_mb: int = 256  # size of its scratch folder, and of its /tmp

    def check(self) -> Limits:
        """``self``, or SandboxError naming the limit (as its command-line option) that is not allowed."""
        for name, option in (("memory_mb", "--memory"), ("processes", "--max-procs"), ("file_mb", "--file-size"),
                             ("scratch_mb", "--scratch")):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SandboxError(f"{option} {value!r} is not allowed: must be a whole number >= 1")
        return self


def tools_missing() -> str | None:
    """Why the sandbox cannot be used on this machine (None when it can)."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (bubblewrap); this is {sys.platform}"
    for tool, package in (("bwrap", "bubblewrap"), ("prlimit", "util-linux"), ("setpriv", "util-linux")):
        if shutil.which(tool) is None:
            hint = INSTALL_HINT if tool == "bwrap" else f"install util-linux, which provides {tool}"
            return f"{package} ({tool}) is not installed: {hint}"
    return None


def _readable() -> list[Path]:
    """What student code may read besides the system: the Python environment, labkit, the data."""
    import labkit
    from labkit.paths import data_dir

    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(labkit.__file__).resolve().parent]
    try:
        paths.append(data_dir().resolve())
    except CourseError:
        pass
    except Exception:  # noqa: BLE001 - no data folder: lessons that need none still run
        pass
    unique: list[Path] = []
    for path in sorted({p.resolve() for p in paths if p.exists()}):
        if not any(parent in unique for parent in path.parents):
            unique.append(path)
    return unique


@dataclass
class Sandbox:
    """One kernel's sandbox: where its sockets are, what it may read, its limits and environment."""

    sockets: Path  # the folder of the kernel's unix sockets and connection file (read-write inside)
    limits: Limits = field(default_factory=Limits)
    env: dict[str, str] = field(default_factory=dict)  # extra variables for the kernel
    readable: list[Path] = field(default_factory=_readable)
    uid: int | None = None  # the user id inside; None: chosen (root) or the caller's own (not root)

    def __post_init__(self) -> None:
        self.limits.check()
        if self.uid is None and os.geteuid() == 0:
            self.uid = UID_BASE + os.getpid()

    # ---- the pieces of the command line

    def _mounts(self) -> list[str]:
        args: list[str] = []
        made: set[str] = {"/"}

        def parents(path: Path) -> None:
            # bwrap makes missing parents mode 0700; an unprivileged kernel must be able to walk them
            for parent in reversed(path.parents):
                if str(parent) not in made:
                    made.add(str(parent))
                    args.extend(["--perms", "0755", "--dir", str(parent)])

        for top in SYSTEM:
            if os.path.islink(top):
                args.extend(["--symlink", os.readlink(top), top])
            elif os.path.isdir(top):
                args.extend(["--ro-bind", top, top])
            made.add(top)
        args.extend(["--proc", "/proc", "--dev", "/dev"])
        size = str(self.limits.scratch_mb * 2**20)
        # bwrap mounts in order, and a later mount hides what an earlier one put below it: the empty
        # /tmp comes first, so a Python environment or workbook that lives under /tmp stays visible.
        args.extend(["--perms", "1777", "--size", size, "--tmpfs", "/tmp"])
        made.add("/tmp")
        for path in self.readable:
            if any(str(path).startswith(top + "/") or str(path) == top for top in SYSTEM):
                continue  # already visible, read-only, with the system
            parents(path)
            args.extend(["--ro-bind", str(path), str(path)])
            made.add(str(path))
        parents(self.sockets)
        args.extend(["--bind", str(self.sockets), str(self.sockets)])
        parents(Path(SCRATCH))
        args.extend(["--perms", "0777", "--size", size, "--tmpfs", SCRATCH, "--chdir", SCRATCH])
        return args

    def _environment(self) -> list[str]:
        base = {
            "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": SCRATCH,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            # No shared memory here: without this, joblib (scikit-learn) warns on every import that it
            # cannot use /dev/shm and falls back to serial mode, which is what it then does anyway.
            "JOBLIB_MULTIPROCESSING": "0",
        }
        base.update(self.env)
        args = ["--clearenv"]  # nothing of the grader's environment (tokens, keys) reaches student code
        for key, value in base.items():
            args.extend(["--setenv", key, value])
        return args

    def _limits_prefix(self) -> list[str]:
        processes = self.limits.processes
        if self.uid is None:
            # Not root: the kernel keeps the caller's user id, whose processes all count; allow ours more.
            processes += _processes_of(os.getuid())
        mib = 2**20
        return ["prlimit", f"--as={self.limits.memory_mb * mib}", f"--nproc={processes}",
                f"--fsize={self.limits.file_mb * mib}", "--core=0", "--"]

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` (a kernel's command line) wrapped to run inside this sandbox."""
        bwrap = shutil.which("bwrap") or "bwrap"
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        if self.uid is None:
            namespaces.append("--unshare-user")
        cmd = [*self._limits_prefix(), bwrap, *namespaces, "--die-with-parent", "--hostname", "sandbox",
               *self._mounts(), *self._environment()]
        if self.uid is not None:
            # bwrap keeps the two capabilities setpriv needs to become the sandbox's own user, then none.
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                    shutil.which("setpriv") or "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}",
                    "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
        else:
            cmd.append("--")
        return cmd + list(argv)

    def prepare(self) -> None:
        """Make the socket folder usable by the sandbox's user (it creates its sockets there)."""
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self.uid is not None:
            os.chown(self.sockets, self.uid, self.uid)
            for path in self.sockets.iterdir():
                os.chown(path, self.uid, self.uid)


def _processes_of(uid: int) -> int:
    """How many processes and threads ``uid`` runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


def local_kernel_manager_class(sockets: Path, manager: type | None = None) -> type:
    """A kernel manager class (``manager``, default AsyncKernelManager) whose kernel talks over unix sockets.

    Not tcp: jupyter_client picks a kernel's five tcp ports by binding and closing them, and keeps
    them only in its own process's memory until the kernel binds them a second or two later. Two
    processes starting kernels at once (parallel runs, graders, tests), or anything else opening a
    connection meanwhile, can take one of those ports, and that kernel dies before it answers.
    ``sockets`` should be a short path of this run's own (a unix socket path has at most 107 bytes).
    A class, for nbclient's ``kernel_manager_class``: a client that makes its own manager also shuts
    its kernel down.
    """
    from jupyter_client.manager import AsyncKernelManager

    sockets = Path(sockets)
    if len(str(sockets / "k-99")) > 107:
        raise CourseError(f"the kernel socket folder {sockets} is too long a path for unix sockets: "
                          "at most about 100 bytes")
    base = manager or AsyncKernelManager

    class UnixSocketKernelManager(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            sockets.mkdir(parents=True, exist_ok=True)
            quick = {"client_factory": ready_client_class()} if issubclass(base, AsyncKernelManager) else {}
            super().__init__(**{"transport": "ipc", "ip": str(sockets / "k"), **quick, **kwargs})
            self.connection_file = str(sockets / "kernel.json")

    UnixSocketKernelManager.__name__ = UnixSocketKernelManager.__qualname__ = f"UnixSocket{base.__name__}"
    return UnixSocketKernelManager


def ready_client_class() -> type:
    """jupyter_client's async kernel client, less the 0.2 s of IOPub silence it waits for once the kernel answers.

    Once the kernel has replied to ``kernel_info``, ``wait_for_ready`` reads IOPub until nothing comes
    for 0.2 s, to drop what the kernel said while starting: a fixed 0.2 s per kernel, for every
    submission graded. This client drops what is there without waiting for more. Nothing the kernel
    says later can land in a cell's outputs anyway: nbclient takes a cell's outputs only from the
    messages whose parent is the request that ran that cell.
    """
    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyKernelClient(AsyncKernelClient):
        answered = False

        def _handle_kernel_info_reply(self, msg: dict[str, Any]) -> None:
            super()._handle_kernel_info_reply(msg)
            self.answered = True  # from here on, wait_for_ready only drains IOPub

        async def wait_for_ready(self, timeout: float | None = None) -> None:  # the name nbclient calls
            channel = self.iopub_channel
            wait = channel.get_msg

            async def get_msg(timeout: float | None = None) -> dict[str, Any]:
                return await wait(timeout=0 if self.answered else timeout)

            channel.get_msg = get_msg
            try:
                await self._async_wait_for_ready(timeout)
            finally:
                channel.get_msg = wait

    return ReadyKernelClient


def local_kernel_manager(sockets: Path, manager: type | None = None, **kwargs: Any):
    """An instance of ``local_kernel_manager_class(sockets, manager)``: its kernel on unix sockets in ``sockets``."""
    return local_kernel_manager_class(sockets, manager)(**kwargs)


def kernel_manager(sandbox: Sandbox | None, sockets: Path | None = None, **kwargs: Any):
    """An async kernel manager whose kernel runs in ``sandbox`` (or, with None, as a plain local kernel).

    Either way the kernel talks over unix sockets: the sandbox's folder, or ``sockets`` for a local one.
    """
    from jupyter_client.manager import AsyncKernelManager

    if sandbox is None:
        if sockets is None:
            raise CourseError("a local kernel needs a folder for its sockets")
        return local_kernel_manager(sockets, **kwargs)

    class SandboxedKernelManager(AsyncKernelManager):
        """jupyter_client's manager, with the kernel's command wrapped in bubblewrap and ipc sockets."""

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            cmd = super().format_kernel_cmd(extra_arguments)
            sandbox.prepare()  # the connection file is written by now: the kernel's user must read it
            return sandbox.command(cmd)

    km = local_kernel_manager(sandbox.sockets, SandboxedKernelManager, **kwargs)
    spec = km.kernel_spec
    if spec is not None:
        # A signal from outside cannot reach into the sandbox's pid namespace reliably; a message can.
        spec.interrupt_mode = "message"
    return km


def processes_in(pid: int) -> list[int]:
    """The processes (host pids) that share ``pid``'s pid namespace, ``pid``'s own namespace excluded if none."""
    try:
        target = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return []
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(entry / "ns" / "pid") == target:
                found.append(int(entry.name))
        except OSError:
            continue
    return found
