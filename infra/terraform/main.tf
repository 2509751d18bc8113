# modelbay on AWS: three stores (S3), the image (ECR), `modelbay serve` on ECS
# Fargate behind an HTTPS load balancer, training and the data-arrival worker
# as tasks from the same image, S3 -> SQS events, least-privilege task roles
# and a GitHub OIDC role for CI. Files: one per concern, named after it.

locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  prefix        = "${var.name}-${var.environment}"
  bucket_prefix = coalesce(var.bucket_prefix, "${local.account_id}-${var.name}-${var.environment}")
  kms_key_arn   = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.this[0].arn
  image         = "${aws_ecr_repository.modelbay.repository_url}:${var.image_tag}"
  serve_port    = 8000

  # What every modelbay container is told: the DESIGN §2 store variables.
  store_environment = [
    { name = "DATA_STORE", value = "s3://${module.data_bucket.id}" },
    { name = "MODEL_ARTIFACTS_STORE", value = "s3://${module.models_bucket.id}" },
    { name = "RESULTS_STORE", value = "s3://${module.results_bucket.id}" },
    { name = "AWS_REGION", value = var.region },
    { name = "MODELBAY_HOME", value = "/var/lib/modelbay" },
  ]
}
