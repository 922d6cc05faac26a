"""The network records: one place for every fact the toolkit uses.

No graph is built here: the records are checked against the code they name,
the README's table, the checkpoint tool and the preprocessing families.
"""
import importlib
import inspect
import os
import re

import pytest

from nets import registry
from nets.registry import NETWORKS

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
  assert spec.preprocessing in registry.PREPROCESSING_FAMILIES


@pytest.mark.parametrize('name', [n for n in NAMES
                                  if NETWORKS[n].checkpoint is not None])
def test_checkpoint_facts(name):
  ckpt = NETWORKS[name].checkpoint
  assert ckpt.url.startswith('https://download.tensorflow.org/models/')
  assert ckpt.url.endswith('.tar.gz') and ckpt.file.endswith('.ckpt')
  # Unknown (None) or a hex SHA-256.
  assert ckpt.sha256 is None or re.fullmatch('[0-9a-f]{64}', ckpt.sha256)
  # 1001-class ImageNet records: class 0 is background.
  assert (ckpt.num_classes, ckpt.labels_offset) in ((1001, 0), (1000, 1))
  assert ckpt.preprocessing in registry.PREPROCESSING_FAMILIES


def test_checkpoint_specific_facts():
  """The facts the original kept in comments and its README."""
  for name in ('vgg_16', 'vgg_19', 'resnet_v1_50'):
    assert NETWORKS[name].checkpoint.labels_offset == 1
  spec = NETWORKS['resnet_v2_50']
  assert (spec.preprocessing, spec.default_image_size) == ('vgg', 224)
  assert (spec.checkpoint.preprocessing,
          spec.checkpoint.image_size) == ('inception', 299)


def test_download_tool_reads_the_records():
  from tools import download_checkpoint  # pylint: disable=g-import-not-at-top
  assert download_checkpoint.CHECKPOINTS == {
      n: s.checkpoint for n, s in NETWORKS.items() if s.checkpoint}


def test_readme_table_is_the_registry():
  with open(os.path.join(ROOT, 'README.md')) as f:
    readme = f.read()
  table = re.search(r'<!-- networks table: begin -->\n(.*?)\n'
                    r'<!-- networks table: end -->', readme, re.DOTALL)
  assert table, 'README.md lost its networks table markers'
  assert table.group(1) == registry.markdown_table(), (
      'README.md: regenerate the networks table with '
      'registry.markdown_table()')
