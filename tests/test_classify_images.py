"""classify_images.py: every model format the toolkit writes classifies the
same images alike, unreadable images are skipped, and bad input ends in one
line.

The checkpoint is the session's `random_cifarnet` (tests/conftest.py):
random weights large enough that the classes' scores differ clearly; its
own graph gives the expected probabilities.
"""
import csv
import io
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import slim
from datasets import dataset_factory
from image_classifier import network
from tests import cli_harness as h
from tools import classifiers
from tools import classify_files
from tools import graph_io

tf1 = tf.compat.v1

classify_images = h.script_module('classify_images')
export_saved_model = h.script_module('tools.export_saved_model')
freeze_graph = h.script_module('tools.freeze_graph')
dump_images = h.script_module('tools.dump_images')

NAMES = ['circle', 'square', 'triangle', 'cross', 'diamond']
NUM_IMAGES = 6
PREDICTIONS = 'CifarNet/Predictions/Reshape_1'


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=12,
                       validation=NUM_IMAGES)


@pytest.fixture(scope='module')
def models(data, random_cifarnet, tmp_path_factory):
  """{format: path} of one CifarNet in every format, and the images."""
  root = tmp_path_factory.mktemp('models')
  with tf.Graph().as_default() as graph:
    network.build_inference_graph('cifarnet', h.NUM_CLASSES)
    graph_def = graph.as_graph_def()
  paths = {'checkpoint': os.path.dirname(random_cifarnet)}
  paths['frozen_graph'] = str(root / 'frozen.pb')
  graph_io.write_graph_def(
      freeze_graph.freeze_graph_def(graph_def, paths['checkpoint'],
                                    [PREDICTIONS]), paths['frozen_graph'])
  paths['saved_model'] = str(root / 'saved')
  info = export_saved_model.export_saved_model(
      'cifarnet', h.NUM_CLASSES, paths['checkpoint'], paths['saved_model'],
      preprocessing_name='lenet', labels=NAMES, dataset_name='shapes')
  paths['tflite'] = str(root / 'float.tflite')
  export_saved_model.convert_to_tflite(paths['saved_model'], paths['tflite'])
  paths['tflite_int8'] = str(root / 'int8.tflite')
  export_saved_model.convert_to_tflite(
      paths['saved_model'], paths['tflite_int8'], 'int8',
      calibration=export_saved_model.calibration_images(
          'shapes', data, 'train', 12, info),
      input_type='uint8', output_type='uint8')

  images = root / 'images'
  (images / 'sub').mkdir(parents=True)
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('shapes', 'validation', data)
    dump_images.dump_images(dataset, NUM_IMAGES, str(images / 'sub'))
  (images / 'broken.png').write_bytes(b'not an image')
  (images / 'notes.txt').write_text('not an image either')
  return paths, str(images)


def _flag_values(**overrides):
  return h.flag_values('classify_images', model_name='cifarnet',
                       preprocessing_name='lenet', dataset_name='shapes',
                       **overrides)


def _expected(models_and_images):
  """{image path: probabilities} from the checkpoint's own graph."""
  paths, images = models_and_images
  files = classify_images.list_images(os.path.join(images, 'sub'))
  from PIL import Image  # pylint: disable=import-outside-toplevel
  pixels = np.stack([np.asarray(Image.open(f).convert('RGB'))
                     for f in files]).astype(np.float32)
  with tf.Graph().as_default():
    placeholder, _, end_points = network.build_inference_graph(
        'cifarnet', h.NUM_CLASSES)
    with tf1.Session() as sess:
      tf1.train.Saver(slim.get_model_variables()).restore(
          sess, tf.train.latest_checkpoint(paths['checkpoint']))
      probabilities = sess.run(end_points['Predictions'],
                               {placeholder: (pixels - 128) / 128})
  return dict(zip(files, probabilities))


@pytest.mark.parametrize('model_format', ['checkpoint', 'frozen_graph',
                                          'saved_model', 'tflite'])
def test_every_format_gives_the_checkpoint_scores(models, data,
                                                  model_format):
  paths, images = models
  expected = _expected(models)
  classifier = classify_images.load_classifier(
      paths[model_format], _flag_values(dataset_dir=data))
  assert classifier.format == model_format
  assert (classifier.info.image_size, classifier.info.labels) == (32, NAMES)
  predictions, unreadable = classify_files.classify(classifier,
                                                     classify_images
                                                     .list_images(images),
                                                     top_k=3, batch_size=4)
  classifier.close()
  assert [os.path.basename(p) for p, _ in unreadable] == ['broken.png']
  assert [p for p, _ in predictions] == sorted(expected)
  for path, best in predictions:
    order = np.argsort(-expected[path])[:3]
    assert [c for c, _, _ in best] == list(order)
    assert [label for _, label, _ in best] == [NAMES[i] for i in order]
    np.testing.assert_allclose([s for _, _, s in best],
                               expected[path][order], atol=1e-4)


def test_int8_tflite_classifies_with_its_record_alone(models):
  paths, images = models
  expected = _expected(models)
  classifier = classifiers.load(paths['tflite_int8'], None)
  assert classifier.info.tflite['input']['dtype'] == 'uint8'
  predictions, _ = classify_files.classify(
      classifier, classify_images.list_images(images), top_k=1)
  agree = [best[0][0] == expected[path].argmax() for path, best in predictions]
  assert len(agree) == NUM_IMAGES and np.mean(agree) >= 0.8


def test_tflite_without_its_record_takes_the_flags(models, data, tmp_path):
  """An exported .tflite whose .json record is lost classifies as with it,
  --model_name and the dataset flags saying what the record did."""
  paths, images = models
  bare = str(tmp_path / 'int8.tflite')
  shutil.copy(paths['tflite_int8'], bare)
  files = classify_images.list_images(images)
  results = []
  for model, values in ((paths['tflite_int8'],
                         h.flag_values('classify_images')),
                        (bare, _flag_values(dataset_dir=data))):
    classifier = classify_images.load_classifier(model, values)
    results.append(classify_files.classify(classifier, files, top_k=3))
    classifier.close()
  assert results[0] == results[1]
  assert {label for _, best in results[1][0] for _, label, _ in best} <= (
      set(NAMES))


def test_list_images(models, tmp_path):
  _, images = models
  found = classify_images.list_images(images)
  assert len(found) == NUM_IMAGES + 1  # broken.png too; notes.txt not.
  assert classify_images.list_images(found[0]) == [found[0]]
  assert classify_images.list_images(
      os.path.join(images, '**', '*_c*.png')) == [
          p for p in found if os.path.basename(p)[6:7] == 'c']
  for pattern, message in ((str(tmp_path / 'none.png'), 'does not exist'),
                           (str(tmp_path / '*.png'), 'matches no file'),
                           (str(tmp_path), 'no image files')):
    with pytest.raises(ValueError, match=message):
      classify_images.list_images(pattern)


def test_list_images_on_a_remote_filesystem(models):
  # gs://, s3://... through tf.io.gfile; ram:// here. Its glob has no **.
  _, images = models
  remote = 'ram://classify_list/images'
  for path in classify_images.list_images(images):
    target = remote + '/' + os.path.relpath(path, images)
    tf.io.gfile.makedirs(target.rsplit('/', 1)[0])
    tf.io.gfile.copy(path, target, overwrite=True)
  found = classify_images.list_images(remote)
  assert [os.path.relpath(p, remote) for p in found] == [
      os.path.relpath(p, images) for p in classify_images.list_images(images)]
  assert classify_images.list_images(found[0]) == [found[0]]
  assert classify_images.list_images(remote + '/sub/*_c*.png') == [
      p for p in found if os.path.basename(p)[6:7] == 'c']
  for pattern, message in ((remote + '/none.png', 'does not exist'),
                           (remote + '/*.gif', 'matches no file')):
    with pytest.raises(ValueError, match=message):
      classify_images.list_images(pattern)
  usable, refused = classify_images.screen_images(found, 10**6)
  assert len(usable) == NUM_IMAGES and [p for p, _ in refused] == [
      p for p in found if p.endswith('broken.png')]
  tf.io.gfile.rmtree('ram://classify_list')


def test_outputs():
  predictions = [('a.png', [(2, 'triangle', 0.75), (0, 'circle', 0.25)])]
  rows = list(csv.reader(io.StringIO(classify_images.csv_text(predictions))))
  assert rows == [['image', 'rank', 'label', 'score'],
                  ['a.png', '1', 'triangle', '0.750000'],
                  ['a.png', '2', 'circle', '0.250000']]
  value = classify_images.json_value(predictions, [('b.png', 'bad')], 'm')
  assert value['predictions'][0]['top_k'][0] == {
      'rank': 1, 'class_id': 2, 'label': 'triangle', 'score': 0.75}
  assert value['unreadable'] == [{'image': 'b.png', 'error': 'bad'}]


def test_cli_tflite_to_csv(models, tmp_path):
  paths, images = models
  output = tmp_path / 'preds.csv'
  result = h.run_script('classify_images.py', f'--model={paths["tflite_int8"]}',
                        f'--images={images}', '--top_k=2',
                        f'--output={output}')
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  assert 'skipped unreadable image' in result.stderr
  assert 'broken.png: Unknown image file format' in result.stderr
  assert f'Classified {NUM_IMAGES} images with cifarnet (tflite' in (
      result.stdout)
  rows = list(csv.DictReader(output.open()))
  assert len(rows) == 2 * NUM_IMAGES
  assert {r['label'] for r in rows} <= set(NAMES)
  assert [r['rank'] for r in rows[:2]] == ['1', '2']


@pytest.mark.parametrize('case', ['missing_images', 'unknown_format',
                                  'checkpoint_misfit', 'no_images'])
def test_cli_bad_input_is_one_line(case, models, data, tmp_path):
  paths, images = models
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'model.bin').write_bytes(b'\x00\x01 not a model')
  args = {
      'missing_images': [f'--model={paths["saved_model"]}',
                         f'--images={tmp_path / "missing.jpg"}'],
      'unknown_format': [f'--model={tmp_path / "model.bin"}',
                         f'--images={images}'],
      # mnist has 10 classes; the checkpoint 5.
      'checkpoint_misfit': [f'--model={paths["checkpoint"]}',
                            '--model_name=cifarnet', '--dataset_name=mnist',
                            f'--images={images}'],
      'no_images': [f'--model={paths["tflite"]}',
                    f'--images={tmp_path / "empty"}'],
  }[case]
  message = h.user_error(h.run_script('classify_images.py', *args),
                         'classify_images.py')
  assert {'missing_images': 'does not exist',
          'unknown_format': 'not a known model format',
          'checkpoint_misfit': 'does not fit the model',
          'no_images': 'no image files'}[case] in message, message
