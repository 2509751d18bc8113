# AWS Batch: scoring a bucket of files as an array job (`modelbay predict
# --shard`, the shard from AWS_BATCH_JOB_ARRAY_INDEX/SIZE) and training on N
# machines as a multi-node parallel job (`modelbay train --distributed`, rank
# and tracker address from AWS_BATCH_JOB_NODE_INDEX and friends). Multi-node
# parallel jobs need EC2, so the compute environment is EC2 (On-Demand, or
# Spot with batch_use_spot) in the private subnets. Commands: docs/deploy.md.

locals {
  # The writable paths of the read-only image (mounted as in ecs.tf).
  batch_volumes = [{ name = "state", host = {} }, { name = "tmp", host = {} }]
  batch_log_configuration = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = aws_cloudwatch_log_group.batch.name
      awslogs-region        = var.region
      awslogs-stream-prefix = "batch"
    }
  }
}

# --- The instances: ECS container instances with IMDSv2 only, encrypted disks.

data "aws_iam_policy_document" "ec2_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "batch_instance" {
  name               = "${local.prefix}-batch-instance"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
}

# What the ECS agent on a Batch instance needs; jobs get their own job roles.
resource "aws_iam_role_policy_attachment" "batch_instance" {
  role       = aws_iam_role.batch_instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "batch_instance" {
  name = "${local.prefix}-batch-instance"
  role = aws_iam_role.batch_instance.name
}

resource "aws_launch_template" "batch" {
  name_prefix = "${local.prefix}-batch-"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1 # containers get job-role credentials from the ECS agent, not IMDS
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size = var.batch_volume_gib
      volume_type = "gp3"
      encrypted   = true
      kms_key_id  = local.kms_key_arn
    }
  }
}

resource "aws_security_group" "batch" {
  name        = "${local.prefix}-batch"
  description = "modelbay Batch instances: HTTPS out, and node-to-node traffic of one multi-node job"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_egress_rule" "batch_https" {
  security_group_id = aws_security_group.batch.id
  description       = "HTTPS to S3, ECR, CloudWatch and STS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

# XGBoost's tracker (9091 and up) and rabit workers (9010 and up, 1000 tries)
# talk over TCP inside one job.
resource "aws_vpc_security_group_ingress_rule" "batch_nodes" {
  security_group_id            = aws_security_group.batch.id
  description                  = "Training nodes of the same job (XGBoost tracker and workers)"
  referenced_security_group_id = aws_security_group.batch.id
  ip_protocol                  = "tcp"
  from_port                    = 9000
  to_port                      = 10099
}

resource "aws_vpc_security_group_egress_rule" "batch_nodes" {
  security_group_id            = aws_security_group.batch.id
  description                  = "Training nodes of the same job (XGBoost tracker and workers)"
  referenced_security_group_id = aws_security_group.batch.id
  ip_protocol                  = "tcp"
  from_port                    = 9000
  to_port                      = 10099
}

# --- Compute environment and queue. No service_role: Batch uses its
# service-linked role (AWSServiceRoleForBatch).

resource "aws_batch_compute_environment" "this" {
  compute_environment_name_prefix = "${local.prefix}-"
  type                            = "MANAGED"

  compute_resources {
    type                = var.batch_use_spot ? "SPOT" : "EC2"
    allocation_strategy = var.batch_use_spot ? "SPOT_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE"
    bid_percentage      = var.batch_use_spot ? 100 : null
    instance_type       = var.batch_instance_types
    min_vcpus           = 0
    max_vcpus           = var.batch_max_vcpus
    instance_role       = aws_iam_instance_profile.batch_instance.arn
    subnets             = aws_subnet.private[*].id
    security_group_ids  = [aws_security_group.batch.id]

    launch_template {
      launch_template_id = aws_launch_template.batch.id
      version            = aws_launch_template.batch.latest_version
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_batch_job_queue" "this" {
  name     = "${local.prefix}-batch"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this.arn
  }
}

# --- Job roles (assumed by the job's container, like ECS task roles).

resource "aws_iam_role" "predict" {
  name               = "${local.prefix}-predict"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

data "aws_iam_policy_document" "predict" {
  statement {
    sid       = "ListStores"
    actions   = ["s3:ListBucket"]
    resources = [module.data_bucket.arn, module.models_bucket.arn, module.results_bucket.arn]
  }

  statement {
    sid       = "ReadInputsAndModels"
    actions   = ["s3:GetObject"]
    resources = ["${module.data_bucket.arn}/*", "${module.models_bucket.arn}/*"]
  }

  # Output parts, the plan and manifest, and the prediction log.
  statement {
    sid       = "WritePredictions"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${module.results_bucket.arn}/*"]
  }

  statement {
    sid       = "UseStoreKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "predict" {
  name   = "predict"
  role   = aws_iam_role.predict.id
  policy = data.aws_iam_policy_document.predict.json
}

# --- Job definitions.

resource "aws_batch_job_definition" "predict" {
  name                  = "${local.prefix}-predict"
  type                  = "container"
  platform_capabilities = ["EC2"]
  propagate_tags        = true

  # Batch retries are at-least-once; a retried shard rewrites identical parts.
  retry_strategy {
    attempts = 3
  }

  timeout {
    attempt_duration_seconds = var.batch_predict_timeout_seconds
  }

  parameters = {
    input = "s3://${module.data_bucket.id}/new/"
    out   = "s3://${module.results_bucket.id}/predictions/"
  }

  container_properties = jsonencode({
    image            = local.image
    command          = ["predict", "Ref::input", "--out", "Ref::out"]
    jobRoleArn       = aws_iam_role.predict.arn
    executionRoleArn = aws_iam_role.execution.arn
    environment      = local.store_environment
    resourceRequirements = [
      { type = "VCPU", value = tostring(var.batch_predict_vcpus) },
      { type = "MEMORY", value = tostring(var.batch_predict_memory) },
    ]
    readonlyRootFilesystem = true
    privileged             = false
    volumes                = local.batch_volumes
    mountPoints            = local.state_mounts
    logConfiguration       = local.batch_log_configuration
  })
}

resource "aws_batch_job_definition" "train_distributed" {
  name                  = "${local.prefix}-train-distributed"
  type                  = "multinode"
  platform_capabilities = ["EC2"]
  propagate_tags        = true

  timeout {
    attempt_duration_seconds = var.batch_train_timeout_seconds
  }

  node_properties = jsonencode({
    mainNode = 0
    numNodes = var.batch_train_nodes
    nodeRangeProperties = [
      {
        targetNodes = "0:"
        container = {
          image            = local.image
          command          = ["train", "--distributed"]
          jobRoleArn       = aws_iam_role.train.arn
          executionRoleArn = aws_iam_role.execution.arn
          environment      = local.store_environment
          resourceRequirements = [
            { type = "VCPU", value = tostring(var.batch_train_vcpus) },
            { type = "MEMORY", value = tostring(var.batch_train_memory) },
          ]
          readonlyRootFilesystem = true
          privileged             = false
          volumes                = local.batch_volumes
          mountPoints            = local.state_mounts
          logConfiguration       = local.batch_log_configuration
        }
      },
    ]
  })
}
