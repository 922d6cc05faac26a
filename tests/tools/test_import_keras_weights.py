"""Tests of tools/import_keras_weights.py on a Keras MobileNet (alpha 0.25 at
128 x 128, the smallest published MobileNet) with seeded random weights.

The importing itself runs in-process (`import_weights`); subprocesses check
the command line: the printed flags, and one line and exit 2 for what the
user got wrong. That the imported logits equal Keras' is
tests/nets/test_keras_parity_existing.py's.
"""
import os
import shutil
import uuid

import h5py
import numpy as np
import pytest
import tensorflow as tf

import slim
from image_classifier import cli
from tests import cli_harness
from tests.nets import keras_twins
from tools import keras_import

SCRIPT = 'tools/import_keras_weights.py'
MODEL = 'mobilenet_v1_025'

keras = keras_twins.keras


@pytest.fixture(scope='module')
def twin(tmp_path_factory):
  return keras_twins.make_twin(keras.applications.MobileNet,
                               tmp_path_factory.mktemp('mobilenet'),
                               alpha=0.25, input_shape=(128, 128, 3))


def _tool():
  return cli_harness.script_module('tools.import_keras_weights')


def _import(keras_path, tmp_path):
  return _tool().import_weights(MODEL, str(keras_path),
                                str(tmp_path / 'out' / 'model.ckpt'))


def test_command_writes_the_checkpoint_and_prints_its_flags(twin, tmp_path):
  output = tmp_path / 'checkpoints' / 'mobilenet.ckpt'
  result = cli_harness.run_script(
      SCRIPT, f'--model_name={MODEL}', f'--keras_weights={twin.weights_h5}',
      f'--output_checkpoint={output}')
  assert result.returncode == 0, result.stderr
  expected = keras_import.checkpoint_values(MODEL, twin.legacy_h5)
  written = cli_harness.read_checkpoint(output)
  assert set(written) == set(expected)
  for name, value in expected.items():
    np.testing.assert_array_equal(written[name], value, err_msg=name)
  assert (f'--model_name={MODEL} --checkpoint_path={output} '
          '--labels_offset=1') in result.stdout
  assert ('--checkpoint_exclude_scopes=MobilenetV1/Logits/Conv2d_1c_1x1'
          in result.stdout)
  assert sorted(os.listdir(output.parent)) == [
      'mobilenet.ckpt.data-00000-of-00001', 'mobilenet.ckpt.index']


def _copy(path, tmp_path, name):
  copy = tmp_path / name
  shutil.copyfile(path, copy)
  return copy


def test_truncated_file_names_the_file(twin, tmp_path):
  truncated = _copy(twin.legacy_h5, tmp_path, 'truncated.h5')
  data = truncated.read_bytes()
  truncated.write_bytes(data[:len(data) // 2])
  with pytest.raises(keras_import.KerasImportError, match='truncated'):
    _import(truncated, tmp_path)
  assert not (tmp_path / 'out').exists()


def test_file_of_another_network_names_its_first_layer(tmp_path):
  other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name='fc')])
  path = tmp_path / 'other.weights.h5'
  other.save_weights(str(path))
  with pytest.raises(keras_import.KerasImportError,
                     match="layer 'fc', which this network does not have"):
    _import(path, tmp_path)


def test_missing_layer_is_named(twin, tmp_path):
  path = _copy(twin.legacy_h5, tmp_path, 'missing_layer.h5')
  with h5py.File(path, 'r+') as f:
    del f['conv_pw_7_bn']
    f.attrs['layer_names'] = [n for n in f.attrs['layer_names']
                              if n not in (b'conv_pw_7_bn', 'conv_pw_7_bn')]
  with pytest.raises(keras_import.KerasImportError,
                     match="no weights for layer 'conv_pw_7_bn'"):
    _import(path, tmp_path)


def test_missing_weight_of_a_layer_is_named(twin, tmp_path):
  path = _copy(twin.weights_h5, tmp_path, 'missing_weight.weights.h5')
  with h5py.File(path, 'r+') as f:
    layer = next(f['layers'][key] for key in f['layers']
                 if f['layers'][key]['vars'].attrs.get('name') == 'conv1_bn')
    del layer['vars']['3']
  with pytest.raises(keras_import.KerasImportError,
                     match="layer 'conv1_bn' has 3 weights, expected 4"):
    _import(path, tmp_path)


def test_file_of_another_width_names_the_first_shape(twin, tmp_path):
  with pytest.raises(keras_import.KerasImportError,
                     match=r'MobilenetV1/Conv2d_0/weights has shape '
                           r'\[3, 3, 3, 8\] in the file, \[3, 3, 3, 32\]'):
    _tool().import_weights('mobilenet_v1', twin.legacy_h5,
                           str(tmp_path / 'model.ckpt'))


@pytest.mark.parametrize('flags, expected', [
    ({'model_name': 'no_such_net'},
     '--model_name=no_such_net: no Keras weights can be imported into it; '
     'importable: '),
    ({'keras_weights': '/no/such/file.h5'},
     '--keras_weights=/no/such/file.h5 is not a file.'),
    ({'output_checkpoint': '{file}/model.ckpt'},
     '--output_checkpoint: {file} is a file, not a folder'),
    ({'output_checkpoint': ''}, '--output_checkpoint must be set.'),
])
def test_flag_errors_name_the_flag(twin, tmp_path, flags, expected):
  a_file = tmp_path / 'a_file'
  a_file.write_text('not a folder')
  values = {'model_name': MODEL, 'keras_weights': twin.legacy_h5,
            'output_checkpoint': str(tmp_path / 'out' / 'model.ckpt')}
  values.update({k: v.format(file=a_file) for k, v in flags.items()})
  with pytest.raises(cli.UserError) as error:
    _tool().check_flags(**values)
  assert str(error.value).startswith(expected.format(file=a_file)), error


def test_truncated_file_is_one_line_on_the_command_line(twin, tmp_path):
  truncated = _copy(twin.legacy_h5, tmp_path, 'truncated.h5')
  truncated.write_bytes(truncated.read_bytes()[:1000])
  result = cli_harness.run_script(
      SCRIPT, f'--model_name={MODEL}', f'--keras_weights={truncated}',
      f'--output_checkpoint={tmp_path / "out" / "model.ckpt"}')
  message = cli_harness.user_error(result, SCRIPT)
  assert str(truncated) in message and 'truncated' in message
  assert not os.listdir(tmp_path / 'out')  # Made writable, nothing written.


@pytest.mark.parametrize('where', ['local', 'ram'])
def test_write_checkpoint_anywhere_leaves_no_partial_files(where, tmp_path):
  """The checkpoint lands under its name on a local disk and on ram:// (a
  remote filesystem), and its `.partial` files are renamed away."""
  folder = (str(tmp_path) if where == 'local'
            else f'ram://keras_import_{uuid.uuid4().hex}')
  values = {'net/conv/weights': np.arange(24, dtype=np.float32).reshape(
      [1, 2, 3, 4]), 'net/conv/biases': np.ones([4], np.float32)}
  keras_import.write_checkpoint(values, folder + '/imported/model.ckpt')
  reader = slim.variables.checkpoint_reader(folder + '/imported/model.ckpt')
  for name, value in values.items():
    np.testing.assert_array_equal(reader.get_tensor(name), value)
  assert sorted(tf.io.gfile.listdir(folder + '/imported')) == [
      'model.ckpt.data-00000-of-00001', 'model.ckpt.index']
