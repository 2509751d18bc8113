resource "aws_cloudwatch_log_group" "serve" {
  name              = "/ecs/${local.prefix}/serve"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_cloudwatch_log_group" "train" {
  name              = "/ecs/${local.prefix}/train"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/ecs/${local.prefix}/worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_cloudwatch_log_group" "vpc_flow" {
  name              = "/vpc/${local.prefix}/flow"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

# WAF requires the aws-waf-logs- prefix.
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${local.prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_cloudwatch_log_group" "batch" {
  name              = "/aws/batch/${local.prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}
