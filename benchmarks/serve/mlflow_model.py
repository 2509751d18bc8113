"""The peer's model, logged the way MLflow users do it: an sklearn Pipeline
with the same preprocessing as modelbay (min-max scaling of numeric columns,
category codes for text columns, unseen -> missing) and an XGBClassifier with
the same parameters as modelbay's version, trained on the same CSV, saved
with mlflow.sklearn.save_model so `mlflow models serve` takes the same raw rows.

    python mlflow_model.py DATA.csv PREPROCESSOR_JSON METADATA_JSON OUT_DIR
"""
import json
import sys

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OrdinalEncoder
from xgboost import XGBClassifier

data_csv, prep_json, meta_json, out_dir = sys.argv[1:5]
prep = json.load(open(prep_json))
meta = json.load(open(meta_json))
features = [f["name"] for f in prep["features"]]
numeric = [f["name"] for f in prep["features"] if f["type"] == "numeric"]
categorical = [f["name"] for f in prep["features"] if f["type"] == "categorical"]
df = pd.read_csv(data_csv)
y = df[prep["target"]].astype(str).map({l: i for i, l in enumerate(prep["class_labels"])})
X = df[features].copy()
for c in categorical:
    X[c] = X[c].astype(str)

params = {k: v for k, v in (meta.get("params") or {}).items()
          if k in ("max_depth", "eta", "learning_rate", "subsample", "colsample_bytree", "min_child_weight",
                   "lambda", "alpha", "n_estimators", "num_boost_round", "tree_method")}
# modelbay's metadata stores most parameters as strings ("6", "0.3").
params = {k: (v if k == "tree_method" else float(v)) for k, v in params.items()}
for k in ("max_depth", "num_boost_round", "n_estimators"):
    if k in params:
        params[k] = int(params[k])
n_estimators = int(params.pop("num_boost_round", params.pop("n_estimators", 100)))
if "eta" in params:
    params["learning_rate"] = params.pop("eta")
pre = ColumnTransformer([
    ("num", MinMaxScaler(), numeric),
    ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=float("nan")), categorical),
])
pipe = Pipeline([("pre", pre), ("model", XGBClassifier(n_estimators=n_estimators, **params))])
pipe.fit(X, y)
mlflow.sklearn.save_model(pipe, out_dir, signature=infer_signature(X.head(5), pipe.predict(X.head(5))),
                          pyfunc_predict_fn="predict_proba")
print(f"saved {out_dir} ({n_estimators} trees, params {params})")
