"""Reusable constructs: one construct per file, each with a frozen, validated props class."""
