"""The real training set: every lip-synced real clip in ../shared/data, split by person.

  python -m data_prep.real_clips --data_dir DIR [--shared ../shared/data]

makes DIR/real_clips_videos (links to the clips, one folder per person, with the
audio_offsets.tsv and splits.tsv below) and builds it with talking_head_videos at
RESOLUTION px (OVERRIDES: its own config name in DIR). CLIPS is the one list: which clip
is which person, in which split, and how far its soundtrack is off its mouth.

Splits are by person (no person in two): train; validation (choices of settings: head
sampling, mouth gain, training length); test (figures only: a non-English speaker, a
singer, a strong-sync and a long English clip). Left out: real_more/talk_retalking_face5
(the same source file as real/talk_vr_5), real/talk_lp_s18 and style_lp_d6 (music
soundtracks), style_lp_d12 (no sync found).

Audio leads (seconds the soundtrack leads the mouth; negative: it lags): measured by
`stylehead_jax.metrics.sync.audio_lead` (+-0.5 s, 60 fps tracks) on a build without
corrections (docs/motion.md, "Real clips", lists every clip's). A lead is corrected here
where two independent measurements agree: ours and SOURCES.md's (+-0.2 s, source fps, its
own opening measure) within 0.1 s, on a lead of at least LEAD_TO_CORRECT. The VoxCeleb2
crops are synced by their dataset's construction and 4-14 s long, where a chance r reaches
0.3-0.4 (SOURCES.md): none is shifted. talk_retalking_face1 (ours +0.37 s, SOURCES.md
-0.04 s) and talk_dfrf_french (-0.02 s against +0.10 s) disagree: left as they are.

Licences (as stated by their repositories; ../shared/data/*/SOURCES.md): the clips are for
testing, evaluation and research training here; none of them is copied into the project.
Weights that ship (pretrained/, `make pretrained`) train only on `shippable` clips: a
permissive licence (SHIPPABLE_LICENCES) and a folder whose SOURCES.md does not limit its
media to testing and evaluation (TESTING_ONLY_FOLDERS).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

RESOLUTION = 256
OVERRIDES = f"resolution={RESOLUTION},speaker_pattern=^p_,collection=real_clips"
SPLITS = ("train", "validation", "test")
LEAD_TO_CORRECT = 0.1  # seconds
SHIPPABLE_LICENCES = ("MIT", "Apache-2.0")
# Their SOURCES.md: "use these for testing and evaluation only" (real/: the people's rights
# in their likeness and voice), "Testing and evaluation only" (voxceleb2_sample/).
TESTING_ONLY_FOLDERS = ("real/", "voxceleb2_sample/")


@dataclasses.dataclass(frozen=True)
class Clip:
  path: str  # under ../shared/data
  person: str
  split: str
  audio_lead: float = 0.0  # seconds; corrected by the builder (audio_offsets.tsv)
  licence: str = ""
  note: str = ""

  @property
  def relative(self) -> str:
    """Its path in the manual_dir: p_<person>/<file>."""
    return f"p_{self.person}/{os.path.basename(self.path)}"


def _vox(name: str, person: str, split: str) -> Clip:
  return Clip(f"voxceleb2_sample/{name}.mp4", person, split, licence="CC BY 4.0 (VoxCeleb2)",
              note="English (presumed)")


CLIPS = (
    # train
    Clip("real/talk_hdtf_aoc.mp4", "aoc", "train", audio_lead=-0.100, licence="HDTF (YouTube, none stated)"),
    Clip("real/talk_lp_d20.mp4", "lp_d20", "train", audio_lead=-0.267, licence="MIT (LivePortrait)"),
    Clip("real/talk_vr_5.mp4", "vr_5", "train", licence="Apache-2.0 (video-retalking)"),
    Clip("real_more/talk_edtalk_uncropobama.mp4", "obama", "train", audio_lead=-0.217,
         licence="Apache-2.0 (EDTalk)"),
    Clip("real_more/talk_lia_obama20to40s.mp4", "obama", "train", audio_lead=-0.233,
         licence="CC BY-NC 4.0 (LIA)"),
    Clip("real_more/talk_dfrf_french.mp4", "macron", "train", licence="MIT (DFRF)",
         note="French"),
    Clip("real_more/sing_aniportrait_aragakidriving.mp4", "aragaki", "train",
         audio_lead=0.183, licence="Apache-2.0 (AniPortrait)", note="singing"),
    _vox("00002", "vox_00002", "train"),
    _vox("00010", "vox_00010", "train"),
    _vox("00015", "vox_00015", "train"),
    _vox("00473", "vox_00473", "train"),
    _vox("517600055", "vox_5176", "train"),
    _vox("731200067", "vox_7312", "train"),
    _vox("741400104", "vox_7414", "train"),  # the same id prefix: taken as one person
    _vox("741400163", "vox_7414", "train"),
    # validation
    Clip("real_more/talk_tpsmm_driving.mp4", "tpsmm", "validation", audio_lead=-0.100,
         licence="MIT (TPSMM)"),
    Clip("real_more/talk_real3dportrait_may5s.mp4", "may", "validation",
         audio_lead=-0.133, licence="MIT (Real3DPortrait)"),
    Clip("real_more/talk_headgan_driving.mp4", "headgan", "validation",
         audio_lead=-0.183, licence="CC BY-NC-SA 4.0 (headGAN)"),
    _vox("00098", "vox_00098", "validation"),
    _vox("681100216", "vox_6811", "validation"),
    # test
    Clip("real_more/talk_mimictalk_german20s.mp4", "german_anchor", "test",
         licence="MIT (MimicTalk)", note="German"),
    Clip("real_more/sing_aniportrait_num18driving.mp4", "num18", "test",
         audio_lead=-0.117, licence="Apache-2.0 (AniPortrait)", note="singing, Japanese"),
    Clip("real_more/talk_retalking_face1.mp4", "retalking_face1", "test",
         licence="Apache-2.0 (video-retalking)"),
    Clip("real_more/talk_dfrf_cnn2.mp4", "cnn2", "test", licence="MIT (DFRF)"),
    Clip("real_more/talk_wav2lipgfpgan_kim7s.mp4", "kim", "test", audio_lead=-0.100,
         licence="none stated (Wav2Lip-GFPGAN): evaluation only"),
)


def clip_id(clip: Clip) -> str:
  """The builder's clip id of its first (only) segment."""
  return os.path.splitext(clip.relative)[0] + "#0"


def of_split(split: str) -> tuple[Clip, ...]:
  return tuple(c for c in CLIPS if c.split == split)


def shippable(clip: Clip) -> bool:
  """Whether weights trained or tuned on `clip` may ship with the project."""
  return (not clip.path.startswith(TESTING_ONLY_FOLDERS)
          and clip.licence.split(" ")[0] in SHIPPABLE_LICENCES)


def unshippable_ids(split: str) -> tuple[str, ...]:
  """Clip ids of `split` that shipped weights must not see (config.data.exclude_clips)."""
  return tuple(clip_id(c) for c in of_split(split) if not shippable(c))


def shippable_ids(split: str) -> tuple[str, ...]:
  return tuple(clip_id(c) for c in of_split(split) if shippable(c))


def clips_seen(config: dict) -> dict:
  """The clips a Motion Generator run (its config.json, a dict) trained on and had its
  head sampling and mouth gain fitted on, and those its figures come from, each with its
  licence and whether weights trained on it may ship (stylehead_jax/pretrained.export's
  `clips`).

  Raises:
    ValueError: the run's data are not these clips (configs/motion_generator.py:real).
  """
  data = config["data"]
  if (data["name"], data.get("overrides")) != ("talking_head_videos", OVERRIDES):
    raise ValueError(f"the run trained on {data['name']} ({data.get('overrides')}), not "
                     "the real clips: the shipped Motion Generator is "
                     "configs/motion_generator.py:real,shipped")
  excluded = set(data.get("exclude_clips", ()))
  fitted = set(data.get("validation_clip_ids", ()))
  row = lambda c: {"clip": c.path, "person": c.person, "licence": c.licence,
                   "shippable": shippable(c)}
  return {
      "trained_on": [row(c) for c in of_split("train") if clip_id(c) not in excluded],
      "calibrated_on": [row(c) for c in of_split("validation")
                        if not fitted or clip_id(c) in fitted],
      "measured_on": [row(c) for c in of_split("test")],
      "synthetic": "synthetic_talking_heads (procedural, made by this project)",
  }


def make_manual_dir(shared: str, folder: str) -> str:
  """`folder` with a link per clip (p_<person>/<file>), audio_offsets.tsv and splits.tsv."""
  for clip in CLIPS:
    source = os.path.abspath(os.path.join(shared, clip.path))
    if not os.path.exists(source):
      raise FileNotFoundError(f"{source}: missing (--shared points at ../shared/data)")
    link = os.path.join(folder, clip.relative)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.lexists(link):
      os.symlink(source, link)
  with open(os.path.join(folder, "audio_offsets.tsv"), "w") as f:
    f.writelines(f"{c.relative}\t{c.audio_lead}\n" for c in CLIPS if c.audio_lead)
  with open(os.path.join(folder, "splits.tsv"), "w") as f:
    f.writelines(f"{c.relative}\t{c.split}\n" for c in CLIPS)
  return folder


def build(data_dir: str, shared: str):
  """The built talking_head_videos builder of CLIPS (built the first time)."""
  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds
  from stylehead_jax import datasets
  from stylehead_jax import overrides as overrides_lib
  builder = datasets.make_builder("talking_head_videos", data_dir,
                                  overrides_lib.parse(OVERRIDES))
  if not os.path.exists(os.path.join(builder.data_dir, "dataset_info.json")):
    manual = make_manual_dir(shared, os.path.join(data_dir, "real_clips_videos"))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual))
  return builder


def default_shared() -> str:
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data_dir", required=True, help="TFDS data directory")
  parser.add_argument("--shared", default=default_shared(), help="../shared/data")
  args = parser.parse_args(argv)
  # pylint: disable=g-import-not-at-top
  from stylehead_jax import console
  console.import_tensorflow()
  console.log_to_workdir(args.data_dir, "build_real_clips")
  builder = build(args.data_dir, args.shared)
  splits = ", ".join(f"{k}: {v.num_examples}" for k, v in builder.info.splits.items())
  print(f"real clips ready in {builder.data_dir} ({splits})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
