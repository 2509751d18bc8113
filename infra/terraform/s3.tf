# The three stores of DESIGN §2, plus the bucket receiving access logs.

module "data_bucket" {
  source = "./modules/secure_bucket"

  bucket                             = "${local.bucket_prefix}-data"
  kms_key_arn                        = local.kms_key_arn
  access_log_bucket                  = aws_s3_bucket.logs.id
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
}

module "models_bucket" {
  source = "./modules/secure_bucket"

  bucket                             = "${local.bucket_prefix}-models"
  kms_key_arn                        = local.kms_key_arn
  access_log_bucket                  = aws_s3_bucket.logs.id
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
}

module "results_bucket" {
  source = "./modules/secure_bucket"

  bucket                             = "${local.bucket_prefix}-results"
  kms_key_arn                        = local.kms_key_arn
  access_log_bucket                  = aws_s3_bucket.logs.id
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  current_transition_days            = var.results_transition_days
  current_expiration_days            = var.results_expiration_days
}

# New data -> SQS -> `modelbay worker` retrains (DESIGN §7).
resource "aws_s3_bucket_notification" "data" {
  bucket = module.data_bucket.id

  queue {
    queue_arn     = aws_sqs_queue.data_events.arn
    events        = ["s3:ObjectCreated:*"]
    filter_suffix = ".csv"
  }

  depends_on = [aws_sqs_queue_policy.data_events]
}

# Access logs of the stores and of the load balancer. S3 server access logging
# and ALB logs can only be delivered to a bucket encrypted with SSE-S3.
resource "aws_s3_bucket" "logs" {
  # checkov:skip=CKV_AWS_18:This is the access-log target; logging it into itself would loop.
  # checkov:skip=CKV_AWS_144:Access logs are kept in-region only; replication is not worth their cost.
  # checkov:skip=CKV_AWS_145:S3 server access logs and ALB logs support only SSE-S3 (AES256) on the target bucket.
  # checkov:skip=CKV2_AWS_62:Nothing consumes events of the log bucket.
  bucket        = "${local.bucket_prefix}-logs"
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_elb_service_account" "this" {}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # Regions opened after August 2022 deliver ALB logs as a service principal;
  # older ones as the region's Elastic Load Balancing account.
  statement {
    sid       = "LoadBalancerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid       = "LoadBalancerAccessLogsLegacyRegions"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.this.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs.arn,
      "${aws_s3_bucket.logs.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
