"""network.preprocessing_for: the family a network's record names, unless
--preprocessing_name names one."""
import pytest

from image_classifier import model_on_split
from image_classifier import network
from image_classifier import specs
from nets.registry import NETWORKS
from preprocessing import preprocessing_factory


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_a_networks_own_family_is_its_records(name):
  family = network.preprocessing_for(name, None)
  assert family == NETWORKS[name].preprocessing
  assert family in preprocessing_factory.PREPROCESSING_FAMILIES


@pytest.mark.parametrize('given', ['vgg', 'inception_v3'])
def test_a_named_preprocessing_wins(given):
  # resnet_v2's published weights take inception preprocessing.
  assert network.preprocessing_for('resnet_v2_50', given) == given
  assert network.preprocessing_for('resnet_v2_50', '') == 'vgg'


def test_model_parts_preprocess_with_the_networks_family(monkeypatch,
                                                          tmp_path):
  asked = []
  real = preprocessing_factory.get_preprocessing

  def spy(name, **kwargs):
    asked.append(name)
    return real(name, **kwargs)

  monkeypatch.setattr(preprocessing_factory, 'get_preprocessing', spy)
  (tmp_path / 'mnist_train.tfrecord').touch()  # Only found, never read.
  model = model_on_split.model_parts(
      specs.DataSpec('mnist', str(tmp_path), 'train'),
      specs.ModelSpec('lenet'), is_training=False)
  assert asked == ['lenet']
  assert model.image_size == NETWORKS['lenet'].default_image_size
