"""modelbay's SigV4 signer against botocore's (an independent implementation)
on awkward requests: unicode and reserved characters in paths and query
strings, repeated and empty query parameters, session tokens, ports, S3 and
non-S3 services. Both sign with the same fixed time."""
from __future__ import annotations

import datetime
import hashlib
import json
import subprocess
from unittest import mock
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import modelbay_binary

TIME = "20240229T235959Z"
FIXED = datetime.datetime(2024, 2, 29, 23, 59, 59)

CASES = [
    dict(name="s3-get-unicode-key-with-range", method="GET", host="examplebucket.s3.amazonaws.com",
         path="/données/été 2024/ünï côdé+plus=eq&amp.csv", headers=[["Range", "bytes=0-9"]]),
    dict(name="s3-list-awkward-prefix", method="GET", host="127.0.0.1:8333", path="/mb-data",
         query=[["list-type", "2"], ["prefix", "a b/c+d=e&f/ü~*'()!"],
                ["continuation-token", "1/abc+def==/ghi"]]),
    dict(name="s3-delete-objects-empty-param", method="POST", host="s3.eu-west-1.amazonaws.com",
         path="/bucket.with.dots", query=[["delete", ""]], region="eu-west-1",
         headers=[["Content-MD5", "kAFQmDzST7DWlj99KOF/cg=="], ["Content-Type", "application/xml"]],
         body="<Delete><Object><Key>a</Key></Object></Delete>"),
    dict(name="s3-put-session-token", method="PUT", host="bucket.s3.us-west-2.amazonaws.com",
         path="/models/1/model.json", region="us-west-2", body='{"x": 1}',
         headers=[["If-None-Match", "*"], ["X-Custom", "  spaced   out  value "]],
         session_token="FwoGZXIvYXdzEBYaDH+/token==with/slash"),
    dict(name="s3-upload-part-repeated-params", method="PUT", host="localhost:9000",
         path="/b/big file.bin", query=[["uploadId", "2~VERYlong/id+=="], ["partNumber", "3"]],
         body="x" * 1000),
    dict(name="s3-reserved-path-chars", method="GET", host="b.s3.amazonaws.com",
         path="/a:b@c$d,e;f!g'h(i)j*k[l]m%n", query=[["versions", ""], ["key-marker", "%2F"]]),
    dict(name="sqs-post-form", method="POST", host="sqs.us-east-1.amazonaws.com",
         path="/123456789012/my-queue", service="sqs",
         headers=[["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"]],
         body="Action=ReceiveMessage&MaxNumberOfMessages=10&Version=2012-11-05",
         session_token="IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"),
    dict(name="sqs-path-with-space", method="GET", host="sqs.us-east-1.amazonaws.com",
         path="/queue name/ü", service="sqs", query=[["Action", "ListQueues"], ["QueueNamePrefix", "a b"]]),
]


def botocore_headers(case: dict) -> dict:
    service = case.get("service", "s3")
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", case.get("session_token"))
    signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(creds, service, case.get("region", "us-east-1"))
    url = "http://" + case["host"] + quote(case["path"], safe="/~")
    req = AWSRequest(method=case["method"], url=url, data=case.get("body", "").encode(),
                     headers=dict(case.get("headers", [])), params=[tuple(p) for p in case.get("query", [])])

    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return FIXED

    with mock.patch("botocore.auth.datetime.datetime", FixedDatetime):
        signer.add_auth(req)
    return {k.lower(): v for k, v in req.headers.items()}


def modelbay_headers(case: dict) -> dict:
    body = case.get("body", "").encode()
    spec = {
        "method": case["method"], "host": case["host"], "path": case["path"],
        "query": case.get("query", []), "headers": case.get("headers", []),
        "payload_sha256": hashlib.sha256(body).hexdigest(), "region": case.get("region", "us-east-1"),
        "service": case.get("service", "s3"), "access_key": "AKIDEXAMPLE",
        "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "session_token": case.get("session_token", ""), "time": TIME,
    }
    out = subprocess.run([str(modelbay_binary()), "debug-sigv4"], input=json.dumps(spec), capture_output=True,
                         text=True, check=True, timeout=30)
    return json.loads(out.stdout)["headers"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_signature_matches_botocore(case):
    ours = modelbay_headers(case)
    theirs = botocore_headers(case)
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-date"] == theirs["x-amz-date"] == TIME
    if case.get("service", "s3") == "s3":
        assert ours["x-amz-content-sha256"] == theirs["x-amz-content-sha256"]
    else:
        assert "x-amz-content-sha256" not in ours
    if case.get("session_token"):
        assert ours["x-amz-security-token"] == theirs["x-amz-security-token"] == case["session_token"]
