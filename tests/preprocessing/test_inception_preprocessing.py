"""inception_preprocessing against numpy, in a graph and in tf.data."""
import inspect

import numpy as np
import pytest
import tensorflow as tf

from preprocessing import inception_preprocessing as inception
from tests.preprocessing import pp_harness as harness

tf1 = tf.compat.v1

MODES = sorted(harness.RUNNERS)


def _eval_reference(image01, out_hw, fraction=0.875):
  """Central crop, legacy bilinear resize, then scale [0, 1] to [-1, 1]."""
  if fraction:
    image01 = harness.central_fraction_crop(image01, fraction)
  if out_hw:
    image01 = harness.resize_bilinear(image01, *out_hw)
  return (image01 - 0.5) * 2.0


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('in_hw,out_hw', [
    ((20, 30), (12, 14)),   # crop starts 1 and 1: sizes 18 x 28
    ((13, 9), (16, 16)),    # crop starts 0 and 0: upscaled
])
def test_eval_matches_numpy_uint8(mode, in_hw, out_hw):
  image = harness.random_image(*in_hw)
  result = harness.RUNNERS[mode](
      lambda x: inception.preprocess_image(x, *out_hw), image)
  expected = _eval_reference(image / 255.0, out_hw)
  assert result.static_shape == [out_hw[0], out_hw[1], 3]
  np.testing.assert_allclose(result.values[0], expected, atol=1e-5)


@pytest.mark.parametrize('mode', MODES)
def test_eval_float_input_without_crop(mode):
  image = harness.random_image(11, 7).astype(np.float32) / 255.0
  result = harness.RUNNERS[mode](
      lambda x: inception.preprocess_image(x, 9, 10, crop_image=False), image)
  expected = _eval_reference(image.astype(np.float64), (9, 10), fraction=None)
  np.testing.assert_allclose(result.values[0], expected, atol=1e-5)


def test_eval_without_size_only_crops():
  image = harness.random_image(16, 24)
  result = harness.run_graph(
      lambda x: inception.preprocess_for_eval(x, None, None), image)
  # 16 * 0.875 = 14 and 24 * 0.875 = 21: starts 1 and 1, sizes 14 x 22.
  expected = _eval_reference(image / 255.0, None)
  assert expected.shape == (14, 22, 3)
  np.testing.assert_allclose(result.values[0], expected, atol=1e-6)


@pytest.mark.parametrize('mode', MODES)
def test_eval_grayscale(mode):
  image = harness.random_image(16, 16)
  result = harness.RUNNERS[mode](
      lambda x: inception.preprocess_image(x, 8, 8, use_grayscale=True),
      image)
  expected = _eval_reference(harness.grayscale(image / 255.0), (8, 8))
  assert result.values[0].shape == (8, 8, 1)
  np.testing.assert_allclose(result.values[0], expected, atol=1e-4)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('kwargs', [
    {},
    {'fast_mode': False},
    {'crop_image': False},
    {'bbox': np.array([[[0.1, 0.2, 0.6, 0.9]]], np.float32)},
])
def test_train_shape_and_range(mode, kwargs):
  image = harness.random_image(24, 20)
  result = harness.RUNNERS[mode](
      lambda x: inception.preprocess_image(x, 10, 12, is_training=True,
                                           **kwargs), image, runs=3)
  assert result.static_shape == [10, 12, 3]
  for out in result.values:
    assert out.shape == (10, 12, 3)
    assert out.min() >= -1.0 and out.max() <= 1.0


@pytest.mark.parametrize('mode', MODES)
def test_train_gray_input_is_resize_flip_and_brightness(mode):
  # With R = G = B saturation changes nothing, so without cropping fast mode
  # is: bilinear resize, maybe a flip, one brightness delta in [-32, 32]/255
  # (values kept in [0.2, 0.8] so the clip never bites), then 2 * (x - 0.5).
  gray = harness.random_image(9, 11, channels=1, low=51, high=205)
  image = np.repeat(gray, 3, axis=2)
  result = harness.RUNNERS[mode](
      lambda x: inception.preprocess_image(x, 7, 8, is_training=True,
                                           crop_image=False), image, runs=10)
  resized = harness.resize_bilinear(image / 255.0, 7, 8)
  flips = set()
  for out in result.values:
    x01 = out / 2.0 + 0.5
    for flipped in (False, True):
      delta = x01 - (resized[:, ::-1] if flipped else resized)
      if np.ptp(delta) < 1e-4:
        assert abs(delta.mean()) <= 32.0 / 255.0 + 1e-5
        flips.add(flipped)
        break
    else:
      raise AssertionError('output is not resize + flip + brightness')
  assert flips == {False, True}


def test_train_seeded_graphs_repeat():
  image = harness.random_image(16, 16)
  fn = lambda x: inception.preprocess_image(x, 8, 8, is_training=True,
                                            fast_mode=False)
  first = harness.run_graph(fn, image, runs=2, seed=11).values
  second = harness.run_graph(fn, image, runs=2, seed=11).values
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)
  assert not np.array_equal(first[0], first[1])


@pytest.mark.parametrize('mode', MODES)
def test_train_grayscale(mode):
  image = harness.random_image(16, 16)
  result = harness.RUNNERS[mode](
      lambda x: inception.preprocess_image(x, 8, 8, is_training=True,
                                           use_grayscale=True), image)
  assert result.static_shape == [8, 8, 1]
  assert result.values[0].shape == (8, 8, 1)


@pytest.mark.parametrize('mode', MODES)
def test_apply_with_random_selector_runs_one_case(mode):
  image = np.zeros((2, 2, 1), np.float32)
  result = harness.RUNNERS[mode](
      lambda x: inception.apply_with_random_selector(
          x, lambda y, case: y + float(case), num_cases=4), image, runs=40)
  seen = set()
  for out in result.values:
    assert np.ptp(out) == 0  # one case applied to the whole tensor
    seen.add(float(out.flat[0]))
  # 40 draws from 4 cases miss one with probability < 4 * 0.75**40 = 4e-5.
  assert seen == {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize('fast_mode,orderings', [(True, [0, 1]),
                                                 (False, [0, 1, 2, 3])])
def test_distort_color_stays_in_unit_range(fast_mode, orderings):
  image = harness.random_image(5, 6).astype(np.float32) / 255.0
  with tf.Graph().as_default():
    x = tf.constant(image)
    outs = [inception.distort_color(x, o, fast_mode) for o in orderings]
    with tf1.Session() as sess:
      for _ in range(3):
        for out in sess.run(outs):
          assert out.shape == (5, 6, 3)
          assert out.min() >= 0.0 and out.max() <= 1.0


def test_distort_color_rejects_bad_ordering():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r'color_ordering.*received 4'):
      inception.distort_color(tf.zeros([2, 2, 3]), 4, fast_mode=False)


def test_distorted_bounding_box_crop_is_a_sub_image():
  image = harness.random_image(20, 24).astype(np.float32)
  bbox = np.array([[[0.25, 0.25, 0.75, 0.75]]], np.float32)
  with tf.Graph().as_default():
    crop, box = inception.distorted_bounding_box_crop(
        tf.constant(image), tf.constant(bbox))
    with tf1.Session() as sess:
      runs = [sess.run([crop, box]) for _ in range(5)]
  for got, distorted in runs:
    ymin, xmin, ymax, xmax = distorted[0, 0]
    y0, x0 = int(round(ymin * 20)), int(round(xmin * 24))
    h, w = got.shape[:2]
    assert (int(round(ymax * 20)), int(round(xmax * 24))) == (y0 + h, x0 + w)
    np.testing.assert_array_equal(got, image[y0:y0 + h, x0:x0 + w])
    assert h * w >= 0.05 * 20 * 24


TRAIN_SUMMARIES = ['distort_image/image_with_bounding_boxes',
                   'distort_image/images_with_distorted_bounding_box',
                   'distort_image/cropped_resized_image',
                   'distort_image/final_distorted_image']


@pytest.mark.parametrize('add', [True, False])
def test_train_summaries_in_graph_only_when_asked(add):
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.uint8, [None, None, 3])
    inception.preprocess_image(x, 8, 8, is_training=True,
                               add_image_summaries=add)
    got = [s.op.name for s in tf1.get_collection(tf1.GraphKeys.SUMMARIES)]
  assert got == (TRAIN_SUMMARIES if add else [])


def test_no_summaries_from_inside_dataset_map():
  with tf.Graph().as_default():
    ds = tf.data.Dataset.from_tensors(harness.random_image(8, 8)).map(
        lambda x: inception.preprocess_image(x, 4, 4, is_training=True))
    assert ds.element_spec.shape.as_list() == [4, 4, 3]
    assert not tf1.get_collection(tf1.GraphKeys.SUMMARIES)


def test_signatures():
  def params(fn):
    return list(inspect.signature(fn).parameters)
  assert params(inception.preprocess_image) == [
      'image', 'height', 'width', 'is_training', 'bbox', 'fast_mode',
      'add_image_summaries', 'crop_image', 'use_grayscale']
  assert params(inception.preprocess_for_train) == [
      'image', 'height', 'width', 'bbox', 'fast_mode', 'scope',
      'add_image_summaries', 'random_crop', 'use_grayscale']
  assert params(inception.preprocess_for_eval) == [
      'image', 'height', 'width', 'central_fraction', 'scope', 'central_crop',
      'use_grayscale']
