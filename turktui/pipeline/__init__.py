"""The request pipeline: plan → record → send → record outcome → resolve, for one HIT
or a batch, over the adapters. No textual, no boto3."""
