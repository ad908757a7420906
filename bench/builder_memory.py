"""Where the talking_head_videos builder's memory goes, part by part, on a looped clip.

  python bench/builder_memory.py --minutes 2.5 --part_seconds 15 --mode prepare
  python bench/builder_memory.py --minutes 5 --mode build

The source: talk_hdtf_aoc.mp4 of ../shared/data/real looped with its sound to --minutes
(512 x 512, 25 fps), prepared at 256 px with parts of --part_seconds.
--mode prepare: prepare_video alone (tracking and each part's arrays, nothing encoded);
  prints the resident set after each part, with the ffmpeg children's.
--mode build: the whole download_and_prepare in this process, cut into phases: the part
  being tracked (part k: after part k-1 was handed to TFDS; within it, reading the
  soundtrack, the first pass over every frame, the second pass's crops and the region
  maps, each its own phase) or written (TFDS encoding part k). Prints each phase's exact
  peak of this process (Linux's VmHWM, reset as each phase begins: no moment is missed)
  and the ffmpeg children's, sampled every --every seconds.
Both end with the process's own peak. bench/long_videos.py measures the whole
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


def high_water_mark() -> float:
  """This process's peak resident set (MB) since the start or the last `reset`."""
  with open("/proc/self/status") as f:
    return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def reset() -> None:
  with open("/proc/self/clear_refs", "w") as f:  # Linux: "5" resets VmHWM to the present
    f.write("5")


class Phases:
  """The exact peak of this process's resident set in each phase, however brief the
  moment: the kernel's high-water mark read as a phase ends and reset as the next begins
  (a phase entered more than once keeps its largest)."""

  def __init__(self):
    self.name, self.peaks = "start", {}
    reset()

  def enter(self, name: str) -> None:
    self.peaks[self.name] = max(self.peaks.get(self.name, 0.0), high_water_mark())
    reset()
    self.name = name


def within(phases: Phases, module, attribute: str, name: str) -> None:
  """Makes each call of module.attribute a phase `name`, then the caller's phase again."""
  function = getattr(module, attribute)

  def wrapped(*args, **kwargs):
    outer = phases.name
    phases.enter(name)
    try:
      return function(*args, **kwargs)
    finally:
      phases.enter(outer)

  setattr(module, attribute, wrapped)


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
  from stylehead_jax import media
  from stylehead_jax.landmarks import regions
  from stylehead_jax.landmarks import tracking
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
      print(f"peak of this process (ru_maxrss): "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    else:
      phases = Phases()
      ffmpeg = {}

      def sample():  # the ffmpeg children's share, which VmHWM does not see
        while True:
          ffmpeg[phases.name] = max(ffmpeg.get(phases.name, 0.0), children())
          time.sleep(args.every)

      threading.Thread(target=sample, daemon=True).start()
      prepare = thv.prepare_video

      def labelled(*a, **kw):
        phases.enter("tracking part 0")
        for k, item in enumerate(prepare(*a, **kw)):
          phases.enter(f"writing part {k}")
          yield item
          phases.enter(f"tracking part {k + 1}")
        phases.enter("TFDS finishing")

      thv.prepare_video = labelled
      # Steps inside a part's tracking, each its own phase (then back to the part's).
      within(phases, media, "load_audio", "reading the soundtrack")
      within(phases, tracking, "detect_track", "first pass: landmarks of every frame")
      within(phases, tracking, "_segment_track", "second pass: crops")
      within(phases, regions, "region_maps", "region maps")
      builder = datasets.make_builder(
          "talking_head_videos", os.path.join(tmp, "tfds"),
          {"resolution": "256", "test_fraction": "0",
           "max_segment_seconds": str(args.part_seconds)})
      builder.download_and_prepare(
          download_config=tfds.download.DownloadConfig(manual_dir=videos))
      time.sleep(2 * args.every)
      phases.enter("end")
      for phase, peak in phases.peaks.items():
        print(f"{phase}: {peak:,.0f} MB at most, ffmpeg children "
              f"{ffmpeg.get(phase, 0.0):,.0f} MB", flush=True)
      # (ru_maxrss is the same high-water mark, reset with it: the phases' largest is it.)
      print(f"peak of this process: {max(phases.peaks.values()):,.0f} MB")


if __name__ == "__main__":
  sys.exit(main())
