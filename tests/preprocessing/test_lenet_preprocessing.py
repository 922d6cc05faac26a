"""lenet_preprocessing against a numpy reference, in a graph and in tf.data."""
import inspect

import numpy as np
import pytest

from preprocessing import lenet_preprocessing
from tests.preprocessing import pp_harness as harness

MODES = sorted(harness.RUNNERS)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('in_hw,out_hw', [
    ((20, 30), (12, 16)),   # crop, non-square (catches a height/width swap)
    ((8, 6), (12, 11)),     # pad, odd padding on one axis
])
@pytest.mark.parametrize('is_training', [False, True])
def test_matches_numpy(mode, in_hw, out_hw, is_training):
  image = harness.random_image(*in_hw)
  result = harness.RUNNERS[mode](
      lambda x: lenet_preprocessing.preprocess_image(
          x, out_hw[0], out_hw[1], is_training=is_training), image)
  expected = (harness.crop_or_pad(image.astype(np.float64), *out_hw)
              - 128.0) / 128.0
  assert result.static_shape == [out_hw[0], out_hw[1], 3]
  np.testing.assert_allclose(result.values[0], expected, atol=1e-6)


@pytest.mark.parametrize('mode', MODES)
def test_grayscale(mode):
  image = harness.random_image(9, 7)
  result = harness.RUNNERS[mode](
      lambda x: lenet_preprocessing.preprocess_image(
          x, 6, 6, use_grayscale=True), image)
  expected = (harness.crop_or_pad(harness.grayscale(image), 6, 6)
              - 128.0) / 128.0
  assert result.values[0].shape == (6, 6, 1)
  np.testing.assert_allclose(result.values[0], expected, atol=1e-4)


def test_signature():
  params = list(inspect.signature(
      lenet_preprocessing.preprocess_image).parameters)
  assert params == ['image', 'output_height', 'output_width', 'is_training',
                    'use_grayscale']
