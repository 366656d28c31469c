# JupyterLab as `make lab` starts it (and the browser tests too): loopback only, always a token, and
# the tools of one role. LABKIT_ROLE (`make lab ROLE=...`) picks it:
#   learner     (the default) the lessons and labkit's tools; nbgrader's extensions are off: its menu,
#               its Create Assignment panel, its formgrader and course list are an instructor's, and its
#               toolbar Validate runs nbgrader's validator, not labkit's check (`labkit check NOTEBOOK`).
#   instructor  the same lab with nbgrader's extensions on.
# The lab's settings for each role live in etc/lab/<role>/ (JupyterLab's app settings folder:
# page_config.json for the extensions it loads, overrides.json for the defaults of its settings),
# so nothing is written into a person's own settings; their own choices still win over those defaults.
import os
import sys

ROLES = ("learner", "instructor")
# nbgrader registers these server extensions for every Jupyter server of this environment.
NBGRADER_SERVER_EXTENSIONS = ("formgrader", "validate_assignment", "assignment_list", "course_list")

c = get_config()  # noqa: F821  (provided by Jupyter when it loads this file)
here = os.path.dirname(os.path.abspath(__file__))

role = os.environ.get("LABKIT_ROLE") or "learner"
if role not in ROLES:
    raise SystemExit(f"LABKIT_ROLE = {role!r} is not allowed: must be one of {', '.join(ROLES)} "
                     "(make lab ROLE=instructor)")

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.allow_remote_access = False
c.ServerApp.port = int(os.environ.get("LABKIT_PORT", "8888"))
c.ServerApp.port_retries = 20
c.ServerApp.root_dir = os.path.dirname(here)
c.LabApp.default_url = "/lab/tree/notebooks/00_start_here.ipynb"
c.LabApp.app_settings_dir = os.path.join(here, "lab", role)
# The lab's terminals and kernels find this environment's commands first: `labkit check NOTEBOOK` in a
# terminal, `!labkit check NOTEBOOK` in a cell (they inherit the server's PATH, which need not have it).
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
if role == "learner":
    c.ServerApp.jpserver_extensions = {f"nbgrader.server_extensions.{name}": False
                                       for name in NBGRADER_SERVER_EXTENSIONS}
# Never an open server: Jupyter requires a token, random unless JUPYTER_TOKEN sets one (the browser
# tests do), and prints the address with it. An empty JUPYTER_TOKEN also gets a random token.
