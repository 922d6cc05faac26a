"""Tests of the Visual Wake Words builder on a tiny fake COCO 2014 copy."""
import hashlib
import json
import os

import numpy as np
import pytest

from datasets import dataset_utils
from datasets import download_and_convert_visualwakewords as vww
from datasets.errors import DatasetError
from tests.datasets.archive_server import encode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import random_image
from tests.datasets.archive_server import read_records

PERSON, DOG = 1, 18


def _coco(root):
  """Writes a fake COCO copy; returns {split: [(file, bytes, label, boxes)]}."""
  rng = np.random.default_rng(0)
  expected = {}
  for split, folder in (('train', 'train2014'), ('val', 'val2014')):
    os.makedirs(root / folder)
    images, annotations, rows = [], [], []
    # (objects as (category, bbox [x, y, w, h], area)); image area 20x10=200.
    cases = [
        [(PERSON, [2, 1, 10, 5], 40.0)],          # Person: label 1.
        [(PERSON, [0, 0, 1, 1], 1.0)],            # 1/200 = 0.005: too small.
        [(DOG, [1, 1, 8, 8], 64.0)],              # No person.
        [(PERSON, [4, 2, 6, 6], 30.0), (DOG, [0, 0, 5, 5], 25.0),
         (PERSON, [10, 0, 10, 10], 90.0)],        # Two persons kept.
        [],                                       # No annotation at all.
    ]
    for index, objects in enumerate(cases):
      image_id = 1000 * (split == 'val') + index + 7
      name = 'COCO_%s_%012d.jpg' % (folder, image_id)
      data = encode(random_image(rng, 10, 20), 'JPEG')
      (root / folder / name).write_bytes(data)
      images.append({'id': image_id, 'file_name': name, 'height': 10,
                     'width': 20})
      kept = []
      for category, bbox, area in objects:
        annotations.append({'id': len(annotations), 'image_id': image_id,
                            'category_id': category, 'bbox': bbox,
                            'area': area})
        if category == PERSON and area / 200 > 0.005:
          kept.append((bbox, area))
      rows.append((name, data, 1 if kept else 0, kept))
    os.makedirs(root / 'annotations', exist_ok=True)
    (root / 'annotations' / ('instances_%s2014.json' % split)).write_text(
        json.dumps({'images': images, 'annotations': annotations,
                    'categories': [{'id': PERSON, 'name': 'person'},
                                   {'id': DOG, 'name': 'dog'}]}))
    expected[split] = rows
  return expected


def test_labels_boxes_and_round_robin_shards(tmp_path):
  expected = _coco(tmp_path / 'coco')
  out = str(tmp_path / 'out')
  vww.run(out, coco_dir=str(tmp_path / 'coco'), num_workers=0,
          train_shards=2, val_shards=1)
  assert dataset_utils.read_label_file(out) == {0: 'background', 1: 'person'}
  for split, count in (('train', 2), ('val', 1)):
    rows = expected[split]
    for shard, path in enumerate(vww.output_filenames(out, split, count)):
      assert os.path.basename(path) == '%s.record-%05d-of-%05d' % (
          split, shard, count)
      examples = read_records(path)
      assert len(examples) == len(rows[shard::count])
      for example, (name, data, label, kept) in zip(examples,
                                                    rows[shard::count]):
        assert feature(example, 'image/filename') == [name.encode()]
        assert feature(example, 'image/encoded') == [data]
        assert feature(example, 'image/key/sha256') == [
            hashlib.sha256(data).hexdigest().encode()]
        assert feature(example, 'image/format') == [b'jpeg']
        assert feature(example, 'image/class/label') == [label]
        assert (feature(example, 'image/height'),
                feature(example, 'image/width')) == ([10], [20])
        source_id = int(feature(example, 'image/source_id')[0])
        assert name.endswith('%012d.jpg' % source_id)
        np.testing.assert_allclose(
            feature(example, 'image/object/bbox/xmin'),
            [b[0] / 20 for b, _ in kept], atol=1e-6)
        np.testing.assert_allclose(
            feature(example, 'image/object/bbox/ymax'),
            [(b[1] + b[3]) / 10 for b, _ in kept], atol=1e-6)
        assert feature(example, 'image/object/area') == [a for _, a in kept]


def test_other_class_and_rerun(tmp_path, monkeypatch):
  _coco(tmp_path / 'coco')
  out = str(tmp_path / 'out')
  vww.run(out, coco_dir=str(tmp_path / 'coco'), num_workers=0,
          foreground_class_of_interest='dog', train_shards=1, val_shards=1)
  assert dataset_utils.read_label_file(out) == {0: 'background', 1: 'dog'}
  labels = [feature(e, 'image/class/label')[0] for e in read_records(
      vww.output_filenames(out, 'train', 1)[0])]
  assert labels == [0, 0, 1, 1, 0]
  monkeypatch.setattr(vww, '_load_annotations', None)  # Not called again.
  vww.run(out, coco_dir=str(tmp_path / 'coco'), train_shards=1, val_shards=1)


def test_errors(tmp_path):
  with pytest.raises(DatasetError, match='pass --coco_dir'):
    vww.run(str(tmp_path / 'out'))
  _coco(tmp_path / 'coco')
  with pytest.raises(DatasetError, match="'unicorn' is not a COCO category; "
                     'valid: dog, person'):
    vww.run(str(tmp_path / 'out'), coco_dir=str(tmp_path / 'coco'),
            foreground_class_of_interest='unicorn')
  os.remove(next((tmp_path / 'coco' / 'val2014').iterdir()))
  with pytest.raises(DatasetError, match='1 image.* missing'):
    vww.run(str(tmp_path / 'out'), coco_dir=str(tmp_path / 'coco'),
            num_workers=0, train_shards=1, val_shards=1)
