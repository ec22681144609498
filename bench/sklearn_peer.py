"""The scikit-learn side of bench/defaults.ts: fixed train/test splits of the small data sets bundled
with scikit-learn, written as CSV for our engine, and the scores of MLPClassifier() / MLPRegressor()
with their defaults (after a StandardScaler, as is usual) on the same splits.

    /usr/bin/python3 bench/sklearn_peer.py --out DIR [--splits 5] [--seeds 1,2,3] [--fashion DIR_WITH_IDX]

Each set is split --splits times (a quarter held out, stratified for classification, random_state
0, 1, …) into DIR/<name>-<k>-train.csv and -test.csv: a test set of 38 rows (iris) moves 2.6 points
per row, so one split alone cannot tell two methods apart by one point. Prints one JSON object:
{name: {task, trainRows, testRows, features, metric, splits, sklearn: [score per split and seed],
sklearnLoss: [final training loss, likewise], sklearnEpochs, sklearnSeconds}}. Accuracy for
classification, R² for regression. Nothing is downloaded: only data sets that ship inside
scikit-learn are used.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

BUNDLED = {
    "iris": (datasets.load_iris, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "breast_cancer": (datasets.load_breast_cancer, "classification"),  # binary
    "digits": (datasets.load_digits, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),  # target in its own units, 25..346
}


def write_csv(path, x, y):
    header = ",".join([f"f{j}" for j in range(x.shape[1])] + ["target"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="", fmt="%.9g")


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def run_sklearn(task, x_train, y_train, x_test, y_test, seed):
    model = (MLPClassifier if task == "classification" else MLPRegressor)(random_state=seed)
    pipe = make_pipeline(StandardScaler(), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(x_train, y_train)
    return pipe.score(x_test, y_test), model.loss_, model.n_iter_


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--only", default="")
    parser.add_argument("--fashion", default="", help="folder of the Fashion-MNIST IDX files: also run sklearn on it (slow)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    only = set(filter(None, args.only.split(",")))
    report = {}
    jobs = [(name, *loader()) for name, loader in ((n, (lambda f=f, t=t: (f(), t))) for n, (f, t) in BUNDLED.items())]
    for name, bunch, task in jobs:
        if only and name not in only:
            continue
        x, y = bunch.data.astype(np.float64), bunch.target
        started = time.time()
        runs = []
        for k in range(args.splits):
            x_train, x_test, y_train, y_test = train_test_split(
                x, y, test_size=0.25, random_state=k, stratify=y if task == "classification" else None)
            write_csv(os.path.join(args.out, f"{name}-{k}-train.csv"), x_train, y_train)
            write_csv(os.path.join(args.out, f"{name}-{k}-test.csv"), x_test, y_test)
            runs += [run_sklearn(task, x_train, y_train, x_test, y_test, s) for s in seeds]
        report[name] = {
            "task": task, "trainRows": len(x_train), "testRows": len(x_test), "features": x.shape[1],
            "metric": "accuracy" if task == "classification" else "r2", "splits": args.splits,
            "sklearn": [r[0] for r in runs], "sklearnLoss": [r[1] for r in runs], "sklearnEpochs": [r[2] for r in runs],
            "sklearnSeconds": (time.time() - started) / len(runs),
        }
        print(f"{name}: sklearn {np.mean([r[0] for r in runs]):.4f}", file=sys.stderr)
    if args.fashion:
        def idx(name):
            for candidate in (name + ".gz", name):
                path = os.path.join(args.fashion, candidate)
                if os.path.exists(path):
                    return read_idx(path)
            raise FileNotFoundError(name)
        x_train = idx("train-images-idx3-ubyte").reshape(60000, -1).astype(np.float64)
        y_train = idx("train-labels-idx1-ubyte")
        x_test = idx("t10k-images-idx3-ubyte").reshape(10000, -1).astype(np.float64)
        y_test = idx("t10k-labels-idx1-ubyte")
        started = time.time()
        score, loss, epochs = run_sklearn("classification", x_train, y_train, x_test, y_test, seeds[0])
        report["fashion"] = {
            "task": "classification", "trainRows": 60000, "testRows": 10000, "features": 784, "metric": "accuracy", "splits": 1,
            "sklearn": [score], "sklearnLoss": [loss], "sklearnEpochs": [epochs], "sklearnSeconds": time.time() - started,
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
