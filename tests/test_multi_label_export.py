"""Multi-label models through export and serving: the inference graph,
SavedModel and TFLite give the sigmoid of the logits per class, the record
says multi_label, and classify_images.py --threshold lists the labels over
the threshold; single-label exports keep their softmax and their records.

The network is the session's `random_cifarnet` (5 classes, 32x32, as
shapes_multi has); the expected probabilities are the sigmoid, in numpy, of
the logits its own single-label graph computes.
"""
import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import slim
from datasets import convert_shapes_multi
from image_classifier import cli
from image_classifier import network
from image_classifier import specs
from tests import cli_harness as h
from tools import classifiers
from tools import classify_files
from tools import graph_io
from tools import model_info

tf1 = tf.compat.v1

classify_images = h.script_module('classify_images')
export_saved_model = h.script_module('tools.export_saved_model')
freeze_graph = h.script_module('tools.freeze_graph')

NAMES = ['circle', 'square', 'triangle', 'cross', 'diamond']
NUM_IMAGES = 6
THRESHOLD = 0.5


@pytest.fixture(scope='module')
def multi_data(tmp_path_factory):
  """A tiny shapes_multi (5 classes, 32x32)."""
  dataset_dir = str(tmp_path_factory.mktemp('shapes_multi'))
  convert_shapes_multi.run(dataset_dir, seed=0, num_shards=1, num_workers=0,
                           split_sizes={'train': 8, 'validation': 4})
  return dataset_dir


@pytest.fixture(scope='module')
def images(tmp_path_factory):
  """(folder of NUM_IMAGES random 32x32 PNGs, their sorted paths, their
  lenet-preprocessed pixels)."""
  folder = tmp_path_factory.mktemp('images')
  rng = np.random.default_rng(7)
  pixels = rng.integers(0, 256, [NUM_IMAGES, 32, 32, 3], np.uint8)
  paths = []
  for i, image in enumerate(pixels):
    paths.append(str(folder / f'image_{i}.png'))
    Image.fromarray(image).save(paths[-1])
  # lenet's eval preprocessing of a 32x32 image: (x - 128) / 128.
  return str(folder), paths, (pixels.astype(np.float32) - 128) / 128


def _sigmoid(logits):
  return 1 / (1 + np.exp(-logits.astype(np.float64)))


def _checkpoint_logits(checkpoint, pixels):
  """The logits of the single-label graph (no multi-label code involved)."""
  with tf.Graph().as_default():
    placeholder, logits, _ = network.build_inference_graph('cifarnet', 5)
    with tf1.Session() as sess:
      tf1.train.Saver(slim.get_model_variables()).restore(sess, checkpoint)
      return sess.run(logits, {placeholder: pixels})


@pytest.fixture(scope='module')
def expected(random_cifarnet, images):
  """{image path: per-class probabilities}, sigmoid(logits) in numpy."""
  _, paths, pixels = images
  probabilities = _sigmoid(_checkpoint_logits(random_cifarnet, pixels))
  # Labels on both sides of the threshold, or the test says little.
  assert 0 < np.mean(probabilities >= THRESHOLD) < 1
  return dict(zip(paths, probabilities))


@pytest.fixture(scope='module')
def saved_model(random_cifarnet, tmp_path_factory):
  output_dir = str(tmp_path_factory.mktemp('export') / 'saved')
  export_saved_model.export_saved_model(
      'cifarnet', 5, os.path.dirname(random_cifarnet), output_dir,
      preprocessing_name='lenet', labels=NAMES, dataset_name='shapes_multi',
      multi_label=True)
  return output_dir


def _freeze_multi_label(graph_def, checkpoint, directory):
  """`graph_def` frozen with `checkpoint` up to its multi-label
  predictions, written to <directory>/frozen.pb; that path."""
  frozen = directory / 'frozen.pb'
  graph_io.write_graph_def(
      freeze_graph.freeze_graph_def(graph_def, checkpoint,
                                    [network.MULTI_LABEL_PREDICTIONS]),
      str(frozen))
  return frozen


def _stack(expected_by_path, paths):
  return np.stack([expected_by_path[p] for p in paths])


def test_multi_label_is_told_from_the_dataset(multi_data):
  assert network.is_multi_label('shapes_multi', multi_data)
  assert network.is_multi_label('shapes_multi', None)
  assert not network.is_multi_label('shapes', None)
  assert not network.is_multi_label(None, None)


def test_exported_inference_graph_ends_in_the_sigmoid(
    random_cifarnet, multi_data, images, expected, tmp_path):
  graph_file = tmp_path / 'inf.pb'
  result = h.run_script('export_inference_graph.py', '--model_name=cifarnet',
                        '--dataset_name=shapes_multi',
                        f'--dataset_dir={multi_data}',
                        f'--output_file={graph_file}')
  assert result.returncode == 0, result.stderr
  assert 'MultiLabel/Predictions is the sigmoid' in result.stdout
  graph_def = graph_io.read_graph_def(str(graph_file))
  nodes = {n.name: n for n in graph_def.node}
  assert nodes[network.MULTI_LABEL_PREDICTIONS].op == 'Sigmoid'
  frozen = _freeze_multi_label(graph_def, random_cifarnet, tmp_path)
  _, paths, pixels = images
  classifier = classifiers.load(
      str(frozen), specs.ModelSpec('cifarnet', preprocessing_name='lenet'))
  try:
    assert classifier.info.multi_label  # Told by the Sigmoid output.
    np.testing.assert_allclose(classifier.predict(pixels),
                               _stack(expected, paths), atol=1e-5)
  finally:
    classifier.close()


def test_single_label_inference_graph_has_no_sigmoid():
  with tf.Graph().as_default() as graph:
    _, _, end_points = network.build_inference_graph('cifarnet', 5)
    assert end_points['Predictions'].op.type == 'Reshape'
    assert not [op for op in graph.get_operations()
                if op.type == 'Sigmoid' or op.name.startswith('MultiLabel')]


def test_saved_model_probabilities_are_the_sigmoid(saved_model, images,
                                                   expected):
  _, paths, pixels = images
  info = model_info.read_info(os.path.join(saved_model,
                                           model_info.SAVED_MODEL_INFO))
  assert info.multi_label and info.labels == NAMES
  with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as sess:
    meta_graph = tf1.saved_model.loader.load(
        sess, [tf1.saved_model.tag_constants.SERVING], saved_model)
    signature = meta_graph.signature_def[model_info.IMAGES_SIGNATURE]
    outputs = sess.run(
        {k: v.name for k, v in signature.outputs.items()},
        {signature.inputs['images'].name: pixels})
  assert graph.get_operation_by_name('probabilities').type == 'Sigmoid'
  np.testing.assert_allclose(outputs['probabilities'],
                             _stack(expected, paths), atol=1e-5)
  np.testing.assert_allclose(outputs['probabilities'],
                             _sigmoid(outputs['logits']), atol=1e-6)
  np.testing.assert_allclose(outputs['top_k_scores'],
                             -np.sort(-_stack(expected, paths))[:, :5],
                             atol=1e-5)


def test_single_label_record_keeps_its_layout():
  info = model_info.ModelInfo('cifarnet', 32, 'lenet', NAMES)
  assert 'multi_label' not in info.to_json()
  info.multi_label = True
  assert info.to_json()['multi_label'] is True
  assert model_info.ModelInfo.from_json(info.to_json()).multi_label


def test_float_tflite_matches_the_saved_model(saved_model, images, expected,
                                              tmp_path):
  _, paths, pixels = images
  tflite_file = str(tmp_path / 'float.tflite')
  export_saved_model.convert_to_tflite(saved_model, tflite_file)
  with open(tflite_file + '.json') as f:
    assert json.load(f)['multi_label'] is True
  classifier = classifiers.load(tflite_file, None)
  assert classifier.info.multi_label
  np.testing.assert_allclose(classifier.predict(pixels),
                             _stack(expected, paths), atol=1e-4)


@pytest.mark.parametrize('output_type', ['float32', 'uint8', 'int8'])
def test_int8_tflite_quantizes_the_sigmoid(saved_model, images, expected,
                                           output_type, tmp_path):
  """The int8 model's probabilities stay within 0.1 of the float ones.

  The sigmoid's int8 output has TFLite's fixed range [0, 1] (scale 1/256):
  a step of 0.004. The rest is the network's own 8-bit error: the logits
  here span about 30 (random weights), so their 8-bit step is about
  30 / 256 = 0.12, and a few steps of error at the logits move a sigmoid by
  at most 0.25 (its largest slope) times that. 0.1 bounds a 3-step error
  at the steepest point; scores near 0 or 1 move far less.
  """
  _, paths, pixels = images
  tflite_file = str(tmp_path / 'int8.tflite')
  # Calibration: other random images through the same preprocessing.
  rng = np.random.default_rng(11)
  calibration = (rng.integers(0, 256, [32, 32, 32, 3]).astype(np.float32)
                 - 128) / 128
  details = export_saved_model.convert_to_tflite(
      saved_model, tflite_file, 'int8', calibration=calibration,
      input_type='uint8', output_type=output_type)
  if output_type != 'float32':
    # The sigmoid's own range: [0, 1] in 256 steps.
    assert details['output']['scale'] == pytest.approx(1 / 256)
    assert details['output']['zero_point'] == (
        0 if output_type == 'uint8' else -128)
  probabilities = classifiers.load(tflite_file, None).predict(pixels)
  assert probabilities.min() >= 0 and probabilities.max() <= 1
  np.testing.assert_allclose(probabilities, _stack(expected, paths),
                             atol=0.1)


def test_chosen_classes():
  scores = np.array([0.2, 0.9, 0.5, 0.7, 0.5])
  assert classify_files.chosen_classes(scores, 2) == [1, 3]
  assert classify_files.chosen_classes(scores, None, 0.5) == [1, 3, 2, 4]
  assert classify_files.chosen_classes(scores, 2, 0.5) == [1, 3]
  assert classify_files.chosen_classes(scores, None, 0.95) == []


def _rows_over_threshold(expected_by_path):
  """[(image, label, score)] over THRESHOLD, best first per image."""
  rows = []
  for path in sorted(expected_by_path):
    scores = expected_by_path[path]
    for i in np.argsort(-scores, kind='stable'):
      if scores[i] >= THRESHOLD:
        rows.append((path, NAMES[i], scores[i]))
  return rows


def test_cli_threshold_csv(saved_model, images, expected, tmp_path):
  folder, _, _ = images
  output = tmp_path / 'labels.csv'
  result = h.run_script('classify_images.py', f'--model={saved_model}',
                        f'--images={folder}', f'--threshold={THRESHOLD}',
                        f'--output={output}')
  assert result.returncode == 0, result.stderr
  with output.open() as f:
    reader = csv.reader(f)
    assert next(reader) == ['image', 'label', 'score']
    rows = list(reader)
  want = _rows_over_threshold(expected)
  assert [(p, label) for p, label, _ in rows] == [
      (p, label) for p, label, _ in want]
  np.testing.assert_allclose([float(s) for _, _, s in rows],
                             [s for _, _, s in want], atol=1e-5)


def test_cli_threshold_json_with_top_k(saved_model, images, expected,
                                       tmp_path):
  folder, paths, _ = images
  output = tmp_path / 'labels.json'
  result = h.run_script('classify_images.py', f'--model={saved_model}',
                        f'--images={folder}', f'--threshold={THRESHOLD}',
                        '--top_k=1', f'--output={output}')
  assert result.returncode == 0, result.stderr
  value = json.loads(output.read_text())
  assert value['threshold'] == THRESHOLD
  assert [p['image'] for p in value['predictions']] == paths
  for prediction in value['predictions']:
    scores = expected[prediction['image']]
    best = int(np.argmax(scores))
    want = [best] if scores[best] >= THRESHOLD else []
    assert [l['class_id'] for l in prediction['labels']] == want
    assert [l['label'] for l in prediction['labels']] == [
        NAMES[i] for i in want]
    np.testing.assert_allclose([l['score'] for l in prediction['labels']],
                               scores[want], atol=1e-5)


def test_cli_without_threshold_ranks_as_before(saved_model, images, expected,
                                               tmp_path):
  folder, _, _ = images
  output = tmp_path / 'ranked.csv'
  result = h.run_script('classify_images.py', f'--model={saved_model}',
                        f'--images={folder}', '--top_k=2',
                        f'--output={output}')
  assert result.returncode == 0, result.stderr
  rows = list(csv.DictReader(output.open()))
  assert list(rows[0]) == ['image', 'rank', 'label', 'score']
  for path in expected:
    order = np.argsort(-expected[path], kind='stable')[:2]
    assert [r['label'] for r in rows if r['image'] == path] == [
        NAMES[i] for i in order]


def test_cli_threshold_refuses_a_single_label_model(random_cifarnet, images,
                                                    tmp_path):
  folder, _, _ = images
  single = str(tmp_path / 'single')
  export_saved_model.export_saved_model(
      'cifarnet', 5, os.path.dirname(random_cifarnet), single,
      preprocessing_name='lenet', labels=NAMES, dataset_name='shapes')
  with open(os.path.join(single, model_info.SAVED_MODEL_INFO)) as f:
    assert 'multi_label' not in json.load(f)
  result = h.run_script('classify_images.py', f'--model={single}',
                        f'--images={folder}', '--threshold=0.5')
  assert 'is for multi-label models' in h.user_error(result,
                                                     'classify_images.py')


def test_label_image_prints_the_sigmoid(random_cifarnet, images, expected,
                                        tmp_path):
  with tf.Graph().as_default() as graph:
    network.build_inference_graph('cifarnet', 5, multi_label=True)
    graph_def = graph.as_graph_def()
  frozen = _freeze_multi_label(graph_def, random_cifarnet, tmp_path)
  _, paths, _ = images
  result = h.run_script(
      'tools/label_image.py', f'--graph={frozen}', f'--image={paths[0]}',
      f'--output_layer={network.MULTI_LABEL_PREDICTIONS}',
      '--input_mean=128', '--input_std=128', '--top_k=5')
  assert result.returncode == 0, result.stderr
  printed = [line.split() for line in result.stdout.splitlines()]
  scores = expected[paths[0]]
  order = np.argsort(-scores, kind='stable')
  assert [int(label) for label, _ in printed] == list(order)
  np.testing.assert_allclose([float(s) for _, s in printed], scores[order],
                             atol=1e-4)


def test_check_threshold():
  multi = model_info.ModelInfo('cifarnet', 32, 'lenet', NAMES,
                               multi_label=True)
  single = model_info.ModelInfo('cifarnet', 32, 'lenet', NAMES)
  classify_images.check_threshold(None, single, 'm')
  classify_images.check_threshold(0.5, multi, 'm')
  with pytest.raises(cli.UserError, match='between 0 and 1'):
    classify_images.check_threshold(1.5, multi, 'm')
  with pytest.raises(cli.UserError, match='is for multi-label models'):
    classify_images.check_threshold(0.5, single, 'm')
