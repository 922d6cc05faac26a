"""The network records: one place for every fact the toolkit uses.

No graph is built here: the records are checked against the code they name,
docs/networks.md's table, the checkpoint tool and the preprocessing families.
"""
import importlib
import inspect
import os
import re

import pytest

from nets import registry
from nets.registry import NETWORKS
from preprocessing import preprocessing_factory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NAMES = sorted(NETWORKS)


@pytest.mark.parametrize('name', NAMES)
def test_record_names_greppable_code(name):
  """From a model name to the line of code that defines its function."""
  spec = NETWORKS[name]
  module = importlib.import_module(spec.module)
  source = inspect.getsource(module)
  assert re.search(rf'^(def {spec.function}\(|{spec.function} = )', source,
                   re.MULTILINE), f'{spec.module} defines no {spec.function}'
  fn = getattr(module, spec.function)
  # The function's own attribute, where upstream had one, agrees.
  assert getattr(fn, 'default_image_size',
                 spec.default_image_size) == spec.default_image_size
  assert callable(getattr(module, spec.arg_scope))
  assert spec.preprocessing in preprocessing_factory.PREPROCESSING_FAMILIES


# The names the arg_scopes give their batch-norm decay parameter.
_DECAY_PARAMETERS = ('batch_norm_decay', 'bn_decay')


def _arg_scope_parameters(spec):
  """The parameters of the network's arg_scope, as a caller may pass them.

  A `zoo.wrapped_partial` (NASNet) is read as the partial, whose fixed
  keywords are the defaults (not as the function it wraps);
  mobilenet_v2.training_scope(**kwargs) forwards to mobilenet's.
  """
  module = importlib.import_module(spec.module)
  function = getattr(module, spec.arg_scope)
  parameters = inspect.signature(function, follow_wrapped=False).parameters
  if not any(p in parameters for p in _DECAY_PARAMETERS):
    lib = getattr(module, 'lib', None)
    if lib is not None and hasattr(lib, spec.arg_scope):
      parameters = inspect.signature(getattr(lib, spec.arg_scope),
                                     follow_wrapped=False).parameters
  return parameters


@pytest.mark.parametrize('name', NAMES)
def test_batch_norm_decay_is_the_arg_scopes(name):
  spec = NETWORKS[name]
  parameters = _arg_scope_parameters(spec)
  found = [p for p in _DECAY_PARAMETERS if p in parameters]
  assert len(found) <= 1
  if not found:
    assert spec.batch_norm_decay_parameter is None
    assert spec.batch_norm_decay is None
    return
  assert spec.batch_norm_decay_parameter == found[0]
  default = parameters[found[0]].default
  assert default is not inspect.Parameter.empty
  assert spec.batch_norm_decay == default


@pytest.mark.parametrize('name', NAMES)
def test_weights_facts_are_the_main_checkpoints(name):
  spec = NETWORKS[name]
  own = [c for c in registry.CHECKPOINTS.values() if c.model_name == name]
  if spec.checkpoint is None:
    assert spec.weights_num_classes is None
    assert spec.weights_labels_offset is None
    assert not [c for c in own if not c.quantized and not c.network_kwargs]
    return
  assert spec.checkpoint in own
  assert spec.weights_num_classes == spec.checkpoint.num_classes
  # The ImageNet records have 1001 classes, background at 0.
  assert spec.weights_labels_offset == 1001 - spec.weights_num_classes


def test_records_are_frozen():
  with pytest.raises(AttributeError):
    NETWORKS['cifarnet'].default_image_size = 64


CHECKPOINT_NAMES = list(registry.CHECKPOINTS)
# The hosts the published weights are served from.
_HOSTS = ('https://download.tensorflow.org/models/',
          'https://storage.googleapis.com/mobilenet_v2/checkpoints/')
# The verbatim copy of the image-models README's table of pre-trained models.
TABLE = os.path.join(ROOT, 'compat', 'pretrained_models_table.txt')
SEED = os.path.join(ROOT, '..', 'shared', 'seeds',
                    'slim_image_models_README.txt')


def _width_of(model_name):
  """The depth multiplier the factory's function for `model_name` uses."""
  spec = NETWORKS[model_name]
  fn = getattr(importlib.import_module(spec.module), spec.function)
  default = inspect.signature(fn).parameters['depth_multiplier'].default
  return getattr(fn, 'keywords', {}).get('depth_multiplier', default)


@pytest.mark.parametrize('name', CHECKPOINT_NAMES)
def test_checkpoint_facts(name):
  ckpt = registry.CHECKPOINTS[name]
  assert ckpt.model_name in NETWORKS
  assert ckpt.url.startswith(_HOSTS), ckpt.url
  assert ckpt.url.endswith(('.tar.gz', '.tgz')) and ckpt.file.endswith('.ckpt')
  # Unknown (None) or a hex SHA-256.
  assert ckpt.sha256 is None or re.fullmatch('[0-9a-f]{64}', ckpt.sha256)
  # 1001-class ImageNet records: class 0 is background.
  assert (ckpt.num_classes, ckpt.labels_offset) in ((1001, 0), (1000, 1))
  assert ckpt.preprocessing in preprocessing_factory.PREPROCESSING_FAMILIES
  assert ckpt.image_size in (96, 128, 160, 192, 224, 299, 331)
  # Accuracy only with its source, and only where the README lists it.
  assert (ckpt.top1 is None) == (ckpt.top5 is None) == (
      ckpt.accuracy_source is None) == (ckpt.listed_as is None)
  assert ckpt.quantized == name.endswith('_quant')


@pytest.mark.parametrize('name', [n for n in CHECKPOINT_NAMES
                                  if n.startswith('mobilenet')])
def test_mobilenet_width_is_what_the_network_builds(name):
  """--model_name builds the weights' width, or network_kwargs say it."""
  ckpt = registry.CHECKPOINTS[name]
  assert f'_{ckpt.depth_multiplier}_' in ckpt.file
  flags = registry.network_flags(ckpt)
  if ckpt.network_kwargs:
    assert flags is None
    assert ckpt.network_kwargs['depth_multiplier'] == ckpt.depth_multiplier
    assert _width_of(ckpt.model_name) != ckpt.depth_multiplier
  else:
    assert flags[0] == f'--model_name={ckpt.model_name}'
    assert _width_of(ckpt.model_name) == ckpt.depth_multiplier
    assert (f'--eval_image_size={ckpt.image_size}' in flags) == (
        ckpt.image_size != NETWORKS[ckpt.model_name].default_image_size)
    assert ('--quantize' in flags) == ckpt.quantized


def test_mobilenet_v1_has_16_float_and_16_quantized_weights():
  v1 = [c for c in registry.CHECKPOINTS.values()
        if c.model_name.startswith('mobilenet_v1')]
  pairs = {(c.depth_multiplier, c.image_size, c.quantized) for c in v1}
  assert len(v1) == len(pairs) == 32
  assert pairs == {(w, s, q) for w in (1.0, 0.75, 0.5, 0.25)
                   for s in (224, 192, 160, 128) for q in (False, True)}


@pytest.mark.parametrize('kwargs', sorted(
    {tuple(sorted(c.network_kwargs.items()))
     for c in registry.CHECKPOINTS.values() if c.network_kwargs}))
def test_network_kwargs_build(kwargs):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    images = tf.zeros([1, 32, 32, 3])
    logits, _ = nets_factory.get_network_fn('mobilenet_v2', 1001)(
        images, **dict(kwargs))
    assert logits.shape.as_list() == [1, 1001]


def test_legacy_names_still_name_their_weights():
  """The 13 names --checkpoint took before there were several weights per
  network are still keys, each the main weights of its network."""
  legacy = ['inception_v1', 'inception_v2', 'inception_v3', 'inception_v4',
            'inception_resnet_v2', 'resnet_v1_50', 'resnet_v1_101',
            'resnet_v1_152', 'resnet_v2_50', 'resnet_v2_101',
            'resnet_v2_152', 'vgg_16', 'vgg_19']
  for name in legacy:
    ckpt = registry.CHECKPOINTS[name]
    assert ckpt.model_name == name
    assert NETWORKS[name].checkpoint is ckpt
    assert registry.install_path(name) == ckpt.file


def test_checkpoint_specific_facts():
  """The facts the original kept in comments and its README."""
  for name in ('vgg_16', 'vgg_19', 'resnet_v1_50'):
    assert registry.CHECKPOINTS[name].labels_offset == 1
  spec = NETWORKS['resnet_v2_50']
  assert (spec.preprocessing, spec.default_image_size) == ('vgg', 224)
  assert (spec.checkpoint.preprocessing,
          spec.checkpoint.image_size) == ('inception', 299)
  assert registry.network_flags(registry.CHECKPOINTS[
      'mobilenet_v1_0.50_160_quant']) == [
          '--model_name=mobilenet_v1_050', '--eval_image_size=160',
          '--quantize']


def _seed_rows():
  """(model, tarball or None, top-1, top-5) of each row of the README's
  table of pre-trained models."""
  with open(TABLE) as f:
    lines = f.read().splitlines()
  assert lines[0].startswith('Model TF-Slim File Checkpoint Top-1')
  rows = []
  for line in lines[1:]:
    model, tarball, top1, top5 = re.fullmatch(
        r'(.+?) Code (\S+) ([\d.]+)\*? ([\d.]+)\*?', line).groups()
    tarball = tarball if tarball.endswith(('.tar.gz', '.tgz')) else None
    rows.append((model, tarball, float(top1), float(top5)))
  return rows


def test_the_table_is_the_image_models_readmes():
  if not os.path.exists(SEED):
    pytest.skip('the image-models README is not beside this checkout')
  with open(TABLE) as f, open(SEED) as seed:
    assert f.read() in seed.read()


def test_every_seed_table_row_with_a_tarball_resolves():
  rows = _seed_rows()
  assert len(rows) == 22
  with_tarball = [row for row in rows if row[1]]
  assert [row[0] for row in rows if not row[1]] == ['ResNet V2 200']
  resolved = {}
  for model, tarball, top1, top5 in with_tarball:
    key = registry.find_checkpoint(tarball)
    assert key is not None, f'{model}: {tarball} resolves to no weights'
    ckpt = registry.CHECKPOINTS[key]
    # The README shows MobileNet v1's 0.5 width as 0.50 (see registry).
    assert registry.tarball_name(ckpt) in (
        tarball, tarball.replace('_0.50_', '_0.5_')), (tarball, ckpt.url)
    assert ckpt.listed_as == tarball
    assert (ckpt.top1, ckpt.top5) == (top1, top5)
    assert ckpt.accuracy_source == 'image-models README'
    assert not ckpt.quantized
    resolved[tarball] = key
  assert len(set(resolved.values())) == len(with_tarball) == 21
  # No figures but the README's.
  assert sum(c.top1 is not None for c in registry.CHECKPOINTS.values()) == 21


def test_find_checkpoint_names():
  find = registry.find_checkpoint
  assert find('mobilenet_v1_0.50_160') == 'mobilenet_v1_0.50_160'
  assert find('mobilenet_v1_0.5_160.tgz') == 'mobilenet_v1_0.50_160'
  assert find('mobilenet_v1_0.5_160_quant') == 'mobilenet_v1_0.50_160_quant'
  assert find('inception_v3_2016_08_28.tar.gz') == 'inception_v3'
  assert find('nasnet-a_large_04_10_2017') == 'nasnet-a_large'
  assert find('inception_v9') is None
  assert find('') is None


def test_install_paths_are_distinct():
  paths = [registry.install_path(n) for n in CHECKPOINT_NAMES]
  assert len(set(paths)) == len(paths)
  # The NASNet tarballs all hold model.ckpt: each goes in its own folder.
  assert registry.install_path('nasnet-a_mobile') == 'nasnet-a_mobile/model.ckpt'


def test_download_tool_reads_the_records():
  from tools import download_checkpoint  # pylint: disable=g-import-not-at-top
  assert download_checkpoint.CHECKPOINTS is registry.CHECKPOINTS


def test_docs_table_is_the_registry():
  with open(os.path.join(ROOT, 'docs', 'networks.md')) as f:
    page = f.read()
  table = re.search(r'<!-- networks table: begin -->\n(.*?)\n'
                    r'<!-- networks table: end -->', page, re.DOTALL)
  assert table, 'docs/networks.md lost its networks table markers'
  assert table.group(1) == registry.markdown_table(), (
      'docs/networks.md: paste the table that `.venv/bin/python -c "from nets '
      'import registry; print(registry.markdown_table())"` prints between '
      'its markers')
