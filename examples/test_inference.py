"""The seed's client for the inference service, working.

Sends the seed's request to POST /inference and prints the status and body:

    python examples/test_inference.py                        # http://localhost:8000/inference
    python examples/test_inference.py http://host:9000/inference
    MODELBAY_URL=http://host:9000/inference python examples/test_inference.py

Set MODELBAY_API_TOKEN when the server requires a bearer token.
"""
import json
import os
import sys

import requests

url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MODELBAY_URL", "http://localhost:8000/inference")
data = {
    "data": [["aa", 2, 2]],
    "model_version": "1",
}
headers = {}
if os.environ.get("MODELBAY_API_TOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["MODELBAY_API_TOKEN"]

response = requests.post(url, json=data, headers=headers, timeout=30)
print(response.status_code)
try:
    print(json.dumps(response.json(), indent=2))
except ValueError:
    print(response.text)
sys.exit(0 if response.ok else 1)
