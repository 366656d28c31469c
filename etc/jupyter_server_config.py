# JupyterLab as `make lab` starts it (and the browser tests too): loopback only, always a token.
import os

c = get_config()  # noqa: F821  (provided by Jupyter when it loads this file)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.allow_remote_access = False
c.ServerApp.port = int(os.environ.get("LABKIT_PORT", "8888"))
c.ServerApp.port_retries = 20
c.ServerApp.root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
c.LabApp.default_url = "/lab/tree/notebooks/00_start_here.ipynb"
# Never an open server: Jupyter requires a token, random unless JUPYTER_TOKEN sets one (the browser
# tests do), and prints the address with it. An empty JUPYTER_TOKEN also gets a random token.
