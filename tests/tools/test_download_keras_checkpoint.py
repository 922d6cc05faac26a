"""Tests of tools/download_checkpoint.py on Keras weights, against a local
HTTP server (--mirror) serving a generated file under the published name."""
import numpy as np
import pytest

from datasets.errors import DatasetError
from tests import cli_harness
from tests.datasets.archive_server import server  # pylint: disable=unused-import
from tests.datasets.archive_server import sha256
from tests.nets import keras_twins
from tools import keras_import
from tools import keras_maps

SCRIPT = 'tools/download_checkpoint.py'


def _tool():
  return cli_harness.script_module('tools.download_checkpoint')


def test_every_importable_network_has_a_name_that_clashes_with_none():
  tool = _tool()
  assert sorted(tool.KERAS_CHECKPOINTS.values()) == sorted(
      keras_maps.importable())
  assert not set(tool.KERAS_CHECKPOINTS) & set(tool.CHECKPOINTS)
  # A network with slim weights gets `_keras`; one without keeps its name.
  assert tool.KERAS_CHECKPOINTS['inception_v3_keras'] == 'inception_v3'
  assert tool.KERAS_CHECKPOINTS['mobilenet_v3_large'] == 'mobilenet_v3_large'


def test_download_imports_the_weights_and_records_their_sha256(
    server, tmp_path, capsys):
  """MobileNet's files have no hash in Keras: trust on first use."""
  (tmp_path / 'keras').mkdir()
  twin = keras_twins.make_twin(keras_twins.keras.applications.MobileNet,
                               tmp_path / 'keras', alpha=0.25,
                               input_shape=(128, 128, 3))
  name = 'mobilenet_v1_025_keras'
  weights = keras_maps.importable()['mobilenet_v1_025']
  with open(twin.legacy_h5, 'rb') as f:
    digest = server.add(weights.file_name, f.read())
  checkpoint_dir = tmp_path / 'checkpoints'
  path = _tool().download_keras_checkpoint(name, str(checkpoint_dir),
                                           mirror=server.url)
  assert path == str(checkpoint_dir / f'{name}.ckpt')
  written = cli_harness.read_checkpoint(path)
  expected = keras_import.checkpoint_values('mobilenet_v1_025',
                                            twin.legacy_h5)
  assert sorted(written) == sorted(expected)
  for variable, value in expected.items():
    np.testing.assert_array_equal(written[variable], value)
  assert digest in capsys.readouterr().err
  assert sorted(p.name for p in checkpoint_dir.iterdir()) == [
      'checkpoint_sha256.json', f'{name}.ckpt.data-00000-of-00001',
      f'{name}.ckpt.index']
  # Already there: nothing is downloaded again.
  assert _tool().download_keras_checkpoint(
      name, str(checkpoint_dir), mirror=server.url) == path
  assert len(server.requested(weights.file_name)) == 1


def test_file_that_fails_keras_md5_is_deleted(server, tmp_path):
  """Inception v3's file has an MD5 in Keras: a file with another is
  refused before any import."""
  weights = keras_maps.importable()['inception_v3']
  assert len(weights.file_hash) == 32
  server.add(weights.file_name, b'not the weights')
  with pytest.raises(DatasetError, match=f'expected MD5 {weights.file_hash}'):
    _tool().download_keras_checkpoint('inception_v3_keras', str(tmp_path),
                                      mirror=server.url)
  assert not list(tmp_path.iterdir())


def test_file_that_is_not_keras_weights_is_one_line_and_deleted(server, tmp_path):
  """A --sha256 pins the file; its content is not an HDF5 file."""
  data = b'\x89HDF\r\n\x1a\n but truncated'
  weights = keras_maps.importable()['mobilenet_v1']
  server.add(weights.file_name, data)
  result = cli_harness.run_script(
      SCRIPT, '--checkpoint=mobilenet_v1_keras', f'--checkpoint_dir={tmp_path}',
      f'--mirror={server.url}', f'--sha256={sha256(data)}')
  message = cli_harness.user_error(result, SCRIPT)
  assert 'not a readable HDF5 file' in message
  assert f'{weights.file_name} was deleted' in message
  assert not list(tmp_path.iterdir())
