"""Draws the images of the embedded `shapes` dataset (no network needed).

Each image is 32x32 RGB: one filled geometric shape (the class) in a random
colour, size and position on a random-colour background, with pixel noise.
Everything about an image comes from a random generator seeded by
(seed, split, index), so a dataset is identical for a seed whatever the
number of worker processes.

This module runs in the writer's worker processes: numpy and Pillow only.
"""
import numpy as np

from datasets import image_coding

CLASS_NAMES = ('circle', 'square', 'triangle', 'cross', 'diamond')
IMAGE_SIZE = 32
# Half-extent of a shape in pixels: large enough to see at 32x32.
_MIN_RADIUS, _MAX_RADIUS = 7.0, 13.0
_SUPERSAMPLE = 4  # Anti-aliasing: coverage from a 4x4 grid per pixel.
_NOISE_STDDEV = 12.0
_MIN_COLOR_DISTANCE = 120.0  # Shape and background colours stay distinct.


def _grid():
  step = 1.0 / _SUPERSAMPLE
  coords = np.arange(IMAGE_SIZE * _SUPERSAMPLE) * step + step / 2
  return np.meshgrid(coords, coords)  # x, y (y grows downwards)


_X, _Y = _grid()


def shape_mask(class_id, cx, cy, radius):
  """Returns the coverage (HxW floats in [0, 1]) of one shape.

  Args:
    class_id: index into CLASS_NAMES.
    cx: centre column in pixels.
    cy: centre row in pixels.
    radius: half-extent in pixels.

  Returns:
    A float32 array of shape [IMAGE_SIZE, IMAGE_SIZE].
  """
  dx, dy = (_X - cx) / radius, (_Y - cy) / radius
  name = CLASS_NAMES[class_id]
  if name == 'circle':
    inside = dx * dx + dy * dy <= 1.0
  elif name == 'square':
    inside = np.maximum(np.abs(dx), np.abs(dy)) <= 0.8
  elif name == 'triangle':
    # Upright: apex at the top, base at dy = 0.8.
    inside = (dy <= 0.8) & (np.abs(dx) * 1.8 / 0.95 <= dy + 1.0)
  elif name == 'cross':
    thin = 0.33
    inside = (((np.abs(dx) <= 1.0) & (np.abs(dy) <= thin)) |
              ((np.abs(dy) <= 1.0) & (np.abs(dx) <= thin)))
  elif name == 'diamond':
    inside = np.abs(dx) + np.abs(dy) <= 1.0
  else:
    raise ValueError('unknown class_id %r' % class_id)
  blocks = inside.reshape(IMAGE_SIZE, _SUPERSAMPLE, IMAGE_SIZE, _SUPERSAMPLE)
  return blocks.mean(axis=(1, 3), dtype=np.float32)


def draw(rng, class_id):
  """Returns one uint8 [32, 32, 3] image of class `class_id`.

  Args:
    rng: a `numpy.random.Generator`.
    class_id: index into CLASS_NAMES.

  Returns:
    The image.
  """
  background = rng.uniform(0, 255, size=3)
  while True:
    color = rng.uniform(0, 255, size=3)
    if np.linalg.norm(color - background) >= _MIN_COLOR_DISTANCE:
      break
  radius = rng.uniform(_MIN_RADIUS, _MAX_RADIUS)
  # A pixel of margin: the whole shape is visible.
  cx, cy = rng.uniform(radius + 1, IMAGE_SIZE - radius - 1, size=2)
  alpha = shape_mask(class_id, cx, cy, radius)[:, :, None]
  image = alpha * color + (1.0 - alpha) * background
  image += rng.normal(0.0, _NOISE_STDDEV, size=image.shape)
  return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def image_rng(seed, split_index, index):
  """The generator of image `index` of split `split_index`."""
  return np.random.default_rng([seed, split_index, index])


def generate_png(task):
  """Draws and PNG-encodes one image.

  Args:
    task: (seed, split_index, index, class_id).

  Returns:
    An `image_coding.EncodedImage`.
  """
  seed, split_index, index, class_id = task
  image = draw(image_rng(seed, split_index, index), class_id)
  return image_coding.EncodedImage(image_coding.encode_png(image), b'png',
                                   IMAGE_SIZE, IMAGE_SIZE, class_id)
