"""Single-label datasets keep their exact bytes as the converters grow.

The hashes below were recorded by converting the same folder with the
folder converter as it was before multi-label data existed (main at
ba7dd1b), so any change to the layout of a single-label record, its order
or its split shows up here. The images are
PNGs stored without compression (`compress_level=0`), which the converter
keeps byte for byte: the hashes depend on neither zlib nor Pillow's encoder.
"""
import hashlib
import os

import numpy as np
from PIL import Image

from datasets import convert_custom

# sha256 of each file the folder converter wrote for `_make_folder`'s
# folder with validation_fraction=0.25, num_shards=2, seed=7.
RECORDED = {
    'custom_train_00000-of-00002.tfrecord':
        '53666bb779a6f1aa8cfdca9a907667d773d1bdc9cd64847adbccb27d91ee69dd',
    'custom_train_00001-of-00002.tfrecord':
        'd57fe52eebf53aeb310ee47a42aa8072d88f384f1670ac3dd06797209d51291a',
    'custom_validation_00000-of-00001.tfrecord':
        '17810bf577092e6db49af9d82d517670a355b46a33db31e0a964bced9a9977e4',
    'labels.txt':
        '6df57fc8c09cc30f92c9dc5db73462af2a6693cd1b9df269d92f6f3b2bec4c2b',
}


def _make_folder(root):
  """Three classes of tiny PNGs with seeded random pixels."""
  rng = np.random.default_rng(11)
  for class_name, count in (('ant', 3), ('bee', 4), ('cat', 5)):
    os.makedirs(os.path.join(root, class_name))
    for index in range(count):
      pixels = rng.integers(0, 256, size=(8, 9, 3), dtype=np.uint8)
      Image.fromarray(pixels).save(
          os.path.join(root, class_name, '%s%d.png' % (class_name, index)),
          compress_level=0)


def _hashes(dataset_dir):
  """{name: sha256} of the records and labels.txt (dataset_meta.json holds
  absolute paths and file times)."""
  hashes = {}
  for name in sorted(os.listdir(dataset_dir)):
    if name.endswith('.tfrecord') or name == 'labels.txt':
      with open(os.path.join(dataset_dir, name), 'rb') as f:
        hashes[name] = hashlib.sha256(f.read()).hexdigest()
  return hashes


def convert_and_hash(tmp_dir):
  source = os.path.join(tmp_dir, 'photos')
  output = os.path.join(tmp_dir, 'out')
  _make_folder(source)
  convert_custom.run(output, source, validation_fraction=0.25, num_shards=2,
                     seed=7, num_workers=0)
  return _hashes(output)


def test_folder_conversion_is_byte_identical_to_the_recorded_one(tmp_path):
  assert convert_and_hash(str(tmp_path)) == RECORDED
