"""Tests of the multi-label custom converter (datasets/convert_custom_csv.py):
a CSV of images and their class names -> records with a list of labels."""
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from datasets import convert_custom
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import multi_label
from datasets import tfrecord_writer
from datasets.errors import DatasetError
from slim.data import dataset_data_provider
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import random_image
from tests.datasets.archive_server import read_records

tf1 = tf.compat.v1

# filename -> labels column, as written in the CSV below.
ROWS = {
    'img/a0.png': 'cat dog',
    'img/a1.png': 'dog',
    'img/a2.png': '',
    'img/a3.png': '  bird   cat ',
    'img/sub/a4.png': 'cat',
    'img/a5.png': 'dog bird dog',
    'img/a6.png': 'bird',
    'img/a7.png': 'cat bird',
}


def _save_png(path, rng):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  pixels = random_image(rng, 9, 10)
  Image.fromarray(pixels).save(path)
  return pixels


@pytest.fixture
def source(tmp_path):
  """A folder with 8 PNGs and labels.csv listing them (one absolutely).

  Returns:
    (csv path, {filename as written: (pixels, sorted class names)}).
  """
  rng = np.random.default_rng(3)
  folder = tmp_path / 'photos'
  expected, lines = {}, ['filename,labels']
  for filename, labels in ROWS.items():
    pixels = _save_png(str(folder / filename), rng)
    absolute = filename.endswith('a7.png')
    written = str(folder / filename) if absolute else filename
    expected[written] = (pixels, sorted(set(labels.split())))
    lines.append('%s,%s' % (written, labels))
  csv_path = folder / 'labels.csv'
  csv_path.write_text('\n'.join(lines) + '\n')
  return str(csv_path), expected


def _run(source_csv, dataset_dir, **kwargs):
  kwargs.setdefault('num_workers', 0)
  return convert_custom.run(str(dataset_dir), source_csv=source_csv, **kwargs)


def _records(dataset_dir, meta, split):
  return [example for path in tfrecord_writer.shard_filenames(
      str(dataset_dir), 'custom', split, meta['num_shards'][split])
          for example in read_records(path)]


def _labels_by_pixels(examples, class_names):
  """{pixel bytes: (label ids, texts)} of written examples."""
  labels = {}
  for example in examples:
    pixels = tf.io.decode_png(feature(example, 'image/encoded')[0]).numpy()
    ids = feature(example, 'image/class/label')
    texts = [text.decode() for text in feature(example, 'image/class/text')]
    assert texts == [class_names[i] for i in ids]
    labels[pixels.tobytes()] = ids
  return labels


def test_rows_become_records_with_sorted_label_lists(source, tmp_path):
  csv_path, expected = source
  out = tmp_path / 'out'
  meta = _run(csv_path, out, validation_fraction=0.25, num_shards=2)
  assert sorted(os.listdir(out)) == [
      'custom_train_00000-of-00002.tfrecord',
      'custom_train_00001-of-00002.tfrecord',
      'custom_validation_00000-of-00001.tfrecord', 'dataset_meta.json',
      'labels.txt']
  class_names = sorted({name for _, names in expected.values()
                        for name in names})
  assert dataset_utils.read_label_file(str(out)) == dict(
      enumerate(class_names))
  assert dataset_utils.read_dataset_meta(str(out)) == meta
  assert meta['multi_label'] is True
  assert meta['num_classes'] == len(class_names) == 3
  written = {split: _labels_by_pixels(_records(out, meta, split), class_names)
             for split in ('train', 'validation')}
  assert {split: len(labels) for split, labels in written.items()} == (
      meta['splits'])
  everything = {**written['train'], **written['validation']}
  assert everything == {
      pixels.tobytes(): [class_names.index(name) for name in names]
      for pixels, names in expected.values()}
  for split, labels in written.items():
    assert meta['label_counts'][split] == [
        sum(class_id in ids for ids in labels.values())
        for class_id in range(len(class_names))]


def test_decoded_labels_and_multi_hot_vectors_match_the_csv(source, tmp_path):
  csv_path, expected = source
  _run(csv_path, tmp_path / 'out', validation_fraction=0.25)
  class_names = ['bird', 'cat', 'dog']
  by_pixels = {pixels.tobytes(): names for pixels, names in expected.values()}
  seen = 0
  for split in ('train', 'validation'):
    with tf.Graph().as_default():
      dataset = dataset_factory.get_dataset('custom', split,
                                            str(tmp_path / 'out'))
      assert dataset.multi_label and dataset.num_classes == 3
      provider = dataset_data_provider.DatasetDataProvider(
          dataset, shuffle=False, num_epochs=1)
      image, labels = provider.get(['image', 'label'])
      vector = multi_label.multi_hot(labels, dataset.num_classes)
      with tf1.Session() as sess:
        for _ in range(dataset.num_samples):
          pixels, ids, hot = sess.run([image, labels, vector])
          names = by_pixels[pixels.tobytes()]
          assert ids.tolist() == [class_names.index(n) for n in names]
          assert hot.tolist() == [float(n in names) for n in class_names]
          seen += 1
  assert seen == len(expected)


def test_spreadsheet_export_with_bom_crlf_and_quotes(source, tmp_path):
  csv_path, expected = source
  lines = ['labels,filename'] + ['"%s","%s"' % (' '.join(names), filename)
                                 for filename, (_, names) in expected.items()]
  with open(csv_path, 'w', encoding='utf-8-sig', newline='') as f:
    f.write('\r\n'.join(lines) + '\r\n')
  meta = _run(csv_path, tmp_path / 'out')
  assert sum(meta['splits'].values()) == len(expected)
  assert dataset_utils.read_label_file(str(tmp_path / 'out')) == {
      0: 'bird', 1: 'cat', 2: 'dog'}


def test_labels_file_fixes_the_ids(source, tmp_path):
  csv_path, expected = source
  labels_file = tmp_path / 'classes.txt'
  labels_file.write_text('dog\ncat\n\nfish\nbird\n')
  meta = _run(csv_path, tmp_path / 'out', labels_file=str(labels_file))
  class_names = ['dog', 'cat', 'fish', 'bird']
  assert meta['num_classes'] == 4
  assert dataset_utils.read_label_file(str(tmp_path / 'out')) == dict(
      enumerate(class_names))
  written = {}
  for split in ('train', 'validation'):
    written.update(_labels_by_pixels(
        _records(tmp_path / 'out', meta, split), class_names))
  assert written == {
      pixels.tobytes(): sorted(class_names.index(name) for name in names)
      for pixels, names in expected.values()}


def test_labels_file_in_the_labels_txt_format(source, tmp_path):
  csv_path, _ = source
  labels_file = tmp_path / 'labels.txt'
  labels_file.write_text('0:dog\n1:cat\n2:bird\n')
  _run(csv_path, tmp_path / 'out', labels_file=str(labels_file))
  assert dataset_utils.read_label_file(str(tmp_path / 'out')) == {
      0: 'dog', 1: 'cat', 2: 'bird'}


def _one_line(error):
  message = str(error.value)
  assert '\n' not in message
  return message


def test_unknown_class_name_with_a_labels_file(source, tmp_path):
  csv_path, _ = source
  labels_file = tmp_path / 'classes.txt'
  labels_file.write_text('cat\ndog\n')
  with pytest.raises(DatasetError) as error:
    _run(csv_path, tmp_path / 'out', labels_file=str(labels_file))
  # Row 5 of the file: the header, then a0, a1, a2, a3 (bird cat).
  assert _one_line(error) == (
      "%s row 5: unknown class name 'bird', not in --labels_file=%s"
      % (csv_path, labels_file))
  assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('contents, message', [
    ('', r'is empty; its first row must be the header filename,labels'),
    ('a.png,cat\n', r"row 1: unknown column 'a.png'; the first row must be "
     r'the header filename,labels'),
    ('filename,labels,weight\n', r"row 1: unknown column 'weight'"),
    ('filename\nimg/a0.png\n', r'row 1: the header must name the columns '
     r'filename,labels once each; received filename'),
    ('filename,labels\n', r'has a header but no image rows'),
    ('filename,labels\nimg/a0.png,cat\nimg/a1.png,dog,3\n',
     r'row 3: expected 2 fields \(filename,labels\), found 3'),
    ('filename,labels\nimg/a0.png,cat\n"img/a1.png,dog\n',
     r'row 3: malformed CSV \(unexpected end of data\)'),
    ('filename,labels\nimg/a0.png,"cat" dog\n', r'row 2: malformed CSV'),
    ('filename,labels\n ,cat\n', r'row 2: the filename is empty'),
    ('filename,labels\nimg/a0.png,cat\n\nimg/./a0.png,dog\n',
     r'row 4: img/./a0.png is already listed on row 2'),
    ('filename,labels\nimg/a0.png,\nimg/a1.png,\n',
     r'no row has a class name in its labels column'),
])
def test_malformed_csv_is_one_line_and_writes_nothing(source, tmp_path,
                                                      contents, message):
  csv_path, _ = source
  with open(csv_path, 'w') as f:
    f.write(contents)
  with pytest.raises(DatasetError, match=message) as error:
    _run(csv_path, tmp_path / 'out')
  assert _one_line(error).startswith(csv_path)
  assert not (tmp_path / 'out').exists()


def test_missing_files_are_named_with_their_rows(source, tmp_path):
  csv_path, _ = source
  folder = os.path.dirname(csv_path)
  os.remove(os.path.join(folder, 'img', 'a3.png'))
  os.remove(os.path.join(folder, 'img', 'a5.png'))
  with pytest.raises(DatasetError) as error:
    _run(csv_path, tmp_path / 'out')
  assert _one_line(error) == (
      '%s row 5: img/a3.png cannot be read (No such file or directory) (and '
      '1 more rows with missing or unusable files); fix or remove the row'
      % csv_path)
  assert not (tmp_path / 'out').exists()


def test_unreadable_image_stops_the_run_with_nothing_written(source,
                                                             tmp_path):
  csv_path, _ = source
  folder = os.path.dirname(csv_path)
  with open(os.path.join(folder, 'img', 'a6.png'), 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n not really a png')
  with pytest.raises(DatasetError, match=r'row 8: img/a6.png is not a usable '
                     r'image \(.+\); fix or remove the row$') as error:
    _run(csv_path, tmp_path / 'out', num_shards=2)
  assert _one_line(error).startswith(csv_path)
  assert os.listdir(tmp_path / 'out') == []


def test_flag_combinations(source, tmp_path):
  csv_path, _ = source
  photos = os.path.dirname(csv_path)
  with pytest.raises(DatasetError, match=r'^--source_dir and --source_csv '
                     r'cannot be used together'):
    convert_custom.run(str(tmp_path / 'out'), photos, source_csv=csv_path)
  with pytest.raises(DatasetError, match=r'^--labels_file works only with '
                     r'--source_csv'):
    convert_custom.run(str(tmp_path / 'out'), photos, labels_file=csv_path)
  with pytest.raises(DatasetError, match=r'^--source_csv=\S+nothing.csv does '
                     r'not exist$'):
    _run(str(tmp_path / 'nothing.csv'), tmp_path / 'out')
  assert not (tmp_path / 'out').exists()


def test_rerun_on_the_same_csv_does_nothing(source, tmp_path):
  csv_path, _ = source
  out = tmp_path / 'out'
  meta = _run(csv_path, out)
  stamps = {name: os.stat(out / name).st_mtime_ns
            for name in os.listdir(out)}
  assert _run(csv_path, out) == meta
  assert {name: os.stat(out / name).st_mtime_ns
          for name in os.listdir(out)} == stamps
  with open(csv_path, 'a') as f:
    f.write('img/a2.png,cat\n')  # Listed twice now: an error, no change.
  with pytest.raises(DatasetError, match='already listed on row 4'):
    _run(csv_path, out)
  assert dataset_utils.read_dataset_meta(str(out)) == meta
