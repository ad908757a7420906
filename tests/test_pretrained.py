"""The shipped model set (pretrained/, stylehead_jax/pretrained.py): what it was trained on,
how it is exported, and that animate uses it by default."""

import importlib.util
import json
import pathlib
import shutil

import numpy as np
import pytest

from data_prep import real_clips
from stylehead_jax import animate
from stylehead_jax import media
from stylehead_jax import pretrained
from stylehead_jax.metrics import mouth
from tests.conftest import REPO

_SPEC = importlib.util.spec_from_file_location("export_pretrained",
                                               REPO / "eval" / "export_pretrained.py")
export_pretrained = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(export_pretrained)


def _as_real_run(tiny_workdir, folder, *, shipped: bool):
  """A copy of a tiny Motion Generator run whose config says it trained on the real clips
  (all of the train split, or only the shippable ones), with two checkpoint steps."""
  shutil.copytree(tiny_workdir, folder)
  config = json.loads((folder / "config.json").read_text())
  config["data"].update(name="talking_head_videos", overrides=real_clips.OVERRIDES,
                        exclude_clips=real_clips.unshippable_ids("train") if shipped else [],
                        validation_clip_ids=real_clips.shippable_ids("validation")
                        if shipped else [])
  (folder / "config.json").write_text(json.dumps(config))
  steps = sorted(p for p in (folder / "checkpoints").iterdir() if p.name.isdigit())
  shutil.copytree(steps[-1], folder / "checkpoints" / str(int(steps[-1].name) + 1000))
  return folder


def _clips(workdir):
  return real_clips.clips_seen(json.loads((workdir / "config.json").read_text()))


def test_export_ships_the_last_step_with_its_manifest_and_refuses_other_clips(
    tiny_motion, tmp_path, capsys):
  synthetic = pathlib.Path(tiny_motion[1])
  with pytest.raises(ValueError, match="not the real clips"):
    _clips(synthetic)
  everything = _as_real_run(synthetic, tmp_path / "all", shipped=False)
  code = export_pretrained.main(["--motion_generator", str(everything), "--out",
                                 str(tmp_path / "b"), "--command", "c"])
  err = capsys.readouterr().err.strip()
  assert code == 2 and len(err.splitlines()) == 1
  assert "licence keeps its weights from shipping" in err
  assert "voxceleb2_sample/" in err and "real/" in err
  assert not (tmp_path / "b").exists() and not (tmp_path / "b.partial").exists()

  run = _as_real_run(synthetic, tmp_path / "shipped", shipped=True)
  out = tmp_path / "pretrained"
  assert export_pretrained.main(["--motion_generator", str(run), "--out", str(out),
                                 "--command", "make pretrained", "--seconds",
                                 "train=1"]) == 0
  manifest = json.loads((out / pretrained.MANIFEST_FILE).read_text())
  last = max(int(p.name) for p in (run / "checkpoints").iterdir() if p.name.isdigit())
  assert [p.name for p in (out / "motion_generator" / "checkpoints").iterdir()] == [str(last)]
  mg = manifest["stages"]["motion_generator"]
  assert mg["step"] == last and manifest["command"] == "make pretrained"
  assert manifest["seconds"] == {"train": 1.0}
  assert {c["person"] for c in mg["clips"]["trained_on"]} == {
      c.person for c in real_clips.of_split("train") if real_clips.shippable(c)}
  assert all(c["shippable"] and c["licence"] for part in ("trained_on", "calibrated_on")
             for c in mg["clips"][part])
  assert len(mg["clips"]["measured_on"]) == len(real_clips.of_split("test"))
  assert animate.pick_renderer(str(out)) == "warp"
  assert animate.stage_workdirs(str(out), "warp")["motion_generator"] == str(
      out / "motion_generator")


def test_the_shipped_set_is_what_its_manifest_says():
  manifest = json.loads((REPO / "pretrained" / pretrained.MANIFEST_FILE).read_text())
  assert pretrained.folder_bytes(pretrained.DIR) <= pretrained.MAX_BYTES
  mg = manifest["stages"]["motion_generator"]
  config = json.loads((REPO / "pretrained" / mg["config"]).read_text())
  assert real_clips.clips_seen(config) == mg["clips"]  # its config trained on those clips
  assert all(c["shippable"] for c in mg["clips"]["trained_on"] + mg["clips"]["calibrated_on"])
  assert len(manifest["commit"]) >= 40 and manifest["seconds"]["train"] > 0
  assert mg["real_mouth_figures"]["summary"]["mouth_opening_r"] > 0


def test_animate_uses_the_shipped_set_by_default(real_dir, tmp_path):
  """A real photograph, one second of real speech, no --checkpoints and no --renderer: the
  shipped Motion Generator moves the mouth and the warp renders it."""
  speech = media.load_audio(real_dir / "speech_jfk_en.wav")
  media.write_wav(tmp_path / "one_second.wav", speech[:media.SAMPLE_RATE])
  code = animate.main(["--portrait", str(real_dir / "face_dt_face3.png"), "--audio",
                       str(tmp_path / "one_second.wav"), "--out", str(tmp_path / "o.mp4"),
                       "--resolution", "128", "--quiet", "--json", str(tmp_path / "s.json")])
  assert code == 0
  summary = json.loads((tmp_path / "s.json").read_text())
  assert summary["renderer"] == "warp" and summary["frames"] == media.FPS
  assert summary["checkpoints"]["motion_generator"] == str(REPO / "pretrained" /
                                                           "motion_generator")
  _, out = animate.animate(str(real_dir / "face_dt_face3.png"), str(tmp_path / "one_second.wav"),
                           pretrained.DIR, str(tmp_path / "p.mp4"), resolution=128,
                           progress=False, keep_motion=True)
  opening = mouth.opening(out["motion"].landmarks)
  assert np.ptp(opening) > 0.05  # it speaks: the mouth opens and closes by > 5% eye distance
  assert media.read_video(tmp_path / "o.mp4").frames.shape == (media.FPS, 128, 128, 3)
