"""preprocessing_factory: every family and alias resolves, errors list names."""
import ast
import importlib
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from nets import registry
from preprocessing import preprocessing_factory
from tests.preprocessing import pp_harness as harness

tf1 = tf.compat.v1

MODES = sorted(harness.RUNNERS)
FAMILIES = sorted(preprocessing_factory.PREPROCESSING_FAMILIES)
# Keyword arguments that keep the vgg resize tiny.
FAMILY_KWARGS = {'vgg': {'resize_side_min': 10, 'resize_side_max': 12}}


def _manifest():
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__)))), 'compat', 'slim_checkpoint_manifest.json')
  with open(path) as f:
    return json.load(f)


@pytest.mark.parametrize('name', sorted(registry.NETWORKS))
def test_every_network_resolves_to_its_family(name):
  module = preprocessing_factory.get_preprocessing_module(name)
  family = registry.NETWORKS[name].preprocessing
  assert module.__name__ == preprocessing_factory.PREPROCESSING_FAMILIES[family]
  assert callable(preprocessing_factory.get_preprocessing(name))


def test_model_aliases_are_the_registrys_families():
  # The factory's own copy of network -> family (it imports no nets/) names
  # exactly the registered networks, each with its record's family.
  aliases = preprocessing_factory.MODEL_ALIASES
  assert set(aliases) == set(registry.NETWORKS)
  assert aliases == {name: spec.preprocessing
                     for name, spec in registry.NETWORKS.items()}


def _imported_modules(path):
  """Every module a source file imports, at its top or inside a function."""
  with open(path) as f:
    tree = ast.parse(f.read())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      yield node.module


def test_preprocessing_imports_nothing_from_nets():
  # Networks know no data, and preprocessing knows no networks.
  package = os.path.dirname(os.path.abspath(preprocessing_factory.__file__))
  for file_name in sorted(os.listdir(package)):
    if file_name.endswith('.py'):
      path = os.path.join(package, file_name)
      nets = [m for m in _imported_modules(path)
              if m == 'nets' or m.startswith('nets.')]
      assert not nets, f'{file_name} imports {nets}'


def test_original_names_map_to_the_original_modules():
  # The 34 names the original factory accepted, and the module for each.
  original = _manifest()['_preprocessing_map']
  for name, module_name in original.items():
    module = preprocessing_factory.get_preprocessing_module(name)
    assert module.__name__.rsplit('.', 1)[-1] == module_name, name
  assert set(original) <= set(preprocessing_factory.preprocessing_names())


@pytest.mark.parametrize('name', ['resnet_v77', '', None, 'VGG'])
def test_unknown_name_lists_valid_names(name):
  with pytest.raises(ValueError) as info:
    preprocessing_factory.get_preprocessing(name)
  message = str(info.value)
  assert message.startswith(
      'Preprocessing name [%s] was not recognized. Valid names: ' % (name,))
  for valid in FAMILIES + sorted(registry.NETWORKS):
    assert valid in message


@pytest.mark.parametrize('family', FAMILIES)
def test_fn_is_the_family_preprocess_image(family):
  image = harness.random_image(14, 12)
  kwargs = FAMILY_KWARGS.get(family, {})
  module = importlib.import_module(preprocessing_factory.PREPROCESSING_FAMILIES[family])
  fn = preprocessing_factory.get_preprocessing(family)
  got = harness.run_graph(lambda x: fn(x, 8, 6, **kwargs), image).values[0]
  want = harness.run_graph(
      lambda x: module.preprocess_image(x, 8, 6, **kwargs), image).values[0]
  np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('is_training', [False, True])
def test_use_grayscale_gives_one_channel(mode, family, is_training):
  fn = preprocessing_factory.get_preprocessing(
      family, is_training=is_training, use_grayscale=True)
  kwargs = FAMILY_KWARGS.get(family, {})
  result = harness.RUNNERS[mode](lambda x: fn(x, 8, 8, **kwargs),
                                 harness.random_image(12, 12))
  assert result.values[0].shape == (8, 8, 1)


@pytest.mark.parametrize('is_training', [False, True])
def test_is_training_and_kwargs_reach_the_module(is_training):
  fn = preprocessing_factory.get_preprocessing('cifarnet',
                                               is_training=is_training)
  for add in (True, False):
    with tf.Graph().as_default():
      fn(tf1.placeholder(tf.uint8, [None, None, 3]), 8, 8,
         add_image_summaries=add)
      names = [s.op.name
               for s in tf1.get_collection(tf1.GraphKeys.SUMMARIES)]
    if not add:
      assert names == []
    else:
      assert ('distorted_image' in names) == is_training


@pytest.mark.parametrize('family', sorted(preprocessing_factory.PREPROCESSING_FAMILIES))
@pytest.mark.parametrize('is_training', [True, False])
def test_a_1x1_image_gives_the_output_size(family, is_training):
  fn = preprocessing_factory.get_preprocessing(family, is_training=is_training)
  result = harness.run_graph(lambda x: fn(x, 24, 20),
                             harness.random_image(1, 1))
  assert result.values[0].shape == (24, 20, 3)
  assert np.isfinite(result.values[0]).all()
