"""animate: portrait + audio (+ style video) -> mp4 with sound; every bad input one line.

The checkpoints are the session's tiny runs (conftest: a two-step :runlocal Motion Generator;
for the generator renderer also the 32 px Style Mapping and Style-Aware Generator, which
only the slow tier waits for), so the videos are not pretty; what is
checked is the product's contract: frames and sound of the right length, the stages and
their summary, the caches, paste-back framing, and that every bad input fails with one
line naming the file, exit code 2 and nothing written.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from stylehead_jax import animate
from stylehead_jax import media
from stylehead_jax.landmarks import detectors
from stylehead_jax.style import amplitude
from tests.conftest import run

RESOLUTION = 128  # the tracker re-detects the face on its crop: 64 px is too small for dlib


@pytest.fixture(scope="module")
def checkpoints(tiny_motion, tmp_path_factory):
  """A checkpoints folder with what the warp renderer needs: the Motion Generator's workdir
  and a manifest."""
  root = tmp_path_factory.mktemp("checkpoints")
  animate.write_manifest(str(root), {"motion_generator": str(tiny_motion[1])})
  return root


@pytest.fixture(scope="module")
def all_checkpoints(tiny_motion, style_mapping_run, style_aware_generator_run,
                    tmp_path_factory):
  """A checkpoints folder as `make demo-train` leaves one: every stage's workdir and a manifest."""
  root = tmp_path_factory.mktemp("all_checkpoints")
  animate.write_manifest(str(root), {
      "motion_generator": str(tiny_motion[1]), "style_mapping": str(style_mapping_run[0]),
      "style_aware_generator": str(style_aware_generator_run[0])})
  return root


@pytest.fixture(scope="module")
def media_dir(real_dir, tmp_path_factory):
  """Inputs made from the real media: short speech in several containers, rates and
  channel counts, and portraits in several image modes and sizes."""
  d = tmp_path_factory.mktemp("media")
  speech = media.load_audio(real_dir / "speech_radio31.wav")[:int(1.5 * media.SAMPLE_RATE)]
  media.write_wav(d / "speech.wav", speech)
  ffmpeg = media.ffmpeg_exe()
  encode = lambda name, *args: subprocess.run(
      [ffmpeg, "-v", "error", "-y", "-i", str(d / "speech.wav"), *args, str(d / name)],
      check=True)
  encode("speech_8k.wav", "-ar", "8000")
  encode("speech_48k_stereo.wav", "-ar", "48000", "-ac", "2")
  encode("speech.mp3", "-c:a", "libmp3lame")
  encode("speech.ogg", "-c:a", "libvorbis")
  encode("speech.flac")
  media.write_wav(d / "silent.wav", np.zeros(media.SAMPLE_RATE, np.float32))
  media.write_wav(d / "short.wav", speech[:int(0.2 * media.SAMPLE_RATE)])
  portrait = Image.open(real_dir / "face_happy.png").convert("RGB")
  portrait.save(d / "portrait.png")
  portrait.convert("RGBA").save(d / "rgba.png")
  portrait.convert("L").save(d / "grey.png")
  portrait.convert("CMYK").save(d / "cmyk.jpg")
  portrait.resize((4000, 4000), Image.BICUBIC).save(d / "large.jpg", quality=85)
  portrait.resize((90, 90), Image.BICUBIC).save(d / "tiny.png")
  frames = np.repeat(np.asarray(portrait)[None], 30, 0)
  media.write_video(d / "no_audio.mp4", frames)
  media.write_video(d / "with_audio.mp4", frames, audio=speech[:media.SAMPLE_RATE // 2])
  return d


def _args(checkpoints, out, portrait, audio, *extra):
  """The command line; the warp renderer unless `extra` names another."""
  return ["--portrait", str(portrait), "--audio", str(audio), "--checkpoints",
          str(checkpoints), "--out", str(out), "--resolution", str(RESOLUTION), "--quiet",
          "--renderer", "warp", *map(str, extra)]


# --- The product ------------------------------------------------------------------------
def test_cli_warp_renderer_writes_frames_and_sound_of_the_audio(checkpoints, media_dir,
                                                                 tmp_path):
  out = tmp_path / "warp.mp4"
  proc = run([sys.executable, "-m", "stylehead_jax.animate",
              *_args(checkpoints, out, media_dir / "portrait.png", media_dir / "speech.mp3",
                     "--json", tmp_path / "summary.json")])
  assert "INFO" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
  summary = json.loads((tmp_path / "summary.json").read_text())
  audio = media.load_audio(media_dir / "speech.mp3")
  frames = media.num_video_frames(len(audio))
  assert summary["frames"] == frames and summary["size"] == [RESOLUTION, RESOLUTION]
  assert set(summary["stages"]) == {"inputs", "motion", "frames"}
  assert summary["mouth"] == "interior"  # no mouth_painter run there: the drawn interior
  video = media.read_video(out)
  assert video.frames.shape == (frames, RESOLUTION, RESOLUTION, 3)
  assert abs(len(media.load_audio(out)) - frames * media.SAMPLES_PER_FRAME) < 0.05 * len(audio)
  # The face moves: consecutive frames differ.
  assert np.abs(np.diff(video.frames.astype(np.float32), axis=0)).mean() > 0.1
  assert (tmp_path / "warp.mp4.log").stat().st_size > 0  # the library's lines went here
  assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.slow
def test_generator_with_a_style_video_and_paste_back(all_checkpoints, media_dir, bad_dir,
                                                     tmp_path):
  """The whole pipeline through the API: the style video (a face that leaves the frame
  part-way) tracked once and cached, ISPs from its template frames, the generated crops
  pasted back into the portrait's framing."""
  style = bad_dir / "face_noface.mov"
  out, summary = animate.animate(
      media_dir / "grey.png", media_dir / "speech.wav", str(all_checkpoints),
      str(tmp_path / "gen.mp4"), style=str(style), resolution=RESOLUTION, paste_back=True,
      progress=False)
  assert set(summary["stages"]) == {"inputs", "style", "motion", "isps", "frames"}
  portrait = media.read_image(media_dir / "grey.png")
  video = media.read_video(out)
  assert video.frames.shape[1:3] == (portrait.shape[0] // 2 * 2, portrait.shape[1] // 2 * 2)
  # Far from the face the pasted frame is the portrait itself.
  corner = np.abs(video.frames[:, :8, :8].astype(int) - portrait[:8, :8]).mean()
  assert corner < 4, corner
  cached = list((all_checkpoints / ".cache" / "styles").glob("face_noface.mov-*.npz"))
  assert len(cached) == 1
  stamp = cached[0].stat().st_mtime_ns
  _, again = animate.animate(
      media_dir / "portrait.png", media_dir / "speech.wav", str(all_checkpoints),
      str(tmp_path / "again.mp4"), style=str(style), resolution=RESOLUTION, progress=False)
  assert cached[0].stat().st_mtime_ns == stamp  # read from the cache, not tracked again
  assert again["stages"]["style"]["seconds"] < summary["stages"]["style"]["seconds"]


@pytest.mark.slow
def test_style_steps_fine_tune_once_and_change_the_motion(checkpoints, media_dir, real_dir,
                                                          tmp_path):
  style = real_dir / "style_lp_d12.mp4"
  common = dict(style=str(style), renderer="warp", resolution=RESOLUTION, progress=False)
  plain = animate.animate(media_dir / "portrait.png", media_dir / "speech.wav",
                          str(checkpoints), str(tmp_path / "plain.mp4"), **common)[1]
  tuned = animate.animate(media_dir / "portrait.png", media_dir / "speech.wav",
                          str(checkpoints), str(tmp_path / "tuned.mp4"), style_steps=2,
                          **common)[1]
  runs = list((checkpoints / ".cache" / "style_transfer").iterdir())
  assert len(runs) == 1 and (runs[0] / "checkpoints" / "2").is_dir()
  a = media.read_video(tmp_path / "plain.mp4").frames.astype(np.float32)
  b = media.read_video(tmp_path / "tuned.mp4").frames.astype(np.float32)
  assert np.abs(a - b).mean() > 0.05  # two Adam steps moved the Motion Generator
  assert tuned["frames"] == plain["frames"]
  # Again: the fine-tuned run is read from the cache, not trained a second time.
  stamp = (runs[0] / "checkpoints" / "2").stat().st_mtime_ns
  animate.animate(media_dir / "portrait.png", media_dir / "speech.wav", str(checkpoints),
                  str(tmp_path / "again.mp4"), style_steps=2, **common)
  assert list((checkpoints / ".cache" / "style_transfer").iterdir()) == runs
  assert (runs[0] / "checkpoints" / "2").stat().st_mtime_ns == stamp
  c = media.read_video(tmp_path / "again.mp4").frames.astype(np.float32)
  np.testing.assert_array_equal(c, b)


def test_missing_stage_names_it_and_the_command_that_trains_it(checkpoints, media_dir,
                                                              tmp_path, capsys):
  partial = tmp_path / "ckpt"
  partial.mkdir()
  (partial / "motion_generator").symlink_to(checkpoints / json.loads(
      (checkpoints / animate.MANIFEST).read_text())["motion_generator"])
  code = animate.main(_args(partial, tmp_path / "o.mp4", media_dir / "portrait.png",
                            media_dir / "speech.wav", "--renderer", "generator"))
  err = capsys.readouterr().err.strip()
  assert code == 2 and len(err.splitlines()) == 1
  assert "no style_mapping checkpoint" in err and "configs/style_mapping.py" in err
  assert "--renderer warp" in err and not (tmp_path / "o.mp4").exists()


# --- Inputs that are handled --------------------------------------------------------------
@pytest.mark.parametrize("name", ["speech_8k.wav", "speech_48k_stereo.wav", "speech.mp3",
                                  "speech.ogg", "speech.flac", "with_audio.mp4"])
def test_audio_in_any_rate_channels_or_container_loads_at_24k(media_dir, name):
  audio = animate.load_audio(str(media_dir / name))
  seconds = 0.5 if name == "with_audio.mp4" else 1.5
  assert audio.ndim == 1 and abs(len(audio) / media.SAMPLE_RATE - seconds) < 0.06


def test_float_16k_speech_and_a_hevc_soundtrack_load(bad_dir):
  assert abs(len(animate.load_audio(str(bad_dir / "speech_float32_16k.wav")))
             / media.SAMPLE_RATE - 11.5) < 0.1
  assert len(animate.load_audio(str(bad_dir / "face_noface.mov"))) > 3 * media.SAMPLE_RATE


@pytest.fixture(scope="module")
def backend():
  return detectors.get_backend("dlib")


@pytest.mark.parametrize("name", ["rgba.png", "grey.png", "cmyk.jpg", "large.jpg"])
def test_portraits_in_any_mode_or_size_find_the_face(media_dir, backend, name):
  reference, _ = animate.load_portrait(str(media_dir / "portrait.png"), RESOLUTION, backend)
  face, warnings = animate.load_portrait(str(media_dir / name), RESOLUTION, backend)
  assert face.crop.shape == (RESOLUTION, RESOLUTION, 3) and not warnings
  # The same face: its landmarks in the crop within a few pixels of the RGB original's.
  assert np.abs(face.landmarks[:, :2] - reference.landmarks[:, :2]).mean() < 3


def test_several_faces_use_the_largest_with_one_warning(bad_dir, backend):
  face, warnings = animate.load_portrait(str(bad_dir / "multi_face.jpg"), RESOLUTION, backend)
  # Four faces; dlib's HOG detector finds three of them (one is turned away).
  assert face.faces >= 2 and len(warnings) == 1 and "largest" in warnings[0]
  boxes = backend.detect(media.read_image(bad_dir / "multi_face.jpg"))
  centre = (boxes[0, :2] + boxes[0, 2:4]) / 2
  assert np.linalg.norm(face.box[:2] - centre) < 0.25 * face.box[2]


# --- Inputs that fail: one line naming the file, exit 2, nothing written -------------------
def _fails(capsys, args, out, needle, named):
  code = animate.main(args)
  err = capsys.readouterr().err.strip()
  assert code == 2, err
  assert len(err.splitlines()) == 1 and "Traceback" not in err, err
  assert needle in err and str(named) in err, err
  assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))
  assert not pathlib.Path(animate.log_path(out)).exists()


@pytest.mark.parametrize("role,name,needle", [
    ("portrait", "bad:free-mountain-vector-01.jpg", "no face found"),
    ("portrait", "bad:corrupt.mp4", "unreadable image"),
    ("portrait", "tiny.png", "too small"),
    ("portrait", "missing.png", "no such file"),
    ("audio", "silent.wav", "silent"),
    ("audio", "short.wav", "too short"),
    ("audio", "no_audio.mp4", "no audio stream"),
    ("audio", "bad:corrupt.mp4", "unreadable audio"),
])
def test_bad_portrait_or_audio(checkpoints, media_dir, bad_dir, tmp_path, capsys, role, name,
                               needle):
  path = bad_dir / name[4:] if name.startswith("bad:") else media_dir / name
  inputs = {"portrait": media_dir / "portrait.png", "audio": media_dir / "speech.wav",
            role: path}
  out = tmp_path / "out.mp4"
  _fails(capsys, _args(checkpoints, out, inputs["portrait"], inputs["audio"]), out, needle,
         path)


@pytest.mark.parametrize("sound", ["no_stream", "silent_track"])
def test_a_style_video_without_sound(checkpoints, media_dir, styles_silent_dir, tmp_path,
                                     capsys, sound):
  """A silent style video gives its templates and its amplitude (no fine-tune), and
  --style_steps fine-tunes to its motion with the Motion Generator driven by --audio
  (which keys the cache: another audio file trains again)."""
  style = styles_silent_dir / "style_furious_talk2_clip1.mp4"  # 2 s, no audio stream
  if sound == "silent_track":
    style = tmp_path / "silent_track.mp4"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-i", str(styles_silent_dir /
                    "style_furious_talk2_clip1.mp4"), "-f", "lavfi", "-i",
                    "anullsrc=r=44100:cl=stereo", "-shortest", "-c:v", "copy", "-c:a", "aac",
                    str(style)], check=True)
  out = tmp_path / "out.mp4"
  common = (media_dir / "portrait.png", media_dir / "speech.wav", "--style", style)
  assert animate.main(_args(checkpoints, out, *common, "--json", tmp_path / "out.json")) == 0
  assert out.exists()
  assert json.loads((tmp_path / "out.json").read_text())["style_amplitude"] == {
      "head_centre": "mean", "mouth_match": "p95", "mouth_width": "generated_width",
      "head_tempo": "model_tempo"}
  reference = animate.load_style(str(style), RESOLUTION, str(checkpoints / ".cache"))
  assert not reference["has_audio"] and reference["template_frames"].shape[0] == 4
  if sound == "no_stream":  # its amplitude moves the motion; --no_style_amplitude does not
    plain = tmp_path / "plain.mp4"
    assert animate.main(_args(checkpoints, plain, *common, "--no_style_amplitude")) == 0
    a, b = (media.read_video(p).frames.astype(np.float32) for p in (out, plain))
    assert np.abs(a - b).mean() > 0.05
  if sound == "no_stream":
    cached = lambda: set(os.listdir(checkpoints / ".cache" / "style_transfer"))
    before = cached() if (checkpoints / ".cache" / "style_transfer").exists() else set()
    tuned = tmp_path / "tuned.mp4"
    assert animate.main(_args(checkpoints, tuned, *common, "--style_steps", "2",
                              "--json", tmp_path / "tuned.json")) == 0
    assert tuned.exists() and len(cached() - before) == 1
    # after a fine-tune the mouth is matched percentile by percentile
    tuned_amplitude = json.loads((tmp_path / "tuned.json").read_text())["style_amplitude"]
    assert tuned_amplitude["mouth_match"] == amplitude.FINE_TUNED_MOUTH_MATCH == "quantiles"
    # and its width held to the portrait's (amplitude.hold_mouth_width)
    assert tuned_amplitude["mouth_width"] == amplitude.FINE_TUNED_MOUTH_WIDTH
    # and its head at the style's tempo both ways (amplitude.tempo_speedup, slow_head)
    assert tuned_amplitude["head_tempo"] == amplitude.FINE_TUNED_HEAD_TEMPO == "matched_tempo"
    run = checkpoints / ".cache" / "style_transfer" / (cached() - before).pop()
    config = json.loads((run / "config.json").read_text())
    assert config["style"]["drive_audio"] == str(media_dir / "speech.wav")
    assert config["loss"]["mg_weight"] == 0
    assert config["critic"]["head_weight"] == animate.ANIMATE_HEAD_WEIGHT == 0
    other = tmp_path / "other.wav"
    media.write_wav(other, media.load_audio(media_dir / "speech.wav")[::-1].copy())
    assert animate.main(_args(checkpoints, tmp_path / "tuned2.mp4", media_dir / "portrait.png",
                              other, "--style", style, "--style_steps", "2")) == 0
    assert len(cached() - before) == 2


def test_style_video_without_a_face(checkpoints, media_dir, bad_dir, tmp_path, capsys):
  out = tmp_path / "out.mp4"
  _fails(capsys, _args(checkpoints, out, media_dir / "portrait.png", media_dir / "speech.wav",
                       "--style", bad_dir / "no_face.mp4"), out, "no usable face",
         bad_dir / "no_face.mp4")


@pytest.mark.parametrize("where", ["missing_folder", "not_writable", "an_input"])
def test_bad_output_is_refused_and_the_input_kept(checkpoints, media_dir, tmp_path, capsys,
                                               where):
  audio = tmp_path / "talk.mp4"
  audio.write_bytes((media_dir / "with_audio.mp4").read_bytes())
  before = audio.read_bytes()
  out = {"missing_folder": tmp_path / "nowhere" / "out.mp4",
         "not_writable": "/proc/out.mp4", "an_input": audio}[where]
  code = animate.main(_args(checkpoints, out, media_dir / "portrait.png", audio))
  err = capsys.readouterr().err.strip()
  assert code == 2 and len(err.splitlines()) == 1 and str(out) in err, err
  assert {"missing_folder": "does not exist", "not_writable": "not writable",
          "an_input": "also an input"}[where] in err
  assert audio.read_bytes() == before


def test_the_log_never_replaces_a_file_of_the_users(checkpoints, media_dir, tmp_path, capsys):
  """The log goes to OUT.mp4.log: the user's OUT.log beside the video is left as it was,
  and a log path that is one of the inputs is refused before any work."""
  out, theirs = tmp_path / "talk.mp4", tmp_path / "talk.log"
  theirs.write_text("the user's own notes\n")
  code = animate.main(_args(checkpoints, out, media_dir / "portrait.png",
                            media_dir / "speech.wav"))
  assert code == 0, capsys.readouterr().err
  assert theirs.read_text() == "the user's own notes\n"
  assert pathlib.Path(animate.log_path(out)).stat().st_size > 0
  audio = tmp_path / "again.mp4.log"
  audio.write_bytes((media_dir / "speech.wav").read_bytes())
  code = animate.main(_args(checkpoints, tmp_path / "again.mp4", media_dir / "portrait.png",
                            audio))
  err = capsys.readouterr().err.strip()
  assert code == 2 and err == f"error: {audio}: the output is also an input; it would be " \
      "overwritten", err
  assert not (tmp_path / "again.mp4").exists() and audio.read_bytes() == (media_dir / "speech.wav").read_bytes()


def test_the_command_line_exits_2_with_one_line_and_no_traceback(checkpoints, media_dir,
                                                                 bad_dir, tmp_path):
  out = tmp_path / "out.mp4"
  proc = run([sys.executable, "-m", "stylehead_jax.animate",
              *_args(checkpoints, out, bad_dir / "free-mountain-vector-01.jpg",
                     media_dir / "speech.wav")], check=False)
  assert proc.returncode == 2 and not out.exists()
  assert proc.stderr.strip().splitlines() == [
      f"error: {bad_dir / 'free-mountain-vector-01.jpg'}: no face found"], proc.stderr
  assert not os.listdir(tmp_path)


def test_json_in_a_missing_folder_is_refused_before_any_work(checkpoints, media_dir, tmp_path,
                                                             capsys):
  out, summary = tmp_path / "out.mp4", tmp_path / "nowhere" / "summary.json"
  _fails(capsys, _args(checkpoints, out, media_dir / "portrait.png", media_dir / "speech.wav",
                       "--json", summary), out, "does not exist", summary)


def test_animate_reals_summary_says_where_slv_moves(capsys):
  """eval/animate_real.summarize: per style, the style's halves and a still portrait's SLV
  and the style video's identity distance to its own first frame beside the medians; per
  setting, how many styles' SLV came nearer the halves than without the style (one
  nearer, one further here)."""
  from eval import animate_real  # pylint: disable=g-import-not-at-top
  kinds = ("head_ratio", "tracked_head_ratio", "head_speed_ratio")
  head = {f"{kind}_{axis}": 1.0 for kind in kinds for axis in ("yaw", "pitch", "roll", "x")}
  figures = dict(head, mouth_p95_ratio=1.0, sync_r=0.5, identity_distance=0.2, detected=1.0)
  rows = []
  for name, halves, plain, styled in (("calm", 0.76, 0.90, 0.95), ("lively", 1.07, 0.75, 0.90)):
    rows += [{"reference": f"{name}.mp4: {animate_real.HALVES}", "style": name, "slv": halves,
              "smd": 1.0},
             {"reference": "still portrait", "style": name, "portrait": "p", "slv": 0.7,
              "smd": 3.0},
             {"reference": f"{name}.mp4: {animate_real.OWN_FIRST_FRAME}", "style": name,
              "identity_distance": 0.31, "identity_distance_worst": 0.4},
             dict(figures, style=name, styled=False, style_steps=0, slv=plain, smd=2.0),
             dict(figures, style=name, styled=True, style_steps=100, amplitude="on",
                  slv=styled, smd=1.0)]
  animate_real.summarize(rows)
  out = capsys.readouterr().out
  assert ("calm:  its halves SMD 1.000 SLV 0.760  a still portrait SLV 0.700  its own "
          "identity 0.310") in out
  assert "SMD change against no style, median over 2 styles -50.0%" in out
  assert "SLV nearer the style's halves than with no style: 1/2 styles" in out
