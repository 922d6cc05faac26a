"""The modern networks through the rest of the toolkit, unchanged: train,
eval, export_inference_graph + freeze, SavedModel, TFLite float and int8,
classify images, --precision=bfloat16 and --quantize_delay.

The smallest network of each family (ConvNeXt, EfficientNet,
EfficientNetV2), at 64x64 on a tiny shapes dataset, with the families'
'center_crop' preprocessing: the wiring is what is tested here (the functions are
tested against Keras in tests/nets/). The trained checkpoint is
shared by the tests of its network; its exports are checked against each
other: the frozen graph, the SavedModel and the float TFLite model give the
same probabilities (all three from the checkpoint, by different paths).

Slow (each network's graph is hundreds of layers: building, freezing and
converting them dominates; see the report of `pytest --durations`).
"""
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tests import cli_harness as h
from tools import classifiers
from tools import classify_files

tf1 = tf.compat.v1

pytestmark = pytest.mark.slow

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')
export_inference_graph = h.script_module('export_inference_graph')
freeze_graph = h.script_module('tools.freeze_graph')
export_saved_model = h.script_module('tools.export_saved_model')

# EfficientNet-B0 (the fine-tuning recipe's default) in make test; the
# other two families' smallest members are heavy tests (make test-heavy):
# the wiring under test is the toolkit's, the same for every network.
MODELS = (pytest.param('convnext_tiny', marks=pytest.mark.heavy),
          'efficientnet_b0',
          pytest.param('efficientnet_v2_b0', marks=pytest.mark.heavy))
# At 32x32 EfficientNetV2's last stage is 1x1: batch norm over 2 values a
# channel at batch 2, whose gradients blow the weights up to ~1e8 in two
# steps (and its activations to inf); 64x64 keeps them sane.
IMAGE_SIZE = 64
# The networks' own ('center_crop': [0, 255] pixels, normalised inside).
PREPROCESSING = None
# Float exports against each other. The frozen graph's weights are
# constants, which Grappler's remapper fuses into other oneDNN kernels than
# the variables' graph gets: ConvNeXt's probabilities then move by ~1.4e-4
# (0 with TF_ENABLE_ONEDNN_OPTS=0 or the remapper off).
FLOAT_ATOL = 1e-3
# Deep networks at batch 2: SGD at FAST_TRAIN's 0.05 diverges within steps.
TRAIN = dict(preprocessing_name=PREPROCESSING, train_image_size=IMAGE_SIZE,
             batch_size=2, learning_rate=0.001)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=8,
                       validation=8)


def _train(data, train_dir, model_name, steps, **overrides):
  """Trains `steps` steps; the latest checkpoint's prefix."""
  train_image_classifier.train(h.train_values(
      data, train_dir, model_name=model_name, max_number_of_steps=steps,
      **TRAIN, **overrides))
  assert h.checkpoint_step(train_dir) == steps
  return tf.train.latest_checkpoint(str(train_dir))


def _finite(checkpoint):
  values = h.read_checkpoint(checkpoint)
  return all(np.all(np.isfinite(v)) for v in values.values()
             if np.issubdtype(v.dtype, np.floating))


@pytest.fixture(scope='module', params=MODELS)
def trained(request, data, tmp_path_factory):
  """(model_name, checkpoint prefix) after 2 training steps."""
  model_name = request.param
  checkpoint = _train(data, tmp_path_factory.mktemp(model_name), model_name,
                      steps=2)
  assert _finite(checkpoint)
  return model_name, checkpoint


@pytest.fixture(scope='module')
def exported(trained, data, tmp_path_factory):
  """(SavedModel dir, its ModelInfo) of the trained checkpoint."""
  model_name, checkpoint = trained
  output_dir = str(tmp_path_factory.mktemp('export') / 'saved')
  info = export_saved_model.export_saved_model(
      model_name, h.NUM_CLASSES, checkpoint, output_dir,
      image_size=IMAGE_SIZE, preprocessing_name=PREPROCESSING,
      dataset_name='shapes')
  return output_dir, info


@pytest.fixture(scope='module')
def images(data, exported):
  """4 validation images through the eval preprocessing, float32."""
  return export_saved_model.calibration_images('shapes', data, 'validation',
                                               4, exported[1])


def _saved_model_probabilities(saved_model, images):
  with tf.Graph().as_default(), tf1.Session() as sess:
    meta = tf1.saved_model.loader.load(sess, ['serve'], saved_model)
    signature = meta.signature_def['preprocessed_images']
    probabilities = sess.run(signature.outputs['probabilities'].name,
                             {signature.inputs['images'].name: images})
  # NaN would compare equal to NaN below.
  assert np.all(np.isfinite(probabilities))
  return probabilities


def test_eval_reads_the_trained_checkpoint(trained, data, tmp_path):
  model_name, checkpoint = trained
  result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path, model_name=model_name,
                    preprocessing_name=PREPROCESSING,
                    eval_image_size=IMAGE_SIZE, batch_size=4), checkpoint)
  assert result['global_step'] == 2
  assert 0 <= result['Accuracy'] <= 1


def test_frozen_graph_gives_the_saved_models_probabilities(trained, exported,
                                                           images):
  model_name, checkpoint = trained
  with tf.Graph().as_default() as graph:
    _, _, end_points = export_inference_graph.build_inference_graph(
        model_name, h.NUM_CLASSES, image_size=IMAGE_SIZE)
    output = end_points['Predictions'].op.name
    graph_def = graph.as_graph_def()
  frozen = freeze_graph.freeze_graph_def(graph_def, checkpoint, [output])
  assert not [n for n in frozen.node if n.op in ('VariableV2', 'VarHandleOp')]
  with tf.Graph().as_default() as graph:
    tf1.import_graph_def(frozen, name='')
    with tf1.Session(graph=graph) as sess:
      probabilities = sess.run(output + ':0', {'input:0': images})
  np.testing.assert_allclose(
      probabilities, _saved_model_probabilities(exported[0], images),
      atol=FLOAT_ATOL)


def _png_files(folder, count=2):
  rng = np.random.default_rng(0)
  paths = []
  for i in range(count):
    path = os.path.join(folder, f'{i}.png')
    Image.fromarray(rng.integers(0, 256, [40, 48, 3], np.uint8)).save(path)
    paths.append(path)
  return paths


def test_tflite_float_and_int8_classify_images(data, exported, images,
                                               tmp_path):
  """Float TFLite = SavedModel within FLOAT_ATOL; int8 converts (calibrated on
  the train split) and gives probabilities; both classify image files as
  the SavedModel does."""
  saved_model, info = exported
  expected = _saved_model_probabilities(saved_model, images)
  float_file = str(tmp_path / 'float.tflite')
  export_saved_model.convert_to_tflite(saved_model, float_file)
  np.testing.assert_allclose(
      classifiers.load(float_file).predict(images), expected,
      atol=FLOAT_ATOL)

  int8_file = str(tmp_path / 'int8.tflite')
  details = export_saved_model.convert_to_tflite(
      saved_model, int8_file, 'int8', input_type='uint8',
      calibration=export_saved_model.calibration_images(
          'shapes', data, 'train', 4, info))
  assert details['input']['dtype'] == 'uint8'
  int8 = classifiers.load(int8_file).predict(images)
  assert int8.shape == expected.shape
  np.testing.assert_allclose(int8.sum(1), 1, atol=0.05)

  paths = _png_files(str(tmp_path))
  saved_model_classifier = classifiers.load(saved_model)
  try:
    by_saved_model, unreadable = classify_files.classify(
        saved_model_classifier, paths, top_k=1)
  finally:
    saved_model_classifier.close()
  assert not unreadable
  for model_file in (float_file, int8_file):
    predictions, unreadable = classify_files.classify(
        classifiers.load(model_file), paths, top_k=1)
    assert not unreadable
    assert [p for p, _ in predictions] == paths
    if model_file == float_file:
      assert [best[0][0] for _, best in predictions] == [
          best[0][0] for _, best in by_saved_model]


@pytest.mark.parametrize('model_name', MODELS)
def test_bfloat16_training_step(model_name, data, tmp_path):
  checkpoint = _train(data, tmp_path, model_name, steps=1,
                      precision='bfloat16')
  values = h.read_checkpoint(checkpoint)
  # Variables stay float32; the arithmetic is bfloat16.
  assert {str(v.dtype) for name, v in values.items()
          if name != 'global_step'} == {'float32'}
  assert _finite(checkpoint)


@pytest.mark.parametrize('model_name', MODELS)
def test_quantization_aware_training_step(model_name, data, tmp_path):
  checkpoint = _train(data, tmp_path, model_name, steps=1, quantize_delay=0)
  ranges = [name for name in h.read_checkpoint(checkpoint)
            if name.endswith('act_quant/min')]
  assert ranges
  assert _finite(checkpoint)
