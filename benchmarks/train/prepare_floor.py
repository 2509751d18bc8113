"""Writes the pre-encoded training arrays for the floor (XGBoost fit alone):
the same encoding and split as seed_train.py, as raw little-endian float32.
Usage: prepare_floor.py CSV OUT_DIR"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder, MinMaxScaler

df = pd.read_csv(sys.argv[1])
df["Country"] = LabelEncoder().fit_transform(df["Country"])
x = df.drop(columns=["churn"])
y = df["churn"]
x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
x_train = MinMaxScaler().fit_transform(x_train)
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
np.ascontiguousarray(x_train, dtype="<f4").tofile(out / "x_train.f32")
np.ascontiguousarray(y_train, dtype="<f4").tofile(out / "y_train.f32")
(out / "shape.txt").write_text(f"{x_train.shape[0]} {x_train.shape[1]}\n")
