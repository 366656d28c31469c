"""The project's set-up: one lock mirrored in environment.yml, cheap import, the two commands."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def pins(text: str) -> dict[str, str]:
    found = re.findall(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)", text, flags=re.M)
    return {name.lower().replace("_", "-"): version for name, version in found}


def test_environment_yml_mirrors_the_lock() -> None:
    lock = pins((ROOT / "requirements.lock").read_text())
    env = pins((ROOT / "environment.yml").read_text())
    assert lock, "requirements.lock has no pins"
    only_lock, only_env = set(lock.items()) - set(env.items()), set(env.items()) - set(lock.items())
    assert env == lock, f"drift: only in requirements.lock {only_lock}, only in environment.yml {only_env}"


def test_every_line_of_the_lock_is_an_exact_pin() -> None:
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][^\s]*", line), f"not an exact pin: {line!r}"


def test_torch_is_pinned_to_the_cpu_wheel_version() -> None:
    lock = pins((ROOT / "requirements.lock").read_text())
    assert lock["torch"] == "2.13.0"
    for needed in ("jupyterlab", "ipywidgets", "matplotlib", "nbval", "papermill", "tqdm"):
        assert needed in lock, f"{needed} missing from the lock"


def test_import_labkit_stays_cheap() -> None:
    code = "import sys, labkit; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'papermill') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:25])
    assert "make lab" in first_screen and "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_lab_server_is_loopback_and_keeps_jupyters_token() -> None:
    from traitlets.config import Config

    config = Config()
    code = (ROOT / "etc" / "jupyter_server_config.py").read_text()
    namespace = {"get_config": lambda: config, "__file__": str(ROOT / "etc" / "jupyter_server_config.py")}
    exec(compile(code, "jupyter_server_config.py", "exec"), namespace)
    assert config.ServerApp.ip == "127.0.0.1" and config.ServerApp.allow_remote_access is False
    # Jupyter's own default makes a random token (or takes JUPYTER_TOKEN); nothing here may blank it.
    assert "token" not in config.IdentityProvider and "password" not in config.PasswordIdentityProvider
    assert config.LabApp.default_url.endswith("notebooks/00_start_here.ipynb")
