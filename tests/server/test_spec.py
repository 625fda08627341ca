"""``GET /ctr/api/containers/{name}/spec?format=toml|yaml|json``: the spec that would create a
container again, as a ``%%ctr spec`` cell's text (what the sidebar's "Edit as cell" writes)."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import yaml

from jupyter_ctr.engine import Runtime
from jupyter_ctr.service import cellspec

from ..conftest import DEMO


async def test_spec_route_renders_the_read_back_and_the_applied_spec(api: Any,
                                                                    rt: Runtime) -> None:
    rt.create_container(DEMO, ["sleep", "5"], name="web", memory="64m",
                        env={"GREETING": "hi there"}, labels={"jupyter-ctr.lab": "lab1"})
    reply = await api.get("ctr/api/containers/web/spec")
    assert reply.code == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/toml")
    assert tomllib.loads(reply.text) == {
        "image": DEMO, "command": ["sleep", "5"], "memory": "64m",
        "env": {"GREETING": "hi there"}, "labels": {"jupyter-ctr.lab": "lab1"}}
    reply = await api.get("ctr/api/containers/web/spec", {"format": "yaml"})
    assert reply.code == 200 and reply.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(reply.text)["memory"] == "64m"
    reply = await api.get("ctr/api/containers/web/spec", {"format": "json"})
    assert reply.json() == {"image": DEMO, "command": ["sleep", "5"], "memory": 64 << 20,
                            "env": {"GREETING": "hi there"},
                            "labels": {"jupyter-ctr.lab": "lab1"}}
    # a container made from a cell: its applied spec, as written
    spec, _ = cellspec.load(f'image = "{DEMO}"\ncommand = "sleep 5"\n[env]\nPATH = "/bin"\n')
    kwargs = cellspec.create_arguments("cell", spec)
    rt.create_container(kwargs.pop("image"), kwargs.pop("command"), **kwargs)
    reply = await api.get("ctr/api/containers/cell/spec", {"format": "json"})
    assert reply.json() == spec
    reply = await api.get("ctr/api/containers/cell/spec")
    assert cellspec.load(reply.text)[0] == spec and cellspec.SPEC_LABEL not in reply.text


async def test_spec_route_errors(api: Any, rt: Runtime) -> None:
    reply = await api.get("ctr/api/containers/nope/spec")
    assert reply.code == 404 and "nope" in json.loads(reply.body)["message"]
    rt.create_container(DEMO, ["true"], name="web")
    reply = await api.get("ctr/api/containers/web/spec", {"format": "xml"})
    assert reply.code == 400
    assert "invalid format 'xml'" in reply.json()["message"]
