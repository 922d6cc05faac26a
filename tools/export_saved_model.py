"""Exports a trained classifier as a SavedModel (and optionally TFLite).

    python tools/export_saved_model.py --model_name=cifarnet \
      --checkpoint_path=/tmp/slim-demo/train --dataset_name=shapes \
      --dataset_dir=/tmp/slim-demo/shapes --output_dir=/tmp/cifarnet_saved_model \
      --tflite_file=/tmp/cifarnet.tflite

The SavedModel's `serving_default` signature takes `images` (float32
[batch, size, size, channels], already preprocessed) and returns
`probabilities`, `logits` and `classes`. With --tflite_file the same model is
also converted for TensorFlow Lite (float32, batch 1). The output folder is
written under a temporary name and renamed when complete.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import tensorflow as tf

import export_inference_graph
import slim
from image_classifier import cli
from image_classifier import fileio

tf1 = tf.compat.v1

flags.DEFINE_string('checkpoint_path', None, 'Checkpoint prefix, or a '
                    'directory whose latest checkpoint is exported.')
flags.DEFINE_string('output_dir', None, 'The SavedModel folder to create.')
flags.DEFINE_string('tflite_file', None, 'Also write a TFLite model here.')
flags.DEFINE_float('moving_average_decay', None, 'Export the moving '
                   'averages of the weights kept with this decay.')

FLAGS = flags.FLAGS


def _variables_to_restore(moving_average_decay):
  if not moving_average_decay:
    return slim.get_model_variables()
  averages = tf1.train.ExponentialMovingAverage(moving_average_decay)
  return averages.variables_to_restore(slim.get_model_variables())


def export_saved_model(model_name, num_classes, checkpoint_path, output_dir,
                       image_size=None, batch_size=None, use_grayscale=False,
                       moving_average_decay=None):
  """Writes a SavedModel of `model_name` with the checkpoint's weights.

  Raises:
    ValueError: if the checkpoint is missing or does not fit the network.
  """
  checkpoint_path = slim.variables.resolve_checkpoint_path(checkpoint_path)
  if os.path.exists(output_dir):
    raise ValueError(f'--output_dir={output_dir} already exists; a '
                     'SavedModel is written to a new folder.')
  parent = os.path.dirname(os.path.abspath(output_dir))
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(dir=parent, prefix='.tmp-saved-model-')
  os.rmdir(staging)  # The builder wants to create the folder itself.
  try:
    with tf.Graph().as_default() as graph:
      images, logits, _ = (
          export_inference_graph.build_inference_graph(
              model_name, num_classes, image_size=image_size,
              batch_size=batch_size, use_grayscale=use_grayscale))
      logits = tf.reshape(logits, [-1, num_classes])
      probabilities = tf.nn.softmax(logits, name='probabilities')
      classes = tf.argmax(logits, 1, name='classes')
      restore = slim.assign_from_checkpoint_fn(
          checkpoint_path, _variables_to_restore(moving_average_decay))
      with tf1.Session(graph=graph) as sess:
        sess.run(tf1.global_variables_initializer())
        restore(sess)
        builder = tf1.saved_model.Builder(staging)
        signature = tf1.saved_model.predict_signature_def(
            inputs={'images': images},
            outputs={'probabilities': probabilities, 'logits': logits,
                     'classes': classes})
        builder.add_meta_graph_and_variables(
            sess, [tf1.saved_model.tag_constants.SERVING],
            signature_def_map={'serving_default': signature})
        builder.save()
    os.replace(staging, output_dir)
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def convert_to_tflite(saved_model_dir, tflite_file):
  """Converts the SavedModel to a float32 TFLite flatbuffer, atomically."""
  converter = tf1.lite.TFLiteConverter.from_saved_model(saved_model_dir)
  fileio.write_atomic(tflite_file, converter.convert())


def main(argv):
  cli.check_no_arguments(argv)
  for name in ('checkpoint_path', 'output_dir'):
    if not FLAGS[name].value:
      cli.fail(f'--{name} must be set.')
  with cli.user_input():
    num_classes = export_inference_graph.dataset_num_classes(
        FLAGS.dataset_name, FLAGS.dataset_dir) - FLAGS.labels_offset
    export_saved_model(
        FLAGS.model_name, num_classes, FLAGS.checkpoint_path,
        FLAGS.output_dir, image_size=FLAGS.image_size,
        batch_size=FLAGS.batch_size, use_grayscale=FLAGS.use_grayscale,
        moving_average_decay=FLAGS.moving_average_decay)
  print(f'Wrote SavedModel {FLAGS.output_dir}.')
  if FLAGS.tflite_file:
    convert_to_tflite(FLAGS.output_dir, FLAGS.tflite_file)
    print(f'Wrote TFLite model {FLAGS.tflite_file}.')


if __name__ == '__main__':
  cli.run(main)
