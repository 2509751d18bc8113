"""Small valid model artifacts for registry tests, and helpers that craft
hostile ones (issue 12: a model is untrusted input)."""
from __future__ import annotations

import hashlib
import json


def tiny_model(leaf: float = 0.5) -> bytes:
    """The smallest valid XGBoost 1.7 JSON model modelbay accepts:
    binary:logistic on two features, one tree splitting feature 0 at 0.5."""
    tree = {"base_weights": [0, -leaf, leaf], "categories": [], "categories_nodes": [], "categories_segments": [],
            "categories_sizes": [], "default_left": [0, 0, 0], "id": 0, "left_children": [1, -1, -1],
            "loss_changes": [1, 0, 0], "parents": [2147483647, 0, 0], "right_children": [2, -1, -1],
            "split_conditions": [0.5, -leaf, leaf], "split_indices": [0, 0, 0], "split_type": [0, 0, 0],
            "sum_hessian": [10, 5, 5],
            "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "3", "size_leaf_vector": "0"}}
    model = {"learner": {
        "attributes": {}, "feature_names": [], "feature_types": [],
        "gradient_booster": {"model": {"gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1",
                                                              "size_leaf_vector": "0"},
                                       "tree_info": [0], "trees": [tree]}, "name": "gbtree"},
        "learner_model_param": {"base_score": "5E-1", "boost_from_average": "1", "num_class": "0",
                                "num_feature": "2", "num_target": "1"},
        "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}},
        "version": [1, 7, 4]}
    return json.dumps(model).encode()


TINY_PREPROCESSOR = json.dumps({
    "format": "modelbay-preprocessor", "format_version": 1, "target": "churn", "task": "binary",
    "class_labels": ["0", "1"], "labels_numeric": True,
    "features": [{"name": "a", "type": "numeric", "min": 0, "max": 1},
                 {"name": "b", "type": "numeric", "min": 0, "max": 1}]}).encode()


def checksum(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def trees(doc: dict) -> list[dict]:
    return doc["learner"]["gradient_booster"]["model"]["trees"]


def first_inner_node(tree: dict) -> int:
    """The first internal node below the root."""
    return next(i for i, left in enumerate(tree["left_children"]) if i > 0 and left != -1)


def split_index_out_of_range(doc: dict) -> str:
    trees(doc)[0]["split_indices"][0] = 1000000
    return "tree 0, node 0: split index 1000000 is not a feature"


def child_back_to_the_root(doc: dict) -> str:
    tree = trees(doc)[0]
    node = first_inner_node(tree)
    tree["left_children"][node] = 0
    return f"tree 0, node {node}: left child 0 does not come after the node"


def child_out_of_range(doc: dict) -> str:
    trees(doc)[1]["right_children"][0] = 999999
    return "tree 1, node 0: right child 999999 is out of range"


# name -> mutation of a parsed model.json returning the expected error text.
MUTATIONS = {
    "split index 1,000,000": split_index_out_of_range,
    "child pointing back to the root": child_back_to_the_root,
    "child index out of range": child_out_of_range,
}
