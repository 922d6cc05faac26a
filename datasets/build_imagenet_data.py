"""Builds the ImageNet (ILSVRC2012) TFRecords from local archives, no bazel.

  python download_and_convert_data.py --dataset_name=imagenet \\
      --dataset_dir=/data/imagenet \\
      --imagenet_train_tar=ILSVRC2012_img_train.tar \\
      --imagenet_val_tar=ILSVRC2012_img_val.tar \\
      --imagenet_val_labels=imagenet_2012_validation_synset_labels.txt \\
      --imagenet_bbox=ILSVRC2012_bbox_train_v2.tar.gz \\
      --imagenet_metadata=imagenet_metadata.txt

The records are those of the original `build_imagenet_data.py`:
`train-0NNNN-of-01024` and `validation-00NNN-of-00128`, shuffled with
`random.seed(12345)`, with the keys image/encoded (JPEG), image/format
(b'JPEG'), image/colorspace (b'RGB'), image/channels (3), image/height,
image/width, image/filename, image/class/label (1..1000, synsets in sorted
order; 0 is background), image/class/synset, image/class/text and
image/object/bbox/{xmin,ymin,xmax,ymax,label} (relative coordinates, clipped
to [0, 1], 4 decimals as the original's CSV). The PNG disguised as a JPEG and
the CMYK JPEGs are re-encoded as RGB JPEGs, as the original did.

Nothing is unpacked to disk: images are read in place at their byte offset in
the (uncompressed) tar files, so no scratch space is needed. Folders work too:
a training folder of `<synset>/*.JPEG`, a validation folder of JPEGs.
labels.txt (0:background, then one line per synset with its text, as the
original imagenet descriptor wrote it) is written last; a split whose shards
and labels.txt all exist is not rebuilt.
"""
import collections
import os
import random
import re
import tarfile
import xml.etree.ElementTree as ElementTree

from absl import logging
import tensorflow as tf

from datasets import dataset_utils
from datasets import image_coding
from datasets import tfrecord_writer
from datasets.errors import DatasetError

TRAIN_SHARDS = 1024
VALIDATION_SHARDS = 128
RANDOM_SEED = 12345
_IMAGE_EXTENSIONS = ('.jpeg', '.jpg')
_SYNSET_RE = re.compile(r'^n\d{8}$')
_VAL_INDEX_RE = re.compile(r'(\d+)\.[A-Za-z]+$')

ImageRef = collections.namedtuple('ImageRef',
                                  'path offset size filename synset')


def output_filenames(dataset_dir, split_name, num_shards):
  """Returns the shard paths `<split>-0000N-of-0000M` of a split."""
  return [os.path.join(dataset_dir, '%s-%05d-of-%05d'
                       % (split_name, shard, num_shards))
          for shard in range(num_shards)]


def _is_image(name):
  return os.path.splitext(name)[1].lower() in _IMAGE_EXTENSIONS


def _synset_of(name):
  """The synset of an archive path like n01440764/x.JPEG, or None."""
  parent = os.path.basename(os.path.dirname(name.rstrip('/')))
  return parent if _SYNSET_RE.match(parent) else None


def _index_tar(path, flag):
  """Lists the images of an uncompressed tar, with nested per-synset tars."""
  try:
    outer = tarfile.open(path, 'r:')
  except (tarfile.TarError, OSError) as e:
    raise DatasetError(
        '%s=%s is not an uncompressed tar file (%s); pass the original '
        'ILSVRC2012 .tar or a folder of images' % (flag, path, e)) from None
  refs = []
  with outer:
    for member in outer.getmembers():
      if not member.isfile():
        continue
      if member.name.endswith('.tar'):
        synset = os.path.splitext(os.path.basename(member.name))[0]
        nested = outer.extractfile(member)
        with tarfile.open(fileobj=nested, mode='r:') as inner:
          for image in inner.getmembers():
            if image.isfile() and _is_image(image.name):
              refs.append(ImageRef(path, member.offset_data + image.offset_data,
                                   image.size, os.path.basename(image.name),
                                   synset))
      elif _is_image(member.name):
        refs.append(ImageRef(path, member.offset_data, member.size,
                             os.path.basename(member.name),
                             _synset_of(member.name)))
  return refs


def _index_folder(path):
  refs = []
  for root, dirs, names in os.walk(path):
    dirs.sort()
    for name in sorted(names):
      if _is_image(name):
        full = os.path.join(root, name)
        refs.append(ImageRef(full, 0, os.path.getsize(full), name,
                             _synset_of(full)))
  return refs


def index_images(path, flag):
  """Lists the images of a tar file or a folder.

  Args:
    path: an uncompressed tar (possibly of per-synset tars) or a folder.
    flag: the flag that named `path`, for error messages.

  Returns:
    A list of `ImageRef`s (synset None where the path does not tell it).

  Raises:
    DatasetError: `path` is missing, unreadable or holds no JPEG.
  """
  if not os.path.exists(path):
    raise DatasetError('%s=%s does not exist' % (flag, path))
  refs = _index_folder(path) if os.path.isdir(path) else _index_tar(path, flag)
  if not refs:
    raise DatasetError('%s=%s holds no .JPEG images' % (flag, path))
  return refs


def read_validation_labels(path):
  """Returns the synsets of the validation images, in image order.

  Args:
    path: text file with one synset a line (line i is for
      ILSVRC2012_val_<i>.JPEG, counting from 1).

  Returns:
    A list of synset strings.

  Raises:
    DatasetError: the file is missing or has a line that is not a synset.
  """
  if not path:
    raise DatasetError(
        '--imagenet_val_labels is required with --imagenet_val_tar: a file '
        'with the synset of each validation image, one a line '
        '(imagenet_2012_validation_synset_labels.txt)')
  if not os.path.isfile(path):
    raise DatasetError('--imagenet_val_labels=%s does not exist' % path)
  with open(path, encoding='utf-8') as f:
    labels = [line.strip() for line in f if line.strip()]
  bad = [label for label in labels if not _SYNSET_RE.match(label)]
  if bad:
    raise DatasetError('--imagenet_val_labels=%s has %r, not a synset like '
                       'n01440764' % (path, bad[0]))
  return labels


def read_metadata(path):
  """Returns {synset: human-readable text} from a metadata file.

  Args:
    path: lines '<synset>\\t<text>' (imagenet_metadata.txt) or
      '<synset> <text>' (LOC_synset_mapping.txt).

  Returns:
    A dict.

  Raises:
    DatasetError: the file is missing.
  """
  if not os.path.isfile(path):
    raise DatasetError('--imagenet_metadata=%s does not exist' % path)
  synset_to_human = {}
  with open(path, encoding='utf-8') as f:
    for line in f:
      parts = line.strip().split(None, 1)
      if len(parts) == 2 and _SYNSET_RE.match(parts[0]):
        synset_to_human[parts[0]] = parts[1]
  return synset_to_human


def _clip(low, high):
  low, high = min(low, high), max(low, high)
  return min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)


def parse_bbox_xml(data, synsets=None):
  """Returns the valid boxes of one PASCAL VOC annotation file.

  As the original process_bounding_boxes.py: coordinates are divided by the
  image size, min/max swapped where inverted, clipped to [0, 1], boxes of
  other synsets and empty boxes dropped, values rounded to 4 decimals.

  Args:
    data: the XML bytes.
    synsets: set of synsets to keep, or None for all.

  Returns:
    A list of [xmin, ymin, xmax, ymax].
  """
  root = ElementTree.fromstring(data)
  width = float(root.findtext('size/width'))
  height = float(root.findtext('size/height'))
  boxes = []
  for obj in root.iter('object'):
    if synsets is not None and obj.findtext('name') not in synsets:
      continue
    box = obj.find('bndbox')
    xmin, xmax = _clip(float(box.findtext('xmin')) / width,
                       float(box.findtext('xmax')) / width)
    ymin, ymax = _clip(float(box.findtext('ymin')) / height,
                       float(box.findtext('ymax')) / height)
    if xmin >= xmax or ymin >= ymax:
      continue
    boxes.append([round(v, 4) for v in (xmin, ymin, xmax, ymax)])
  return boxes


def _image_key(xml_name):
  return os.path.splitext(os.path.basename(xml_name))[0] + '.JPEG'


def _xml_sources(path):
  """Yields (name, bytes) of the XML files of a tar or a folder."""
  if os.path.isdir(path):
    for root, dirs, names in os.walk(path):
      dirs.sort()
      for name in sorted(names):
        if name.endswith('.xml'):
          with open(os.path.join(root, name), 'rb') as f:
            yield name, f.read()
    return
  with tarfile.open(path, 'r|*') as archive:
    for member in archive:
      if member.isfile() and member.name.endswith('.xml'):
        yield member.name, archive.extractfile(member).read()


def load_bounding_boxes(sources, synsets):
  """Returns {image file name: [[xmin, ymin, xmax, ymax], ...]}.

  Args:
    sources: comma-separated paths: CSV files ('<image>.JPEG,xmin,ymin,xmax,
      ymax' lines, as the original process_bounding_boxes.py wrote), tar
      files or folders of XML annotations.
    synsets: set of synsets whose boxes are kept.

  Returns:
    The lookup table.

  Raises:
    DatasetError: a source is missing or malformed.
  """
  boxes = collections.defaultdict(list)
  for path in filter(None, (p.strip() for p in (sources or '').split(','))):
    if not os.path.exists(path):
      raise DatasetError('--imagenet_bbox: %s does not exist' % path)
    if path.endswith('.csv'):
      with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
          parts = line.strip().split(',')
          if parts == ['']:
            continue
          if len(parts) != 5:
            raise DatasetError('--imagenet_bbox: line %d of %s has %d fields; '
                               'expected 5 (<image>,xmin,ymin,xmax,ymax)'
                               % (number, path, len(parts)))
          boxes[parts[0]].append([float(v) for v in parts[1:]])
      continue
    try:
      for name, data in _xml_sources(path):
        boxes[_image_key(name)].extend(parse_bbox_xml(data, synsets))
    except (tarfile.TarError, ElementTree.ParseError, TypeError,
            AttributeError, ValueError) as e:
      raise DatasetError('--imagenet_bbox: cannot read the annotations in %s '
                         '(%s: %s)' % (path, type(e).__name__, e)) from None
  return dict(boxes)


def _make_example(result):
  image_buffer, height, width, (filename, label, synset, human, boxes) = result
  xmin, ymin, xmax, ymax = ([box[i] for box in boxes] for i in range(4))
  feature = {
      'image/height': dataset_utils.int64_feature(height),
      'image/width': dataset_utils.int64_feature(width),
      'image/colorspace': dataset_utils.bytes_feature(b'RGB'),
      'image/channels': dataset_utils.int64_feature(3),
      'image/class/label': dataset_utils.int64_feature(label),
      'image/class/synset': dataset_utils.bytes_feature(synset),
      'image/class/text': dataset_utils.bytes_feature(human),
      'image/object/bbox/xmin': dataset_utils.float_feature(xmin),
      'image/object/bbox/xmax': dataset_utils.float_feature(xmax),
      'image/object/bbox/ymin': dataset_utils.float_feature(ymin),
      'image/object/bbox/ymax': dataset_utils.float_feature(ymax),
      'image/object/bbox/label': dataset_utils.int64_feature(
          [label] * len(boxes)),
      'image/format': dataset_utils.bytes_feature(b'JPEG'),
      'image/filename': dataset_utils.bytes_feature(filename),
      'image/encoded': dataset_utils.bytes_feature(image_buffer),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature))


def _split_finished(dataset_dir, split_name, num_shards):
  return dataset_utils.conversion_finished(
      dataset_dir, output_filenames(dataset_dir, split_name, num_shards))


def _build_split(dataset_dir, split_name, refs, num_shards, synset_labels,
                 synset_to_human, boxes, seed, num_workers):
  """Writes one split; returns its `WriteStats`."""
  refs = sorted(refs, key=lambda r: (synset_labels[r.synset], r.filename))
  order = list(range(len(refs)))
  random.Random(seed).shuffle(order)
  tasks = []
  for index in order:
    ref = refs[index]
    info = (ref.filename, synset_labels[ref.synset], ref.synset,
            synset_to_human.get(ref.synset, ref.synset),
            boxes.get(ref.filename, []))
    tasks.append((ref.path, ref.offset, ref.size, info))
  paths = output_filenames(dataset_dir, split_name, num_shards)
  shards = [(path, tasks[start:end]) for path, (start, end) in zip(
      paths, tfrecord_writer.shard_ranges(len(tasks), num_shards))]
  stats = tfrecord_writer.write_shards(
      shards, image_coding.read_imagenet_image, _make_example,
      num_workers=num_workers, desc='imagenet ' + split_name)
  for skipped in stats.skipped:
    logging.warning('Skipped %s: %s', skipped.name, skipped.reason)
  with_boxes = sum(1 for task in tasks if task[3][4])
  logging.info('%s: %d images, %d with bounding boxes.', split_name,
               stats.num_written, with_boxes)
  return stats


def _assign_validation_synsets(refs, labels_path):
  labels = None
  assigned = []
  for ref in refs:
    synset = ref.synset
    if synset is None:
      if labels is None:
        labels = read_validation_labels(labels_path)
      match = _VAL_INDEX_RE.search(ref.filename)
      index = int(match.group(1)) - 1 if match else -1
      if not 0 <= index < len(labels):
        raise DatasetError(
            'validation image %s has no line in --imagenet_val_labels=%s '
            '(%d lines); expected names like ILSVRC2012_val_00000001.JPEG'
            % (ref.filename, labels_path, len(labels)))
      synset = labels[index]
    assigned.append(ref._replace(synset=synset))
  return assigned


def run(dataset_dir, train_path=None, validation_path=None,
        validation_labels=None, bbox_sources=None, metadata_path=None,
        train_shards=TRAIN_SHARDS, validation_shards=VALIDATION_SHARDS,
        seed=None, num_workers=None):
  """Builds the ImageNet TFRecords of the given splits in `dataset_dir`.

  Args:
    dataset_dir: output folder (created if needed).
    train_path: ILSVRC2012_img_train.tar or a folder of <synset>/*.JPEG, or
      None to skip the training split.
    validation_path: ILSVRC2012_img_val.tar or a folder, or None.
    validation_labels: file with the synset of each validation image.
    bbox_sources: comma-separated CSV, tar or folder paths of bounding boxes,
      or None for none.
    metadata_path: synset -> text file, or None (the text is then the synset).
    train_shards: number of training shards.
    validation_shards: number of validation shards.
    seed: shuffle seed (None: 12345, the original's).
    num_workers: worker processes (None: automatic; 0 or 1: none).

  Raises:
    DatasetError: an input is missing or malformed, or the disk is full.
  """
  if not train_path and not validation_path:
    raise DatasetError('imagenet needs --imagenet_train_tar and/or '
                       '--imagenet_val_tar: the local ILSVRC2012 archives '
                       '(ImageNet cannot be downloaded without an account)')
  for flag, value in (('--imagenet_train_shards', train_shards),
                      ('--imagenet_validation_shards', validation_shards)):
    if value < 1:
      raise DatasetError('%s must be >= 1; received %d' % (flag, value))
  seed = RANDOM_SEED if seed is None else seed
  tf.io.gfile.makedirs(dataset_dir)
  splits = {}
  if train_path and not _split_finished(dataset_dir, 'train', train_shards):
    refs = index_images(train_path, '--imagenet_train_tar')
    missing = [r.filename for r in refs if r.synset is None]
    if missing:
      raise DatasetError('--imagenet_train_tar=%s: cannot tell the synset of '
                         '%s; expected per-synset tars or folders like '
                         'n01440764/' % (train_path, missing[0]))
    splits['train'] = (refs, train_shards)
  if validation_path and not _split_finished(dataset_dir, 'validation',
                                             validation_shards):
    refs = index_images(validation_path, '--imagenet_val_tar')
    splits['validation'] = (_assign_validation_synsets(refs, validation_labels),
                            validation_shards)
  if not splits:
    logging.info('The requested ImageNet splits are already in %s; nothing to '
                 'do.', dataset_dir)
    return

  # Labels 1..N follow the sorted synsets of the training set (all 1000), or
  # of the validation labels when only validation is built.
  source = splits.get('train', splits.get('validation'))[0]
  synsets = sorted({ref.synset for ref in source})
  if 'train' not in splits and train_path:
    synsets = sorted(set(synsets) | {
        ref.synset for ref in index_images(train_path, '--imagenet_train_tar')})
  synset_labels = {synset: i + 1 for i, synset in enumerate(synsets)}
  if 'validation' in splits:
    unknown = sorted({r.synset for r in splits['validation'][0]} -
                     set(synset_labels))
    if unknown:
      raise DatasetError('validation synset %s is not among the %d training '
                         'synsets' % (unknown[0], len(synsets)))
  synset_to_human = {}
  if metadata_path:
    synset_to_human = read_metadata(metadata_path)
  missing = [s for s in synsets if s not in synset_to_human]
  if missing:
    logging.warning('No human-readable text for %d synset(s) (first: %s); '
                    'image/class/text holds the synset instead. Pass '
                    '--imagenet_metadata=imagenet_metadata.txt.',
                    len(missing), missing[0])
  boxes = load_bounding_boxes(bbox_sources, set(synsets))

  all_stats = []
  for split_name, (refs, num_shards) in splits.items():
    all_stats.append(_build_split(dataset_dir, split_name, refs, num_shards,
                                  synset_labels, synset_to_human, boxes, seed,
                                  num_workers))
  labels = {0: 'background'}
  labels.update({synset_labels[s]: synset_to_human.get(s, s) for s in synsets})
  dataset_utils.write_label_file(labels, dataset_dir)
  tfrecord_writer.log_finished('building ImageNet records', all_stats)
