"""The caer_s TFDS builder (importing registers it)."""

from data_prep.caer_s.caer_s import CaerS

__all__ = ["CaerS"]
