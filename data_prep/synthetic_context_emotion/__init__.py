"""The synthetic_context_emotion TFDS builder (importing registers it)."""

from data_prep.synthetic_context_emotion.synthetic_context_emotion import SyntheticContextEmotion

__all__ = ["SyntheticContextEmotion"]
