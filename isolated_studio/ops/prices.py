"""List prices the plan review uses, each with where it comes from and when it was read.

AWS bills a month as 730 hours. Only prices that a cited page states are here: a resource
whose price is missing is listed in the review as "not in the price table", never guessed.
To add one, read it from the pricing page (https://aws.amazon.com/sagemaker-ai/pricing/,
https://aws.amazon.com/privatelink/pricing/) and add a :class:`Price` with that page and the
date. Keys are ``(item, region)``; ``item`` is ``interface-endpoint-az``,
``mlflow-tracking-server:<size>`` or ``sagemaker-instance:<type>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Price:
    usd_per_hour: Decimal
    source: str
    date: str  # when the source states it (YYYY-MM or YYYY-MM-DD)

    def cite(self) -> str:
        return f"{self.source}, {self.date}"


# The pricing page bills per endpoint per AZ-hour; the rate as awsnegotiations.com's "AWS
# PrivateLink Cost Analysis" (updated 2026-05) quotes it.
_PRIVATELINK = "aws.amazon.com/privatelink/pricing, as quoted by awsnegotiations.com"

PRICES: dict[tuple[str, str], Price] = {
    # Interface endpoints: per endpoint, per AZ, per hour (data processed, USD 0.01/GB for the
    # first PB, is extra and depends on use).
    ("interface-endpoint-az", "us-east-1"): Price(Decimal("0.01"), _PRIVATELINK, "2026-05"),
    ("interface-endpoint-az", "us-west-2"): Price(Decimal("0.01"), _PRIVATELINK, "2026-05"),
    # SageMaker managed MLflow: the tracking server bills by the hour while it exists, by size.
    ("mlflow-tracking-server:Small", "eu-west-2"): Price(
        Decimal("0.642"),
        "aws.amazon.com/sagemaker-ai/pricing, as quoted in github.com/londonaicentre/FLIP/issues/745",
        "2026-07-09",
    ),
    # Studio apps bill per instance-hour while they run: a reference for an instance type change.
    ("sagemaker-instance:ml.g5.4xlarge", "us-east-1"): Price(
        Decimal("2.03"),
        "aws.amazon.com/sagemaker-ai/pricing, as quoted in "
        "github.com/aws-samples/semantic-search-with-amazon-opensearch/issues/37",
        "2024-09-21",
    ),
}


def price(item: str, region: str | None) -> Price | None:
    return PRICES.get((item, region or ""))


def monthly(hourly: Decimal, units: int = 1) -> Decimal:
    return hourly * units * HOURS_PER_MONTH
