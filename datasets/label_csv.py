"""Reads the CSV that gives a custom dataset several labels per image.

    filename,labels
    beach/001.jpg,sea sky people
    beach/002.jpg,sea
    /data/extra/003.png,sky
    city/004.png,

One row per image: its path, relative to the CSV's folder or absolute, and
its class names separated by spaces (a row may have none: an image of no
class). The header names the two columns, in either order. Class ids are
the positions of the names in the sorted list of names the CSV uses, or in
a fixed `--labels_file`.

Every problem is a `DatasetError` of one line naming the CSV and the row
(the line the row ends on; the header is row 1), found before anything is
written.
"""
import csv
import io
import os
import re
import typing

from datasets import image_coding
from datasets.errors import DatasetError

__all__ = ['LabelledImage', 'COLUMNS', 'read_csv', 'read_labels_file',
           'class_names_in', 'label_ids', 'check_files']

COLUMNS = ('filename', 'labels')
_LABELS_TXT_LINE = re.compile(r'(\d+):(.*)\Z')


class LabelledImage(typing.NamedTuple):
  """One row of the CSV.

  Attributes:
    row: the CSV line the row ends on (the header is row 1).
    filename: the path as the CSV gives it.
    path: the absolute, normalised path of the image.
    class_names: the row's distinct class names, sorted.
  """
  row: int
  filename: str
  path: str
  class_names: typing.Tuple[str, ...]


def _read_text(path, flag):
  """The text of a UTF-8 file (a byte-order mark is allowed)."""
  if not os.path.exists(path):
    raise DatasetError('%s=%s does not exist' % (flag, path))
  if not os.path.isfile(path):
    raise DatasetError('%s=%s is not a file' % (flag, path))
  try:
    with open(path, 'r', encoding='utf-8-sig', newline='') as f:
      return f.read()
  except UnicodeDecodeError as e:
    raise DatasetError('%s=%s is not UTF-8 text (%s)' % (flag, path, e)) \
        from None


def _column_order(header, csv_path):
  """The index of each of COLUMNS in the header row."""
  names = [cell.strip() for cell in header]
  expected = ','.join(COLUMNS)
  unknown = [name for name in names if name not in COLUMNS]
  if unknown:
    raise DatasetError(
        '%s row 1: unknown column %r; the first row must be the header %s '
        '(received %s)' % (csv_path, unknown[0], expected, ','.join(names)))
  if sorted(names) != sorted(COLUMNS):
    raise DatasetError('%s row 1: the header must name the columns %s once '
                       'each; received %s' % (csv_path, expected,
                                              ','.join(names)))
  return [names.index(column) for column in COLUMNS]


def _parse_row(cells, order, row, csv_path, csv_dir):
  if len(cells) != len(COLUMNS):
    raise DatasetError(
        '%s row %d: expected %d fields (%s), found %d; separate class names '
        'by spaces, and quote a filename that holds a comma'
        % (csv_path, row, len(COLUMNS), ','.join(COLUMNS), len(cells)))
  filename, labels = (cells[index].strip() for index in order)
  if not filename:
    raise DatasetError('%s row %d: the filename is empty' % (csv_path, row))
  path = os.path.normpath(os.path.join(csv_dir, filename))
  return LabelledImage(row, filename, path, tuple(sorted(set(labels.split()))))


def read_csv(csv_path, flag='--source_csv'):
  """Reads the rows of a label CSV.

  Args:
    csv_path: the CSV file.
    flag: the flag that named it, for the messages.

  Returns:
    A list of `LabelledImage`, in file order.

  Raises:
    DatasetError: the file is missing or not UTF-8, has no header or another
      one, a row is malformed (bad quoting, a wrong number of fields, no
      filename), lists an image twice, or there is no row.
  """
  text = _read_text(csv_path, flag)
  csv_dir = os.path.dirname(os.path.abspath(csv_path))
  reader = csv.reader(io.StringIO(text, newline=''), strict=True)
  images, rows_by_path, order = [], {}, None
  try:
    for cells in reader:
      if not any(cell.strip() for cell in cells):
        continue  # A blank line.
      if order is None:
        order = _column_order(cells, csv_path)
        continue
      image = _parse_row(cells, order, reader.line_num, csv_path, csv_dir)
      if image.path in rows_by_path:
        raise DatasetError('%s row %d: %s is already listed on row %d' % (
            csv_path, image.row, image.filename, rows_by_path[image.path]))
      rows_by_path[image.path] = image.row
      images.append(image)
  except csv.Error as e:
    raise DatasetError('%s row %d: malformed CSV (%s)' % (
        csv_path, reader.line_num, e)) from None
  if order is None:
    raise DatasetError('%s is empty; its first row must be the header %s'
                       % (csv_path, ','.join(COLUMNS)))
  if not images:
    raise DatasetError('%s has a header but no image rows' % csv_path)
  return images


def read_labels_file(labels_file):
  """Reads a fixed list of class names, their ids in file order.

  One name a line; blank lines are ignored. A file of `N:name` lines, as
  labels.txt holds them, is read too when every N is the line's id.

  Args:
    labels_file: the file (`--labels_file`).

  Returns:
    The tuple of class names, index = class id.

  Raises:
    DatasetError: the file is missing, empty, or has a name twice or a name
      with whitespace (which the CSV's labels column could never give).
  """
  lines = [line.strip() for line in
           _read_text(labels_file, '--labels_file').splitlines()]
  lines = [line for line in lines if line]
  if not lines:
    raise DatasetError('--labels_file=%s has no class names; write one a '
                       'line' % labels_file)
  matches = [_LABELS_TXT_LINE.match(line) for line in lines]
  if all(match and int(match.group(1)) == index
         for index, match in enumerate(matches)):
    lines = [match.group(2).strip() for match in matches]
  seen = {}
  for index, name in enumerate(lines):
    if not name or len(name.split()) != 1:
      raise DatasetError('--labels_file=%s: class name %r holds whitespace '
                         'or is empty; the CSV separates names by spaces'
                         % (labels_file, name))
    if name in seen:
      raise DatasetError('--labels_file=%s: class name %r is listed twice '
                         '(ids %d and %d)' % (labels_file, name, seen[name],
                                              index))
    seen[name] = index
  return tuple(lines)


def class_names_in(images, csv_path):
  """The sorted class names the rows use.

  Raises:
    DatasetError: no row has a class name.
  """
  names = sorted({name for image in images for name in image.class_names})
  if not names:
    raise DatasetError('%s: no row has a class name in its labels column; '
                       'give at least one, or pass --labels_file' % csv_path)
  return tuple(names)


def label_ids(images, class_names, csv_path, labels_file=None):
  """The sorted class ids of every row.

  Args:
    images: the `LabelledImage`s.
    class_names: the class names, index = class id.
    csv_path: the CSV, for messages.
    labels_file: the file `class_names` came from, for messages.

  Returns:
    A list of int tuples, one per image.

  Raises:
    DatasetError: a row names a class that `class_names` lacks.
  """
  ids = {name: index for index, name in enumerate(class_names)}
  result = []
  for image in images:
    unknown = [name for name in image.class_names if name not in ids]
    if unknown:
      raise DatasetError('%s row %d: unknown class name %r, not in '
                         '--labels_file=%s' % (csv_path, image.row,
                                               unknown[0], labels_file))
    result.append(tuple(sorted(ids[name] for name in image.class_names)))
  return result


def check_files(images, csv_path):
  """Checks, opening nothing, that every row's image is a regular file.

  Raises:
    DatasetError: naming the first row whose file is missing or not a
      regular file, and how many more rows have one.
  """
  problems = [(image, image_coding.file_problem(image.path))
              for image in images]
  problems = [(image, problem) for image, problem in problems if problem]
  if problems:
    image, problem = problems[0]
    more = (' (and %d more rows with missing or unusable files)'
            % (len(problems) - 1) if len(problems) > 1 else '')
    raise DatasetError('%s row %d: %s %s%s; fix or remove the row' % (
        csv_path, image.row, image.filename, problem, more))
