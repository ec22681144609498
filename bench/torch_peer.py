"""The PyTorch side of `npm run bench -- --peer torch`: the same network and training as bench/train.ts's
run of our engine (784-H-10, ReLU/tanh/sigmoid hidden layer, softmax + cross-entropy, SGD with
momentum, the same batch size, epochs and shuffling each epoch, inputs x/255), on CPU.

    /usr/bin/python3 bench/torch_peer.py --data DIR --hidden 128 --batch 32 --epochs 1 \
        [--activation relu] [--lr 0.01] [--momentum 0.9] [--seed 1] [--threads 1]

Prints one JSON line in bench/train.ts's RunResult shape. The training loop is the plain one a
PyTorch user writes (index a shuffled permutation, forward, cross_entropy, backward, step), timed
from the first minibatch to the last, data loading and the test-set evaluation excluded. Exits 3
without output when torch is not importable, so the bench can skip the peer quietly.
"""
import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit(3)


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def load(directory, prefix):
    def find(name):
        for candidate in (name + ".gz", name):
            path = os.path.join(directory, candidate)
            if os.path.exists(path):
                return path
        raise SystemExit(f"{os.path.join(directory, name)}(.gz) not found")

    images = read_idx(find(f"{prefix}-images-idx3-ubyte")).reshape(-1, 784).float() / 255
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte")).long()
    return images, labels


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--activation", default="relu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = load(a.data, "train")
    tx, ty = load(a.data, "t10k")
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[a.activation]
    model = torch.nn.Sequential(torch.nn.Linear(784, a.hidden), act(), torch.nn.Linear(a.hidden, 10))
    # PyTorch's momentum: buf ← m·buf + g, w ← w − lr·buf; the same iterates as ours for a fixed lr.
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    rows = x.shape[0]
    training = 0.0
    for epoch in range(1, a.epochs + 1):
        started = time.perf_counter()
        cpu = time.process_time()
        order = torch.randperm(rows)
        total = 0.0
        for start in range(0, rows, a.batch):
            idx = order[start : start + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        seconds = time.perf_counter() - started
        training += seconds
        print(f"torch: epoch {epoch}/{a.epochs} {seconds:.2f} s, {round(rows / seconds)} samples/s "
              f"({round(rows / (time.process_time() - cpu))} per CPU-second), loss {total / rows:.4f}", file=sys.stderr)
    with torch.no_grad():
        accuracy = (model(tx).argmax(1) == ty).float().mean().item()
    samples = rows * a.epochs
    flops = 2 * 784 * a.hidden * 2 + 2 * a.hidden * 10 * 3
    print(json.dumps({
        "engine": f"torch-{torch.__version__}-cpu", "hidden": a.hidden, "activation": a.activation,
        "batch": a.batch, "epochs": a.epochs, "threads": a.threads,
        "samplesPerSec": round(samples / training),
        "gflops": round(flops * samples / (training * 1e9), 2),
        "testAccuracy": round(accuracy, 4),
        "rssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


main()
