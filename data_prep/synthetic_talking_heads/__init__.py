"""The synthetic_talking_heads TFDS builder (importing registers it)."""

from data_prep.synthetic_talking_heads.synthetic_talking_heads import SyntheticTalkingHeads

__all__ = ["SyntheticTalkingHeads"]
