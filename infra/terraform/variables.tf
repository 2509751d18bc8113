variable "region" {
  description = "AWS region for every resource (e.g. eu-west-1)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Short name used as the prefix of every resource (lowercase letters, digits, hyphens)."
  type        = string
  default     = "modelbay"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment label (prod, staging, dev); part of resource names and tags."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "environment must be 2-12 lowercase letters or digits, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "bucket_prefix" {
  description = "Prefix of the bucket names (<prefix>-data, -models, -results, -logs). Bucket names are global: null uses <account id>-<name>-<environment>."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "ARN of an existing customer-managed KMS key for buckets, queues, logs and ECR. null creates a dedicated key with rotation."
  type        = string
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions (overwritten or deleted objects) are removed from the data, models and results buckets."
  type        = number
  default     = 90
}

variable "results_transition_days" {
  description = "Days after which prediction-log objects in the results bucket move to STANDARD_IA."
  type        = number
  default     = 30
}

variable "results_expiration_days" {
  description = "Days after which prediction-log objects in the results bucket expire. 0 keeps them forever."
  type        = number
  default     = 730
}

variable "access_log_expiration_days" {
  description = "Days after which S3 server access logs and load balancer logs expire."
  type        = number
  default     = 365
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention (days) for the service, training, worker, VPC flow and WAF logs."
  type        = number
  default     = 365
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC created for the service."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones (public + private subnet pair each)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be between 2 and 4 (the load balancer needs two zones)."
  }
}

variable "availability_zones" {
  description = "Zone names for the subnets (at least az_count). Empty: the region's first az_count zones by letter (<region>a, <region>b, ...)."
  type        = list(string)
  default     = []
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper) instead of one per zone (survives a zone outage)."
  type        = bool
  default     = true
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the load balancer's HTTPS listener (in the same region)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)."
  }
}

variable "allowed_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the load balancer on ports 80 (redirect) and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion; set false before terraform destroy."
  type        = bool
  default     = true
}

variable "image_tag" {
  description = "Tag of the modelbay image in the ECR repository used by the task definitions (CI deploys set it to the git SHA)."
  type        = string
  default     = "initial"
}

variable "serve_cpu" {
  description = "CPU units of one serve task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "serve_memory" {
  description = "Memory (MiB) of one serve task."
  type        = number
  default     = 2048
}

variable "serve_threads" {
  description = "HTTP worker threads of `modelbay serve` in one task."
  type        = number
  default     = 2
}

variable "serve_min_count" {
  description = "Minimum number of serve tasks (also the initial desired count)."
  type        = number
  default     = 2
}

variable "serve_max_count" {
  description = "Maximum number of serve tasks under autoscaling."
  type        = number
  default     = 10
}

variable "serve_cpu_target" {
  description = "Average CPU utilisation (%) that autoscaling keeps the serve tasks at."
  type        = number
  default     = 60
}

variable "serve_requests_per_target" {
  description = "Load balancer requests per task per minute that autoscaling aims for."
  type        = number
  default     = 6000
}

variable "api_token_secret_arn" {
  description = "Optional Secrets Manager secret ARN whose value becomes MODELBAY_API_TOKEN (bearer auth on everything but /health). null disables auth."
  type        = string
  default     = null
}

variable "train_cpu" {
  description = "CPU units of the training task and the worker (4096 = 4 vCPU)."
  type        = number
  default     = 2048
}

variable "train_memory" {
  description = "Memory (MiB) of the training task and the worker."
  type        = number
  default     = 8192
}

variable "train_ephemeral_storage_gib" {
  description = "Ephemeral storage (GiB, 21-200) of the training task and the worker, for downloaded data."
  type        = number
  default     = 50
}

variable "worker_count" {
  description = "Number of `modelbay worker` tasks consuming data-arrival events (0 disables retraining on data arrival)."
  type        = number
  default     = 1
}

variable "queue_visibility_timeout_seconds" {
  description = "How long a data-arrival message stays hidden while a worker trains on it; longer than a training run."
  type        = number
  default     = 3600
}

variable "queue_max_receive_count" {
  description = "Deliveries of a data-arrival message before it moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "ecr_keep_images" {
  description = "Number of most recent images kept in the ECR repository; older ones expire."
  type        = number
  default     = 30
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose workflows may assume the deploy role through OIDC."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_deploy_branch" {
  description = "Branch whose workflow runs may deploy (the OIDC role trusts only this ref)."
  type        = string
  default     = "main"
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider; false when the account already has one."
  type        = bool
  default     = true
}

# --- AWS Batch (batch.tf)

variable "batch_use_spot" {
  description = "Run Batch jobs on Spot instances (cheaper; a reclaimed instance's job is retried)."
  type        = bool
  default     = false
}

variable "batch_instance_types" {
  description = "EC2 instance types (or families, or \"optimal\") the Batch compute environment may launch."
  type        = list(string)
  default     = ["c6i", "m6i"]
}

variable "batch_max_vcpus" {
  description = "Upper bound of vCPUs the Batch compute environment runs at once (it scales to 0 when idle)."
  type        = number
  default     = 256
}

variable "batch_volume_gib" {
  description = "Root volume size (GiB) of Batch instances: image, spools and downloaded inputs."
  type        = number
  default     = 100
}

variable "batch_predict_vcpus" {
  description = "vCPUs per `modelbay predict --shard` job (its scoring threads)."
  type        = number
  default     = 4
}

variable "batch_predict_memory" {
  description = "Memory (MiB) per predict job; scoring memory is bounded by the block size, not the input."
  type        = number
  default     = 4096
}

variable "batch_predict_timeout_seconds" {
  description = "Time limit of one attempt of one predict shard."
  type        = number
  default     = 14400
}

variable "batch_train_nodes" {
  description = "Default number of nodes of the distributed training job (override with --node-overrides numNodes=N)."
  type        = number
  default     = 4
}

variable "batch_train_vcpus" {
  description = "vCPUs per training node."
  type        = number
  default     = 8
}

variable "batch_train_memory" {
  description = "Memory (MiB) per training node."
  type        = number
  default     = 30000
}

variable "batch_train_timeout_seconds" {
  description = "Time limit of one distributed training attempt."
  type        = number
  default     = 43200
}
