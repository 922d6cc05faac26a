"""Imports Keras ImageNet weights into one of our networks.

    python tools/import_keras_weights.py --model_name=mobilenet_v1 \
      --keras_weights=mobilenet_1_0_224_tf.h5 \
      --output_checkpoint=/tmp/checkpoints/mobilenet_v1_keras.ckpt

reads a `keras.applications` weights file (the published legacy `.h5`, or a
Keras 3 `.weights.h5`) without Keras, maps every weight to our variable
names, checks every shape, and writes a slim checkpoint of the weights'
1000 classes. It then prints the flags that use it: `--checkpoint_path`
(with `--labels_offset=1` to evaluate on the 1001-class ImageNet records,
or `--checkpoint_exclude_scopes` of the classifier to fine-tune).

A file for another network, a truncated file, a missing weight or a shape
that differs ends in one line naming the first mismatch, and nothing is
written. The networks it accepts and their Keras models are the records of
tools/keras_maps (docs/networks.md lists them).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags

from image_classifier import cli
from tools import keras_import
from tools import keras_maps

flags.DEFINE_string('model_name', None, 'Our network that takes the weights '
                    '(mobilenet_v1, inception_v3, ...; see '
                    'docs/networks.md).')
flags.DEFINE_string('keras_weights', None, 'The Keras weights file: a '
                    'published legacy .h5 or a Keras 3 .weights.h5.')
flags.DEFINE_string('output_checkpoint', None, 'The checkpoint to write '
                    '(a prefix: PATH.index and PATH.data-*).')

FLAGS = flags.FLAGS


def head_scopes(model_name, shapes):
  """The scopes to exclude when fine-tuning on other classes: the layers
  whose variables end in the weights' class count, and the scopes the import
  filled with initial values.

  Args:
    model_name: an importable network.
    shapes: {variable name: shape} of the imported checkpoint.
  """
  weights = keras_maps.importable()[model_name]
  heads = sorted({name.rsplit('/', 1)[0] for name, shape in shapes.items()
                  if len(shape) and shape[-1] == weights.num_classes})
  return heads + list(weights.fresh_scopes)


def checkpoint_head_scopes(model_name, checkpoint):
  """`head_scopes` of a checkpoint written by the import (or by
  tools/download_checkpoint.py), read from its index: what
  scripts/finetune_on_image_folder.sh passes to
  --checkpoint_exclude_scopes."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  reader = tf.train.load_checkpoint(checkpoint)
  return head_scopes(model_name, reader.get_variable_to_shape_map())


def usage(model_name, checkpoint, values):
  """The lines that say how to use the written checkpoint."""
  weights = keras_maps.importable()[model_name]
  lines = [
      f'Wrote {checkpoint} ({len(values)} variables of {model_name}, '
      f'{weights.num_classes} classes).',
      'Evaluate on the 1001-class ImageNet records:',
      f'  --model_name={model_name} --checkpoint_path={checkpoint} '
      f'--labels_offset={weights.labels_offset}',
      'Fine-tune on your classes:',
      f'  --model_name={model_name} --checkpoint_path={checkpoint} '
      '--checkpoint_exclude_scopes=' + ','.join(head_scopes(
          model_name, {name: value.shape for name, value in values.items()})),
  ]
  if weights.notes:
    lines.append(f'Note: {weights.notes}')
  return lines


def import_weights(model_name, keras_weights, output_checkpoint):
  """Writes the checkpoint; returns the lines that say how to use it.

  Raises:
    keras_import.KerasImportError: the file does not hold the network's
      weights (naming the first mismatch).
  """
  values = keras_import.checkpoint_values(model_name, keras_weights)
  keras_import.write_checkpoint(values, output_checkpoint)
  return usage(model_name, output_checkpoint, values)


def check_flags(model_name, keras_weights, output_checkpoint):
  """Fails (cli.UserError) on what can be told before reading the file."""
  for flag, value in (('--model_name', model_name),
                      ('--keras_weights', keras_weights),
                      ('--output_checkpoint', output_checkpoint)):
    if not value:
      cli.fail(f'{flag} must be set.')
  if keras_maps.family_of(model_name) is None:
    cli.fail(f'--model_name={model_name}: no Keras weights can be imported '
             f'into it; importable: '
             f'{", ".join(sorted(keras_maps.importable()))}')
  if not os.path.isfile(keras_weights):
    cli.fail(f'--keras_weights={keras_weights} is not a file.')
  cli.check_output_file(output_checkpoint, '--output_checkpoint')


def main(argv):
  cli.check_no_arguments(argv)
  check_flags(FLAGS.model_name, FLAGS.keras_weights, FLAGS.output_checkpoint)
  print('\n'.join(import_weights(FLAGS.model_name, FLAGS.keras_weights,
                                 FLAGS.output_checkpoint)))


if __name__ == '__main__':
  cli.run(main, extra_user_errors=(keras_import.KerasImportError,),
          output_flag='--output_checkpoint')
