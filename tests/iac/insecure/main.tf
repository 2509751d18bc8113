# Deliberately insecure: the invariant checks and checkov must both reject
# this folder (tests/e2e/test_infra.py). Never apply it.

resource "aws_s3_bucket" "public" {
  bucket = "modelbay-deliberately-public"
}

resource "aws_s3_bucket_acl" "public" {
  bucket = aws_s3_bucket.public.id
  acl    = "public-read"
}

resource "aws_iam_user" "ci" {
  name = "modelbay-ci"
}

resource "aws_iam_access_key" "ci" {
  user = aws_iam_user.ci.name
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "serve" {
  name               = "serve"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "serve" {
  statement {
    sid       = "Everything"
    actions   = ["s3:*"]
    resources = ["*"]
  }

  statement {
    sid       = "TrainingData"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.public.arn}/*"]
  }
}

resource "aws_iam_role_policy" "serve" {
  name   = "serve"
  role   = aws_iam_role.serve.id
  policy = data.aws_iam_policy_document.serve.json
}

resource "aws_ecs_task_definition" "serve" {
  family                   = "serve"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  task_role_arn            = aws_iam_role.serve.arn

  volume {
    name = "spool"
    efs_volume_configuration {
      file_system_id = aws_efs_file_system.spool.id
    }
  }

  container_definitions = jsonencode([
    { name = "serve", image = "modelbay:latest", essential = true },
  ])
}

# A spool volume neither encrypted at rest nor in transit.
resource "aws_efs_file_system" "spool" {
  creation_token = "spool"
}
