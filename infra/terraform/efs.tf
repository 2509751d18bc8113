# The prediction-log spool of `modelbay serve` on a durable shared volume
# (docs/prediction-log.md, "Several servers on one spool"): a row is
# acknowledged once it is in the spool, so the spool must outlive the task.
# Every serve task mounts the same file system; each server writes its own
# writer dir under it and adopts the dirs of tasks that died or were
# replaced, so their acknowledged rows still reach the results bucket.

resource "aws_efs_file_system" "spool" {
  creation_token   = "${local.prefix}-spool"
  encrypted        = true
  kms_key_id       = local.kms_key_arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }

  tags = { Name = "${local.prefix}-spool" }
}

# The serve container runs as uid 10001 (Dockerfile); the access point pins
# that identity and roots it in /spool, created with owner-only permissions.
resource "aws_efs_access_point" "spool" {
  file_system_id = aws_efs_file_system.spool.id

  posix_user {
    uid = 10001
    gid = 10001
  }

  root_directory {
    path = "/spool"
    creation_info {
      owner_uid   = 10001
      owner_gid   = 10001
      permissions = "0700"
    }
  }

  tags = { Name = "${local.prefix}-spool" }
}

resource "aws_efs_mount_target" "spool" {
  count = length(aws_subnet.private)

  file_system_id  = aws_efs_file_system.spool.id
  subnet_id       = aws_subnet.private[count.index].id
  security_groups = [aws_security_group.spool.id]
}

# Only through the access point, only over TLS, only by the serve task role.
data "aws_iam_policy_document" "spool" {
  statement {
    sid       = "ServeTasksMountThroughTheAccessPoint"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.spool.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.serve.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.spool.arn]
    }
  }

  statement {
    sid       = "DenyWithoutTls"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.spool.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_efs_file_system_policy" "spool" {
  file_system_id                     = aws_efs_file_system.spool.id
  bypass_policy_lockout_safety_check = false
  policy                             = data.aws_iam_policy_document.spool.json
}

resource "aws_efs_backup_policy" "spool" {
  file_system_id = aws_efs_file_system.spool.id

  backup_policy {
    status = "ENABLED"
  }
}

# NFS in from the serve tasks only (they carry the spool_client group; the
# train and worker tasks do not).
resource "aws_security_group" "spool" {
  name        = "${local.prefix}-spool"
  description = "modelbay spool file system: NFS from the serve tasks only"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "spool_client" {
  name        = "${local.prefix}-spool-client"
  description = "modelbay serve tasks: NFS out to the spool file system"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "spool_from_serve" {
  security_group_id            = aws_security_group.spool.id
  description                  = "NFS from the serve tasks"
  referenced_security_group_id = aws_security_group.spool_client.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}

resource "aws_vpc_security_group_egress_rule" "serve_to_spool" {
  security_group_id            = aws_security_group.spool_client.id
  description                  = "NFS to the spool file system"
  referenced_security_group_id = aws_security_group.spool.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}
