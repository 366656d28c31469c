"""JupyterLab as `make lab` starts it, and headless Chromium to drive it: the pieces of the browser tests.

The server runs `jupyter lab --config=etc/jupyter_server_config.py` exactly as the Makefile does, with
its own free port and a test token. Its kernels must see a live Jupyter session, so the variables
that make labkit headless (set by `make test` and by pytest itself) are removed from its environment.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

from helpers.paths import ROOT
from labkit import processes
from labkit._env import HEADLESS_VARS

CONFIG = "etc/jupyter_server_config.py"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# The closed network refuses Chromium's background connections; these switches stop it trying.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Lab settings for the test user (a throwaway settings folder, never the person's own): every cell
# stays in the page so all of them can be checked and photographed. (No news prompt: the lab's own
# configuration, etc/lab/<role>/overrides.json, turns it off for everyone, and the tests check that.)
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
ROLES = ("learner", "instructor")  # LABKIT_ROLE, as `make lab ROLE=...` sets it


def chromium_path() -> str:
    """Where Chromium is: $LABKIT_CHROMIUM, else Debian's /usr/bin/chromium, else `chromium` on PATH."""
    wanted = os.environ.get("LABKIT_CHROMIUM")
    if wanted:
        return wanted
    if Path(DEFAULT_CHROMIUM).exists():
        return DEFAULT_CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser") or DEFAULT_CHROMIUM


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    path = chromium_path()
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        return (
            f"Chromium not found at {path}: install it (apt-get install chromium) or set LABKIT_CHROMIUM "
            "to its path to run the browser tests"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed: run `make install` to run the browser tests"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """`make lab ROLE=<role>`'s JupyterLab on a free port with a known token, in a throwaway runtime folder."""

    def __init__(self, workdir: Path, token: str = "labkit-browser-test-token", role: str = "learner") -> None:
        assert role in ROLES, role
        self.workdir = workdir
        self.role = role
        self.token = token
        self.runtime = workdir / "runtime"
        self.log_path = workdir / "jupyter.log"
        self.info: dict = {}
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        """The server's environment: ours without the headless switches, plus port, token and lab folders."""
        env = {k: v for k, v in os.environ.items() if k not in HEADLESS_VARS and not k.startswith("PYTEST_")}
        settings = self.workdir / "lab-settings"
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        env.update(
            LABKIT_ROLE=self.role,
            LABKIT_PORT=str(free_port()),
            JUPYTER_TOKEN=self.token,
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "lab-workspaces"),
        )
        return env

    def command(self) -> list[str]:
        """The Makefile's `lab` command line, plus --no-browser."""
        cmd = [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", f"--config={CONFIG}", "--no-browser"]
        if not (ROOT / ".venv" / "bin" / "jupyter").exists():
            cmd[0] = shutil.which("jupyter") or "jupyter"
        if hasattr(os, "getuid") and os.getuid() == 0:
            cmd.append("--allow-root")  # as the Makefile's ROOT_FLAG
        return cmd

    def start(self, timeout: float = 180) -> None:
        """Start the server and wait until its API answers (or fail with the end of its log)."""
        self.runtime.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")  # noqa: SIM115  (the server writes to it until stop())
        self.proc = processes.start_group(self.command(), cwd=ROOT, env=self.env(), stdout=log,
                                          stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            found = sorted(self.runtime.glob("jpserver-*.json"))
            if found:
                try:
                    self.info = json.loads(found[0].read_text())
                    if requests.get(self.url("api/status"), headers=self.auth, timeout=10).ok:
                        return
                except (ValueError, requests.RequestException):
                    pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    @property
    def auth(self) -> dict[str, str]:
        """Request headers that carry the token."""
        return {"Authorization": f"token {self.token}"}

    @property
    def port(self) -> int:
        """The port the server really listens on (port_retries may have moved it)."""
        return int(self.info["port"])

    def url(self, path: str = "") -> str:
        """Absolute address of ``path`` on the server."""
        return f"http://127.0.0.1:{self.port}{self.info.get('base_url', '/')}{path.lstrip('/')}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Shut down cleanly through the API (kernels included); kill what is left."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            requests.post(self.url("api/shutdown"), headers=self.auth, timeout=10)
            self.proc.wait(timeout=30)
        except (requests.RequestException, subprocess.TimeoutExpired, KeyError):
            pass
        processes.kill_group(self.proc, grace=15)  # our own session: the server and the kernels it started
