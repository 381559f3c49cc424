"""A file upload button that refuses files over a size limit in the browser, before sending them.

ipywidgets' ``FileUpload`` sends every chosen file to the kernel whatever its size: a file over the
server's websocket message limit closes the page's connection, and one under it still costs its
bytes in the kernel's memory before it can be refused. Here the browser compares the file's size
with ``max_bytes`` first and sends only its name and size when it is too large.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

Handler = Callable[[str, bytes | None, int], None]
"""``handler(name, content, size)``: ``content`` is None when the file was too large to send
(``size`` says how large) or could not be read by the browser."""


class UploadButton(anywidget.AnyWidget):
    """⇪ Upload: one file at a time; :meth:`on_file` handlers get its name, bytes and size.

    Nothing of the file is kept in the widget's state: handlers get the bytes once.
    """

    _esm = Path(__file__).with_name("upload_button.js")

    description = traitlets.Unicode("Upload").tag(sync=True)
    accept = traitlets.Unicode("").tag(sync=True)
    """What the file dialog offers: extensions and MIME types, as for ``<input accept>``."""
    max_bytes = traitlets.Int(50_000_000).tag(sync=True)
    """Files larger than this stay in the browser; handlers get their name and size only."""
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Handler] = []
        self.on_msg(self._on_message)

    def on_file(self, handler: Handler) -> None:
        """Call ``handler(name, content, size)`` for every file chosen."""
        self._handlers.append(handler)

    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in ("file", "too_large", "unreadable"):
            return
        name = str(content.get("name", ""))
        size = int(content.get("size", 0) or 0)
        data = (bytes(buffers[0]) if buffers else b"") if kind == "file" else None
        try:
            for handler in self._handlers:
                handler(name, data, len(data) if data is not None else size)
        finally:
            if kind == "file":
                self.send({"type": "received"})
