"""The workbook where learners use it: JupyterLab (started as `make lab` starts it) in headless Chromium.

For every lesson: open it, run all cells with the lesson's small papermill case (tests/helpers/cases: the
same cells as a course may set them, less work; strict nbval runs the defaults), and check that every cell
ran without an error, every figure the kernel sent is shown as an image and every widget rendered;
then move every control of every explorer the way a person would (drag a slider, press a key, pick a
menu entry) and check that the figure and the text it drives change. Screenshots land in
build/screenshots/. And the server itself: loopback only, token required.

Chromium comes from the system (Debian's `chromium` package), never from a download. Without it the
browser tests are skipped with the reason; LABKIT_REQUIRE_BROWSER=1 (set by CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
import requests

from helpers.cases import CASES
from helpers.lab import CHROMIUM_ARGS, ROOT, LabServer, browser_missing, chromium_path
from helpers.paths import lesson_paths

LESSONS = lesson_paths()
IDS = [p.stem for p in LESSONS]
SCREENSHOTS = ROOT / "build" / "screenshots"
WORK = ROOT / "build" / "browser"  # lesson copies the browser runs (and autosaves), inside the server's root
EVIDENCE = ROOT / "build" / "browser-failures"  # a failed lesson's screenshot and the server's log
RUN_TIMEOUT = 300  # seconds for a lesson's Run All on a busy 2-core machine (each must take well under 60)
REDRAW_TIMEOUT = 60  # seconds for an explorer to redraw after a control moved
WIDGET_ERRORS = ("Loading widget", "Error displaying widget", "Error rendering widget", "Model not found")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """A JupyterLab server started as `make lab` starts it, for this module's tests."""
    server = LabServer(tmp_path_factory.mktemp("lab"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium from the system; skipped (or failed under LABKIT_REQUIRE_BROWSER=1) when absent."""
    reason = browser_missing()
    if reason:
        if os.environ.get("LABKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LABKIT_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


# ---------------------------------------------------------------------------------------------- server


def test_server_honours_the_config(lab: LabServer) -> None:
    assert lab.info["hostname"] == "127.0.0.1"
    assert Path(lab.info["root_dir"]).resolve() == ROOT
    home = requests.get(lab.url(), headers=lab.auth, allow_redirects=False, timeout=30)
    assert home.status_code in (301, 302), home.status_code
    where = home.headers["Location"].split("?")[0]
    assert where.endswith("/lab/tree/notebooks/00_start_here.ipynb"), f"/ leads to {where}, not the first lesson"


def test_server_listens_on_loopback_only(lab: LabServer) -> None:
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if tables[0].exists():
        listening = []
        for table in tables:
            for line in table.read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, port = local.split(":")
                if state == "0A" and int(port, 16) == lab.port:  # 0A: LISTEN
                    listening.append(address)
        assert listening and set(listening) == {"0100007F"}, f"listening on {listening} (hex), not only 127.0.0.1"
    # Another loopback address reaches this machine too, but not a server bound to 127.0.0.1 alone.
    with socket.socket() as s:
        s.settimeout(5)
        reached = s.connect_ex(("127.0.0.2", lab.port)) == 0
    assert not reached, "the server answers on 127.0.0.2: it is not bound to 127.0.0.1 alone"


def test_server_requires_the_token(lab: LabServer) -> None:
    api = requests.get(lab.url("api/contents/notebooks"), timeout=30)
    assert api.status_code == 403, f"API without a token: {api.status_code}"
    run = requests.post(lab.url("api/kernels"), json={"name": "python3"}, timeout=30)
    assert run.status_code == 403, f"starting a kernel without a token: {run.status_code}"
    page = requests.get(lab.url("lab"), allow_redirects=False, timeout=30)
    assert page.status_code in (302, 303) and "/login" in page.headers["Location"], page.status_code
    wrong = requests.get(lab.url("api/contents"), headers={"Authorization": "token wrong"}, timeout=30)
    assert wrong.status_code == 403, f"API with a wrong token: {wrong.status_code}"

    assert requests.get(lab.url("api/contents/notebooks"), headers=lab.auth, timeout=30).status_code == 200
    served = requests.get(lab.url(f"lab?token={lab.token}"), timeout=30)
    assert served.status_code == 200 and "JupyterLab" in served.text


# ---------------------------------------------------------------------------------------------- roles

# What a page shows of the lab's tools: menu bar, side-bar tabs, the open notebook's toolbar, notifications.
JS_TOOLS = """() => ({
    menus: [...document.querySelectorAll('#jp-menu-panel .lm-MenuBar-itemLabel')].map(e => e.innerText.trim()),
    panels: [...document.querySelectorAll('.jp-SideBar .lm-TabBar-tab')]
        .map(t => (t.getAttribute('title') || '') + ' ' + t.innerText.trim()),
    toolbar: [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar > *')]
        .map(t => t.innerText.trim()).filter(Boolean),
    notifications: [...document.querySelectorAll('.Toastify__toast')].map(t => t.innerText.trim()),
})"""
INSTRUCTOR_TOOLS = {"menu": "Nbgrader", "panel": "Create Assignment", "button": "Validate"}


def _lab_tools(server: LabServer, page) -> dict:
    """Open lesson 00 (a copy) in ``server``'s lab; the tools the page shows once the kernel is idle."""
    relative = _lesson_copy(LESSONS[0]).relative_to(ROOT).as_posix()
    page.goto(server.url(f"lab/tree/{relative}?reset&token={server.token}"), timeout=120_000)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.wait_for(timeout=120_000)
    _wait_for("the kernel to start", lambda: _kernel_idle(page), 180)
    if server.role == "instructor":  # extensions load after the page: wait for nbgrader's, name what is there
        _wait_for("nbgrader's menu, panel and Validate button", lambda: _instructor_tools(page.evaluate(JS_TOOLS)) ==
                  set(INSTRUCTOR_TOOLS), 60, seen=lambda: page.evaluate(JS_TOOLS))
    return page.evaluate(JS_TOOLS)


def _instructor_tools(tools: dict) -> set[str]:
    """Which of nbgrader's instructor tools ``tools`` (from JS_TOOLS) contains."""
    found = {"menu"} if INSTRUCTOR_TOOLS["menu"] in tools["menus"] else set()
    found |= {"panel"} if any(INSTRUCTOR_TOOLS["panel"] in p for p in tools["panels"]) else set()
    return found | ({"button"} if INSTRUCTOR_TOOLS["button"] in tools["toolbar"] else set())


def _server_side(server: LabServer) -> tuple[int, str, list[str]]:
    """nbgrader's formgrader status code, the news setting the lab serves, and the extensions it disables."""
    formgrader = requests.get(server.url("formgrader"), headers=server.auth, allow_redirects=False, timeout=30)
    news = requests.get(server.url("lab/api/settings/@jupyterlab/apputils-extension:notification"),
                        headers=server.auth, timeout=30).json()
    page = requests.get(server.url("lab"), headers=server.auth, timeout=30).text
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    return formgrader.status_code, news["schema"]["properties"]["fetchNews"]["default"], config["disabledExtensions"]


@pytest.mark.browser
def test_the_learners_lab_has_no_instructor_tools(lab: LabServer, page) -> None:
    # `make lab` is the learner's: no nbgrader menu, panel or Validate button, no news prompt over the lesson
    assert lab.role == "learner"
    tools = _lab_tools(lab, page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "lab-learner.png"))
    assert not _instructor_tools(tools), f"the learner's lab shows nbgrader's {_instructor_tools(tools)}: {tools}"
    assert {"File", "Run", "Kernel", "Help"} <= set(tools["menus"]), f"the lab's own menus are missing: {tools}"
    assert not [n for n in tools["notifications"] if "news" in n], f"a news prompt covers the lesson: {tools}"
    formgrader, news, disabled = _server_side(lab)
    assert formgrader == 404, f"nbgrader's formgrader answers in the learner's lab ({formgrader})"
    assert news == "false", f"the lab serves fetchNews = {news!r}: the news prompt would appear"
    assert "@jupyter/nbgrader" in disabled, disabled


@pytest.mark.browser
def test_the_instructors_lab_adds_nbgrader(tmp_path: Path, page) -> None:
    # `make lab ROLE=instructor`: the same lab with nbgrader's tools, and still no news prompt
    server = LabServer(tmp_path, role="instructor")
    server.start()
    try:
        tools = _lab_tools(server, page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "lab-instructor.png"))
        formgrader, news, disabled = _server_side(server)
    finally:
        server.stop()
    assert _instructor_tools(tools) == set(INSTRUCTOR_TOOLS), tools
    assert not [n for n in tools["notifications"] if "news" in n], f"a news prompt covers the lesson: {tools}"
    assert formgrader in (200, 301, 302), f"nbgrader's formgrader does not answer for the instructor ({formgrader})"
    assert news == "false" and "@jupyter/nbgrader" not in disabled, (news, disabled)


def test_an_unknown_role_is_one_line(tmp_path: Path) -> None:
    server = LabServer(tmp_path)
    env = {**server.env(), "LABKIT_ROLE": "teacher"}
    done = subprocess.run(server.command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode != 0 and lines == [
        "LABKIT_ROLE = 'teacher' is not allowed: must be one of learner, instructor (make lab ROLE=instructor)"], lines


# ---------------------------------------------------------------------------------------------- lessons

# The controls a person can move, as CSS selectors (see _controls).
CONTROLS = (
    ".widget-slider .noUi-handle, .widget-dropdown select, .widget-toggle-buttons button, "
    ".widget-checkbox input, .widget-radio-box input"
)
JS_CELLS = """(nb, controls) => [...nb.querySelectorAll('.jp-Cell.jp-CodeCell')].map(cell => ({
    prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
    source: (cell.querySelector('.jp-InputArea-editor .cm-line') || {}).textContent || '',
    stderr: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.innerText),
    plain: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]')].map(e => e.innerText),
    images: [...cell.querySelectorAll('img')].map(i => ({loaded: i.complete && i.naturalWidth > 0,
                                                        width: i.naturalWidth, height: i.naturalHeight})),
    widgets: [...cell.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets')].length,
    explorers: [...cell.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets')]
        .filter(w => w.querySelector(controls)).map(w => w.outerHTML.replace(/ (id|for)="[^"]*"/g, '')),
    text: cell.querySelector('.jp-Cell-outputWrapper') ? cell.querySelector('.jp-Cell-outputWrapper').innerText : '',
}))"""

# An explorer: a widget box shown as a cell output that holds controls (and a figure, text or both).
JS_EXPLORERS = """(nb, controls) => [...nb.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets.widget-box')]
    .map((box, i) => { box.setAttribute('data-labkit-explorer', i); return box; })
    .filter(box => box.querySelector(controls))
    .map(box => box.getAttribute('data-labkit-explorer'))"""

# What an explorer shows: its figures, and its text without the controls' own labels and readouts.
JS_STATE = """box => {
    const clone = box.cloneNode(true);
    const controls = '.widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-toggle-button, '
        + '.widget-checkbox, .widget-radio, .widget-button, .widget-play, .widget-select, .widget-text, '
        + '.widget-readout, img';
    clone.querySelectorAll(controls).forEach(e => e.remove());
    return {images: [...box.querySelectorAll('img.widget-image')].map(i => i.src),
            text: clone.textContent.replace(/\\s+/g, ' ').trim()};
}"""


def _lesson_copy(path: Path, params: dict | None = None) -> Path:
    """A copy of the lesson without outputs: the browser runs and saves it, never the lesson itself. ``params``:
    set at the end of the parameters cell, as papermill sets them (the cell count stays the same)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if params:
        first = next(c for c in nb.cells if c.cell_type == "code")
        first.source += "\n# set by the browser test (tests/helpers/cases)\n" + "\n".join(
            f"{name} = {value!r}" for name, value in params.items())
    WORK.mkdir(parents=True, exist_ok=True)
    copy = WORK / path.name
    nbformat.write(nb, copy)
    return copy


def _wait_for(what: str, check, timeout: float, interval: float = 0.5, seen=None):
    """Call ``check`` until it returns something true; else fail after ``timeout`` s naming ``what`` and ``seen()``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            saw = f"; saw: {seen()}" if seen is not None else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{saw}", pytrace=False)
        time.sleep(interval)


def _cell_states(page, notebook) -> str:
    """The code cells not finished (index, prompt, first source line) and the kernel's status, for a failure."""
    cells = notebook.evaluate(JS_CELLS, CONTROLS)
    running = [f"cell {i} `{c['source'][:60]}`" for i, c in enumerate(cells) if c["prompt"] == "[*]:"]
    unrun = [f"cell {i} `{c['source'][:60]}`" for i, c in enumerate(cells)
             if not re.fullmatch(r"\[[\d*]+\]:", c["prompt"])]
    status = " ".join(page.locator("#jp-main-statusbar").inner_text().split())
    return (f"{len(cells)} code cells; queued or running: {'; '.join(running) or 'none'}; "
            f"never started: {'; '.join(unrun[:5]) or 'none'}{' …' if len(unrun) > 5 else ''}; status bar: {status!r}")


def _saved(page, copy: Path, code_cells: int) -> list:
    """Save the notebook from JupyterLab; return its code cells as saved, with the outputs the kernel sent."""
    asked = [time.monotonic()]
    page.keyboard.press("Control+s")

    def written():
        try:
            cells = [c for c in nbformat.read(copy, as_version=4).cells if c.cell_type == "code"]
        except Exception:  # noqa: BLE001 - caught mid-write: read again
            return None
        if len(cells) == code_cells and all(c.execution_count for c in cells):
            return cells
        if time.monotonic() - asked[0] > 5:  # a key press the page did not take: ask again
            asked[0] = time.monotonic()
            page.keyboard.press("Control+s")
        return None

    return _wait_for(f"JupyterLab to save {copy.name} with every cell's outputs", written, 60,
                     seen=lambda: f"{copy} last modified {time.ctime(copy.stat().st_mtime)}")


def _kernel_idle(page) -> bool:
    return "| Idle" in page.locator("#jp-main-statusbar").inner_text()


def _run_all(page, notebook, code_cells: int) -> list[dict]:
    """Run all cells from the Run menu; return the cells once the kernel is idle and nothing is queued."""
    _wait_for("the kernel to start", lambda: _kernel_idle(page), 180, seen=lambda: _cell_states(page, notebook))
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    quiet_since = [None]

    def finished():
        cells = notebook.evaluate(JS_CELLS, CONTROLS)
        prompts = [c["prompt"] for c in cells]
        if len(cells) == code_cells and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts) and _kernel_idle(page):
            return cells
        # A cell that raises stops Run All: the cells after it never get a number. Settle, then report.
        if "[*]:" in prompts or not _kernel_idle(page) or not re.fullmatch(r"\[\d+\]:", prompts[0]):
            quiet_since[0] = None
        elif quiet_since[0] is None:
            quiet_since[0] = time.monotonic()
        elif time.monotonic() - quiet_since[0] > 10:
            return cells
        return None

    return _wait_for("every cell to run (Run All)", finished, RUN_TIMEOUT, interval=1,
                     seen=lambda: _cell_states(page, notebook))


def _screenshot_notebook(page, notebook, name: str) -> Path:
    """The whole notebook in one picture: make the window as tall as the notebook, then shoot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # JupyterLab scrolls the cells inside an inner panel: its scrollHeight is the notebook's full height.
    height = notebook.evaluate(
        "nb => { const s = nb.querySelector('.jp-WindowedPanel-outer') || nb; s.scrollTop = 0; return s.scrollHeight; }"
    )
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(max(900, height + 200), 16000)})
    time.sleep(1)
    out = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(out))
    page.set_viewport_size({"width": width, "height": 1000})
    return out


@pytest.fixture
def page(chromium):
    """A fresh browser tab, with page errors collected for the test to report."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.labkit_errors = []
    tab.on("pageerror", lambda err: tab.labkit_errors.append(str(err)))
    yield tab
    context.close()


def _keep_evidence(page, lab: LabServer, stem: str) -> str:
    """Save what a failed lesson left: a screenshot of the page and the server's log; say where they are."""
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    shot, log = EVIDENCE / f"{stem}.png", EVIDENCE / f"{stem}-jupyter.log"
    try:
        page.screenshot(path=str(shot), full_page=True)
    except Exception as err:  # noqa: BLE001 - a crashed page cannot be photographed; the log still helps
        shot.with_suffix(".txt").write_text(f"no screenshot: {err}\n")
    log.write_text(lab.log_path.read_text(errors="replace") if lab.log_path.exists() else "(no log)\n")
    return f"evidence: {shot.relative_to(ROOT)}, {log.relative_to(ROOT)}"


@pytest.mark.browser
@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_in_jupyterlab(path: Path, lab: LabServer, page) -> None:
    try:
        _check_lesson(path, lab, page)
    except BaseException as failure:  # pytest.fail raises a BaseException: keep the evidence, then fail as it did
        where = _keep_evidence(page, lab, path.stem)
        if isinstance(failure, pytest.fail.Exception):
            pytest.fail(f"{failure.msg} ({where})", pytrace=False)
        failure.add_note(where)
        raise


def _check_lesson(path: Path, lab: LabServer, page) -> None:
    """Run the lesson in JupyterLab, check every cell's output, then move every control of every explorer."""
    stored = nbformat.read(path, as_version=4)
    code = [c for c in stored.cells if c.cell_type == "code"]
    copy = _lesson_copy(path, CASES[path.stem]["params"])
    relative = copy.relative_to(ROOT).as_posix()

    page.goto(lab.url(f"lab/tree/{relative}?reset&token={lab.token}"), timeout=120_000)
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    notebook.locator(".jp-Cell").first.wait_for(timeout=120_000)
    page.keyboard.press("Control+b")  # hide the file browser: more room for the lesson
    _run_all(page, notebook, len(code))

    # Widgets render asynchronously after their cell finished: give them time, then look.
    def rendered():
        text = notebook.inner_text()
        images = [i for c in notebook.evaluate(JS_CELLS, CONTROLS) for i in c["images"]]
        return not any(m in text for m in WIDGET_ERRORS) and all(i["loaded"] for i in images)

    try:
        _wait_for("every widget and image to render", rendered, 60,
                  seen=lambda: f"widget errors shown: {[m for m in WIDGET_ERRORS if m in notebook.inner_text()]}")
    finally:
        shot = _screenshot_notebook(page, notebook, path.stem)
    cells = notebook.evaluate(JS_CELLS, CONTROLS)
    where = f"{path.name} (screenshot: {shot.relative_to(ROOT)})"
    sent = _saved(page, copy, len(code))  # what the kernel sent, cell by cell

    not_run = [i for i, c in enumerate(cells) if not re.fullmatch(r"\[\d+\]:", c["prompt"])]
    assert not not_run, f"{where}: code cells {not_run} did not run; first output with an error: " + next(
        (s for c in cells for s in c["stderr"]), "none"
    )
    assert [int(c["prompt"][1:-2]) for c in cells] == list(range(1, len(code) + 1)), f"{where}: not one clean run"
    for i, (cell, stored_cell, sent_cell) in enumerate(zip(cells, code, sent, strict=True)):
        stored_stderr = any(o.get("name") == "stderr" for o in stored_cell.outputs)
        assert not cell["stderr"] or stored_stderr, f"{where}: cell {i} wrote an error:\n{cell['stderr'][0][-2000:]}"
        figures_as_text = [t for t in cell["plain"] if re.search(r"<(Figure|matplotlib\.)", t)]
        assert not figures_as_text, f"{where}: cell {i} shows a figure as text, not as an image: {figures_as_text[0]}"
        assert all(img["loaded"] for img in cell["images"]), f"{where}: cell {i} has an image that did not load"
        sent_images = sum("image/png" in o.get("data", {}) for o in sent_cell.outputs)
        assert len(cell["images"]) >= sent_images, (
            f"{where}: cell {i} shows {len(cell['images'])} images in JupyterLab; its kernel sent {sent_images}"
        )
        as_text = [o for o in sent_cell.outputs if re.search(r"<(Figure|matplotlib\.)", str(o.get("data", {}).get(
            "text/plain", ""))) and "image/png" not in o.get("data", {})]
        assert not as_text, f"{where}: cell {i}'s kernel sent a figure as text, not as an image"
        twice = len(cell["explorers"]) - len(set(cell["explorers"]))
        assert not twice, (
            f"{where}: cell {i} shows the same explorer twice (an explorer that both displays its box and returns "
            "it, called as the cell's last line: end the call with ';' or return None)"
        )
        for message in WIDGET_ERRORS:
            assert message not in cell["text"], f"{where}: cell {i} shows {message!r}"
        if "_explorer(" in stored_cell.source:
            assert cell["widgets"], f"{where}: cell {i} calls an explorer but shows no widget (headless by mistake?)"
    assert not page.labkit_errors, f"{where}: errors in the page: {page.labkit_errors}"
    stored_figures = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    shown_figures = sum(len(c["images"]) for c in cells)
    assert shown_figures or not stored_figures, f"{where}: the lesson draws figures, but JupyterLab showed none"

    explored = _explore(page, notebook, path.stem)
    if any("_explorer(" in c.source for c in code):
        assert explored, f"{where}: the lesson calls an explorer, but no explorer with a control is shown"


def _controls(box) -> list[tuple[str, object]]:
    """Every control in an explorer, as (kind, locator): slider handles, menus, toggles, check boxes."""
    found = [("slider", h) for h in box.locator(".widget-slider .noUi-handle").all()]
    found += [("dropdown", s) for s in box.locator(".widget-dropdown select").all()]
    found += [("toggle", b) for b in box.locator(".widget-toggle-buttons button").all()[1:]]
    found += [("checkbox", c) for c in box.locator(".widget-checkbox input").all()]
    found += [("radio", r) for r in box.locator(".widget-radio-box input").all()[1:]]
    return found


def _drag(page, handle) -> None:
    """Drag a slider handle a quarter of the track towards its farther end, as a mouse would."""
    track = handle.locator("xpath=ancestor::div[contains(@class, 'noUi-target')]").bounding_box()
    knob = handle.bounding_box()
    x, y = knob["x"] + knob["width"] / 2, knob["y"] + knob["height"] / 2
    lo, hi = float(handle.get_attribute("aria-valuemin")), float(handle.get_attribute("aria-valuemax"))
    now = float(handle.get_attribute("aria-valuenow"))
    step = track["width"] / 4 * (1 if now - lo <= hi - now else -1)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + step, y, steps=10)
    page.mouse.up()


def _moves(page, kind: str, control) -> list[tuple[str, object]]:
    """The ways a person moves this control, as (name, action): each is checked on its own."""
    if kind == "slider":

        def key() -> None:  # a slider also answers the keyboard: focus the handle, press an arrow
            control.focus()
            page.keyboard.press("ArrowLeft")

        return [("drag", lambda: _drag(page, control)), ("key", key)]
    if kind == "dropdown":
        current = control.input_value()
        values = [o.get_attribute("value") for o in control.locator("option").all()]
        target = next(v for v in values if v != current)
        return [(f"select-{target}", lambda: control.select_option(target))]
    return [("click", control.click)]


def _redrawn(box, before: dict):
    """A check for _wait_for: the explorer's new state once the figure and the text have both changed, else None."""

    def check():
        after = box.evaluate(JS_STATE)
        changed = []
        if before["images"]:
            changed.append(after["images"] != before["images"] and all(after["images"]))
        if before["text"]:
            changed.append(after["text"] != before["text"])
        return after if all(changed) else None

    return check


def _describe_change(box, before: dict):
    """For a failure: the explorer's text before the move and now, and whether its figure changed."""

    def seen() -> str:
        after = box.evaluate(JS_STATE)
        return (f"text before {before['text'][:100]!r}, now {after['text'][:100]!r}; "
                f"figure {'changed' if after['images'] != before['images'] else 'unchanged'}")

    return seen


def _settled(box, quiet: float = 1.0, timeout: float = 20) -> None:
    """Wait until the explorer has shown the same state for ``quiet`` seconds: no half-drawn screenshot."""
    last, since, end = None, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < end:
        now = box.evaluate(JS_STATE)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)
    pytest.fail(f"the explorer kept changing for {timeout:.0f} s after a move", pytrace=False)


def _explore(page, notebook, stem: str) -> int:
    """Move every control of every explorer; each move must change everything the explorer shows.

    Every control (slider, menu, toggle, check box) must change both the figure and the text, where
    the explorer shows both; the screenshot is taken once the explorer has stopped changing.
    """
    explorers = notebook.evaluate(JS_EXPLORERS, CONTROLS)
    for index in explorers:
        box = notebook.locator(f"[data-labkit-explorer='{index}']")
        controls = _controls(box)
        shown = box.evaluate(JS_STATE)
        assert shown["images"] or shown["text"], f"{stem}: explorer {index} shows no figure and no text to drive"
        box.scroll_into_view_if_needed()
        box.screenshot(path=str(SCREENSHOTS / f"{stem}-explorer{index}-0-start.png"))
        for n, (kind, control) in enumerate(controls, start=1):
            control.scroll_into_view_if_needed()
            for how, move in _moves(page, kind, control):
                before = box.evaluate(JS_STATE)
                move()
                label = f"{stem}: explorer {index}, {kind} {n} ({how})"
                _wait_for(f"the figure and text to follow: {label}", _redrawn(box, before), REDRAW_TIMEOUT,
                          seen=_describe_change(box, before))
                _settled(box)
                box.screenshot(path=str(SCREENSHOTS / f"{stem}-explorer{index}-{n}-{kind}-{how}.png"))
        assert not page.labkit_errors, f"{stem}: errors in the page while exploring: {page.labkit_errors}"
    return len(explorers)
