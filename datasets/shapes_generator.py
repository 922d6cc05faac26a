"""Draws the images of the embedded `shapes` and `shapes_multi` datasets.

Each `shapes` image is 32x32 RGB: one filled geometric shape (the class) in
a random colour, size and position on a random-colour background, with
pixel noise. A `shapes_multi` image holds 1 to 3 distinct shapes (its
labels), smaller, each in its own quarter of the image so none hides
another.
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
# shapes_multi: a shape per quarter (16x16 cell), half-extent 4.5 to 7.
_CELL = IMAGE_SIZE // 2
_MIN_MULTI_RADIUS, _MAX_MULTI_RADIUS = 4.5, 7.0
MAX_SHAPES_PER_IMAGE = 3


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


def _shape_color(rng, background):
  """A random colour far enough from the background to be seen."""
  while True:
    color = rng.uniform(0, 255, size=3)
    if np.linalg.norm(color - background) >= _MIN_COLOR_DISTANCE:
      return color


def _add_noise(rng, image):
  image += rng.normal(0.0, _NOISE_STDDEV, size=image.shape)
  return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def draw(rng, class_id):
  """Returns one uint8 [32, 32, 3] image of class `class_id`.

  Args:
    rng: a `numpy.random.Generator`.
    class_id: index into CLASS_NAMES.

  Returns:
    The image.
  """
  background = rng.uniform(0, 255, size=3)
  color = _shape_color(rng, background)
  radius = rng.uniform(_MIN_RADIUS, _MAX_RADIUS)
  # A pixel of margin: the whole shape is visible.
  cx, cy = rng.uniform(radius + 1, IMAGE_SIZE - radius - 1, size=2)
  alpha = shape_mask(class_id, cx, cy, radius)[:, :, None]
  image = alpha * color + (1.0 - alpha) * background
  return _add_noise(rng, image)


def draw_label_set(rng):
  """The sorted distinct classes of one shapes_multi image: 1 to 3 of them.

  Args:
    rng: a `numpy.random.Generator`.

  Returns:
    A tuple of ints, indices into CLASS_NAMES.
  """
  count = int(rng.integers(1, MAX_SHAPES_PER_IMAGE + 1))
  return tuple(sorted(int(class_id) for class_id in rng.choice(
      len(CLASS_NAMES), size=count, replace=False)))


def draw_multi(rng, class_ids):
  """Returns one uint8 [32, 32, 3] image showing every class of `class_ids`.

  Each shape gets its own quarter of the image (chosen at random), colour,
  size and position inside it.

  Args:
    rng: a `numpy.random.Generator`.
    class_ids: up to 4 distinct indices into CLASS_NAMES.

  Returns:
    The image.
  """
  background = rng.uniform(0, 255, size=3)
  image = np.broadcast_to(background, (IMAGE_SIZE, IMAGE_SIZE, 3)).copy()
  cells = rng.permutation(4)[:len(class_ids)]
  for class_id, cell in zip(class_ids, cells):
    color = _shape_color(rng, background)
    radius = rng.uniform(_MIN_MULTI_RADIUS, _MAX_MULTI_RADIUS)
    left, top = (cell % 2) * _CELL, (cell // 2) * _CELL
    # Half a pixel of margin inside the cell: shapes never touch.
    cx, cy = rng.uniform(radius + 0.5, _CELL - radius - 0.5, size=2)
    alpha = shape_mask(class_id, left + cx, top + cy, radius)[:, :, None]
    image = alpha * color + (1.0 - alpha) * image
  return _add_noise(rng, image)


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


def generate_multi_png(task):
  """Draws and PNG-encodes one shapes_multi image.

  Args:
    task: (seed, split_index, index, class_ids), class_ids a sorted tuple.

  Returns:
    An `image_coding.EncodedImage` whose label is `class_ids`.
  """
  seed, split_index, index, class_ids = task
  image = draw_multi(image_rng(seed, split_index, index), class_ids)
  return image_coding.EncodedImage(image_coding.encode_png(image), b'png',
                                   IMAGE_SIZE, IMAGE_SIZE, tuple(class_ids))
