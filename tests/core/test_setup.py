"""The project's set-up: one lock mirrored in environment.yml, cheap import, the two commands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from helpers.paths import ROOT


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


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:25])
    assert "make lab" in first_screen and "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _lab_config(role: str, monkeypatch) -> tuple:
    from traitlets.config import Config

    monkeypatch.setenv("LABKIT_ROLE", role)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the config prepends to it; monkeypatch puts it back
    config = Config()
    path = ROOT / "etc" / "jupyter_server_config.py"
    exec(compile(path.read_text(), path.name, "exec"), {"get_config": lambda: config, "__file__": str(path)})
    return config, Path(config.LabApp.app_settings_dir)


def test_lab_server_is_loopback_and_keeps_jupyters_token(monkeypatch) -> None:
    import os
    import sys

    config, _ = _lab_config("learner", monkeypatch)
    assert config.ServerApp.ip == "127.0.0.1" and config.ServerApp.allow_remote_access is False
    # Jupyter's own default makes a random token (or takes JUPYTER_TOKEN); nothing here may blank it.
    assert "token" not in config.IdentityProvider and "password" not in config.PasswordIdentityProvider
    assert config.LabApp.default_url.endswith("notebooks/00_start_here.ipynb")
    # the lab's terminals and kernels run this environment's `labkit` (labkit check), whatever PATH was
    assert os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


def test_each_role_has_its_own_lab_settings(monkeypatch) -> None:
    # nbgrader turns on its server extensions for every server of the environment: the learner's lab
    # turns every one of them off, and its page config disables nbgrader's lab extension.
    import json
    import sys

    nbgrader = json.loads((Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/nbgrader.json").read_text())
    registered = set(nbgrader["ServerApp"]["jpserver_extensions"])
    learner, settings = _lab_config("learner", monkeypatch)
    assert settings == ROOT / "etc" / "lab" / "learner"
    assert learner.ServerApp.jpserver_extensions == {name: False for name in registered}
    assert json.loads((settings / "page_config.json").read_text())["disabledExtensions"] == {"@jupyter/nbgrader": True}
    instructor, settings = _lab_config("instructor", monkeypatch)
    assert settings == ROOT / "etc" / "lab" / "instructor"
    assert "jpserver_extensions" not in instructor.ServerApp
    assert not json.loads((settings / "page_config.json").read_text()).get("disabledExtensions")
    for role in ("learner", "instructor"):  # no news prompt over a lesson, in either lab
        overrides = json.loads((ROOT / "etc" / "lab" / role / "overrides.json").read_text())
        assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def _make_rules() -> tuple[set[str], set[str], set[str]]:
    """(.PHONY targets, rules the Makefile defines, targets `make help` documents)."""
    text = (ROOT / "Makefile").read_text()
    phony_text = re.search(r"^\.PHONY:((?:.*\\\n)*.*)$", text, flags=re.M).group(1).replace("\\\n", " ")
    phony = set(phony_text.split())
    rules = {m for m in re.findall(r"^([a-z][a-z-]*):(?!=)", text, flags=re.M)}
    documented = set(re.findall(r"^## ([a-z-]+): ", text, flags=re.M))
    return phony, rules, documented


def test_phony_lists_exactly_the_rules_and_help_documents_them() -> None:
    phony, rules, documented = _make_rules()
    assert phony == rules, f".PHONY and the rules differ: only .PHONY {phony - rules}, only rules {rules - phony}"
    aliases = {"notebooks", "release", "run-all"}
    assert documented == rules - aliases, f"undocumented targets: {rules - aliases - documented}"
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in documented:
        assert re.search(rf"^\s+{re.escape(target)}\s", out, flags=re.M), f"`make help` does not list {target}"


def test_make_targets_carry_the_command_line_names() -> None:
    from labkit.course.cli import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)
    _, rules, _ = _make_rules()
    assert commands <= rules, f"commands without a make target of the same name: {commands - rules}"
