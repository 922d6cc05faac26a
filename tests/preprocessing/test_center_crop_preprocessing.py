"""center_crop preprocessing: resize + center crop, random resized crop.

Geometry is checked where the resize is the identity (the image's shorter
side already is the resize target), so the expected crop is plain numpy
slicing; resampling is checked for its range and shape only.
"""
import numpy as np
import pytest

from preprocessing import center_crop_preprocessing as ccp
from preprocessing import preprocessing_factory
from tests.preprocessing import pp_harness as harness

MODES = sorted(harness.RUNNERS)


@pytest.mark.parametrize('size,fraction,side', [
    (224, None, 256),   # EfficientNet B0 and timm's 0.875.
    (600, None, 632),   # B7: 600 / 632 = 0.949.
    (224, 0.875, 256),
    (380, 0.95, 400),   # 380 / 0.95 is 399.99999999999994 in floats.
    (16, 0.5, 32),
])
def test_resize_side(size, fraction, side):
  assert ccp.resize_side(size, fraction) == side


def test_default_fraction_is_efficientnets():
  assert ccp.default_crop_fraction(224) == pytest.approx(0.875)
  assert ccp.default_crop_fraction(600) == pytest.approx(600 / 632)


@pytest.mark.parametrize('mode', MODES)
def test_eval_center_crop_keeps_the_fraction(mode):
  # Shorter side 32 = 16 / 0.5: the resize keeps the size, so the result
  # is the central 16 x 16 window (rows 8:24 of 32, columns 16:32 of 48).
  image = harness.random_image(32, 48)
  result = harness.RUNNERS[mode](
      lambda x: ccp.preprocess_image(x, 16, 16, crop_fraction=0.5), image)
  assert result.static_shape == [16, 16, 3]
  np.testing.assert_allclose(result.values[0], image[8:24, 16:32], atol=1e-3)


def test_eval_default_fraction_resizes_to_size_plus_32():
  image = harness.random_image(80, 64)  # Shorter side 64 = 32 + 32.
  result = harness.run_graph(lambda x: ccp.preprocess_image(x, 32, 32), image)
  np.testing.assert_allclose(result.values[0], image[24:56, 16:48], atol=1e-3)


def test_eval_resize_is_aspect_preserving_and_in_range():
  # A checkerboard makes bicubic overshoot; the result stays in [0, 255].
  board = (np.indices((60, 90)).sum(axis=0) % 2 * 255).astype(np.uint8)
  image = np.repeat(board[:, :, None], 3, axis=2)
  result = harness.run_graph(
      lambda x: ccp.resize_shorter_side(ccp.image_ops.to_float(x), 40), image)
  assert result.values[0].shape == (40, 60, 3)
  assert result.values[0].min() >= 0 and result.values[0].max() <= 255
  out = harness.run_graph(lambda x: ccp.preprocess_image(x, 24, 24), image)
  assert out.values[0].min() >= 0 and out.values[0].max() <= 255


@pytest.mark.parametrize('mode', MODES)
def test_train_output_and_constant_image(mode):
  image = np.full((30, 50, 3), 77, np.uint8)
  result = harness.RUNNERS[mode](
      lambda x: ccp.preprocess_image(x, 12, 10, is_training=True,
                                     add_image_summaries=False),
      image, runs=3, seed=1)
  assert result.static_shape == [12, 10, 3]
  for value in result.values:
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, 77.0, atol=1e-3)


def test_train_crops_and_flips_at_random():
  # A left-to-right ramp: a flip makes it decrease; crops change the range.
  ramp = np.tile(np.arange(64, dtype=np.uint8)[None, :, None] * 4, (48, 1, 3))
  result = harness.run_graph(
      lambda x: ccp.preprocess_image(x, 16, 16, is_training=True,
                                     add_image_summaries=False),
      ramp, runs=12, seed=3)
  slopes = {np.sign(v[8, -1, 0] - v[8, 0, 0]) for v in result.values}
  assert slopes == {-1.0, 1.0}
  widths = {round(float(np.ptp(v[8, :, 0]))) for v in result.values}
  assert len(widths) > 1
  for value in result.values:
    assert value.min() >= 0 and value.max() <= 255


def test_is_the_center_crop_family():
  module = preprocessing_factory.get_preprocessing_module('center_crop')
  assert module is ccp
  assert preprocessing_factory.get_preprocessing_module(
      'efficientnet_b0') is ccp
