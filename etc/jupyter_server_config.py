# JupyterLab as `make lab` starts it (and the browser tests too): loopback only, always a token.
import os
import secrets

c = get_config()  # noqa: F821  (provided by Jupyter when it loads this file)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("LABKIT_PORT", "8888"))
c.ServerApp.port_retries = 20
c.ServerApp.root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `jupyter lab` replaces ServerApp.default_url with LabApp's own ("/lab"): set both.
c.ServerApp.default_url = c.LabApp.default_url = "/lab/tree/notebooks/00_start_here.ipynb"
# Never an open server: an empty token would let anyone on this machine run code as you.
c.IdentityProvider.token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
c.ServerApp.disable_check_xsrf = False
c.ServerApp.allow_remote_access = False
