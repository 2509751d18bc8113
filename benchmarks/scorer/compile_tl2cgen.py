"""Compiles an XGBoost JSON model to a shared library with tl2cgen (the
scorer benchmark's batch peer): treelite reads the model, tl2cgen writes C
and builds it with gcc.

    python compile_tl2cgen.py MODEL_JSON OUT_SO
"""
import sys

import tl2cgen
import treelite

model_json, out_so = sys.argv[1:3]
model = treelite.frontend.load_xgboost_model(model_json)
tl2cgen.export_lib(model, toolchain="gcc", libpath=out_so, params={"parallel_comp": 2}, nthread=2)
print(f"tl2cgen {tl2cgen.__version__} (treelite {treelite.__version__}): {out_so}")
