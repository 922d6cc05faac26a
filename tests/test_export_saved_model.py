"""tools/export_saved_model: the serving SavedModel and the TFLite models
give the checkpoint's probabilities (float within 1e-4; int8 the same top-1
on >= 95% of held-out images).

The CifarNet is the session's `trained_cifarnet` (tests/cifarnet_checkpoints.py:
~0.8 validation accuracy on the shapes data, so that int8 agreement is
measured on a network with real decisions), with lenet preprocessing:
center crop or pad to 32x32, then (x - 128) / 128, computed here with numpy.
"""
import io
import json
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

import slim
from image_classifier import network
from tests import cli_harness as h
from tests import cifarnet_checkpoints
from tools import classifiers
from tools import model_info

tf1 = tf.compat.v1

export_saved_model = h.script_module('tools.export_saved_model')

NAMES = ['circle', 'square', 'triangle', 'cross', 'diamond']
# The whole validation split; >= 95% agreement allows 5 top-1 differences.
NUM_VALIDATION = cifarnet_checkpoints.SHAPES_SPLITS['validation']


@pytest.fixture(scope='module')
def data(shapes_data):
  """The session's shapes dataset (tests/conftest.py)."""
  return shapes_data


@pytest.fixture(scope='module')
def train_dir(trained_cifarnet):
  """The session's trained CifarNet (tests/conftest.py); read only."""
  return trained_cifarnet


@pytest.fixture(scope='module')
def saved_model(data, train_dir, tmp_path_factory):
  output_dir = str(tmp_path_factory.mktemp('export') / 'saved')
  export_saved_model.export_saved_model(
      'cifarnet', h.NUM_CLASSES, train_dir, output_dir,
      preprocessing_name='lenet',
      labels=model_info.class_names('shapes', data, h.NUM_CLASSES),
      dataset_name='shapes', top_k=3)
  return output_dir


@pytest.fixture(scope='module')
def validation_images(data):
  """The validation split, preprocessed, as float32 [n, 32, 32, 3]."""
  info = model_info.ModelInfo('cifarnet', 32, 'lenet', NAMES)
  return export_saved_model.calibration_images(
      'shapes', data, 'validation', NUM_VALIDATION, info)


def _checkpoint_probabilities(train_dir, images):
  """Probabilities of the checkpoint's own graph, restored by a Saver."""
  with tf.Graph().as_default():
    placeholder, _, end_points = network.build_inference_graph(
        'cifarnet', h.NUM_CLASSES)
    with tf1.Session() as sess:
      tf1.train.Saver(slim.get_model_variables()).restore(
          sess, tf.train.latest_checkpoint(train_dir))
      return sess.run(end_points['Predictions'], {placeholder: images})


def _png(pixels):
  out = io.BytesIO()
  Image.fromarray(pixels).save(out, format='PNG')
  return out.getvalue()


def _lenet(pixels):
  """lenet eval preprocessing: center crop to 32x32, (x - 128) / 128."""
  top = (pixels.shape[0] - 32) // 2
  left = (pixels.shape[1] - 32) // 2
  crop = pixels[top:top + 32, left:left + 32].astype(np.float32)
  return (crop - 128) / 128


def _run_signature(saved_model_dir, key, feeds):
  with tf.Graph().as_default():
    with tf1.Session() as sess:
      meta = tf1.saved_model.loader.load(sess, ['serve'], saved_model_dir)
      signature = meta.signature_def[key]
      feed = {signature.inputs[k].name: v for k, v in feeds.items()}
      names = sorted(signature.outputs)
      values = sess.run([signature.outputs[n].name for n in names], feed)
      shapes = {k: [d.size for d in v.tensor_shape.dim]
                for k, v in signature.inputs.items()}
      return dict(zip(names, values)), shapes


# ------------------------------------------------------------ SavedModel
def test_saved_model_signatures_match_checkpoint(train_dir, saved_model,
                                                 validation_images):
  assert not [p for p in os.listdir(os.path.dirname(saved_model))
              if p.startswith('.tmp')]
  expected = _checkpoint_probabilities(train_dir, validation_images[:5])
  outputs, shapes = _run_signature(saved_model, 'preprocessed_images',
                                   {'images': validation_images[:5]})
  assert shapes == {'images': [-1, 32, 32, 3]}
  np.testing.assert_allclose(outputs['probabilities'], expected, atol=1e-4)
  np.testing.assert_array_equal(outputs['classes'], expected.argmax(1))

  # Encoded images of any size, decoded and preprocessed inside.
  rng = np.random.default_rng(0)
  pixels = [rng.integers(0, 256, size, np.uint8)
            for size in ([32, 32, 3], [40, 36, 3], [32, 32, 3])]
  outputs, shapes = _run_signature(
      saved_model, 'serving_default',
      {'image_bytes': np.array([_png(p) for p in pixels], object)})
  assert shapes == {'image_bytes': [-1]}
  expected = _checkpoint_probabilities(
      train_dir, np.stack([_lenet(p) for p in pixels]))
  np.testing.assert_allclose(outputs['probabilities'], expected, atol=1e-4)
  best = np.argsort(-expected, axis=1)[:, :3]
  np.testing.assert_array_equal(outputs['top_k_classes'], best)
  np.testing.assert_allclose(outputs['top_k_scores'],
                             np.take_along_axis(expected, best, 1), atol=1e-4)
  assert [[label.decode() for label in row]
          for row in outputs['top_k_labels']] == [
              [NAMES[i] for i in row] for row in best]

  info = model_info.read_info(os.path.join(saved_model,
                                           'assets.extra/model_info.json'))
  assert (info.model_name, info.image_size, info.preprocessing_name,
          info.labels, info.labels_offset) == ('cifarnet', 32, 'lenet',
                                               NAMES, 0)


def test_batch_size_is_honoured(train_dir, tmp_path):
  output_dir = str(tmp_path / 'saved')
  export_saved_model.export_saved_model('cifarnet', h.NUM_CLASSES, train_dir,
                                        output_dir, batch_size=2)
  _, bytes_shapes = _run_signature(
      output_dir, 'serving_default',
      {'image_bytes': np.array([_png(np.zeros([32, 32, 3], np.uint8))] * 2,
                               object)})
  assert bytes_shapes == {'image_bytes': [2]}
  outputs, shapes = _run_signature(
      output_dir, 'preprocessed_images',
      {'images': np.zeros([2, 32, 32, 3], np.float32)})
  assert shapes == {'images': [2, 32, 32, 3]}
  assert outputs['probabilities'].shape == (2, h.NUM_CLASSES)


def test_video_network_exports_with_its_frame_count():
  info = model_info.ModelInfo('i3d', 32, 'inception', NAMES, num_frames=4)
  with tf.Graph().as_default():
    image_bytes, images, outputs = export_saved_model.build_serving_graph(
        info, batch_size=1)
  assert image_bytes.shape.as_list() == [1, 4]
  assert images.shape.as_list() == [1, 4, 32, 32, 3]
  assert outputs['probabilities'].shape.as_list() == [1, h.NUM_CLASSES]


def test_refuses_existing_output_and_bad_checkpoint(train_dir, tmp_path):
  (tmp_path / 'mine.txt').write_text('not an export')
  with pytest.raises(ValueError, match='is not a SavedModel export'):
    export_saved_model.export_saved_model('cifarnet', h.NUM_CLASSES,
                                          train_dir, str(tmp_path))
  with pytest.raises(ValueError, match='shape mismatch'):
    export_saved_model.export_saved_model('cifarnet', h.NUM_CLASSES + 1,
                                          train_dir, str(tmp_path / 'other'))
  assert not os.path.exists(tmp_path / 'other')


# ---------------------------------------------------------------- TFLite
def test_float_tflite_matches_checkpoint(train_dir, saved_model,
                                         validation_images, tmp_path):
  tflite_file = str(tmp_path / 'model.tflite')
  details = export_saved_model.convert_to_tflite(saved_model, tflite_file)
  assert details['input']['dtype'] == 'float32'
  assert details['input']['shape'] == [-1, 32, 32, 3]
  classifier = classifiers.load(tflite_file, None)
  assert classifier.info.labels == NAMES
  np.testing.assert_allclose(
      classifier.predict(validation_images[:8]),
      _checkpoint_probabilities(train_dir, validation_images[:8]),
      atol=1e-4)


def test_int8_tflite_agrees_with_float_on_held_out_images(
    data, train_dir, saved_model, validation_images, tmp_path):
  info = model_info.read_info(os.path.join(saved_model,
                                           model_info.SAVED_MODEL_INFO))
  calibration = export_saved_model.calibration_images('shapes', data, 'train',
                                                      64, info)
  assert calibration.shape == (64, 32, 32, 3)
  tflite_file = str(tmp_path / 'int8.tflite')
  details = export_saved_model.convert_to_tflite(
      saved_model, tflite_file, 'int8', calibration=calibration,
      input_type='uint8', output_type='int8')
  assert details['input']['dtype'] == 'uint8'
  assert details['output']['dtype'] == 'int8'
  # lenet inputs lie in [-1, 1): about 2/255 a step, zero near 128.
  assert details['input']['scale'] == pytest.approx(2 / 255, rel=0.01)
  assert 126 <= details['input']['zero_point'] <= 129
  with open(tflite_file + '.json') as f:
    assert json.load(f)['tflite'] == details

  expected = _checkpoint_probabilities(train_dir, validation_images)
  probabilities = classifiers.load(tflite_file, None).predict(
      validation_images)
  agreement = np.mean(probabilities.argmax(1) == expected.argmax(1))
  assert agreement >= 0.95, agreement
  # The network learned something, so the agreement means something.
  assert len(set(expected.argmax(1))) >= 3


@pytest.mark.parametrize('quantization', ['dynamic_range', 'float16'])
def test_weight_quantized_tflite_is_smaller_and_close(
    quantization, train_dir, saved_model, validation_images, tmp_path):
  float_file = str(tmp_path / 'float.tflite')
  export_saved_model.convert_to_tflite(saved_model, float_file)
  tflite_file = str(tmp_path / f'{quantization}.tflite')
  export_saved_model.convert_to_tflite(saved_model, tflite_file, quantization)
  ratio = os.path.getsize(tflite_file) / os.path.getsize(float_file)
  assert ratio < {'dynamic_range': 0.3, 'float16': 0.55}[quantization]
  np.testing.assert_allclose(
      classifiers.load(tflite_file, None).predict(validation_images[:8]),
      _checkpoint_probabilities(train_dir, validation_images[:8]),
      atol=0.05)


def test_conversion_errors(saved_model, tmp_path):
  tflite_file = str(tmp_path / 'x.tflite')
  with pytest.raises(ValueError, match='--tflite_input_type=uint8 needs'):
    export_saved_model.convert_to_tflite(saved_model, tflite_file,
                                         'dynamic_range', input_type='uint8')
  with pytest.raises(ValueError, match='calibration images'):
    export_saved_model.convert_to_tflite(saved_model, tflite_file, 'int8')
  assert not os.path.exists(tflite_file)


def test_quantize_needs_a_quantization_aware_checkpoint(train_dir, tmp_path):
  """--quantize adds the fake-quant ranges to the graph; a float checkpoint
  has none, so the export stops, naming them, and writes nothing."""
  output_dir = tmp_path / 'saved'
  with pytest.raises(ValueError, match='act_quant'):
    export_saved_model.export_saved_model(
        'cifarnet', h.NUM_CLASSES, train_dir, str(output_dir),
        preprocessing_name='lenet', quantize=True)
  assert not output_dir.exists()


def test_cli_int8_prints_scale_and_zero_point(data, train_dir, tmp_path):
  tflite_file = tmp_path / 'int8.tflite'
  result = h.run_script(
      'tools/export_saved_model.py', '--model_name=cifarnet',
      f'--checkpoint_path={train_dir}', '--dataset_name=shapes',
      f'--dataset_dir={data}', '--preprocessing_name=lenet',
      f'--output_dir={tmp_path / "saved"}', f'--tflite_file={tflite_file}',
      '--tflite_quantization=int8', '--tflite_input_type=uint8',
      '--num_calibration_images=16')
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  assert 'Calibrated on 16 images of train.' in result.stdout
  assert 'input images: uint8, scale 0.0078' in result.stdout
  assert 'output probabilities: float32' in result.stdout
  assert (tmp_path / 'int8.tflite.json').exists()

  result = h.run_script(
      'tools/export_saved_model.py', '--model_name=cifarnet',
      f'--checkpoint_path={train_dir}', '--dataset_name=shapes',
      f'--dataset_dir={data}', f'--output_dir={tmp_path / "other"}',
      f'--tflite_file={tmp_path / "x.tflite"}',
      '--tflite_output_type=int8')
  assert 'needs --tflite_quantization=int8' in h.user_error(
      result, 'export_saved_model.py')


def test_quieting_the_converter_leaves_the_loggers_as_they_were():
  """The converter's INFO lines are hidden, and afterwards the loggers'
  own levels are back (an absl logger left at WARNING hid every later
  INFO line of the process)."""
  import logging  # pylint: disable=import-outside-toplevel
  from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel
  loggers = [logging.getLogger('tensorflow'), absl_logging.get_absl_logger()]
  before = [logger.level for logger in loggers]
  with export_saved_model._quiet_tensorflow_info():  # pylint: disable=protected-access
    assert all(logger.getEffectiveLevel() >= logging.WARNING
               for logger in loggers)
  assert [logger.level for logger in loggers] == before
