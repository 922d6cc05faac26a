"""Classifies image files with a trained or exported model.

    python classify_images.py --model=/tmp/slim-demo/cifarnet_int8.tflite \\
      --images=/tmp/slim-demo/samples --top_k=3 --output=/tmp/preds.csv

--model is a SavedModel folder or a .tflite file written by
tools/export_saved_model.py (they carry their network, image size,
preprocessing and class names, so --model and --images suffice), any
other TFLite image classifier, a frozen GraphDef, or a checkpoint (a
prefix or a train_dir) with --model_name and the dataset flags that give
its class count and names (and --quantize for one trained with
--quantize_delay, to classify with its 8-bit graph):

    python classify_images.py --model=/tmp/slim-demo/train \\
      --model_name=cifarnet --preprocessing_name=lenet \\
      --dataset_name=shapes --dataset_dir=/tmp/slim-demo/shapes \\
      --images='/tmp/slim-demo/samples/*.png'

A .tflite without the `<file>.json` record that export writes beside it,
such as a published quantized MobileNet, is read from its own tensors:

    python classify_images.py --model=mobilenet_v1_1.0_224_quant.tflite \\
      --labels=labels.txt --images=photos/

Each image is resized bilinearly (as Pillow does) to the input's height and
width; a uint8 input takes the 0-255 pixels as they are (an int8 one the
pixels - 128), its own scale and zero point saying what they mean; a
float32 input takes (x - --input_mean) / --input_std, by default
(x - 127.5) / 127.5 as the published float MobileNets do. The output is
dequantized and taken as the scores it is (published models end in a
softmax; none is added). --labels names the classes, line i class i (the
published ImageNet labels.txt: 1001 lines, `background` first; slim
`N:name` lines too); without it the class ids are the labels. With
--model_name such a file is taken as an export whose record is missing.

--images is a file, a folder (searched recursively for .jpg, .jpeg, .png,
.gif, .bmp and .webp files) or a glob, on the local disk or any filesystem
tf.io.gfile reads (gs://..., s3://... with its plugin); --model and --output
too. Each image is decoded and goes through the
model's eval preprocessing, then batches of --batch_size go through the
model, with a progress bar. --output=preds.csv writes `image,rank,label,
score`, one row per image and rank; --output=preds.json a list of images
with their --top_k labels; without --output the predictions are printed.
A multi-label model (exported from a dataset with several labels per image;
its record says `"multi_label": true`, a frozen graph ends in a Sigmoid)
scores each class on its own. --threshold=0.5 then writes every label
scoring >= 0.5 (best first; at most --top_k if given): the CSV as
`image,label,score`, one row per label (an image with none has no row), the
JSON each image's `labels` list. Without --threshold it is ranked as above.
Images that cannot be read are listed on stderr and skipped, as are, before
they are decoded, images whose header gives more than --max_image_pixels
pixels (default: Pillow's limit, about 89.5 million).
"""
import csv
import glob
import io
import json
import os
import sys

from absl import flags

from datasets import image_coding
from image_classifier import cli
from flag_groups import common_flags
from image_classifier import fileio
from tools import labels_file

# ------------------------------------------------------------ what to run
flags.DEFINE_string('model', None, 'A SavedModel folder, a .tflite file, a '
                    'frozen GraphDef or a checkpoint (prefix or train_dir).')
flags.DEFINE_string('images', None, 'An image file, a folder (searched '
                    'recursively) or a glob.')
flags.DEFINE_integer('top_k', 5, 'How many best labels per image.')
flags.DEFINE_string('output', None, 'Write the predictions to this .csv '
                    '(image,rank,label,score; with --threshold '
                    'image,label,score) or .json; default: print.')
flags.DEFINE_float('threshold', None, 'For a multi-label model (several '
                   'labels per image): every label whose probability is >= '
                   'this, per image (at most --top_k if it is given).')
flags.DEFINE_integer('batch_size', 32, 'Images per forward pass.')
flags.DEFINE_integer('max_image_pixels',
                     image_coding.DEFAULT_MAX_IMAGE_PIXELS,
                     'Images whose header gives more pixels (width * height) '
                     'are skipped before decoding.')
flags.DEFINE_string('labels', None, 'A labels file, one class name a line, '
                    'line i naming class i (the published labels.txt, '
                    'background first) or slim N:name lines; replaces the '
                    'model\'s class names. Default: the model\'s, or the '
                    'class ids.')
flags.DEFINE_float('input_mean', None, 'For a float .tflite without its '
                   '.json record: subtracted from each 0-255 pixel value. '
                   'Default 127.5. Not used for uint8/int8 inputs: they '
                   'take the pixels as they are (int8: pixels - 128).')
flags.DEFINE_float('input_std', None, 'For a float .tflite without its '
                   '.json record: pixel values are then divided by this. '
                   'Default 127.5. Not used for uint8/int8 inputs.')
flags.DEFINE_bool('progress_bar', True, 'Show a progress bar over images '
                  'when stderr is a terminal.')
# ------------------------------------- for checkpoints and bare GraphDefs
# (--model_name: the network of a checkpoint, or of a frozen graph without
# its .json record; --image_size: None uses the frozen graph's, else the
# network's default.)
common_flags.define_model_flags(__name__, model_name=None)
common_flags.define_dataset_flags(__name__, dataset_name=None)
common_flags.define_image_size_flag(__name__)

FLAGS = flags.FLAGS

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp')
OUTPUT_FORMATS = ('.csv', '.json')


class _LocalFiles:
  """Listing on the local disk, without TensorFlow (it loads only once the
  images have been screened): Python's glob, with `**` recursive."""
  isfile = staticmethod(os.path.isfile)
  isdir = staticmethod(os.path.isdir)
  walk = staticmethod(os.walk)

  @staticmethod
  def glob(pattern):
    return glob.glob(pattern, recursive=True)


class _RemoteFiles:
  """Listing on a filesystem of tf.io.gfile (gs://, s3://, ...): its glob
  has no recursive `**`."""

  def __init__(self):
    gfile = fileio.gfile()
    self.isdir = gfile.isdir
    self.walk = gfile.walk
    self.glob = gfile.glob
    self.isfile = lambda path: gfile.exists(path) and not gfile.isdir(path)


def list_images(pattern):
  """The image files `pattern` names, sorted.

  Args:
    pattern: a file (taken whatever its extension), a folder (its image
      files, recursively) or a glob (the files it matches).

  Returns:
    A list of paths.

  Raises:
    ValueError: if nothing exists there or the folder or glob holds no
      image file.
  """
  files = _LocalFiles if fileio.is_local(pattern) else _RemoteFiles()
  if files.isfile(pattern):
    return [pattern]
  if files.isdir(pattern):
    paths = sorted(
        os.path.join(root, name)
        for root, _, names in files.walk(pattern) for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
      raise ValueError(f'--images={pattern} is a folder with no image files '
                       f'({", ".join(IMAGE_EXTENSIONS)}).')
    return paths
  if not glob.has_magic(pattern):
    raise ValueError(f'--images={pattern} does not exist.')
  paths = sorted(p for p in files.glob(pattern) if files.isfile(p))
  if not paths:
    raise ValueError(f'--images={pattern} matches no file.')
  return paths


def screen_images(paths, max_pixels):
  """Splits `paths` into the image files worth decoding and the others.

  Runs before TensorFlow is loaded: a file that is not a regular file, or
  whose header gives more than `max_pixels` pixels, is refused from its
  header alone, so a lone hostile image costs neither TensorFlow's start
  nor the memory of its pixels.

  Returns:
    (usable paths, [(path, why)]), each in the order of `paths`.
  """
  usable, refused = [], []
  for path in paths:
    try:
      image_coding.check_image_header(image_coding.read_regular_file(path),
                                      max_pixels)
      usable.append(path)
    except image_coding.UnusableImage as e:
      refused.append((path, str(e)))
  return usable, refused


def csv_text(predictions):
  """`image,rank,label,score`, one row per image and rank."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(['image', 'rank', 'label', 'score'])
  for path, best in predictions:
    for rank, (_, label, score) in enumerate(best, 1):
      writer.writerow([path, rank, label, f'{score:.6f}'])
  return out.getvalue()


def threshold_csv_text(predictions):
  """`image,label,score`, one row per image and label over the threshold."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(['image', 'label', 'score'])
  for path, chosen in predictions:
    for _, label, score in chosen:
      writer.writerow([path, label, f'{score:.6f}'])
  return out.getvalue()


def threshold_json_value(predictions, unreadable, model, threshold):
  """The JSON record of a multi-label model's labels over the threshold."""
  return {
      'model': model,
      'threshold': threshold,
      'predictions': [
          {'image': path,
           'labels': [{'class_id': class_id, 'label': label, 'score': score}
                      for class_id, label, score in chosen]}
          for path, chosen in predictions],
      'unreadable': [{'image': path, 'error': why}
                     for path, why in unreadable],
  }


def output_text(output, predictions, unreadable, model, threshold=None):
  """What --output holds: CSV or JSON, as its extension says."""
  as_json = output.lower().endswith('.json')
  if threshold is None:
    if as_json:
      return json.dumps(json_value(predictions, unreadable, model),
                        indent=2) + '\n'
    return csv_text(predictions)
  if as_json:
    return json.dumps(threshold_json_value(predictions, unreadable, model,
                                           threshold), indent=2) + '\n'
  return threshold_csv_text(predictions)


def check_threshold(threshold, info, model):
  """Fails unless --threshold is unset, or in [0, 1] for a multi-label
  model (a softmax's scores share one unit of probability: a threshold
  over them says little about each label)."""
  if threshold is None:
    return
  if not 0 <= threshold <= 1:
    cli.fail(f'--threshold={threshold} must be a probability, between 0 '
             'and 1.')
  if not info.multi_label:
    cli.fail(f'--threshold is for multi-label models; --model={model} '
             'predicts one label per image (a softmax): use --top_k.')


def json_value(predictions, unreadable, model):
  """The JSON record: the model, each image's best labels, the skipped."""
  return {
      'model': model,
      'predictions': [
          {'image': path,
           'top_k': [{'rank': rank, 'class_id': class_id, 'label': label,
                      'score': score}
                     for rank, (class_id, label, score) in enumerate(best, 1)]}
          for path, best in predictions],
      'unreadable': [{'image': path, 'error': why}
                     for path, why in unreadable],
  }


def preprocessing_summary(info):
  """How the images were prepared: the preprocessing's name, or for a
  model without a record, the scaling of its pixels."""
  scaling = info.pixel_preprocessing
  if not scaling:
    return info.preprocessing_name
  record = info.tflite['input']
  if record['dtype'] == 'float32':
    return f'(x - {scaling["mean"]:g}) / {scaling["std"]:g}'
  pixels = f'pixels{" - 128" if record["dtype"] == "int8" else ""} as ' + (
      record['dtype'])
  if not record['scale']:
    return pixels
  return (f'{pixels}, scale {record["scale"]:.9g}, zero point '
          f'{record["zero_point"]}')


def load_classifier(model, values):
  """The classifier of --model, the flags saying what a model without its
  record (a checkpoint, a bare frozen graph or .tflite) does not.

  Imports TensorFlow: call it once the images have been screened.

  Args:
    model: the --model path.
    values: the script's flag values.

  Returns:
    A tools.classifiers.Classifier.

  Raises:
    ValueError: for a model that cannot be loaded (see
      `classifiers.load`).
  """
  # The tf_env import first hides TensorFlow's start-up banners.
  from image_classifier import tf_env  # pylint: disable=g-import-not-at-top,unused-import
  from tools import classifiers  # pylint: disable=g-import-not-at-top
  return classifiers.load(
      model, common_flags.model_spec(values, image_size=values.image_size),
      common_flags.data_spec(values),
      classifiers.PixelScaling(values.input_mean, values.input_std))


def _top_k():
  """How many labels per image: --top_k, unless --threshold chooses them
  and --top_k was not given (then all over the threshold)."""
  if FLAGS.threshold is not None and not FLAGS['top_k'].present:
    return None
  return FLAGS.top_k


def main(argv):
  cli.check_no_arguments(argv)
  for name in ('model', 'images'):
    if not FLAGS[name].value:
      cli.fail(f'--{name} must be set.')
  if FLAGS.top_k < 1 or FLAGS.batch_size < 1:
    cli.fail(f'--top_k={FLAGS.top_k} and --batch_size={FLAGS.batch_size} '
             'must be at least 1.')
  output = FLAGS.output
  if output and not output.lower().endswith(OUTPUT_FORMATS):
    cli.fail(f'--output={output}: the file must end in '
             f'{" or ".join(OUTPUT_FORMATS)}.')
  with cli.user_input():
    paths = list_images(FLAGS.images)
    labels = labels_file.read_labels(FLAGS.labels) if FLAGS.labels else None
  usable, refused = screen_images(paths, FLAGS.max_image_pixels)
  if not usable and len(paths) == 1:
    cli.fail(f'cannot classify {refused[0][0]}: {refused[0][1]}.')
  # TensorFlow loads only now.
  with cli.user_input():
    classifier = load_classifier(FLAGS.model, FLAGS)
  from tools import classify_files  # pylint: disable=g-import-not-at-top
  info = classifier.info
  try:
    if info.num_frames:
      cli.fail(f'--model={FLAGS.model} is a video model ({info.model_name}); '
               'classify_images.py classifies images.')
    check_threshold(FLAGS.threshold, info, FLAGS.model)
    if labels is not None:
      with cli.user_input():
        info.labels = labels_file.class_labels(labels, info.num_classes,
                                               FLAGS.labels)
    predictions, unreadable = classify_files.classify(
        classifier, usable, top_k=_top_k(), batch_size=FLAGS.batch_size,
        progress_bar=FLAGS.progress_bar,
        max_image_pixels=FLAGS.max_image_pixels, threshold=FLAGS.threshold)
  finally:
    classifier.close()
  order = {path: i for i, path in enumerate(paths)}
  unreadable = sorted(refused + unreadable, key=lambda item: order[item[0]])
  if not predictions and len(paths) == 1:
    cli.fail(f'cannot classify {unreadable[0][0]}: '
             f'{unreadable[0][1]}.')
  for path, why in unreadable:
    print(f'skipped unreadable image {path}: {why}', file=sys.stderr)
  if not predictions:
    cli.fail(f'--images={FLAGS.images}: none of the {len(paths)} files is a '
             'readable image.')
  if output:
    text = output_text(output, predictions, unreadable, FLAGS.model,
                       FLAGS.threshold)
    with cli.user_input('--output'):
      try:
        fileio.write_atomic(output, text)
      except OSError as e:
        raise ValueError(f'cannot write {output}: {e.strerror or e}.') from e
  else:
    for path, best in predictions:
      print(path + ': ' + (', '.join(f'{label} {score:.5f}'
                                     for _, label, score in best)
                           or f'no label scores >= {FLAGS.threshold:g}'))
  height, width = info.input_size
  print(f'Classified {len(predictions)} images with '
        f'{info.model_name or os.path.basename(FLAGS.model)} '
        f'({classifier.format}, {height}x{width}, preprocessing '
        f'{preprocessing_summary(info)})'
        + (f'; skipped {len(unreadable)} unreadable' if unreadable else '')
        + (f'; wrote {output}' if output else '') + '.')


if __name__ == '__main__':
  cli.run(main)
