"""The peer figure for the search test (test/http/searches.test.ts): scikit-learn's tuned MLP on the
Wisconsin breast-cancer set (UCI, CC BY 4.0, as sklearn ships it).

Writes the fixed split the test uses, test/fixtures/breast-cancer-{train,test}.csv (80/20, stratified,
random_state=0; columns f0..f29 then `label`), then tunes MLPClassifier with GridSearchCV over the grid
the test searches (2 widths x 2 activations x 3 learning rates; 5-fold CV on the training rows; inputs
standardised) and prints the tuned model's accuracy on the held-out rows.

Run with Debian's python: /usr/bin/python3 bench/search_peer.py
"""
import csv
import json
import os
import sys
import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "test", "fixtures")
x, y = load_breast_cancer(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)

def write(path, xs, ys):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"f{i}" for i in range(xs.shape[1])] + ["label"])
        for row, label in zip(xs, ys):
            w.writerow([repr(float(v)) for v in row] + [int(label)])

os.makedirs(out, exist_ok=True)
write(os.path.join(out, "breast-cancer-train.csv"), x_train, y_train)
write(os.path.join(out, "breast-cancer-test.csv"), x_test, y_test)

warnings.simplefilter("ignore", ConvergenceWarning)
grid = {
    "mlpclassifier__hidden_layer_sizes": [(16,), (64,)],
    "mlpclassifier__activation": ["relu", "tanh"],
    "mlpclassifier__learning_rate_init": [0.001, 0.01, 0.1],
}
pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0))
search = GridSearchCV(pipe, grid, cv=5, n_jobs=1).fit(x_train, y_train)
print(json.dumps({
    "peer": "sklearn GridSearchCV(MLPClassifier)", "best_params": {k.split("__")[1]: v for k, v in search.best_params_.items()},
    "cv_accuracy": round(search.best_score_, 4), "test_accuracy": round(search.score(x_test, y_test), 4),
    "train_rows": len(y_train), "test_rows": len(y_test),
}, default=str))
