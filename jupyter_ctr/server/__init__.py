"""The Jupyter server extension and the unix socket service: a libpod v4 and Docker Engine
API compatible REST API on the engine, plus websocket bridges for browsers.

Stands on ``jupyter_ctr.engine``; the engine never imports from here.
"""
