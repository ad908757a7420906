"""Prepares a dataset: `python -m data_prep.build <dataset> --data_dir DIR [--set k=v ...]`.

  python -m data_prep.build synthetic_talking_heads --data_dir ~/tensorflow_datasets
  python -m data_prep.build synthetic_talking_heads --data_dir DIR --set resolution=128
  python -m data_prep.build talking_head_videos --manual_dir VIDEOS --data_dir DIR
  python -m data_prep.build speech_audio --manual_dir AUDIO --data_dir DIR
  python -m data_prep.build caer_s --manual_dir CAER-S --data_dir DIR
  python -m data_prep.build caer_s --manual_dir CAER --data_dir DIR --set source=videos
  python -m data_prep.build synthetic_context_emotion --data_dir DIR

`--set key=value` (repeatable) changes a builder config value; the builder then gets a
config name of its own (printed), which training configs name in `config.data.overrides`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from stylehead_jax import console

console.import_tensorflow()  # first: its C++ start-up lines go to the log
# pylint: disable=g-import-not-at-top,wrong-import-position
from stylehead_jax import datasets
from stylehead_jax import overrides as overrides_lib


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m data_prep.build", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("dataset", choices=datasets.names(), help="which builder to run")
  parser.add_argument("--data_dir", "-d", required=True, help="TFDS data directory to write")
  parser.add_argument("--set", "-s", dest="overrides", action="append", default=[],
                      metavar="KEY=VALUE", help="builder config value (repeatable)")
  parser.add_argument("--beam", action="store_true",
                      help="prepare with Apache Beam (talking_head_videos)")
  parser.add_argument("--beam_options", default="--runner=DirectRunner",
                      help="Beam pipeline options, e.g. '--runner=DataflowRunner --project=P'")
  parser.add_argument("--manual_dir", "-m", default=None,
                      help="folder of the user's media (talking_head_videos, speech_audio, caer_s)")
  args = parser.parse_args(argv)
  # Library lines (TFDS's INFO and deprecation lines) go to DATA_DIR/build_<dataset>.log.
  console.log_to_workdir(args.data_dir, f"build_{args.dataset}")
  try:
    builder = datasets.make_builder(args.dataset, args.data_dir,
                                    overrides_lib.parse(args.overrides))
  except (KeyError, ValueError) as e:
    parser.error(str(e.args[0] if e.args else e))
  start = time.time()
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  if args.manual_dir and not os.path.isdir(args.manual_dir):
    parser.error(f"--manual_dir {args.manual_dir}: no such folder")
  download_config = tfds.download.DownloadConfig(manual_dir=args.manual_dir)
  if args.beam:
    if not hasattr(builder, "use_beam"):
      parser.error(f"{args.dataset} has no Beam pipeline")
    try:
      from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
    except ImportError:
      parser.error("--beam needs apache-beam: pip install stylehead_jax[beam]")
    builder.use_beam = True
    download_config = tfds.download.DownloadConfig(
        manual_dir=args.manual_dir,
        beam_options=pipeline_options.PipelineOptions(args.beam_options.split()))
  builder.download_and_prepare(download_config=download_config)
  splits = ", ".join(f"{k}: {v.num_examples}" for k, v in builder.info.splits.items())
  print(f"{builder.name}/{builder.builder_config.name} {builder.version} ready in "
        f"{builder.data_dir} ({splits}; {time.time() - start:.1f} s)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
