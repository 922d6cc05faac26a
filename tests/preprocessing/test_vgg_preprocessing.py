"""vgg_preprocessing against numpy, in a graph and in tf.data."""
import inspect

import numpy as np
import pytest
import tensorflow as tf

from preprocessing import vgg_preprocessing
from tests.preprocessing import pp_harness as harness

tf1 = tf.compat.v1

MODES = sorted(harness.RUNNERS)
MEANS = np.array([123.68, 116.78, 103.94])


def _smallest_size(h, w, side):
  """Aspect-preserving size, in float32 like the original, rint half-even."""
  h32, w32, s32 = np.float32(h), np.float32(w), np.float32(side)
  scale = s32 / w32 if h > w else s32 / h32
  return int(np.rint(h32 * scale)), int(np.rint(w32 * scale))


def _resize_and_crop(image, side, out_h, out_w, dy=None, dx=None):
  """Aspect-preserving resize, then the central (or the given) crop."""
  nh, nw = _smallest_size(image.shape[0], image.shape[1], side)
  resized = harness.resize_bilinear(image, nh, nw)
  dy = (nh - out_h) // 2 if dy is None else dy
  dx = (nw - out_w) // 2 if dx is None else dx
  return resized[dy:dy + out_h, dx:dx + out_w]


@pytest.mark.parametrize('h,w,side', [(20, 30, 16), (30, 20, 16),
                                      (17, 23, 10), (5, 5, 7), (13, 7, 9)])
def test_smallest_size_at_least(h, w, side):
  with tf.Graph().as_default():
    size = vgg_preprocessing._smallest_size_at_least(
        tf.constant(h), tf.constant(w), side)
    with tf1.Session() as sess:
      got = sess.run(size)
  assert tuple(got) == _smallest_size(h, w, side)
  assert min(got) == side


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('in_hw,side,out_hw,dtype', [
    ((20, 30), 16, (12, 14), np.uint8),    # downscale, non-square crop
    ((17, 23), 10, (8, 9), np.uint8),      # width rounds 13.53 -> 14
    ((6, 5), 11, (10, 11), np.float32),    # upscale, float input
])
def test_eval_matches_numpy(mode, in_hw, side, out_hw, dtype):
  image = harness.random_image(*in_hw, dtype=dtype)
  result = harness.RUNNERS[mode](
      lambda x: vgg_preprocessing.preprocess_image(
          x, out_hw[0], out_hw[1], resize_side_min=side), image)
  expected = _resize_and_crop(image, side, *out_hw) - MEANS
  assert result.static_shape == [out_hw[0], out_hw[1], 3]
  np.testing.assert_allclose(result.values[0], expected, atol=1e-3)


@pytest.mark.parametrize('mode', MODES)
def test_eval_grayscale_is_grayscale_of_rgb_result(mode):
  image = harness.random_image(12, 15)
  result = harness.RUNNERS[mode](
      lambda x: vgg_preprocessing.preprocess_image(
          x, 8, 8, resize_side_min=10, use_grayscale=True), image)
  expected = (harness.grayscale(_resize_and_crop(image, 10, 8, 8))
              - harness.grayscale(MEANS[None, None]))
  assert result.values[0].shape == (8, 8, 1)
  np.testing.assert_allclose(result.values[0], expected, atol=1e-3)


@pytest.mark.parametrize('mode', MODES)
def test_train_is_resized_random_crop_and_flip(mode):
  image = harness.random_image(10, 13)
  side_min, side_max, out_h, out_w = 9, 11, 8, 8
  result = harness.RUNNERS[mode](
      lambda x: vgg_preprocessing.preprocess_image(
          x, out_h, out_w, is_training=True, resize_side_min=side_min,
          resize_side_max=side_max), image, runs=12)
  assert result.static_shape == [out_h, out_w, 3]
  # Every (side, offset, flip) the op may draw, computed in numpy.
  candidates = {}
  for side in range(side_min, side_max + 1):
    nh, nw = _smallest_size(10, 13, side)
    for dy in range(nh - out_h + 1):
      for dx in range(nw - out_w + 1):
        crop = _resize_and_crop(image, side, out_h, out_w, dy, dx) - MEANS
        candidates[(side, dy, dx, False)] = crop
        candidates[(side, dy, dx, True)] = crop[:, ::-1]
  drawn = set()
  for out in result.values:
    matches = [k for k, c in candidates.items()
               if np.allclose(out, c, atol=1e-3)]
    assert matches, 'output is no resized crop of the input'
    drawn.add(matches[0])
  assert len(drawn) > 1


def test_train_seeded_graphs_repeat():
  image = harness.random_image(10, 13)
  fn = lambda x: vgg_preprocessing.preprocess_image(
      x, 8, 8, is_training=True, resize_side_min=9, resize_side_max=20)
  first = harness.run_graph(fn, image, runs=3, seed=3).values
  second = harness.run_graph(fn, image, runs=3, seed=3).values
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)
  assert not all(np.array_equal(first[0], v) for v in first[1:])


@pytest.mark.parametrize('mode', MODES)
def test_train_grayscale(mode):
  image = harness.random_image(10, 13)
  result = harness.RUNNERS[mode](
      lambda x: vgg_preprocessing.preprocess_image(
          x, 8, 8, is_training=True, resize_side_min=9, resize_side_max=11,
          use_grayscale=True), image)
  gray_mean = harness.grayscale(MEANS[None, None]).item()
  out = result.values[0]
  assert result.static_shape == [8, 8, 1]
  assert out.min() >= -gray_mean - 1e-3 and out.max() <= 255 - gray_mean + 1e-3


def test_random_crop_applies_one_crop_to_every_image():
  image = harness.random_image(9, 11).astype(np.float32)
  depth = harness.random_image(9, 11, channels=1, seed=1).astype(np.float32)
  with tf.Graph().as_default():
    crops = vgg_preprocessing._random_crop(
        [tf.constant(image), tf.constant(depth)], 4, 5)
    with tf1.Session() as sess:
      runs = [sess.run(crops) for _ in range(8)]
  for crop_image, crop_depth in runs:
    assert crop_image.shape == (4, 5, 3) and crop_depth.shape == (4, 5, 1)
    hits = [(dy, dx) for dy in range(6) for dx in range(7)
            if np.array_equal(image[dy:dy + 4, dx:dx + 5], crop_image)]
    assert len(hits) == 1
    dy, dx = hits[0]
    np.testing.assert_array_equal(depth[dy:dy + 4, dx:dx + 5], crop_depth)


def test_random_crop_rejects_bad_input():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='image_list'):
      vgg_preprocessing._random_crop([], 4, 4)
    small = tf1.placeholder(tf.float32, [None, None, 3])
    crop = vgg_preprocessing._random_crop([small], 4, 4)[0]
    with tf1.Session() as sess:
      with pytest.raises(tf.errors.InvalidArgumentError, match='Crop size'):
        sess.run(crop, {small: np.zeros((3, 8, 3), np.float32)})


def test_central_crop():
  image = harness.random_image(9, 12).astype(np.float32)
  with tf.Graph().as_default():
    crop = vgg_preprocessing._central_crop([tf.constant(image)], 4, 7)[0]
    with tf1.Session() as sess:
      got = sess.run(crop)
  # offsets (9 - 4) // 2 = 2 and (12 - 7) // 2 = 2
  np.testing.assert_array_equal(got, image[2:6, 2:9])


def test_mean_image_subtraction():
  image = harness.random_image(3, 4).astype(np.float32)
  with tf.Graph().as_default():
    out = vgg_preprocessing._mean_image_subtraction(
        tf.constant(image), [1.0, 2.0, 3.0])
    with tf1.Session() as sess:
      got = sess.run(out)
  np.testing.assert_allclose(got, image - np.array([1.0, 2.0, 3.0]))


def test_mean_image_subtraction_errors():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r'len\(means\).*received 2 means'):
      vgg_preprocessing._mean_image_subtraction(
          tf.zeros([2, 2, 3]), [1.0, 2.0])
    with pytest.raises(ValueError, match='received shape'):
      vgg_preprocessing._mean_image_subtraction(
          tf1.placeholder(tf.float32), [1.0, 2.0, 3.0])


def test_signatures():
  def params(fn):
    return list(inspect.signature(fn).parameters)
  assert params(vgg_preprocessing.preprocess_image) == [
      'image', 'output_height', 'output_width', 'is_training',
      'resize_side_min', 'resize_side_max', 'use_grayscale']
  assert params(vgg_preprocessing.preprocess_for_train) == [
      'image', 'output_height', 'output_width', 'resize_side_min',
      'resize_side_max', 'use_grayscale']
  assert params(vgg_preprocessing.preprocess_for_eval) == [
      'image', 'output_height', 'output_width', 'resize_side',
      'use_grayscale']
  defaults = inspect.signature(vgg_preprocessing.preprocess_image).parameters
  assert defaults['resize_side_min'].default == 256
  assert defaults['resize_side_max'].default == 512
