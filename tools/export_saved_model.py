"""Exports a trained classifier as a serving SavedModel (and optionally TFLite).

    python tools/export_saved_model.py --model_name=cifarnet \\
      --checkpoint_path=/tmp/slim-demo/train --dataset_name=shapes \\
      --dataset_dir=/tmp/slim-demo/shapes --preprocessing_name=lenet \\
      --output_dir=/tmp/cifarnet_saved_model \\
      --tflite_file=/tmp/cifarnet_int8.tflite --tflite_quantization=int8 \\
      --dataset_split_name=train --num_calibration_images=200

The SavedModel has two signatures, with the same outputs:

- `serving_default` takes `image_bytes`, a [batch] string tensor of encoded
  images (JPEG, PNG, GIF, BMP; any size), and runs the network's eval
  preprocessing (--preprocessing_name, default the network's) inside;
  video networks take [batch, --num_frames] strings, one image a frame.
- `preprocessed_images` takes `images`, float32 [batch, size, size,
  channels] ([batch, frames, size, size, channels] for video), already
  preprocessed.

For a multi-label dataset (several labels per image, such as
`shapes_multi`; its descriptor or dataset_meta.json says), `probabilities`
is the sigmoid of the logits, each class's own probability, instead of the
softmax, and model_info.json (and the TFLite record) holds
`"multi_label": true`, which classify_images.py --threshold reads.

Outputs: `probabilities`, `logits`, `classes` (the top-1 class id) and the
--top_k best as `top_k_classes`, `top_k_scores` and `top_k_labels` (names
from the dataset's labels.txt in --dataset_dir, else the class ids). The
batch size is dynamic unless --batch_size is given. The model's name, image
size, preprocessing, labels and labels_offset go to
`<output_dir>/assets.extra/model_info.json`, so classify_images.py needs
only --model and --images. The folder is written under a temporary name
beside --output_dir (with the TFLite model, if any) and renamed when
complete: a killed export leaves no --output_dir, and the rerun removes
what it left. On a filesystem without atomic renames (gs://, s3://, ...)
it is copied into place with model_info.json last, the mark of a
complete export. A finished --output_dir is replaced only with --overwrite.

With --tflite_file the float-images signature (probabilities only) is also
converted for TensorFlow Lite, with --tflite_quantization:
`none` (float32), `dynamic_range` (int8 weights, float activations),
`float16` (float16 weights) or `int8` (integer weights and activations).
int8 takes its activation ranges from --num_calibration_images images of
--dataset_split_name, through the network's eval preprocessing; with
--quantize (a quantization-aware-trained checkpoint) every quantized layer's
weight and activation ranges come from the checkpoint's fake-quant ops, and
the calibration images only range the tensors that have none (the input
images, and the outputs of layers the rewrite leaves float, such as
CifarNet's local response normalization). --tflite_input_type /
--tflite_output_type make an int8 model's input and output uint8 or int8
(their scale and zero point are printed and stored). The record goes beside it, in `<tflite_file>.json`.
"""
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
from absl import logging as absl_logging
import numpy as np
import tensorflow as tf

import slim
from flag_groups import common_flags
from flag_groups import compute_flags
from image_classifier import cli
from image_classifier import fileio
from image_classifier import inputs
from image_classifier import model_on_split
from image_classifier import network
from image_classifier import restore
from image_classifier import run_lock
from image_classifier import specs
from nets.registry import NETWORKS
from preprocessing import preprocessing_factory
from tools import classifiers
from tools import model_info

tf1 = tf.compat.v1

# The inference graph's flags, as export_inference_graph.py has them.
common_flags.define_export_flags(__name__)
compute_flags.define_precision_flag(__name__)
flags.DEFINE_string('checkpoint_path', None, 'Checkpoint prefix, or a '
                    'directory whose latest checkpoint is exported.')
flags.DEFINE_string('output_dir', None, 'The SavedModel folder to create.')
flags.DEFINE_float('moving_average_decay', None, 'Export the moving '
                   'averages of the weights kept with this decay.')
flags.DEFINE_string('preprocessing_name', None, 'The eval preprocessing '
                    'serving_default applies; None uses the model_name\'s.')
flags.DEFINE_integer('top_k', 5, 'How many best classes the signatures '
                     'return.')
flags.DEFINE_bool('overwrite', False, 'Replace the SavedModel already in '
                  '--output_dir (a partial one, left by a killed export, is '
                  'always replaced).')
# --------------------------------------------------------------- TFLite
flags.DEFINE_string('tflite_file', None, 'Also write a TFLite model here.')
flags.DEFINE_enum('tflite_quantization', 'none',
                  ['none', 'dynamic_range', 'float16', 'int8'],
                  'How the TFLite model is quantized.')
flags.DEFINE_enum('tflite_input_type', 'float32',
                  ['float32', 'uint8', 'int8'], 'The TFLite model\'s input '
                  'type; uint8/int8 need --tflite_quantization=int8.')
flags.DEFINE_enum('tflite_output_type', 'float32',
                  ['float32', 'uint8', 'int8'], 'The TFLite model\'s output '
                  'type; uint8/int8 need --tflite_quantization=int8.')
flags.DEFINE_integer('num_calibration_images', 200, 'Images that calibrate '
                     'an int8 TFLite model (without --quantize).')
flags.DEFINE_string('dataset_split_name', 'train', 'The split the '
                    'calibration images come from.')

FLAGS = flags.FLAGS

SERVING_SIGNATURE = model_info.SERVING_SIGNATURE
IMAGES_SIGNATURE = model_info.IMAGES_SIGNATURE
QUANTIZATIONS = ('none', 'dynamic_range', 'float16', 'int8')
_TYPES = {'float32': tf.float32, 'uint8': tf.uint8, 'int8': tf.int8}


def _images_from_bytes(image_bytes, info, image_size):
  """The preprocessed batch for a [batch] (or [batch, frames]) string input."""
  flat = tf.reshape(image_bytes, [-1])
  images = tf.map_fn(
      model_info.decode_and_preprocess_fn(
          info.preprocessing_name, image_size, info.use_grayscale),
      flat, fn_output_signature=tf.float32)
  channels = 1 if info.use_grayscale else 3
  if info.num_frames:
    return tf.reshape(images, [-1, info.num_frames, image_size, image_size,
                               channels])
  return tf.reshape(images, [-1, image_size, image_size, channels])


def build_serving_graph(info, batch_size=None, top_k=5, quantize=False,
                        precision='float32'):
  """Builds the network with both inputs and the signature outputs.

  Args:
    info: the ModelInfo of the model (network, size, preprocessing,
      labels; multi_label: `probabilities` is a sigmoid per class instead
      of a softmax).
    batch_size: a static batch size, or None for a dynamic one.
    top_k: how many best classes to return.
    quantize: rewrite the graph for a quantization-aware-trained
      checkpoint (`restore.quantize_inference_graph`).
    precision: the network's arithmetic (see `slim.precision`); inputs and
      outputs stay float32.

  Returns:
    (image_bytes, images, outputs): the two inputs and {name: tensor}.

  Raises:
    cli.UserError: with `quantize`, for a network that cannot be quantized.
  """
  bytes_shape = [batch_size, info.num_frames] if info.num_frames else [
      batch_size]
  image_bytes = tf1.placeholder(tf.string, bytes_shape, name='image_bytes')
  images, logits, _ = network.build_inference_graph(
      info.model_name, info.num_classes, image_size=info.image_size,
      batch_size=batch_size, is_video_model=bool(info.num_frames),
      num_frames=info.num_frames, use_grayscale=info.use_grayscale,
      default_input=_images_from_bytes(image_bytes, info, info.image_size),
      precision=precision, quantize=quantize)
  logits = tf.reshape(logits, [-1, info.num_classes])
  probabilities = network.class_probabilities(logits, info.multi_label,
                                              'probabilities')
  top_k_scores, top_k_classes = tf.math.top_k(
      probabilities, min(top_k, info.num_classes), name='top_k')
  labels = tf.constant(info.labels, tf.string, name='labels')
  outputs = {
      'probabilities': probabilities,
      'logits': logits,
      'classes': tf.argmax(logits, 1, name='classes'),
      'top_k_classes': top_k_classes,
      'top_k_scores': top_k_scores,
      'top_k_labels': tf.gather(labels, top_k_classes, name='top_k_labels'),
  }
  return image_bytes, images, outputs


def export_saved_model(model_name, num_classes, checkpoint_path, output_dir,
                       image_size=None, batch_size=None, use_grayscale=False,
                       moving_average_decay=None, preprocessing_name=None,
                       labels=None, labels_offset=0, dataset_name=None,
                       num_frames=None, top_k=5, quantize=False,
                       precision='float32', overwrite=False,
                       before_publish=None, multi_label=False):
  """Writes a serving SavedModel of `model_name` with the checkpoint's weights.

  The SavedModel is written into a temporary folder beside `output_dir` and
  renamed into place when complete, so a killed export leaves no
  `output_dir`; the temporary folders of earlier killed runs are removed
  (`_remove_stale_staging`), and a partial `output_dir` (see
  `_existing_export`) is replaced.

  Args:
    model_name: the network's name.
    num_classes: the classes it predicts (the dataset's less labels_offset).
    checkpoint_path: a checkpoint prefix or a directory (its latest).
    output_dir: the SavedModel folder to create: it must not exist, be
      empty or hold a partial export, or (with `overwrite`) a complete one.
    image_size: the square input size; None uses the network's default.
    batch_size: a static batch size, or None for a dynamic one.
    use_grayscale: one input channel.
    moving_average_decay: export the moving averages kept with this decay.
    preprocessing_name: the eval preprocessing of `serving_default`; None
      uses the network's.
    labels: the num_classes class names; None names them by id.
    labels_offset: recorded in model_info.json.
    dataset_name: recorded in model_info.json.
    num_frames: the clip length of a video network; None for images.
    top_k: how many best classes the signatures return.
    quantize: a quantization-aware-trained checkpoint (the graph gets
      `restore.quantize_inference_graph`'s fake-quant ops).
    precision: the network's arithmetic, 'float32' or mixed 'bfloat16' /
      'float16' (see `slim.precision`).
    overwrite: replace a complete SavedModel export at `output_dir`.
    before_publish: optional fn(staging_dir, info), called with the
      complete SavedModel before it is renamed to `output_dir` (the TFLite
      conversion, so that a kill during it leaves no `output_dir` either).
    multi_label: the network predicts several labels per image: the
      signatures' `probabilities` are the sigmoid of the logits (each
      class's own probability), and model_info.json says
      `"multi_label": true`.

  Returns:
    The ModelInfo written into the SavedModel.

  Raises:
    ValueError: if the checkpoint is missing, unreadable or does not fit
      the network, or `output_dir` holds something else than an export
      (or, without `overwrite`, a complete one).
    cli.UserError: with `quantize`, for a network that cannot be quantized.
  """
  checkpoint_path = slim.variables.resolve_checkpoint_path(checkpoint_path)
  existing = _existing_export(output_dir)
  if existing == 'other':
    raise ValueError(f'--output_dir={output_dir} exists and is not a '
                     'SavedModel export; choose a new folder.')
  if existing == 'complete' and not overwrite:
    raise ValueError(f'--output_dir={output_dir} already holds a '
                     'SavedModel; pass --overwrite to replace it, or choose '
                     'a new folder.')
  slim.variables.check_checkpoint_readable(checkpoint_path)
  if labels is not None and len(labels) != num_classes:
    raise ValueError(f'{len(labels)} labels for {num_classes} classes.')
  spec = NETWORKS[model_name]
  info = model_info.ModelInfo(
      model_name=model_name,
      image_size=image_size or spec.default_image_size,
      preprocessing_name=network.preprocessing_for(model_name,
                                                   preprocessing_name),
      labels=list(labels or [str(i) for i in range(num_classes)]),
      labels_offset=labels_offset, num_frames=num_frames,
      use_grayscale=use_grayscale, dataset_name=dataset_name,
      multi_label=multi_label)
  preprocessing_factory.get_preprocessing_module(info.preprocessing_name)
  tf.io.gfile.makedirs(_parent_dir(output_dir))
  _remove_stale_staging(output_dir)
  staging = _new_staging_name(output_dir)
  try:
    with tf.Graph().as_default() as graph:
      image_bytes, images, outputs = build_serving_graph(
          info, batch_size=batch_size, top_k=top_k, quantize=quantize,
          precision=precision)
      variables = restore.variables_to_restore(moving_average_decay)
      misfit = restore.misfit_message(
          checkpoint_path, variables, f'--checkpoint_path={checkpoint_path}',
          restore.model_advice(model_name, moving_average_decay, quantize))
      if misfit:
        raise ValueError(misfit)
      restore_weights = slim.assign_from_checkpoint_fn(checkpoint_path,
                                                       variables)
      with tf1.Session(graph=graph) as sess:
        sess.run(tf1.global_variables_initializer())
        restore_weights(sess)
        builder = tf1.saved_model.Builder(staging)
        signatures = {
            SERVING_SIGNATURE: tf1.saved_model.predict_signature_def(
                inputs={'image_bytes': image_bytes}, outputs=outputs),
            IMAGES_SIGNATURE: tf1.saved_model.predict_signature_def(
                inputs={'images': images}, outputs=outputs),
        }
        builder.add_meta_graph_and_variables(
            sess, [tf1.saved_model.tag_constants.SERVING],
            signature_def_map=signatures)
        builder.save()
    model_info.write_info(os.path.join(staging, model_info.SAVED_MODEL_INFO),
                          info)
    if before_publish is not None:
      before_publish(staging, info)
    _publish(staging, output_dir)
  finally:
    _remove_tree(staging)
  return info


# What a SavedModel export holds; model_info.json, written last, marks it
# complete.
_EXPORT_ENTRIES = frozenset({'saved_model.pb', 'saved_model.pbtxt',
                             'variables', 'assets', 'assets.extra',
                             'fingerprint.pb'})


def _existing_export(output_dir):
  """What is at `output_dir`: None (nothing, or an empty folder),
  'complete' (a SavedModel export), 'partial' (the files of an export that
  was not finished: a copy cut short where renames are not atomic) or
  'other' (a file, or a folder holding anything else)."""
  if not _lexists(output_dir):
    return None
  if not tf.io.gfile.isdir(output_dir):
    return 'other'
  # (An object store lists a folder's subfolders as 'name/'.)
  entries = {name.rstrip('/') for name in tf.io.gfile.listdir(output_dir)}
  if not entries:
    return None
  if not entries <= _EXPORT_ENTRIES:
    return 'other'
  complete = all(
      tf.io.gfile.exists(os.path.join(output_dir, name))
      for name in ('saved_model.pb', model_info.SAVED_MODEL_INFO))
  return 'complete' if complete else 'partial'


def _lexists(path):
  """Whether anything is at `path` (locally a dangling symlink too)."""
  if fileio.is_local(path):
    return os.path.lexists(path)
  return tf.io.gfile.exists(path)


def _parent_dir(path):
  """The folder holding `path`, local (absolute) or remote (gs://...)."""
  if fileio.is_local(path):
    return os.path.dirname(os.path.abspath(path))
  return path.rstrip('/').rsplit('/', 1)[0]


def _remove_tree(path):
  """Removes the folder `path` if it is there, ignoring errors."""
  if fileio.is_local(path):
    shutil.rmtree(path, ignore_errors=True)
    return
  try:
    if tf.io.gfile.exists(path):
      tf.io.gfile.rmtree(path)
  except tf.errors.OpError:
    pass


def _staging_prefix(output_dir, pid=None):
  """The name prefix of the temporary folders beside `output_dir` that the
  export of process `pid` writes (of any process when None)."""
  name = (os.path.basename(os.path.abspath(output_dir))
          if fileio.is_local(output_dir) else output_dir.rstrip('/')
          .rsplit('/', 1)[-1])
  prefix = f'.{name}.tmp-'
  return prefix if pid is None else f'{prefix}{pid}-'


def _new_staging_name(output_dir):
  """A new, unused name beside `output_dir` for this process's export, not
  created (the SavedModel builder creates the folder itself)."""
  parent = _parent_dir(output_dir)
  prefix = _staging_prefix(output_dir, os.getpid())
  if not fileio.is_local(output_dir):
    return os.path.join(parent, prefix + uuid.uuid4().hex[:8])
  staging = tempfile.mkdtemp(dir=parent, prefix=prefix)
  os.rmdir(staging)
  return staging


def _remove_stale_staging(output_dir):
  """Removes the temporary folders beside `output_dir` left by exports to
  it that were killed (their process is gone).

  On a shared remote filesystem the process ids are those of this machine:
  two machines exporting to one --output_dir at once are not supported.
  """
  parent = _parent_dir(output_dir)
  prefix = _staging_prefix(output_dir)
  for name in tf.io.gfile.listdir(parent):
    name = name.rstrip('/')
    if not name.startswith(prefix):
      continue
    pid = name[len(prefix):].split('-', 1)[0]
    if pid.isdigit() and int(pid) != os.getpid() and run_lock.pid_alive(
        int(pid)):
      continue
    _remove_tree(os.path.join(parent, name))


def _publish(staging, output_dir):
  """Puts the complete export `staging` at `output_dir`, replacing what is
  there (an empty folder, a partial export, or one the caller chose to
  overwrite).

  Locally it is renamed: the old folder is first renamed to a staging name,
  so a kill in between leaves it for `_remove_stale_staging`. Elsewhere
  (gs://, ...) there is no atomic folder rename: see `_publish_remote`.
  """
  if not fileio.is_local(output_dir):
    _publish_remote(staging, output_dir)
  elif os.path.lexists(output_dir):
    old = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(output_dir)),
                           prefix=_staging_prefix(output_dir, os.getpid()))
    os.rmdir(old)
    os.replace(output_dir, old)
    os.replace(staging, output_dir)
    shutil.rmtree(old, ignore_errors=True)
  else:
    os.replace(staging, output_dir)


def _publish_remote(staging, output_dir):
  """Copies the export `staging` to `output_dir` on a filesystem without
  atomic folder renames, model_info.json last: a copy cut short lacks it,
  so it is a 'partial' export (`_existing_export`), never a complete one,
  and the next export replaces it. The old export's model_info.json goes
  first, for the same reason."""
  gfile = tf.io.gfile
  marker = os.path.join(output_dir, model_info.SAVED_MODEL_INFO)
  if gfile.exists(marker):
    gfile.remove(marker)
  _remove_tree(output_dir)
  copies = []
  for root, _, names in gfile.walk(staging):
    relative = root[len(staging):].strip('/')
    for name in names:
      target = os.path.join(output_dir, relative, name)
      if target != marker:
        copies.append((os.path.join(root, name), target))
  copies.append((os.path.join(staging, model_info.SAVED_MODEL_INFO), marker))
  for source, target in copies:
    gfile.makedirs(_parent_dir(target))
    gfile.copy(source, target, overwrite=True)


def first_batch(dataset_name, dataset_dir, split_name, num_images, info):
  """The first `num_images` examples of a split, the images through the
  model's eval preprocessing.

  Returns:
    (images, labels): float32 [n, size, size, channels] and int64 [n]
    arrays (the dataset's labels), n <= num_images.

  Raises:
    ValueError: for a count below 1, or a split without images.
    cli.UserError: for an unknown dataset or split, or no files.
  """
  if num_images < 1:
    raise ValueError(f'--num_calibration_images={num_images} must be at '
                     'least 1.')
  with tf.Graph().as_default():
    on_split = model_on_split.build(
        specs.DataSpec(dataset_name, dataset_dir, split_name),
        specs.ModelSpec(info.model_name,
                        preprocessing_name=info.preprocessing_name,
                        use_grayscale=info.use_grayscale,
                        image_size=info.image_size),
        specs.InputSpec(batch_size=num_images, num_preprocessing_threads=0),
        is_training=False, reading=model_on_split.Reading(iterator=None))
    batch = inputs.iterator_get_next(on_split.batches.take(1))
    with tf1.Session() as sess:
      try:
        return sess.run(batch)
      except tf.errors.DataLossError as e:
        inputs.fail_unreadable(e, on_split.provider.data_files)
      except tf.errors.OutOfRangeError as e:
        raise ValueError(f'--dataset_split_name={split_name} of '
                         f'{dataset_dir} holds no images.') from e


def calibration_images(dataset_name, dataset_dir, split_name, num_images,
                       info):
  """`num_images` images of a split through the model's eval preprocessing
  (`first_batch`'s images): a float32 array [n, size, size, channels]."""
  return first_batch(dataset_name, dataset_dir, split_name, num_images,
                     info)[0]


def check_tflite_options(quantization, input_type, output_type):
  """Fails unless the quantization and the input and output types go
  together (uint8/int8 types need int8 quantization).

  Raises:
    ValueError: naming the flag at fault.
  """
  if quantization not in QUANTIZATIONS:
    raise ValueError(f'--tflite_quantization={quantization}: valid values '
                     f'are {", ".join(QUANTIZATIONS)}.')
  for name, value in (('input', input_type), ('output', output_type)):
    if value not in _TYPES:
      raise ValueError(f'--tflite_{name}_type={value}: valid values are '
                       f'{", ".join(_TYPES)}.')
    if value != 'float32' and quantization != 'int8':
      raise ValueError(f'--tflite_{name}_type={value} needs '
                       '--tflite_quantization=int8.')


def convert_to_tflite(saved_model_dir, tflite_file, quantization='none',
                      calibration=None, input_type='float32',
                      output_type='float32', quantized_checkpoint=False):
  """Converts the float-images signature to TFLite, atomically.

  The TFLite model has one input (`images`, the preprocessed batch) and one
  output (`probabilities`). If the SavedModel carries a model_info.json,
  it is written beside the .tflite as `<tflite_file>.json`, with the
  quantization and the input and output types added.

  Args:
    saved_model_dir: a SavedModel written by `export_saved_model`.
    tflite_file: the .tflite to write.
    quantization: one of QUANTIZATIONS.
    calibration: for int8, a float32 array of preprocessed images whose
      activation ranges it takes (with quantized_checkpoint, only for the
      tensors without fake-quant ranges).
    input_type: 'float32', or 'uint8'/'int8' for an int8 model.
    output_type: 'float32', or 'uint8'/'int8' for an int8 model.
    quantized_checkpoint: the SavedModel holds fake-quant ranges
      (--quantize); int8 keeps them (checked: it must have fake-quant ops).

  Returns:
    {'quantization', 'input', 'output'}: the input's and output's dtype,
    scale and zero point (0.0 and 0 for float); with quantized_checkpoint
    also 'fake_quant_ops', how many ranges came from the checkpoint.

  Raises:
    ValueError: for an unknown quantization, a type that needs int8, int8
      without calibration images, quantized_checkpoint without fake-quant
      ops, or fake-quant ops without int8.
  """
  check_tflite_options(quantization, input_type, output_type)
  if quantization == 'int8' and (calibration is None or not len(calibration)):
    raise ValueError('--tflite_quantization=int8 needs calibration images '
                     '(--dataset_dir, --dataset_split_name)'
                     + (' for the input and the tensors without fake-quant '
                        'ranges' if quantized_checkpoint else '') + '.')
  with _quiet_tensorflow_info():
    fake_quants = fake_quant_ops(saved_model_dir)
  if quantized_checkpoint and not fake_quants:
    raise ValueError(f'{saved_model_dir} has no fake-quant ops: export it '
                     'with --quantize from a checkpoint trained with '
                     'train_image_classifier.py --quantize_delay.')
  if fake_quants and quantization != 'int8':
    raise ValueError(f'{saved_model_dir} is quantization-aware '
                     f'({len(fake_quants)} fake-quant ops): convert it with '
                     '--tflite_quantization=int8.')
  with _quiet_tensorflow_info():
    content = _convert(saved_model_dir, quantization, calibration,
                       input_type, output_type, bool(fake_quants))
  interpreter = classifiers.tflite_interpreter(model_content=content)
  details = {
      'quantization': quantization,
      'input': classifiers.tflite_tensor_record(
          interpreter.get_input_details()[0]),
      'output': classifiers.tflite_tensor_record(
          interpreter.get_output_details()[0])}
  if fake_quants:
    details['fake_quant_ops'] = len(fake_quants)
  info = model_info.read_info(os.path.join(saved_model_dir,
                                           model_info.SAVED_MODEL_INFO))
  fileio.write_atomic(tflite_file, content)
  if info is not None:
    info.tflite = details
    model_info.write_info(model_info.sidecar_path(tflite_file), info)
  return details


@contextlib.contextmanager
def _quiet_tensorflow_info():
  """Hides the converter's INFO lines (it saves and reloads a temporary
  SavedModel, logging each step through TensorFlow's and absl's loggers)."""
  # The loggers' own levels are put back as they were (NOTSET stays
  # NOTSET, inheriting from the root), not their effective levels.
  loggers = [logging.getLogger('tensorflow'), absl_logging.get_absl_logger()]
  levels = [logger.level for logger in loggers]
  for logger in loggers:
    logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
  try:
    yield
  finally:
    for logger, level in zip(loggers, levels):
      logger.setLevel(level)


def fake_quant_ops(saved_model_dir):
  """The names of the FakeQuantWithMinMaxVars ops of a SavedModel's graph."""
  with tf.Graph().as_default() as graph:
    with tf1.Session(graph=graph) as sess:
      tf1.saved_model.loader.load(
          sess, [tf1.saved_model.tag_constants.SERVING], saved_model_dir)
    return [op.name for op in graph.get_operations()
            if op.type.startswith('FakeQuantWithMinMax')]


def _frozen_images_function(saved_model_dir):
  """The float-images signature's probabilities as a frozen function whose
  weights skip their fake quantization.

  contrib.quantize trained per-tensor asymmetric 8-bit weights (for the
  old uint8 TFLite); TFLite's int8 kernels take symmetric weights (zero
  point 0), and the converter keeps some asymmetric FakeQuant weights
  as they are (a FULLY_CONNECTED with zero point -9 computed garbage), so
  it quantizes the trained float weights itself, per channel. The
  activations keep their fake quants, hence the checkpoint's ranges.
  """
  with tf.Graph().as_default() as graph:
    with tf1.Session(graph=graph) as sess:
      meta_graph = tf1.saved_model.loader.load(
          sess, [tf1.saved_model.tag_constants.SERVING], saved_model_dir)
      signature = meta_graph.signature_def[IMAGES_SIGNATURE]
      images = signature.inputs['images'].name
      probabilities = signature.outputs['probabilities'].name
      graph_def = graph.as_graph_def()
      # The images input is a PlaceholderWithDefault whose default decodes
      # image bytes (a map_fn): a plain placeholder cuts that path off, and
      # with it the graph's functions, which would clash with those the
      # SavedModel loaded into this process before.
      for node in graph_def.node:
        if node.name == images.split(':')[0]:
          node.op = 'Placeholder'
          del node.input[:]
      del graph_def.library.function[:]
      graph_def = tf1.graph_util.convert_variables_to_constants(
          sess, graph_def, [probabilities.split(':')[0]])
  weights = {node.name: node.input[0] for node in graph_def.node
             if node.op.startswith('FakeQuantWithMinMax')
             and '/weights_quant/' in node.name}
  weights.update({name + ':0': value for name, value in weights.items()})
  for node in graph_def.node:
    node.input[:] = [weights.get(name, name) for name in node.input]
  graph_def = tf1.graph_util.extract_sub_graph(
      graph_def, [probabilities.split(':')[0]])
  wrapped = tf1.wrap_function(
      lambda: tf1.import_graph_def(graph_def, name=''), [])
  return wrapped.prune(wrapped.graph.get_tensor_by_name(images),
                       wrapped.graph.get_tensor_by_name(probabilities))


def _convert(saved_model_dir, quantization, calibration, input_type,
             output_type, quantized_checkpoint=False):
  """The TFLite flatbuffer of the float-images signature's probabilities.

  A quantization-aware graph (--quantize) goes through the same int8 path
  as post-training quantization: the converter keeps each activation
  FakeQuant's range as that tensor's quantization parameters and
  calibrates only the tensors without one. (Without a representative
  dataset the TF 2.21 converter refuses TFLITE_BUILTINS_INT8, and leaves
  the input and every tensor without a fake quant in float.)
  """
  if quantized_checkpoint:
    loaded = tf.Module()  # The frozen function holds no variables.
    function = _frozen_images_function(saved_model_dir)
  else:
    loaded = tf.saved_model.load(saved_model_dir)
    signature = loaded.signatures[IMAGES_SIGNATURE]
    spec = signature.structured_input_signature[1]['images']

    @tf.function(input_signature=[tf.TensorSpec(spec.shape, tf.float32,
                                                name='images')])
    def probabilities(images):
      return {'probabilities': signature(images=images)['probabilities']}
    function = probabilities.get_concrete_function()

  converter = tf.lite.TFLiteConverter.from_concrete_functions([function],
                                                              loaded)
  if quantization != 'none':
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if quantization == 'float16':
    converter.target_spec.supported_types = [tf.float16]
  elif quantization == 'int8':
    samples = np.asarray(calibration, np.float32)
    converter.representative_dataset = lambda: ([s[None]] for s in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = _TYPES[input_type]
    converter.inference_output_type = _TYPES[output_type]
  return converter.convert()


def describe_tensor(name, record):
  """'input images: uint8, scale 0.0078..., zero point 127 (...)'."""
  if record['dtype'].startswith('float'):
    return f'{name}: {record["dtype"]}'
  return (f'{name}: {record["dtype"]}, scale {record["scale"]:.9g}, zero '
          f'point {record["zero_point"]} (real = scale * (q - zero point))')


def main(argv):
  cli.check_no_arguments(argv)
  for name in ('checkpoint_path', 'output_dir'):
    if not FLAGS[name].value:
      cli.fail(f'--{name} must be set.')
  network.check_model_name(FLAGS.model_name)
  is_video = FLAGS.is_video_model or NETWORKS[FLAGS.model_name].is_video
  if is_video and not FLAGS.num_frames:
    cli.fail(f'--model_name={FLAGS.model_name} is a video model: pass '
             '--num_frames (and --is_video_model).')
  quantization = FLAGS.tflite_quantization
  if FLAGS.tflite_file and FLAGS.precision != 'float32':
    cli.fail(f'--precision={FLAGS.precision} exports a mixed-precision '
             'SavedModel; TFLite takes the float32 graph (leave --precision '
             'out, and use --tflite_quantization=float16 for a half-size '
             'model).')
  if FLAGS.tflite_file:
    with cli.user_input():
      check_tflite_options(quantization, FLAGS.tflite_input_type,
                           FLAGS.tflite_output_type)
    if FLAGS.quantize and quantization != 'int8':
      cli.fail('--quantize exports a quantization-aware checkpoint: use '
               '--tflite_quantization=int8 with --tflite_file.')
    if quantization == 'int8' and is_video:
      cli.fail('--tflite_quantization=int8 calibrates on images; video '
               'models cannot be converted to int8.')
    if quantization == 'int8' and not FLAGS.dataset_dir:
      cli.fail('--tflite_quantization=int8 calibrates '
               + ('the input and the tensors without fake-quant ranges '
                  if FLAGS.quantize else '')
               + 'on --dataset_dir (and --dataset_split_name): pass it.')
  _check_outputs_writable(FLAGS.output_dir, FLAGS.tflite_file)
  with cli.user_input():
    num_classes = network.dataset_num_classes(
        FLAGS.dataset_name, FLAGS.dataset_dir) - FLAGS.labels_offset
    labels = model_info.class_names(FLAGS.dataset_name, FLAGS.dataset_dir,
                                    num_classes, FLAGS.labels_offset)
    multi_label = network.is_multi_label(FLAGS.dataset_name,
                                         FLAGS.dataset_dir)
  report = []
  with cli.user_input():
    info = export_saved_model(
        FLAGS.model_name, num_classes, FLAGS.checkpoint_path,
        FLAGS.output_dir, image_size=FLAGS.image_size,
        batch_size=FLAGS.batch_size, use_grayscale=FLAGS.use_grayscale,
        moving_average_decay=FLAGS.moving_average_decay,
        preprocessing_name=FLAGS.preprocessing_name, labels=labels,
        labels_offset=FLAGS.labels_offset, dataset_name=FLAGS.dataset_name,
        num_frames=FLAGS.num_frames if is_video else None, top_k=FLAGS.top_k,
        quantize=FLAGS.quantize, precision=FLAGS.precision,
        overwrite=FLAGS.overwrite, multi_label=multi_label,
        before_publish=(lambda staging, info: report.extend(
            _write_tflite(staging, info))) if FLAGS.tflite_file else None)
  print(f'Wrote SavedModel {FLAGS.output_dir} ({info.model_name}, '
        f'{info.image_size}x{info.image_size}, {info.num_classes} classes, '
        f'preprocessing {info.preprocessing_name}'
        + ('; multi-label: probabilities are a sigmoid per class'
           if info.multi_label else '') + ').')
  for line in report:
    print(line)


def _check_outputs_writable(output_dir, tflite_file):
  """Fails with one line unless the export's folders can be written."""
  cli.ensure_writable_dir(_parent_dir(output_dir), '--output_dir')
  if tflite_file:
    cli.check_output_file(tflite_file, '--tflite_file')


def _write_tflite(saved_model_dir, info):
  """Converts the SavedModel for --tflite_file (calibrating an int8
  model); returns the lines that report it."""
  quantization = FLAGS.tflite_quantization
  lines = []
  calibration = None
  if quantization == 'int8':
    with cli.user_input('calibration'):
      calibration = calibration_images(
          FLAGS.dataset_name, FLAGS.dataset_dir, FLAGS.dataset_split_name,
          FLAGS.num_calibration_images, info)
    lines.append(f'Calibrated on {len(calibration)} images of '
                 f'{FLAGS.dataset_split_name}'
                 + (' (the tensors without fake-quant ranges; the quantized '
                    'layers keep the checkpoint\'s)' if FLAGS.quantize
                    else '') + '.')
  try:
    details = convert_to_tflite(
        saved_model_dir, FLAGS.tflite_file, quantization=quantization,
        calibration=calibration, input_type=FLAGS.tflite_input_type,
        output_type=FLAGS.tflite_output_type,
        quantized_checkpoint=FLAGS.quantize)
  except ValueError as e:  # Named as the user knows it, not the staging.
    raise ValueError(str(e).replace(saved_model_dir, FLAGS.output_dir)) from e
  lines.append(f'Wrote TFLite model {FLAGS.tflite_file} ({quantization}, '
               f'{tf.io.gfile.stat(FLAGS.tflite_file).length:,} bytes) and '
               f'{model_info.sidecar_path(FLAGS.tflite_file)}.')
  lines.append('  ' + describe_tensor('input images', details['input']))
  lines.append('  ' + describe_tensor('output probabilities',
                                      details['output']))
  return lines


if __name__ == '__main__':
  cli.run(main)
