"""What every synthesizer and recognizer offers.

Capabilities (``has_attention``, ``has_emissions``, ``has_mel``) let views show what a backend
can give and hide what it cannot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from lab.audio import Audio
    from lab.results import Recognition, Synthesis


@runtime_checkable
class Synthesizer(Protocol):
    name: str
    """Registry name or hub id / folder the weights came from."""
    sample_rate: int
    has_attention: bool
    has_mel: bool
    untrained: bool
    """True for random-weight checkpoints (tests, benchmarks): shown wherever results appear."""

    def voices(self) -> tuple[str, ...]:
        """Voice names this synthesizer can use now (may be empty)."""
        ...

    def synthesize(self, text: str, voice: str | None = None) -> Synthesis: ...


@runtime_checkable
class Recognizer(Protocol):
    name: str
    sample_rate: int
    has_emissions: bool
    has_attention: bool
    untrained: bool

    def recognize(
        self,
        audio: Audio,
        *,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> Recognition: ...
