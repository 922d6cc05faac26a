"""ImageNet (ILSVRC2012) as built by the slim ImageNet builder.

Files `train-<shard:05d>-of-01024` and `validation-<shard:05d>-of-00128`;
JPEGs of varying size with 1001 classes (0 is background). Besides `image`
and `label` the records give `label_text`, `object/bbox` ([N, 4] boxes as
ymin, xmin, ymax, xmax in relative coordinates) and `object/label`.
"""
import tensorflow as tf

from datasets import descriptor
from datasets.descriptor import DatasetDescriptor
from slim.data import tfexample_decoder

DESCRIPTOR = DatasetDescriptor(
    name='imagenet',
    file_pattern='%s-*',
    splits_to_sizes={'train': 1281167, 'validation': 50000},
    num_classes=1001,
    items_to_descriptions={
        'image': 'A color image of varying height and width.',
        'label': ('The label id of the image, an integer between 0 and 1000 '
                  '(0 is background)'),
        'label_text': 'The text of the label.',
        'object/bbox': 'A list of bounding boxes.',
        'object/label': 'A list of labels, one per each object.',
    },
    default_format='jpeg',
    default_label=-1,
    extra_features={
        'image/class/text': tf.io.FixedLenFeature([], tf.string,
                                                  default_value=''),
        **descriptor.bounding_box_features(),
        'image/object/bbox/label': tf.io.VarLenFeature(tf.int64),
        'image/object/class/label': tf.io.VarLenFeature(tf.int64),
    },
    extra_handlers={
        'label_text': tfexample_decoder.Tensor('image/class/text'),
        'object/bbox': descriptor.bounding_box_handler(),
        # The builder writes image/object/bbox/label, while upstream's reader
        # looked for image/object/class/label (and so always found none):
        # read the first, fall back to the second.
        'object/label': tfexample_decoder.BackupHandler(
            tfexample_decoder.Tensor('image/object/bbox/label'),
            tfexample_decoder.Tensor('image/object/class/label')),
    },
)

get_split = DESCRIPTOR.get_split
