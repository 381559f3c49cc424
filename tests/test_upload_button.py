"""The upload button's Python side: what handlers get for each message its browser side sends."""

from __future__ import annotations

from widget_fixtures import choose_file

from widgets.upload_button import UploadButton


def _received(button: UploadButton) -> list[dict]:
    sent: list[dict] = []
    button.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    return sent


def test_a_file_within_the_limit_reaches_handlers_once_and_is_not_kept():
    button = UploadButton(max_bytes=1000, accept=".wav")
    got: list[tuple] = []
    button.on_file(lambda name, content, size: got.append((name, content, size)))
    acks = _received(button)
    choose_file(button, b"RIFF" + bytes(96), "clip.wav")
    assert got == [("clip.wav", b"RIFF" + bytes(96), 100)]
    # the browser is told the file arrived, so its button reads "Upload" again
    assert acks == [{"type": "received"}]
    assert not any(isinstance(v, (bytes, memoryview)) for v in button.get_state().values())


def test_a_file_over_the_limit_arrives_as_its_name_and_size_only():
    button = UploadButton(max_bytes=1000)
    got: list[tuple] = []
    button.on_file(lambda name, content, size: got.append((name, content, size)))
    acks = _received(button)
    choose_file(button, bytes(5000), "hour.wav")
    assert got == [("hour.wav", None, 5000)]
    assert acks == []  # nothing was sent, nothing to acknowledge


def test_other_messages_are_ignored_and_a_failing_handler_still_frees_the_button():
    button = UploadButton()
    got: list[tuple] = []
    button.on_file(lambda *args: got.append(args))
    acks = _received(button)
    button._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"type": "play"}}}, "buffers": []}
    )
    assert got == [] and acks == []

    def broken(*_args):
        raise RuntimeError("boom")

    button.on_file(broken)
    choose_file(button, b"abc", "a.wav")  # ipywidgets logs the error, as for any handler
    assert acks == [{"type": "received"}]
