"""What the project checks itself against, never used by the app: a transcription of the released
NLSN computation (the parity oracle and the benchmarks' baseline) and synthetic test images."""
