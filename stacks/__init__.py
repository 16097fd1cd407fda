"""Thin compositions of modules/, one Terraform state each."""
