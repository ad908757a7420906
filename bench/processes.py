"""What the whole-command benchmarks share: run a command and measure it, and make long
videos by looping a clip."""

import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import psutil

from stylehead_jax import media


def measured(command, cwd=None, env=None) -> dict:
  """Runs `command`; its wall seconds, CPU seconds (user + system of the command and
  everything it started), peak memory (the sum of the resident sets of the command and its
  descendants, sampled every 20 ms) and stdout. Exits naming the command if it fails."""
  cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
  start = time.perf_counter()
  with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
      try:
        rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        peak = max(peak, rss)
      except psutil.Error:
        pass
      time.sleep(0.02)
    wall = time.perf_counter() - start
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
  if proc.returncode:
    sys.exit(f"{' '.join(map(str, command))} failed:\n{stderr[-2000:]}")
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  return {"wall_s": round(wall, 2),
          "cpu_s": round(after.ru_utime - cpu.ru_utime + after.ru_stime - cpu.ru_stime, 2),
          "peak_mb": round(peak / 2 ** 20), "stdout": stdout}


def looped(video, minutes: float, folder, audio: bool = False) -> str:
  """`video` looped to `minutes` in `folder` (H.264 at its own size and frame rate; with
  its soundtrack looped as AAC if `audio`)."""
  path = os.path.join(folder, f"{pathlib.Path(video).stem}_{minutes:g}min.mp4")
  sound = ["-c:a", "aac"] if audio else ["-an"]
  subprocess.run([media.ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i",
                  str(video), "-t", str(minutes * 60), *sound, "-c:v", "libx264", "-preset",
                  "veryfast", "-crf", "18", path], check=True)
  return path
