provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = var.name
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
# The zones are named, not "whatever the region offers": a zone AWS adds later
# cannot silently join the result (checkov CKV_AWS_394). Default: the
# region's first az_count zones by letter; var.availability_zones overrides.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = local.wanted_azs
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) >= var.az_count
      error_message = "Fewer than az_count of the zones ${join(", ", local.wanted_azs)} are available in this account and region: set availability_zones to zones that are (aws ec2 describe-availability-zones)."
    }
  }
}
