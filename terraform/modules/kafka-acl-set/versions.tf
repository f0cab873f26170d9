terraform {
  required_version = ">= 1.5.0"

  required_providers {
    kafka = {
      source  = "mongey/kafka"
      version = "0.13.1"
    }
  }
}
