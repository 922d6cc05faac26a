"""Tests of the records of tools/keras_maps and docs/networks.md's table."""
import importlib.util
import os
import re

from tools import keras_maps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# The installed Keras' applications source (read, not imported).
KERAS_APPLICATIONS = os.path.join(
    importlib.util.find_spec('keras').submodule_search_locations[0], 'src',
    'applications')


def test_docs_table_is_the_records():
  with open(os.path.join(ROOT, 'docs', 'networks.md')) as f:
    page = f.read()
  table = re.search(r'<!-- keras table: begin -->\n(.*?)\n'
                    r'<!-- keras table: end -->', page, re.DOTALL)
  assert table, 'docs/networks.md lost its Keras table markers'
  assert table.group(1) == keras_maps.markdown_table(), (
      'docs/networks.md: paste the table that `.venv/bin/python -c "from '
      'tools import keras_maps; print(keras_maps.markdown_table())"` prints '
      'between its markers')


def _keras_sources():
  text = ''
  for name in sorted(os.listdir(KERAS_APPLICATIONS)):
    if name.endswith('.py'):
      with open(os.path.join(KERAS_APPLICATIONS, name)) as f:
        text += f.read()
  return text


def test_hashes_are_the_installed_keras_ones():
  """Every recorded URL's folder and hash appear in Keras' own source."""
  source = _keras_sources()
  for name, weights in keras_maps.importable().items():
    folder = weights.url[:-len(weights.file_name)]
    assert folder.startswith('https://storage.googleapis.com/'), name
    # Keras splits long URLs into adjacent string literals: join them.
    assert folder in re.sub(r'"\s*"', '', source), name
    if weights.file_hash:
      assert f'"{weights.file_hash}"' in source, name


def test_not_importable_networks_are_not_importable():
  assert not set(keras_maps.NOT_IMPORTABLE) & set(keras_maps.importable())


def test_fresh_scopes_are_heads_of_the_network():
  for name, weights in keras_maps.importable().items():
    for scope in weights.fresh_scopes:
      assert scope.endswith('AuxLogits'), (name, scope)
