"""Procedural scenes for context-aware emotion recognition, with the cues' places known.

A scene (`context_size` square) holds:
- the main person: a head whose face shows the label's expression (brows, eyes, mouth),
  over a body. In an ambiguous scene (`ambiguous_fraction`) the face wears sunglasses and
  a scarf, so the face alone says nothing about the emotion;
- a companion with the main person's hair colour, showing the label's expression (with
  probability `companion_agreement`, else another one), and a stranger with a different
  hair colour showing some other expression. Which of the two is the companion can only
  be told by matching hair against the main face (hidden in the masked context, visible
  in the face crop): what global-local attention (the face's features steering where to
  look in the context) can use and context-only attention cannot;
- with probability `object_probability`, an object that stands for the label (a sun for
  Happy, a rain cloud for Sad, ...), anywhere in the scene;
- clutter: grey furniture rectangles that mean nothing.

`cue_mask` marks the pixels of the cues that carry the label (the agreeing companion's
head, the object). Everything is drawn at `SUPERSAMPLE` times the context size and box-
filtered down; the face crop is cut from that sharp canvas, so it is not an upscaled blur.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from PIL import Image
from PIL import ImageDraw

from stylehead_jax import emotions

SUPERSAMPLE = 4
MAIN_RADIUS = 0.13  # head radius, as a fraction of the scene side
OTHER_RADIUS = 0.10
OBJECT_RADIUS = 0.11
HAIR_COLOURS = ((25, 20, 20), (110, 65, 30), (230, 200, 90), (190, 60, 20),
                (40, 80, 220), (30, 160, 60), (150, 50, 170), (235, 235, 235))
SKIN_COLOURS = ((255, 220, 185), (235, 190, 150), (200, 150, 110), (150, 100, 70),
                (100, 65, 45))


@dataclasses.dataclass(frozen=True)
class SceneConfig:
  context_size: int = emotions.CONTEXT_SIZE
  face_size: int = emotions.FACE_SIZE
  num_train: int = 6000
  num_test: int = 1400
  ambiguous_fraction: float = 0.6
  companion_agreement: float = 0.9
  object_probability: float = 0.6
  seed: int = 0


@dataclasses.dataclass(frozen=True)
class Expression:
  """Face geometry of one emotion, in units of the head radius (y down)."""
  brow_inner: float  # height of the brow's inner end above its outer end
  brow_lift: float  # lift of the whole brow
  eye_open: float  # eye height / width
  mouth_curve: float  # + smile, - frown (corner height relative to the centre)
  mouth_open: float  # opening height
  mouth_width: float
  teeth: bool = False
  skew: float = 0.0  # one mouth corner raised (disgust's sneer)


EXPRESSIONS = {
    "Anger": Expression(-0.16, -0.02, 0.55, -0.02, 0.10, 0.45, teeth=True),
    "Disgust": Expression(-0.06, 0.0, 0.30, -0.06, 0.03, 0.40, skew=0.14),
    "Fear": Expression(0.12, 0.12, 1.30, -0.05, 0.18, 0.55, teeth=True),
    "Happy": Expression(0.0, 0.03, 0.55, 0.16, 0.06, 0.60),
    "Neutral": Expression(0.0, 0.0, 0.80, 0.0, 0.0, 0.40),
    "Sad": Expression(0.16, 0.0, 0.50, -0.15, 0.0, 0.45),
    "Surprise": Expression(0.0, 0.18, 1.50, 0.0, 0.32, 0.28),
}
assert tuple(EXPRESSIONS) == emotions.EMOTIONS


@dataclasses.dataclass(frozen=True)
class Person:
  x: float  # head centre, scene pixels (of the supersampled canvas)
  y: float
  radius: float
  skin: tuple
  hair: tuple
  shirt: tuple
  emotion: str
  occluded: bool = False

  def head_box(self) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1: the square around hair and face."""
    side = 2.3 * self.radius
    cy = self.y - 0.05 * self.radius
    return (self.x - side / 2, cy - side / 2, self.x + side / 2, cy + side / 2)


def _ellipse(draw, cx, cy, rx, ry, fill):
  draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)


def draw_person(draw: ImageDraw.ImageDraw, p: Person, rng: np.random.Generator) -> None:
  r = p.radius
  # Body, then hair behind the face, then the face.
  draw.rounded_rectangle((p.x - 1.3 * r, p.y + 0.9 * r, p.x + 1.3 * r, p.y + 4.0 * r),
                         radius=0.5 * r, fill=p.shirt)
  _ellipse(draw, p.x, p.y - 0.12 * r, 1.08 * r, 1.05 * r, p.hair)
  _ellipse(draw, p.x, p.y + 0.08 * r, 0.86 * r, 0.95 * r, p.skin)
  e = EXPRESSIONS[p.emotion]
  jitter = lambda v, s=0.15: v * (1 + s * rng.uniform(-1, 1))
  line = max(1, int(0.07 * r))
  dark = (30, 20, 20)
  for side in (-1, 1):
    ex, ey = p.x + side * 0.36 * r, p.y - 0.08 * r
    ew, eh = 0.16 * r, 0.16 * r * jitter(e.eye_open)
    _ellipse(draw, ex, ey, ew, eh, (250, 250, 250))
    _ellipse(draw, ex, ey, 0.07 * r, min(0.07 * r, eh), dark)
    by = ey - 0.30 * r - jitter(e.brow_lift) * r
    inner = (p.x + side * 0.14 * r, by - jitter(e.brow_inner) * r)
    outer = (p.x + side * 0.58 * r, by)
    draw.line([inner, outer], fill=dark, width=line)
  # Mouth: corners, centre, and an opening between an upper and a lower lip.
  mx, my = p.x, p.y + 0.48 * r
  half = 0.5 * jitter(e.mouth_width) * r
  curve = jitter(e.mouth_curve) * r
  opening = jitter(e.mouth_open) * r
  left = (mx - half, my - curve - e.skew * r)
  right = (mx + half, my - curve)
  upper = [left, (mx, my - opening / 2), right]
  lower = [left, (mx, my + opening / 2 + 0.5 * curve), right]
  lip = (170, 50, 60)
  if opening > 0.04 * r:
    draw.polygon(_curve(upper) + _curve(lower)[::-1], fill=(60, 15, 20))
    if e.teeth:
      tw = 0.7 * half
      draw.rectangle((mx - tw, my - opening / 2, mx + tw, my - opening / 2 + 0.3 * opening),
                     fill=(245, 245, 235))
  draw.line(_curve(upper), fill=lip, width=line)
  draw.line(_curve(lower), fill=lip, width=line)
  if p.occluded:  # sunglasses and a scarf: nothing of the expression shows
    draw.rounded_rectangle((p.x - 0.8 * r, p.y - 0.9 * r, p.x + 0.8 * r, p.y + 0.2 * r),
                           radius=0.15 * r, fill=(15, 15, 20))
    scarf = tuple(int(c) for c in rng.integers(60, 200, 3))
    draw.rounded_rectangle((p.x - 0.95 * r, p.y + 0.12 * r, p.x + 0.95 * r, p.y + 1.1 * r),
                           radius=0.2 * r, fill=scarf)


def _curve(points, steps: int = 8) -> list[tuple[float, float]]:
  """A quadratic Bezier through three control points, as a polyline."""
  (x0, y0), (x1, y1), (x2, y2) = points
  out = []
  for t in np.linspace(0.0, 1.0, steps):
    a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t ** 2
    out.append((a * x0 + b * x1 + c * x2, a * y0 + b * y1 + c * y2))
  return out


def draw_object(draw: ImageDraw.ImageDraw, emotion: str, cx: float, cy: float, r: float,
                rng: np.random.Generator) -> None:
  """The scene object that stands for `emotion`."""
  if emotion == "Happy":  # sun
    for k in range(8):
      a = k * math.pi / 4
      draw.line([(cx, cy), (cx + r * math.cos(a), cy + r * math.sin(a))],
                fill=(250, 200, 0), width=max(1, int(0.15 * r)))
    _ellipse(draw, cx, cy, 0.6 * r, 0.6 * r, (255, 220, 0))
  elif emotion == "Sad":  # rain cloud
    for dx in (-0.4, 0.0, 0.4):
      _ellipse(draw, cx + dx * r, cy - 0.2 * r, 0.45 * r, 0.35 * r, (120, 125, 140))
    for dx in (-0.5, 0.0, 0.5):
      draw.line([(cx + dx * r, cy + 0.3 * r), (cx + dx * r - 0.1 * r, cy + 0.9 * r)],
                fill=(40, 90, 230), width=max(1, int(0.12 * r)))
  elif emotion == "Anger":  # lightning bolt
    pts = [(0.2, -1), (-0.5, 0.1), (0.0, 0.1), (-0.2, 1), (0.5, -0.15), (0.0, -0.15)]
    draw.polygon([(cx + x * r, cy + y * r) for x, y in pts], fill=(220, 20, 20))
  elif emotion == "Fear":  # spider
    for k in range(8):
      a = (k + 0.5) * math.pi / 4
      draw.line([(cx, cy), (cx + r * math.cos(a), cy + 0.8 * r * math.sin(a))],
                fill=(10, 10, 10), width=max(1, int(0.08 * r)))
    _ellipse(draw, cx, cy, 0.4 * r, 0.35 * r, (10, 10, 10))
  elif emotion == "Surprise":  # gift box
    draw.rectangle((cx - 0.7 * r, cy - 0.6 * r, cx + 0.7 * r, cy + 0.7 * r), fill=(220, 40, 200))
    draw.rectangle((cx - 0.12 * r, cy - 0.6 * r, cx + 0.12 * r, cy + 0.7 * r), fill=(255, 240, 80))
    draw.rectangle((cx - 0.7 * r, cy - 0.05 * r, cx + 0.7 * r, cy + 0.2 * r), fill=(255, 240, 80))
  elif emotion == "Disgust":  # green slime with flies
    _ellipse(draw, cx, cy + 0.2 * r, 0.8 * r, 0.5 * r, (90, 170, 40))
    for _ in range(4):
      fx, fy = cx + rng.uniform(-0.8, 0.8) * r, cy + rng.uniform(-1.0, -0.3) * r
      _ellipse(draw, fx, fy, 0.1 * r, 0.1 * r, (0, 0, 0))
  elif emotion == "Neutral":  # clock
    _ellipse(draw, cx, cy, 0.8 * r, 0.8 * r, (245, 245, 245))
    draw.line([(cx, cy), (cx, cy - 0.6 * r)], fill=(0, 0, 0), width=max(1, int(0.1 * r)))
    draw.line([(cx, cy), (cx + 0.4 * r, cy)], fill=(0, 0, 0), width=max(1, int(0.1 * r)))
  else:
    raise ValueError(f"no object for {emotion!r}")


def _overlaps(box, boxes, gap: float) -> bool:
  x0, y0, x1, y1 = box
  return any(x0 < b[2] + gap and b[0] < x1 + gap and y0 < b[3] + gap and b[1] < y1 + gap
             for b in boxes)


def _place(rng, radius: float, side: float, taken: list, y_range=(0.15, 0.75)):
  """A centre whose box (2.3 radius square) keeps clear of the boxes in `taken` (which
  it joins), or the last try's if 200 tries found no such place."""
  for _ in range(200):
    x = rng.uniform(1.2 * radius, side - 1.2 * radius)
    y = rng.uniform(*y_range) * side
    box = (x - 1.15 * radius, y - 1.2 * radius, x + 1.15 * radius, y + 1.1 * radius)
    if not _overlaps(box, taken, 0.02 * side):
      break
  taken.append(box)
  return x, y


def make_scene(cfg: SceneConfig, split: str, index: int) -> dict:
  """One example: context and face images, face box, label, clarity and cue mask."""
  split_key = {"train": 1, "test": 2}[split]
  rng = np.random.default_rng([cfg.seed, split_key, index])
  side = cfg.context_size * SUPERSAMPLE
  label = int(rng.integers(emotions.NUM_EMOTIONS))
  emotion = emotions.EMOTIONS[label]
  ambiguous = bool(rng.uniform() < cfg.ambiguous_fraction)
  others = [e for e in emotions.EMOTIONS if e != emotion]

  top = np.array(rng.integers(60, 220, 3))
  bottom = np.clip(top + rng.integers(-60, 60, 3), 0, 255)
  ramp = np.linspace(0.0, 1.0, side)[:, None, None]
  canvas = ((1 - ramp) * top + ramp * bottom) * np.ones((side, side, 3))
  image = Image.fromarray(canvas.astype(np.uint8))
  draw = ImageDraw.Draw(image)
  mask = Image.new("L", (side, side), 0)
  mask_draw = ImageDraw.Draw(mask)

  for _ in range(int(rng.integers(1, 4))):  # clutter
    x0, y0 = rng.uniform(0, side, 2)
    w, h = rng.uniform(0.1, 0.3, 2) * side
    grey = int(rng.integers(70, 200))
    draw.rectangle((x0, y0, x0 + w, y0 + h), fill=(grey, grey, grey - 10))

  hair_main, hair_stranger = rng.choice(len(HAIR_COLOURS), 2, replace=False)
  colour = lambda palette: tuple(int(c) for c in palette[rng.integers(len(palette))])
  shirt = lambda: tuple(int(c) for c in rng.integers(30, 230, 3))
  taken = []
  main_r, other_r = MAIN_RADIUS * side, OTHER_RADIUS * side
  mx, my = _place(rng, main_r, side, taken, (0.25, 0.5))
  main = Person(mx, my, main_r, colour(SKIN_COLOURS), HAIR_COLOURS[hair_main], shirt(),
                emotion, occluded=ambiguous)
  agrees = bool(rng.uniform() < cfg.companion_agreement)
  cx, cy = _place(rng, other_r, side, taken)
  companion = Person(cx, cy, other_r, colour(SKIN_COLOURS), HAIR_COLOURS[hair_main], shirt(),
                     emotion if agrees else str(rng.choice(others)))
  sx, sy = _place(rng, other_r, side, taken)
  stranger = Person(sx, sy, other_r, colour(SKIN_COLOURS), HAIR_COLOURS[hair_stranger],
                    shirt(), str(rng.choice(others)))
  # Heads further down the picture are nearer the camera: draw back to front.
  for person in sorted([main, companion, stranger], key=lambda p: p.y):
    draw_person(draw, person, rng)
  if agrees:
    mask_draw.rectangle(companion.head_box(), fill=1)
  if rng.uniform() < cfg.object_probability:
    obj_r = OBJECT_RADIUS * side
    ox, oy = _place(rng, obj_r, side, taken, (0.1, 0.9))
    draw_object(draw, emotion, ox, oy, obj_r, rng)
    mask_draw.rectangle((ox - obj_r, oy - obj_r, ox + obj_r, oy + obj_r), fill=1)

  x0, y0, x1, y1 = main.head_box()
  face = image.crop((int(x0), int(y0), int(x1), int(y1))).resize(
      (cfg.face_size, cfg.face_size), Image.Resampling.BOX)
  context = image.resize((cfg.context_size, cfg.context_size), Image.Resampling.BOX)
  small_mask = mask.resize((cfg.context_size, cfg.context_size), Image.Resampling.BOX)
  box = np.clip(np.array([y0, x0, y1, x1], np.float32) / side, 0.0, 1.0)
  return {
      "context": np.asarray(context),
      "face": np.asarray(face),
      "face_box": box,
      "label": label,
      "clarity": emotions.CLARITY[int(ambiguous)],
      "cue_mask": (np.asarray(small_mask)[..., None] > 0).astype(np.uint8),
      "image_id": f"{split}-{index:06d}",
      "video_id": f"{split}-{index:06d}",
  }
