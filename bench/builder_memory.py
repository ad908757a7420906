"""Where the talking_head_videos builder's memory goes, part by part, on a looped clip.

  python bench/builder_memory.py --minutes 2.5 --part_seconds 15 --mode prepare
  python bench/builder_memory.py --minutes 5 --mode build

The source: talk_hdtf_aoc.mp4 of ../shared/data/real looped with its sound to --minutes
(512 x 512, 25 fps), prepared at 256 px with parts of --part_seconds.
--mode prepare: prepare_video alone (tracking and each part's arrays, nothing encoded);
  prints the resident set after each part, with the ffmpeg children's.
--mode build: the whole download_and_prepare in this process, the resident set sampled
  every --every seconds by a thread and labelled with the part being tracked (part k:
  after part k-1 was handed to TFDS) or written (TFDS encoding part k); prints the
  largest sample per label.
Both end with the process's own peak (ru_maxrss). bench/long_videos.py measures the whole
command's peak against length; this says in which part and phase it is reached.
"""

import argparse
import os
import pathlib
import resource
import sys
import tempfile
import threading
import time

import psutil

import processes  # bench/processes.py, beside this file

REAL = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
MB = 2 ** 20


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--minutes", type=float, default=2.5)
  parser.add_argument("--part_seconds", type=float, default=60.0)
  parser.add_argument("--mode", choices=("prepare", "build"), default="prepare")
  parser.add_argument("--every", type=float, default=0.5, help="seconds between samples")
  args = parser.parse_args()
  # pylint: disable=g-import-not-at-top
  from stylehead_jax import console
  console.import_tensorflow()
  import tensorflow_datasets as tfds
  from data_prep.talking_head_videos import talking_head_videos as thv
  from stylehead_jax import datasets
  me = psutil.Process()
  children = lambda: sum(c.memory_info().rss for c in me.children(recursive=True)) / MB
  with tempfile.TemporaryDirectory() as tmp:
    videos = os.path.join(tmp, "videos")
    os.makedirs(videos)
    name = os.path.basename(processes.looped(REAL / "talk_hdtf_aoc.mp4", args.minutes,
                                             videos, audio=True))
    if args.mode == "prepare":
      prep = thv.PrepConfig(resolution=256, max_segment_seconds=args.part_seconds)
      for k, (_, example) in enumerate(thv.prepare_video(videos, name, 0.0, prep)):
        del example
        print(f"part {k}: {me.memory_info().rss / MB:,.0f} MB, ffmpeg children "
              f"{children():,.0f} MB", flush=True)
    else:
      label, peaks = ["start"], {}

      def sample():
        while True:
          rss = me.memory_info().rss / MB + children()
          peaks[label[0]] = max(peaks.get(label[0], 0.0), rss)
          time.sleep(args.every)

      threading.Thread(target=sample, daemon=True).start()
      prepare = thv.prepare_video

      def labelled(*a, **kw):
        label[0] = "tracking part 0"
        for k, item in enumerate(prepare(*a, **kw)):
          label[0] = f"writing part {k}"
          yield item
          label[0] = f"tracking part {k + 1}"
        label[0] = "TFDS finishing"

      thv.prepare_video = labelled
      builder = datasets.make_builder(
          "talking_head_videos", os.path.join(tmp, "tfds"),
          {"resolution": "256", "test_fraction": "0",
           "max_segment_seconds": str(args.part_seconds)})
      builder.download_and_prepare(
          download_config=tfds.download.DownloadConfig(manual_dir=videos))
      time.sleep(2 * args.every)
      for phase, peak in peaks.items():
        print(f"{phase}: {peak:,.0f} MB at most (with children)", flush=True)
  print(f"peak of this process (ru_maxrss): "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
  sys.exit(main())
