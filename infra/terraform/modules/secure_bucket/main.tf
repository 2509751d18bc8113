# One S3 bucket with modelbay's invariants: versioned, KMS-encrypted, blocked
# from the public, owner-enforced, TLS-only, access-logged, lifecycle-managed.

terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

variable "bucket" {
  description = "Globally unique bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for default encryption."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's server access logs."
  type        = string
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent versions are removed."
  type        = number
}

variable "current_transition_days" {
  description = "Days after which current objects move to STANDARD_IA; 0 disables."
  type        = number
  default     = 0
}

variable "current_expiration_days" {
  description = "Days after which current objects expire; 0 disables."
  type        = number
  default     = 0
}

variable "extra_policy_json" {
  description = "Extra bucket policy statements (JSON policy document) merged with the TLS-only statement."
  type        = string
  default     = null
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_144:Single-region service; objects are versioned and the registry is rebuildable from data. Replication is an opt-in cost, enable per account.
  # checkov:skip=CKV2_AWS_62:Event notifications are configured by the caller (the data bucket notifies SQS); models and results buckets have no consumer of events.
  bucket        = var.bucket
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.bucket}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "noncurrent-versions-and-incomplete-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  dynamic "rule" {
    for_each = var.current_transition_days > 0 || var.current_expiration_days > 0 ? [1] : []
    content {
      id     = "age-out-current-objects"
      status = "Enabled"

      filter {}

      dynamic "transition" {
        for_each = var.current_transition_days > 0 ? [var.current_transition_days] : []
        content {
          days          = transition.value
          storage_class = "STANDARD_IA"
        }
      }

      dynamic "expiration" {
        for_each = var.current_expiration_days > 0 ? [var.current_expiration_days] : []
        content {
          days = expiration.value
        }
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = var.extra_policy_json == null ? [] : [var.extra_policy_json]

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
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

  statement {
    sid     = "DenyOutdatedTLS"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

output "id" {
  description = "Bucket name."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}
