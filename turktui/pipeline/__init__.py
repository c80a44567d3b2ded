"""The request pipeline: plan → record → send → record outcome → confirm/resolve, for one
HIT or a batch, over the adapters. No textual, no boto3.

One way through it, whoever asks (the app's dialog, the bulk dialog, the CLI):

* `engine.Engine.plan` checks the rules (pure, domain/rules.py) and makes one token per intent;
* `Engine.execute(plan)` records it (`Engine.record` → `HistoryStore.insert`, the one insert
  path) and dispatches it as a batch of one; `batch.BatchRunner` records a whole batch in
  one transaction and dispatches it with a few workers: both through `Engine.dispatch`,
  paced by the engine's one `pacing.AdaptiveRate`;
* each member: fresh GetHIT → the operation's retry loop (same token) → the outcome
  recorded (a compare-and-set) → GetHIT confirms what the operation says it must show;
* unsettled records (unknown, sending, planned) go through `resolving.settle` →
  `Engine.resolve` (re-send with the same token inside MTurk's window, compare after it);
* `policy` turns outcomes into exit codes (every CLI command) and `outcome_message` into
  words.

A new token-protected operation is one class in `operations.py` (send with its idempotency
token; what GetHIT must show to call it applied; how MTurk's refusals and "already
processed" map), plus the place in the record where its outcome is kept.
"""
