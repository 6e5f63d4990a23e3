"""Reddit publishing: accounts, checks, the planner, the outbox and its execution, metrics."""
