"""Quantization-aware training to an int8 TFLite model, through the scripts:
train_image_classifier --quantize_delay -> eval_image_classifier --quantize
-> tools/export_saved_model --quantize --tflite_quantization=int8 ->
classify_images.py.

One CifarNet is trained as the published *_quant checkpoints were: a float
run (the session's `trained_cifarnet`, tests/cifarnet_checkpoints.py: 300 Adam
steps, ~0.8 validation accuracy, so that the agreements below are measured
on a network with real decisions), then quantization-aware fine-tuning from
it (--quantize_delay=0), whose moving-average ranges then fit the trained
network. (Ranges tracked from step 0 of a short run average in the
untrained network's narrower ones: eval --quantize then clips the logits,
and the int8 model, whose logits range is calibrated, disagrees with it on
~13% of the images.)
"""
import csv
import os

import numpy as np
import pytest
import tensorflow as tf

import slim
from datasets import dataset_factory
from image_classifier import network
from tests import cli_harness as h
from tests import cifarnet_checkpoints
from tools import classifiers
from tools import classify_files
from tools import dump_images
from tools import model_info

tf1 = tf.compat.v1

eval_image_classifier = h.script_module('eval_image_classifier')
export_saved_model = h.script_module('tools.export_saved_model')
classify_images = h.script_module('classify_images')

# The whole validation split; 1 point = 1 image, >= 95% allows 5 differences.
NUM_VALIDATION = cifarnet_checkpoints.SHAPES_SPLITS['validation']
# What the fine-tuning changes in cifarnet_checkpoints.FLOAT_RUN.
QAT_RUN = dict(max_number_of_steps=30, learning_rate=0.0003, quantize_delay=0)
LAYERS = ('conv1', 'conv2', 'fc3', 'fc4', 'logits')


@pytest.fixture(scope='module')
def data(shapes_data):
  """The session's shapes dataset (tests/conftest.py)."""
  return shapes_data


@pytest.fixture(scope='module')
def qat_checkpoint(data, trained_cifarnet, tmp_path_factory):
  train_dir = cifarnet_checkpoints.train_cifarnet(
      data, tmp_path_factory.mktemp('qat'), checkpoint_path=trained_cifarnet,
      **QAT_RUN)
  return tf.train.latest_checkpoint(train_dir)


@pytest.fixture(scope='module')
def qat_int8(data, qat_checkpoint, tmp_path_factory):
  """(tflite_file, details): the QAT checkpoint as an int8 TFLite model."""
  root = tmp_path_factory.mktemp('export')
  saved_model = str(root / 'saved')
  info = export_saved_model.export_saved_model(
      'cifarnet', h.NUM_CLASSES, qat_checkpoint, saved_model,
      preprocessing_name='lenet',
      labels=model_info.class_names('shapes', data, h.NUM_CLASSES),
      dataset_name='shapes', quantize=True)
  tflite_file = str(root / 'qat_int8.tflite')
  details = export_saved_model.convert_to_tflite(
      saved_model, tflite_file, 'int8',
      calibration=export_saved_model.calibration_images(
          'shapes', data, 'train', 32, info),
      input_type='uint8', quantized_checkpoint=True)
  return tflite_file, details


@pytest.fixture(scope='module')
def validation_images(data):
  info = model_info.ModelInfo('cifarnet', 32, 'lenet', ['0'] * h.NUM_CLASSES)
  return export_saved_model.calibration_images(
      'shapes', data, 'validation', NUM_VALIDATION, info)


def _quantized_eval_probabilities(checkpoint, images):
  """Probabilities of the eval --quantize graph (fake quant, float)."""
  with tf.Graph().as_default():
    placeholder, _, end_points = network.build_inference_graph(
        'cifarnet', h.NUM_CLASSES, quantize=True)
    with tf1.Session() as sess:
      tf1.train.Saver().restore(sess, checkpoint)
      return sess.run(end_points['Predictions'], {placeholder: images})


def test_qat_int8_tflite_agrees_with_quantized_eval(
    qat_checkpoint, qat_int8, validation_images):
  """Same top-1 as the eval --quantize graph on >= 95% of held-out images,
  with the quantized layers' ranges taken from the checkpoint."""
  tflite_file, details = qat_int8
  assert details['fake_quant_ops'] == 2 * len(LAYERS)
  assert details['input']['dtype'] == 'uint8'
  expected = _quantized_eval_probabilities(qat_checkpoint, validation_images)
  got = classifiers.load(tflite_file, None).predict(validation_images)
  agreement = np.mean(got.argmax(1) == expected.argmax(1))
  print(f'QAT int8 TFLite = eval --quantize on {agreement:.1%}')
  assert agreement >= 0.95, agreement
  assert len(set(expected.argmax(1))) >= 3
  # conv1's output (its relu) is quantized with the checkpoint's act_quant
  # range, not a calibrated one.
  reader = tf.train.load_checkpoint(qat_checkpoint)
  low, high = (reader.get_tensor(f'CifarNet/conv1/act_quant/{m}')
               for m in ('min', 'max'))
  interpreter = classifiers.tflite_interpreter(model_path=tflite_file)
  scales = [d['quantization'][0] for d in interpreter.get_tensor_details()
            if d['name'].startswith('CifarNet/conv1/')
            and 'Relu' in d['name'] and d['dtype'] == np.int8]
  assert scales and scales[0] == pytest.approx((high - low) / 255, rel=1e-5)


def test_classify_images_within_1_point_of_eval_quantize(
    data, qat_checkpoint, qat_int8, tmp_path):
  """classify_images.py on the exported int8 model, and on the checkpoint
  with --quantize, against eval_image_classifier.py --quantize, on the
  whole validation split."""
  result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval', quantize=True), qat_checkpoint)
  images = tmp_path / 'images'
  images.mkdir()
  with tf.Graph().as_default():
    dump_images.dump_images(
        dataset_factory.get_dataset('shapes', 'validation', data),
        NUM_VALIDATION, str(images))

  def accuracy(rows):
    """Top-1 accuracy of (image path, label) rows; the file names say the
    true shape (00012_circle.png)."""
    rows = list(rows)
    assert len(rows) == NUM_VALIDATION
    return np.mean([os.path.basename(path)[6:-4] == label
                    for path, label in rows])

  preds = tmp_path / 'preds.csv'
  run = h.run_script('classify_images.py', f'--model={qat_int8[0]}',
                     f'--images={images}', '--top_k=1', f'--output={preds}',
                     '--progress_bar=false')
  assert run.returncode == 0, run.stderr
  with open(preds) as f:
    tflite_accuracy = accuracy((row['image'], row['label'])
                               for row in csv.DictReader(f))
  # The checkpoint itself, --quantize: the eval graph (other batch sizes, so
  # an image on the fence may tip).
  values = h.flag_values('classify_images', model=qat_checkpoint,
                         model_name='cifarnet', preprocessing_name='lenet',
                         dataset_name='shapes', dataset_dir=data,
                         quantize=True)
  classifier = classify_images.load_classifier(qat_checkpoint, values)
  try:
    predictions, unreadable = classify_files.classify(
        classifier, sorted(str(p) for p in images.glob('*.png')), top_k=1)
  finally:
    classifier.close()
  assert not unreadable
  checkpoint_accuracy = accuracy((path, best[0][1])
                                 for path, best in predictions)
  print(f'eval --quantize {result["Accuracy"]:.3f}, classify_images int8 '
        f'TFLite {tflite_accuracy:.3f}, checkpoint --quantize '
        f'{checkpoint_accuracy:.3f}')
  assert result['Accuracy'] > 0.6
  assert abs(tflite_accuracy - result['Accuracy']) <= 0.01 + 1e-6
  assert abs(checkpoint_accuracy - result['Accuracy']) <= 0.01 + 1e-6


def test_quantize_refusals(data, qat_checkpoint, qat_int8, tmp_path):
  """--quantize with a float SavedModel, a QAT SavedModel without int8, and
  --quantize without calibration data: one line each."""
  tflite_file, _ = qat_int8
  saved_model = os.path.join(os.path.dirname(tflite_file), 'saved')
  with pytest.raises(ValueError, match='convert it with '
                     '--tflite_quantization=int8'):
    export_saved_model.convert_to_tflite(saved_model, str(tmp_path / 'x'),
                                         'dynamic_range')
  result = h.run_script(
      'tools/export_saved_model.py', '--model_name=cifarnet',
      f'--checkpoint_path={qat_checkpoint}', '--dataset_name=mnist',
      f'--output_dir={tmp_path / "saved"}', '--quantize',
      f'--tflite_file={tmp_path / "q.tflite"}', '--tflite_quantization=int8')
  assert 'calibrates the input and the tensors without fake-quant ranges' \
      in h.user_error(result, 'export_saved_model.py')
  assert not (tmp_path / 'saved').exists()


def test_mobilenet_v2_residual_adds_take_their_ranges_from_the_checkpoint(
    data, tmp_path):
  """A 1-step QAT MobileNet v2 (0.35, 32x32) converts to int8, and each of
  its 10 residual adds is quantized with its post_activation_bypass_quant
  range from the checkpoint, not a calibrated one."""
  train_dir = tmp_path / 'train'
  h.script_module('train_image_classifier').train(h.train_values(
      data, train_dir, model_name='mobilenet_v2_035', train_image_size=32,
      quantize_delay=0, max_number_of_steps=1, batch_size=2))
  checkpoint = tf.train.latest_checkpoint(str(train_dir))
  info = export_saved_model.export_saved_model(
      'mobilenet_v2_035', h.NUM_CLASSES, checkpoint, str(tmp_path / 'saved'),
      image_size=32, preprocessing_name='lenet', dataset_name='shapes',
      quantize=True)
  tflite_file = str(tmp_path / 'v2_int8.tflite')
  details = export_saved_model.convert_to_tflite(
      str(tmp_path / 'saved'), tflite_file, 'int8',
      calibration=export_saved_model.calibration_images(
          'shapes', data, 'train', 4, info),
      quantized_checkpoint=True)
  # 53 layers' weights and activations, 10 residual adds.
  assert details['fake_quant_ops'] == 2 * 53 + 10
  reader = tf.train.load_checkpoint(checkpoint)
  interpreter = classifiers.tflite_interpreter(model_path=tflite_file)
  tensors = {d['name']: d for d in interpreter.get_tensor_details()}
  for block in (2, 4, 5, 7, 8, 9, 11, 12, 14, 15):
    scope = f'MobilenetV2/expanded_conv_{block}'
    low, high = (reader.get_tensor(
        f'{scope}/post_activation_bypass_quant/{end}')
                 for end in ('min', 'max'))
    add = tensors[f'{scope}/add']
    assert add['dtype'] == np.int8
    assert add['quantization'][0] == pytest.approx((high - low) / 255,
                                                   rel=1e-5)
