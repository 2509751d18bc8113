# Data-arrival events for `modelbay worker --queue-url` (DESIGN §7).

resource "aws_sqs_queue" "data_events_dlq" {
  name                      = "${local.prefix}-data-events-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
}

resource "aws_sqs_queue" "data_events" {
  name                       = "${local.prefix}-data-events"
  visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  message_retention_seconds  = 345600
  receive_wait_time_seconds  = 20
  kms_master_key_id          = local.kms_key_arn

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.data_events_dlq.arn
    maxReceiveCount     = var.queue_max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "data_events_dlq" {
  queue_url = aws_sqs_queue.data_events_dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.data_events.arn]
  })
}

data "aws_iam_policy_document" "data_events" {
  statement {
    sid       = "DataBucketSendsEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.data_events.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [module.data_bucket.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.data_events.arn]

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

resource "aws_sqs_queue_policy" "data_events" {
  queue_url = aws_sqs_queue.data_events.id
  policy    = data.aws_iam_policy_document.data_events.json
}
