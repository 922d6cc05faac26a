"""Shared harness for the preprocessing tests.

Two ways to run a preprocessing function, because they differ (big_vision:
"you'd be surprised how much these two differ"):

- `run_graph`: a plain `tf.Graph` + `tf.compat.v1.Session`, image fed through
  a placeholder of unknown height and width (as a decoded JPEG would be);
- `run_map`: inside `tf.data.Dataset.map`, the image again of unknown height
  and width, read back through a one-shot iterator.

Both return a `Result(static_shape, values)`, `values` holding one array per
run (several runs share one session, so random ops draw new numbers).

And independent numpy references, written from the documented formulas.
"""
import collections

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1

Result = collections.namedtuple('Result', ['static_shape', 'values'])

# ITU-R 601-2 luma weights, the ones tf.image.rgb_to_grayscale documents.
GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])


def _unknown_hw(image):
  return [None, None, image.shape[2]]


def run_graph(fn, image, runs=1, seed=None):
  """Runs `fn(image_tensor)` in a fresh graph and session `runs` times."""
  with tf.Graph().as_default():
    if seed is not None:
      tf1.set_random_seed(seed)
    x = tf1.placeholder(tf.as_dtype(image.dtype), _unknown_hw(image))
    out = fn(x)
    with tf1.Session() as sess:
      values = [sess.run(out, {x: image}) for _ in range(runs)]
  return Result(out.get_shape().as_list(), values)


def run_map(fn, image, runs=1, seed=None):
  """Runs `fn` inside `tf.data.Dataset.map` over `runs` copies of `image`."""
  shape = _unknown_hw(image)
  static = []

  def mapped(x):
    out = fn(tf1.placeholder_with_default(x, shape))
    static.append(out.get_shape().as_list())
    return out

  with tf.Graph().as_default():
    if seed is not None:
      tf1.set_random_seed(seed)
    ds = tf.data.Dataset.from_tensors(image).repeat(runs).map(mapped)
    next_element = tf1.data.make_one_shot_iterator(ds).get_next()
    with tf1.Session() as sess:
      values = [sess.run(next_element) for _ in range(runs)]
  return Result(static[0], values)


RUNNERS = {'graph': run_graph, 'map': run_map}


def random_image(height, width, channels=3, seed=0, low=0, high=256,
                 dtype=np.uint8):
  """A small random image of integers in [low, high) with the given dtype."""
  rng = np.random.RandomState(seed)
  return rng.randint(low, high, (height, width, channels)).astype(dtype)


def resize_bilinear(image, out_h, out_w):
  """Legacy bilinear resize (align_corners=False, half_pixel_centers=False).

  Source coordinate of output pixel y is y * in_h / out_h; the value is the
  bilinear blend of the four neighbours, the far neighbour clamped at the
  border.

  Args:
    image: [H, W, C] array.
    out_h: output height.
    out_w: output width.

  Returns:
    [out_h, out_w, C] float64 array.
  """
  image = np.asarray(image, np.float64)
  in_h, in_w = image.shape[:2]

  def axis(out_size, in_size):
    src = np.arange(out_size) * (in_size / out_size)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, in_size - 1)
    return lo, hi, src - lo

  y0, y1, dy = axis(out_h, in_h)
  x0, x1, dx = axis(out_w, in_w)
  dy = dy[:, None, None]
  dx = dx[None, :, None]
  top = image[y0][:, x0] + (image[y0][:, x1] - image[y0][:, x0]) * dx
  bottom = image[y1][:, x0] + (image[y1][:, x1] - image[y1][:, x0]) * dx
  return top + (bottom - top) * dy


def crop_or_pad(image, target_h, target_w):
  """Central crop or symmetric zero pad (extra row/column at the end)."""
  out = np.zeros((target_h, target_w, image.shape[2]), np.float64)
  h, w = image.shape[:2]
  # Crop offsets in the source, pad offsets in the target.
  sy, ty = max((h - target_h) // 2, 0), max((target_h - h) // 2, 0)
  sx, tx = max((w - target_w) // 2, 0), max((target_w - w) // 2, 0)
  ch, cw = min(h, target_h), min(w, target_w)
  out[ty:ty + ch, tx:tx + cw] = image[sy:sy + ch, sx:sx + cw]
  return out


def central_fraction_crop(image, fraction):
  """tf.image.central_crop: start = trunc((size - size * f) / 2) per side."""
  h, w = image.shape[:2]
  sy = int((h - h * fraction) / 2)
  sx = int((w - w * fraction) / 2)
  return image[sy:h - sy, sx:w - sx]


def standardize(image):
  """(x - mean) / max(std, 1 / sqrt(num_elements)) over the whole image."""
  image = np.asarray(image, np.float64)
  adjusted_std = max(image.std(), 1.0 / np.sqrt(image.size))
  return (image - image.mean()) / adjusted_std


def grayscale(image):
  """Weighted sum of the RGB channels, keeping a channel axis of 1."""
  return np.asarray(image, np.float64) @ GRAY_WEIGHTS[:, None]
