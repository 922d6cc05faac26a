"""A classifier from any model the toolkit writes: checkpoint, frozen
GraphDef, SavedModel or TFLite.

`load(path, ...)` detects the format and returns a Classifier: its
ModelInfo (network, image size, preprocessing, class names) and
`predict(images)`, preprocessed float32 images in, probabilities out (a
softmax over the classes, or for a multi-label model, `info.multi_label`,
each class's own sigmoid probability). An
exported model (SavedModel, .tflite with its `<file>.json`) carries its
ModelInfo; a checkpoint or a bare frozen graph takes it from the records
the caller gives (classify_images.py makes them from its flags).
A .tflite without its record (any TFLite image classifier, such as the
published quantized MobileNets) is read from its own tensors: input size,
input and output types with their scale and zero point, class count; its
images are resized to the input size and scaled as `_pixel_scaling` says,
its outputs taken as the class scores they are (dequantized, no softmax
added: the published models end in one), its class names the class ids
unless classify_images.py --labels gives them. With --model_name it is
taken as an exported model whose record is missing, like a bare frozen
graph.
"""
import dataclasses
import os
import re
import warnings
from typing import Optional

import numpy as np
import tensorflow as tf

import slim
from image_classifier import fileio
from image_classifier import network
from image_classifier import restore
from image_classifier import specs
from nets.registry import NETWORKS
from tools import graph_io
from tools import model_info
from tools import tflite_file

tf1 = tf.compat.v1

FORMATS = ('checkpoint', 'frozen_graph', 'saved_model', 'tflite')


@dataclasses.dataclass(frozen=True)
class PixelScaling:
  """How a float .tflite without its record takes 0-255 pixels:
  (x - mean) / std.

  Attributes:
    mean: subtracted from each pixel value; None: DEFAULT_INPUT_MEAN.
    std: pixel values are then divided by it; None: DEFAULT_INPUT_STD.
  """
  mean: Optional[float] = None
  std: Optional[float] = None


# What a model without a record is taken as when the caller names nothing.
_NO_MODEL = specs.ModelSpec(model_name=None)
_NO_DATA = specs.DataSpec(dataset_name=None)
_NO_SCALING = PixelScaling()


def tflite_interpreter(model_path=None, model_content=None, num_threads=None):
  """A TFLite interpreter: TensorFlow's own `tf.lite.Interpreter`.

  The one place that picks the runtime. TensorFlow 2.16-2.21 ship it; 2.21
  warns that it moves to the ai-edge-litert package. It is used rather than
  adding that dependency (see README.md, Dependencies), with its warning
  silenced.
  A model file is checked first (`tflite_file.check_tflite_file`): the
  runtime does not verify it, and a truncated one crashes the process.

  Raises:
    ValueError: if the file at `model_path` is not a whole TFLite model.
  """
  if model_path is not None:
    tflite_file.check_tflite_file(model_path)
    if not fileio.is_local(model_path):  # The runtime reads local files.
      model_path, model_content = None, fileio.read_bytes(model_path)
  with warnings.catch_warnings():
    warnings.filterwarnings('ignore', message=r'(?s).*tf\.lite\.Interpreter '
                            'is deprecated')
    return tf.lite.Interpreter(model_path=model_path,
                               model_content=model_content,
                               num_threads=num_threads)


def detect_format(path):
  """Which of FORMATS `path` is.

  Raises:
    ValueError: if it does not exist or is none of them.
  """
  gfile = tf.io.gfile  # Any filesystem: local, gs://, s3://, ...
  if gfile.isdir(path):
    if gfile.exists(os.path.join(path, 'saved_model.pb')):
      return 'saved_model'
    if tf.train.latest_checkpoint(path):
      return 'checkpoint'
    raise ValueError(f'--model={path} is a folder with neither a SavedModel '
                     '(saved_model.pb) nor a checkpoint.')
  if gfile.exists(path + '.index'):
    return 'checkpoint'
  if not gfile.exists(path):
    raise ValueError(f'--model={path} does not exist.')
  if re.search(r'\.(index|meta|data-\d{5}-of-\d{5})$', path):
    return 'checkpoint'  # One file of a checkpoint.
  with gfile.GFile(path, 'rb') as f:
    head = f.read(8)
  if head[4:8] == b'TFL3':
    return 'tflite'
  try:
    graph_io.read_graph_def(path)
  except ValueError:
    raise ValueError(
        f'--model={path} is not a known model format: pass a checkpoint '
        '(prefix or train_dir), a frozen GraphDef (.pb), a SavedModel folder '
        'or a .tflite file.') from None
  return 'frozen_graph'


class Classifier:
  """A model that maps preprocessed images to class probabilities.

  Attributes:
    info: the ModelInfo (network, size, preprocessing, class names).
    format: one of FORMATS.
    batch_size: the model's static batch size, or None if it takes any.
  """

  def __init__(self, info, model_format, batch_size=None):
    self.info = info
    self.format = model_format
    self.batch_size = batch_size

  def predict(self, images):
    """float32 [n, size, size, channels] -> probabilities [n, classes].

    A model with a static batch size gets batches of that size, the last
    one padded with zeros.
    """
    images = np.asarray(images, np.float32)
    if not self.batch_size or len(images) == self.batch_size:
      return self._run(images)
    outputs = []
    for start in range(0, len(images), self.batch_size):
      chunk = images[start:start + self.batch_size]
      padding = np.zeros((self.batch_size - len(chunk),) + chunk.shape[1:],
                         np.float32)
      outputs.append(self._run(np.concatenate([chunk, padding]))[:len(chunk)])
    return np.concatenate(outputs)

  def _run(self, images):
    raise NotImplementedError

  def close(self):
    """Frees the model's session, if any."""


class _SessionClassifier(Classifier):
  """A TF1 graph in a session: feed the input, fetch probabilities."""

  def __init__(self, info, model_format, session, images, probabilities):
    input_shape = session.graph.get_tensor_by_name(
        images if isinstance(images, str) else images.name).shape
    super().__init__(info, model_format, input_shape.as_list()[0])
    self._session = session
    self._images = images
    self._probabilities = probabilities

  def _run(self, images):
    return self._session.run(self._probabilities, {self._images: images})

  def close(self):
    self._session.close()


class _TFLiteClassifier(Classifier):
  """A .tflite model; quantizes the input and dequantizes the output as
  the model's scale and zero point say (a uint8 or int8 tensor without
  them holds its values as they are: scale 1, zero point 0)."""

  def __init__(self, info, interpreter, batch_size=None):
    super().__init__(info, 'tflite', batch_size)
    self._interpreter = interpreter
    self._input = self._interpreter.get_input_details()[0]
    self._output = self._interpreter.get_output_details()[0]
    self._batch = None

  def _run(self, images):
    if self._batch != len(images):
      self._interpreter.resize_tensor_input(self._input['index'],
                                            list(images.shape))
      self._interpreter.allocate_tensors()
      self._batch = len(images)
    dtype = self._input['dtype']
    if dtype != np.float32:
      scale, zero_point = _quantization(self._input)
      info = np.iinfo(dtype)
      images = np.clip(np.round(images / scale + zero_point), info.min,
                       info.max).astype(dtype)
    self._interpreter.set_tensor(self._input['index'], images)
    self._interpreter.invoke()
    output = self._interpreter.get_tensor(self._output['index'])
    if output.dtype != np.float32:
      scale, zero_point = _quantization(self._output)
      output = (output.astype(np.float32) - zero_point) * scale
    return output.reshape(len(images), -1)


def _quantization(detail):
  """(scale, zero point) of a TFLite tensor; (1.0, 0) where it has none."""
  scale, zero_point = detail['quantization']
  return (float(scale), int(zero_point)) if scale else (1.0, 0)


def tflite_tensor_record(detail):
  """{'dtype', 'scale', 'zero_point', 'shape'} of a TFLite tensor (scale
  0.0 and zero point 0 for a float one; -1 for a dimension of any size)."""
  scale, zero_point = detail['quantization']
  return {'dtype': np.dtype(detail['dtype']).name, 'scale': float(scale),
          'zero_point': int(zero_point),
          'shape': [int(d) for d in detail['shape_signature']]}


def _info_from_specs(model, data, num_classes, image_size=None):
  """The ModelInfo of a checkpoint or a bare frozen graph, from the records
  the caller gave.

  Args:
    model: the specs.ModelSpec naming the network (model_name,
      preprocessing_name, image_size, use_grayscale).
    data: the specs.DataSpec of its dataset (dataset_name, dataset_dir,
      labels_offset), for the class count and names.
    num_classes: the network's class count (None: from the dataset).
    image_size: the graph's own input size, if it has one.

  Returns:
    A ModelInfo; multi_label if the dataset holds several labels per image.

  Raises:
    ValueError: without --model_name, or for an unknown network or dataset.
  """
  if not model.model_name:
    raise ValueError('--model_name is needed for a checkpoint or a frozen '
                     'graph without its .json record.')
  if model.model_name not in NETWORKS:
    raise ValueError(f'--model_name={model.model_name} is not a network; '
                     f'valid names: {", ".join(sorted(NETWORKS))}.')
  if num_classes is None:
    if not data.dataset_name:
      raise ValueError('--dataset_name (and --dataset_dir) give a '
                       'checkpoint\'s class count: pass them.')
    num_classes = network.dataset_num_classes(
        data.dataset_name, data.dataset_dir) - data.labels_offset
  labels = model_info.class_names(data.dataset_name, data.dataset_dir,
                                  num_classes, data.labels_offset)
  return model_info.ModelInfo(
      multi_label=network.is_multi_label(data.dataset_name, data.dataset_dir),
      model_name=model.model_name,
      image_size=(model.image_size or image_size
                  or NETWORKS[model.model_name].default_image_size),
      preprocessing_name=network.preprocessing_for(model.model_name,
                                                   model.preprocessing_name),
      labels=labels, labels_offset=data.labels_offset,
      use_grayscale=model.use_grayscale, dataset_name=data.dataset_name)


def _load_checkpoint(path, model, data):
  info = _info_from_specs(model, data, None)
  if NETWORKS[info.model_name].is_video:
    raise ValueError(f'--model_name={info.model_name} is a video model; '
                     'classify_images.py classifies images.')
  checkpoint = slim.variables.resolve_checkpoint_path(path)
  graph = tf.Graph()
  with graph.as_default():
    images, _, end_points = network.build_inference_graph(
        info.model_name, info.num_classes, image_size=info.image_size,
        use_grayscale=info.use_grayscale, quantize=model.quantize,
        multi_label=info.multi_label)
    variables = restore.variables_to_restore(model.moving_average_decay)
    restore.check_checkpoint_fits(
        checkpoint, variables, f'--model={path}',
        restore.model_advice(info.model_name, model.moving_average_decay,
                             model.quantize))
    saver = tf1.train.Saver(variables)
    session = tf1.Session(graph=graph)
    saver.restore(session, checkpoint)
    probabilities = tf.reshape(end_points['Predictions'],
                               [-1, info.num_classes])
  return _SessionClassifier(info, 'checkpoint', session, images,
                            probabilities)


def _graph_output(graph_def):
  """The name of a frozen graph's probabilities (or logits) node.

  Returns:
    (node name, what it holds): 'softmax' (probabilities over the
    classes), 'sigmoid' (each class's own probability: a multi-label
    model's MultiLabel/Predictions, or any output Sigmoid op) or 'logits'.
  """
  consumed = {i.split(':')[0].lstrip('^') for n in graph_def.node
              for i in n.input}
  outputs = [n for n in graph_def.node
             if n.name not in consumed and n.op not in ('Const', 'NoOp',
                                                        'Placeholder')]
  for node in outputs:
    if node.op == 'Sigmoid':
      return node.name, 'sigmoid'
  for node in outputs:
    if 'Predictions' in node.name or node.op == 'Softmax':
      return node.name, 'softmax'
  if len(outputs) == 1:
    return outputs[0].name, 'logits'
  raise ValueError(f'cannot tell the frozen graph\'s output among '
                   f'{[n.name for n in outputs][:10]}; freeze it with '
                   'tools/freeze_graph.py '
                   '--output_node_names=<scope>/Predictions/Reshape_1.')


def _load_frozen_graph(path, model, data):
  graph_def = graph_io.read_graph_def(path)
  output, holds = _graph_output(graph_def)
  graph = tf.Graph()
  with graph.as_default():
    tf1.import_graph_def(graph_def, name='')
    try:
      images = graph.get_tensor_by_name('input:0')
    except KeyError:
      raise ValueError(f'--model={path} has no `input` node; export it with '
                       'network.py.') from None
    scores = graph.get_tensor_by_name(output + ':0')
    num_classes = scores.shape.as_list()[-1]
    if holds == 'logits':
      scores = tf.nn.softmax(scores)
    scores = tf.reshape(scores, [-1, num_classes])
  info = model_info.read_info(model_info.sidecar_path(path))
  if info is None:
    shape = images.shape.as_list()
    info = _info_from_specs(model, data, num_classes, image_size=shape[1])
  info.multi_label = info.multi_label or holds == 'sigmoid'
  return _SessionClassifier(info, 'frozen_graph', tf1.Session(graph=graph),
                            images, scores)


def _load_saved_model(path):
  info = model_info.read_info(os.path.join(path, model_info.SAVED_MODEL_INFO))
  if info is None:
    raise ValueError(f'--model={path} has no {model_info.SAVED_MODEL_INFO}; '
                     'export it with tools/export_saved_model.py.')
  graph = tf.Graph()
  session = tf1.Session(graph=graph)
  with graph.as_default():
    meta_graph = tf1.saved_model.loader.load(
        session, [tf1.saved_model.tag_constants.SERVING], path)
  signature = meta_graph.signature_def.get(model_info.IMAGES_SIGNATURE)
  if signature is None:
    session.close()
    raise ValueError(f'--model={path} has no {model_info.IMAGES_SIGNATURE} signature; '
                     'export it again with tools/export_saved_model.py.')
  return _SessionClassifier(info, 'saved_model', session,
                            signature.inputs['images'].name,
                            signature.outputs['probabilities'].name)


# What a float input takes without a record: (x - 127.5) / 127.5, the
# published float MobileNets' and TensorFlow Lite label_image's convention.
DEFAULT_INPUT_MEAN = 127.5
DEFAULT_INPUT_STD = 127.5
_TFLITE_TYPES = ('float32', 'uint8', 'int8')


def _load_tflite(path, model, data, pixels, num_threads=None):
  info = model_info.read_info(model_info.sidecar_path(path))
  interpreter = tflite_interpreter(model_path=path, num_threads=num_threads)
  if info is not None:
    return _TFLiteClassifier(info, interpreter)
  batch_size, height, width, channels = _tflite_input_layout(
      path, interpreter, model.image_size)
  num_classes = _tflite_num_classes(interpreter, batch_size or 1, height,
                                    width, channels)
  if model.model_name:
    # An exported model whose record is missing: the flags say the rest,
    # as for a bare frozen graph.
    if height != width:
      raise ValueError(f'--model={path} takes {height}x{width} images; '
                       '--model_name\'s preprocessing makes square ones: '
                       'leave --model_name out.')
    info = _info_from_specs(model, data, num_classes, image_size=height)
  else:
    info = model_info.ModelInfo(
        model_name=None, image_size=height if height == width else None,
        preprocessing_name=None,
        labels=[str(i) for i in range(num_classes)],
        use_grayscale=channels == 1,
        pixel_preprocessing=dict(
            height=height, width=width, channels=channels,
            **_pixel_scaling(path, interpreter.get_input_details()[0],
                             pixels)))
  info.tflite = {
      'input': tflite_tensor_record(interpreter.get_input_details()[0]),
      'output': tflite_tensor_record(interpreter.get_output_details()[0])}
  return _TFLiteClassifier(info, interpreter, batch_size)


def _tflite_input_layout(path, interpreter, image_size=None):
  """(batch size or None, height, width, channels) of a .tflite without a
  record, from its input tensor.

  Args:
    path: the model file, for messages.
    interpreter: its interpreter.
    image_size: --image_size, for a model that takes images of any size.

  Raises:
    ValueError: unless it has one image input (NHWC, 1 or 3 channels;
      float32, uint8 or int8) and one float32, uint8 or int8 output; for a
      model of any input size without image_size, or an image_size that
      differs from the model's.
  """
  inputs = interpreter.get_input_details()
  outputs = interpreter.get_output_details()
  if len(inputs) != 1 or len(outputs) != 1:
    raise ValueError(f'--model={path} has {len(inputs)} inputs and '
                     f'{len(outputs)} outputs; classify_images.py runs image '
                     'classifiers: one image input, one output of class '
                     'scores.')
  for kind, detail in (('input', inputs[0]), ('output', outputs[0])):
    dtype = np.dtype(detail['dtype']).name
    if dtype not in _TFLITE_TYPES:
      raise ValueError(f'--model={path}: its {kind} {detail["name"]!r} is '
                       f'{dtype}; classify_images.py takes '
                       f'{", ".join(_TFLITE_TYPES)} {kind}s.')
  shape = [int(d) for d in inputs[0]['shape_signature']]
  if len(shape) != 4 or shape[3] not in (1, 3):
    raise ValueError(f'--model={path} takes {inputs[0]["name"]!r} of shape '
                     f'{shape}; classify_images.py feeds images of shape '
                     '[batch, height, width, 3 or 1 channels].')
  batch_size, height, width, channels = [None if d < 0 else d
                                         for d in shape]
  if height is None or width is None:
    if not image_size:
      raise ValueError(f'--model={path} takes images of any size '
                       f'({shape}) and has no .json record to say which: '
                       'pass --image_size.')
    height = width = image_size
  elif image_size and (height, width) != (image_size, image_size):
    raise ValueError(f'--image_size={image_size}, but --model={path} takes '
                     f'{height}x{width} images: leave --image_size out.')
  return batch_size, height, width, channels


def _tflite_num_classes(interpreter, batch_size, height, width, channels):
  """How many scores the model gives per image, with its input shaped
  [batch_size, height, width, channels]."""
  interpreter.resize_tensor_input(interpreter.get_input_details()[0]['index'],
                                  [batch_size, height, width, channels])
  interpreter.allocate_tensors()
  shape = interpreter.get_output_details()[0]['shape']
  return int(np.prod(shape)) // batch_size


def _pixel_scaling(path, detail, pixels):
  """{'mean', 'std'} that turn 0-255 pixels into what the input takes.

  A float input takes (x - --input_mean) / --input_std. A uint8 input takes
  the pixels as they are and an int8 one the pixels - 128, as TensorFlow
  Lite's label_image feeds them: its scale and zero point then say what
  they mean ((q - zero point) * scale; the published quantized MobileNets'
  scale 1/128 and zero point 128 give (x - 128) / 128). The mean and std
  returned are those values, which the classifier quantizes back.

  Raises:
    ValueError: for --input_std=0.
  """
  if np.dtype(detail['dtype']) == np.float32:
    mean = DEFAULT_INPUT_MEAN if pixels.mean is None else pixels.mean
    std = DEFAULT_INPUT_STD if pixels.std is None else pixels.std
    if not std:
      raise ValueError(f'--input_std={std}: pixel values are divided by it; '
                       f'pass a nonzero value (default {DEFAULT_INPUT_STD}).')
    return {'mean': float(mean), 'std': float(std)}
  scale, zero_point = _quantization(detail)
  shift = -128 if np.dtype(detail['dtype']) == np.int8 else 0
  return {'mean': float(zero_point - shift), 'std': 1 / scale}


def load(path, model=None, data=None, pixels=None, num_threads=None):
  """The Classifier of the model at `path`.

  What the model carries (an export's record, a .tflite's tensors) wins;
  the records say the rest, for a model without them.

  Args:
    path: a checkpoint (prefix or folder), a frozen GraphDef, a SavedModel
      folder or a .tflite file.
    model: a specs.ModelSpec: the network of a checkpoint, or of a frozen
      graph or .tflite without its record (model_name None: none named),
      its preprocessing, image size (also the size a .tflite of any input
      size is fed) and grayscale input; a checkpoint's moving averages
      (moving_average_decay) and quantized graph (quantize, as eval
      --quantize builds). None: no network named.
    data: a specs.DataSpec: the dataset whose class count and names
      (dataset_name, dataset_dir, labels_offset) a checkpoint or a model
      without its record takes. None: none.
    pixels: a PixelScaling for a float .tflite without a record; None:
      the defaults.
    num_threads: the TFLite interpreter's threads (None: its default).

  Returns:
    A Classifier.

  Raises:
    ValueError: for an unknown format, a missing record, or a network or
      dataset that the records name wrongly.
    cli.UserError: for a checkpoint that does not fit, or a network that
      --quantize cannot quantize.
  """
  model = model or _NO_MODEL
  data = data or _NO_DATA
  model_format = detect_format(path)
  if model_format == 'checkpoint':
    return _load_checkpoint(path, model, data)
  if model_format == 'frozen_graph':
    return _load_frozen_graph(path, model, data)
  if model_format == 'saved_model':
    return _load_saved_model(path)
  return _load_tflite(path, model, data, pixels or _NO_SCALING, num_threads)
