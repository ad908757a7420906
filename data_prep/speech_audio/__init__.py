"""The speech_audio TFDS builder (importing registers it)."""

from data_prep.speech_audio.speech_audio import SpeechAudio

__all__ = ["SpeechAudio"]
