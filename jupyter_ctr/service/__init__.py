"""The service layer: the one door from every front end to the engine.

``ContainerService`` (container_service.py) looks up, lists, creates and acts on behalf of a
``Principal`` (principal.py), asking a ``Policy`` (policy.py) first; blocking engine calls
run in its ``Executors`` (executors.py); streams are async: container and exec stdio
(sources.py), client copying (pumps.py), shared websocket attach with a replay ring
(bridge.py) and thread-fed feeds (streams.py). asyncio only: nothing here knows tornado or
Jupyter. Nothing is imported here, so a front end loads only what it uses.
"""
