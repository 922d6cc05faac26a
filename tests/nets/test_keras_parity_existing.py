"""Our existing networks on imported Keras weights compute the Keras models'
logits (tools/keras_maps: mobilenet_v1, ...).

Each case builds the keras.applications twin with seeded random weights at
the published size, imports both of its files (legacy .h5 and .weights.h5)
and compares logits within 1e-4 of the largest Keras logit
(keras_parity.assert_logits_close).
"""
import pytest

from tests.nets import keras_parity
from tests.nets import keras_twins

keras = keras_twins.keras


def _check_parity(model_name, twin, images, tmp_path, ours_images=None):
  """Both files of `twin` imported into `model_name` give the twin's
  logits; `ours_images` is what our network takes where it differs."""
  expected = twin.logits(images)
  ours_images = images if ours_images is None else ours_images
  for path in (twin.legacy_h5, twin.weights_h5):
    ours = keras_parity.imported_logits(model_name, path, ours_images,
                                        tmp_path)
    keras_parity.assert_logits_close(ours, expected)


@pytest.mark.parametrize('model_name, alpha, size', [
    ('mobilenet_v1', 1.0, 224),
    ('mobilenet_v1_025', 0.25, 128),
])
def test_mobilenet_v1(model_name, alpha, size, tmp_path):
  twin = keras_twins.make_twin(keras.applications.MobileNet, tmp_path,
                               alpha=alpha, input_shape=(size, size, 3))
  _check_parity(model_name, twin, keras_parity.random_images(size), tmp_path)
