"""The seed's train.py approach, for comparison with `modelbay train`:
pandas read_csv, LabelEncoder on Country, MinMaxScaler, train_test_split,
XGBClassifier with the same parameters, joblib dump of model + scaler +
metadata. Usage: seed_train.py CSV OUT_DIR THREADS"""
import json
import sys
import time
from pathlib import Path

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder, MinMaxScaler
from xgboost import XGBClassifier


def main(csv: str, out: str, threads: int) -> None:
    t0 = time.time()
    df = pd.read_csv(csv)
    encoder = LabelEncoder()
    df["Country"] = encoder.fit_transform(df["Country"])
    x = df.drop(columns=["churn"])
    y = df["churn"]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
    scaler = MinMaxScaler()
    x_train = scaler.fit_transform(x_train)
    x_test = scaler.transform(x_test)
    model = XGBClassifier(max_depth=6, learning_rate=0.3, n_estimators=100, tree_method="hist", n_jobs=threads)
    model.fit(x_train, y_train)
    proba = model.predict_proba(x_test)[:, 1]
    metrics = {"accuracy": accuracy_score(y_test, proba > 0.5), "roc_auc": roc_auc_score(y_test, proba)}
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out_dir / "model.joblib")
    joblib.dump(scaler, out_dir / "scaler.joblib")
    (out_dir / "metadata.json").write_text(json.dumps({"metrics": metrics, "seconds": time.time() - t0}))
    print(json.dumps(metrics))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
