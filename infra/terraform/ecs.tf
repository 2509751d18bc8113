# One image, three jobs: `modelbay serve` (service behind the load balancer),
# `modelbay train` (a task CI runs after each deploy: the code-change retrain)
# and `modelbay worker` (a service consuming data-arrival events).

resource "aws_ecs_cluster" "this" {
  name = local.prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

locals {
  # Where serve tasks mount the shared spool (efs.tf).
  spool_path = "/var/lib/modelbay-spool"

  # The image's root file system is read-only; these are its writable paths.
  state_mounts = [
    { sourceVolume = "state", containerPath = "/var/lib/modelbay", readOnly = false },
    { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
  ]
  api_token_secrets = var.api_token_secret_arn == null ? [] : [
    { name = "MODELBAY_API_TOKEN", valueFrom = var.api_token_secret_arn },
  ]

  log_configuration = {
    for job, group in {
      serve  = aws_cloudwatch_log_group.serve.name
      train  = aws_cloudwatch_log_group.train.name
      worker = aws_cloudwatch_log_group.worker.name
      } : job => {
      logDriver = "awslogs"
      options = {
        awslogs-group         = group
        awslogs-region        = var.region
        awslogs-stream-prefix = job
      }
    }
  }
}

resource "aws_ecs_task_definition" "serve" {
  family                   = "${local.prefix}-serve"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.serve_cpu
  memory                   = var.serve_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.serve.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "state"
  }

  volume {
    name = "tmp"
  }

  # The prediction-log spool (efs.tf): durable beyond the task, shared by
  # every serve task.
  volume {
    name = "spool"

    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.spool.id
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = aws_efs_access_point.spool.id
        iam             = "ENABLED"
      }
    }
  }

  container_definitions = jsonencode([
    {
      name                   = "serve"
      image                  = local.image
      essential              = true
      command                = ["serve", "--host", "0.0.0.0", "--port", tostring(local.serve_port), "--threads", tostring(var.serve_threads), "--spool", local.spool_path]
      environment            = local.store_environment
      secrets                = local.api_token_secrets
      readonlyRootFilesystem = true
      mountPoints            = concat(local.state_mounts, [{ sourceVolume = "spool", containerPath = local.spool_path, readOnly = false }])
      portMappings           = [{ containerPort = local.serve_port, protocol = "tcp" }]
      linuxParameters        = { initProcessEnabled = true }
      # SIGTERM ships the prediction log spool before exit (DESIGN §6).
      stopTimeout      = 60
      logConfiguration = local.log_configuration["serve"]
      healthCheck = {
        command     = ["CMD", "modelbay-healthcheck"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
    },
  ])
}

resource "aws_ecs_task_definition" "train" {
  family                   = "${local.prefix}-train"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.train_cpu
  memory                   = var.train_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.train.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  ephemeral_storage {
    size_in_gib = var.train_ephemeral_storage_gib
  }

  volume {
    name = "state"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name      = "train"
      image     = local.image
      essential = true
      # CI overrides this with `--code-rev <sha>` (deploy.yml).
      command                = ["train", "--trigger", "code-change"]
      environment            = local.store_environment
      readonlyRootFilesystem = true
      mountPoints            = local.state_mounts
      linuxParameters        = { initProcessEnabled = true }
      logConfiguration       = local.log_configuration["train"]
    },
  ])
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${local.prefix}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.train_cpu
  memory                   = var.train_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.worker.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  ephemeral_storage {
    size_in_gib = var.train_ephemeral_storage_gib
  }

  volume {
    name = "state"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = "worker"
      image                  = local.image
      essential              = true
      command                = ["worker", "--queue-url", aws_sqs_queue.data_events.url]
      environment            = local.store_environment
      readonlyRootFilesystem = true
      mountPoints            = local.state_mounts
      linuxParameters        = { initProcessEnabled = true }
      stopTimeout            = 120
      logConfiguration       = local.log_configuration["worker"]
    },
  ])
}

resource "aws_ecs_service" "serve" {
  name                              = "serve"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.serve.arn
  desired_count                     = var.serve_min_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"
  enable_execute_command            = false

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id, aws_security_group.spool_client.id]
    assign_public_ip = false
  }

  # The mount targets must exist before a task mounts the spool.
  depends_on = [aws_lb_listener.https, aws_efs_mount_target.spool]

  load_balancer {
    target_group_arn = aws_lb_target_group.serve.arn
    container_name   = "serve"
    container_port   = local.serve_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # CI registers new task definition revisions (deploy.yml) and autoscaling
  # owns the count; Terraform must not roll them back.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }
}

resource "aws_ecs_service" "worker" {
  name                   = "worker"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.worker.arn
  desired_count          = var.worker_count
  launch_type            = "FARGATE"
  propagate_tags         = "SERVICE"
  enable_execute_command = false

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }
}

resource "aws_appautoscaling_target" "serve" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.serve.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.serve_min_count
  max_capacity       = var.serve_max_count
}

resource "aws_appautoscaling_policy" "serve_cpu" {
  name               = "${local.prefix}-serve-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.serve.service_namespace
  resource_id        = aws_appautoscaling_target.serve.resource_id
  scalable_dimension = aws_appautoscaling_target.serve.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.serve_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "serve_requests" {
  name               = "${local.prefix}-serve-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.serve.service_namespace
  resource_id        = aws_appautoscaling_target.serve.resource_id
  scalable_dimension = aws_appautoscaling_target.serve.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.serve_requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.serve.arn_suffix}"
    }
  }
}
