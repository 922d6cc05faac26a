"""Our existing networks on imported Keras weights compute the Keras models'
logits (tools/keras_maps: mobilenet_v1, inception, ...).

Each case builds the keras.applications twin with seeded random weights at
the published size, imports both of its files (legacy .h5 and .weights.h5)
to the same values and compares our logits on them within 1e-4 of the
largest Keras logit (keras_parity.check_both_files).
"""
import pytest

from tests.nets import keras_parity
from tests.nets import keras_twins

keras = keras_twins.keras


@pytest.mark.parametrize('model_name, alpha, size', [
    ('mobilenet_v1', 1.0, 224),
    ('mobilenet_v1_025', 0.25, 128),
])
def test_mobilenet_v1(model_name, alpha, size, tmp_path):
  twin = keras_twins.make_twin(keras.applications.MobileNet, tmp_path,
                               alpha=alpha, input_shape=(size, size, 3))
  keras_parity.check_both_files(model_name, twin,
                                keras_parity.random_images(size), tmp_path)


@pytest.mark.parametrize('model_name, alpha, size', [
    ('mobilenet_v2', 1.0, 224),
    pytest.param('mobilenet_v2_140', 1.4, 96, marks=pytest.mark.heavy),
    pytest.param('mobilenet_v2_035', 0.35, 96, marks=pytest.mark.heavy),
])
def test_mobilenet_v2(model_name, alpha, size, tmp_path):
  twin = keras_twins.make_twin(keras.applications.MobileNetV2, tmp_path,
                               alpha=alpha, input_shape=(size, size, 3))
  keras_parity.check_both_files(model_name, twin,
                                keras_parity.random_images(size), tmp_path)


@pytest.mark.parametrize('model_name, constructor, kwargs', [
    ('mobilenet_v3_large', 'MobileNetV3Large', {}),
    ('mobilenet_v3_small', 'MobileNetV3Small', {}),
    pytest.param('mobilenet_v3_large_minimalistic', 'MobileNetV3Large',
                 {'minimalistic': True}, marks=pytest.mark.heavy),
    pytest.param('mobilenet_v3_small_minimalistic', 'MobileNetV3Small',
                 {'minimalistic': True}, marks=pytest.mark.heavy),
])
def test_mobilenet_v3(model_name, constructor, kwargs, tmp_path):
  """Keras rescales [0, 255] inside; ours takes the result, in [-1, 1]."""
  twin = keras_twins.make_twin(getattr(keras.applications, constructor),
                               tmp_path, **kwargs)
  pixels = keras_parity.random_images(224, low=0.0, high=255.0)
  keras_parity.check_both_files(model_name, twin, pixels, tmp_path,
                                ours_images=pixels / 127.5 - 1.0)


@pytest.mark.slow
def test_inception_v3(tmp_path):
  twin = keras_twins.make_twin(keras.applications.InceptionV3, tmp_path)
  keras_parity.check_both_files('inception_v3', twin,
                                keras_parity.random_images(299), tmp_path)


@pytest.mark.heavy
def test_inception_resnet_v2(tmp_path):
  twin = keras_twins.make_twin(keras.applications.InceptionResNetV2, tmp_path)
  keras_parity.check_both_files('inception_resnet_v2', twin,
                                keras_parity.random_images(299), tmp_path)


def _vgg_parity(model_name, constructor, tmp_path):
  """Keras takes BGR minus the BGR means; ours the same pixels as RGB."""
  twin = keras_twins.make_twin(constructor, tmp_path)
  bgr = keras_parity.random_images(224, low=-120.0, high=150.0)
  keras_parity.check_both_files(model_name, twin, bgr, tmp_path,
                                ours_images=bgr[..., ::-1].copy())


@pytest.mark.slow
def test_vgg_16(tmp_path):
  _vgg_parity('vgg_16', keras.applications.VGG16, tmp_path)


@pytest.mark.heavy
def test_vgg_19(tmp_path):
  _vgg_parity('vgg_19', keras.applications.VGG19, tmp_path)
