"""The style references of ../shared/data, split into validation and test styles.

STYLES is the one list: which video shows which style (and person), whether it has speech,
and its split. Validation styles are for choosing the style fine-tune's design and
settings (the Real style issue); test styles only for its figures. No person is in both
splits (the seven furious_talk2 clips are one person: all validation).

Videos with sound: ../shared/data/real/style_lp_d6 (a quiet, tonal soundtrack: music or
a voice over music; sync r 0.14) and style_lp_d12 (loud, clipped speech; sync not
confirmed), LivePortrait's driving examples (MIT). Silent: the 16 clips of
../shared/data/styles_silent (StyleTalk's style clips, MIT), 256 x 256, 30 fps, 2-20 s.
The fine-tune's losses that need the reference's audio cannot use a silent one (`animate
--style_steps` refuses it in one line); its key templates and ISPs need none.
"""

from __future__ import annotations

import dataclasses
import os

SPLITS = ("validation", "test")


@dataclasses.dataclass(frozen=True)
class Style:
  path: str  # under ../shared/data
  person: str
  split: str
  speech: bool = False  # a soundtrack the fine-tune can learn from
  licence: str = "MIT (StyleTalk)"
  note: str = ""


def _silent(name: str, person: str, split: str, note: str) -> Style:
  return Style(f"styles_silent/style_{name}.mp4", person, split, note=note)


STYLES = (
    # validation
    Style("real/style_lp_d6.mp4", "lp_d6", "validation", speech=True,
          licence="MIT (LivePortrait)", note="very expressive; music-like soundtrack"),
    *(_silent(f"furious_talk2_clip{k}", "furious_talk2", "validation", "furious")
      for k in range(1, 8)),
    _silent("happyenglish_clip1", "happyenglish", "validation", "happy, teaching"),
    _silent("spata_clip1", "spata", "validation", "wide mouth"),
    # test
    Style("real/style_lp_d12.mp4", "lp_d12", "test", speech=True,
          licence="MIT (LivePortrait)", note="expressive, with glasses"),
    _silent("Obama_clip3", "obama", "test", "measured speech"),
    _silent("furious_talk1_clip1", "furious_talk1", "test", "furious"),
    _silent("nice_clip1", "nice", "test", "friendly"),
    _silent("sad_emotion_clip1", "sad_emotion", "test", "sad"),
    _silent("sadfather_clip1", "sadfather", "test", "sad"),
    _silent("surprisegirl_clip2", "surprisegirl", "test", "surprised"),
    _silent("vscodehappy_clip1", "vscodehappy", "test", "happy"),
)


def of_split(split: str) -> tuple[Style, ...]:
  if split not in SPLITS:
    raise ValueError(f"style split {split!r}: one of {SPLITS}")
  return tuple(s for s in STYLES if s.split == split)


def path_of(style: Style, shared: str) -> str:
  """The style's video under `shared` (../shared/data)."""
  return os.path.join(shared, style.path)
