r"""Downloads and converts a dataset to TFRecords of TF-Examples.

Usage (runtime on 2 CPU cores, network aside):

  # The embedded dataset: no network, about 5 seconds, 3,000 images.
  python download_and_convert_data.py --dataset_name=shapes --dataset_dir=/tmp/shapes

  # The original datasets (same files and layouts as the original converters).
  python download_and_convert_data.py --dataset_name=flowers --dataset_dir=/tmp/flowers
  python download_and_convert_data.py --dataset_name=cifar10 --dataset_dir=/tmp/cifar10
  python download_and_convert_data.py --dataset_name=mnist --dataset_dir=/tmp/mnist

  # Your own images: one subfolder per class.
  python download_and_convert_data.py --dataset_name=custom \
      --source_dir=$HOME/photos --dataset_dir=/tmp/photos

  # Your own images with several labels each: a CSV "filename,labels".
  python download_and_convert_data.py --dataset_name=custom \
      --source_csv=$HOME/photos/labels.csv --dataset_dir=/tmp/photos_multi

  # The embedded multi-label demo: 1 to 3 shapes per image, no network.
  python download_and_convert_data.py --dataset_name=shapes_multi \
      --dataset_dir=/tmp/shapes_multi

  # ImageNet from your local ILSVRC2012 archives (no bazel needed).
  python download_and_convert_data.py --dataset_name=imagenet \
      --dataset_dir=/data/imagenet \
      --imagenet_train_tar=ILSVRC2012_img_train.tar \
      --imagenet_val_tar=ILSVRC2012_img_val.tar \
      --imagenet_val_labels=imagenet_2012_validation_synset_labels.txt \
      --imagenet_bbox=ILSVRC2012_bbox_train_v2.tar.gz \
      --imagenet_metadata=imagenet_metadata.txt

--dataset_dir may be on any filesystem tf.io.gfile knows (gs://bucket/...,
s3:// and hdfs:// with their plugin): archives are downloaded and extracted
in a local --scratch_dir, and only the records go to --dataset_dir. There,
without atomic renames, each shard is written whole under its final name and
labels.txt / dataset_meta.json last, so a conversion cut short is never
taken for a finished one.

Downloads resume after an interruption, are checked against their SHA-256
(`--noverify_checksums` to skip) and can come from `--mirror`. A finished
conversion is detected and not redone; rerunning after a crash resumes or
redoes only what is missing. A user error (a full disk and an unwritable
--dataset_dir included) ends with one line on stderr and exit status 2; an
interrupted run (Ctrl-C, SIGTERM) with one line saying to rerun the same
command, and exit status 128 + the signal.
"""
from absl import flags

# Only the record, which names modules: converters are imported when used, so
# `--help` stays instant, and the worker processes that converters spawn,
# which re-import this script, stay light.
from datasets import image_coding
from datasets import registry
from datasets.errors import DatasetError
from image_classifier import cli

FLAGS = flags.FLAGS

# ----------------------------------------------------------------- upstream
flags.DEFINE_string(
    'dataset_name', None,
    'The name of the dataset to convert, one of: %s.' % ', '.join(
        registry.NAMES))
flags.DEFINE_string(
    'dataset_dir', None,
    'The directory where the output TFRecords and temporary files are saved.')
flags.DEFINE_float(
    'small_object_area_threshold', 0.005,
    'visualwakewords: objects whose area is smaller than this fraction of the '
    'image area are ignored when labelling.')
flags.DEFINE_string(
    'foreground_class_of_interest', 'person',
    'visualwakewords: the COCO class whose presence makes the positive label.')

# ---------------------------------------------------------------- downloads
flags.DEFINE_string(
    'mirror', None,
    'URL prefix that replaces everything before the file name in each '
    'download URL, e.g. http://mirror.example.com/datasets/.')
flags.DEFINE_boolean(
    'verify_checksums', True,
    'Check each download against its known SHA-256 (--noverify_checksums to '
    'skip, with a warning).')
flags.DEFINE_string(
    'scratch_dir', None,
    'Local folder that receives the downloaded archives and their extracted '
    'files, when --dataset_dir is elsewhere (gs://, s3://, ...); only the '
    'records go to --dataset_dir. Default: --dataset_dir if it is local, '
    'else <temp dir>/slim_downloads (kept, so a download resumes).')
flags.DEFINE_integer(
    'download_retries', 4,
    'How many times a failed download is retried (resuming, with '
    'exponential backoff from 1 s) before giving up.')

# --------------------------------------------------------------- conversion
flags.DEFINE_string(
    'source_dir', None,
    'custom: folder with one subfolder of images per class.')
flags.DEFINE_string(
    'source_csv', None,
    'custom, multi-label: a CSV file with the header "filename,labels", one '
    'row per image: its path (relative to the CSV\'s folder, or absolute) '
    'and its class names separated by spaces (none is allowed). Instead of '
    '--source_dir.')
flags.DEFINE_string(
    'labels_file', None,
    'custom with --source_csv: a fixed list of class names, one a line in id '
    'order (or labels.txt\'s "N:name" lines); a class name in the CSV that '
    'it lacks is an error. Default: the sorted names found in the CSV.')
flags.DEFINE_float(
    'validation_fraction', 0.1,
    'custom: share of each class put in the validation split, in [0, 1).')
flags.DEFINE_integer(
    'num_shards', None,
    'custom, shapes and shapes_multi: number of training shards (default: '
    'custom one per 1000 images, shapes 2); validation gets a proportional '
    'number.')
flags.DEFINE_integer(
    'seed', None,
    'Seed of the shuffles and splits (default: the dataset\'s own: flowers 0 '
    'as the original, imagenet 12345 as the original, custom and shapes 0). '
    'The same seed gives identical files.')
flags.DEFINE_integer(
    'max_image_pixels', image_coding.DEFAULT_MAX_IMAGE_PIXELS,
    'custom: images whose header gives more pixels (width * height) are '
    'skipped and listed, never decoded (default: Pillow\'s limit).')
flags.DEFINE_integer(
    'min_image_side', image_coding.DEFAULT_MIN_IMAGE_SIDE,
    'custom: images narrower or lower than this many pixels are skipped and '
    'listed.')
flags.DEFINE_integer(
    'num_workers', None,
    'Worker processes for image encoding (default: automatic; 0 or 1: none). '
    'The output does not depend on it.')

# ----------------------------------------------------------------- imagenet
flags.DEFINE_string(
    'imagenet_train_tar', None,
    'imagenet: ILSVRC2012_img_train.tar (a tar of per-synset tars) or a '
    'folder of <synset>/*.JPEG.')
flags.DEFINE_string(
    'imagenet_val_tar', None,
    'imagenet: ILSVRC2012_img_val.tar or a folder of its JPEG files.')
flags.DEFINE_string(
    'imagenet_val_labels', None,
    'imagenet: validation ground truth, one synset a line in image order '
    '(imagenet_2012_validation_synset_labels.txt).')
flags.DEFINE_string(
    'imagenet_bbox', None,
    'imagenet: comma-separated bounding-box sources: ILSVRC2012_bbox_*.tar.gz '
    'or folders of PASCAL VOC XML files, or CSV files as written by the '
    'original process_bounding_boxes.py.')
flags.DEFINE_string(
    'imagenet_metadata', None,
    'imagenet: synset to human-readable text, one "<synset> <text>" a line '
    '(imagenet_metadata.txt or LOC_synset_mapping.txt).')
flags.DEFINE_integer('imagenet_train_shards', 1024,
                     'imagenet: number of training shards.')
flags.DEFINE_integer('imagenet_validation_shards', 128,
                     'imagenet: number of validation shards.')

# ---------------------------------------------------------- visualwakewords
flags.DEFINE_string(
    'coco_dir', None,
    'visualwakewords: local COCO 2014 copy with train2014/, val2014/ and '
    'annotations/instances_{train,val}2014.json.')


def convert(values):
  """Runs the conversion described by the flag values.

  Args:
    values: dict flag name -> value (see the flags above).

  Raises:
    DatasetError: a user error.
  """
  dataset_name = values['dataset_name']
  names = ', '.join(registry.NAMES)
  if not dataset_name:
    raise DatasetError(f'--dataset_name is required; valid names: {names}')
  record = registry.get_record(dataset_name)
  if record is None:
    raise DatasetError(f'unknown --dataset_name={dataset_name!r}; valid '
                       f'names: {names}')
  if not values['dataset_dir']:
    raise DatasetError('You must supply the dataset directory with '
                       '--dataset_dir')
  arguments = record.converter_arguments(values)
  # TensorFlow's start-up notices would bury the one-line errors and
  # summaries; imported here, not at the top, so that --help and the
  # converters' worker processes stay light.
  from image_classifier import tf_env  # pylint: disable=g-import-not-at-top,unused-import
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  # Through tf.io.gfile: --dataset_dir may be gs://, s3://, ...
  if tf.io.gfile.exists(values['dataset_dir']) and not tf.io.gfile.isdir(
      values['dataset_dir']):
    raise DatasetError(f'--dataset_dir={values["dataset_dir"]} is a file; '
                       'pass the folder to write the dataset into.')
  record.converter().run(**arguments)


def main(argv):
  cli.check_no_arguments(argv)
  convert(FLAGS.flag_values_dict())


if __name__ == '__main__':
  cli.run(main, extra_user_errors=(DatasetError,),
          output_flag='--dataset_dir', resumable=True)
