"""Views that bind lab results to ipywidgets, plotly FigureWidgets and small anywidgets.

One widget per module, named after what the user sees. To add a widget, append one import line
and its name to ``__all__``.
"""

from widgets.attention_map import AttentionMap
from widgets.audio_input import AudioInput
from widgets.audio_player import AudioPlayer
from widgets.emission_view import EmissionView
from widgets.layer_explorer import LayerExplorer
from widgets.listening_test import ListeningTest
from widgets.microphone_recorder import MicrophoneRecorder
from widgets.recognizer_comparison import RecognizerComparison
from widgets.robustness_sweep import RobustnessSweep
from widgets.roundtrip_lab import RoundTripLab
from widgets.spectrogram_view import SpectrogramView
from widgets.transcript_diff import TranscriptDiff
from widgets.upload_button import UploadButton

__all__ = [
    "AttentionMap",
    "AudioInput",
    "AudioPlayer",
    "EmissionView",
    "LayerExplorer",
    "ListeningTest",
    "MicrophoneRecorder",
    "RecognizerComparison",
    "RobustnessSweep",
    "RoundTripLab",
    "SpectrogramView",
    "TranscriptDiff",
    "UploadButton",
]
