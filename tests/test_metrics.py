"""Metrics: hand-computed values, a direct loop over windows, CPBD against the package."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import feature

from stylehead_jax import media
from stylehead_jax import metrics
from stylehead_jax.landmarks import conventions
from stylehead_jax.metrics import sharpness
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth
from stylehead_jax.metrics import style
from stylehead_jax.metrics import sync
from tests import record_cpbd_reference
from tests.conftest import BAD, REAL, REPO, corrupt_part_way


def _face(rng, frames=50, wobble=2.0):
  """A moving, talking face track (frames, 68, 2) in pixels."""
  base = 200 * conventions.MEAN_FACE_3D[:, :2] + 256
  t = np.arange(frames)[:, None, None]
  track = base + wobble * np.sin(0.3 * t + rng.uniform(0, 6, (1, 68, 2)))
  track[:, conventions.INNER_LIPS[5:], 1] += 10 * np.abs(np.sin(0.5 * t[:, :, 0]))
  return (track + rng.normal(0, 0.3, track.shape)).astype(np.float32)


def _speaking(lead_frames: int, frames: int = 600):
  """A face whose mouth opens with a syllable envelope, and a voice that leads it."""
  rng = np.random.default_rng(1)
  envelope = np.convolve(rng.uniform(0, 1, frames + 100), np.hanning(15), "same")
  envelope = envelope / envelope.max()
  track = np.repeat(200 * conventions.MEAN_FACE_3D[None, :, :2] + 256, frames, axis=0)
  track[:, conventions.INNER_LIP_BOTTOM, 1] += 20 * envelope[50:50 + frames, None]
  loud = np.repeat(envelope[50 + lead_frames:50 + lead_frames + frames], 400)
  audio = rng.normal(0, 1, frames * 400) * (0.01 + loud)
  return track.astype(np.float32), audio.astype(np.float32)


@pytest.mark.parametrize("lead_frames", [0, 16, -10])
def test_audio_lead_is_found_and_undone(lead_frames):
  track, audio = _speaking(lead_frames)
  found = sync.audio_lead(track, audio)
  assert found.lead_seconds == pytest.approx(lead_frames / 60, abs=1 / 60)
  assert found.r > 0.9
  fixed = sync.audio_lead(track, sync.shift_audio(audio, found.lead_seconds))
  assert abs(fixed.lead_seconds) <= 1 / 60 and fixed.r_at_zero > 0.9


def test_shifted_track():
  track = _face(np.random.default_rng(0))
  shifted = track + np.array([3.0, 0.0], np.float32)
  assert metrics.landmark_distance(shifted, track) == pytest.approx(3.0, abs=1e-5)
  assert metrics.lmd(shifted, track) == pytest.approx(0.0, abs=1e-4)  # mouth centred
  assert metrics.velocity_distance(shifted, track) == pytest.approx(0.0, abs=1e-4)
  assert metrics.area_difference(shifted, track) == pytest.approx(0.0, abs=1e-2)


def test_static_against_moving_track():
  """A track moving (3, 4) px a frame is 5 px/frame in D-V from a static one."""
  static = np.repeat(_face(np.random.default_rng(0), 1), 20, 0)
  moving = static + np.arange(20)[:, None, None] * np.array([3.0, 4.0], np.float32)
  assert metrics.velocity_distance(moving, static) == pytest.approx(5.0, abs=1e-4)
  assert metrics.landmark_distance(moving, static) == pytest.approx(5.0 * 9.5, abs=1e-3)


def test_lmd_sums_over_the_mouth_points():
  track = _face(np.random.default_rng(1), 10)
  wider = track.copy()
  wider[:, 48, 0] -= 2.0  # left mouth corner 2 px further out
  centre_shift = 2.0 / 20  # the mouth centroid moves too
  expected = np.hypot(2.0 - centre_shift, 0) + 19 * centre_shift
  assert metrics.lmd(wider, track) == pytest.approx(expected, abs=1e-4)


def test_mouth_area_of_a_known_polygon():
  """Inner lips on a 20 x 10 rectangle (corners and edge midpoints) have area 200."""
  track = np.zeros((1, 68, 2))
  track[0, conventions.INNER_LIPS] = [[0, 5], [5, 0], [10, 0], [15, 0], [20, 5], [15, 10],
                                      [10, 10], [5, 10]]
  assert metrics.mouth_area(track)[0] == pytest.approx(200 - 4 * 12.5)
  closed = track.copy()
  closed[0, conventions.INNER_LIPS, 1] = 5
  assert metrics.area_difference(track, closed) == pytest.approx(150)


def _direct(reference, generated, metric, protocol, window, stride, running):
  """SLD/SLV/SMD by the definition: a loop over window pairs and frames."""
  r = style.per_frame(reference, metric, protocol)
  g = style.per_frame(generated, metric, protocol)
  length = window - 1 if metric == "slv" else window
  values = []
  for s in range(0, len(reference) - window + 1, stride):
    scores, seen = [], []
    for j in range(0, len(generated) - window + 1, stride):
      frame_d = [np.linalg.norm(r[s + o] - g[j + o], axis=-1).mean() for o in range(length)]
      seen += frame_d
      scores.append(np.mean(seen) if running else np.mean(frame_d))
    values.append(min(scores))
  return np.mean(values)


@pytest.mark.parametrize("protocol", ["clean", "aioz"])
def test_style_metrics_equal_a_direct_loop(protocol):
  rng = np.random.default_rng(2)
  reference, generated = _face(rng, 47), _face(rng, 47 if protocol == "aioz" else 39, 4.0)
  for window, stride in [(10, 3), (7, 1)]:
    settings = style.StyleSettings(protocol, window, stride)
    got = style.style_metrics(reference, generated, settings)
    for metric in style.METRICS:
      want = _direct(reference, generated, metric, protocol, window, stride,
                     running=protocol == "aioz")
      assert got[metric] == pytest.approx(want, rel=1e-9), (metric, window, stride)


@pytest.mark.parametrize("protocol,window,stride", [("aioz", 20, 5), ("aioz", 10, 1),
                                                     ("clean", 30, 7)])
def test_style_metrics_in_blocks_of_reference_rows(monkeypatch, protocol, window, stride):
  """Long tracks are taken a block of reference rows at a time; the figures do not
  depend on the block size."""
  rng = np.random.default_rng(6)
  reference, generated = _face(rng, 150), _face(rng, 150 if protocol == "aioz" else 131, 4.0)
  settings = style.StyleSettings(protocol, window, stride)
  whole = style.style_metrics(reference, generated, settings)
  monkeypatch.setattr(style, "_BLOCK_ELEMENTS", 131 * (window + 9))  # blocks of ~10 rows
  blocks = style.style_metrics(reference, generated, settings)
  for metric in style.METRICS:
    assert blocks[metric] == pytest.approx(whole[metric], rel=1e-12), metric


def test_slv_at_the_references_frame_rate():
  """A 30 fps reference held to 60 fps has a zero velocity on every other frame: against
  it, its own motion made at 60 fps scored SLV above a still face's. Given the source
  rates, SLV compares both at 30 fps (at_rate), where that motion scores 0 and stillness
  keeps its figure; SLD and SMD are unchanged."""
  t = np.arange(600) / media.FPS
  base = np.random.default_rng(0).normal(128.0, 30.0, (1, 68, 2))

  def track(times):
    sway = 5.0 * np.sin(2 * np.pi * 0.7 * times)[:, None, None]
    points = np.stack([np.sin(2 * np.pi * 1.3 * times[:, None] + np.arange(68)),
                       np.cos(2 * np.pi * 0.9 * times[:, None] + np.arange(68))], -1)
    return base + sway + points

  held = track(np.arange(300) / 30.0)[media.resample_indices(300, 30.0, media.FPS)]
  native, still = track(t), np.repeat(base, len(t), 0)
  np.testing.assert_allclose(style.at_rate(held, 30.0, 30.0), track(np.arange(300) / 30.0))
  np.testing.assert_allclose(style.at_rate(native, media.FPS, 30.0)[:299],
                             track(np.arange(300) / 30.0)[:299], atol=1e-9)
  at_60 = {name: style.style_metrics(held, g) for name, g in (("native", native),
                                                               ("still", still))}
  at_30 = {name: style.style_metrics(held, g, style.StyleSettings(source_fps=(30.0, media.FPS)))
           for name, g in (("native", native), ("still", still))}
  assert at_60["native"]["slv"] > at_60["still"]["slv"] > 0.3  # the held frames' artefact
  assert at_30["native"]["slv"] < 1e-6 < 0.3 < at_30["still"]["slv"]
  for metric in ("sld", "smd"):
    assert at_30["native"][metric] == at_60["native"][metric]


def test_aioz_sweep_averages_every_window_and_stride():
  rng = np.random.default_rng(3)
  reference, generated = _face(rng, 100), _face(rng, 100, 4.0)
  got = style.style_metrics(reference, generated, style.StyleSettings("aioz"))
  pairs = [(w, s) for w in range(10, 101) for s in range(1, 20)]
  assert got["window_stride_pairs"] == len(pairs)
  some = [style.style_metrics(reference, generated, style.StyleSettings("aioz", w, s))["sld"]
          for w, s in pairs[::97]]
  assert min(some) <= got["sld"] <= max(some)
  # Shorter than the longest window: an error, or the released code's NaN.
  with pytest.raises(style.TooShort, match="windows of 100 frames do not fit in 99"):
    style.style_metrics(reference[:99], generated, style.StyleSettings("aioz"))
  nan = style.style_metrics(reference[:99], generated,
                            style.StyleSettings("aioz", released_nan=True))
  assert all(np.isnan(nan[k]) for k in style.METRICS)


def test_a_track_against_itself_is_zero():
  track = _face(np.random.default_rng(4), 80)
  frames = np.random.default_rng(4).integers(0, 255, (2, 128, 128, 3), np.uint8)
  values = metrics.compare(track, track, generated_frames=frames,
                           settings=style.StyleSettings("clean", 20, 5))
  for name in ("lmd", "d_l", "d_v", "d_a", "sld", "slv", "smd"):
    assert values[name] == pytest.approx(0.0, abs=1e-6), name
  assert values["cpbd"] == metrics.mean_cpbd(frames)
  # Frames as they are decoded, a few at a time, give the same mean.
  assert metrics.mean_cpbd(iter(frames), workers=2) == metrics.mean_cpbd(frames, workers=1)


def _sway(seconds=4.0, amplitude=2.0, hz=0.5, phase=0.0):
  """(T, 5) pose series: a sinusoid of `amplitude` on every axis (module head_motion)."""
  t = np.arange(int(seconds * media.FPS)) / media.FPS
  return np.repeat(amplitude * np.sin(2 * np.pi * hz * t + phase)[:, None], 5, 1)


def _talking(opening: np.ndarray) -> np.ndarray:
  """(T, 68, 3) mean faces 200 px wide whose inner mouth opens by `opening` eye distances."""
  track = np.repeat(conventions.MEAN_FACE_3D[None] * 200 + 256, len(opening), 0)
  track = track.astype(np.float64)
  eyes = conventions.interocular(track[0])
  track[:, mouth.LOWER, 1] = track[:, mouth.UPPER, 1] + opening * eyes
  return track


def test_mouth_measures_read_the_amplitude_not_only_the_timing():
  t = np.arange(300) / 60.0
  truth_opening = 0.25 * np.maximum(np.sin(2 * np.pi * 3 * t), 0)  # open 3 times a second
  truth = _talking(truth_opening)
  np.testing.assert_allclose(mouth.opening(truth), truth_opening, atol=1e-9)
  timid = mouth.measures(_talking(0.2 * truth_opening), truth)  # right moments, a fifth
  assert timid["mouth_opening_r"] == pytest.approx(1.0)
  assert timid["mouth_open_p95_ratio"] == pytest.approx(0.2)
  assert timid["mouth_open_share_ratio"] == 0.0  # never above 0.12 eye distances
  assert timid["mouth_open_truth_share"] == pytest.approx(
      (truth_opening > mouth.OPEN_THRESHOLD).mean())
  wide = mouth.measures(_talking(1.0 * truth_opening[::-1]), truth)  # as wide, off time
  assert wide["mouth_open_p95_ratio"] == pytest.approx(1.0)
  assert wide["mouth_open_share_ratio"] == pytest.approx(1.0)
  assert wide["mouth_opening_r"] < 0.5
  closed = mouth.measures(truth, _talking(0.1 * truth_opening))  # a truth that never opens
  assert np.isnan(closed["mouth_open_share_ratio"])
  assert closed["mouth_open_p95_ratio"] == pytest.approx(10.0)


def _mouth_frame(landmarks, teeth_and_cavity: bool):
  """A 128 px frame: skin, lips (outer-lip polygon) and the inner-lip polygon painted as
  teeth (its top third) over a dark cavity, or left lip-coloured (a warp's open mouth)."""
  frame = np.full((128, 128, 3), (200, 160, 140), np.uint8)
  lips = np.round(landmarks[conventions.OUTER_LIPS, :2]).astype(np.int32)
  cv2.fillPoly(frame, [lips], (150, 60, 60))
  if teeth_and_cavity:
    inner = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(landmarks[conventions.INNER_LIPS, :2]).astype(np.int32)], 1)
    rows = np.nonzero(inner)[0]
    top = rows.min() + (rows.max() - rows.min()) // 3
    frame[(inner > 0) & (np.arange(128)[:, None] < top)] = (235, 235, 225)  # teeth
    frame[(inner > 0) & (np.arange(128)[:, None] >= top)] = (25, 10, 10)  # cavity
  return frame


def test_mouth_interior_tells_teeth_and_cavity_from_stretched_lips():
  opening = np.full(12, 0.3)
  opening[:4] = 0.0  # closed: not counted
  landmarks = _talking(opening)
  drop = landmarks[:, mouth.LOWER, 1] - landmarks[:, mouth.UPPER, 1]
  landmarks[:, [55, 56, 57, 58, 59, 65, 67], 1] += drop[:, None]  # the lower lip with it
  landmarks = (landmarks - landmarks[0].min(0)) * (100 / np.ptp(landmarks[0, :, 0])) + 14
  truth = np.stack([_mouth_frame(p, True) for p in landmarks])
  stretched = np.stack([_mouth_frame(p, False) for p in landmarks])
  teeth, cavity = mouth.interior(truth[-1], landmarks[-1])
  assert teeth > 2.0 and cavity < 0.4  # 234 and 14 luma over the lips' 87
  same = mouth.interior_measures(truth, landmarks, truth, landmarks)
  assert same["mouth_open_frames"] == 8
  assert same["mouth_teeth_ratio"] == pytest.approx(1.0)
  assert same["mouth_cavity_ratio"] == pytest.approx(1.0)
  warp = mouth.interior_measures(stretched, landmarks, truth, landmarks)
  assert warp["mouth_teeth_ratio"] < 0.6 and warp["mouth_cavity_ratio"] > 3.0
  never = mouth.interior_measures(truth, landmarks, truth[:4], landmarks[:4])
  assert never["mouth_open_frames"] == 0 and np.isnan(never["mouth_teeth_ratio"])


def test_drawn_mouth_interior_shows_teeth_and_cavity_where_the_warp_stretches_lips():
  """render/mouth_interior.py on a closed-mouth portrait warped open: the measure that
  reads the warp's lip-coloured gap reads teeth and a cavity; a closed frame, and every
  frame of a portrait whose own mouth is open, stay the warp's."""
  from stylehead_jax.render import mouth_interior  # pylint: disable=g-import-not-at-top
  from stylehead_jax.render import warp  # pylint: disable=g-import-not-at-top
  landmarks = _talking(np.array([0.0, 0.03, 0.35]))
  drop = landmarks[:, mouth.LOWER, 1] - landmarks[:, mouth.UPPER, 1]
  landmarks[:, [55, 56, 57, 58, 59, 65, 67], 1] += drop[:, None]
  landmarks = (landmarks - landmarks[0].min(0)) * (100 / np.ptp(landmarks[0, :, 0])) + 14
  portrait = _mouth_frame(landmarks[0], False)
  warped = warp.render(portrait, landmarks[0], landmarks)
  interior = mouth_interior.Interior(portrait, landmarks[0])
  drawn = interior.draw(warped, landmarks)
  amounts = interior.weights(landmarks)
  assert amounts[0] == 0 and 0 < amounts[1] < 1 and amounts[2] == 1
  np.testing.assert_array_equal(drawn[0], warped[0])
  teeth, cavity = mouth.interior(warped[2], landmarks[2])
  assert teeth < 1.1 and cavity > 0.8  # the stretched lips
  teeth, cavity = mouth.interior(drawn[2], landmarks[2])
  assert teeth > 1.3 and cavity < 0.3
  outside = np.ones(drawn.shape[1:3], bool)
  x0, y0 = landmarks[2, conventions.INNER_LIPS, :2].min(0).astype(int) - 1
  x1, y1 = landmarks[2, conventions.INNER_LIPS, :2].max(0).astype(int) + 2
  outside[y0:y1, x0:x1] = False
  np.testing.assert_array_equal(drawn[2][outside], warped[2][outside])
  opened = _talking(np.array([0.2]))  # a portrait with its mouth open keeps its own
  assert not mouth_interior.Interior(portrait, opened[0]).weights(landmarks).any()


def test_head_motion_measures_on_a_sinusoid_and_a_jittery_copy():
  truth = _sway()
  t = np.arange(len(truth)) / media.FPS
  jittery = truth + 0.3 * np.sin(2 * np.pi * 10 * t)[:, None]  # 10 Hz on every axis
  # A sinusoid of amplitude A has std A / sqrt(2) and RMS velocity 2 pi f A / sqrt(2).
  np.testing.assert_allclose(head_motion.amplitude(truth), 2 / np.sqrt(2), rtol=0.01)
  np.testing.assert_allclose(head_motion.speed(truth), 2 * np.pi * 0.5 * 2 / np.sqrt(2),
                             rtol=0.01)
  assert (head_motion.jitter_share(truth) < 1e-4).all()
  # Frame-to-frame velocity amplitudes: 2 a sin(pi f / 60) for a sinusoid a sin(2 pi f t).
  ripple = (0.3 * np.sin(np.pi * 10 / media.FPS)) / (2 * np.sin(np.pi * 0.5 / media.FPS))
  share = ripple ** 2 / (1 + ripple ** 2)  # about 0.89 of the velocity's power
  np.testing.assert_allclose(head_motion.jitter_share(jittery), share, atol=0.01)

  same = head_motion.measures(truth, truth)
  # Another clip's sway a quarter period (one window stride) later.
  shaky = head_motion.measures(jittery, truth, other=_sway(phase=np.pi / 2))
  twice = head_motion.measures(2 * truth, truth)
  for axis in head_motion.AXES:
    assert same[f"pose_amplitude_ratio_{axis}"] == pytest.approx(1.0)
    assert same[f"pose_speed_ratio_{axis}"] == pytest.approx(1.0)
    assert same[f"pose_jitter_ratio_{axis}"] == pytest.approx(1.0)
    assert twice[f"pose_amplitude_ratio_{axis}"] == pytest.approx(2.0)
    assert twice[f"pose_speed_ratio_{axis}"] == pytest.approx(2.0)
    assert shaky[f"pose_amplitude_ratio_{axis}"] == pytest.approx(
        np.sqrt(1 + (0.3 / 2) ** 2), rel=0.02)
    assert shaky[f"pose_speed_ratio_{axis}"] == pytest.approx(np.sqrt(1 + ripple ** 2),
                                                               rel=0.02)
    # Shares are floored at JITTER_FLOOR: the ripple's ~0.89 against the sway's ~0.
    assert shaky[f"pose_jitter_ratio_{axis}"] == pytest.approx(
        share / head_motion.JITTER_FLOOR, rel=0.02)
  assert same["pose_window_distance"] == pytest.approx(0.0, abs=1e-12)
  # A still head is as far as the sway's mean deviation; a shifted phase is found again
  # by the windows, and a jittery copy lands near the truth.
  still = same["pose_window_distance_still"]
  assert still == pytest.approx(np.sqrt(3) * 2 * 2 / np.pi, rel=0.05)
  assert shaky["pose_window_distance_other"] < 0.05 * still
  assert shaky["pose_window_distance"] < 0.5 * still
  assert "pose_window_distance_other" not in same
  with pytest.raises(ValueError, match=r"\(T, 5\)"):
    head_motion.measures(truth[:, :3], truth)
  # A truth axis that does not move gives NaN rather than a ratio.
  still_truth = truth.copy()
  still_truth[:, 0] = 0.0
  flat = head_motion.ratios(truth, still_truth)
  assert np.isnan(flat["pose_amplitude_ratio_yaw"]) and np.isnan(flat["pose_speed_ratio_yaw"])


def test_cpbd_follows_sharpness():
  """A blurred image scores lower than the sharp original."""
  frame = record_cpbd_reference.sample_frames(REAL / "talk_hdtf_aoc.mp4")[1][0]
  blurred = cv2.GaussianBlur(frame, (0, 0), 2.0)
  assert metrics.cpbd(blurred) < metrics.cpbd(frame) - 0.05


@pytest.mark.slow  # 120 frames; the quick tier has test_cpbd_follows_sharpness
def test_cpbd_equals_the_package_on_real_frames():
  """20 frames per real clip against values recorded from cpbd 1.0.7
  (tests/record_cpbd_reference.py), and two frames per clip against the package live;
  our canny (OpenCV filters) differs from skimage's only at exact ties (< 0.5% of pixels)."""
  recorded = json.loads((REPO / "tests" / "data" / "cpbd_package_values.json").read_text())
  package = sharpness.load_cpbd_package()
  assert set(recorded["frames"]) == {p.name for p in REAL.glob("*.mp4")}
  worst = 0.0
  for name, entry in recorded["frames"].items():
    indices, frames = record_cpbd_reference.sample_frames(REAL / name)
    assert indices.tolist() == entry["indices"]
    assert np.mean(sharpness.canny_edges(frames[0]) != feature.canny(frames[0])) < 5e-3
    ours = np.array([metrics.cpbd(f) for f in frames])
    worst = max(worst, np.abs(ours - entry["cpbd"]).max())
    for f in frames[[0, -1]]:
      assert abs(metrics.cpbd(f) - package.compute(f)) < 1e-3
  print(f"largest difference from the recorded package values: {worst:.2e}")
  assert worst < 1e-3


def _script(*args):
  return subprocess.run([sys.executable, str(REPO / "eval" / "metrics.py"), *map(str, args)],
                        capture_output=True, text=True, cwd=REPO)


@pytest.mark.slow
def test_script_on_real_clips(tmp_path):
  """talk_hdtf_aoc against talk_lp_d20 (two speakers), and a clip against itself."""
  out = _script("--generated", REAL / "talk_hdtf_aoc.mp4", "--reference",
                REAL / "talk_lp_d20.mp4", "--json", tmp_path / "pair.json")
  assert out.returncode == 0, out.stderr
  pair = json.loads((tmp_path / "pair.json").read_text())
  assert set(pair["metrics"]) == {"lmd", "d_l", "d_v", "d_a", "sld", "slv", "smd", "cpbd",
                                  "mouth_open_p95_ratio", "mouth_open_share_ratio",
                                  "mouth_opening_r"}
  assert pair["frames_compared"] == 420 and "first 420" in pair["notes"][0]
  assert all(v > 0 for k, v in pair["metrics"].items() if k != "mouth_opening_r")
  assert "LMD" in out.stdout and "frames compared: 420" in out.stdout

  out = _script("--generated", REAL / "talk_vr_5.mp4", "--reference", REAL / "talk_vr_5.mp4",
                "--json", tmp_path / "self.json")
  assert out.returncode == 0, out.stderr
  same = json.loads((tmp_path / "self.json").read_text())["metrics"]
  for name in ("lmd", "d_l", "d_v", "d_a", "sld", "slv", "smd"):
    assert same[name] == pytest.approx(0.0, abs=1e-6), name
  assert same["mouth_open_p95_ratio"] == 1.0
  assert same["mouth_opening_r"] == pytest.approx(1.0)


def test_script_on_tracks_and_bad_input(tmp_path):
  rng = np.random.default_rng(5)
  np.savez(tmp_path / "g.npz", landmarks=_face(rng, 90), fps=30.0)
  np.savez(tmp_path / "r.npz", landmarks=_face(rng, 200))
  # 90 frames at 30 fps are 90 at 29.97 (as ffmpeg -r picks them): the aioz sweep's
  # windows of 91..100 frames do not fit. An error names the clip; --aioz_nan gives the
  # released scripts' NaN; shorter windows fit.
  aioz = ("-g", tmp_path / "g.npz", "-r", tmp_path / "r.npz", "--protocol", "aioz")
  out = _script(*aioz)
  assert out.returncode != 0 and "Traceback" not in out.stderr
  assert out.stderr.startswith(f"error: {tmp_path / 'g.npz'}: too short for the style "
                               "metrics: 90 frames at 29.97 fps"), out.stderr
  assert "--aioz_nan" in out.stderr
  out = _script(*aioz, "--aioz_nan", "--json", tmp_path / "nan.json")
  assert out.returncode == 0, out.stderr
  result = json.loads((tmp_path / "nan.json").read_text())
  assert all(np.isnan(result["metrics"][k]) for k in ("sld", "slv", "smd"))
  assert result["settings"]["window"] == "10..100" and result["settings"]["stride"] == "1..19"
  out = _script(*aioz, "--window", "60", "--json", tmp_path / "out.json")
  assert out.returncode == 0, out.stderr
  result = json.loads((tmp_path / "out.json").read_text())
  assert np.isfinite(result["metrics"]["sld"]) and result["settings"]["window"] == 60
  assert "cpbd" not in result["metrics"] and "no frames" in " ".join(result["notes"])
  np.savez(tmp_path / "bad.npz", landmarks=np.zeros((5, 5, 2)))
  broken = corrupt_part_way(REAL / "talk_hdtf_aoc.mp4", tmp_path / "broken.mp4")
  for generated, reason in [(tmp_path / "missing.npz", "no such file"),
                            (tmp_path / "bad.npz", "expected (T, 68, 2 or 3)"),
                            (BAD / "corrupt.mp4", "")]:
    out = _script("-g", generated, "-r", tmp_path / "r.npz")
    assert out.returncode != 0
    assert out.stderr.startswith("error: ") and str(generated) in out.stderr, out.stderr
    assert reason in out.stderr and "Traceback" not in out.stderr
  # A video that breaks off part-way: one line naming it and the frame, after the bar.
  out = _script("-g", broken, "-r", tmp_path / "r.npz")
  assert out.returncode != 0 and "Traceback" not in out.stderr
  assert out.stderr.splitlines()[-1].startswith(
      f"error: {broken}: corrupt video: decoding failed at frame "), out.stderr
  # A bad reference video fails as clearly from the second process that tracks it.
  for reference, reason in [(BAD / "corrupt.mp4", "corrupt or unreadable video"),
                            (BAD / "no_face.mp4", "no face found")]:
    _fails_on_the_reference(tmp_path / "g.npz", reference, reason)


@pytest.mark.slow
def test_a_bad_reference_interrupts_the_tracking_of_a_long_video():
  _fails_on_the_reference(REAL / "style_lp_d6.mp4", BAD / "corrupt.mp4",
                          "corrupt or unreadable video")


def _fails_on_the_reference(generated, reference, reason):
  out = _script("-g", generated, "-r", reference)
  assert out.returncode != 0
  last = out.stderr.splitlines()[-1]  # after the progress bar of a tracked video
  assert last.startswith("error: ") and str(reference) in last, out.stderr
  assert reason in out.stderr and "Traceback" not in out.stderr
