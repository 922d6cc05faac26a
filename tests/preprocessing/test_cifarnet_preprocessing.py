"""cifarnet_preprocessing against numpy, in a graph and in tf.data."""
import inspect

import numpy as np
import pytest
import tensorflow as tf

from preprocessing import cifarnet_preprocessing
from tests.preprocessing import pp_harness as harness

tf1 = tf.compat.v1

MODES = sorted(harness.RUNNERS)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('in_hw,out_hw', [((20, 30), (12, 16)),
                                          ((8, 6), (12, 11))])
def test_eval_matches_numpy(mode, in_hw, out_hw):
  image = harness.random_image(*in_hw)
  result = harness.RUNNERS[mode](
      lambda x: cifarnet_preprocessing.preprocess_image(x, *out_hw), image)
  expected = harness.standardize(harness.crop_or_pad(image, *out_hw))
  assert result.static_shape == [out_hw[0], out_hw[1], 3]
  np.testing.assert_allclose(result.values[0], expected, atol=1e-5)


@pytest.mark.parametrize('mode', MODES)
def test_eval_grayscale(mode):
  image = harness.random_image(10, 10)
  result = harness.RUNNERS[mode](
      lambda x: cifarnet_preprocessing.preprocess_image(
          x, 8, 8, use_grayscale=True), image)
  expected = harness.standardize(
      harness.crop_or_pad(harness.grayscale(image), 8, 8))
  assert result.values[0].shape == (8, 8, 1)
  np.testing.assert_allclose(result.values[0], expected, atol=1e-4)


def _identify_crop(out, padded):
  """Which (offset_y, offset_x, flipped) crop of `padded` produced `out`.

  Brightness adds one delta, contrast scales each channel about its own mean
  by one factor f > 0 and standardization is affine over the whole image, so
  after removing each channel's mean the output is proportional to the crop
  with its channel means removed. Returns None if no crop matches.
  """
  def centred(a):
    a = a - a.mean(axis=(0, 1), keepdims=True)
    return a / np.linalg.norm(a)

  h, w = out.shape[:2]
  target = centred(out.astype(np.float64))
  for dy in range(padded.shape[0] - h + 1):
    for dx in range(padded.shape[1] - w + 1):
      crop = padded[dy:dy + h, dx:dx + w]
      for flipped in (False, True):
        candidate = crop[:, ::-1] if flipped else crop
        if np.allclose(centred(candidate), target, atol=1e-5):
          return dy, dx, flipped
  return None


@pytest.mark.parametrize('mode', MODES)
def test_train_is_padded_crop_flip_then_standardized(mode):
  image = harness.random_image(6, 5).astype(np.float64)
  runs = 12
  result = harness.RUNNERS[mode](
      lambda x: cifarnet_preprocessing.preprocess_image(
          x, 6, 5, is_training=True), image.astype(np.uint8), runs=runs)
  assert result.static_shape == [6, 5, 3]
  padded = np.pad(image, [[4, 4], [4, 4], [0, 0]])
  crops = set()
  for out in result.values:
    # per_image_standardization: zero mean, unit standard deviation.
    assert abs(out.mean()) < 1e-5
    np.testing.assert_allclose(out.std(), 1.0, atol=1e-4)
    crop = _identify_crop(out, padded)
    assert crop is not None
    crops.add(crop)
  # 9 * 9 offsets times 2 flips: 12 draws all alike would mean no randomness.
  assert len(crops) > 1


def test_train_seeded_graphs_repeat():
  image = harness.random_image(8, 8)
  fn = lambda x: cifarnet_preprocessing.preprocess_image(
      x, 8, 8, is_training=True)
  first = harness.run_graph(fn, image, runs=2, seed=7).values
  second = harness.run_graph(fn, image, runs=2, seed=7).values
  np.testing.assert_array_equal(first[0], second[0])
  np.testing.assert_array_equal(first[1], second[1])
  assert not np.array_equal(first[0], first[1])


@pytest.mark.parametrize('mode', MODES)
def test_train_grayscale(mode):
  image = harness.random_image(8, 8)
  result = harness.RUNNERS[mode](
      lambda x: cifarnet_preprocessing.preprocess_image(
          x, 8, 8, is_training=True, use_grayscale=True), image)
  assert result.static_shape == [8, 8, 1]
  assert result.values[0].shape == (8, 8, 1)


@pytest.mark.parametrize('is_training,names', [
    (False, ['image', 'resized_image']),
    (True, ['image', 'distorted_image']),
])
def test_summaries_in_graph_only_when_asked(is_training, names):
  for add in (True, False):
    with tf.Graph().as_default():
      x = tf1.placeholder(tf.uint8, [None, None, 3])
      cifarnet_preprocessing.preprocess_image(
          x, 8, 8, is_training=is_training, add_image_summaries=add)
      got = [s.op.name for s in tf1.get_collection(tf1.GraphKeys.SUMMARIES)]
    assert got == (names if add else [])


def test_signatures():
  def params(fn):
    return list(inspect.signature(fn).parameters)
  assert params(cifarnet_preprocessing.preprocess_image) == [
      'image', 'output_height', 'output_width', 'is_training',
      'add_image_summaries', 'use_grayscale']
  assert params(cifarnet_preprocessing.preprocess_for_train) == [
      'image', 'output_height', 'output_width', 'padding',
      'add_image_summaries', 'use_grayscale']
  assert params(cifarnet_preprocessing.preprocess_for_eval) == [
      'image', 'output_height', 'output_width', 'add_image_summaries',
      'use_grayscale']


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('in_hw', [(1, 1), (2, 30), (23, 24)])
def test_train_enlarges_an_image_smaller_than_the_padded_crop(mode, in_hw):
  # A 1x1 image padded by 4 is 9x9: the original's 32x32 crop failed.
  image = harness.random_image(*in_hw)
  result = harness.RUNNERS[mode](
      lambda x: cifarnet_preprocessing.preprocess_image(
          x, 32, 32, is_training=True), image, runs=3)
  assert result.static_shape == [32, 32, 3]
  for out in result.values:
    assert out.shape == (32, 32, 3)
    assert np.isfinite(out).all()


def test_train_keeps_an_image_that_fits_once_padded():
  # 24x24 padded by 4 is exactly 32x32: not resized, so the crop is the
  # padded image itself (possibly flipped).
  image = harness.random_image(24, 24).astype(np.float64)
  out = harness.run_graph(
      lambda x: cifarnet_preprocessing.preprocess_image(
          x, 32, 32, is_training=True), image.astype(np.uint8)).values[0]
  assert _identify_crop(out, np.pad(image, [[4, 4], [4, 4], [0, 0]])) in (
      (0, 0, False), (0, 0, True))
