terraform {
  required_version = ">= 1.5.0"

  required_providers {
    kafka-connect = {
      source  = "mongey/kafka-connect"
      version = "0.5.0"
    }
  }
}
