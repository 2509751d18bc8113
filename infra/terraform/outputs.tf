output "data_store" {
  description = "DATA_STORE for the modelbay CLI (s3:// URL of the data bucket)."
  value       = "s3://${module.data_bucket.id}"
}

output "model_artifacts_store" {
  description = "MODEL_ARTIFACTS_STORE for the modelbay CLI (s3:// URL of the models bucket)."
  value       = "s3://${module.models_bucket.id}"
}

output "results_store" {
  description = "RESULTS_STORE for the modelbay CLI (s3:// URL of the results bucket)."
  value       = "s3://${module.results_bucket.id}"
}

output "bucket_names" {
  description = "Bucket names, for Ansible (-e bucket=...) and the AWS CLI."
  value = {
    data    = module.data_bucket.id
    models  = module.models_bucket.id
    results = module.results_bucket.id
    logs    = aws_s3_bucket.logs.id
  }
}

output "endpoint" {
  description = "HTTPS endpoint of `modelbay serve` (point a DNS record at alb_dns_name to match the certificate)."
  value       = "https://${aws_lb.this.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "data_events_queue_url" {
  description = "SQS queue receiving data-arrival events (`modelbay worker --queue-url`)."
  value       = aws_sqs_queue.data_events.url
}

output "data_events_dlq_url" {
  description = "Dead-letter queue for data-arrival events that failed repeatedly."
  value       = aws_sqs_queue.data_events_dlq.url
}

output "ecr_repository_url" {
  description = "ECR repository for the modelbay image."
  value       = aws_ecr_repository.modelbay.repository_url
}

output "ecs_cluster" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "ecs_services" {
  description = "ECS service names."
  value = {
    serve  = aws_ecs_service.serve.name
    worker = aws_ecs_service.worker.name
  }
}

output "task_definition_families" {
  description = "Task definition families (deploy.yml registers new revisions of these)."
  value = {
    serve  = aws_ecs_task_definition.serve.family
    train  = aws_ecs_task_definition.train.family
    worker = aws_ecs_task_definition.worker.family
  }
}

output "private_subnet_ids" {
  description = "Private subnets for `aws ecs run-task` (training)."
  value       = aws_subnet.private[*].id
}

output "task_security_group_id" {
  description = "Security group for `aws ecs run-task` (training)."
  value       = aws_security_group.tasks.id
}

output "github_deploy_role_arn" {
  description = "Role assumed by .github/workflows/deploy.yml (repository variable AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.github_deploy.arn
}

output "kms_key_arn" {
  description = "KMS key encrypting the buckets, queues, logs and image repository."
  value       = local.kms_key_arn
}

output "log_groups" {
  description = "CloudWatch log groups of the three jobs."
  value = {
    serve  = aws_cloudwatch_log_group.serve.name
    train  = aws_cloudwatch_log_group.train.name
    worker = aws_cloudwatch_log_group.worker.name
  }
}

output "batch_job_queue" {
  description = "AWS Batch job queue for `aws batch submit-job --job-queue`."
  value       = aws_batch_job_queue.this.name
}

output "batch_job_definitions" {
  description = "AWS Batch job definitions: predict (array job, --shard from the array index) and train_distributed (multi-node parallel)."
  value = {
    predict           = aws_batch_job_definition.predict.name
    train_distributed = aws_batch_job_definition.train_distributed.name
  }
}
