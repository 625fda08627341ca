"""What every widget of this package shares: the front-end module they live in (the lab
extension's npm package, registered with the widget manager by src/widgets/plugin.ts), the
door they act through, the kernel's one feed, and the error line shown in place."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ipywidgets import DOMWidget  # type: ignore[import-untyped]
from traitlets import Unicode

from .. import __version__, kernel
from ..engine.events import Event
from ..service.door import Door
from .feed import EngineFeed, feed_for

#: The npm package (labextension/package.json's name) whose plugin registers the views.
MODULE_NAME = "jupyter-ctr"
_PACKAGE = Path(__file__).resolve().parent.parent


def frontend_version() -> str:
    """The lab extension's version, as its plugin registers it: the built extension's
    package.json (shipped in the wheel), else the source's, else the Python package's."""
    for path in (_PACKAGE / "labextension" / "package.json",
                 _PACKAGE.parent / "labextension" / "package.json"):
        try:
            return str(json.loads(path.read_text())["version"])
        except (OSError, ValueError, KeyError):
            continue
    return __version__


MODULE_VERSION = frontend_version()


class EngineWidget(DOMWidget):  # type: ignore[misc]  # ipywidgets is untyped
    """A widget of the jupyter-ctr front-end module acting through a Door (the kernel's by
    default). ``error`` is the line shown in place when an engine call failed."""

    _model_module = Unicode(MODULE_NAME).tag(sync=True)
    _view_module = Unicode(MODULE_NAME).tag(sync=True)
    _model_module_version = Unicode(f"^{MODULE_VERSION}").tag(sync=True)
    _view_module_version = Unicode(f"^{MODULE_VERSION}").tag(sync=True)

    error = Unicode("", help="The last engine error, shown in the widget").tag(sync=True)

    def __init__(self, *, door: Door | None = None, **kwargs: Any) -> None:
        self.door = door or kernel.door()
        self.feed: EngineFeed = feed_for(self.door)
        self.state_lock = threading.RLock()
        # _view_count: ipywidgets counts the displayed views when it starts as a number
        super().__init__(_view_count=0, **kwargs)
        self.observe(self._views_changed, names="_view_count")
        self.on_msg(self._front_message)
        self.feed.subscribe(self)

    # -- what subclasses fill in ----------------------------------------------------------
    def on_event(self, ev: Event) -> None:
        """An engine event (the feed's thread)."""

    def sampled_ids(self) -> list[str]:
        """Containers whose stats the feed reads while this widget is displayed."""
        return []

    def on_tick(self, samples: dict[str, dict[str, Any]]) -> None:
        """Once a second while displayed, with the stats read for ``sampled_ids``."""

    def handle_action(self, content: dict[str, Any]) -> None:
        """A button's message from the view."""

    # -- plumbing -------------------------------------------------------------------------
    @property
    def displayed(self) -> bool:
        """Whether a view of this widget is on a page (as the front end counts them)."""
        return bool(self._view_count)

    def _views_changed(self, change: dict[str, Any]) -> None:
        self.feed.want_ticks(self, bool(change["new"]))

    def _front_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "action":
            self.handle_action(content)

    def run_in_worker(self, what: str, fn: Callable[[], Any],
                      done: Callable[[], None] | None = None) -> Future[Any]:
        """Run an engine call off the kernel's thread; its failure becomes ``error``
        ("pause: container ... is not running"), its success clears it."""

        def run() -> Any:
            try:
                result = fn()
            except Exception as exc:
                self.error = f"{what}: {exc}"
                raise
            else:
                self.error = ""
                return result
            finally:
                if done is not None:
                    done()

        return self.feed.submit(run)

    def close(self) -> None:
        feed = self.__dict__.get("feed")  # None when __init__ failed before it was set
        if feed is not None:
            feed.unsubscribe(self)
        super().close()
