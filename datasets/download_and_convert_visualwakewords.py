"""Builds the Visual Wake Words dataset (person / not person) from COCO 2014.

  python download_and_convert_data.py --dataset_name=visualwakewords \\
      --dataset_dir=/tmp/vww --coco_dir=/data/coco2014

As the original converter: every COCO 2014 image is labelled 1 when it holds
an object of `--foreground_class_of_interest` (default person) covering more
than `--small_object_area_threshold` (default 0.005) of the image, else 0.
Output: `train.record-0NNNN-of-00100` (train2014, 82,783 images) and
`val.record-0000N-of-00010` (val2014, 40,504), images assigned to shards
round-robin in annotation order, with the original keys: image/encoded (the
COCO JPEG), image/format (b'jpeg'), image/class/label, image/height,
image/width, image/filename, image/source_id, image/key/sha256,
image/object/bbox/{xmin,xmax,ymin,ymax} and image/object/area of the kept
objects; labels.txt (0:background, 1:<class>) is written last.

The COCO annotation JSON files are read directly (no pycocotools). COCO is
read from a local copy, `--coco_dir` (default `<dataset_dir>/coco_dataset`,
the original's download location), laid out as
`train2014/*.jpg`, `val2014/*.jpg` and `annotations/instances_{train,val}2014.json`.
"""
import collections
import json
import os

from absl import logging
import tensorflow as tf

from datasets import dataset_utils
from datasets import image_coding
from datasets import tfrecord_writer
from datasets.errors import DatasetError

TRAIN_SHARDS = 100
VAL_SHARDS = 10
# split name -> (image folder, annotation file) inside the COCO folder.
_SPLITS = {
    'train': ('train2014', os.path.join('annotations',
                                        'instances_train2014.json')),
    'val': ('val2014', os.path.join('annotations', 'instances_val2014.json')),
}


def output_filenames(dataset_dir, split_name, num_shards):
  """Returns the shard paths `<split>.record-0000N-of-0000M` of a split."""
  return ['%s-%05d-of-%05d' % (os.path.join(dataset_dir, split_name +
                                            '.record'), shard, num_shards)
          for shard in range(num_shards)]


def _load_annotations(path):
  if not os.path.isfile(path):
    raise DatasetError(
        'the COCO annotation file %s does not exist; pass --coco_dir=DIR with '
        'DIR/annotations/instances_{train,val}2014.json and the image folders '
        'DIR/train2014 and DIR/val2014' % path)
  try:
    with open(path, encoding='utf-8') as f:
      return json.load(f)
  except ValueError as e:
    raise DatasetError('%s is not valid JSON (%s)' % (path, e)) from None


def label_images(groundtruth, small_object_area_threshold,
                 foreground_class_of_interest):
  """Returns [(image, label, kept objects)] in annotation order.

  Args:
    groundtruth: a parsed COCO instances JSON.
    small_object_area_threshold: objects whose area is at most this fraction
      of the image area are ignored.
    foreground_class_of_interest: the COCO category name of label 1.

  Returns:
    A list of (image dict, 0 or 1, list of annotation dicts).

  Raises:
    DatasetError: the category does not exist in the annotations.
  """
  names = {c['name']: c['id'] for c in groundtruth['categories']}
  if foreground_class_of_interest not in names:
    raise DatasetError(
        '--foreground_class_of_interest=%r is not a COCO category; valid: %s'
        % (foreground_class_of_interest, ', '.join(sorted(names))))
  class_id = names[foreground_class_of_interest]
  objects_by_image = collections.defaultdict(list)
  for annotation in groundtruth['annotations']:
    objects_by_image[annotation['image_id']].append(annotation)
  labelled = []
  for image in groundtruth['images']:
    image_area = image['height'] * image['width']
    objects = [a for a in objects_by_image[image['id']]
               if int(a['category_id']) == class_id and
               a['area'] / image_area > small_object_area_threshold]
    labelled.append((image, 1 if objects else 0, objects))
  return labelled


def _make_example(result):
  encoded, key, (image, label, objects) = result
  width, height = image['width'], image['height']
  boxes = [tuple(obj['bbox']) for obj in objects]
  feature = {
      'image/height': dataset_utils.int64_feature(height),
      'image/width': dataset_utils.int64_feature(width),
      'image/filename': dataset_utils.bytes_feature(image['file_name']),
      'image/source_id': dataset_utils.bytes_feature(str(image['id'])),
      'image/key/sha256': dataset_utils.bytes_feature(key),
      'image/encoded': dataset_utils.bytes_feature(encoded),
      'image/format': dataset_utils.bytes_feature(b'jpeg'),
      'image/class/label': dataset_utils.int64_feature(label),
      'image/object/bbox/xmin': dataset_utils.float_list_feature(
          [float(x) / width for x, _, _, _ in boxes]),
      'image/object/bbox/xmax': dataset_utils.float_list_feature(
          [float(x + w) / width for x, _, w, _ in boxes]),
      'image/object/bbox/ymin': dataset_utils.float_list_feature(
          [float(y) / height for _, y, _, _ in boxes]),
      'image/object/bbox/ymax': dataset_utils.float_list_feature(
          [float(y + h) / height for _, y, _, h in boxes]),
      'image/object/area': dataset_utils.float_list_feature(
          [float(obj['area']) for obj in objects]),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature))


def _finished(dataset_dir, shards):
  return dataset_utils.conversion_finished(
      dataset_dir, [path for split, count in shards.items()
                    for path in output_filenames(dataset_dir, split, count)])


def run(dataset_dir, coco_dir=None, small_object_area_threshold=0.005,
        foreground_class_of_interest='person', num_workers=None,
        train_shards=TRAIN_SHARDS, val_shards=VAL_SHARDS):
  """Builds the Visual Wake Words TFRecords in `dataset_dir`.

  Args:
    dataset_dir: output folder (created if needed).
    coco_dir: local COCO 2014 folder (None: `<dataset_dir>/coco_dataset`).
    small_object_area_threshold: see `label_images`.
    foreground_class_of_interest: see `label_images`.
    num_workers: worker processes (None: automatic; 0 or 1: none).
    train_shards: number of train shards.
    val_shards: number of val shards.

  Raises:
    DatasetError: the COCO copy is incomplete, the class is unknown, or the
      disk is full.
  """
  coco_dir = coco_dir or os.path.join(dataset_dir, 'coco_dataset')
  shards = {'train': train_shards, 'val': val_shards}
  if dataset_utils.skip_finished_conversion(
      dataset_dir, lambda folder: _finished(folder, shards)):
    return
  all_stats = []
  for split_name, (image_folder, annotations) in _SPLITS.items():
    groundtruth = _load_annotations(os.path.join(coco_dir, annotations))
    labelled = label_images(groundtruth, small_object_area_threshold,
                            foreground_class_of_interest)
    image_dir = os.path.join(coco_dir, image_folder)
    tasks = [(os.path.join(image_dir, image['file_name']),
              (image, label, objects))
             for image, label, objects in labelled]
    missing = [path for path, _ in tasks if not os.path.isfile(path)]
    if missing:
      raise DatasetError('%d image(s) of %s are missing from %s, e.g. %s; is '
                         'the COCO 2014 copy complete?'
                         % (len(missing), annotations, image_dir, missing[0]))
    count = shards[split_name]
    # The original wrote image i to shard i % num_shards.
    split_shards = [(path, tasks[shard::count]) for shard, path in enumerate(
        output_filenames(dataset_dir, split_name, count))]
    stats = tfrecord_writer.write_shards(
        split_shards, image_coding.read_file_with_key, _make_example,
        num_workers=num_workers, desc='visualwakewords ' + split_name)
    positives = sum(label for _, label, _ in labelled)
    logging.info('%s: %d images, %d with a %s.', split_name,
                 stats.num_written, positives, foreground_class_of_interest)
    all_stats.append(stats)
  dataset_utils.write_label_file({0: 'background',
                                  1: foreground_class_of_interest},
                                 dataset_dir)
  tfrecord_writer.log_finished('building Visual Wake Words', all_stats)
