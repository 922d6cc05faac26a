"""classify_images.py on a .tflite without the `<file>.json` record: any
TFLite image classifier, read from its own tensors.

The model is built here in the published quantized MobileNets' layout
(mobilenet_v1_*_quant.tflite: input `input` uint8 [1, H, W, 3], scale
1/128, zero point 128; output `MobilenetV1/Predictions/Reshape_1` uint8
[1, 1001], scale 1/256, zero point 0, after a softmax), only tiny: a conv,
a global mean, a dense layer. The expected scores come from the
interpreter run here on pixels prepared independently (Pillow's resize,
the quantization done by hand).
"""
import json
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from image_classifier import specs
from tests import cli_harness as h
from tools import classifiers
from tools import classify_files
from tools import model_info

tf1 = tf.compat.v1

SIZE = 32
NUM_CLASSES = 1001
INPUT = 'input'
OUTPUT = 'MobilenetV1/Predictions/Reshape_1'
TOP_K = 5


def _convert(quantized_type=None, image_size=SIZE):
  """A tiny classifier in the published layout, as TFLite bytes.

  Args:
    quantized_type: tf.uint8 or tf.int8 for a full-integer model with
      inputs and outputs of that type, calibrated on [-1, 127/128] so that
      the input's scale is 1/128; None for a float model.
    image_size: the input's height and width; None for any size.
  """
  rng = np.random.RandomState(0)
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, image_size, image_size, 3],
                             name=INPUT)
    kernel = rng.normal(0, 0.5, [3, 3, 3, 8]).astype(np.float32)
    net = tf.nn.relu(tf.nn.conv2d(images, kernel, [1, 2, 2, 1], 'SAME')
                     + rng.normal(0, 0.1, [8]).astype(np.float32))
    net = tf.reduce_mean(net, [1, 2])
    weights = rng.normal(0, 3, [8, NUM_CLASSES]).astype(np.float32)
    logits = tf.reshape(tf.matmul(net, weights), [1, NUM_CLASSES],
                        name='MobilenetV1/Logits/SpatialSqueeze')
    predictions = tf.nn.softmax(logits, name=OUTPUT)
    with tf1.Session() as sess:
      converter = tf1.lite.TFLiteConverter.from_session(sess, [images],
                                                        [predictions])
      if quantized_type is not None:
        samples = [rng.uniform(-1, 127 / 128, [1, SIZE, SIZE, 3])
                   .astype(np.float32) for _ in range(8)]
        samples[0].flat[:2] = -1, 127 / 128  # The input's range, exactly.
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s] for s in samples)
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = quantized_type
        converter.inference_output_type = quantized_type
      return converter.convert()


def _image(rng, width, height, color):
  """`color` with noise, a gradient across: different images, different
  features."""
  ramp = np.linspace(-60, 60, width)[None, :, None]
  noise = rng.randint(-40, 40, [height, width, 3])
  return Image.fromarray(np.clip(np.asarray(color) + ramp + noise, 0, 255)
                         .astype(np.uint8))


@pytest.fixture(scope='module')
def files(tmp_path_factory):
  """{'uint8', 'int8', 'float', 'labels', 'images'}: paths."""
  root = tmp_path_factory.mktemp('any_tflite')
  paths = {}
  for name, quantized_type in (('uint8', tf.uint8), ('int8', tf.int8),
                               ('float', None)):
    paths[name] = str(root / f'{name}.tflite')
    with open(paths[name], 'wb') as f:
      f.write(_convert(quantized_type))
  paths['labels'] = str(root / 'labels.txt')
  with open(paths['labels'], 'w', encoding='utf-8') as f:
    f.write('background\n' + ''.join(f'n{i:08d} thing {i}\n'
                                     for i in range(1, NUM_CLASSES)))
  images = root / 'images'
  images.mkdir()
  rng = np.random.RandomState(1)
  for i, color in enumerate([(250, 20, 20), (20, 230, 40), (30, 40, 240),
                             (128, 128, 128)]):
    _image(rng, SIZE, SIZE, color).save(images / f'{i}.png')
  # A plain colour stays itself through any bilinear resize.
  Image.new('RGB', (50, 20), (200, 150, 30)).save(images / 'wide.png')
  paths['images'] = str(images)
  return paths


def _pixels(path):
  """uint8 [SIZE, SIZE, 3]: the image resized by Pillow, bilinearly."""
  with Image.open(path) as image:
    return np.asarray(image.convert('RGB').resize((SIZE, SIZE),
                                                  Image.BILINEAR))


def _scores(model, inputs):
  """The model's dequantized output for one prepared input."""
  interpreter = classifiers.tflite_interpreter(model_path=model)
  interpreter.allocate_tensors()
  interpreter.set_tensor(interpreter.get_input_details()[0]['index'],
                         inputs[None])
  interpreter.invoke()
  output = interpreter.get_output_details()[0]
  values = interpreter.get_tensor(output['index'])[0]
  if values.dtype == np.float32:
    return values
  scale, zero_point = output['quantization']
  return (values.astype(np.float32) - zero_point) * np.float32(scale)


def _expected(model, image_paths, prepare, names):
  """{image: [(class_id, label, score)] best first}."""
  expected = {}
  for path in image_paths:
    scores = _scores(model, prepare(_pixels(path)))
    best = np.argsort(-scores, kind='stable')[:TOP_K]
    expected[path] = [(int(i), names[i], float(scores[i])) for i in best]
  return expected


def _image_paths(files):
  return sorted(os.path.join(files['images'], name)
                for name in os.listdir(files['images']))


def _assert_same_predictions(got, expected, atol):
  assert [path for path, _ in got] == sorted(expected)
  for path, best in got:
    want = expected[path]
    assert [(c, label) for c, label, _ in best] == [
        (c, label) for c, label, _ in want], path
    np.testing.assert_allclose([s for _, _, s in best],
                               [s for _, _, s in want], atol=atol)


def test_the_model_has_the_published_quantized_layout(files):
  interpreter = classifiers.tflite_interpreter(model_path=files['uint8'])
  (image,), (output,) = (interpreter.get_input_details(),
                         interpreter.get_output_details())
  assert (image['name'], image['dtype'], list(image['shape'])) == (
      INPUT, np.uint8, [1, SIZE, SIZE, 3])
  assert image['quantization'] == (0.0078125, 128)
  assert (output['name'], output['dtype'], list(output['shape'])) == (
      OUTPUT, np.uint8, [1, NUM_CLASSES])
  assert output['quantization'] == (1 / 256, 0)


def test_cli_quantized_model_with_published_labels(files, tmp_path):
  """uint8 in: the pixels as they are; scores and labels as the
  interpreter gives them on those pixels."""
  with open(files['labels'], encoding='utf-8') as f:
    names = f.read().splitlines()
  image_paths = _image_paths(files)
  expected = _expected(files['uint8'], image_paths, lambda p: p, names)
  # The model tells the images apart, and its scores are not all ties.
  assert len({best[0][0] for best in expected.values()}) >= 2
  assert all(best[0][2] > 2 / 256 for best in expected.values())
  before = h.file_hashes(os.path.dirname(files['uint8']))
  output = tmp_path / 'preds.json'
  result = h.run_script('classify_images.py', f'--model={files["uint8"]}',
                        f'--labels={files["labels"]}',
                        f'--images={files["images"]}', f'--top_k={TOP_K}',
                        f'--output={output}')
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  assert (f'Classified {len(image_paths)} images with uint8.tflite (tflite, '
          f'{SIZE}x{SIZE}, preprocessing pixels as uint8, scale 0.0078125, '
          'zero point 128)') in result.stdout
  got = [(entry['image'], [(k['class_id'], k['label'], k['score'])
                           for k in entry['top_k']])
         for entry in json.loads(output.read_text())['predictions']]
  _assert_same_predictions(got, expected, atol=1e-6)
  assert h.file_hashes(os.path.dirname(files['uint8'])) == before


def test_cli_float_model_takes_input_mean_and_std(files, tmp_path):
  """float in: (x - --input_mean) / --input_std; no --labels: the class
  ids are the labels."""
  image_paths = _image_paths(files)
  names = [str(i) for i in range(NUM_CLASSES)]
  expected = _expected(files['float'], image_paths,
                       lambda p: (p.astype(np.float32) - 100) / 50, names)
  output = tmp_path / 'preds.json'
  result = h.run_script('classify_images.py', f'--model={files["float"]}',
                        f'--images={files["images"]}', f'--top_k={TOP_K}',
                        '--input_mean=100', '--input_std=50',
                        f'--output={output}')
  assert result.returncode == 0, result.stderr
  assert 'preprocessing (x - 100) / 50)' in result.stdout
  got = [(entry['image'], [(k['class_id'], k['label'], k['score'])
                           for k in entry['top_k']])
         for entry in json.loads(output.read_text())['predictions']]
  _assert_same_predictions(got, expected, atol=1e-5)


def test_float_model_defaults_to_127_5(files):
  classifier = classifiers.load(files['float'], None)
  assert classifier.info.pixel_preprocessing == dict(
      height=SIZE, width=SIZE, channels=3, mean=127.5, std=127.5)


def test_int8_input_takes_the_pixels_minus_128(files):
  image_paths = _image_paths(files)
  names = [str(i) for i in range(NUM_CLASSES)]
  expected = _expected(
      files['int8'], image_paths,
      lambda p: (p.astype(np.int16) - 128).astype(np.int8), names)
  classifier = classifiers.load(files['int8'], None)
  assert classifier.info.tflite['input']['dtype'] == 'int8'
  got, unreadable = classify_files.classify(classifier, image_paths,
                                            top_k=TOP_K, batch_size=3)
  classifier.close()
  assert not unreadable
  _assert_same_predictions(got, expected, atol=1e-6)


@pytest.mark.parametrize('width, height', [(48, 40), (20, 24), (97, 61)])
def test_images_are_resized_as_pillow_does(tmp_path, width, height):
  """Bilinear with pixel centers aligned, averaging when it shrinks: within
  Pillow's own 8-bit rounding of it."""
  path = tmp_path / 'image.png'
  _image(np.random.RandomState(2), width, height, (120, 90, 160)).save(path)
  info = model_info.ModelInfo(
      model_name=None, image_size=SIZE, preprocessing_name=None,
      labels=['0'], pixel_preprocessing=dict(height=SIZE, width=SIZE,
                                             channels=3, mean=0.0, std=1.0))
  reader = classify_files.ImageReader(info)
  image, why = reader.read(str(path))
  reader.close()
  assert why is None
  assert np.abs(image - _pixels(path)).max() <= 1 + 1e-4


def test_a_model_of_any_input_size_needs_image_size(files, tmp_path):
  model = tmp_path / 'any_size.tflite'
  model.write_bytes(_convert(None, image_size=None))
  with pytest.raises(ValueError, match=r'takes images of any size .*pass '
                     '--image_size'):
    classifiers.load(str(model), None)
  classifier = classifiers.load(str(model),
                                specs.ModelSpec(model_name=None,
                                                image_size=24))
  assert classifier.info.input_size == (24, 24)
  got, _ = classify_files.classify(classifier, _image_paths(files), top_k=1)
  classifier.close()
  assert len(got) == len(_image_paths(files))


@pytest.mark.parametrize('case', ['missing', 'one_short', 'one_too_many'])
def test_cli_labels_that_do_not_fit_end_in_one_line(case, files, tmp_path):
  labels = tmp_path / 'labels.txt'
  with open(files['labels'], encoding='utf-8') as f:
    lines = f.read().splitlines()
  if case == 'one_short':  # The 1000 ImageNet names without background.
    labels.write_text('\n'.join(lines[1:]) + '\n')
  elif case == 'one_too_many':
    labels.write_text('\n'.join(lines + ['extra']) + '\n')
  before = h.file_hashes(os.path.dirname(files['uint8']))
  message = h.user_error(
      h.run_script('classify_images.py', f'--model={files["uint8"]}',
                   f'--labels={labels}', f'--images={files["images"]}'),
      'classify_images.py')
  assert str(labels) in message
  assert {'missing': 'cannot read it (No such file or directory)',
          'one_short': 'has 1000 labels but the model gives 1001 class '
                       'scores; its class 0 is most likely `background`',
          'one_too_many': 'has 1002 labels but the model gives 1001 class '
                          'scores'}[case] in message, message
  assert h.file_hashes(os.path.dirname(files['uint8'])) == before
